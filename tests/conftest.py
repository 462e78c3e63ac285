"""Shared pytest settings: notebooks under tests/ are fixtures, not lessons for nbval."""
collect_ignore_glob = ["**/*.ipynb", "*.ipynb"]
