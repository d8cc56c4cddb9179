"""`python -m loadtest.cli`: how embload starts its own children (the bundled server)."""

from loadtest.cli import app

app()
