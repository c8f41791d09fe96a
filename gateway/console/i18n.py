"""The console's words per language, from templates/console/<lang>.yaml."""

from __future__ import annotations

from pathlib import Path

from gateway import yamltext


class Words:
    def __init__(self, directory: Path, default_language: str):
        self._by_language = {}
        for path in sorted(directory.glob("*.yaml")):
            raw = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
            self._by_language[path.stem] = {str(k): str(v) for k, v in raw.items()}
        self.default_language = default_language if default_language in self._by_language else "en"

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._by_language)

    def translator(self, language: str | None):
        """t(key, **values) in the language, else the default language, else the key itself."""
        texts = self._by_language.get(language or "", {})
        default = self._by_language.get(self.default_language, {})

        def t(key: str, **values) -> str:
            text = texts.get(key) or default.get(key) or key
            return text.format(**values) if values else text

        return t
