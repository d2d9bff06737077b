"""Forms derived from the identifiers recorded for a case: what people write instead of
the name, street or date as it was recorded.

Each derivation is a plain function, tested on its own, and every form it gives is
guarded so that an ordinary word never matches:

* `nickname_forms`: nicknames and diminutives both ways ("William" -> "Billy", "Will";
  "Maggie" -> "Margaret"), from the `nicknames` package's maintained data set;
* `welsh_mutations`: the soft, nasal and aspirate initial mutations of a name
  ("Gwenllian" -> "Wenllian", "Dafydd" -> "Ddafydd", "Carys" -> "Ngharys", "Charys");
* `script_forms`: a name recorded in another script in the ways it is romanised
  ("Дмитрий" -> "Dmitriy", "Dmitry", "Dmitrii"; "张伟" -> "Zhang Wei", "Wei Zhang");
* `welsh_date_forms`: a recorded date written in Welsh ("3 Mawrth 2024", "3ydd o Fawrth 2024");
* `street_head`: a street without its road word ("on Stapleton" for "Stapleton Road");
* `initials_patterns`: a person's initials ("Z.W.", "ZW", "Z. Wiśniewski", "Zofia W.");
* `misspelling`: a capitalised word within a small edit distance, or of the same sound,
  of a recorded name part (never an English word; a common given name only when both
  agree);
* `handle_parts`: a recorded name inside a social-media handle, hashtag or email address
  ("@zofia_w2010", "#JusticeForZofia", "zofia2010@...");
* `full_initials`: the initials of a whole name, middle names and both parts of a double
  surname ("Z.G.W.", "ZGWO");
* `short_form`: a clipped name or a diminutive the nicknames data set does not hold (a
  first-syllable stem with an ending from the families' languages: "Zofka", "Zofi";
  the last syllable of a long name), and `handle_findings`, such a form or a clipped
  surname inside a user name ("zofka_w10", "wisniew_z");
* `script_text_findings`: a recorded Latin name written in another script in the text
  (pinyin syllables of a Chinese run; the consonants of an Arabic, Gurmukhi or Cyrillic
  word);
* `foreign_date_forms`: a recorded date as other languages write it (CLDR through babel:
  "3 marca 2024", "2024 m. kovo 3 d.").

The exact forms (nicknames, mutations, other scripts, Welsh and foreign dates, street heads) become
identifiers of layer "derived" that the gate's one multi-pattern pass looks for with the
recorded ones (`cdop.confidentiality.recorded_index`); the patterned ones (initials,
misspellings, handles, short forms, names in other scripts) are sought in the text by
`derived_findings`.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from anyascii import anyascii

from cdop.confidentiality.folding import Finding, Folded, Identifier, _fold, after_boundary
from cdop.confidentiality.words import (
    CLOSED_CLASS_WORDS,
    ORGANISATION_WORDS,
    WORD_NAMES,
    cached,
    given_names,
    is_english_word,
    is_known_word,
)

# How sure a derived form is that it names the recorded person or place.
CONFIDENCE = {"nickname": 0.8, "mutation": 0.75, "script": 0.9, "welsh_date": 0.95, "street": 0.7,
              "building": 0.9, "initials": 0.6, "misspelling": 0.7, "handle": 0.85,
              "foreign_date": 0.9, "short_form": 0.5, "script_text": 0.7, "site": 0.7}


def _is_word(folded: str) -> bool:
    return all(w in WORD_NAMES or is_english_word(w) for w in folded.split())


# ----------------------------------------------------------------------- nicknames

@functools.cache
def _nickname_table() -> dict[str, list[str]]:
    """Every name of the `nicknames` data set with the names it is linked to, both ways
    (a name to its nicknames, a nickname to the names it is short for)."""
    def build() -> dict[str, list[str]]:
        from nicknames import NickNamer

        namer = NickNamer()
        table: dict[str, set[str]] = {}
        for canonical, nicks in namer.nickname_lookup.items():
            for nick in nicks:
                table.setdefault(canonical, set()).add(nick)
                table.setdefault(nick, set()).add(canonical)
        return {k: sorted(v) for k, v in table.items()}

    return cached("nicknames", build)


def nickname_forms(name: str) -> frozenset[str]:
    """The folded nicknames and diminutives of a given name and the names it is a
    nickname of, from the data set (forms of fewer than 3 letters left out: "Al", "Ed")."""
    key = _fold(name).strip()
    if " " in key or not key:
        return frozenset()
    return frozenset(f for f in _nickname_table().get(key, ()) if len(f) >= 3 and f != key)


# ------------------------------------------------------------------ Welsh mutations

# Initial consonant -> (soft, nasal, aspirate) forms; None where that mutation leaves it.
# After Thorne, "Welsh: A Comprehensive Grammar": soft c->g, p->b, t->d, g->(dropped),
# b->f, d->dd, m->f, ll->l, rh->r; nasal c->ngh, p->mh, t->nh, g->ng, b->m, d->n;
# aspirate c->ch, p->ph, t->th.
_MUTATIONS = {
    "c": ("g", "ngh", "ch"), "p": ("b", "mh", "ph"), "t": ("d", "nh", "th"),
    "g": ("", "ng", None), "b": ("f", "m", None), "d": ("dd", "n", None),
    "m": ("f", None, None), "ll": ("l", None, None), "rh": ("r", None, None),
}


def welsh_mutations(name: str) -> dict[str, str]:
    """The mutated forms of one name (folded) -> which mutation gives it. Digraphs are
    whole letters in Welsh: "Llinos" -> "Linos", "Rhys" -> "Rys"; "Ch", "Ph", "Th" do
    not mutate. Forms of fewer than 4 letters are left out."""
    word = _fold(name).strip()
    if " " in word or not word.isalpha():
        return {}
    if word[:2] in ("ch", "ph", "th"):
        return {}
    initial = word[:2] if word[:2] in ("ll", "rh") else word[:1]
    rest = word[len(initial):]
    out: dict[str, str] = {}
    for kind, new in zip(("soft", "nasal", "aspirate"), _MUTATIONS.get(initial, ()), strict=False):
        if new is not None and len(new + rest) >= 4:
            out.setdefault(new + rest, kind)
    return out


# ---------------------------------------------------------------- other scripts

# Cyrillic letters romanised differently by the common systems (BGN/PCGN, ISO 9 as typed,
# passports, English spelling): each letter's alternatives beyond anyascii's.
_CYRILLIC = {
    "й": ("y", "i", "j", ""), "я": ("ya", "ia", "ja"), "ю": ("yu", "iu", "ju"),
    "е": ("e", "ye"), "ё": ("e", "yo"), "х": ("kh", "h"), "ц": ("ts", "c", "tz"),
    "щ": ("shch", "sch"), "ы": ("y", "i"), "ь": ("",), "ъ": ("",), "ж": ("zh", "j"),
    "и": ("i", "y"), "ч": ("ch",), "ш": ("sh",), "в": ("v", "w"),
}
_MAX_SCRIPT_FORMS = 64
_CYRILLIC_LETTER = re.compile("[\u0400-\u04ff]")


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def script_forms(value: str) -> frozenset[str]:
    """Folded Latin forms of a name recorded in another script, beyond anyascii's own
    (which the gate always finds): the Cyrillic letters romanised each common way, and a
    Chinese name's syllables in both orders (family name first as recorded, and last)."""
    value = value.strip()
    if value.isascii():
        return frozenset()
    forms: set[str] = set()
    if _CYRILLIC_LETTER.search(value):
        choices = [_CYRILLIC.get(c, (anyascii(c).lower(),)) for c in value.lower()]
        for combo in itertools.islice(itertools.product(*choices), _MAX_SCRIPT_FORMS):
            forms.add(_fold("".join(combo)).strip())
    hanzi = [c for c in value if _cjk(c)]
    if len(hanzi) >= 2 and len(hanzi) == len(value.replace(" ", "")):
        syllables = [anyascii(c).lower() for c in hanzi]
        family, given = syllables[0], "".join(syllables[1:])
        forms |= {f"{family} {given}", f"{given} {family}", f"{given}{family}",
                  f"{family} {' '.join(syllables[1:])}"}
    own = _fold(value).strip()
    return frozenset(f for f in forms if f and f != own and len(f.replace(" ", "")) >= 4)


