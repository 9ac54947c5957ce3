"""Settings, declared once (name, default, help). Built at the edges, never at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WORKSPACE = Path("clearlane-workspace")


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

    model_config = SettingsConfigDict(env_prefix="CLEARLANE_", extra="ignore")

    workspace: Path = Field(
        DEFAULT_WORKSPACE, description="Folder holding the workspace database and model artifacts."
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
