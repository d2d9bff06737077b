"""Return content and the family's circumstances, recorded through the `cdop` command as a
coordinator would, on SQLite and PostgreSQL: from the documented template (CSV and JSON)
or field by field; bad rows refused naming row and field, nothing half written; text
encrypted at rest; identifiers named by field, never echoed."""

from __future__ import annotations

import csv
import datetime as dt
import json

from sqlalchemy import select, text

from cdop.intake.notifications import register_notifications
from cdop.mail.templating import template_path
from cdop.requests.agency_requests import KIND as REQUEST_KIND
from cdop.requests.agency_requests import plan_agency_requests
from cdop.requests.returns import record_return
from cdop.store.db import unit_of_work
from cdop.store.models import AgencyRequest, Case, CaseIdentifier, ChronologyEntry
from cdop_airflow.sending import send_pending
from tests.conftest import cli

D = dt.date
TODAY = "2026-04-20"


def _case_with_returns(settings, agencies=("RUH", "GPHC")) -> str:
    row = {"forenames": "Perpetua", "surname": "Fothergill", "date_of_birth": "2021-06-09",
           "date_of_death": "2026-03-01", "sex": "female", "place_of_death": "hospital", "expected": "no",
           "agencies": list(agencies), "notified_on": "2026-03-02"}
    [number] = register_notifications(settings, [row], today=D(2026, 3, 2), first_row=None)
    plan_agency_requests(settings, D(2026, 3, 3))
    send_pending(settings, kinds=[REQUEST_KIND])
    for code in agencies:
        record_return(settings, number, code, received_on=D(2026, 4, 1), today=D(2026, 4, 1))
    return number


def _entries(settings, number) -> list[tuple]:
    with unit_of_work(settings) as uow:
        case = uow.session.scalar(select(Case).where(Case.case_number == number))
        return [(e.event_date.isoformat(), e.agency_id, e.description) for e in uow.session.scalars(
            select(ChronologyEntry).where(ChronologyEntry.case_id == case.id).order_by(ChronologyEntry.id))]


def test_request_email_attaches_the_documented_return_template(agencies, smtp_server):
    _case_with_returns(agencies, agencies=("RUH",))
    [message] = [m for m in smtp_server.messages() if "request for information" in m["Subject"]]
    template = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()}
    assert template["CDOP-2026-0001-return-template.csv"] == template_path(
        "returns/return_template.csv").read_bytes()
    assert "a template for the chronology" in " ".join(message.get_body(("plain",)).get_content().split())


def test_return_content_from_the_csv_and_json_templates(agencies, tmp_path):
    settings = agencies
    number = _case_with_returns(settings)
    # The CSV template as an agency fills it in: the documented columns, a summary row.
    with template_path("returns/return_template.csv").open(newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["type", "date", "agency", "what_happened"]
    filled = tmp_path / "ruh.csv"
    with filled.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerow(["summary", "", "", "Known to paediatrics since infancy.\nAsthma reviews yearly."])
        w.writerow(["event", "2026-02-27", "", "Seen in the emergency department; discharged."])
        w.writerow(["", "2026-02-28", "WMAS", "Ambulance called by a parent."])
    result = cli("return", "content", number, "RUH", "--file", str(filled), "--today", TODAY)
    assert result.returncode == 0, result.stderr
    assert "recorded 2 chronology entries and the summary" in result.stdout

    # The JSON template, as documented (it names its case and agency).
    data = json.loads(template_path("returns/return_template.json").read_text())
    data.update(case_number=number, agency="GPHC")
    path = tmp_path / "gp.json"
    path.write_text(json.dumps(data))
    result = cli("return", "content", number, "gphc", "--file", str(path), "--today", TODAY)
    assert result.returncode == 0, result.stderr

    entries = _entries(settings, number)
    assert len(entries) == 4
    with unit_of_work(settings) as uow:
        requests = {r.agency.code: r for r in uow.session.scalars(select(AgencyRequest))}
        assert requests["RUH"].summary.startswith("Known to paediatrics")
        assert requests["GPHC"].summary == data["summary"]
        codes = {a.id: a.code for a in (r.agency for r in requests.values())}
        raw = uow.session.execute(text("SELECT description FROM chronology_entries")).scalars().all()
    assert "WMAS" not in codes.values()  # an agency the child's requests did not name
    assert {e[2] for e in entries} >= {"Ambulance called by a parent."}
    assert not any("Ambulance" in r or "emergency" in r for r in raw)  # encrypted at rest

    # The chronology merged across returns, in date order, as the coordinator sees it.
    shown = cli("return", "chronology", number, "--json")
    rows = json.loads(shown.stdout)
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    assert {r["agency"] for r in rows} == {"RUH", "WMAS", "GPHC"}
    # Numbered 1..n within the case (not by the database's ids, shared by every case), and
    # amend-entry takes that number.
    assert [r["number"] for r in rows] == list(range(1, len(rows) + 1))
    listed = cli("return", "chronology", number).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [str(n) for n in range(1, len(rows) + 1)]
    amended = cli("return", "amend-entry", number, "2", "--text", "Seen again in clinic.", "--today", "2026-03-02")
    assert amended.returncode == 0, amended.stderr
    assert json.loads(cli("return", "chronology", number, "--json").stdout)[1]["what_happened"] == \
        "Seen again in clinic."


def test_bad_rows_are_refused_naming_row_and_field_and_nothing_is_written(agencies, tmp_path):
    settings = agencies
    number = _case_with_returns(settings)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "type,date,agency,what_happened\n"
        "summary,,,A fine summary.\n"
        "event,2026-02-27,,Seen in clinic.\n"
        "event,27/02/2026,,Seen by Dr Fothergill at home.\n"  # row 3 (records count from 1): wrong date form
        "event,2026-02-28,NOSUCH,Visit.\n"  # row 4: unknown agency
        "event,2026-02-28,,\n"  # row 5: nothing happened
        "event,2099-01-01,,In the future.\n"  # row 6
    )
    result = cli("return", "content", number, "RUH", "--file", str(bad), "--today", TODAY)
    assert result.returncode == 2
    err = result.stderr
    assert "nothing was written" in err
    for expected in ("row 3, field 'date'", "row 4, field 'agency'", "row 5, field 'what_happened'",
                     "row 6, field 'date': is in the future"):
        assert expected in err, err
    assert "27/02/2026" not in err and "Fothergill" not in err and "NOSUCH" not in err
    assert _entries(settings, number) == []
    with unit_of_work(settings) as uow:
        assert all(r.summary is None for r in uow.session.scalars(select(AgencyRequest)))

    # A JSON file naming another case is refused whole, too.
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"case_number": "CDOP-2026-0999", "summary": "x",
                                 "chronology": [{"date": "2026-02-01", "what_happened": "y"}]}))
    result = cli("return", "content", number, "RUH", "--file", str(other), "--today", TODAY)
    assert result.returncode == 2 and "field 'case_number'" in result.stderr


