"""Evidence files of an outcome: photos and scans taken on a phone, PDFs.

What a file is comes from its content (magic bytes, then Pillow opening the whole
picture), never from its name or the type the browser claims: a page named
.jpg that is HTML or SVG is refused, a PNG named .pdf is a PNG. Pictures keep
what the camera wrote about them — the time (EXIF DateTimeOriginal) and the
place (the GPS IFD, WGS84) — and get a small JPEG thumbnail stored beside them.

Files live outside the database, in the evidence folder (GRIDLINK_EVIDENCE_DIR,
by default <var>/evidence), named by the SHA-256 of their content with a
two-level fan-out (ab/cd/abcd…): the same photo uploaded twice is stored once.
The database keeps who sent it, for which matter, its size and checksum. The
files are the service's alone (folders 0700, files 0600); they are reached only
through a matter the reader may see (admin: by the evidence's id), never by the
hash, which no page or URL shows.

A file is recorded when it is accepted, before the outcome it belongs to is saved
(so that a form sent back for a missing answer keeps it); one whose form was never
saved stays recorded, named by no outcome. `sweep` removes those records once they
are older than a day (GRIDLINK_EVIDENCE_SWEEP_HOURS, `gridlink evidence sweep
--older-than H`, and a nightly job), and `remove_files`, after the commit, the files
no record names any more: a file shared by hash with evidence still in use stays.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from geoalchemy2 import Geometry, WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import clock
from models.base import db, uuid_pk
from models.database import var_dir
from models.grids import N_
from models.matters import Matter

try:  # HEIC, the iPhone's default: read when pillow-heif is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - pillow-heif is a dependency
    HEIC = False

MAX_BYTES = 10 * 2**20  # per file; GRIDLINK_EVIDENCE_MAX_BYTES changes it
THUMB_PX = 320
# Phones in China write local time without a zone (OffsetTimeOriginal is recent).
CAMERA_ZONE = ZoneInfo("Asia/Shanghai")
# What may be kept, by the name Pillow or the PDF header gives it: (MIME type, suffix).
FORMATS = {
    "jpeg": ("image/jpeg", ".jpg"), "png": ("image/png", ".png"),
    "webp": ("image/webp", ".webp"), "heic": ("image/heic", ".heic"),
    "pdf": ("application/pdf", ".pdf"),
}
PILLOW_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}
HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# The most pixels a picture may have: a JPEG is decoded at thumbnail scale (draft), so
# a 108-megapixel phone photo costs little; others are decoded whole (a 40-megapixel
# PNG is 120 MB in memory), and a small file of huge dimensions is a bomb.
MAX_PIXELS = {"jpeg": 120_000_000, "heic": 50_000_000}
MAX_PIXELS_OTHER = 40_000_000


class EvidenceError(ValueError):
    """A file refused, said with its name (template and params, as everywhere)."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


class Evidence(db.Model):
    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_matter_id", "matter_id"),
                      Index("ix_evidence_sha256", "sha256"))

    id: Mapped[uuid.UUID] = uuid_pk()
    matter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"))
    county_code: Mapped[str] = mapped_column(String(6))  # the matter's
    kind: Mapped[str] = mapped_column(String(40))  # the outcome field it was sent for
    format: Mapped[str] = mapped_column(String(10))  # a key of FORMATS
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))  # as sent: shown, never used as a path
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gps: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326,
                                                            spatial_index=False))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    uploaded_by_name: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())

    def __str__(self) -> str:
        return self.name

    @property
    def is_picture(self) -> bool:
        return self.format != "pdf"

    @property
    def point(self) -> tuple[float, float] | None:
        if self.gps is None:
            return None
        shape = to_shape(self.gps)
        return shape.x, shape.y

    @property
    def download_name(self) -> str:
        """A plain ASCII name for Content-Disposition: nothing the sender typed."""
        return f"{self.kind}-{str(self.id)[:8]}{FORMATS[self.format][1]}"


# --- what a file is ----------------------------------------------------------------------

