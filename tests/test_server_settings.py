"""The database server's settings for the province's bulk writes (an escalation pass
moving 50,000 matters, assigning a million): the embedded cluster and the production
compose file say the same, and neither buys speed with durability."""

import re
from pathlib import Path

import pytest

from models.database import BULK_WRITES, Cluster

ROOT = Path(__file__).resolve().parent.parent


def test_the_projects_own_cluster_is_sized_for_bulk_writes(tmp_path):
    options = Cluster(tmp_path).options(5555)
    for name, value in BULK_WRITES.items():
        assert f"-c {name}={value}" in options
    assert "fsync=off" not in options and "full_page_writes=off" not in options


def test_a_throwaway_test_cluster_keeps_nothing_and_stays_small(tmp_path):
    options = Cluster(tmp_path, throwaway=True).options(5555)
    assert "fsync=off" in options and "shared_buffers" not in options


@pytest.mark.parametrize("name", sorted(BULK_WRITES))
def test_production_gets_the_same_settings(name):
    compose = (ROOT / "docker-compose.yml").read_text()
    db = re.search(r"^  db:\n(.*?)^  \S", compose, re.S | re.M).group(1)
    assert f'"{name}={BULK_WRITES[name]}"' in db
