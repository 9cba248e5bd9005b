"""Bulk intake of court matters: a spreadsheet (.xlsx, or .csv as Chinese Excel saves
it) with one matter per row, checked row by row and written only when asked.

The rows become `models.filing.MatterInput`s and are checked by `models.filing.check`,
the same rules as the filing form and the API; this module only reads cells: it
finds the columns by their Chinese headings (or the English field names), turns
labels back into values, and ties every problem to its spreadsheet row and
column. Headings are data layout, not interface text: the fixed ones are the
template's, those of the type-specific questions are the Chinese of their labels
(models.matter_types). `prepare` writes nothing; `commit` files the new rows
through models.filing.build_matter and locates them all at once (geo.assign).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
import zipfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from babel.support import Translations
from openpyxl.utils.datetime import from_excel
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from admin.excel import HEADER_ROWS, column_letter, first_sheet, header_width
from admin.i18n import DEFAULT_LOCALE, TRANSLATIONS, compile_catalogs
from admin.jobs import JobError, work
from models import Court, Matter
from models.access import Scope
from models.accounts import Role
from models.bulk import write_new_matters
from models.filing import (
    AddressInput,
    FieldError,
    FilingError,
    MatterInput,
    build_matter,
    check,
    debtor_key,
    prefetched,
    split_phones,
)
from models.grids import N_
from models.identity import check_case_number
from models.matter_types import (
    CREDENTIAL_LABELS,
    MATTER_TYPE_LABELS,
    REQUEST_FIELDS,
    MatterType,
    RequestField,
)
from models.matters import AddressKind, Urgency

MAX_ROWS = 20_000
MAX_FILE = 32 * 2**20  # bytes read from the command line (the upload page allows less)
MAX_LINE = 64 * 1024  # characters in one line of a CSV file
CHUNK = 1_000  # matters built, flushed and located together
IMPORT_LOCK = 4453_0002  # pg_advisory_xact_lock: one import writes at a time
EXAMPLE_NOTE = "示例行：导入前请删除"  # the template's example rows carry this 备注
ERROR_HEADER = "错误"  # the column added to the bad-rows download; ignored on re-upload
OLD_EXCEL = N_("%(file)s is an old Excel 97 file: save it as .xlsx (Excel workbook) and "
               "upload that.")
LIST_SEPARATORS = re.compile(r"[、,，;；]+")


class IntakeError(ValueError):
    """A file that cannot be read at all: nothing of it is written."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


@cache
def _chinese() -> Translations:
    compile_catalogs()
    return Translations.load(str(TRANSLATIONS), [DEFAULT_LOCALE])


def zh(label: str) -> str:
    """The Chinese of an interface label, whatever the reader's language (headings and
    values in a spreadsheet are data, the same for everyone)."""
    return _chinese().gettext(str(label))


# --- the columns ---------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str  # a MatterInput part, or "request:<English label>"
    header: str  # the template's Chinese heading
    aliases: tuple[str, ...] = ()
    # A type-specific question: which matter type asks it, under which field.
    asks: tuple[tuple[MatterType, RequestField], ...] = ()

    def spec_for(self, kind: MatterType | None) -> RequestField | None:
        return next((spec for k, spec in self.asks if k is kind), None)


FIXED = (
    Column("court", "法院", ("court",)),
    Column("case_number", "案号", ("case_number",)),
    Column("matter_type", "事项类型", ("matter_type",)),
    Column("officer_name", "承办人", ("officer_name", "officer")),
    Column("officer_phone", "承办人电话", ("officer_phone",)),
    Column("debtor_kind", "被执行人类型", ("debtor_kind",)),
    Column("debtor_name", "被执行人", ("debtor_name", "debtor")),
    Column("debtor_id_number", "证件号码", ("debtor_id_number", "id_number")),
    Column("debtor_phones", "被执行人电话", ("debtor_phones",)),
    Column("household", "户籍地", ("household",)),
    Column("residence", "住所地", ("residence",)),
    Column("habitual", "经常居住地", ("habitual",)),
    Column("other", "其他地址", ("other_address", "other")),
    Column("other_lon", "其他地址经度", ("other_lon",)),
    Column("other_lat", "其他地址纬度", ("other_lat",)),
    Column("credentials", "证件", ("credentials",)),
    Column("deadline", "期限", ("deadline",)),
    Column("urgent", "紧急", ("urgent", "urgency")),
    Column("bounty", "悬赏", ("bounty",)),
)
NOTES = Column("notes", "备注", ("notes",))
ADDRESS_KEYS = ("household", "residence", "habitual", "other")
REQUIRED = ("court", "case_number", "matter_type", "officer_name", "debtor_kind",
            "debtor_name")
