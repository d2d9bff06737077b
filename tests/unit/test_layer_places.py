"""The places layer: streets (with and without a number), Welsh streets, schools and
nurseries, foreign and multi-line postal addresses stop the release; shops and businesses
and villages flag; agencies the office writes to, organisations whose names hold a street
word, nations, counties and cities are not a family's place."""

from __future__ import annotations

import pytest

from cdop.confidentiality.detectors import policy_for, unrecorded_findings
from cdop.confidentiality.layers.model import entities
from cdop.confidentiality.layers.places import place_findings

POLICY = policy_for("case_report")


def _found(text, policy=POLICY, model=False):
    found = place_findings(text, policy, model_entities=entities(text) if model else ())
    return [(text[f.start:f.end], f.kind, f.severity) for f in found]


@pytest.mark.parametrize("text, street", [
    ("The family moved to a flat on Fenwick Crescent in the spring.", "Fenwick Crescent"),
    ("Ionuț was found off Heathfield Road by a passer-by.", "Heathfield Road"),
    ("Nguyễn walked along Sandpit Lane to school.", "Sandpit Lane"),
    ("The family live at Maes y Deri, near the chapel.", "Maes y Deri"),
    ("Adébáyọ̀'s grandmother lives on Heol yr Eglwys.", "Heol yr Eglwys"),
    ("Ioan's aunt moved to Stryd Fawr last year.", "Stryd Fawr"),
])
def test_a_street_without_a_house_number_stops(text, street):
    assert (street, "street", "stop") in _found(text)


def test_a_house_number_and_street_stops_and_so_does_a_postcode():
    text = "Flat 3, 14 Mill Lane, Bridgend CF31 4AB."
    found = _found(text)
    assert ("Flat 3, 14 Mill Lane", "address", "stop") in found
    assert ("CF31 4AB", "postcode", "stop") in found


def test_a_number_before_an_organisation_holding_a_street_word_is_not_an_address():
    # This exact sentence blocked an annual report.
    text = "Funding for 3 West Mercia Road Safety Partnership projects was agreed."
    assert _found(text) == []
    assert not [f for f in unrecorded_findings(text, policy_for("annual_report")) if f.severity == "stop"]
    assert _found("Referred to the Mill Lane Surgery and the Oak Road Children's Centre.") == []


@pytest.mark.parametrize("text, school", [
    ("Both sisters attended Ysgol Gymraeg Bro Ogwr.", "Ysgol Gymraeg Bro Ogwr"),
    ("Gurpreet started at Little Acorns Nursery in September.", "Little Acorns Nursery"),
    ("He was in Year 2 at St Joseph's RC Primary.", "St Joseph's RC Primary"),
    ("She went to Cylch Meithrin Pili Pala twice a week.", "Cylch Meithrin Pili Pala"),
    ("Siân was a pupil at Hayesfield Girls' School.", "Hayesfield Girls' School"),
    ("Ionuț joined Bishop Challoner Catholic College in Year 7.", "Bishop Challoner Catholic College"),
])
def test_a_school_or_nursery_nobody_recorded_stops(text, school):
    assert (school, "school", "stop") in _found(text)


@pytest.mark.parametrize("text", [
    "The school nurse and the primary school shared a chronology.",
    "Designated Safeguarding Leads in Primary Schools were trained.",
    "Oakfield Primary School returned its reporting form.",  # an agency the office writes to
    "Welsh-medium Primary School places were discussed at the panel.",
    "The Children's Centre offered a parenting course.",
])
def test_generic_schools_and_the_offices_agencies_are_clean(text):
    assert [f for f in _found(text) if f[1] == "school"] == []


def test_a_place_the_document_may_carry_is_allowed():
    text = "Returned by Brookfield Primary School."
    assert _found(text)
    assert _found(text, policy_for("case_report", allowed_places=["Brookfield Primary School"])) == []


@pytest.mark.parametrize("text, business", [
    ("Dad worked at Ali's Barbers on Saturdays.", "Ali's Barbers"),
    ("They had eaten at the Golden Dragon Takeaway.", "Golden Dragon Takeaway"),
    ("The caravan was parked at Ty Coch Farm.", "Ty Coch Farm"),
])
def test_a_shop_or_business_is_a_flag(text, business):
    assert (business, "business", "flag") in _found(text)


