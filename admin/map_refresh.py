"""The committee maps' kept counts (geo.map_counts), refreshed by the worker every
minute: a periodic task like the escalation ladder's (admin/escalate.py), one tick
deferred once however many workers run, at most one refresh waiting.

`gridlink maps refresh` makes them too (with the shapes), and `--counts` alone.
"""

from __future__ import annotations

import logging
import os

from admin.jobs import committed, tasks
from geo.map_counts import refresh_map_counts
from models import clock
from models.jobs import QUEUE

log = logging.getLogger(__name__)
CRON = os.environ.get("GRIDLINK_MAP_COUNTS_CRON") or "* * * * *"


@tasks.periodic(cron=CRON, periodic_id="map_counts")
@tasks.task(name="map_counts", queue=QUEUE, queueing_lock="map_counts")
def map_counts_task(timestamp: int) -> None:
    """Count every area's matters again, as of the app's clock."""
    areas = committed(lambda session: refresh_map_counts(session, clock.now()))
    log.debug("map counts refreshed (tick %s): %s areas", timestamp, areas)
