"""Flask extensions, created unbound and initialised in the application factory."""

import hashlib
import hmac
import math
import time

from flask import current_app
from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from registry.platform.csrf import SameOriginCSRFProtect
from registry.platform.database import Base

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


# One budget for every experience and doctor-rating submission (POST) from an address. Behind it, per
# account and per report a day: count_change.
submit_limit = limiter.shared_limit(limit_setting("RATELIMIT_SUBMIT"), scope="submit", methods=["POST"])


class ChangesUsedUp(TooManyRequests):
    """A day's changes are used up, of one report (its pair) or of the whole account; nothing was written."""

    def __init__(self, whole_account: bool, retry_after: int):
        super().__init__(retry_after=retry_after)
        self.whole_account = whole_account


def experience_pair(condition_id: int, treatment_id: int) -> tuple:
    """What the daily change limits count an experience (and its follow-ups) under."""
    return ("experience", condition_id, treatment_id)


def rating_pair(doctor_id: int, condition_id: int) -> tuple:
    """What the daily change limits count a doctor rating under."""
    return ("rating", doctor_id, condition_id)


def count_change(user, *pairs: tuple) -> None:
    """Count one change of the participant's reports, or raise ChangesUsedUp before anything is written.

    Each pair (experience_pair, rating_pair) is counted once; a move names the pair it leaves and the
    pair it joins. A save, a delete and a follow-up count alike. Views call it once the form is valid,
    right before the write, so a form with a mistake costs nothing. Every limit is tested before any is
    counted, and a count another request took meanwhile refuses too (parallel requests get no extra).
    """
    if not limiter.enabled:
        return
    config = current_app.config
    checks = [(True, item, _key("submit-account", user.id)) for item in _items(config["RATELIMIT_SUBMIT_ACCOUNT"])]
    for pair in dict.fromkeys(pairs):
        key = _key("submit-pair", user.id, *pair)
        checks += [(False, item, key) for item in _items(config["RATELIMIT_SUBMIT_PAIR"])]
    try:
        # Flask-Limiter's strategy on its storage: Redis when set, its in-memory fallback while Redis is down.
        strategy = limiter.limiter
        for spend in (strategy.test, strategy.hit):
            for whole_account, item, key in checks:
                if not spend(item, *key):
                    reset = strategy.get_window_stats(item, *key).reset_time
                    raise ChangesUsedUp(whole_account, max(1, math.ceil(reset - time.time())))
    except ChangesUsedUp:
        raise
    except Exception:
        if not config["RATELIMIT_SWALLOW_ERRORS"]:
            raise
        current_app.logger.exception("The daily change limits could not be counted; the change goes through")


def _items(setting: str) -> list:
    return parse_many(setting) if setting else []


def _key(scope: str, *parts) -> list[str]:
    # A keyed hash: the limit storage (Redis) holds no account's conditions, treatments or doctors.
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    digest = hmac.new(secret, ":".join(map(str, (scope, *parts))).encode(), hashlib.sha256).hexdigest()[:32]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    return [prefix, scope, digest] if prefix else [scope, digest]
