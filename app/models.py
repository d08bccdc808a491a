"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.accounts.models import Account, ApiKey
from app.audit.models import AuditEntry
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
from app.tracking.models import Correction, StatusUpdate

__all__ = [
    "Account",
    "ApiKey",
    "AuditEntry",
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
    "SeriesLink",
    "StatisticsTable",
    "StatusUpdate",
    "TimelineEvent",
]
