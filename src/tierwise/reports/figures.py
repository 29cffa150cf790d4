"""Plotly figures of a run's numbers (see :mod:`tierwise.reports.tables`).

Each function takes the numbers and a ``label`` function (id → text in the report's
language) and returns a :class:`plotly.graph_objects.Figure`; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go

from tierwise.i18n import t

Label = Callable[[str], str]

FONT = "Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, Helvetica Neue, Arial, sans-serif"
PALETTE = ["#1f4e79", "#2e75b6", "#5b9bd5", "#9dc3e6", "#f4b183", "#c55a11", "#7f6000", "#548235", "#a9d18e",
           "#7030a0"]
ACTUAL, PREDICTED = "#1f4e79", "#c55a11"


def _layout(fig: go.Figure, title: str, *, height: int = 380, **kw) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "font": {"size": 15}}, template="plotly_white",
                      font={"family": FONT, "size": 12}, height=height,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend={"orientation": "h", "y": -0.18}, **kw)
    return fig


def tier_pyramid(counts: list[dict], label: Label, locale: str) -> go.Figure:
    """Customers per tier, the highest tier on top."""
    rows = list(reversed(counts))
    colors = [PALETTE[i % len(PALETTE)] for i in reversed(range(len(rows)))]  # as in the stacked bars
    fig = go.Figure(go.Funnel(y=[label(r["tier"]) for r in rows], x=[r["customers"] for r in rows],
                              textinfo="value+percent total", marker={"color": colors},
                              connector={"line": {"color": "#d0d0d0"}}))
    return _layout(fig, t("report.chart.pyramid", locale))


def tiers_over_time(history: list[dict], levels: list[str], label: Label, locale: str) -> go.Figure:
    """Stacked customers per tier at every run in force."""
    x = [h["as_of"] for h in history]
    fig = go.Figure()
    for i, lv in enumerate(levels):
        fig.add_bar(name=label(lv), x=x, y=[h["tiers"].get(lv, 0) for h in history],
                    marker_color=PALETTE[i % len(PALETTE)])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    return _layout(fig, t("report.chart.tiers_over_time", locale), yaxis_title=t("customers", locale))


def migration_heatmap(mm: dict, label: Label, locale: str) -> go.Figure:
    """Counts of customers from each tier (rows, previous run) to each tier (columns, this run)."""
    levels = mm["levels"]
    names = [label(lv) if lv != "(none)" else t("report.none_tier", locale) for lv in levels]
    z = [[mm["counts"][r][c] for c in levels] for r in levels]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", text=[[f"{v:,}" for v in row] for row in z],
                               texttemplate="%{text}", hovertemplate="%{y} → %{x}: %{z:,}<extra></extra>",
                               showscale=False))
    fig.update_yaxes(autorange="reversed", title=t("report.from_run", locale, as_of=mm["from"]["as_of"]))
    fig.update_xaxes(title=t("report.to_run", locale, as_of=mm["to"]["as_of"]))
    return _layout(fig, t("report.chart.migration", locale), height=420)


def rfm_heatmap(grid: dict, locale: str, currency: str) -> go.Figure:
    """Customers per (R, F) score cell; hover shows the mean monetary value."""
    scores = [str(s) for s in grid["scores"]]
    z = grid["counts"]
    means = [["—" if m is None else f"{m:,.0f}" for m in row] for row in grid["mean_monetary"]]
    fig = go.Figure(go.Heatmap(z=z, x=scores, y=scores, colorscale="YlGnBu", customdata=means,
                               text=[[f"{v:,}" for v in row] for row in z], texttemplate="%{text}",
                               hovertemplate="R=%{y} F=%{x}: %{z:,} · M %{customdata} " + currency + "<extra></extra>",
                               colorbar={"title": t("customers", locale)}))
    fig.update_xaxes(title=t("report.f_score", locale), type="category")
    fig.update_yaxes(title=t("report.r_score", locale), type="category")
    return _layout(fig, t("report.chart.rfm", locale), height=400)


def pareto_curve(p: dict, locale: str) -> go.Figure:
    """Cumulative share of value against the share of customers, with the 20 % mark."""
    fig = go.Figure()
    fig.add_scatter(x=p["x"], y=p["y"], mode="lines", name=t("report.pareto_curve", locale),
                    line={"color": ACTUAL, "width": 3}, fill="tozeroy", fillcolor="rgba(46,117,182,0.12)")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=t("report.equal_line", locale),
                    line={"color": "#999", "dash": "dot"})
    fig.add_scatter(x=[0.2], y=[p["top20_share"]], mode="markers+text", marker={"size": 10, "color": PREDICTED},
                    text=[f"20% → {p['top20_share']:.1%}"], textposition="bottom right", showlegend=False)
    fig.update_xaxes(tickformat=".0%", title=t("report.customer_share", locale), range=[0, 1])
    fig.update_yaxes(tickformat=".0%", title=t("report.value_share", locale), range=[0, 1.02])
    return _layout(fig, t("report.chart.pareto", locale))


def lifecycle_funnel(rows: list[dict], label: Label, locale: str) -> go.Figure:
    """Customers per lifecycle stage, in stage order."""
    fig = go.Figure(go.Funnel(y=[label(r["stage"]) for r in rows], x=[r["customers"] for r in rows],
                              textinfo="value+percent total", marker={"color": PALETTE[1]}))
    return _layout(fig, t("report.chart.lifecycle", locale))


def clv_histogram(dist: dict, locale: str, currency: str) -> go.Figure:
    """Customers per CLV bin (log-spaced bins)."""
    edges, counts = dist["histogram"]["edges"], dist["histogram"]["counts"]
    names = [f"{_short(a)}–{_short(b)}" for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure(go.Bar(x=names, y=counts, marker_color=PALETTE[1],
                           hovertemplate="%{x} " + currency + ": %{y:,}<extra></extra>"))
    fig.update_xaxes(title=f"CLV ({currency})", type="category", tickangle=-40)
    fig.update_yaxes(title=t("customers", locale))
    return _layout(fig, t("report.chart.clv", locale), height=400)


def _short(v: float) -> str:
    """3 significant figures with k/M/B suffixes.

    >>> _short(1234.5), _short(2_500_000), _short(0.5)
    ('1.23k', '2.5M', '0.5')
    """
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def frequency_fit(rows: list[dict], locale: str, *, holdout: bool) -> go.Figure:
    """Actual vs predicted repeat purchases by frequency (holdout) or customers by frequency (in-sample)."""
    x = [f"{r['x']}+" if r.get("open_ended") else str(r["x"]) for r in rows]
    fig = go.Figure()
    fig.add_bar(name=t("report.actual", locale), x=x, y=[r["actual"] for r in rows], marker_color=ACTUAL)
    fig.add_bar(name=t("report.predicted", locale), x=x, y=[r["predicted"] for r in rows], marker_color=PREDICTED)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title=t("report.calibration_frequency" if holdout else "report.frequency",
                                                locale))
    fig.update_yaxes(title=t("report.mean_holdout_purchases" if holdout else "customers", locale))
    return _layout(fig, t("report.chart.frequency_holdout" if holdout else "report.chart.frequency_in_sample",
                          locale))


def tracking(rows: list[dict], locale: str) -> go.Figure:
    """Cumulative repeat purchases of the calibration cohort at each later run: actual vs predicted."""
    x = [r["as_of"] for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=x, y=[r["actual"] for r in rows], mode="lines+markers", name=t("report.actual", locale),
                    line={"color": ACTUAL, "width": 3})
    fig.add_scatter(x=x, y=[r["predicted"] for r in rows], mode="lines+markers",
                    name=t("report.predicted", locale), line={"color": PREDICTED, "dash": "dash", "width": 3})
    fig.update_yaxes(title=t("report.cumulative_repeat", locale))
    return _layout(fig, t("report.chart.tracking", locale))


def candidates_by_manager(summary: dict, locale: str) -> go.Figure:
    """Near and potential candidates of the managers with the most candidates."""
    rows = summary["by_manager"]
    x = [r["manager_id"] for r in rows]
    fig = go.Figure()
    fig.add_bar(name=t("report.near", locale), x=x, y=[r["near"] for r in rows], marker_color=ACTUAL)
    fig.add_bar(name=t("report.potential", locale), x=x, y=[r["potential"] for r in rows], marker_color=PALETTE[4])
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title=t("report.manager", locale))
    fig.update_yaxes(title=t("report.candidates", locale))
    return _layout(fig, t("report.chart.candidates", locale))


def segment_bars(rows: list[dict], label: Label, title: str, locale: str) -> go.Figure:
    """Customers and share of value per segment (a summary table of a classification)."""
    x = [label(str(r["segment"])) for r in rows]
    fig = go.Figure()
    fig.add_bar(name=t("customers", locale), x=x, y=[r["customers"] for r in rows], marker_color=PALETTE[1])
    if any(r.get("revenue_share") is not None for r in rows):   # lead grades have no revenue
        fig.add_scatter(name=t("revenue_share", locale), x=x, y=[r.get("revenue_share") or 0 for r in rows],
                        yaxis="y2", mode="markers", marker={"color": PREDICTED, "size": 10, "symbol": "diamond"})
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "showgrid": False,
                                  "rangemode": "tozero"})
    fig.update_xaxes(type="category")
    return _layout(fig, title)
