"""The panel's analysis of a case, its recommendations, and following them up.

- `record_analysis` records the analysis form once the case has been discussed at a panel
  meeting that has taken place: the category of death (taxonomy code: one per case, the
  hierarchy is in data/taxonomy.toml), the factors as lines of their own (domain, factor
  code from data/analysis_factors.toml, grade 0-2, notes), whether there were modifiable
  factors -- derived from the grades (cdop.rules.modifiable: any factor graded 2) -- the
  learning, and recommendations to named organisations with due dates. All-or-nothing;
  free text is checked by the anonymisation gate when it is recorded, because it is kept
  (and later published in the annual report) as anonymised text. The analysis is then
  complete and finalised (NCMD) with the business date, and the case closes.
- `modifiable_factors_by_domain` counts, for the annual report, the analyses with a
  modifiable factor (graded 2) in each domain.
- Each recommendation is sent to its organisation when agreed (outbox, business key
  case/recommendation-N/recommendation/1).
- `plan_recommendation_follow_ups` (DAG cdop_follow_up_recommendations, working days):
  when a recommendation falls due, and every Policy.recommendation_follow_up_working_days
  after until it is completed or not accepted, the organisation is asked for a progress
  update, once per step (business key case/recommendation-N/recommendation_reminder/step).
  The step moves on only once the message is sent.
- `record_recommendation_update` records the progress an organisation reports.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdop.confidentiality.documents import EMAIL_SOURCES, gate_email
from cdop.confidentiality.folding import _fold
from cdop.confidentiality.gate import Gate
from cdop.confidentiality.held import released_for_message
from cdop.confidentiality.identifiers import case_gate, identifier_problem
from cdop.config import Settings
from cdop.mail import outbox
from cdop.mail.mailer import Email
from cdop.panel.case_reports import APPROVED
from cdop.rules.modifiable import GRADES, INSUFFICIENT, MAY_HAVE_CONTRIBUTED, YES, case_modifiable
from cdop.rules.recommendations import (
    OPEN_STATUSES,
    STEP_WORDS,
    is_escalation,
    overdue_recommendation_predicate,
    pending_step,
    recommendation_overdue,
)
from cdop.rules.workdays import WorkingCalendar, working_calendar
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.lookups import get_case
from cdop.store.models import (
    Agency,
    Analysis,
    AnalysisFactor,
    Case,
    CaseReport,
    MeetingAllocation,
    OutboxMessage,
    PanelMeeting,
    Recommendation,
    RecommendationEvidence,
    RecommendationUpdate,
)
from cdop.store.statuses import RecommendationStatus
from cdop.taxonomy import factor_codes, taxonomy
from cdop.validation import (
    CODE_MAX,
    InputError,
    Problem,
    RowReader,
    clean_text,
    field_label,
    load_json_file,
)

# The national (NCMD thematic) recommendation a local one answers: a reference, nothing more
# (a reference that could carry words would carry a name sooner or later).
NATIONAL_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]*")
NATIONAL_REFERENCE_MAX = 60
KIND_AGREED = "recommendation"
KIND_REMINDER = "recommendation_reminder"
KIND_ESCALATION = "recommendation_escalation"
KINDS = (KIND_AGREED, KIND_REMINDER, KIND_ESCALATION)
ACTOR = "airflow:cdop_follow_up_recommendations"
UPDATE_STATUSES = (RecommendationStatus.IN_PROGRESS, RecommendationStatus.COMPLETED, RecommendationStatus.NOT_ACCEPTED)
TEXT_MAX = 4000
LIST_MAX = 200
ANALYSIS_FIELDS = ("reviewed_on", "category", "modifiable", "learning", "factors", "recommendations",
                   "case_number")
FACTOR_FIELDS = ("domain", "factor", "grade", "notes")


def load_analysis_file(path: Path) -> dict[str, Any]:
    data = load_json_file(path)
    if not isinstance(data, dict):
        raise InputError([Problem("file", "must hold one analysis object")])
    return data


def _categories() -> dict[str, str]:
    return {c["code"]: c["label"] for c in taxonomy().categories}


def _parse(data: Mapping[str, Any], *, today: dt.date, agencies: Mapping[str, Agency]):
    tax = taxonomy()
    problems: list[Problem] = []
    for position, key in enumerate(data, start=1):
        if key not in ANALYSIS_FIELDS:
            problems.append(Problem(field_label(key, ANALYSIS_FIELDS, position), "is not a field of the analysis form"))
    r = RowReader(data)
    values = {
        "category": r.choice("category", _categories()),
        # Derived from the grades; the panel may say "insufficient" (or confirm the result).
        "modifiable": r.choice("modifiable", tax.labels("modifiable"), required=False),
        "learning": r.text("learning", required=False, max_len=TEXT_MAX, multiline=True),
        "reviewed_on": r.date("reviewed_on", required=False),
    }
    if values["reviewed_on"] and values["reviewed_on"] > today:
        r.problem("reviewed_on", "is in the future")
    problems += r.problems

    factors = []
    raw_factors = data.get("factors") or []
    if not isinstance(raw_factors, list):
        problems.append(Problem("factors", "must be a list"))
        raw_factors = []
    if len(raw_factors) > LIST_MAX:
        problems.append(Problem("factors", f"has more than {LIST_MAX} entries"))
        raw_factors = []
    codes = factor_codes().by_domain
    for i, item in enumerate(raw_factors, start=1):
        item = item if isinstance(item, Mapping) else {}
        for position, key in enumerate(item, start=1):
            if key not in FACTOR_FIELDS:
                problems.append(Problem(f"factors[{i}].{field_label(key, FACTOR_FIELDS, position)}",
                                        "is not a field of a factor line"))
        fr = RowReader(item)
        domain = fr.choice("domain", tax.labels("factor_domain"))
        code = fr.choice("factor", codes[domain]) if domain else fr.text("factor", max_len=CODE_MAX)
        factor = {
            "domain": domain,
            "factor_code": code,
            "grade": fr.integer("grade", low=min(GRADES), high=max(GRADES), required=True),
            "notes": fr.text("notes", required=False, max_len=TEXT_MAX, multiline=True),
        }
        problems += [Problem(f"factors[{i}].{p.field}", p.message) for p in fr.problems]
        factors.append(factor)
    seen: dict[tuple[str, str], int] = {}
    for i, f in enumerate(factors, start=1):
        if f["domain"] and f["factor_code"]:
            first = seen.setdefault((f["domain"], f["factor_code"]), i)
            if first != i:
                problems.append(Problem(f"factors[{i}].factor", f"is already on line {first}: one line a factor"))
    grades = [f["grade"] for f in factors if f["grade"] is not None]
    declared = values["modifiable"]
    if declared == YES and MAY_HAVE_CONTRIBUTED not in grades:
        problems.append(Problem("modifiable", "is yes, but no factor is graded 2 (may have contributed)"))
    elif declared in ("no", INSUFFICIENT) and MAY_HAVE_CONTRIBUTED in grades:
        problems.append(Problem("modifiable", "a factor is graded 2 (may have contributed): "
                                              "the case has modifiable factors"))
    values["modifiable"] = case_modifiable(grades, insufficient_information=declared == INSUFFICIENT)

    recommendations = []
    raw_recs = data.get("recommendations") or []
    if not isinstance(raw_recs, list):
        problems.append(Problem("recommendations", "must be a list"))
        raw_recs = []
    if len(raw_recs) > LIST_MAX:
        problems.append(Problem("recommendations", f"has more than {LIST_MAX} entries"))
        raw_recs = []
    for i, item in enumerate(raw_recs, start=1):
        rr = RowReader(item if isinstance(item, Mapping) else {})
        code = rr.text("agency", required=False, max_len=CODE_MAX)
        agency = agencies.get(code.upper()) if code else None
        if code and agency is None:
            rr.problem("agency", "is not an agency code in the directory")
        organisation = rr.text("organisation", required=agency is None and not code, max_len=200)
        email = rr.email("email", required=agency is None and not code)
        due = rr.date("due_on")
        if due and due < today:
            rr.problem("due_on", "is in the past")
        national = rr.text("national_reference", required=False, max_len=NATIONAL_REFERENCE_MAX)
        if national and not NATIONAL_REFERENCE.fullmatch(national):
            rr.problem("national_reference", "must be a reference (letters, digits, spaces, '-', '.', '/')")
        rec = {
            "organisation": organisation or (agency.name if agency else None),
            "agency_id": agency.id if agency else None,
            "email": email or (agency.request_email if agency else None),
            "text": rr.text("text", max_len=TEXT_MAX, multiline=True),
            "due_on": due,
            "national_reference": national or None,
        }
        problems += [Problem(f"recommendations[{i}].{p.field}", p.message) for p in rr.problems]
        recommendations.append(rec)
    return values, factors, recommendations, problems


def _allocation(session: Session, case: Case) -> PanelMeeting | None:
    return session.scalar(
        select(PanelMeeting).join(MeetingAllocation, MeetingAllocation.meeting_id == PanelMeeting.id)
        .where(MeetingAllocation.case_id == case.id))


def record_analysis(settings: Settings, case_number: str, data: Mapping[str, Any], *, today: dt.date,
                    actor: str) -> dict[str, Any]:
    """Record the panel's analysis of a case, close the case and queue each recommendation
    to its organisation. `data` is the analysis form (see include/templates/returns/
    analysis_template.json). Raises InputError naming every bad field."""
    with unit_of_work(settings, actor) as uow:
        session = uow.session
        case = get_case(uow, case_number)
        declared, wrong = clean_text(data.get("case_number"), max_len=30)
        if wrong or (declared and declared.upper() != case.case_number):
            raise InputError([Problem("case_number", "does not match the case the analysis is recorded against")])
        agencies = {a.code: a for a in session.scalars(select(Agency))}
        values, factors, recommendations, problems = _parse(data, today=today, agencies=agencies)
        if case.closed_on is not None:
            problems.insert(0, Problem("case", "is already closed: its analysis has been recorded"))
        if not session.scalar(select(CaseReport.id).where(CaseReport.case_id == case.id,
                                                          CaseReport.status == APPROVED).limit(1)):
            problems.insert(0, Problem("case", "has no approved case report: the panel has not seen it"))
        meeting = _allocation(session, case)
        if meeting is None:
            problems.insert(0, Problem("case", "has not been discussed at a panel meeting: "
                                               "allocate it to a meeting first"))
        elif meeting.meets_on > today:
            problems.insert(0, Problem("case", "its panel meeting has not happened yet"))
        reviewed_on = values["reviewed_on"] or (meeting.meets_on if meeting else today)
        if meeting is not None and reviewed_on < meeting.meets_on:
            problems.append(Problem("reviewed_on", "is before the case's panel meeting"))
        for i, rec in enumerate(recommendations, start=1):
            if rec["due_on"] and rec["due_on"] <= reviewed_on:
                problems.append(Problem(f"recommendations[{i}].due_on", "must be after the review date"))
        # A flag (a name nobody recorded) refuses the text too, unless the coordinator
        # marked it "not an identifier" for this case's learning (`cdop gate decide`).
        gate = case_gate(session, case, document="learning")
        texts = [("learning", values["learning"])]
        texts += [(f"factors[{i}].notes", f["notes"]) for i, f in enumerate(factors, start=1)]
        texts += [(f"recommendations[{i}].text", r["text"]) for i, r in enumerate(recommendations, start=1)]
        # An organisation typed by hand is free text, gated like the rest; one taken from
        # the directory (the child's own school included) is where the recommendation
        # goes: its name is the addressee, not a disclosure.
        texts += [(f"recommendations[{i}].organisation", r["organisation"])
                  for i, r in enumerate(recommendations, start=1) if r["agency_id"] is None]
        problems += [p for p in (identifier_problem(gate, field, text) for field, text in texts) if p]
        if problems:
            raise InputError(problems)

        analysis = Analysis(case_id=case.id, meeting_id=meeting.id if meeting else None, reviewed_on=reviewed_on,
                            category=values["category"], modifiable=values["modifiable"],
                            learning=values["learning"], recorded_by=actor, finalised_on=today)
        session.add(analysis)
        session.flush()
        for factor in factors:
            session.add(AnalysisFactor(analysis_id=analysis.id, **factor))
        ids = []
        for rec in recommendations:
            row = Recommendation(case_id=case.id, analysis_id=analysis.id, agreed_on=reviewed_on,
                                 status=RecommendationStatus.AGREED, next_follow_up_on=rec["due_on"], follow_ups_sent=0, **rec)
            session.add(row)
            session.flush()
            ids.append(row.id)
            outbox.enqueue(
                uow, settings,
                key=outbox.business_key(case.case_number, f"recommendation-{row.id}", KIND_AGREED, 1),
                kind=KIND_AGREED, to=[row.email],
                subject=f"Child Death Overview Panel recommendation R{row.id} ({case.case_number})",
                business_date=today, case_id=case.id, agency_id=row.agency_id,
                secure_route=settings.policy.is_secure_address(row.email),
                params={"recommendation_id": row.id},
            )
        case.closed_on = today
        uow.audit("analysis_recorded", "analysis", analysis.id, case_id=case.id, category=values["category"],
                  modifiable=values["modifiable"], factors=len(factors), recommendations=ids,
                  reviewed_on=reviewed_on.isoformat(), finalised_on=today.isoformat())
        uow.audit("case_closed", "case", case.id, case_id=case.id, closed_on=today.isoformat())
        uow.commit()
    return {"case_number": case_number.strip().upper(), "analysis_id": analysis.id,
            "modifiable": values["modifiable"], "recommendations": ids, "closed_on": today.isoformat()}


def analysis_view(settings: Settings, case_number: str) -> dict[str, Any] | None:
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        analysis = uow.session.scalar(select(Analysis).where(Analysis.case_id == case.id))
        if analysis is None:
            return None
        recs = uow.session.scalars(select(Recommendation).where(Recommendation.analysis_id == analysis.id)
                                   .order_by(Recommendation.id))
        return {
            "case_number": case.case_number,
            "reviewed_on": analysis.reviewed_on.isoformat(),
            "category": analysis.category,
            "category_label": _categories()[analysis.category],
            "modifiable": analysis.modifiable,
            "learning": analysis.learning,
            "recorded_by": analysis.recorded_by,
            "finalised_on": analysis.finalised_on.isoformat(),
            "factors": [{"domain": f.domain, "factor": f.factor_code,
                         "factor_label": factor_codes().by_domain.get(f.domain, {}).get(f.factor_code, f.factor_code),
                         "grade": f.grade, "notes": f.notes}
                        for f in analysis.factors],
            "recommendations": [_rec_view(r) | {"latest_progress": _latest_progress(uow.session, r.id)}
                                for r in recs],
            "closed_on": case.closed_on.isoformat() if case.closed_on else None,
        }


def _latest_progress(session: Session, recommendation_id: int) -> str | None:
    """The latest progress recorded on a recommendation (what amend-progress corrects)."""
    latest = session.scalar(select(RecommendationUpdate).where(
        RecommendationUpdate.recommendation_id == recommendation_id).order_by(
        RecommendationUpdate.recorded_on.desc(), RecommendationUpdate.id.desc()))
    return latest.progress if latest is not None else None


def modifiable_factors_by_domain(session: Session, start: dt.date, end: dt.date) -> dict[str, dict[str, int]]:
    """For analyses reviewed from `start` to `end` (inclusive): per factor domain, how many
    had a factor in it graded 2 (may have contributed: modifiable) and how many had any
    factor line in it. One GROUP BY; a case counts once per domain."""
    graded_2 = func.max(sql_case((AnalysisFactor.grade == MAY_HAVE_CONTRIBUTED, 1), else_=0))
    per_case = (
        select(AnalysisFactor.domain.label("domain"), graded_2.label("modifiable"))
        .join(Analysis, Analysis.id == AnalysisFactor.analysis_id)
        .where(Analysis.reviewed_on >= start, Analysis.reviewed_on <= end)
        .group_by(Analysis.id, AnalysisFactor.domain)
        .subquery()
    )
    rows = session.execute(select(per_case.c.domain, func.sum(per_case.c.modifiable), func.count())
                           .group_by(per_case.c.domain)).all()
    found = {domain: (int(modifiable or 0), int(n)) for domain, modifiable, n in rows}
    return {domain: {"modifiable": found.get(domain, (0, 0))[0], "with_factor": found.get(domain, (0, 0))[1]}
            for domain in taxonomy().labels("factor_domain")}


def form_choices() -> dict[str, Any]:
    """The analysis form's vocabularies: categories, domains, factor codes, grades."""
    tax = taxonomy()
    codes = factor_codes()
    return {"categories": [(c["code"], c["label"]) for c in tax.categories],
            "domains": list(tax.labels("factor_domain").items()),
            "factors": codes.by_domain, "grades": codes.grades,
            "modifiable": list(tax.labels("modifiable").items())}


