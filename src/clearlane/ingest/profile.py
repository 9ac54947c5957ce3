"""Column-mapping profiles: how a source layout maps onto the canonical declaration.

A profile is YAML::

    name: kcs
    description: Korea Customs Service synthetic declarations
    columns:
      declaration_id: Declaration ID
      declared_at: {column: Date, format: "%Y-%m-%d"}
      net_mass_kg: {column: Net Mass, unit: kg}
      fraud: {column: Fraud, true_values: ["1"], false_values: ["0"]}
      item_no: {column: Item, extract: '^\\s*(\\d+)'}      # regex: first group (1 of 3 → 1)
      origin_country: {column: Origin, codes: keep}     # national codes kept, with a warning
      transport_mode: {column: Mode, map: {"1": sea, "4": air}}
    national_currency: XOF
    csv: {delimiter: ";", quote: '"', decimal: ",", encoding: cp1252, max_field_bytes: 10000000}
    constants:
      currency: KRW
    extras: [Process Type, Import Type]

Shipped profiles live in ``clearlane/profiles``; a path to any YAML file works as well.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clearlane.errors import NotFoundError, Problem, ProfileError
from clearlane.ingest.readers import DEFAULT_MAX_FIELD_BYTES
from clearlane.schema.fields import FIELDS_BY_NAME

MASS_UNITS_TO_KG: dict[str, float] = {
    "kg": 1.0,
    "g": 0.001,
    "t": 1000.0,
    "tonne": 1000.0,
    "lb": 0.45359237,
}


class ColumnMapping(BaseModel):
    """How one canonical field is read from one source column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    format: str | list[str] | None = Field(
        None, description="strftime format(s) for dates; tried in order."
    )
    unit: str | None = Field(None, description="Mass unit of the source column (kg, g, t, lb).")
    scale: float = Field(
        1.0, description="Multiplier applied to numeric values (e.g. 1000 for kUSD)."
    )
    true_values: list[str] = Field(default_factory=lambda: ["1", "true", "yes", "y", "t"])
    false_values: list[str] = Field(default_factory=lambda: ["0", "false", "no", "n", "f"])
    extract: str | None = Field(
        None,
        description="Regular expression applied to the text before validation: the first "
        "capture group (or the whole match) is kept; no match rejects the row.",
    )
    map: dict[str, str] | None = Field(
        None,
        description="Value map applied (to the trimmed text) before validation; unmapped values "
        "pass through unchanged.",
    )
    codes: Literal["validate", "keep"] = Field(
        "validate",
        description="Country and currency fields: `keep` stores a code that is not ISO as it is "
        "(trimmed, upper-cased) with a warning instead of rejecting the row.",
    )

    @field_validator("map", mode="before")
    @classmethod
    def _map_as_text(cls, value: Any) -> Any:
        # YAML reads `{1: sea, Y: yes}` keys and values as int/bool: map on their text.
        if isinstance(value, dict):
            return {_yaml_text(k): _yaml_text(v) for k, v in value.items()}
        return value

    @field_validator("extract")
    @classmethod
    def _valid_regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return pattern

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str | None) -> str | None:
        if unit is not None and unit.lower() not in MASS_UNITS_TO_KG:
            raise ValueError(f"unknown mass unit {unit!r}; valid: {', '.join(MASS_UNITS_TO_KG)}")
        return unit.lower() if unit else None


