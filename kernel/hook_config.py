"""``.crosslink/hook-config.json``: the configuration the crosslink CLI and the server share.

Reads tolerate what the CLI writes (its words for ``signing_enforcement``, a multiplier for
``auto_steal_stale_locks``, missing keys); writes use the CLI's words, change only the keys
given, keep every other key (known or not) and replace the file atomically. A change holds a
cross-process lock (``.crosslink/.hook-config.lock``) from its read to its write, so two server
processes serving one repository never lose each other's changes; reads take the file as it is.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from .errors import APIError
from .filelock import file_lock

log = logging.getLogger("crosslink.config")

FILE_NAME = "hook-config.json"
LOCK_FILE_NAME = ".hook-config.lock"

DEFAULTS: dict[str, Any] = {
    "tracking_mode": "normal",
    "stale_lock_timeout_minutes": 30,
    "remote": "origin",
    "signing_enforcement": "disabled",
    "intervention_tracking": False,
    "auto_steal_stale_locks": False,
}

#: Accepted spellings of ``signing_enforcement`` and the CLI word each is stored as.
SIGNING_WORDS = {
    "disabled": "disabled",
    "off": "disabled",
    "audit": "audit",
    "enforced": "enforced",
    "enforce": "enforced",
}
DEFAULT_STEAL_MULTIPLIER = 2
REMOTE_NAME = re.compile(r"^[A-Za-z0-9._/][A-Za-z0-9._/-]{0,99}$")


class ConfigView(BaseModel):
    """The configuration as the API answers it (``ConfigResponse``)."""

    tracking_mode: str
    stale_lock_timeout_minutes: int
    remote: str
    signing_enforcement: str
    intervention_tracking: bool
    auto_steal_stale_locks: bool


class ConfigUpdate(BaseModel):
    """``PATCH /config``: every field optional, only the given ones change."""

    model_config = ConfigDict(extra="ignore")

    tracking_mode: Literal["strict", "normal", "relaxed"] | None = None
    stale_lock_timeout_minutes: int | None = Field(default=None, ge=1, le=525_600)
    remote: str | None = Field(
        default=None,
        json_schema_extra={"pattern": REMOTE_NAME.pattern, "not": {"type": "string", "pattern": r"\.\."}},
    )
    signing_enforcement: str | None = Field(default=None, json_schema_extra={"enum": [*SIGNING_WORDS, None]})
    intervention_tracking: StrictBool | None = None
    auto_steal_stale_locks: StrictBool | None = None

    @field_validator("remote")
    @classmethod
    def _remote_is_a_git_remote_name(cls, value: str | None) -> str | None:
        if value is not None and (not REMOTE_NAME.fullmatch(value) or ".." in value):
            raise ValueError(
                "must be a git remote name: letters, digits, '.', '_', '-', '/', "
                "not starting with '-', at most 100 characters"
            )
        return value

    @field_validator("signing_enforcement")
    @classmethod
    def _signing_word(cls, value: str | None) -> str | None:
        if value is not None and value not in SIGNING_WORDS:
            raise ValueError(f"must be one of: {', '.join(SIGNING_WORDS)}")
        return value


def auto_steal_multiplier(value: Any) -> int | None:
    """``auto_steal_stale_locks`` as the CLI reads it: ``None`` when off, else how many stale
    timeouts a lock must be silent before an agent may take it (``true`` is 1, a positive number
    is itself, and the strings the CLI's config command writes read the same). The one reading:
    ``GET /config`` and the locks plugin both use it."""
    if value is True:
        return 1
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if value >= 1 else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "true":
            return 1
        if text.isascii() and text.isdigit() and int(text) > 0:
            return int(text)
    return None


def view_of(raw: dict[str, Any]) -> ConfigView:
    """Read the API view of a hook-config mapping, falling back to defaults key by key."""

    def pick(key: str, kind: type, default: Any) -> Any:
        value = raw.get(key)
        if kind is int and isinstance(value, bool):
            return default
        return value if isinstance(value, kind) else default

    tracking = pick("tracking_mode", str, DEFAULTS["tracking_mode"])
    timeout = pick("stale_lock_timeout_minutes", int, DEFAULTS["stale_lock_timeout_minutes"])
    return ConfigView(
        tracking_mode=tracking,
        stale_lock_timeout_minutes=timeout if timeout > 0 else DEFAULTS["stale_lock_timeout_minutes"],
        remote=_valid_remote(pick("tracker_remote", str, DEFAULTS["remote"])),
        signing_enforcement=SIGNING_WORDS.get(
            pick("signing_enforcement", str, ""), DEFAULTS["signing_enforcement"]
        ),
        intervention_tracking=pick("intervention_tracking", bool, DEFAULTS["intervention_tracking"]),
        auto_steal_stale_locks=auto_steal_multiplier(raw.get("auto_steal_stale_locks")) is not None,
    )


def _valid_remote(name: str) -> str:
    """A hand-edited ``tracker_remote`` that is not a safe git remote name reads as the default.

    Plugins pass the remote to git, so an option-looking value (``--upload-pack=...``) must
    never come out of here.
    """
    if REMOTE_NAME.fullmatch(name) and ".." not in name:  # match() would allow a final newline
        return name
    log.warning("hook-config.json: tracker_remote %r is not a git remote name; using 'origin'", name)
    return DEFAULTS["remote"]


class HookConfig:
    """Reads and updates ``hook-config.json`` in one ``.crosslink`` directory."""

    def __init__(self, crosslink_dir: Path) -> None:
        self.path = crosslink_dir / FILE_NAME
        self.lock_path = crosslink_dir / LOCK_FILE_NAME

    def read_raw(self) -> dict[str, Any]:
        """The file's JSON object, ``{}`` when the file does not exist."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise APIError(500, f"{FILE_NAME} is not valid JSON ({exc}); fix or remove it") from None
        if not isinstance(data, dict):
            raise APIError(500, f"{FILE_NAME} must hold a JSON object; fix or remove it")
        return data

    def read(self) -> ConfigView:
        return view_of(self.read_raw())

    def auto_steal_multiplier(self) -> int | None:
        """The CLI's auto-steal multiplier (``None``: off); tolerant of a broken file."""
        try:
            return auto_steal_multiplier(self.read_raw().get("auto_steal_stale_locks"))
        except APIError:
            return None

    @property
    def stale_lock_timeout_minutes(self) -> int:
        """The one staleness threshold for locks (default 30); tolerant of a broken file."""
        try:
            return self.read().stale_lock_timeout_minutes
        except APIError:
            return DEFAULTS["stale_lock_timeout_minutes"]

    async def update(self, change: ConfigUpdate) -> ConfigView:
        """Apply the given fields in the CLI's words and write the file atomically."""
        async with file_lock(self.lock_path):
            raw = self.read_raw()
            given = change.model_dump(exclude_unset=True, exclude_none=True)
            if "tracking_mode" in given:
                raw["tracking_mode"] = given["tracking_mode"]
            if "stale_lock_timeout_minutes" in given:
                raw["stale_lock_timeout_minutes"] = given["stale_lock_timeout_minutes"]
            if "remote" in given:
                raw["tracker_remote"] = given["remote"]
            if "signing_enforcement" in given:
                raw["signing_enforcement"] = SIGNING_WORDS[given["signing_enforcement"]]
            if "intervention_tracking" in given:
                raw["intervention_tracking"] = given["intervention_tracking"]
            if "auto_steal_stale_locks" in given:
                current = raw.get("auto_steal_stale_locks")
                keeps_multiplier = isinstance(current, (int, float)) and not isinstance(current, bool) and current > 0
                if given["auto_steal_stale_locks"]:
                    raw["auto_steal_stale_locks"] = current if keeps_multiplier else DEFAULT_STEAL_MULTIPLIER
                else:
                    raw["auto_steal_stale_locks"] = False
            if given:
                self._write(raw)
            return view_of(raw)

    def _write(self, raw: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(raw, indent=2, ensure_ascii=False) + "\n"
        fd, temp = tempfile.mkstemp(prefix=".hook-config.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o644
            os.chmod(temp, mode)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
