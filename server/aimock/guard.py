"""Who may reach the control API: the rules that keep a browser tab or a stranger on the
network from injecting fixtures, reading the journal (request bodies) or resetting a run.

- A browser page of another origin: its request carries an `Origin` (or `Sec-Fetch-Site`)
  that is not the server's own, and is refused. Control answers carry no CORS headers, so a
  page cannot read them either.
- DNS rebinding (a foreign name resolving to 127.0.0.1 makes the page "same origin"): when the
  server is bound to loopback and has no admin token, the `Host` must be a loopback name (with
  a token, the token is the proof: such a page cannot send it).
- A body a browser can send without a preflight (a `text/plain` or form POST): bodies must be
  declared JSON.
- Bound to a non-loopback address (a container, a cluster), the control API needs the admin
  token unless the user opened it explicitly (`--open-control`).

Pure functions over the request's headers: the control module renders the refusals.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from aimock.surface import ErrorInfo

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})
# Control routes a probe or a scraper reads: never guarded by anything but the network.
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics", "/__aimock/health"})
JSON_TYPES = ("application/json",)


def is_loopback(host: str | None) -> bool:
    """Whether a bind address or a `Host` name is loopback only (None: the default bind)."""
    if host is None:
        return True
    name = host.strip().lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a `Host` header, without its port (`[::1]:4010` -> `::1`)."""
    value = header.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _forbidden(message: str) -> ErrorInfo:
    return ErrorInfo(403, message, type="forbidden", code="control_forbidden")


def cross_origin(headers: Mapping[str, str]) -> ErrorInfo | None:
    """The refusal for a browser request from a page of another origin, if it is one."""
    site = headers.get("Sec-Fetch-Site", "").lower()
    if site in ("cross-site", "same-site"):
        return _forbidden("The control API does not take requests from other web origins")
    origin = headers.get("Origin")
    if origin is None:
        return None
    parts = urlsplit(origin)
    host = headers.get("Host", "")
    if origin == "null" or parts.netloc.lower() != host.strip().lower():
        return _forbidden(
            f"The control API does not take requests from other web origins ({origin})"
        )
    return None


def foreign_host(headers: Mapping[str, str], bound_loopback: bool) -> ErrorInfo | None:
    """The refusal for a loopback server asked under a name that is not loopback's."""
    if not bound_loopback:
        return None
    host = headers.get("Host")
    if host is None or is_loopback(host_name(host)):
        return None
    return _forbidden(
        f"The control API answers only to loopback names while bound to loopback (Host: {host})"
    )


def undeclared_body(method: str, headers: Mapping[str, str], has_body: bool) -> ErrorInfo | None:
    """The refusal for a body not declared JSON (what a browser sends without a preflight)."""
    if method in ("GET", "HEAD", "OPTIONS") or not has_body:
        return None
    # No type at all is a script's (a browser always names one for a body it sends).
    kind = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if not kind or kind in JSON_TYPES or kind.endswith("+json"):
        return None
    return ErrorInfo(
        415,
        f"The control API takes JSON bodies only (Content-Type: application/json), not {kind!r}",
        type="unsupported_media_type",
        code="unsupported_media_type",
    )


def tokenless(bound_loopback: bool, opened: bool) -> ErrorInfo | None:
    """The refusal for a server with no admin token, reachable from the network."""
    if bound_loopback or opened:
        return None
    return _forbidden(
        "The control API is closed: the server listens beyond loopback without an admin "
        "token. Set AIMOCK_ADMIN_TOKEN (then send it as a Bearer token or in "
        "X-AIMock-Admin-Token), or start with --open-control to leave it open"
    )
