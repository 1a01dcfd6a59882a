#!/usr/bin/env bash
# Starts Debian's PostgreSQL 15 (cluster 15/main) on 127.0.0.1:5432 for the tests
# that run Temporal on PostgreSQL and for the platform's metadata store. Needs root
# and apt (it installs Debian's `postgresql` on first use); no systemd.
#
# Usage, from .ci/run before `make test`:
#   eval "$(.ci/postgres.sh)"
#
# It makes sure of: the packages, a running cluster, a login role `dure` (CREATEDB,
# so Temporal's tooling and the tests can make their own databases) whose random
# password lives in a 0600 file, and the databases temporal, temporal_visibility
# and dure owned by that role. Idempotent: a re-run reuses the password file (or
# writes a new password when the file is gone) and changes nothing else.
#
# Stdout is one line for eval:
#   export DURE_TEST_POSTGRES='postgres://dure@127.0.0.1:5432/dure?sslmode=disable' DURE_TEST_POSTGRES_PASSWORD_FILE='/tmp/dure-postgres/dure.password'
# Everything else goes to stderr; the password is never printed.
#
# Environment (all optional):
#   DURE_POSTGRES_DIR=/tmp/dure-postgres   where the password file is written
#   DURE_POSTGRES_WAIT_S=60                deadline for the cluster to answer
#
# With CI=true the PostgreSQL tests FAIL (instead of skipping) when they find no
# database. Stop the cluster afterwards with: pg_ctlcluster 15 main stop
set -euo pipefail

PG_VERSION=15
CLUSTER=main
PORT=5432
ROLE=dure
DATABASES=(temporal temporal_visibility dure)
dir=${DURE_POSTGRES_DIR:-/tmp/dure-postgres}
wait_s=${DURE_POSTGRES_WAIT_S:-60}
password_file=$dir/$ROLE.password

log() { echo "postgres: $*" >&2; }
die() { log "$*"; exit 1; }
# psql as the superuser over the local socket (peer auth); SQL comes on stdin so
# that no secret ever reaches a command line.
psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and runs the cluster as the postgres user"
start=$(date +%s%3N)

if [ ! -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ] || ! command -v pg_ctlcluster >/dev/null; then
  log "installing Debian's postgresql ($PG_VERSION)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
fi

# The package's post-install creates 15/main; a machine where it was dropped gets
# a new one. Debian's default configuration listens on localhost:5432 and asks
# for a password (scram-sha-256) on 127.0.0.1.
cluster_port=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$CLUSTER" '$1 == v && $2 == c { print $3 }')
if [ -z "$cluster_port" ]; then
  log "creating cluster $PG_VERSION/$CLUSTER"
  pg_createcluster "$PG_VERSION" "$CLUSTER" --port "$PORT" >&2
  cluster_port=$PORT
fi
[ "$cluster_port" = "$PORT" ] || die "cluster $PG_VERSION/$CLUSTER is configured for port $cluster_port, not $PORT"

if ! pg_ctlcluster "$PG_VERSION" "$CLUSTER" status >/dev/null 2>&1; then
  log "starting cluster $PG_VERSION/$CLUSTER"
  # Without systemd pg_ctlcluster runs pg_ctl itself; --skip-systemctl-redirect
  # keeps it from trying systemctl where systemd is installed but not running.
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$CLUSTER" start >&2
fi
deadline=$(($(date +%s) + wait_s))
until pg_isready -q -h 127.0.0.1 -p "$PORT"; do
  [ "$(date +%s)" -lt "$deadline" ] || die "cluster did not answer on 127.0.0.1:$PORT within ${wait_s}s (log: /var/log/postgresql/postgresql-$PG_VERSION-$CLUSTER.log)"
  sleep 0.2
done

install -d -m 0700 "$dir"
if [ ! -s "$password_file" ]; then
  log "writing a new password for role $ROLE to $password_file"
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$password_file.tmp")
  mv "$password_file.tmp" "$password_file"
fi
chmod 0600 "$password_file"
password=$(cat "$password_file")
[[ $password =~ ^[0-9a-f]+$ ]] || die "$password_file does not hold a password this script wrote (hex); remove it to get a new one"

# One session for everything: create or update the role with the file's password
# (a re-run after the file was lost, a new /tmp, still ends with a password that
# works), then the databases it owns.
{
  echo "SELECT format('CREATE ROLE %I', '$ROLE') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') \\gexec"
  echo "ALTER ROLE $ROLE WITH LOGIN CREATEDB PASSWORD '$password';"
  for db in "${DATABASES[@]}"; do
    echo "SELECT format('CREATE DATABASE %I OWNER %I', '$db', '$ROLE') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db') \\gexec"
    echo "ALTER DATABASE $db OWNER TO $ROLE;"
  done
} | psql_admin -d postgres
unset password

log "ready on 127.0.0.1:$PORT in $(awk -v d="$(($(date +%s%3N) - start))" 'BEGIN{printf "%.1f", d/1000}')s (including any package install); role $ROLE, databases ${DATABASES[*]}"
echo "export DURE_TEST_POSTGRES='postgres://$ROLE@127.0.0.1:$PORT/dure?sslmode=disable' DURE_TEST_POSTGRES_PASSWORD_FILE='$password_file'"
