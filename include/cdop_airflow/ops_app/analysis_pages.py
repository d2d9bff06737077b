"""The panel's analysis and the follow-up of its recommendations, in the browser
(coordinators only).

- /analyses: cases discussed at a panel meeting that has taken place, waiting for their
  analysis; each opens its form.
- /cases/{case_number}/analysis: the analysis form (category, factor lines, learning,
  recommendations), or the recorded analysis. A refused form comes back whole with each
  problem -- among them the anonymisation gate's findings on the free text -- next to its
  field, and nothing is written (cdop.panel.analysis.record_analysis, the service behind
  `cdop analysis record`).
- /recommendations: every recommendation, overdue first, with the evidence of action
  recorded so far and a form to record progress (record_recommendation_update, as
  `cdop recommendation update`).

Each route's roles are in ACCESS (app.py merges it into its own table); every POST
checks the session's CSRF token; the signed-in user is the actor in the audit trail.
This module does not import app.py (app.py imports it): `routes` receives the app's page
renderer and its settings and business-date dependencies.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cdop.config import Settings
from cdop.store.statuses import RecommendationStatus
from cdop_airflow.ops_app.auth import CSRF_FIELD, check_csrf, csrf_token
from cdop_airflow.ops_app.common import case_number as _case_number
from cdop_airflow.ops_app.roles import Role

_COORDINATOR = frozenset({Role.COORDINATOR})
ACCESS: dict[str, dict[str, frozenset[Role]]] = {
    "/analyses": {"GET": _COORDINATOR},
    "/cases/{case_number}/analysis": {"GET": _COORDINATOR, "POST": _COORDINATOR},
    "/cases/{case_number}/analysis/correct": {"POST": _COORDINATOR},
    "/recommendations": {"GET": _COORDINATOR},
    "/recommendations/{recommendation_id}/progress": {"POST": _COORDINATOR},
    "/recommendations/{recommendation_id}/confirm": {"POST": _COORDINATOR},
}

FACTOR_ROWS = 8  # blank factor lines offered on the form (no script: the CSP allows none)
RECOMMENDATION_ROWS = 4
LINE_FIELD = re.compile(r"^(factors|recommendations)\[(\d+)\]\.(\w+)$")
RECOMMENDATION_FILTERS = ("open", "overdue", RecommendationStatus.COMPLETED.value, RecommendationStatus.NOT_ACCEPTED.value)


def _base(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + "/"


def _redirect(request: Request, path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{_base(request)}{path}?{urlencode({'done': done})}",
                            status_code=status.HTTP_303_SEE_OTHER)


async def _form(request: Request) -> dict[str, str]:
    """The posted fields (text only; the form has no files)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


# ------------------------------------------------------------------ form <-> service


def form_to_analysis(fields: dict[str, str]) -> tuple[dict[str, Any], list[int], list[int]]:
    """The posted form as the service's analysis data, and the form row behind each
    factor line and recommendation sent (blank rows are left out)."""
    factors, factor_rows = [], []
    for row in range(1, FACTOR_ROWS + 1):
        choice = fields.get(f"factor-{row}-factor", "").strip()
        grade = fields.get(f"factor-{row}-grade", "").strip()
        notes = fields.get(f"factor-{row}-notes", "")
        if not (choice or grade or notes.strip()):
            continue
        domain, _, code = choice.partition(":")
        factors.append({"domain": domain or None, "factor": code or None, "grade": grade or None,
                        "notes": notes})
        factor_rows.append(row)
    recommendations, rec_rows = [], []
    for row in range(1, RECOMMENDATION_ROWS + 1):
        item = {k: fields.get(f"rec-{row}-{k}", "") for k in ("agency", "organisation", "email", "text", "due_on")}
        if not any(v.strip() for v in item.values()):
            continue
        recommendations.append({k: v for k, v in item.items() if v.strip()})
        rec_rows.append(row)
    data = {"category": fields.get("category") or None, "modifiable": fields.get("modifiable") or None,
            "learning": fields.get("learning", ""), "factors": factors, "recommendations": recommendations}
    return data, factor_rows, rec_rows


