"""The word lists the gate uses to tell a name from an ordinary word.

- given_names: a maintained list of given names shipped inside a package (names-dataset's
  first names, each ranked by country in 105 countries, the list the people layer's name
  lists come from), loaded lazily and once, and kept to the names ranked high somewhere
  (so that rare entries such as "Royal" or "Avon" do not make every agency name a flag).
- WORD_NAMES: names that are also ordinary English words ("May", "Will", "Grace",
  "Hope"). A recorded name of this kind matches only where it is written as a name
  (capitalised, not the month, not the modal verb); an unrecorded one is never flagged
  on the list alone.
- COMMON_WORDS: ordinary words that never count, alone, as the distinctive part of a
  school or workplace name ("Oak Academy" is matched whole, never as "Oak").
- ORGANISATION_WORDS: words that end an organisation's or a place's name ("Hospital",
  "Police", "Suite", "Ward"): a capitalised run ending in one is a service, not a person.
- is_english_word: a common English word, from a maintained word-frequency list
  (pyspellchecker's), loaded lazily and once: a recorded name that is one ("Ståle",
  "Sow") is treated like the names that are words; a word of a place's name that is one
  ("Down" of "Combe Down Surgery") never counts alone.
- GENERIC_PLACE_WORDS: the generic words of a school or workplace name, dropped to get
  the name people actually write ("Oakfield" for "Oakfield Primary School").
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import tempfile
from collections.abc import Collection
from importlib import resources
from pathlib import Path

WORD_NAMES = frozenset("""
may june april august will grace hope faith joy rose lily ivy holly summer autumn winter
river sky skye amber ruby pearl dawn sunny mark bill rich frank earl guy pat sue ray dean
chase hunter mason miles major bishop brown white green black young king hill wood ward
lane field church park bell cook baker page hall bliss star storm rain heather iris daisy
poppy violet jasmine hazel olive sage willow robin jay wren raven fern clay reed rush
price rice cash carter fisher smith taylor parsons sterling noble new long short little
rowan heath moss stone brook brooks dale glen ford bay cliff rock sandy misty honey
sonny kit tim jack jim bob don ted penny patience prudence constance charity mercy
verity honour felicity destiny harmony melody trinity unity bliss liberty justice
precious hero lucky happy bonnie angel baby ace art jade jewel gem tiny max will
""".split())

COMMON_WORDS = frozenset("""
oak ash elm pine beech birch cedar maple willow holly the new old north south east west
upper lower great little high middle central city town village park green hill valley
river bridge church saint st all saints holy trinity christ king queen royal victoria
manor grange court castle abbey priory meadow meadows field fields wood woods grove
brook lake vale view way road street lane avenue close drive hope grace faith may will
red white black blue grey gray pink gold silver
""".split()) | WORD_NAMES

ORGANISATION_WORDS = frozenset("""
hospital hospitals trust foundation police constabulary service services team unit ward
suite room centre center clinic surgery practice school schools academy college nursery
university council county borough authority board panel partnership group department
ambulance fire rescue court coroner office agency network hospice home homes house church
chapel mosque temple synagogue library station road street lane avenue way health care
safeguarding children childrens social nhs icb gp ccg cdop ncmd trust's united general
infirmary maternity neonatal paediatric paediatrics emergency department a&e icu nicu picu
society association charity league brigade federation alliance fund appeal award awards
scheme programme scouts guides
""".split())

# Words that begin a sentence as words, whatever else they may be (a name recorded as
# "You", "Line", "This"): capitalised there, they are not written as a name.
CLOSED_CLASS_WORDS = frozenset("""
i you we he she it they me him her us them my your our his its their this that these those
a an the there here then when where why how what who whom whose which while if as so and
but or nor yet in on at to of for with by from into onto about after before during since
until through over under between among is are was were be been being do does did have has
had shall should would could must might no not yes all any some each every both either
neither one none nobody nothing also only just even still again please thank thanks
""".split())

# Two-word names of things called after someone: the recorded name followed by this word
# is the thing ("Moses basket"), never the person.
EPONYMS = frozenset("""
moses basket|down syndrome|downs syndrome|down s|apgar score|guthrie test|crohn s|crohns disease|
kawasaki disease|wilms tumour|hirschsprung disease|turner syndrome|edwards syndrome|patau syndrome|
marfan syndrome|noonan syndrome|angelman syndrome|rett syndrome|dravet syndrome|west syndrome|
asperger syndrome|tourette syndrome|reye syndrome|addison disease|cushing syndrome|bell palsy|
erb palsy|heimlich manoeuvre|valsalva manoeuvre|glasgow coma
""".replace("\n", "").split("|")) - {""}

GENERIC_PLACE_WORDS = (
    # Longest first: "Church of England" is dropped before "Church" could be.
    "church of england", "c of e", "cofe", "roman catholic", "r c", "medical centre",
    "health centre", "medical practice", "family practice", "sixth form", "high school",
    "secondary school", "primary school", "infant school", "junior school", "grammar school",
    "free school", "community school", "special school", "first school", "middle school",
    "nursery school", "pre school", "day nursery", "voluntary aided", "voluntary controlled",
    "school", "primary", "secondary", "academy", "college", "infant", "infants", "junior",
    "juniors", "nursery", "surgery", "practice", "pre-school", "preschool", "federation",
    "trust", "the", "ce", "rc", "va", "vc", "c e", "of", "and", "&", "ltd", "limited", "plc",
    "group", "partnership", "clinic", "centre", "center", "community", "studio", "studios",
)


# How often a word must occur in pyspellchecker's English frequency list (~1.6 billion
# words of subtitles and web text) to count as an ordinary word: "stale", "sow", "brook",
# "dental", "down" are; "Widcombe", "Hayesfield", "Bristol" (61), "Łukasz" are not (nor,
# whatever their count, the given names of GIVEN_NAMES).
ENGLISH_WORD_MIN_COUNT = 1000


# ------------------------------------------------------------------ loading, cached
# Building these lists from the packages' files costs about a second (2.7 million calls):
# once per process they are kept in memory, and between processes in a cache file
# (marshal, a few milliseconds to read) keyed by the versions of the packages they come
# from and of this module's rules (CACHE_FORMAT), so an upgrade rebuilds it.
CACHE_FORMAT = 4


def cache_dir() -> Path:
    """Where the gate's derived lists (word lists here, name lists in layers.name_lists)
    are cached: $CDOP_CACHE_DIR, else the user's cache folder ($XDG_CACHE_HOME or
    ~/.cache, then cdop). They come from installed packages, not from any office's data,
    so one cache serves every CDOP home of the user."""
    if os.environ.get("CDOP_CACHE_DIR"):
        return Path(os.environ["CDOP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cdop"


# The data files the lists are built from, by package: the cache is keyed by each one's
# path, size and modification time (cheaper to ask than the packages' metadata), so an
# upgrade or reinstall of any of them rebuilds it.
_SOURCE_FILES = (("names_dataset", "v3/first_names.pkl.gz"), ("spellchecker", "resources/en.json.gz"),
                 ("nicknames", "names.csv"), ("anyascii", "__init__.py"),
                 ("pycountry", "databases/iso3166-1.json"))
# The modules whose rules build the lists: keyed by their content (not their path, so two
# checkouts of the same code share one cache), so an edit of a rule rebuilds it without
# anyone remembering to raise CACHE_FORMAT.
_RULE_FILES = ("confidentiality/words.py", "confidentiality/derived.py", "confidentiality/layers/terms.py",
               "confidentiality/layers/_text.py")


def _cache_key() -> str:
    import importlib.util
    import sys

    # marshal's format belongs to the interpreter's version: a cache from another is not read.
    parts = [f"format={CACHE_FORMAT}", f"min={ENGLISH_WORD_MIN_COUNT}", f"known={KNOWN_WORD_MIN_COUNT}",
             f"ranks={ANGLOPHONE_NAME_RANK},{ANGLOPHONE_LIST_RANK},{ANY_COUNTRY_RANK}",
             f"python={sys.version_info[0]}.{sys.version_info[1]}"]
    for package, name in _SOURCE_FILES:
        spec = importlib.util.find_spec(package)
        try:
            path = Path(spec.submodule_search_locations[0]) / name  # type: ignore[union-attr]
            st = path.stat()
            parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
        except (AttributeError, IndexError, OSError, TypeError):
            parts.append(f"{package}:absent")
    parts.append(f"rules={rules_digest(Path(__file__).resolve().parents[1])}")
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def rules_digest(package: Path) -> str:
    """The content of the `_RULE_FILES` under `package` (the cdop folder), as one digest."""
    rules = hashlib.sha256()
    for name in _RULE_FILES:
        try:
            rules.update(name.encode() + b"\0" + (package / name).read_bytes() + b"\0")
        except OSError:
            rules.update(f"{name}:absent".encode())
    return rules.hexdigest()


@functools.cache
def _cache_path(name: str) -> Path:
    return cache_dir() / f"{name}-{_cache_key()}.marshal"


def cached(name: str, build):
    """`build()` (marshal-able data) read from the cache file for `name` and the current
    package versions, or built and written there (to a temporary file renamed into
    place, so two processes building at once each write a whole file and either wins).
    A cache that cannot be read or written is rebuilt in memory, never an error."""
    path = _cache_path(name)
    try:
        with open(path, "rb") as fh:
            return marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        pass
    data = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                marshal.dump(data, fh)
            os.replace(tmp, path)
            for stale in path.parent.glob(f"{name}-*.marshal"):  # an older key's copy
                if stale != path:
                    with contextlib.suppress(OSError):
                        stale.unlink()
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass  # a read-only home: the lists still work, built in each process
    return data


def cached_table(name: str, build):
    """`build()` (a dict of word -> int, or a set of words) as a memory-mapped table
    (cdop.confidentiality.mapped) in the cache, keyed as `cached` is: for a list too large
    to read whole in every process. A table that cannot be read is built again; one that
    cannot be written is kept in memory as built."""
    from cdop.confidentiality.mapped import MappedTable, write_table

    path = _cache_path(name).with_suffix(".map")
    try:
        return MappedTable(path)
    except (OSError, ValueError):
        pass
    data = build()
    try:
        write_table(path, data)
        for stale in path.parent.glob(f"{name}-*.map"):  # an older key's copy
            if stale != path:
                with contextlib.suppress(OSError):
                    stale.unlink()
        return MappedTable(path)
    except (OSError, ValueError):
        return data  # a read-only home: the list still works, built in each process


def _build_english_words() -> frozenset[str]:
    from spellchecker import SpellChecker

    frequency = SpellChecker(language="en", distance=1).word_frequency
    return frozenset(w for w, n in frequency.items() if n >= ENGLISH_WORD_MIN_COUNT)


@functools.cache
def english_words() -> frozenset[str]:
    """pyspellchecker's English words with a count >= ENGLISH_WORD_MIN_COUNT."""
    return cached("english-words", _build_english_words)


