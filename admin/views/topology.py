"""The topology report: every problem of the grids in scope, as a list and on a map."""

from __future__ import annotations

from flask import request
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l

from admin.auth import current_scope
from admin.views.secure import refuse
from geo.topology import DEFAULT_TOLERANCE_M, check
from models import db

KINDS = {"invalid": _l("Invalid polygon"), "outside_parent": _l("Outside its parent"),
         "overlap": _l("Overlap"), "gap": _l("Gap"), "sliver": _l("Sliver")}


class TopologyView(BaseView):
    """For those who keep and watch the boundaries (models.access: "generations")."""

    def is_accessible(self):
        return current_scope().may("generations")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        try:
            tolerance = max(float(request.args.get("tolerance", DEFAULT_TOLERANCE_M)), 0.0)
        except ValueError:
            tolerance = DEFAULT_TOLERANCE_M
        scope = current_scope()
        prefix = "" if scope.sees_whole_city else (scope.area_code or "")
        problems = check(db.session, prefix, tolerance)
        features = [{"type": "Feature", "id": i, "geometry": p.geometry,
                     "properties": {"kind": p.kind}}
                    for i, p in enumerate(problems) if p.geometry]
        return self.render("gridlink/topology.html", problems=problems, kinds=KINDS,
                           tolerance=tolerance,
                           collection={"type": "FeatureCollection", "features": features})
