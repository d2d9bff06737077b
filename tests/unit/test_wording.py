from cdop.wording import plural


def test_a_count_agrees_with_its_noun():
    assert plural(1, "working day") == "1 working day"
    assert plural(2, "working day") == "2 working days"
    assert plural(0, "member") == "0 members"
    assert plural(1, "chronology entry", "chronology entries") == "1 chronology entry"
    assert plural(3, "chronology entry", "chronology entries") == "3 chronology entries"
