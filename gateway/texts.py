"""Message texts per language, from templates/<lang>.yaml, looked up by dotted key.

A part in brackets that holds a placeholder is left out when that placeholder has no value, so a text
never shows a "?" for what is not known: "pide ayuda[ en {where}]." reads "pide ayuda." without a place.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping
from pathlib import Path

import yaml

from gateway import yamltext

log = logging.getLogger("lifeline.texts")

# Shown when a text is missing: `check` requires it in every language.
FALLBACK_KEY = "outcome.unavailable"
_OPTIONAL = re.compile(r"\[([^\[\]]*\{[^\[\]]*)\]")


class TextsError(ValueError):
    """A template file cannot be used; the message names the file."""


class Texts:
    def __init__(self, by_language: dict[str, dict[str, str]], default_language: str):
        if default_language not in by_language:
            raise TextsError(f"no templates/{default_language}.yaml for the default language")
        self._by_language = by_language
        self.default_language = default_language

    @classmethod
    def load(cls, directory: Path, default_language: str) -> Texts:
        """Reads every <lang>.yaml in the directory."""
        by_language = {}
        for path in sorted(directory.glob("*.yaml")):
            if path.name.startswith("_"):
                continue  # _placeholders.yaml and other helpers are not languages
            try:
                raw = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise TextsError(f"{path}: invalid YAML: {exc}") from exc
            if not isinstance(raw, dict):
                raise TextsError(f"{path}: must be a mapping of keys to texts")
            by_language[path.stem] = dict(_flatten(raw))
        return cls(by_language, default_language)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._by_language)

    def keys(self, language: str) -> set[str]:
        return set(self._by_language[language])

    def raw(self, language: str, key: str) -> str | None:
        """The template as written, or None when this language lacks it."""
        return self._by_language[language].get(key)

    def say(self, language: str | None, key: str, values: Mapping[str, str] | None = None) -> str:
        """The text for key in the language (else the default language), placeholders filled."""
        texts = self._by_language.get(language or "", {})
        default = self._by_language[self.default_language]
        template = texts.get(key) or default.get(key)
        if template is None:
            # `check` makes this impossible for flow texts; a handler outcome no flow maps lands here.
            log.error("no text %r in any language", key)
            template = texts.get(FALLBACK_KEY) or default[FALLBACK_KEY]
        if "{" not in template:
            return template
        return _optional(template, values or {}).format_map(_Blank(values or {}))


def _optional(template: str, values: Mapping[str, str]) -> str:
    """The bracketed parts whose placeholders all have a value, without their brackets; the others dropped."""

    def part(found: re.Match) -> str:
        names = [name for _, name, _, _ in string.Formatter().parse(found.group(1)) if name]
        return found.group(1) if all(values.get(name) for name in names) else ""

    return _OPTIONAL.sub(part, template)


class _Blank(dict):
    """A placeholder with no value shows as nothing, never as '{name}' on a person's phone."""

    def __missing__(self, key):
        return ""


def _flatten(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        elif value is not None and str(value) != "":
            yield f"{prefix}{key}", str(value)  # an empty text counts as missing: `check` names it