def awaiting_analysis(settings: Settings, today: dt.date) -> list[dict[str, Any]]:
    """Cases discussed at a panel meeting that has taken place whose analysis is not yet
    recorded, oldest meeting first (case numbers and meeting dates only)."""
    with unit_of_work(settings) as uow:
        rows = uow.session.execute(
            select(Case.case_number, Case.age_band, Case.death_expected, PanelMeeting.meets_on)
            .join(MeetingAllocation, MeetingAllocation.case_id == Case.id)
            .join(PanelMeeting, PanelMeeting.id == MeetingAllocation.meeting_id)
            .where(PanelMeeting.meets_on <= today, Case.closed_on.is_(None),
                   ~select(Analysis.id).where(Analysis.case_id == Case.id).exists())
            .order_by(PanelMeeting.meets_on, Case.case_number)
        ).all()
    return [{"case_number": n, "age_band": band, "expected": expected, "meets_on": on}
            for n, band, expected, on in rows]


def case_for_analysis(settings: Settings, case_number: str, today: dt.date) -> dict[str, Any]:
    """What the analysis form shows above itself: the case number, its meeting, whether the
    analysis may be recorded now and, if not, why (raises NotFound for an unknown case)."""
    with unit_of_work(settings) as uow:
        case = get_case(uow, case_number)
        meeting = _allocation(uow.session, case)
        recorded = uow.session.scalar(select(Analysis.id).where(Analysis.case_id == case.id)) is not None
        blocker = None
        if recorded or case.closed_on is not None:
            blocker = "Its analysis has been recorded and the case is closed."
        elif meeting is None:
            blocker = "The case has not been discussed at a panel meeting yet."
        elif meeting.meets_on > today:
            blocker = f"Its panel meeting ({meeting.meets_on.isoformat()}) has not happened yet."
        return {"case_number": case.case_number, "age_band": case.age_band, "expected": case.death_expected,
                "meets_on": meeting.meets_on if meeting else None, "blocker": blocker, "recorded": recorded}


