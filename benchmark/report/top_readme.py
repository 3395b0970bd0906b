"""The top-level README.md's results block, between two markers, rewritten from what the report wrote into
benchmark/results: the count of runs in, the headline figure, the main grid's score table, the count of
same-seed runs of the three clip forms that are bitwise identical, and the β sweep's answer so far.
"""

from pathlib import Path
from typing import Optional

from benchmark.common import REPO, read_csv, stopped
from benchmark.report.stats import IDENTICAL, load_runs
from benchmark.report import family
from benchmark.report.summary import Summary, in_main_grid
from benchmark.report.sweep_answer import readme_answer
from benchmark.report.tables import merge_identical, score_markdown

TOP_README = REPO / "README.md"
FAMILY_ANCHOR = "the-β_t-family-which-shape-keeps-the-clips-edge"  # GitHub's anchor of family.section's heading
BEGIN, END = "<!-- benchmark results: written by python -m benchmark.report -->", "<!-- end of benchmark results -->"


def update_top_readme(readme: Path, results: Path, planned: set, s: Optional[Summary] = None):
    """The headline figure, the main grid's score table and the identity count, from what summarize wrote; the β
    sweep's answer; and, given the summary, the family's verdicts."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        return
    scores, identity = read_csv(results / "scores.csv"), read_csv(results / "identity.csv")
    runs = load_runs(results)
    present = planned & runs.keys()
    stops = sum(stopped(runs[key]) for key in present)
    compared = [r for r in identity if "missing" not in (r[c] for c in IDENTICAL[1:])]
    same = [r for r in compared if all(r[c] == "identical" for c in IDENTICAL[1:])]
    rel = results.relative_to(readme.parent)
    complete = present == planned
    identity_complete = {key for key in planned if key[1] in IDENTICAL} <= present  # the slice doesn't count here
    count = f"All {len(planned)} planned 1M-step runs are in" if complete else (
        f"{len(present)} of the {len(planned)} planned 1M-step runs are in so far"
    )
    if stops:
        count += f", {stops} of them stopped early with an error"
    section = [
        f"{count} (details, all plots and the"
        f" identity table: [{rel}/README.md]({rel}/README.md)). Score: mean raw return of the episodes that ended"
        " in the last 10% of training; IQM with 95% stratified-bootstrap CI (rliable).",
        "",
        f"![PPO-Clip vs per-sample KL]({rel}/headline.png)",
        "",
        score_markdown(merge_identical([row for row in scores if in_main_grid(row["config"])], identity)),
        "",
        f"Same-seed runs of {', '.join(IDENTICAL)} compared{'' if identity_complete else ' so far'}:"
        f" {len(compared)} env/seed pairs,"
        f" {len(same)} bitwise identical in every logged episodic return.",
    ]
    answer = readme_answer(scores, runs, f"{rel}/README.md#is-there-a-scalar-β-that-does-what-the-clip-does-the-β-sweep")
    if answer:
        section += ["", answer]
    if s is not None and (verdicts := family.readme_line(s, f"{rel}/README.md#{FAMILY_ANCHOR}")):
        section += ["", verdicts]
    head, rest = text.split(BEGIN, 1)
    readme.write_text(head + BEGIN + "\n" + "\n".join(section) + "\n" + END + rest.split(END, 1)[1])
