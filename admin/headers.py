"""The Content-Security-Policy of every page.

Names typed by people or read from files (a grid's name, a court's address, a
boundary file's <name>) end up in pages and map labels. They are escaped where
they are shown; the policy is the second wall, for the day one is not: a page
runs only the script files this server serves and the few inline scripts
Flask-Admin writes with this response's nonce. Inline event handlers,
javascript: links and injected <script> elements do not run. Styles may be
inline (Leaflet and Bootstrap position things with style attributes); images
may come from the configured base-map tile servers.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g

from admin.maps import basemap_layers


def csp_nonce() -> str:
    """This request's nonce: the same for every inline script of one response."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def tile_origins(layers: list[dict]) -> list[str]:
    """The origins the base-map tiles come from: {s} in a host is each subdomain."""
    origins = []
    for layer in layers:
        parts = urlsplit(layer["url"])
        if not parts.scheme or not parts.netloc:
            continue  # a path on this server: 'self'
        hosts = ([parts.netloc.replace("{s}", s) for s in layer.get("subdomains") or "abc"]
                 if "{s}" in parts.netloc else [parts.netloc])
        origins += [f"{parts.scheme}://{host}" for host in hosts]
    return list(dict.fromkeys(origins))


def content_security_policy(nonce: str, images: list[str]) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *images],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


def init_app(app: Flask) -> None:
    @app.after_request
    def add_policy(response):
        if response.mimetype == "text/html":
            images = tile_origins(basemap_layers(current_app.config))
            response.headers["Content-Security-Policy"] = content_security_policy(
                csp_nonce(), images)
        return response
