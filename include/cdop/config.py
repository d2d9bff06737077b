"""One typed configuration: deployment settings (where things are) and policy (local practice).

Settings come from the environment (or, inside Airflow, from Connections that the
`cdop_airflow` glue turns into the same mapping). Policy is non-secret local practice
with sensible defaults, optionally overridden by a TOML file named in CDOP_POLICY_FILE.
A bad value stops start-up with a message naming the setting.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cdop.crypto import check_keys
from cdop.errors import ConfigError
from cdop.validation import is_email

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class LadderStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after_working_days: int = Field(gt=0, description="working days after the due date")
    action: Literal["reminder", "escalation"]


class OfficeContact(BaseModel):
    """How agencies, members and families reach the CDOP office. The defaults are
    placeholders for demo mode only: outside it each must be set in the policy file
    (`require_office_details`), or every email would carry a made-up phone number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "CDOP office"
    email: str = "cdop.office@example.nhs.net"
    phone: str = "01234 567890"
    secure_email: str = "cdop.office@example.nhs.net"
    # The coordinator named in request emails (a role holder's name or job title).
    coordinator: str = "the CDOP coordinator"


# Policy settings a real deployment must set itself (the defaults are placeholders).
OFFICE_REQUIRED = ("office.name", "office.email", "office.phone", "office.secure_email",
                   "office.coordinator", "mail_from")


class PortalPolicy(BaseModel):
    """The agencies' return portal (cdop.portal): how long a link lives, the emailed code,
    the limits that slow an attacker down, and what an agency may attach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Where agencies reach the portal; each link is <base_url>/r/<token>.
    base_url: str = Field(default="http://127.0.0.1:8095", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    # A link lives this long from the email that carried it; each reminder renews it.
    link_valid_days: int = Field(default=60, gt=0, le=365)
    # Opening a link emails a six-digit code to the same address; the form opens only with it.
    code_required: bool = True
    code_valid_minutes: int = Field(default=15, gt=0, le=120)
    # Wrong codes in a row before the link is locked, and for how long.
    code_max_failures: int = Field(default=5, gt=0, le=20)
    lockout_minutes: int = Field(default=30, gt=0, le=1440)
    # New codes one link may ask for in an hour.
    codes_per_hour: int = Field(default=5, gt=0, le=60)
    # How long a browser stays signed in to one request after the code.
    session_minutes: int = Field(default=120, gt=0, le=720)
    # Requests a minute, per link and per client address.
    requests_per_minute_per_link: int = Field(default=60, gt=0)
    requests_per_minute_per_address: int = Field(default=120, gt=0)
    attachment_max_mb: int = Field(default=10, gt=0, le=25)
    max_attachments: int = Field(default=5, gt=0, le=20)
    attachment_types: tuple[str, ...] = (".pdf", ".docx", ".txt", ".csv", ".png", ".jpg")
class PanelMembership(BaseModel):
    """One agency's seat on the panel, as the annual report's governance section lists it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)


