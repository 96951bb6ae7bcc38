"""API URLs from config: refuse plain HTTP except to a local simulator."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from sources.http.errors import ConfigError


def require_secure_url(source: str, url: str, config_key: str) -> str:
    """Return `url` without a trailing slash, refusing plain HTTP to anything but a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            source,
            "config",
            f"{config_key} is not an http(s) URL: {url!r}",
            f"set {config_key} to the API's https:// address",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            source,
            "config",
            f"{config_key} uses plain http for {parts.hostname}",
            "use https:// (plain http is only allowed for 127.0.0.1/localhost simulators)",
        )
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