ADDRESSES_HEADER = "户籍地/住所地/经常居住地/其他地址"  # where "no address" is reported
FIELD_KEYS = {"urgency": "urgent"}  # check()'s field names that are not column keys
DEBTOR_KINDS = {"自然人": "person", "个人": "person", "公民": "person", "person": "person",
                "单位": "organisation", "法人": "organisation", "组织": "organisation",
                "法人或其他组织": "organisation", "非自然人": "organisation",
                "organisation": "organisation", "organization": "organisation"}
YES = {"是", "y", "yes", "true", "1", "√", "紧急"}
NO = {"否", "n", "no", "false", "0", "一般", "普通"}


def request_columns() -> tuple[Column, ...]:
    """One column per type-specific question, headed by its label's Chinese; a label
    asked by several types (none so far) is one column."""
    found: dict[str, list] = {}
    for kind, specs in REQUEST_FIELDS.items():
        for spec in specs:
            found.setdefault(spec.label, []).append((kind, spec))
    return tuple(Column(f"request:{label}", zh(label), (label.casefold(),), tuple(asks))
                 for label, asks in found.items())


def template_columns() -> tuple[Column, ...]:
    return FIXED + request_columns() + (NOTES,)


def _by_name(name: str) -> Column | None:
    """A column named by an English field name of the type-specific questions
    (scheduled_on is asked by two types, under two labels)."""
    asks = tuple((kind, spec) for kind, specs in REQUEST_FIELDS.items() for spec in specs
                 if spec.name == name)
    return Column(f"request:{name}", name, (), asks) if asks else None


def _heading(value) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value or ""))).strip("*＊")


def resolve(headers: list) -> dict[int, Column]:
    """Which column each heading is (by position); IntakeError for an unknown or
    repeated heading or a missing required one."""
    known = {}
    for column in template_columns():
        for name in (column.header, *column.aliases):
            known[_heading(name).casefold()] = column
    at: dict[int, Column] = {}
    for i, raw in enumerate(headers):
        heading = _heading(raw)
        if not heading or heading == ERROR_HEADER:
            continue
        column = known.get(heading.casefold()) or _by_name(heading)
        if column is None:
            raise IntakeError(N_("The column %(column)s is not one of the template's: use "
                                 "the template (its second sheet explains every column)."),
                              column=str(raw).strip())
        if column in at.values():
            raise IntakeError(N_("The column %(column)s appears twice."), column=heading)
        at[i] = column
    keys = {c.key for c in at.values()}
    for key in REQUIRED:
        if key not in keys:
            header = next(c.header for c in FIXED if c.key == key)
            raise IntakeError(N_("The column %(column)s is missing: use the template."),
                              column=header)
    if not keys & set(ADDRESS_KEYS):
        raise IntakeError(N_("The column %(column)s is missing: use the template."),
                          column=ADDRESSES_HEADER)
    return at


# --- reading a file ------------------------------------------------------------------

@dataclass
class Table:
    headers: list[str]
    columns: dict[int, Column]
    rows: list[tuple[int, list]]  # (row number in the spreadsheet, cells)