class Theme(BaseModel):
    """A theme the annual report counts across years (`[[annual_report.themes]]`): a
    review is in it when its category is one of `categories` or the notification records
    one of `circumstances` (either, where both are given; any review where neither is),
    and, where given, its age band is one of `age_bands` and the death was (not)
    expected as `expected` says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=120)
    categories: tuple[str, ...] = ()
    circumstances: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    expected: bool | None = None

    @model_validator(mode="after")
    def _known_codes(self) -> Theme:
        from cdop.taxonomy import taxonomy

        categories = {c["code"] for c in taxonomy().categories}
        for code in self.categories:
            if code not in categories:
                raise ValueError(f"annual_report.themes '{self.name}': unknown category code")
        circumstances = set(taxonomy().labels("circumstance"))
        for code in self.circumstances:
            if code not in circumstances:
                raise ValueError(f"annual_report.themes '{self.name}': unknown circumstance code")
        for band in self.age_bands:
            # The bands are cdop.rules.ages.AGE_BANDS (a layer above this one): each is
            # "<n>-<m> days" or "<n>-<m> years"; the report refuses one it does not know.
            if not re.fullmatch(r"\d{1,3}-\d{1,3} (days|years)", band):
                raise ValueError(f"annual_report.themes '{self.name}': unknown age band")
        return self

    def holds(self, category: str, circumstances, age_band: str, expected: bool) -> bool:
        if self.categories or self.circumstances:
            if category not in self.categories and not set(circumstances or ()) & set(self.circumstances):
                return False
        if self.age_bands and age_band not in self.age_bands:
            return False
        return self.expected is None or bool(expected) == self.expected


DEFAULT_THEMES = (
    Theme(name="Sudden unexpected death in infancy (under 1 year)", categories=("sudden_unexplained",),
          circumstances=("sudden_unexpected",), age_bands=("0-27 days", "28-364 days"), expected=False),
    Theme(name="Suicide or deliberate self-harm", categories=("suicide",),
          circumstances=("suicide_self_harm",)),
    Theme(name="Neonatal deaths (under 28 days)", age_bands=("0-27 days",)),
)


class AnnualReportPolicy(BaseModel):
    """What the annual report says about the panel, and how it is published (local
    practice; the `[annual_report]` table of the policy file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The chair is named by office: the report is public.
    chair: str = Field(default="Director of Public Health, Demo Area", max_length=200)
    foreword: str = Field(default=(
        "This report sets out what the panel learnt from the deaths of children who lived "
        "in the area, and what the partners did about it. Behind every number is a child "
        "and a family; we thank the families and the professionals who helped the panel."
    ), max_length=4000)
    membership: tuple[PanelMembership, ...] = (
        PanelMembership(agency="Public health", role="Chair; Director of Public Health"),
        PanelMembership(agency="Integrated care board", role="Designated doctor for child deaths"),
        PanelMembership(agency="Hospital trust", role="Consultant paediatrician"),
        PanelMembership(agency="Community health", role="Designated nurse for safeguarding"),
        PanelMembership(agency="Police", role="Detective inspector, child protection"),
        PanelMembership(agency="Children's social care", role="Head of service"),
        PanelMembership(agency="Education", role="Safeguarding lead"),
        PanelMembership(agency="Lay member", role="Lay member"),
    )
    # The confidential (unsuppressed) edition goes only to these, each a secure address.
    confidential_recipients: tuple[str, ...] = ("cdrp.partners@example.nhs.net",)
    # A table with more than this share of its non-zero counts hidden in one year is
    # published pooled over `pool_years` years as well.
    pool_years: int = Field(default=3, ge=2, le=10)
    pool_when_hidden_share: float = Field(default=0.5, ge=0, le=1)
    # The disclosure rule of the public edition, by name: "threshold" (counts from 1 to
    # `Policy.suppression_threshold` hidden, with secondary suppression until the
    # interval audit passes) or "nhs_england" (NHS England's rule for sub-national
    # tables: counts from 1 to `hide_up_to` hidden, every other count rounded to the
    # nearest `rounding_base`; totals from the unrounded counts, then rounded).
    disclosure_rule: Literal["threshold", "nhs_england"] = "threshold"
    hide_up_to: int = Field(default=7, ge=1, le=100)
    rounding_base: int = Field(default=5, ge=2, le=100)
    # Under rounding, a hidden count must stay any of at least this many values to a
    # reader holding the rounded margins (else a further count is hidden).
    rounding_protection: int = Field(default=3, ge=2, le=100)
    # The themes counted for the year and pooled over `pool_years` years.
    themes: tuple[Theme, ...] = Field(default=DEFAULT_THEMES, max_length=20)
    # Population: ONS mid-year estimates, single year of age, by local authority (see
    # docs/reference/data-formats.md); None = the fictional file shipped for the demo area.
    population_file: str | None = None
    population_area_codes: tuple[str, ...] = ("E06999901", "E06999902")

    @model_validator(mode="after")
    def _rounding_knowable(self) -> AnnualReportPolicy:
        # A published 0 must mean none: the counts it could round from (1 to base//2)
        # have to be hidden anyway.
        if self.hide_up_to < self.rounding_base // 2:
            raise ValueError("annual_report.hide_up_to must be at least half of rounding_base")
        if len({t.name for t in self.themes}) != len(self.themes):
            raise ValueError("annual_report.themes: each theme needs a name of its own")
        return self


PSEUDONYM_DATA = Path(__file__).resolve().parent / "data" / "pseudonyms.toml"
PSEUDONYM_TABLES = ("roles", "several", "fields", "dates", "plurals", "placeholders")
LABEL_MAX = 60


@lru_cache(maxsize=1)
def _default_pseudonyms() -> dict[str, dict[str, str]]:
    raw = tomllib.loads(PSEUDONYM_DATA.read_text(encoding="utf-8"))
    return {table: dict(raw.get(table, {})) for table in PSEUDONYM_TABLES}


class PseudonymPolicy(BaseModel):
    """The labels a pseudonymised text uses (data/pseudonyms.toml); the policy file's
    `[pseudonyms.<table>]` changes single entries, the rest keep the shipped value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: dict[str, str] = Field(default_factory=dict)
    several: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str] = Field(default_factory=dict)
    dates: dict[str, str] = Field(default_factory=dict)
    plurals: dict[str, str] = Field(default_factory=dict)
    placeholders: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _over_the_defaults(cls, data):
        defaults = _default_pseudonyms()
        data = dict(data or {})
        return {t: {**defaults[t], **dict(data.get(t) or {})} for t in PSEUDONYM_TABLES} | {
            k: v for k, v in data.items() if k not in PSEUDONYM_TABLES}

    @model_validator(mode="after")
    def _labels(self) -> PseudonymPolicy:
        for table in PSEUDONYM_TABLES:
            for key, label in getattr(self, table).items():
                if not label.strip() or len(label) > LABEL_MAX or "\n" in label:
                    raise ValueError(f"pseudonyms.{table}.{key}: a label of 1-{LABEL_MAX} characters on one line")
        if "default" not in self.placeholders:
            raise ValueError("pseudonyms.placeholders.default is required")
        return self


class Policy(BaseModel):
    """Local policy. Every field has a default; a CDOP changes them in its policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    area_name: str = "Demo Area"
    case_number_prefix: str = Field(default="CDOP", pattern=r"^[A-Z]{2,10}$")
    return_due_working_days: int = Field(default=20, gt=0, le=120)
    chase_ladder: tuple[LadderStep, ...] = (
        LadderStep(after_working_days=5, action="reminder"),
        LadderStep(after_working_days=10, action="reminder"),
        LadderStep(after_working_days=15, action="escalation"),
    )
    secure_domains: tuple[str, ...] = ("nhs.net", "cjsm.net", "gov.uk")
    holiday_subdivision: Literal["ENG", "WLS"] = "ENG"
    coordinator_email: str = "cdop.coordinator@example.nhs.net"
    digest_recipients: tuple[str, ...] = ("cdop.coordinator@example.nhs.net",)
    # Who hears of a task that failed after all its retries (DAG, task, run, case numbers).
    operations_email: str = "cdop.operations@example.nhs.net"
    mail_from: str = "cdop.office@example.nhs.net"
    mail_domain: str = "cdop.example.nhs.net"
    office: OfficeContact = OfficeContact()
    ncmd_deadline_hours: int = Field(default=48, gt=0)
    suppression_threshold: int = Field(default=7, ge=0)
    panel_notice_working_days: int = Field(default=7, ge=0)
    annual_report_month_day: str = Field(default="06-01", pattern=r"^\d{2}-\d{2}$")
    annual_report_recipients: tuple[str, ...] = ("safeguarding.partnership@example.gov.uk",)
    send_lease_minutes: int = Field(default=15, gt=0)
    # A message whose sender stopped mid-send this many times (its lease ran out each
    # time, never released) is held rather than tried again: it may be what stops it.
    send_interrupted_max: int = Field(default=5, gt=0)
    # Panel stage (issue 4). Agencies named by type, not name, in case reports: a school
    # or GP practice narrows down where a family lives.
    report_agency_types_by_type: tuple[str, ...] = ("education", "gp")
    # Days the coordinator's check waits as an Airflow Required Action before the run ends
    # (the report stays awaiting check in the CDOP database and is offered again).
    report_check_wait_days: int = Field(default=14, gt=0, le=60)
    # The Airflow user ids who may answer the coordinator's Required Action (Airflow 3.3
    # assigns Required Actions to user ids, not roles): under SimpleAuthManager the user
    # name, under the FAB auth manager the number `airflow users list` shows. At least one.
    coordinator_airflow_users: tuple[str, ...] = Field(default=("admin",), min_length=1)
    # The panel's list of newly notified deaths goes out weekly on this day (0 = Monday).
    panel_new_deaths_weekday: int = Field(default=0, ge=0, le=6)
    # A progress update is asked of an organisation when a recommendation falls due, then
    # every this many working days until it is completed or not accepted.
    recommendation_follow_up_working_days: int = Field(default=20, gt=0, le=120)
    # Once an organisation accepts a recommendation its action plan is due this many working
    # days later; a step still missing when due is chased on the follow-up interval above.
    recommendation_plan_working_days: int = Field(default=10, gt=0, le=120)
    # After this many requests for a step, the next goes to the organisation's escalation
    # contact (the coordinator in copy), or to the coordinator when it has none.
    recommendation_escalate_after: int = Field(default=2, gt=0, le=20)
    portal: PortalPolicy = PortalPolicy()
    pseudonyms: PseudonymPolicy = Field(default_factory=PseudonymPolicy)
    annual_report: AnnualReportPolicy = AnnualReportPolicy()

    @field_validator("secure_domains")
    @classmethod
    def _lower_domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        domains = tuple(d.strip().lower().lstrip("@.") for d in value)
        if any(not d or "." not in d for d in domains):
            raise ValueError("each secure domain must look like 'nhs.net'")
        return domains

    @field_validator("coordinator_airflow_users")
    @classmethod
    def _user_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        ids = tuple(v.strip() for v in value)
        if any(not v or len(v) > 100 for v in ids):
            raise ValueError("each coordinator Airflow user id must be 1-100 characters")
        return ids

    @field_validator("chase_ladder")
    @classmethod
    def _ladder_increasing(cls, value: tuple[LadderStep, ...]) -> tuple[LadderStep, ...]:
        days = [s.after_working_days for s in value]
        if days != sorted(set(days)):
            raise ValueError("steps must have strictly increasing after_working_days")
        return value

    @model_validator(mode="after")
    def _emails(self) -> Policy:
        for name in ("coordinator_email", "mail_from", "operations_email"):
            if not is_email(getattr(self, name)):
                raise ValueError(f"{name} is not a valid email address")
        for name in ("digest_recipients", "annual_report_recipients"):
            if not all(is_email(a) for a in getattr(self, name)):
                raise ValueError(f"{name} holds an invalid email address")
        for address in self.annual_report.confidential_recipients:
            if not is_email(address):
                raise ValueError("annual_report.confidential_recipients holds an invalid email address")
            if not self.is_secure_address(address):
                raise ValueError("annual_report.confidential_recipients: every address must be "
                                 "on a secure domain (secure_domains)")
        return self

    def is_secure_address(self, address: str) -> bool:
        domain = address.rsplit("@", 1)[-1].strip().lower()
        return any(domain == d or domain.endswith("." + d) for d in self.secure_domains)


def require_office_details(policy: Policy) -> None:
    """Outside demo mode the office's name, contact details, coordinator and sender
    address must be set in the policy file, not left at the placeholders: names each
    one missing."""
    placeholders = Policy()
    missing = []
    for name in OFFICE_REQUIRED:
        parts = name.split(".")
        value, default = policy, placeholders
        for part in parts:
            value, default = getattr(value, part), getattr(default, part)
        if not str(value).strip() or value == default:
            missing.append(name)
    if missing:
        raise ConfigError(
            "policy setting(s) " + ", ".join(f"'{m}'" for m in missing) + " must be set in "
            "CDOP_POLICY_FILE outside demo mode (the built-in values are placeholders: "
            "every email would carry them); CDOP_DEMO=1 keeps them for demo data only"
        )


def load_policy(path: str | os.PathLike[str] | None) -> Policy:
    data: dict = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"CDOP_POLICY_FILE: no file at {p}")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"CDOP_POLICY_FILE: not valid TOML ({exc})") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"policy setting '{'.'.join(str(p) for p in err['loc']) or 'policy'}': {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(problems) from None


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 8025
    security: Literal["none", "starttls", "tls"] = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: str | None = None  # CA bundle for a relay with a private certificate

    def check(self) -> None:
        loopback = self.host in ("localhost", "::1") or self.host.startswith("127.")
        if self.security == "none" and not loopback:
            raise ConfigError(
                "CDOP_SMTP_SECURITY: plain SMTP is allowed only to a loopback host; "
                "use 'starttls' or 'tls' for CDOP_SMTP_HOST"
            )


