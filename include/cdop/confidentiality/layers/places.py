"""Places nobody recorded.

Stop the release:
- a UK postcode (Royal Mail / ONS format, with or without the space);
- a house number and street ("12 Acacia Avenue", "Flat 3, 14 Mill Lane") -- but not a
  number before an organisation whose name holds a street word ("3 West Mercia Road
  Safety Partnership": the capitalised run goes on to an organisation word);
- a street without a house number, after a preposition ("on Fenwick Crescent", "off
  Mill Lane"), and a Welsh street, whose street word comes first ("Maes y Deri", "Heol
  yr Eglwys", "Stryd Fawr");
- a school or nursery ("Ysgol Gymraeg Bro Ogwr", "Little Acorns Nursery", "St Joseph's RC
  Primary", "Cylch Meithrin Pili Pala") with at least one word that is not generic --
  unless it is one of the agencies the office writes to (`agency_names`) or one the
  document may carry (`policy.allowed_places`);
- a foreign postal address (a street word of another language and a number, or a postal
  code and town after a comma: "ul. Kwiatowa 12, 00-123 Warszawa", "Strada Mihai
  Eminescu nr. 5", "Số 12 Đường Lê Lợi") and a multi-line postal address without a
  postcode (three or more short lines, one with a house number and street or town).

Also stops: a street anywhere with a name word that is not an English word ("Trenance
Gardens is a cul-de-sac"), and one with a word a park or hill shares after a preposition
("on Carn Brea Hill").

Flags (the coordinator decides): a shop or business ("Ali's Barbers", "the Golden Dragon
Takeaway", "Ty Coch Farm", "the Tinners Arms pub", "works nights at Pengelly Poultry"), a
school named by context ("attends Trythall", "Penponds school"), a place by what is said
of it ("the village of Pwllgloyw", "born in Kumasi, Ghana", "from Constanța"), and a
village or town the model finds (GPE, LOC, FAC) that is not a nation, region, county or
large city (data/areas.txt) nor an organisation. Never a place: a town made up from a
name (layers/invented.py), a firm of surnames, a brand or agency of the domain terms.
"""

from __future__ import annotations

import csv
import functools
import re
from importlib import resources

from cdop.confidentiality.folding import Finding
from cdop.confidentiality.layers._text import (
    CAP_RUN,
    Spans,
    is_organisation_word,
    key,
    organisation_spans,
)
from cdop.confidentiality.layers.invented import is_given_name, is_surname, made_up_places
from cdop.confidentiality.layers.terms import domain_terms, known_areas
from cdop.confidentiality.words import GENERIC_PLACE_WORDS, ORGANISATION_WORDS

