"""The demo year's matters lived: accepted, dispatched, done with their outcomes,
confirmed, failed, withdrawn, returned, escalated (and, nobody taking them, carried by
the ladder to the town centre and the county committee) and overdue, with the history
of each step at the time it was taken (days after the filing, never after today).

Written set-based like the rest of the demo (seeds.demo): the step rows, outcomes
and evidence records in a few multi-row INSERTs, the matters' new states in one
UPDATE, and one audit record that says what was loaded — going through
models.workflow one step at a time would take minutes for a year of matters. The
rules are the workflow's all the same: every step here is one STEPS allows from
the state it leaves (checked below against the table), by whom it names. Outcome
answers are checked by models.outcomes.check_outcome like any form's. The evidence
pictures are drawn here (a form with its signature and seal, a meeting), stored
once by content like any upload, and named by each matter's own evidence record.
"""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

from PIL import Image, ImageDraw
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload

from models import (
    Assignment,
    Court,
    Grid,
    LedgerLine,
    Matter,
    MatterState,
    MatterType,
    Person,
    RecordForm,
    RosterEntry,
    Statement,
    StatementState,
    User,
    clock,
)
from models.escalation import LADDER, STEP_ACTOR
from models.evidence import Evidence, default_root, path_of, read_picture
from models.fees import local_day, paying_court, rule_in_force
from models.outcomes import Outcome, check_outcome
from models.record_forms import matter_summary, outcome_kind
from models.roster import RosterRole
from models.workflow import CANCEL_REASONS, FAIL_REASONS, STEPS, MatterStep

S = MatterState
SEED = 2028
# What becomes of a matter (the share of those old enough to have got there).
FATES = {"complete": 72, "fail": 7, "cancel": 5, "return": 6, "escalate": 6, "slow": 4}
# A matter returned or escalated waits for a person; the older ones have been seen to.
RECENT_ONLY, RECENT_DAYS = ("return", "escalate"), 30
RETURN_NOTES = ("被执行人户籍已迁出本村", "地址所在为相邻村，非本网格", "该门牌号在邻村")
CHASE_NOTE = "请抓紧办理，期限将至"
LADDER_PASS = 0.1  # hours from a moment the ladder acts on to its next pass


def live_demo_matters(session: Session, today: date | None = None,
                      stops: dict | None = None) -> Counter:
    """Take the filed demo matters (state assigned) through their year; returns the
    states they end in. `stops`: matter id → the step its life stops after ("filed":
    none), for the showcase of the demo accounts' grid. Flushes, never commits."""
    stops = stops or {}
    today = today or date.today()
    # 10:00 in Beijing, the demo's "now" — or the real now when that is earlier: no
    # step is taken in the future, whatever the hour the demo is loaded at.
    now = min(datetime.combine(today, time(2), UTC), clock.now() - timedelta(minutes=5))
    rng = random.Random(SEED)
    matters = session.scalars(
        select(Matter).where(Matter.state == S.assigned)
        .order_by(Matter.created_at, Matter.case_number)
        .options(selectinload(Matter.court), selectinload(Matter.debtor),
                 selectinload(Matter.addresses),
                 selectinload(Matter.assignments).selectinload(Assignment.grid)
                 .selectinload(Grid.parent).selectinload(Grid.parent),
                 selectinload(Matter.assignments).selectinload(Assignment.liaison))).all()
    people = _grid_people(session)
    accounts = dict(session.execute(select(User.person_id, User.id)
                                    .where(User.person_id.is_not(None))).all())
    files = _demo_files()
    steps, outcomes, evidence, changes, ended = [], [], [], [], []
    forms, lines = [], []
    fees = _Fees(session)
    for matter in matters:
        primary = next(a for a in matter.assignments if a.ended_at is None
                       and a.role.value == "primary")
        life = _Life(matter, primary, people.get(primary.grid_id, {}), accounts, now, rng)
        fate = rng.choices(list(FATES), weights=FATES.values())[0]
        if fate in RECENT_ONLY and (now - matter.created_at).days > RECENT_DAYS:
            fate = "complete"  # long since re-routed or taken over, and done
        if matter.id in stops:
            life.stop_after, fate = stops[matter.id], "complete"
            life.prefer_account(people.get(primary.grid_id, {}))
        life.run(fate, rng)
        steps += life.steps
        if life.outcome is not None:
            data, proofs = _answers(matter, life, files, rng)
            evidence += proofs
            outcome_id = uuid.uuid4()
            outcomes.append({"id": outcome_id, "matter_id": matter.id,
                             "county_code": matter.county_code, "version": 1, "data": data,
                             "recorded_by_id": life.worker_account,
                             "recorded_by_name": life.worker_name,
                             "recorded_at": life.outcome})
            form = _form(matter, life, data, outcome_id)
            forms.append(form)
            if life.confirmed is not None:
                lines.append(fees.line(matter, form))
        if life.state is S.returned:
            ended.append({"id": primary.id, "ended_at": life.steps[-1]["at"]})
        changes.append(life.change())
    statements = fees.settle(lines, today)
    paid = {line["matter_id"] for line in lines if line.get("statement_id") in fees.paid}
    for change in changes:
        if change["id"] in paid:
            change["state"] = S.paid  # its court's statement of that month was paid
    if evidence:
        session.execute(insert(Evidence), evidence)
    for table, rows in ((MatterStep, steps), (Outcome, outcomes), (RecordForm, forms),
                        (Statement, statements), (LedgerLine, lines)):
        if rows:
            session.execute(insert(table), rows)
    if changes:
        session.execute(update(Matter), changes)
    if ended:
        session.execute(update(Assignment), ended)
    session.flush()
    return Counter(c["state"].value for c in changes)


