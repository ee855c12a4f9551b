"""Reporting: the report tables kept up to date by every write (upkeep), read back as frames for the pure
code in reports/ (sources), published in releases, and served through the report cache (cached_reports).
The arithmetic itself lives in reports/; this room moves rows in and out of it."""
