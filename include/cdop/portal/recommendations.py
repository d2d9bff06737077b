"""A recommendation answered by its organisation through the portal.

The email that carries a recommendation to its organisation (an agency in the directory,
or an organisation named by its email) carries a secure link, issued and opened exactly
as a return's (cdop.portal.tokens, cdop.portal.codes): the link alone shows nothing; the
code emailed to the same address opens a session for this one recommendation.

On that page the organisation accepts or declines the recommendation, with its reasons
(required when it declines). Before anything is recorded the reasons are checked as a
return's texts are (cdop.portal.warnings): what appears to name or locate someone is shown
back, highlighted, to this session only, and the organisation may change it or send it as
it is. The gate then reads what was sent and tells the audit each finding's kind, never
the text. Accepting moves the recommendation to in progress, declining to not accepted;
both are audited with the organisation's route ("portal") and the recommendation's id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cdop.confidentiality.identifiers import case_gate
from cdop.config import Settings
from cdop.portal import codes
from cdop.portal.service import (
    ACTOR,
    LinkNotUsable,
    Upload,
    _session_link,
    upload_content_type,
    upload_problem,
    upload_suffix,
)
from cdop.rules.recommendations import OUTCOME, PLAN, RESPONSE, pending_step, step_due_on
from cdop.rules.workdays import working_calendar
from cdop.store import files
from cdop.store.db import UnitOfWork, unit_of_work
from cdop.store.models import Case, PortalLink, Recommendation, RecommendationEvidence, utcnow
from cdop.store.statuses import RecommendationResponse, RecommendationStatus
from cdop.validation import InputError, Problem, parse_date

REASONS_MAX = 4000
ACTION_MAX = 1000
OWNER_MAX = 80
PLAN_ROWS = 6
# What the organisation is asked for, in order: its answer, then (accepted) its action plan.
OUTCOME_MAX = 4000
STEPS = (RESPONSE, PLAN, OUTCOME)
STEP_TITLES = {RESPONSE: "accept or decline", PLAN: "your action plan", OUTCOME: "evidence and outcome",
               None: "what you have told us"}


def problem_text(problem: Problem) -> str:
    """A problem as the page shows it: the field's label, then what is wrong."""
    if problem.field == "response":
        return f"Your answer: {problem.message}"
    if problem.field == "reasons":
        return f"Your reasons: {problem.message}"
    if problem.field == "outcome":
        return f"The outcome: {problem.message}"
    if problem.field == "evidence":
        return f"Evidence: {problem.message}"
    return f"Action {problem.row}, {problem.message}"
RESPONSE_LABELS = {RecommendationResponse.ACCEPTED: "We accept this recommendation",
                   RecommendationResponse.DECLINED: "We decline this recommendation"}


@dataclass
class RecommendationView:
    reference: str  # R<id>: what the organisation quotes
    case_number: str
    organisation: str
    text: str
    agreed_on: dt.date
    due_on: dt.date
    national_reference: str | None
    response: str | None  # as recorded; None until answered
    responded_on: dt.date | None
    reasons: str  # as recorded, or as typed (shown back with problems or warnings)
    chosen: str  # the radio button to show checked
    step: str | None  # what the organisation is asked for next (STEPS), None when nothing
    plan: list[dict[str, str]]  # as recorded, or the rows as typed
    outcome: str  # as recorded, or as typed
    evidence: list[dict[str, Any]]  # the files sent, by size only (a name given may be the child's)
    status: str
    problems: list[Problem] = field(default_factory=list)


def _rec(uow: UnitOfWork, link: PortalLink) -> Recommendation:
    rec = uow.session.get(Recommendation, link.recommendation_id)
    if rec is None:
        raise LinkNotUsable()
    return rec


def next_step(rec: Recommendation) -> str | None:
    """What the organisation is asked for next (cdop.rules.recommendations)."""
    return pending_step(rec)


