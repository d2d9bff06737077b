"""The Required Action a coordinator meets links the report on its CDOP page, where it
is read in the browser (audited), rather than sending them to `cdop report export`."""

from __future__ import annotations

import importlib.util

import jinja2

from tests.conftest import ROOT


def _body() -> str:
    spec = importlib.util.spec_from_file_location("review_dag", ROOT / "dags/cdop_review_case_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return jinja2.Template(module.BODY).render(params={"case_number": "CDOP-2026-0028", "version": 2})


def test_the_required_action_links_the_report_page():
    body = _body()
    assert "(/cdop/cases/CDOP-2026-0028/reports/2)" in body
    assert "(/cdop/cases/CDOP-2026-0028#report)" in body
    assert "report export" not in body