def _rec_view(r: Recommendation) -> dict[str, Any]:
    return {"id": r.id, "organisation": r.organisation, "email": r.email, "text": r.text,
            "agreed_on": r.agreed_on.isoformat(), "due_on": r.due_on.isoformat(), "status": r.status,
            "next_follow_up_on": r.next_follow_up_on.isoformat() if r.next_follow_up_on else None,
            "follow_ups_sent": r.follow_ups_sent, "national_reference": r.national_reference,
            "response": r.response}


# ---------------------------------------------------------------------- recommendations


def list_recommendations(settings: Settings, *, case_number: str | None = None,
                         open_only: bool = False) -> list[dict[str, Any]]:
    with unit_of_work(settings) as uow:
        query = select(Recommendation, Case.case_number).join(Case, Case.id == Recommendation.case_id)
        if case_number:
            query = query.where(Case.case_number == case_number.strip().upper())
        if open_only:
            query = query.where(Recommendation.status.in_(OPEN_STATUSES))
        rows = uow.session.execute(query.order_by(Recommendation.due_on, Recommendation.id)).all()
        return [_rec_view(r) | {"case_number": n} for r, n in rows]


def recommendations_page(settings: Settings, today: dt.date, *, status: str | None = None,
                         page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """The recommendations page: overdue first (oldest due first), then the other open
    ones by due date, then those completed or not accepted; each with its progress
    history (evidence of action). One statement for the page's rows, one for their
    updates."""
    overdue = overdue_recommendation_predicate(today)
    with unit_of_work(settings) as uow:
        query = select(Recommendation, Case.case_number).join(Case, Case.id == Recommendation.case_id)
        if status == "open":
            query = query.where(Recommendation.status.in_(OPEN_STATUSES))
        elif status == "overdue":
            query = query.where(overdue)
        elif status in tuple(RecommendationStatus):
            query = query.where(Recommendation.status == status)
        total = uow.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = uow.session.execute(
            query.order_by(sql_case((overdue, 0), (Recommendation.status.in_(OPEN_STATUSES), 1), else_=2),
                           Recommendation.due_on, Recommendation.id)
            .limit(per_page).offset((page - 1) * per_page)
        ).all()
        ids = [r.id for r, _ in rows]
        updates: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            for u in uow.session.scalars(select(RecommendationUpdate)
                                         .where(RecommendationUpdate.recommendation_id.in_(ids))
                                         .order_by(RecommendationUpdate.recorded_on, RecommendationUpdate.id)):
                updates[u.recommendation_id].append({"recorded_on": u.recorded_on, "status": u.status,
                                                     "progress": u.progress})
        evidence = dict(uow.session.execute(
            select(RecommendationEvidence.recommendation_id, func.count(RecommendationEvidence.id))
            .where(RecommendationEvidence.recommendation_id.in_(ids))
            .group_by(RecommendationEvidence.recommendation_id)).all()) if ids else {}
        items = [_rec_view(r) | {"case_number": n, "overdue": recommendation_overdue(r.status, r.due_on, today),
                                 "days_overdue": (today - r.due_on).days, "open": r.status in OPEN_STATUSES,
                                 "updates": updates[r.id], "response_reasons": r.response_reasons,
                                 "plan": list(r.plan or []), "outcome": r.outcome,
                                 "evidence_files": evidence.get(r.id, 0),
                                 "can_confirm": _confirmable(r, evidence.get(r.id, 0))}
                 for r, n in rows]
    return {"items": items, "total": total, "page": page, "pages": max(1, -(-total // per_page))}


# ------------------------------------------------------------- corrections afterwards
# The texts the panel and the public read (the learning in the annual report, a
# recommendation's text in its emails and the reports, its latest progress as the latest
# action) are corrected in place: checked by the gate as typed, audited (never the text).

AMENDABLE = {"learning": "learning", "recommendation": "recommendation", "progress": "progress",
             "notes": "factor notes"}


def amend_text(settings: Settings, what: str, key: str | int, text: str, *, actor: str | None = None,
               line: int | None = None) -> dict:
    """Correct `what` ("learning": a case's analysis by case number; "notes": the notes
    of factor line `line` (1..n, as the analysis shows them) of a case's analysis;
    "recommendation": a recommendation's text by id; "progress": a recommendation's
    latest progress by id). Checked by the gate as typed (refused naming the field,
    nothing written), audited."""
    if what not in AMENDABLE:
        raise InputError([Problem("what", f"must be one of {', '.join(AMENDABLE)}")])
    r = RowReader({what: text})
    value = r.text(what, required=what not in ("learning", "notes"), max_len=TEXT_MAX, multiline=True)
    if r.problems:
        raise InputError(r.problems)
    with unit_of_work(settings, actor) as uow:
        if what in ("learning", "notes"):
            case = get_case(uow, str(key))
            row = uow.session.scalar(select(Analysis).where(Analysis.case_id == case.id))
            if row is None:
                raise InputError([Problem("case", "has no analysis recorded")])
            target, attribute, entity, document = row, "learning", "analysis", "learning"
            if what == "notes":
                factors = list(row.factors)
                if line is None or not 1 <= line <= len(factors):
                    raise InputError([Problem("line", f"must be a factor line between 1 and {len(factors)}")])
                target, entity = factors[line - 1], "analysis_factor"
        else:
            rec = uow.session.get(Recommendation, int(key)) if str(key).isdigit() else None
            if rec is None:
                raise InputError([Problem("recommendation", "no such recommendation")])
            case = uow.session.get(Case, rec.case_id)
            if what == "recommendation":
                target, attribute, entity, document = rec, "text", "recommendation", "learning"
            else:
                target = uow.session.scalar(select(RecommendationUpdate).where(
                    RecommendationUpdate.recommendation_id == rec.id).order_by(
                    RecommendationUpdate.recorded_on.desc(), RecommendationUpdate.id.desc()))
                if target is None:
                    raise InputError([Problem("recommendation", "has no progress recorded yet")])
                attribute, entity, document = "progress", "recommendation_update", "progress"
        if found := identifier_problem(case_gate(uow.session, case, document=document), what, value):
            raise InputError([found])
        setattr(target, "notes" if what == "notes" else attribute, value)
        uow.session.flush()
        uow.audit(f"{'factor_notes' if what == 'notes' else what}_amended", entity, target.id, case_id=case.id,
                  **({"line": line} if what == "notes" else {}))
        uow.commit()
        return {"case_number": case.case_number, "what": what, "id": target.id}


def _follow_up_calendar(settings: Settings) -> WorkingCalendar:
    return working_calendar(settings.policy)


def record_recommendation_update(settings: Settings, recommendation_id: int, *, status: str, progress: str,
                                 today: dt.date, actor: str | None = None) -> dict[str, Any]:
    """Record the progress an organisation reports; completed or not accepted ends the
    follow-up, in progress asks again a follow-up interval from now (not before due)."""
    r = RowReader({"status": status, "progress": progress})
    code = r.choice("status", {s.value: s for s in UPDATE_STATUSES})
    text = r.text("progress", max_len=TEXT_MAX, multiline=True)
    if r.problems:
        raise InputError(r.problems)
    with unit_of_work(settings, actor) as uow:
        rec = uow.session.get(Recommendation, recommendation_id)
        if rec is None:
            raise InputError([Problem("recommendation", "no such recommendation")])
        found = identifier_problem(case_gate(uow.session, uow.session.get(Case, rec.case_id),
                                             document="progress"), "progress", text)
        if found:
            raise InputError([found])
        uow.session.add(RecommendationUpdate(recommendation_id=rec.id, recorded_on=today, status=code,
                                             progress=text))
        rec.status = code
        if code in OPEN_STATUSES:
            interval = settings.policy.recommendation_follow_up_working_days
            rec.next_follow_up_on = max(rec.due_on, _follow_up_calendar(settings).add(today, interval))
        else:
            rec.next_follow_up_on = None
        uow.audit("recommendation_updated", "recommendation", rec.id, case_id=rec.case_id, status=code)
        uow.commit()
        return _rec_view(rec)


def _confirmable(rec: Recommendation, evidence_files: int) -> bool:
    """Closed by evidence, not by time: confirmable once the organisation has reported its
    outcome with at least one evidence file."""
    return rec.status in OPEN_STATUSES and rec.outcome is not None and evidence_files > 0


def confirm_recommendation(settings: Settings, recommendation_id: int, *, today: dt.date,
                           actor: str | None = None) -> dict[str, Any]:
    """The coordinator confirms a recommendation complete on the evidence and outcome its
    organisation sent through the portal: completed, no more requests, its link closed.
    Refused (field "evidence") while there is no outcome with evidence to confirm."""
    with unit_of_work(settings, actor) as uow:
        rec = uow.session.get(Recommendation, recommendation_id)
        if rec is None:
            raise InputError([Problem("recommendation", "no such recommendation")])
        files = uow.session.scalar(select(func.count(RecommendationEvidence.id)).where(
            RecommendationEvidence.recommendation_id == rec.id))
        if rec.status == RecommendationStatus.COMPLETED:
            return _rec_view(rec)  # confirmed already: a rerun changes nothing
        if not _confirmable(rec, files):
            raise InputError([Problem("evidence", "has no outcome with evidence reported yet: "
                                                  "it cannot be confirmed complete")])
        rec.status = RecommendationStatus.COMPLETED
        rec.next_follow_up_on = None
        uow.audit("recommendation_confirmed", "recommendation", rec.id, case_id=rec.case_id,
                  evidence_files=files, on=today.isoformat())
        uow.commit()
        return _rec_view(rec)


def plan_recommendation_follow_ups(settings: Settings, today: dt.date, *, actor: str = ACTOR) -> list[int]:
    """Queue a progress request for each open recommendation whose follow-up date has
    come (working days only; one step per recommendation per run). Safe to rerun."""
    if not _follow_up_calendar(settings).is_working_day(today):
        return []
    planned = []
    with unit_of_work(settings, actor) as uow:
        due = uow.session.execute(
            select(Recommendation, Case.case_number).join(Case, Case.id == Recommendation.case_id)
            .where(Recommendation.status.in_(OPEN_STATUSES), Recommendation.next_follow_up_on <= today)
            .order_by(Recommendation.next_follow_up_on, Recommendation.id)
        ).all()
        for rec, number in due:
            step = rec.follow_ups_sent + 1
            # Past policy.recommendation_escalate_after requests for the step it owes, the
            # organisation's escalation contact is asked (the coordinator in copy), or the
            # coordinator when it has none.
            escalate = is_escalation(rec.requests_for_step + 1, settings.policy.recommendation_escalate_after)
            kind, to, cc = KIND_REMINDER, [rec.email], []
            subject = f"Progress update requested: CDOP recommendation R{rec.id} ({number})"
            if escalate:
                agency = uow.session.get(Agency, rec.agency_id) if rec.agency_id else None
                kind, subject = KIND_ESCALATION, f"Escalation: CDOP recommendation R{rec.id} ({number}) is overdue"
                if agency is not None and agency.escalation_email:
                    to, cc = [agency.escalation_email], [settings.policy.coordinator_email]
                else:
                    to = [settings.policy.coordinator_email]
            message, created = outbox.enqueue(
                uow, settings,
                key=outbox.business_key(number, f"recommendation-{rec.id}", KIND_REMINDER, step),
                kind=kind, to=to, cc=cc, sequence=step, subject=subject,
                business_date=today, case_id=rec.case_id, agency_id=rec.agency_id,
                secure_route=all(settings.policy.is_secure_address(a) for a in to + cc),
                params={"recommendation_id": rec.id, "step": step, "owed": pending_step(rec),
                        "request": rec.requests_for_step + 1},
            )
            if created and escalate:
                uow.audit("recommendation_escalated", "recommendation", rec.id, case_id=rec.case_id,
                          owed=pending_step(rec), request=rec.requests_for_step + 1)
            if created:
                planned.append(message.id)
        uow.commit()
    return planned


def _rec_context(session: Session, message: OutboxMessage, settings: Settings) -> tuple[Recommendation, Case, dict]:
    rec = session.get(Recommendation, message.params["recommendation_id"])
    case = session.get(Case, rec.case_id)
    last = session.scalar(select(RecommendationUpdate).where(RecommendationUpdate.recommendation_id == rec.id)
                          .order_by(RecommendationUpdate.id.desc()).limit(1))
    return rec, case, {
        "area_name": settings.policy.area_name, "office": settings.policy.office,
        "case_number": case.case_number, "recommendation": rec, "step": message.params.get("step"),
        "last_update": last, "owed": STEP_WORDS.get(pending_step(rec)) if pending_step(rec) else None,
        "request_for_step": message.params.get("request"), "portal_link": None,
    }


def _compose(session: Session, message: OutboxMessage, settings: Settings, template: str,
             extra: dict | None = None) -> Email:
    rec, case, context = _rec_context(session, message, settings)
    context.update(extra or {})
    if message.kind in (KIND_REMINDER, KIND_ESCALATION) and rec.status not in OPEN_STATUSES:
        raise outbox.NoLongerWanted(f"recommendation R{rec.id} is {rec.status}")
    owed = (message.params or {}).get("owed")
    if message.kind in (KIND_REMINDER, KIND_ESCALATION) and owed and pending_step(rec) != owed:
        raise outbox.NoLongerWanted(f"recommendation R{rec.id}: the step asked for has been sent")
    email = outbox.templated_email(message, settings, template, context)
    last = context["last_update"]
    gate = addressed_to(case_gate(session, case, document=EMAIL_SOURCES["recommendation"]), rec)
    gate_email(gate, email, f"{message.kind} R{rec.id}", settings=settings, kind="recommendation",
               free_text=(rec.text, rec.organisation, last.progress if last else None),
               released=released_for_message(session, message))
    return email


def addressed_to(gate: Gate, rec: Recommendation) -> Gate:
    """The gate for a message to a recommendation's organisation. When that is a directory
    agency that is also a recorded place of the family (the child's school), its own name
    is the message's addressee: that place's identifiers are left out, every other one
    (and every unrecorded kind) still stops the message."""
    if rec.agency_id is None or not rec.organisation:
        return gate
    own = _fold(rec.organisation).strip()
    roles = {i.role for i in gate.identifiers if i.kind == "place" and i.role and _fold(i.value).strip() == own}
    if not roles:
        return gate
    return dataclasses.replace(gate, identifiers=tuple(i for i in gate.identifiers if i.role not in roles))


def compose_agreed(session: Session, message: OutboxMessage, settings: Settings,
                   portal_link: str | None = None) -> Email:
    """The recommendation to its organisation; `portal_link` (made by the sending layer,
    which knows the portal) is where it answers."""
    return _compose(session, message, settings, "recommendation_agreed",
                    {"portal_link": portal_link, "link_valid_days": settings.policy.portal.link_valid_days})


def compose_reminder(session: Session, message: OutboxMessage, settings: Settings,
                     portal_link: str | None = None) -> Email:
    return _compose(session, message, settings, "recommendation_reminder",
                    {"portal_link": portal_link, "link_valid_days": settings.policy.portal.link_valid_days})


def compose_escalation(session: Session, message: OutboxMessage, settings: Settings) -> Email:
    return _compose(session, message, settings, "recommendation_escalation")


def on_reminder_sent(uow: UnitOfWork, message: OutboxMessage, settings: Settings) -> None:
    """The step counts once sent; the next request is a follow-up interval later."""
    rec = uow.session.get(Recommendation, message.params["recommendation_id"])
    if message.sequence > rec.follow_ups_sent:
        rec.requests_for_step += 1
    rec.follow_ups_sent = max(rec.follow_ups_sent, message.sequence)
    if rec.status in OPEN_STATUSES:
        interval = settings.policy.recommendation_follow_up_working_days
        rec.next_follow_up_on = _follow_up_calendar(settings).add(message.business_date, interval)
