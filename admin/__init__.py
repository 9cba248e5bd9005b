"""The web and command-line face of gridlink: app factory, admin views, CLI."""

from __future__ import annotations

import os

from flask import Flask

from admin import (  # noqa: F401 (api_*: API routes; delivery: job tasks)
    api_matters,
    api_notifications,
    api_outcomes,
    assets,
    auth,
    delivery,
    errors,
    frame,
    headers,
    i18n,
    maps,
    secret_key,
    transactions,
    uploads,
    views,
)
from admin.api import api
from admin.ogc import ogc
from models import audit, db
from models.database import app_database_url


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY"),  # unset: generated (admin.secret_key)
        SECRET_KEY_FILE=None,
        SQLALCHEMY_DATABASE_URI=None,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        BABEL_DEFAULT_LOCALE="zh_Hans_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        FLASK_ADMIN_SWATCH="cerulean",
        # Off: Flask-Admin would put Leaflet on every list and form. Pages with a map
        # load it themselves (gridlink/map_assets.html), from Flask-Admin's own files.
        FLASK_ADMIN_MAPS=False,
        # The largest request, i.e. upload, in bytes (GRIDLINK_MAX_CONTENT_LENGTH): 50 MB
        # takes a county's boundaries many times over (geo.import_file has the limits
        # of what a file may hold); larger ones are refused before they are read.
        MAX_CONTENT_LENGTH=50 * 2**20,
        UPLOAD_FOLDER=None,  # where uploads wait for confirmation: default <var>/uploads
        UPLOAD_MAX_AGE=24 * 3600,  # seconds before an unconfirmed upload is swept
    )
    app.config.from_prefixed_env("GRIDLINK")
    app.json.ensure_ascii = False  # JSON in Chinese, readable as it is
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SECRET_KEY"] = secret_key.resolve(app.config)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = app_database_url()

    db.init_app(app)
    audit.set_key(app.config["SECRET_KEY"])
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    maps.init_app(app)
    headers.init_app(app)
    assets.init_app(app)
    frame.init_app(app)
    transactions.init_app(app)
    uploads.init_app(app)
    views.init_app(app)
    app.register_blueprint(api)
    app.register_blueprint(ogc)

    from admin import cli, escalate

    cli.init_app(app)
    escalate.init_app(app)
    return app
