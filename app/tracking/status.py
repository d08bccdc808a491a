"""The implementation-status vocabulary used by every item and every status update."""

from enum import StrEnum


class Status(StrEnum):
    NOT_STARTED = "not_started"
    PROPOSED = "proposed"
    IN_PROGRESS = "in_progress"
    PARTIALLY_IMPLEMENTED = "partially_implemented"
    IMPLEMENTED = "implemented"
    STALLED = "stalled"
    LAPSED = "lapsed"
    ABANDONED = "abandoned"
    UNKNOWN = "unknown"


STATUS_HELP: dict[Status, str] = {
    Status.NOT_STARTED: "Decided or recommended, but no step towards it is on record.",
    Status.PROPOSED: "Announced, drafted or tabled; not yet adopted.",
    Status.IN_PROGRESS: "Adopted and being carried out; too early to judge the result.",
    Status.PARTIALLY_IMPLEMENTED: "Some parts in force or delivered, others missing or weak.",
    Status.IMPLEMENTED: "In force or delivered as intended.",
    Status.STALLED: "Was moving, then stopped without being formally dropped.",
    Status.LAPSED: "Ended as designed: a sunset clause expired or a time-bound effort closed.",
    Status.ABANDONED: "Formally or evidently dropped, or reversed.",
    Status.UNKNOWN: "No assessment on record.",
}
