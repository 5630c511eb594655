"""Typed readers for the hub's environment variables that fail loudly on bad values.

Every setting of the web application comes from a ``WELLBEAT_*`` variable read through these
helpers, so a typo such as ``WELLBEAT_DEBUG=ture`` stops the server at start with the variable,
the value and what was expected, instead of silently meaning "false".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


class SettingError(ValueError):
    """An environment variable holds a value the hub cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    return (os.environ if environ is None else environ).get(name)


def env_str(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable's text, or ``default`` when it is unset."""
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    """A yes/no variable: 1/true/yes/on or 0/false/no/off (any case); anything else is an error."""
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingError(f"{name}={value!r}: expected one of 1/true/yes/on or 0/false/no/off")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """A whole-number variable within [minimum, maximum] when those are given."""
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise SettingError(f"{name}={value!r}: expected a whole number") from None
    if minimum is not None and number < minimum:
        raise SettingError(f"{name}={value!r}: expected a number >= {minimum}")
    if maximum is not None and number > maximum:
        raise SettingError(f"{name}={value!r}: expected a number <= {maximum}")
    return number


def env_choice(
    name: str, default: str, choices: list[str], environ: Mapping[str, str] | None = None
) -> str:
    """One of ``choices`` (case-insensitive; returned as spelled in ``choices``)."""
    value = _raw(name, environ)
    if value is None:
        return default
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise SettingError(f"{name}={value!r}: expected one of {', '.join(choices)}")


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """A comma-separated variable as a list of non-empty, stripped items."""
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name: str, default: Path, environ: Mapping[str, str] | None = None) -> Path:
    """A filesystem path (``~`` expanded, made absolute); it need not exist yet."""
    value = _raw(name, environ)
    if value is not None and not value.strip():
        raise SettingError(f"{name} is set but empty: expected a directory path")
    path = Path(value).expanduser() if value is not None else default
    return path.absolute()


_POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}


def database_from_url(url: str, *, variable: str = "WELLBEAT_DATABASE_URL") -> dict[str, Any]:
    """Django DATABASES entry for a ``postgresql://user:pass@host:port/name`` or
    ``sqlite:///abs/path.sqlite3`` URL; anything else is an error naming the variable."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise SettingError(
                f"{variable}={url!r}: missing database name "
                "(expected postgresql://USER[:PASSWORD]@HOST[:PORT]/NAME)"
            )
        try:
            port = parts.port
        except ValueError:
            raise SettingError(f"{variable}={url!r}: port is not a number") from None
        options = dict(parse_qsl(parts.query))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
        }
    if scheme == "sqlite":
        # sqlite:////abs/path.sqlite3 is absolute, sqlite:///rel.sqlite3 relative (as in
        # dj-database-url): the first slash after the empty host is the separator.
        path = unquote(parts.path)[1:]
        if not path:
            raise SettingError(
                f"{variable}={url!r}: missing file path (expected sqlite:////abs/path.sqlite3)"
            )
        return sqlite_database(Path(path))
    raise SettingError(
        f"{variable}={url!r}: unsupported scheme {parts.scheme!r} "
        "(expected postgresql://... or sqlite:///...)"
    )


def sqlite_database(path: Path) -> dict[str, Any]:
    """Django DATABASES entry for the embedded SQLite file the hub uses by default."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # IMMEDIATE write transactions serialise writers up front, so the audit chain's
            # read-last-hash-then-append never races between server workers.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def hub_time_zone(lake_zone: str, environ: Mapping[str, str] | None = None) -> str:
    """Django's ``TIME_ZONE``: the lake's zone (one source for the fact, set with ``wellbeat
    lake time-zone``). ``WELLBEAT_TIME_ZONE`` may repeat it; a different value is an error,
    since pages would then label periods the lake cuts in another zone."""
    value = _raw("WELLBEAT_TIME_ZONE", environ)
    if value is None or value == lake_zone:
        return lake_zone
    raise SettingError(
        f"WELLBEAT_TIME_ZONE={value!r} disagrees with the lake's time zone {lake_zone!r}: "
        "unset WELLBEAT_TIME_ZONE, or change the lake's zone with "
        f"'wellbeat lake time-zone --data-dir DIR {value}' (which re-derives local days)"
    )


_RATE_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def parse_rate(text: str) -> tuple[int, int]:
    """``"600/min"`` (or ``"20/10s"``, ``"5000/day"``) as (requests, seconds); ValueError
    otherwise. The units are those of django-ninja's throttles: s, sec, m, min, h, hour, d,
    day, optionally preceded by a multiplier."""
    count, _, period = text.strip().partition("/")
    digits = period.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = period[len(digits) :]
    if not count.strip().isdigit() or unit not in _RATE_UNITS or not (digits or "1").isdigit():
        raise ValueError(text)
    requests, multiplier = int(count), int(digits or "1")
    if requests < 1 or multiplier < 1:
        raise ValueError(text)
    return requests, multiplier * _RATE_UNITS[unit]


def env_rate(name: str, default: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A request rate such as ``600/min`` (requests per s, min, hour or day, e.g. ``20/10s``),
    or ``off`` for no limit (returned as None)."""
    value = env_str(name, default, environ).strip()
    if value.lower() == "off":
        return None
    try:
        parse_rate(value)
    except ValueError:
        raise SettingError(
            f"{name}={value!r}: expected REQUESTS/PERIOD such as 600/min, 20/10s or 5000/day "
            "(period units s, min, hour, day), or off"
        ) from None
    return value


def cache_from_url(url: str, *, variable: str = "WELLBEAT_CACHE_URL") -> dict[str, Any]:
    """Django CACHES entry: empty or ``locmem://`` for the local-memory cache (one per
    process), ``file:///abs/dir`` for a directory shared by the processes of one machine, or
    ``redis://HOST[:PORT]/DB`` (``rediss://`` over TLS) for Redis, which needs the ``redis``
    package installed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not url or scheme == "locmem":
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "wellbeat",
        }
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc or not path.startswith("/"):
            raise SettingError(f"{variable}={url!r}: expected file:///absolute/directory")
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": path}
    if scheme in {"redis", "rediss"}:
        import importlib.util

        if importlib.util.find_spec("redis") is None:
            raise SettingError(
                f"{variable}={url!r}: the redis package is not installed "
                "(pip install redis, or use locmem:// or file:///dir)"
            )
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    raise SettingError(
        f"{variable}={url!r}: unsupported scheme {parts.scheme!r} "
        "(expected locmem://, file:///dir or redis://host:6379/0)"
    )
