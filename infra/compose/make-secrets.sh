#!/usr/bin/env bash
# Writes the secrets docker-compose.yaml mounts, into DIR (default: ./secrets
# at the repository root, which git ignores). A file that already exists is
# kept, so running it again never rotates a key under running services.
#
#   infra/compose/make-secrets.sh [DIR]
#
# It writes:
#   db_password                  password of PostgreSQL user `dure` (dure's metadata
#                                database and Temporal's two databases)
#   postgres_superuser_password  password of PostgreSQL's `postgres` superuser
#   state_key                    hex AES-256 key sealing secrets in the metadata database
#   codec_key                    hex AES-256 key of Temporal workflow payloads
#   replica_admin_token          token the control plane loads models on replicas with
#   replica_client_token         token the gateway classifies on replicas with
#
# It does not write ceph.env: that file comes from the operator's Ceph cluster
# (RGW Admin Ops endpoint and keys, CEPH_CONF; see infra/ceph/README.md).
#
# Files are mode 0644 inside a 0700 directory: compose bind-mounts each file
# as it is, and the containers read it as their own users (dure 10001,
# temporal 1000, postgres 999), so the directory is what keeps other host
# users out.
set -euo pipefail

dir=${1:-"$(cd "$(dirname "$0")/../.." && pwd)/secrets"}
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

hex32() {
  if command -v openssl >/dev/null; then
    openssl rand -hex 32
  else
    head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n'
    echo
  fi
}

write() { # NAME: writes hex32's output to DIR/NAME unless it exists
  local f="$dir/$1"
  if [ -s "$f" ]; then
    echo "kept    $f"
    return
  fi
  hex32 >"$f.tmp"
  chmod 0644 "$f.tmp"
  mv "$f.tmp" "$f"
  echo "wrote   $f"
}

for name in db_password postgres_superuser_password state_key codec_key replica_admin_token replica_client_token; do
  write "$name"
done

if [ ! -s "$dir/ceph.env" ]; then
  cat >&2 <<MSG
missing $dir/ceph.env: copy your Ceph cluster's env file there (CEPH_CONF,
DURE_CEPH_RGW_ENDPOINT, DURE_CEPH_ADMIN_ACCESS_KEY, DURE_CEPH_ADMIN_SECRET_KEY;
see infra/ceph/README.md), with CEPH_CONF=/etc/ceph/ceph.conf, and put ceph.conf
and its keyring in $dir/ceph/ (or set DURE_CEPH_CONFIG_DIR).
MSG
fi
