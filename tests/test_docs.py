"""The pages: a short README that reaches its commands on the first screen, links that resolve, paragraphs
that make one point, numbers quoted only as the report renders them, and the docs' table of gates equal to
ppo_beta_shapes.py's own. What counts as a paragraph: tests/pages.py."""

import ast
import re

import pytest
from pages import (
    BEGIN,
    END,
    MAX_PARAGRAPH,
    README,
    broken_link,
    docstring_gates,
    generated_block,
    intervals,
    linked_pages,
    links,
    markdown_gates,
    name,
    paragraphs,
    prose_pages,
    rendered_intervals,
)
from scripts import REPO, source

README_BYTES = 12_000
FIRST_SCREEN = 40  # lines


def test_readme_is_short():
    size = len(README.read_bytes())
    assert size <= README_BYTES, f"README.md is {size:,} bytes, over {README_BYTES:,}: move detail to docs/"


def ci_command() -> str:
    """The one command .ci/run runs: its last line."""
    return (REPO / ".ci" / "run").read_text().strip().splitlines()[-1].strip()


def test_run_it_on_the_first_screen():
    head = README.read_text().split("\n")[:FIRST_SCREEN]
    assert "## Run it" in head, f"no `## Run it` heading in README.md's first {FIRST_SCREEN} lines"
    train = [line for line in head if re.fullmatch(r"pip install -r requirements.txt && python ppo_\w+\.py .*", line)]
    assert train, f"no install-and-train command in README.md's first {FIRST_SCREEN} lines"
    assert ci_command() in head, (
        f"README.md's first {FIRST_SCREEN} lines lack the test command .ci/run runs, as a line of its own: {ci_command()}"
    )


def test_ci_runs_the_readme_test_command():
    assert ci_command() == "pip install -r requirements.txt -r benchmark/requirements.txt && python -m pytest"


def test_every_docs_page_is_linked_from_the_readme():
    targets = {target.partition("#")[0] for _, target in links(README.read_text())}
    for page in prose_pages()[1:]:
        assert name(page) in targets, f"README.md does not link {name(page)}: no reader finds it"


@pytest.mark.parametrize("page", prose_pages()[1:], ids=name)
def test_docs_pages_say_who_they_are_for(page):
    """Each docs page opens, under its title, with one sentence on who it is for: "For ..."."""
    first = paragraphs(page.read_text())[0][1]
    assert first.startswith("For "), f"{name(page)} opens with {first[:60]!r}, not with who it is for (\"For ...\")"


@pytest.mark.parametrize("page", linked_pages(), ids=name)
def test_links_and_anchors_resolve(page):
    found = links(page.read_text())
    broken = [f"{name(page)}:{line}: {why}" for line, target in found if (why := broken_link(page, target))]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("page", prose_pages(), ids=name)
def test_paragraphs_make_one_point(page):
    long = [
        f"{name(page)}:{line}: {len(text)} characters: {text[:80]}…"
        for line, text in paragraphs(page.read_text())
        if len(text) > MAX_PARAGRAPH
    ]
    assert not long, f"paragraphs over {MAX_PARAGRAPH} characters (split them, or make a list):\n" + "\n".join(long)


def test_the_readme_keeps_the_reports_block():
    text = README.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "README.md must hold the report's markers once each"
    assert "IQM [95% CI]" in generated_block(text), "the report's block in README.md has no score table"


@pytest.mark.parametrize("page", prose_pages(), ids=name)
def test_intervals_are_the_reports(page):
    """Every `X [A, B]` in the prose is one the report renders (benchmark/results/README.md or its block in
    README.md), digit for digit: a hand-typed or stale copy fails."""
    rendered = rendered_intervals()
    assert len(rendered) > 50, "the report's output holds almost no intervals: is benchmark/results/README.md there?"
    stray = [f"{name(page)}:{line}: {interval}" for line, interval in intervals(page.read_text()) if interval not in rendered]
    assert not stray, (
        "intervals not in the report's output (quote them as benchmark/results/README.md renders them, or drop"
        " them):\n" + "\n".join(stray)
    )


def beta_shapes():
    """ppo_beta_shapes.py's module docstring and the shapes its --beta-shape accepts."""
    tree = ast.parse(source("ppo_beta_shapes.py"))
    (literal,) = re.findall(r"beta_shape: Literal\[(.*?)\]", source("ppo_beta_shapes.py"), re.S)
    return ast.get_docstring(tree, clean=False), re.findall(r'"(\w+)"', literal)


def test_gate_table_is_the_scripts():
    """docs/family.md's table of gates is ppo_beta_shapes.py's docstring table, shape by shape, and both list
    every shape --beta-shape accepts. The docstring is the source; the page copies its formulas verbatim."""
    docstring, shapes = beta_shapes()
    script = docstring_gates(docstring)
    page = markdown_gates((REPO / "docs" / "family.md").read_text())
    assert sorted(script) == sorted(shapes), f"the docstring's table has {sorted(script)}, --beta-shape {sorted(shapes)}"
    assert sorted(page) == sorted(shapes), f"docs/family.md's table has {sorted(page)}, --beta-shape {sorted(shapes)}"
    differ = [f"{shape}: docs/family.md {page[shape]!r}, docstring {script[shape]!r}" for shape in shapes
              if page[shape] != script[shape]]
    assert not differ, "gate formulas differ (copy the docstring's into docs/family.md):\n" + "\n".join(differ)
