"""Reading a carrier's form fields with the checks every webhook needs."""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway.messages import BadRequest

# Characters a carrier never sends in an id, and a person never means: NUL and other C0 controls (a
# pattern: the check runs over every character of every field of every webhook).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def required(form: Mapping[str, str], name: str, max_length: int = 128) -> str:
    """The named field, stripped; BadRequest if it is missing, empty or implausibly long."""
    value = (form.get(name) or "").strip()
    if not value:
        raise BadRequest(f"missing field {name}")
    return _checked(name, value, max_length)


def optional(form: Mapping[str, str], name: str, max_length: int = 128) -> str | None:
    """The named field, stripped, or None when absent or empty."""
    value = (form.get(name) or "").strip()
    return _checked(name, value, max_length) if value else None


def text(form: Mapping[str, str], name: str, max_length: int) -> str:
    """Free text a person typed; control characters dropped (a phone never means them)."""
    value = form.get(name) or ""
    if len(value) > max_length:
        raise BadRequest(f"field {name} longer than {max_length} characters")
    return _CONTROL.sub("", value)


def integer(form: Mapping[str, str], name: str) -> int | None:
    """The named field as a non-negative integer, or None when absent; BadRequest when not a number."""
    value = optional(form, name, 20)
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest(f"field {name} is not a number")
    return int(value)


def _checked(name: str, value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise BadRequest(f"field {name} longer than {max_length} characters")
    if _CONTROL.search(value):
        raise BadRequest(f"field {name} contains control characters")
    return value
