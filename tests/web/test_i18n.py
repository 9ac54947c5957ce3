"""The web catalogues: French says everything English says, every text a template asks for
exists, and the language of a request is picked as documented."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from clearlane.readiness.catalogue import missing_keys
from clearlane.web.i18n import catalogue, direction, languages, pick_language

LITERAL_KEY = re.compile(r"""t\('([a-z_]+/[a-z_0-9]+)'\s*[,)]""")
PREFIX_KEY = re.compile(r"""t\('([a-z_]+/[a-z_]*)'\s*~""")


def _templates() -> dict[str, str]:
    folder = resources.files("clearlane.web").joinpath("templates")
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()
            if p.name.endswith(".html")}


def test_english_and_french_are_shipped() -> None:
    assert {"en", "fr"} <= set(languages())


@pytest.mark.parametrize("lang", ["fr"])
def test_every_english_text_is_translated(lang: str) -> None:
    assert missing_keys(catalogue(lang), catalogue("en")) == []


def test_every_text_a_template_asks_for_exists() -> None:
    english = catalogue("en").keys
    asked = {key for text in _templates().values() for key in LITERAL_KEY.findall(text)}
    assert asked, "the pattern found no key: the test would pass vacuously"
    assert sorted(asked - english) == []
    prefixes = {p for text in _templates().values() for p in PREFIX_KEY.findall(text)}
    assert all(any(k.startswith(p) for k in english) for p in prefixes)


def test_language_choice_order() -> None:
    assert pick_language("fr", "en", "en-GB") == "fr"          # the link wins
    assert pick_language(None, "fr", "en-GB") == "fr"          # then the cookie
    assert pick_language(None, None, "fr-FR,fr;q=0.9") == "fr"  # then the browser
    assert pick_language("xx", None, "de-DE") == "en"          # else English
    assert direction("ar") == "rtl" and direction("fr") == "ltr"
