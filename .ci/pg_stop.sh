#!/bin/bash
# Stop the throwaway PostgreSQL started by .ci/pg_start.sh (same PGDATA). Run as root.
# Usage: PGDATA=/tmp/streamcv-pgdata .ci/pg_stop.sh   (add PURGE=1 to delete the data dir too)
set -euo pipefail
PGDATA=${PGDATA:-/tmp/streamcv-pgdata}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if [ -f "$PGDATA/postmaster.pid" ]; then
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  echo "STOPPED $PGDATA"
else
  echo "NOT RUNNING $PGDATA"
fi
if [ "${PURGE:-0}" = "1" ]; then rm -rf "$PGDATA" "$PGDATA.initdb.log"; fi
