"""The spellings of groups and places the data set knows, for filters and for imports."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.names import normalise_name
from app.incidents.models import MilitantGroup, Place


@dataclass(frozen=True)
class AliasTables:
    """Normalised spelling -> canonical name, one table for groups and one for places."""

    groups: dict[str, str]
    places: dict[str, str]

    def group(self, name: str) -> str | None:
        """A group's canonical name; ACLED's 'TTP: Tehreek-i-Taliban Pakistan' is tried whole,
        then as its abbreviation and its full name, the two halves of ACLED's own convention."""
        for candidate in (name, *name.split(":")):
            found = self.groups.get(normalise_name(candidate))
            if found:
                return found
        return None

    def place(self, name: str) -> str | None:
        return self.places.get(normalise_name(name))

    def canonical(self, dimension: str, value: str) -> str:
        """The stored spelling for a filter value, or the value itself when it is not known."""
        if dimension == "group":
            return self.group(value) or value
        if dimension in ("region", "district"):
            return self.place(value) or value
        return value


async def load_alias_tables(session: AsyncSession) -> AliasTables:
    groups: dict[str, str] = {}
    places: dict[str, str] = {}
    for table, model in ((groups, MilitantGroup), (places, Place)):
        for row in await session.scalars(select(model).order_by(model.id)):
            for spelling in (row.name, *row.aliases):
                table.setdefault(normalise_name(spelling), row.name)
    return AliasTables(groups=groups, places=places)
