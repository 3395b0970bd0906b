"""Rewrite the teaching diffs shown in README.md and docs/diffs.md from the scripts, as tests/test_regions.py
expects them: every "$ diff -u OLD NEW" line listed in tests/pages.py's TEACHING_DIFFS gets the real hunks in
the ```diff block below it.

    python tests/readme_diffs.py            # rewrite the pages in place
    python tests/readme_diffs.py --print    # print the diffs instead, touch nothing
"""

import sys

from pages import TEACHING_DIFFS, with_real_diffs  # run as a file, its own folder is on sys.path
from scripts import REPO, hunks

if "--print" in sys.argv[1:]:
    for pair in dict.fromkeys(pair for pairs in TEACHING_DIFFS.values() for pair in pairs):
        print(f"$ diff -u {pair[0]} {pair[1]}\n```diff\n{hunks(*pair)}\n```\n")
else:
    for page, pairs in TEACHING_DIFFS.items():
        path = REPO / page
        text = path.read_text()
        new = with_real_diffs(text, pairs)
        if new != text:
            path.write_text(new)
        print(f"{page}: {'rewritten' if new != text else 'up to date'}")
