"""Helpers for the tests of the Markdown pages (README.md, docs/*.md, benchmark/results/README.md): their
prose paragraphs, links and heading anchors, quoted intervals, teaching diffs and the table of gates.

What counts as a prose paragraph (the length cap): a run of non-blank lines outside fenced code blocks and
outside the report's generated block, split further at every line that is not prose. Not prose: headings
(`#`), table rows (`|`), images on their own line (`![`), HTML comments (`<!--`) and indented code (four
spaces outside a list). A list item (`- `, `* `, `+ `, `1. `) starts a paragraph of its own, and its
continuation lines belong to it: each item counts individually."""

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

from scripts import REPO, hunks

README = REPO / "README.md"
DOCS = REPO / "docs"
RESULTS_README = REPO / "benchmark" / "results" / "README.md"

# Written by `python -m benchmark.report` into README.md; kept equal to the report's own markers (a page
# without them fails test_docs.py, so a rename there cannot pass unnoticed).
BEGIN, END = "<!-- benchmark results: written by python -m benchmark.report -->", "<!-- end of benchmark results -->"

# Every teaching diff shown in a page: page → the (old, new) script pairs, each shown as a
# "$ diff -u OLD NEW" line and the ```diff block below it. `python tests/readme_diffs.py` rewrites them.
TEACHING_DIFFS = {
    "README.md": [("ppo_clip.py", "ppo_per_sample_kl.py")],
    "docs/diffs.md": [
        ("ppo_clip.py", "ppo_per_sample_kl.py"),
        ("ppo_clip.py", "ppo_dual.py"),
        ("ppo_clip.py", "ppo_kl.py"),
        ("ppo_per_sample_kl.py", "ppo_beta_shapes.py"),
    ],
}
DIFF_BLOCK = re.compile(r"^\$ diff -u (\S+) (\S+)\n```diff\n(.*?)^```$", re.S | re.M)

MAX_PARAGRAPH = 800  # characters


def prose_pages() -> list[Path]:
    """The hand-written pages: README.md and docs/*.md."""
    return [README, *sorted(DOCS.glob("*.md"))]


def linked_pages() -> list[Path]:
    """Every page whose links must resolve: the hand-written ones and the report's results page."""
    return [*prose_pages(), RESULTS_README]


def name(page: Path) -> str:
    return page.relative_to(REPO).as_posix()


# ---- the parts of a page ----


def generated_block(text: str) -> str:
    """The report's block in README.md (between its markers); "" where a page has none."""
    if BEGIN not in text:
        return ""
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def without_code(text: str, skip_generated: bool = False) -> str:
    """The text with fenced code blocks blanked (line numbers kept), and the report's generated block too
    with `skip_generated`."""
    lines, out, fence = text.split("\n"), [], None
    generated = False
    for line in lines:
        stripped = line.strip()
        if skip_generated and fence is None and stripped == BEGIN:
            generated = True
        if generated:
            generated = stripped != END
            out.append("")
            continue
        if fence is None and re.match(r"(```|~~~)", stripped):
            fence = stripped[:3]
            out.append("")
        elif fence is not None:
            if stripped.startswith(fence):
                fence = None
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


LIST_ITEM = re.compile(r"\s*([-*+]|\d+\.)\s")


def not_prose(line: str, in_list: bool) -> bool:
    stripped = line.strip()
    indented_code = line.startswith("    ") and not in_list
    return stripped.startswith(("#", "|", "![", "<!--")) or indented_code


def paragraphs(text: str) -> list[tuple[int, str]]:
    """(first line number, text joined by spaces) of each prose paragraph and list item (module docstring)."""
    found, current, start, in_list = [], [], 0, False

    def close():
        if current:
            found.append((start, " ".join(part.strip() for part in current)))
        current.clear()

    for number, line in enumerate(without_code(text, skip_generated=True).split("\n"), 1):
        if not line.strip():
            close()
            in_list = False
            continue
        if not_prose(line, in_list):
            close()
            continue
        if LIST_ITEM.match(line):
            close()
            in_list = True
        if not current:
            start = number
        current.append(line)
    close()
    return found