# -------------------------------------------------------------------- Welsh dates

WELSH_MONTHS = ("ionawr", "chwefror", "mawrth", "ebrill", "mai", "mehefin", "gorffennaf", "awst",
                "medi", "hydref", "tachwedd", "rhagfyr")


def _welsh_ordinal(d: int) -> str:
    special = {1: "af", 2: "il", 3: "ydd", 4: "ydd", 5: "ed", 6: "ed", 11: "eg", 13: "eg", 14: "eg",
               16: "eg", 17: "eg", 19: "eg"}
    if d in special:
        return f"{d}{special[d]}"
    if d >= 21:
        return f"{d}ain"
    return f"{d}fed"  # 7, 8, 9, 10, 12, 15, 18, 20


def _soft(word: str) -> str:
    forms = welsh_mutations(word)
    return next((f for f, kind in forms.items() if kind == "soft"), word)


def welsh_date_forms(day: dt.date) -> set[str]:
    """A date as written in Welsh, folded: "3 Mawrth 2024", "3ydd Mawrth 2024", "3ydd o
    Fawrth 2024" (the month soft-mutated after "o"), "Mawrth 3 2024"."""
    month = WELSH_MONTHS[day.month - 1]
    mutated = _soft(month) if month not in ("ionawr", "chwefror", "ebrill", "awst", "hydref") else month
    if month == "mai":
        mutated = "fai"
    days = {str(day.day), f"{day.day:02d}", _welsh_ordinal(day.day)}
    years = {str(day.year)}
    forms: set[str] = set()
    for d in days:
        for y in years:
            forms |= {f"{d} {month} {y}", f"{d} o {mutated} {y}", f"{d} o {month} {y}", f"{month} {d} {y}",
                      f"{d} {mutated} {y}"}
    return {_fold(f).strip() for f in forms}


# ----------------------------------------------------------------- foreign dates

# The languages most spoken in England and Wales after English (ONS, Census 2021, "Main
# language"), with those of the larger settled and newer communities the census groups
# together: a family's or a consulate's papers write a recorded date in these.
FOREIGN_DATE_LOCALES = ("pl", "ro", "pa", "ur", "pt", "es", "ar", "bn", "gu", "it", "lt", "zh", "fr", "tr",
                        "ta", "de", "so", "ru", "bg", "lv", "hu", "fa", "el", "sk", "cs", "ne", "sq", "vi",
                        "ckb", "ku", "uk", "hr", "sr_Latn", "sl", "nl", "hi", "ml", "ga", "gd", "tl", "ti",
                        "am", "yo", "ps", "ko", "ja", "th", "da", "sv", "nb", "fi", "et", "he", "mk")
# A probe date whose day and year figures appear nowhere else in a written date: where
# they are shows where a locale puts the day and the year.
_PROBE_YEAR, _PROBE_DAY = 1999, 28


