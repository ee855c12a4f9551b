"""Blueprints, one per area; each view parses, calls the domain and renders."""
