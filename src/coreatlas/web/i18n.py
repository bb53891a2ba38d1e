"""The page's languages: message catalogs (gettext, read with Babel) and locale formatting.

Interface text is written in English in the templates and the page modules, marked
``_("...")`` (``pgettext("node name", ...)`` and ``pgettext("stage name", ...)`` for the names of the built-in datasets' nodes and stages).
The Japanese catalogs are the ``*.po`` files of ``locale/ja/LC_MESSAGES/`` (one per page group:
``core.po``, ``map.po``, ``scenario.po``, ``risk.po``, ``nodes.po``), merged when first asked
for and compiled in memory to a gettext catalog; ``tests/web/test_web_i18n.py`` extracts every
marked string with Babel and fails when one has no translation or a translation is stale.

The language is the ``lang`` query parameter when it names one of :data:`LANGUAGES`, else the
best of ``Accept-Language``, else English. Numbers, percentages and dates are formatted with
Babel's CLDR data for that language (``1,234.5`` and ``12.3%`` in both; dates ``2026/12/02`` in Japanese).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

__all__ = ["CATALOG_DIR", "DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_NAMES", "Language", "catalog_files", "language", "pick_language"]

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "ja")
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}
CATALOG_DIR = Path(__file__).resolve().parent / "locale"
MISSING = "—"


def catalog_files(lang: str) -> list[Path]:
    """The ``.po`` files of one language, in a stable order."""
    return sorted((CATALOG_DIR / lang / "LC_MESSAGES").glob("*.po"))


def _merged(lang: str) -> Catalog:
    merged = Catalog(locale=lang)
    for path in catalog_files(lang):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                if message.id and message.string and not message.fuzzy:
                    merged.add(message.id, message.string, context=message.context)
    return merged


def _translations(lang: str) -> NullTranslations:
    if lang == DEFAULT_LANGUAGE:  # the msgids are the English text
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, _merged(lang))
    buffer.seek(0)
    return Translations(buffer)


class Language:
    """One language's gettext callables and formatters, as the templates use them."""

    def __init__(self, code: str):
        self.code = code
        self.locale = Locale.parse(code)
        self._t = _translations(code)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._t.pgettext(context, message)

    def node_name(self, name: str) -> str:
        """A node's name in this language (the English name when the catalog has none)."""
        return self.pgettext("node name", name) if name else name

    def stage_name(self, name: str) -> str:
        """A stage's name in this language (the English name when the catalog has none)."""
        return self.pgettext("stage name", name) if name else name

    def number(self, value, digits: int = 1) -> str:
        """``1,234.5``: grouped, at most ``digits`` decimals; a dash for none or NaN."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return MISSING
        pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, fraction, digits: int = 1) -> str:
        """A fraction as a percentage with ``digits`` decimals (``0.123`` -> ``12.3%``)."""
        if fraction is None or (isinstance(fraction, float) and not math.isfinite(fraction)):
            return MISSING
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
        return format_percent(fraction, format=pattern, locale=self.locale)

    def money(self, usd, digits: int = 1) -> str:
        """US dollars in billions or millions (``$13.0B``; ``130億ドル`` is not used: figures stay comparable)."""
        if usd is None or (isinstance(usd, float) and not math.isfinite(usd)):
            return MISSING
        scaled, unit = (usd / 1e9, "B") if abs(usd) >= 1e9 else (usd / 1e6, "M")
        return f"${self.number(scaled, digits)}{unit}"

    def datetime(self, value: str | datetime | None) -> str:
        """An ISO time or a datetime, in UTC, in this locale's medium format."""
        if not value:
            return MISSING
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return format_datetime(moment, "medium", tzinfo=UTC, locale=self.locale) + " UTC"

    def template_globals(self) -> dict[str, Callable]:
        return {"_": self.gettext, "ngettext": self.ngettext, "pgettext": self.pgettext, "node_name": self.node_name, "stage_name": self.stage_name,
                "num": self.number, "pct": self.percent, "usd": self.money, "when": self.datetime}  # fmt: skip


@functools.cache
def language(code: str) -> Language:
    """The :class:`Language` of a code of :data:`LANGUAGES` (built once per process)."""
    return Language(code if code in LANGUAGES else DEFAULT_LANGUAGE)


def pick_language(query: str | None, accept_language: str | None) -> str:
    """``query`` if it is a known language, else the best known one of an ``Accept-Language``
    header (``ja-JP,ja;q=0.9,en;q=0.8``), else :data:`DEFAULT_LANGUAGE`."""
    if query in LANGUAGES:
        return query
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        lang, q = tag.strip().lower().split("-")[0], _quality(params)
        if lang in LANGUAGES and q > best_q and q > 0:
            best, best_q = lang, q  # equal weights: the first listed wins (strict >)
    return best


def _quality(params: str) -> float:
    params = params.strip()
    if not params.startswith("q="):
        return 1.0
    try:
        return float(params[2:])
    except ValueError:
        return 0.0
