"""Pure report computation: frames and plain values in, dataclasses, frames and figures out.

Nothing here imports Flask, SQLAlchemy or the models (tests/test_layout.py checks it): the
registry's report_sources read the tables, cached_reports serves the results to the views.
"""
