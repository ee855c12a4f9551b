"""docs/deploy.md, followed as written: the wheel in a fresh venv outside the checkout, the guide's
commands against the local PostgreSQL and Redis, gunicorn with the unit's command line and the
packaged config, and a log-in over HTTPS as the TLS proxy forwards it.

The blocks the guide marks `<!-- deploy-test: NAME -->` are run as they stand, with only these
substitutions: the system paths (/opt/registry, /etc/registry, /var/lib/registry,
/var/backups/registry) become folders under a temporary directory, `sudo` and `sudo -u registry`
are dropped (the test is its own system user), chown options go, the guide's database URL becomes
a role and schema made for this test inside the test database, and port 8000 a free port.
Step 1 (CREATE ROLE/DATABASE as postgres) is replaced by the same statements for that role and
schema (with read access to the rest, for pg_dump): the test may not create databases beside its own.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deploy.md"
SITE_HOST = "registry.example.org"
CLIENT = "203.0.113.9"
GUIDE_URL = "postgresql://registry:choose-a-long-password@127.0.0.1:5432/registry"
SCHEMA = "deploy_guide"
ADMIN_PASSWORD = "deploy test admin password"


def guide_blocks(name: str) -> list[str]:
    """The code blocks the guide marks for this test under NAME, in order."""
    text = GUIDE.read_text()
    blocks = re.findall(rf"<!-- deploy-test: {name} -->\n```[a-z]*\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, f"docs/deploy.md marks no '{name}' block"
    return blocks


def _fail_or_skip(message: str):
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (required under CI)")
    pytest.skip(message)


@pytest.fixture
def database():
    """A login role owning a schema in the test database, as step 1 makes a role owning a database."""
    url = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
    if not url:
        _fail_or_skip("REGISTRY_TEST_DATABASE_URL is not set")
    admin = sa.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    role = f"registry_{admin.database}"[:60]
    engine = sa.create_engine(admin, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")

    def drop(conn):
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))

    try:
        with engine.connect() as conn:
            drop(conn)
            conn.execute(sa.text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'deploy-test-password'"))
            conn.execute(sa.text(f'CREATE SCHEMA {SCHEMA} AUTHORIZATION "{role}"'))
            # pg_dump (the guide's backup) dumps the whole database, which holds the other tests' tables
            # too: the owner of a real registry database reads all of it.
            conn.execute(sa.text(f'GRANT pg_read_all_data TO "{role}"'))
    except sa.exc.OperationalError as error:
        _fail_or_skip(f"PostgreSQL is unreachable: {error}")
    options = urllib.parse.quote(f"-csearch_path={SCHEMA}")
    yield (
        f"postgresql://{role}:deploy-test-password@{admin.host or '127.0.0.1'}:{admin.port or 5432}/"
        f"{admin.database}?options={options}"
    )
    with engine.connect() as conn:
        drop(conn)
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None):
    """One request as the TLS proxy forwards it: plain HTTP, the site's Host, X-Forwarded-Proto https."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = {"Host": SITE_HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT, **(headers or {})}
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    data = response.read().decode()
    conn.close()
    return response, data


