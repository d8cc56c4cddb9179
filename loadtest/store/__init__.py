"""The run directory and what is kept of it: each run's files (`files`: names, writers, readers,
vectors.jsonl), records.parquet, the records' columnar copy (`table`), the run index in SQLite
(`history`) and `embload export` (`export`).

May import: target (the vector codec of vectors.jsonl), config, data, core.
"""
