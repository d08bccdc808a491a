"""JSON responses serialized by orjson: several times faster than the standard encoder on the
large nested records (an item's full history) that the read paths return."""

from typing import Any

import orjson
from starlette.responses import Response

# UTC datetimes end in "Z", as pydantic writes them, so both encoders give the same text.
OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def json_bytes(data: Any) -> bytes:
    return orjson.dumps(data, option=OPTIONS)


class FastJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)
