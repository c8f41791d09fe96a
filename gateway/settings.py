"""Settings from the environment: fixed names that operators and other tools depend on."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

AT_DEFAULT_API_URL = "https://api.africastalking.com"
TWILIO_DEFAULT_API_URL = "https://api.twilio.com"


class SettingsError(ValueError):
    """An invalid setting; the message starts with the variable's name."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///lifeline.db"
    config_dir: Path = Path("config")
    menus_dir: Path = Path("menus")
    secret_key: str | None = field(default=None, repr=False)
    key_file: Path = Path("lifeline.key")
    new_secret_key: str | None = field(default=None, repr=False)  # run.py rotate-key only
    sms_providers: tuple[str, ...] = ("console",)
    at_username: str | None = None
    at_api_key: str | None = field(default=None, repr=False)
    at_sender_id: str | None = None
    at_api_url: str = AT_DEFAULT_API_URL
    at_callback_token: str | None = field(default=None, repr=False)
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_from: str | None = None
    twilio_api_url: str = TWILIO_DEFAULT_API_URL
    public_url: str | None = None
    # LIFELINE_ALLOW_INSECURE_CALLBACKS=1: `serve` starts with unguarded carrier callbacks (local trials).
    allow_insecure_callbacks: bool = False
    metrics_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Reads and validates every setting; raises SettingsError naming the first bad variable."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        settings = cls(
            database_url=get("DATABASE_URL") or cls.database_url,
            config_dir=Path(get("LIFELINE_CONFIG") or cls.config_dir),
            menus_dir=Path(get("LIFELINE_MENUS") or cls.menus_dir),
            secret_key=get("LIFELINE_SECRET_KEY"),
            key_file=Path(get("LIFELINE_KEY_FILE") or cls.key_file),
            new_secret_key=get("LIFELINE_NEW_SECRET_KEY"),
            sms_providers=tuple(p.strip().lower() for p in (get("SMS_PROVIDERS") or "console").split(",") if p.strip()),
            at_username=get("AT_USERNAME"),
            at_api_key=get("AT_API_KEY"),
            at_sender_id=get("AT_SENDER_ID"),
            at_api_url=(get("AT_API_URL") or AT_DEFAULT_API_URL).rstrip("/"),
            at_callback_token=get("AT_CALLBACK_TOKEN"),
            twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
            twilio_from=get("TWILIO_FROM"),
            twilio_api_url=(get("TWILIO_API_URL") or TWILIO_DEFAULT_API_URL).rstrip("/"),
            public_url=(get("PUBLIC_URL") or "").rstrip("/") or None,
            allow_insecure_callbacks=_flag(get, "LIFELINE_ALLOW_INSECURE_CALLBACKS"),
            metrics_token=get("METRICS_TOKEN"),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raises SettingsError for the first setting that cannot work."""
        scheme = urlsplit(self.database_url).scheme
        if scheme not in ("sqlite", "postgres", "postgresql"):
            raise SettingsError("DATABASE_URL", "must start with sqlite:/// or postgresql://")
        for name, path in (("LIFELINE_CONFIG", self.config_dir), ("LIFELINE_MENUS", self.menus_dir)):
            if not path.is_dir():
                raise SettingsError(name, f"{path} is not a directory")
        for name, secret in (
            ("LIFELINE_SECRET_KEY", self.secret_key),
            ("LIFELINE_NEW_SECRET_KEY", self.new_secret_key),
        ):
            if secret is not None and len(secret) < 32:
                raise SettingsError(name, "must be at least 32 characters")
        if not self.sms_providers:
            raise SettingsError("SMS_PROVIDERS", "lists no provider")
        from gateway.carriers.registry import carriers  # carrier modules import the app: not at module load

        known = carriers()
        for provider in self.sms_providers:
            if provider not in known:
                raise SettingsError("SMS_PROVIDERS", f"unknown provider {provider!r}; known: {', '.join(known)}")
        if len(set(self.sms_providers)) != len(self.sms_providers):
            raise SettingsError("SMS_PROVIDERS", "lists a provider twice")
        for provider in self.sms_providers:
            for variable, attribute in known[provider].required:
                if not getattr(self, attribute):
                    raise SettingsError(variable, f"is required when SMS_PROVIDERS includes {provider}")
        for name, url in (
            ("AT_API_URL", self.at_api_url),
            ("TWILIO_API_URL", self.twilio_api_url),
            ("PUBLIC_URL", self.public_url),
        ):
            if url is not None and not _is_http_url(url):
                raise SettingsError(name, f"{url!r} is not an http(s) URL")
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise SettingsError("METRICS_TOKEN", "must be at least 16 characters")

    def check_callbacks(self) -> list[str]:
        """Refuses (SettingsError naming the variable) carrier webhooks that would take forged or unverifiable
        requests; with LIFELINE_ALLOW_INSECURE_CALLBACKS=1 returns them as warnings for the log instead."""
        from gateway.carriers.registry import carriers  # carrier modules import the app: not at module load

        problems = [found for carrier in carriers().values() if (found := carrier.unguarded(self))]
        if not self.allow_insecure_callbacks:
            if problems:
                raise SettingsError(*problems[0])
            return []
        override = "LIFELINE_ALLOW_INSECURE_CALLBACKS=1"
        if not problems:
            return [f"{override} is set but changes nothing here: remove it"]
        return [f"{variable} {why} (allowed by {override}: for local trials only)" for variable, why in problems]


def _flag(get, name: str) -> bool:
    """A variable that is either 1 or unset (0 and empty also mean unset)."""
    value = get(name)
    if value not in (None, "0", "1"):
        raise SettingsError(name, "must be 1 or unset")
    return value == "1"


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
