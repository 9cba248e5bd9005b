"""The outbox and its senders (models/outbox.py, models/senders.py, admin/delivery.py):
a gateway that fails is tried again with back-off and the message sent once, under
one idempotency key; a refusal or too many failures is given up with the reason;
two workers at once send each message once; a dead gateway never slows a page; and
procrastinate's worker is the one that delivers."""

from __future__ import annotations

import json
import select as io_select
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import Client, as_app_role, make_app
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from test_inbox import give
from test_workflow import a_matter, account

from admin import jobs as admin_jobs
from admin.delivery import render
from admin.jobs import runner
from models import Notification, Outbox, clock, db
from models.outbox import deliver_due
from models.senders import SmsGateway


class Gateway:
    """A local SMS gateway: answers `failures` (a list of statuses) first, then 200;
    keeps every request's key, headers and body."""

    def __init__(self, failures=(), pause: float = 0.0):
        self.failures, self.pause, self.seen = list(failures), pause, []
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with gateway.lock:
                    gateway.seen.append((self.headers["Idempotency-Key"],
                                         self.headers.get("Authorization"), body))
                    status = gateway.failures.pop(0) if gateway.failures else 200
                if gateway.pause:
                    time.sleep(gateway.pause)  # a real gateway's round trip: workers overlap
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    made = []

    def make(*failures, pause=0.0) -> Gateway:
        made.append(Gateway(failures, pause))
        return made[-1]

    yield make
    for g in made:
        g.close()


@pytest.fixture
def moved_clock():
    yield clock
    clock.reset()


def in_savepoint(session):
    """deliver_due's transactions, inside the test's own (rolled back at the end)."""
    @contextmanager
    def begin():
        connection = session.connection()
        with connection.begin_nested():
            yield connection
    return begin


def queued_chase(session, phone="13800001111") -> Outbox:
    liaison = account(session, "demo_liaison")
    liaison.person.phone = phone
    [notice] = give(session, "demo_liaison", 1, key="sms", kind="chase")
    return session.scalar(select(Outbox).where(Outbox.notification_id == notice))


def test_a_failing_gateway_is_tried_again_with_back_off_then_sent_once(
        app, session, gateway, moved_clock):
    sms = gateway(503, 503)
    message = queued_chase(session)
    sender = SmsGateway(sms.url, "k-123", timeout=5)

    def deliver():
        with app.app_context():  # the text in the site's language, as the worker renders it
            return deliver_due(in_savepoint(session), sender, render, tries=5, backoff=30)

    assert deliver() == {"sent": 0, "retry": 1, "failed": 0}
    assert deliver() == {"sent": 0, "retry": 0, "failed": 0}  # not yet due again
    moved_clock.move(31)
    assert deliver() == {"sent": 0, "retry": 1, "failed": 0}
    session.refresh(message)
    assert message.attempts == 2 and "503" in message.last_error
    moved_clock.move(31)  # the back-off doubled: 60 s now
    assert deliver()["sent"] == 0
    moved_clock.move(30)
    assert deliver() == {"sent": 1, "retry": 0, "failed": 0}
    assert deliver() == {"sent": 0, "retry": 0, "failed": 0}
    session.refresh(message)
    assert (message.state, message.attempts, message.last_error) == ("sent", 3, None)
    keys = {key for key, _, _ in sms.seen}
    assert len(sms.seen) == 3 and len(keys) == 1  # one message, one key for every try
    _, authorization, body = sms.seen[-1]
    assert authorization == "Bearer k-123" and body["to"] == "13800001111"
    assert body["key"] in keys and "催办事项" in body["text"]


@pytest.mark.parametrize(("answers", "tries", "passes", "reason"), [
    ((503, 503, 503), 3, 3, "503"),  # given up after the tries, the last reason kept
    ((400,), 6, 1, "400"),  # refused outright: trying again cannot help
])
def test_a_message_is_given_up_with_its_reason(app, session, gateway, moved_clock,
                                              answers, tries, passes, reason):
    sms = gateway(*answers)
    message = queued_chase(session)
    for _ in range(passes):
        deliver_due(in_savepoint(session), SmsGateway(sms.url, None), lambda t, p: t % p,
                    tries=tries, backoff=1)
        moved_clock.move(3600)
    session.refresh(message)
    assert message.state == "failed" and reason in message.last_error
    assert len(sms.seen) == passes


