"""Panel meetings: the list (upcoming and held, with time, place, members and places
left), a new meeting, and one meeting's business -- members invited, attendance and
apologies, the agenda, whether the papers went, the minutes and the panel's outcome for
each case -- through the services of cdop.panel.meetings (the same as `cdop panel
meeting ...`), audited with the signed-in user as the actor."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from cdop_airflow.ops_app.common import (
    COORDINATOR,
    CSRF,
    Access,
    SettingsDep,
    TodayDep,
    TokenDep,
    form_values,
    redirect,
    refused_form,
    render_page,
    route,
)

ACCESS: Access = {
    "/meetings": {"GET": COORDINATOR, "POST": COORDINATOR},
    "/meetings/allocate": {"POST": COORDINATOR},
    "/meetings/{meeting_id}": {"GET": COORDINATOR, "POST": COORDINATOR},
}
PAST_SHOWN = 6
NEW_MEETING_FIELDS = {"date": "Date", "time": "Time", "kind": "Kind", "capacity": "Places",
                      "location": "Location", "member": "Members invited"}
BUSINESS_FIELDS = {"members": "Members invited", "attendance": "Attendance", "outcome": "Outcomes",
                   "minutes": "Minutes"}


def _meeting_id(value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such meeting")
    return int(value)


def routes(app: FastAPI) -> None:
    from cdop.validation import InputError, Problem

    def listing(request: Request, settings, today, token: str, *, problems=None, failed_form=None,
                values=None, status_code: int = 200) -> HTMLResponse:
        from cdop.panel.meetings import MEETING_KINDS, OUTCOMES
        from cdop.views import panel as panel_view

        meetings, members = panel_view.meetings_page(settings, today, past=PAST_SHOWN)
        return render_page(request, "meetings.html.j2", active="meetings",
                           upcoming=[m for m in meetings if not m["held"]],
                           held=[m for m in meetings if m["held"]],
                           members=members,
                           kinds=MEETING_KINDS, outcome_labels=OUTCOMES, csrf_token=token, today=today, problems=problems or [],
                           failed_form=failed_form, status_code=status_code,
                           form=refused_form(failed_form or "", problems or [], values, NEW_MEETING_FIELDS))

    @route(app, "GET", "/meetings", response_class=HTMLResponse)
    def meetings(request: Request, settings: SettingsDep, today: TodayDep, token: TokenDep):
        """Panel meetings, upcoming and recently held: time, place, members, agendas."""
        return listing(request, settings, today, token)

    @route(app, "POST", "/meetings", dependencies=[CSRF])
    async def create_meeting(request: Request, settings: SettingsDep, today: TodayDep, token: TokenDep):
        """Register a meeting with its time, place, capacity and invited members."""
        from starlette.concurrency import run_in_threadpool

        from cdop.panel.meetings import add_meeting

        form = await request.form()
        values = form_values(form, ("date", "time", "kind", "capacity", "location"))
        members = [v for v in form.getlist("member") if isinstance(v, str)]

        def act() -> Response:
            try:
                meeting_id = add_meeting(settings, meets_on=values["date"], kind=values["kind"],
                                         capacity=values["capacity"], location=values["location"] or None,
                                         starts_at=values["time"] or None, members=members, today=today,
                                         actor=settings.actor)
            except InputError as exc:
                problems = [Problem("member" if p.field == "members" else p.field, p.message, p.row)
                            for p in exc.problems]
                return listing(request, settings, today, token, problems=problems, failed_form="new",
                               values={**values, "member": members}, status_code=422)
            return redirect(request, f"meetings/{meeting_id}", "meeting_created")

        return await run_in_threadpool(act)

    @route(app, "POST", "/meetings/allocate", dependencies=[CSRF])
    def allocate(request: Request, settings: SettingsDep, today: TodayDep):
        """Put each approved case on the next suitable meeting with room (what the daily
        task does), now."""
        from cdop.panel.meetings import allocate_cases

        allocate_cases(settings, today, actor=settings.actor)
        return redirect(request, "meetings", "meeting_saved")

    def detail(request: Request, settings, today, token: str, meeting_id: int, *, problems=None,
               values=None, status_code: int = 200) -> HTMLResponse:
        from cdop.panel.meetings import ATTENDANCE, OUTCOMES, meeting_detail
        from cdop.store.db import unit_of_work

        with unit_of_work(settings) as uow:
            meeting = meeting_detail(uow.session, settings.policy, meeting_id)
        if meeting is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such meeting")
        return render_page(request, "meeting.html.j2", active="meetings", meeting=meeting,
                           held=meeting["meets_on"] <= today, attendance=ATTENDANCE, outcomes=OUTCOMES,
                           csrf_token=token, today=today, problems=problems or [],
                           form=refused_form("business", problems or [], values, BUSINESS_FIELDS),
                           status_code=status_code)

    @route(app, "GET", "/meetings/{meeting_id}", response_class=HTMLResponse)
    def meeting_page(request: Request, meeting_id: str, settings: SettingsDep, today: TodayDep,
                     token: TokenDep):
        """One meeting's business."""
        return detail(request, settings, today, token, _meeting_id(meeting_id))

    @route(app, "POST", "/meetings/{meeting_id}", dependencies=[CSRF])
    async def record(request: Request, meeting_id: str, settings: SettingsDep, today: TodayDep,
                     token: TokenDep):
        """Record members, attendance and apologies, the minutes and each case's outcome
        (all or nothing)."""
        from starlette.concurrency import run_in_threadpool

        from cdop.panel.meetings import record_meeting

        number = _meeting_id(meeting_id)
        form = await request.form()
        members = [v for v in form.getlist("member") if isinstance(v, str)]
        attendance: dict[int, str] = {}
        outcomes: dict[str, str] = {}
        problems: list[Problem] = []
        for key, value in form.multi_items():
            if not isinstance(value, str):
                continue
            if key.startswith("attendance-"):
                member = key.removeprefix("attendance-")
                if member.isdigit() and len(member) < 10:
                    attendance[int(member)] = value
                else:
                    problems.append(Problem("attendance", "names no panel member"))
            elif key.startswith("outcome-"):
                outcomes[key.removeprefix("outcome-").upper()[:30]] = value
        minutes = form.get("minutes")
        minutes = minutes if isinstance(minutes, str) and minutes.strip() else None

        def act() -> Response:
            try:
                if problems:
                    raise InputError(problems)
                record_meeting(settings, number, today=today, actor=settings.actor, members=members,
                               attendance=attendance, minutes=minutes, outcomes=outcomes)
            except InputError as exc:
                typed = {"members": [str(m) for m in members], "minutes": minutes or "",
                         **{f"attendance-{k}": v for k, v in attendance.items()},
                         **{f"outcome-{k}": v for k, v in outcomes.items()}}
                return detail(request, settings, today, token, number, problems=exc.problems,
                              values=typed, status_code=422)
            return redirect(request, f"meetings/{number}", "meeting_saved")

        return await run_in_threadpool(act)
