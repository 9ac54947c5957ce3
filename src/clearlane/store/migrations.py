"""Versioned schema migrations for the workspace database.

Each migration is applied once, in order, inside a transaction, and recorded in
``schema_migrations``. Never edit a released migration: add a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearlane.schema.fields import ADDED_FIELDS, DECLARATION_FIELDS, EXTRA_COLUMN, sql_type


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


# Columns stored with zstd instead of DuckDB's default dictionary+FSST: nearly unique
# text, where the default spends much of the ingest's write time building dictionaries
# that do not pay off.
ZSTD_COLUMNS = ("declaration_id", "goods_description")


def _declarations_table(name: str = "declarations", compressed: bool = False) -> str:
    def compression(field: str) -> str:
        return " USING COMPRESSION zstd" if compressed and field in ZSTD_COLUMNS else ""

    # the fields of the first schema only: later fields come with the migration that adds them
    first = [f for f in DECLARATION_FIELDS if f.name not in ADDED_FIELDS]
    columns = [f"{f.name} {sql_type(f.kind)}{compression(f.name)}" for f in first]
    columns += [
        f"{EXTRA_COLUMN} VARCHAR",
        "batch_id VARCHAR NOT NULL",
        "source_row BIGINT",
    ]
    # No PRIMARY KEY index: the ingest writer is the only writer and resolves every repeated
    # (declaration_id, item_no) as a duplicate or a conflict before inserting (an ART index
    # would double the ingest time for millions of rows). tests/store checks uniqueness.
    return f"CREATE TABLE {name} (\n  " + ",\n  ".join(columns) + "\n)"


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "declarations, ingest batches, quarantine, issues, conflicts, normalisations",
        (
            _declarations_table(),
            """CREATE TABLE ingest_batches (
                batch_id VARCHAR PRIMARY KEY,
                source_file VARCHAR NOT NULL,
                file_sha256 VARCHAR NOT NULL,
                file_bytes BIGINT,
                profile_name VARCHAR,
                profile_fingerprint VARCHAR,
                started_at TIMESTAMP,
                finished_at TIMESTAMP,
                rows_read BIGINT,
                rows_accepted BIGINT,
                rows_rejected BIGINT,
                rows_duplicate BIGINT,
                rows_conflict BIGINT,
                rows_warned BIGINT
            )""",
            """CREATE TABLE quarantine (
                batch_id VARCHAR NOT NULL,
                source_file VARCHAR NOT NULL,
                source_row BIGINT,
                raw VARCHAR,
                reasons VARCHAR NOT NULL
            )""",
            """CREATE TABLE ingest_issues (
                batch_id VARCHAR NOT NULL,
                source_file VARCHAR NOT NULL,
                source_row BIGINT,
                field VARCHAR,
                value VARCHAR,
                reason VARCHAR NOT NULL,
                severity VARCHAR NOT NULL
            )""",
            """CREATE TABLE conflicts (
                batch_id VARCHAR NOT NULL,
                source_file VARCHAR NOT NULL,
                source_row BIGINT,
                declaration_id VARCHAR,
                item_no BIGINT,
                existing_batch_id VARCHAR,
                existing_source_row BIGINT,
                differing_fields VARCHAR
            )""",
            """CREATE TABLE normalisations (
                batch_id VARCHAR NOT NULL,
                field VARCHAR NOT NULL,
                original VARCHAR,
                normalised VARCHAR,
                rows BIGINT NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "model registry and risk assessments",
        (
            """CREATE TABLE models (
                version VARCHAR PRIMARY KEY,
                kind VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                train_from DATE,
                train_to DATE,
                n_rows BIGINT,
                features VARCHAR NOT NULL,
                params VARCHAR,
                metrics VARCHAR,
                data_fingerprint VARCHAR NOT NULL,
                library_versions VARCHAR NOT NULL,
                artifact_path VARCHAR NOT NULL,
                artifact_sha256 VARCHAR NOT NULL,
                promoted_at TIMESTAMP
            )""",
            """CREATE TABLE risk_assessments (
                declaration_id VARCHAR NOT NULL,
                item_no BIGINT NOT NULL,
                model_version VARCHAR NOT NULL,
                fraud_probability DOUBLE,
                expected_revenue DOUBLE,
                anomaly_score DOUBLE,
                reasons VARCHAR,
                assessed_at TIMESTAMP NOT NULL,
                PRIMARY KEY (declaration_id, item_no, model_version)
            )""",
        ),
    ),
    Migration(
        3,
        "HS classification feedback: codes accepted or corrected by officers",
        (
            """CREATE TABLE IF NOT EXISTS hs_feedback (
                goods_description VARCHAR NOT NULL,
                suggested_code VARCHAR,
                accepted_code VARCHAR NOT NULL,
                declaration_id VARCHAR,
                item_no BIGINT,
                officer_id VARCHAR,
                recorded_at TIMESTAMP NOT NULL
            )""",
        ),
    ),
    Migration(
        6,
        "selections, lane decisions with reasons, rule hits and versions, overrides, outcomes",
        (
            """CREATE TABLE rule_versions (
                rule_id VARCHAR NOT NULL,
                version INTEGER NOT NULL,
                profile VARCHAR NOT NULL,
                definition VARCHAR NOT NULL,
                first_used_at TIMESTAMP NOT NULL,
                PRIMARY KEY (rule_id, version)
            )""",
            """CREATE TABLE selections (
                selection_id VARCHAR PRIMARY KEY,
                created_at TIMESTAMP NOT NULL,
                date_from DATE,
                date_to DATE,
                seed BIGINT NOT NULL,
                policy VARCHAR NOT NULL,
                rules_profile VARCHAR,
                rules_fingerprint VARCHAR,
                model_version VARCHAR,
                units BIGINT NOT NULL
            )""",
            """CREATE TABLE lane_decisions (
                selection_id VARCHAR NOT NULL,
                declaration_id VARCHAR NOT NULL,
                item_no BIGINT NOT NULL,
                office_id VARCHAR,
                declared_at DATE,
                lane VARCHAR NOT NULL,
                basis VARCHAR NOT NULL,
                random_control BOOLEAN NOT NULL,
                explored BOOLEAN NOT NULL,
                rank_pct DOUBLE,
                fraud_probability DOUBLE,
                expected_revenue DOUBLE,
                anomaly_score DOUBLE,
                rule_hits VARCHAR,
                reasons VARCHAR
            )""",
            """CREATE TABLE rule_hits (
                selection_id VARCHAR NOT NULL,
                declaration_id VARCHAR NOT NULL,
                item_no BIGINT NOT NULL,
                rule_id VARCHAR NOT NULL,
                rule_version INTEGER NOT NULL
            )""",
            """CREATE TABLE lane_overrides (
                selection_id VARCHAR NOT NULL,
                declaration_id VARCHAR NOT NULL,
                from_lane VARCHAR NOT NULL,
                to_lane VARCHAR NOT NULL,
                justification VARCHAR NOT NULL,
                officer_id VARCHAR NOT NULL,
                overridden_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE outcomes (
                declaration_id VARCHAR NOT NULL,
                item_no BIGINT NOT NULL,
                selection_id VARCHAR,
                lane VARCHAR,
                basis VARCHAR,
                fraud BOOLEAN NOT NULL,
                revenue_recovered DOUBLE,
                critical BOOLEAN,
                finding VARCHAR,
                inspected_at DATE,
                officer_id VARCHAR,
                recorded_at TIMESTAMP NOT NULL
            )""",
        ),
    ),
    Migration(
        11,
        "declarations: zstd storage for declaration ids and goods descriptions (faster ingest)",
        (
            _declarations_table("declarations_zstd", compressed=True),
            "INSERT INTO declarations_zstd SELECT * FROM declarations",
            "DROP TABLE declarations",
            "ALTER TABLE declarations_zstd RENAME TO declarations",
        ),
    ),
    Migration(
        14,
        "declarations: inspection_basis (why an item was inspected; `random` marks the random control sample)",
        tuple(
            f"ALTER TABLE declarations ADD COLUMN {f.name} {sql_type(f.kind)}"
            for f in DECLARATION_FIELDS
            if ADDED_FIELDS.get(f.name) == 14
        ),
    ),
    Migration(
        15,
        "compiled_models: SHA-256 of each cached compiled-tree file (checked before it is loaded)",
        (
            """CREATE TABLE compiled_models (
                file_name VARCHAR PRIMARY KEY,
                source_sha256 VARCHAR NOT NULL,
                file_sha256 VARCHAR NOT NULL,
                compiler VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL
            )""",
        ),
    ),
    Migration(
        16,
        "risk assessments: the anomaly detector's version and every scorer's version, status, "
        "score and reasons (JSON)",
        (
            "ALTER TABLE risk_assessments ADD COLUMN anomaly_version VARCHAR",
            "ALTER TABLE risk_assessments ADD COLUMN scorers VARCHAR",
        ),
    ),
    Migration(
        17,
        "a workspace that can be cleaned: conflicts keep the incoming row, quarantined rows "
        "their key, duplicates the batch they met, and batch drops a log",
        (
            # the incoming row of a conflict (JSON of its canonical values), for review
            "ALTER TABLE conflicts ADD COLUMN incoming VARCHAR",
            # the key as written in the source (when mapped), to see a rejected row later stored
            "ALTER TABLE quarantine ADD COLUMN declaration_id VARCHAR",
            "ALTER TABLE quarantine ADD COLUMN item_no VARCHAR",
            # rows of batch_id skipped as exact copies of rows stored by existing_batch_id
            """CREATE TABLE ingest_duplicates (
                batch_id VARCHAR NOT NULL,
                existing_batch_id VARCHAR NOT NULL,
                rows BIGINT NOT NULL
            )""",
            """CREATE TABLE batch_drops (
                batch_id VARCHAR NOT NULL,
                source_file VARCHAR,
                file_sha256 VARCHAR,
                profile_name VARCHAR,
                ingested_at TIMESTAMP,
                rows_accepted BIGINT,
                dropped_at TIMESTAMP NOT NULL,
                dropped_by VARCHAR NOT NULL,
                reason VARCHAR,
                removed VARCHAR NOT NULL
            )""",
        ),
    ),
    Migration(
        18,
        "ingest_batch_currency: the national currency a profile declares, per ingest batch",
        (
            """CREATE TABLE ingest_batch_currency (
                batch_id VARCHAR PRIMARY KEY,
                national_currency VARCHAR NOT NULL
            )""",
        ),
    ),
    Migration(
        19,
        "audit_log: the append-only, hash-chained audit log (see clearlane.audit)",
        (
            """CREATE TABLE audit_log (
                sequence BIGINT NOT NULL,
                recorded_at VARCHAR NOT NULL,
                actor VARCHAR NOT NULL,
                action VARCHAR NOT NULL,
                object_type VARCHAR NOT NULL,
                object_id VARCHAR NOT NULL,
                change VARCHAR NOT NULL,
                change_digest VARCHAR NOT NULL,
                previous_hash VARCHAR NOT NULL,
                hash VARCHAR NOT NULL
            )""",
        ),
    ),
    Migration(
        20,
        "accounts: users (argon2 hashes), API keys (SHA-256 of the secret), sessions "
        "(SHA-256 of the id, CSRF token) and login attempts",
        (
            """CREATE TABLE users (
                name VARCHAR PRIMARY KEY,
                role VARCHAR NOT NULL,
                offices VARCHAR[] NOT NULL,
                password_hash VARCHAR NOT NULL,
                active BOOLEAN NOT NULL,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE api_keys (
                prefix VARCHAR PRIMARY KEY,
                name VARCHAR NOT NULL,
                role VARCHAR NOT NULL,
                offices VARCHAR[] NOT NULL,
                secret_sha256 VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                expires_at TIMESTAMP,
                revoked_at TIMESTAMP
            )""",
            """CREATE TABLE sessions (
                id_sha256 VARCHAR PRIMARY KEY,
                user_name VARCHAR NOT NULL,
                csrf_token VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                expires_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE login_attempts (
                user_name VARCHAR NOT NULL,
                attempted_at TIMESTAMP NOT NULL,
                succeeded BOOLEAN NOT NULL
            )""",
        ),
    ),
    Migration(
        21,
        "lodgements: the answer given to each declaration item lodged through the API, so "
        "that the same item sent again gets the same answer",
        (
            """CREATE TABLE lodgements (
                declaration_id VARCHAR NOT NULL,
                item_no BIGINT NOT NULL,
                batch_id VARCHAR NOT NULL,
                lodged_at TIMESTAMP NOT NULL,
                lane VARCHAR,
                assessment VARCHAR NOT NULL,
                PRIMARY KEY (declaration_id, item_no)
            )""",
        ),
    ),
    Migration(
        22,
        "cases: alerts opened by red and yellow lanes and high-severity rule hits, their "
        "events (lock, comment, snooze, refer, close) and attachments (by SHA-256)",
        (
            """CREATE TABLE alerts (
                alert_id VARCHAR PRIMARY KEY,
                declaration_id VARCHAR NOT NULL,
                item_no BIGINT NOT NULL,
                office_id VARCHAR,
                lane VARCHAR,
                source VARCHAR NOT NULL,
                source_id VARCHAR,
                reasons VARCHAR NOT NULL,
                expected_revenue DOUBLE,
                fraud_probability DOUBLE,
                opened_at TIMESTAMP NOT NULL,
                status VARCHAR NOT NULL,
                locked_by VARCHAR,
                locked_until TIMESTAMP,
                snoozed_until TIMESTAMP,
                snooze_reason VARCHAR,
                referred_from VARCHAR,
                closed_at TIMESTAMP,
                closed_by VARCHAR,
                outcome VARCHAR,
                UNIQUE (declaration_id, item_no)
            )""",
            """CREATE TABLE case_events (
                alert_id VARCHAR NOT NULL,
                event_at TIMESTAMP NOT NULL,
                actor VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                detail VARCHAR NOT NULL
            )""",
            """CREATE TABLE case_attachments (
                alert_id VARCHAR NOT NULL,
                sha256 VARCHAR NOT NULL,
                name VARCHAR NOT NULL,
                media_type VARCHAR NOT NULL,
                size BIGINT NOT NULL,
                stored_path VARCHAR NOT NULL,
                added_at TIMESTAMP NOT NULL,
                added_by VARCHAR NOT NULL,
                PRIMARY KEY (alert_id, sha256)
            )""",
        ),
    ),
    Migration(
        23,
        "rule sets: every version of the workspace's risk profile (draft, published, retired) "
        "with its YAML, fingerprint, back-test and who changed it; the selections that ran "
        "the published set",
        (
            """CREATE TABLE rule_sets (
                version BIGINT PRIMARY KEY,
                profile VARCHAR NOT NULL,
                text VARCHAR NOT NULL,
                fingerprint VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                created_by VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                backtest VARCHAR,
                backtested_by VARCHAR,
                backtested_at TIMESTAMP,
                published_by VARCHAR,
                published_at TIMESTAMP,
                retired_by VARCHAR,
                retired_at TIMESTAMP,
                superseded_by BIGINT
            )""",
            """CREATE TABLE rule_set_selections (
                selection_id VARCHAR PRIMARY KEY,
                set_version BIGINT NOT NULL
            )""",
        ),
    ),
    Migration(
        24,
        "models lifecycle: background jobs (retraining) with their progress and log, and the "
        "history of model promotions and rollbacks",
        (
            """CREATE TABLE jobs (
                job_id VARCHAR PRIMARY KEY,
                kind VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                parameters VARCHAR NOT NULL,
                started_by VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                started_at TIMESTAMP,
                finished_at TIMESTAMP,
                progress DOUBLE NOT NULL,
                heartbeat_at TIMESTAMP,
                pid BIGINT,
                result VARCHAR
            )""",
            """CREATE TABLE job_log (
                job_id VARCHAR NOT NULL,
                logged_at TIMESTAMP NOT NULL,
                message VARCHAR NOT NULL
            )""",
            """CREATE TABLE model_promotions (
                promoted_at TIMESTAMP NOT NULL,
                kind VARCHAR NOT NULL,
                version VARCHAR NOT NULL,
                previous_version VARCHAR,
                promoted_by VARCHAR NOT NULL,
                action VARCHAR NOT NULL,
                reason VARCHAR,
                comparison VARCHAR
            )""",
        ),
    ),
    Migration(
        25,
        "webhooks: one outbox row per alert (its severity and delivery state) and one row per "
        "delivery attempt (HTTP status, error, next attempt)",
        (
            """CREATE TABLE webhook_outbox (
                alert_id VARCHAR PRIMARY KEY,
                severity VARCHAR NOT NULL,
                queued_at TIMESTAMP NOT NULL,
                state VARCHAR NOT NULL,
                note VARCHAR,
                attempts INTEGER NOT NULL,
                next_attempt_at TIMESTAMP,
                delivered_at TIMESTAMP
            )""",
            """CREATE TABLE webhook_deliveries (
                alert_id VARCHAR NOT NULL,
                attempt INTEGER NOT NULL,
                event VARCHAR NOT NULL,
                url VARCHAR NOT NULL,
                sent_at TIMESTAMP NOT NULL,
                status VARCHAR NOT NULL,
                http_status INTEGER,
                error VARCHAR,
                duration_ms DOUBLE,
                next_attempt_at TIMESTAMP
            )""",
        ),
    ),
)

LATEST_VERSION = max(m.version for m in MIGRATIONS)
