#!/usr/bin/env bash
# Boots the single-node Ceph cluster (infra/ceph/up.sh) that the contract tests of
# activities/cephadmin run against. Needs root and apt (it installs Debian's Ceph
# packages on first use).
#
# Usage, from .ci/run before `make test`:
#   eval "$(.ci/ceph.sh)"
#
# The cluster lives in $DURE_CEPH_DIR (default /tmp/dure-ceph). Its env file is
# $DURE_CEPH_DIR/dure-ceph.env; the tests read the path in $DURE_CEPH_ENV and
# fall back to /tmp/dure-ceph/dure-ceph.env, so with the default directory the
# eval is optional. Everything but the final export line goes to stderr.
#
# With CI=true the contract tests FAIL (instead of skipping) when they find no
# cluster. Stop it afterwards with: infra/ceph/down.sh "$DURE_CEPH_DIR" [--purge]
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${DURE_CEPH_DIR:-/tmp/dure-ceph}
start=$(date +%s%3N)
infra/ceph/up.sh "$dir" >&2
echo "ceph: cluster ready in $(awk -v d="$(($(date +%s%3N) - start))" 'BEGIN{printf "%.1f", d/1000}')s (including any package install)" >&2
echo "export DURE_CEPH_ENV=$dir/dure-ceph.env"
