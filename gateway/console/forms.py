"""The console's forms, each with WTForms' session CSRF token: a post without it is refused with 400."""

from __future__ import annotations

import hashlib

from multidict import MultiDictProxy
from wtforms import Form, PasswordField, StringField, TextAreaField
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import DataRequired, Length, Optional

from store.crypto import lookup_hash


def csrf_secret() -> bytes:
    """Derived from the deployment's secret, so every server process accepts every other's tokens."""
    return hashlib.sha256(lookup_hash("console:csrf").encode("ascii")).digest()


class _Meta:
    csrf = True
    csrf_class = SessionCSRF
    csrf_time_limit = None  # the session's idle timeout already bounds it

    @property
    def csrf_secret(self) -> bytes:
        return csrf_secret()


class ConsoleForm(Form):
    Meta = _Meta


class FormData:
    """aiohttp's posted form as WTForms reads it (getlist)."""

    def __init__(self, posted: MultiDictProxy | None):
        self._posted = posted

    def __iter__(self):
        return iter(self._posted or {})

    def __len__(self) -> int:
        return len(self._posted or {})

    def __contains__(self, name) -> bool:
        return self._posted is not None and name in self._posted

    def getlist(self, name: str) -> list:
        return [v for v in self._posted.getall(name, []) if isinstance(v, str)] if self._posted else []


class LoginForm(ConsoleForm):
    email = StringField(validators=[DataRequired(), Length(max=254)])
    password = PasswordField(validators=[DataRequired(), Length(max=256)])


class CodeForm(ConsoleForm):
    code = StringField(validators=[DataRequired(), Length(max=12)])


class PasswordForm(ConsoleForm):
    current = PasswordField(validators=[DataRequired(), Length(max=256)])
    password = PasswordField(validators=[DataRequired(), Length(max=256)])


class ActionForm(ConsoleForm):
    """A button on a page: nothing but the token (block, end a shift, acknowledge...)."""


class TextForm(ConsoleForm):
    text = TextAreaField(validators=[Optional(), Length(max=1000)])


class RevealForm(ConsoleForm):
    reason = StringField(validators=[DataRequired(), Length(min=3, max=200)])


class AccountForm(ConsoleForm):
    email = StringField(validators=[DataRequired(), Length(max=254)])
    role = StringField(validators=[DataRequired(), Length(max=16)])  # checked against the roles by the rules
    consulate = StringField(validators=[Optional(), Length(max=64)])
    language = StringField(validators=[Optional(), Length(max=8)])
    password = PasswordField(validators=[DataRequired(), Length(max=256)])


class RoleForm(ConsoleForm):
    role = StringField(validators=[DataRequired(), Length(max=16)])  # checked against the roles by the rules
    consulate = StringField(validators=[Optional(), Length(max=64)])


class ShiftForm(ConsoleForm):
    consulate = StringField(validators=[DataRequired(), Length(max=64)])
    phone = StringField(validators=[DataRequired(), Length(max=32)])
    starts = StringField(validators=[Optional(), Length(max=32)])
    ends = StringField(validators=[Optional(), Length(max=32)])