# A word of the spelling dictionary counts as a known word (never taken for a misspelt
# name) from this count: rarer words than ENGLISH_WORD_MIN_COUNT, still words.
KNOWN_WORD_MIN_COUNT = 50


def _build_spelling_words() -> frozenset[str]:
    from spellchecker import SpellChecker

    frequency = SpellChecker(language="en", distance=1).word_frequency
    return frozenset(w for w, n in frequency.items() if n >= KNOWN_WORD_MIN_COUNT and w.isalpha())


@functools.cache
def spelling_words() -> Collection[str]:
    """Every word of pyspellchecker's English list seen at least KNOWN_WORD_MIN_COUNT
    times (names among them: "roma", "moses"): ~150,000 words, so a memory-mapped table
    (asked word by word) rather than a set read whole in each process."""
    return cached_table("spelling-words", _build_spelling_words)


def is_known_word(word: str) -> bool:
    """A word of the spelling list that is not a given name in Great Britain, Ireland or
    the USA: what a capitalised word must not be to be read as a misspelt name."""
    return word in spelling_words() and not _name_list().get(word, False)


# The given-name list from names-dataset's first names and their rank in each country:
# a name is listed when it ranks within the first ANGLOPHONE_LIST_RANK of Great Britain,
# Ireland or the USA, or within the first ANY_COUNTRY_RANK of any country; it counts
# as a given name in those three (so never as an ordinary English word: "Jason", "Theodore")
# within the first ANGLOPHONE_NAME_RANK there. The data set is large and noisy (its lower
# ranks hold words: "Rainbow", "Law", "Wisdom" rank in the first 200 of some country), so
# the ranks are kept tight; benchmarks/gate_corpus.py measured the choice.
ANGLOPHONE_COUNTRIES = ("GB", "IE", "US")
ANGLOPHONE_NAME_RANK = 2000
ANGLOPHONE_LIST_RANK = 2500
ANY_COUNTRY_RANK = 100


