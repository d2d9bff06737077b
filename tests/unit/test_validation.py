import datetime as dt

import pytest

from cdop.intake.notifications import parse_notification
from cdop.validation import RowReader, is_email, nhs_number_valid, normalise_postcode

TODAY = dt.date(2026, 11, 26)
GOOD = {
    "forenames": "Ada", "surname": "Example", "date_of_birth": "2020-01-15",
    "date_of_death": "2026-11-20", "nhs_number": "943 476 5919", "sex": "female",
    "place_of_death": "hospital", "expected": "no", "agencies": "RUH, GPHC",
}


@pytest.mark.parametrize("number, ok", [
    ("9434765919", True), ("943 476 5919", True), ("943-476-5919", True),
    ("9434765918", False),  # wrong check digit
    ("9434765910", False),
    ("123456789", False), ("12345678901", False), ("abcdefghij", False),
    ("0000000000", True),  # check digit 0 (11 -> 0)
])
def test_nhs_number_modulus_11(number, ok):
    assert nhs_number_valid(number) is ok


def test_check_digit_ten_is_invalid():
    # 000000001x: sum = 1*2 = 2 -> 11-2 = 9; find a body whose check would be 10
    body = next(f"{n:09d}" for n in range(1000) if 11 - sum(int(d) * w for d, w in zip(f"{n:09d}", range(10, 1, -1), strict=True)) % 11 == 10)
    assert not any(nhs_number_valid(body + str(d)) for d in range(10))


def test_email_and_postcode():
    assert is_email("a.b@nhs.net") and not is_email("a.b@") and not is_email("no spaces@x.org")
    assert normalise_postcode("dt34ab") == "DT3 4AB"


def parse(**changes):
    reader = RowReader({**GOOD, **changes}, row=3)
    return parse_notification(reader, today=TODAY, known_agencies={"RUH", "GPHC"}), reader.problems


def test_good_notification_parses():
    n, problems = parse()
    assert problems == [] and n.nhs_number == "9434765919" and n.agencies == ["RUH", "GPHC"]


@pytest.mark.parametrize("changes, field, words", [
    ({"nhs_number": "9434765918"}, "nhs_number", "Modulus 11"),
    ({"date_of_death": "2019-01-01"}, "date_of_death", "before the date of birth"),
    ({"date_of_death": "2026-12-01"}, "date_of_death", "future"),
    ({"date_of_birth": "2005-01-01", "date_of_death": "2023-02-01"}, "date_of_death", "18 or over"),
    ({"agencies": "RUH, NOPE"}, "agencies", "unknown agency"),
    ({"agencies": ""}, "agencies", "at least one"),
    ({"surname": ""}, "surname", "required"),
    ({"sex": "x"}, "sex", "must be one of"),
    ({"notifier_email": "not-an-email"}, "notifier_email", "valid email"),
    ({"date_of_birth": "15/01/2020"}, "date_of_birth", "YYYY-MM-DD"),
])
def test_each_error_names_field_and_row_but_not_value(changes, field, words):
    n, problems = parse(**changes)
    assert n is None
    [problem] = [p for p in problems if p.field == field]
    text = str(problem)
    assert text.startswith(f"row 3, field '{field}'") and words in text
    for value in changes.values():
        if value and len(value) > 4:
            assert value not in text


def test_under_18_boundary():
    n, _ = parse(date_of_birth="2008-11-20", date_of_death="2026-11-19")
    assert n is not None
    n, problems = parse(date_of_birth="2008-11-20", date_of_death="2026-11-20")
    assert n is None and problems[0].field == "date_of_death"
