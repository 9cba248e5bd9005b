"""The demo's labour-fee table (劳务费标准): ILLUSTRATIVE amounts, in yuan.

The source document leaves the amounts to each court's financial rules; these are
plausible figures for Yunfu (50–200 yuan a matter, more for the matters that take
days of asking around), for the demo only. Only completed matters are paid, as the
document says (协助完成联动事项); an admin may add a fee for a search without result.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.fees import FeeRule, set_fee
from models.matter_types import MatterType
from models.record_forms import OutcomeKind

DEMO_FEES: dict[MatterType, Decimal] = {
    MatterType.service: Decimal("100.00"),
    MatterType.locate_debtor: Decimal("150.00"),
    MatterType.find_property: Decimal("200.00"),
    MatterType.investigation: Decimal("150.00"),
    MatterType.witness: Decimal("100.00"),
    MatterType.other: Decimal("100.00"),
    MatterType.legal_education: Decimal("50.00"),
}


def load_demo_fees(session: Session, valid_from: date) -> int:
    """The table, unless one exists already (an admin's fees are never overwritten)."""
    if session.scalar(select(FeeRule.id).limit(1)) is not None:
        return 0
    for matter_type, amount in DEMO_FEES.items():
        set_fee(session, matter_type, OutcomeKind.completed, amount, valid_from,
                note="示范数据（金额仅作演示）")
    return len(DEMO_FEES)
