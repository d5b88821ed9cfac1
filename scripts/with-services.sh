#!/usr/bin/env bash
# Runs a command with the services Hài Lòng needs: Redis and a MongoDB-compatible server.
# MONGODB_URI / REDIS_URL, when set, win (production, or a real MongoDB for the tests).
# Otherwise: Redis on 127.0.0.1:6379 (started if not answering) and FerretDB 1.24.2 on the
# local PostgreSQL, started for the duration of the command and stopped after, on a free port
# (or on HAILONG_FERRET_PORT when that one is free).
# HAILONG_FERRET_BIN runs another FerretDB binary than install-ferretdb.sh's (e.g. an older build).
# Tuning and profiling: HAILONG_FERRET_POOL (its PostgreSQL pool, 60), HAILONG_MONGO_POOL (each
# process's client pool, 20), HAILONG_FERRET_DEBUG_ADDR (e.g. 127.0.0.1:8089: FerretDB's
# /debug/metrics, per-command counters, and /debug/pprof).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
log() { echo "[services] $*" >&2; }

if [ -z "${REDIS_URL:-}" ]; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    command -v redis-server >/dev/null || { log "redis-server not installed (apt-get install redis-server)"; exit 1; }
    log "starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export REDIS_URL=redis://127.0.0.1:6379
fi
redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 || { log "Redis at REDIS_URL does not answer"; exit 1; }

FERRET_PID=""
cleanup() {
  if [ -n "$FERRET_PID" ]; then
    kill "$FERRET_PID" 2>/dev/null || true
    wait "$FERRET_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

if [ -z "${MONGODB_URI:-}" ]; then
  PG_URL=${HAILONG_PG_URL:-postgres://postgres@127.0.0.1:5432}
  if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    for _ in $(seq 1 100); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  DB=${HAILONG_FERRET_PGDB:-hailong_ferretdb}
  psql "$PG_URL/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
    || psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null
  # Indexed equality filters on FerretDB's PostgreSQL backend (GIN twins, custom plans): without
  # them every filtered query scans its table. scripts/ferretdb-pg-indexes.sql says why.
  if psql "$PG_URL/$DB" -v ON_ERROR_STOP=1 -qf "$HERE/ferretdb-pg-indexes.sql" >/dev/null 2>&1 \
    && psql "$PG_URL/postgres" -qc "ALTER DATABASE $DB SET plan_cache_mode = force_custom_plan" >/dev/null; then :
  else
    log "could not add FerretDB's GIN twins to $DB (needs a PostgreSQL superuser): filtered queries will scan"
  fi
  FERRET=${HAILONG_FERRET_BIN:-$(bash "$HERE/install-ferretdb.sh")}
  # HAILONG_FERRET_PORT (npm run demo: 27017): that port when it is free, so a second terminal
  # finds the server where it was last time; otherwise (and by default: tests) any free port.
  FREE_PORT="const s=require('net').createServer();s.once('error',()=>process.exit(1));s.listen(Number(process.argv[1]),'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
  WANT=${HAILONG_FERRET_PORT:-0}
  FERRET_PORT=$(node -e "$FREE_PORT" "$WANT" 2>/dev/null) || FERRET_PORT=$(node -e "$FREE_PORT" 0)
  [ "$WANT" = 0 ] || [ "$FERRET_PORT" = "$WANT" ] || log "port $WANT is taken: FerretDB gets $FERRET_PORT instead"
  STATE=$(mktemp -d)
  log "starting FerretDB on 127.0.0.1:$FERRET_PORT (PostgreSQL database $DB)"
  # The binary is FerretDB 1.24.2 with two patches (install-ferretdb.sh; docs/architecture.md,
  # "FerretDB 1.24 as the test server"): as published, its update holds one PostgreSQL connection
  # (the matching query) while it waits for a second (its write transaction), and its pool
  # deadlocks for good; and it writes the updated document back without a compare, so of two
  # concurrent updates of one document one is lost. pool_max_conns stays below PostgreSQL's
  # default max_connections (100).
  "$FERRET" --handler=postgresql --postgresql-url="$PG_URL/$DB?pool_max_conns=${HAILONG_FERRET_POOL:-60}" --listen-addr="127.0.0.1:$FERRET_PORT" \
    --debug-addr="${HAILONG_FERRET_DEBUG_ADDR:--}" --state-dir="$STATE" --telemetry=disable --log-level=warn >"$STATE/ferretdb.log" 2>&1 &
  FERRET_PID=$!
  for _ in $(seq 1 100); do
    (echo >"/dev/tcp/127.0.0.1/$FERRET_PORT") 2>/dev/null && break
    kill -0 "$FERRET_PID" 2>/dev/null || { log "FerretDB exited:"; cat "$STATE/ferretdb.log" >&2; exit 1; }
    sleep 0.1
  done
  export MONGODB_URI="mongodb://127.0.0.1:$FERRET_PORT/hailong?maxPoolSize=${HAILONG_MONGO_POOL:-20}"
fi

log "REDIS_URL=$REDIS_URL MONGODB_URI=$MONGODB_URI"
set +e
"$@"
STATUS=$?
set -e
exit $STATUS
