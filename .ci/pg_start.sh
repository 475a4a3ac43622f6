#!/bin/bash
# Start a throwaway PostgreSQL on 127.0.0.1:${PGPORT:-55432} without systemd. Run as root.
#
# Usage:  PGPORT=55432 PGDATA=/tmp/streamcv-pgdata .ci/pg_start.sh
# Prints: READY postgresql+psycopg://postgres@127.0.0.1:$PGPORT/testdb
# Then:   export STREAMCV_TEST_PG_URL=<that url>; stop with .ci/pg_stop.sh (same PGDATA).
# The data dir is wiped on every start; fsync is off: for tests only.
set -euo pipefail
PGPORT=${PGPORT:-55432}
PGDATA=${PGDATA:-/tmp/streamcv-pgdata}
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# A server left running on this data dir from an earlier start would keep the port: stop it first.
if [ -f "$PGDATA/postmaster.pid" ]; then
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
fi
rm -rf "$PGDATA"; mkdir -p "$PGDATA"; chown postgres:postgres "$PGDATA"; chmod 700 "$PGDATA"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions >"$PGDATA.initdb.log"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres testdb
echo "READY postgresql+psycopg://postgres@127.0.0.1:$PGPORT/testdb"
