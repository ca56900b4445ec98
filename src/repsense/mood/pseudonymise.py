"""Keyed pseudonyms for participant ids (HMAC-SHA256) and the key file that holds the secret.

The same participant and key always give the same pseudonym, so mood logs and sessions
pseudonymised separately still join. Without the key a pseudonym cannot be traced back
nor recomputed from a guessed id. The key is never logged nor written anywhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from ..errors import InputError

PSEUDONYM_PREFIX = "ps-"
PSEUDONYM_HEX_CHARS = 24  # 96 bits: collision-free for any realistic study size
KEY_BYTES = 32


class KeyFileError(InputError):
    """The pseudonymisation key file cannot be created or used (missing, unreadable, too open)."""


def pseudonymise(participant: str, key: bytes) -> str:
    """Keyed pseudonym of ``participant``: ``"ps-"`` + 24 hex digits of HMAC-SHA256(key, id).

    Parameters
    ----------
    participant : the original id; surrounding whitespace is ignored (``" P01 "`` == ``"P01"``).
    key : secret bytes, at least 16 (see :func:`load_or_create_key`).

    Returns
    -------
    str
        Deterministic pseudonym. Already pseudonymised ids are returned unchanged, so applying
        it twice (mood import, then ``process``) is harmless.
    """
    if len(key) < 16:
        raise ValueError("pseudonymisation key must be at least 16 bytes")
    pid = participant.strip()
    if is_pseudonym(pid):
        return pid
    digest = hmac.new(key, pid.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_CHARS]


def is_pseudonym(participant: str) -> bool:
    """True when ``participant`` has the form of a pseudonym made by :func:`pseudonymise`."""
    tail = participant[len(PSEUDONYM_PREFIX):]
    return (participant.startswith(PSEUDONYM_PREFIX) and len(tail) == PSEUDONYM_HEX_CHARS
            and all(c in "0123456789abcdef" for c in tail))


def default_key_file() -> Path:
    """``$REPSENSE_KEY_FILE``, else ``$XDG_CONFIG_HOME/repsense/pseudonym.key`` (``~/.config`` default).

    Kept outside the store on purpose: a store shared with collaborators must not carry its key.
    """
    env = os.environ.get("REPSENSE_KEY_FILE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "repsense" / "pseudonym.key"


def load_or_create_key(path: str | Path) -> bytes:
    """Read the key in ``path`` (hex text), or create it (32 random bytes, mode 0600) if absent.

    Raises
    ------
    KeyFileError
        The file is readable by group or others, is not hex, or is shorter than 16 bytes.
    """
    p = Path(path)
    if not p.exists():
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # created concurrently: read it below
        except OSError as exc:
            raise KeyFileError(f"cannot create key file: {exc.strerror}", path=str(p)) from None
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(KEY_BYTES) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
    try:
        mode = p.stat().st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise KeyFileError(f"key file is accessible by group or others (mode {stat.S_IMODE(mode):04o});"
                               " run chmod 600 on it", path=str(p))
        text = p.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file: {exc.strerror}", path=str(p)) from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError("key file does not hold a hex key", path=str(p)) from None
    if len(key) < 16:
        raise KeyFileError(f"key is {len(key)} bytes, want at least 16", path=str(p))
    return key
