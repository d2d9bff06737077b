"""Every free text that can reach the panel, the public or an agency is checked where it
is typed -- in the CLI, on the page, through a file: refused with the field named and the
value never repeated, nothing written; or, for the office's own notes, kept internal
and never printed. Each can be corrected afterwards. Hard names: a curly apostrophe in a
double-barrelled surname, a diacritic, a parent's name with an accent. Real SQLite and
PostgreSQL, the real CLI, the real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cdop.intake.family import record_family
from cdop.intake.notifications import register_notifications
from cdop.requests.agency_requests import plan_agency_requests, waive_request
from cdop.store.db import unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import (
    AgencyRequest,
    Case,
    Investigation,
    MeetingAllocation,
    PanelMeeting,
    Recommendation,
    RecommendationUpdate,
)
from cdop.validation import InputError
from cdop_airflow.sending import send_pending
from tests.conftest import cli

D = dt.date
TODAY = D(2026, 3, 2)
FORENAMES, SURNAME, PARENT = "Łucja Hope", "O’Neill-Smith", "Siobhán Ffrench-Mullen"
# How a careless colleague writes them: the forename, the surname with its curly
# apostrophe, the parent's forename.
NAMED = ("Seen at clinic with Łucja.", "Mrs O’Neill-Smith declined the visit.", "Siobhán phoned the ward.")
BY_ROLE = "Mother declined the visit; the GP was told."


def _case(settings) -> str:
    row = {"forenames": FORENAMES, "surname": SURNAME, "date_of_birth": "2022-05-01",
           "date_of_death": "2026-02-20", "sex": "female", "place_of_death": "hospital", "expected": "no",
           "agencies": ["RUH", "GPHC"], "investigations": ["post_mortem"], "notified_on": "2026-02-21"}
    [number] = register_notifications(settings, [row], today=D(2026, 2, 21), first_row=None)
    record_family(settings, number, context=None, identifiers=[{"field": "parent_name", "value": PARENT}])
    plan_agency_requests(settings, D(2026, 2, 23))
    send_pending(settings, kinds=["agency_request"])
    return number


def _waiver(settings, number):
    with unit_of_work(settings) as uow:
        return uow.session.scalar(select(AgencyRequest.waiver_reason).join(Case).where(
            Case.case_number == number, AgencyRequest.status == "waived"))


def _refused_by_cli(field: str, *args: str) -> None:
    result = cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"field '{field}'" in result.stderr and "refer to people by their role" in result.stderr
    assert "Traceback" not in result.stderr
    for name in ("Łucja", "O’Neill", "Siobhán", "Lucja", "ONeill", "Siobhan"):
        assert name not in result.stderr


def _refused_by_service(field: str, call) -> None:
    with pytest.raises(InputError) as caught:
        call()
    assert [p.field for p in caught.value.problems] == [field]
    for name in ("Łucja", "O’Neill", "Siobhán"):
        assert name not in str(caught.value)


# ------------------------------------------------------------ each entry point

def waiver_reason_cli(settings, number):
    for text in NAMED:
        _refused_by_cli("reason", "request", "waive", number, "RUH", "--reason", text, "--today", "2026-03-02")
        assert _waiver(settings, number) is None
    assert cli("request", "waive", number, "RUH", "--reason", BY_ROLE, "--today", "2026-03-02").returncode == 0


def waiver_reason_amended_cli(settings, number):
    waive_request(settings, number, "RUH", reason="Not involved.", today=TODAY)
    for text in NAMED:
        _refused_by_cli("reason", "request", "amend-waiver", number, "RUH", "--reason", text)
        assert _waiver(settings, number) == "Not involved."
    done = cli("request", "amend-waiver", number, "RUH", "--reason", BY_ROLE)
    assert done.returncode == 0 and _waiver(settings, number) == BY_ROLE


def investigation_outcome_cli(settings, number):
    for text in NAMED:
        _refused_by_cli("outcome", "investigation", "record", number, "post_mortem", "--status", "concluded",
                        "--date", "2026-02-27", "--outcome", text, "--today", "2026-03-02")
        with unit_of_work(settings) as uow:
            case = get_case(uow, number)
            inv = uow.session.scalar(select(Investigation).where(Investigation.case_id == case.id))
            assert inv.outcome is None and inv.status != "concluded"
    # Corrected by recording it again, as every investigation is.
    assert cli("investigation", "record", number, "post_mortem", "--status", "concluded", "--date",
               "2026-02-27", "--outcome", BY_ROLE, "--today", "2026-03-02").returncode == 0


def meeting_minutes_service(settings, number):
    from cdop.panel.meetings import record_meeting

    with unit_of_work(settings) as uow:
        meeting = PanelMeeting(meets_on=D(2026, 3, 1), kind="general", capacity=6)
        uow.session.add(meeting)
        uow.session.flush()
        uow.session.add(MeetingAllocation(meeting_id=meeting.id, case_id=get_case(uow, number).id,
                                          allocated_on=D(2026, 2, 25)))
        uow.commit()
        meeting_id = meeting.id
    for text in NAMED:
        _refused_by_service("minutes", lambda text=text: record_meeting(settings, meeting_id, today=TODAY,
                                                                        minutes=text))
        with unit_of_work(settings) as uow:
            assert uow.session.get(PanelMeeting, meeting_id).minutes is None
    # Corrected by recording them again.
    record_meeting(settings, meeting_id, today=TODAY, minutes="The chair welcomed the members. " + BY_ROLE)


def recommendation_progress_service(settings, number):
    from cdop.panel.analysis import record_recommendation_update

    with unit_of_work(settings) as uow:
        rec = Recommendation(case_id=get_case(uow, number).id, organisation="Demo Integrated Care Board",
                             email="icb@example.nhs.net", text="Repeat safer sleep advice.",
                             agreed_on=D(2026, 3, 1), due_on=D(2026, 9, 1))
        uow.session.add(rec)
        uow.commit()
        rec_id = rec.id
    for text in NAMED:
        _refused_by_service("progress", lambda text=text: record_recommendation_update(
            settings, rec_id, status="in_progress", progress=text, today=TODAY))
        with unit_of_work(settings) as uow:
            assert not uow.session.scalars(select(RecommendationUpdate)).all()
    record_recommendation_update(settings, rec_id, status="in_progress", progress=BY_ROLE, today=TODAY)


def family_support_notes_cli(settings, number):
    for text in NAMED:
        _refused_by_cli("support_notes", "case", "family", number, "--support-notes", text)
        with unit_of_work(settings) as uow:
            assert "support_notes" not in (get_case(uow, number).family_context or {})
    assert cli("case", "family", number, "--support-notes", BY_ROLE).returncode == 0


def _analysed(settings, number) -> int:
    """An analysis with one recommendation and its progress (as recorded before)."""
    from cdop.store.models import Analysis

    with unit_of_work(settings) as uow:
        case = get_case(uow, number)
        analysis = Analysis(case_id=case.id, reviewed_on=D(2026, 3, 1), category="infection", modifiable="no",
                            learning="Safer sleep advice was repeated.", recorded_by="test",
                            finalised_on=D(2026, 3, 1))
        uow.session.add(analysis)
        uow.session.flush()
        rec = Recommendation(case_id=case.id, analysis_id=analysis.id, organisation="Demo Integrated Care Board",
                             email="icb@example.nhs.net", text="Repeat safer sleep advice.",
                             agreed_on=D(2026, 3, 1), due_on=D(2026, 9, 1))
        uow.session.add(rec)
        uow.session.flush()
        uow.session.add(RecommendationUpdate(recommendation_id=rec.id, recorded_on=D(2026, 3, 2),
                                             status="in_progress", progress="Started."))
        uow.commit()
        return rec.id


def learning_amended_cli(settings, number):
    from cdop.store.models import Analysis

    _analysed(settings, number)
    for text in NAMED:
        _refused_by_cli("learning", "analysis", "amend-learning", number, "--learning", text)
    assert cli("analysis", "amend-learning", number, "--learning", BY_ROLE).returncode == 0
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(Analysis.learning)) == BY_ROLE


def recommendation_text_amended_cli(settings, number):
    rec_id = _analysed(settings, number)
    for text in NAMED:
        _refused_by_cli("recommendation", "recommendation", "amend-text", f"R{rec_id}", "--text", text)
    assert cli("recommendation", "amend-text", f"R{rec_id}", "--text", BY_ROLE).returncode == 0
    with unit_of_work(settings) as uow:
        assert uow.session.get(Recommendation, rec_id).text == BY_ROLE


def progress_amended_cli(settings, number):
    rec_id = _analysed(settings, number)
    for text in NAMED:
        _refused_by_cli("progress", "recommendation", "amend-progress", str(rec_id), "--progress", text)
    assert cli("recommendation", "amend-progress", str(rec_id), "--progress", BY_ROLE).returncode == 0
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(RecommendationUpdate.progress)) == BY_ROLE


def factor_notes_amended_cli(settings, number):
    from cdop.store.models import Analysis, AnalysisFactor

    _analysed(settings, number)
    with unit_of_work(settings) as uow:
        analysis_id = uow.session.scalar(select(Analysis.id))
        uow.session.add(AnalysisFactor(analysis_id=analysis_id, domain="child", factor_code="acute_illness",
                                       grade=1, notes="Known to the GP."))
        uow.commit()
    for text in NAMED:
        _refused_by_cli("notes", "analysis", "amend-factor", number, "1", "--notes", text)
        with unit_of_work(settings) as uow:
            assert uow.session.scalar(select(AnalysisFactor.notes)) == "Known to the GP."
    assert cli("analysis", "amend-factor", number, "2", "--notes", BY_ROLE).returncode == 2  # no line 2
    assert cli("analysis", "amend-factor", number, "1", "--notes", BY_ROLE).returncode == 0
    with unit_of_work(settings) as uow:
        assert uow.session.scalar(select(AnalysisFactor.notes)) == BY_ROLE


def _returned(settings, number) -> None:
    from cdop.requests.returns import record_return, record_return_content

    record_return(settings, number, "RUH", received_on=TODAY, today=TODAY)
    record_return_content(settings, number, "RUH", summary="Known to the ward.",
                          entries=[{"date": "2026-02-19", "what_happened": "Seen in clinic."}], today=TODAY)


def return_summary_amended_cli(settings, number):
    _returned(settings, number)
    for text in NAMED:
        _refused_by_cli("summary", "return", "amend-summary", number, "RUH", "--text", text)
        with unit_of_work(settings) as uow:
            assert uow.session.scalar(select(AgencyRequest.summary).where(
                AgencyRequest.summary.is_not(None))) == "Known to the ward."
    assert cli("return", "amend-summary", number, "RUH", "--text", BY_ROLE).returncode == 0


def chronology_entry_amended_cli(settings, number):
    from cdop.store.models import ChronologyEntry

    _returned(settings, number)
    for text in NAMED:
        _refused_by_cli("what_happened", "return", "amend-entry", number, "1", "--text", text,
                        "--today", "2026-03-02")
        with unit_of_work(settings) as uow:
            assert uow.session.scalar(select(ChronologyEntry.description)) == "Seen in clinic."
    assert cli("return", "amend-entry", number, "1", "--text", BY_ROLE, "--today", "2026-03-02").returncode == 0


def family_support_notes_file(settings, number, tmp_path):
    import json

    path = tmp_path / "family.json"
    for text in NAMED:
        path.write_text(json.dumps({"context": {"support_notes": text}}), encoding="utf-8")
        _refused_by_cli("support_notes", "case", "family", number, "--file", str(path))
        with unit_of_work(settings) as uow:
            assert "support_notes" not in (get_case(uow, number).family_context or {})
    path.write_text(json.dumps({"context": {"support_notes": BY_ROLE}}), encoding="utf-8")
    assert cli("case", "family", number, "--file", str(path)).returncode == 0


def meeting_minutes_file(settings, number, tmp_path):
    with unit_of_work(settings) as uow:
        meeting = PanelMeeting(meets_on=D(2026, 3, 1), kind="general", capacity=6)
        uow.session.add(meeting)
        uow.session.flush()
        uow.session.add(MeetingAllocation(meeting_id=meeting.id, case_id=get_case(uow, number).id,
                                          allocated_on=D(2026, 2, 25)))
        uow.commit()
        meeting_id = meeting.id
    path = tmp_path / "minutes.txt"
    for text in NAMED:
        path.write_text(f"The chair welcomed the members.\n{text}\n", encoding="utf-8")
        _refused_by_cli("minutes", "panel", "meeting", "record", str(meeting_id), "--minutes-file", str(path),
                        "--today", "2026-03-02")
        with unit_of_work(settings) as uow:
            assert uow.session.get(PanelMeeting, meeting_id).minutes is None
    path.write_text("The chair welcomed the members.\n" + BY_ROLE, encoding="utf-8")
    done = cli("panel", "meeting", "record", str(meeting_id), "--minutes-file", str(path), "--today", "2026-03-02")
    assert done.returncode == 0, done.stderr


FILE_ENTRY_POINTS = {
    "family support notes (JSON file)": family_support_notes_file,
    "meeting minutes (text file)": meeting_minutes_file,
}


@pytest.mark.parametrize("entry", list(FILE_ENTRY_POINTS))
def test_each_free_text_file_refuses_a_name_naming_the_field(agencies, entry, tmp_path):
    settings = agencies
    number = _case(settings)
    FILE_ENTRY_POINTS[entry](settings, number, tmp_path)


ENTRY_POINTS = {
    "waiver reason (cli)": waiver_reason_cli,
    "waiver reason, amended (cli)": waiver_reason_amended_cli,
    "investigation outcome (cli)": investigation_outcome_cli,
    "meeting minutes (service of the page and cli)": meeting_minutes_service,
    "recommendation progress (service of the page and cli)": recommendation_progress_service,
    "family support notes (cli)": family_support_notes_cli,
    "learning, amended (cli)": learning_amended_cli,
    "recommendation text, amended (cli)": recommendation_text_amended_cli,
    "recommendation progress, amended (cli)": progress_amended_cli,
    "factor notes, amended (cli)": factor_notes_amended_cli,
    "return summary, amended (cli)": return_summary_amended_cli,
    "chronology entry, amended (cli)": chronology_entry_amended_cli,
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_each_free_text_entry_point_refuses_a_name_naming_the_field(agencies, entry):
    settings = agencies
    number = _case(settings)
    # Each name refused, the field left as it was; then the text by role accepted.
    ENTRY_POINTS[entry](settings, number)


def test_the_offices_own_notes_are_kept_internal_and_never_printed(agencies):
    """Office notes may name people: accepted, kept encrypted, shown to the office only;
    not a place any panel or public document is built from."""
    from cdop.panel.drafts import draft
    from cdop.panel.report_content import content_places, report_context

    settings = agencies
    number = _case(settings)
    done = cli("case", "family", number, "--office-notes", "Grandmother Hope O’Neill-Smith is the contact.")
    assert done.returncode == 0, done.stderr
    with unit_of_work(settings) as uow:
        case = get_case(uow, number)
        assert case.family_context["office_notes"].startswith("Grandmother Hope")
        places = content_places(uow.session, case, settings)
        assert not [t for _, t in places if "Grandmother" in t]
        # The report is drafted from the pseudonymised typed texts: the office notes are
        # not one of them, so neither the draft nor the template's context holds them.
        drafted = draft(uow.session, case, settings, TODAY)
        assert not [p for p in drafted.places if "Grandmother" in p.original]
        context = report_context(uow.session, case, settings, version=1, today=TODAY, draft=drafted)
        assert "Grandmother" not in repr(context)
