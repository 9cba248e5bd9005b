"""The queues of matters the geocoder could not place alone (待审核, 待人工定位).

The review queue holds matters whose address fits more than one grid (a
village name two towns share, a point on a shared edge) and matters a grid
returned as "not ours"; the manual queue those for which no grid was found.
Nothing is guessed: a person picks one of the candidates, or clicks on the map
where the debtor lives (the page asks /api/v1/locate which grid is there), and
models.workflow.place assigns it (geo.assign.pick_grid) as a step of the matter's
life: its history shows who placed it, when, where and how. A queue is work: court
staff see the matters their court acts on (Scope.matters_to_act_on: their own court's and its
tribunals', not those an intermediate court only supervises), admins every court's.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import HiddenField
from wtforms.validators import AnyOf

from admin.auth import current_scope
from admin.views.matter_formatters import (
    ADDRESS_STATUS,
    candidate_path,
    grid_path,
    label,
    mask_id_number,
    reason_text,
    say,
)
from admin.views.matters import address_points, grid_outlines, routable_grid, where_it_is
from admin.views.secure import refuse
from geo.assign import RoutingError
from models import (
    Assignment,
    Grid,
    Matter,
    MatterAddress,
    MatterState,
    StepError,
    TransitionError,
    db,
    workflow,
)
from models.assignments import METHOD_LABELS
from models.matter_types import MATTER_TYPE_LABELS
from models.matters import ADDRESS_KIND_LABELS, STATE_LABELS, Urgency

QUEUE_SIZE = 50


class PickForm(SecureForm):
    code = HiddenField()
    method = HiddenField(validators=[AnyOf(["candidate", "map"])])


def candidates_of(matter: Matter) -> list[dict]:
    """Every grid the geocoder offered for any of the matter's addresses, and the grid
    of every address it located (the debtor's 户籍地 when the 经常居住地's grid returned
    the matter), once each — but not the grid that returned it as not theirs."""
    returned = returned_by(matter)
    seen = {returned.grid.code} if returned else set()
    found = []
    for address in matter.addresses:
        kind = label(ADDRESS_KIND_LABELS, address.kind)
        located = ([{"code": address.grid.code, "name": address.grid.name,
                     "path": [g.name for g in address.grid.path()]}]
                   if address.grid is not None else [])
        for candidate in [*located, *(address.candidates or [])]:
            code = candidate.get("code")
            if code and code not in seen:
                seen.add(code)
                found.append({**candidate, "label": candidate_path(candidate),
                              "address": kind})
    return found


def returned_by(matter: Matter) -> Assignment | None:
    """The primary assignment the grid ended when it said "not ours"."""
    ended = [a for a in matter.assignments if a.role.value == "primary" and a.ended_at]
    return max(ended, key=lambda a: a.ended_at) if ended else None


class QueueView(BaseView):
    """One queue: the matters in scope in these states, oldest deadline first."""

    def __init__(self, states: tuple[MatterState, ...], **kwargs):
        super().__init__(**kwargs)
        self.states = states

    def is_accessible(self):
        return current_scope().may("routing", "w")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    def _query(self):
        return (select(Matter).where(current_scope().matters_to_act_on(),
                                    Matter.state.in_(self.states))
                .options(joinedload(Matter.debtor), joinedload(Matter.court),
                         selectinload(Matter.addresses).joinedload(MatterAddress.grid)
                         .joinedload(Grid.parent).joinedload(Grid.parent),
                         selectinload(Matter.assignments).joinedload(Assignment.grid)
                         .joinedload(Grid.parent).joinedload(Grid.parent)))

    @expose("/")
    def index(self):
        matters = db.session.scalars(
            self._query().order_by((Matter.urgency == Urgency.urgent).desc(),
                                   Matter.deadline, Matter.created_at)
            .limit(QUEUE_SIZE)).all()
        cards = [self._card(m) for m in matters]
        outlines = grid_outlines([c["code"] for card in cards for c in card["candidates"]]
                                 + [card["map"]["returned_from"] for card in cards
                                    if card["map"]["returned_from"]])
        for card in cards:
            for candidate in card["candidates"]:
                candidate.update(outlines.get(candidate["code"], {}))
            returned = card["map"]["returned_from"]
            if returned:  # drawn apart, so the map shows where the matter was
                card["map"]["returned"] = outlines.get(returned)
        return self.render("gridlink/queue.html", cards=cards, form=PickForm(),
                           types=MATTER_TYPE_LABELS, kinds=ADDRESS_KIND_LABELS,
                           statuses=ADDRESS_STATUS, methods=METHOD_LABELS,
                           states=STATE_LABELS, label=label, grid_path=grid_path,
                           mask_id_number=mask_id_number, candidate_path=candidate_path,
                           reason_text=reason_text,
                           kind=self.endpoint)

    def _card(self, matter: Matter) -> dict:
        returned = returned_by(matter) if matter.state is MatterState.returned else None
        return {
            "matter": matter, "returned": returned,
            "candidates": candidates_of(matter),
            "map": {"id": str(matter.id), "points": address_points(matter),
                    "pick_url": url_for(".pick", id=matter.id),
                    "returned_from": returned.grid.code if returned else None},
        }

    @expose("/<uuid:id>/pick/", methods=("POST",))
    def pick(self, id):
        form = PickForm(request.form)
        if not form.validate():
            if "csrf_token" in form.errors:
                abort(400)
            flash(_("Choose a candidate, or click on the map and confirm."), "error")
            return redirect(url_for(".index"))
        matter = db.session.scalar(
            self._query().where(Matter.id == id).with_for_update(of=Matter)
            .execution_options(populate_existing=True))
        if matter is None:
            abort(404)
        grid = routable_grid(form.code.data)
        offered = {c["code"] for c in candidates_of(matter)}
        if grid is None or (form.method.data == "candidate" and grid.code not in offered):
            flash(_("%(code)s is not a grid this matter can go to.", code=form.code.data or ""),
                  "error")
            return redirect(url_for(".index", _anchor=f"matter-{id}"))
        try:
            workflow.place(db.session, matter, current_user._get_current_object(), grid,
                           method=form.method.data)
        except (TransitionError, RoutingError, StepError) as e:
            db.session.rollback()
            flash(say(e), "error")
            return redirect(url_for(".index", _anchor=f"matter-{id}"))
        db.session.commit()
        flash(Markup('<a href="{}">{}</a> {}').format(
            url_for("matter.details_view", id=matter.id), matter.case_number,
            where_it_is(matter)), "success")
        return redirect(url_for(".index"))
