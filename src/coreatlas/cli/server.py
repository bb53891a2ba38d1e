"""The server's commands: ``serve``, ``worker`` and ``admin ...``.

``coreatlas serve`` opens (or creates) the server's database and data dir, applies the
migrations, prints the one-time admin token when the data dir was empty, and runs the API
with uvicorn; ``--workers N`` starts N ``coreatlas worker`` processes beside it, stopped
with it. ``coreatlas admin ...`` administers the same database (each command takes the same
``--db`` and ``--data-dir``). These commands only parse, call
:mod:`coreatlas.services.server` and print.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from coreatlas.cli._common import CONTEXT, err, handles_errors, out, register_flags, sub_app

__all__ = ["admin", "app"]

app = typer.Typer(no_args_is_help=True, context_settings=CONTEXT, add_completion=False)
admin = sub_app("Administer the server: organisations, users, tokens, shares, migrations, backups.")
app.add_typer(admin, name="admin")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="COREATLAS_DB", help="Database URL (default: SQLite in the data dir; postgresql+psycopg://... for several workers)."
    ),
]
DataDirOption = Annotated[
    Path, typer.Option("--data-dir", envvar="COREATLAS_DATA_DIR", help="The server's data dir (database, uploads, results).")
]
DaskOption = Annotated[str | None, typer.Option("--dask", help="Fan Monte Carlo and sweeps out to this Dask scheduler (tcp://HOST:PORT).")]
DEFAULT_DATA_DIR = Path("coreatlas-data")
register_flags(__name__, {"file": "", "workspace": "", "user": "", "token": "", "org": "--org", "role": "--role", "scope": "--scope",
                          "name": "", "data_dir": "--data-dir", "db": "--db"})  # fmt: skip


def _open(db: str | None, data_dir: Path, dask: str | None = None) -> Any:
    from coreatlas.services import server as srv

    server = srv.open_server(db, data_dir)
    if dask:
        settings = getattr(server, "settings", None)
        if isinstance(settings, dict):
            settings["dask"] = dask
    return server


def _call(server: Any, name: str, *args, **kwargs) -> Any:
    from coreatlas.services import server as srv

    method = getattr(server, name, None)
    if callable(method):
        return method(*args, **kwargs)
    return getattr(srv, name)(server, *args, **kwargs)


def _print_token(token: str, what: str) -> None:
    err.print(f"{what} (shown once; keep it safe):", highlight=False)
    out.print(token, highlight=False, markup=False, soft_wrap=True)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _worker_command(data_dir: Path, dask: str | None, index: int, lease: float) -> list[str]:
    command = [sys.executable, "-m", "coreatlas.cli.server", "worker", "--data-dir", str(data_dir), "--lease", str(lease),
               "--id", f"{socket.gethostname()}-{os.getpid()}-{index}"]  # fmt: skip
    if dask:
        command += ["--dask", dask]
    return command


@app.command()
@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    db: DbOption = None,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    workers: Annotated[int, typer.Option("--workers", min=0, max=64, help="Job worker processes to start beside the API.")] = 1,
    http_workers: Annotated[int, typer.Option("--http-workers", min=1, max=64, help="HTTP processes answering the API.")] = 1,
    dask: DaskOption = None,
    lease: Annotated[float, typer.Option(min=1, help="Seconds a job's lease lasts without a heartbeat (its workers').")] = 30.0,
    job_limit: Annotated[int, typer.Option("--job-limit", min=1, help="Jobs queued or running per workspace at a time.")] = 4,
    write_every: Annotated[float, typer.Option("--write-every", min=0, max=60,
                                               help="Seconds between batched writes of read audit entries and static runs (0: at once).")] = 0.2,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Run the server: the REST API (docs at /api/docs) and its job workers."""
    server = _open(db, data_dir, dask)
    token = getattr(server, "bootstrap_token", None)
    if token:
        err.print(f"new data dir {data_dir}: organisation 'local', user 'admin', workspace 'default' with the built-in datasets")
        _print_token(token, "admin token")
    if not _port_free(host, port):
        err.print(f"[bold red]error:[/] cannot listen on {host}:{port}: the address is in use", highlight=False)
        raise typer.Exit(2)
    env = {**os.environ, **({"COREATLAS_DB": db} if db else {})}  # the URL may hold a password: not on a command line
    children = [subprocess.Popen(_worker_command(data_dir, dask, i, lease), env=env) for i in range(workers)]
    err.print(f"CoRe Atlas {_version()} on http://{host}:{port}/api (docs: /api/docs), {workers} worker(s), "
              f"{http_workers} HTTP process(es)", highlight=False)  # fmt: skip
    try:
        server.job_limit, server.later.interval = job_limit, write_every
        settings = {"data_dir": str(data_dir), "job_limit": job_limit, "write_interval": write_every}
        _run_http(server, host, port, log_level, http_workers, settings, db)
    finally:
        server.close()
        _stop_children(children)


