"""The pure core: data in, data out. No network, files, processes, environment, clock or
randomness of its own (a seeded generator is passed in).

Owns the request's record (`record`: its fields declared once), the records as columns, the
statistics and the summary built from them (`stats`), the result models (`results`: summary.json
and compare.json), the error hierarchy and exit codes (`errors`, `outcome`), the verdict on a
reply (`wire`, `replies`, `dialects`), payloads and scenarios, arrivals, thresholds, the
bootstrap compare, sweeps, telemetry summaries and the probe's figures; traces (`trace`: the
format, `trace_shapes`, `trace_stats`), the replay schedule and the warm-up (`replay`), and
stability fits (`slopes`, `stability`: memory growth and P99 drift).

May import: numpy, pydantic and the standard library's pure parts. Nothing else of embload's.
"""