_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(GIR ?0AA|(?:[A-PR-UWYZ](?:[0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?))"
    r"[ \u00a0]?[0-9][ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ORDINAL = re.compile(r"\d(?:st|nd|rd|th)$", re.IGNORECASE)
_ORDINAL_NOUN = re.compile(r"[ \t]+[a-z]")
STREET_WORDS = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Cl|Drive|Dr|Way|Crescent|Cres|Court|Ct|"
                r"Gardens|Gdns|Grove|Place|Pl|Terrace|Walk|Rise|Mews|Hill|Row|Square|Sq|View|Park|"
                r"Green|Parade|Vale|Meadow|Meadows|Fields|Croft|Chase|Wharf|Yard|Boulevard|Gate")
# A street named in one word ending in a street word: "40 Wellsway", "2 Broadway".
_ONE_WORD_STREET = r"[A-Z][a-z]+(?:way|gate|mead|side|croft)"
_NAME_WORD = r"[A-Z\u00c0-\u00de][\w'\u2019\-]+"
_ADDRESS = re.compile(
    r"(?<![\w])(?:(?:Flat|Apartment|Apt|Unit|Room)\s+\d+[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+"
    r"(?:(?:" + _NAME_WORD + r"\s+){1,3}(?:" + STREET_WORDS + r")|" + _ONE_WORD_STREET + r")\b\.?"
)
# Full street words only (no abbreviations: "St" is a saint, "Dr" a doctor) after a
# preposition; the words before it capitalised.
_FULL_STREET_WORDS = (r"Street|Road|Avenue|Lane|Close|Drive|Crescent|Gardens|Grove|Terrace|Mews|Rise|"
                      r"Parade|Boulevard|Row|Square|Walk|Way|Court|Place")
_STREET = re.compile(
    r"(?<![\w])(?:on|off|in|along|near|at|from|to|into|onto|down|up|of|towards|across|by|past)\s+(?:the\s+)?"
    r"((?:" + _NAME_WORD + r"\s+){1,3}(?:" + _FULL_STREET_WORDS + r"))\b")
# Streets with a word that is also a place's ("Carn Brea Hill", "Chapel Row Cottages"),
# after a preposition, and any street with a name word that is not an English word
# wherever it stands ("Trenance Gardens is a cul-de-sac", "the junction of Marlpit Road
# and Polwhele Avenue"): both need a distinctive word, so "at Central Park" or "the
# Family Court" is not a street.
_MORE_STREET_WORDS = (r"Hill|Green|Park|View|Cottages|Villas|Hollow|Mount|Orchard|Paddock|Ridge|Grange|Fold|Wynd|"
                      r"Brow|Bank|Quay|Approach|Heights|Meadows?|Fields|Croft|Chase|Wharf|Yard|Vale|Dene|Glade|Nook")
_STREET_MORE = re.compile(
    r"(?<![\w])(?:on|off|in|along|near|at|from|to|into|onto|down|up|of|towards|across|by|past)\s+"
    r"((?:" + _NAME_WORD + r"\s+){1,3}(?:" + _MORE_STREET_WORDS + r"))\b")
_STREET_ANYWHERE = re.compile(r"(?<![\w'\u2019])((?:" + _NAME_WORD + r"[ \t]+){1,3}(?:" + _FULL_STREET_WORDS + r"))\b")
_WELSH_STREET = re.compile(
    r"(?<![\w])((?:Heol|Stryd|Ffordd|L[o\u00f4]n|Maes|Cwrt|Rhodfa|Clos|Teras|Cilgant|Llys|Ystad|Parc)"
    r"(?:\s+(?:y|yr|'r|\u2019r))?\s+" + _NAME_WORD + r"(?:\s+" + _NAME_WORD + r")?)")
# The space inside a name: one. Two or more spaces, or a tab, is where text drawn from a
# table puts a cell boundary ("Setting   Primary" is a label and its value, not a school).
_GAP = r"(?:[ ](?![ \t])|[ ]?\u00a0)"
_SCHOOL_WORDS = (r"Primary(?:\s+School)?|Infants?(?:\s+School)?|Junior(?:\s+School)?|Secondary(?:\s+School)?|"
                 r"High\s+School|Grammar\s+School|School|Academy|College|(?:Day\s+)?Nursery|Pre-?[Ss]chool|"
                 r"Playgroup|Kindergarten|Sixth\s+Form")
_SCHOOL = re.compile(
    r"((?:" + _NAME_WORD + r"|RC|CE|CofE|C\s+of\s+E|of|the|and|&)(?:" + _GAP + r"(?:" + _NAME_WORD
    + r"|RC|CE|CofE|VA|VC|of|the|and|&)){0,6}" + _GAP + r"(?:" + _SCHOOL_WORDS + r"))\b")  # bounded: no quadratic scan
_WELSH_SCHOOL = re.compile(
    r"((?:Ysgol|Cylch\s+Meithrin|Meithrinfa|Coleg)(?:\s+(?:Gymraeg|Gynradd|Uwchradd|Feithrin|Arbennig|Gyfun|"
    r"Sant|Santes|y|yr|'r))*(?:\s+" + _NAME_WORD + r"){1,3})")
_NOT_DISTINCTIVE = frozenset("""
the of and st saint rc ce cofe c e va vc local special mainstream independent state faith
village community county council primary secondary high infant infants junior school
schools academy college nursery nurseries day pre preschool pre-school playgroup
kindergarten children's childrens children centre family sixth form welsh-medium welsh
english catholic church england a an his her their our your this that any every each new
designated safeguarding lead leads education educational needs pupil referral unit
attendance all other same previous current free grammar further early years
""".split())
_NOT_A_SCHOOL_PART = (ORGANISATION_WORDS - {"school", "academy", "college", "nursery", "church", "house",
                                            "trust", "home", "united", "centre", "center", "children",
                                            "childrens"}) | {"and"}
_BUSINESS_WORDS = (r"Barbers?|Barbershop|Takeaway|Take-away|Kebabs?|Caf[eé]|Chippy|Fish\s+Bar|Chip\s+Shop|"
                   r"Garage|Salon|Stores?|Convenience\s+Store|Supermarket|Newsagents?|Bakery|Butchers?|"
                   r"Pharmacy|Chemists?|Nails|Pizzeria|Pizza|Restaurant|Pub|Inn|Tavern|Arms|Diner|"
                   r"Launderette|Motors|Autos|Car\s+Wash|Hotel|Guest\s+House|B&B|Caravan\s+Park|"
                   r"Holiday\s+Park|Leisure\s+Centre|Cabs|Taxis|Private\s+Hire|Soft\s+Play|Play\s+Centre|Nail\s+Bar|Farm|Stables|Kennels|Gym|Boxing\s+Club|Social\s+Club|"
                   r"Working\s+Men['\u2019]s\s+Club|Mosque|Gurdwara|Temple|Chapel|Church|Mill|Quarry|Marina|Campsite")
_BUSINESS = re.compile(r"((?:" + _NAME_WORD + _GAP + r"){1,3}(?:" + _BUSINESS_WORDS + r"))\b")
# Foreign addresses: a street word of another language with a number, or a postal code
# and a town after a comma.
_FOREIGN_ADDRESS = (
    # Vietnamese: "Số 12 Đường Lê Lợi", "12 Phố Huế", "Ngõ 5".
    re.compile(r"(?<![\w])(?:S\u1ed1\s+)?\d{1,4}[A-Za-z/]*,?\s+(?:[\u0110\u0111]\u01b0\u1eddng|Ph\u1ed1|Ng\u00f5|H\u1ebbm)"
               r"(?:\s+[\w\u00c0-\u1ef9]+){1,4}"),
    re.compile(r"(?<![\w])(?:ul\.|ulica|al\.|aleja|os\.|Strada|Str\.|Calea|Bulevardul|Bd\.|Calle|C/|Avenida|Av\.|"
               r"Rua|Rue|rue|Via|Viale|Corso|Piazza|Platz|Carrer|Rruga|Rr\.|Barrio|Colonia|Mahallesi|Mah\.)\s+"
               r"(?:[\w'\u2019.\-]+\s+){0,4}?(?:nr\.?\s*|no\.?\s*|n\u00ba\s*)?\d{1,4}[A-Za-z]?\b"),
    re.compile(r"(?<![\w])\d{1,4}[A-Za-z]?,?\s+(?:[Rr]ue|avenue|boulevard|chemin|place|calle|via|rua)\s+"
               r"(?:[\w'\u2019\-]+\s+){0,4}[\w'\u2019\-]+"),
    re.compile(r"(?<![\w])[A-Z\u00c0-\u00de][\w\u00df]+(?:stra\u00dfe|strasse|gasse|weg|platz|straat|laan|gatan|vej|veien)"
               r"\s+\d{1,4}[a-z]?\b"),
    re.compile(r",[ \t]*(?:[A-Z]{1,2}-)?(?:\d{2}-\d{3}|\d{4,6})[ \t]+[A-Z\u00c0-\u00de][\w\u00c0-\u024f\-]+"),
    # An address as written where plots, houses and roads are numbered: "Plot 14, Adenta
    # Housing Estate, Accra", "House No. 5, Road 12, Dhanmondi".
    re.compile(r"(?<![\w])(?:Plot|House\s+No\.?|Road\s+No\.?|Gali\s+No\.?)\s*\d{1,4}[A-Z]?,\s+"
               r"(?:(?:Road|Block|Sector|Street)\s+(?:No\.?\s*)?\d{1,4}[A-Z]?,\s+)?[A-Z][\w'\-]+(?:[ \t][A-Z][\w'\-]+)*"
               r"(?:,\s+[A-Z][\w'\-]+(?:[ \t][A-Z][\w'\-]+)*)?"),
    # Turkish: "Atatürk Cad. No: 12", "Gül Sokak No 4".
    re.compile(r"(?<![\w])[A-Z\u00c0-\u017f][\w\u00c0-\u017f]+(?:\s+[A-Z\u00c0-\u017f][\w\u00c0-\u017f]+)?\s+"
               r"(?:Cad\.|Caddesi|Sok\.|Sokak|Sokağı|Bulvarı)\s*(?:No\s*[:.]?\s*)?\d{1,4}[A-Za-z]?\b"),
    # A post office box, at home or abroad.
    re.compile(r"(?<![\w])(?:P\.?\s?O\.?\s+Box|Postfach|Apartado|Caixa\s+Postal|Skrytka\s+pocztowa)\s+\d{1,6}\b",
               re.IGNORECASE),
    # Irish Eircodes (routing key and unique identifier).
    re.compile(r"(?<![A-Za-z0-9])(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ \u00a0]?[0-9AC-FHKNPRTV-Y]{4}(?![A-Za-z0-9])"),
)
# A village or town by the shape of its name, after a preposition: Welsh names by their
# first element (Llan-, Aber-, Caer-, Cwm-, Pont-...), English ones by their last (-ton,
# -ham, -by, -thorpe, -wick, -bury, -borough...). A flag: many are also surnames.
_SETTLEMENT = re.compile(
    r"(?<![\w])(?:in|at|from|near|to|outside|village\s+of|town\s+of|outskirts\s+of)\s+("
    r"(?:Llan|Aber|Caer|Cwm|Pont|Tre[fv]?|Bryn|Nant|Ystrad|Rhyd|Porth|Blaen|Glyn|Castell|Betws|Capel|Mynydd|"
    r"Penrhyn|Pen-y-|Llys)[a-z\u00e0-\u00ff\-]{2,}(?:[ \t\-][A-Z][a-z\u00e0-\u00ff]+)?"
    r"|[A-Z][a-z]+(?:ton|ham|by|thorpe|thwaite|wick|wich|bury|borough|brough|ford|worth|stead|combe|minster|"
    r"chester|cester|mouth|well|bridge|hurst|dale|leigh|ley|field|sea|holme|caster|port|stow|stoke|bourne|"
    r"burn|church|haven|wood|ington|ingham|ton-le|wold|moor|marsh)"
    r"(?:[ \t\-](?:on|upon|under|in|le)[ \t\-](?!(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"January|February|March|April|May|June|July|August|September|October|November|December)\b)[A-Z][a-z]+)?)"
    r"(?![\w'\u2019])")
