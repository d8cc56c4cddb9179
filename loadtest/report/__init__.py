"""Presenting runs: rich tables in the terminal, and the self-contained report.html."""