class _Life:
    """One matter's steps, in order, each at its time; stops at today."""

    def __init__(self, matter, primary, people, accounts, now, rng):
        self.matter, self.now, self.state = matter, now, S.assigned
        self.steps: list[dict] = []
        self.at = matter.created_at
        liaison = people.get("liaison") or (None, "网格长")
        self.liaison = (accounts.get(liaison[0]), liaison[1])
        workers = people.get("workers") or [liaison]
        chosen = rng.choice(workers)
        self.worker_person, self.worker_name = chosen
        self.worker_account = accounts.get(chosen[0])
        self.court = (matter.officer_id, matter.officer_name)
        self.field_worker, self.outcome, self.chases = None, None, 0
        self.signed = self.confirmed = None
        self.stop_after, self.accounts = None, accounts
        self.level, self.escalated_at = 0, None  # the ladder's rung (models.escalation)

    def prefer_account(self, people: dict) -> None:
        """The grid worker with an account (the demo's), to find the matter on signing in."""
        for person, name in people.get("workers") or []:
            if person in self.accounts:
                self.worker_person, self.worker_name = person, name
                self.worker_account = self.accounts[person]
                return

    def take(self, name: str, who: tuple, after_hours: float, *, reason=None, note=None,
             data=None) -> bool:
        """The step `after_hours` after the last one, if that moment has come."""
        at = self.at + timedelta(hours=after_hours)
        if not self.goes_on(at):
            return False
        rule = STEPS[name]
        assert self.state in rule.sources, (name, self.state)  # the workflow's table
        to = rule.to or self.state
        self.steps.append({"id": uuid.uuid4(), "matter_id": self.matter.id,
                           "county_code": self.matter.county_code, "step": name,
                           "from_state": self.state, "to_state": to, "at": at,
                           "actor_id": who[0], "actor_name": who[1], "reason_code": reason,
                           "note": note, "data": data})
        self.state, self.at = to, at
        return True

    def run(self, fate: str, rng) -> None:
        deadline = datetime.combine(self.matter.deadline, time(9), UTC)
        if fate == "cancel":
            self.take("cancel", self.court, rng.uniform(20, 240),
                      reason=rng.choice(list(CANCEL_REASONS)[:3]))
            return
        if fate == "return":
            self.take("return", self.liaison, rng.uniform(2, 30), note=rng.choice(RETURN_NOTES))
            return
        if fate == "escalate":
            # Then the ladder (models.escalation), which nobody answers: its next pass
            # tells the town centre, and a day later the county committee.
            if self.take("escalate", self.court, rng.uniform(30, 60), note="联系不上网格长") \
                    and self.climb(1, LADDER_PASS):
                self.climb(2, LADDER.committee_after / timedelta(hours=1) + LADDER_PASS)
            return
        if not self.take("accept", self.liaison, rng.uniform(1, 20)):
            return
        if not self.take("dispatch", self.liaison, rng.uniform(1, 24),
                         data={"worker": self.worker_name}):
            return
        self.field_worker = self.worker_person
        worker = (self.worker_account, self.worker_name)
        if fate == "fail":
            reason = rng.choice(list(FAIL_REASONS)[:4])
            self.take("fail", worker, rng.uniform(24, 200), reason=reason)
            return
        # The work takes days; a slow one runs past its deadline and is chased.
        days = (deadline - self.at).total_seconds() / 3600
        hours = rng.uniform(0.2, 0.8) * max(days, 24)
        if fate == "slow":
            hours = days + rng.uniform(48, 600)
            chased_at = max(days - 24, 1)
            if self.take("chase", self.court, chased_at, note=CHASE_NOTE):
                self.chases, hours = 1, hours - chased_at
        if not self.take("finish", worker, hours):
            return
        self.outcome = self.at
        if self.take("sign", worker, rng.uniform(0.5, 30)):  # the record form, then the court
            self.signed = self.at
            if self.take("confirm", self.court, rng.uniform(12, 120)):
                self.confirmed = self.at

    def goes_on(self, at: datetime) -> bool:
        """Whether the life goes on to a step at `at`: not past today, nor past where
        the showcase stops it."""
        return at <= self.now and self.stop_after != "filed" and not (
            self.steps and self.steps[-1]["step"] == self.stop_after)

    def climb(self, level: int, after_hours: float) -> bool:
        """A rung of the ladder `after_hours` after the last step, if that moment has
        come, as its pass writes it (models.escalation: to_town, to_committee)."""
        at = self.at + timedelta(hours=after_hours)
        if not self.goes_on(at) or self.state is not S.escalated:
            return False
        self.steps.append({"id": uuid.uuid4(), "matter_id": self.matter.id,
                           "county_code": self.matter.county_code,
                           "step": ("to_town", "to_committee")[level - 1],
                           "from_state": S.escalated, "to_state": S.escalated, "at": at,
                           "actor_id": None, "actor_name": STEP_ACTOR, "reason_code": None,
                           "note": None, "data": {"level": level, "accept_due_at": (
                               self.matter.accept_due_at.isoformat()
                               if self.matter.accept_due_at else None)}})
        self.level, self.escalated_at, self.at = level, at, at
        return True

    def change(self) -> dict:
        return {"id": self.matter.id, "state": self.state, "version": len(self.steps) + 1,
                "escalation_level": self.level, "escalated_at": self.escalated_at,
                "updated_at": self.at if self.steps else self.matter.created_at,
                "field_worker_id": self.field_worker, "chases": self.chases,
                **({"queue_reason": "returned by the grid: %(reason)s",
                    "queue_params": {"reason": self.steps[-1]["note"]}}
                   if self.state is S.returned else {})}


