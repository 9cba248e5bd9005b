"""Excel in the layout of the source document: the standard template a town fills in
to report its liaison list, reading it back, and the two lists handed to others —
the liaisons (县（市、区） / 镇（街） / 村（社区） / 联络员 / 联系电话) and the
attachment's court contacts (各县（市、区）人民法院、人民法庭联系人员名单).

Column headings are the official ones, in Chinese: they are data layout, not
interface text. Every sheet has a bold title row, the header frozen under it and
columns as wide as what they hold.
"""

from __future__ import annotations

import unicodedata
import zipfile
from collections.abc import Callable, Collection, Mapping
from copy import copy
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.cells import safe_cell
from models import Court, CourtKind, Grid, GridLevel, Person, RosterEntry, RosterRole
from models.access import Scope
from models.directory import DirectoryError, normalise_phone
from models.grids import N_

TEMPLATE_HEADERS = ["镇（街）", "村（社区）", "区划代码", "姓名", "职务", "联系电话",
                    "角色（联络员/网格员）"]
LIAISON_HEADERS = ["县（市、区）", "镇（街）", "村（社区）", "联络员", "联系电话"]
COURT_HEADERS = ["县（市、区）", "法院", "人民法庭", "联系人", "联系电话"]
COURT_LIST_TITLE = "各县（市、区）人民法院、人民法庭联系人员名单"
CITY_LEVEL = "市直"  # the county column of the intermediate court
ROLE_NAMES = {RosterRole.liaison: "联络员", RosterRole.grid_worker: "网格员"}
# What people write in the role column (网格长: the grid head is the liaison).
ROLE_WORDS = {"联络员": RosterRole.liaison, "网格长": RosterRole.liaison,
              "网格员": RosterRole.grid_worker, "liaison": RosterRole.liaison,
              "grid_worker": RosterRole.grid_worker}
MAX_ROWS = 5000  # a town has a few hundred people at most
# What a workbook may unpack to (its first sheet, and the XML read with it: shared
# strings, styles): a full matter template of 20,000 rows is about 15 MB. A few
# kilobytes of zip can hold gigabytes of XML; this is read from the zip's directory,
# which Python's zipfile also holds the data to.
MAX_UNPACKED = 32 * 2**20
HEADER_ROWS = 10  # the header row is among the first ten
TEXT = "@"  # cell format: codes and phones stay text, never numbers

THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
CENTRED = Alignment(horizontal="center", vertical="center")
HEADING = Alignment(horizontal="center", vertical="center", wrap_text=True)


class ExcelError(DirectoryError):
    """An upload that cannot be read at all (its rows are checked one by one elsewhere)."""


# --- writing ---------------------------------------------------------------------------

