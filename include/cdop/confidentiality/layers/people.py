"""People nobody recorded: always a flag (the coordinator decides), with a confidence
that says how much evidence there is.

Evidence, strongest first:
- a cue (0.85): a title ("Mr", "Dr", "PC"...), a relation word ("brother", "aunt",
  "Mum's partner", "friend", "neighbour"...) or a naming phrase ("known as", "called",
  "nicknamed") before a capitalised word -- or before a lower-case one that is a given
  name and not an English word ("her brother jayden");
- the model and the lists (0.8): a PERSON the named-entity model finds (cdop.
  confidentiality.layers.model) holding a given name or surname from the lists
  (cdop.confidentiality.layers.name_lists, and words.given_names);
- two list names together (0.7): a given name then a surname, neither an ordinary word
  ("Ionuț Popescu");
- the model alone (0.6): a PERSON of capitalised words that are not ordinary words;
- the given-name lists alone (0.5): a name of words.given_names, or among the 500
  commonest given names of some country in names-dataset, that is not an ordinary word;
- the words around a name: a job before it ("health visitor Gwenllian", 0.85), a job or
  a relation after it ("Anwen Trebilcock, the school nurse", "Summer, the eldest", 0.8),
  a verb of people around a full name ("spoke to Eirian Pengelly", "Tamsin Keverne
  said", 0.6), a lower-case name before a verb of speech ("jayden said", 0.6);
- a lower-case given name no dictionary knows ("took tia to the park", 0.4).

Never a person: a word inside an organisation's name ("Royal United Hospital", "the
Grace Suite"), a clinical eponym, drug, product, service or festival
(data/domain_terms.txt), a nation, county or city (data/areas.txt), a name inside a
named thing ("Winston's Wish"), a name that is also a word (WORD_NAMES: "Hope", "Will")
on a list alone, a sentence-initial ordinary word ("You", "Line"), a town made up from a
name ("East Ruth", "Emmett Ville": layers/invented.py), a firm of surnames ("Patterson,
Campbell and Cross", "Taylor-Powell" alone), a name before its theory ("Maslow's
hierarchy").
"""

from __future__ import annotations

import functools
import re

from cdop.confidentiality.folding import Finding, _fold
from cdop.confidentiality.layers._text import (
    FIRM_OF_SURNAMES,
    Spans,
    key,
    organisation_spans,
    sentence_start,
)
from cdop.confidentiality.layers.circumstance import NAMED_DAY
from cdop.confidentiality.layers.terms import area_pattern, domain_terms, known_areas
from cdop.confidentiality.words import (
    COMMON_WORDS,
    EPONYMS,
    ORGANISATION_WORDS,
    WORD_NAMES,
    given_names,
    is_english_word,
    is_known_word,
)

_TITLES = r"Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof|Professor|Sir|Dame|Rev|Revd|Reverend|Nurse|Sister|PC|DC|DS|Sgt|DI|DCI|PCSO"
_RELATIONS = (r"mother|father|mum|mummy|dad|daddy|aunt|auntie|aunty|uncle|grandmother|grandfather|"
              r"grandma|grandpa|granny|gran|grandad|granddad|nan|nana|nanna|grandparent|"
              r"friend|best friend|brother|sister|half-brother|half-sister|stepbrother|stepsister|"
              r"partner|boyfriend|girlfriend|husband|wife|stepfather|stepmother|step-father|"
              r"step-mother|stepdad|stepmum|cousin|neighbour|neighbor|carer|foster carer|son|"
              r"daughter|niece|nephew|godmother|godfather|babysitter|childminder|sibling|twin|"
              r"witness|lodger|flatmate|ex-partner|relative|called|named|(?:also )?known(?: locally| to \w+)? as|aka|"
              r"a\.k\.a\.|nicknamed|goes by|calls (?:him|her|them)self|brother-in-law|sister-in-law|"
              r"(?:maiden |sur|first |given |middle |last |full |real |birth |married )?name (?:is|was)")
