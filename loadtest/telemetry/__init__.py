"""Telemetry: what the server and its GPU did during a run.

Owns NVML (`nvml`: the only importer of pynvml), the sidecar process that samples the GPUs,
the server process, /health and the load generator's own RSS during a test (`monitor`), the
gpu-agent that serves another machine's GPUs over HTTP (`agent`), and what a started server
idles at (`idle`).

May import: store (the run directory's writers), target, config, data, core.
"""
