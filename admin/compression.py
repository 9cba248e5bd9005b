"""Responses compressed as the browser asks: zstd, brotli or gzip.

Two kinds of response, two costs:
- What a page makes on each request (HTML, JSON, GeoJSON, CSV) is compressed at a
  fast level: its server time is on every request. zstd at level 3 takes 0.07 ms for
  a 24 KB page; brotli at quality 5, as Flask-Compress did, took 0.55 ms of a 3.8 ms
  page inside the request (its large window allocated afresh each time). From
  LARGE bytes on (the maps' outlines and counts, an export's JSON) the bytes on the
  wire count for more than the milliseconds: a stronger level. A map's 683 KB of
  village outlines: zstd 3 gave 132 KB in 1.8 ms, zstd 9 116 KB in 9.8 ms, brotli 5
  120 KB in 9.5 ms, measured; the query that made them took longer.
- A static file is compressed once at the best level worth waiting for and kept,
  found again by its content (a 128-bit hash), so a changed file is never served
  from an old copy: the browser keeps it a year, so each byte saved is saved for good.

The server prefers zstd, then brotli, then gzip, among what the browser accepts with
the highest weight (Chromium asks "gzip, deflate, br, zstd"; a browser over plain
HTTP on an intranet may ask only gzip). Bodies under 500 bytes are sent as they are.
`GRIDLINK_COMPRESS_REGISTER=false` leaves everything uncompressed (the page-weight
benchmark's baseline).
"""

from __future__ import annotations

import functools
import gzip
import hashlib

import brotli
from flask import Flask, Response, request

from admin.kept import Kept

try:  # Python 3.14 has it in the standard library
    from compression import zstd
except ImportError:  # pragma: no cover - depends on the Python
    from backports import zstd

COMPRESSED = frozenset({
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript",
    "application/javascript", "application/json", "application/geo+json", "image/svg+xml"})
MIN_SIZE = 500
PREFERRED = ("zstd", "br", "gzip")

# encoding → compress(data): per request, fast, or for a large body smaller; once per
# static file, smallest.
FAST = {
    "zstd": lambda data: zstd.compress(data, 3),
    "br": lambda data: brotli.compress(data, quality=4, lgwin=18, mode=brotli.MODE_TEXT),
    "gzip": lambda data: gzip.compress(data, 6, mtime=0),
}
LARGE = 64 * 1024
FAST_LARGE = {
    **FAST,  # gzip as for a page: its level 9 would take 2–3× as long for a few %
    "zstd": lambda data: zstd.compress(data, 9),
    "br": lambda data: brotli.compress(data, quality=5, mode=brotli.MODE_TEXT),
}
BEST = {
    "zstd": lambda data: zstd.compress(data, 19),
    "br": lambda data: brotli.compress(data, quality=9, mode=brotli.MODE_TEXT),
    "gzip": lambda data: gzip.compress(data, 9, mtime=0),
}

# Static files compressed, by encoding and content: about 60 files, 2 MB in all.
_static = Kept(ttl=float("inf"), size=600)


@functools.lru_cache(maxsize=64)  # a few headers, asked on every response
def chosen(accept_encoding: str) -> str | None:
    """The encoding to answer with: of PREFERRED, those the header accepts (`*`
    included, `;q=0` refused), the highest weight first, then the server's order."""
    weights: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.partition(";")
        name, weight = name.strip(), 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name:
            weights[name] = weight
    best = None
    for rank, encoding in enumerate(PREFERRED):
        weight = weights.get(encoding, weights.get("*", 0.0))
        if weight > 0 and (best is None or weight > best[0]):
            best = (weight, rank, encoding)
    return best[2] if best else None


def compress(response: Response, static: bool) -> Response:
    """The response compressed for this request's browser, when it is worth it."""
    vary = response.headers.get("Vary")
    if not vary:
        response.headers["Vary"] = "Accept-Encoding"
    elif "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding"
    if (response.status_code != 200 or response.mimetype not in COMPRESSED
            or response.is_streamed or "Content-Encoding" in response.headers):
        return response
    encoding = chosen(request.headers.get("Accept-Encoding", ""))
    if encoding is None:
        return response
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return response
    if static:
        key = (encoding, hashlib.blake2b(data, digest_size=16).digest())
        body = _static.get(key, lambda: BEST[encoding](data))
    else:
        body = (FAST_LARGE if len(data) >= LARGE else FAST)[encoding](data)
    response.set_data(body)
    response.headers["Content-Encoding"] = encoding
    # The same file in another encoding is another representation: its own ETag, so
    # a revalidation (If-None-Match) is answered 304 only for the one the browser has.
    # A response with nothing to revalidate by (most pages) is sent as it is.
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(f"{etag}:{encoding}")
    if (etag or "Last-Modified" in response.headers) and request.method in ("GET", "HEAD"):
        response.make_conditional(request)
    return response


def init_app(app: Flask, is_static) -> None:
    """Compress every response: registered before the after-request functions that
    may change a body, it runs after them (Flask runs them in reverse order).
    `is_static(endpoint)` says which responses are files."""
    if not app.config.get("COMPRESS_REGISTER", True):
        return

    @app.after_request
    def compressed(response: Response) -> Response:
        return compress(response, is_static(request.endpoint or ""))