def _run_http(server: Any, host: str, port: int, log_level: str, processes: int, settings: dict, db: str | None) -> None:
    """uvicorn in this process, or in ``processes`` processes that each open the server (``api.app_from_environment``)."""
    import uvicorn

    from coreatlas.api import APP_ENV, create_app

    options = {"host": host, "port": port, "log_level": log_level, "access_log": False, "server_header": False}
    if processes == 1:
        uvicorn.run(create_app(server), **options)
        return
    os.environ[APP_ENV] = json.dumps({"server": settings})
    if db:
        os.environ["COREATLAS_DB"] = db
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("coreatlas.api:app_from_environment", factory=True, workers=processes, **options)
    listener = config.bind_socket()
    # the connections accepted from it inherit no-delay: without it, each answer's body waits for
    # the client's delayed ACK of its headers (about 40 ms)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[listener]).run()


def _stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def _version() -> str:
    from coreatlas._version import __version__

    return __version__


@app.command()
@handles_errors
def worker(
    db: DbOption = None,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    worker_id: Annotated[str | None, typer.Option("--id", help="This worker's name in the job table (default: host-pid).")] = None,
    lease: Annotated[float, typer.Option(min=1, help="Seconds a job's lease lasts without a heartbeat.")] = 30.0,
    max_attempts: Annotated[int, typer.Option(min=1, max=100, help="Attempts of a job before it fails.")] = 3,
    dask: DaskOption = None,
) -> None:
    """Run jobs from the server's queue until stopped (SIGTERM or Ctrl-C)."""
    from coreatlas.services import server as srv

    server = _open(db, data_dir, dask)
    stop = threading.Event()

    def _stop(signum, frame) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    name = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    err.print(f"worker {name} waiting for jobs" + (f" (Monte Carlo on the Dask cluster {dask})" if dask else ""), highlight=False)
    srv.run_worker(server, name, stop, lease_seconds=lease, max_attempts=max_attempts)  # Monte Carlo on --dask: server.settings


def _json_or(value: Any, as_json: bool, text: str) -> None:
    if as_json:
        data = value.to_dict() if hasattr(value, "to_dict") else value
        out.print_json(json.dumps(data, default=str))
    else:
        out.print(text, highlight=False, markup=False)


def _id_of(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id", ""))
    return str(getattr(value, "id", value))


JsonFlag = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]


@admin.command("create-org")
@handles_errors
def create_org(name: Annotated[str, typer.Argument(help="The organisation's name.")], db: DbOption = None,
               data_dir: DataDirOption = DEFAULT_DATA_DIR, as_json: JsonFlag = False) -> None:  # fmt: skip
    """Create an organisation."""
    value = _call(_open(db, data_dir), "create_org", name)
    _json_or(value, as_json, f"organisation {name} ({_id_of(value)})")


