"""Evidence files (models.evidence) and the outcome page that takes them: what a file
is comes from its content, the camera's time and place are read, a file is stored
once by its hash and reached only by its id through a matter the reader may see —
and a refused file loses nothing else typed on the form."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select
from test_outcomes import make_matter

from models import ApiToken, Court, Matter, MatterState, Outcome
from models.evidence import Evidence, EvidenceError, path_of, sniff, store
from models.matter_types import MatterType
from models.outcome_answers import local_today

YESTERDAY = (local_today() - timedelta(days=1)).isoformat()
HTML_AS_JPG = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
SVG_AS_JPG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
              b'onload="alert(1)"><rect width="9" height="9"/></svg>')
TEXT_AS_JPG = "这不是照片".encode()
# 云城街道, roughly: 112.04 E, 22.92 N
LAT, LON = (22, 55, 12), (112, 2, 24)


def picture(fmt="JPEG", colour="navy", size=(64, 48), gps=True, when="2026:03:01 09:30:15",
            offset=None) -> bytes:
    """A picture as a phone writes it: EXIF time and GPS (Pillow writes EXIF itself)."""
    exif = Image.Exif()
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: LAT,
            ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: LON}
    inner = {ExifTags.Base.DateTimeOriginal: when} if when else {}
    if offset:
        inner[ExifTags.Base.OffsetTimeOriginal] = offset
    if inner:
        exif[ExifTags.IFD.Exif] = inner
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt, exif=exif)
    return out.getvalue()


def png() -> bytes:
    return picture("PNG", gps=False, when=None)


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages"
            b"/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture
def root(app, tmp_path):
    """The app's evidence folder, for this test alone."""
    where = tmp_path / "evidence"
    before = app.config.get("EVIDENCE_DIR")
    app.config["EVIDENCE_DIR"] = str(where)
    yield where
    app.config["EVIDENCE_DIR"] = before


def keep(session, matter, data: bytes, name: str, root, kind="photos", **options):
    return store(session, matter, kind, io.BytesIO(data), name, root=root, **options)


# --- what a file is --------------------------------------------------------------------------

@pytest.mark.parametrize("data", [HTML_AS_JPG, SVG_AS_JPG, TEXT_AS_JPG, b"GIF89a" + b"\0" * 20])
def test_a_jpg_that_is_really_something_else_is_refused_by_name(session, root, data):
    matter = make_matter(session, MatterType.legal_education, "601")
    with pytest.raises(EvidenceError) as refused:
        keep(session, matter, data, "现场照片.jpg", root)
    assert refused.value.params["name"] == "现场照片.jpg"
    assert "is not a photo or a PDF" in refused.value.template
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*"))


