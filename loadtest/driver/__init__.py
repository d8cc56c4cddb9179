"""Driving runs from the CLI process: `embload run`, `sweep` and `compare` start Locust (and the
bundled server) as processes of their own, hand each the run's settings and preflight as one
value, follow its progress, and stop it on a signal.

Owns the run of scenarios (`runner`), the checks and preflight before any load (`prepare`), the
live status line, signals in the CLI process (`stopping`), the sweep's steps and search, the
ABBA order of a compare, the quality probe against a live target, `embload trace` (`traces`),
and a long run's checkpoint, run as a process of its own (`checkpoint`).

May import: output, analysis, telemetry, store, target, config, data, core. Never locust:
Locust runs in its own process.
"""
