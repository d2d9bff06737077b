"""Intake through the `cdop` command: real databases (SQLite and PostgreSQL)."""

import csv
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from cdop.cli.main import main
from cdop.store.db import unit_of_work
from cdop.store.models import AgencyRequest, AuditEvent, Case, Investigation
from tests.conftest import cli

CHILD = {
    "forenames": "Tobias", "surname": "Quillfeather", "date_of_birth": "2024-02-10",
    "date_of_death": "2026-11-20", "nhs_number": "9434765919", "sex": "male",
    "place_of_death": "hospital", "expected": "no", "postcode": "DT3 4AB",
    "address": "7 Larkspur Rise, Demotown", "agencies": "RUH,GPHC,SCH1",
    "investigations": "post_mortem,cdrm", "circumstances": "sudden_unexpected",
}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def notify_args(**changes):
    child = {**CHILD, **changes}
    args = ["notify", "--today", "2026-11-26"]
    for key, value in child.items():
        if key in ("agencies", "investigations", "circumstances"):
            flag = {"agencies": "--agency", "investigations": "--investigation", "circumstances": "--circumstance"}[key]
            for item in value.split(","):
                args += [flag, item]
        elif key == "expected":
            args += ["--expected", value]
        else:
            args += ["--" + key.replace("_", "-"), value]
    return args


def test_register_show_and_record(agencies):
    result = run(*notify_args())
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "registered CDOP-2026-0001"

    with unit_of_work(agencies) as uow:
        case = uow.session.scalar(select(Case))
        assert case.surname == "Quillfeather" and case.age_at_death_days == 1014
        forms = {r.agency.code: r.forms for r in case.requests}
        assert forms == {"RUH": ["reporting", "sudi"], "GPHC": ["reporting", "sudi"], "SCH1": ["reporting", "sudi"]}
        assert {i.kind for i in case.investigations} == {"post_mortem", "cdrm"}
        audit = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "notification_registered")).one()
        assert audit.actor == "test-coordinator" and "Quillfeather" not in json.dumps(audit.details)

    shown = run("case", "show", "cdop-2026-0001")
    assert shown.exit_code == 0 and "stage: notified" in shown.output
    assert "Quillfeather" not in shown.output and "9434765919" not in shown.output
    # A reveal needs a stated reason, bounded; without one nothing is shown or recorded.
    # The input rules of every one-line field hold for it too: no line separator (U+2028),
    # no bidirectional override, no control character; the value is never repeated.
    for reason in ([], ["--reason", ""], ["--reason", "x" * 301], ["--reason", "Asked by May\u2028Hope-Øst"],
                   ["--reason", "Asked by Ł\u202eGrace"], ["--reason", "Asked by\x07 Will"]):
        refused = run("case", "show", "CDOP-2026-0001", "--reveal", *reason)
        assert refused.exit_code == 2 and "field 'reason'" in refused.output, refused.output
        assert "Quillfeather" not in refused.output
        assert "Asked by" not in refused.output
    why = "Coroner's officer O’Neill asked to confirm the NHS number"
    revealed = run("case", "show", "CDOP-2026-0001", "--reveal", "--reason", why)
    assert "Tobias Quillfeather" in revealed.output
    with unit_of_work(agencies) as uow:
        case_id = uow.session.scalar(select(Case.id))
        reveals = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "identifiers_viewed")).all()
        assert [(e.actor, e.case_id, e.reason) for e in reveals] == [("test-coordinator", case_id, why)]
        assert reveals[0].occurred_at is not None
        stored = uow.session.execute(text("SELECT reason FROM audit_events WHERE action = 'identifiers_viewed'")).scalar()
    assert "O’Neill" not in stored and "NHS number" not in stored  # encrypted at rest

    # A return cannot be recorded before the request went out.
    refused = run("return", "record", "CDOP-2026-0001", "RUH", "--received", "2026-11-26", "--today", "2026-11-26")
    assert refused.exit_code == 2 and "no request has been sent" in refused.output

    inv = run("investigation", "record", "CDOP-2026-0001", "post_mortem", "--status", "concluded",
              "--date", "2026-11-25", "--today", "2026-11-26")
    assert inv.exit_code == 0, inv.output
    bad = run("investigation", "record", "CDOP-2026-0001", "inquest", "--status", "done", "--today", "2026-11-26")
    assert bad.exit_code == 2 and "field 'kind'" in bad.output and "field 'status'" in bad.output
    with unit_of_work(agencies) as uow:
        pm = uow.session.scalar(select(Investigation).where(Investigation.kind == "post_mortem"))
        assert pm.status == "concluded" and str(pm.concluded_on) == "2026-11-25"