def read_table(data: bytes, filename: str) -> Table:
    """The header row (within the first ten) and every non-empty row under it, each
    only as wide as the header (see admin.excel: a stray cell far to the right costs
    nothing), at most MAX_ROWS of them."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xls":
        raise IntakeError(OLD_EXCEL, file=filename)
    if suffix not in ("xlsx", "xlsm", "csv", "txt"):
        raise IntakeError(N_("Choose an Excel workbook (.xlsx) or a CSV file (.csv)."))
    if len(data) > MAX_FILE:
        raise IntakeError(N_("The file is larger than %(mb)d MB: split it."),
                          mb=MAX_FILE // 2**20)
    head, body = _xlsx_lines(data) if suffix in ("xlsx", "xlsm") else _csv_lines(data)
    number, cells = _header(head)
    width = header_width(cells)
    if width > max_columns():
        raise IntakeError(N_("The header goes on to column %(column)s, past the template's "
                             "%(n)d columns: delete the columns after them."),
                          column=column_letter(width), n=len(template_columns()))
    headers, columns = [_cell(c) or "" for c in cells[:width]], resolve(list(cells[:width]))
    rows: list[tuple[int, list]] = []
    for line, row in body(number + 1, width):
        if not any(_cell(c) for c in row):
            continue
        if len(rows) == MAX_ROWS:
            raise IntakeError(N_("The file has more than %(n)d rows: split it."), n=MAX_ROWS)
        rows.append((line, list(row)))
    if not rows:
        raise IntakeError(N_("The file holds no rows under the header."))
    return Table(headers, columns, rows)


def max_columns() -> int:
    """How far to the right a header may reach: the template's columns, the 错误
    column of the bad-rows download, and as many blank columns again."""
    return 2 * len(template_columns()) + 1


def _header(head) -> tuple[int, tuple]:
    for number, cells in head:
        names = {_heading(c) for c in cells}
        if "案号" in names or "case_number" in names:
            return number, tuple(cells)
    raise IntakeError(N_("No header row with %(column)s was found: use the template."),
                      column="案号")


def _xlsx_lines(data: bytes):
    """(the first rows, to find the header in; the rows from a row on, so wide)."""
    sheet = first_sheet(io.BytesIO(data), IntakeError)

    def head():
        with _broken_workbook():
            yield from enumerate(sheet.iter_rows(max_row=HEADER_ROWS, values_only=True),
                                 start=1)

    def body(start: int, width: int):
        try:
            with _broken_workbook():
                yield from enumerate(sheet.iter_rows(min_row=start, max_col=width,
                                                     values_only=True), start=start)
        finally:
            sheet.parent.close()

    return head(), body


@contextmanager
def _broken_workbook():
    try:
        yield
    except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile) as e:  # broken inside
        if isinstance(e, IntakeError):
            raise
        raise IntakeError(N_("The file is not an Excel workbook (.xlsx).")) from e


def _csv_lines(data: bytes):
    """CSV as Excel saves it: UTF-8 (with or without its BOM) or, from Chinese
    Windows, GB18030 (GBK); comma- or tab-separated. Read as a stream of lines,
    none longer than MAX_LINE characters."""
    if b"\0" in data[:4096]:
        raise IntakeError(N_("The file is not a CSV text file."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise IntakeError(N_("The CSV file is neither UTF-8 nor GBK text."))
    first = content.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = enumerate(csv.reader(_short_lines(content), delimiter=delimiter), start=1)

    def rows():
        try:
            yield from reader
        except csv.Error as e:
            raise IntakeError(N_("The CSV file cannot be read: %(reason)s"),
                              reason=str(e)) from e

    stream = rows()

    def body(start: int, width: int):
        return ((number, cells[:width]) for number, cells in stream)

    return itertools.islice(stream, HEADER_ROWS), body


def _short_lines(content: str):
    for number, line in enumerate(io.StringIO(content, newline=""), start=1):
        if len(line) > MAX_LINE:
            raise IntakeError(N_("Line %(line)d of the CSV file is longer than %(n)d "
                                 "characters: is it the right file?"), line=number, n=MAX_LINE)
        yield line


def _cell(value) -> str | None:
    """A cell as text: 13800000000.0 (a phone typed as a number) → '13800000000'."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    return str(value).strip() or None


