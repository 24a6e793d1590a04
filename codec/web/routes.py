"""HTTP routes of the browser player on the stream server (``codec/stream/server.py``).

``GET /`` is the page, ``GET /web/...`` its static ES modules and tables (``codec/web/static``).
Frame records never change once written (a stream file is only ever appended to), so
:func:`frame_etag` gives them a validator (ETag from the records' header CRCs, which cover
the payload CRCs) and a long, immutable cache lifetime; a request whose ``If-None-Match``
matches gets ``304 Not Modified``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from aiohttp import web

from . import STATIC_DIR

__all__ = ["add_web_routes", "frame_etag", "FRAME_CACHE_CONTROL"]

FRAME_CACHE_CONTROL = "public, max-age=31536000, immutable"
_PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def frame_etag(headers: Iterable[bytes], first: int, last: int) -> str:
    """Strong ETag of the frame records ``first..last`` from their 32-byte headers (which carry
    each payload's size and CRC), so the payloads need not be in memory."""
    crc = 0
    for head in headers:
        crc = zlib.crc32(head[:32], crc)
    return f'"{first}-{last}-{crc & 0xFFFFFFFF:08x}"'


def add_web_routes(app: web.Application) -> None:
    """Serve the page at ``/`` and the static files under ``/web/``."""

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)

    app.router.add_get("/", page)
    app.router.add_static("/web/", STATIC_DIR, append_version=False)
