"""Deployment policy from config/policy.yaml: limits operators tune without touching code."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from handlers.alerts import AlertPolicy
from handlers.appointments import AppointmentPolicy
from handlers.limits import Limits


class PolicyError(ValueError):
    """config/policy.yaml cannot be used; the message names the key."""


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 60.0
    send_timeout_seconds: float = 15.0
    concurrency: int = 16
    transliterate: bool = False


@dataclass(frozen=True)
class ConversationPolicy:
    ussd_session_minutes: float = 10.0
    ussd_resume_minutes: float = 5.0
    sms_pending_minutes: float = 30.0


@dataclass(frozen=True)
class PrivacyPolicy:
    retention_days: float = 30.0


@dataclass(frozen=True)
class Policy:
    default_language: str = "es"
    outbox: OutboxPolicy = OutboxPolicy()
    conversation: ConversationPolicy = ConversationPolicy()
    alert: AlertPolicy = AlertPolicy()
    privacy: PrivacyPolicy = PrivacyPolicy()
    limits: Limits = Limits()
    appointments: AppointmentPolicy = AppointmentPolicy()
    # A person who has not chosen a language is answered in their number's country's language.
    country_languages: dict = field(default_factory=dict)


def load_policy(config_dir: Path) -> Policy:
    """Reads policy.yaml from the config directory; missing keys keep their defaults."""
    path = config_dir / "policy.yaml"
    if not path.exists():
        return Policy()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyError(f"{path}: must be a mapping")
    outbox = _build(OutboxPolicy, raw.get("outbox") or {}, f"{path}: outbox")
    if outbox.send_timeout_seconds >= outbox.lease_seconds:
        raise PolicyError(f"{path}: outbox.send_timeout_seconds must be below outbox.lease_seconds")
    if outbox.max_attempts < 1 or outbox.concurrency < 1:
        raise PolicyError(f"{path}: outbox.max_attempts and outbox.concurrency must be at least 1")
    conversation = _build(ConversationPolicy, raw.get("conversation") or {}, f"{path}: conversation")
    alert = _build(AlertPolicy, raw.get("alert") or {}, f"{path}: alert")
    privacy = _build(PrivacyPolicy, raw.get("privacy") or {}, f"{path}: privacy")
    limits = _build(Limits, raw.get("limits") or {}, f"{path}: limits")
    appointments = _build(AppointmentPolicy, raw.get("appointments") or {}, f"{path}: appointments")
    if not 0 <= appointments.reminder_hour <= 23 or appointments.days_shown < 1:
        raise PolicyError(f"{path}: appointments.reminder_hour must be 0-23 and days_shown at least 1")
    countries = raw.get("country_languages") or {}
    if not isinstance(countries, dict):
        raise PolicyError(f"{path}: country_languages must map country codes (MX) to languages (es)")
    return Policy(
        default_language=str(raw.get("default_language", "es")),
        outbox=outbox,
        conversation=conversation,
        alert=alert,
        privacy=privacy,
        limits=limits,
        appointments=appointments,
        country_languages={str(k).upper(): str(v) for k, v in countries.items()},
    )


def _build(cls, raw: dict, where: str):
    known = {f.name for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise PolicyError(f"{where}.{key}: unknown key")
        default = getattr(cls, key)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise PolicyError(f"{where}.{key}: must be true or false")
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise PolicyError(f"{where}.{key}: must be a non-negative number")
        values[key] = type(default)(value)
    return cls(**values)
