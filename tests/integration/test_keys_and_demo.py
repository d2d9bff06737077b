"""Key rotation and the demo loader, on real databases."""

import datetime as dt

from cryptography.fernet import Fernet
from sqlalchemy import Text, func, select, type_coerce

from cdop import crypto
from cdop.config import settings_from_env
from cdop.dev.demo import load_demo
from cdop.intake.notifications import register_notifications
from cdop.rules.stages import case_stage
from cdop.store.db import unit_of_work
from cdop.store.models import ENCRYPTED_COLUMNS, AuditEvent, Case, OutboxMessage

CHILD = {"forenames": "Ottilie", "surname": "Fenwright", "date_of_birth": "2019-05-05",
         "date_of_death": "2026-11-20", "nhs_number": "9434765919", "sex": "female",
         "place_of_death": "home", "expected": "no", "agencies": ["RUH"]}


def test_rotation_reencrypts_under_the_new_key_and_keeps_duplicate_detection(agencies, env):
    register_notifications(agencies, [CHILD], today=dt.date(2026, 11, 26), first_row=None)
    stored = agencies.home / "files" / "CDOP-2026-0001" / "RUH" / "form.docx.enc"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(crypto.encrypt_bytes(b"returned form"))
    new_key = Fernet.generate_key().decode()
    rotated = settings_from_env({**env, "CDOP_ENCRYPTION_KEYS": f"{new_key},{env['CDOP_ENCRYPTION_KEYS']}"})
    from cdop.confidentiality.keys import rotate

    _fill_every_encrypted_column(agencies)
    # The case, one row of each other table; the portal link has its digest (re-keyed).
    assert rotate(rotated) == {"rows": 1 + 18, "files": 1, "old_links": 0, "old_links_until": None}
    assert Fernet(new_key.encode()).decrypt(stored.read_bytes()) == b"returned form"
    only_new = settings_from_env({**env, "CDOP_ENCRYPTION_KEYS": new_key})
    from cdop.store.db import make_engine

    make_engine(only_new)  # installs only the new key
    with unit_of_work(only_new) as uow:
        case = uow.session.scalar(select(Case))
        assert case.surname == "Fenwright" and case.nhs_number == "9434765919"
        token = uow.session.scalar(select(type_coerce(Case.surname, Text)))
        assert Fernet(new_key.encode()).decrypt(token.encode()) == b"Fenwright"
        # Every encrypted column, the ones 0009_encrypt_free_text added included, is under
        # the new key alone.
        for model, columns in ENCRYPTED_COLUMNS.items():
            for column in columns:
                tokens = uow.session.scalars(select(type_coerce(model.__table__.c[column], Text))).all()
                if model is AuditEvent:  # only a reveal has a reason; other events have none
                    tokens = [token for token in tokens if token is not None]
                assert tokens and None not in tokens, f"{model.__tablename__}.{column} has no value to rotate"
                for token in tokens:
                    Fernet(new_key.encode()).decrypt(token.encode())
        case = uow.session.scalar(select(Case))
        assert case.date_of_death == dt.date(2026, 11, 20) and case.age_at_death_days == 2756
    import pytest

    from cdop.intake.notifications import DuplicateNotification

    with pytest.raises(DuplicateNotification):
        register_notifications(only_new, [CHILD], today=dt.date(2026, 11, 26), first_row=None)
    crypto.use_keys(agencies.encryption_keys)