def sniff(head: bytes) -> str | None:
    """The format the first bytes announce, or None for anything not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return "heic"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None


@dataclass
class Picture:
    width: int
    height: int
    taken_at: datetime | None
    gps: tuple[float, float] | None  # lon, lat
    thumbnail: bytes


def _rational(value) -> float:
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def exif_gps(exif: Image.Exif) -> tuple[float, float] | None:
    """(lon, lat) from the GPS IFD, or None when absent, zero or out of range."""
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        lat = sum(_rational(v) / 60**i for i, v in enumerate(gps[ExifTags.GPS.GPSLatitude]))
        lon = sum(_rational(v) / 60**i for i, v in enumerate(gps[ExifTags.GPS.GPSLongitude]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if str(gps.get(ExifTags.GPS.GPSLatitudeRef, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(ExifTags.GPS.GPSLongitudeRef, "E")).upper().startswith("W"):
        lon = -lon
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
        return None
    return round(lon, 7), round(lat, 7)


def exif_time(exif: Image.Exif) -> datetime | None:
    """When the picture was taken: DateTimeOriginal (else DateTime), in its own
    offset when the camera wrote one, else Beijing time."""
    inner = exif.get_ifd(ExifTags.IFD.Exif)
    text = inner.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    try:
        moment = datetime.strptime(str(text).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except (TypeError, ValueError):
        return None
    offset = str(inner.get(ExifTags.Base.OffsetTimeOriginal) or "").strip("\x00 ")
    try:
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = offset.lstrip("+-").split(":")
        zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    except ValueError:
        zone = CAMERA_ZONE
    return moment.replace(tzinfo=zone)


def read_picture(data: bytes, fmt: str, name: str) -> Picture:
    """Open the whole picture (a truncated or damaged one is refused), read its EXIF and
    make the thumbnail."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                found = PILLOW_FORMATS.get(probe.format or "")
                pixels = probe.size[0] * probe.size[1]
                if pixels > MAX_PIXELS.get(fmt, MAX_PIXELS_OTHER):
                    raise Image.DecompressionBombError(pixels)
                width, height = probe.size
                probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            if image.format == "JPEG":
                image.draft("RGB", (THUMB_PX * 2, THUMB_PX * 2))
            image.load()
            exif = image.getexif()
            if exif.get(ExifTags.Base.Orientation) in (5, 6, 7, 8):  # turned a quarter
                width, height = height, width
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            upright.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EvidenceError(N_("%(name)s has too many pixels to be a photo or a scan"),
                            name=name) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise EvidenceError(N_("%(name)s is damaged or not a complete picture (%(why)s)"),
                            name=name, why=type(e).__name__) from None
    if found != fmt:
        raise EvidenceError(N_("%(name)s is not what its first bytes say it is"), name=name)
    return Picture(width, height, exif_time(exif), exif_gps(exif), out.getvalue())


def check_pdf(data: bytes, name: str) -> None:
    """A PDF, whole: the header, and the end-of-file mark near the end."""
    if b"%%EOF" not in data[-2048:]:
        raise EvidenceError(N_("%(name)s is not a complete PDF (it has no end): send it "
                               "again"), name=name)


# --- where files live ----------------------------------------------------------------------

def default_root() -> Path:
    return Path(os.environ.get("GRIDLINK_EVIDENCE_DIR") or var_dir() / "evidence")


def path_of(root: Path, sha256: str, thumbnail: bool = False) -> Path:
    """ab/cd/abcd… (two levels of 256 folders: a folder never holds too many files)."""
    return root / sha256[:2] / sha256[2:4] / (sha256 + (".thumb.jpg" if thumbnail else ""))


