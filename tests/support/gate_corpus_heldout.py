"""A held-out corpus for the anonymisation gate, written apart from the gate and from the
first corpus (tests/support/gate_corpus.py): six other fictional children, written the way
agencies, a CDOP office and someone trying to slip a name past the gate would write them.

Names carry Ł ø å ß æ ğ ş ı ñ, straight and curly apostrophes (O'Connor, N’Diaye),
hyphenated and spaced surnames (Strauß-McAllister, Åkesson Løvland, Muñoz de la Fuente)
and names that are also words (Rose, Brook, Summer, Hope, Will, May, Grace). Dates of
birth and death fall on leap days and bank holidays.

Passages are read as a case report reads them (DOCUMENT_KIND): timing relative to the
death, so a calendar date that is not the child's is a finding too. Each passage is
(child key, text, expected), as in the first corpus: "recorded" (a recorded
identifier must be named), "unrecorded" (must stop or flag), "clean" (must pass without a
flag; every clean passage is read under every child). All people, places, numbers and
addresses are invented: phone numbers come from Ofcom's drama ranges, NHS numbers pass the
Modulus 11 check but were generated at random."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

DOCUMENT_KIND = "case_report"

CHILDREN = {
    # Turkish: ş ğ and the dotless ı; a leap-day birthday; died on the spring bank holiday.
    "ayse": (SimpleNamespace(
        forenames="Ayşe Nur", surname="Yılmaz-Doğan", date_of_birth="2012-02-29",
        date_of_death=dt.date(2026, 5, 25), nhs_number="1860913903", postcode="BS5 0PT",
        address="Flat 7, 112 Stapleton Road, Bristol", notifier_name=None),
        [("mother_name", "Gülşen Doğan"), ("father_name", "Mehmet Yılmaz"),
         ("sibling_name", "Emir Yılmaz-Doğan"), ("school", "Easton Church of England Academy"),
         ("mother_date_of_birth", "1988-06-15")]),
    # Curly apostrophe in the record; a sibling called Brook; a house name.
    "rose": (SimpleNamespace(
        forenames="Rose", surname="N’Diaye", date_of_birth="2021-11-30",
        date_of_death=dt.date(2025, 12, 25), nhs_number="9960308243", postcode="BS31 2JA",
        address="Ivy Lodge, Charlton Road, Keynsham", notifier_name="Dr Okwuosa"),
        [("mother_name", "Awa N’Diaye"), ("father_name", "Moussa N'Diaye"),
         ("sibling_name", "Brook N’Diaye"), ("grandmother_name", "Mariama Sow"),
         ("school", "St Keyna Primary School")]),
    # Norwegian/Swedish: ø å æ; a spaced double surname; a sibling called Summer.
    "bjorn": (SimpleNamespace(
        forenames="Björn Ståle", surname="Åkesson Løvland", date_of_birth="2009-07-04",
        date_of_death=dt.date(2026, 1, 13), nhs_number="6281948211", postcode="BS5 6HH",
        address="4 Greenbank Gardens, Bristol", notifier_name=None),
        [("mother_name", "Kjærsti Løvland"), ("father_name", "Jørgen Åkesson"),
         ("sibling_name", "Summer Åkesson Løvland"), ("school", "Bristol Metropolitan Academy"),
         ("workplace", "Fishponds Dental Surgery")]),
    # Spanish: ñ and Í; a surname of four words with particles.
    "inaki": (SimpleNamespace(
        forenames="Iñaki", surname="Muñoz de la Fuente", date_of_birth="2024-10-10",
        date_of_death=dt.date(2025, 3, 3), nhs_number=None, postcode="BA2 3DQ",
        address="23 Livingstone Road, Bath", notifier_name=None),
        [("mother_name", "Begoña de la Fuente"), ("father_name", "Íñigo Muñoz"),
         ("nursery", "Little Acorns Day Nursery"), ("school", "Oldfield Park Infant School")]),
    # German ß and a Scottish Mc; the forename May; a mother called Hope, a brother Will.
    "may": (SimpleNamespace(
        forenames="May Łucja", surname="Strauß-McAllister", date_of_birth="2017-09-03",
        date_of_death=dt.date(2026, 8, 31), nhs_number="9935181901", postcode="BA2 5AH",
        address="Flat 2, 31 St Luke’s Road, Bath", notifier_name="Dr Ó Súilleabháin"),
        [("mother_name", "Hope McAllister"), ("father_name", "Dieter Strauß"),
         ("sibling_name", "Will Strauß-McAllister"), ("school", "Twerton Infant School"),
         ("workplace", "Combe Down Surgery")]),
    # Irish: O'Connor; a mother called Grace; a father and half-sister called Brook.
    "tadhg": (SimpleNamespace(
        forenames="Tadhg", surname="O'Connor", date_of_birth="2008-12-31",
        date_of_death=dt.date(2025, 5, 5), nhs_number="9378657974", postcode="BA1 4AB",
        address="The Old Forge, Weston Lane, Bath", notifier_name=None),
        [("mother_name", "Grace O'Connor"), ("father_name", "Declan Brook"),
         ("sibling_name", "Summer Brook"), ("grandfather_name", "Pádraig O'Connor"),
         ("school", "Newbridge Primary School"), ("workplace", "Weston Sixth Form College")]),
}

RECORDED = [
    # ayse
    ("ayse", "Ayse was brought to ED by ambulance."), ("ayse", "AYSE attended the clinic."),
    ("ayse", "Nur was tired and off her food."), ("ayse", "Ayşe Nur's teacher raised concerns."),
    ("ayse", "Yilmaz-Dogan family known to services."), ("ayse", "Mr Yilmaz attended the CDRM."),
    ("ayse", "Mrs Dogan was spoken to."), ("ayse", "the Yilmazes declined an interpreter"),
    ("ayse", "Dogan's partner was at work."), ("ayse", "mum (Gulsen) was present"),
    ("ayse", "GÜLŞEN was informed."), ("ayse", "Mehmet works nights."),
    ("ayse", "her brother Emir was at school"), ("ayse", "Emir's nursery place"),
    ("ayse", "She attended Easton CofE."), ("ayse", "Easton C of E Academy reported attendance."),
    ("ayse", "Flat 7 at 112 Stapleton Rd"), ("ayse", "the family lived on Stapleton Road"),
    ("ayse", "post code BS50PT"), ("ayse", "postcode bs5 0pt"),
    ("ayse", "NHS No: 186 091 3903"), ("ayse", "NHS number 186-091-3903"),
    ("ayse", "DOB 29/02/2012"), ("ayse", "born 29.2.12"), ("ayse", "born on 29th Feb 2012"),
    ("ayse", "died 25/05/2026"), ("ayse", "Died Monday 25th May 2026."),
    ("ayse", "date of death: May 25, 2026"), ("ayse", "d.o.d. 25-05-26"),
    ("ayse", "Mother's date of birth 15/06/1988."),
    # rose
    ("rose", "Rose was unwell overnight."), ("rose", "Mrs NDiaye called 111."),
    ("rose", "Mr N'Diaye attended."), ("rose", "the N Diaye family"), ("rose", "Ms Ndiaye"),
    ("rose", "N’Diaye’s GP surgery"), ("rose", "the N'Diayes were told"),
    ("rose", "Awa rang the health visitor."), ("rose", "Moussa was at work."),
    ("rose", "her brother Brook"), ("rose", "Brook's key worker"),
    ("rose", "grandmother Mariama stayed"), ("rose", "Mrs Sow gave a statement."),
    ("rose", "Ivy Lodge"), ("rose", "seen at home, Charlton Rd"), ("rose", "at St Keyna"),
    ("rose", "St. Keyna Primary"), ("rose", "postcode BS31 2JA"),
    ("rose", "NHS 996 030 8243"), ("rose", "born 30/11/2021"), ("rose", "died 25 Dec 2025"),
    ("rose", "died on Christmas Day, 25.12.25"), ("rose", "Dr Okwuosa referred her."),
    # bjorn
    ("bjorn", "Bjorn was seen in clinic."), ("bjorn", "Bjoern attended A&E."),
    ("bjorn", "BJÖRN had a seizure."), ("bjorn", "Stale was his second name."),
    ("bjorn", "Akesson Lovland"), ("bjorn", "the Åkesson-Løvland family"),
    ("bjorn", "Mr Akesson phoned."), ("bjorn", "Ms Loevland attended."),
    ("bjorn", "the Lovlands moved in 2024"), ("bjorn", "Løvland's car"),
    ("bjorn", "Kjaersti said he was well."), ("bjorn", "mother Kjærsti"),
    ("bjorn", "Jorgen took him to school."), ("bjorn", "his sister Summer"),
    ("bjorn", "Summer's school"), ("bjorn", "4 Greenbank Gdns"),
    ("bjorn", "on Greenbank Gardens"), ("bjorn", "at Bristol Metropolitan"),
    ("bjorn", "father works at Fishponds Dental"), ("bjorn", "BS56HH"),
    ("bjorn", "6281948211"), ("bjorn", "born 04/07/2009"), ("bjorn", "born 4 July 09"),
    ("bjorn", "died 13/01/26"), ("bjorn", "died 13th January 2026"), ("bjorn", "2026-01-13"),
    # inaki
    ("inaki", "Inaki was seen by the health visitor."), ("inaki", "IÑAKI was admitted."),
    ("inaki", "Iñaki's mother"), ("inaki", "Mr Munoz"), ("inaki", "the Muñoz family"),
    ("inaki", "Ms de la Fuente"), ("inaki", "Fuente attended"), ("inaki", "MUNOZ DE LA FUENTE"),
    ("inaki", "Begona brought him in."), ("inaki", "Inigo was on shift."),
    ("inaki", "Íñigo rang 999."), ("inaki", "at Little Acorns"), ("inaki", "Oldfield Park Infants"),
    ("inaki", "23 Livingstone Rd"), ("inaki", "on Livingstone Road"), ("inaki", "BA2 3DQ"),
    ("inaki", "born 10/10/2024"), ("inaki", "born 10 Oct 2024"), ("inaki", "died 3/3/25"),
    ("inaki", "died 03 March 2025"), ("inaki", "date of death 20250303"),
    # may
    ("may", "May was reviewed by the registrar."), ("may", "Lucja was her second name."),
    ("may", "Mrs Strauss-McAllister"), ("may", "Mr STRAUSS"), ("may", "the McAllisters"),
    ("may", "Mcallister's statement"), ("may", "Mc Allister"), ("may", "Strauss McAllister"),
    ("may", "mum Hope said she had a cough"), ("may", "Dieter collected her."),
    ("may", "her brother Will"), ("may", "Will's teacher"), ("may", "at Twerton Infants"),
    ("may", "Twerton Infant"), ("may", "works at Combe Down"), ("may", "31 St Lukes Road"),
    ("may", "St. Luke's Rd"), ("may", "ba25ah"), ("may", "NHS: 993 518 1901"),
    ("may", "born 03/09/2017"), ("may", "born 3rd September 2017"), ("may", "died 31/08/2026"),
    ("may", "died on the bank holiday, 31 Aug 26"), ("may", "Dr O Suilleabhain"),
    ("may", "with May and her mother"),
    # tadhg
    ("tadhg", "Tadhg was seen at school."), ("tadhg", "TADHG O'CONNOR"), ("tadhg", "Mrs O’Connor"),
    ("tadhg", "Mr OConnor"), ("tadhg", "Ms O Connor"), ("tadhg", "the O'Connors"),
    ("tadhg", "O'Connor's home"), ("tadhg", "mum Grace was at work"),
    ("tadhg", "father Declan"), ("tadhg", "Mr Brook attended."), ("tadhg", "the Brooks were told"),
    ("tadhg", "Summer Brook"), ("tadhg", "grandad Padraig"), ("tadhg", "Pádraig rang."),
    ("tadhg", "the Old Forge"), ("tadhg", "Weston Lane"), ("tadhg", "Newbridge Primary"),
    ("tadhg", "at Newbridge"), ("tadhg", "mum works at Weston Sixth Form"), ("tadhg", "BA1 4AB"),
    ("tadhg", "937 865 7974"), ("tadhg", "born 31/12/2008"), ("tadhg", "born New Year's Eve 2008, 31.12.08"),
    ("tadhg", "died 5/5/25"), ("tadhg", "died 5th May 2025"), ("tadhg", "May 5th 2025"),
]

UNRECORDED = [
    # names after a title or a relation word, and full names of people nobody recorded
    ("ayse", "Seen by Dr Papadopoulos in ED."), ("ayse", "Mrs Ozturk, a neighbour, called 999."),
    ("ayse", "her grandmother Fatma stayed the night"), ("ayse", "step-dad Liam was at home"),
    ("ayse", "A witness, Daniel Okafor, called the ambulance."),
    ("ayse", "Margaret Ellison (maternal grandmother) gave a statement."),
    ("rose", "her uncle, Ibrahima, drove them"), ("rose", "Auntie Pam looked after her"),
    ("rose", "the babysitter Courtney was present"), ("rose", "Ms Nguyen (health visitor) visited"),
    ("rose", "Miss Kaur from the nursery rang"), ("rose", "mum's partner Jason was at home"),
    ("bjorn", "his friend Oskar was with him"), ("bjorn", "Mr Haugen, the driver, was uninjured"),
    ("bjorn", "Prof. Lindahl reviewed the MRI"), ("bjorn", "the lodger, Piotr Nowak, found him"),
    ("bjorn", "girlfriend Freya was contacted"),
    ("inaki", "nan Sheila came to the hospital"), ("inaki", "his cousin Mateo was staying"),
    ("inaki", "Dr. Fitzgerald-Hughes attended the resuscitation"), ("inaki", "Mr Oyelaran"),
    ("may", "grandfather Ronald was at home"), ("may", "Mrs Abara, the childminder"),
    ("may", "Kelly and Tyler Barnes were neighbours."), ("may", "half-brother Jayden"),
    ("tadhg", "his best friend Callum Reid"), ("tadhg", "Mr Whitlock, the form tutor"),
    ("tadhg", "aunt Siobhan took him in"),
    # phone numbers
    ("ayse", "mum's mobile 07700 900982"), ("rose", "call (0117) 496 0765"),
    ("bjorn", "tel +44 (0)7700 900321"), ("inaki", "ring 0044 7700 900123"),
    ("may", "landline 01225-496-234"), ("tadhg", "mobile 07700900111"),
    ("ayse", "contact 020 7946 0999 after 6pm"),
    # personal email addresses
    ("ayse", "email gulsen.dogan78@btinternet.com"), ("rose", "awa_nd@yahoo.co.uk"),
    ("bjorn", "dad: j.akesson@gmail.com"), ("may", "HOPE.MC@OUTLOOK.COM"),
    ("tadhg", "grace.oc@icloud.com"), ("inaki", "contact via bego@hotmail.es"),
    # postcodes
    ("ayse", "the grandmother lives at GL50 3PR"), ("rose", "moved to b33 8th"),
    ("bjorn", "postcode EC1A1BB"), ("inaki", "CR2 6XH"), ("may", "DN55 1PT"),
    ("tadhg", "staying in BS16 1QY"),
    # a valid NHS number nobody recorded (a parent's)
    ("ayse", "mother's NHS number 5432319489"), ("rose", "father NHS 252 760 1898"),
    ("bjorn", "mum's NHS no. 555-979-7111"), ("may", "NHS 507 529 1708 (mother)"),
    # house number and street
    ("ayse", "the father lives at 23a Gloucester Road"), ("rose", "Flat 4, 9 Sussex Place"),
    ("bjorn", "moved to 112 Church St"), ("inaki", "staying at 14 Hillside Close"),
    ("may", "3 St Michael's Crescent"), ("tadhg", "found at 40 Wellsway"),
    # a full calendar date in a chronology, where the report uses relative timing
    ("ayse", "On 14/03/2026 the GP saw her."), ("rose", "3 March 2025: health visitor visit."),
    ("bjorn", "2025-11-02 ED attendance with chest pain."),
    ("inaki", "Sunday 8th December 2024 - seen by out-of-hours."),
    ("may", "GP appointment 12.6.26"), ("tadhg", "On 1 April 2025 he was excluded."),
]

CLEAN = [
    # agencies and services
    "Avon and Somerset Constabulary attended and secured the scene.",
    "South Western Ambulance Service NHS Foundation Trust conveyed the child.",
    "North Bristol NHS Trust provided the post-mortem report.",
    "Sirona care & health community nursing had an open referral.",
    "Bath and North East Somerset Council children's services were informed.",
    "The Bristol Royal Hospital for Children admitted him to PICU.",
    "Transferred to Great Ormond Street Hospital for ECMO.",
    "Brook sexual health service had seen her once.",
    "Hope House Children's Hospices offered end-of-life care.",
    "The Lullaby Trust leaflet on safe sleep was given.",
    "Barnardo's provided the bereavement support.",
    "Winston's Wish was offered to the siblings.",
    "CAMHS had accepted the referral; a Tier 4 bed was sought.",
    "The MASH received a contact from the school.",
    "Ofsted had rated the nursery good.",
    # family without names, as offices anonymise them
    "Mum reported that he had been coughing for two days.",
    "Dad said the baby was put down to sleep at midnight.",
    "Mother attended with Sibling 1.", "Grandmother (paternal) provided childcare.",
    "Child A was known to the school nurse.", "Professional B completed the reporting form.",
    "The mother and father were spoken to separately.",
    "Brother and sister were at school at the time.",
    "Ward Sister informed the consultant on call.",
    "Seen by the Dr on call; no Mr or Mrs was named on the form.",
    # legal and process language
    "The Coroner opened and adjourned the inquest.", "The Coroner's officer liaised with the family.",
    "Category 8 (perinatal/neonatal event) was agreed.", "Category 10: sudden unexpected, unexplained death.",
    "A Section 47 enquiry was not opened.", "There was a Child in Need plan.",
    "Early Help assessment was declined.", "Working Together 2023 applies.",
    "The Caldicott Guardian approved the information sharing.",
    "Martha's Rule was explained to the family.",
    "The Joint Agency Response was triggered.",
    # months and years on their own, relative timing
    "In January 2025 the referral was closed.", "Between March and June there were no contacts.",
    "Reviewed at the May panel.", "2024/25 saw 61 notifications.", "Q3 2025 figures are provisional.",
    "Day 3 of admission: extubated.", "The ambulance arrived at 03:12.",
    "Two days before the death she was seen by the GP.", "At 36 weeks' gestation a scan was normal.",
    "Summer term attendance was 89%.", "Over the summer holidays the family moved.",
    # names used as words
    "Will there be a post-mortem examination?", "May we have the discharge summary?",
    "There is hope that the new pathway will help.", "The parents stayed overnight in the Grace Suite.",
    "Faith leaders from the local mosque visited the ward.", "The Rose Room was used for the family.",
    "Grace period for agency returns: 20 working days.", "Staff may wish to read the learning.",
    "The baby was nursed on Rainbow Ward.", "Sunny Ward staff were debriefed.",
    "Victoria Ward has four cots.",
    "The formula milk in the fridge was stale.",
    # clinical text with numbers and eponyms
    "BP 90/60, HR 180, SpO2 88% in air.", "APGAR 3/5/7 at 1, 5 and 10 minutes.", "GCS 3/15 on arrival.",
    "Birth weight 680 g at 24+3 weeks.", "Blood glucose 2.1 mmol/L.", "Paracetamol 15 mg/kg given.",
    "Down syndrome with an AVSD repaired at 4 months.", "Edwards' syndrome was diagnosed antenatally.",
    "Hirschsprung's disease; stoma formed.", "Kawasaki disease was considered.",
    "Wilms tumour; treated at the Bristol Haematology and Oncology Centre.",
    "Duchenne muscular dystrophy; non-invasive ventilation at night.",
    "Guthrie test normal.", "Vitamin B12 deficiency in the mother.", "Group B Strep sepsis.",
    "RSV positive on day 2.", "NHS 111 was called twice.", "999 call answered in 4 seconds.",
    "Rates are 29.8 per 100,000 children.", "1 in 5 deaths had modifiable factors.",
    "Collision on the M32 near junction 2.", "Accident on the A4 in the afternoon.",
    "Case CDOP-2026-0042 was discussed.", "ICD-10 code P07.2 recorded.",
]


def passages() -> list[tuple[str, str, str]]:
    out = [(k, t, "recorded") for k, t in RECORDED] + [(k, t, "unrecorded") for k, t in UNRECORDED]
    out += [(k, t, "clean") for t in CLEAN for k in CHILDREN]  # clean under every child
    return out
