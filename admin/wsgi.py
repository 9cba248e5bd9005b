"""WSGI entry point for gunicorn: `gunicorn admin.wsgi:app`."""

import gc

from admin import create_app

app = create_app()
# What the app made to start (modules, the admin's views, the catalogues) lives as long
# as the worker: out of the collector's sight, its full collections walk only what
# requests make, and a page's slowest answers (its p99) lose those pauses.
gc.freeze()