def _view(uow: UnitOfWork, rec: Recommendation, *, typed: dict[str, Any] | None = None,
          problems: list[Problem] | None = None) -> RecommendationView:
    case = uow.session.get(Case, rec.case_id)
    typed = typed or {}
    step = next_step(rec)
    plan = typed.get("plan") if step == PLAN and "plan" in typed else list(rec.plan or [])
    if step == PLAN:
        plan = plan + [{"action": "", "owner_role": "", "target_on": ""}] * max(PLAN_ROWS - len(plan), 0)
    else:  # as sent: each target date to show as a date
        plan = [row | {"target_date": dt.date.fromisoformat(row["target_on"])} for row in plan]
    evidence = [{"size": e.size_bytes} for e in uow.session.scalars(
        select(RecommendationEvidence).where(RecommendationEvidence.recommendation_id == rec.id)
        .order_by(RecommendationEvidence.id))]
    outcome = typed.get("outcome", "") if step == OUTCOME else (rec.outcome or "")
    return RecommendationView(step=step, plan=plan, outcome=outcome, evidence=evidence, status=str(rec.status),
        reference=f"R{rec.id}", case_number=case.case_number, organisation=rec.organisation, text=rec.text,
        agreed_on=rec.agreed_on, due_on=rec.due_on, national_reference=rec.national_reference,
        response=rec.response, responded_on=rec.responded_at.date() if rec.responded_at else None,
        reasons=typed.get("reasons", rec.response_reasons or "") if rec.response is None else (rec.response_reasons or ""),
        chosen=typed.get("response", rec.response or ""),
        problems=list(problems or []))


def recommendation_view(settings: Settings, token: str, session_value: str | None) -> RecommendationView:
    with unit_of_work(settings, ACTOR) as uow:
        link = _session_link(uow, token, session_value, recommendation=True)
        return _view(uow, _rec(uow, link))


def read_response(data: dict[str, Any]) -> tuple[dict[str, str], list[Problem]]:
    """The response and reasons as typed (bounded), and what is wrong with them: each
    problem names the field, never the value."""
    response = str(data.get("response") or "").strip()[:20]
    reasons = str(data.get("reasons") or "").replace("\r\n", "\n").strip()
    problems = []
    if response not in set(RecommendationResponse):
        problems.append(Problem("response", "choose whether you accept or decline the recommendation"))
    if len(reasons) > REASONS_MAX:
        problems.append(Problem("reasons", f"must be at most {REASONS_MAX} characters"))
        reasons = reasons[:REASONS_MAX]
    if response == RecommendationResponse.DECLINED and not reasons:
        problems.append(Problem("reasons", "give your reasons for declining"))
    return {"response": response, "reasons": reasons}, problems


def read_plan(data: dict[str, Any], today: dt.date) -> tuple[dict[str, Any], list[Problem]]:
    """The action plan's rows as typed (rows left blank are dropped), and what is wrong
    with them, each problem naming the row and the column, never the value."""
    rows, problems = [], []
    for n in range(1, PLAN_ROWS + 1):
        raw = {k: str(data.get(f"action-{n}-{k}") or "").replace("\r\n", "\n").strip()
               for k in ("action", "owner_role", "target_on")}
        if not any(raw.values()):
            continue
        row = len(rows) + 1
        for key, label, limit in (("action", "what will be done", ACTION_MAX), ("owner_role", "owner", OWNER_MAX)):
            if not raw[key]:
                problems.append(Problem(f"action-{row}-{key}", f"{label}: must be given", row))
            elif len(raw[key]) > limit:
                problems.append(Problem(f"action-{row}-{key}", f"{label}: must be at most {limit} characters", row))
                raw[key] = raw[key][:limit]
        when, wrong = parse_date(raw["target_on"])
        if wrong or when is None:
            problems.append(Problem(f"action-{row}-target_on", "target date: must be a date (YYYY-MM-DD)", row))
        elif when < today:
            problems.append(Problem(f"action-{row}-target_on", "target date: must not be in the past", row))
        rows.append(raw)
    if not rows:
        problems.append(Problem("action-1-action", "give at least one action", 1))
    return {"plan": rows}, problems


def _owner_problems(gate, rows: list[dict[str, str]]) -> list[Problem]:
    """An owner is a role ("named nurse for safeguarding"), never a person: an owner in which
    the gate finds a name is refused (not merely warned about), naming the row only."""
    from cdop.portal.warnings import _warned

    problems = []
    for i, row in enumerate(rows, start=1):
        if row["owner_role"] and _warned(gate.findings(row["owner_role"])):
            problems.append(Problem(f"action-{i}-owner_role",
                                    "owner: give the owner's role, not a person's name", i))
    return problems


