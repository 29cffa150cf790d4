"""Reports of a run: the numbers, the charts and the files people open.

Pure code: tables and policy facts in, figures, HTML text or an Excel stream out. Reading
snapshots and the store, and writing files atomically, is the application layer's job
(:mod:`tierwise.app.report`, :mod:`tierwise.app.export`).

* :mod:`~tierwise.reports.tables`: the numbers behind every section (tier counts, Pareto
  curve, RFM grid, lifecycle funnel, CLV distribution, candidate summaries);
* :mod:`~tierwise.reports.figures`: Plotly figures of those numbers;
* :mod:`~tierwise.reports.html`: one self-contained HTML file (Jinja2, Plotly's JS once);
* :mod:`~tierwise.reports.workbook`: formatted ``.xlsx`` sheets, streamed and split at
  Excel's row limit.
"""
