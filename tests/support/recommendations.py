"""For the recommendation tests: a case the panel has analysed, its two
recommendations (one to a directory agency, one to an organisation named by email, the
first answering a national recommendation) queued to their organisations."""

from __future__ import annotations

import datetime as dt
import json

from cdop.mail.templating import template_path
from cdop.panel.analysis import record_analysis
from cdop.panel.case_reports import assemble_reports, decide
from cdop.panel.meetings import add_meeting, allocate_cases
from tests.support.panel import ready_case

D = dt.date
MEETING = D(2027, 3, 4)
REVIEWED = D(2027, 3, 5)
GP = "hillcrest.practice@nhs.net"  # GPHC, in the directory
ICB = "icb.quality@nhs.net"  # named by email
NATIONAL = "NCMD-2025-SUDI-3"


def case_with_recommendations(settings, *, due=(D(2027, 3, 8), D(2027, 9, 30)), seed: int = 1) -> tuple[str, list[int]]:
    """(case number, [recommendation ids]) after the panel's analysis on REVIEWED."""
    number, _ = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH", "GPHC"), seed=seed)
    assemble_reports(settings, D(2027, 1, 11))
    decide(settings, number, approve=True, comments=None, actor="coordinator", today=D(2027, 1, 12))
    add_meeting(settings, meets_on=MEETING, today=D(2027, 1, 4))
    allocate_cases(settings, D(2027, 1, 12))
    form = json.loads(template_path("returns/analysis_template.json").read_text())
    form.update(case_number=number, reviewed_on=None)
    for rec, on in zip(form["recommendations"], due, strict=True):
        rec["due_on"] = on.isoformat()
    form["recommendations"][0]["national_reference"] = NATIONAL
    recorded = record_analysis(settings, number, form, today=REVIEWED, actor="coordinator")
    return number, list(recorded["recommendations"])
