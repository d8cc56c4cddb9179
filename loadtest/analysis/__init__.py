"""Analysis over saved runs: summary.json from a run directory's files (`summary`), two sides
of saved runs compared with bootstrap intervals (`compare`), and every indexed run judged
against the one before it (`trend`).

May import: store, target, config, data, core.
"""
