"""Boundary import in the admin: upload a file, see the report and the shapes on a
map, then write it. The same code as `gridlink grids import` (geo.importer)."""

from __future__ import annotations

from pathlib import Path

import shapely
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from shapely.geometry import mapping
from sqlalchemy import select
from wtforms import BooleanField, FileField, SelectField
from wtforms.fields.choices import SelectChoice

from admin import uploads
from admin.auth import current_scope
from admin.jobs import JobError, work
from admin.matter_intake import GONE
from admin.views.jobs import say
from admin.views.secure import refuse
from geo.import_file import FORMATS, ImportOptions, ImportRefused
from geo.importer import commit_import, prepare_import, topology_after
from geo.map_shapes import request_map_refresh
from models import GridLevel, db, jobs
from models.audit import append
from models.grids import N_
from models.jobs import JobRun, JobState

UPLOADS = "boundaries"  # their folder in admin.uploads
CRS_CHOICES = [SelectChoice("wgs84", _l("WGS84 / CGCS2000 (GPS, Tianditu)")),
               SelectChoice("gcj02", _l("GCJ-02 (AMap, Tencent maps)"))]
# What the page shows of a large file: the first rows and problems (the summary counts
# them all, `gridlink grids import` lists them all), and shapes simplified until a
# browser can draw them.
SHOWN_ROWS = 1000
MAP_VERTICES = 100_000
STATUS = {"ok": _l("ok"), "repaired": _l("repaired"), "unchanged": _l("unchanged"),
          "rejected": _l("rejected")}


class UploadForm(SecureForm):
    file = FileField(_l("Boundary file"))
    crs = SelectField(_l("Coordinates"), choices=CRS_CHOICES, default="wgs84")
    level = SelectField(_l("Level"), choices=[SelectChoice("", _l("From each code"))] + [
        SelectChoice(lv.value, lv.value) for lv in GridLevel], default="")


class CommitForm(SecureForm):
    keep_good = BooleanField(_l("Write the good features, leave out the rejected ones"))
    accept_topology = BooleanField(_l("Write even though the result breaks the tiling "
                                      "(recorded)"))


class ImportView(BaseView):
    def is_accessible(self):
        return current_scope().may("grids", "w")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = UploadForm(request.form)
        if request.method == "POST" and form.validate():
            upload = request.files.get("file")
            suffix = Path(upload.filename or "").suffix.lower() if upload else ""
            if suffix not in FORMATS:
                flash(_("Choose a GeoJSON, zipped Shapefile (.zip), GeoPackage (.gpkg) "
                        "or KML (.kml) file."), "error")
            else:
                token = uploads.save(upload, suffix, UPLOADS)
                return redirect(url_for(".preview", token=token, name=upload.filename,
                                        crs=form.crs.data, level=form.level.data))
        return self.render("gridlink/import_upload.html", form=form)

    @expose("/preview/<token>", methods=("GET", "POST"))
    def preview(self, token):
        form = CommitForm(request.form)
        path = uploads.find(token, UPLOADS)
        if path is None:
            abort(404)
        large = path.stat().st_size > current_app.config.get("IMPORT_INLINE_BYTES",
                                                            INLINE_BYTES)
        params = {"name": _shown_name(token), "crs": request.args.get("crs", "wgs84"),
                  "level": request.args.get("level", ""), "back": request.full_path}
        if request.method == "POST" and form.validate():
            return self._write(token, params, form, large)
        if large:
            # A big file is read and checked by the job runner; the page shows its result.
            run = _last_preview(token, params)
            if run is None or not run.finished:
                # Its page comes back here by itself once the check is done.
                return self._queue("boundary_preview", token, {**params, "follow": True})
            if run.state is JobState.failed:
                uploads.remove(token, UPLOADS)
                flash(say(run), "error")
                return redirect(url_for(".index"))
            preview = run.result
        else:
            try:
                preview = check_upload(db.session, path, params)
            except ImportRefused as e:  # the file is no use: nothing to keep it for
                uploads.remove(token, UPLOADS)
                flash(str(e).replace(token, params["name"]), "error")
                return redirect(url_for(".index"))
        return self.render("gridlink/import_preview.html", preview=preview, form=form,
                           status=STATUS, shapes=preview["shapes"])

    def _queue(self, kind: str, token: str, params: dict):
        run, _new = jobs.start(db.session, kind, f"{token}|{params['crs']}|{params['level']}",
                               owner_id=current_user.id, params=params)
        db.session.commit()
        return redirect(url_for("jobs.run", id=run.id))

    def _write(self, token: str, params: dict, form, large: bool):
        params = {**params, "keep_good": bool(form.keep_good.data),
                  "accept_topology": bool(form.accept_topology.data)}
        if large:
            return self._queue("boundary_write", token,
                               {**params, "back": url_for("generation.index_view")})
        try:
            message, message_params = write_upload(db.session, token, params)
        except JobError as refused:
            flash(_(refused.template, **refused.params), "error")
            return redirect(request.full_path)
        db.session.commit()
        flash(_(message, **message_params), "success")
        return redirect(url_for("generation.index_view"))


