"""One self-contained HTML file for a run: Jinja2 (autoescaped), inline CSS, Plotly's JS once.

:func:`render_report` takes the report data assembled by :mod:`tierwise.app.report`
(plain dicts, see :class:`ReportData`) and returns the HTML text. Each chart is a
``<div>`` plus a small inline script calling ``Plotly.newPlot``; the Plotly library
itself is embedded a single time at the top of the body. Nothing is fetched from the
network when the file is opened.

Numbers that tests and people check carry ``data-key`` and ``data-value`` attributes
(the displayed text is formatted; ``data-value`` is the exact figure).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import jinja2
import plotly.io as pio
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from tierwise.i18n import t
from tierwise.reports import figures

CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


@dataclass
class ReportData:
    """Everything a report shows; each section is ``None`` when the run has no such data."""

    meta: dict                                  # run_id, as_of, policy, currency, generated, preset, workspace
    labels: dict[str, dict[str, dict[str, str]]]  # column → id → {locale: label}
    levels: list[str] = field(default_factory=list)
    summary: dict | None = None
    tier_counts: list[dict] | None = None
    history: list[dict] | None = None
    migration: dict | None = None
    rfm: dict | None = None                     # grid, monetary, bins
    segments: list[dict] = field(default_factory=list)  # {column, title, rows}
    pareto: dict | None = None
    lifecycle: list[dict] | None = None
    clv: dict | None = None
    validation: dict | None = None
    candidates: dict | None = None
    service: dict | None = None                 # {columns, rows} or None
    quality: dict | None = None                 # {imports, data_version}


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("tierwise.reports", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(n=fmt_int, money=fmt_money, pct=fmt_pct, num=fmt_num)
    return env


def fmt_int(v) -> str:
    """
    >>> fmt_int(1234567), fmt_int(None)
    ('1,234,567', '—')
    """
    return "—" if v is None else f"{int(v):,}"


def fmt_money(v, digits: int = 0) -> str:
    """
    >>> fmt_money(1234567.891), fmt_money(12.5, 2)
    ('1,234,568', '12.50')
    """
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{digits}f}"


def fmt_pct(v, digits: int = 1) -> str:
    """
    >>> fmt_pct(0.1234)
    '12.3%'
    """
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}%}"


def fmt_num(v, digits: int = 3) -> str:
    """Significant figures for model parameters and small means.

    >>> fmt_num(0.000123456), fmt_num(2.5)
    ('0.000123', '2.5')
    """
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def _figure(fig, div_id: str) -> Markup:
    html = pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id, config=CONFIG,
                       default_width="100%")
    return Markup(html)  # noqa: S704 - plotly escapes every string it embeds (\u003c for "<")


def labeller(labels: dict, locale: str) -> Callable[[str, str], str]:
    """``label(column, id)``: the id's label in ``locale``, or the id itself."""
    def label(column: str, value) -> str:
        if value is None:
            return "—"
        entry = labels.get(column, {}).get(str(value))
        return entry.get(locale, str(value)) if entry else str(value)
    return label


def build_figures(data: ReportData, locale: str) -> dict[str, Markup]:
    """The charts of every section that has data, as HTML fragments keyed by name."""
    label = labeller(data.labels, locale)
    cur = data.meta.get("currency", "")
    figs = {}
    if data.tier_counts:
        figs["pyramid"] = figures.tier_pyramid(data.tier_counts, lambda i: label("tier", i), locale)
    if data.history and len(data.history) > 1:
        figs["tiers_over_time"] = figures.tiers_over_time(data.history, data.levels, lambda i: label("tier", i),
                                                          locale)
    if data.migration:
        figs["migration"] = figures.migration_heatmap(data.migration, lambda i: label("tier", i), locale)
    if data.rfm:
        figs["rfm"] = figures.rfm_heatmap(data.rfm["grid"], locale, cur)
    if data.pareto:
        figs["pareto"] = figures.pareto_curve(data.pareto, locale)
    if data.lifecycle:
        figs["lifecycle"] = figures.lifecycle_funnel(data.lifecycle, lambda i: label("lifecycle", i), locale)
    if data.clv and data.clv["histogram"]["counts"]:
        figs["clv"] = figures.clv_histogram(data.clv, locale, cur)
    v = data.validation
    if v and v.get("frequency"):
        figs["frequency"] = figures.frequency_fit(v["frequency"], locale, holdout=v["kind"] == "holdout")
    if v and v.get("tracking"):
        figs["tracking"] = figures.tracking(v["tracking"], locale)
    if data.candidates and data.candidates["by_manager"]:
        figs["candidates"] = figures.candidates_by_manager(data.candidates, locale)
    for seg in data.segments:
        figs[f"seg_{seg['column']}"] = figures.segment_bars(seg["rows"], lambda i, c=seg["column"]: label(c, i),
                                                            seg["title"], locale)
    return {name: _figure(fig, f"fig-{name}") for name, fig in figs.items()}


def render_report(data: ReportData, locale: str) -> str:
    """The report as one HTML document in ``locale`` (``zh-CN`` or ``en``)."""
    try:
        pkg_version = version("tierwise")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        pkg_version = "dev"
    label = labeller(data.labels, locale)
    template = _env().get_template("report.html.j2")
    return template.render(
        d=data, locale=locale, lang="zh-CN" if locale == "zh-CN" else "en",
        tr=lambda key, **kw: t(key, locale, **kw), label=label, figs=build_figures(data, locale),
        plotly_js=Markup(get_plotlyjs()), version=pkg_version)  # noqa: S704 - the library's own bundle