# A place by what is said of it, whatever the shape of its name: "the village of
# Pwllgloyw", "born in Kumasi", "the family came from Mazar-i-Sharif", "Stowcombe
# village", "Sylhet in Bangladesh", "Kumasi, Ghana". A flag, like every place found by
# its context: a town at home identifies nobody, and the coordinator decides.
_PLACE_NAME = r"[A-Z\u00c0-\u00de][\w\u00c0-\u024f'\u2019]+(?:-[\w\u00c0-\u024f]+)*"
_PLACE_BY_CONTEXT = (
    re.compile(r"(?i:\b(?:village|hamlet|town|city|estate|district|suburb|parish|island|province|region)\s+"
               r"(?:of|called|named|known\s+as)\s+|\b(?:born|grew\s+up|raised|brought\s+up|lived|lives|living|resided|"
               r"originally|originates?|originated|come|came|comes|moved|relocated|returned|travelled|traveled|"
               r"emigrated|fled|holidayed|holidaying|staying|stayed|visiting|visited|settled|deported|"
               r"family|families|relatives|grandparents|home|holiday|trip|flight|journey|community|"
               r"people)\s+(?:(?:here|back|there|away|abroad|together|over|up)\s+)?(?:in|from|to|near|at|into|outside)\s+)"
               r"(?:the\s+)?(?:(?i:village|town|city)\s+of\s+)?(" + _PLACE_NAME + r"(?:[ \t]" + _PLACE_NAME + r")?)"),
    re.compile(r"(?<![\w'\u2019])(" + _PLACE_NAME + r"(?:[ \t]" + _PLACE_NAME + r")?)[ \t]+(?:village|estate|hamlet)\b"),
)
# A name written in another language's letters after "in", "from", "near", "outside"
# ("in Constanța", "from Gdańsk"): a place abroad, unless it is a listed name.
_FOREIGN_PLACE = re.compile(r"(?<![\w])(?:in|from|near|outside)\s+([A-Z\u00c0-\u024f][\w\u00c0-\u024f\-]*"
                            r"[\u00c0-\u024f][\w\u00c0-\u024f\-]*)(?![\w'\u2019])")
