"""Language catalogues: every user-facing text of the readiness tool, keyed by stable ids.

A catalogue is a YAML file ``catalogue/<lang>.yaml`` with sections ``ui``, ``stages``,
``phases``, ``phase_status``, ``steps``, ``areas``, ``questions`` and ``impact``. A text missing
from a translation falls back to English, and :func:`missing_keys` lists what a translator
still has to do.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from clearlane.errors import NotFoundError, Problem, ValidationError

DEFAULT_LANG = "en"


def available_languages() -> list[str]:
    """Language codes of the catalogues shipped with Clearlane, sorted."""
    folder = resources.files("clearlane.readiness").joinpath("catalogue")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def _load_shipped(lang: str) -> dict[str, Any]:
    if lang not in available_languages():
        raise NotFoundError(
            f"no readiness catalogue for language {lang!r}; available: "
            + ", ".join(available_languages())
        )
    text = resources.files("clearlane.readiness").joinpath(f"catalogue/{lang}.yaml").read_text(
        encoding="utf-8"
    )
    return _parse(text, f"catalogue/{lang}.yaml")


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: a catalogue must be a mapping of sections")
    return data


def _flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": "x"}, "l": ["y"]}`` -> ``{"a/b": "x", "l/0": "y"}`` (ids contain dots)."""
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}/"))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.update(_flatten(value, f"{prefix}{i}/"))
    else:
        out[prefix.rstrip("/")] = "" if data is None else str(data)
    return out


class Catalogue:
    """Texts of one language, with English as the fallback for anything not translated."""

    def __init__(self, lang: str, data: dict[str, Any], fallback: Catalogue | None = None) -> None:
        self.lang = lang
        self.data = data
        self.fallback = fallback
        self._flat = {k: v for k, v in _flatten(data).items() if k not in ("lang", "name")}

    @classmethod
    def load(cls, lang: str = DEFAULT_LANG) -> Catalogue:
        """The shipped catalogue of ``lang`` (``en``, ``fr``, …)."""
        data = _load_shipped(lang)
        fallback = None if lang == DEFAULT_LANG else cls.load(DEFAULT_LANG)
        return cls(lang, data, fallback)

    @classmethod
    def from_file(cls, path: Path) -> Catalogue:
        """A catalogue read from a file (e.g. a translation in progress), English fallback."""
        data = _parse(path.read_text(encoding="utf-8"), str(path))
        lang = str(data.get("lang", path.stem))
        return cls(lang, data, cls.load(DEFAULT_LANG))

    @property
    def keys(self) -> set[str]:
        return set(self._flat)

    def get(self, key: str, **values: object) -> str:
        """The text at ``key`` (parts joined by ``/``), formatted with ``values``."""
        text = self._flat.get(key)
        if text is None and self.fallback is not None:
            return self.fallback.get(key, **values)
        if text is None:
            raise NotFoundError(f"catalogue {self.lang!r} has no text {key!r}")
        return text.format(**values) if values else text

    # Readable shortcuts for the sections.
    def ui(self, key: str, **values: object) -> str:
        return self.get(f"ui/{key}", **values)

    def area_title(self, area_id: str) -> str:
        return self.get(f"areas/{area_id}/title")

    def question_text(self, question_id: str) -> str:
        return self.get(f"questions/{question_id}/text")

    def level_text(self, question_id: str, level: int) -> str:
        return self.get(f"questions/{question_id}/levels/{level}")

    def next_step(self, question_id: str) -> str:
        return self.get(f"questions/{question_id}/next_step")

    def stage_title(self, stage: int) -> str:
        return self.get(f"stages/{stage}/title")

    def stage_description(self, stage: int) -> str:
        return self.get(f"stages/{stage}/description")

    def phase_title(self, phase: str) -> str:
        return self.get(f"phases/{phase}/title")

    def step_title(self, step: str) -> str:
        return self.get(f"steps/{step}")


def missing_keys(catalogue: Catalogue, reference: Catalogue | None = None) -> list[str]:
    """Keys of the reference (English) catalogue that ``catalogue`` does not translate."""
    reference = reference or Catalogue.load(DEFAULT_LANG)
    return sorted(reference.keys - catalogue.keys)


def extra_keys(catalogue: Catalogue, reference: Catalogue | None = None) -> list[str]:
    """Keys in ``catalogue`` that the reference does not have (typos, removed questions)."""
    reference = reference or Catalogue.load(DEFAULT_LANG)
    return sorted(catalogue.keys - reference.keys)


def check_complete(catalogue: Catalogue, source: str) -> None:
    """Raise :class:`ValidationError` listing every missing or extra key of a translation."""
    problems = [
        Problem(field=key, value=None, reason="missing translation", source=source)
        for key in missing_keys(catalogue)
    ] + [
        Problem(field=key, value=None, reason="key not in the English catalogue", source=source)
        for key in extra_keys(catalogue)
    ]
    if problems:
        raise ValidationError(f"catalogue {catalogue.lang!r} is incomplete", problems)
