"""Storage: the typed SQLAlchemy models, one module per area (catalog, experiences, ratings, follow-ups, users,
moderation, mail, exports), the report tables and the published release tables. Every room above reads them."""

from registry.models.catalog import (
    Condition,
    ConditionSynonym,
    Doctor,
    Treatment,
    TreatmentSynonym,
    condition_treatment,
)
from registry.models.experience import (
    Diagnosis,
    Experience,
    ExperienceSideEffect,
    ExperienceStopReason,
    TipVote,
)
from registry.models.export import ExportLog
from registry.models.followup import ConditionFollow, ExperienceUpdate, FollowupReminder
from registry.models.mail import LinkToken, OutboxMail
from registry.models.moderation import FLAG_TARGETS, AuditEvent, Flag
from registry.models.published import (
    ANY,
    pub_cell,
    pub_condition,
    pub_member,
    pub_pending,
    pub_point,
    pub_rating,
    pub_slice,
    pub_version,
    release,
)
from registry.models.rating import COMMUNICATION_ITEMS, DoctorRating
from registry.models.report_tables import (
    COUNT_COLUMNS,
    DIMENSIONS,
    SLICE_AXES,
    report_cell,
    report_slice,
    report_term,
    report_version,
    upkeep_check,
)
from registry.models.user import CONSENT_VERSION, ConsentEvent, LoginFailure, User, UserSession

__all__ = [
    "LinkToken",
    "OutboxMail",
    "ANY",
    "pub_cell",
    "pub_condition",
    "pub_member",
    "pub_pending",
    "pub_point",
    "pub_rating",
    "pub_slice",
    "pub_version",
    "release",
    "FLAG_TARGETS",
    "AuditEvent",
    "Flag",
    "COUNT_COLUMNS",
    "DIMENSIONS",
    "SLICE_AXES",
    "report_cell",
    "report_slice",
    "report_term",
    "report_version",
    "upkeep_check",
    "COMMUNICATION_ITEMS",
    "DoctorRating",
    "CONSENT_VERSION",
    "Condition",
    "ConditionSynonym",
    "ConsentEvent",
    "Diagnosis",
    "Doctor",
    "Experience",
    "ExportLog",
    "ExperienceSideEffect",
    "TipVote",
    "ExperienceStopReason",
    "Treatment",
    "TreatmentSynonym",
    "User",
    "UserSession",
    "LoginFailure",
    "condition_treatment",
    "ConditionFollow",
    "ExperienceUpdate",
    "FollowupReminder",
]