def _width(value) -> int:
    """Display width: Chinese characters take two columns."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def workbook() -> Workbook:
    """A workbook written as it is built (openpyxl's write-only mode): each row goes
    to a temporary file when appended, so a list of 20,000 rows takes no more memory
    than one of ten. A normal workbook keeps every cell as an object until saved: the
    20,000 bad rows of an import took some 280 MB more. Rows go in order, and what
    comes before the rows in the file (column widths and formats, the frozen header,
    row heights) is set before the first one."""
    return Workbook(write_only=True)


def cell(ws: WriteOnlyWorksheet, value=None, **style) -> Cell:
    """One cell of a row to append, its value neutralised (admin.cells), styled by
    the keywords (font, fill, border, alignment, number_format)."""
    made = WriteOnlyCell(ws, safe_cell(value))
    for name, setting in style.items():
        setattr(made, name, setting)
    return made


def titled_sheet(ws: WriteOnlyWorksheet, title: str, headers: list[str], rows: list[list],
                 text_columns: Collection[int] = (), formats: Mapping[int, str] | None = None,
                 totals: bool = False,
                 restyle: Callable[[int, list[Cell]], None] | None = None) -> None:
    """Title in row 1 across the columns, headers in row 2 (frozen), data below, each
    data cell bordered. `text_columns` stay text (codes, phones), `formats` gives other
    columns a number format by index, `totals` sets the last row in bold, and
    `restyle(i, cells)` may style data row i further."""
    formats = formats or {}
    for i, header in enumerate(headers):
        widest = max([_width(header)] + [_width(r[i]) for r in rows])
        ws.column_dimensions[get_column_letter(i + 1)].width = min(widest + 4, 60)
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    ws.merged_cells.add(CellRange(min_col=1, min_row=1, max_col=len(headers), max_row=1))
    ws.row_dimensions[1].height = 30
    ws.append([cell(ws, title, font=TITLE_FONT, alignment=CENTRED)])
    ws.append([cell(ws, header, font=BOLD, fill=HEADER_FILL, border=BORDER,
                    alignment=HEADING) for header in headers])
    styles = [_bordered(ws, TEXT if n in text_columns else formats.get(n, "General"))
              for n in range(len(headers))]
    for i, row in enumerate(rows):
        cells = [cell(ws, value) for value in  # names typed by people: never formulas
                 [*row, *[None] * (len(headers) - len(row))]]
        for n, made in enumerate(cells):
            made._style = copy(styles[n] if n < len(styles) else styles[-1])
            if totals and i == len(rows) - 1:
                made.font = BOLD
        if restyle is not None:
            restyle(i, cells)
        ws.append(cells)


def _bordered(ws: WriteOnlyWorksheet, number_format: str):
    """The style of a data cell, made once and copied to each: setting a border on
    half a million cells one by one looks it up half a million times."""
    return cell(ws, border=BORDER, number_format=number_format)._style


def save(wb: Workbook) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def template_workbook(town: Grid | None, entries: list[RosterEntry]) -> bytes:
    """The standard template, filled with the town's standing roster to correct
    (empty when there is no town to fill it for), and 500 rows still to be typed
    with a list to pick the role from and codes and phones kept as text."""
    wb = workbook()
    ws = wb.create_sheet("联络员名单")
    rows = [[town.name if town else "", "" if e.grid.level is GridLevel.town else e.grid.name,
             e.grid.code, e.person.name, e.title or "", e.person.phone or "", ROLE_NAMES[e.role]]
            for e in entries]
    title = f"{town.name if town else '镇（街）'}执行联动联络员、网格员名单报送表"
    titled_sheet(ws, title, TEMPLATE_HEADERS, rows, text_columns={2, 5})
    last = len(rows) + 2
    roles = DataValidation(type="list", formula1='"联络员,网格员"', allow_blank=True)
    roles.add(f"G3:G{last + 500}")
    ws.data_validations.append(roles)
    for _ in range(500):
        ws.append([None, None, cell(ws, number_format=TEXT), None, None,
                   cell(ws, number_format=TEXT)])
    return save(wb)


def liaison_workbook(rows: list[list], on: date) -> bytes:
    wb = workbook()
    titled_sheet(wb.create_sheet("联络员名单"),
           f"镇（街）、村（社区）执行联动联络员名单（{on:%Y年%m月%d日}）",
           LIAISON_HEADERS, rows, text_columns={4})
    return save(wb)


def court_workbook(rows: list[list]) -> bytes:
    wb = workbook()
    titled_sheet(wb.create_sheet("法院联系人员名单"), COURT_LIST_TITLE, COURT_HEADERS, rows,
           text_columns={4})
    return save(wb)


# --- what the lists hold ---------------------------------------------------------------

def liaison_rows(session: Session, scope: Scope, on: date) -> list[list]:
    """Each town in scope and then its villages, with the liaison in post on `on`
    (phones in full: masking is the caller's). One query for the rows, one for the
    county and town names they mention."""
    liaison = (RosterEntry.current(on).where(RosterEntry.role == RosterRole.liaison)
               .subquery())
    found = session.execute(
        select(Grid.code, Grid.name, Grid.level, Person.name, Person.phone)
        .outerjoin(liaison, liaison.c.grid_id == Grid.id)
        .outerjoin(Person, Person.id == liaison.c.person_id)
        .where(Grid.generation_high.is_(None), scope.grids(Grid),
               Grid.level.in_([GridLevel.town, GridLevel.village]))
        .order_by(Grid.code)).all()
    wanted = {c[:6] + "000000" for c, *_ in found} | {c[:9] + "000" for c, *_ in found}
    names = dict(session.execute(select(Grid.code, Grid.name).where(
        Grid.generation_high.is_(None), Grid.code.in_(wanted))).all())
    return [[names.get(code[:6] + "000000", ""), names.get(code[:9] + "000", ""),
             name if level is GridLevel.village else "", person or "", phone or ""]
            for code, name, level, person, phone in found]


def court_rows(session: Session, scope: Scope) -> list[list]:
    """The intermediate court, then each base court followed by its tribunals."""
    courts = session.scalars(select(Court).where(scope.courts())
                             .order_by(Court.county_code, Court.name)).all()
    counties = dict(session.execute(select(Grid.county_code, Grid.name).where(
        Grid.generation_high.is_(None), Grid.level == GridLevel.county)).all())

    def row(court: Court, base: Court, tribunal: str) -> list:
        return [counties.get(court.county_code, CITY_LEVEL), base.name, tribunal,
                court.contact_name or "", court.contact_phone or ""]

    rows = [row(c, c, "") for c in courts if c.kind is CourtKind.intermediate]
    for base in (c for c in courts if c.kind is CourtKind.base):
        rows.append(row(base, base, ""))
        rows += [row(t, base, t.name.removeprefix(base.name)) for t in courts
                 if t.kind is CourtKind.tribunal and t.parent_id == base.id]
    return rows


# --- reading ---------------------------------------------------------------------------

@dataclass(frozen=True)
class UploadedRow:
    line: int  # the row number in Excel
    code: str | None
    role: RosterRole | None
    name: str | None
    phone: str | None
    title: str | None


def _text(value) -> str | None:
    """A cell as text: 445302001003.0 (a code typed as a number) → '445302001003'."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def _clip(text: str | None, length: int) -> str | None:
    """Within the column's size (what is longer is no name or phone: it is flagged)."""
    return text[:length] if text else text


# --- reading any upload: bounded ------------------------------------------------------
# A sheet is read as a stream (openpyxl's read-only mode) and only as wide as its
# header: one stray cell in the last column (XFD, 16,384) would otherwise make every
# row 16,384 cells wide. The dimension a sheet declares is not trusted (writers
# leave it out or get it wrong): rows are counted as they come.

def first_sheet(source: BinaryIO, error: type[Exception] | None = None):
    """The first worksheet of an .xlsx, read-only, once its parts are known to unpack
    to at most MAX_UNPACKED; `error(template, **params)` is raised otherwise."""
    error = error or ExcelError
    not_excel = N_("The file is not an Excel workbook (.xlsx).")
    try:
        with zipfile.ZipFile(source) as archive:
            sizes = {i.filename: i.file_size for i in archive.infolist()}
        source.seek(0)
        book = load_workbook(source, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, IndexError,
            ValueError, SyntaxError) as e:
        raise error(not_excel) from e
    # What openpyxl reads in full (shared strings, styles…) and the sheet it streams.
    unpacked = sum(size for name, size in sizes.items() if name.endswith(".xml")
                   and not name.startswith("xl/worksheets/")) + sizes.get(
        getattr(sheet, "_worksheet_path", ""), 0)
    if unpacked > MAX_UNPACKED:
        book.close()
        raise error(N_("The workbook unpacks to %(mb)d MB, more than the %(max)d MB a "
                       "file of the largest size allowed needs: save only the rows to "
                       "import, in a new workbook."),
                    mb=unpacked // 2**20, max=MAX_UNPACKED // 2**20)
    sheet.reset_dimensions()  # rows are counted as they come, not taken from the file
    return sheet


def header_width(cells) -> int:
    """How many columns the header row spans: up to its last heading."""
    return max((i + 1 for i, c in enumerate(cells) if _text(c)), default=0)


def column_letter(number: int) -> str:
    return get_column_letter(min(max(number, 1), 16384))


def _columns(sheet) -> tuple[int, dict[str, int]]:
    """The header row (within the first ten) and where each heading is."""
    wanted = {"code": "区划代码", "name": "姓名", "title": "职务", "phone": "联系电话",
              "role": "角色"}
    for number, cells in enumerate(sheet.iter_rows(max_row=HEADER_ROWS, values_only=True),
                                   start=1):
        headings = [(_text(c) or "").replace(" ", "") for c in cells]
        if "区划代码" not in headings:
            continue
        found = {key: i for key, label in wanted.items()
                 for i, h in enumerate(headings) if h.startswith(label)}
        for key in ("code", "name", "phone", "role"):
            if key not in found:
                raise ExcelError(N_("The column %(column)s is missing: use the standard "
                                    "template."), column=wanted[key])
        return number, found
    raise ExcelError(N_("No header row with %(column)s was found: use the standard template."),
                     column="区划代码")


def read_submission(stream: BinaryIO) -> list[UploadedRow]:
    """Every non-empty row of the first sheet, as typed (checking is models.directory's)."""
    sheet = first_sheet(stream)
    header, at = _columns(sheet)
    rows = []
    width = max(at.values()) + 1  # the columns read: the header's, up to the last wanted
    try:
        for line, cells in enumerate(sheet.iter_rows(min_row=header + 1, max_col=width,
                                                     values_only=True), start=header + 1):
            row = _uploaded(line, cells, at)
            if row is None:
                continue
            if len(rows) == MAX_ROWS:
                raise ExcelError(N_("The file has more than %(n)d rows: is it the right "
                                    "one?"), n=MAX_ROWS)
            rows.append(row)
    except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile) as e:  # broken inside
        if isinstance(e, ExcelError):
            raise
        raise ExcelError(N_("The file is not an Excel workbook (.xlsx).")) from e
    finally:
        sheet.parent.close()
    if not rows:
        raise ExcelError(N_("The file holds no rows under the header."))
    return rows


def _uploaded(line: int, cells, at: dict[str, int]) -> UploadedRow | None:
    """One row as typed, or None for an empty one."""
    value = {key: _text(cells[i]) if i < len(cells) else None for key, i in at.items()}
    if not any(value.values()):
        return None
    code = value["code"].replace(" ", "") if value["code"] else None
    return UploadedRow(line, _clip(code, 30), ROLE_WORDS.get(value["role"] or ""),
                       _clip(value["name"], 100), _clip(normalise_phone(value["phone"]), 50),
                       _clip(value.get("title"), 100))