def strip_inline_markup(heading: str) -> str:
    """A heading's text as GitHub renders it: code spans and links reduced to their text."""
    heading = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return heading.replace("`", "")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase; punctuation and symbols dropped except '-' and '_'; letters
    and digits of any script kept; each space becomes '-'."""
    text = strip_inline_markup(heading).strip().lower()
    kept = "".join(c for c in text if c in "-_ " or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a page, a repeated one with GitHub's -1, -2, ... suffixes."""
    seen, out = {}, set()
    for line in without_code(text).split("\n"):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match[1])
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=\"([^\"]+)\"")


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every Markdown link, image and HTML href/src outside code."""
    found = []
    for number, line in enumerate(without_code(text).split("\n"), 1):
        line = re.sub(r"`[^`]*`", "", line)  # code spans
        found += [(number, match[1] or match[2]) for match in LINK.finditer(line)]
    return found


def broken_link(page: Path, target: str) -> str | None:
    """Why a link from `page` does not resolve, or None if it does (external links are not checked)."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
        return None
    path, _, anchor = target.partition("#")
    dest = (page.parent / unquote(path)).resolve() if path else page
    if not dest.exists():
        return f"no file {name(page)} → {path}"
    if anchor:
        if dest.suffix != ".md" or dest.is_dir():
            return f"an anchor into {path}, which is not a Markdown page"
        if unquote(anchor) not in anchors(dest.read_text()):
            return f"no heading with anchor #{unquote(anchor)} in {name(dest)}"
    return None


NUMBER = r"[-−]?\d+(?:\.\d+)?"
INTERVAL = re.compile(rf"(?<![\w.]){NUMBER} \[{NUMBER}, {NUMBER}\]")


def intervals(text: str) -> list[tuple[int, str]]:
    """(line number, text) of every `X [A, B]` in a page."""
    return [(number, match[0]) for number, line in enumerate(text.split("\n"), 1) for match in INTERVAL.finditer(line)]


def rendered_intervals() -> set[str]:
    """Every `X [A, B]` the report renders: its results page and its block in README.md."""
    generated = RESULTS_README.read_text() + generated_block(README.read_text())
    return {interval for _, interval in intervals(generated)}


# ---- the teaching diffs ----


def diff_blocks(text: str) -> dict[tuple[str, str], str]:
    """(old, new) → the ```diff block shown under its "$ diff -u OLD NEW" line."""
    return {(m[1], m[2]): m[3].rstrip("\n") for m in DIFF_BLOCK.finditer(text)}


def with_real_diffs(text: str, pairs: list[tuple[str, str]]) -> str:
    """The page with each listed pair's block replaced by the real `diff -u` hunks."""

    def real(match):
        if (match[1], match[2]) not in pairs:
            return match[0]
        return f"$ diff -u {match[1]} {match[2]}\n```diff\n{hunks(match[1], match[2])}\n```"

    return DIFF_BLOCK.sub(real, text)


# ---- the table of gates ----


def docstring_gates(docstring: str) -> dict[str, str]:
    """shape → formula, from the rows `    name       G = formula    source` of ppo_beta_shapes.py's docstring."""
    rows = re.findall(r"^    (\w+)\s+G = (.+?)(?:\s{2,}\S.*)?$", docstring, re.M)
    return {shape: formula.strip() for shape, formula in rows}


def markdown_gates(text: str) -> dict[str, str]:
    """shape → formula, from the page's table whose header has the columns `--beta-shape` and G_t."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and "`--beta-shape`" in cells and "G_t" in cells:
            shape_col, gate_col = cells.index("`--beta-shape`"), cells.index("G_t")
            table = {}
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip().strip("|").split("|")]
                shape = re.sub(r"`| \(default\)", "", cells[shape_col])
                table[shape] = cells[gate_col].strip("`")
            return table
    return {}
