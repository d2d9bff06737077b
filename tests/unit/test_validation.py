import datetime as dt
import json

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


# ------------------------------------------------------- issue 11: typed and bounded


from cdop.validation import (  # noqa: E402
    MAX_RECORDS,
    InputError,
    clean_text,
    load_json_file,
    load_table_file,
    parse_date,
)


@pytest.mark.parametrize("value, message", [
    ("Ada\x00", "control character"), ("\x1b[31mAda", "control character"), ("Ada\x07", "control character"),
    ("Ada\x7f", "control character"), ("Ada\x9b", "control character"),
    ("Ada\u202e", "bidirectional"), ("\u2066Ada\u2069", "bidirectional"), ("A\u200bda", "invisible"),
    ("Ada\ufeff", "invisible"), ("A\u2028da", "invisible"),
    ("Ada\r\nBcc: x@example.org", "one line"), ("Ada\rX", "one line"), ("Ada\nX", "one line"),
    ("Ada\x85X", "one line"), ("Ada\tX", "tab"),
    ({"RUH": 1}, "not an object"), (["Ada"], "not a list"), (True, "not true/false"),
    (float("nan"), "not a number"), (float("inf"), "not a number"), (12.5, "not a number"),
    ("x" * 101, "longer than 100"),
])
def test_one_line_text_refuses_what_it_must(value, message):
    text, wrong = clean_text(value, max_len=100)
    assert text is None and message in wrong


def test_text_is_normalised_only_where_harmless():
    assert clean_text("  Se\u0301verine  ", max_len=20) == ("S\u00e9verine", None)  # NFC, trimmed
    assert clean_text("O’Neill-Weiß Łukasz Søren", max_len=40)[0] == "O’Neill-Weiß Łukasz Søren"
    assert clean_text("one\r\ntwo\rthree\tfour", max_len=40, multiline=True) == ("one\ntwo\nthree\tfour", None)
    assert clean_text("a\x00b", max_len=40, multiline=True)[1] == "holds a control character"
    assert clean_text(9434765919, max_len=14) == ("9434765919", None)  # an NHS number typed as a number
    assert clean_text("   ", max_len=5) == (None, None)


@pytest.mark.parametrize("value, ok", [
    ("2026-11-20", True), ("1900-01-01", True), ("2100-12-31", True), ("2026-08-31", True),  # a bank holiday
    ("1899-12-31", False), ("2101-01-01", False), ("9999-12-31", False), ("9982-05-01", False),
    ("0001-01-01", False), ("2026-02-30", False), ("20/11/2026", False), ("20261120", False),
    ({"y": 2026}, False), (20261120, False),
])
def test_dates_lie_in_a_sensible_range(value, ok):
    day, wrong = parse_date(value)
    assert (day is not None) is ok and (wrong is None) is ok


def test_a_year_near_9999_is_refused_naming_the_field_not_crashing():
    for year in range(9982, 10000):
        n, problems = parse(date_of_birth=f"{year}-01-01", date_of_death=f"{year}-06-01")
        assert n is None and {p.field for p in problems} >= {"date_of_birth", "date_of_death"}


def test_unknown_and_malformed_agency_codes_are_named_by_position():
    n, problems = parse(agencies=["RUH", "NOPE\rX", {"RUH": 1}, "ZZZ"])
    texts = [str(p) for p in problems if p.field == "agencies"]
    assert texts == ["row 3, field 'agencies': item 2 must be on one line (it holds a line break)"]
    n, problems = parse(agencies=["RUH", {"RUH": 1}])
    assert [str(p) for p in problems if p.field == "agencies"] == [
        "row 3, field 'agencies': item 2 must be text, not an object"]
    n, problems = parse(agencies="RUH; ZZZ;GPHC;QQQ")
    [text] = [str(p) for p in problems if p.field == "agencies"]
    assert text == "row 3, field 'agencies': unknown agency codes (items 2, 4)" and "ZZZ" not in text
    n, problems = parse(agencies="RUH;NO PE\x07")
    [text] = [str(p) for p in problems if p.field == "agencies"]
    assert "control character" in text or "not an agency code (item 2)" in text


