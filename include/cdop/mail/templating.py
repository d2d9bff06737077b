"""The one Jinja2 environment: templates in include/templates, StrictUndefined everywhere."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cdop.config import PROJECT_ROOT
from cdop.wording import nhs_number, plural

TEMPLATES = PROJECT_ROOT / "include" / "templates"


def _long_date(value: dt.date | None) -> str:
    return "" if value is None else f"{value.day} {value:%B %Y}"


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    """Jinja's environment, reading `row.field` of a plain dict as its item at once.

    Jinja tries `row.field` as an attribute before an item, so on a dict every lookup of
    a key first raises and catches an AttributeError: on the meetings page (12 meetings,
    96 agenda lines) that was two thirds of the render. A name that is an attribute of
    dict (`values.get`, `counts.items`) is still the attribute, whatever keys the dict
    holds, so every lookup gives what Jinja's own would."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = _Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "htm", "xml", "html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # The templates ship with the code: no stat() of each template (and of each one
        # it extends or imports) at every render to see whether it changed.
        auto_reload=False,
    )
    env.filters["long_date"] = _long_date
    env.filters["plural"] = plural
    env.filters["nhs_number"] = nhs_number
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)


def template_path(name: str) -> Path:
    return TEMPLATES / name
