#!/bin/sh
# PostgreSQL's first start (docker-entrypoint-initdb.d): the role `dure`, whose
# password is the db_password secret, and the three databases it owns:
#   dure                 dure's shared metadata database (every dure service)
#   temporal             Temporal's persistence
#   temporal_visibility  Temporal's visibility store (needs btree_gin)
# It runs only when the data volume is empty.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\set pw `cat /run/secrets/db_password`
CREATE ROLE dure LOGIN PASSWORD :'pw';
\unset pw
CREATE DATABASE dure OWNER dure;
CREATE DATABASE temporal OWNER dure;
CREATE DATABASE temporal_visibility OWNER dure;
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
SQL
