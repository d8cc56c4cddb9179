"""The target: the endpoint under load, as embload reaches it.

Owns the target's URL (`url`: an OpenAI-style base URL, a route, or a bare host to ask), the
bytes of a request and the verdict on a reply in every dialect (`codec`), the httpx client for
everything off the load path (`client`), the preflight that finds the route and the model once
per run (`preflight`), and the servers embload starts on loopback: its bundled one (`bundled`)
and any other from a target's command (`launch`), each stopped after.

May import: config, data and core. Never the run directory, telemetry, analysis, output, the
Locust side, the driver, nor the reference server's code (only its command, over a process).
"""