# Jobs a return names someone by: "health visitor Gwenllian", "the interpreter Thi Hoa
# Nguyen", and after the name, "Priya Raghunathan, the social worker".
_JOBS = (r"health\s+visitor|social\s+worker|(?:family\s+)?support\s+worker|key\s?worker|case\s?worker|"
         r"youth\s+worker|midwife|school\s+nurse|nurse|teacher|class\s+teacher|head\s?teacher|teaching\s+assistant|"
         r"interpreter|translator|paramedic|consultant|registrar|paediatrician|(?<![A-Z])GP|detective|"
         r"childminder|nanny|landlord|landlady|pastor|imam|priest|vicar|rabbi|chaplain|elder|coach|tutor|mentor|"
         r"advocate|practitioner|therapist|psychologist|psychiatrist|pharmacist|dentist|solicitor|"
         r"housing\s+officer|police\s+officer|officer|manager|coordinator|co-ordinator|lead")
# Upper case in Latin-1 and (checked with str.isupper where it matters) Latin Extended,
# so "Łukasz", "Ștefan" and "Đức" start a name.
_UPPER = r"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f\u1e00-\u1eff]"
_CAP = _UPPER + r"[a-z\u00df-\u024f\u1e00-\u1eff][A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f'\u2019\-]*|[A-Z]['\u2019][A-Z][a-z]+"
_LOWER = r"[a-z\u00df-\u024f][a-z\u00df-\u024f\u1e00-\u1eff\u0300-\u036f'\u2019\-]+"
_JOB_NAME = re.compile(r"(?i:\b(?:the\s+)?(?:" + _JOBS + r")),?\s+(" + _CAP + r")")
_NAME_JOB = re.compile(r"(?<![\w'\u2019])(" + _CAP + r")(?:[ \t]+(" + _CAP + r"))?,[ \t]+(?i:(?:the|a|an|our|her|his|"
                       r"their|its)\s+(?:[a-z\-]+\s+){0,2}?(?:" + _JOBS + r"|eldest|youngest|oldest|middle\s+child|"
                       r"older|younger|twin|sibling|brother|sister|son|daughter|cousin|neighbour|friend|partner|"
                       r"boyfriend|girlfriend|lodger|babysitter))\b")
# A given name in lower case before a verb of speech: "jayden said he had not seen her".
_LOWER_SPEAKER = re.compile(r"(?<![\w'\u2019])([a-z][a-z\u00df-\u024f\-]{2,})(?=[ \t]+(?:said|says|told|explained|"
                            r"reported|stated|admitted|denied|disclosed|recalled|replied)\b)")
_TITLE_NAME = re.compile(r"\b(?:" + _TITLES + r"|(?i:mr|mrs|ms|mx|dr)\.)\.?\s+(" + _CAP + r")")
# One relation or a chain of them ("Mum's partner", "her mum's friend") before the name.
_RELATION_CHAIN = r"(?i:\b(?:" + _RELATIONS + r")(?:['\u2019]s)?(?:,?\s+(?:" + _RELATIONS + r")(?:['\u2019]s)?)*)"
_RELATION_NAME = re.compile(_RELATION_CHAIN + r",?\s+(" + _CAP + r")")
_RELATION_LOWER = re.compile(_RELATION_CHAIN + r",?\s+(" + _LOWER + r")\b")
_CAP_WORD = re.compile(r"(?<![\w'\u2019])(" + _CAP + r")")
_FULL_NAME = re.compile(r"(?<![\w'\u2019])(" + _CAP + r")[ \t]+(" + _CAP + r")(?![\w])")
# A possessive followed by a capitalised word: the name of a thing (a charity, a rule, a
# hospital) -- unless that word is itself a name or a relation ("Kyle's Mum").
_EPONYM = re.compile(r"['\u2019]s[ \t]+(?!(?:Mum|Dad|Mother|Father|Nan|Gran|Brother|Sister)\b)[A-Z][a-z]+")
# A name before the word for a theory, a scale or a sign is the thing called after
# someone ("Maslow's hierarchy", "the Dartington model", "Glasgow Coma Scale").
_EPONYM_NOUN = re.compile(r"(?:['\u2019]s)?[ \t]+(?i:model|theory|hierarchy|scale|score|criteria|classification|"
                          r"syndrome|disease|sign|test|procedure|manoeuvre|method|approach|framework|principle|rule|"
                          r"law|effect|triangle|cycle|curve|chart|questionnaire|tool|toolkit|inventory|index)\b")