class CsvOptions(BaseModel):
    """Options for delimited text sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str | None = Field(None, description="One character; sniffed when absent.")
    encoding: str = Field("auto", description="`auto` or any Python codec name (cp1252 …).")
    quote: str = '"'
    decimal: Literal["auto", ".", ","] = Field(
        "auto", description="Decimal separator of numbers; `,` reads 1.234,56 as 1234.56."
    )
    max_field_bytes: int = Field(
        DEFAULT_MAX_FIELD_BYTES, gt=0, description="Longer fields quarantine their record."
    )

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, encoding: str) -> str:
        if encoding != "auto":
            try:
                codecs.lookup(encoding)
            except LookupError as exc:
                raise ValueError(f"unknown encoding {encoding!r} (any Python codec name)") from exc
        return encoding

    @field_validator("delimiter", "quote")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError(f"must be exactly one character, got {value!r}")
        return value


class Profile(BaseModel):
    """A column-mapping profile (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    format: Literal["csv", "parquet", "xlsx", "jsonl"] | None = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    sheet: str | None = Field(None, description="Excel sheet name (first sheet by default).")
    date_format: str | list[str] = Field(
        default_factory=lambda: ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%Y%m%d"],
        description="Default date format(s) for date fields without their own.",
    )
    columns: dict[str, ColumnMapping] = Field(default_factory=dict)
    national_currency: str | None = Field(
        None,
        description="ISO 4217 code of the national currency (of customs_value, taxes …); "
        "stored with every batch ingested with this profile.",
    )
    constants: dict[str, Any] = Field(default_factory=dict)
    missing_columns: Literal["error", "ignore"] = Field(
        "error", description="What to do when a mapped optional column is absent from the file."
    )
    extras: list[str] | Literal["unmapped"] = Field(
        default_factory=list, description="Source columns kept as extras, or 'unmapped' for all."
    )

    @field_validator("columns", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"column": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _known_fields(self) -> Profile:
        problems: list[Problem] = []
        for name in [*self.columns, *self.constants]:
            if name not in FIELDS_BY_NAME:
                problems.append(
                    Problem(
                        name, None, "not a canonical field; see `clearlane fields` for the list"
                    )
                )
        if self.national_currency is not None:
            from clearlane.reference.currencies import normalise_currency

            code = normalise_currency(self.national_currency)
            if code is None:
                problems.append(
                    Problem("national_currency", self.national_currency, "not an ISO 4217 code")
                )
        for name in set(self.columns) & set(self.constants):
            problems.append(Problem(name, None, "mapped from a column and given a constant"))
        for name, mapping in self.columns.items():
            kind = FIELDS_BY_NAME[name].kind if name in FIELDS_BY_NAME else None
            if mapping.unit and not name.endswith("_mass_kg"):
                problems.append(Problem(name, mapping.unit, "a unit applies only to mass fields"))
            if mapping.format and kind not in ("date", "datetime"):
                problems.append(
                    Problem(name, str(mapping.format), "a format applies only to dates")
                )
            if mapping.codes == "keep" and kind not in ("country", "currency"):
                problems.append(
                    Problem(name, "keep", "`codes: keep` applies only to country and currency")
                )
        if problems:
            raise ProfileError(f"profile {self.name!r} is not valid", problems)
        return self

    def date_formats(self, field: str) -> list[str]:
        """Formats to try, in order, for a date field."""
        mapping = self.columns.get(field)
        fmt = mapping.format if mapping and mapping.format else self.date_format
        return [fmt] if isinstance(fmt, str) else list(fmt)

    def fingerprint(self) -> str:
        """A short hash of the profile's content, recorded with every ingest batch."""
        # Options added later are left out while at their default, so that a profile written
        # before them keeps its fingerprint (and a re-ingested file is still recognised).
        exclude: dict[str, Any] = {"description": True}
        if self.national_currency is None:
            exclude["national_currency"] = True
        csv_default = {k for k in ("decimal", "max_field_bytes") if k not in self.csv.model_fields_set}
        if csv_default:
            exclude["csv"] = dict.fromkeys(csv_default, True)
        columns = {
            name: dict.fromkeys(
                [k for k in ("extract", "map", "codes") if getattr(m, k) in (None, "validate")],
                True,
            )
            for name, m in self.columns.items()
        }
        exclude["columns"] = columns
        text = self.model_dump_json(exclude=exclude)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        """The profile as YAML, with short column forms where they carry no options."""
        data = self.model_dump(exclude_defaults=True)
        data["name"] = self.name
        columns: dict[str, Any] = {}
        for name, mapping in self.columns.items():
            options = mapping.model_dump(exclude_defaults=True)
            columns[name] = options["column"] if list(options) == ["column"] else options
        data["columns"] = columns
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _yaml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped with Clearlane."""
    folder = resources.files("clearlane") / "profiles"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def parse_profile(text: str, origin: str = "<text>") -> Profile:
    """A profile from YAML text; errors name the origin and the offending key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"profile {origin} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"profile {origin} must be a YAML mapping, got {type(data).__name__}")
    data.setdefault("name", Path(origin).stem)
    from pydantic import ValidationError as PydanticValidationError

    try:
        return Profile.model_validate(data)
    except PydanticValidationError as exc:
        problems = [
            Problem(".".join(str(p) for p in err["loc"]), str(err.get("input"))[:80], err["msg"])
            for err in exc.errors()
        ]
        raise ProfileError(f"profile {origin} is not valid", problems) from exc


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name, or a profile from a YAML file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise NotFoundError(f"profile file {str(path)!r} does not exist")
        return parse_profile(path.read_text(encoding="utf-8"), str(path))
    resource = resources.files("clearlane") / "profiles" / f"{name_or_path}.yaml"
    if not resource.is_file():
        raise NotFoundError(
            f"no shipped profile named {str(name_or_path)!r}; shipped: {', '.join(shipped_profiles())}"
            " (or give a path to a YAML file)"
        )
    return parse_profile(resource.read_text(encoding="utf-8"), str(name_or_path))
