"""Region discipline: outside the marked algorithm regions and the opening docstring every script
is ppo_clip.py byte for byte; the teaching diffs stay small; README.md and docs/diffs.md show the real hunks."""

import difflib
import re

import pytest
from pages import TEACHING_DIFFS, diff_blocks, name, prose_pages
from scripts import REPO, SCRIPTS, hunks, source, strip_docstring, strip_regions

MARKERS = re.compile(r"#\s*(>>>|<<<)")


@pytest.mark.parametrize("script", SCRIPTS)
def test_markers_have_one_spelling_and_balance(script):
    depth = 0
    for number, line in enumerate(source(script).splitlines(), 1):
        if not MARKERS.search(line):
            continue
        stripped = line.strip()
        assert re.fullmatch(r"# >>> ALGO: \S.*|# <<< ALGO", stripped), f"{script}:{number}: odd marker {stripped!r}"
        depth += 1 if ">>>" in stripped else -1
        assert depth in (0, 1), f"{script}:{number}: nested or unopened region"
    assert depth == 0, f"{script}: unclosed region"


@pytest.mark.parametrize("script", SCRIPTS[1:])
def test_identical_to_clip_outside_regions(script):
    base = strip_regions(strip_docstring(source("ppo_clip.py")))
    other = strip_regions(strip_docstring(source(script)))
    if other != base:
        diff = "".join(difflib.unified_diff(base.splitlines(True), other.splitlines(True), "ppo_clip.py", script))
        pytest.fail(f"{script} differs from ppo_clip.py outside its ALGO regions:\n{diff[:3000]}")


@pytest.mark.parametrize("script", SCRIPTS)
def test_band_and_kill_set_computed_once(script):
    """The band (lo, hi) lives in one ALGO region, which ppo_beta_shapes.py alone overrides; the kill set and the
    in-band mask are computed once from it, in shared code: no region recomputes them for a copy to miss."""
    text = source(script)
    for name in ("lo, hi", "kill", "inband"):
        assigned = re.findall(rf"^[ \t]*{name} = ", text, re.M)
        assert len(assigned) == 1, f"{script}: `{name} = ` appears {len(assigned)} times"
    shared = strip_regions(text)
    assert "lo, hi = " not in shared and re.search(r"^[ \t]*kill = ", shared, re.M) and "inband = " in shared


def changed_lines(a, b):
    diff = difflib.unified_diff(source(a).splitlines(), source(b).splitlines(), lineterm="")
    return sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))


@pytest.mark.parametrize("script", ["ppo_per_sample_kl.py", "ppo_dual.py"])
def test_teaching_diff_is_small(script):
    assert changed_lines("ppo_clip.py", script) <= 40


SHOWN = [(page, *pair) for page, pairs in TEACHING_DIFFS.items() for pair in pairs]


@pytest.mark.parametrize("page", [name(path) for path in prose_pages()])
def test_every_shown_diff_is_checked(page):
    """A page's `$ diff -u` block that TEACHING_DIFFS does not list would go stale unseen."""
    unlisted = set(diff_blocks((REPO / page).read_text())) - set(TEACHING_DIFFS.get(page, []))
    assert not unlisted, f"{page} shows diffs not listed in tests/pages.py TEACHING_DIFFS: {sorted(unlisted)}"


@pytest.mark.parametrize("page, old, new", SHOWN)
def test_pages_show_the_real_diff(page, old, new):
    shown = diff_blocks((REPO / page).read_text())
    assert (old, new) in shown, f"{page} has no `$ diff -u {old} {new}` line followed by a ```diff block"
    wanted = hunks(old, new)
    if shown[old, new] != wanted:
        diff = "".join(difflib.unified_diff(shown[old, new].splitlines(True), wanted.splitlines(True), "shown", "real"))
        pytest.fail(
            f"{page}: the block under `$ diff -u {old} {new}` is not the real diff (headers omitted); regenerate"
            f" every page's diffs with: python tests/readme_diffs.py\n{diff[:2000]}"
        )
