"""Output: what a person reads. The terminal's tables (`terminal`, `present`), report.html,
compare.html and sweep.html (`html`, `compare_html`, `sweep_html`, `charts`, `templates/`),
the report's stability and trace-replay sections (`stability_html`, `trace_html`), a trace's
figures on the terminal (`trace_view`), their formatting (`formats`), and a run's summary
pushed to a Prometheus Pushgateway (`push`).

The only package that imports matplotlib and jinja2 (lazily: a report draws once a test is
over). May import: analysis, store, target, config, data, core.
"""
