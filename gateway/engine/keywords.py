"""SMS keywords from menus/keywords.yaml: words (aliases per language) that start a flow.

Matching ignores case, accents and extra spaces, and forgives one wrong, missing, extra or swapped
letter in a word of four letters or more, but never guesses between two keywords.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rapidfuzz.distance import OSA  # one wrong, missing, extra or swapped letter

# Words US carriers and Twilio act on themselves (single-word messages, any case).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
CARRIER_HELP = frozenset({"HELP", "INFO"})
RESERVED = OPT_OUT | OPT_IN | CARRIER_HELP

TYPO_MIN_LENGTH = 4


class KeywordError(ValueError):
    """keywords.yaml cannot be used; the message names file and key."""


@dataclass(frozen=True)
class Keyword:
    name: str
    words: dict[str, tuple[str, ...]]  # language → aliases as written in the file
    start: str  # flow/screen
    argument: str | None = None  # data field the rest of the message goes into
    start_without_argument: str | None = None  # where to start when no argument was given
    listed: bool = True  # shown in the help text


@dataclass(frozen=True)
class Match:
    keyword: Keyword
    language: str  # the language of the alias used
    argument: str  # the rest of the message, as typed


@dataclass(frozen=True)
class Ambiguous:
    names: tuple[str, ...]


@dataclass(frozen=True)
class DutyCommands:
    """Duty officers' command words (OK A7K2, R A7K2 <text>...) by verb, and the flow/screen they go to."""

    start: str
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # verb (ack, reply...) → words


class Keywords:
    def __init__(
        self,
        keywords: list[Keyword],
        source: str,
        fold: Callable[[str], str],
        duty: DutyCommands | None = None,
    ):
        self.keywords = keywords
        self.source = source
        self.fold = fold
        self.duty = duty
        self.duty_start = duty.start if duty else None  # where a duty officer's OK / R / NOTA / CERRAR goes
        self._phrases: list[tuple[str, Keyword, str]] = []  # (folded phrase, keyword, language)
        owner: dict[str, str] = {}
        for keyword in keywords:
            for language, aliases in keyword.words.items():
                for alias in aliases:
                    phrase = fold(alias)
                    where = f"{source}: keywords.{keyword.name}.words.{language}"
                    if not phrase:
                        raise KeywordError(f"{where}: empty word")
                    if phrase in RESERVED:
                        raise KeywordError(f"{where}: {alias!r} is reserved by carriers (opt-out, opt-in or help)")
                    if owner.get(phrase, keyword.name) != keyword.name:
                        raise KeywordError(f"{where}: {alias!r} is claimed twice (also by {owner[phrase]})")
                    owner[phrase] = keyword.name
                    self._phrases.append((phrase, keyword, language))
        # Longest phrase first, so "ESTOY BIEN" wins over a keyword "ESTOY".
        self._phrases.sort(key=lambda entry: -len(entry[0]))

    @classmethod
    def load(cls, path: Path, fold: Callable[[str], str]) -> Keywords:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise KeywordError(f"{path}: invalid YAML: {exc}") from None
        entries = raw.get("keywords") if isinstance(raw, dict) else None
        if not isinstance(entries, dict):
            raise KeywordError(f"{path}: needs a `keywords` mapping")
        keywords = [_keyword(str(name), spec, f"{path}: keywords.{name}") for name, spec in entries.items()]
        return cls(keywords, str(path), fold, _duty(raw.get("duty_commands"), f"{path}: duty_commands"))

    def match(self, text: str) -> Match | Ambiguous | None:
        """The keyword a message starts with, if any."""
        folded = self.fold(text)
        if not folded:
            return None
        for phrase, keyword, language in self._phrases:
            if folded == phrase or folded.startswith(phrase + " "):
                return Match(keyword, language, _rest(text, len(phrase.split())))
        first = folded.split(" ", 1)[0]
        if len(first) < TYPO_MIN_LENGTH:
            return None
        near = {}
        for phrase, keyword, language in self._phrases:
            one_letter_off = OSA.distance(first, phrase, score_cutoff=1) == 1
            if " " not in phrase and len(phrase) >= TYPO_MIN_LENGTH and one_letter_off:
                near.setdefault(keyword.name, (keyword, language))
        if len(near) > 1:
            return Ambiguous(tuple(sorted(near)))
        if near:
            keyword, language = next(iter(near.values()))
            return Match(keyword, language, _rest(text, 1))
        return None

    def listed(self, language: str, fallback: str) -> list[str]:
        """The first word of each listed keyword in a language, for the help text."""
        words = []
        for keyword in self.keywords:
            aliases = keyword.words.get(language) or keyword.words.get(fallback) or ()
            if keyword.listed and aliases:
                words.append(aliases[0])
        return words

    def targets(self) -> list[tuple[str, str]]:
        """(where, flow/screen) of every keyword, for the reference and reachability checks."""
        found = [(f"{self.source}: duty_commands", self.duty_start)] if self.duty_start else []
        for keyword in self.keywords:
            found.append((f"{self.source}: keywords.{keyword.name}.start", keyword.start))
            if keyword.start_without_argument:
                found.append(
                    (f"{self.source}: keywords.{keyword.name}.start_without_argument", keyword.start_without_argument)
                )
        return found

    def carrier_word(self, text: str) -> str | None:
        """'opt_out', 'opt_in' or 'help' for a single reserved word, as carriers read it."""
        word = self.fold(text)
        if word in OPT_OUT:
            return "opt_out"
        if word in OPT_IN:
            return "opt_in"
        if word in CARRIER_HELP:
            return "help"
        return None


def _duty(spec, where: str) -> DutyCommands | None:
    """`duty_commands: {start: flow/screen, words: {verb: [words]}}`."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("start"), str):
        raise KeywordError(f"{where}: needs `start` (the flow/screen duty officers' commands go to) and `words`")
    words = spec.get("words") or {}
    if not isinstance(words, dict):
        raise KeywordError(f"{where}.words: verb → list of words")
    verbs = {}
    for verb, aliases in words.items():
        aliases = [aliases] if isinstance(aliases, str) else aliases
        if not isinstance(aliases, list) or not aliases or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise KeywordError(f"{where}.words.{verb}: a list of words")
        verbs[str(verb)] = tuple(a.strip().upper() for a in aliases)
    return DutyCommands(spec["start"], verbs)


def _keyword(name: str, spec, where: str) -> Keyword:
    if not isinstance(spec, dict) or not isinstance(spec.get("words"), dict) or not isinstance(spec.get("start"), str):
        raise KeywordError(f"{where}: needs `words` (language → list of words) and `start` (flow/screen)")
    words = {}
    for language, aliases in spec["words"].items():
        if isinstance(aliases, str):
            aliases = [aliases]
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise KeywordError(f"{where}.words.{language}: a list of words")
        words[str(language)] = tuple(aliases)
    return Keyword(
        name=name,
        words=words,
        start=spec["start"],
        argument=spec.get("argument"),
        start_without_argument=spec.get("start_without_argument"),
        listed=bool(spec.get("listed", True)),
    )


def _rest(text: str, words: int) -> str:
    parts = text.split(None, words)
    return parts[words].strip() if len(parts) > words else ""