# Verbs of people: a full name after "spoke to", "seen by", "according to"..., or before
# "said", "told", "reported"... is a person's even when no list holds it ("spoke to
# Eimer Helery", "Dairine Colfer said").
_PERSON_BEFORE = (r"(?i:\b(?:(?:spoke|spoken|speaking|talked|talking|wrote|writing|reported|explained|introduced|"
                  r"apologised|replied|chatted|listened|went|goes|handed|passed)\s+(?:to|with)|told|asked|met|phoned|"
                  r"rang|emailed|contacted|thanked|informed|interviewed|accompanied|supervised|"
                  r"(?:seen|assessed|examined|visited|referred|reviewed|signed|completed|written|supported|"
                  r"accompanied|collected|interviewed|prescribed|treated|delivered|chaired)\s+by|according\s+to|"
                  r"on\s+behalf\s+of|care\s+of|c/o|attention\s+of|f\.?a\.?o\.?))[ \t]+")
_PERSON_AFTER = (r"[ \t]+(?:said|says|told|reported|explained|stated|confirmed|asked|rang|phoned|visited|"
                 r"attended|described|recalled|noted|added|agreed|denied|admitted|wrote|emailed|replied|"
                 r"disclosed|recorded|refused|declined|arrived|left)\b")
_FULL = r"(" + _CAP + r")[ \t]+(" + _CAP + r")(?![\w'\u2019])"
_PERSON_CONTEXT = (re.compile(_PERSON_BEFORE + _FULL), re.compile(r"(?<![\w'\u2019])" + _FULL + _PERSON_AFTER))

# Capitalised words a report writes that are not names (roles, months, days, domain).
NOT_NAMES = frozenset("""
mum dad mummy daddy nan coroner category case child baby infant the a an he she they his
her their it this that these those there then when where what who why how on in at by to
of for from with after before during following january february march april may june july
august september october november december monday tuesday wednesday thursday friday
saturday sunday christmas easter gp a&e paramedic paramedics nurse doctor consultant
registrar health visitor midwife social worker police officer teacher head headteacher
panel member chair lay learning recommendation recommendations summary chronology
outcome agency agencies review reviews report reporting form england wales scotland
british english muslim christian jewish hindu sikh catholic anglican cdop ncmd
sudi sudc dna no yes not none unknown year years month months week weeks day days age
aged family mother father parents parent carers carer brother sister sibling siblings
you we i me us our your mr mrs ms miss dr ward bed bay room cot line roma ville
""".split())


@functools.cache
def _lists():
    from cdop.confidentiality.layers.name_lists import name_ranks

    return name_ranks()


def _ordinary(word: str) -> bool:
    folded = key(word).split("'")[0].split("\u2019")[0]
    return (folded in ORGANISATION_WORDS or folded in COMMON_WORDS or folded in NOT_NAMES
            or folded in domain_terms() or key(word) in domain_terms() or _fold(word).strip() in NOT_NAMES)


def _listed(word: str, max_rank: int = 2000) -> bool:
    """A given name or surname from the lists (names-dataset within `max_rank` in some
    country, or words.given_names)."""
    folded = key(word).split("'")[0].split("\u2019")[0].replace("-", "")
    given, surnames = _lists()
    names = given_names()
    return any(given.get(f, 10**6) <= max_rank or surnames.get(f, 10**6) <= max_rank or f in names
               for f in dict.fromkeys((folded.replace("-", ""), *(p for p in folded.split("-") if len(p) > 2))))


