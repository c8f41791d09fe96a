"""Consular services people can book (config/services.yaml): what each is called, how long it takes,
and what to bring."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from handlers.reference import yamltext

NAME_MAX = 24
BRING_MAX = 70


class ServicesError(ValueError):
    """A services file that cannot be used; the message names the file and the key at fault."""


@dataclass(frozen=True)
class Service:
    id: str
    slot_minutes: int
    names: dict[str, str]  # language → name
    bring: dict[str, str]  # language → what to bring

    def name(self, language: str) -> str:
        return self.names.get(language) or next(iter(self.names.values()))

    def what_to_bring(self, language: str) -> str:
        return self.bring.get(language) or next(iter(self.bring.values()))


def load_services(path: Path, languages: tuple[str, ...]) -> tuple[Service, ...]:
    """Reads and checks the file: every service named and described in every language."""
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ServicesError(f"{path}: cannot be read: {error}") from error
    entries = raw.get("services") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ServicesError(f"{path}: services: expected a list of services")
    services: list[Service] = []
    for index, entry in enumerate(entries):
        service = _service(path, f"services[{index}]", entry, languages)
        if any(s.id == service.id for s in services):
            raise ServicesError(f"{path}: services[{index}].id: {service.id!r} is used twice")
        services.append(service)
    return tuple(services)


def _service(path: Path, where: str, entry: object, languages: tuple[str, ...]) -> Service:
    if not isinstance(entry, dict):
        raise ServicesError(f"{path}: {where}: expected a mapping")
    unknown = set(entry) - {"id", "slot_minutes", "name", "bring"}
    if unknown:
        raise ServicesError(f"{path}: {where}.{sorted(unknown)[0]}: unknown key")
    service_id = entry.get("id")
    if not isinstance(service_id, str) or not service_id.isidentifier():
        raise ServicesError(f"{path}: {where}.id: expected a short word such as passport")
    minutes = entry.get("slot_minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 5 <= minutes <= 240:
        raise ServicesError(f"{path}: {where}.slot_minutes: expected minutes between 5 and 240")
    names = _per_language(path, f"{where}.name", entry.get("name"), languages, NAME_MAX)
    bring = _per_language(path, f"{where}.bring", entry.get("bring"), languages, BRING_MAX)
    return Service(service_id, minutes, names, bring)


def _per_language(path: Path, where: str, value: object, languages: tuple[str, ...], limit: int) -> dict:
    if not isinstance(value, dict):
        raise ServicesError(f"{path}: {where}: expected one text per language ({', '.join(languages)})")
    for language in languages:
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            raise ServicesError(f"{path}: {where}.{language}: missing")
        if len(text) > limit:
            raise ServicesError(f"{path}: {where}.{language}: longer than {limit} characters")
    return {language: str(text).strip() for language, text in value.items()}
