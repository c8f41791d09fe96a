"""Deployment policy from config/policy.yaml: limits operators tune without touching code.

The gateway's own sections are typed here; the features' sections (alert, limits, appointments) are read
into the dataclasses the handler registry names, so this module knows no feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from gateway import yamltext
from gateway.outbox.policy import OutboxPolicy


class PolicyError(ValueError):
    """config/policy.yaml cannot be used; the message names the key."""


@dataclass(frozen=True)
class ConversationPolicy:
    ussd_session_minutes: float = 10.0
    ussd_resume_minutes: float = 5.0
    sms_pending_minutes: float = 30.0
    # A webhook waits at most this for the database, then answers 503 (USSD: a "try again" screen).
    database_wait_seconds: float = 5.0


@dataclass(frozen=True)
class PrivacyPolicy:
    retention_days: float = 30.0
    # Carrier message ids are remembered (as keyed hashes) this long beyond retention_days.
    replay_window_days: float = 7.0


@dataclass(frozen=True)
class Policy:
    default_language: str = "es"
    outbox: OutboxPolicy = OutboxPolicy()
    conversation: ConversationPolicy = ConversationPolicy()
    privacy: PrivacyPolicy = PrivacyPolicy()
    # A person who has not chosen a language is answered in their number's country's language.
    country_languages: dict = field(default_factory=dict)
    # The features' sections by name, each read into the dataclass the caller gave for it.
    features: Mapping[str, object] = field(default_factory=dict)


def load_policy(config_dir: Path, feature_sections: Mapping[str, type] | None = None) -> Policy:
    """Reads policy.yaml from the config directory; missing keys keep their defaults."""
    path = config_dir / "policy.yaml"
    sections = dict(feature_sections or {})
    if not path.exists():
        return Policy(features={name: cls() for name, cls in sections.items()})
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyError(f"{path}: must be a mapping")
    countries = raw.get("country_languages") or {}
    if not isinstance(countries, dict):
        raise PolicyError(f"{path}: country_languages must map country codes (MX) to languages (es)")
    return Policy(
        default_language=str(raw.get("default_language", "es")),
        outbox=_section(OutboxPolicy, raw, "outbox", path),
        conversation=_section(ConversationPolicy, raw, "conversation", path),
        privacy=_section(PrivacyPolicy, raw, "privacy", path),
        country_languages={str(k).upper(): str(v) for k, v in countries.items()},
        features={name: _section(cls, raw, name, path) for name, cls in sections.items()},
    )


def _section(cls: type, raw: dict, name: str, path: Path):
    """One section as its dataclass; PolicyError naming the key for an unknown key or a bad value."""
    where = f"{path}: {name}"
    values = {}
    for key, value in (raw.get(name) or {}).items():
        if key not in {f.name for f in fields(cls)}:
            raise PolicyError(f"{where}.{key}: unknown key")
        default = getattr(cls, key)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise PolicyError(f"{where}.{key}: must be true or false")
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise PolicyError(f"{where}.{key}: must be a non-negative number")
        values[key] = type(default)(value)
    try:
        return cls(**values)
    except ValueError as exc:  # a rule across keys, checked by the dataclass itself
        raise PolicyError(f"{where}.{exc}") from None