def _write(path: Path, data: bytes) -> None:
    """Write once, atomically: a file of this name already holds these bytes (then its
    time is renewed, so that a sweep running now leaves it to the new upload)."""
    if path.exists():
        os.utime(path)
        return
    for folder in (path.parent.parent.parent, path.parent.parent, path.parent):
        folder.mkdir(mode=0o700, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def read_upload(stream, name: str, max_bytes: int) -> bytes:
    """The upload's bytes, refused once they pass max_bytes (read no further)."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise EvidenceError(N_("%(name)s is larger than %(mb)s MB, the most one file may be"),
                            name=name, mb=f"{max_bytes / 2**20:g}")
    if not data:
        raise EvidenceError(N_("%(name)s is empty"), name=name)
    return data


def store(session: Session, matter: Matter, kind: str, stream, name: str, *, root: Path,
          max_bytes: int = MAX_BYTES, uploaded_by=None) -> Evidence:
    """Check one uploaded file, keep it under its hash and record it for the matter.
    Raises EvidenceError naming the file when it is refused."""
    name = (os.path.basename(name or "").strip() or "file")[:200]
    data = read_upload(stream, name, max_bytes)
    fmt = sniff(data[:16])
    if fmt is None or (fmt == "heic" and not HEIC):
        raise EvidenceError(N_("%(name)s is not a photo or a PDF: JPEG, PNG, WebP, HEIC or "
                               "PDF files are accepted"), name=name)
    picture = read_picture(data, fmt, name) if fmt != "pdf" else None
    if fmt == "pdf":
        check_pdf(data, name)
    digest = hashlib.sha256(data).hexdigest()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(path_of(root, digest), data)
    if picture is not None:
        _write(path_of(root, digest, thumbnail=True), picture.thumbnail)
    evidence = Evidence(
        matter_id=matter.id, county_code=matter.county_code, kind=kind, format=fmt,
        content_type=FORMATS[fmt][0], size=len(data), sha256=digest, name=name,
        width=picture.width if picture else None, height=picture.height if picture else None,
        taken_at=picture.taken_at if picture else None,
        gps=(WKTElement(f"POINT({picture.gps[0]} {picture.gps[1]})", srid=4326)
             if picture and picture.gps else None),
        uploaded_by_id=getattr(uploaded_by, "id", None),
        uploaded_by_name=(getattr(uploaded_by, "display_name", None) or "system")[:100])
    session.add(evidence)
    session.flush()
    return evidence


# --- files of forms never saved ------------------------------------------------------------

SWEEP_AFTER = timedelta(hours=24)  # GRIDLINK_EVIDENCE_SWEEP_HOURS


@dataclass
class Swept:
    """What a sweep removed: evidence records (by matter) and the hashes they held."""

    records: list[dict]
    cutoff: datetime
    hashes: set[str]
    files: list[str] | None = None  # set by remove_files: the files deleted


def _named_by_an_outcome():
    """SQL: an outcome of the evidence's matter names it, in any version and any field
    (file ids are strings anywhere in the outcome's data, rows included)."""
    from models.outcomes import Outcome

    return exists().where(
        Outcome.matter_id == Evidence.matter_id,
        func.jsonb_path_exists(Outcome.data, literal_column("'$.** ? (@ == $id)'::jsonpath"),
                               func.jsonb_build_object("id", func.cast(Evidence.id, String))))


def sweep(session: Session, older_than: timedelta = SWEEP_AFTER,
          now: datetime | None = None) -> Swept:
    """Remove the evidence records no outcome names that were uploaded more than
    `older_than` ago (a form never saved); flushes. The files go with
    `remove_files`, after the caller commits: a file is never gone while a record
    that may still come back names it."""
    cutoff = (now or clock.now()) - older_than
    # The matter's row lock, skipping matters locked now: an outcome being saved holds
    # it (models.workflow.begin), so its files are not swept from under it.
    unused = list(session.scalars(
        select(Evidence).join(Matter, Matter.id == Evidence.matter_id)
        .where(Evidence.uploaded_at < cutoff, ~_named_by_an_outcome())
        .order_by(Evidence.uploaded_at).with_for_update(of=Matter, skip_locked=True)))
    records = [{"id": str(e.id), "matter_id": str(e.matter_id), "name": e.name,
                "kind": e.kind, "size": e.size, "uploaded_at": e.uploaded_at.isoformat()}
               for e in unused]
    hashes = {e.sha256 for e in unused}
    for evidence in unused:
        session.delete(evidence)
    session.flush()
    return Swept(records, cutoff, hashes)


def remove_files(session: Session, root: Path, swept: Swept) -> list[str]:
    """Delete the files (and thumbnails) of the swept hashes that no evidence record
    holds now — a photo also kept for an outcome is shared by hash and stays — and
    that no upload has renewed since the sweep's cutoff. The paths deleted."""
    still_held = set(session.scalars(select(Evidence.sha256).where(
        Evidence.sha256.in_(swept.hashes)))) if swept.hashes else set()
    removed = []
    for digest in sorted(swept.hashes - still_held):
        for path in (path_of(root, digest), path_of(root, digest, thumbnail=True)):
            try:
                if datetime.fromtimestamp(path.stat().st_mtime, swept.cutoff.tzinfo) \
                        >= swept.cutoff:
                    continue  # uploaded again just now
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(str(path))
    swept.files = removed
    return removed
