"""Background jobs as their owners follow them: a list of one's runs, a page per run
with a progress bar (admin/static/gridlink/job.js polls status.json), and how it
ended. A run is its owner's (and an administrator's): nobody else learns of it."""

from __future__ import annotations

import uuid

from flask import abort, jsonify, redirect
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from admin.auth import current_scope
from admin.views.secure import refuse
from models import db
from models.accounts import Role
from models.jobs import JobRun, JobState

KINDS = {"matter_import": _l("Filing an uploaded spreadsheet"),
         "boundary_preview": _l("Checking an uploaded boundary file"),
         "boundary_write": _l("Writing an uploaded boundary file")}
# Where a finished run's page leads (params["back"]), in words.
BACK = {"matter_import": _l("Back to the import report"),
        "boundary_preview": _l("See the check's report"),
        "boundary_write": _l("To the boundary generations")}
STATES = {JobState.queued: _l("Waiting for the worker"), JobState.running: _l("Running"),
          JobState.done: _l("Finished"), JobState.failed: _l("Failed")}
SHOWN = 50


class JobView(BaseView):
    def is_accessible(self):
        return current_user.is_authenticated

    def is_visible(self):
        # In the menu for those who start jobs: whoever may import matters.
        return current_user.is_authenticated and current_scope().may("matters", "w")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        query = select(JobRun).order_by(JobRun.created_at.desc()).limit(SHOWN)
        if current_user.role is not Role.admin:
            query = query.where(JobRun.owner_id == current_user.id)
        return self.render("gridlink/jobs.html", runs=db.session.scalars(query).all(),
                           kinds=KINDS, states=STATES)

    @expose("/<uuid:id>/")
    def run(self, id: uuid.UUID):
        run = self._run(id)
        if run.state is JobState.done and run.params.get("follow") and run.params.get("back"):
            return redirect(run.params["back"])  # what was asked for is ready: show it
        return self.render("gridlink/job.html", run=run, kinds=KINDS, states=STATES,
                           message=say(run), back=BACK.get(run.kind))

    @expose("/<uuid:id>/status.json")
    def status(self, id: uuid.UUID):
        run = self._run(id)
        response = jsonify({"state": run.state.value, "state_label": str(STATES[run.state]),
                            "done": run.done, "total": run.total, "percent": run.percent,
                            "finished": run.finished, "message": say(run),
                            "progress_label": _("%(done)d of %(total)d", done=run.done,
                                                total=run.total or 0)})
        response.headers["Cache-Control"] = "no-store"
        return response

    def _run(self, id: uuid.UUID) -> JobRun:
        run = db.session.get(JobRun, id)
        # Another's run answers as if it did not exist.
        if run is None or (current_user.role is not Role.admin
                           and run.owner_id != current_user.id):
            abort(404)
        return run


def say(run: JobRun) -> str | None:
    """How the run ended, in the reader's language (templates are English msgids)."""
    if not run.message:
        return None
    return _(run.message, **(run.message_params or {}))