def test_a_png_named_pdf_is_a_png(session, root):
    matter = make_matter(session, MatterType.legal_education, "602")
    evidence = keep(session, matter, png(), "回证.pdf", root)
    assert (evidence.format, evidence.content_type) == ("png", "image/png")
    assert evidence.download_name.endswith(".png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_photo_formats_are_accepted_with_a_thumbnail(session, root, fmt):
    matter = make_matter(session, MatterType.legal_education, "603")
    evidence = keep(session, matter, picture(fmt, size=(800, 600)), f"photo.{fmt}", root)
    assert evidence.format == {"HEIF": "heic"}.get(fmt, fmt.lower())
    with Image.open(path_of(root, evidence.sha256, thumbnail=True)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 320


def test_a_pdf_is_accepted_and_a_truncated_one_refused(session, root):
    matter = make_matter(session, MatterType.witness, "604")
    assert keep(session, matter, pdf(), "笔录.pdf", root, kind="record").format == "pdf"
    with pytest.raises(EvidenceError, match="not a complete PDF"):
        keep(session, matter, pdf()[:60], "笔录.pdf", root, kind="record")


def test_a_damaged_picture_is_refused(session, root):
    matter = make_matter(session, MatterType.legal_education, "605")
    with pytest.raises(EvidenceError) as refused:
        keep(session, matter, picture(size=(400, 300))[:700], "坏照片.jpg", root)
    assert refused.value.params["name"] == "坏照片.jpg"


@pytest.mark.parametrize("side", [7_000, 20_000])  # over our limit; over Pillow's own
def test_a_picture_of_huge_dimensions_is_refused_before_it_is_decoded(session, root, side):
    """A PNG bomb: a few kilobytes that would be gigabytes once decoded."""
    matter = make_matter(session, MatterType.legal_education, "609")
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    assert len(out.getvalue()) < 200_000
    with pytest.raises(EvidenceError) as refused:
        keep(session, matter, out.getvalue(), "bomb.png", root)
    assert refused.value.template == "%(name)s has too many pixels to be a photo or a scan"


def test_a_large_phone_photo_is_measured_whole_and_thumbnailed_small(session, root):
    matter = make_matter(session, MatterType.legal_education, "614")
    evidence = keep(session, matter, picture(size=(4000, 3000)), "big.jpg", root)
    assert (evidence.width, evidence.height) == (4000, 3000)
    with Image.open(path_of(root, evidence.sha256, thumbnail=True)) as thumb:
        assert thumb.size == (320, 240)


def test_the_cameras_time_and_place_are_read(session, root):
    matter = make_matter(session, MatterType.legal_education, "606")
    evidence = keep(session, matter, picture(), "IMG_0001.JPG", root)
    lon, lat = evidence.point
    assert lon == pytest.approx(112 + 2 / 60 + 24 / 3600)
    assert lat == pytest.approx(22 + 55 / 60 + 12 / 3600)
    assert evidence.taken_at.isoformat() == "2026-03-01T09:30:15+08:00"  # Beijing time
    other = keep(session, matter, picture(colour="olive", offset="+09:00"), "b.jpg", root)
    assert other.taken_at.isoformat() == "2026-03-01T09:30:15+09:00"
    plain = keep(session, matter, picture(colour="teal", gps=False, when=None), "c.jpg", root)
    assert plain.point is None and plain.taken_at is None


def test_the_size_limit(session, root):
    matter = make_matter(session, MatterType.legal_education, "607")
    data = picture(size=(200, 200))
    with pytest.raises(EvidenceError) as refused:
        keep(session, matter, data, "big.jpg", root, max_bytes=len(data) - 1)
    assert refused.value.template.startswith("%(name)s is larger than %(mb)s MB")
    assert keep(session, matter, data, "fits.jpg", root, max_bytes=len(data)).size == len(data)


def test_the_same_file_twice_is_stored_once(session, root):
    matter = make_matter(session, MatterType.legal_education, "608")
    data = picture()
    first = keep(session, matter, data, "a.jpg", root)
    second = keep(session, matter, data, "again.jpg", root)
    assert first.id != second.id and first.sha256 == second.sha256
    files = [p for p in root.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == [first.sha256, first.sha256 + ".thumb.jpg"]
    assert path_of(root, first.sha256).read_bytes() == data
    assert oct(path_of(root, first.sha256).stat().st_mode & 0o777) == "0o600"


def test_sniffing_reads_only_the_first_bytes():
    assert sniff(b"\x89PNG\r\n\x1a\n") == "png"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert sniff(b"\0\0\0\x18ftypheic") == "heic"
    assert sniff(b"\0\0\0\x18ftypisom") is None  # an MP4 video
    assert sniff(b"<svg") is None


# --- serving ---------------------------------------------------------------------------------

@pytest.fixture
def held(session, root):
    """A matter of demo_worker's grid (星岩社区) with one photo."""
    matter = make_matter(session, MatterType.legal_education, "610",
                         state=MatterState.dispatched)
    evidence = keep(session, matter, picture(), "现场.jpg", root)
    session.flush()
    return matter, evidence


@pytest.mark.parametrize("who", ["demo_worker", "demo_liaison", "demo_court_yuncheng",
                                 "demo_admin"])
def test_those_who_see_the_matter_get_the_file_by_its_id(client_as, held, who, root):
    _matter, evidence = held
    response = client_as(who).get(f"/admin/matter/evidence/{evidence.id}/")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="photos-{str(evidence.id)[:8]}.jpg"')
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.data == path_of(root, evidence.sha256).read_bytes()
    thumb = client_as(who).get(f"/admin/matter/evidence/{evidence.id}/thumbnail/")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"


# (The town centre of 云城街道 reads its town's matters, their evidence with them.)
@pytest.mark.parametrize("who", ["demo_court_city_other", "demo_city_committee"])
def test_those_who_may_not_see_the_matter_get_nothing(client_as, held, who, session):
    matter, evidence = held
    if who == "demo_court_city_other":
        # Another base court's officer: reads nothing of 云城区法院's matters.
        matter.court_id = session.scalar(select(Court.id).where(Court.name == "罗定市人民法院"))
        session.flush()
        who = "demo_court_yuncheng"
    for path in (f"/admin/matter/evidence/{evidence.id}/",
                 f"/admin/matter/evidence/{evidence.id}/thumbnail/"):
        response = client_as(who).get(path)
        assert response.status_code in (403, 404), (who, response.status_code)
        assert b"\xff\xd8\xff" not in response.data


def test_a_liaison_of_another_village_gets_nothing(client_as, session, root):
    matter = make_matter(session, MatterType.legal_education, "611")
    evidence = keep(session, matter, picture(), "x.jpg", root)
    # Move the matter to another village: 星岩社区's liaison no longer sees it.
    primary = matter.primary_assignment
    from models import Grid
    primary.grid_id = session.scalar(Grid.current().with_only_columns(Grid.id).where(
        Grid.name == "丰收村", Grid.code.startswith("445302001")))
    session.flush()
    response = client_as("demo_liaison").get(f"/admin/matter/evidence/{evidence.id}/")
    assert response.status_code == 404


def test_anonymous_gets_nothing(anonymous, held):
    _, evidence = held
    response = anonymous.get(f"/admin/matter/evidence/{evidence.id}/")
    assert response.status_code in (302, 401, 403, 404)
    assert b"\xff\xd8\xff" not in response.data
    assert anonymous.get(f"/api/v1/evidence/{evidence.id}").status_code == 401


def test_pdf_is_downloaded_never_shown_inline(client_as, session, root):
    matter = make_matter(session, MatterType.witness, "612", state=MatterState.dispatched)
    evidence = keep(session, matter, pdf(), '"; evil=1.pdf', root, kind="record")
    response = client_as("demo_worker").get(f"/admin/matter/evidence/{evidence.id}/")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="record-{str(evidence.id)[:8]}.pdf"')
    assert client_as("demo_worker").get(
        f"/admin/matter/evidence/{evidence.id}/thumbnail/").status_code == 404


# --- the outcome page ------------------------------------------------------------------------

def upload(data: bytes, name: str):
    return (io.BytesIO(data), name)


def education_form(**changes):
    form = {"o-held_on": YESTERDAY, "o-place": "星岩社区文化室", "o-topic": "执行悬赏",
            "o-attendance": "45", "o-note": "村民踊跃提问"}
    form.update(changes)
    return form


def test_a_bad_file_keeps_everything_typed_and_the_good_file(client_as, session, root):
    matter = make_matter(session, MatterType.legal_education, "620",
                         state=MatterState.dispatched)
    worker = client_as("demo_worker")
    worker.get("/lang/en")
    response = worker.post(f"/admin/matter/{matter.id}/outcome/", data=education_form(**{
        "o-photos-file": [upload(picture(), "good.jpg"), upload(HTML_AS_JPG, "evil.jpg")]}),
        content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "evil.jpg is not a photo or a PDF" in page
    assert 'data-field="place"' not in page  # the place was given: no other problem
    for typed in ("星岩社区文化室", "执行悬赏", 'value="45"', "村民踊跃提问", YESTERDAY):
        assert typed in page
    kept = re.findall(r'name="o-photos-kept" value="([0-9a-f-]{36})"', page)
    assert len(kept) == 1
    good = session.get(Evidence, kept[0])
    assert good.name == "good.jpg" and good.matter_id == matter.id
    assert good.sha256 not in page  # never the hash, in a page or a URL
    assert session.get(Matter, matter.id).state is MatterState.dispatched

    # Sent again with the kept file: saved, nothing uploaded twice.
    response = worker.post(f"/admin/matter/{matter.id}/outcome/",
                           data=education_form(**{"o-photos-kept": kept}),
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    session.expire_all()
    assert session.get(Matter, matter.id).state is MatterState.done
    outcome = session.scalar(select(Outcome).where(Outcome.matter_id == matter.id))
    assert outcome.data["photos"] == kept and outcome.data["attendance"] == 45
    assert session.scalar(select(func.count()).select_from(Evidence)
                          .where(Evidence.matter_id == matter.id)) == 1
    details = worker.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/admin/matter/evidence/{kept[0]}/thumbnail/" in details
    assert "星岩社区文化室" in details and good.sha256 not in details
    assert "Taken 2026-03-01 09:30" in details


def test_a_bad_file_and_a_missing_answer_are_said_at_once(client_as, session, root):
    matter = make_matter(session, MatterType.legal_education, "626",
                         state=MatterState.dispatched)
    response = client_as("demo_worker").post(
        f"/admin/matter/{matter.id}/outcome/", data=education_form(**{
            "o-place": "", "o-photos-file": [upload(SVG_AS_JPG, "x.jpg")]}),
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.count('class="invalid-feedback d-block gridlink-field-error" '
                      'data-field="photos"') == 1
    assert 'data-field="place"' in page


def test_a_missing_answer_keeps_the_new_file(client_as, session, root):
    matter = make_matter(session, MatterType.legal_education, "621",
                         state=MatterState.dispatched)
    worker = client_as("demo_worker")
    response = worker.post(f"/admin/matter/{matter.id}/outcome/", data=education_form(**{
        "o-place": "", "o-photos-file": [upload(picture(), "a.jpg")]}),
        content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert len(re.findall(r'name="o-photos-kept" value="', page)) == 1
    assert 'data-field="place"' in page


def test_a_kept_id_of_another_matter_is_not_taken(client_as, session, root):
    mine = make_matter(session, MatterType.legal_education, "622", state=MatterState.dispatched)
    other = make_matter(session, MatterType.legal_education, "623")
    foreign = keep(session, other, picture(), "theirs.jpg", root)
    response = client_as("demo_worker").post(
        f"/admin/matter/{mine.id}/outcome/",
        data=education_form(**{"o-photos-kept": [str(foreign.id)]}),
        content_type="multipart/form-data")
    assert response.status_code == 422  # photos are required; the foreign one is ignored
    assert str(foreign.id) not in response.get_data(as_text=True)


@pytest.mark.parametrize("who, state, allowed", [
    ("demo_worker", MatterState.dispatched, True),
    ("demo_worker", MatterState.accepted, False),  # not dispatched to anyone yet
    ("demo_liaison", MatterState.accepted, False),  # dispatches it to someone, or to self
    ("demo_liaison", MatterState.dispatched, True),
    ("demo_liaison", MatterState.assigned, False),
    ("demo_court_yuncheng", MatterState.dispatched, False),
    ("demo_admin", MatterState.dispatched, False),
    ("demo_town_centre", MatterState.dispatched, False),
])
def test_who_may_record(client_as, session, who, state, allowed):
    matter = make_matter(session, MatterType.other, "624", state=state)
    response = client_as(who).get(f"/admin/matter/{matter.id}/outcome/")
    assert (response.status_code == 200) is allowed, response.status_code
    if not allowed:
        assert response.status_code in (403, 404)
        posted = client_as(who).post(f"/admin/matter/{matter.id}/outcome/", data={
            "o-purpose": "mediation", "o-reported_on": YESTERDAY,
            "o-mediation": "not_settled"})
        assert posted.status_code in (403, 404)
        assert session.get(Matter, matter.id).state is state


def test_property_items_from_the_form(client_as, session, root):
    matter = make_matter(session, MatterType.find_property, "625", state=MatterState.dispatched)
    worker = client_as("demo_worker")
    form = worker.get(f"/admin/matter/{matter.id}/outcome/").get_data(as_text=True)
    assert 'capture="environment"' in form and 'accept="image/*,application/pdf"' in form
    response = worker.post(f"/admin/matter/{matter.id}/outcome/", data={
        "o-items-0-kind": "house", "o-items-0-description": "两层砖混楼房",
        "o-items-0-point-lon": "112.0401", "o-items-0-point-lat": "22.9302",
        "o-items-0-value": "120000",
        "o-items-3-kind": "livestock", "o-items-3-description": "生猪30头",
        "o-items-3-value": "",
    }, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    outcome = session.scalar(select(Outcome).where(Outcome.matter_id == matter.id))
    assert [i["kind"] for i in outcome.data["items"]] == ["house", "livestock"]
    assert outcome.data["items"][0]["point"] == {"lon": 112.0401, "lat": 22.9302}
    details = worker.get(f"/admin/matter/details/?id={matter.id}").get_data(as_text=True)
    assert "两层砖混楼房" in details and "gridlink-outcome-points" in details


# --- the API ---------------------------------------------------------------------------------

@pytest.fixture
def court_token(session):
    court = session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))
    token = ApiToken(court=court, label="测试")
    secret = token.new_secret()
    session.add(token)
    session.flush()
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_gives_the_outcome_and_its_evidence_behind_the_token(
        anonymous, session, root, court_token):
    matter = make_matter(session, MatterType.legal_education, "630",
                         state=MatterState.dispatched)
    photo = keep(session, matter, picture(), "现场.jpg", root)
    from models import User
    from models.outcomes import record_outcome
    worker = session.scalar(select(User).where(User.username == "demo_worker"))
    record_outcome(session, matter, worker, {"held_on": YESTERDAY, "place": "文化室",
                                             "attendance": "45"}, [photo.id])
    session.flush()
    body = anonymous.get(f"/api/v1/matters/{matter.id}", headers=court_token).get_json()
    outcome = body["outcome"]
    assert outcome["version"] == 1 and outcome["recorded_by"] == worker.display_name
    assert outcome["fields"]["attendance"] == 45 and outcome["fields"]["place"] == "文化室"
    (file,) = outcome["evidence"]
    assert file["id"] == str(photo.id) and file["kind"] == "photos"
    assert file["sha256"] == photo.sha256 and file["size"] == photo.size
    assert datetime.fromisoformat(file["taken_at"]) == datetime.fromisoformat(
        "2026-03-01T09:30:15+08:00")
    assert file["gps"]["lon"] == pytest.approx(112.04)
    assert photo.sha256 not in file["url"]
    assert anonymous.get(file["url"]).status_code == 401
    got = anonymous.get(file["url"], headers=court_token)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_name_is_shown_as_text_never_as_markup(client_as, session, root):
    matter = make_matter(session, MatterType.legal_education, "631",
                         state=MatterState.dispatched)
    worker = client_as("demo_worker")
    evil = '<img src=x onerror=alert(1)>.jpg'
    response = worker.post(f"/admin/matter/{matter.id}/outcome/", data=education_form(**{
        "o-photos-file": [upload(picture(), evil)]}), content_type="multipart/form-data")
    assert response.status_code == 302
    details = worker.get(response.headers["Location"]).get_data(as_text=True)
    assert "<img src=x" not in details
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in details
    served = worker.get(re.search(r'/admin/matter/evidence/[0-9a-f-]{36}/', details).group(0))
    assert "onerror" not in served.headers["Content-Disposition"]


# Every type: the form renders for its recorder, and a recorded outcome reads on the
# matter's page for the court, in Chinese, its evidence among it.
VALID = {
    MatterType.service: ({"method": "lodged", "served_on": YESTERDAY, "served_at": "家门口",
                          "refusal": "拒绝签收", "witnesses": ["王见证", "赵见证"]},
                         "receipt", "留置送达"),
    MatterType.locate_debtor: ({"address": "云城街道星岩社区三组", "phone": "13800001111",
                                "source": "邻居"}, None, "线索来源"),
    MatterType.find_property: ({"items": [{"kind": "land", "description": "承包地3亩"}]},
                               "photos", "土地承包经营权"),
    MatterType.investigation: ({"unit": "星岩社区居委会", "surveyed_on": YESTERDAY,
                                "dividends": "1200", "officer": "周主任"},
                               "survey_form", "分红金额（元）"),
    MatterType.witness: ({"held_on": YESTERDAY, "participants": "张三、李四"}, "record",
                         "张三、李四"),
    MatterType.other: ({"purpose": "risk", "reported_on": YESTERDAY, "state_of_mind": "情绪激动",
                        "risks": "可能阻挠执行"}, None, "被执行人思想动态"),
    MatterType.legal_education: ({"held_on": YESTERDAY, "place": "文化室", "attendance": "45"},
                                 "photos", "参加人数"),
}


@pytest.mark.parametrize("kind", list(MatterType))
def test_every_type_is_recorded_and_read(client_as, session, root, kind):
    from models import User
    from models.outcomes import record_outcome

    data, evidence_kind, shown = VALID[kind]
    matter = make_matter(session, kind, f"64{list(MatterType).index(kind)}")
    liaison = client_as("demo_liaison")
    form = liaison.get(f"/admin/matter/{matter.id}/outcome/")
    assert form.status_code == 200 and "登记办理结果" in form.get_data(as_text=True)
    files = [keep(session, matter, pdf() if kind is MatterType.witness else picture(),
                  "scan", root, kind=evidence_kind)] if evidence_kind else []
    user = session.scalar(select(User).where(User.username == "demo_liaison"))
    record_outcome(session, matter, user, data, [f.id for f in files])
    session.flush()
    page = client_as("demo_court_yuncheng").get(f"/admin/matter/details/?id={matter.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and shown in text and "办理结果" in text
    for file in files:
        assert f"/admin/matter/evidence/{file.id}/" in text
    assert 'id="gridlink-record-outcome"' not in text  # the court reads, never records
