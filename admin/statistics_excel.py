"""The assessment statistics (models.statistics) and the overdue list as Excel.

The annual report (`gridlink report annual`, and 导出 Excel on the dashboard) is one
sheet per table, the same tables the dashboard shows, with Chinese headings (data
layout, as in admin/fees_excel.py) and a totals row that is the sum of the rows above
it (a rate or a median of the total is the total's own, not a sum). Numbers are
numbers, rates percentages. No debtor is named anywhere.
"""

from __future__ import annotations

from openpyxl import Workbook

from admin.excel import TITLE_FONT, cell, save, titled_sheet, workbook
from admin.fees_excel import MATTER_TYPE_ZH
from models.clock import SITE_ZONE
from models.matter_types import MatterType
from models.statistics import AreaRow, CourtRow, OverdueRow, Statistics

MONEY, PERCENT, DAYS = "#,##0.00", "0.0%", "0.0"
AREA_HEADERS = ["排名", "受理事项", "办结", "办结率", "按期办结", "按期率", "无法完成",
                "办结用时中位数（天）", "已付劳务费（元）"]
COURT_HEADERS = ["委托事项", "办结", "无法完成", "撤回", "未结"]
OVERDUE_HEADERS = ["序号", "案号", "委托法院", "网格", "网格编码", "联络人（网格长）",
                   "到期时间", "超期天数", "升级层级", "状态"]
ESCALATION_ZH = {0: "网格", 1: "镇（街）微网格中心", 2: "县（区）政法委"}
STATE_ZH = {"assigned": "已分派", "accepted": "已签收", "dispatched": "已派发",
            "escalated": "已提级"}
NOTES = [
    "统计口径：所选期间内法院委托（立案录入）的联动事项；各项数字为这些事项截至统计时点的情况。",
    "受理事项：已分派到网格的事项，按分派时所在网格（边界版本）归属镇（街）、县（市、区），"
    "边界调整不改变历史统计。",
    "办结：法院已确认办结；按期办结：网格在应完成时间前提交办理结果；"
    "应完成时间按规则期限，未定的按法院要求的办理期限。",
    "办结用时：自分派到网格至网格提交办理结果的天数（中位数）。",
    "已付劳务费：这些事项在统计时点前已支付的结算单中的劳务费。",
    "排名：按办结率，其次按期率，再次办结用时。",
]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _area_cells(row: AreaRow) -> list:
    return [row.received, row.completed, _rate(row.completed, row.received), row.on_time,
            _rate(row.on_time, row.completed), row.failed,
            float(row.median_days) if row.median_days is not None else None,
            float(row.fees_paid)]


def _court_cells(row: CourtRow) -> list:
    return [row.asked, row.completed, row.failed, row.cancelled, row.unfinished]


def type_zh(value) -> str:
    try:
        return MATTER_TYPE_ZH[MatterType(value)]
    except ValueError:
        return str(value)


AREA_FORMATS = {"办结率": PERCENT, "按期率": PERCENT, "办结用时中位数（天）": DAYS,
                "已付劳务费（元）": MONEY}


def _sheet(wb: Workbook, name: str, title: str, headers: list[str], rows: list[list],
           formats: dict[str, str]) -> None:
    """A table with its totals row last; `formats` names the columns by their header."""
    titled_sheet(wb.create_sheet(name), title, headers, rows, totals=True,
                 formats={i: formats[h] for i, h in enumerate(headers) if h in formats})


def annual_workbook(stats: Statistics) -> bytes:
    """Every table of the statistics, a sheet each, and a sheet saying how they count."""
    wb = workbook()
    head = f"{stats.area_name}执行联动事项考核统计（{stats.period.label}）"
    total = _area_cells(stats.total)
    _sheet(wb, "各县（市、区）", f"{head}·各县（市、区）", ["县（市、区）", *AREA_HEADERS],
           [[r.name, r.rank, *_area_cells(r)] for r in stats.counties]
           + [["合计", None, *total]], AREA_FORMATS)
    _sheet(wb, "各镇（街）", f"{head}·各镇（街）", ["县（市、区）", "镇（街）", *AREA_HEADERS],
           [[r.county, r.name, r.rank, *_area_cells(r)] for r in stats.towns]
           + [["合计", "", None, *total]], AREA_FORMATS)
    court_total = _court_cells(stats.court_total)
    _sheet(wb, "各法院按类型", f"{head}·各法院按事项类型", ["法院", "事项类型", *COURT_HEADERS],
           [[r.court, type_zh(r.key), *_court_cells(r)] for r in stats.courts_by_type]
           + [["合计", "", *court_total]], {})
    _sheet(wb, "各法院按月", f"{head}·各法院按月", ["法院", "月份", *COURT_HEADERS],
           [[r.court, f"{r.key:%Y-%m}", *_court_cells(r)] for r in stats.courts_by_month]
           + [["合计", "", *court_total]], {})
    notes = wb.create_sheet("说明")
    notes.column_dimensions["A"].width = 120
    notes.append([cell(notes, head, font=TITLE_FONT)])
    notes.append([f"统计期间：{stats.period.start:%Y-%m-%d} 至 "
                  f"{stats.period.end:%Y-%m-%d}（不含）；统计时点：{stats.as_of:%Y-%m-%d %H:%M}"])
    for line in NOTES:
        notes.append([line])
    return save(wb)


def overdue_workbook(area_name: str, rows: list[OverdueRow], today) -> bytes:
    wb = workbook()
    cells = [[i, r.case_number, r.court, r.grid, r.grid_code, r.liaison or "",
              r.due_at.astimezone(SITE_ZONE).replace(tzinfo=None), r.days_overdue,
              ESCALATION_ZH.get(r.escalation_level, str(r.escalation_level)),
              STATE_ZH.get(r.state, r.state)]
             for i, r in enumerate(rows, start=1)]
    cells.append(["合计", f"{len(rows)} 件", "", "", "", "", None, None, "", ""])
    _sheet(wb, "超期事项", f"{area_name}超期联动事项（{today:%Y-%m-%d}）", OVERDUE_HEADERS,
           cells, {"到期时间": "yyyy-mm-dd hh:mm"})
    return save(wb)