def test_the_deploy_guide_works_as_written(tmp_path, wheel, database, redis_url):
    port = free_port()
    paths = {
        "/opt/registry": tmp_path / "opt" / "registry",
        "/etc/registry": tmp_path / "etc" / "registry",
        "/var/lib/registry": tmp_path / "var" / "lib" / "registry",
        "/var/backups/registry": tmp_path / "var" / "backups" / "registry",
    }
    for key in ("/etc/registry", "/var/lib/registry"):  # step 2 (useradd and its folders)
        paths[key].mkdir(parents=True, mode=0o755)
    (paths["/var/lib/registry"] / "instance").mkdir(mode=0o700)

    def literal(block: str) -> str:
        for old, new in paths.items():
            block = block.replace(old, str(new))
        for old, new in (
            ("sudo -u registry ", ""),
            ("sudo ", ""),
            (" -o root -g registry", ""),
            (" -o registry -g registry", ""),
            (GUIDE_URL, database),
            ("127.0.0.1:8000", f"127.0.0.1:{port}"),
        ):
            block = block.replace(old, new)
        return block

    work = tmp_path / "checkout-free"
    (work / "dist").mkdir(parents=True)
    shutil.copy(wheel, work / "dist")
    script = "\n".join(literal(b) for name in ("install", "configure", "init") for b in guide_blocks(name))
    # start_new_session: no terminal, so the password prompt reads standard input, as from a pipe.
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        capture_output=True,
        text=True,
        input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
        start_new_session=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Database ready" in done.stdout and "Starter catalog: added" in done.stdout
    venv = paths["/opt/registry"]
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import registry; print(registry.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(venv)), "the registry must come from the installed wheel, not the checkout"
    env_file = paths["/etc/registry"] / "registry.env"
    assert (env_file.stat().st_mode & 0o777) == 0o640
    settings = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert all(len(settings[f"REGISTRY_{k}_KEY"]) == 64 for k in ("SECRET", "EXPORT", "DISCLOSURE"))

    # The unit's command line, with the unit's EnvironmentFile, as systemd starts it.
    unit = guide_blocks("unit")[0]
    exec_start = literal(re.search(r"^ExecStart=(.+)$", unit, flags=re.MULTILINE).group(1)).split()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **settings}
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            exec_start, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _check_the_running_registry(port, server, log_path, paths)
    finally:
        server.terminate()
        server.wait(timeout=60)

    backup = "\n".join(literal(b) for b in guide_blocks("backup"))
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", backup], cwd=work, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    files = list(paths["/var/backups/registry"].iterdir())
    assert {f.suffix for f in files} == {".dump", ".env"} and all(f.stat().st_size > 0 for f in files)
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}


def _check_the_running_registry(port, server, log_path, paths):
    for _ in range(120):
        try:
            response, body = request(port, "GET", "/health")
            if response.status == 200:
                break
        except OSError:
            pass
        assert server.poll() is None, log_path.read_text()
        time.sleep(0.5)
    else:
        pytest.fail("gunicorn never answered /health:\n" + log_path.read_text())
    health = json.loads(body)
    assert (health["status"], health["database"], health["cache"]) == ("ok", "ok", "ok")
    assert health["migration_state"] == "current"
    assert (paths["/var/lib/registry"] / "instance" / "gunicorn.ctl").exists()  # its own control socket

    home, text = request(port, "GET", "/")
    assert home.status == 200 and "Treatment Experience Registry" in text  # templates from the wheel
    assert home.getheader("Strict-Transport-Security")  # the proxy's X-Forwarded-Proto is believed
    assert request(port, "GET", "/static/style.css")[0].status == 200

    # Log in over HTTPS as a browser does behind the proxy: token from the form, Origin set, no Referer.
    form, text = request(port, "GET", "/login")
    cookie = form.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text) or re.search(
        r'name="csrf_token" value="([^"]+)"', text
    )
    assert token, text
    body = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "email": "admin@example.org", "password": ADMIN_PASSWORD}
    )
    done, text = request(
        port,
        "POST",
        "/login",
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "Origin": f"https://{SITE_HOST}"},
    )
    assert done.status == 302, text
    # Several cookies may be set (the session, the remember-me one cleared): send the session's.
    session = next(c for c in done.headers.get_all("Set-Cookie") if c.startswith("session="))
    assert "Secure" in session and "HttpOnly" in session
    account, text = request(port, "GET", "/account", headers={"Cookie": session.split(";", 1)[0]})
    assert account.status == 200 and "admin@example.org" in text

    time.sleep(0.5)  # the request line is written after each response
    log = log_path.read_text()
    # JSON lines (registry/platform/logs.py): the app's line per request names the route, never the path.
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(
        (line.get("logger"), line.get("route"), line.get("method"), line.get("status"))
        == ("registry.request", "auth.login", "POST", 302)
        and line.get("client") == CLIENT  # the address the proxy saw (REGISTRY_PROXY_FIX)
        and line.get("request_id") == done.getheader("X-Request-ID")
        for line in lines
    ), log
    assert "/login" not in log  # no path, no query string


