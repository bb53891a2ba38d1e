"""What the server keeps between requests (coreatlas.services.server.cache) and the writes it
batches: static results come from the cache but every read is still audited and every run
recorded; a change made through this server is seen at once, one made behind its back within
``cache_seconds``; nothing batched is lost on a clean close."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from coreatlas.errors import AuthError, NotFoundError
from coreatlas.services.server import SYSTEM, Page, runs
from coreatlas.services.server.base import audit_values
from coreatlas.services.server.cache import Insert, ResultCache, TTLCache, WriteBehind
from coreatlas.store.models import AuditEntry, ResultRow, Run

NLD = {"scenarios": [{"remove_countries": ["NLD"]}]}


@pytest.fixture
def computed(monkeypatch):
    """How many static results were computed (not taken from the cache)."""
    calls = []
    real = runs._static_result

    def counting(*args):
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(runs, "_static_result", counting)
    return calls


def _count(server, model, *where) -> int:
    with server.db.read() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_static_result_is_computed_once_and_every_read_audited(server, admin, computed):
    texts = [server.run_static_json(admin, "default", "chips", "exposure", {"bloc": "USA,JPN"}) for _ in range(5)]
    assert len(set(texts)) == 1 and computed == ["exposure"]
    server.run_static_json(admin, "default", "chips", "exposure", {"bloc": "USA"})
    assert computed == ["exposure", "exposure"]  # another request: computed
    log = server.audit(admin, "default", Page(0, 500))["items"]  # the batched entries are written first
    assert sum(e["action"] == "read" and e["target_kind"] == "exposure" for e in log) == 6


def test_each_scenario_run_is_recorded_and_its_result_stored_once(server, admin, computed):
    answers = [server.run_static(admin, "default", "chips", "scenario", NLD) for _ in range(4)]
    assert computed == ["scenario"] and all(a == answers[0] for a in answers)
    listed = server.list_runs(admin, "default", Page(0, 100))
    assert listed["total"] == 4 and len({r["result"] for r in listed["items"]}) == 1
    assert _count(server, ResultRow) == 1
    assert server.get_run(admin, "default", listed["items"][0]["id"])["result"] == answers[0]


def test_nothing_batched_is_lost_on_a_clean_close(db_url, make_server):
    server = make_server(db_url, write_interval=60)  # the thread would wait a minute: only close() writes them
    admin = server.authenticate_token(server.bootstrap_token)
    for _ in range(7):
        server.run_static_json(admin, "default", "chips", "scenario", NLD)
    assert server.later.pending() > 0 and _count(server, Run) == 0
    server.close()
    again = make_server(db_url)
    assert _count(again, Run) == 7 and _count(again, AuditEntry, AuditEntry.action == "run", AuditEntry.target_kind == "run") == 7


def test_changes_through_the_server_are_seen_at_once(server, admin):
    token_id, raw = server.create_token("admin", scope="write")
    assert server.authenticate_token(raw).token_id == token_id  # now cached
    server.revoke_token(token_id)
    with pytest.raises(AuthError, match="revoked"):
        server.authenticate_token(raw)
    server.create_org("guests")
    server.create_user("gina", "guests")
    gina = server.authenticate_token(server.create_token("gina")[1])
    with pytest.raises(NotFoundError):
        server.run_static_json(gina, "default", "chips", "exposure")
    server.share("default", "guests", "viewer")
    assert server.run_static_json(gina, "default", "chips", "exposure")  # cached as allowed now
    server.unshare("default", "guests")
    with pytest.raises(NotFoundError):
        server.run_static_json(gina, "default", "chips", "exposure")


def test_changes_behind_the_server_s_back_are_seen_within_cache_seconds(db_url, make_server):
    api = make_server(db_url, cache_seconds=0.3)
    admin_cli = make_server(db_url, name="cli")  # another process: coreatlas admin ...
    token_id, raw = admin_cli.create_token("admin", scope="write")
    assert api.authenticate_token(raw).token_id == token_id
    admin_cli.revoke_token(token_id)
    assert api.authenticate_token(raw).token_id == token_id  # still cached here
    time.sleep(0.4)
    with pytest.raises(AuthError, match="revoked"):
        api.authenticate_token(raw)


def test_a_cached_token_stops_working_when_it_expires(db_url, make_server):
    from datetime import timedelta

    from coreatlas.store.models import ApiToken, utcnow

    server = make_server(db_url, cache_seconds=600)
    token_id, raw = server.create_token("admin", scope="read", expires_days=1)
    with server.db.write() as session:
        session.get(ApiToken, token_id).expires_at = utcnow() + timedelta(seconds=0.3)
    server.forget()
    assert server.authenticate_token(raw).token_id == token_id  # cached for ten minutes, its expiry with it
    time.sleep(0.4)
    with pytest.raises(AuthError, match="expired"):
        server.authenticate_token(raw)


def test_ttl_cache_expires_and_zero_keeps_nothing():
    cache = TTLCache(0.05)
    cache.put("a", 1)
    assert cache.get("a") == 1
    time.sleep(0.1)
    assert cache.get("a") is None
    off = TTLCache(0)
    off.put("a", 1)
    assert off.get("a") is None


def test_result_cache_drops_the_least_recently_used_within_its_bytes():
    cache = ResultCache(max_bytes=10)
    cache.put("a", "A", 4)
    cache.put("b", "B", 4)
    assert cache.get("a") == "A"  # a is now the most recent
    cache.put("c", "C", 4)
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C"
    cache.put("huge", "H", 11)
    assert cache.get("huge") is None


def test_write_behind_drops_only_a_refused_row(server):
    later = WriteBehind(server.db, interval=60)
    rows = [Insert(AuditEntry, audit_values(SYSTEM, "read", f"t{i}", "", None, {})) for i in range(4)]
    bad = Insert(AuditEntry, audit_values(SYSTEM, None, "bad", "", None, {}))  # NOT NULL: the database refuses it
    for write in (rows[0], bad, rows[1], lambda session: session.add(AuditEntry(action="read", target_kind="orm", detail={})), rows[2], rows[3]):
        later.add(write)
    later.close()
    with server.db.read() as session:
        kinds = list(session.scalars(sa.select(AuditEntry.target_kind).order_by(AuditEntry.id)))
    assert [k for k in kinds if k in ("t0", "t1", "orm", "t2", "t3", "bad")] == ["t0", "t1", "orm", "t2", "t3"]  # in order, less the bad one
    ok = WriteBehind(server.db, interval=60)
    for write in (rows[0], lambda session: session.add(AuditEntry(action="read", target_kind="orm2", detail={})), rows[1]):
        ok.add(write)
    ok.close()  # one batch: the callables first, then each table's rows in their order
    with server.db.read() as session:
        kinds = list(session.scalars(sa.select(AuditEntry.target_kind).order_by(AuditEntry.id)))
    assert kinds[-3:] == ["orm2", "t0", "t1"]


def test_write_behind_keeps_its_rows_while_the_database_is_away(server, monkeypatch):
    later = WriteBehind(server.db, interval=60)
    later.add(lambda session: session.add(AuditEntry(action="read", target_kind="kept", detail={})))
    monkeypatch.setattr(later, "_database_answers", lambda: False)
    monkeypatch.setattr(server.db, "write", _broken)
    with pytest.raises(RuntimeError):
        later.flush()
    assert later.pending() == 1
    monkeypatch.undo()
    later.flush()
    assert later.pending() == 0 and _count(server, AuditEntry, AuditEntry.target_kind == "kept") == 1


def _broken():
    raise RuntimeError("the database is away")


def test_concurrent_reads_are_each_audited(server, admin):
    def read() -> None:
        for _ in range(20):
            server.run_static_json(admin, "default", "chips", "indicators")

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = server.audit(admin, "default", Page(0, 500))["items"]
    assert sum(e["target_kind"] == "indicators" for e in log) == 80


def test_from_memory_answers_only_what_needs_no_database(server, admin, computed):
    """What the API answers on its event loop: a cached caller and a cached static result; anything
    else is refused untouched (no audit entry, no run) and goes to a worker thread."""
    raw = server.bootstrap_token
    server.forget()
    assert server.from_memory(lambda: server.authenticate_token(raw)) == (False, None)  # the database is needed
    caller = server.authenticate_token(raw)
    assert server.from_memory(lambda: server.authenticate_token(raw)) == (True, caller)
    ask = lambda: server.run_static_json(caller, "default", "chips", "scenario", NLD)  # noqa: E731
    assert server.from_memory(ask) == (False, None) and computed == []  # not computed on the event loop
    assert server.later.pending() == 0
    text = ask()
    assert server.from_memory(ask) == (True, text) and computed == ["scenario"]
    assert server.list_runs(caller, "default")["total"] == 2  # the refused attempt recorded nothing
    with pytest.raises(AuthError):  # errors are answers: raised as they are
        server.from_memory(lambda: server.authenticate_token("not a token"))


def test_without_batching_every_run_is_written_at_once(db_url, make_server):
    server = make_server(db_url, write_interval=0)
    admin = server.authenticate_token(server.bootstrap_token)
    ask = lambda: server.run_static_json(admin, "default", "chips", "scenario", NLD)  # noqa: E731
    ask()
    assert server.from_memory(ask) == (False, None)  # writing at once is not for the event loop
    ask()
    assert server.later.pending() == 0 and _count(server, Run) == 2 and _count(server, ResultRow) == 1
