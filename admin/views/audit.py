"""The audit trail page (系统 → 审计日志): read-only, for admins.

A record's before and after are shown as a short readable diff — each changed
field by its name, old → new, moments in local time — rather than raw JSON;
the details page keeps the whole record. `gridlink audit verify` checks the chain.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import true

from admin.views.formatters import level_label, local_time
from admin.views.secure import ScopedModelView

ACTIONS = {"create": _l("created"), "update": _l("changed"), "delete": _l("deleted"),
           "login": _l("signed in"), "login_failed": _l("failed sign-in"),
           "logout": _l("signed out"), "reveal_phone": _l("phone shown"),
           "reveal_id_number": _l("ID number shown"),
           "seed_demo": _l("demo loaded"), "export": _l("exported"), "import": _l("imported"),
           "topology_override": _l("topology override"), "step": _l("step taken")}
ENTITIES = {"grid": _l("Grid"), "generation": _l("Generation"), "roster_entry": _l("Roster"),
            "person": _l("Person"), "court": _l("Court"), "address_point": _l("Address"),
            "account": _l("Account"), "api_token": _l("Token"), "database": _l("Database"),
            "directory_submission": _l("List submission"), "directory_row": _l("List row"),
            "matter": _l("Matter"), "debtor": _l("Debtor"), "matter_address": _l("Matter address"),
            "assignment": _l("Assignment"), "assignment_precedence": _l("Address precedence"),
            "place_alias": _l("Place alias"), "directory": _l("Liaison list"),
            "matters": _l("Matters"), "risk_report": _l("Risk report"),
            "legal_advice_request": _l("Legal advice")}
# The fields people look for, by their names on the pages; others keep the column's.
FIELDS = {"name": _l("Name"), "code": _l("Division code"), "level": _l("Level"),
          "phone": _l("Phone"), "title": _l("Title"), "role": _l("Role"),
          "valid_from": _l("Valid from"), "valid_to": _l("Valid to"), "person_id": _l("Person"),
          "grid_id": _l("Grid"), "court_id": _l("Court"), "parent_id": _l("Parent"),
          "state": _l("State"), "deadline": _l("Deadline"), "geom": _l("Boundary"),
          "active": _l("Active"), "username": _l("User name"),
          "display_name": _l("Display name"), "last_login_at": _l("Last sign-in"),
          "revoked_at": _l("Revoked"), "last_used_at": _l("Last used"),
          "case_number": _l("Case number"), "reason": _l("Reason"), "label": _l("Label"),
          "ended_at": _l("Ended"), "end_reason": _l("Why it ended"),
          "generation_high": _l("Through generation"), "field": _l("Field"),
          "count": _l("Count"), "id": _l("Record id"), "address": _l("Address"),
          "address_id": _l("Address"), "alias": _l("Alias"), "bounty": _l("Bounty"),
          "candidates": _l("Candidates"), "case_code": _l("Case number code"),
          "confidence": _l("Confidence"), "contact_name": _l("Contact"),
          "contact_phone": _l("Contact phone"), "county_code": _l("County code"),
          "created_at": _l("Created at"), "created_by_id": _l("Created by"),
          "credentials": _l("Credentials"), "debtor_id": _l("Debtor"),
          "debtor_key": _l("Debtor"), "effective_from": _l("Effective from"),
          "generation_id": _l("Generation"), "generation_low": _l("From generation"),
          "grids": _l("Grids served"), "id_number": _l("ID number or credit code"),
          "kind": _l("Kind"), "kinds": _l("Address order"), "liaison_id": _l("Liaison"),
          "line": _l("Row"), "matter_id": _l("Matter"), "matter_type": _l("Matter type"),
          "method": _l("Method"), "must_change_password": _l("Must change password"),
          "note": _l("Note"), "notes": _l("Notes"), "number": _l("House number"),
          "officer_id": _l("Officer"), "officer_name": _l("Officer"),
          "officer_phone": _l("Officer's phone"), "password_hash": _l("Password"),
          "phones": _l("Phones"), "position": _l("Order"), "prefix": _l("Token"),
          "queue_params": _l("Why it waits"), "queue_reason": _l("Why it waits"),
          "reason_params": _l("Reason"), "request": _l("Request"),
          "review_comment": _l("Comment"), "reviewed_at": _l("Reviewed"),
          "reviewed_by_id": _l("Reviewed by"), "road": _l("Road"),
          "session_generation": _l("Sessions"), "status": _l("Status"),
          "submission_id": _l("List submission"), "submitted_at": _l("Submitted"),
          "text": _l("Address"), "token_hash": _l("Token"), "town_id": _l("Town"),
          "updated_at": _l("Updated at"), "urgency": _l("Urgency"), "report": _l("Report"),
          "roster_entry": _l("Roster"), "matter": _l("Matter"), "liaison": _l("Liaison"),
          "version": _l("Version"), "chases": _l("Chased"), "field_worker_id": _l("Field worker"),
          "step": _l("Step"), "worker": _l("Field worker"), "grid": _l("Grid"),
          # grid-side requests (models.requests)
          "description": _l("Description"), "reported_by_id": _l("Reported by"),
          "reporter_name": _l("Reported by"), "at": _l("Time"), "topic": _l("Topic"),
          "question": _l("Question"), "asked_at": _l("Asked at"), "asked_by_id": _l("Asked by"),
          "asker_name": _l("Asked by"), "answer": _l("Answer"),
          "answered_by_id": _l("Answered by"), "answerer_name": _l("Answered by"),
          "answered_at": _l("Answered at"), "transferred_from_id": _l("Transferred from"),
          "transfer_reason": _l("Why it was transferred"),
          "transferred_at": _l("Transferred at"), "distance_m": _l("Distance (m)")}

# A matter's outcome (models.outcomes) and its evidence files (models.evidence).
ACTIONS.update({"outcome": _l("outcome recorded")})
ENTITIES.update({"outcome": _l("Outcome"), "evidence": _l("Evidence file")})
FIELDS.update({
    "version": _l("Version"), "data": _l("Answers"), "recorded_by_id": _l("Recorded by"),
    "recorded_by_name": _l("Recorded by"), "recorded_at": _l("Recorded at"),
    "format": _l("File format"), "content_type": _l("File format"), "size": _l("Size"),
    "sha256": _l("Checksum"), "width": _l("Width"), "height": _l("Height"),
    "taken_at": _l("Taken at"), "gps": _l("GPS"), "uploaded_by_id": _l("Uploaded by"),
    "uploaded_by_name": _l("Uploaded by"), "uploaded_at": _l("Uploaded at")})
SHOWN = 6  # changed fields listed in the list's cell; the details page has them all
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and _MOMENT.match(value):
        try:
            return local_time(datetime.fromisoformat(value))
        except ValueError:
            pass
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def changes(record) -> list[tuple[str, str | None, str | None]]:
    """(field, before, after) of a record: what an update changed, what a creation
    set, what a deletion removed, what any other action noted."""
    before, after = record.before or {}, record.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [("", _value(before) if before else None, _value(after) if after else None)]
    rows = []
    for key in dict.fromkeys([*after, *before]):
        old, new = before.get(key), after.get(key)
        if record.action == "update" and old == new:
            continue
        if record.action == "create" and new in (None, "", [], {}):
            continue
        if key == "field":  # what a showing showed: a field, named like the others
            old, new = (str(FIELDS.get(v, v)) if isinstance(v, str) else v for v in (old, new))
        rows.append((str(FIELDS.get(key, key)), _value(old) if key in before else None,
                     _value(new) if key in after else None))
    return rows


def _changes_cell(view, context, model, name):
    rows = changes(model)
    items = [Markup('<li><span class="text-muted">{}</span> {}</li>').format(
                field, Markup("{} → {}").format(old, new) if old is not None and new is not None
                else (new if new is not None else old))
             for field, old, new in rows[:SHOWN]]
    if len(rows) > SHOWN:
        items.append(Markup('<li class="text-muted">…</li>'))
    return Markup('<ul class="list-unstyled mb-0 gridlink-changes">{}</ul>').format(
        Markup("").join(items))


def _changes_export(view, context, model, name):
    return "; ".join(f"{field}: {old} → {new}" if old is not None and new is not None
                     else f"{field}: {new if new is not None else old}"
                     for field, old, new in changes(model))


def _short_id(view, context, model, name):
    value = getattr(model, name) or ""
    return Markup('<span title="{}">{}</span>').format(value, value[:8])


class AuditView(ScopedModelView):
    """The audit trail, read-only. `gridlink audit verify` checks it is intact."""

    entity = "audit"
    allow_create = allow_edit = allow_delete = False
    can_view_details = True
    can_export = True
    page_size = 50
    list_template = "gridlink/audit_list.html"
    column_list = ["seq", "at", "actor", "address", "action", "entity", "entity_id", "changes"]
    column_details_list = ["seq", "at", "actor", "actor_id", "address", "action", "entity",
                           "entity_id", "changes", "before", "after", "hash"]
    column_export_list = ["seq", "at", "actor", "address", "action", "entity", "entity_id",
                          "changes"]
    column_labels = {"seq": _l("No."), "at": _l("Time"), "actor": _l("Who"),
                     "actor_id": _l("Account id"), "address": _l("From"),
                     "action": _l("Action"), "entity": _l("Record"),
                     "entity_id": _l("Record id"), "changes": _l("What changed"),
                     "before": _l("Before"), "after": _l("After"), "hash": _l("Chain HMAC")}
    column_formatters = {"changes": _changes_cell, "entity_id": _short_id,
                         "action": level_label(ACTIONS), "entity": level_label(ENTITIES)}
    column_formatters_detail = {"changes": _changes_cell, "action": level_label(ACTIONS),
                                "entity": level_label(ENTITIES)}
    column_formatters_export = {"changes": _changes_export, "action": level_label(ACTIONS),
                                "entity": level_label(ENTITIES)}
    column_filters = ["action", "entity", "actor", "at"]
    column_searchable_list = ["entity_id", "actor"]
    column_default_sort = ("seq", True)

    def scope_filter(self, scope):
        return true()  # admins only (models.access.PERMISSIONS)