@admin.command("create-user")
@handles_errors
def create_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    org: Annotated[str, typer.Option("--org", help="The organisation the user belongs to.")],
    role: Annotated[str, typer.Option("--role", help="member or admin (of the organisation).")] = "member",
    password: Annotated[bool, typer.Option("--password", help="Ask for a password (for the browser's sign-in).")] = False,
    db: DbOption = None,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonFlag = False,
) -> None:
    """Create a user in an organisation."""
    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    value = _call(_open(db, data_dir), "create_user", name, org, role=role, password=secret)
    _json_or(value, as_json, f"user {name} ({_id_of(value)}) in {org} as {role}")


@admin.command("create-token")
@handles_errors
def create_token(
    user: Annotated[str, typer.Argument(help="The user the token acts for.")],
    scope: Annotated[str, typer.Option("--scope", help="read, write or admin.")] = "write",
    expires_days: Annotated[int | None, typer.Option("--expires-days", min=1, help="Days until it expires (default: never).")] = None,
    db: DbOption = None,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    as_json: JsonFlag = False,
) -> None:
    """Create an API token for a user; the token is printed once (only its digest is kept)."""
    token_id, raw = _call(_open(db, data_dir), "create_token", user, scope=scope, expires_days=expires_days)
    if as_json:
        out.print_json(json.dumps({"id": token_id, "token": raw, "scope": scope, "expires_days": expires_days}))
        return
    err.print(
        f"token {token_id} for {user}, scope {scope}" + (f", expires in {expires_days} days" if expires_days else ""), highlight=False
    )
    _print_token(raw, "token")


@admin.command("revoke-token")
@handles_errors
def revoke_token(token_id: Annotated[str, typer.Argument(help="The token's id (as create-token printed it).")], db: DbOption = None,
                 data_dir: DataDirOption = DEFAULT_DATA_DIR) -> None:  # fmt: skip
    """Revoke a token: it stops working at once."""
    _call(_open(db, data_dir), "revoke_token", token_id)
    out.print(f"token {token_id} revoked", highlight=False)


@admin.command("share")
@handles_errors
def share(
    workspace: Annotated[str, typer.Argument(help="The workspace, by name or id.")],
    org: Annotated[str, typer.Option("--org", help="The organisation to share it with.")],
    role: Annotated[str, typer.Option("--role", help="viewer, editor or owner.")] = "viewer",
    db: DbOption = None,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
) -> None:
    """Share a workspace with an organisation."""
    _call(_open(db, data_dir), "share", workspace, org, role)
    out.print(f"workspace {workspace} shared with {org} as {role}", highlight=False)


@admin.command("migrate")
@handles_errors
def migrate(db: DbOption = None, data_dir: DataDirOption = DEFAULT_DATA_DIR) -> None:
    """Bring the database to the latest schema (serve does this too)."""
    server = _open(db, data_dir)
    revision = _call(server, "schema_revision") if hasattr(server, "schema_revision") else "head"
    out.print(f"database at revision {revision}", highlight=False)


@admin.command("backup")
@handles_errors
def backup(file: Annotated[Path, typer.Argument(help="The backup file to write.")], db: DbOption = None,
           data_dir: DataDirOption = DEFAULT_DATA_DIR) -> None:  # fmt: skip
    """Write a backup: the database (workspaces, results, audit log) and the data dir's files."""
    _call(_open(db, data_dir), "backup", file)
    out.print(f"backup written to {file}", highlight=False)


@admin.command("restore")
@handles_errors
def restore(file: Annotated[Path, typer.Argument(help="The backup file to read.")], db: DbOption = None,
            data_dir: DataDirOption = DEFAULT_DATA_DIR) -> None:  # fmt: skip
    """Restore a backup into a fresh data dir (and database)."""
    from coreatlas.services import server as srv

    with srv.open_server(db, data_dir, bootstrap=False) as server:  # an empty database, to receive the backup
        server.restore(file)
    out.print(f"backup {file} restored into {data_dir}", highlight=False)


if __name__ == "__main__":  # pragma: no cover - the workers of ``serve`` start this way
    app(prog_name="coreatlas")
