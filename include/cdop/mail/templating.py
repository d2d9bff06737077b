"""The one Jinja2 environment: templates in include/templates, StrictUndefined everywhere."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cdop.config import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "include" / "templates"


def _long_date(value: dt.date | None) -> str:
    return "" if value is None else f"{value.day} {value:%B %Y}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
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
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)


def template_path(name: str) -> Path:
    return TEMPLATES / name
