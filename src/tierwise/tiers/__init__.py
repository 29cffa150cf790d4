"""Tier ladders over time: evaluation with hysteresis, overrides, explanations, migrations.

Pure table → table functions (Ibis expressions); no I/O.
"""
