"""Print the README's teaching diffs, as tests/test_regions.py expects them."""

import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_regions import hunks  # noqa: E402

for script in ["ppo_per_sample_kl.py", "ppo_dual.py"]:
    print(f"$ diff -u ppo_clip.py {script}\n```diff\n{hunks('ppo_clip.py', script)}\n```\n")
