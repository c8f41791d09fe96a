"""SMS keywords from menus/keywords.yaml: words (aliases per language) that start a flow.

The first word decides, read the way a frightened person types it: case, accents, punctuation, emoji and
repeated letters do not matter ("¡¡ALERTAAA!!", "S.O.S.", "🙏 auxilio"), and one wrong, missing, extra or
swapped letter is forgiven in a word of four letters or more, but never between two keywords. The rest of
the message is the keyword's argument (an alert's note), as typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rapidfuzz.distance import OSA  # one wrong, missing, extra or swapped letter

from gateway import yamltext

# Words US carriers and Twilio act on themselves (single-word messages, any case).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
CARRIER_HELP = frozenset({"HELP", "INFO"})
RESERVED = OPT_OUT | OPT_IN | CARRIER_HELP

TYPO_MIN_LENGTH = 4
# The language of words every language shares (SOS, 🆘): they answer in the person's own language.
ANY_LANGUAGE = "any"

# A word (letters or digits, apostrophes inside: "I'M"), an acronym with dots ("S.O.S."), or a run of
# anything else (punctuation, emoji).
_TOKEN = re.compile(r"(?:\w\.){2,}\w?\.?|[\w'’]+|[^\w\s]+")
_REPEATS = re.compile(r"(.)\1+")
# What separates a keyword from its argument: "ALERTA!!! me llevan", "Alerta: estoy en la 59".
_LEADING = re.compile(r"^[\s\.,;:!¡?¿…\-–—'\"]+")


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
    typos: bool = True  # a word one letter off is taken for this keyword (never for cancelling an alert)


@dataclass(frozen=True)
class Match:
    keyword: Keyword
    language: str | None  # the language of the alias used; None for a word of every language (SOS)
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
        help_start: str | None = None,
        answer_start: str | None = None,
    ):
        self.keywords = keywords
        self.source = source
        self.fold = fold
        self.duty = duty
        self.duty_start = duty.start if duty else None  # where a duty officer's OK / R / NOTA / CERRAR goes
        self.help_start = help_start  # where a text that is no keyword goes: help, the alert one reply away
        self.answer_start = answer_start  # where a person's answer to their consulate goes
        self._phrases: list[tuple[tuple[str, ...], Keyword, str | None]] = []  # (word keys, keyword, language)
        self._symbols: set[str] = set()  # emoji that are words of their own (🆘): every other emoji is ignored
        reserved = RESERVED | {_collapse(word) for word in RESERVED}
        owner: dict[tuple[str, ...], str] = {}
        for keyword in keywords:
            for language, aliases in keyword.words.items():
                for alias in aliases:
                    where = f"{source}: keywords.{keyword.name}.words.{language}"
                    phrase = tuple(key for key, _ in self._keys(alias, symbols=None))
                    if not phrase:
                        raise KeywordError(f"{where}: empty word")
                    if fold(alias) in RESERVED or " ".join(phrase) in reserved:
                        raise KeywordError(f"{where}: {alias!r} is reserved by carriers (opt-out, opt-in or help)")
                    if owner.get(phrase, keyword.name) != keyword.name:
                        raise KeywordError(f"{where}: {alias!r} is claimed twice (also by {owner[phrase]})")
                    owner[phrase] = keyword.name
                    self._phrases.append((phrase, keyword, None if language == ANY_LANGUAGE else language))
                    self._symbols |= {key for key in phrase if not key.isalnum()}
        # Longest phrase first, so "ESTOY BIEN" wins over a keyword "ESTOY", "ALERTA POR" over "ALERTA".
        self._phrases.sort(key=lambda entry: (-len(entry[0]), -len(" ".join(entry[0]))))
        # The phrases a message's first word can begin, in that order: every SMS is matched against them.
        self._starting: dict[str, list[tuple[tuple[str, ...], Keyword, str | None]]] = {}
        for entry in self._phrases:
            self._starting.setdefault(entry[0][0], []).append(entry)
        self._longest = max((len(phrase) for phrase, _, _ in self._phrases), default=1)

    @classmethod
    def load(cls, path: Path, fold: Callable[[str], str]) -> Keywords:
        try:
            raw = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise KeywordError(f"{path}: invalid YAML: {exc}") from None
        entries = raw.get("keywords") if isinstance(raw, dict) else None
        if not isinstance(entries, dict):
            raise KeywordError(f"{path}: needs a `keywords` mapping")
        keywords = [_keyword(str(name), spec, f"{path}: keywords.{name}") for name, spec in entries.items()]
        starts = {}
        for name in ("no_keyword", "answer_to_consulate"):
            if raw.get(name) is not None and not isinstance(raw.get(name), str):
                raise KeywordError(f"{path}: {name}: the flow/screen such texts go to")
            starts[name] = raw.get(name)
        return cls(
            keywords,
            str(path),
            fold,
            _duty(raw.get("duty_commands"), f"{path}: duty_commands"),
            help_start=starts["no_keyword"],
            answer_start=starts["answer_to_consulate"],
        )

    def match(self, text: str) -> Match | Ambiguous | None:
        """The keyword a message starts with, if any."""
        text = unicodedata.normalize("NFC", text)
        words = self._keys(text, self._symbols, self._longest)
        if not words:
            return None
        keys = tuple(key for key, _ in words)
        for phrase, keyword, language in self._starting.get(keys[0], ()):
            if keys[: len(phrase)] == phrase:
                return Match(keyword, language, _rest(text, words[len(phrase) - 1][1]))
        first = keys[0]
        if len(first) < TYPO_MIN_LENGTH or not first.isalnum():
            return None
        near = {}
        for phrase, keyword, language in self._phrases:
            word = phrase[0]
            if len(phrase) == 1 and len(word) >= TYPO_MIN_LENGTH and word.isalnum() and keyword.typos:
                if OSA.distance(first, word, score_cutoff=1) == 1:
                    near.setdefault(keyword.name, (keyword, language))
        if len(near) > 1:
            return Ambiguous(tuple(sorted(near)))
        if near:
            keyword, language = next(iter(near.values()))
            return Match(keyword, language, _rest(text, words[0][1]))
        return None

    def _keys(self, text: str, symbols: set[str] | None, limit: int = 0) -> list[tuple[str, int]]:
        """(key, end offset) of each word of a text (the first `limit` words, if given): folded, without
        punctuation or repeated letters. Emoji count only when `symbols` holds them (None: every emoji, for
        reading the file's own words)."""
        found = []
        for token in _TOKEN.finditer(text):
            if limit and len(found) == limit:
                break
            letters = "".join(ch for ch in self.fold(token.group()) if ch.isalnum())
            if letters:
                found.append((_collapse(letters), token.end()))
                continue
            emoji = _collapse("".join(ch for ch in token.group() if unicodedata.category(ch) == "So"))
            if emoji and (symbols is None or emoji in symbols):
                found.append((emoji, token.end()))
        return found

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
        if self.help_start:
            found.append((f"{self.source}: no_keyword", self.help_start))
        if self.answer_start:
            found.append((f"{self.source}: answer_to_consulate", self.answer_start))
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
        typos=bool(spec.get("typos", True)),
    )


def _collapse(word: str) -> str:
    """One letter for a run of the same: "AUXILIOOO" and "AUXILIO" are one word (so are "BOOK" and "BOK")."""
    return _REPEATS.sub(r"\1", word)


def _rest(text: str, end: int) -> str:
    """What follows the keyword, as typed, without the punctuation that set it apart; nothing when only
    punctuation or emoji follow ("ALERTA!!! 🚨")."""
    rest = _LEADING.sub("", text[end:]).strip()
    return rest if any(ch.isalnum() for ch in rest) else ""