def test_field_by_field_and_replacing_a_return(agencies):
    settings = agencies
    number = _case_with_returns(settings)
    args = ("return", "content", number, "GPHC", "--today", TODAY)
    result = cli(*args, "--summary", "Registered with the practice since birth.",
                 "--entry", "2026-01-10|Immunisations given.", "--entry", "2026-02-20|CHS|Health visitor contact.")
    assert result.returncode == 0, result.stderr
    assert len(_entries(settings, number)) == 2
    # Recording again without --replace would double the chronology: refused.
    result = cli(*args, "--entry", "2026-01-11|Corrected entry.")
    assert result.returncode == 2 and "use --replace" in result.stderr
    result = cli(*args, "--entry", "2026-01-11|Corrected entry.", "--replace")
    assert result.returncode == 0, result.stderr
    assert [e[2] for e in _entries(settings, number)] == ["Corrected entry."]
    # A return not yet recorded takes no content.
    result = cli("return", "content", number, "CSC", "--summary", "x", "--today", TODAY)
    assert result.returncode == 2 and "no request to agency CSC" in result.stderr


def test_family_circumstances_and_identifiers(agencies, tmp_path):
    settings = agencies
    number = _case_with_returns(settings)
    family = json.loads(template_path("returns/family_template.json").read_text())
    family["identifiers"] = [{"field": "parent_name", "value": "Hyacinth Fothergill"},
                             {"field": "school", "value": "Wyvern Lane Primary School"},
                             {"field": "other_postcode", "value": "dt9 2zz"}]
    path = tmp_path / "family.json"
    path.write_text(json.dumps(family))
    result = cli("case", "family", number, "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert "3 identifier(s) added" in result.stdout
    shown = json.loads(cli("case", "family", number).stdout)
    assert shown["context"]["siblings"] == ["5-9 years", "18 years and over"]
    assert shown["context"]["bereavement_support_offered"] == "declined"
    assert shown["identifier_fields"] == ["parent_name", "school", "other_postcode"]
    assert "Hyacinth" not in json.dumps(shown)
    with unit_of_work(settings) as uow:
        raw = uow.session.execute(text("SELECT value FROM case_identifiers")).scalars().all()
        stored = {i.field: i.value for i in uow.session.scalars(select(CaseIdentifier))}
    assert stored["other_postcode"] == "DT9 2ZZ"
    assert not any("Hyacinth" in r or "Wyvern" in r for r in raw)  # encrypted at rest

    # Field by field; notes naming the family are refused naming the field, not the value.
    result = cli("case", "family", number, "--key-worker", "no", "--support-notes",
                 "Support offered to Hyacinth Fothergill by the hospice.")
    assert result.returncode == 2
    assert "field 'support_notes': contains an identifier (child.surname, parent_name)" in result.stderr
    assert "Hyacinth" not in result.stderr and "Fothergill" not in result.stderr
    result = cli("case", "family", number, "--sibling", "12 years", "--identifier", "best_friend=Ann")
    assert result.returncode == 2
    assert "field 'siblings[1]'" in result.stderr and "field 'identifiers[1].field'" in result.stderr
    result = cli("case", "family", number, "--key-worker", "no", "--sibling", "1-4 years",
                 "--identifier", "sibling_name=Horatio Fothergill")
    assert result.returncode == 0, result.stderr
    shown = json.loads(cli("case", "family", number).stdout)
    assert shown["context"]["key_worker_offered"] == "no"
    assert shown["context"]["siblings"] == ["1-4 years"]
    assert shown["identifier_fields"][-1] == "sibling_name"
