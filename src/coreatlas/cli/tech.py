"""Commands of the critical-technology maps: ``indicators``, ``policy`` and ``openran``."""

from __future__ import annotations

from typing import Annotated

import typer

from coreatlas import services
from coreatlas.cli import _common as ui
from coreatlas.cli.maps import PolicyOption, print_assumed_note, print_open_ran, remaining
from coreatlas.services import indicators as indicators_svc
from coreatlas.services import policy as policy_svc

__all__ = ["app"]

app = typer.Typer()
TELECOM = policy_svc.TELECOM


def _amount(value: float, currency: str) -> str:
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(value) >= size:
            return f"{currency} {value / size:,.4g}{unit}"
    return f"{currency} {value:,.0f}"


def _year(r: dict) -> str:
    return "–" if r["year"] is None or r["year"] != r["year"] else str(int(r["year"]))


POSITION_COLUMNS = (
    ui.Column("technology", lambda r: r["technology"]),
    ui.Column("indicator (method)", lambda r: f"{r['indicator']} ({r['method']})" if isinstance(r["method"], str) else r["indicator"]),
    ui.Column("year", _year, right=True),
    ui.Column("bloc share", lambda r: ui.pct_range(r["bloc_share"], r["bloc_share_low"], r["bloc_share_high"]), right=True),
    ui.Column("leading other", lambda r: f"{r['top_other']} {ui.pct(r['top_other_share'])}" if isinstance(r["top_other"], str) else "–"),
)
LEDGER_COLUMNS = (
    ui.Column("party", lambda r: r["party"]),
    ui.Column("programme", lambda r: r["program"]),
    ui.Column("technology", lambda r: r["technology"]),
    ui.Column("amount", lambda r: _amount(r["amount"], r["currency"]), right=True),
    ui.Column("year", lambda r: str(r["year"]), right=True),
    ui.Column("source", lambda r: r["source"]),
)


@app.command()
@ui.handles_errors
def indicators(
    data: ui.DataOption = TELECOM,
    bloc: Annotated[str, typer.Option(help="Bloc name (core, allies) or codes such as USA,JPN.")] = "core",
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """The partners' position against others per technology, and the commitments ledger.

    Market shares come from the map and the dataset's indicator table (5G patent shares with
    their counting method); commitments are listed as reported, with no currency conversion.

    Examples: `coreatlas indicators --data telecom-ran`, `coreatlas indicators --data chips+telecom-ran --bloc allies --json`
    """
    request = services.parse_request(indicators_svc.IndicatorsRequest, {"data": data, "bloc": bloc})
    result = services.run("indicators", request)
    if not ui.emit(result, as_json, as_csv, save, force):
        return
    report = result.report
    ui.print_table(f"Position of {bloc} ({', '.join(report.bloc)}) per technology", POSITION_COLUMNS, report.position.to_dict("records"))
    ui.print_table("Commitments ledger (as reported; no currency conversion)", LEDGER_COLUMNS, report.commitments.to_dict("records"),
                empty="Commitments ledger: none in this dataset.")  # fmt: skip


def _to_replace(r: dict) -> str:
    """The share to replace with its range; where the record cannot be split, only the range."""
    if r["split"] == "unknown":
        return f"split unknown † ({ui.pct(r['to_replace_low'])}–{ui.pct(r['to_replace_high'])})"
    return ui.pct_range(r["to_replace"], r["to_replace_low"], r["to_replace_high"])


POLICY_COLUMNS = (
    ui.Column("id", lambda r: r["policy_id"]),
    ui.Column("name", lambda r: r["name"]),
    ui.Column("kind", lambda r: r["kind"]),
    ui.Column("excludes / keeps", lambda r: ", ".join(r["providers"]) if r["kind"] == "exclude" else f"only {r['bloc']}"),
    ui.Column("nodes", lambda r: ", ".join(r["nodes"]) or "all"),
    ui.Column("year", lambda r: str(r["year"])),
)
THIRD_COUNTRY_COLUMNS = (
    ui.Column("country", lambda r: r["country"]),
    ui.Column("node", lambda r: r["node_id"]),
    ui.Column("vendors in record", lambda r: r["providers"]),
    ui.Column("to replace", lambda r: _to_replace(r), right=True),
    ui.Column("year", lambda r: str(r["year"])),
    ui.Column("note", lambda r: r["note"]),
)


@app.command()
@ui.handles_errors
def policy(
    policy_id: Annotated[str | None, typer.Argument(help="Policy id; omit to list the dataset's policies.")] = None,
    data: ui.DataOption = TELECOM,
    country: Annotated[str | None, typer.Option(help="Only this third country's exposure record (alpha-3, e.g. DEU).")] = None,
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """Trusted-vendor policies: list them, or apply one to the map and to third countries.

    Examples: `coreatlas policy --data telecom-ran`, `coreatlas policy fcc_covered_list --country DEU`
    """
    if policy_id is None:
        result = services.run("policies", services.parse_request(policy_svc.PoliciesRequest, {"data": data}))
        if ui.emit(result, as_json, as_csv, save, force):
            ui.print_table(f"Policies in {result.dataset}", POLICY_COLUMNS, result.rows)
        return
    request = services.parse_request(policy_svc.PolicyRequest, {"data": data, "policy_id": policy_id, "country": country})
    result = services.run("policy", request)
    if ui.emit(result, as_json, as_csv, save, force):
        _print_policy(result.impact)


def _print_policy(impact) -> None:
    p = impact.policy
    ui.out.print(f"[bold]{p['name']}[/] ({p['year']}, {p['source']})")
    columns = [ui.Column("output", lambda r: r["node_name"]), ui.Column("remaining", remaining, right=True)]
    ui.print_table("What is left of each output in the map", columns, impact.result.outputs())
    print_assumed_note(impact.result.outputs())
    rows = impact.third_countries.to_dict("records")
    ui.print_table("Third countries: share of the installed base to be replaced", THIRD_COUNTRY_COLUMNS, rows,
                   empty="No third-country exposure records in this dataset.")  # fmt: skip
    if any(r["split"] == "unknown" for r in rows):
        ui.out.print(f"† {policy_svc.SPLIT_RULE}.", style="dim")


@app.command()
@ui.handles_errors
def openran(
    data: ui.DataOption = TELECOM,
    policy: PolicyOption = [],  # noqa: B006
    as_json: ui.JsonOption = False,
    as_csv: ui.CsvOption = False,
    save: ui.OutOption = None, force: ui.ForceOption = False,
) -> None:
    """Open RAN vs proprietary RAN: the capacity each keeps under a vendor ban.

    A proprietary RAN binds radio, distributed and central units to one vendor; an open one
    sources each from any vendor (default: compare under every exclusion policy of the
    dataset). Example: `coreatlas openran --policy fcc_covered_list`
    """
    request = services.parse_request(policy_svc.OpenRanRequest, {"data": data, "policies": ui.split_items(policy)})
    result = services.run("openran", request)
    if not ui.emit(result, as_json, as_csv, save, force):
        return
    print_open_ran(result.comparison.to_records())
    ui.err.print(
        "Open keeps at least as much as proprietary (the min of sums is at least the sum of mins); see docs/model.md.", style="dim"
    )