_NAMED_AS_A_PLACE = re.compile(r"(?i:\b(?:village|hamlet|town|city|estate|district|suburb|parish|island)\s+"
                               r"(?:of|called|named|known\s+as)\s+$)")
_IN_A_COUNTRY = re.compile(r"(?<![\w'\u2019])(" + _PLACE_NAME + r"(?:[ \t]" + _PLACE_NAME + r")?)(?:,[ \t]*|[ \t]+in[ \t]+)"
                           r"(?:the[ \t]+)?([A-Z][\w]+(?:[ \t][A-Z][\w]+)?)")


# A workplace or a school by what is said of it: "works nights at Pengelly Poultry",
# "employed by Kernick Haulage", "attends Trythall", "a pupil at Ridgeway Park".
_CAP_RUN_NAME = r"(" + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + r"){0,3})"
# A school, a shop or a pub whose kind is written in lower case: "Penponds school",
# "the Treslothan nursery", "Kaz's shop", "the Tinners Arms pub".
_LOWER_KIND = re.compile(r"(?<![\w'\u2019])((?:" + _NAME_WORD + r"[ \t]+){0,2}" + _NAME_WORD + r")[ \t]+"
                         r"(?:(school|nursery|primary|academy|pre-school|preschool|playgroup)|(shop|store|pub|caf[eé]|"
                         r"takeaway|garage|salon|barbers|bakery|chippy|restaurant|hotel|gym|farm|factory|warehouse|"
                         r"newsagents?|off[ \-]licence))\b")
