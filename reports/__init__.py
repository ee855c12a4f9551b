"""Aggregation (pandas) and charts (plotly): pure functions, no request objects."""
