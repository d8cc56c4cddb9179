"""The bundled reference embedding server (FastAPI + torch).

It meets the load side only over HTTP.
"""
