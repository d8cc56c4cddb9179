"""Analysis over saved runs: summary.json from a run directory's files (`summary`), two sides
of saved runs compared with bootstrap intervals (`compare`), every indexed run judged
against the one before it (`trend`), and a run's stability verdicts from its files
(`stability`: which memory series, from where, fitted after the warm-up).

May import: store, target, config, data, core.
"""
