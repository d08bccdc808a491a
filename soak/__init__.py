"""Fault soaks: `make soak` runs `python -m soak.crash` and `python -m soak.load`."""