def _word(value) -> str:
    """A cell as a word to look up: full-width letters and digits made plain, any case."""
    return unicodedata.normalize("NFKC", str(value or "")).strip().casefold()


# --- one row -------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    column: str  # the heading, as the file has it (the template's when the column is absent)
    template: str
    params: dict = field(default_factory=dict)


@dataclass
class IntakeRow:
    line: int
    cells: list
    data: MatterInput | None = None
    problems: list[Problem] = field(default_factory=list)
    status: str = "bad"  # bad | new | filed (already in gridlink) | repeat (of `repeats`)
    repeats: int | None = None
    key: tuple | None = None


class Courts:
    """The courts an account may file for, found by exact name: court staff their own
    court and its tribunals (a blank cell is their own court), an admin or the
    command line any."""

    def __init__(self, session: Session, scope: Scope | None = None):
        self.by_name = {_word(c.name): c for c in session.scalars(select(Court))}
        self.mine = None
        self.allowed = None
        if scope is not None and scope.role is not Role.admin:
            self.mine = session.get(Court, scope.court_id) if scope.court_id else None
            self.allowed = set(session.scalars(select(Court.id).where(scope.courts_acting())))

    def find(self, name: str | None) -> tuple[Court | None, Problem | None]:
        if not name:
            if self.mine is not None:
                return self.mine, None
            return None, Problem("", N_("the court is required"))
        court = self.by_name.get(re.sub(r"\s+", "", _word(name)))
        if court is None:
            return None, Problem("", N_("there is no court named %(value)s"), {"value": name})
        if self.allowed is not None and court.id not in self.allowed:
            return None, Problem("", N_("%(value)s is not your court: you may file only for "
                                        "%(yours)s and its tribunals"),
                                 {"value": name, "yours": self.mine.name if self.mine else "—"})
        return court, None