@functools.cache
def _foreign_date_templates() -> dict[int, list[str]]:
    """Month -> the locales' long and medium written forms of a date in that month (CLDR,
    through babel), with "{d}" and "{y}" where the day and year go, folded: Polish "{d}
    lutego {y}", Lithuanian "{y} m vasario {d} d", Romanian "{d} martie {y}"."""
    def build() -> dict[int, list[str]]:
        from babel.dates import format_date

        out: dict[int, set[str]] = {m: set() for m in range(1, 13)}
        for locale in FOREIGN_DATE_LOCALES:
            for month in range(1, 13):
                probe = dt.date(_PROBE_YEAR, month, _PROBE_DAY)
                for style in ("long", "medium"):
                    try:
                        written = _fold(format_date(probe, style, locale=locale)).strip()
                    except (ValueError, LookupError):
                        continue  # a locale this babel does not hold
                    # (Chinese and Japanese join the figures to their characters:
                    # "1999nian2yue28ri"; the folded text joins them the same way.)
                    if written.count(str(_PROBE_YEAR)) == 1 and written.count(str(_PROBE_DAY)) == 1:
                        out[month].add(written.replace(str(_PROBE_YEAR), "{y}").replace(str(_PROBE_DAY), "{d}"))
        return {str(m): sorted(v) for m, v in out.items()}

    # (The cache's name holds the locales and babel's data file: another list, or another
    # babel, is another cache.)
    name = "foreign_dates_" + format(zlib.crc32(" ".join([*FOREIGN_DATE_LOCALES, _babel_data()]).encode()), "08x")
    return {int(m): v for m, v in cached(name, build).items()}


def _babel_data() -> str:
    """babel's CLDR data file, by path, size and time (found without importing babel)."""
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("babel")
        st = (Path(spec.submodule_search_locations[0]) / "global.dat").stat()  # type: ignore[union-attr]
    except (AttributeError, IndexError, OSError, TypeError, ValueError):
        return "babel:absent"
    return f"{spec.submodule_search_locations[0]}:{st.st_size}:{st.st_mtime_ns}"  # type: ignore[union-attr]


def foreign_date_forms(day: dt.date) -> set[str]:
    """A date as the languages of FOREIGN_DATE_LOCALES write it, folded ("17 lutego 2026",
    "2024 m spalio 3 d", "2024nian12yue3ri"), the English forms left out."""
    from cdop.confidentiality.folding import date_forms

    days = {str(day.day), f"{day.day:02d}"}
    forms = {t.format(d=d, y=day.year) for t in _foreign_date_templates()[day.month] for d in days}
    return forms - date_forms(day) - welsh_date_forms(day)


def derived_date_forms(day: dt.date, how: str) -> set[str]:
    """The folded forms of a date derived in the way `how` names ("welsh_date", "foreign_date")."""
    return welsh_date_forms(day) if how == "welsh_date" else foreign_date_forms(day)


# ---------------------------------------------------------------------- addresses

ROAD_WORDS = frozenset("""road rd street st avenue ave av lane ln close cl drive dr crescent cres
court ct gardens gdns place pl square sq terrace terr tce grove gr parade pde mount mt park pk
way walk row hill rise view mews green vale wynd heol ffordd stryd lon""".split())


def street_head(street: str, others: Iterable[str] = ()) -> str | None:
    """A street's name without its road word ("Stapleton" of "Stapleton Road"), if that
    can identify it alone: at least 4 letters, not a common English word, not a given
    name, and not another part of the same address (its town)."""
    words = _fold(street).split()
    if len(words) < 2 or words[-1] not in ROAD_WORDS:
        return None
    head = " ".join(words[:-1])
    if len(head.replace(" ", "")) < 4 or any(w.isdigit() for w in words[:-1]):
        return None
    if _is_word(head) or head in given_names() or head in ORGANISATION_WORDS:
        return None
    if any(head == _fold(o).strip() or head in _fold(o).split() for o in others):
        return None
    return head


# ------------------------------------------------------------------------ people

@dataclass(frozen=True)
class Person:
    """One recorded person's name for the patterned derivations: the raw given name,
    the surname's parts (a double-barrelled one has two initials people use), the
    folded name parts of >= 4 letters, and the field and role the findings carry."""

    field: str
    role: str | None
    given: str
    surnames: tuple[str, ...]
    parts: tuple[str, ...]
    middles: tuple[str, ...] = ()


def people(identifiers) -> list[Person]:
    """Each recorded person with a given name and a surname, once: the child from its
    forenames and surname, anyone else from a whole name of two words or more."""
    whole: dict[tuple[str, str | None], str] = {}
    parts: dict[tuple[str, str | None], set[str]] = {}
    child_given = child_surname = None
    for ident in identifiers:
        if ident.kind != "name" or ident.layer != "recorded":
            continue
        key = ("child.name", ident.role) if ident.field.startswith("child.") else (ident.field, ident.role)
        for w in _fold(ident.value).split():
            if len(w) >= 4 and w.isalpha():
                parts.setdefault(key, set()).add(w)
        if ident.field == "child.forenames" and child_given is None:
            child_given = ident.value
        elif ident.field == "child.surname" and child_surname is None:
            child_surname = ident.value  # the whole surname comes first
        elif not ident.field.startswith("child.") and len(ident.value.split()) >= 2:
            whole.setdefault(key, ident.value)
    out = []
    child_forenames = ""
    if child_given and child_surname:
        child_forenames = " ".join(i.value for i in identifiers
                                   if i.field == "child.forenames" and i.layer == "recorded")
        whole = {("child.name", "child"): f"{child_given} {child_surname}"} | whole
    for (field, role), value in whole.items():
        words = value.split()
        surnames = tuple(p for p in re.split(r"[\s\-]+", words[-1]) if p)
        middles = tuple(words[1:-1])
        if field == "child.name" and child_surname:
            surnames = tuple(p for p in re.split(r"[\s\-]+", child_surname) if p)
            middles = tuple(child_forenames.split()[1:])
        out.append(Person(field, role, words[0], surnames, tuple(sorted(parts.get((field, role), ()))),
                          tuple(m for m in middles if m[:1].isalpha())))
    return out


