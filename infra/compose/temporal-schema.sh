#!/bin/sh
# Creates or upgrades Temporal's PostgreSQL schemas, in the temporalio/admin-tools
# image, before the server starts. The databases exist already (postgres-init.sh).
# Safe to run on every start: setup-schema keeps an existing version, and
# update-schema applies only the missing steps.
# Environment: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER (temporal-sql-tool's own
# variables) and SQL_PASSWORD_FILE.
set -eu
SQL_PASSWORD=$(cat "${SQL_PASSWORD_FILE:-/run/secrets/db_password}")
export SQL_PASSWORD
for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  schema=postgresql/v12/${pair#*:}
  echo "temporal-schema: $db ($schema)"
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema --schema-name "$schema"
done
echo "temporal-schema: done"
