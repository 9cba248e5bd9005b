# gridlink in production: the app under gunicorn, talking to the PostGIS named by
# GRIDLINK_APP_DATABASE_URL (as the app's role) or DATABASE_URL. When DATABASE_URL
# (the owner's) is given, the migrations and ensure-admin run first; compose gives
# it only to its one-shot `migrate` service.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=2

RUN useradd --create-home --uid 10001 --user-group gridlink

# Pango for WeasyPrint (the PDF forms) and a CJK font embedded in them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/*

# Only what the distribution needs (.dockerignore keeps the rest out of the context).
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY admin ./admin
COPY geo ./geo
COPY models ./models
COPY seeds ./seeds

# A regular (non-editable) install without the dev extras. The .mo catalogues are
# compiled here, from outside /src so the installed package is the one compiled:
# at run time site-packages is read-only for the gridlink user.
RUN pip install --no-cache-dir -c constraints.txt . \
    && cd / && rm -rf /src \
    && python -c "from admin.i18n import compile_catalogs; compile_catalogs()" \
    && python -c "import admin.i18n as i; assert list(i.TRANSLATIONS.glob('*/LC_MESSAGES/*.mo'))"

USER gridlink
WORKDIR /home/gridlink
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/admin/', timeout=4)"]

# With the owner's DATABASE_URL every command runs after the migrations; the default
# command serves the admin.
ENTRYPOINT ["sh", "-c", "if [ -n \"$DATABASE_URL\" ]; then gridlink db upgrade && gridlink users ensure-admin || exit 1; fi; exec \"$@\"", "gridlink-entrypoint"]
CMD ["sh", "-c", "exec gunicorn --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-2} --timeout 120 --access-logfile - admin.wsgi:app"]
