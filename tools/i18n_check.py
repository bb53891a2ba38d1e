"""Check the web page's message catalogs against the marked strings of the code and templates.

    python tools/i18n_check.py          # lists what is missing or stale; exit 1 if anything is

Strings are marked ``_("...")``, ``gettext``, ``ngettext`` and ``pgettext`` in
``src/coreatlas/web`` (templates with Babel's Jinja2 extractor). Each needs a Japanese
translation in one of ``src/coreatlas/web/locale/ja/LC_MESSAGES/*.po``; the ``node name``
and ``stage name`` contexts (the built-in datasets' node and stage names) are checked against the
datasets instead.
Missing strings are printed as ``.po`` entries to paste and translate.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "src" / "coreatlas" / "web"
DATASETS = ROOT / "src" / "coreatlas" / "datasets"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
NODE_CONTEXT = "node name"
STAGE_CONTEXT = "stage name"
DATA_CONTEXTS = (NODE_CONTEXT, STAGE_CONTEXT)


def marked() -> dict[tuple[str | None, str], list[str]]:
    """``(context, msgid) -> ["file:line", ...]`` of every marked string."""
    found: dict[tuple[str | None, str], list[str]] = {}
    for file, line, message, _comments, context in extract_from_dir(WEB, METHODS, OPTIONS, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((context, msgid), []).append(f"{file}:{line}")
    return found


def translated(lang: str = "ja") -> dict[tuple[str | None, str], list[tuple[str, str]]]:
    """``(context, msgid) -> [(msgstr, file), ...]`` over every catalog of ``lang``."""
    table: dict[tuple[str | None, str], list[tuple[str, str]]] = {}
    for path in sorted((WEB / "locale" / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                if message.id:
                    string = message.string if isinstance(message.string, str) else message.string[0]
                    table.setdefault((message.context, message.id), []).append((string if not message.fuzzy else "", path.name))
    return table


def node_names(column: str = "name") -> set[str]:
    """The English names of the built-in datasets' nodes (``column="stage"``: their stages)."""
    import csv  # noqa: PLC0415

    names = set()
    for path in sorted(DATASETS.glob("*/nodes.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            names |= {row[column] for row in csv.DictReader(handle) if row.get(column)}
    return names


def problems(lang: str = "ja") -> dict[str, list[str]]:
    """``missing``, ``stale``, ``conflicting`` and ``untranslated node names``, each a list of messages."""
    wanted, have = marked(), translated(lang)
    good = {key for key, strings in have.items() if any(s for s, _ in strings)}
    nodes = {(NODE_CONTEXT, name) for name in node_names()} | {(STAGE_CONTEXT, name) for name in node_names("stage")}
    return {
        "missing": [f"{msgid!r} ({', '.join(where[:2])})" for (ctx, msgid), where in sorted(wanted.items(), key=str) if (ctx, msgid) not in good],
        "stale": [f"{msgid!r} in {strings[0][1]}" for (ctx, msgid), strings in sorted(have.items(), key=str)
                  if (ctx, msgid) not in wanted and ctx not in DATA_CONTEXTS],
        "conflicting": [f"{msgid!r}: {sorted({s for s, _ in strings})}" for (ctx, msgid), strings in sorted(have.items(), key=str)
                        if len({s for s, _ in strings}) > 1],
        "untranslated node names": sorted(f"{name} ({ctx})" for ctx, name in nodes if (ctx, name) not in good),
    }  # fmt: skip


def _po(msgid: str) -> str:
    return 'msgid "' + msgid.replace("\\", "\\\\").replace('"', '\\"') + '"\nmsgstr ""\n'


def main() -> int:
    found = problems()
    for kind, items in found.items():
        for item in items:
            print(f"{kind}: {item}")
    good = {key for key, strings in translated().items() if any(s for s, _ in strings)}
    for ctx, msgid in sorted((k for k in marked() if k not in good), key=str):
        print((f'msgctxt "{ctx}"\n' if ctx else "") + _po(msgid))
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
