from cdop.wording import plural


def test_a_count_agrees_with_its_noun():
    assert plural(1, "working day") == "1 working day"
    assert plural(2, "working day") == "2 working days"
    assert plural(0, "member") == "0 members"
    assert plural(1, "chronology entry", "chronology entries") == "1 chronology entry"
    assert plural(3, "chronology entry", "chronology entries") == "3 chronology entries"


def test_an_nhs_number_prints_three_three_four():
    from cdop.wording import nhs_number

    assert nhs_number("9434765919") == "943 476 5919"
    assert nhs_number("943 476 5919") == "943 476 5919"
    assert nhs_number("943-476-5919") == "943 476 5919"
    assert nhs_number(None) == "" and nhs_number("") == ""
    assert nhs_number("12345") == "12345"  # not ten digits: as it is
    assert nhs_number("94347659191") == "94347659191"