# Capitals that are abbreviations in agency text, never a person's initials alone.
ABBREVIATIONS = frozenset("""
gp ed ct nhs ae pm am hv sw dr mr ms uk us eu icu nicu picu ent gcs bp hr rr bw ap cpr dna
ecg eeg mri xr iv im po od bd tds qds prn sats dob dod nok cp cf ld asd adhd sen send ehcp
csc cin cp lac iro dsl dslo lado mash cami camhs sudi sudic cdop cdrm ncmd jar jaa ooh
ok id cc bcc re fyi tbc tba na nb ps ie eg rip itu hdu scbu nnu ane rta rtc cid cps ppe
""".split())


def _abbreviation(letters: str) -> bool:
    return letters.lower() in ABBREVIATIONS or is_english_word(letters.lower())


def initials_patterns(person: Person) -> list[tuple[re.Pattern[str], str]]:
    """Patterns for a person's initials in raw text, each with its severity: dotted
    initials ("Z.W.", "Z. W.", "Z.W-O."), an initial with the surname ("Z. Wiśniewski")
    and the given name with the surname's initial ("Zofia W.") stop; undotted capitals
    ("ZW", "Z W") are a flag (either reading is real). Never a lone capital ("I", "A"),
    never a common abbreviation ("GP", "ED", "CT", "PM")."""
    g = anyascii(person.given)[:1].upper()
    initials = sorted({anyascii(s)[:1].upper() for s in person.surnames} - {""})
    if not g.isalpha() or not initials:
        return []
    out: list[tuple[re.Pattern[str], str]] = []
    letters = "".join(i for i in initials if i.isalpha())
    plain = [i for i in letters if not _abbreviation(g + i)]
    if plain:
        cls = "[" + "".join(plain) + "]"
        out.append((re.compile(rf"{g}(?<![\w.&]{g})\. ?{cls}\.(?:-?[A-Z]\.)?(?![\w&])"), "stop"))
        out.append((re.compile(rf"{g}(?<![\w.&/-]{g}) ?{cls}(?![\w&/-])"), "flag"))
    surnames = {re.escape(v) for s in person.surnames for v in (s, anyascii(s)) if len(v) >= 2}
    givens = [re.escape(v) for v in sorted({person.given, anyascii(person.given)}) if len(v) >= 2]
    if surnames:
        out.append((re.compile(rf"{g}(?<![\w.]{g})\.? ?(?:{'|'.join(sorted(surnames))})(?!\w)"), "stop"))
    if givens:
        out.append((re.compile(after_boundary(givens, not_before=r"[\w.]") + rf" [{letters}]\.(?!\w)"), "stop"))
    out += _full_initials_patterns(person, g)
    return out


def full_initials(person: Person) -> set[str]:
    """The runs of three or more initials a person's full name gives: the given name's,
    any of the middle names' in order, then the surname's (every part of a double-barrelled
    one, or one of them): "Malachi Jerome Gayle-Campbell" -> MJGC, MJG, MJC, MGC; "Kwabena
    Nana Asante-Boateng" -> KNAB, KAB, KNA, KNB."""
    g = anyascii(person.given)[:1].upper()
    middles = [anyascii(m)[:1].upper() for m in person.middles]
    surnames = [anyascii(s)[:1].upper() for s in person.surnames]
    if not g.isalpha() or not surnames or not all(c.isalpha() for c in middles + surnames):
        return set()
    tails = {"".join(surnames), *surnames}
    out = set()
    # A run is at most 5 letters, so at most 3 middle initials go into one: choosing among
    # more would only make runs that are thrown away (and a value recorded with many
    # words made 2**n of them).
    for n in range(min(len(middles), 3) + 1):
        for chosen in itertools.combinations(middles, n):
            out |= {g + "".join(chosen) + t for t in tails}
    return {i for i in out if 3 <= len(i) <= 5}


def _full_initials_patterns(person: Person, g: str) -> list[tuple[re.Pattern[str], str]]:
    """Dotted runs of three or more ("C.E.N.", "C. M. P.") stop; undotted capitals
    ("MJGC") standing alone are a flag; never a common abbreviation or a word ("NHS",
    "LAC", "CAMHS", "BAT")."""
    runs = sorted(full_initials(person), key=len, reverse=True)
    if not runs:
        return []
    dotted = [r"\. ?".join(run) + r"\." for run in runs]
    plain = [run for run in runs if not _abbreviation(run)]
    out = [(re.compile(after_boundary(dotted, not_before=r"[\w.&]") + r"(?![\w&])"), "stop")]
    if plain:
        out.append((re.compile(after_boundary(plain, not_before=r"[\w.&/-]") + r"(?![\w&/-])"), "flag"))
    return out


@functools.lru_cache(maxsize=256)
def _initials(persons: tuple[Person, ...]) -> list[tuple[Person, re.Pattern[str], str]]:
    return [(p, pattern, severity) for p in persons for pattern, severity in initials_patterns(p)]


# ------------------------------------------------------------------- misspellings

def edit_limit(length: int) -> int:
    """Damerau-Levenshtein distance allowed for a recorded name part of `length`
    letters: 1 for 5-7, 2 for 8 or more, none below 5."""
    return 0 if length < 5 else 1 if length <= 7 else 2


