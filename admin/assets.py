"""Pages are light: responses compressed, static files under versioned URLs that the
browser keeps for a year, and (in the templates) the map library only on pages with
a map.

- Compression (admin.compression): zstd, brotli or gzip as the browser asks, for HTML,
  CSS, JavaScript, JSON and GeoJSON (a page of the grid list shrinks about eightfold);
  pages at a fast level, static files once at the best and kept.
- Versioned static files: every URL of a static file, ours and Flask-Admin's, carries
  `?v=` and the first digits of a hash of the file's content, so a changed file has
  a new URL. A request with the current version is answered `Cache-Control: public,
  max-age=31536000, immutable`; one without it (or with an old one) `no-cache`, so
  nobody keeps a stale file.

GRIDLINK_COMPRESS_REGISTER=false and GRIDLINK_STATIC_CACHE=false switch both off
(the page-weight benchmark measures against that).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from flask import Flask, request, url_for

from admin import compression
from admin.kept import Kept

YEAR = 365 * 24 * 3600


def _static_folder(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    if endpoint.endswith(".static"):
        blueprint = app.blueprints.get(endpoint.rsplit(".", 1)[0])
        return blueprint.static_folder if blueprint else None
    return None


class Versions:
    """The content hash of each static file, read once, and looked at again (its
    modification time) at most once a RECHECK seconds: a page asks for about thirty
    static URLs, and resolving each file's path on every one was a fifth of the
    lightest page's time. A file changed on disk has its new hash within RECHECK."""

    RECHECK = 1.0

    def __init__(self):
        # (folder, filename) → (path or None, mtime, digest, when last looked at)
        self._known: dict[tuple[str, str], tuple[Path | None, float, str | None, float]] = {}

    def of(self, folder: str, filename: str) -> str | None:
        key = (folder, filename)
        known = self._known.get(key)
        now = time.monotonic()
        if known is not None and now - known[3] < self.RECHECK:
            return known[2]
        path = known[0] if known is not None and known[0] else self._path(folder, filename)
        try:
            mtime = path.stat().st_mtime if path is not None else 0.0
        except OSError:
            path = None
            mtime = 0.0
        if known is not None and path is not None and known[0] == path and known[1] == mtime:
            digest = known[2]
        else:
            digest = (hashlib.sha256(path.read_bytes()).hexdigest()[:12]
                      if path is not None else None)
        self._known[key] = (path, mtime, digest, now)
        return digest

    @staticmethod
    def _path(folder: str, filename: str) -> Path | None:
        """The file inside the folder, or None (outside it, or not a file)."""
        path = (Path(folder) / filename).resolve()
        if not path.is_relative_to(Path(folder).resolve()) or not path.is_file():
            return None
        return path


def init_app(app: Flask) -> None:
    # Registered first, so it runs last (Flask runs them in reverse): what the others
    # add to a response is compressed with it.
    compression.init_app(app, lambda endpoint: _static_folder(app, endpoint) is not None)

    # Registered after the compression, so this runs before it: a static file is read
    # into memory here (a few hundred KB at most), so it is compressed whole and its
    # file closed, not streamed from an open file.
    @app.after_request
    def whole_static_files(response):
        if _static_folder(app, request.endpoint or "") and response.direct_passthrough:
            response.direct_passthrough = False
            response.make_sequence()
        return response

    # Flask-Admin's own static URLs (about twenty a page, each built by url_for): built
    # once a minute per file and URL prefix (templates/admin/static.html).
    admin_static_urls = Kept(ttl=60.0, size=500)

    @app.template_global("gridlink_admin_static")
    def admin_static(endpoint: str, arguments: dict) -> str:
        key = (endpoint, request.script_root, *sorted(arguments.items()))
        return admin_static_urls.get(key, lambda: url_for(endpoint, **arguments))

    if not app.config.get("STATIC_CACHE", True):
        return
    versions = Versions()

    @app.url_defaults
    def versioned(endpoint, values):
        folder = _static_folder(app, endpoint)
        if folder and "filename" in values:
            digest = versions.of(folder, values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def cache(response):
        folder = _static_folder(app, request.endpoint or "")
        if folder is None or response.status_code != 200:
            return response
        filename = (request.view_args or {}).get("filename", "")
        current = versions.of(folder, filename)
        if current and request.args.get("v") == current:
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        else:
            response.cache_control.no_cache = True
            response.cache_control.max_age = None
        return response
