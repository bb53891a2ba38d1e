"""The store and the server's use cases on SQLite and PostgreSQL: migrations, bootstrap, auth,
authorisation filtering, uploads, collaboration, pagination, backup/restore, crash integrity."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from coreatlas.errors import AuthError, ForbiddenError, LimitError, NotFoundError, RequestError, ValidationError
from coreatlas.io.datasets import builtin_path
from coreatlas.services.server import Page, unpack_zip
from coreatlas.store import Database, current, downgrade, drift, head, upgrade
from coreatlas.store.models import ApiToken, AuditEntry, Base

# ---- helpers ------------------------------------------------------------------------------------


def zip_of(files: dict[str, bytes | str], top: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in files.items():
            archive.writestr(f"{top}/{name}" if top else name, body)
    return buffer.getvalue()


def chips_files() -> dict[str, bytes]:
    folder = builtin_path("chips")
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def second_org(server, name: str = "jp-meti", role: str = "member", scope: str = "write"):
    """An organisation with one user; that user's caller."""
    server.create_org(name)
    server.create_user(f"{name}-user", name, role=role)
    return server.authenticate_token(server.create_token(f"{name}-user", scope=scope)[1])


# ---- migrations -------------------------------------------------------------------------------------


def test_upgrade_from_empty_has_no_drift_and_round_trips(db_url):
    db = Database(db_url)
    try:
        assert current(db) is None
        upgrade(db)
        assert current(db) == head() == "0001"
        assert drift(db) == []
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        downgrade(db, "base")
        assert current(db) is None
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(db)
        assert current(db) == "0001" and drift(db) == []
    finally:
        db.dispose()


def test_drift_is_detected(db_url):
    db = Database(db_url)
    try:
        upgrade(db)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE users ADD COLUMN stray INTEGER")
        assert any("stray" in repr(d) for d in drift(db))
    finally:
        db.dispose()


def test_audit_log_is_append_only_in_the_database(server, admin):
    with server.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar() > 0
        conn.rollback()
        for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.DatabaseError), conn.begin():
                conn.exec_driver_sql(statement)
    with server.db.write() as session, pytest.raises(PermissionError):
        session.delete(session.scalars(sa.select(AuditEntry)).first())
        session.flush()