@functools.lru_cache(maxsize=50000)
def _codes(word: str) -> tuple[str, str]:
    import jellyfish

    return jellyfish.metaphone(word), jellyfish.nysiis(word)


def misspelling(token: str, parts: Iterable[str]) -> tuple[str, int, bool] | None:
    """The recorded name part (folded) that a capitalised text word misspells, with the
    edit distance and whether they sound the same; None when the word is not one.

    Guards: the word has at least 4 letters and is not an English word (nor any word of
    the spelling dictionary), nor a name that is also a word, nor an organisation word;
    a common given name counts only when it is both within the edit distance and of the
    same sound (Double-Metaphone-like metaphone and NYSIIS codes); otherwise either
    suffices (the sound one a step further: "Filip" for "Philip")."""
    from rapidfuzz.distance import DamerauLevenshtein

    word = token.lower()
    if len(word) < 4 or not word.isalpha() or word in WORD_NAMES or word in ORGANISATION_WORDS:
        return None
    if not any(abs(len(part) - len(word)) <= 2 and edit_limit(len(part)) for part in parts):
        return None  # near no recorded part: the word lists need not be read
    if is_english_word(word) or is_known_word(word):
        return None
    common = word in given_names()
    best = None
    for part in parts:
        if part == word or abs(len(part) - len(word)) > 2:
            continue
        limit = edit_limit(len(part))
        if not limit:
            continue
        distance = DamerauLevenshtein.distance(word, part, score_cutoff=limit + 1)
        if distance > limit + 1:
            continue
        sounds = _codes(word) == _codes(part)
        ok = (distance <= limit and sounds) if common else (distance <= limit or sounds)
        if ok and (best is None or distance < best[1]):
            best = (part, distance, sounds)
    return best


# -------------------------------------------------------------------- short forms

# What a clipped name is finished with, in the languages of the families a CDOP office
# reviews (folded): English and Scots (-y, -ie, -o, -s, -sy, -ag), Irish (-een), Polish
# (-ek, -ka, -uś, -sia, -cio), Lithuanian (-ytė, -utė, -ukas, -elis), Romanian (-ica,
# -uța, -el, -ică, -ișor), Russian and Ukrainian (-ya, -sha, -ik, -ochka), Spanish and
# Portuguese (-ito, -ita, -inho, -inha), Italian (-ino, -ina), Greek (-aki), Dutch and
# German (-je, -chen, -i); the bare clipping ("Des", "Mal") too.
SHORT_FORM_ENDINGS = frozenset("""
- y ie i o a s sy ey ee ag een ek ka ko us uś sia cio ytė utė ukas iukas elis ica ika uța uta el ică
ișor ya sha ik ochka ito ita inho inha ino ina aki je chen ush
""".replace("-", "").split()) | {""}
_FOLDED_ENDINGS = frozenset(_fold(e).replace(" ", "") for e in SHORT_FORM_ENDINGS)
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_FIRST_SYLLABLE = re.compile(r"[^aeiouy]*[aeiouy]+([^aeiouy]+)")
_LAST_SYLLABLE = re.compile(r"[^aeiouy]+[aeiouy]+[^aeiouy]*$")
# Where a sentence says a name is a nickname: a clipping that is also a word ("Chi",
# "Bob") counts at the start of a sentence only with one of these in it.
_NICKNAME_CUES = re.compile(r"\b(?:call(?:s|ed)?|known as|nick ?named?|aka|goes by|went by|short for)\b",
                            re.IGNORECASE)


def name_stems(part: str) -> set[str]:
    """The first syllable of a folded name part, as people clip it: up to the first
    consonant after the first vowels, and up to the whole cluster ("desmond" -> "des",
    "desm"; "bogdan" -> "bog", "bogd"; "szymon" -> "szym"); never under 3 letters, never
    the whole part."""
    m = _FIRST_SYLLABLE.match(part)
    if not m:
        return set()
    return {s for s in (part[:m.start(1) + 1], part[:m.end(1)]) if len(s) >= 3 and s != part}


def last_syllable(part: str) -> str | None:
    """The last syllable of a name of three syllables or more, which people also use
    alone ("malachi" -> "chi"); None for a shorter name or a syllable under 3 letters."""
    if len(_VOWEL_GROUPS.findall(part)) < 3:
        return None
    m = _LAST_SYLLABLE.search(part)
    return m.group(0) if m and len(m.group(0)) >= 3 else None


