"""Chinese first: every interface string has its Chinese, and the catalogue is current."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "admin/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
METHODS = [("admin/**.py", "python"), ("models/**.py", "python"), ("geo/**.py", "python"),
           ("admin/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "_l": None, "N_": None, "gettext": None, "lazy_gettext": None}


def source_messages() -> set[str]:
    found = extract_from_dir(str(ROOT), method_map=METHODS, keywords=KEYWORDS)
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def test_every_interface_string_has_chinese():
    with PO.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(source_messages() - set(translated))
    assert missing == [], "run `make translations` and add the Chinese to scripts/translate_zh.py"


def test_chinese_keeps_the_placeholders():
    with PO.open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if message.id and message.string:
            for placeholder in ("%(level)s", "%(reason)s", "%(code)s", "%(name)s", "%(grid)s"):
                assert (placeholder in message.id) == (placeholder in message.string), message.id
