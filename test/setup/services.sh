#!/usr/bin/env bash
# Starts the host-side PostgreSQL 15 and Redis 7 that the integration tests use, on loopback ports
# of their own, idempotently. Output goes to log files under $CAREBOX_TEST_STATE (default
# /tmp/carebox-test), never to stdout, so CI's log stays readable and the run can end.
# Prints the environment to export:  eval "$(test/setup/services.sh)"
set -euo pipefail
state="${CAREBOX_TEST_STATE:-/tmp/carebox-test}"
pg_port="${CAREBOX_TEST_PG_PORT:-55432}"
redis_port="${CAREBOX_TEST_REDIS_PORT:-56379}"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
mkdir -p "$state"

[ -x "$pg_bin/pg_ctl" ] || { echo "services.sh: PostgreSQL server missing: apt-get install postgresql-15" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "services.sh: redis-server missing: apt-get install redis-server" >&2; exit 1; }

as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi; }

pgdata="$state/pgdata"
if [ ! -s "$pgdata/PG_VERSION" ]; then
  mkdir -p "$pgdata"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$state" "$pgdata"
  as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1
fi
if ! as_pg "$pg_bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$state"
  as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$state/postgres.log" -w -t 60 \
    -o "-p $pg_port -k $pgdata -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
fi
psql_() { as_pg psql -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_ -d postgres -c "select 1 from pg_roles where rolname='carebox'")" != 1 ]; then
  psql_ -d postgres -c "create role carebox login superuser password 'carebox'" >/dev/null
fi
if [ "$(psql_ -d postgres -c "select 1 from pg_database where datname='carebox_test'")" != 1 ]; then
  psql_ -d postgres -c "create database carebox_test owner carebox" >/dev/null
fi

if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$state" --logfile "$state/redis.log" --pidfile "$state/redis.pid"
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "export CAREBOX_TEST_DATABASE_URL=postgres://carebox:carebox@127.0.0.1:${pg_port}/carebox_test"
echo "export CAREBOX_TEST_REDIS_URL=redis://127.0.0.1:${redis_port}"
echo "export CAREBOX_TEST_REDIS_PORT=${redis_port}"
echo "export CAREBOX_TEST_PG_PORT=${pg_port}"
