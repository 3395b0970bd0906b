"""Print the README's teaching diffs, as tests/test_regions.py expects them."""

from scripts import hunks  # run as a file, its own folder is on sys.path

for script in ["ppo_per_sample_kl.py", "ppo_dual.py"]:
    print(f"$ diff -u ppo_clip.py {script}\n```diff\n{hunks('ppo_clip.py', script)}\n```\n")
