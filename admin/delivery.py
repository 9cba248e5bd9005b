"""The outbox's worker side: the procrastinate tasks that deliver (models.outbox).

`deliver` is deferred by `notify` in the transaction that queued a message, so an
SMS leaves seconds after the page's commit; `deliver_periodic` runs every minute on
whichever worker takes the tick (procrastinate defers each tick once) and sends
what is due again after a failure. Both run the same pass; the text is rendered in
the site's language (zh_Hans_CN), as the inbox shows it.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from admin import jobs
from models import db
from models.jobs import QUEUE
from models.outbox import deliver_due
from models.senders import from_config


def render(template: str, params: dict) -> str:
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")):
        return _(template, **params)


def deliver_now(app: Flask) -> dict[str, int]:
    """One delivery pass with the app's configuration (GRIDLINK_SMS_*)."""
    config = app.config
    with app.app_context():
        try:
            return deliver_due(db.engine.begin, from_config(config), render,
                               tries=int(config.get("SMS_TRIES") or 6),
                               backoff=float(config.get("SMS_BACKOFF") or 30))
        finally:
            db.session.remove()


def _app() -> Flask:
    if jobs._flask is None:
        raise RuntimeError("the job runner was started without the Flask app")
    return jobs._flask


@jobs.tasks.task(name="deliver", queue=QUEUE)
def deliver_task() -> None:
    deliver_now(_app())


@jobs.tasks.periodic(cron="* * * * *", periodic_id="deliver")
@jobs.tasks.task(name="deliver_periodic", queue=QUEUE)
def deliver_periodic(timestamp: int) -> None:
    deliver_now(_app())
