"""The `embload` command: the CLI process, which drives runs (driver/), starts the bundled
server (`embload serve`) and shows results (output/). Each command resolves its settings, calls
one function and prints; every error is one line and an exit code (app.py `exits`).

May import every other package, the reference server's included (for `embload serve` alone,
inside that command); heavy imports stay inside the commands that need them.
"""

from loadtest.cli import commands as _commands  # registers the commands on `app`
from loadtest.cli.app import app

__all__ = ["app"]
del _commands
