"""Tests of tierwise.reports (pure) and the shared demo workspace of the report tests."""