_WORKS_AT = re.compile(r"(?i:\b(?:works?|worked|working|employed|employment|job|shifts?)\s+(?:[a-z]+\s+){0,2}?"
                       r"(?:at|for|by|in)\s+(?:the\s+)?)" + _CAP_RUN_NAME)
_ATTENDS = re.compile(r"(?i:\b(?:attends|attended|attending|pupil\s+at|student\s+at|enrolled\s+at|place\s+at|"
                      r"excluded\s+from|on\s+roll\s+at|started\s+at)\s+(?:the\s+)?)" + _CAP_RUN_NAME)


_CALENDAR = frozenset("""monday tuesday wednesday thursday friday saturday sunday january february march april
may june july august september october november december""".split())


def _distinctive(words: list[str]) -> bool:
    """Whether a name holds a word that is not an English word, an organisation's or an
    area's ("Marlpit", "Pengelly"; not "Central", "Family", "Church")."""
    from cdop.confidentiality.words import COMMON_WORDS, is_english_word

    def ordinary(w: str) -> bool:
        stem = w.removesuffix("'s").removesuffix("\u2019s")
        return any(x in COMMON_WORDS or is_english_word(x) for x in (w, stem, stem.removesuffix("s")))

    return any(not ordinary(w) and not is_organisation_word(w) and w not in known_areas() and w not in _CALENDAR
               and w not in _LEADING_NOT_A_NAME and not w.isdigit() for w in words)


def _place_by_context(text: str) -> list[tuple[int, int]]:
    from cdop.confidentiality.words import COMMON_WORDS, is_english_word

    areas = known_areas()

    def plausible(s: int, e: int) -> bool:
        words = _folded_words(text[s:e])
        if not words or " ".join(words) in areas or " ".join(words) in domain_terms() \
                or text[s:e].endswith(("'s", "\u2019s")) or _continues_to_organisation(text, e):
            return False
        if _NAMED_AS_A_PLACE.search(text, max(0, s - 40), s):
            return _distinctive(words)  # "the village of Port Isaac": one word of its own is enough
        return not any(w in COMMON_WORDS or is_english_word(w) or is_organisation_word(w) or w in areas
                       for w in words)

    spans = []
    for pattern in _PLACE_BY_CONTEXT:
        for m in pattern.finditer(text):
            if plausible(*m.span(1)):
                spans.append(m.span(1))
    for m in _FOREIGN_PLACE.finditer(text):
        if plausible(*m.span(1)) and not is_given_name(m.group(1)) and not is_surname(m.group(1)):
            spans.append(m.span(1))
    for m in _IN_A_COUNTRY.finditer(text):
        country = " ".join(_folded_words(m.group(2)))
        if country in areas and plausible(*m.span(1)):
            spans.append(m.span(1))
    return spans


