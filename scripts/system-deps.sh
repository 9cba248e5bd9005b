#!/usr/bin/env bash
# Install the system packages gridlink needs, where they are missing.
#   scripts/system-deps.sh run    PostgreSQL + PostGIS (the embedded database), and Pango
#                                 with a CJK font for the PDF forms (WeasyPrint)
#   scripts/system-deps.sh test   the same, plus Chromium, GDAL and poppler-utils for the tests
# Debian and Ubuntu (apt). Uses sudo when not root. Does nothing when all is there.
set -euo pipefail
want=${1:-run}

# PostgreSQL from the distribution, with its PostGIS: Debian 12 has 15, Ubuntu others.
pg_pkgs() {
  if ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then return; fi
  local v
  v=$(apt-cache policy postgresql 2>/dev/null | awk '/Candidate:/ {print $2}' | sed -E 's/^([0-9]+).*/\1/')
  if [ -n "$v" ] && [ "$v" != "(none)" ]; then
    echo "postgresql-$v postgresql-$v-postgis-3"
  else
    echo "postgresql postgresql-postgis"
  fi
}

missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || missing+=("$1"); }

need_cmd runuser util-linux
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# WeasyPrint draws the PDFs with Pango; the forms' Chinese needs a CJK font.
need_pkg libpango-1.0-0
need_pkg libpangoft2-1.0-0
need_pkg fonts-wqy-zenhei
if [ "$want" = test ]; then
  need_cmd chromium chromium
  need_cmd ogrinfo gdal-bin
  need_cmd pdffonts poppler-utils  # pdffonts, pdftotext, pdftoppm: the PDF tests
fi

pg=$(ls /usr/share/postgresql/*/extension/postgis.control 2>/dev/null || true)
if [ -n "$pg" ] && [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "gridlink needs PostgreSQL with PostGIS${missing:+ and: ${missing[*]}}." >&2
  echo "This machine has no apt-get: install them with your package manager, or set" >&2
  echo "DATABASE_URL to a PostGIS database, then run make again." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "not root and no sudo: install ${missing[*]} by hand" >&2; exit 1; }
  SUDO="sudo"
fi

echo "installing system packages (apt)…"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2046
$SUDO apt-get install -y -qq --no-install-recommends $( [ -z "$pg" ] && pg_pkgs ) "${missing[@]}" >/dev/null
if [ -z "$(ls /usr/share/postgresql/*/extension/postgis.control 2>/dev/null)" ]; then
  echo "PostGIS did not install: check apt's output above" >&2
  exit 1
fi