def test_duplicates_are_refused_with_the_existing_case_number(agencies):
    assert run(*notify_args()).exit_code == 0
    same_nhs = run(*notify_args(forenames="Other", nhs_number="943 476 5919"))
    assert same_nhs.exit_code == 2
    assert "matches existing case CDOP-2026-0001 (same NHS number)" in same_nhs.output
    same_person = run(*[a for a in notify_args(forenames="TOBIAS", surname="quillfeather") if a not in ("--nhs-number", "9434765919")])
    assert "matches existing case CDOP-2026-0001 (same name, date of birth and date of death)" in same_person.output
    assert "Quillfeather" not in same_person.output.replace("quillfeather", "")


def write_csv(path, rows):
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_file_import_is_all_or_nothing_and_names_rows(agencies, tmp_path):
    good = dict(CHILD)
    second = {**CHILD, "forenames": "Mabel", "nhs_number": "9876543210", "agencies": "RUH;NOPE"}
    third = {**CHILD, "forenames": "Ivo", "nhs_number": "4010232137", "date_of_death": "2031-01-01"}
    path = tmp_path / "notifications.csv"
    write_csv(path, [good, second, third])
    result = run("notify", "--file", path, "--today", "2026-11-26")
    assert result.exit_code == 2
    # Rows count records from 1 (the header is not a row); an unknown code is named by its
    # place in the list, never repeated.
    assert "row 2, field 'agencies': unknown agency code (item 2)" in result.output
    assert "NOPE" not in result.output
    assert "row 3, field 'date_of_death': is in the future" in result.output
    assert "Mabel" not in result.output and "9876543210" not in result.output
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(func.count(Case.id))) == 0  # nothing half written

    # A duplicate inside one file is caught too, naming both rows.
    write_csv(path, [good, {**good, "forenames": "Else"}])
    dup = run("notify", "--file", path, "--today", "2026-11-26")
    assert "row 2, field 'nhs_number': duplicates the notification in row 1" in dup.output

    as_json = tmp_path / "notifications.json"
    as_json.write_text(json.dumps([good, {**CHILD, "forenames": "Mabel", "surname": "Ormsby", "nhs_number": "4010232137",
                                          "agencies": ["RUH", "CSC"]}]))
    ok = run("notify", "--file", as_json, "--today", "2026-11-26")
    assert ok.exit_code == 0, ok.output
    assert ok.output.split() == ["registered", "CDOP-2026-0001", "registered", "CDOP-2026-0002"]
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(func.count(AgencyRequest.id))) == 5


def test_agency_import_validates_every_row(settings, tmp_path):
    path = tmp_path / "agencies.csv"
    write_csv(path, [
        {"code": "A1", "name": "Trust", "type": "hospital_trust", "request_email": "a@nhs.net", "escalation_email": "", "secure": ""},
        {"code": "A2", "name": "", "type": "spaceship", "request_email": "not-email", "escalation_email": "", "secure": "maybe"},
    ])
    result = run("agencies", "import", path)
    assert result.exit_code == 2
    for expected in ("row 2, field 'name': is required", "row 2, field 'type': must be one of",
                     "row 2, field 'request_email': is not a valid email address", "row 2, field 'secure': must be yes or no"):
        assert expected in result.output
    path.write_text(path.read_text().splitlines()[0] + "\n" + path.read_text().splitlines()[1] + "\n")
    assert run("agencies", "import", path).output.strip() == "agencies: 1 created, 0 updated"
    assert run("agencies", "import", path).output.strip() == "agencies: 0 created, 1 updated"
    listing = run("agencies", "list").output
    assert "A1" in listing and "secure" in listing


def test_identifiers_are_encrypted_at_rest(agencies, tmp_path):
    assert run(*notify_args()).exit_code == 0
    url = agencies.database_url
    if url.startswith("sqlite"):
        db_file = Path(url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))  # + WAL
    else:
        raw = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", url.rsplit("/", 1)[1]],
                             capture_output=True, check=True).stdout
    for secret in (b"Quillfeather", b"Tobias", b"9434765919", b"Larkspur", b"DT3 4AB", b"2024-02-10"):
        assert secret not in raw
    assert b"CDOP-2026-0001" in raw  # the pseudonym is stored in clear, as designed


def test_installed_command_refuses_to_start_without_a_key(agencies, tmp_path):
    result = cli("case", "list", env_extra={"CDOP_ENCRYPTION_KEYS": ""})
    assert result.returncode == 2
    assert "CDOP_ENCRYPTION_KEYS is not set" in result.stderr and "Traceback" not in result.stderr
    assert cli("case", "list").returncode == 0