@functools.lru_cache(maxsize=256)
def _short_form_table(parts: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    stems: dict[str, str] = {}
    finals: dict[str, str] = {}
    for part in parts:
        for stem in name_stems(part):
            stems.setdefault(stem, part)
        last = last_syllable(part)
        if last:
            finals.setdefault(last, part)
    return stems, finals


def short_form(word: str, parts: Iterable[str]) -> str | None:
    """The recorded name part (folded) that a folded word is a clipped or diminutive form
    of: a first-syllable stem with one of SHORT_FORM_ENDINGS ("hodo", "dez" -> "des",
    "tammy", "szymek", "gabyte"), or the last syllable of a long name ("chi"); None when
    it is none, or is a part itself."""
    parts = tuple(sorted(set(parts)))
    return None if word in parts else _short_form_of(word, _short_form_table(parts))


def _short_form_of(word: str, table: tuple[dict[str, str], dict[str, str]]) -> str | None:
    """short_form with the recorded parts' stems and last syllables worked out once (a
    year's gate holds hundreds of names: they are not sorted again for each word)."""
    stems, finals = table
    if len(word) < 3 or not word.isalpha():
        return None  # (a recorded part itself is the caller's to leave out)
    if word in finals:
        return finals[word]
    for k in range(3, len(word) + 1):
        head, rest = word[:k], word[k:]
        for stem in (head, head[:-1] + "s" if head.endswith("z") else None):
            if stem not in stems:
                continue
            if rest in _FOLDED_ENDINGS or (rest[:1] == head[-1] and rest[1:] in _FOLDED_ENDINGS):
                return stems[stem]  # "Tammy": the stem's last letter doubled before the ending
    return None


_CAPITALISED_NEXT = re.compile(r"(?:['\u2019]s)?[ \t]+([A-Z][\w'\u2019]*)")
_WORD_BEFORE_CAPITALISED = re.compile(r"(?<![.!?:;] )(?<!^)\b[A-Z][\w'\u2019]*[ \t]+$")


def _short_form_counts(raw: str, rs: int, word: str, part: str, exact: set[str]) -> bool:
    """Whether a clipping of `part` found at raw[rs:] is written as a name: not a
    closed-class, organisation or place word, a month or an abbreviation; not the first
    word of a capitalised run that goes on with a word that is no recorded form ("Des
    Moines", "Bart's Health"). A clipping that is also a word counts only as the last
    syllable of a long name ("Chi" of Malachi; never a stem, "Park" of Parkinson), not
    after another capitalised word, and at the start of a sentence only where the
    sentence says it is what someone is called."""
    if word in CLOSED_CLASS_WORDS or word in ABBREVIATIONS or word in _MONTH_NAMES or word in ORGANISATION_WORDS:
        return False
    nxt = _CAPITALISED_NEXT.match(raw, rs + len(word))
    if nxt and _fold(nxt.group(1)).split()[0] not in exact:
        return False
    if not (word in WORD_NAMES or is_english_word(word) or is_known_word(word)):
        return True
    if last_syllable(part) != word or _WORD_BEFORE_CAPITALISED.search(raw, max(0, rs - 40), rs):
        return False
    i = rs - 1
    while i >= 0 and raw[i] in " \t":
        i -= 1
    if i < 0 or raw[i] in ".!?:;\n(\"\u2013\u2014":
        end = min((raw.find(c, rs) for c in ".!?\n" if raw.find(c, rs) >= 0), default=len(raw))
        return bool(_NICKNAME_CUES.search(raw, rs, end))
    return True


_MONTH_NAMES = frozenset("""january february march april may june july august september october
november december jan feb mar apr jun jul aug sep sept oct nov dec""".split())


# --------------------------------------------------------- names in another script

# Letters written as one sound in another script, and the vowels and glides an abjad
# leaves out or writes as consonants (Arabic و/ي as w/y): what is left is compared.
_SKELETON_DIGRAPHS = (("zh", "j"), ("sh", "s"), ("ch", "c"), ("kh", "k"), ("gh", "g"), ("th", "t"),
                      ("dh", "d"), ("ph", "f"), ("q", "k"))
_SCRIPT_RUN = re.compile(r"[^\s\x00-\x7f\u2000-\u206f\u3000-\u303f\uff00-\uff0f\u060c\u061b\u061f\u06d4]+")


def skeleton(folded: str) -> str:
    """A folded name's consonants, in the way an abjad or an abugida written in Latin
    letters keeps them: "hodan" and "hwdn" (هودن) -> "hdn"; "rojin" and "rozhyn" (ڕۆژین)
    -> "rjn"; "simranjeet" and "simrnjit" (ਸਿਮਰਨਜੀਤ) -> "smrnjt"."""
    s = folded.lower().replace(" ", "")
    for a, b in _SKELETON_DIGRAPHS:
        s = s.replace(a, b)
    s = re.sub(r"[aeiouyw]", "", s)
    return re.sub(r"(.)\1+", r"\1", s)


def _latin(ch: str) -> bool:
    import unicodedata

    return unicodedata.name(ch, "").startswith("LATIN")


def script_text_findings(raw: str, persons: list[Person]) -> list[Finding]:
    """A recorded Latin name written in another script in the text: a Chinese run whose
    syllables (anyascii's pinyin) spell a recorded name part ("李晓玲" holds "xiaoling"),
    or a word of another script whose consonants are a recorded part's ("هودن" for
    Hodan, "ਨਵਦੀਪ" for Navdeep). Flags: the reading is the coordinator's to confirm."""
    if raw.isascii():
        return []
    parts = {part: p for p in persons for part in p.parts}
    skeletons = {}
    for part, person in parts.items():
        sk = skeleton(part)
        if len(sk) >= 3:
            skeletons.setdefault(sk, person)
    found = []
    for m in _SCRIPT_RUN.finditer(raw):
        run, start = m.group(0), m.start()
        if any(_latin(c) for c in run if c.isalpha()):
            continue
        if all(_cjk(c) for c in run):
            syllables = [anyascii(c).lower() for c in run]
            for i in range(len(run)):
                for j in range(len(run), i + 1, -1):
                    person = parts.get("".join(syllables[i:j]))
                    if person is not None:
                        found.append(Finding(person.field, "name", start + i, start + j, "flag", person.role,
                                             CONFIDENCE["script_text"], "derived"))
            continue
        person = skeletons.get(skeleton(_fold(run)))
        if person is not None:
            found.append(Finding(person.field, "name", start, m.end(), "flag", person.role,
                                 CONFIDENCE["script_text"], "derived"))
    return found


# ------------------------------------------------------------------------ handles

def handle_parts(token: str, parts: Iterable[str], *, handle: bool) -> list[tuple[int, int, str]]:
    """(start, end, part) for each recorded name part (folded, >= 4 letters) inside an
    alphanumeric token. In a handle, hashtag or email (`handle`) any occurrence counts;
    in another word only where the part is bounded by the token's edge, a digit or a
    capital ("Zofia2010", "JusticeForZofia"), never inside a word ("Annex" is not
    "Anne")."""
    low = token.lower()
    out = []
    for part in parts:
        if len(part) < 4:
            continue
        for m in re.finditer(re.escape(part), low):
            s, e = m.span()
            if (s, e) == (0, len(token)):
                continue  # the whole token: the recorded form's own match
            if not handle:
                left = s == 0 or token[s - 1].isdigit() or (token[s].isupper() and token[s - 1].islower())
                right = e == len(token) or token[e].isdigit() or (token[e].isupper() and token[e - 1].islower())
                if not (left and right):
                    continue
            out.append((s, e, part))
    return out


def _in_handle(raw: str, start: int, end: int) -> bool:
    """Whether raw[start:end] lies in a handle, hashtag or email address: the run of
    non-space characters around it starts with @ or # or holds an @."""
    s = start
    while s > 0 and not raw[s - 1].isspace():
        s -= 1
    e = end
    while e < len(raw) and not raw[e].isspace():
        e += 1
    run = raw[s:e].strip("()[]<>,;:\"'")
    return run[:1] in ("@", "#") or "@" in run


# A token written as a user name: after @ or #, or letters joined by "_" or "." to more
# letters or digits ("chi_gc08", "wrobel_szymek14", "bogdan.dumi12"), or letters run into
# two digits or more ("zoewinters08").
_HANDLE_TOKEN = re.compile(r"(?<![\w@#.])(?:[@#][A-Za-z0-9_.]*[A-Za-z][A-Za-z0-9_.]*"
                           r"|[A-Za-z][A-Za-z0-9]*(?:[_.][A-Za-z0-9]+)+|[A-Za-z]{3,}[0-9]{2,})(?![\w@])")
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def handle_segments(token: str) -> list[tuple[int, int, str]]:
    """(start, end, folded) for each run of letters of a handle, camel case split
    ("JusticeForSimran" -> justice, for, simran)."""
    return [(m.start(), m.end(), m.group(0).lower()) for m in _SEGMENT.finditer(token)]


def handle_findings(raw: str, persons: list[Person]) -> list[Finding]:
    """A recorded person in a user name through a short form or a clipped surname
    ("chi_gc08" for Malachi Gayle-Campbell, "wrobel_szymek14" for Szymon Wróblewski): each
    letter run of the handle that is a short form of a recorded part (one that is also a
    word only beside the same person's initials or another of their forms), or the first
    5 letters or more of a recorded part (at least 3/5 of it, and no word)."""
    parts = {part: p for p in persons for part in p.parts}
    if not parts or not any(c in raw for c in "@#_.0123456789"):
        return []
    found = []
    table = None
    for m in _HANDLE_TOKEN.finditer(raw):
        token = m.group(0)
        table = table or _short_form_table(tuple(sorted(parts)))
        hits: list[tuple[int, int, Person, bool]] = []  # (start, end, person, needs support)
        segments = handle_segments(token)
        for s, e, seg in segments:
            if len(seg) < 3 or seg in parts:
                continue  # (a whole part: the recorded form's or the inside pass's finding)
            part = _short_form_of(seg, table)
            if part is not None and seg not in ABBREVIATIONS:
                word = seg in WORD_NAMES or is_english_word(seg) or seg in CLOSED_CLASS_WORDS
                hits.append((s, e, parts[part], word))
                continue
            if len(seg) >= 5 and not (is_english_word(seg) or is_known_word(seg)):
                for part, person in parts.items():
                    if part.startswith(seg) and 5 * len(seg) >= 3 * len(part):
                        hits.append((s, e, person, False))
                        break
        for s, e, person, needs_support in hits:
            if needs_support:
                own = {seg for _, _, seg in segments} - {token[s:e].lower()}
                letters = {(person.given[:1] + sn[:1]).lower() for sn in person.surnames}
                letters.add("".join(x[:1] for x in person.surnames).lower())
                others = any(h[2] == person and not h[3] and h[:2] != (s, e) for h in hits)
                if not (own & {anyascii(x) for x in letters} or others or own & set(person.parts)):
                    continue
            found.append(Finding(person.field, "name", m.start() + s, m.start() + e, "flag", person.role,
                                 CONFIDENCE["handle"] - 0.15, "derived"))
    return found


# ---------------------------------------------------------------- the patterned pass

# A whole capitalised word of the folded text (not part of "McDonald" or "Zofia2010").
_CAPITALISED_WORD = re.compile(r"(?<= )(?:[A-Z][a-z]+|[A-Z]{4,})(?= )")


def derived_findings(folded: Folded, persons: list[Person], exact: set[str]) -> list[Finding]:
    """Initials, misspellings and names inside handles of the recorded people in a
    text. `exact` holds every folded recorded or derived exact form (a word that is one
    is already found as written)."""
    raw = folded.raw
    found: list[Finding] = []
    all_parts = {part: p for p in persons for part in p.parts}
    for person, pattern, severity in _initials(tuple(persons)):
        for m in pattern.finditer(raw):
            found.append(Finding(person.field, "name", m.start(), m.end(), severity, person.role,
                                 CONFIDENCE["initials"] if severity == "flag" else 0.8, "derived"))
    if not all_parts:
        return found
    found += script_text_findings(raw, persons)
    found += handle_findings(raw, persons)
    cased, text = folded.cased, folded.text
    # Each distinct capitalised word is judged once (agency text repeats its words);
    # only the words that are misspellings are then found in the text.
    lengths = {len(p) for p in all_parts}
    hits: dict[str, tuple[str, int, bool]] = {}
    for word in set(_CAPITALISED_WORD.findall(cased)):
        low = word.lower()
        if low in exact or not any(abs(len(low) - n) <= 2 for n in lengths):
            continue
        hit = misspelling(low, all_parts)
        if hit is not None:
            hits[word] = hit
    # Clipped and diminutive forms ("Hodo", "Dez", "Szymek"), judged once per word too.
    table = _short_form_table(tuple(sorted(all_parts)))
    shorts: dict[str, str] = {}
    for word in set(_CAPITALISED_WORD.findall(cased)):
        low = word.lower()
        if low in exact or low in hits or word.isupper():
            continue
        part = _short_form_of(low, table)
        if part is not None and low not in all_parts:
            shorts[word] = part
    if shorts:
        pattern = re.compile(after_boundary([re.escape(h) for h in sorted(shorts, key=len, reverse=True)],
                                            before=" ") + "(?= )")
        for m in pattern.finditer(cased):
            s, e = folded.raw_span(m.start(), m.end())
            if not _short_form_counts(raw, s, m.group(0).lower(), shorts[m.group(0)], exact):
                continue
            person = all_parts[shorts[m.group(0)]]
            found.append(Finding(person.field, "name", s, e, "flag", person.role, CONFIDENCE["short_form"],
                                 "derived"))
    if hits:
        pattern = re.compile(after_boundary([re.escape(h) for h in sorted(hits, key=len, reverse=True)], before=" ")
                             + "(?= )")
        for m in pattern.finditer(cased):
            part, distance, _sounds = hits[m.group(0)]
            person = all_parts[part]
            stop = distance == 1 and len(part) >= 6 and m.group(0).lower() not in given_names()
            s, e = folded.raw_span(m.start(), m.end())
            found.append(Finding(person.field, "name", s, e, "stop" if stop else "flag", person.role,
                                 0.8 if stop else 0.6, "derived"))
    # A recorded name inside a longer word of the folded text: one pass for every part.
    inside = re.compile("|".join(re.escape(p) for p in sorted(all_parts, key=len, reverse=True)))
    for m in inside.finditer(text):
        s, e = m.span()
        if text[s - 1] == " " and text[e] == " ":
            continue  # a whole word: the recorded form's own match
        ts = text.rfind(" ", 0, s) + 1
        te = text.find(" ", e)
        token = cased[ts:te]
        rs, re_ = folded.raw_span(s, e)
        handle = _in_handle(raw, rs, re_)
        if not handle_parts(token, [m.group(0)], handle=handle):
            continue
        part = m.group(0)
        person = all_parts[part]
        digits = (s > ts and text[s - 1].isdigit()) or text[e].isdigit()
        severity = "stop" if (handle or digits) and not _is_word(part) else "flag"
        found.append(Finding(person.field, "name", rs, re_, severity, person.role,
                             CONFIDENCE["handle"], "derived"))
    return found


# ------------------------------------------------------------- derived identifiers

@functools.lru_cache(maxsize=200_000)
def _folded(value: str) -> str:
    return _fold(value).strip()


@functools.lru_cache(maxsize=200_000)
def _name_forms(value: str) -> tuple[tuple[str, str], ...]:
    """(form, how) for one recorded name: other scripts; for a one-word name, its
    nicknames and its Welsh mutations that are neither words nor given names. Names
    repeat across a year's cases: each is worked out once."""
    forms = [(f, "script") for f in sorted(script_forms(value))]
    words = _folded(value).split()
    if len(words) == 1:
        forms += [(f, "nickname") for f in sorted(nickname_forms(words[0]))]
        forms += [(f, "mutation") for f in sorted(welsh_mutations(words[0]))
                  if not _is_word(f) and f not in given_names()]
    return tuple(forms)


def derived_identifiers(identifiers) -> list[Identifier]:
    """The exact forms derived from a case's recorded identifiers, as identifiers of
    layer "derived" carrying the recorded one's field and role: nicknames, Welsh
    mutations and other scripts of each recorded name part, a street without its road
    word, a recorded date in Welsh. Forms that are recorded themselves are left out."""
    # (A derived form that is also recorded is found twice at one place; the gate keeps
    # the recorded finding: see gate._drop_derived_covered.)
    out: dict[tuple[str, str, str], Identifier] = {}

    def add(ident: Identifier, form: str, kind: str, how: str) -> None:
        if not form:
            return
        key = (ident.field, form, how)
        if key not in out:
            out[key] = Identifier(ident.field, form, kind, role=ident.role, layer="derived",  # type: ignore[arg-type]
                                  confidence=CONFIDENCE[how], how=how)

    # The heads a street of each whole address may be found by: not the address's other
    # lines (its building, its town). Worked out once per whole address.
    heads: set[tuple[str, str]] = set()
    for ident in identifiers:
        if ident.kind == "address" and re.search(r"[,\n]", ident.value or ""):
            lines = [line for line in re.split(r"[,\n]", ident.value) if line.strip()]
            others = [line for line in lines if not ROAD_WORDS & set(_fold(line).split())]
            for line in lines:
                head = street_head(re.sub(r"^\s*\d+[a-zA-Z]?\s+", "", line), others)
                if head:
                    heads.add((ident.field, head))
    for ident in identifiers:
        value = (ident.value or "").strip()
        if not value or ident.layer != "recorded":
            continue
        if ident.kind == "name":
            for form, how in _name_forms(value):
                add(ident, form, "name", how)
        elif ident.kind == "date":
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                continue
            add(ident, day.isoformat(), "date", "welsh_date")
            add(ident, day.isoformat(), "date", "foreign_date")
        elif ident.kind == "address" and len(value.split()) >= 2 and "," not in value and "\n" not in value:
            head = street_head(value)
            if head and (ident.field, head) in heads:
                add(ident, head, "address", "street")
    return list(out.values())