def _fill_every_encrypted_column(settings) -> None:
    """One row with a value in each encrypted column (the case has the rest)."""
    from cdop.store.models import (
        Agency,
        AgencyRequest,
        Analysis,
        AnalysisFactor,
        CaseIdentifier,
        CaseReport,
        ChronologyEntry,
        HeldFinding,
        Investigation,
        PanelMeeting,
        PortalAttachment,
        PortalForm,
        PortalLink,
        Recommendation,
        RecommendationEvidence,
        RecommendationUpdate,
        ReplacementDecision,
    )

    with unit_of_work(settings) as uow:
        case = uow.session.scalar(select(Case))
        case.notifier_email = "o.quennell@nhs.net"
        case.family_context = {"support_notes": "Grandmother Hope visits"}
        case.notifier_name, case.address, case.postcode = "Dr Quennell", "1 Mill Lane", "DT1 1AA"
        request = uow.session.scalar(select(AgencyRequest))
        request.summary, request.waiver_reason = "Seen twice", "Never saw the child"
        uow.session.add(Investigation(case_id=case.id, kind="post_mortem", status="concluded",
                                      outcome="Concluded"))
        agency = uow.session.scalar(select(Agency))
        analysis = Analysis(case_id=case.id, reviewed_on=dt.date(2026, 12, 1), category="infection",
                            modifiable="no", learning="Sepsis screening", recorded_by="t",
                            finalised_on=dt.date(2026, 12, 1))
        uow.session.add_all([
            CaseIdentifier(case_id=case.id, field="school", value="Oakfield"),
            ChronologyEntry(case_id=case.id, agency_id=agency.id, event_date=dt.date(2026, 11, 1),
                            description="Seen in clinic"),
            CaseReport(case_id=case.id, version=1, status="returned", built_on=dt.date(2026, 11, 30),
                       comments="Add the GP's last contact"),
            analysis,
            PanelMeeting(meets_on=dt.date(2026, 11, 30), kind="general", capacity=8,
                         minutes="Discussed the case"),
        ])
        uow.session.flush()
        rec = Recommendation(case_id=case.id, analysis_id=analysis.id, organisation="ICB",
                             email="icb@example.nhs.net", text="Audit", agreed_on=dt.date(2026, 12, 1),
                             due_on=dt.date(2027, 6, 1), response="accepted", response_reasons="Agreed",
                             plan=[{"action": "Audit", "owner_role": "Lead", "target_on": "2027-03-01"}],
                             outcome="Audit done")
        uow.session.add_all([AnalysisFactor(analysis_id=analysis.id, domain="service", factor_code="treatment_delay",
                                            grade=1, notes="Delay"),
                             rec])
        uow.session.flush()
        uow.session.add(RecommendationUpdate(recommendation_id=rec.id, recorded_on=dt.date(2027, 1, 1),
                                             status="in_progress", progress="Audit started"))
        uow.session.add(RecommendationEvidence(recommendation_id=rec.id, stored_path="files/y.enc",
                                               original_name="Fenwright audit.pdf", content_type="application/pdf",
                                               size_bytes=1))
        uow.audit_reveal("case_revealed", "case", case.id, case.id, reason="Checking the NHS number")
        uow.session.add_all([
            PortalLink(request_id=request.id, case_id=case.id, token_hash="0" * 64, sent_to="a@nhs.net",
                       secure_route=True, expires_at=dt.datetime(2027, 1, 1), code="123456",
                       codes_sent=1, code_failures=0, token_digest="a" * 64, session_hash="1" * 64,
                       session_digest="b" * 64, session_expires_at=dt.datetime(2027, 1, 1)),
            PortalForm(request_id=request.id, content={"summary": "Seen twice"}, status="draft", submissions=0),
            PortalAttachment(request_id=request.id, stored_path="files/x.enc", original_name="Fenwright.pdf",
                             content_type="application/pdf", size_bytes=1),
        ])
        uow.session.add_all([
            ReplacementDecision(case_id=case.id, finding_kind="name", fingerprint="c" * 64, decision="undo",
                                reason="A Baby Bjorn is a sling", decided_by="t"),
            HeldFinding(output="annual_report:2026", document="annual-report-2026.html", field="unrecorded.address",
                        kind="address", severity="stop", fingerprint="d" * 64, status="released",
                        found_on=dt.date(2026, 12, 1), released_by="t", reason="An organisation, not an address"),
        ])
        if not uow.session.scalar(select(func.count(OutboxMessage.id))):
            uow.session.add(OutboxMessage(business_key="k", message_id="<k@cdop>", kind="agency_request",
                                          case_id=case.id, agency_id=agency.id, to_addrs=[], cc_addrs=[],
                                          subject=f"Child death review {case.case_number}: {agency.name}",
                                          business_date=dt.date(2026, 11, 26), params={}))
        uow.commit()


def test_every_encrypted_column_is_rotated():
    """A column of an Encrypted type left out of ENCRYPTED_COLUMNS would keep its old key
    after `cdop keys rotate`, and be unreadable once the old key is removed."""
    from cdop.crypto import Encrypted
    from cdop.store.models import Base

    declared = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns
                if isinstance(c.type, Encrypted)}
    listed = {(m.__tablename__, c) for m, columns in ENCRYPTED_COLUMNS.items() for c in columns}
    assert declared == listed


def test_demo_loads_its_cases_at_every_stage_once(settings):
    today = dt.date(2026, 11, 26)
    assert load_demo(settings, today=today) == "demo data loaded: 21 cases"
    assert "already loaded" in load_demo(settings, today=today)
    with unit_of_work(settings) as uow:
        cases = uow.session.scalars(select(Case)).all()
        stages = {case_stage(c).value for c in cases}
        assert len(cases) >= 20
        assert {"notified", "gathering_information", "waiting_on_investigations", "ready_for_panel"} <= stages
        # The demo history went through the outbox like real use would.
        assert uow.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent")) > 30


def test_no_demo_identifier_is_readable_in_the_raw_database(settings):
    """Issue 2: a grep of the raw SQLite file or a pg_dump finds no child's name or NHS number."""
    import subprocess
    from pathlib import Path

    load_demo(settings, today=dt.date(2026, 11, 26))
    with unit_of_work(settings) as uow:
        secrets = {(c.surname, c.nhs_number, c.date_of_birth) for c in uow.session.scalars(select(Case))}
    url = settings.database_url
    if url.startswith("sqlite"):
        db_file = Path(url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    else:
        raw = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", url.rsplit("/", 1)[1]],
                             capture_output=True, check=True).stdout
    leaked = [nhs for _, nhs, _ in secrets if nhs and nhs.encode() in raw]
    leaked += [f"surname of {n}" for n, (surname, _, _) in enumerate(secrets) if f"{surname}".encode() in raw]
    assert leaked == []
