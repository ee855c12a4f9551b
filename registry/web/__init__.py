"""The web: request hooks, the views (one blueprint per area), the JSON API's OpenAPI description,
/health and /metrics, and gunicorn's configuration."""