def read_outcome(data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    outcome = str(data.get("outcome") or "").replace("\r\n", "\n").strip()
    problems = []
    if not outcome:
        problems.append(Problem("outcome", "describe what changed as a result"))
    elif len(outcome) > OUTCOME_MAX:
        problems.append(Problem("outcome", f"must be at most {OUTCOME_MAX} characters"))
        outcome = outcome[:OUTCOME_MAX]
    return {"outcome": outcome}, problems


def add_evidence(uow: UnitOfWork, settings: Settings, rec: Recommendation, uploads: list[Upload]) -> list[Problem]:
    """Keep each good file as evidence, encrypted through the file store, as a return's
    attachments are; each bad one is a problem naming its place in the list (never its name)."""
    policy = settings.policy.portal
    problems: list[Problem] = []
    have = len(uow.session.scalars(select(RecommendationEvidence.id).where(
        RecommendationEvidence.recommendation_id == rec.id)).all())
    number = uow.session.get(Case, rec.case_id).case_number
    for i, upload in enumerate((u for u in uploads if u.filename or u.data), start=1):
        if (wrong := upload_problem(settings, upload)) is not None:
            problems.append(Problem("evidence", f"file {i}: {wrong}"))
        elif have >= policy.max_attachments:
            problems.append(Problem("evidence", f"at most {policy.max_attachments} files may be sent"))
        else:
            have += 1
            suffix = upload_suffix(upload)
            stored = files.store_encrypted(uow, settings, Path("files") / number / f"R{rec.id}",
                                           f"{number}-R{rec.id}-evidence{suffix}", upload.data)
            uow.session.add(RecommendationEvidence(
                recommendation_id=rec.id, stored_path=stored, original_name=Path(upload.filename).name[:200],
                content_type=upload_content_type(suffix), size_bytes=len(upload.data)))
            uow.audit("recommendation_evidence_added", "recommendation", rec.id, case_id=rec.case_id,
                      size_bytes=len(upload.data))
    uow.session.flush()
    return problems


def _texts(step: str, typed: dict[str, Any]) -> list[tuple[str, str, str]]:
    if step == RESPONSE:
        return [("reasons", "Your reasons", typed["reasons"])]
    if step == OUTCOME:
        return [("outcome", "The outcome", typed["outcome"])]
    return [(f"action-{i}-action", f"Action {i}, what will be done", row["action"])
            for i, row in enumerate(typed["plan"], start=1)]


def _read(step: str, data: dict[str, Any], today: dt.date) -> tuple[dict[str, Any], list[Problem]]:
    if step == RESPONSE:
        return read_response(data)
    return read_plan(data, today) if step == PLAN else read_outcome(data)


def text_warnings(settings: Settings, token: str, session_value: str | None, data: dict[str, Any], *,
                  today: dt.date) -> list:
    """What the organisation typed at this step that appears to name or locate someone,
    for its own session only (cdop.portal.warnings); nothing is written but the audit's count."""
    from cdop.confidentiality.detectors import office_policy
    from cdop.portal.warnings import text_warnings as warn
    from cdop.portal.warnings import warning_gate

    with unit_of_work(settings, ACTOR) as uow:
        link = _session_link(uow, token, session_value, recommendation=True)
        rec = _rec(uow, link)
        step = next_step(rec)
        if step is None or str(data.get("step") or "") != step:
            return []  # a stale page: `submit` answers with the current one
        typed, _ = _read(step, data, today)
        found = warn(warning_gate(uow.session.get(Case, rec.case_id), link.secure_route,
                                  office_policy(settings, "text")), _texts(step, typed))
        if found:
            uow.audit("portal_text_warned", "recommendation", rec.id, case_id=rec.case_id, step=step,
                      fields=len(found))
            uow.commit()
    return found


def shown_back(settings: Settings, token: str, session_value: str | None, data: dict[str, Any], *,
               today: dt.date, uploads: list[Upload] = ()) -> RecommendationView:
    """The page with what was typed (after a warning), nothing recorded but the evidence
    files sent with it (kept, as a return's draft keeps its attachments)."""
    with unit_of_work(settings, ACTOR) as uow:
        rec = _rec(uow, _session_link(uow, token, session_value, recommendation=True))
        step = next_step(rec)
        typed, _ = _read(step, data, today) if step else ({}, [])
        problems = add_evidence(uow, settings, rec, list(uploads)) if step == OUTCOME and uploads else []
        uow.commit()
        return _view(uow, rec, typed=typed, problems=problems)


def submit(settings: Settings, token: str, session_value: str | None, data: dict[str, Any], *,
           today: dt.date, uploads: list[Upload] = ()) -> RecommendationView:
    """Record the step the page was for; the view carries the problems if nothing was
    recorded. A step already recorded is not changed here (the office can reopen it): a
    page sent for it again (a double click, a second tab) gets the current page."""
    from cdop.confidentiality.detectors import office_policy

    with unit_of_work(settings, ACTOR) as uow:
        link = codes.lock_link(uow, _session_link(uow, token, session_value, recommendation=True))
        rec = uow.session.scalars(select(Recommendation).where(Recommendation.id == link.recommendation_id)
                                  .with_for_update().execution_options(populate_existing=True)).one()
        step = next_step(rec)
        if step is None or str(data.get("step") or "") != step:
            return _view(uow, rec)
        typed, problems = _read(step, data, today)
        case = uow.session.get(Case, rec.case_id)
        gate = case_gate(uow.session, case, policy=office_policy(settings, "text"))
        if step == PLAN:
            problems += _owner_problems(gate, typed["plan"])
        if step == OUTCOME:
            # Good files are kept whatever else is wrong (like a return's draft attachments).
            problems = add_evidence(uow, settings, rec, list(uploads)) + problems
            if str(data.get("action") or "") == "upload":
                uow.commit()
                return _view(uow, rec, typed=typed, problems=[p for p in problems if p.field == "evidence"])
            if not uow.session.scalar(select(RecommendationEvidence.id).where(
                    RecommendationEvidence.recommendation_id == rec.id).limit(1)):
                problems.append(Problem("evidence", "send at least one file showing what was done"))
        if problems:
            uow.commit()  # the evidence kept, nothing else
            return _view(uow, rec, typed=typed, problems=problems)
        now = utcnow()
        if step == RESPONSE:
            rec.response = typed["response"]
            rec.response_reasons = typed["reasons"] or None
            rec.responded_at = now
            rec.status = (RecommendationStatus.IN_PROGRESS if rec.response == RecommendationResponse.ACCEPTED
                          else RecommendationStatus.NOT_ACCEPTED)
            uow.audit("recommendation_response", "recommendation", rec.id, case_id=rec.case_id,
                      response=rec.response, status=str(rec.status), portal_link=link.id, on=today.isoformat(),
                      reasons_given=bool(typed["reasons"]))
        elif step == OUTCOME:
            rec.outcome = typed["outcome"]
            rec.outcome_reported_at = now
            uow.audit("recommendation_outcome", "recommendation", rec.id, case_id=rec.case_id, portal_link=link.id,
                      on=today.isoformat())
        else:
            rec.plan = typed["plan"]
            rec.plan_submitted_at = now
            uow.audit("recommendation_plan", "recommendation", rec.id, case_id=rec.case_id, portal_link=link.id,
                      actions=len(typed["plan"]), on=today.isoformat(),
                      last_target_on=max(r["target_on"] for r in typed["plan"]))
        # The next step is chased from when it falls due; the count of requests starts again.
        uow.session.flush()
        rec.next_follow_up_on = step_due_on(rec, working_calendar(settings.policy),
                                            settings.policy.recommendation_plan_working_days, responded_on=today)
        rec.requests_for_step = 0
        found = [f for _, _, text in _texts(step, typed) if text for f in gate.findings(text)]
        if found:
            # For the coordinator: the step and what kinds the gate found, never the text.
            uow.audit("recommendation_text_flagged", "recommendation", rec.id, case_id=rec.case_id,
                      step=step, kinds=sorted({f.kind for f in found}))
        uow.commit()
        return _view(uow, rec)


def evidence_content(settings: Settings, recommendation_id: int, number: int, *,
                     actor: str | None = None) -> tuple[bytes, str]:
    """The decrypted bytes of evidence file `number` (from 1) of a recommendation, and its
    suffix, for the coordinator to check before confirming completion; audited."""
    with unit_of_work(settings, actor) as uow:
        rec = uow.session.get(Recommendation, recommendation_id)
        if rec is None:
            raise InputError([Problem("recommendation", "no such recommendation")])
        sent = uow.session.scalars(select(RecommendationEvidence).where(
            RecommendationEvidence.recommendation_id == rec.id).order_by(RecommendationEvidence.id)).all()
        if not 1 <= number <= len(sent):
            raise InputError([Problem("number", f"the recommendation has {len(sent)} evidence file(s)")])
        evidence = sent[number - 1]
        data = files.read_encrypted(settings, evidence.stored_path)
        uow.audit("recommendation_evidence_read", "recommendation", rec.id, case_id=rec.case_id, number=number)
        uow.commit()
    return data, upload_suffix(Upload(evidence.original_name, b""))
