"""The benchmark's report (`python -m benchmark.report`): the runs → per-run CSVs → tables, figures, READMEs.

    __main__.py        the command: its steps (extract, summarize) and the planned runs they are counted against
    extract.py         the runs' TensorBoard files → one CSV per run, runs.csv; the runs' checkpoints
    stats.py           scores, aggregates, identity of the clip forms, script versions
    summary.py         the main grid and the slices beside PPO-Clip, each with its scores and aggregate
    tables.py          the Markdown tables
    plots.py           the figures: learning curves per env, the kill set, the rliable aggregate
    sweep.py           the β sweep's pre-registered selection of each family's best (also the runner's sweep_best)
    sweep_tables.py    the β sweep's section of results/README.md: the rule, the selection's scores, each best
    sweep_figure.py    the β sweep's figure per env (sweep_ENV.png)
    sweep_answer.py    the β sweep's answer in the top-level README.md
    beta_t.py          the clip's per-sample β_t: its section of results/README.md, table and figure (beta_t.png)
    family.py          every β_t shape beside PPO-Clip and the best scalar: verdicts, family.png, the README line
    results_readme.py  results/README.md
    top_readme.py      the results block of the top-level README.md
"""
