"""The towns' kept counts (models.areas, migration 0024) folded by the worker every
minute: the changes the statements appended since the last fold moved into each town's
counts, so that a town's page sums a minute's changes at most. A periodic task like the
committee maps' counts (admin/map_refresh.py): one tick deferred once however many
workers run, at most one fold waiting.
"""

from __future__ import annotations

import logging
import os

from admin.jobs import committed, tasks
from models.areas import fold_town_counts
from models.jobs import QUEUE

log = logging.getLogger(__name__)
CRON = os.environ.get("GRIDLINK_TOWN_COUNTS_CRON") or "* * * * *"


@tasks.periodic(cron=CRON, periodic_id="town_counts")
@tasks.task(name="town_counts", queue=QUEUE, queueing_lock="town_counts")
def town_counts_task(timestamp: int) -> None:
    """Fold the towns' count changes into their counts."""
    towns = committed(fold_town_counts)
    log.debug("town counts folded (tick %s): %s towns", timestamp, towns)
