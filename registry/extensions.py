"""Flask extensions, created unbound and initialised in the application factory."""

from flask import current_app
from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from registry.csrf import SameOriginCSRFProtect
from registry.database import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = SameOriginCSRFProtect()
login_manager = LoginManager()
cache = Cache()
mail = Mail()
compress = Compress()
# Keyed by the client's address; behind a proxy, REGISTRY_PROXY_FIX makes that the real client's.
limiter = Limiter(key_func=get_remote_address)


def limit_setting(name: str):
    """A limit read from the setting name when a request comes, so each app's configuration applies."""
    return lambda: current_app.config[name]


# One budget for every experience and doctor-rating submission (POST) from an address.
submit_limit = limiter.shared_limit(limit_setting("RATELIMIT_SUBMIT"), scope="submit", methods=["POST"])
