"""The platform every room stands on: the database session and column types, settings, the shared cache,
CSRF, logs, pagination, backups and the erasure journal. It knows no table and no feature."""
