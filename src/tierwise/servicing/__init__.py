"""Tiered servicing: business calendars, assignment, task generation, messages, compliance.

Pure functions over Arrow tables and the policy (no I/O); the application layer
(:mod:`tierwise.app.servicing`) reads snapshots, canonical tables and the store, calls them and
writes the results in one transaction.
"""
