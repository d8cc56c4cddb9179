"""A tiny server to start as a target's `command` (`python health_server.py --port {port}`): its
health path answers `--status`, every other path 404; on SIGTERM it says so and exits. With
`--child PIDFILE` it first starts a child that ignores SIGTERM (as a model worker that will
not stop), touches `--child-mb` of memory and writes its pid to PIDFILE."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import FrameType

# The child: SIGTERM ignored, memory written (so it is resident), its pid published last so
# that a test reading it knows the memory is there; it ends by itself, should a test fail.
_CHILD = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
held = b"x" * (int(sys.argv[2]) << 20)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/health")
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--child", default=None, help="a file for the child's pid")
    parser.add_argument("--child-mb", type=int, default=1)
    args = parser.parse_args()

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = args.status if self.path == args.path else 404
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            """Silent."""

    def stop(signum: int, frame: FrameType | None) -> None:
        print("got SIGTERM", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    if args.child:
        subprocess.Popen([sys.executable, "-c", _CHILD, args.child, str(args.child_mb)])
        while not os.path.exists(args.child):  # its memory is resident before health says up
            time.sleep(0.02)
    print(f"serving on {args.port}, EXTRA={os.environ.get('EXTRA', '')}", flush=True)
    HTTPServer(("127.0.0.1", args.port), Health).serve_forever()


if __name__ == "__main__":
    main()
