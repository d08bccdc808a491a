"""The backup tests write through the tracking workflow, with its rate limits reset."""

from tests.tracking.conftest import fresh_rate_limits

__all__ = ["fresh_rate_limits"]
