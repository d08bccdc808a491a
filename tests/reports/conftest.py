"""Summaries are exercised through the tracking workflow, with its keys."""

from tests.tracking.conftest import fresh_rate_limits, keys

__all__ = ["fresh_rate_limits", "keys"]
