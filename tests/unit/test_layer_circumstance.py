"""The circumstance layer: an exact date or time joined, in one sentence, to a named event
or place is a flag ("could identify by circumstance"); each alone is ordinary text."""

from __future__ import annotations

import pytest

from cdop.confidentiality.detectors import MESSAGES, policy_for, unrecorded_findings
from cdop.confidentiality.layers.circumstance import MESSAGE, circumstance_findings


def _circumstances(text, policy=None):
    return [f for f in unrecorded_findings(text, policy or policy_for("annual_report"))
            if f.kind == "circumstance"]


@pytest.mark.parametrize("text", [
    "Ioan died on Boxing Day in the fire at the village shop.",
    "The collision happened at 3.15am on Christmas Eve on the M5.",
    "A house fire on Bonfire Night took the lives of two children.",
    "At 02:40 the car left the A38 near the services.",
    "On New Year's Eve the boat capsized at the regatta.",
    "Gurpreet was struck at 4pm on Vaisakhi outside the gurdwara on Soho Road.",
    "She drowned at 6.30pm at Ty Coch Farm.",
])
def test_an_exact_time_joined_to_a_named_event_or_place_is_a_flag(text):
    found = _circumstances(text)
    assert len(found) == 1
    f = found[0]
    assert (f.field, f.kind, f.severity, f.layer, f.role) == (
        "unrecorded.circumstance", "circumstance", "flag", "circumstance", None)
    assert MESSAGES["circumstance"] == MESSAGE == "could identify by circumstance"


def test_a_calendar_date_joined_to_a_place_is_a_circumstance_too():
    text = "On 24 December 2023 the fire at the flat on Fenwick Crescent began."
    policy = policy_for("case_report")
    assert _circumstances(text, policy)
    assert circumstance_findings(text, date_spans=[(3, 19)])


@pytest.mark.parametrize("text", [
    "At 3.15am the ambulance was called by Dad.",  # a time, nothing named
    "The fire service fitted smoke alarms after the review.",  # an agency, no time
    "The fire and rescue service attended at 10:00 for a home safety check.",
    "The panel met on Christmas Eve to agree the summary.",  # a time, no event or place
    "The weight was 3.15 kg and the temperature 37.5 at the first check.",
    "A fire alarm sounded at 14:30 during the school day.",
    "Mum said the crash mat was under the cot.",  # an event word used as a thing, no time
    "Christmas and Boxing Day are bank holidays; the office is closed.",
])
def test_clean_counter_examples_are_not_circumstances(text):
    assert _circumstances(text) == []


def test_two_sentences_do_not_join():
    assert _circumstances("Mum rang 111 at 3.15am. The fire was years earlier.") == []
