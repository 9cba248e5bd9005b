"""Writing the synthetic province into PostgreSQL with COPY.

COPY, not the ORM: a quarter of a million grids, a million matters and 1.6 million
addresses would keep the ORM busy for the best part of an hour; COPY of text rows
(geometries as hex EWKB) takes minutes. The database is the province's own: it is
created and migrated here, and one that already has grids (the demo's, say) is
refused. Everything is written in one transaction, by the caller's cursor.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import psycopg
import shapely
from psycopg import sql
from sqlalchemy import create_engine

from models.matter_types import (
    DEFAULT_DEADLINE_DAYS,
    REQUEST_FIELDS,
    REQUIRED_CREDENTIALS,
    Credential,
    MatterType,
)
from models.migrate import upgrade
from seeds.people import PeopleMaker
from seeds.synthetic_matters import STATE, MatterBatch, synthetic_matters

if TYPE_CHECKING:
    from psycopg import Cursor

    from seeds.synthetic_province import Province

GENERATION_LABEL = "广东省合成基准数据（合成边界）"
ROSTER_FROM = date(2026, 1, 1)
NAMESPACE = uuid.UUID("0f6c2a9e-3b1d-4c8e-9a57-44a0e5c1d200")
LEVELS = {"counties": ("county", None), "towns": ("town", "counties"),
          "villages": ("village", "towns"), "microgrids": ("microgrid", "villages")}
# Keeping indexes and foreign keys up to date row by row costs several times the COPY
# itself (500,000 addresses: 2 s to copy, 22 s with their GiST and b-tree indexes, 8 s
# with their foreign key), so inside the load's transaction the bulk tables lose them
# and get them back at the end, rebuilt at once from their own definitions.
BULK_TABLES = ["grids", "roster_entries", "address_points", "debtors", "matters",
               "matter_addresses"]


def conninfo(url, database: str | None = None) -> str:
    """A psycopg connection string from an SQLAlchemy URL."""
    url = url.set(drivername="postgresql", database=database or url.database)
    return url.render_as_string(hide_password=False)


def prepare_database(url) -> None:
    """Create the database if it is missing and migrate it; refuse one with grids."""
    with psycopg.connect(conninfo(url, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (url.database,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
    with psycopg.connect(conninfo(url)) as conn:
        if (conn.execute("SELECT to_regclass('grids') IS NOT NULL").fetchone()[0]
                and conn.execute("SELECT EXISTS (SELECT 1 FROM grids)").fetchone()[0]):
            raise RuntimeError(f"database {url.database} already has grids: the synthetic "
                               "province is loaded only into a database of its own")
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def write_province(cur: Cursor, province: Province, matters: int, seed: int,
                   clock: Callable[..., None]) -> dict[str, int]:
    """Everything, in the cursor's transaction; the row counts."""
    generation = cur.execute("INSERT INTO generations (label, valid_from) VALUES (%s, %s) "
                             "RETURNING id", (GENERATION_LABEL, ROSTER_FROM)).fetchone()[0]
    ids = {name: stable_ids(getattr(province, name).codes) for name in LEVELS}
    counts = {name: len(level_ids) for name, level_ids in ids.items()}
    with _without_indexes_and_foreign_keys(cur, BULK_TABLES):
        copy_rows(cur, "grids", "id, code, name, level, parent_id, geom, generation_low",
                  _grid_rows(province, ids, generation))
        clock("grids", f"{sum(counts.values())} rows")
        counts |= _copy_roster(cur, province, ids, seed)
        court_ids = _copy_courts(cur, province, ids, seed)
        counts["courts"] = len(court_ids) + len(province.cities)
        counts["place_aliases"] = _copy_aliases(cur, province)
        counts["address_points"] = _copy_address_points(cur, province)
        clock("roster, courts, aliases, address points")
        counts |= _copy_matters(cur, province, court_ids, matters, seed, clock)
    clock("indexes and foreign keys", "rebuilt")
    return counts


# --- COPY --------------------------------------------------------------------------------


def copy_rows(cur: Cursor, table: str, columns: str, rows: Iterable[str]) -> int:
    """COPY text rows (tab-separated, \\N for NULL) into table(columns), written in
    pieces of about a megabyte (a polygon's row can be tens of kilobytes); the count."""
    n, chunk, size = 0, [], 0
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            chunk.append(row)
            size += len(row)
            if size > 1_000_000:
                copy.write("\n".join(chunk) + "\n")
                n, chunk, size = n + len(chunk), [], 0
        if chunk:
            copy.write("\n".join(chunk) + "\n")
    return n + len(chunk)