# A possessive before a capitalised word: a named thing ("Winston's Wish"), not a place.
_NAMED_THING = re.compile(r"['\u2019]s[ \t]+[A-Z]")
_LINE = re.compile(r"[^\n]+")
# A line of a postal address that says it is one: a house number and a name ("14 Gwel
# Teg", "Flat 2, 3 Mill Lane"), or a name ending in a street word ("Fenwick Crescent").
_STREETISH = re.compile(r"^\s*(?:(?:Flat|Apartment|Unit)\s+\d+[A-Za-z]?,?\s*)?\d{1,4}[A-Za-z]?,?\s+" + _NAME_WORD
                        + r"|" + _NAME_WORD + r"\s+(?:" + STREET_WORDS + r")\s*,?\s*$")
# A line that starts with a calendar date ("01 August 2025", a table's row of an annual
# report) has a number and a capitalised word, but no street: a date is the dates layer's.
_DATE_LINE = re.compile(r"^\s*\d{1,2}(?:st|nd|rd|th)?\s+(?:January|February|March|April|May|June|July|August|"
                        r"September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
                        r"\.?,?\s+\d{4}(?!\w)")


@functools.cache
def agency_names() -> frozenset[str]:
    """The folded names of the agencies in the taxonomy's directory (demo_agencies.csv):
    places the office writes to, not a family's."""
    text = resources.files("cdop").joinpath("data/demo_agencies.csv").read_text("utf-8")
    return frozenset(" ".join(key(w) for w in row["name"].split()) for row in csv.DictReader(text.splitlines()))


def _folded_words(span: str) -> list[str]:
    return [key(w) for w in re.findall(r"[\w'\u2019\-&]+", span)]


def _allowed_place(span: str, policy) -> bool:
    folded = " ".join(_folded_words(span))
    allowed = {" ".join(_folded_words(p)) for p in getattr(policy, "allowed_places", ())}
    return folded in agency_names() or folded in allowed or any(folded in a for a in agency_names())


def _continues_to_organisation(text: str, end: int) -> bool:
    """Whether the capitalised run goes on past `end` to an organisation word ("... Road
    Safety Partnership", "... Road Surgery")."""
    m = CAP_RUN.match(text, end + 1) if end < len(text) and text[end] in " \t" else None
    if not m:
        return False
    return any(is_organisation_word(w) and key(w) not in {"road", "street", "lane", "avenue", "way"}
               for w in m.group(0).split())


def _postcodes(text: str) -> list[Finding]:
    found = []
    for m in _POSTCODE.finditer(text):
        inward = m.group(1)[-3:]
        if _ORDINAL.search(m.group(1)[:-1].rstrip()):
            continue
        if _ORDINAL.search(inward[:3]) and _ORDINAL_NOUN.match(text, m.end()):
            continue  # "Ward B3 4th floor": an ordinal before its noun; "B33 8TH" alone is a postcode
        found.append(Finding("unrecorded.postcode", "postcode", m.start(), m.end(), "stop",
                             confidence=0.95, layer="places"))
    return found


# A place's name never starts with a connector, a preposition, an article or a possessive:
# a capitalised one starts a sentence ("At St Anne's Primary", "To Ali's Barbers").
_LEADING_NOT_A_NAME = frozenset("""
the of and & a an at in on to from into onto by for with near outside inside behind opposite
her his their our my your its this that these those
""".split())


def _trim_leading(text: str, s: int, e: int) -> tuple[int, list[str]]:
    """The span's start moved past its leading connectors, and the words that remain."""
    words = _folded_words(text[s:e])
    while words and words[0] in _LEADING_NOT_A_NAME:
        s = text.index(" ", s) + 1 if " " in text[s:e] else e
        while s < e and text[s] in " \t":
            s += 1
        words = words[1:]
    return s, words


