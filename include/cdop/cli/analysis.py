"""`cdop analysis` and `cdop recommendation`: the panel's analysis of a case and the
follow-up of its recommendations."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cdop.cli.common import (
    actor,
    business_date,
    current_settings,
    existing_file,
    friendly_errors,
    today_option,
)


@click.group("analysis")
def analysis_group() -> None:
    """The panel's analysis of a case (the analysis form)."""


@analysis_group.command("record")
@click.argument("case_number")
@click.option("--file", "file_", type=existing_file, help="JSON analysis form (include/templates/returns/).")
@click.option("--category", help="Category of death (taxonomy code).")
@click.option("--modifiable", help="Derived from the grades (any factor graded 2: yes); say "
              "'insufficient' if the information was not enough to judge.")
@click.option("--learning")
@click.option("--reviewed-on", help="Date of the review (default: the meeting's date).")
@click.option("--factor", "factors", multiple=True,
              help="'DOMAIN|FACTOR|GRADE|notes' (repeat): a factor line, codes from "
                   "data/analysis_factors.toml, grade 0 not available, 1 not contributory, 2 may have contributed.")
@click.option("--recommendation", "recommendations", multiple=True,
              help="'AGENCY|YYYY-MM-DD|text' to a directory agency (repeat; use --file for others).")
@today_option
@friendly_errors
def analysis_record(case_number, file_, category, modifiable, learning, reviewed_on, factors,
                    recommendations, today) -> None:
    """Record the panel's analysis; the case closes and recommendations go out."""
    from cdop.panel.analysis import load_analysis_file, record_analysis

    flags = category or modifiable or learning or reviewed_on or factors or recommendations
    if file_ is not None and flags:
        raise click.UsageError("give either --file or the options, not both")
    if file_ is not None:
        data = load_analysis_file(file_)
    else:
        data = {"category": category, "modifiable": modifiable, "learning": learning,
                "reviewed_on": reviewed_on,
                "factors": [dict(zip(("domain", "factor", "grade", "notes"), f.split("|", 3), strict=False))
                            for f in factors],
                "recommendations": [dict(zip(("agency", "due_on", "text"), r.split("|", 2), strict=False))
                                    for r in recommendations]}
    result = record_analysis(current_settings(), case_number, data, today=business_date(today), actor=actor())
    recs = ", ".join(f"R{i}" for i in result["recommendations"]) or "none"
    click.echo(f"recorded the analysis of {result['case_number']}; modifiable factors: {result['modifiable']}; "
               f"finalised and case closed on {result['closed_on']}; recommendations: {recs}")


@analysis_group.command("show")
@click.argument("case_number")
@friendly_errors
def analysis_show(case_number) -> None:
    """Show a case's analysis (anonymised) as JSON."""
    from cdop.panel.analysis import analysis_view

    view = analysis_view(current_settings(), case_number)
    click.echo(json.dumps(view, indent=2) if view else f"no analysis recorded for {case_number.upper()}")


@click.group("recommendation")
def recommendation_group() -> None:
    """Panel recommendations and their progress."""


@recommendation_group.command("list")
@click.option("--case", "case_number")
@click.option("--open", "open_only", is_flag=True, help="Only those not completed or not accepted.")
@friendly_errors
def recommendation_list(case_number, open_only) -> None:
    """List recommendations with status and the next progress request."""
    from cdop.panel.analysis import list_recommendations

    for r in list_recommendations(current_settings(), case_number=case_number, open_only=open_only):
        click.echo(f"R{r['id']:<5} {r['case_number']}  due {r['due_on']}  {r['status']:12} "
                   f"next request {r['next_follow_up_on'] or '-':10}  {r['organisation']}")


@recommendation_group.command("update")
@click.argument("recommendation_id")
@click.option("--status", required=True, help="in_progress, completed or not_accepted")
@click.option("--progress", required=True, help="What the organisation reported (no names).")
@today_option
@friendly_errors
def recommendation_update(recommendation_id, status, progress, today) -> None:
    """Record progress on a recommendation (R12 or 12)."""
    from cdop.panel.analysis import record_recommendation_update

    number = recommendation_id.upper().removeprefix("R")
    if not number.isdigit():
        raise click.UsageError("RECOMMENDATION_ID is a number such as R12")
    view = record_recommendation_update(current_settings(), int(number), status=status, progress=progress,
                                        today=business_date(today))
    click.echo(f"R{view['id']} {view['status']}; next progress request: {view['next_follow_up_on'] or 'none'}")


