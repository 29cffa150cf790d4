"""Plotly figure specs (data + layout as JSON) for the dashboard and customer 360.

The pages embed them as ``<script type="application/json">`` blocks; ``/static/app.js`` draws
them with the one plotly.js served from the ``plotly`` package (no inline script, no CDN).
"""

from __future__ import annotations

from tierwise.i18n import t

PALETTE = ["#9aa5b1", "#d4a72c", "#7b8794", "#3e7cb1", "#5b2a86", "#2f855a", "#c05621", "#b83280"]
BASE = {"margin": {"l": 50, "r": 20, "t": 36, "b": 40}, "height": 300, "font": {"family": "Noto Sans CJK SC, sans-serif",
                                                                            "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}


def _layout(title: str, **kw) -> dict:
    return {**BASE, "title": {"text": title, "font": {"size": 14}}, **kw}


def tier_name(d: dict, tier: str, loc: str) -> str:
    return d["tier_labels"].get(tier, {}).get(loc, tier)


def pyramid(d: dict, loc: str) -> dict:
    rows = d["pyramid"][::-1]                      # top tier on top
    names = [tier_name(d, r["tier"], loc) for r in rows]
    n = [r["customers"] for r in rows]
    return {"data": [{"type": "funnel", "y": names, "x": n, "textinfo": "value+percent total",
                      "marker": {"color": PALETTE[:len(n)][::-1]}}],
            "layout": _layout(t("web.chart.pyramid", loc), yaxis={"automargin": True})}


def distribution(d: dict, loc: str) -> dict:
    dates = [r["as_of"] for r in d["distribution"]]
    traces = [{"type": "bar", "name": tier_name(d, lv, loc), "x": dates,
               "y": [r["tiers"].get(lv, 0) for r in d["distribution"]], "marker": {"color": PALETTE[i % 8]}}
              for i, lv in enumerate(d["levels"])]
    return {"data": traces, "layout": _layout(t("web.chart.distribution", loc), barmode="stack",
                                              xaxis={"type": "category"}, legend={"orientation": "h"})}


def migration(d: dict, loc: str) -> dict | None:
    m = d.get("migration")
    if not m:
        return None
    names = [tier_name(d, x, loc) if x != "(none)" else t("web.none", loc) for x in m["levels"]]
    z = [[m["counts"][r][c] for c in m["levels"]] for r in m["levels"]]
    return {"data": [{"type": "heatmap", "x": names, "y": names, "z": z, "colorscale": "Blues", "reversescale": True, "texttemplate": "%{z}",
                      "hovertemplate": "%{y} → %{x}: %{z}<extra></extra>"}],
            "layout": _layout(t("web.chart.migration", loc, a=m["from"]["as_of"], b=m["to"]["as_of"]),
                              margin={"l": 90, "r": 20, "t": 36, "b": 60},
                              yaxis={"autorange": "reversed", "automargin": True}, xaxis={"automargin": True})}


def rfm(d: dict, loc: str) -> dict | None:
    cells = d.get("rfm")
    if not cells:
        return None
    rs = sorted({c["r"] for c in cells})
    fs = sorted({c["f"] for c in cells})
    z = [[next((c["customers"] for c in cells if c["r"] == r and c["f"] == f), 0) for r in rs] for f in fs]
    return {"data": [{"type": "heatmap", "x": [f"R{r}" for r in rs], "y": [f"F{f}" for f in fs], "z": z,
                      "colorscale": "YlOrRd", "reversescale": True, "texttemplate": "%{z}"}],
            "layout": _layout(t("web.chart.rfm", loc))}


def pareto(d: dict, loc: str) -> dict | None:
    p = d.get("pareto")
    if not p:
        return None
    return {"data": [{"type": "scatter", "mode": "lines", "x": [0] + [r["customers_share"] for r in p],
                      "y": [0] + [r["revenue_share"] for r in p], "line": {"color": "#3e7cb1"},
                      "name": t("web.chart.pareto", loc)},
                     {"type": "scatter", "mode": "lines", "x": [0, 1], "y": [0, 1], "line": {"dash": "dot",
                                                                                          "color": "#9aa5b1"},
                      "showlegend": False}],
            "layout": _layout(t("web.chart.pareto", loc), xaxis={"tickformat": ".0%",
                                                                 "title": {"text": t("web.share_customers", loc)}},
                              yaxis={"tickformat": ".0%", "title": {"text": t("web.share_revenue", loc)}},
                              showlegend=False)}


def clv(d: dict, loc: str) -> dict | None:
    h = d.get("clv")
    if not h or not h.get("counts"):
        return None
    e = h["edges"]
    mids = [(a + b) / 2 for a, b in zip(e, e[1:])]
    return {"data": [{"type": "bar", "x": mids, "y": h["counts"], "marker": {"color": "#2f855a"},
                      "width": (e[1] - e[0]) * 0.95 if len(e) > 1 else None}],
            "layout": _layout(t("web.chart.clv", loc), xaxis={"title": {"text": "CLV"}},
                              yaxis={"title": {"text": t("web.customers", loc)}})}


def history(c: dict, loc: str) -> dict | None:
    h = c["history"]
    if not h:
        return None
    e = c["explanation"]
    return {"data": [{"type": "scatter", "mode": "lines+markers", "x": [r["as_of"] for r in h],
                      "y": [r["tier_metric"] for r in h], "name": e.get("metric", ""),
                      "text": [e.get("labels", {}).get(r["tier"], {}).get(loc, r["tier"]) for r in h],
                      "hovertemplate": "%{x}: %{y:,.0f} (%{text})<extra></extra>"}],
            "layout": _layout(t("web.chart.metric_history", loc, metric=e.get("metric", "")), height=260,
                              xaxis={"type": "category"})}


def dashboard_charts(d: dict, loc: str, cohort: dict | None = None) -> dict:
    figs = {"pyramid": pyramid(d, loc), "distribution": distribution(d, loc), "migration": migration(d, loc),
            "rfm": rfm(d, loc), "pareto": pareto(d, loc), "clv": clv(d, loc), "cohorts": cohorts(cohort, loc)}
    return {k: v for k, v in figs.items() if v}


def cohorts(c: dict | None, loc: str) -> dict | None:
    """Cohort retention heatmap: first-purchase month × months after, share still purchasing."""
    rows = (c or {}).get("cohorts") or []
    if not rows:
        return None
    width = max(len(r["retention"]) for r in rows)
    z = [[(r["retention"][k] if k < len(r["retention"]) else None) for k in range(width)] for r in rows]
    text = [[(f"{v:.0%}" if v is not None else "") for v in line] for line in z]
    return {"data": [{"type": "heatmap", "x": [f"+{k}" for k in range(width)],
                      "y": [f"{r['cohort']} ({r['size']})" for r in rows], "z": z, "text": text,
                      "texttemplate": "%{text}", "colorscale": "Greens", "reversescale": True, "zmin": 0, "zmax": 1,
                      "showscale": False,
                      "hovertemplate": "%{y} %{x}: %{text}<extra></extra>"}],
            "layout": _layout(t("web.chart.cohorts", loc), margin={"l": 110, "r": 20, "t": 36, "b": 50},
                              xaxis={"title": {"text": t("web.months_after", loc)}, "type": "category"},
                              yaxis={"autorange": "reversed", "type": "category", "automargin": True})}


def segments(s: dict, loc: str, links: list[str]) -> dict | None:
    """Customers per segment (bars link to the drill-down)."""
    rows = s.get("segments") or []
    if not rows:
        return None
    names = [(r["label"] or {}).get(loc) or (r["segment"] if r["segment"] is not None else t("web.none", loc))
             for r in rows]
    return {"data": [{"type": "bar", "x": names, "y": [r["customers"] for r in rows], "customdata": links,
                      "marker": {"color": "#3e7cb1"}, "hovertemplate": "%{x}: %{y}<extra></extra>"}],
            "layout": _layout(t("web.chart.segments", loc, column=s["column"]), xaxis={"type": "category",
                                                                                       "automargin": True}),
            "links": True}


def whatif(r: dict, names: dict, loc: str) -> dict:
    """Migration matrix current tier → proposed tier."""
    label = lambda x: t("web.none", loc) if x == "(none)" else names.get(x, x)  # noqa: E731
    z = [[r["counts"][a][b] for b in r["columns"]] for a in r["rows"]]
    return {"data": [{"type": "heatmap", "x": [label(x) for x in r["columns"]], "y": [label(x) for x in r["rows"]],
                      "z": z, "texttemplate": "%{z}", "colorscale": "Blues", "reversescale": True,
                      "showscale": False, "hovertemplate": "%{y} → %{x}: %{z}<extra></extra>"}],
            "layout": _layout(t("web.chart.whatif", loc), margin={"l": 100, "r": 20, "t": 36, "b": 60},
                              xaxis={"title": {"text": t("web.proposed", loc)}, "automargin": True},
                              yaxis={"title": {"text": t("web.current", loc)}, "autorange": "reversed",
                                     "automargin": True})}
