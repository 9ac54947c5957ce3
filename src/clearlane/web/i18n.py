"""Web texts in English and French from one message catalogue per language.

The catalogues are YAML files ``messages/<lang>.yaml`` read with the readiness tool's
:class:`~clearlane.readiness.catalogue.Catalogue` (a text missing from a translation falls back
to English). The language of a request: ``?lang=`` (remembered in a cookie), else the cookie,
else the browser's ``Accept-Language``, else English. Right-to-left languages (Arabic, when its
catalogue is added) set ``dir="rtl"`` on the page.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from clearlane.readiness.catalogue import Catalogue

DEFAULT_LANG = "en"
LANG_COOKIE = "clearlane_lang"
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})


@cache
def languages() -> tuple[str, ...]:
    """Language codes with a web catalogue, sorted."""
    folder = resources.files("clearlane.web").joinpath("messages")
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                        if p.name.endswith(".yaml")))


@cache
def catalogue(lang: str) -> Catalogue:
    """The web catalogue of ``lang`` (English for an unknown language)."""
    if lang not in languages():
        lang = DEFAULT_LANG
    text = resources.files("clearlane.web").joinpath(f"messages/{lang}.yaml").read_text(
        encoding="utf-8")
    data = yaml.safe_load(text)
    fallback = None if lang == DEFAULT_LANG else catalogue(DEFAULT_LANG)
    return Catalogue(lang, data, fallback)


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language of a request (see the module docstring)."""
    for candidate in (query, cookie):
        if candidate in languages():
            return str(candidate)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in languages():
            return code
    return DEFAULT_LANG


def direction(lang: str) -> str:
    return "rtl" if lang in RTL_LANGUAGES else "ltr"