@contextmanager
def _without_indexes_and_foreign_keys(cur: Cursor, tables: list[str]):
    indexes = cur.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = ANY(%s::regclass[]) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)", (tables,)).fetchall()
    keys = cur.execute(
        "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
        (tables,)).fetchall()
    for table, name, _ in keys:
        cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        cur.execute(f"DROP INDEX {name}")
    yield
    cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for _, definition in indexes:
        cur.execute(definition)
    for table, name, definition in keys:
        cur.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def stable_ids(keys: list[str]) -> list[str]:
    """UUIDs that follow from the key (a division's code): the same in every load."""
    return [str(uuid.uuid5(NAMESPACE, key)) for key in keys]


def hex_ids(rng: np.random.Generator, n: int) -> list[str]:
    """n random (version 4) UUIDs as 32 hex digits, which PostgreSQL reads as uuid."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = raw[:, 6] & 0x0F | 0x40
    raw[:, 8] = raw[:, 8] & 0x3F | 0x80
    text = raw.tobytes().hex()
    return [text[i:i + 32] for i in range(0, 32 * n, 32)]


def _ewkb(geoms) -> list[str]:
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True).tolist()


# --- the gazetteer -----------------------------------------------------------------------


def _grid_rows(province: Province, ids: dict[str, list[str]], generation: int):
    for name, (level_name, parent) in LEVELS.items():
        level = getattr(province, name)
        for start in range(0, len(level), 5000):
            for i, geom in enumerate(_ewkb(level.geoms[start:start + 5000]), start):
                parent_id = ids[parent][level.parent[i]] if parent else "\\N"
                yield (f"{ids[name][i]}\t{level.codes[i]}\t{level.names[i]}\t{level_name}\t"
                       f"{parent_id}\t{geom}\t{generation}")


def _copy_roster(cur: Cursor, province: Province, ids, seed: int) -> dict[str, int]:
    """A liaison (the grid head) for every town and village."""
    maker, people, entries = PeopleMaker(random.Random(seed + 3)), [], []
    for name, urban, titles in (("towns", "街道", ("街道网格长", "镇网格长")),
                                ("villages", "社区", ("社区网格长", "村网格长"))):
        for i, division in enumerate(getattr(province, name).names):
            person = maker.person()
            title = titles[0] if division.endswith(urban) else titles[1]
            people.append(f"{person['id']}\t{person['name']}\t{person['phone']}")
            entries.append((str(person["id"]), ids[name][i], title))
    entry_ids = hex_ids(np.random.default_rng([seed, 3]), len(entries))
    return {
        "people": copy_rows(cur, "people", "id, name, phone", people),
        "roster_entries": copy_rows(
            cur, "roster_entries", "id, person_id, grid_id, role, title, valid_from",
            (f"{e}\t{p}\t{g}\tliaison\t{t}\t{ROSTER_FROM}"
             for e, (p, g, t) in zip(entry_ids, entries, strict=True))),
    }


def _copy_courts(cur: Cursor, province: Province, ids, seed: int) -> list[str]:
    """An intermediate court per city (case code 粤 + city), a base court per county
    (粤 + city + county) serving it; the base courts' ids, by county."""
    maker, counties = PeopleMaker(random.Random(seed + 4)), province.counties
    city_ids = stable_ids([f"court/{code}" for code, _ in province.cities])
    base_ids = stable_ids([f"court/{code}" for code in counties.codes])
    courts = [(court_id, f"{city}中级人民法院", "intermediate", "\\N", f"粤{code[2:]}",
               code + "00", f"{city}法院路1号")
              for (code, city), court_id in zip(province.cities, city_ids, strict=True)]
    served = []
    for i, (code, county) in enumerate(zip(counties.codes, counties.names, strict=True)):
        city_court = city_ids[counties.parent[i]]
        name = (province.city_of_county(i) if county.endswith("区") else "") + county
        courts.append((base_ids[i], name + "人民法院", "base", city_court, f"粤{code[2:6]}",
                       code[:6], f"{county}法院路1号"))
        served += [f"{base_ids[i]}\t{ids['counties'][i]}", f"{city_court}\t{ids['counties'][i]}"]
    copy_rows(cur, "courts", "id, name, kind, parent_id, case_code, county_code, address, "
              "contact_name, contact_phone",
              ("\t".join((*court, maker.name(), maker.phone())) for court in courts))
    copy_rows(cur, "court_grids", "court_id, grid_id", served)
    return base_ids


def _copy_aliases(cur: Cursor, province: Province) -> int:
    """The province's and cities' names (full and short) narrow where an address is."""
    names = [(province.name, "44"), (province.name.removesuffix("省"), "44")]
    for code, city in province.cities:
        names += [(city, code), (city.removesuffix("市"), code)]
    ids = stable_ids([f"alias/{alias}/{code}" for alias, code in names])
    return copy_rows(cur, "place_aliases", "id, alias, code, note",
                     (f"{i}\t{a}\t{c}\t合成数据" for i, (a, c) in zip(ids, names, strict=True)))


