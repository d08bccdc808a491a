"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.incidents.models import (
    MilitantGroup,
    Observation,
    ObservationMetric,
    Place,
    StatisticsTable,
)
from app.policies.models import (
    Document,
    Institution,
    ItemInstitution,
    ItemRelation,
    ItemTheme,
    PolicyItem,
    SeriesLink,
    TimelineEvent,
)
from app.tracking.models import StatusUpdate

__all__ = [
    "Document",
    "Institution",
    "ItemInstitution",
    "ItemRelation",
    "ItemTheme",
    "MilitantGroup",
    "Observation",
    "ObservationMetric",
    "Place",
    "PolicyItem",
    "SeriesLink",
    "StatisticsTable",
    "StatusUpdate",
    "TimelineEvent",
]
