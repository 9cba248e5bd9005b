"""Boundary import in the admin: upload a file, see the report and the shapes on a
map, then write it. The same code as `gridlink grids import` (geo.importer)."""

from __future__ import annotations

from pathlib import Path

import shapely
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from shapely.geometry import mapping
from wtforms import BooleanField, FileField, SelectField
from wtforms.fields.choices import SelectChoice

from admin import uploads
from admin.auth import current_scope
from admin.views.secure import refuse
from geo.import_file import FORMATS, ImportOptions, ImportRefused
from geo.importer import commit_import, prepare_import, topology_after
from models import GridLevel, db
from models.audit import append

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

    def _prepare(self, token: str):
        path = uploads.find(token, UPLOADS)
        if path is None:
            abort(404)
        options = ImportOptions(crs=request.args.get("crs", "wgs84"),
                                level=GridLevel(request.args["level"])
                                if request.args.get("level") in GridLevel.__members__ else None)
        report = prepare_import(db.session, path, options)
        report.filename = _shown_name(report.filename)
        return report

    @expose("/preview/<token>", methods=("GET", "POST"))
    def preview(self, token):
        form = CommitForm(request.form)
        try:
            report = self._prepare(token)
        except ImportRefused as e:  # the file is no use: nothing to keep it for
            uploads.remove(token, UPLOADS)
            flash(str(e).replace(token, _shown_name(token)), "error")
            return redirect(url_for(".index"))
        problems = topology_after(db.session, report)
        if request.method == "POST" and form.validate():
            return self._commit(report, problems, form, token)
        rows = report.rows[:SHOWN_ROWS]
        return self.render("gridlink/import_preview.html", report=report, rows=rows,
                           problems=problems[:SHOWN_ROWS], n_problems=len(problems),
                           form=form, status=STATUS,
                           shapes=_shapes(rows, problems[:SHOWN_ROWS]))

    def _commit(self, report, problems, form, token):
        if report.rejected and not form.keep_good.data:
            flash(_("Some features were rejected: tick the box to write only the good ones."),
                  "error")
        elif problems and not form.accept_topology.data:
            flash(_("The result would overlap or leave gaps: fix the file, or tick the box "
                    "to write it anyway."), "error")
        else:
            generation = commit_import(db.session, report, keep_good=True)
            if generation and problems:
                append(db.session.connection(), "topology_override", "generation",
                       str(generation.id), after={"problems": [p.line() for p in problems]})
            db.session.commit()
            uploads.remove(token, UPLOADS)
            flash(_("Written as a new boundary generation: %(g)s", g=str(generation))
                  if generation else _("Nothing to write: every good feature is unchanged."),
                  "success")
            return redirect(url_for("generation.index_view"))
        return redirect(request.full_path)


def _shown_name(token: str) -> str:
    """The name the file was uploaded as (its last part only), else the token."""
    return Path(request.args.get("name") or "").name or token


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
