"""The message catalogs: every marked string of the pages has its Japanese translation, none is
stale or given twice differently, every built-in node name is translated; locale formatting."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from coreatlas.web import language
from coreatlas.web.i18n import catalog_files

TOOL = Path(__file__).resolve().parents[2] / "tools" / "i18n_check.py"
_spec = importlib.util.spec_from_file_location("i18n_check", TOOL)
i18n_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(i18n_check)


@pytest.fixture(scope="module")
def problems():
    return i18n_check.problems("ja")


@pytest.mark.parametrize("kind", ["missing", "stale", "conflicting", "untranslated node names"])
def test_catalogs_match_the_marked_strings(problems, kind):
    assert problems[kind] == [], f"{kind} (run python tools/i18n_check.py): {problems[kind][:10]}"


def test_the_checker_sees_a_missing_string(monkeypatch):
    real = i18n_check.marked
    monkeypatch.setattr(i18n_check, "marked", lambda: {**real(), (None, "A string nobody translated"): ["x.html:1"]})
    assert any("A string nobody translated" in m for m in i18n_check.problems("ja")["missing"])


def test_catalogs_exist_and_translate():
    assert [p.name for p in catalog_files("ja")] and language("ja").gettext("Sign out") == "サインアウト"
    assert language("en").gettext("Sign out") == "Sign out"
    assert language("xx").code == "en"


def test_node_names_follow_the_language():
    assert language("ja").node_name("EUV lithography tools") != "EUV lithography tools"
    assert language("en").node_name("EUV lithography tools") == "EUV lithography tools"
    assert language("ja").node_name("A node no catalog knows") == "A node no catalog knows"


def test_numbers_percentages_and_dates_per_locale():
    en, ja = language("en"), language("ja")
    assert en.number(1234.56) == "1,234.6" and ja.number(1234.56) == "1,234.6"
    assert en.percent(0.1234) == "12.3%" and ja.percent(0.1234) == "12.3%"
    assert en.percent(float("nan")) == "—" and en.number(None) == "—"
    assert en.money(13e9) == "$13B" and en.money(2.5e8) == "$250M"
    assert en.datetime("2026-12-02T09:05:00+00:00") == "Dec 2, 2026, 9:05:00\u202fAM UTC"
    assert ja.datetime("2026-12-02T09:05:00+00:00") == "2026/12/02 9:05:00 UTC"
