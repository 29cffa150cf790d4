"""Ingest: read sources, map their columns onto canonical tables, validate, quarantine, reconcile.

Nothing here imports an engine: functions take an open DuckDB connection from
:mod:`tierwise.engine` and run SQL on it, so parsing millions of rows stays vectorised.
"""
