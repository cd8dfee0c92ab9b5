"""Command-line helpers for platform admins (run with `python -m tools.<name>`)."""