@pytest.mark.parametrize("text, place, kind", [
    ("At St Anne's Primary School she was settled.", "St Anne's Primary School", "school"),
    ("In Little Acorns Nursery Łucja slept after lunch.", "Little Acorns Nursery", "school"),
    ("To Ali's Barbers on Saturdays, with his uncle.", "Ali's Barbers", "business"),
    ("Near the Golden Dragon Takeaway the car stopped.", "Golden Dragon Takeaway", "business"),
])
def test_a_sentence_initial_preposition_or_article_is_not_part_of_the_place(text, place, kind):
    assert [(p, k) for p, k, _ in _found(text)] == [(place, kind)]


@pytest.mark.parametrize("text", ["Setting   Primary", "Setting\tPrimary", "Provider   Day Nursery",
                                  "Where   Golden Dragon   Takeaway"])
def test_a_label_and_its_value_drawn_from_a_table_are_not_a_school_or_business(text):
    assert _found(text) == []


def test_the_spar_on_mill_lane_is_found_by_its_street():
    assert ("Mill Lane", "street", "stop") in _found("Mum bought milk at the Spar on Mill Lane.")


@pytest.mark.parametrize("text, address", [
    ("The grandparents live at ul. Kwiatowa 12, 00-123 Warszawa.", "ul. Kwiatowa 12"),
    ("Previously at Strada Mihai Eminescu nr. 5, Cluj-Napoca.", "Strada Mihai Eminescu nr. 5"),
    ("Family address in Hanoi: Số 12 Đường Lê Lợi, Quận 1.", "Số 12 Đường Lê Lợi"),
    ("They stayed at Hauptstraße 5, 10115 Berlin.", "Hauptstraße 5"),
    ("Post was sent to 14 rue de la Paix, Lyon.", "14 rue de la Paix"),
    ("Her cousin's Eircode is D02 X285.", "D02 X285"),
    ("Letters went to P.O. Box 4521, Lagos.", "P.O. Box 4521"),
])
def test_foreign_postal_addresses_stop(text, address):
    assert (address, "address", "stop") in _found(text)


def test_a_multi_line_postal_address_without_a_postcode_stops():
    text = "Send the letter to:\nMrs A. Nguyễn\n14 Gwel Teg\nLlanbedr\nGwynedd\n\nThank you."
    found = _found(text)
    assert any(kind == "address" and "Gwel Teg" in span and "Llanbedr" in span for span, kind, _ in found)


def test_short_heading_lines_are_not_an_address():
    text = "Summary\nChronology\nLearning\n\nThe panel agreed the learning."
    assert _found(text) == []


def test_a_village_the_model_finds_is_a_flag_but_a_county_or_city_is_not():
    text = "The family moved from Llanbedr to Worcestershire, then to Birmingham."
    found = _found(text, model=True)
    assert ("Llanbedr", "place", "flag") in found
    assert not [f for f in found if f[0] in ("Worcestershire", "Birmingham")]


def test_a_table_of_labels_and_values_is_not_a_multi_line_address():
    # A case report's summary table as a PDF's text gives one label or value a line.
    text = ("1. Summary\n Case number\nCDOP-2026-0001\nAge at death\n1-4 years\nSex\nFemale\n"
            "Place of death\nHospital\nExpected or unexpected\nUnexpected\n2. Family circumstances\n")
    assert _found(text) == []


def test_a_table_of_dates_and_counts_is_not_a_multi_line_address():
    # An annual report's meetings table, as its CSV and as its PDF's text: a day, a month
    # and a year start each row; a date is not a house number and a street.
    for text in ("01 August 2025,10\n01 December 2025 (neonatal),3\nTotal,13\n",
                 "Meeting Reviews\n01 August 2025 10\n01 December 2025 (neonatal) 3\nTotal 13\n"):
        assert _found(text) == []
    # A date line does not excuse a street line in the same block.
    text = "Visited 3 March 2026\nFlat 2\n14 Gwel Teg\nLlanbedr\n"
    assert any(kind == "address" and "Gwel Teg" in span for span, kind, _ in _found(text))


def test_spans_answer_over_nested_and_long_spans():
    from cdop.confidentiality.layers._text import Spans

    spans = Spans([(0, 100), (10, 12), (50, 60)])
    assert spans.covers(20, 30) and spans.covers(10, 12) and not spans.covers(90, 110)
    assert spans.overlaps(99, 120) and not spans.overlaps(100, 120)
    spans.add(200, 210)
    assert spans.overlaps(205, 206) and not spans.overlaps(150, 199)


@pytest.mark.parametrize("text, place", [
    ("Eleri lives in Llanfair Caereinion with her nain.", "Llanfair Caereinion"),
    ("The family moved from Aberdaron after the flood.", "Aberdaron"),
    ("Grandad lives outside Wellesbourne.", "Wellesbourne"),
    ("They stayed at a caravan park in Newton-le-Willows.", "Newton-le-Willows"),
])
def test_a_village_or_town_by_the_shape_of_its_name_is_a_flag(text, place):
    assert (place, "place", "flag") in _found(text)


