"""What a newcomer meets at the command line: help that lists whole sentences and the
codes a notification takes, a page number past the end said plainly, and a case shown
without its exact date of death unless revealed (audited)."""

from __future__ import annotations

import datetime as dt

from tests.conftest import cli
from tests.support.chasing import notify


def test_group_help_lists_whole_sentences():
    for args in ([], ["case"], ["gate"], ["portal"]):
        out = cli(*args, "--help").stdout
        commands = out.split("Commands:", 1)[1]
        assert "..." not in commands, (args, commands)


def test_notify_help_gives_the_codes_and_the_date_format():
    out = cli("notify", "--help").stdout
    assert "Codes:" in out and "public_place" in out and "road_traffic_collision" in out and "cdrm" in out
    assert "YYYY-MM-DD" in out and "cdop agencies list" in out


def test_case_show_keeps_the_date_of_death_for_reveal_and_a_page_past_the_end_says_so(agencies):
    number, row = notify(agencies, ["RUH"], on=dt.date(2026, 11, 2), seed=5)
    shown = cli("case", "show", number)
    assert shown.returncode == 0, shown.stderr
    assert row["date_of_death"] not in shown.stdout and "died aged" in shown.stdout
    as_json = cli("case", "show", number, "--json")
    assert row["date_of_death"] not in as_json.stdout
    revealed = cli("case", "show", number, "--reveal", "--reason", "Checking the registration")
    assert f"died {row['date_of_death']}" in revealed.stdout

    past = cli("case", "list", "--page", "2")
    assert past.returncode == 0 and "page 2 of 1" not in past.stderr
    assert "no page 2: 1 case make 1 page of 50" in past.stderr
