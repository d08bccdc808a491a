"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.accounts.models import Account, ApiKey
from app.audit.models import AuditEntry
from app.chat.models import ChatConversation, ChatTurn
from app.core.idempotency import IdempotencyRecord
from app.incidents.models import (
    IncidentImport,
    IncidentRecord,
    IncidentRevision,
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
from app.search.models import (
    ENGINE_MANAGED_COLUMNS,
    ENGINE_MANAGED_INDEXES,
    ENGINE_MANAGED_TABLES,
    SearchEntry,
)
from app.tracking.models import Correction, StatusUpdate

__all__ = [
    "Account",
    "ApiKey",
    "AuditEntry",
    "ChatConversation",
    "ChatTurn",
    "Correction",
    "Document",
    "IdempotencyRecord",
    "IncidentImport",
    "IncidentRecord",
    "IncidentRevision",
    "Institution",
    "ItemInstitution",
    "ItemRelation",
    "ItemTheme",
    "MilitantGroup",
    "Observation",
    "ObservationMetric",
    "Place",
    "PolicyItem",
    "SearchEntry",
    "SeriesLink",
    "StatisticsTable",
    "StatusUpdate",
    "TimelineEvent",
]


def include_in_autogenerate(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """Leave the engines' own search structures (FTS5 tables, the tsvector column) to the
    migration that builds them: the models do not describe them."""
    if type_ == "table":
        return not (name or "").startswith(ENGINE_MANAGED_TABLES)
    if type_ == "column":
        return (obj.table.name, name) not in ENGINE_MANAGED_COLUMNS
    if type_ == "index":
        return name not in ENGINE_MANAGED_INDEXES
    return True
