"""SMS encoding, segment counts at the GSM 03.38 boundaries, and transliteration."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.encoding import (
    GSM7_BASIC_TABLE,
    Encoding,
    SmsShape,
    fit,
    is_gsm7,
    measure,
    transliterate,
)

GSM7, UCS2 = Encoding.GSM7, Encoding.UCS2
EMOJI = "\U0001f600"  # outside the BMP: a surrogate pair in UTF-16


@pytest.mark.parametrize(
    ("code", "char"),
    [
        (0x00, "@"),
        (0x09, "Ç"),
        (0x1F, "É"),
        (0x24, "¤"),
        (0x40, "¡"),
        (0x5F, "§"),
        (0x60, "¿"),
        (0x7F, "à"),
    ],
    ids=["at", "C-cedilla", "E-acute", "currency", "inv-exclamation", "section", "inv-question", "a-grave"],
)
def test_basic_table_is_in_spec_code_order(code, char):
    assert len(GSM7_BASIC_TABLE) == 128
    assert GSM7_BASIC_TABLE[code] == char


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("¿Qué tal, señor? ¡Mañana! Müller, Ñoño: é É ñ Ñ ü Ü à è ì ò ù", True),
        ("ΔΦΓΛΩΠΨΣΘΞ ÆæßØøÅåÄÖ Ç @£$¥¤§_\r\n", True),
        ("\f^{}\\[~]|€", True),
        ("á", False),
        ("í", False),
        ("ó", False),
        ("ú", False),
        ("Á", False),
        ("ç", False),
        ("`", False),
        ("α", False),
        ("\x1b", False),
        ("\t", False),
        (EMOJI, False),
    ],
    ids=[
        "empty",
        "spanish-gsm",
        "greek-nordic-symbols",
        "extension-table",
        "a-acute",
        "i-acute",
        "o-acute",
        "u-acute",
        "A-acute",
        "lowercase-c-cedilla",
        "backtick",
        "greek-small-alpha",
        "bare-escape",
        "tab",
        "emoji",
    ],
)
def test_is_gsm7(text, expected):
    assert is_gsm7(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsShape(GSM7, 0, 1)),
        ("a" * 160, SmsShape(GSM7, 160, 1)),
        ("a" * 161, SmsShape(GSM7, 161, 2)),
        ("a" * 306, SmsShape(GSM7, 306, 2)),
        ("a" * 307, SmsShape(GSM7, 307, 3)),
        ("€" * 80, SmsShape(GSM7, 160, 1)),
        ("€" * 80 + "a", SmsShape(GSM7, 161, 2)),
        # 151 + 2 fills the first part exactly.
        ("a" * 151 + "€" + "a" * 153, SmsShape(GSM7, 306, 2)),
        # The € cannot straddle parts 1 and 2, so part 1 holds only 152 septets.
        ("a" * 152 + "€" + "a" * 152, SmsShape(GSM7, 306, 3)),
        ("á" * 70, SmsShape(UCS2, 70, 1)),
        ("á" * 71, SmsShape(UCS2, 71, 2)),
        ("á" * 134, SmsShape(UCS2, 134, 2)),
        ("á" * 135, SmsShape(UCS2, 135, 3)),
        (EMOJI * 35, SmsShape(UCS2, 70, 1)),
        (EMOJI * 35 + "a", SmsShape(UCS2, 71, 2)),
        # 65 + 2 fills the first part exactly.
        ("a" * 65 + EMOJI + "a" * 67, SmsShape(UCS2, 134, 2)),
        # The surrogate pair cannot straddle parts 1 and 2, so part 1 holds only 66 units.
        ("a" * 66 + EMOJI + "a" * 66, SmsShape(UCS2, 134, 3)),
        # Extension characters cost 1 unit once the message is UCS-2.
        ("€" * 69 + "á", SmsShape(UCS2, 70, 1)),
        ("¿Qué tal? Mañana a las ocho, señor.", SmsShape(GSM7, 35, 1)),
        ("¿Está aquí? Mañana a las ocho.", SmsShape(UCS2, 30, 1)),
    ],
    ids=[
        "empty",
        "gsm7-160",
        "gsm7-161",
        "gsm7-306",
        "gsm7-307",
        "extension-counts-2-at-160",
        "extension-counts-2-at-161",
        "extension-ends-part-exactly",
        "extension-at-153-boundary",
        "ucs2-70",
        "ucs2-71",
        "ucs2-134",
        "ucs2-135",
        "emoji-counts-2-at-70",
        "emoji-counts-2-at-71",
        "emoji-ends-part-exactly",
        "emoji-at-67-boundary",
        "extension-in-ucs2",
        "spanish-e-acute-n-tilde-gsm7",
        "spanish-a-acute-ucs2",
    ],
)
def test_measure(text, expected):
    assert measure(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("áíóúÁÍÓÚ", "aiouAIOU"),
        ("âêîôûãõÂÊÎÔÛÃÕ", "aeiouaoAEIOUAO"),
        ("ç", "c"),
        ("Ç", "Ç"),
        ("\u2018sí\u2019 \u201cno\u201d «ya»", '\'si\' "no" "ya"'),
        ("8\u201310 \u2014 ok", "8-10 - ok"),
        ("y\u2026", "y..."),
        ("10\u00a0km", "10 km"),
        ("é ñ ü à ¿¡ €", "é ñ ü à ¿¡ €"),
        ("e\u0301", "é"),
        ("a\u0301", "a"),
        ("q\u0303", "q"),
        ("\u0301", "\u0301"),
        ("ł", "ł"),
        ("ά", "ά"),
        ("≠", "≠"),
        (EMOJI, EMOJI),
        ("Привет", "Привет"),
    ],
    ids=[
        "spanish-acute",
        "circumflex-tilde",
        "lowercase-c-cedilla-to-c",
        "capital-c-cedilla-kept",
        "curly-quotes-and-guillemets",
        "dashes",
        "ellipsis",
        "no-break-space",
        "gsm7-accents-kept",
        "decomposed-e-acute-composed",
        "decomposed-a-acute-stripped",
        "uncomposable-mark-stripped",
        "leading-mark-kept",
        "no-look-alike-l-stroke",
        "no-look-alike-greek-small",
        "symbol-overlay-kept",
        "emoji-kept",
        "cyrillic-kept",
    ],
)
def test_transliterate(text, expected):
    assert transliterate(text) == expected


SHORT_UCS2 = "¿Está aquí? Mañana a las ocho."
LONG_UCS2 = "Su cita en el consulado está confirmada para el miércoles. Traiga su pasaporte y "
LONG_UCS2 += "una foto. Información: llame al número de siempre."


@pytest.mark.parametrize(
    ("text", "allowed", "expected"),
    [
        (LONG_UCS2, True, (transliterate(LONG_UCS2), SmsShape(GSM7, len(LONG_UCS2), 1))),
        (LONG_UCS2, False, (LONG_UCS2, SmsShape(UCS2, len(LONG_UCS2), 2))),
        (SHORT_UCS2, True, (SHORT_UCS2, SmsShape(UCS2, 30, 1))),
        # Still UCS-2 after transliteration (the emoji stays): same segments, keep the accents.
        (LONG_UCS2 + EMOJI, True, (LONG_UCS2 + EMOJI, SmsShape(UCS2, len(LONG_UCS2) + 2, 2))),
        # "…" → "..." triples the length: 70 units in one segment would become 210 septets.
        ("\u2026" * 70, True, ("\u2026" * 70, SmsShape(UCS2, 70, 1))),
        ("¿Qué tal, señor?", True, ("¿Qué tal, señor?", SmsShape(GSM7, 16, 1))),
    ],
    ids=[
        "saves-a-segment",
        "not-allowed",
        "no-saving-keeps-accents",
        "still-ucs2-keeps-accents",
        "transliteration-would-cost-segments",
        "already-gsm7",
    ],
)
def test_fit(text, allowed, expected):
    assert 70 < len(LONG_UCS2) <= 160
    assert fit(text, allowed) == expected


INTERESTING = (
    list(GSM7_BASIC_TABLE)
    + list("\f^{}\\[~]|€")
    + list("áíóúÁÍÓÚçâêîôûãõ\u0301\u0303\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0≠ł")
    + [EMOJI, "\U0001f44d\U0001f3fd", "Ж", "ग़"]
)
texts = st.lists(st.one_of(st.sampled_from(INTERESTING), st.characters()), max_size=400).map("".join)
GSM7_CHARS = list(GSM7_BASIC_TABLE.replace("\x1b", "")) + list("\f^{}\\[~]|€")
# A combining mark only has a look-alike on a letter; alone it stays (see leading-mark-kept).
TRANSLITERABLE = (
    GSM7_CHARS
    + list("áíóúÁÍÓÚçâêîôûãõÈÌÒÙëïÿ\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0")
    + ["a\u0301", "e\u0301", "q\u0303"]
)


@given(texts)
def test_shape_is_consistent(text):
    shape = measure(text)
    single, part = (160, 153) if shape.encoding is GSM7 else (70, 67)
    assert (shape.encoding is GSM7) == is_gsm7(text)
    assert shape.segments >= 1
    if shape.units <= single:
        assert shape.segments == 1
    else:
        # Packing loses at most one unit per part, to a 2-unit character that did not fit.
        assert math.ceil(shape.units / part) <= shape.segments
        assert shape.segments <= math.ceil(shape.units / (part - 1))


@given(texts, texts)
def test_appending_never_saves_segments(text, more):
    assert measure(text + more).segments >= measure(text).segments


@given(texts)
def test_transliterate_is_idempotent(text):
    once = transliterate(text)
    assert transliterate(once) == once


@given(st.lists(st.sampled_from(TRANSLITERABLE), max_size=400).map("".join))
def test_transliterable_text_becomes_gsm7(text):
    assert is_gsm7(transliterate(text))


@given(st.text(alphabet=st.sampled_from(GSM7_CHARS), max_size=400))
def test_gsm7_text_is_left_alone(text):
    assert transliterate(text) == text
    assert fit(text, True) == (text, measure(text))


@given(texts, st.booleans())
def test_fit_never_costs_segments(text, allowed):
    sent, shape = fit(text, allowed)
    assert shape == measure(sent)
    assert shape.segments <= measure(text).segments
    if sent != text:
        assert allowed
        assert sent == transliterate(text)
        assert shape.segments < measure(text).segments