def _shown_name(token: str) -> str:
    """The name the file was uploaded as (its last part only), else the token."""
    return Path(request.args.get("name") or "").name or token


# --- the work, inline for a small file and as a job for a large one --------------------------

# Files up to this size are checked while the page waits; larger ones by the job runner
# (the topology check of 20,000 micro-grids takes a minute and more: bench/RESULTS.md (e)).
INLINE_BYTES = 2 * 2**20
REJECTED_LEFT = N_("Some features were rejected: tick the box to write only the good ones.")
BREAKS_TILING = N_("The result would overlap or leave gaps: fix the file, or tick the box to "
                   "write it anyway.")
WRITTEN = N_("Written as a new boundary generation: %(g)s")
UNCHANGED_ALL = N_("Nothing to write: every good feature is unchanged.")
CHECKED = N_("Checked: %(summary)s")


def _options(params: dict) -> ImportOptions:
    level = params.get("level")
    return ImportOptions(crs=params.get("crs", "wgs84"),
                         level=GridLevel(level) if level in GridLevel.__members__ else None)


def _report(session, path, params: dict):
    report = prepare_import(session, path, _options(params))
    report.filename = params["name"]
    return report, topology_after(session, report)


def check_upload(session, path, params: dict) -> dict:
    """The preview: the report, the problems after the import, the shapes to draw — as
    plain data, which a job keeps as its result."""
    report, problems = _report(session, path, params)
    rows = report.rows[:SHOWN_ROWS]
    return {"summary": report.summary(), "total": len(report.rows),
            "rejected": len(report.rejected),
            "rows": [{"feature": r.feature, "code": r.code, "name": r.name,
                      "status": r.status, "change": r.change, "template": r.template,
                      "params": r.params} for r in rows],
            "problems": [p.line() for p in problems[:SHOWN_ROWS]],
            "n_problems": len(problems), "shapes": _shapes(rows, problems[:SHOWN_ROWS])}


def write_upload(session, token: str, params: dict) -> tuple[str, dict]:
    """Write the upload as a new generation, as the preview's boxes allow; a topology
    override is recorded. Raises JobError (with the page's message) when refused."""
    path = uploads.find(token, UPLOADS)
    if path is None:
        raise JobError(GONE, file=params["name"])
    try:
        report, problems = _report(session, path, params)
    except ImportRefused as e:
        raise JobError(N_("%(reason)s"), reason=str(e).replace(token, params["name"])) from e
    if report.rejected and not params.get("keep_good"):
        raise JobError(REJECTED_LEFT)
    if problems and not params.get("accept_topology"):
        raise JobError(BREAKS_TILING)
    generation = commit_import(session, report, keep_good=True)
    if generation and problems:
        append(session.connection(), "topology_override", "generation", str(generation.id),
               after={"problems": [p.line() for p in problems]})
    if generation:
        request_map_refresh(session)
    uploads.remove(token, UPLOADS)
    return (WRITTEN, {"g": str(generation)}) if generation else (UNCHANGED_ALL, {})


@work("boundary_preview")
def _preview_job(session, run, progress) -> tuple[str, dict, dict]:
    token = run.subject.split("|")[0]
    path = uploads.find(token, UPLOADS)
    if path is None:
        raise JobError(GONE, file=run.params["name"])
    try:
        preview = check_upload(session, path, run.params)
    except ImportRefused as e:
        raise JobError(N_("%(reason)s"), reason=str(e).replace(token, run.params["name"])) \
            from e
    return CHECKED, {"summary": preview["summary"]}, preview


@work("boundary_write")
def _write_job(session, run, progress) -> tuple[str, dict, dict]:
    message, params = write_upload(session, run.subject.split("|")[0], run.params)
    return message, params, {"generation": params.get("g")}


def _last_preview(token: str, params: dict) -> JobRun | None:
    return db.session.scalars(
        select(JobRun).where(JobRun.kind == "boundary_preview",
                             JobRun.subject == f"{token}|{params['crs']}|{params['level']}")
        .order_by(JobRun.created_at.desc()).limit(1)).first()


def _shapes(rows, problems) -> dict:
    """The features coloured by their fate, and the topology problems, as GeoJSON."""
    shown = [row for row in rows if row.geometry is not None]
    geometries = _simplified([row.geometry for row in shown])
    features = [{"type": "Feature", "geometry": mapping(geometry),
                 "properties": {"status": row.status, "label": f"{row.code} {row.name}"}}
                for row, geometry in zip(shown, geometries, strict=True)]
    features += [{"type": "Feature", "geometry": p.geometry,
                  "properties": {"status": "problem", "label": p.detail}}
                 for p in problems if p.geometry]
    return {"type": "FeatureCollection", "features": features}


def _simplified(geometries: list) -> list:
    """The shapes with at most MAP_VERTICES vertices in all: from a metre's tolerance
    up, as coarse as it takes (the report itself checked every vertex)."""
    tolerance = 1e-5  # degrees, about a metre
    while tolerance < 1 and shapely.get_num_coordinates(geometries).sum() > MAP_VERTICES:
        geometries = list(shapely.simplify(geometries, tolerance))
        tolerance *= 4
    return geometries
