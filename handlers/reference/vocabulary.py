"""Words handlers read or show that live in the language files, not in code: weekday names
(templates/<lang>.yaml `calendar.weekdays`), what each language is called (`language.names`), what countries
are called (`countries.US`) and the duty officers' command words (menus/keywords.yaml `duty_commands`).
Adding a language is adding its file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import phonenumbers

from handlers.reference.text import fold, words

WEEKDAYS_KEY = "calendar.weekdays"
LANGUAGE_NAMES_KEY = "language.names"
COUNTRY_NAMES_KEY = "countries.{}"  # "countries.US": "Estados Unidos"


@dataclass(frozen=True)
class Vocabulary:
    weekday_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # language → Monday..Sunday
    language_names: Mapping[str, str] = field(default_factory=dict)  # folded name ("INGLES") → code ("en")
    duty_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # verb ("ack") → words ("OK")
    country_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language → code → name

    @classmethod
    def build(
        cls,
        text: Callable[[str, str], str | None],
        languages: Iterable[str],
        duty_words: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Vocabulary:
        """From the language files, read through text(language, key)."""
        weekdays, names, countries = {}, {}, {}
        for language in languages:
            days = (text(language, WEEKDAYS_KEY) or "").split()
            if len(days) == 7:
                weekdays[language] = tuple(days)
            names[fold(language)] = language  # the code itself: "IDIOMA en"
            for name in (text(language, LANGUAGE_NAMES_KEY) or "").split(","):
                if name.strip():
                    names[fold(name)] = language
            named = ((code, text(language, COUNTRY_NAMES_KEY.format(code))) for code in phonenumbers.SUPPORTED_REGIONS)
            countries[language] = {code: name for code, name in named if name}
        return cls(weekdays, names, dict(duty_words or {}), countries)

    def weekdays(self, language: str) -> tuple[str, ...]:
        """Monday to Sunday in the language; empty when its file has none (then the code's short names)."""
        return self.weekday_names.get(language, ())

    def language_named(self, word: str) -> str | None:
        """The code of the language a word names ("ingles", "EN", "es"), if the deployment speaks it."""
        return self.language_names.get(fold(word))

    def country(self, code: str, language: str) -> str:
        """What the country is called in the language ("Estados Unidos"); its code when the file has no name."""
        return self.country_names.get(language, {}).get(code, code)

    def country_named(self, word: str) -> str | None:
        """The code of the country a word names ("Honduras", "hn", "Estados Unidos"), in any language."""
        folded = " ".join(words(word))
        if folded in phonenumbers.SUPPORTED_REGIONS:
            return folded
        return next(
            (code for names in self.country_names.values() for code, name in names.items() if fold(name) == folded),
            None,
        )
