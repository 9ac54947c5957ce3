"""Settings, declared once (name, default, help). Built at the edges, never at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WORKSPACE = Path("clearlane-workspace")
PLACEHOLDER_SECRET = "change-me"
"""The shipped value of ``secret_key``: ``clearlane serve`` refuses it unless ``--dev``."""


class Settings(BaseSettings):
    """Clearlane settings; each can be set with an environment variable ``CLEARLANE_<NAME>``.

    Built where the program starts (a CLI command, a server), never at import time. Keyword
    arguments win over the environment, the environment over the defaults:

    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"CLEARLANE_SEED": "7", "CLEARLANE_BATCH_ROWS": "2000"}):
    ...     settings = Settings()
    ...     explicit = Settings(seed=3)
    >>> settings.seed, settings.batch_rows, explicit.seed
    (7, 2000, 3)

    Values are validated when the settings are built:

    >>> from pydantic import ValidationError
    >>> try:
    ...     Settings(batch_rows=10)
    ... except ValidationError as error:
    ...     print(error.errors()[0]["loc"], error.errors()[0]["msg"])
    ('batch_rows',) Input should be greater than or equal to 1000
    """

    # hide_input_in_errors: a refused value may be a secret (webhook_secret, secret_key)
    model_config = SettingsConfigDict(env_prefix="CLEARLANE_", extra="ignore",
                                      hide_input_in_errors=True)

    workspace: Path = Field(
        DEFAULT_WORKSPACE, description="Folder holding the workspace database and model artifacts."
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL database for a new workspace's tables "
        "(postgresql://USER@HOST:PORT/DBNAME; the password goes in ~/.pgpass or PGPASSWORD). "
        "Unset: the embedded DuckDB file in the workspace folder. Read by `clearlane init`.",
    )
    batch_rows: int = Field(
        500_000, ge=1_000, description="Rows read per batch while ingesting large files."
    )
    max_future_days: int = Field(
        1,
        ge=0,
        description="Declaration dates more than this many days in the future are rejected.",
    )
    ingest_memory_limit: str = Field(
        "1GB",
        description="Memory the database may use while ingesting; beyond it, it spills to disk.",
    )
    seed: int = Field(42, description="Default random seed for synthetic data and models.")
    hs_editions: str = Field(
        "2012=2012-01-01,2017=2017-01-01,2022=2022-01-01",
        description=(
            "HS editions and the date each came into force here (EDITION=YYYY-MM-DD, "
            "comma-separated; editions 2012, 2017, 2022); a declaration's HS code is read "
            "in the edition in force on its date."
        ),
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        description="Failed logins of one user name, within the login window, after which "
        "logins are refused (even with the right password) until the window passes.",
    )
    login_window_minutes: int = Field(
        15, ge=1, description="The window, in minutes, over which failed logins are counted."
    )
    session_lifetime_minutes: int = Field(
        480, ge=1, description="Minutes a login session lasts before it expires."
    )
    api_key_expiry_days: int = Field(
        365,
        ge=1,
        description="Days an API key lasts when `clearlane keys create` is given no "
        "--expires-days.",
    )
    audit_key: Path = Field(
        Path("~/.config/clearlane/audit-ed25519.pem"),
        description=(
            "Ed25519 private key (PEM) that signs audit checkpoints; generated with mode 0600 on "
            "first use. Keep it off the machine's database disk where possible."
        ),
    )
    audit_checkpoint_dir: Path | None = Field(
        None,
        description=(
            "Folder for audit checkpoint files; default: beside the workspace folder "
            "(WORKSPACE.audit-checkpoint.json)."
        ),
    )
    audit_checkpoint_seconds: int = Field(
        300,
        ge=1,
        description="While `clearlane serve` runs, the audit chain's head is signed into the "
        "checkpoint file this often (when it moved), and once more at shutdown.",
    )
    models_keep: int = Field(
        5,
        ge=1,
        description="Models of each kind that `clearlane models prune` keeps besides the "
        "promoted one (the newest N); --keep overrides it.",
    )
    host: str = Field("127.0.0.1", description="Address `clearlane serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `clearlane serve` listens on.")
    workers: int = Field(
        1,
        ge=1,
        description="Server worker processes. The embedded DuckDB store is held by one "
        "process, so it allows 1 only.",
    )
    secret_key: SecretStr = Field(
        SecretStr(PLACEHOLDER_SECRET),
        description="Server secret (signs session cookies). Set it from "
        "a secret store, e.g. `export CLEARLANE_SECRET_KEY=$(cat /run/secrets/clearlane)`; "
        "`clearlane serve` refuses the placeholder unless --dev.",
    )
    cookie_secure: bool = Field(
        False,
        description="Mark session cookies Secure (sent over HTTPS only); set it behind TLS.",
    )
    max_batch_items: int = Field(
        10_000, ge=1, description="Most declaration items one assess-batch request may carry."
    )
    webhook_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="Where alerts at or above the minimum severity are POSTed as signed JSON "
        "(http or https URL); unset: no notifications.",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Shared secret (at least 32 characters) that signs webhook payloads "
        "(HMAC-SHA256; see docs/notifications.md); required with webhook_url. Set it from a "
        "secret store; it is never logged nor audited.",
    )
    webhook_min_severity: Literal["low", "medium", "high", "critical"] = Field(
        "high",
        description="Lowest alert severity pushed to the webhook: low, medium, high or critical.",
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Seconds one webhook POST may take before it fails."
    )
    webhook_max_attempts: int = Field(
        8, ge=1, le=50, description="Attempts per alert before its delivery is given up."
    )
    webhook_retry_seconds: int = Field(
        30,
        ge=1,
        description="Wait before the second attempt; each later wait doubles, up to one hour.",
    )
    webhook_poll_seconds: float = Field(
        10.0,
        gt=0,
        description="While `clearlane serve` runs with a webhook_url, new alerts and due "
        "retries are looked for this often.",
    )

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url is not None:
            secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
            if len(secret) < 32:
                raise ValueError("webhook_url is set: webhook_secret must be set too, at "
                                 "least 32 characters (e.g. `openssl rand -hex 32`)")
        return self
