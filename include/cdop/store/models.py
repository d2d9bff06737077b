"""The CDOP database: SQLAlchemy 2 models. Migrations live in cdop/migrations (Alembic).

Identifiable fields use the `Encrypted` column type; look-ups on them go through
keyed blind indexes (`nhs_index`, `identity_index`), never through the plain value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cdop.crypto import Encrypted, EncryptedDate, EncryptedInt, EncryptedJSON
from cdop.store.statuses import (
    AnnualReportStatus,
    AttendanceStatus,
    FormStatus,
    HeldStatus,
    InvestigationStatus,
    OutboxStatus,
    RecommendationResponse,
    RecommendationStatus,
    ReportStatus,
    RequestStatus,
    check_sql,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Agency(Base):
    """An organisation in the directory that may be asked for a reporting form."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_type: Mapped[str] = mapped_column(String(40))
    request_email: Mapped[str] = mapped_column(String(254))
    escalation_email: Mapped[str | None] = mapped_column(String(254))
    secure_email: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Case(Base):
    """One child death under review. `case_number` is the pseudonym used everywhere else."""

    __tablename__ = "cases"
    __table_args__ = (
        # Migration 0023: the pipeline counts closed cases from closed_on and the open
        # ones by the stage rule; its lists and the case list page in notification order.
        Index("ix_cases_closed_on", "closed_on"),
        Index("ix_cases_notified", "notified_on", "case_number"),
        Index("ix_cases_open_notified", "notified_on", "case_number",
              postgresql_where=text("closed_on IS NULL"), sqlite_where=text("closed_on IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(20), unique=True)
    # Identifiable: encrypted at rest.
    forenames: Mapped[str] = mapped_column(Encrypted)
    surname: Mapped[str] = mapped_column(Encrypted)
    date_of_birth: Mapped[str] = mapped_column(Encrypted)  # ISO date, encrypted
    nhs_number: Mapped[str | None] = mapped_column(Encrypted)
    address: Mapped[str | None] = mapped_column(Encrypted)
    postcode: Mapped[str | None] = mapped_column(Encrypted)
    notifier_name: Mapped[str | None] = mapped_column(Encrypted)
    # Keyed hashes for duplicate detection without decrypting every row.
    nhs_index: Mapped[str | None] = mapped_column(String(64), index=True)
    identity_index: Mapped[str] = mapped_column(String(64), index=True)
    # The exact date of death and age: with either one in plain text the date of birth
    # is one subtraction away (migration 0009_encrypt_free_text). Queries use the coarse
    # age band, or the office's own dates, and decrypt the rows they need.
    date_of_death: Mapped[dt.date] = mapped_column(EncryptedDate)
    age_at_death_days: Mapped[int] = mapped_column(EncryptedInt)
    # Facts needed for review and statistics (coarse, not identifying on their own).
    age_band: Mapped[str] = mapped_column(String(20))  # cdop.rules.ages.AGE_BANDS
    sex: Mapped[str] = mapped_column(String(20))
    ethnicity: Mapped[str] = mapped_column(String(60))
    deprivation_decile: Mapped[int | None] = mapped_column(Integer)
    place_of_death: Mapped[str] = mapped_column(String(40))
    death_expected: Mapped[bool] = mapped_column(Boolean)
    circumstances: Mapped[list[str]] = mapped_column(JSON, default=list)
    notifier_role: Mapped[str | None] = mapped_column(String(120))
    notifier_email: Mapped[str | None] = mapped_column(Encrypted)  # often carries a name
    # The office's dates stay plain: each is on or after the death, so none bounds the
    # date of death from below (see migration 0009_encrypt_free_text).
    notified_on: Mapped[dt.date] = mapped_column(Date)
    ncmd_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    # Family circumstances the panel sees (e.g. siblings by age band, key worker offered,
    # bereavement support offered, the office's free-text notes): encrypted, the notes
    # come from the family.
    family_context: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    requests: Mapped[list[AgencyRequest]] = relationship(
        back_populates="case", order_by="AgencyRequest.id"
    )
    investigations: Mapped[list[Investigation]] = relationship(
        back_populates="case", order_by="Investigation.id"
    )
    # Read only: the stage rule asks whether the case is on a meeting's agenda.
    allocation: Mapped[MeetingAllocation | None] = relationship(viewonly=True, uselist=False)


class AgencyRequest(Base):
    """The reporting form asked of one agency for one case, and its chase state."""

    __tablename__ = "agency_requests"
    __table_args__ = (
        UniqueConstraint("case_id", "agency_id", name="uq_agency_requests_case_agency"),
        # The chase sweep reads only open requests due a step: its cost follows what is
        # due, not the size of the backlog.
        Index("ix_agency_requests_chase", "status", "next_chase_on"),
        # The stage rule's tests (any request sent? any still open?) per case, answered
        # from the index alone.
        Index("ix_agency_requests_case_status", "case_id", "status"),
        CheckConstraint(check_sql("status", RequestStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    forms: Mapped[list[str]] = mapped_column(JSON, default=list)
    # pending (not yet asked) -> sent -> returned | waived
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.PENDING)
    requested_on: Mapped[dt.date | None] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    returned_on: Mapped[dt.date | None] = mapped_column(Date)
    return_file: Mapped[str | None] = mapped_column(String(500))
    waived_on: Mapped[dt.date | None] = mapped_column(Date)
    waiver_reason: Mapped[str | None] = mapped_column(Encrypted)
    summary: Mapped[str | None] = mapped_column(Encrypted)  # the agency's return summary
    ladder_step: Mapped[int] = mapped_column(Integer, default=0)
    next_chase_on: Mapped[dt.date | None] = mapped_column(Date)
    last_chased_on: Mapped[dt.date | None] = mapped_column(Date)

    case: Mapped[Case] = relationship(back_populates="requests")
    agency: Mapped[Agency] = relationship()


class Investigation(Base):
    """A parallel process the review waits for (inquest, police, CSPR, CDRM...)."""

    __tablename__ = "investigations"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", name="uq_investigations_case_kind"),
        # The stage rule's "any process still open?" per case, from the index alone.
        Index("ix_investigations_case_status", "case_id", "status"),
        CheckConstraint(check_sql("status", InvestigationStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=InvestigationStatus.NOT_STARTED)
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    concluded_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Encrypted)

    case: Mapped[Case] = relationship(back_populates="investigations")


class OutboxMessage(Base):
    """Every message the system sends, under a business key: claim, send, mark sent."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status", "status"),
        CheckConstraint(check_sql("status", OutboxStatus), name="status"),
        # The outbox page's list of kinds (and its filter by kind) without a table scan.
        Index("ix_outbox_messages_kind", "kind"),
        # The outbox page, newest queued first, page by page.
        Index("ix_outbox_messages_queued", "created_at", "id"),
        # Which meetings' packs are queued (the key's meeting-<id>/ prefix): partial, so
        # the many other messages (a chase sweep queues thousands) do not pay for it.
        Index("ix_outbox_messages_panel_packs", "business_key",
              postgresql_where=text("kind = 'panel_pack'"), sqlite_where=text("kind = 'panel_pack'")),
        # One case's page and one request's reminders, without a scan of the whole outbox.
        Index("ix_outbox_messages_case_id", "case_id"),
        Index("ix_outbox_messages_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("agency_requests.id"))
    to_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    cc_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A subject names the agency next to the case number (a school, a GP practice).
    subject: Mapped[str] = mapped_column(Encrypted)
    secure_route: Mapped[bool] = mapped_column(Boolean, default=False)
    # Business date the message belongs to (the run's logical date).
    business_date: Mapped[dt.date] = mapped_column(Date)
    # Free-form, non-identifying parameters the template needs (e.g. ladder step).
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending -> sending (claimed) -> sent ; failed attempts return it to pending (OutboxStatus)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Whom the server accepted it for when it refused it for others (see delivery):
    # a release sends it to the rest only.
    delivered_to: Mapped[list[str] | None] = mapped_column(JSON)


class MailOutage(Base):
    """A time the mail server refused us rather than a message (cdop.mail.outages)."""

    __tablename__ = "mail_outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(200))
    # True on the one open outage, NULL once it ended: the unique constraint allows one.
    current: Mapped[bool | None] = mapped_column(Boolean, unique=True, default=True)


class Signal(Base):
    """A nudge for Airflow, raised in the transaction of what it is about and taken by an
    Airflow trigger polling this table (cdop.panel.check_signal). It carries a name and a
    time, nothing else: the rest of the database says what to do."""

    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class StoredFile(Base):
    """A file kept in the database (cdop.store.storage.DatabaseStore): what a local
    deployment keeps under CDOP_HOME, for deployments on more than one machine. `data` is
    already encrypted (cdop.store.files encrypts before anything leaves the process)."""

    __tablename__ = "stored_files"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """Who changed what, when. Details never carry identifiers: case numbers only."""

    __tablename__ = "audit_events"
    # The audit trail's reveals (a few actions among every event), newest first.
    __table_args__ = (Index("ix_audit_events_action_occurred", "action", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Why identifiers were shown or sent (a reveal's stated reason), encrypted: free text
    # typed by a person may name someone.
    reason: Mapped[str | None] = mapped_column(Encrypted)


class CaseIdentifier(Base):
    """An identifier of the child's family or contacts (parent's name, sibling's name,
    school, previous address...) kept only so the anonymisation gate can look for it."""

    __tablename__ = "case_identifiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(40))  # e.g. parent_name, sibling_name, school
    value: Mapped[str] = mapped_column(Encrypted)


class ChronologyEntry(Base):
    """One dated event from an agency's return; merged across agencies for the report."""

    __tablename__ = "chronology_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("agency_requests.id", ondelete="CASCADE"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    event_date: Mapped[dt.date] = mapped_column(EncryptedDate)  # may be the birth: encrypted
    description: Mapped[str] = mapped_column(Encrypted)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CaseReport(Base):
    """A built, anonymised case report; it leaves the system only once approved."""

    __tablename__ = "case_reports"
    __table_args__ = (
        UniqueConstraint("case_id", "version", name="uq_case_reports_case_version"),
        CheckConstraint(check_sql("status", ReportStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20))  # ReportStatus
    html_path: Mapped[str | None] = mapped_column(String(500))
    pdf_path: Mapped[str | None] = mapped_column(String(500))
    gate_findings: Mapped[list[str]] = mapped_column(JSON, default=list)  # field names only
    built_on: Mapped[dt.date] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    comments: Mapped[str | None] = mapped_column(Encrypted)
    # When the coordinator's check was last offered in Airflow (a Required Action); the
    # offer is renewed after it times out, so no run waits for months (migration 0004_panel).
    check_requested_on: Mapped[dt.date | None] = mapped_column(Date)
    # What the pseudonymiser replaced in this version, as the coordinator checks it: per
    # replacement its kind, fingerprint (an HMAC, never the text), severity, field, label
    # and where (migration 0017_replacements). Approval waits for a decision on each flag.
    replacements: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)


class PanelMeeting(Base):
    __tablename__ = "panel_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    meets_on: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(20), default="general")  # general | neonatal
    capacity: Mapped[int] = mapped_column(Integer, default=8)
    location: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[dt.time | None] = mapped_column(Time)  # local time of day
    minutes: Mapped[str | None] = mapped_column(Encrypted)  # gate-checked when recorded
    minutes_recorded_on: Mapped[dt.date | None] = mapped_column(Date)


class MeetingAttendance(Base):
    """A member invited to a meeting, and whether they attended or sent apologies."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id", name="uq_meeting_attendance_meeting_member"),
        CheckConstraint(check_sql("status", AttendanceStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("panel_meetings.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_members.id"))
    status: Mapped[str] = mapped_column(String(20), default=AttendanceStatus.INVITED)


class PanelMember(Base):
    __tablename__ = "panel_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class MeetingAllocation(Base):
    """A case on a meeting's agenda; `pack` says whether it went in the pack or an addendum."""

    __tablename__ = "meeting_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("panel_meetings.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    allocated_on: Mapped[dt.date] = mapped_column(Date)
    pack: Mapped[str | None] = mapped_column(String(20))  # None until sent: pack | addendum
    outcome: Mapped[str | None] = mapped_column(String(30))  # the panel's, per case (meetings.OUTCOMES)
    outcome_on: Mapped[dt.date | None] = mapped_column(Date)


class Analysis(Base):
    """The panel's analysis form for one case."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("panel_meetings.id"))
    reviewed_on: Mapped[dt.date] = mapped_column(Date, index=True)  # review completed
    category: Mapped[str] = mapped_column(String(40))  # taxonomy category code
    # yes | no | insufficient: derived from the factors' grades by cdop.rules.modifiable
    # when recorded (any factor graded 2 = yes), kept so that reports count it in SQL.
    modifiable: Mapped[str] = mapped_column(String(20))
    learning: Mapped[str | None] = mapped_column(Encrypted)  # gate-checked, still encrypted
    recorded_by: Mapped[str] = mapped_column(String(120))
    # The analysis is complete and finalised (NCMD) on this business date; the case closes.
    finalised_on: Mapped[dt.date] = mapped_column(Date)

    factors: Mapped[list[AnalysisFactor]] = relationship(order_by="AnalysisFactor.id")


class AnalysisFactor(Base):
    """One line of the analysis form: a factor in its domain, graded 0-2
    (data/analysis_factors.toml: 0 information not available, 1 present but not
    contributory, 2 may have contributed, i.e. modifiable)."""

    __tablename__ = "analysis_factors"
    __table_args__ = (CheckConstraint("grade IN (0, 1, 2)", name="grade"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(20))  # taxonomy factor_domain code
    factor_code: Mapped[str] = mapped_column(String(40))  # analysis_factors.toml code in its domain
    grade: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Encrypted)  # gate-checked, still encrypted


class Recommendation(Base):
    """A panel recommendation to a named organisation, followed up until completed."""

    __tablename__ = "recommendations"
    __table_args__ = (
        Index("ix_recommendations_follow_up", "status", "next_follow_up_on"),
        CheckConstraint(check_sql("status", RecommendationStatus), name="status"),
        CheckConstraint(check_sql("response", RecommendationResponse), name="response"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    analysis_id: Mapped[int | None] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    organisation: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    email: Mapped[str] = mapped_column(String(254))
    text: Mapped[str] = mapped_column(Encrypted)  # gate-checked, still encrypted
    agreed_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=RecommendationStatus.AGREED)
    next_follow_up_on: Mapped[dt.date | None] = mapped_column(Date)
    follow_ups_sent: Mapped[int] = mapped_column(Integer, default=0)
    # Requests sent for the step the organisation owes now (its answer, plan or outcome):
    # back to 0 when it sends that step; past policy.recommendation_escalate_after, escalated.
    requests_for_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The national (NCMD thematic) recommendation this one answers, by its reference.
    national_reference: Mapped[str | None] = mapped_column(String(60))
    # The organisation's answer through the portal (cdop.portal.recommendations): accepted
    # or declined, when, and its reasons (typed by the organisation: encrypted).
    response: Mapped[str | None] = mapped_column(String(20))
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    response_reasons: Mapped[str | None] = mapped_column(Encrypted)
    # Its action plan once accepted: [{"action", "owner_role", "target_on"}] (owners by
    # role, never a person's name), encrypted as typed.
    plan: Mapped[list | None] = mapped_column(EncryptedJSON)
    plan_submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The outcome it reports with its evidence (RecommendationEvidence), typed: encrypted.
    outcome: Mapped[str | None] = mapped_column(Encrypted)
    outcome_reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RecommendationEvidence(Base):
    """A file the organisation sent as evidence of its action, stored encrypted under a name
    of the system's making (as a return's attachments); the name it gave is encrypted."""

    __tablename__ = "recommendation_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    stored_path: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(Encrypted)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RecommendationUpdate(Base):
    __tablename__ = "recommendation_updates"
    __table_args__ = (CheckConstraint(check_sql("status", RecommendationStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True
    )
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    progress: Mapped[str] = mapped_column(Encrypted)


class AnnualReport(Base):
    """A built annual report (year ending 31 March `year`): one row per distinct content.

    A rebuild with identical content finds its row again (and its email is not sent
    twice); different content is released as the next version. A build the gate blocked
    has no version and names the matched fields only."""

    __tablename__ = "annual_reports"
    __table_args__ = (
        UniqueConstraint("year", "content_hash", name="uq_annual_reports_year_content"),
        CheckConstraint(check_sql("status", AnnualReportStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)  # set on release
    status: Mapped[str] = mapped_column(String(20))  # AnnualReportStatus
    built_on: Mapped[dt.date] = mapped_column(Date)  # business date of the (last) build
    built_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    directory: Mapped[str | None] = mapped_column(String(500))
    gate_findings: Mapped[list[str]] = mapped_column(JSON, default=list)  # "document: field"
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))


class GateDecision(Base):
    """The coordinator's decision on a flagged text in one case's document: "not an
    identifier" (the flag is not raised again there) or "redact" (it stays blocked
    until the text is gone). The flagged text is kept only as its fingerprint (an HMAC
    under the blind-index key), never as text."""

    __tablename__ = "gate_decisions"
    __table_args__ = (
        UniqueConstraint("case_id", "document", "finding_kind", "fingerprint",
                         name="uq_gate_decisions_case_document_finding"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    document: Mapped[str] = mapped_column(String(40))  # a document kind, e.g. case_report
    finding_kind: Mapped[str] = mapped_column(String(20))  # e.g. name
    fingerprint: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(20))  # not_identifier | redact
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReplacementDecision(Base):
    """The coordinator's decision on one replacement in a case's pseudonymised draft:
    keep the label, change it, or undo it as a false alarm (with a reason). Keyed, like
    GateDecision, by the finding's kind and a fingerprint of its folded text: the same
    text is decided once for the whole case, and a rebuild asks nothing twice."""

    __tablename__ = "replacement_decisions"
    __table_args__ = (
        UniqueConstraint("case_id", "finding_kind", "fingerprint", name="uq_replacement_decisions_case_finding"),
        CheckConstraint("decision IN ('keep', 'label', 'undo')", name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    finding_kind: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(10))
    label: Mapped[str | None] = mapped_column(String(60))  # gate-checked when chosen
    reason: Mapped[str | None] = mapped_column(Encrypted)  # why it was undone
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

class HeldFinding(Base):
    """A finding the gate holds a statutory output on (an annual report's year, an NCMD
    export's year): where it is (document, section or table, row or line) and its kind,
    never its value -- the text is kept only as its fingerprint (an HMAC of the kind and
    the folded text, under the blind-index key). The coordinator releases a false alarm
    with a reason (kept encrypted, audited); a rebuild of the same output lets every
    text of that kind and fingerprint through. Each blocked build replaces the output's
    rows still held; released rows stay, as the memory of the decision."""

    __tablename__ = "held_findings"
    __table_args__ = (
        Index("ix_held_findings_output_status", "output", "status"),
        CheckConstraint(check_sql("status", HeldStatus), name="status"),
        CheckConstraint("severity IN ('stop', 'flag')", name="severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    output: Mapped[str] = mapped_column(String(60))  # e.g. annual_report:2027, ncmd_export:2027
    document: Mapped[str] = mapped_column(String(120))  # a file name or an edition's part
    section: Mapped[str | None] = mapped_column(String(160))  # a heading, or a table's name
    row: Mapped[int | None] = mapped_column(Integer)  # a table's row (1 = the first under the header)
    line: Mapped[int | None] = mapped_column(Integer)  # a text's line
    column: Mapped[str | None] = mapped_column(String(80))  # a table's column heading
    field: Mapped[str] = mapped_column(String(60))  # e.g. unrecorded.address, child.surname
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))  # stop | flag
    fingerprint: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=HeldStatus.HELD)
    found_on: Mapped[dt.date] = mapped_column(Date)
    released_by: Mapped[str | None] = mapped_column(String(120))
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Encrypted)  # typed by a person: may name someone


class PortalLink(Base):
    """One secure link to the return portal, sent by email for one agency request. The
    token itself is never stored: only its keyed hash (`token_hash`). The emailed code is
    kept encrypted until it is used; a browser that gave it holds a session whose keyed
    hash is kept here too."""

    __tablename__ = "portal_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A link opens either one agency request's return or one recommendation's response.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("agency_requests.id", ondelete="CASCADE"), index=True)
    recommendation_id: Mapped[int | None] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's SHA-256, encrypted: what key rotation re-keys token_hash from (the token
    # itself is never kept). NULL for a link issued before it was kept.
    token_digest: Mapped[str | None] = mapped_column(Encrypted)
    # The address the link went to: the code goes there too. Whether that route is
    # secure decides whether the page may show who the request is about.
    sent_to: Mapped[str] = mapped_column(String(254))
    secure_route: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(20))  # submitted | reopened
    code: Mapped[str | None] = mapped_column(Encrypted)
    code_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    code_failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    session_hash: Mapped[str | None] = mapped_column(String(64))
    session_digest: Mapped[str | None] = mapped_column(Encrypted)  # as token_digest, for the session
    session_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class PortalForm(Base):
    """What an agency has typed into the portal for one request: a draft until it is
    submitted (the answers, chronology and summary as one encrypted document)."""

    __tablename__ = "portal_forms"
    __table_args__ = (CheckConstraint(check_sql("status", FormStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("agency_requests.id", ondelete="CASCADE"), unique=True)
    content: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=FormStatus.DRAFT)
    reference: Mapped[str | None] = mapped_column(String(40))
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    submissions: Mapped[int] = mapped_column(Integer, default=0)


class PortalAttachment(Base):
    """A file an agency attached in the portal, stored encrypted under a name of the
    system's making; the name the agency gave it (it may be the child's) is encrypted."""

    __tablename__ = "portal_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("agency_requests.id", ondelete="CASCADE"), index=True)
    stored_path: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(Encrypted)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# Tables whose Encrypted columns `cdop keys rotate` re-encrypts. Later modules append.
ENCRYPTED_COLUMNS: dict[type[Base], tuple[str, ...]] = {
    Case: (
        "forenames",
        "surname",
        "date_of_birth",
        "nhs_number",
        "address",
        "postcode",
        "notifier_name",
        "notifier_email",
        "date_of_death",
        "age_at_death_days",
        "family_context",
    ),
    Investigation: ("outcome",),
    AgencyRequest: ("summary", "waiver_reason"),
    CaseIdentifier: ("value",),
    ChronologyEntry: ("event_date", "description"),
    CaseReport: ("comments",),
    Analysis: ("learning",),
    AnalysisFactor: ("notes",),
    Recommendation: ("text", "response_reasons", "plan", "outcome"),
    RecommendationEvidence: ("original_name",),
    RecommendationUpdate: ("progress",),
    OutboxMessage: ("subject",),
    AuditEvent: ("reason",),
    PortalLink: ("code", "token_digest", "session_digest"),
    PortalForm: ("content",),
    PortalAttachment: ("original_name",),
    PanelMeeting: ("minutes",),
    ReplacementDecision: ("reason",),

    HeldFinding: ("reason",),
}

__all__ = [
    "Agency",
    "AgencyRequest",
    "AuditEvent",
    "Base",
    "MeetingAttendance",
    "Case",
    "ENCRYPTED_COLUMNS",
    "Investigation",
    "OutboxMessage",
    "func",
    "utcnow",
]
