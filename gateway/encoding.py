"""SMS encoding and segment count (GSM 03.38 / 3GPP TS 23.038), and GSM-7 transliteration."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass


class Encoding(enum.StrEnum):
    GSM7 = "gsm7"  # GSM 03.38 default alphabet (+ extension table)
    UCS2 = "ucs2"  # UTF-16, used as soon as one character is outside GSM-7


@dataclass(frozen=True)
class SmsShape:
    encoding: Encoding
    units: int  # septets for GSM-7 (extension chars count 2), UTF-16 code units for UCS-2
    segments: int  # 1 for empty text


# The default alphabet in code order 0x00..0x7F, so it can be checked against the spec's table.
# 0x1B is ESC (the escape to the extension table), not a character: a text containing ESC
# cannot be sent as GSM-7, so it is left out of the set.
GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
_BASIC = frozenset(GSM7_BASIC_TABLE) - {"\x1b"}
# Sent as ESC + code, so each costs 2 septets.
_EXTENSION = frozenset("\f^{}\\[~]|€")

# (single-message capacity, per-part capacity once a user-data header is needed)
_GSM7_LIMITS = (160, 153)
_UCS2_LIMITS = (70, 67)

# Look-alikes that Unicode decomposition does not give. Accented letters (á, ã, ô, ç, ...) are
# not listed: transliterate() strips their accents generically. Lowercase ç becomes c, not Ç:
# 0x09 is drawn as Ç by handsets that follow the current spec (and as ç by some older ones), so
# Ç would risk a capital in mid-word, while c is always right, like á → a.
_LOOK_ALIKES = {
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": "'",  # ‚
    "\u201b": "'",  # ‛
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u201f": '"',  # ‟
    "\u00ab": '"',  # «
    "\u00bb": '"',  # »
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # ellipsis
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space
}


_GSM7 = _BASIC | _EXTENSION


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 default alphabet or its extension table."""
    return _GSM7.issuperset(text)


def measure(text: str) -> SmsShape:
    """The encoding, units and segment count the text takes as an SMS."""
    # Units are counted with set and string operations (every SMS the outbox prints or writes is measured);
    # the per-character costs are listed only for a text longer than one SMS.
    if _GSM7.issuperset(text):
        encoding, limits = Encoding.GSM7, _GSM7_LIMITS
        units = len(text) if _BASIC.issuperset(text) else len(text) + sum(map(text.count, _EXTENSION))
    else:
        encoding, limits = Encoding.UCS2, _UCS2_LIMITS
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2  # a character beyond U+FFFF takes two
    if units <= limits[0]:
        return SmsShape(encoding, units, 1)
    if encoding is Encoding.GSM7:
        costs = [1 if char in _BASIC else 2 for char in text]
    else:
        costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return SmsShape(encoding, units, _count_segments(costs, *limits))


def _count_segments(costs: list[int], single: int, part: int) -> int:
    if sum(costs) <= single:
        return 1
    # Greedy packing: an escape sequence or a surrogate pair (cost 2) never straddles two parts,
    # so a part may end one unit short of its capacity.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return segments


def transliterate(text: str) -> str:
    """The text with non-GSM-7 characters replaced by GSM-7 look-alikes where one exists."""
    # NFC first, so a decomposed é (e + combining acute) becomes the GSM-7 é instead of losing
    # its accent.
    clusters = _clusters(unicodedata.normalize("NFC", text))
    return "".join(_transliterate_cluster(cluster) for cluster in clusters)


def _clusters(text: str) -> list[str]:
    # A base character with the combining marks after it: an accent left over after NFC has no
    # precomposed form, and goes or stays with its letter.
    clusters: list[str] = []
    for char in text:
        if clusters and unicodedata.combining(char):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def _transliterate_cluster(cluster: str) -> str:
    if is_gsm7(cluster):
        return cluster
    if cluster in _LOOK_ALIKES:
        return _LOOK_ALIKES[cluster]
    # Only letters lose their accents: stripping the overlay from a symbol such as ≠ would
    # invert its meaning (≠ → =).
    if unicodedata.category(cluster[0]).startswith("L"):
        decomposed = unicodedata.normalize("NFD", cluster)
        bare = "".join(char for char in decomposed if not unicodedata.combining(char))
        if is_gsm7(bare):
            return bare
    return cluster


def fit(text: str, allow_transliteration: bool) -> tuple[str, SmsShape]:
    """The text to send and its shape: transliterated only if allowed and it saves a segment."""
    shape = measure(text)
    if allow_transliteration:
        candidate = transliterate(text)
        candidate_shape = measure(candidate)
        # Accents carry meaning (año/ano), so they are only traded for a real saving; and
        # transliteration can cost segments (… becomes three characters).
        if candidate_shape.segments < shape.segments:
            return candidate, candidate_shape
    return text, shape