class RowReader:
    """Turns the cells of one row into a MatterInput, noting what cannot be read."""

    def __init__(self, table: Table, courts: Courts):
        self.table, self.courts = table, courts
        self.header = {c.key: table.headers[i] for i, c in table.columns.items()}
        self.template_header = {c.key: c.header for c in template_columns()}
        self.types = _words(MATTER_TYPE_LABELS)
        self.credentials = _words(CREDENTIAL_LABELS)

    def where(self, key: str) -> str:
        """The heading of a column in this file, or the template's."""
        return self.header.get(key) or self.template_header.get(key, key)

    def read(self, line: int, cells: list) -> IntakeRow:
        row = IntakeRow(line, cells)
        value = {column.key: cells[i] for i, column in self.table.columns.items()
                 if i < len(cells) and cells[i] not in (None, "")}
        text = {k: _cell(v) for k, v in value.items()}

        def fail(key: str, template: str, **params):
            row.problems.append(Problem(self.where(key), template, params))

        if _word(text.get("notes")) == _word(EXAMPLE_NOTE):
            fail("notes", N_("this is an example row of the template: delete it"))
        court, problem = self.courts.find(text.get("court"))
        if problem:
            fail("court", problem.template, **problem.params)
        kind_text = text.get("matter_type") or ""
        data = MatterInput(
            court=court, officer_name=text.get("officer_name") or "",
            case_number=text.get("case_number") or "",
            matter_type=self.types.get(_word(kind_text), kind_text),
            debtor_kind=DEBTOR_KINDS.get(_word(text.get("debtor_kind")),
                                         text.get("debtor_kind") or ""),
            debtor_name=text.get("debtor_name") or "", addresses=[],
            officer_phone=text.get("officer_phone"), notes=text.get("notes"),
            debtor_id_number=_word(text.get("debtor_id_number")).upper() or None,
            debtor_phones=split_phones(text.get("debtor_phones")))
        if isinstance(value.get("debtor_id_number"), int | float):
            fail("debtor_id_number", N_("Excel turned the number into %(value)s: format the "
                                        "column as text and type it again"),
                 value=text["debtor_id_number"])
            data.debtor_id_number = None
        address_keys = self._addresses(data, text, fail)
        self._flags(data, text, fail)
        if "deadline" in value:
            try:
                data.deadline = parse_date(value["deadline"])
            except ValueError:
                fail("deadline", N_("%(value)s is not a date (e.g. 2026-12-01)"),
                     value=text["deadline"])
        data.credentials = self._credentials(text.get("credentials"), fail)
        kind = MatterType(data.matter_type) if data.matter_type in MatterType.__members__ \
            else None
        read_from = self._request(data, kind, value, row.problems)
        for error in check(data):
            if error.field == "court" and court is None:
                continue  # already said why
            row.problems.append(Problem(self._column_of(error, kind, read_from, address_keys),
                                        error.template, error.params))
        row.data = data
        order = {header: i for i, header in enumerate(self.table.headers)}
        row.problems.sort(key=lambda p: order.get(p.column, len(order)))
        if not row.problems:
            row.status = "new"
            row.key = (court.id, check_case_number(data.case_number), data.matter_type,
                       debtor_key(data))
        return row

    def _addresses(self, data: MatterInput, text: dict, fail) -> list[str]:
        """The addresses given, in the order of ADDRESS_KEYS; returns their columns."""
        keys = []
        for key in ADDRESS_KEYS:
            lon = lat = None
            if key == "other":
                lon, lat = (_number(text.get(k), k, fail) for k in ("other_lon", "other_lat"))
            if text.get(key) or lon is not None or lat is not None:
                data.addresses.append(AddressInput(AddressKind(key).value, text.get(key),
                                                   lon, lat))
                keys.append("other_lon" if key == "other" and not text.get(key) else key)
        return keys

    def _flags(self, data: MatterInput, text: dict, fail) -> None:
        for key in ("urgent", "bounty"):
            if key not in text:
                continue
            flag = yes_no(text[key])
            if flag is None:
                fail(key, N_("%(value)s: write 是 or 否"), value=text[key])
            elif key == "urgent":
                data.urgency = (Urgency.urgent if flag else Urgency.normal).value
            else:
                data.bounty = flag

    def _credentials(self, cell: str | None, fail) -> list[str]:
        found = []
        for word in (w.strip() for w in LIST_SEPARATORS.split(cell or "")):
            if word and _word(word) in self.credentials:
                found.append(self.credentials[_word(word)])
            elif word:
                fail("credentials", N_("unknown credential %(value)s"), value=word)
        return found

    def _request(self, data: MatterInput, kind: MatterType | None, value: dict,
                 problems: list[Problem]) -> dict[str, str]:
        """Fill in the type-specific answers; returns the heading each was read from."""
        read_from = {}
        for i, column in self.table.columns.items():
            if not column.asks or column.key not in value:
                continue
            where, spec = self.table.headers[i], column.spec_for(kind)
            if spec is None:
                if kind is not None:
                    problems.append(Problem(where, N_("this matter type does not ask for "
                                                      "this")))
                continue
            answer = read_answer(spec, value[column.key])
            if isinstance(answer, Problem):
                problems.append(Problem(where, answer.template, answer.params))
            else:
                data.request[spec.name], read_from[spec.name] = answer, where
        return read_from

    def _column_of(self, error: FieldError, kind, read_from: dict, address_keys) -> str:
        name = error.field
        if name.startswith("request."):
            field_name = name.removeprefix("request.")
            spec = next((s for s in REQUEST_FIELDS.get(kind, ()) if s.name == field_name),
                        None)
            return read_from.get(field_name) or (zh(spec.label) if spec else field_name)
        if name.startswith("addresses."):
            return self.where(address_keys[int(name.split(".")[1])])
        if name == "addresses":
            return ADDRESSES_HEADER
        return self.where(FIELD_KEYS.get(name, name))


def _words(labels: dict) -> dict[str, str]:
    """What people may write for each value: its Chinese label, English label or value."""
    return {_word(word): value.value for value, label in labels.items()
            for word in (zh(label), str(label), value.value)}


def _number(value: str | None, key: str, fail) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        fail(key, N_("%(value)s is not a number"), value=value)
        return None


