"""A sample gunicorn configuration for one app server of several behind a reverse proxy.

    gunicorn -c gunicorn.conf.py "registry:create_app()"

Every setting can be overridden on the command line; see docs/deploy.md.
"""

import multiprocessing
import os

bind = os.environ.get("REGISTRY_BIND", "127.0.0.1:8000")
# Two workers per core is gunicorn's usual advice for I/O-bound apps; cap it on big machines.
workers = int(os.environ.get("REGISTRY_WORKERS", min(2 * multiprocessing.cpu_count(), 8)))
worker_class = "gthread"
threads = 4
timeout = 60  # a research export streams; the proxy should not buffer it either
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle workers now and then
max_requests_jitter = 500
forwarded_allow_ips = os.environ.get("REGISTRY_PROXY_IPS", "127.0.0.1")
accesslog = "-"
# Health data: log no query strings (they carry filters) beyond what the proxy already sees.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