def _schools(text: str, policy, orgs_taken: Spans) -> list[tuple[int, int]]:
    spans = []
    for pattern in (_SCHOOL, _WELSH_SCHOOL):
        for m in pattern.finditer(text):
            s, e = m.span(1)
            # Start after the last organisation word before the school word ("Mill Lane
            # Surgery and the Oak Primary": the school is "Oak Primary").
            for w in list(re.finditer(r"[\w'\u2019\-&]+", m.group(1)))[:-1]:
                if key(w.group(0)) in _NOT_A_SCHOOL_PART:
                    s = m.start(1) + w.end() + 1
            s, words = _trim_leading(text, s, e)
            if not any(w not in _NOT_DISTINCTIVE and w not in GENERIC_PLACE_WORDS for w in words) \
                    and pattern is _SCHOOL:
                continue
            if _allowed_place(text[s:e], policy) or orgs_taken.overlaps(s, e):
                continue
            if re.match(r"[ \t]+(?:Trust|Federation|Partnership|Collaborative|Alliance)\b", text[e:]):
                continue  # "Grace Academy Trust": the trust that runs schools, not a school
            spans.append((s, e))
    return spans


def _address_line(line: str) -> bool:
    line = line.strip()
    return 0 < len(line) <= 40 and (line[0].isupper() or line[0].isdigit()) and not line.endswith((".", ":", "?", "!"))


def _multi_line_addresses(text: str) -> list[tuple[int, int]]:
    """Blocks of three or more consecutive short lines (no sentence punctuation at their
    end), one of them a house number and a name or a name ending in a street word."""
    if text.count("\n") < 2:
        return []
    spans = []
    block: list[re.Match] = []
    for m in [*_LINE.finditer(text), None]:
        if m is not None and _address_line(m.group(0)) and (not block or m.start() - block[-1].end() == 1):
            block.append(m)
            continue
        if len(block) >= 3 and any(_STREETISH.search(b.group(0)) and not _DATE_LINE.match(b.group(0))
                                   for b in block):
            spans.append((block[0].start(), block[-1].end()))
        block = [m] if m is not None and _address_line(m.group(0)) else []
    return spans


