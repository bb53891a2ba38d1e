# Sourced by .ci/run: start a throwaway PostgreSQL on a free 127.0.0.1 port for the server tests.
# Uses Debian's binaries (installed with apt when missing), runs initdb and pg_ctl as user postgres,
# exports COREATLAS_TEST_PG_URL and removes everything on exit. When neither is possible it says
# why and the PostgreSQL tests skip with that reason.

pg_bin() {
  local found
  found=$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$found" ] && dirname "$(readlink -f "$found")"
}

start_postgres() {
  local bin port
  bin=$(pg_bin)
  if [ -z "$bin" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ci: installing PostgreSQL from Debian's packages"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || true
    bin=$(pg_bin)
  fi
  if [ -z "$bin" ]; then
    export COREATLAS_TEST_PG_SKIP="no PostgreSQL binaries (initdb) and apt-get could not install them"
    return 0
  fi
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  PG_DIR=$(mktemp -d /tmp/coreatlas-pg.XXXXXX)
  chown postgres "$PG_DIR"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >"$PG_DIR/initdb.log" 2>&1 &&
     runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
       -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
    export COREATLAS_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    PG_CTL="$bin/pg_ctl"
    echo "ci: PostgreSQL on 127.0.0.1:$port"
  else
    export COREATLAS_TEST_PG_SKIP="PostgreSQL did not start: $(tail -n 3 "$PG_DIR"/*.log 2>/dev/null | tr '\n' ' ')"
    echo "ci: $COREATLAS_TEST_PG_SKIP"
  fi
}

stop_postgres() {
  if [ -n "${PG_CTL:-}" ]; then
    runuser -u postgres -- "$PG_CTL" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  [ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
}
