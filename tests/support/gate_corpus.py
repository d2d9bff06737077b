"""A corpus for measuring the anonymisation gate: five fictional children with hard names
(diacritics, apostrophes, hyphens, names that are words), passages holding their recorded
identifiers in the forms agencies write them, passages holding identifiers nobody
recorded, and clean domain text of the kind the reporting forms contain.

Each passage is (child key, text, expected): "recorded" (a recorded identifier must stop
it), "unrecorded" (must stop it or flag it), "clean" (must pass without a flag)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

CHILDREN = {
    "lukasz": (SimpleNamespace(
        forenames="Łukasz Piotr", surname="Wiśniewski-Ó Briain", date_of_birth="2016-04-17",
        date_of_death=dt.date(2026, 2, 1), nhs_number="9434765919", postcode="BA2 3QT",
        address="Flat 3, 14 Mill Lane, Bath", notifier_name="Dr Halloran"),
        [("mother_name", "Agnieszka Wiśniewska"), ("father_name", "Ciarán Ó Briain"),
         ("sibling_name", "Zofia Wiśniewski-Ó Briain"), ("school", "Widcombe Church of England Junior School")]),
    "soren": (SimpleNamespace(
        forenames="Søren", surname="Weiß", date_of_birth="2012-12-25",
        date_of_death=dt.date(2025, 8, 25), nhs_number="4010232137", postcode="SW1A 1AA",
        address="Rose Cottage, Kingsdown Road, Box", notifier_name=None),
        [("mother_name", "Æsa Weiß"), ("grandmother_name", "Ingrid Lindqvist"),
         ("school", "Hayesfield Girls' School"), ("workplace", "Larkhall Medical Centre")]),
    "zoe": (SimpleNamespace(
        forenames="Zoë Siân", surname="O'Neill", date_of_birth="2019-05-06",
        date_of_death=dt.date(2026, 1, 1), nhs_number=None, postcode="BS8 1TH",
        address="27 Acacia Avenue, Bristol", notifier_name=None),
        [("mother_name", "Siobhán O’Neill"), ("sibling_name", "Niamh O'Neill"),
         ("school", "St Peter's C of E Primary School")]),
    "will": (SimpleNamespace(
        forenames="Will", surname="Hope", date_of_birth="2010-03-29",
        date_of_death=dt.date(2026, 4, 6), nhs_number=None, postcode=None,
        address="9 Quennell Close, Frome", notifier_name=None),
        [("father_name", "Mark Hope"), ("sibling_name", "Grace May Hope"),
         ("school", "Oakfield Academy")]),
    "grace": (SimpleNamespace(
        forenames="Grace May", surname="Quennell", date_of_birth="2023-06-01",
        date_of_death=dt.date(2023, 6, 5), nhs_number=None, postcode="BA1 1LT",
        address="Willow House, Lansdown Lane, Bath", notifier_name=None),
        [("mother_name", "Faith Quennell"), ("aunt_name", "Mary-Kate Smythe-Barrington"),
         ("school", "The Oak Nursery")]),
}

RECORDED = [
    ("lukasz", "Lukasz was seen in clinic."), ("lukasz", "LUKASZ attended with mum."),
    ("lukasz", "the Wisniewskis were at home"), ("lukasz", "Mr O Briain phoned the ward."),
    ("lukasz", "Ciaran called the GP."), ("lukasz", "mum Agnieszka was present"),
    ("lukasz", "Zofia, his sister, was at school."), ("lukasz", "He attended Widcombe Junior."),
    ("lukasz", "He attended Widcombe."), ("lukasz", "visited 14 Mill Lane"),
    ("lukasz", "seen at home on Mill Lane"), ("lukasz", "postcode ba2 3qt"),
    ("lukasz", "NHS 943 476 5919"), ("lukasz", "born 17/04/2016"), ("lukasz", "died 1/2/26"),
    ("lukasz", "died on 01.02.26"), ("lukasz", "died 1st February 2026"), ("lukasz", "Feb 1 2026"),
    ("lukasz", "2026-02-01 was the day"), ("lukasz", "Dr Halloran saw him"),
    ("lukasz", "Wiśniewska attended"), ("lukasz", "the OBriain family"),
    ("lukasz", "Wisniewski-O Briain"), ("lukasz", "Piotr was unwell"),
    ("soren", "Soren was unwell"), ("soren", "Søren's mother"), ("soren", "Mrs Weiss"),
    ("soren", "the Weisses moved"), ("soren", "Aesa attended"), ("soren", "grandmother Ingrid"),
    ("soren", "Lindqvist family"), ("soren", "at Hayesfield Girls"), ("soren", "at Hayesfield"),
    ("soren", "works at Larkhall"), ("soren", "Rose Cottage"), ("soren", "on Kingsdown Road"),
    ("soren", "SW1A1AA"), ("soren", "died 25 Aug 2025"), ("soren", "born 25/12/12"),
    ("soren", "4010232137"), ("soren", "401-023-2137"),
    ("zoe", "Zoe was seen"), ("zoe", "Zoë's nursery"), ("zoe", "Sian attended"),
    ("zoe", "Mrs O’Neill"), ("zoe", "Mrs ONeill"), ("zoe", "Ms O Neill"), ("zoe", "the O'Neills"),
    ("zoe", "Siobhan rang"), ("zoe", "Niamh was present"), ("zoe", "St Peter's Primary"),
    ("zoe", "at St Peters"), ("zoe", "27 Acacia Avenue"), ("zoe", "Acacia Avenue"),
    ("zoe", "BS8 1TH"), ("zoe", "born 6th May 2019"), ("zoe", "died 01/01/2026"),
    ("zoe", "May 6 2019"), ("zoe", "O’Neill's home"),
    ("will", "Will Hope was seen"), ("will", "the Hopes were told"), ("will", "Mr Hope attended"),
    ("will", "Will's father"), ("will", "seen with Mark"), ("will", "his sister Grace"),
    ("will", "Grace May attended"), ("will", "at Oakfield"), ("will", "9 Quennell Close"),
    ("will", "died 6/4/26"), ("will", "born 29 March 2010"), ("will", "Hope's school"),
    ("grace", "Grace May Quennell"), ("grace", "the Quennells"), ("grace", "Quennell's mother"),
    ("grace", "Quennells' home"), ("grace", "May's mother was present"), ("grace", "Faith rang"),
    ("grace", "aunt Mary-Kate"), ("grace", "Mrs Smythe-Barrington"), ("grace", "Barrington attended"),
    ("grace", "Willow House"), ("grace", "Lansdown Lane"), ("grace", "BA1 1LT"),
    ("grace", "born 01/06/2023"), ("grace", "died 5 June 2023"), ("grace", "The Oak Nursery"),
    ("grace", "later Grace was seen"),
]

UNRECORDED = [
    ("lukasz", "Seen by Dr Kowalczyk."), ("lukasz", "Mrs Abernethy visited."),
    ("lukasz", "His grandfather Tadeusz stayed."), ("lukasz", "mother's friend, Jolanta, helped"),
    ("lukasz", "call 07700 900123"), ("lukasz", "mobile +44 7700 900456"),
    ("lukasz", "landline 0117 496 0123"), ("lukasz", "email agnes.k@gmail.com"),
    ("lukasz", "moved to 42 Station Road"), ("lukasz", "Flat 2, 8 Brunswick Street"),
    ("lukasz", "postcode BS1 4DJ"), ("lukasz", "lives at bs14dj"), ("lukasz", "NHS no 401 023 2137"),
    ("soren", "Neighbour Derek called 999."), ("soren", "uncle Bartholomew"),
    ("soren", "Ms Featherstonehaugh, the witness"), ("soren", "friend Olivia"),
    ("soren", "Mr Pemberton drove"), ("soren", "tel 01225 496 012"), ("soren", "W1A 0AX"),
    ("soren", "john.smith1@hotmail.co.uk"), ("soren", "3 Victoria Terrace"),
    ("soren", "Prof Adeyemi reviewed"), ("soren", "Dr. Nakamura noted"),
    ("zoe", "cousin Aoife was there"), ("zoe", "stepfather Gareth"), ("zoe", "Mx Okonkwo"),
    ("zoe", "Miss Trelawney"), ("zoe", "boyfriend Kyle"), ("zoe", "07911 123456"),
    ("zoe", "M1 1AE"), ("zoe", "mum@yahoo.com"), ("zoe", "15 Kings Avenue"),
    ("zoe", "Sarah attended with the baby."), ("zoe", "Rebecca was at home."),
    ("will", "grandmother Beryl"), ("will", "brother Callum"), ("will", "Dr Obi"),
    ("will", "Mrs Fairweather"), ("will", "020 7946 0321"), ("will", "EH1 1YZ"),
    ("will", "nanny.c@outlook.com"), ("will", "Flat 1, 22 Mill Road"), ("will", "partner Jordan"),
    ("grace", "girlfriend Chloe"), ("grace", "Mr Ashworth"), ("grace", "nan Doreen"),
    ("grace", "CF10 1EP"), ("grace", "+447700900789"), ("grace", "x.y@proton.me"),
    ("grace", "101 Harbour Parade"), ("grace", "Thomas was present"),
]

CLEAN = [
    "Seen by the GP at GP practice A; no concerns.", "Ambulance crew attended; CPR in progress.",
    "Taken to the Royal United Hospital emergency department.",
    "Avon and Somerset Police attended as per protocol.", "Mum and Dad were present throughout.",
    "The Coroner opened an inquest.", "Category 8: perinatal/neonatal event.",
    "Reviewed in March 2026.", "Deaths in 2025 were fewer than in 2024.",
    "Will there be a follow-up appointment?", "There is hope that the learning will be shared.",
    "Staff may wish to review the guidance.", "The family were offered the Grace Suite.",
    "Faith leaders were contacted by the chaplaincy team.", "Admitted to Sunny Ward overnight.",
    "Health visitor contact at 6 weeks; weight on the 50th centile.",
    "Safe sleep advice given at discharge.", "Child aged 5-9 years; expected death.",
    "Modifiable factors: yes (service provision).", "Recommendation: the ICB to audit referrals.",
    "Learning: earlier escalation to the paediatric registrar.", "School nurse reviewed the care plan.",
    "Children's social care had no open case.", "No safeguarding concerns were raised.",
    "Three days before the death the child was seen by the GP.",
    "Two weeks after birth, jaundice was noted.", "May 2026 panel meeting.",
    "The CDRM was held after the post-mortem report.", "Neonatal unit: ventilated for 48 hours.",
    "Consultant paediatrician reviewed the chest X-ray.", "Out-of-hours service advised 111.",
    "The ambulance arrived 9 minutes after the call.", "Mental health services closed the referral.",
    "The panel agreed the category of death.", "Bereavement support offered by the key worker.",
    "Smoking in the household was noted as a factor.", "Co-sleeping on a sofa.",
    "The hospital's sepsis pathway was followed.", "Grace period for returns is 20 working days.",
    "Education: attendance 94%.", "Police: no criminal investigation.",
    "NCMD notified within 48 hours.", "The LeDeR review concluded.",
    "A Child Safeguarding Practice Review was not required.", "The GP surgery had one contact.",
    "Maternity notes show booking at 10 weeks.", "Summary: an unexpected death in infancy.",
    "The child had asthma; inhaler technique was reviewed.", "Road traffic collision; driver known.",
    "Drowning at a public swimming pool; lifeguards present.",
    "Hospice care in the final weeks.", "St John Ambulance volunteers were first on scene.",
    "The Rose Suite was used for the family.", "Learning will be shared with GP practices.",
    "April and May saw most notifications.", "Chronology: seen twice by the health visitor.",
    "Recommendations from 2024/25 are complete.", "The family were supported by the Coroner's officer.",
    "Ward 12 staff were debriefed.", "A&E triage category 2.",
]


def passages() -> list[tuple[str, str, str]]:
    out = [(k, t, "recorded") for k, t in RECORDED] + [(k, t, "unrecorded") for k, t in UNRECORDED]
    out += [(k, t, "clean") for t in CLEAN for k in CHILDREN]  # clean under every child
    return out