def test_json_object_as_forenames_and_1e400_as_decile_are_refused():
    n, problems = parse(forenames={"first": "Ada"}, deprivation_decile=float("inf"))
    assert n is None
    assert {(p.field, p.message) for p in problems} >= {("forenames", "must be text, not an object"),
                                                         ("deprivation_decile", "must be a whole number")}


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name, data, message", [
    ("n.csv", "forenames\nWeiß\n".encode("latin-1"), "is not UTF-8"),
    ("n.csv", "forenames\nAda\n".encode("utf-16"), "is UTF-16"),
    ("n.json", '[{"forenames": "Weiß"}]'.encode("utf-16"), "is UTF-16"),
    ("n.json", b"", "is empty"), ("n.csv", b" \n", "is empty"),
    ("n.json", b'[{"forenames": "Ada",}]', "is not valid JSON (line 1"),
    ("n.json", b"[" * 100_000 + b"]" * 100_000, "nested more than 32"),
    ("n.json", b"[" * 40 + b"]" * 40, "nested more than 32"),
    ("n.json", b'"just text"', "must hold an object or a list"),
    ("n.json", b"[1, {}]", "is not an object"),
    ("n.csv", b"forenames\n" + b"x" * (128 * 1024 + 1) + b"\n", "longer than 128 KiB"),
    ("n.csv", b"a,b\n1,2,3\n", "more cells than the header"),
    ("n.csv", b"a,a\n1,2\n", "names a column twice"),
])
def test_files_that_cannot_be_read_are_refused_with_a_message(tmp_path, name, data, message):
    with pytest.raises(InputError) as refused:
        load_table_file(_write(tmp_path, name, data))
    assert message in str(refused.value) and "'file'" in str(refused.value)


def test_utf8_with_or_without_a_bom_and_records_counted_alike(tmp_path):
    rows = [{"forenames": "Łukasz"}, {"forenames": "Søren"}]
    for bom in (b"", b"\xef\xbb\xbf"):
        csv_file = _write(tmp_path, "n.csv", bom + "forenames\nŁukasz\n\nSøren\n".encode())
        json_file = _write(tmp_path, "n.json", bom + json.dumps(rows, ensure_ascii=False).encode())
        assert load_table_file(csv_file) == (["forenames"], rows)
        assert load_table_file(json_file) == (None, rows)
    # NaN and 1e400 parse, so the field they are in is named when it is read.
    data = load_json_file(_write(tmp_path, "n.json", b'{"a": NaN, "b": 1e400}'))
    assert data["a"] != data["a"] and data["b"] == float("inf")


def test_size_and_record_limits(tmp_path):
    big = _write(tmp_path, "big.json", b'"' + b"x" * (5 * 1024 * 1024) + b'"')
    with pytest.raises(InputError, match="larger than 5 MiB"):
        load_table_file(big)
    many = _write(tmp_path, "many.csv", b"a\n" + b"1\n" * (MAX_RECORDS + 1))
    with pytest.raises(InputError, match=f"more than {MAX_RECORDS} records"):
        load_table_file(many)


def test_no_business_date_may_lie_after_today_in_england(time_machine):
    import datetime as dt

    from cdop.clock import today_in_england
    from cdop.validation import InputError, not_in_future

    # 23:30 in London on 1 December: the guard's day is England's, not the machine's.
    time_machine.move_to(dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC), tick=False)
    assert today_in_england() == dt.date(2026, 12, 1)
    not_in_future("today", dt.date(2026, 12, 1))  # today itself is fine
    not_in_future("today", None)
    with pytest.raises(InputError) as err:
        not_in_future("received", dt.datetime(2026, 12, 2, 0, 5))
    assert str(err.value.problems[0]) == "field 'received': is in the future: a business date cannot be after today"
    # In summer the same UTC moment is already the next day in England.
    time_machine.move_to(dt.datetime(2027, 7, 1, 23, 30, tzinfo=dt.UTC), tick=False)
    not_in_future("received", dt.date(2027, 7, 2))


def test_the_future_date_guard_reads_no_environment_variable(monkeypatch):
    """The suite does not turn the guard off: no variable moves the production clock."""
    import datetime as dt

    from cdop.validation import InputError, not_in_future

    monkeypatch.setenv("CDOP_TEST_TODAY", "2099-12-31")
    with pytest.raises(InputError):
        not_in_future("today", dt.date.today() + dt.timedelta(days=2))
