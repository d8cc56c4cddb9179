"""The run directory and what is kept of it: each run's files (`files`: names, writers, readers,
vectors.jsonl), records.parquet, the records' columnar copy (`table`), the run index in SQLite
(`history`), `embload export` (`export`), and trace files: read a line at a time, checked,
written (`traces`), and a past run's traffic as a trace (`run_traces`).

May import: target (the vector codec of vectors.jsonl), config, data, core.
"""
