"""The figures a child death review partnership board is judged on, in the browser:
completeness and timeliness by year and returns by agency (counts only, no case)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from cdop_airflow.ops_app.common import FIGURES, Access, SettingsDep, TodayDep, render_page, route

ACCESS: Access = {
    # Counts only, as /figures: no case number, no case detail.
    "/figures/board": {"GET": FIGURES},
}


def routes(app: FastAPI) -> None:
    @route(app, "GET", "/figures/board", response_class=HTMLResponse)
    def board_figures_page(request: Request, settings: SettingsDep, today: TodayDep):
        """Completeness and timeliness by report year, and returns by agency."""
        from cdop.store.db import unit_of_work
        from cdop.views.board import board_page

        with unit_of_work(settings) as uow:
            figures = board_page(uow.session, today)
        return render_page(request, "board.html.j2", active="figures/board", today=today, **figures)