@recommendation_group.command("confirm")
@click.argument("recommendation_id")
@today_option
@friendly_errors
def recommendation_confirm(recommendation_id, today) -> None:
    """Confirm a recommendation complete on the outcome and evidence its organisation sent
    (R12 or 12); refused until there are both."""
    from cdop.panel.analysis import confirm_recommendation

    view = confirm_recommendation(current_settings(), _recommendation_number(recommendation_id),
                                  today=business_date(today), actor=actor())
    click.echo(f"R{view['id']} {view['status']}")


@recommendation_group.command("evidence")
@click.argument("recommendation_id")
@click.argument("number", type=click.IntRange(1, 100))
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the file into (owner-only; made if missing).")
@friendly_errors
def recommendation_evidence(recommendation_id, number, folder) -> None:
    """Write evidence file NUMBER an organisation sent for a recommendation, decrypted, to
    an owner-only file named by recommendation and number (never by the name it gave)."""
    from cdop.portal.recommendations import evidence_content
    from cdop.private_files import private_dir, write_private

    rec_id = _recommendation_number(recommendation_id)
    data, suffix = evidence_content(current_settings(), rec_id, number, actor=actor())
    target = private_dir(folder) / f"R{rec_id}-evidence-{number}{suffix}"
    write_private(target, data)
    click.echo(f"wrote {target}")


@analysis_group.command("amend-learning")
@click.argument("case_number")
@click.option("--learning", required=True, help="The corrected learning (people by role, no names); '' clears it.")
@friendly_errors
def analysis_amend_learning(case_number, learning) -> None:
    """Correct a recorded analysis's learning (printed in the annual report): checked by
    the anonymisation gate, audited."""
    from cdop.panel.analysis import amend_text

    done = amend_text(current_settings(), "learning", case_number, learning, actor=actor())
    click.echo(f"amended the learning of {done['case_number']}")


@analysis_group.command("amend-factor")
@click.argument("case_number")
@click.argument("line", type=click.IntRange(1, 10_000))
@click.option("--notes", required=True, help="The corrected notes of factor line LINE (no names); '' clears them.")
@friendly_errors
def analysis_amend_factor(case_number, line, notes) -> None:
    """Correct the notes of factor line LINE (1..n, as `cdop analysis show` lists them)
    of a recorded analysis (they go in the NCMD export): checked by the gate, audited."""
    from cdop.panel.analysis import amend_text

    done = amend_text(current_settings(), "notes", case_number, notes, actor=actor(), line=line)
    click.echo(f"amended the notes of factor line {line} of {done['case_number']}")


def _recommendation_number(recommendation_id: str) -> int:
    number = recommendation_id.upper().removeprefix("R")
    if not number.isdigit():
        raise click.UsageError("RECOMMENDATION_ID is a number such as R12")
    return int(number)


@recommendation_group.command("amend-text")
@click.argument("recommendation_id")
@click.option("--text", required=True, help="The corrected recommendation (no names).")
@friendly_errors
def recommendation_amend_text(recommendation_id, text) -> None:
    """Correct a recommendation's text (R12 or 12): checked by the gate, audited."""
    from cdop.panel.analysis import amend_text

    number = _recommendation_number(recommendation_id)
    amend_text(current_settings(), "recommendation", number, text, actor=actor())
    click.echo(f"amended the text of R{number}")


@recommendation_group.command("amend-progress")
@click.argument("recommendation_id")
@click.option("--progress", required=True, help="The corrected latest progress (no names).")
@friendly_errors
def recommendation_amend_progress(recommendation_id, progress) -> None:
    """Correct a recommendation's latest progress (the annual report's latest action):
    checked by the gate, audited."""
    from cdop.panel.analysis import amend_text

    number = _recommendation_number(recommendation_id)
    amend_text(current_settings(), "progress", number, progress, actor=actor())
    click.echo(f"amended the latest progress of R{number}")


# `cdop ncmd export`: main.py adds it to the `ncmd` group beside `ncmd record`.
@click.command("export")
@click.option("--year", type=int, required=True,
              help="Year ending 31 March, e.g. 2027 for reviews completed April 2026 to March 2027.")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into (default: CDOP_HOME/ncmd/YEAR); created owner-only.")
@today_option
@friendly_errors
def ncmd_export(year: int, to: Path | None, today) -> None:
    """Write the year's completed analyses, one CSV per section of the analysis form
    (docs/reference/data-formats.md, "The NCMD export"), after the anonymisation gate has passed every cell."""
    from cdop.panel.ncmd_export import export_ncmd

    result = export_ncmd(current_settings(), year, today=business_date(today), to=to, actor=actor())
    click.echo(f"NCMD export {year - 1}/{str(year)[2:]}: {result.counts['analysis.csv']} analyses, "
               f"{result.counts['factors.csv']} factor lines, {result.counts['recommendations.csv']} "
               f"recommendations; gate: nothing found")
    for name in (*result.counts, "manifest.json"):
        click.echo(f"  {result.directory / name}")