@pytest.mark.parametrize("args, message", [
    (["case", "show", "CDOP-2026-9999"], "no case CDOP-2026-9999"),
    (["return", "record", "CDOP-2026-0001", "ZZZ", "--received", "2026-11-25"], "has no request to agency ZZZ"),
])
def test_unknown_references_are_named(agencies, args, message):
    assert run(*notify_args()).exit_code == 0
    result = run(*args)
    assert result.exit_code == 2 and message in result.output


def test_an_investigation_cannot_conclude_before_it_started(agencies):
    assert run(*notify_args()).exit_code == 0
    base = ["investigation", "record", "CDOP-2026-0001", "police", "--today", "2026-11-26"]
    assert run(*base, "--status", "in_progress", "--date", "2026-11-24").exit_code == 0
    early = run(*base, "--status", "concluded", "--date", "2026-11-23")
    assert early.exit_code == 2 and "field 'date': is before the date this process started" in early.output
    before_death = run(*base, "--status", "in_progress", "--date", "2026-11-01")
    assert before_death.exit_code == 2 and "before the date of death" in before_death.output


def test_an_unmigrated_database_gets_a_hint_not_a_traceback(tmp_path):
    result = cli("case", "list", env_extra={"CDOP_HOME": str(tmp_path / "new"), "CDOP_DEMO": "1",
                                            "CDOP_DATABASE_URL": "", "CDOP_ENCRYPTION_KEYS": ""})
    assert result.returncode == 1
    assert "run `cdop db upgrade`" in result.stderr and "Traceback" not in result.stderr


def test_a_line_break_in_an_agency_name_is_refused_and_nothing_imported(settings, tmp_path):
    """Issue 11: a CR in an agency's name used to be stored, and later broke the header of
    every email to that agency."""
    path = tmp_path / "agencies.csv"
    path.write_bytes(b"code,name,type,request_email\r\n"
                     b"A1,Good Trust,hospital_trust,a1@nhs.net\r\n"
                     b'A2,"Trust\rBcc: someone@example.org",hospital_trust,a2@nhs.net\r\n')
    result = cli("agencies", "import", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "row 2, field 'name': must be on one line (it holds a line break)" in result.stderr
    assert "Bcc" not in result.stderr
    assert "agencies: 0" not in result.stdout and run("agencies", "list").output == ""


def test_notification_files_in_utf8_with_a_bom_are_read_and_others_refused(agencies, tmp_path):
    as_json = tmp_path / "n.json"
    as_json.write_bytes(b"\xef\xbb\xbf" + json.dumps([{**CHILD, "forenames": "Søren"}], ensure_ascii=False).encode())
    ok = run("notify", "--file", as_json, "--today", "2026-11-26")
    assert ok.exit_code == 0, ok.output
    latin = tmp_path / "n.csv"
    write_csv(latin, [{**CHILD, "nhs_number": "", "surname": "Weiß"}])
    latin.write_bytes(latin.read_text().encode("latin-1"))
    refused = run("notify", "--file", latin, "--today", "2026-11-26")
    assert refused.exit_code == 2 and "field 'file': is not UTF-8 text" in refused.output
    for content, message in ((b"", "is empty"), (b"[{]", "is not valid JSON"),
                             (b"[" * 50_000 + b"]" * 50_000, "nested more than 32 levels")):
        as_json.write_bytes(content)
        result = run("notify", "--file", as_json, "--today", "2026-11-26")
        assert result.exit_code == 2 and message in result.output
    year_9999 = run(*notify_args(date_of_birth="9990-01-01", date_of_death="9991-01-01"))
    assert year_9999.exit_code == 2 and "field 'date_of_birth': must lie between 1900 and 2100" in year_9999.output
    with unit_of_work(agencies) as uow:
        assert uow.session.scalar(select(func.count(Case.id))) == 1


@pytest.mark.parametrize("args, named", [
    (["return", "amend-entry", "CDOP-2026-0001", "Łukasz9", "--text", "x"], "ENTRY_NUMBER: is not valid"),
    (["notify", "--file", "/nonexistent/Łukasz-O’Neill-Quennell.csv"], "--file: is not valid"),
    (["case", "list", "Quennell-Hope"], "the command's words are not right"),
    (["Weiß-Søren"], "the command's words are not right"),
    (["case", "show"], "CASE_NUMBER: is required"),
    (["notify", "--Grace-May"], "not one of this command's"),
])
def test_clicks_own_refusals_name_the_parameter_and_never_repeat_the_value(settings, args, named):
    result = cli(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert named in result.stderr
    typed = [a for a in args if any(ch in a for ch in "ŁłöøßÆ’") or "Quennell" in a or "Grace" in a]
    assert not [a for a in typed if a in result.stderr + result.stdout]
