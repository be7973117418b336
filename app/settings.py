"""The CRM's own settings, read once from the Flask config by create_app.

Services and queries read configuration only from here (never from current_app), so they run
the same under a request, the CLI, a scheduler or a test. One process serves one configuration.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.domain.localtime import DEFAULT_ZONE, valid_zone
from app.domain.stages import StageTable


@dataclass(frozen=True)
class Settings:
    stages: StageTable = field(default_factory=StageTable.default)
    default_currency: str = "RUB"
    no_touch_days: int = 21
    rotting_days: Mapping[str, int] = field(default_factory=dict)
    timezone: str = DEFAULT_ZONE  # the studio's zone: users who chose none see and type times in it

    @classmethod
    def from_config(cls, config: Mapping) -> "Settings":
        return cls(stages=StageTable.from_overrides(config.get("CRM_STAGE_OVERRIDES") or None),
                   default_currency=str(config.get("CRM_DEFAULT_CURRENCY") or "RUB").upper(),
                   no_touch_days=int(config.get("CRM_NO_TOUCH_DAYS", 21)),
                   rotting_days=dict(config.get("CRM_ROTTING_DAYS") or {}),
                   timezone=_zone(config.get("CRM_TIMEZONE") or DEFAULT_ZONE))


def _zone(name: str) -> str:
    if not valid_zone(name):
        raise ValueError(f"CRM_TIMEZONE={name!r} is not a time zone (e.g. Europe/Moscow)")
    return name


_settings = Settings()


def configure(config: Mapping) -> Settings:
    """Build the settings from a Flask config (create_app calls this)."""
    global _settings
    _settings = Settings.from_config(config)
    return _settings


def current() -> Settings:
    return _settings


def stage_table() -> StageTable:
    """The stage table with the configured overrides."""
    return _settings.stages
