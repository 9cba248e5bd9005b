"""Where the database is: DATABASE_URL when set, else an embedded PostGIS cluster.

The embedded cluster is an ordinary PostgreSQL data directory under the
project's `var/`, started with pg_ctl on a free loopback port. PostgreSQL
refuses to run as root, so as root every server command runs as the `postgres`
system user through runuser; the data directory is then owned by postgres. If
postgres cannot reach `var/` (a checkout under /root, say), the data directory
lives under /var/tmp and `var/pg` is a symlink to it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DBNAME = "gridlink"
# The role the application works as: rows in, rows out, nothing more. It owns no
# table, so it cannot switch off the audit trail's trigger nor change a table; the
# owner (`postgres` in the embedded cluster, DATABASE_URL's user elsewhere) runs
# the migrations. Migration 0006 creates it and grants what it needs.
APP_ROLE = "gridlink_app"


class ClusterError(RuntimeError):
    pass


def find_bindir() -> Path:
    """The newest PostgreSQL server binaries that have PostGIS beside them."""
    env = os.environ.get("GRIDLINK_PG_BINDIR")
    if env:
        return Path(env)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                        key=lambda p: int(p.parent.parent.name), reverse=True)
    for pg_ctl in candidates:
        version = pg_ctl.parent.parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            return pg_ctl.parent
    if candidates:
        raise ClusterError(f"PostgreSQL {candidates[0].parent.parent.name} has no PostGIS: "
                           "install postgresql-NN-postgis-3 (make run does it)")
    raise ClusterError("no PostgreSQL server found under /usr/lib/postgresql: "
                       "install postgresql and postgis (make run does it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Settings for the province's bulk writes (assigning a million matters, an escalation
# pass moving 50,000): PostgreSQL's defaults (128 MB of buffers, a checkpoint every
# 1 GB of WAL) make such a statement write its own dirty pages out and start a
# checkpoint every few seconds, each re-logging every page it touches in full
# (bench/RESULTS.md, part m). Durability is untouched: fsync and full-page writes
# stay on. docker-compose.yml gives the production server the same.
BULK_WRITES = {"shared_buffers": "1GB", "max_wal_size": "4GB", "checkpoint_timeout": "15min",
               "wal_compression": "lz4"}


@dataclass
class Cluster:
    """An embedded PostgreSQL cluster in `root` (data in root/pg, socket in root/run)."""

    root: Path
    throwaway: bool = False  # tests: no fsync, nothing to keep

    def __post_init__(self) -> None:
        # `home` holds what the server writes (data, socket, log); `root` what we write.
        self.home = self.root
        if self.as_root and not _postgres_can_reach(self.root):
            self.home = Path("/var/tmp") / ("gridlink-" + hashlib.sha1(
                str(self.root.resolve()).encode()).hexdigest()[:12])

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def data_dir(self) -> Path:
        return self.home / "pg"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def port_file(self) -> Path:
        return self.root / "pg.port"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = (["runuser", "-u", "postgres", "--"] if self.as_root else []) + list(args)
        res = subprocess.run(cmd, capture_output=True, text=True)
        if check and res.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} {' '.join(args[1:3])} failed:\n"
                               f"{res.stdout}{res.stderr}")
        return res

    def _prepare_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
            if self.as_root:
                shutil.chown(d, "postgres", "postgres")
        if self.home != self.root and not (self.root / "pg").exists():
            (self.root / "pg").symlink_to(self.data_dir)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        self._prepare_dirs()
        if self.initialised():
            return
        args = [str(find_bindir() / "initdb"), "-D", str(self.data_dir), "-A", "trust",
                "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"]
        if self.throwaway:
            args.append("--no-sync")
        self._run(*args)

    def port(self) -> int | None:
        try:
            return int(self.port_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def running(self) -> bool:
        if not self.initialised():
            return False
        res = self._run(str(find_bindir() / "pg_ctl"), "-D", str(self.data_dir), "status",
                        check=False)
        return res.returncode == 0

    def start(self) -> int:
        """Start the cluster (initialising it first) and return its port."""
        self.init()
        if self.running() and self.port():
            return self.port()
        port = self.port()
        if port is None or not _port_free(port):
            port = free_port()
        self._run(str(find_bindir() / "pg_ctl"), "-D", str(self.data_dir),
                  "-l", str(self.home / "postgres.log"), "-w", "-o", self.options(port),
                  "start")
        self.port_file.write_text(str(port))
        return port

    def options(self, port: int) -> str:
        """The server's settings: a throwaway (test) cluster keeps nothing, the project's
        own is sized for the province's bulk writes."""
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.socket_dir}"
        if self.throwaway:
            return opts + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return opts + "".join(f" -c {k}={v}" for k, v in BULK_WRITES.items())

    def stop(self) -> None:
        if self.running():
            self._run(str(find_bindir() / "pg_ctl"), "-D", str(self.data_dir),
                      "-m", "fast", "-w", "stop")

    def url(self, dbname: str = DEFAULT_DBNAME, user: str = "postgres") -> str:
        port = self.port()
        if port is None:
            raise ClusterError("the embedded PostGIS has never been started: "
                               "run `gridlink db start`")
        return f"postgresql+psycopg://{user}@127.0.0.1:{port}/{dbname}"

    def ensure_database(self, dbname: str = DEFAULT_DBNAME, template: str | None = None) -> None:
        """Create the database with PostGIS (or as a copy of `template`) if missing."""
        psql = [str(find_bindir() / "psql"), "-h", "127.0.0.1", "-p", str(self.port()),
                "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt"]
        exists = self._run(*psql, "-d", "postgres", "-c",
                           f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'").stdout
        if exists.strip():
            return
        tmpl = f' TEMPLATE "{template}"' if template else ""
        self._run(*psql, "-d", "postgres", "-c", f'CREATE DATABASE "{dbname}"{tmpl}')
        self._run(*psql, "-d", dbname, "-c", "CREATE EXTENSION IF NOT EXISTS postgis")


def _postgres_can_reach(path: Path) -> bool:
    """Can the postgres user get to `path` (or, if not made yet, its parent)?"""
    while not path.exists():
        path = path.parent
    res = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)])
    return res.returncode == 0


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def var_dir() -> Path:
    """The app's own data folder: the embedded database, the generated secret key,
    and waiting uploads."""
    return Path(os.environ.get("GRIDLINK_VAR", PROJECT_ROOT / "var"))


def embedded() -> Cluster:
    return Cluster(var_dir())


def _psycopg(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def outside_database() -> bool:
    """Is the database named by the environment (not the embedded cluster)?"""
    return bool(os.environ.get("DATABASE_URL") or os.environ.get("GRIDLINK_APP_DATABASE_URL"))


def database_url() -> str:
    """The owner's connection, for migrations: DATABASE_URL when set, otherwise the
    embedded cluster's database as `postgres`."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return _psycopg(url)
    return embedded().url()


def app_database_url() -> str:
    """The application's connection, as APP_ROLE: GRIDLINK_APP_DATABASE_URL when set;
    otherwise DATABASE_URL (a deployment that has not set up the app role yet runs
    as the owner, as before); otherwise the embedded cluster, whose loopback
    connections are trusted, as APP_ROLE."""
    url = os.environ.get("GRIDLINK_APP_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return _psycopg(url)
    return embedded().url(user=APP_ROLE)