def _copy_address_points(cur: Cursor, province: Province) -> int:
    rows = province.address_points
    geoms = _ewkb(shapely.points([(row[3], row[4]) for row in rows]))
    ids = stable_ids([f"address/{row[0]}/{row[1]}/{row[2]}" for row in rows])
    return copy_rows(cur, "address_points", "id, county_code, road, number, geom",
                     (f"{i}\t{row[0]}\t{row[1]}\t{row[2]}\t{g}"
                      for i, row, g in zip(ids, rows, geoms, strict=True)))


# --- matters -----------------------------------------------------------------------------


def _request(matter_type: MatterType, deadline: date) -> str:
    """A request that answers every field of the type (its first choice)."""
    values = {}
    for f in REQUEST_FIELDS[matter_type]:
        if f.kind == "choice":
            values[f.name] = [f.choices[0][0]] if f.multiple else f.choices[0][0]
        else:
            values[f.name] = {"text": "合成数据", "date": deadline.isoformat(),
                              "flag": False}[f.kind]
    return json.dumps(values, ensure_ascii=False)


def _credentials(matter_type: MatterType) -> str:
    """One credential for each requirement of the type, as a PostgreSQL array."""
    order = list(Credential)
    chosen = [min(need, key=order.index).value for need in REQUIRED_CREDENTIALS[matter_type]]
    return "{" + ",".join(chosen) + "}"


def _copy_matters(cur: Cursor, province: Province, court_ids: list[str], matters: int,
                  seed: int, clock: Callable[..., None]) -> dict[str, int]:
    counts = dict.fromkeys(("debtors", "matters", "matter_addresses"), 0)
    id_rng = np.random.default_rng([seed, 2])
    for batch in synthetic_matters(province, matters, seed=seed):
        done = _copy_matter_batch(cur, batch, province, court_ids, id_rng)
        for key, n in zip(counts, done, strict=True):
            counts[key] += n
        clock("matters", f"{counts['matters']} of {matters}")
    return counts


def _matter_rows(b: MatterBatch, codes, court_ids, matter_ids, debtor_ids):
    requests = {}
    credentials = {kind: _credentials(kind) for kind in MatterType}
    for j, (kind, filed) in enumerate(zip(b.types, b.filed, strict=True)):
        deadline = filed.date() + timedelta(days=DEFAULT_DEADLINE_DAYS[kind])
        if (kind, deadline) not in requests:
            requests[kind, deadline] = _request(kind, deadline)
        c = int(b.court[j])
        yield "\t".join((
            matter_ids[j], codes[c], court_ids[c], *b.officers[j], b.case_numbers[j],
            kind.value, requests[kind, deadline], credentials[kind], deadline.isoformat(),
            "urgent" if b.urgent[j] else "normal", "t" if b.bounty[j] else "f",
            debtor_ids[j], b.debtors[j][2], STATE.value, "\\N", filed.isoformat()))


def _copy_matter_batch(cur: Cursor, b: MatterBatch, province: Province,
                       court_ids: list[str], rng: np.random.Generator) -> tuple[int, int, int]:
    n, codes = len(b.court), [code[:6] for code in province.counties.codes]
    debtor_ids, matter_ids = hex_ids(rng, n), hex_ids(rng, n)
    copy_rows(cur, "debtors", "id, kind, name, id_number, phones",
              (f"{d}\t{kind}\t{name}\t{number}\t{{{phone}}}" for d, (kind, name, number), phone
               in zip(debtor_ids, b.debtors, b.phones, strict=True)))
    copy_rows(cur, "matters", "id, county_code, court_id, officer_name, officer_phone, "
              "case_number, matter_type, request, credentials, deadline, urgency, bounty, "
              "debtor_id, debtor_key, state, queue_reason, created_at",
              _matter_rows(b, codes, court_ids, matter_ids, debtor_ids))
    owner = b.address_matter.tolist()
    position = np.arange(len(owner)) - np.searchsorted(b.address_matter, b.address_matter)
    copy_rows(cur, "matter_addresses", "id, matter_id, county_code, position, kind, text, geom",
              (f"{a}\t{matter_ids[m]}\t{codes[int(b.court[m])]}\t{p}\t{kind}\t{text}\t{g}"
               for a, m, p, kind, text, g in zip(
                   hex_ids(rng, len(owner)), owner, position.tolist(), b.address_kind,
                   b.address_text, _ewkb(shapely.points(b.address_xy)), strict=True)))
    return n, n, len(owner)
