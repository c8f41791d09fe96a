"""Words handlers read or show that live in the language files, not in code: weekday and month names and
how a date and time are written (templates/<lang>.yaml `calendar.*`), what each language is called
(`language.names`), what countries are called (`countries.US`) and the duty officers' command words
(menus/keywords.yaml `duty_commands`). Adding a language is adding its file."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import phonenumbers

from handlers.reference.text import fold, words

WEEKDAYS_KEY = "calendar.weekdays"
MONTHS_KEY = "calendar.months"
MOMENT_KEY = "calendar.moment"
DAY_KEY = "calendar.day"
HALVES_KEY = "calendar.halves"
LANGUAGE_NAMES_KEY = "language.names"
COUNTRY_NAMES_KEY = "countries.{}"  # "countries.US": "Estados Unidos"
# Day first and 24 hours, as most of Lifeline's readers write a date: for a language whose file says nothing.
DEFAULT_MOMENT = "%d/%m %H:%M %Z"
DEFAULT_DAY = "%d/%m"
# The few strftime-like directives a language file may use: %d %m day and month (two digits), %-d day, %b
# the month's name (`calendar.months`), %H %M hours (24) and minutes, %-I hour (12), %p its half of the
# day (`calendar.halves`), %Z the time zone's abbreviation (CST). Written here, not by strftime, so the
# server's locale never changes what a person reads.
_DIRECTIVE = re.compile(r"%(-?[a-zA-Z%])")


@dataclass(frozen=True)
class Vocabulary:
    weekday_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # language → Monday..Sunday
    language_names: Mapping[str, str] = field(default_factory=dict)  # folded name ("INGLES") → code ("en")
    duty_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # verb ("ack") → words ("OK")
    country_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language → code → name
    month_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # language → January..December
    halves: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # language → ("AM", "PM")
    moments: Mapping[str, str] = field(default_factory=dict)  # language → how a date and time are written
    days: Mapping[str, str] = field(default_factory=dict)  # language → how a date is written

    @classmethod
    def build(
        cls,
        text: Callable[[str, str], str | None],
        languages: Iterable[str],
        duty_words: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Vocabulary:
        """From the language files, read through text(language, key)."""
        weekdays, names, countries, months, halves, moments, day_formats = {}, {}, {}, {}, {}, {}, {}
        for language in languages:
            days = (text(language, WEEKDAYS_KEY) or "").split()
            if len(days) == 7:
                weekdays[language] = tuple(days)
            month_names = (text(language, MONTHS_KEY) or "").split()
            if len(month_names) == 12:
                months[language] = tuple(month_names)
            pair = (text(language, HALVES_KEY) or "").split()
            if len(pair) == 2:
                halves[language] = (pair[0], pair[1])
            moments[language] = text(language, MOMENT_KEY) or DEFAULT_MOMENT
            day_formats[language] = text(language, DAY_KEY) or DEFAULT_DAY
            names[fold(language)] = language  # the code itself: "IDIOMA en"
            for name in (text(language, LANGUAGE_NAMES_KEY) or "").split(","):
                if name.strip():
                    names[fold(name)] = language
            named = ((code, text(language, COUNTRY_NAMES_KEY.format(code))) for code in phonenumbers.SUPPORTED_REGIONS)
            countries[language] = {code: name for code, name in named if name}
        return cls(
            weekday_names=weekdays,
            language_names=names,
            duty_words=dict(duty_words or {}),
            country_names=countries,
            month_names=months,
            halves=halves,
            moments=moments,
            days=day_formats,
        )

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages whose files were read."""
        return tuple(self.moments)

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

    def moment(self, language: str, when: datetime) -> str:
        """A date and time as a reader of the language writes them: "25/11 12:54 CST", "Nov 25, 12:54 PM CST"."""
        return self._write(self.moments.get(language, DEFAULT_MOMENT), language, when)

    def day(self, language: str, when: date) -> str:
        """A date without the time: "25/11", "Nov 25"."""
        return self._write(self.days.get(language, DEFAULT_DAY), language, when)

    def _write(self, pattern: str, language: str, when: date) -> str:
        months = self.month_names.get(language)
        fields = {
            "d": f"{when.day:02d}",
            "-d": str(when.day),
            "m": f"{when.month:02d}",
            "b": months[when.month - 1] if months else f"{when.month:02d}",
            "%": "%",
        }
        if isinstance(when, datetime):
            halves = self.halves.get(language, ("AM", "PM"))
            fields |= {
                "H": f"{when.hour:02d}",
                "M": f"{when.minute:02d}",
                "-I": str(when.hour % 12 or 12),
                "p": halves[when.hour >= 12],
                "Z": when.tzname() or "",
            }
        # An unknown directive is shown as written, so that whoever edits the file sees the mistake.
        written = _DIRECTIVE.sub(lambda found: fields.get(found.group(1), found.group(0)), pattern)
        return " ".join(written.split())
