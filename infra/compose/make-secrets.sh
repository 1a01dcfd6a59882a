#!/usr/bin/env bash
# Writes the secrets docker-compose.yaml mounts, into DIR (default: ./secrets
# at the repository root, which git ignores). A file that already exists is
# kept, so running it again never rotates a key or re-issues a certificate
# under running services. Needs openssl.
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
#   pki/ca.pem, pki/ca-key.pem   a local CA (ECDSA P-256, 10 years) for Temporal's
#                                mutual TLS; its key stays here, no container
#                                mounts it
#   pki/NAME.pem, NAME-key.pem   a certificate of that CA (ECDSA P-256, 1 year,
#                                CN=NAME, O=dure, client auth) for each of:
#       temporal           the frontend `dure temporal` serves (also server auth,
#                          for DNS:temporal, DNS:localhost, IP:127.0.0.1)
#       temporal-internal  the server's own system worker
#       web-ui             the Web UI `dure temporal` serves
#       control-plane, quality-gate, gpu-host, gateway
#                          each Temporal client service's role (both GPU hosts
#                          share gpu-host)
#       operator           the operator CLI on this host (no container mounts it)
#     The frontend takes each caller's CN as its role. To renew a certificate,
#     remove NAME.pem and NAME-key.pem, run this again and restart the service.
#
# It does not write ceph.env: that file comes from the operator's Ceph cluster
# (RGW Admin Ops endpoint and keys, CEPH_CONF; see infra/ceph/README.md).
#
# Files are mode 0644 inside 0700 directories (DIR and DIR/pki): compose
# bind-mounts each file as it is, and the containers read it as their own
# users (dure 10001, postgres 999), so the directories are what keep other
# host users out. The keys no container mounts (ca-key.pem, operator-key.pem)
# are 0600.
set -euo pipefail

if ! command -v openssl >/dev/null; then
  echo "make-secrets: openssl is required (random keys and the certificates of Temporal's mutual TLS); install it and run again" >&2
  exit 1
fi

dir=${1:-"$(cd "$(dirname "$0")/../.." && pwd)/secrets"}
pki="$dir/pki"
umask 077
mkdir -p "$dir" "$pki"
chmod 0700 "$dir" "$pki"

write() { # NAME: writes a random 32-byte hex value to DIR/NAME unless it exists
  local f="$dir/$1"
  if [ -s "$f" ]; then
    echo "kept    $f"
    return
  fi
  openssl rand -hex 32 >"$f.tmp"
  chmod 0644 "$f.tmp"
  mv "$f.tmp" "$f"
  echo "wrote   $f"
}

for name in db_password postgres_superuser_password state_key codec_key replica_admin_token replica_client_token; do
  write "$name"
done

tmp=$(mktemp -d "$pki/.make-secrets.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

ca="$pki/ca.pem"
ca_key="$pki/ca-key.pem"
if [ -s "$ca" ]; then
  echo "kept    $ca"
else
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/ca-key.pem" -out "$tmp/ca.pem" -days 3650 -sha256 \
    -subj "/O=dure/CN=dure compose CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
  chmod 0600 "$tmp/ca-key.pem"
  chmod 0644 "$tmp/ca.pem"
  mv "$tmp/ca-key.pem" "$ca_key"
  mv "$tmp/ca.pem" "$ca"
  echo "wrote   $ca"
fi

issue() { # NAME KEY_MODE [SAN]: a certificate of the CA for CN=NAME unless it exists
  local name=$1 key_mode=$2 san=${3:-} cert="$pki/$1.pem" key="$pki/$1-key.pem"
  if [ -s "$cert" ] && [ -s "$key" ]; then
    if ! openssl verify -CAfile "$ca" "$cert" >/dev/null 2>&1; then
      echo "make-secrets: $cert is not a valid certificate of $ca (another CA, or expired): remove $cert and $key to issue a new one" >&2
      exit 1
    fi
    if [ "$(openssl x509 -in "$cert" -noout -pubkey)" != "$(openssl pkey -in "$key" -pubout)" ]; then
      echo "make-secrets: $key is not the key of $cert: remove both to issue a new pair" >&2
      exit 1
    fi
    if ! openssl x509 -in "$cert" -noout -checkend $((30 * 24 * 3600)) >/dev/null; then
      echo "make-secrets: $cert expires within 30 days: remove it and $key, run this again and restart the services that use it" >&2
    fi
    echo "kept    $cert"
    return
  fi
  if [ ! -s "$ca_key" ]; then
    echo "make-secrets: $ca_key is missing, so $cert cannot be issued: restore the CA key, or remove $pki to start a new CA (then every certificate is new)" >&2
    exit 1
  fi
  local ext="$tmp/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    if [ -n "$san" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid"
  } >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/$name-key.pem" -out "$tmp/$name.csr" -subj "/O=dure/CN=$name" 2>/dev/null
  openssl x509 -req -in "$tmp/$name.csr" -CA "$ca" -CAkey "$ca_key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 \
    -extfile "$ext" -out "$tmp/$name.pem" 2>/dev/null
  chmod 0644 "$tmp/$name.pem"
  chmod "$key_mode" "$tmp/$name-key.pem"
  mv "$tmp/$name-key.pem" "$key"
  mv "$tmp/$name.pem" "$cert"
  echo "wrote   $cert"
}

issue temporal 0644 "DNS:temporal,DNS:localhost,IP:127.0.0.1"
for name in temporal-internal web-ui control-plane quality-gate gpu-host gateway; do
  issue "$name" 0644
done
issue operator 0600

if [ ! -s "$dir/ceph.env" ]; then
  cat >&2 <<MSG
missing $dir/ceph.env: copy your Ceph cluster's env file there (CEPH_CONF,
DURE_CEPH_RGW_ENDPOINT, DURE_CEPH_ADMIN_ACCESS_KEY, DURE_CEPH_ADMIN_SECRET_KEY;
see infra/ceph/README.md), with CEPH_CONF=/etc/ceph/ceph.conf, and put ceph.conf
and its keyring in $dir/ceph/ (or set DURE_CEPH_CONFIG_DIR).
MSG
fi