def problems_by_field(problems: list, factor_rows: list[int], rec_rows: list[int]) -> dict[str, list[str]]:
    """Each problem under the form field it is about: `factors[2].notes` (the second line
    sent) is the field of the form row it came from, e.g. `factor-5-notes`."""
    out: dict[str, list[str]] = {}
    for p in problems:
        name = p.field
        match = LINE_FIELD.match(p.field)
        if match:
            kind, index, part = match.group(1), int(match.group(2)), match.group(3)
            rows = factor_rows if kind == "factors" else rec_rows
            row = rows[index - 1] if 0 < index <= len(rows) else index
            if kind == "factors":
                name = f"factor-{row}-{'factor' if part in ('domain', 'factor') else part}"
            else:
                name = f"rec-{row}-{part}"
        out.setdefault(name, []).append(p.message)
    return out


_LABELS = {"case": "The case", "category": "Category of death", "modifiable": "Modifiable factors",
           "learning": "Learning", "factors": "Factors", "recommendations": "Recommendations"}
_PARTS = {"factor": "domain and factor", "grade": "grade", "notes": "notes", "agency": "agency",
          "organisation": "organisation", "email": "email address", "text": "recommendation", "due_on": "due date"}


def error_summary(inline: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(form field id, what a person calls it, message) for the summary above the form."""
    out = []
    for name, messages in inline.items():
        match = re.match(r"^(factor|rec)-(\d+)-(\w+)$", name)
        if match:
            kind, row, part = match.groups()
            label = f"{'Factor line' if kind == 'factor' else 'Recommendation'} {row}, {_PARTS.get(part, part)}"
        else:
            label = _LABELS.get(name, name.replace("_", " "))
        anchor = name if match or name in ("category", "modifiable", "learning") else ""
        out += [(anchor, label, m) for m in messages]
    return out


def _recommendation_of(settings: Settings, recommendation_id: int, case_number: str) -> bool:
    """Whether recommendation `recommendation_id` is one of the case's (the page corrects
    a case's own texts only)."""
    from sqlalchemy import select

    from cdop.store.db import unit_of_work
    from cdop.store.models import Case, Recommendation

    with unit_of_work(settings) as uow:
        return uow.session.scalar(select(Recommendation.id).join(Case, Case.id == Recommendation.case_id).where(
            Recommendation.id == recommendation_id, Case.case_number == case_number)) is not None


def routes(app: FastAPI) -> None:
    """Declare this module's routes on `app` with the pages' renderer and dependencies."""
    from cdop.store.lookups import NotFound
    from cdop.validation import InputError
    from cdop_airflow.ops_app.common import business_today, render_page, user_settings
    from cdop_airflow.ops_app.common import route as _route

    def analysis_response(request: Request, settings: Settings, today: dt.date, token: str, number: str, *,
                          values: dict[str, str] | None = None, problems: list | None = None,
                          rows: tuple[list[int], list[int]] = ([], []), status_code: int = 200,
                          correction: dict[str, Any] | None = None) -> HTMLResponse:
        from sqlalchemy import select

        from cdop.panel import analysis as service
        from cdop.store.db import unit_of_work
        from cdop.store.models import Agency

        try:
            case = service.case_for_analysis(settings, number, today)
        except NotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No case {number}") from None
        recorded = service.analysis_view(settings, number) if case["recorded"] else None
        with unit_of_work(settings) as uow:
            agencies = [(a.code, a.name) for a in uow.session.scalars(
                select(Agency).where(Agency.active.is_(True)).order_by(Agency.code))]
        problems = problems or []
        inline = problems_by_field(problems, *rows)
        # What was typed comes back, except in a field that was refused: a refused value is
        # never repeated (it may be the identifier the gate found).
        kept = {k: v for k, v in (values or {}).items() if k not in inline}
        return render_page(
            request, "analysis_form.html.j2", active="analyses", case=case, recorded=recorded,
            choices=service.form_choices(), agencies=agencies, values=kept, problems=problems,
            inline=inline, summary=error_summary(inline), factor_rows=FACTOR_ROWS,
            recommendation_rows=RECOMMENDATION_ROWS, csrf_field=CSRF_FIELD, csrf_token=token, today=today,
            correction=correction or {}, status_code=status_code)

    @_route(app, "GET", "/analyses", response_class=HTMLResponse)
    def analyses(request: Request, settings: Settings = Depends(user_settings),
                 today: dt.date = Depends(business_today)):
        """Cases discussed at a meeting that has taken place, waiting for their analysis."""
        from cdop.panel.analysis import awaiting_analysis

        return render_page(request, "analyses.html.j2", active="analyses",
                           rows=awaiting_analysis(settings, today), today=today)

    @_route(app, "GET", "/cases/{case_number}/analysis", response_class=HTMLResponse)
    def analysis_form(request: Request, case_number: str, settings: Settings = Depends(user_settings),
                      today: dt.date = Depends(business_today), token: str = Depends(csrf_token)):
        """The analysis form for one case, or its recorded analysis."""
        return analysis_response(request, settings, today, token, _case_number(case_number))

    @_route(app, "POST", "/cases/{case_number}/analysis", dependencies=[Depends(check_csrf)])
    def record_analysis_action(request: Request, case_number: str, settings: Settings = Depends(user_settings),
                               today: dt.date = Depends(business_today), token: str = Depends(csrf_token),
                               fields: dict[str, str] = Depends(_form)) -> Response:
        """Record the panel's analysis (the same service as `cdop analysis record`)."""
        from cdop.panel.analysis import record_analysis

        number = _case_number(case_number)
        data, factor_rows, rec_rows = form_to_analysis(fields)
        try:
            record_analysis(settings, number, data, today=today, actor=settings.actor)
        except InputError as exc:
            return analysis_response(request, settings, today, token, number, values=fields,
                                     problems=exc.problems, rows=(factor_rows, rec_rows), status_code=422)
        except NotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No case {number}") from None
        return _redirect(request, f"cases/{quote(number)}/analysis", "analysis_recorded")

    @_route(app, "POST", "/cases/{case_number}/analysis/correct", dependencies=[Depends(check_csrf)])
    def correct_analysis_text(request: Request, case_number: str, settings: Settings = Depends(user_settings),
                              today: dt.date = Depends(business_today), token: str = Depends(csrf_token),
                              fields: dict[str, str] = Depends(_form)) -> Response:
        """Correct one text of a recorded analysis: its learning, a factor line's notes, a
        recommendation's text or its latest progress (the service behind `cdop analysis
        amend-learning|amend-factor` and `cdop recommendation amend-text|amend-progress`:
        checked by the gate as typed, audited)."""
        from cdop.panel.analysis import AMENDABLE, amend_text

        number = _case_number(case_number)
        what = fields.get("what", "")
        key = fields.get("key", "")
        text = fields.get("text", "")
        if what not in AMENDABLE or not (key.isascii() and key.isdigit() and len(key) <= 9) and what != "learning":
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such text to correct")
        form = what if what == "learning" else f"{what}-{key}"
        if what in ("recommendation", "progress") and not _recommendation_of(settings, int(key), number):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "This case has no such recommendation")
        try:
            if what in ("learning", "notes"):
                amend_text(settings, what, number, text, actor=settings.actor,
                           line=int(key) if what == "notes" else None)
            else:
                amend_text(settings, what, int(key), text, actor=settings.actor)
        except InputError as exc:
            refused = {p.field for p in exc.problems}
            # What was typed comes back beside its field unless it is what was refused.
            kept = "" if what in refused else text
            return analysis_response(request, settings, today, token, number, status_code=422, correction={
                "form": form, "problems": [p.message if p.field == what else str(p) for p in exc.problems],
                "text": kept})
        except NotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No case {number}") from None
        return _redirect(request, f"cases/{quote(number)}/analysis", "text_amended")

    def recommendations_response(request: Request, settings: Settings, today: dt.date, token: str,
                                 show: str | None, page: int, *, failed: int | None = None,
                                 problems: list | None = None, values: dict[str, str] | None = None,
                                 record: int | None = None, status_code: int = 200) -> HTMLResponse:
        from cdop.panel.analysis import UPDATE_STATUSES, recommendations_page
        from cdop_airflow.ops_app.common import refused_form

        show = show if show in RECOMMENDATION_FILTERS else None
        listing = recommendations_page(settings, today, status=show, page=page, per_page=20)
        # One progress form on the page, under the recommendation chosen (its "Record
        # progress" link) or the one refused: not a form under every item.
        form = refused_form(f"R{failed}" if failed else "", problems or [], values,
                            {"status": "Status now", "progress": "Progress reported"})
        return render_page(request, "recommendations.html.j2", active="recommendations", listing=listing,
                           show=show or "", filters=RECOMMENDATION_FILTERS, statuses=UPDATE_STATUSES,
                           failed=failed, record=failed or record, form=form,
                           csrf_field=CSRF_FIELD,
                           csrf_token=token, today=today, status_code=status_code)

    @_route(app, "GET", "/recommendations", response_class=HTMLResponse)
    def recommendations(request: Request, settings: Settings = Depends(user_settings),
                        today: dt.date = Depends(business_today), token: str = Depends(csrf_token),
                        show: str | None = None, page: int = 1, record: str | None = None):
        """Every recommendation, overdue first, with its evidence of action; with
        `record`, the form to record that one's progress."""
        chosen = int(record) if record and record.isdigit() and len(record) <= 12 else None
        return recommendations_response(request, settings, today, token, show, max(1, min(page, 100_000)),
                                        record=chosen)

    @_route(app, "POST", "/recommendations/{recommendation_id}/progress", dependencies=[Depends(check_csrf)])
    def record_progress_action(request: Request, recommendation_id: str,
                               settings: Settings = Depends(user_settings),
                               today: dt.date = Depends(business_today), token: str = Depends(csrf_token),
                               fields: dict[str, str] = Depends(_form)) -> Response:
        """Record the progress an organisation reports (as `cdop recommendation update`)."""
        from cdop.panel.analysis import record_recommendation_update

        if not recommendation_id.isdigit() or len(recommendation_id) > 12:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such recommendation")
        rec_id = int(recommendation_id)
        try:
            record_recommendation_update(settings, rec_id, status=fields.get("status", ""),
                                         progress=fields.get("progress", ""), today=today, actor=settings.actor)
        except InputError as exc:
            if any(p.field == "recommendation" for p in exc.problems):
                raise HTTPException(status.HTTP_404_NOT_FOUND, "No such recommendation") from None
            page = fields.get("page", "1")
            return recommendations_response(request, settings, today, token, fields.get("show"),
                                            int(page) if page.isdigit() and len(page) <= 6 else 1, failed=rec_id,
                                            problems=exc.problems, values=fields, status_code=422)
        return _redirect(request, "recommendations", "progress_recorded")

    @_route(app, "POST", "/recommendations/{recommendation_id}/confirm", dependencies=[Depends(check_csrf)])
    def confirm_action(request: Request, recommendation_id: str, settings: Settings = Depends(user_settings),
                       today: dt.date = Depends(business_today), token: str = Depends(csrf_token),
                       fields: dict[str, str] = Depends(_form)) -> Response:
        """Confirm a recommendation complete on its evidence (as `cdop recommendation confirm`)."""
        from cdop.panel.analysis import confirm_recommendation

        if not recommendation_id.isdigit() or len(recommendation_id) > 12:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such recommendation")
        rec_id = int(recommendation_id)
        try:
            confirm_recommendation(settings, rec_id, today=today, actor=settings.actor)
        except InputError as exc:
            if any(p.field == "recommendation" for p in exc.problems):
                raise HTTPException(status.HTTP_404_NOT_FOUND, "No such recommendation") from None
            return recommendations_response(request, settings, today, token, fields.get("show"), 1, failed=rec_id,
                                            problems=exc.problems, values={}, status_code=422)
        return _redirect(request, "recommendations", "completion_confirmed")
