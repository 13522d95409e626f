"""The journal page (`/__aimock/ui`): one static HTML file with its script and style inline,
served by the server itself, that reads the control API from the browser.

The page holds no data, so loading it needs no admin token; every call it makes does (it asks
for the token when one is set and keeps it in the tab's session storage). Its Content Security
Policy allows only its own inline script and style (by hash) and calls to its own origin, and
forbids framing, so another page can neither inject into it nor trick a click on it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib import resources

from aiohttp import web

PATHS = ("/__aimock/ui", "/__aimock/")
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)


@functools.cache
def _page() -> tuple[bytes, str]:
    html = resources.files("aimock").joinpath("ui/journal.html").read_text(encoding="utf-8")
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    policy = (
        "default-src 'none'; "
        f"script-src {' '.join(hashes['script'])}; "
        f"style-src {' '.join(hashes['style'])}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return html.encode(), policy


async def page(request: web.Request) -> web.Response:
    del request
    body, policy = _page()
    return web.Response(
        body=body,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": policy,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