def _build_name_list() -> dict[str, bool]:
    import gzip
    import pickle

    from anyascii import anyascii

    # names-dataset's own data file (about 40 seconds to read: done once, then cached).
    source = resources.files("names_dataset").joinpath("v3/first_names.pkl.gz")
    with source.open("rb") as raw, gzip.open(raw) as fh:
        data = pickle.load(fh)  # noqa: S301 -- the package's data file, pinned by version and hash
    names: dict[str, bool] = {}
    for name, info in data.items():
        ranks = info.get("rank") or {}
        if not ranks or " " in name.strip():
            continue
        anglophone = min((ranks[c] for c in ANGLOPHONE_COUNTRIES if c in ranks), default=None)
        listed = (anglophone is not None and anglophone <= ANGLOPHONE_LIST_RANK) \
            or min(ranks.values()) <= ANY_COUNTRY_RANK
        if listed:
            folded = anyascii(name).lower()
            if len(folded) >= 3 and folded.isalpha():
                is_anglophone = anglophone is not None and anglophone <= ANGLOPHONE_NAME_RANK
                names[folded] = names.get(folded, False) or is_anglophone
    return names


@functools.cache
def _name_list() -> dict[str, bool]:
    """Folded given names ranked high somewhere (see ANGLOPHONE_LIST_RANK and
    ANY_COUNTRY_RANK), each saying whether it is one in Great Britain, Ireland or the USA
    (ANGLOPHONE_NAME_RANK)."""
    return cached("given-names", _build_name_list)


@functools.cache
def given_names() -> frozenset[str]:
    """Folded given names ranked high somewhere (see _name_list), ordinary words and
    organisation words left out."""
    return frozenset(_name_list()) - COMMON_WORDS - ORGANISATION_WORDS


def is_english_word(word: str) -> bool:
    """Whether a folded word is a common English word (pyspellchecker's English list) and
    not a given name in Great Britain, Ireland or the USA: subtitles say "Theodore" and
    "Jason" often, but they are names; the Norwegian "Ståle" folds to the word "stale"."""
    return word in english_words() and not _name_list().get(word, False)