def test_an_unreachable_gateway_is_a_reason_to_try_again(session, moved_clock):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nobody listens there once closed
    message = queued_chase(session)
    done = deliver_due(in_savepoint(session), SmsGateway(f"http://127.0.0.1:{port}/", None),
                       lambda t, p: t % p)
    session.refresh(message)
    assert done["retry"] == 1 and "unreachable" in message.last_error


def test_a_dead_gateway_never_slows_a_page(client_as, session, app, monkeypatch):
    """A gateway that takes connections and never answers: the court's chase is
    answered all the same, having only queued the SMS and the job that sends it."""
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead.listen(8)
        monkeypatch.setitem(app.config, "SMS_URL", f"http://127.0.0.1:{dead.getsockname()[1]}/")
        account(session, "demo_liaison").person.phone = "13800001111"
        matter = a_matter(session, "（2026）粤5302执7401号")
        session.flush()
        court = client_as("demo_court_yuncheng")
        response = court.post(f"/admin/matter/{matter.id}/step/chase/", data={"note": "急"})
        assert response.status_code == 302
        readable, _, _ = io_select.select([dead], [], [], 0)
        assert readable == []  # the page never called the gateway
    sms = session.scalar(select(Outbox).join(Notification).where(
        Notification.matter_id == matter.id))
    assert (sms.state, sms.attempts) == ("pending", 0)
    assert session.scalar(text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
                               "'gridlink:deliver' AND status = 'todo'")) == 1


@pytest.fixture
def committed(scratch_database):
    """Notifications and their SMS committed for real on the live copy of the demo,
    taken away afterwards."""
    engine = create_engine(as_app_role(scratch_database), pool_size=4)

    def make(key: str, count: int) -> None:
        with Session(engine) as session:
            give(session, "demo_liaison", count, key=key)
            session.execute(text(
                "INSERT INTO outbox (notification_id, address) SELECT id, '13800000000' "
                "FROM notifications WHERE dedup_key LIKE :k"), {"k": f"{key}:%"})
            session.commit()

    make.engine = engine
    yield make
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM notifications WHERE dedup_key LIKE 'live-%'"))
    engine.dispose()


def test_two_workers_at_once_send_each_message_once(committed, gateway):
    committed("live-two:", 20)
    sms = gateway(pause=0.02)
    sender = SmsGateway(sms.url, None)
    results = []

    def work():
        results.append(deliver_due(committed.engine.begin, sender, lambda t, p: t % p))

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    keys = [key for key, _, _ in sms.seen]
    assert len(keys) == 20 and len(set(keys)) == 20
    assert sum(r["sent"] for r in results) == 20
    with committed.engine.connect() as conn:
        states = conn.execute(text(
            "SELECT o.state, count(*) FROM outbox o JOIN notifications n "
            "ON n.id = o.notification_id WHERE n.dedup_key LIKE 'live-two:%' "
            "GROUP BY o.state")).all()
    assert states == [("sent", 20)]


def test_procrastinates_worker_delivers_what_notify_queued(scratch_database, committed,
                                                          gateway):
    """`notify` defers the delivery job in its transaction; `gridlink worker` (here its
    procrastinate app, in a thread) runs it with the app's configured gateway."""
    sms = gateway()
    app = make_app(scratch_database)
    app.config.update(SMS_URL=sms.url, SMS_KEY="live-key")
    app.test_client_class = Client
    with Session(committed.engine) as session:
        liaison = account(session, "demo_liaison")
        phone, liaison.person.phone = liaison.person.phone, "13800003333"
        session.commit()
        try:
            give(session, "demo_liaison", 2, key="live-worker", kind="chase")
            session.commit()
        finally:
            liaison.person.phone = phone
            session.commit()
    # The runner's tasks work in the app last given to it: ours here, then the one
    # before again (an earlier test's app may still hold a connection it opened after
    # disposing its engine; dropping the last reference to it would close it by GC).
    previous = admin_jobs._flask
    jobs = runner(app.config["SQLALCHEMY_DATABASE_URI"], app)
    worker = threading.Thread(target=jobs.run_worker,
                              kwargs={"wait": False, "install_signal_handlers": False})
    worker.start()
    worker.join(timeout=120)
    admin_jobs._flask = previous
    with app.app_context():
        db.engine.dispose()
    assert sorted(body["to"] for _, _, body in sms.seen) == ["13800003333"] * 2
    assert {auth for _, auth, _ in sms.seen} == {"Bearer live-key"}
    with committed.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Outbox).join(Notification).where(
            Notification.dedup_key.like("live-worker:%"), Outbox.state == "sent")) == 2
