"""The Locust side: the only code that runs inside Locust's processes (a local runner, a master,
its workers), and the only package that imports locust and gevent.

Owns the EmbeddingUser (`user`), the hooks that turn a test into a run directory (`hooks`), the
one typed state object on Locust's Environment (`state`), the recorder of a test's records
(`recorder`), the master/worker messages and their protocol (`messages`, `distributed`,
`gathering`), the open loop's dispatcher (a rate's or a trace's arrivals, warm-up marked),
signals and `-t` inside Locust, a long run's checkpoints (`checkpoint`: driver/checkpoint.py
started by its module's name in a process of its own, never imported), and the web UI's tab.

May import: output, analysis, telemetry, store, target, config, data, core.
"""
