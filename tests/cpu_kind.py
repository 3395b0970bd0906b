"""The CPU kind, for the tests that compare this machine's floats with committed ones (test_checkpoint, test_replay).
The floats reproduce per CPU kind (docs/identity.md): where the committed run's kind is this machine's, a mismatch
fails; where it is another, the tests look first and report what differs, naming both kinds."""

import functools
import os

from benchmark.common import cpu_info


@functools.cache
def this_kind() -> str:
    """This machine's CPU kind as the scripts see it (one thread), spelled as runs.csv records it."""
    return cpu_info({**os.environ, "OMP_NUM_THREADS": "1"})["kind"]


def run_kind(row: dict) -> str:
    """The CPU kind of a runs.csv row's run; runs from before it was recorded have none."""
    return row.get("cpu") or "not recorded"
