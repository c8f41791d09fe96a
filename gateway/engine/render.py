"""Screens as text: USSD pages that fit the handset's limit, or one SMS."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gateway.engine.engine import Show

# The whole USSD answer, "CON "/"END " included, fits the common 182-character screen.
USSD_LIMIT = 182
PREFIX = 4
# A page keeps at least this many characters for its text beside a navigation line ("98 Mas"), so a
# navigation text may be at most NAV_MAX long; `check` refuses a longer one, naming its key.
MIN_TEXT_WIDTH = 40
NAV_MAX = USSD_LIMIT - PREFIX - 1 - MIN_TEXT_WIDTH
NAV_KEYS = ("nav.more", "nav.back")

Say = Callable[[str, Mapping[str, str]], str]  # (text key, values) → text in the person's language


def ussd_pages(show: Show, say: Say, limit: int = USSD_LIMIT) -> list[str]:
    """Every page of a screen; "98" moves to the next, numbers keep their meaning on every page."""
    room = limit - PREFIX
    more = say("nav.more", {})
    top = [say(show.error, show.values)] if show.error else []
    # A text too long for one page is cut at words, leaving room for the "more" line.
    lines = _wrap([say(show.text, show.values)] if show.text else [], room - len(more) - 1)
    lines += [f"{n}. {say(key, show.values)}" for n, key in enumerate(show.options, 1)]
    back = [say("nav.back", {})] if show.can_go_back and not show.ends else []
    if _fits(top + lines + back, room):
        return ["\n".join(top + lines + back)]
    if _fits(top + lines, room):
        return ["\n".join(top + lines)]
    pages, current = [], list(top)
    for line in lines:
        if current and not _fits(current + [line, more], room):
            pages.append("\n".join(current + [more]))
            current = []
        current.append(line)
    pages.append("\n".join(current + back) if _fits(current + back, room) else "\n".join(current))
    return pages


def ussd_screen(show: Show, say: Say) -> str:
    """The page the person asked for (pages wrap around)."""
    pages = ussd_pages(show, say)
    return pages[show.page % len(pages)]


def sms_text(show: Show, say: Say) -> str:
    """The whole screen as one SMS: a menu arrives complete, and a reply with a number picks an option."""
    lines = [say(show.error, show.values)] if show.error else []
    if show.text:
        lines.append(say(show.text, show.values))
    lines += [f"{n} {say(key, show.values)}" for n, key in enumerate(show.options, 1)]
    return "\n".join(lines)


def _fits(lines: list[str], room: int) -> bool:
    return len("\n".join(lines)) <= room


def _wrap(lines: list[str], width: int) -> list[str]:
    """Splits lines longer than width at word boundaries (a long info text pages like a menu)."""
    width = max(width, MIN_TEXT_WIDTH)  # every cut then moves on: no width can make this loop forever
    out = []
    for text in lines:
        for paragraph in text.split("\n"):
            while len(paragraph) > width:
                cut = paragraph.rfind(" ", 0, width)
                cut = cut if cut > 0 else width
                out.append(paragraph[:cut])
                paragraph = paragraph[cut:].lstrip()
            out.append(paragraph)
    return out