def test_sqlite_pragmas(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    db.dispose()


# ---- bootstrap ---------------------------------------------------------------------------------------


def test_bootstrap(server, admin, make_server, db_url):
    assert server.bootstrap_token.startswith("coreatlas_")
    assert admin.user_name == "admin" and admin.scope == "admin" and len(admin.admin_org_ids) == 1
    workspaces = server.list_workspaces(admin)
    assert [w["name"] for w in workspaces["items"]] == ["default"] and workspaces["items"][0]["role"] == "owner"
    names = {d["name"] for d in server.list_datasets(admin, "default", Page(0, 100))["items"]}
    assert {"chips", "materials", "quantum", "sequencing", "telecom-ran"} <= names
    # the token is stored as a digest only
    with server.db.read() as session:
        rows = session.scalars(sa.select(ApiToken)).all()
        assert all(server.bootstrap_token not in (t.digest, t.prefix) for t in rows)
    # opening it again: no second bootstrap
    again = make_server(db_url)
    assert again.bootstrap_token is None
    assert len(again.list_workspaces(admin)["items"]) == 1


# ---- authentication ------------------------------------------------------------------------------------


def test_tokens_expired_revoked_unknown(server):
    token_id, raw = server.create_token("admin", scope="read", expires_days=1)
    assert server.authenticate_token(raw).scope == "read"
    with server.db.write() as session:
        session.get(ApiToken, token_id).expires_at -= timedelta(days=2)
    server.forget()  # a change behind the server's back is seen once its cache forgets (tests/server/test_cache.py)
    with pytest.raises(AuthError, match="expired"):
        server.authenticate_token(raw)
    token_id, raw = server.create_token("admin")
    server.revoke_token(token_id)
    with pytest.raises(AuthError, match="revoked"):
        server.authenticate_token(raw)
    for bad in (None, "", "nonsense", raw[:-1] + ("A" if raw[-1] != "A" else "B"), "coreatlas_" + "x" * 40):
        with pytest.raises(AuthError):
            server.authenticate_token(bad)
    with pytest.raises(NotFoundError):
        server.revoke_token("nope")


def test_scopes_cap_what_a_token_does(server):
    reader = server.authenticate_token(server.create_token("admin", scope="read")[1])
    assert server.list_workspaces(reader)["total"] == 1  # reads work
    assert server.run_static(reader, "default", "chips", "scenario", {"scenarios": [{"remove_countries": ["NLD"]}]})["rows"]  # a read
    with pytest.raises(ForbiddenError, match="scope"):
        server.save_view(reader, "default", "v", {"tab": "map"})
    with pytest.raises(ForbiddenError):
        server.create_token("admin", scope="write", caller=reader)
    writer = server.authenticate_token(server.create_token("admin", scope="write")[1])
    with pytest.raises(ForbiddenError):
        server.create_user("someone", "local", caller=writer)  # administration needs an admin-scoped token


def test_passwords_and_sessions(server):
    server.create_user("alice", "local", password="correct horse battery")
    with pytest.raises(AuthError):
        server.login_password("alice", "wrong")
    with pytest.raises(AuthError):
        server.login_password("nobody", "whatever")
    caller = server.login_password("alice", "correct horse battery")
    session_id, csrf = server.create_session(caller)
    assert server.caller_from_session(session_id).user_name == "alice"
    server.check_csrf(session_id, csrf)
    with pytest.raises(ForbiddenError):
        server.check_csrf(session_id, "forged")
    with pytest.raises(ForbiddenError):
        server.check_csrf(session_id, None)
    server.end_session(session_id)
    with pytest.raises(AuthError):
        server.caller_from_session(session_id)
    with pytest.raises(AuthError):
        server.caller_from_session("made-up")
    with server.db.read() as session:  # argon2id, never the password
        stored = session.execute(sa.text("SELECT password_hash FROM users WHERE name = 'alice'")).scalar()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored


# ---- authorisation -------------------------------------------------------------------------------------------


def test_no_cross_workspace_read_or_write(server, admin):
    other = second_org(server)
    assert server.list_workspaces(other)["items"] == []
    for call in (lambda: server.workspace_role(other, "default"), lambda: server.list_datasets(other, "default"),
                 lambda: server.get_dataset(other, "default", "chips"), lambda: server.run_static(other, "default", "chips", "exposure", {}),
                 lambda: server.submit_job(other, "default", "rank", {}), lambda: server.list_comments(other, "default"),
                 lambda: server.save_view(other, "default", "v", {}), lambda: server.audit(other, "default"),
                 lambda: server.workspace_role(other, "no-such-workspace")):  # fmt: skip
        with pytest.raises(NotFoundError) as caught:
            call()
        assert "default" in str(caught.value) or "no-such" in str(caught.value)
    # its own workspace is invisible to local's admin, too
    server.create_workspace("tokyo", caller=other)
    with pytest.raises(NotFoundError):
        server.list_datasets(admin, "tokyo")
    # a job of another workspace is not found either
    job = server.submit_job(admin, "default", "rank", {"data": "chips"})
    with pytest.raises(NotFoundError):
        server.get_job(other, job)
    with pytest.raises(NotFoundError):
        server.cancel_job(other, job)


def test_shares_give_roles(server, admin):
    viewer = second_org(server, "us-doc")
    editor = second_org(server, "jp-aist")
    server.share("default", "us-doc", "viewer", caller=admin)
    server.share("default", "jp-aist", "editor")
    assert server.workspace_role(viewer, "default") == "viewer"
    assert server.workspace_role(editor, "default") == "editor"
    assert server.run_static(viewer, "default", "chips", "exposure", {})["rows"]
    runs_before = server.list_runs(admin, "default")["total"]
    seen = server.run_static(viewer, "default", "chips", "scenario", {"scenarios": [{"remove_countries": ["NLD"]}]})
    assert server.list_runs(admin, "default")["total"] == runs_before  # a viewer's answer is a read, not a run
    result = server.run_static(editor, "default", "chips", "scenario", {"scenarios": [{"remove_countries": ["NLD"]}]})
    assert result["provenance"]["request"]["data"] == "chips" and seen["rows"] == result["rows"]
    assert server.list_runs(admin, "default")["total"] == runs_before + 1
    for caller in (viewer, editor):
        with pytest.raises(ForbiddenError):
            server.audit(caller, "default")
        with pytest.raises(ForbiddenError):
            server.share("default", "us-doc", "owner", caller=caller)
    assert {s["org"]: s["role"] for s in server.shares(admin, "default")} == {"local": "owner", "us-doc": "viewer", "jp-aist": "editor"}
    server.unshare("default", "us-doc", caller=admin)
    with pytest.raises(NotFoundError):
        server.workspace_role(viewer, "default")


def test_requests_name_no_server_path(server, admin):
    for field, value in (("scenario_file", "/etc/passwd"), ("hazards_file", "x.yaml"), ("network_dir", "/tmp")):
        with pytest.raises(ForbiddenError) as caught:
            server.run_static(admin, "default", "chips", "scenario", {field: value})
        assert caught.value.field == field
    with pytest.raises(NotFoundError) as caught:
        server.run_static(admin, "default", None, "exposure", {"data": "/usr/share"})
    assert caught.value.field == "dataset"
    with pytest.raises(ForbiddenError):
        server.submit_job(admin, "default", "montecarlo", {"data": "chips", "hazards_file": "/etc/hosts"})


# ---- uploads -------------------------------------------------------------------------------------------


def test_upload_a_native_dataset_versions_by_content(server, admin):
    files = chips_files()
    first = server.upload_dataset(admin, "default", "my-chips", zip_of(files, top="chips"))
    assert first["kind"] == "upload" and [v["number"] for v in first["versions"]] == [1]
    again = server.upload_dataset(admin, "default", "my-chips", zip_of(files))  # same content: same version
    assert [v["content_hash"] for v in again["versions"]] == [first["versions"][0]["content_hash"]]
    changed = dict(files, **{"metadata.yaml": files["metadata.yaml"].replace(b"version:", b"# changed\nversion:", 1)})
    second = server.upload_dataset(admin, "default", "my-chips", zip_of(changed))
    assert [v["number"] for v in second["versions"]] == [1, 2]
    assert len({v["content_hash"] for v in second["versions"]}) == 2
    detail = server.get_dataset(admin, "default", "my-chips")
    assert detail["nodes"] and detail["providers"]
    result = server.run_static(admin, "default", "my-chips", "exposure", {})
    assert result["provenance"]["request"]["data"] == "my-chips"  # never the server folder
    assert str(server.data_dir) not in repr(result)
    assert (server.data_dir / "datasets" / second["versions"][1]["content_hash"]).is_dir()


def test_upload_problems_name_file_line_column(server, admin):
    files = chips_files()
    lines = files["provision.csv"].decode().splitlines()
    header = lines[0].split(",")
    share = header.index("share")
    row = lines[2].split(",")
    row[share] = "lots"
    lines[2] = ",".join(row)
    bad = dict(files, **{"provision.csv": "\n".join(lines) + "\n"})
    with pytest.raises(ValidationError) as caught:
        server.upload_dataset(admin, "default", "broken", zip_of(bad))
    problem = caught.value.problems[0]
    assert (problem.file, problem.line, problem.column) == ("provision.csv", 3, "share")
    assert str(server.data_dir) not in str(caught.value)
    with pytest.raises(NotFoundError):
        server.get_dataset(admin, "default", "broken")


@pytest.mark.parametrize(("members", "expected"), [
    ({"../evil.csv": "x"}, "outside"),
    ({"/abs.csv": "x"}, "outside"),
    ({"a/b/c.csv": "x", "a/d.csv": "y"}, "sub-folders"),
    ({"run.sh": "echo"}, "unexpected file"),
])  # fmt: skip
def test_unsafe_archives_are_refused(tmp_path, members, expected):
    with pytest.raises(ValidationError, match=expected):
        unpack_zip(zip_of(members), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path.parent / "evil.csv").exists()


def test_archive_limits_and_garbage(tmp_path, server, admin):
    limits = {"upload_bytes": 10_000, "members": 3, "member_bytes": 1000, "unpacked_bytes": 1500}
    with pytest.raises(LimitError):
        unpack_zip(b"x" * 10_001, tmp_path / "a", limits)
    with pytest.raises(LimitError):
        unpack_zip(zip_of({f"{i}.csv": "x" for i in range(4)}), tmp_path / "b", limits)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("nodes.csv", "0" * 100_000)
    with pytest.raises(LimitError):
        unpack_zip(bomb.getvalue(), tmp_path / "c", limits)
    with pytest.raises(ValidationError, match="not a zip"):
        server.upload_dataset(admin, "default", "junk", b"not a zip at all")
    with pytest.raises(ValidationError, match="data format"):
        server.upload_dataset(admin, "default", "junk", zip_of({"readme.txt": "hello"}))
    with pytest.raises(RequestError):
        server.upload_dataset(admin, "default", "chips", zip_of(chips_files()))  # a built-in's name
    with pytest.raises(RequestError):
        server.upload_dataset(admin, "default", "../x", zip_of(chips_files()))


# ---- collaboration, pagination, audit ---------------------------------------------------------------------


def test_comments_scenarios_views_and_pages(server, admin):
    saved = server.save_scenario(admin, "default", "no NLD", "scenario", {"data": "chips", "scenarios": [{"remove_countries": ["NLD"]}]})
    with pytest.raises(RequestError):
        server.save_scenario(admin, "default", "bad", "scenario", {"data": "chips", "scenarios": [{"no_such_field": 1}]})
    note = server.add_comment(admin, "default", "scenario", saved["id"], "Why NLD?")
    reply = server.add_comment(admin, "default", "", "", "Lithography.", parent_id=note["id"])
    assert (reply["target_kind"], reply["target_id"]) == ("scenario", saved["id"])
    server.add_comment(admin, "default", "node", "N1", "a node note")
    with pytest.raises(NotFoundError):
        server.add_comment(admin, "default", "run", "nope", "x")
    server.update_comment(admin, "default", note["id"], status="resolved")
    listed = server.list_comments(admin, "default", target_kind="scenario")
    assert listed["total"] == 1 and listed["items"][0]["status"] == "resolved"
    assert [r["body"] for r in listed["items"][0]["replies"]] == ["Lithography."]
    updated = server.update_scenario(admin, "default", saved["id"], description="the Dutch case")
    assert updated["description"] == "the Dutch case"
    for i in range(7):
        server.save_view(admin, "default", f"view-{i}", {"tab": "map", "i": i})
    page = server.list_views(admin, "default", Page(offset=5, limit=5))
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (7, 5, 5, 2)
    with pytest.raises(RequestError):
        Page(limit=0)
    with pytest.raises(RequestError):
        Page(offset=-1)
    with pytest.raises(LimitError):
        server.save_view(admin, "default", "huge", {"x": "y" * 100_000})
    log = server.audit(admin, "default", Page(0, 500))
    actions = {(e["action"], e["target_kind"]) for e in log["items"]}
    assert {("change", "scenario"), ("change", "comment"), ("change", "view"), ("read", "audit")} <= actions


def test_audit_holds_no_secret(server, admin):
    server.create_user("bob", "local", password="hunter2hunter2")
    token_id, raw = server.create_token("bob", scope="write")
    server.login_password("bob", "hunter2hunter2")
    session_id, csrf = server.create_session(admin)
    with server.db.engine.connect() as conn:
        text = repr(conn.exec_driver_sql("SELECT * FROM audit_log").fetchall())
    for secret in (raw, server.bootstrap_token, "hunter2hunter2", session_id, csrf):
        assert secret not in text


# ---- backup and restore ----------------------------------------------------------------------------------


def test_backup_then_restore_into_a_fresh_data_dir(server, admin, make_server, tmp_path, db_url, pg_database):
    server.upload_dataset(admin, "default", "my-chips", zip_of(chips_files()))
    result = server.run_static(admin, "default", "my-chips", "scenario", {"scenarios": [{"remove_countries": ["NLD"]}]})
    server.add_comment(admin, "default", "node", "N1", "hello")
    server.create_workspace("second", caller=admin)
    manifest = server.backup(tmp_path / "backup.zip")
    assert manifest["tables"]["runs"] == 1

    def snapshot(s, caller):
        workspaces = s.list_workspaces(caller)["items"]
        runs = s.list_runs(caller, "default")["items"]
        with s.db.engine.connect() as conn:
            audit = conn.exec_driver_sql("SELECT id, user_name, action, target_kind, target_id FROM audit_log ORDER BY id").fetchall()
            results = conn.exec_driver_sql("SELECT id, payload FROM results ORDER BY id").fetchall()
        return workspaces, runs, [tuple(a) for a in audit], [tuple(r) for r in results]

    before = snapshot(server, admin)
    if db_url.startswith("sqlite"):
        fresh_url = None
    else:
        url = sa.make_url(db_url)
        schema = url.query["options"].split("=", 1)[1] + "r"
        with sa.create_engine(pg_database, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        fresh_url = url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    fresh = make_server(fresh_url, name="fresh", bootstrap=False)
    fresh.restore(tmp_path / "backup.zip")
    after = snapshot(fresh, fresh.authenticate_token(server.bootstrap_token))
    assert after == before
    run = fresh.list_runs(admin, "default")["items"][0]
    assert fresh.get_run(admin, "default", run["id"])["result"] == result
    assert fresh.run_static(admin, "default", "my-chips", "exposure", {})["rows"]  # the uploaded files came back
    with pytest.raises(Exception, match="not empty"):
        fresh.restore(tmp_path / "backup.zip")
    # the audit log keeps growing after a restore (its sequence follows the restored rows)
    fresh.save_view(admin, "default", "after-restore", {})
    if fresh_url:
        with sa.create_engine(pg_database, isolation_level="AUTOCOMMIT").connect() as conn:
            fresh.close()
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


# ---- a crash in the middle of writes --------------------------------------------------------------------------


WRITER = textwrap.dedent("""
    import sys
    from coreatlas.services.server import open_server
    server = open_server(None, sys.argv[1], bootstrap=False)
    caller = server.authenticate_token(sys.argv[2])
    print("ready", flush=True)
    i = 0
    while True:
        server.save_view(caller, "default", f"v{i}", {"i": i, "pad": "x" * 2000})
        i += 1
""")


def test_integrity_after_a_simulated_crash(make_server, tmp_path):
    server = make_server(None, name="crash")
    token = server.bootstrap_token
    server.close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "crash"), token], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    reopened = make_server(None, name="crash")
    assert reopened.integrity_check() == []
    caller = reopened.authenticate_token(token)
    views = reopened.list_views(caller, "default", Page(0, 500))
    assert views["total"] > 0
    # every committed view has its audit entry: no half-written change
    with reopened.db.engine.connect() as conn:
        audited = conn.exec_driver_sql("SELECT count(*) FROM audit_log WHERE target_kind = 'view'").scalar()
    assert audited == views["total"]
