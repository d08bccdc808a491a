"""Server-rendered pages: the templates and the filters every page shares.

Kept here rather than in router.py so that any page module (the review pages too) can render
with the same environment: `from app.web import templates`.
"""

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi.templating import Jinja2Templates

from app.chat.compose import written
from app.incidents.charts import _period_label, _series_label
from app.policies.vocabulary import JURISDICTION_NAMES, Jurisdiction
from app.tracking.status import STATUS_HELP, Status

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
API = "/api/v1"
MISSING = "\N{EN DASH}"


def words(value: str | None) -> str:
    """A vocabulary value as words: `partially_implemented` -> `partially implemented`."""
    return (value or "").replace("_", " ")


def when(day: date | None, precision: str | None = "day") -> str:
    """A date at the precision it is known to: `2024`, `March 2024` or `5 March 2024`."""
    return written(day, precision or "day") if day else ""


def jurisdiction(value: str | None) -> str:
    """`khyber_pakhtunkhwa` -> `Khyber Pakhtunkhwa`; an unknown value as plain words."""
    try:
        return JURISDICTION_NAMES[Jurisdiction(value)]
    except ValueError:
        return words(value)


def number(value: Any) -> str:
    """Thousands separated; a missing value as a dash, never as 'None'."""
    if value is None:
        return MISSING
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def signed(value: Any) -> str:
    """A change, with its sign: +145, -18."""
    if value is None:
        return MISSING
    return ("+" if value > 0 else "") + number(value)


def page_url(api_url: str) -> str:
    """The page that shows what an API address holds, where there is one; else the address."""
    path, _, query = api_url.partition("?")
    parts = path.removeprefix(API).strip("/").split("/")
    if parts[0] == "items" and len(parts) == 2:
        return f"/items/{quote(parts[1])}"
    if parts[0] == "items" and len(parts) == 3 and parts[2] == "timeline":
        return "/timeline?" + urlencode({"item": parts[1]})
    if parts == ["summary"] and not query:
        return "/briefing"
    return api_url


def chart_url(trend_url: str, kind: str = "svg") -> str:
    """The chart of a trend address (`/api/v1/trends?...`): the same parameters, drawn."""
    return f"{API}/trends/chart.{kind}?{trend_url.partition('?')[2]}"


def _environment() -> jinja2.Environment:
    # Autoescape on for every template, whatever its extension.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        words=words,
        when=when,
        # The chart's own labels: a table beneath a chart names periods and series as it does.
        period=_period_label,
        series_label=_series_label,
        jurisdiction=jurisdiction,
        number=number,
        signed=signed,
        page_url=page_url,
        chart_url=chart_url,
    )
    env.globals.update(
        STATUSES=[s.value for s in Status],
        STATUS_HELP={s.value: help for s, help in STATUS_HELP.items()},
        today=date.today,
    )
    return env


templates = Jinja2Templates(env=_environment())