def _grid_people(session: Session) -> dict:
    """Grid id → {"liaison": (person id, name), "workers": [(person id, name), …]}."""
    out: dict = {}
    rows = session.execute(
        select(RosterEntry.grid_id, RosterEntry.role, Person.id, Person.name)
        .join(Person, Person.id == RosterEntry.person_id)
        .where(RosterEntry.id.in_(RosterEntry.current().with_only_columns(RosterEntry.id)))
        .order_by(Person.name)).all()
    for grid, role, person, name in rows:
        slot = out.setdefault(grid, {})
        if role is RosterRole.liaison:
            slot["liaison"] = (person, name)
        else:
            slot.setdefault("workers", []).append((person, name))
    return out


# --- the record forms and the fees ----------------------------------------------------------

def _form(matter: Matter, life: _Life, answers: dict, outcome_id) -> dict:
    """The 执行联动事项记录表 as make_form writes it, with the signatures taken."""
    return {"id": uuid.uuid4(), "matter_id": matter.id, "county_code": matter.county_code,
            "version": 1, "outcome_id": outcome_id, "outcome_kind": outcome_kind(answers),
            "content": {"matter": matter_summary(matter), "outcome": answers},
            "made_at": life.outcome, "made_by_id": life.worker_account,
            "made_by_name": life.worker_name,
            "worker_signed_by_id": life.worker_account if life.signed else None,
            "worker_signed_name": life.worker_name if life.signed else None,
            "worker_signed_at": life.signed,
            "court_signed_by_id": life.court[0] if life.confirmed else None,
            "court_signed_name": life.court[1] if life.confirmed else None,
            "court_signed_at": life.confirmed, "superseded_by": None}


