"""Settings: defaults in code, secrets from the environment, nothing read at import time."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Mapping

DEFAULTS = {
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ("zh_CN", "en"),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # a volunteer may keep a page open all day on patrol
    "MAX_CONTENT_LENGTH": 40 * 1024 * 1024,
    # Static files may be reused for an hour without asking: the service worker's background refresh then
    # costs no bytes; a deploy still reaches phones at once because a new /sw.js re-fetches its shell.
    "SEND_FILE_MAX_AGE_DEFAULT": 3600,
    "LOGIN_MAX_FAILURES": 5,
    # A login ends after this many days unused, and in any case this many days after it began (docs/decisions.md:
    # a patrol phone opened once a week stays logged in; a lost one stops working within three months at most).
    "SESSION_IDLE_DAYS": 30,
    "SESSION_MAX_DAYS": 90,
    "LOGIN_WINDOW_MINUTES": 15,
    # Certificates: days of public notice (公示期) before issue, and the CJK font the PDF embeds (Debian fonts-noto-cjk).
    "CERTIFICATE_NOTICE_DAYS": 7,
    "CJK_FONT": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "ROSTER_MAX_BYTES": 2 * 1024 * 1024,
    # Photos one person may send in an hour, counted on every upload path (volunteers.photos.Allowance says why).
    "PHOTO_UPLOADS_PER_HOUR": 100,
    "PHOTO_UPLOAD_MB_PER_HOUR": 300,
}


def secret_key_for(data_dir: Path) -> str:
    """Return the data directory's own secret key, generating it on first use."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    # Written beside and renamed into place: several gunicorn workers starting at once all end up with one key.
    tmp = data_dir / f".secret_key.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    try:
        os.link(tmp, path)  # fails if another process got there first; then its key wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


def load(instance_path: str, environ: Mapping[str, str], test_config: dict | None) -> dict:
    """Merge defaults, the environment and test overrides into one settings dict."""
    test_config = dict(test_config or {})
    data_dir = Path(
        test_config.get("DATA_DIR") or environ.get("VOLUNTEERS_DATA_DIR") or instance_path
    ).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = dict(DEFAULTS)
    settings["DATA_DIR"] = str(data_dir)
    settings["DATABASE_URL"] = environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'volunteers.sqlite3'}"
    # Map tiles, e.g. Tianditu (CGCS2000 ≈ WGS-84). Empty: no tile layer, grid outlines and markers only.
    settings["MAP_TILE_URL"] = environ.get("VOLUNTEERS_MAP_TILES", "")
    settings["MAP_TILE_CREDIT"] = environ.get("VOLUNTEERS_MAP_CREDIT", "")
    # The address printed on certificates' QR codes (https://volunteers.example.gov.cn); empty: the request's own host.
    settings["PUBLIC_URL"] = environ.get("VOLUNTEERS_PUBLIC_URL", "").rstrip("/")
    if environ.get("VOLUNTEERS_SMS_BACKEND"):
        settings["SMS_BACKEND"] = environ["VOLUNTEERS_SMS_BACKEND"]
    if environ.get("VOLUNTEERS_HTTPS") == "1":
        settings["SESSION_COOKIE_SECURE"] = True
        settings["REMEMBER_COOKIE_SECURE"] = True
        settings["HSTS"] = True  # Strict-Transport-Security on every answer (volunteers/web/headers.py)
    # How many proxies (nginx …) stand in front and set X-Forwarded-*: 0 trusts none, so a phone cannot fake its
    # address to the login throttle; deploy/nginx-volunteers.conf needs 1.
    settings["PROXY_COUNT"] = int(environ.get("VOLUNTEERS_PROXY_COUNT") or 0)
    # PostgreSQL: a pooled connection unused this many seconds is pinged before use (volunteers/db.py; 0: always).
    if environ.get("VOLUNTEERS_DB_PING_IDLE_S"):
        settings["DATABASE_PING_IDLE_S"] = float(environ["VOLUNTEERS_DB_PING_IDLE_S"])
    for name in ("SESSION_IDLE_DAYS", "SESSION_MAX_DAYS", "PHOTO_UPLOADS_PER_HOUR", "PHOTO_UPLOAD_MB_PER_HOUR"):
        if environ.get(f"VOLUNTEERS_{name}"):
            settings[name] = int(environ[f"VOLUNTEERS_{name}"])
    settings.update(test_config)
    # The cookies live as long as a login may: the server decides earlier ends (idle, logout, password change).
    settings.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(days=settings["SESSION_MAX_DAYS"]))
    settings.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=settings["SESSION_MAX_DAYS"]))
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = environ.get("SECRET_KEY") or secret_key_for(data_dir)
    return settings
