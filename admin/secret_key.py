"""The app's secret: it signs the session cookies and keys the audit chain's HMAC.

Whoever knows it can forge a session for any account and re-sign an edited audit
trail, so it is never a published value. SECRET_KEY (or GRIDLINK_SECRET_KEY) sets
it; otherwise it is generated on first start into the data folder
(var/secret_key, or GRIDLINK_SECRET_KEY_FILE), readable by its owner only. Every
process of one installation (gunicorn workers, the CLI) reads the same file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from models.database import var_dir

# The value the README once printed: forging with it is a known attack.
PUBLISHED = {"dev-only-change-me", "change-me", "secret", "test"}
MIN_LENGTH = 16


class SecretKeyError(RuntimeError):
    pass


def default_key_file() -> Path:
    return var_dir() / "secret_key"


def resolve(config: dict) -> str:
    """The key to use: as configured, else from (or into) the key file. Outside
    tests a published, empty or short key is refused."""
    key = config.get("SECRET_KEY")
    if config.get("TESTING"):
        return key or secrets.token_hex(32)
    if not key:
        path = Path(config.get("SECRET_KEY_FILE") or default_key_file())
        try:
            key = read_or_create(path)
        except OSError as e:
            raise SecretKeyError(f"SECRET_KEY is not set and {path} cannot be made or "
                                 f"read ({e.strerror}): set SECRET_KEY, or "
                                 "GRIDLINK_SECRET_KEY_FILE to a writable place") from e
    if key in PUBLISHED or len(key) < MIN_LENGTH:
        raise SecretKeyError(
            "SECRET_KEY is a published, empty or short value: anyone could forge sessions "
            "and re-sign the audit trail with it. Unset it to have one generated in "
            f"{default_key_file()}, or set a long random one "
            "(python -c 'import secrets; print(secrets.token_hex(32))').")
    return key


def read_or_create(path: Path) -> str:
    """The key in `path`, made (random, mode 0600) if there is none. Written to a
    private temporary file and linked into place, so two processes starting at
    once agree on one key and never read a half-written file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process was first
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    if path.stat().st_mode & 0o077:
        raise SecretKeyError(f"{path} is readable by others: chmod 600 {path}")
    key = path.read_text().strip()
    if not key:
        raise SecretKeyError(f"{path} is empty: delete it to have a new key generated")
    return key