class _Fees:
    """Ledger lines as post_ledger writes them (the fee in force on the court's day),
    and each paying court's monthly statements: paid up to two months ago."""

    PAID_AFTER_DAYS = 45

    def __init__(self, session: Session):
        self.session, self.rules, self.paid = session, {}, set()

    def rule(self, matter_type, kind, on: date):
        key = (matter_type, kind, on)
        if key not in self.rules:
            self.rules[key] = rule_in_force(self.session, matter_type, kind, on)
        return self.rules[key]

    def line(self, matter: Matter, form: dict) -> dict:
        on = local_day(form["court_signed_at"])
        rule = self.rule(matter.matter_type, form["outcome_kind"], on)
        grid = form["content"]["matter"].get("grid") or {}
        return {"id": uuid.uuid4(), "county_code": matter.county_code, "form_id": form["id"],
                "matter_id": matter.id, "court_id": paying_court(matter.court).id,
                "worker_id": form["worker_signed_by_id"],
                "worker_name": form["worker_signed_name"], "grid_code": grid.get("code"),
                "case_number": matter.case_number, "matter_type": matter.matter_type,
                "outcome_kind": form["outcome_kind"], "signed_on": on,
                "month": on.replace(day=1), "fee_rule_id": rule.id if rule else None,
                "amount": rule.amount if rule else Decimal("0.00"), "bounty": matter.bounty,
                "bounty_reward": None, "statement_id": None, "voided_at": None,
                "created_at": form["court_signed_at"]}

    def settle(self, lines: list[dict], today: date) -> list[dict]:
        """One statement per paying court and month; those of months ended long enough
        ago are paid (their matters move to 已支付); the rest wait."""
        statements: dict = {}
        for line in lines:
            key = (line["court_id"], line["month"])
            if key not in statements:
                court = self.session.get(Court, line["court_id"])
                end = (line["month"] + timedelta(days=32)).replace(day=1)
                paid = (today - end).days >= self.PAID_AFTER_DAYS
                paid_at = datetime.combine(end + timedelta(days=20), time(2), UTC)
                statements[key] = {
                    "id": uuid.uuid4(), "court_id": court.id, "county_code": court.county_code,
                    "period_start": line["month"], "period_end": end,
                    "state": StatementState.paid if paid else StatementState.draft,
                    "made_at": min(datetime.combine(end + timedelta(days=5), time(2), UTC),
                                   datetime.combine(today, time(1), UTC)),
                    "made_by_name": court.contact_name,
                    "paid_at": paid_at if paid else None, "paid_by_id": None,
                    "paid_by_name": court.contact_name if paid else None}
                if paid:
                    self.paid.add(statements[key]["id"])
            if statements[key]["state"] is StatementState.paid or (
                    today - statements[key]["period_end"]).days >= 0:
                line["statement_id"] = statements[key]["id"]
        used = {line["statement_id"] for line in lines}
        return [s for s in statements.values() if s["id"] in used]


# --- outcomes -------------------------------------------------------------------------------