def place_findings(text: str, policy, *, model_entities=None) -> list[Finding]:
    """Places nobody recorded in `text`; `model_entities` (the model's (start, end,
    label)) adds the villages and towns it finds."""
    found = _postcodes(text)
    taken = Spans((f.start, f.end) for f in found)

    def add(s, e, kind, severity, confidence):
        if taken.overlaps(s, e):
            return
        taken.add(s, e)
        found.append(Finding(f"unrecorded.{kind}", kind, s, e, severity, confidence=confidence, layer="places"))

    for m in _ADDRESS.finditer(text):
        if _continues_to_organisation(text, m.end()):
            continue  # "3 West Mercia Road Safety Partnership"
        add(m.start(), m.end(), "address", "stop", 0.9)
    for pattern in _FOREIGN_ADDRESS:
        for m in pattern.finditer(text):
            s = m.start() + len(m.group(0)) - len(m.group(0).lstrip(", \t"))
            add(s, m.end(), "address", "stop", 0.8)
    for s, e in _multi_line_addresses(text):
        add(s, e, "address", "stop", 0.7)
    orgs = Spans(organisation_spans(text))
    for s, e in _schools(text, policy, Spans()):
        add(s, e, "school", "stop", 0.8)
    for m in _STREET.finditer(text):
        s, e = m.span(1)
        if _continues_to_organisation(text, e) or _allowed_place(m.group(1), policy):
            continue
        if key(m.group(1).split()[0]) in ("the", "a"):
            continue
        if re.search(r"(?i:\bthe\s+)$", text[m.start():s]) and not _distinctive(_folded_words(m.group(1))[:-1]):
            continue  # "at the Crown Court", "in the High Street": a thing, or any town's
        add(s, e, "street", "stop", 0.8)
    for pattern in (_STREET_MORE, _STREET_ANYWHERE):
        for m in pattern.finditer(text):
            s, e = m.span(1)
            s, words = _trim_leading(text, s, e)
            if not words or _continues_to_organisation(text, e) or _allowed_place(text[s:e], policy) \
                    or not _distinctive(words[:-1]) or " ".join(words) in domain_terms():
                continue  # ("Great Ormond Street": a hospital)
            add(s, e, "street", "stop", 0.7)
    for m in _WELSH_STREET.finditer(text):
        add(m.start(1), m.end(1), "street", "stop", 0.75)
    for m in _LOWER_KIND.finditer(text):
        s, e = m.span(1)
        s, words = _trim_leading(text, s, e)
        if not words or not _distinctive([w.removesuffix("'s").removesuffix("\u2019s") for w in words]) \
                or _allowed_place(text[s:e], policy) or " ".join(words) in domain_terms() or orgs.overlaps(s, e):
            continue
        add(s, m.end(), "school" if m.group(2) else "business", "flag", 0.55)
    firm_spans = None
    for kind, pattern in (("business", _WORKS_AT), ("school", _ATTENDS)):
        for m in pattern.finditer(text):
            s, e = m.span(1)
            s, words = _trim_leading(text, s, e)
            if not words or _continues_to_organisation(text, e) or _allowed_place(text[s:e], policy) \
                    or not _distinctive(words) or orgs.overlaps(s, e) or " ".join(words) in known_areas() \
                    or " ".join(words) in domain_terms() or text[s:e].endswith(("'s", "\u2019s")):
                continue
            if firm_spans is None:
                from cdop.confidentiality.layers.people import firms

                firm_spans = Spans(firms(text))
            if firm_spans.overlaps(s, e):
                continue  # a firm named by surnames is an employer anyone may have
            add(s, e, kind, "flag", 0.5)
    for m in _BUSINESS.finditer(text):
        s, e = m.span(1)
        s, words = _trim_leading(text, s, e)
        if len(words) < 2 or _allowed_place(text[s:e], policy):
            continue
        add(s, e, "business", "flag", 0.6)
    areas = known_areas()
    invented = None
    for s, e in _place_by_context(text):
        if _allowed_place(text[s:e], policy) or orgs.overlaps(s, e):
            continue
        if invented is None:
            from cdop.confidentiality.layers.people import firms

            invented = Spans([*made_up_places(text), *firms(text)])
        if not invented.overlaps(s, e) or _NAMED_AS_A_PLACE.search(text, max(0, s - 40), s):
            add(s, e, "place", "flag", 0.5)  # ("the village of Port Isaac" is one, whatever its shape)
    for m in _SETTLEMENT.finditer(text):
        s, e = m.span(1)
        folded = " ".join(_folded_words(m.group(1)))
        if folded in areas or folded in domain_terms() or _continues_to_organisation(text, e) \
                or orgs.overlaps(s, e) or _NAMED_THING.match(text, e):
            continue
        if invented is None:
            from cdop.confidentiality.layers.people import firms

            invented = Spans([*made_up_places(text), *firms(text)])
        if invented.overlaps(s, e):
            continue
        add(s, e, "place", "flag", 0.5)
    for s, e, label in model_entities or ():
        if label not in ("GPE", "LOC", "FAC"):
            continue
        span = text[s:e]
        folded = " ".join(_folded_words(span)).removeprefix("the ")
        if folded in areas or folded in domain_terms() or not span[:1].isupper() or orgs.overlaps(s, e) or len(folded) < 3:
            continue
        if text[e:e + 2] in ("'s", "\u2019s") and key(span + "'s") in domain_terms():
            continue  # "Barnardo's"
        nxt = re.match(r"[ \t]+([\w'\u2019\-]+)", text[e:])
        if nxt and " ".join(_folded_words(span + " " + nxt.group(1))) in domain_terms():
            continue  # "Tommee" of "Tommee Tippee"
        if any(is_organisation_word(w) for w in span.split()) or _NAMED_THING.match(text, e):
            continue
        if invented is None:
            from cdop.confidentiality.layers.people import firms

            invented = Spans([*made_up_places(text), *firms(text)])
        if invented.overlaps(s, e):
            continue
        add(s, e, "place", "flag", 0.4)
    return found
