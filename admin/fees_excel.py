"""A court's labour-fee statement (结算单) as Excel: the matters and workers with their
fees and a totals row, and a second sheet by grid worker.

Headings are Chinese, as in the other sheets handed to courts (admin/excel.py): they
are data layout, not interface text. Fees and bounty rewards are separate columns;
the totals are numbers, not formulas, so any reader sees them. No ID numbers or
phones are written: the statement names the case, the worker and the grid.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.excel import save, titled_sheet, workbook
from models import Grid
from models.fees import Statement
from models.matter_types import MatterType
from models.record_forms import OutcomeKind

MATTER_TYPE_ZH = {
    MatterType.service: "协助送达法律文书", MatterType.locate_debtor: "协助查找被执行人下落",
    MatterType.find_property: "协助查找被执行人财产", MatterType.investigation: "协助开展现场调查",
    MatterType.witness: "参与执行、见证执行", MatterType.other: "协助开展其他执行工作",
    MatterType.legal_education: "共同开展普法宣传活动",
}
OUTCOME_ZH = {OutcomeKind.completed: "协助完成", OutcomeKind.searched: "已查找未果"}
LINE_HEADERS = ["序号", "案号", "联动事项", "完成情况", "网格员", "所在网格", "法院确认日期",
                "劳务费（元）", "执行悬赏", "悬赏奖励（元）"]
WORKER_HEADERS = ["序号", "网格员", "所在网格", "事项数", "劳务费（元）", "悬赏奖励（元）"]
MONEY = "#,##0.00"
ZERO = Decimal("0.00")


def _grid_names(session: Session, codes) -> dict[str, str]:
    """code → 镇（街）村（社区） of the current grids."""
    wanted = {c for c in codes if c} | {c[:9] + "000" for c in codes if c}
    names = dict(session.execute(select(Grid.code, Grid.name).where(
        Grid.generation_high.is_(None), Grid.code.in_(wanted))).all())
    out = {}
    for code in filter(None, codes):
        town = names.get(code[:9] + "000", "")
        out[code] = town if code[9:12] == "000" else town + names.get(code, "")
    return out


def statement_workbook(session: Session, statement: Statement) -> bytes:
    lines = [line for line in statement.lines if line.voided_at is None]
    grids = _grid_names(session, [line.grid_code for line in lines])
    rows = [[i, line.case_number, MATTER_TYPE_ZH[line.matter_type],
             OUTCOME_ZH[line.outcome_kind], line.worker_name, grids.get(line.grid_code, ""),
             line.signed_on, float(line.amount), "是" if line.bounty else "否",
             float(line.bounty_reward) if line.bounty_reward is not None else None]
            for i, line in enumerate(sorted(lines, key=lambda x: (x.signed_on, x.case_number)),
                                     start=1)]
    total = sum((line.amount for line in lines), ZERO)
    rewards = sum((line.bounty_reward or ZERO for line in lines), ZERO)
    rows.append(["合计", f"{len(lines)} 件", "", "", "", "", "", float(total), "",
                 float(rewards)])
    wb = workbook()
    title = f"{statement.court.name}执行联动事项劳务费结算单（{statement.period_label}）"
    titled_sheet(wb.create_sheet("结算明细"), title, LINE_HEADERS, rows, totals=True,
                 formats={6: "yyyy-mm-dd", 7: MONEY, 9: MONEY})

    by_worker: dict[tuple, list] = defaultdict(lambda: [0, ZERO, ZERO])
    for line in lines:
        key = (line.worker_name, grids.get(line.grid_code, ""))
        by_worker[key][0] += 1
        by_worker[key][1] += line.amount
        by_worker[key][2] += line.bounty_reward or ZERO
    worker_rows = [[i, name, grid, n, float(fee), float(reward)]
                   for i, ((name, grid), (n, fee, reward)) in enumerate(sorted(by_worker.items()),
                                                                        start=1)]
    worker_rows.append(["合计", "", "", len(lines), float(total), float(rewards)])
    titled_sheet(wb.create_sheet("按网格员汇总"), f"{title}·按网格员汇总", WORKER_HEADERS,
                 worker_rows, totals=True, formats={4: MONEY, 5: MONEY})
    return save(wb)
