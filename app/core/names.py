"""Comparing the names people write for the same place or group."""

import re


def normalise_name(name: str) -> str:
    """Fold case, punctuation and spacing so 'D.I. Khan' and 'DI Khan' compare equal."""
    return re.sub(r"[^a-z0-9]+", "", name.lower())
