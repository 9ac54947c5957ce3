"""Reading a user-supplied reference CSV (tariff, concordance, examples) by column aliases."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from clearlane.errors import NotFoundError, Problem, ValidationError

Rows = list[dict[str, str]]


def read_reference_csv(
    path: Path | str,
    what: str,
    required: Mapping[str, Sequence[str]],
    optional: Mapping[str, Sequence[str]] | None = None,
) -> tuple[Rows, dict[str, str | None]]:
    """The rows of ``path`` and, per role, the source column that plays it.

    A role's column is the first of its aliases found among the headers (case and surrounding
    spaces ignored; a UTF-8 BOM is accepted). A missing file raises ``NotFoundError``; a missing
    required role raises ``ValidationError`` naming the file, its columns and the aliases
    accepted. Optional roles map to ``None`` when absent.
    """
    source = Path(path)
    if not source.exists():
        raise NotFoundError(f"{what} file {str(source)!r} does not exist")
    with source.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        headers = {c.strip().lower(): c for c in reader.fieldnames or []}
        roles = {**(optional or {}), **required}
        found = {
            role: next((headers[a] for a in aliases if a in headers), None)
            for role, aliases in roles.items()
        }
        missing = [role for role in required if found[role] is None]
        if missing:
            need = " and ".join(
                f"a {role} column ({', '.join(required[role])})" for role in missing
            )
            raise ValidationError(
                f"cannot read {source.name} as a {what}",
                [
                    Problem(
                        "columns", ", ".join(headers.values()), f"need {need}", source=str(source)
                    )
                ],
            )
        return list(reader), found
