"""Configuration: every option declared once (`base`, `settings`, `commands`), presented as flags,
Locust options, EMBLOAD_* variables and embload.toml keys and resolved in that order
(`options`), and the targets a compare knows by name (`targets`).

A leaf the reference server shares (it reads ServeSettings): pydantic and the standard library;
`options` and `targets` also core's errors and dialects.
"""