def _wordlike(word: str) -> bool:
    """An ordinary English word (so a list alone does not make it a name): a common one,
    or any word of the whole spelling list that is not a given name ("Chromosomal",
    "Bereavement": a report's own headings, which the model may read as a person)."""
    folded = key(word).split("'")[0].split("\u2019")[0]
    return folded in WORD_NAMES or _ordinary(word) or is_english_word(folded) or is_known_word(folded)


# The commonest English words that follow a relation word ("Dad was", "her brother and",
# "a friend who"): never a lower-case name, known without loading any list.
_FUNCTION_WORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each either else
even ever every few for from further had has have having he her here hers herself him
himself his how however i if in into is it its itself just least less let like may me
might more most much must my myself neither never no nor not now of off often on once only
or other ought our ours ourselves out over own rather said same says she should since so
some still such than that the their theirs them themselves then there these they this
those though through thus to too under until up upon us very was we were what when where
whether which while who whom whose why will with within without would yet you your yours
told came went saw gave took made left rang called stayed lived lives died found heard got
felt thought knew asked wanted tried became seemed kept brought helped moved arrived
reported attended visited returned noticed explained described stated confirmed recalled
""".split())


def _eponym_surname(word: str, text: str, end: int) -> bool:
    """A common surname that is also an eponym, after a given name or a relation and not
    before its thing: "Hollie Williams", "the neighbour Williams" (not "Williams
    syndrome", "Moses basket")."""
    folded = key(word)
    nxt = re.match(r"[ \t]+([A-Za-z]+)", text[end:])
    return (folded in domain_terms() and _lists()[1].get(folded, 10**6) <= 1000
            and not _EPONYM_NOUN.match(text, end) and not (nxt and f"{folded} {nxt.group(1).lower()}" in EPONYMS))


_LOWER_WORD = re.compile(r"(?<![\w'\u2019@./\-])([a-z]{3,})(?![\w@'\u2019\-]|\.\w)")


def _lower_case_names(text: str, found) -> list[tuple[int, int, float]]:
    """A given name written in lower case with nothing around it ("took kayden to the
    park"): among the 500 commonest given names of some country (names-dataset) and no
    English word, not even a rare one. A weak flag (0.4)."""
    taken = Spans((s, e) for s, e, _ in found)
    out = []
    for m in _LOWER_WORD.finditer(text):
        word = m.group(1)
        if word in _FUNCTION_WORDS or word in NOT_NAMES or word in COMMON_WORDS or is_english_word(word) \
                or taken.overlaps(*m.span(1)):
            continue  # (the lists are loaded only for a word no dictionary knows)
        if _lists()[0].get(word, 10**6) > 500 or _wordlike(word) or word in domain_terms():
            continue
        out.append((m.start(1), m.end(1), 0.4))
    return out


def _cue_findings(text: str, orgs: Spans) -> list[tuple[int, int, float]]:
    found = []
    for pattern in (_TITLE_NAME, _RELATION_NAME, _JOB_NAME):
        for m in pattern.finditer(text):
            word = m.group(1)
            folded = _fold(word).strip()
            if len(word) < 2 or not word[0].isupper() or folded in ORGANISATION_WORDS or folded in NOT_NAMES \
                    or orgs.covers(m.start(1), m.end(1)):
                continue
            if pattern is _JOB_NAME and (_wordlike(word) and not _listed(word) or key(word) in known_areas()
                                         or re.fullmatch(_JOBS, word, re.IGNORECASE)):
                continue  # "the social worker Team", "the GP Practice", "the consultant Paediatrician"
            if key(word) in domain_terms() and not (pattern is _RELATION_NAME and _eponym_surname(word, text, m.end(1))):
                continue  # "Dr Apgar's score", "Moses basket"; but "the neighbour Williams" is a person
            # Take a surname after the given name too: "brother Łukasz O'Neill".
            end = m.end(1)
            nxt = re.match(r"[ \t]+(" + _CAP + r")", text[end:])
            if nxt and nxt.group(1)[0].isupper() and not _ordinary(nxt.group(1)) and not orgs.covers(end + nxt.start(1), end + nxt.end(1)):
                end += nxt.end(1)
            found.append((m.start(), end, 0.85))
    for m in _NAME_JOB.finditer(text):
        words = [w for w in m.groups() if w]
        if sentence_start(text, m.start()) and len(words) == 1 and (
                not _listed(words[0], 1000) or key(words[0]) in _FUNCTION_WORDS):
            continue  # "Yes, the social worker..."; but "Summer, the eldest, ..." is a name
        if any(key(w) in NOT_NAMES or key(w) in ORGANISATION_WORDS or key(w) in domain_terms() or key(w) in known_areas()
               or key(w) in _FUNCTION_WORDS for w in words) or orgs.covers(m.start(1), m.end(1)) \
                or all(_wordlike(w) and not _listed(w) for w in words):
            continue
        found.append((m.start(1), m.end(len(words)), 0.8))
    for m in _LOWER_SPEAKER.finditer(text):
        word = m.group(1)
        if key(word) in _FUNCTION_WORDS or key(word) in NOT_NAMES or is_english_word(key(word)) \
                or not _listed(word, 1000) or _wordlike(word):
            continue
        found.append((m.start(1), m.end(1), 0.6))
    found.extend(_lower_case_names(text, found))
    for m in _RELATION_LOWER.finditer(text):
        word = m.group(1)
        folded = key(word)
        if len(folded) < 3 or folded in _FUNCTION_WORDS or folded in NOT_NAMES or not _listed(word, 1000) \
                or _wordlike(word):
            continue
        found.append((m.start(1), m.end(1), 0.6))
    return found


def _model_findings(text: str, entities, orgs: Spans, taken: Spans) -> list[tuple[int, int, float]]:
    found = []
    areas = known_areas()
    terms = domain_terms()
    for s, e, label in entities:
        if label != "PERSON" or taken.overlaps(s, e) or orgs.overlaps(s, e):
            continue
        span = text[s:e]
        # Trim a possessive and leading/trailing non-name words ("Mum", "Dr").
        words = [m for m in re.finditer(r"[\w\u0300-\u036f'\u2019\-]+", span)]
        names = [w for i, w in enumerate(words) if w.group(0)[:1].isupper() and (
            not _ordinary(w.group(0)) or (i > 0 and _eponym_surname(w.group(0), text, s + w.end())))]
        if not names:
            continue
        folded = " ".join(key(w.group(0)) for w in words)
        possessive = text[e:e + 2] in ("'s", "\u2019s")
        if folded in terms or folded in areas or all(key(w.group(0)) in terms for w in names) \
                or (possessive and key(span + "'s") in terms):
            continue  # "Kawasaki", "Tommy's"
        if any(w.group(0).endswith(("'s", "\u2019s")) for w in names[:-1]):
            continue  # a named thing: "Harriet's Story"
        start, end = s + names[0].start(), s + names[-1].end()
        end -= 2 if text[start:end].endswith(("'s", "\u2019s")) else 0
        if _EPONYM.match(text, end) or (len(names) == 1 and _EPONYM_NOUN.match(text, end)):
            continue
        single = len(names) == 1
        word = names[0].group(0)
        if single and _wordlike(word) and (sentence_start(text, start) or word.isupper() or not _listed(word)):
            continue  # "You", "Line", a sentence-initial word
        if single and word.isupper():
            continue  # an acronym
        listed = any(_listed(w.group(0)) for w in names)
        if not listed and all(_wordlike(w.group(0)) for w in names):
            continue  # "Sudden Unexpected Death", "Safer Sleep": ordinary words, capitalised
        found.append((start, end, 0.8 if listed else 0.6))
    return found


def _list_findings(text: str, orgs: Spans, taken: Spans) -> list[tuple[int, int, float]]:
    found = []
    given, surnames = _lists()
    for m in _FULL_NAME.finditer(text):
        a, b = m.group(1), m.group(2)
        if not (a[0].isupper() and b[0].isupper()) or taken.overlaps(m.start(), m.end()) or orgs.overlaps(m.start(), m.end()):
            continue
        fa, fb = key(a).replace("-", ""), key(b).split("'")[0].split("\u2019")[0].replace("-", "")
        # A surname that is also an eponym ("Hollie Williams", not "Williams syndrome").
        eponym_surname = _eponym_surname(b, text, m.end())
        if _wordlike(a) or (_wordlike(b) and not eponym_surname) or key(a) in known_areas() or key(b) in known_areas():
            continue
        if given.get(fa, 10**6) <= 1000 and surnames.get(fb, 10**6) <= 3000:
            if _EPONYM.match(text, m.end() - 2 if b.endswith(("'s", "\u2019s")) else m.end()):
                continue
            found.append((m.start(), m.end(), 0.7))
    taken = Spans([*taken.spans, *((s, e) for s, e, _ in found)])
    names = given_names()
    for m in _CAP_WORD.finditer(text):
        word = m.group(1)
        if not word[0].isupper() or taken.overlaps(m.start(), m.end()) or orgs.covers(m.start(), m.end()):
            continue
        folded = key(word).split("'")[0].split("\u2019")[0]
        if folded in WORD_NAMES or _ordinary(word) or folded in known_areas():
            continue
        parts = folded.split("-")
        if folded not in names and not (given.get(folded, 10**6) <= 500 and not _wordlike(word)) \
                and not (len(parts) > 1 and all(p in names or given.get(p, 10**6) <= 1000 or (i and p in WORD_NAMES)
                                                 for i, p in enumerate(parts))):
            continue  # (a name of two given names: "Demi-Leigh", "Sophie-Louise")
        end = m.end() - 2 if word.endswith(("'s", "\u2019s")) else m.end()
        if _EPONYM.match(text, end) or _EPONYM_NOUN.match(text, end):
            continue  # "Winston's Wish", "Martha's Rule": a name inside a named thing
        found.append((m.start(), m.end(), 0.5))
    return found


_CAPITALISED = re.compile(r"(?<![\w'\u2019])" + _UPPER + r"[\w'\u2019\-\u0300-\u036f]*")


def might_name_someone(text: str) -> bool:
    """Whether `text` holds a capitalised word that nothing explains: not inside an
    organisation's name or a named day, not an acronym, not a word of the domain, a
    place list or the report's own vocabulary, and not an ordinary English word at the
    start of a sentence. Only such a text is worth the model's time (~10-50 ms a text):
    without one, the model could add no person and no village."""
    orgs = None
    for m in _CAPITALISED.finditer(text):
        word = m.group(0)
        if not word[0].isupper() or (word.isupper() and len(word) > 1):
            continue
        folded = key(word).split("'")[0].split("\u2019")[0]
        if folded in NOT_NAMES or folded in ORGANISATION_WORDS or folded in domain_terms() \
                or folded in known_areas():
            continue
        if sentence_start(text, m.start()) and folded not in WORD_NAMES and is_english_word(folded):
            continue
        if orgs is None:
            orgs = Spans([*organisation_spans(text), *(n.span() for n in NAMED_DAY.finditer(text)),
                          *(n.span() for n in area_pattern().finditer(text))])
        if orgs.covers(m.start(), m.end()):
            continue
        return True
    return False


_PEOPLE_BEFORE_A_LIST = re.compile(
    r"(?:(?i:founders|owners|directors|members|partners|brothers|sisters|children|siblings|parents|friends|"
    r"neighbours|officers|doctors|nurses|teachers|witnesses|people|residents|pupils|students|staff|colleagues|"
    r"family|families|twins|sons|daughters|cousins)\b[^.\n]{0,15}|:)[ \t]*$")


def _given_more_than_surname(word: str) -> bool:
    given, surnames = _lists()
    folded = key(word)
    return given.get(folded, 10**6) <= 1000 and given.get(folded, 10**6) <= surnames.get(folded, 10**6)


def firms(text: str) -> list[tuple[int, int]]:
    """Firms named by surnames: partners' surnames in a list ("Patterson, Campbell and
    Cross"; not "Amina, Yusuf and Hodan", whose names are mostly given names), or a
    double-barrelled surname standing alone, with no given name or title before it
    ("from Taylor-Powell")."""
    spans = []
    for m in FIRM_OF_SURNAMES.finditer(text):
        if _PEOPLE_BEFORE_A_LIST.search(text, max(0, m.start() - 40), m.start()):
            continue  # "our 3 founders: Cooke, Taylor and Owen": people, not a firm
        members = re.findall(r"[A-Z][\w'\u2019\-]+", m.group(0))
        if 2 * sum(_given_more_than_surname(w) for w in members) < len(members):
            spans.append(m.span())
    surname = r"(?:Mc|Mac|O['\u2019])?[A-Z][a-z]+"
    for m in re.finditer(r"(?<![\w'\u2019\-])(" + surname + r"(?:-" + surname + r")+)(?![\w\-])", text):
        before = re.search(r"(?:^|[\s(])([\w'\u2019.]+)[ \t]*$", text[max(0, m.start() - 30):m.start()])
        word = before.group(1) if before else ""
        if re.fullmatch(r"(?:" + _TITLES + r")\.?", word) or (word[:1].isupper() and not _wordlike(word)):
            continue  # "Mrs Taylor-Powell", "Anna Taylor-Powell"
        parts = m.group(1).split("-")
        if _listed(parts[0]) and not _given_more_than_surname(parts[0]) \
                and not all(_given_more_than_surname(p) for p in parts):
            spans.append(m.span(1))
    return spans


def _context_findings(text: str, not_people: Spans, taken: Spans) -> list[tuple[int, int, float]]:
    found = []
    areas = known_areas()
    for pattern in _PERSON_CONTEXT:
        for m in pattern.finditer(text):
            s, e = m.start(1), m.end(2)
            a, b = m.group(1), m.group(2)
            if taken.overlaps(s, e) or not_people.overlaps(s, e) or not (a[0].isupper() and b[0].isupper()):
                continue
            if _ordinary(a) or _ordinary(b) or (_wordlike(a) and _wordlike(b)) or key(a) in areas or key(b) in areas \
                    or key(f"{a} {b}") in areas:
                continue
            found.append((s, e, 0.6))
    return found


def people_findings(text: str, *, model_entities=()) -> list[Finding]:
    # Organisations and named days ("Christmas Eve", "St David's Day") hold no person.
    orgs = Spans([*organisation_spans(text), *(m.span() for m in NAMED_DAY.finditer(text)),
                  *(m.span() for m in area_pattern().finditer(text))])
    found = _cue_findings(text, orgs)
    if not model_entities and not might_name_someone(text):
        # No capitalised word is unexplained: only a cue (and the lower-case name after
        # it) can name someone, and the lists need not be loaded.
        return [Finding("unrecorded.name", "name", s, e, "flag", confidence=c, layer="people") for s, e, c in found]
    from cdop.confidentiality.layers.invented import made_up_places

    # Nor do firms named by surnames, nor towns made up from a name ("East Ruth").
    orgs = Spans([*orgs.spans, *firms(text), *made_up_places(text)])
    taken = Spans((s, e) for s, e, _ in found)
    for s, e, c in _context_findings(text, orgs, taken):
        taken.add(s, e)
        found.append((s, e, c))
    for s, e, c in _model_findings(text, model_entities, orgs, taken):
        taken.add(s, e)
        found.append((s, e, c))
    found.extend(_list_findings(text, orgs, taken))
    return [Finding("unrecorded.name", "name", s, e, "flag", confidence=c, layer="people") for s, e, c in found]
