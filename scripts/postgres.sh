#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for companion's storage tests (and CI).
#
#   scripts/postgres.sh start [DIR] [PORT]   install if missing, init DIR, start, create db/user;
#                                           prints: export COMPANION_TEST_POSTGRES_URL=...
#   scripts/postgres.sh stop  [DIR]
#   scripts/postgres.sh restart [DIR] [PORT] cut every client's connection, as a crash would
#   eval "$(scripts/postgres.sh start)"       sets the variable in the calling shell
#
# Defaults: DIR=${COMPANION_PG_DIR:-/tmp/companion-pg}, PORT=${COMPANION_PG_PORT:-55432}.
# Only status lines go to stderr; stdout carries just the export line, so eval is safe.
set -euo pipefail

cmd=${1:-start}
DIR=${2:-${COMPANION_PG_DIR:-/tmp/companion-pg}}
PORT=${3:-${COMPANION_PG_PORT:-55432}}
DB=companion_test
ROLE=companion

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  # Debian keeps the server binaries out of PATH, one folder per major version.
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; fi
}

BIN=$(find_bindir)
if [ -z "$BIN" ] && [ "$cmd" = start ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed; run: sudo apt-get install -y postgresql"
    exit 1
  fi
  log "installing PostgreSQL from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN=$(find_bindir)
fi
if [ -z "$BIN" ]; then
  log "no PostgreSQL server binaries found"
  exit 1
fi

# initdb refuses to run as root: run the server as the postgres user then.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
start)
  mkdir -p "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
  chmod 700 "$DIR"
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    log "initialising a cluster in $DIR/data"
    as_owner "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust --encoding=UTF8 \
      --no-locale >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
  fi
  if ! as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
    log "starting on 127.0.0.1:$PORT"
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $PORT -k $DIR" start >&2 || { tail -n 20 "$DIR/server.log" >&2; exit 1; }
  fi
  PSQL=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" ]; then
    "${PSQL[@]}" -c "CREATE ROLE $ROLE LOGIN CREATEDB" >&2
  fi
  if [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname='$DB'")" ]; then
    "${PSQL[@]}" -c "CREATE DATABASE $DB OWNER $ROLE" >&2
  fi
  echo "export COMPANION_TEST_POSTGRES_URL=postgresql+psycopg://$ROLE@127.0.0.1:$PORT/$DB"
  ;;
stop)
  if [ -f "$DIR/data/PG_VERSION" ]; then
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
  fi
  ;;
restart)
  # What an upgrade or a crash of the server does to its clients: every connection is cut.
  # Stop and start apart, so the server logs to its file and keeps no pipe of ours open.
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -m "${COMPANION_PG_STOP_MODE:-fast}" -w -t 60 stop >&2
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PORT -k $DIR" start >&2 || { tail -n 20 "$DIR/server.log" >&2; exit 1; }
  ;;
*)
  log "usage: $0 start|stop|restart [DIR] [PORT]"
  exit 2
  ;;
esac