@dataclass(frozen=True)
class Settings:
    database_url: str
    encryption_keys: tuple[str, ...] = field(repr=False)
    policy: Policy
    smtp: SmtpSettings
    home: Path
    demo: bool = False
    actor: str = "system"
    # Where stored files' bytes live (cdop.store.storage): local, database, s3://bucket/prefix.
    file_store: str = "local"
    s3_endpoint_url: str | None = None

    @property
    def mail_dir(self) -> Path:
        return self.home / "mail"


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _demo_key(home: Path) -> str:
    """Demo mode makes (once) and reuses a key kept beside the demo data."""
    from cryptography.fernet import Fernet

    from cdop.private_files import private_dir, write_private

    key_file = home / "demo-encryption.key"
    if not key_file.exists():
        private_dir(home)
        write_private(key_file, Fernet.generate_key() + b"\n")
    return key_file.read_text(encoding="ascii").strip()


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment-style variables; raise ConfigError naming the bad one."""
    env = os.environ if env is None else env
    home = Path(env.get("CDOP_HOME") or PROJECT_ROOT / "var").resolve()
    demo = _bool(env.get("CDOP_DEMO"))
    url = env.get("CDOP_DATABASE_URL") or f"sqlite:///{home / 'cdop.sqlite'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]

    raw_keys = (env.get("CDOP_ENCRYPTION_KEYS") or "").strip()
    if not raw_keys:
        if not demo:
            raise ConfigError(
                "CDOP_ENCRYPTION_KEYS is not set: the CDOP database encrypts identifiable "
                "fields and will not start without a key. Generate one with "
                "`cdop keys generate`, or set CDOP_DEMO=1 for demo data only."
            )
        raw_keys = _demo_key(home)
    keys = tuple(k.strip() for k in raw_keys.split(",") if k.strip())
    check_keys(keys)

    security = (env.get("CDOP_SMTP_SECURITY") or "none").lower()
    if security not in ("none", "starttls", "tls"):
        raise ConfigError("CDOP_SMTP_SECURITY must be one of none, starttls, tls")
    try:
        port = int(env.get("CDOP_SMTP_PORT") or 8025)
    except ValueError:
        raise ConfigError("CDOP_SMTP_PORT must be a whole number") from None
    smtp = SmtpSettings(
        host=env.get("CDOP_SMTP_HOST") or "127.0.0.1",
        port=port,
        security=security,  # type: ignore[arg-type]
        user=env.get("CDOP_SMTP_USER") or None,
        password=env.get("CDOP_SMTP_PASSWORD") or None,
        ca_file=env.get("CDOP_SMTP_CA_FILE") or None,
    )
    if smtp.ca_file and not Path(smtp.ca_file).is_file():
        raise ConfigError("CDOP_SMTP_CA_FILE: no such file")
    smtp.check()
    file_store = file_store_choice(env.get("CDOP_FILE_STORE"), url)
    policy = load_policy(env.get("CDOP_POLICY_FILE"))
    if not demo:
        require_office_details(policy)
    return Settings(
        database_url=url,
        encryption_keys=keys,
        policy=policy,
        smtp=smtp,
        home=home,
        demo=demo,
        actor=env.get("CDOP_ACTOR") or _default_actor(),
        file_store=file_store,
        s3_endpoint_url=env.get("CDOP_S3_ENDPOINT_URL") or None,
    )


def file_store_choice(value: str | None, database_url: str) -> str:
    """CDOP_FILE_STORE, checked: `local` (files under CDOP_HOME), `database` (rows of the
    CDOP database), or `s3://bucket[/prefix]`. Unset: the database on PostgreSQL (every
    machine that reaches it reaches the files), local files on SQLite (one machine)."""
    choice = (value or "").strip()
    if not choice:
        return "database" if database_url.startswith("postgresql") else "local"
    if choice in ("local", "database"):
        return choice
    if choice.startswith("s3://") and len(choice) > len("s3://") and not choice[5:].startswith("/"):
        return choice
    raise ConfigError("CDOP_FILE_STORE must be local, database or s3://bucket[/prefix]")


def _default_actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings from the environment (the CLI's and tests' entry point)."""
    return settings_from_env()
