"""Uploaded files waiting for their report and their confirmation (the boundary and
the spreadsheet import pages).

They are kept in the app's own data folder (`UPLOAD_FOLDER`, by default
`<var>/uploads` beside the embedded database), never in the machine's shared temporary
directory: the folders are the service account's alone (0700), each file is readable
by it alone (0600) and named by an opaque random token, which is all a page ever
shows. A file is removed once it is written or found unusable; one left behind (a
report looked at and never confirmed) is swept once it is older than
`UPLOAD_MAX_AGE` seconds, at the next upload.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from models.database import var_dir

TOKEN = re.compile(r"^[0-9a-f]{32}\.[a-z]{2,8}$")
# Where versions before this one left uploads, world-readable and never removed:
# nothing there is reachable any more, so the first sweep removes it all.
LEGACY = Path(tempfile.gettempdir()) / "gridlink-uploads"


def root() -> Path:
    return Path(current_app.config.get("UPLOAD_FOLDER") or var_dir() / "uploads")


def folder(*parts: str) -> Path:
    """The folder for one kind of upload (and one account), made private."""
    where = root()
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    where.chmod(0o700)  # also one made by an older version, or under a loose umask
    for part in parts:
        where = where / part
        where.mkdir(mode=0o700, exist_ok=True)
        where.chmod(0o700)
    return where


def save(upload, suffix: str, *parts: str) -> str:
    """Store an uploaded file (werkzeug FileStorage) readable by this service alone;
    returns its token. Sweeps the abandoned uploads first."""
    sweep()
    token = secrets.token_hex(16) + suffix
    fd = os.open(folder(*parts) / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        upload.save(file)
    return token


def find(token: str, *parts: str) -> Path | None:
    """The stored file of a token, None when the token is malformed or unknown."""
    if not TOKEN.match(token):
        return None
    path = root().joinpath(*parts, token)
    return path if path.is_file() else None


def remove(token: str, *parts: str) -> None:
    if TOKEN.match(token):
        root().joinpath(*parts, token).unlink(missing_ok=True)


def sweep(now: float | None = None) -> int:
    """Remove the uploads older than UPLOAD_MAX_AGE; how many were removed."""
    _remove_legacy()
    where = root()
    if not where.is_dir():
        return 0
    oldest = (now or time.time()) - current_app.config["UPLOAD_MAX_AGE"]
    removed = 0
    for path in where.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < oldest:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # removed meanwhile by another request
            pass
    return removed


def _remove_legacy() -> None:
    try:
        owner = LEGACY.lstat().st_uid
    except FileNotFoundError:
        return
    if owner == os.getuid() and LEGACY.is_dir() and not LEGACY.is_symlink():
        shutil.rmtree(LEGACY, ignore_errors=True)


def init_app(app) -> None:
    app.register_error_handler(RequestEntityTooLarge, too_large)


def too_large(error):
    """A request over MAX_CONTENT_LENGTH: said plainly, never a bare 413."""
    mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) / 2**20
    if request.path.startswith(("/api/", "/ogc/")):
        return jsonify(error="request too large", max_bytes=current_app.config.get(
            "MAX_CONTENT_LENGTH")), 413
    return render_template(
        "gridlink/error.html", title=_("File too large"),
        message=_("The file is larger than %(mb)s MB, the most this site accepts in one "
                  "upload: split it (for boundaries, one county or town per file) and upload "
                  "the parts one by one.", mb=f"{mb:g}")), 413
