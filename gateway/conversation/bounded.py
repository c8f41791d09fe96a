"""Texts kept within a number of SMS segments by cutting what the person typed, never the fixed words: a
1,700-character alert still reaches a duty phone as one readable message of at most two segments."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gateway import encoding

# The cut is marked "...", which stays in GSM-7; "…" only where the text is UCS-2 anyway (it is not GSM-7,
# and one such character would halve what the message can hold).
GSM_MARK, UNICODE_MARK = "...", "…"
_TRAILING = " ,;:.-"


def bounded(render: Callable[[Mapping[str, str]], str], values: Mapping[str, str], names, max_segments: int) -> str:
    """render(values), with the named values cut at a word (the first name first) until it fits."""
    text = render(values)
    if encoding.measure(text).segments <= max_segments:
        return text
    values = dict(values)
    for name in names:
        original = values.get(name) or ""
        if not original:
            continue
        values[name] = _longest_fitting(render, values, name, original, max_segments)
        text = render(values)
        if encoding.measure(text).segments <= max_segments:
            return text
    return text  # the fixed words alone are longer: nothing typed is left to cut


def _longest_fitting(render, values: dict, name: str, original: str, max_segments: int) -> str:
    """The longest cut of `original` (in characters, then back to a word) that lets the text fit; "" if none."""
    best, low, high = "", 0, len(original) - 1
    while low <= high:
        middle = (low + high) // 2
        candidate = _marked(render, values, name, _cut(original, middle))
        if encoding.measure(render({**values, name: candidate})).segments <= max_segments:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _cut(text: str, length: int) -> str:
    """The first `length` characters, ending at a word when one ends in the second half."""
    head = text[:length]
    space = head.rfind(" ")
    if space > length // 2:
        head = head[:space]
    return head.rstrip(_TRAILING)


def _marked(render, values: dict, name: str, head: str) -> str:
    plain = head + GSM_MARK
    return plain if encoding.is_gsm7(render({**values, name: plain})) else head + UNICODE_MARK