def test_the_guides_nginx_site_serves_https_and_logs_no_query_string_or_token(app, tmp_path):
    """The guide's certificate, log format and site blocks as written, on the nginx this machine has
    (Debian 12: 1.22), in front of the app: HTTPS with HTTP/2 on the listen line, paths only in its
    access log, link tokens cut off, /metrics refused, a dead app server taken out of rotation."""
    import ssl
    import threading

    from werkzeug.serving import make_server

    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        _fail_or_skip("nginx is not installed (apt-get install nginx)")
    if shutil.which("openssl") is None:
        _fail_or_skip("openssl is not installed")
    ssl_dir, logs = tmp_path / "ssl", tmp_path / "logs"
    logs.mkdir()
    certificate = guide_blocks("self-signed")[0].replace("/etc/ssl/registry", str(ssl_dir)).replace("sudo ", "")
    subprocess.run(["bash", "-euo", "pipefail", "-c", certificate], check=True, capture_output=True, timeout=60)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http_port, https_port, dead_port = free_port(), free_port(), free_port()
    site = guide_blocks("nginx-site")[0]
    assert "listen 443 ssl http2;" in site and "http2 on;" not in site  # nginx 1.22's syntax
    upstream = f"server 127.0.0.1:{server.server_port} max_fails=3 fail_timeout=20s;"
    for old, new in (
        ("server 127.0.0.1:8000 max_fails=3 fail_timeout=20s;", f"{upstream}\n    server 127.0.0.1:{dead_port};"),
        ("/etc/ssl/registry", str(ssl_dir)),
        ("/var/log/nginx", str(logs)),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
    ):
        assert old in site, old
        site = site.replace(old, new)
    temp = "".join(
        f"{kind}_temp_path {tmp_path / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {logs / 'error.log'};\nevents {{}}\n"
        f"http {{\n{temp}access_log {logs / 'default.log'};\n{guide_blocks('nginx-log')[0]}\n{site}\n}}\n"
    )
    conf = ["-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([nginx, "-t", *conf], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    subprocess.run([nginx, *conf], check=True, timeout=30)
    try:
        context = ssl.create_default_context(cafile=str(ssl_dir / "fullchain.pem"))  # the guide's certificate

        class Local(http.client.HTTPSConnection):
            """HTTPS to registry.example.org, which is this machine's nginx."""

            def connect(self):
                raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
                self.sock = self._context.wrap_socket(raw, server_hostname=self.host)

        def get(path):
            connection = Local(SITE_HOST, https_port, context=context, timeout=30)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            connection.close()
            return response.status

        h2 = ssl.create_default_context(cafile=str(ssl_dir / "fullchain.pem"))
        h2.set_alpn_protocols(["h2", "http/1.1"])
        with h2.wrap_socket(socket.create_connection(("127.0.0.1", https_port)), server_hostname=SITE_HOST) as tls:
            assert tls.selected_alpn_protocol() == "h2"  # HTTP/2, from the listen line
        statuses = [get("/about") for _ in range(8)]  # the dead server is tried, then left out
        assert statuses == [200] * 8, statuses
        assert get("/conditions?age_band=30_44&sex=female") == 200
        assert get("/password/reset/" + "S3CRET" * 7) == 400
        assert get("/metrics") == 403
    finally:
        subprocess.run([nginx, *conf, "-s", "stop"], timeout=30)
        server.shutdown()
    lines = (logs / "registry.access.log").read_text().splitlines()
    assert any('"GET /conditions" 200' in line for line in lines), lines
    assert any('"GET /password/reset/-" 400' in line for line in lines), lines
    text = "\n".join(lines)
    assert "?" not in text and "age_band" not in text and "S3CRET" not in text
    assert "connect() failed" in (logs / "error.log").read_text()  # the dead server was tried and skipped