def _answers(matter: Matter, life: _Life, files: dict, rng) -> tuple[dict, list[dict]]:
    """A plausible outcome for the matter's type, checked as a form's; its evidence."""
    day = (life.outcome + timedelta(hours=8)).date()
    proofs: list[dict] = []

    def proof(kind: str, which: str) -> list[str]:
        facts = files[which]
        row = {"id": uuid.uuid4(), "matter_id": matter.id, "county_code": matter.county_code,
               "kind": kind, "format": "png", "content_type": "image/png",
               "size": facts["size"], "sha256": facts["sha256"], "name": facts["name"],
               "width": facts["width"], "height": facts["height"], "taken_at": None,
               "gps": None, "uploaded_by_id": life.worker_account,
               "uploaded_by_name": life.worker_name, "uploaded_at": life.outcome}
        proofs.append(row)
        return [str(row["id"])]

    kind, place = matter.matter_type, (matter.addresses[0].text or "村委会")[:40]
    if kind is MatterType.service:
        method = rng.choice(["direct", "direct", "direct", "lodged", "not_served"])
        data = {"method": method}
        if method == "direct":
            data |= {"served_on": day, "served_at": place, "signed_by": "debtor",
                     "receipt": proof("receipt", "form")}
        elif method == "lodged":
            data |= {"served_on": day, "served_at": place,
                     "refusal": "被执行人拒绝签收，当面留置",
                     "witnesses": [life.worker_name, "村委会委员"],
                     "receipt": proof("receipt", "form")}
        else:
            data |= {"search": "走访村委会、邻居，均称其多年未回村",
                     "missing_certificate": proof("missing_certificate", "form")}
    elif kind is MatterType.locate_debtor:
        data = {"address": "佛山市南海区桂城街道（在外务工）",
                "phone": f"1000766{rng.randint(0, 9999):04d}",
                "last_seen_on": day - timedelta(days=rng.randint(10, 90)),
                "source": "村委会及邻居"}
    elif kind is MatterType.find_property:
        data = {"items": [{"kind": rng.choice(["house", "land", "vehicle", "dividend"]),
                           "description": rng.choice(["两层砖混结构自建房一栋", "承包耕地约三亩",
                                                      "小型货车一辆", "村集体年度分红"]),
                           "value": f"{rng.randint(5, 300) * 1000}"}],
                "photos": proof("photos", "place")}
    elif kind is MatterType.investigation:
        data = {"unit": "村民委员会", "surveyed_on": day,
                "dividends": f"{rng.randint(2, 40) * 100}", "income_source": "集体经济分红",
                "officer": "村委会主任", "sealed": True,
                "survey_form": proof("survey_form", "form")}
    elif kind is MatterType.witness:
        data = {"held_on": day, "place": place, "participants": [life.worker_name],
                "record": proof("record", "form")}
    elif kind is MatterType.other:
        if matter.request.get("purpose") == "risk":
            data = {"purpose": "risk", "reported_on": day, "state_of_mind": "情绪基本稳定",
                    "risks": "家中有老人需照顾，现场执行时宜提前沟通"}
        else:
            data = {"purpose": "mediation", "reported_on": day, "mediation": "settled",
                    "terms": "分三期于年底前付清"}
    else:
        data = {"held_on": day, "place": "村委会会议室", "attendance": str(rng.randint(20, 80)),
                "photos": proof("photos", "meeting")}
    # Checked as the form's answers are, with this matter's evidence records.
    answers, problems = check_outcome(
        matter, _as_form(data), [SimpleNamespace(id=p["id"], kind=p["kind"]) for p in proofs])
    assert not problems, (kind, problems)
    return answers, proofs


def _as_form(data: dict) -> dict:
    """Answers as a form sends them (dates as text)."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


def _demo_files() -> dict:
    """Three drawn pictures, stored once under their hash (as an upload would be)."""
    root, out = default_root(), {}
    for which, draw, name in (("form", _form_picture, "签字表格扫描件"),
                              ("place", _place_picture, "现场照片"),
                              ("meeting", _meeting_picture, "活动照片")):
        buffer = io.BytesIO()
        draw().save(buffer, "PNG")
        data = buffer.getvalue()
        picture = read_picture(data, "png", f"{which}.png")
        digest = hashlib.sha256(data).hexdigest()
        for path, content in ((path_of(root, digest), data),
                              (path_of(root, digest, thumbnail=True), picture.thumbnail)):
            if not path.exists():
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                path.write_bytes(content)
                path.chmod(0o600)
        out[which] = {"sha256": digest, "size": len(data), "width": picture.width,
                      "height": picture.height, "name": f"演示-{name}.png"}
    return out


def _form_picture() -> Image.Image:
    """A signed form: its ruled table, a signature and the red seal."""
    page = Image.new("RGB", (900, 1200), "#fbfaf6")
    pen = ImageDraw.Draw(page)
    pen.rectangle((80, 160, 820, 1000), outline="#333333", width=3)
    for y in range(240, 1000, 80):
        pen.line((80, y, 820, y), fill="#555555", width=2)
    pen.line((300, 160, 300, 1000), fill="#555555", width=2)
    pen.line((620, 1060, 800, 1040), fill="#1a1a80", width=4)
    pen.ellipse((560, 900, 760, 1100), outline="#c92a2a", width=8)
    return page


def _place_picture() -> Image.Image:
    page = Image.new("RGB", (1200, 900), "#b5cfe0")
    pen = ImageDraw.Draw(page)
    pen.rectangle((0, 600, 1200, 900), fill="#7a9a5a")
    pen.rectangle((350, 330, 850, 640), fill="#d9cbb0", outline="#6b5a45", width=6)
    pen.polygon([(320, 340), (600, 150), (880, 340)], fill="#8a4b3c")
    return page


def _meeting_picture() -> Image.Image:
    page = Image.new("RGB", (1200, 900), "#efe8dc")
    pen = ImageDraw.Draw(page)
    pen.rectangle((200, 80, 1000, 260), fill="#c92a2a")
    for row in range(4):
        for seat in range(8):
            x, y = 140 + seat * 130, 420 + row * 110
            pen.ellipse((x, y, x + 60, y + 60), fill="#3d3d3d")
    return page
