"""Charts (matplotlib, Agg backend) drawn from the *published* tables: a suppressed
count is never drawn as a bar; it is shown as the marker, and a rounded count is drawn
rounded, so a chart cannot reveal what its table hides. Each chart draws the table it
sits beside (the pooled one where the report gives one)."""

from __future__ import annotations

import io

from cdop.annual_report.content import ReportContent
from cdop.annual_report.disclosure import MARKER, Table

COLOURS = ("#1d4f91", "#8fb3e0", "#c4571b")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                         "svg.hashsalt": "cdop", "figure.dpi": 100})
    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    # No timestamp or software metadata: the same figures give the same bytes.
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def _bars(ax, positions, table: Table, cells, colour, horizontal: bool, width: float = 0.8,
          offset: float = 0.0):
    values = [table.published_value(c) for c in cells]
    top = max([v for v in values if v is not None] + [1])
    for pos, value in zip(positions, values, strict=True):
        p = pos + offset
        if value is None:
            # Hidden: no bar, only the marker at the base line.
            if horizontal:
                ax.text(top * 0.01, p, MARKER, va="center", ha="left", color="#555555")
            else:
                ax.text(p, top * 0.01, MARKER, ha="center", va="bottom", color="#555555")
            continue
        if horizontal:
            ax.barh(p, value, height=width, color=colour)
            ax.text(value + top * 0.01, p, str(value), va="center", ha="left", fontsize=8)
        else:
            ax.bar(p, value, width=width, color=colour)
            ax.text(p, value + top * 0.01, str(value), ha="center", va="bottom", fontsize=8)
    return top


def trend_chart(content: ReportContent) -> bytes:
    plt = _pyplot()
    table = content.table("trend")
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    xs = list(range(len(table.rows)))
    top = 1
    for column, colour in enumerate(COLOURS[:2]):
        cells = [(r, column) for r in xs]
        top = max(top, _bars(ax, xs, table, cells, colour, False, width=0.38,
                             offset=-0.2 + 0.4 * column))
    ax.set_xticks(xs, table.rows)
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel("Number")
    ax.legend([plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS[:2]], table.columns,
              frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    ax.set_title("Deaths notified and reviews completed, by year ending 31 March", fontsize=9)
    return _png(fig)


def _total_column(table: Table) -> int:
    return len(table.columns) if table.row_totals else 0


def _beside(content: ReportContent, table_id: str) -> Table:
    """The table a chart sits beside in the report: the pooled one where the year's is
    given pooled as well (the text reports the pooled figures), else the year's."""
    pooled = content.pooled.get(table_id)
    return content.table(pooled) if pooled and content.has(pooled) else content.table(table_id)


def _span(table: Table) -> str:
    return f", {table.title.rsplit(', ', 1)[-1]} pooled" if table.id.endswith("_pooled") else ""


def category_chart(content: ReportContent) -> bytes:
    plt = _pyplot()
    table = _beside(content, "category")
    labels = [_wrap(label) for label in table.rows]
    fig, ax = plt.subplots(figsize=(6.4, 0.34 * len(labels) + 0.8))
    ys = list(range(len(labels)))[::-1]
    top = _bars(ax, ys, table, [(r, _total_column(table)) for r in range(len(labels))],
                COLOURS[0], True)
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, top * 1.18)
    ax.set_xlabel("Reviews completed")
    ax.set_title(f"Reviews completed by category of death{_span(table)}", fontsize=9)
    return _png(fig)


def age_chart(content: ReportContent) -> bytes:
    plt = _pyplot()
    table = _beside(content, "age_band")
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    xs = list(range(len(table.rows)))
    top = _bars(ax, xs, table, [(r, _total_column(table)) for r in xs], COLOURS[0], False)
    # "10-14 years" over its unit: six bands side by side would otherwise touch.
    ax.set_xticks(xs, [label.replace(" ", "\n", 1) for label in table.rows])
    ax.set_ylim(0, top * 1.18)
    ax.set_ylabel("Reviews completed")
    ax.set_title(f"Reviews completed by age at death{_span(table)}", fontsize=9)
    return _png(fig)


def _wrap(label: str, width: int = 48) -> str:
    if len(label) <= width:
        return label
    cut = label.rfind(" ", 0, width)
    return label[:cut] + "\n" + _wrap(label[cut + 1:], width)


def all_charts(content: ReportContent) -> dict[str, bytes]:
    """Every chart as PNG bytes, by name."""
    return {"trend": trend_chart(content), "category": category_chart(content),
            "age_band": age_chart(content)}