def yes_no(text: str) -> bool | None:
    word = _word(text)
    return True if word in YES else False if word in NO else None


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")


def parse_date(value) -> date:
    """A date as Excel holds it (a date cell, or its serial number) or as people type
    it: 2026-12-01, 2026/12/1, 2026.12.1, 2026年12月1日, 20261201."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and 20_000 < value < 80_000:
        return from_excel(value).date()
    text_value = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE.fullmatch(text_value)
    if match is None and re.fullmatch(r"\d{8}", text_value):
        return date(int(text_value[:4]), int(text_value[4:6]), int(text_value[6:]))
    if match is None:
        raise ValueError(text_value)
    return date(*(int(g) for g in match.groups()))


def read_answer(spec: RequestField, value):
    """The value of a type-specific answer, or the Problem with it (column unknown)."""
    if spec.kind == "date":
        try:
            return parse_date(value).isoformat()
        except ValueError:
            return Problem("", N_("%(value)s is not a date (e.g. 2026-12-01)"),
                           {"value": _cell(value)})
    cell = _cell(value) or ""
    if spec.kind == "flag":
        flag = yes_no(cell)
        return Problem("", N_("%(value)s: write 是 or 否"), {"value": cell}) if flag is None \
            else flag
    if spec.kind == "text":
        return cell
    choices = {}
    for choice, label in spec.choices:
        for word in (zh(label), label, choice):
            choices[_word(word)] = choice
    words = [w.strip() for w in LIST_SEPARATORS.split(cell) if w.strip()]
    if len(words) > 1 and not spec.multiple:
        return Problem("", N_("only one of these may be chosen"))
    values = []
    for word in words:
        if _word(word) not in choices:
            return Problem("", N_("%(value)s is not one of %(allowed)s"),
                           {"value": word, "allowed": tuple(label for _, label in spec.choices)})
        values.append(choices[_word(word)])
    return values if spec.multiple else values[0]


# --- the whole file ------------------------------------------------------------------

@dataclass
class IntakeReport:
    filename: str
    headers: list[str]
    rows: list[IntakeRow]
    outcome: Counter | None = None  # after commit: the new matters' states

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def bad(self) -> list[IntakeRow]:
        return [r for r in self.rows if r.status == "bad"]

    def counts(self) -> dict[str, int]:
        """rows; good = new + filed + repeat; duplicates = filed + repeat."""
        status = Counter(r.status for r in self.rows)
        return {"rows": len(self.rows), "good": len(self.rows) - status["bad"],
                "bad": status["bad"], "duplicates": status["filed"] + status["repeat"],
                "new": status["new"]}


def batched(items: list, n: int):
    return (items[i:i + n] for i in range(0, len(items), n))


def prepare(session: Session, data: bytes, filename: str,
            scope: Scope | None = None) -> IntakeReport:
    """Read and check every row; mark those already filed, and repeats within the
    file. Writes nothing; raises IntakeError for a file that cannot be read."""
    table = read_table(data, filename)
    reader = RowReader(table, Courts(session, scope))
    rows = [reader.read(line, cells) for line, cells in table.rows]
    first: dict[tuple, IntakeRow] = {}
    for row in rows:
        if row.key is None:
            continue
        if row.key in first:
            row.status, row.repeats = "repeat", first[row.key].line
        else:
            first[row.key] = row
    for key in _already_filed(session, list(first)):
        first[key].status = "filed"
    return IntakeReport(filename, table.headers, rows)


def _already_filed(session: Session, keys: list[tuple]) -> set[tuple]:
    """Which filings exist: set-based, a query per thousand rows, not one per row."""
    found = set()
    for chunk in batched(keys, CHUNK):
        found |= {tuple(r) for r in session.execute(
            select(Matter.court_id, Matter.case_number, Matter.matter_type, Matter.debtor_key)
            .where(Matter.court_id.in_({k[0] for k in chunk}),
                   Matter.case_number.in_({k[1] for k in chunk})))}
    return {k for k in keys if (k[0], k[1], MatterType(k[2]), k[3]) in found}


def commit(session: Session, report: IntakeReport, created_by=None,
           progress=None) -> Counter:
    """File the new rows (bad ones are left out), a thousand at a time, each thousand
    located with one assign_many. Flushes only: the caller commits. Returns the new
    matters' states (assigned, review, manual). `progress(done, total)` hears of each
    thousand (a job's progress bar)."""
    from geo.assign import assign_many

    # One import at a time, so that a second click waits for the first and then
    # finds its matters already filed.
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": IMPORT_LOCK})
    states: Counter = Counter()
    rows = [r for r in report.rows if r.status == "new"]
    with prefetched(session, [r.data for r in rows]):
        for n, chunk in enumerate(batched(rows, CHUNK)):
            if progress is not None:
                progress(n * CHUNK, len(rows))
            fresh = []
            for row in chunk:
                try:
                    matter, created = build_matter(session, row.data, created_by=created_by)
                except FilingError as refused:  # after check(): only if the day has changed
                    row.status = "bad"
                    row.problems += [Problem(_template_header(e.field), e.template, e.params)
                                     for e in refused.errors]
                    continue
                if not created:
                    row.status = "filed"
                    continue
                fresh.append(matter)
            # Located before they are first saved, so each is inserted once, already
            # assigned (assign_many reads grids and the roster, never the new rows);
            # then written set-based, with the audit records a flush would write.
            if fresh:
                assign_many(session, fresh, actor=created_by, flush=False)
                write_new_matters(session, fresh)
            states.update(m.state.value for m in fresh)
    report.outcome = states
    return states


def _template_header(field_name: str) -> str:
    key = FIELD_KEYS.get(field_name, field_name)
    return next((c.header for c in FIXED if c.key == key), field_name)


def say(problem: Problem, translate) -> str:
    """A problem in the reader's language (translate: a gettext); lists of labels in
    the parameters are translated one by one."""
    params = {k: " / ".join(translate(v) for v in value) if isinstance(value, tuple)
              else value for k, value in problem.params.items()}
    return translate(problem.template) % params if params else translate(problem.template)


# --- confirming an upload: inline for a small file, as a job for a large one ------------

UPLOADS = "matters"  # their folder in admin.uploads, then one per account
# Up to this many new rows the page files them while you wait; more go to the worker
# (a job with a progress bar), so no request runs into the server's time limit.
INLINE_ROWS = 1_000
FILED = N_("Matters filed: %(n)d (assigned to a grid: %(assigned)d; awaiting review: "
           "%(review)d; awaiting manual location: %(manual)d).")
NOTHING_NEW = N_("Nothing new to file: every good row is already filed.")
GONE = N_("The uploaded file %(file)s is no longer kept (uploads are kept for a day): "
          "upload it again.")


def upload_path(token: str, owner_id) -> object:
    from admin import uploads

    return uploads.find(token, UPLOADS, str(owner_id))


@work("matter_import")
def file_upload(session: Session, run, progress) -> tuple[str, dict, dict]:
    """The job: read the account's upload again, file its new rows as that account
    (within its courts), record the import in the audit trail. What the page's
    confirm and the worker both run."""
    from models.accounts import User
    from models.audit import append

    owner = session.get(User, run.owner_id)
    name = run.params.get("name") or run.subject
    path = upload_path(run.subject, owner.id)
    if path is None:
        raise JobError(GONE, file=name)
    scope = None if owner.role is Role.admin else Scope.of(owner)
    try:
        report = prepare(session, path.read_bytes(), run.subject, scope)
    except IntakeError as e:
        raise JobError(e.template, **e.params) from e
    report.filename = name
    states = commit(session, report, created_by=owner, progress=progress)
    counts = report.counts()
    append(session.connection(), "import", "matters", name,
           after={"rows": counts["rows"], "bad": counts["bad"], "new": sum(states.values()),
                  "states": dict(states)})
    n = sum(states.values())
    params = {"n": n, **{k: states[k] for k in ("assigned", "review", "manual")}}
    return (FILED if n else NOTHING_NEW), params, {"states": dict(states), "counts": counts}
