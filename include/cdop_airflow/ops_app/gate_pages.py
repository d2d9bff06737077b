"""What the anonymisation gate holds, in the browser: each finding that stops a
statutory output (an annual report's year, an NCMD export) or an outgoing email with its place -- document,
section or table, row or line -- and its kind, never its value; and the coordinator's
release of a false alarm with a reason (the same service as `cdop gate held` /
`cdop gate release`: audited, the reason kept encrypted)."""

from __future__ import annotations

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response

from cdop_airflow.ops_app.common import (
    COORDINATOR,
    CSRF,
    Access,
    SettingsDep,
    TokenDep,
    redirect,
    render_page,
    route,
)

ACCESS: Access = {
    "/gate/held": {"GET": COORDINATOR},
    "/gate/held/release": {"POST": COORDINATOR},
}

# What each output is and how it is built again once released.
OUTPUTS = {
    "annual_report": ("Annual report", "cdop annual-report build --year {year}, or the next run of its DAG"),
    "ncmd_export": ("NCMD export", "cdop ncmd export --year {year}"),
    # An outgoing email: "year" is its outbox id. Released, it goes back to the outbox.
    "message": ("Outgoing email, outbox message", "nothing to build: once nothing holds it, it is back in the outbox and sent"),
}


KIND_WORDS = {"name": "a name", "address": "an address", "postcode": "a postcode", "phone": "a phone number",
              "email": "an email address", "nhs_number": "an NHS number", "date": "a date", "place": "a place",
              "text": "a recorded detail"}


def what_it_is(field: str, kind: str) -> str:
    """Plain words for a finding, with the field the CLI prints: "an address nobody
    recorded (unrecorded.address)", "a recorded name (child.surname)"."""
    words = KIND_WORDS.get(kind, kind.replace("_", " "))
    if field.startswith("unrecorded."):
        return f"{words} nobody recorded ({field})"
    return f"{words.split(' ', 1)[0]} recorded {words.split(' ', 1)[1]} ({field})"


def held_page(request: Request, settings, token: str, *, problems=(), failed: int | None = None,
              reason: str = "", status_code: int = 200) -> HTMLResponse:
    from cdop.confidentiality.held import held_findings
    from cdop.store.db import unit_of_work

    with unit_of_work(settings) as uow:
        found = held_findings(uow.session)
    groups: dict[str, dict] = {}
    for f in found:
        what, _, year = f.output.partition(":")
        title, again = OUTPUTS.get(what, (what.replace("_", " ").capitalize(), "build it again"))
        group = groups.setdefault(f.output, {"title": f"{title} {year}", "again": again.format(year=year),
                                             "items": {}, "places": 0})
        # The same words found in several places (both editions, a table) are one
        # finding, released once: keyed by kind and fingerprint, numbered by the first.
        item = group["items"].setdefault(f.first, {"id": f.first, "what": what_it_is(f.field, f.kind),
                                               "field": f.field, "severity": f.severity, "found_on": f.found_on,
                                               "releasable": f.releasable, "places": []})
        item["places"].append(f.where)
        group["places"] += 1
    for group in groups.values():
        group["items"] = list(group["items"].values())
    return render_page(request, "gate_held.html.j2", active="gate/held", groups=list(groups.values()),
                       count=len(found), problems=list(problems), failed=failed, reason=reason,
                       csrf_token=token, status_code=status_code)


def routes(app: FastAPI) -> None:
    @route(app, "GET", "/gate/held", response_class=HTMLResponse)
    def held_findings_page(request: Request, settings: SettingsDep, token: TokenDep):
        """Every finding holding a statutory output, where it is, and a release form."""
        return held_page(request, settings, token)

    @route(app, "POST", "/gate/held/release", dependencies=[CSRF])
    def release_action(request: Request, settings: SettingsDep, token: TokenDep,
                       finding: str = Form(""), reason: str = Form("")) -> Response:
        """Release one false alarm (and every place of its output holding the same text)."""
        from cdop.sending.delivery import release_held_finding
        from cdop.validation import InputError, Problem

        try:
            if not finding.isdigit() or not 1 <= int(finding) <= 2**31 - 1:
                raise InputError([Problem("finding", "no finding with that number is held")])
            release_held_finding(settings, int(finding), reason, actor=settings.actor)
        except InputError as exc:
            failed = int(finding) if finding.isdigit() and len(finding) < 10 else None
            return held_page(request, settings, token, problems=exc.problems, failed=failed,
                             reason=reason[:500], status_code=422)
        return redirect(request, "gate/held", "finding_released")
