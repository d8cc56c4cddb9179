"""Presenting runs: terminal tables now; the HTML report joins here."""