def test_countries_are_not_places_of_a_family():
    text = "The family came from France and Nigeria; the grandparents live in Viet Nam."
    assert [f for f in unrecorded_findings(text, POLICY) if f.kind in ("place", "name")] == []


@pytest.mark.parametrize("text, place", [
    ("They travelled from Cluj-Napoca to visit family.", "Cluj-Napoca"),
    ("The family came from a village near Sylhet in Bangladesh.", "Sylhet"),
    ("Dad was born in Kumasi, Ghana.", "Kumasi"),
    ("They lived in Stowcombe village for a year.", "Stowcombe"),
    ("The village of Pwllgloyw has one shop.", "Pwllgloyw"),
])
def test_a_place_is_a_flag_by_what_is_said_of_it(text, place):
    assert (place, "place", "flag") in _found(text)


@pytest.mark.parametrize("text", [
    "They moved to Bristol in 2020 and then to Cardiff, Wales.",
    "She was born in March at Southmead Hospital.",
    "He returned to Ward 4 and then moved to Year 3 classes.",
    "Mum came from Sophie's house and returned to Tesco.",
    "The conference this year is in East Ruth.",
    "We moved here from Charlotteville; my friend lives in Claireborough.",
    "She works for Roberts Inc in West Benjamin.",
    "The visit to Lake Bruceton and Johnsonstad was cancelled.",
    "The training was delivered by Farnon, Colligan and Corrigan.",
    "The NSPCC and Barnardo's both provided support.",
    "The housing officer from Westfield Housing Association attended.",
    "The family used a Tommee Tippee prep machine.",
])
def test_made_up_towns_firms_and_brands_are_not_places(text):
    assert _found(text, model=True) == []


@pytest.mark.parametrize("text, business", [
    ("The father drove a taxi for Northgate Cabs.", "Northgate Cabs"),
    ("Mum took the baby to Little Stars Soft Play.", "Little Stars Soft Play"),
])
def test_cab_firms_and_soft_play_centres_are_businesses(text, business):
    assert (business, "business", "flag") in _found(text)


def test_an_academy_trust_is_not_a_school():
    assert _found("Grace Academy Trust confirmed the attendance record.") == []
    assert ("Grace Academy", "school", "stop") in _found("He attended Grace Academy until Year 9.")


@pytest.mark.parametrize("text, place, kind", [
    ("The collision was at the junction of Marlpit Road and Polwhele Avenue.", "Polwhele Avenue", "street"),
    ("Trenance Gardens is a cul-de-sac of twelve houses.", "Trenance Gardens", "street"),
    ("The caravan was parked on Carn Brea Hill.", "Carn Brea Hill", "street"),
    ("Dad works nights at Pengelly Poultry.", "Pengelly Poultry", "business"),
    ("The older child attends Trythall and is in Year 6.", "Trythall", "school"),
    ("The older sister goes to Penponds school.", "Penponds school", "school"),
    ("Dad was drinking at the Tinners Arms pub.", "Tinners Arms pub", "business"),
    ("Their address was Plot 14, Adenta Housing Estate, Accra.", "Plot 14, Adenta Housing Estate, Accra", "address"),
    ("They lived at Atatürk Cad. No: 12 before.", "Atatürk Cad. No: 12", "address"),
    ("The family from Constanța visited.", "Constanța", "place"),
])
def test_streets_workplaces_schools_and_places_by_what_is_said_of_them(text, place, kind):
    assert place in [p for p, k, _ in _found(text) if k == kind]


@pytest.mark.parametrize("text", [
    "The hearing at the Crown Court and the Magistrates Court was adjourned.",
    "She attended Central Park, Cubs on Tuesdays and Friday prayers.",
    "She works at Southmead Hospital; Mum works for the Council.",
    "Alder Hey and Great Ormond Street were both consulted.",
    "The breakfast club and the Sunday club were offered; the GP surgery is nearby.",
    "Block 3, Ward 4 is closed for cleaning.",
    "She works for Patterson, Fairbairn and Cross.",
])
def test_things_named_like_streets_workplaces_and_schools_are_clean(text):
    assert _found(text) == []


def test_a_real_place_of_a_made_up_shape_is_still_found_when_named_as_a_place():
    assert ("Port Isaac", "place", "flag") in _found("They lived in the village of Port Isaac.")
    assert _found("We moved here from Charlotteville; the conference is in East Ruth.", model=True) == []
