"""Evidence files over HTTP: where they are kept, and how one is sent.

Only ever by the evidence's id, after the caller's scope has been checked on its
matter (admin.views.outcomes, admin.api_outcomes); the hash path is never shown.
The type sent is the one sniffed when the file was accepted; browsers are told
not to guess another (nosniff), and the file may run nothing (a sandboxing CSP).
Pictures are shown inline; PDFs and HEIC photos are downloaded, under a plain
name made here (the sender's file name is shown on the page, never sent as a
header). And the sweep of files whose form was never saved (models.evidence.sweep).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Response, abort, current_app

from models import db
from models.evidence import (
    MAX_BYTES,
    SWEEP_AFTER,
    Evidence,
    Swept,
    default_root,
    path_of,
    remove_files,
    sweep,
)

INLINE = {"jpeg", "png", "webp"}


def evidence_root() -> Path:
    return Path(current_app.config.get("EVIDENCE_DIR") or default_root())


def evidence_max_bytes() -> int:
    return int(current_app.config.get("EVIDENCE_MAX_BYTES") or MAX_BYTES)



def sweep_unsaved(hours: float | None = None) -> Swept:
    """Evidence of forms never saved, older than `hours` (GRIDLINK_EVIDENCE_SWEEP_HOURS,
    default 24): the records removed and committed, then their files no other record
    holds. What the command and the nightly job both do."""
    if hours is None:
        hours = current_app.config.get("EVIDENCE_SWEEP_HOURS")
    older_than = timedelta(hours=float(hours)) if hours is not None else SWEEP_AFTER
    swept = sweep(db.session, older_than)
    db.session.commit()
    remove_files(db.session, evidence_root(), swept)
    return swept

def send_evidence(evidence: Evidence, thumbnail: bool = False) -> Response:
    if thumbnail and not evidence.is_picture:
        abort(404)
    path = path_of(evidence_root(), evidence.sha256, thumbnail=thumbnail)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        abort(404)
    inline = thumbnail or evidence.format in INLINE
    name = evidence.download_name if not thumbnail else f"{evidence.kind}-thumbnail.jpg"
    response = Response(data, mimetype="image/jpeg" if thumbnail else evidence.content_type)
    response.headers["Content-Disposition"] = (
        f'{"inline" if inline else "attachment"}; filename="{name}"')
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    return response
