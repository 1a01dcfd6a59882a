#!/usr/bin/env bash
# Checks that docker-compose.yaml parses and resolves, with Debian's
# docker-compose (1.29), which needs no Docker engine for `config`.
# Installs it when missing. Prints how long the install and the check took.
#
# Usage, from the repository root (e.g. in .ci/run before `make test`):
#   .ci/compose.sh
#
# docker-compose 1.29's `config` neither reads the secret files nor checks
# that they exist. The check makes a throwaway set anyway, with
# infra/compose/make-secrets.sh (which needs openssl: keys, the local CA and
# Temporal's certificates) and a placeholder Ceph env file, in a temp dir
# (DURE_SECRETS_DIR), and then requires every secret file the resolved file
# names to exist: a secret added to the compose file that the script cannot
# make fails here. ./secrets is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

ms() { date +%s%3N; }
secs() { awk -v d="$1" 'BEGIN{printf "%.1f", d/1000}'; }

t0=$(ms)
if ! command -v docker-compose >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
t1=$(ms)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/secrets"
cat >"$tmp/secrets/ceph.env" <<'ENV'
CEPH_CONF=/etc/ceph/ceph.conf
DURE_CEPH_RGW_ENDPOINT=http://rgw.ci.invalid:7480
DURE_CEPH_ADMIN_ACCESS_KEY=placeholder
DURE_CEPH_ADMIN_SECRET_KEY=placeholder
ENV
# Its errors (openssl missing, say) show; with ceph.env in place it has no
# other complaint.
infra/compose/make-secrets.sh "$tmp/secrets" >/dev/null

# Without the RGW address the file must refuse to resolve.
if env -u DURE_S3_ENDPOINT DURE_SECRETS_DIR="$tmp/secrets" \
  docker-compose -f docker-compose.yaml config -q 2>/dev/null; then
  echo "compose: docker-compose.yaml resolves without DURE_S3_ENDPOINT" >&2
  exit 1
fi

export DURE_SECRETS_DIR="$tmp/secrets" DURE_S3_ENDPOINT=rgw.ci.invalid:7480 DURE_CEPH_CONFIG_DIR="$tmp/ceph"
docker-compose -f docker-compose.yaml config -q
docker-compose -f docker-compose.yaml config >"$tmp/resolved.yaml"
python3 - "$tmp/resolved.yaml" <<'PY'
import os, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
missing = [f"{name}: {s['file']}" for name, s in doc.get("secrets", {}).items()
           if not os.path.isfile(s["file"]) or os.path.getsize(s["file"]) == 0]
if missing:
    sys.exit("compose: secret files nobody makes:\n  " + "\n  ".join(missing))
dure = [n for n, s in doc["services"].items() if "build" in s]
print(f"compose: {len(doc['services'])} services ({len(dure)} built from the Dockerfile), "
      f"{len(doc.get('secrets', {}))} secrets, all secret files made")
PY
t2=$(ms)
echo "compose: docker-compose $(docker-compose version --short); install $(secs $((t1 - t0)))s, check $(secs $((t2 - t1)))s"
