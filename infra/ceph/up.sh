#!/usr/bin/env bash
# Boots a single-node Ceph Pacific cluster for development and CI, as root and
# without systemd: 1 mon, 1 mgr, 1 BlueStore OSD backed by a sparse file, and one
# RADOS Gateway (beast) on 127.0.0.1. Then it makes sure the platform's Admin Ops
# user exists and writes DIR/dure-ceph.env for tests and tools to source.
#
# Usage: infra/ceph/up.sh DIR
#
# Idempotent: on a DIR it bootstrapped before, it only starts the daemons that are
# not running and rewrites the env file; a half-finished bootstrap is wiped and
# redone. Nothing here sleeps blindly: every wait polls a condition with a deadline.
#
# Environment (all optional):
#   RGW_PORT=7480            RGW (S3 + Admin Ops) port on 127.0.0.1
#   MON_PORT_V2=3300         monitor msgr2 port
#   MON_PORT_V1=6789         monitor legacy port
#   OSD_SIZE_GB=10           size of the OSD's (sparse) block file
#   CEPH_WAIT_S=180          deadline for each wait
#   CEPH_FRESH=1             wipe DIR and bootstrap a new cluster
#   DURE_CEPH_ADMIN_UID=dure-platform-admin   RGW user for the Admin Ops API
#
# The env file (mode 0600) holds CEPH_CONF, DURE_CEPH_RGW_ENDPOINT,
# DURE_CEPH_ADMIN_ACCESS_KEY and DURE_CEPH_ADMIN_SECRET_KEY (plus DURE_CEPH_DIR,
# DURE_CEPH_ADMIN_UID and DURE_CEPH_RGW_NAME). The keys are never printed.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
CEPH_DIR=$(realpath -m "$1")
# shellcheck source=common.sh
. "$here/common.sh"

RGW_PORT=${RGW_PORT:-7480}
MON_PORT_V2=${MON_PORT_V2:-3300}
MON_PORT_V1=${MON_PORT_V1:-6789}
OSD_SIZE_GB=${OSD_SIZE_GB:-10}
WAIT_S=${CEPH_WAIT_S:-180}
ADMIN_UID=${DURE_CEPH_ADMIN_UID:-dure-platform-admin}
RGW_NAME=client.rgw.gw
ENV_FILE=$CEPH_DIR/dure-ceph.env

export CEPH_CONF=$CEPH_DIR/ceph.conf

[ "$(id -u)" = 0 ] || die "run as root: the daemons run as root, without systemd"

# ceph and radosgw-admin block forever when no monitor answers; bound every call.
c() { timeout 120 ceph --connect-timeout 15 "$@"; }
rgwa() { timeout 120 radosgw-admin "$@"; }

install_packages() {
  local cmd missing=0
  for cmd in ceph-mon ceph-osd ceph-mgr radosgw ceph radosgw-admin ceph-authtool monmaptool uuidgen jq curl; do
    command -v "$cmd" >/dev/null || missing=1
  done
  [ "$missing" = 0 ] && return 0
  log "installing ceph packages (Debian: ceph-mon ceph-osd ceph-mgr radosgw ceph-common)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    ceph-mon ceph-osd ceph-mgr radosgw ceph-common uuid-runtime jq curl >/dev/null
  log "packages installed: $(ceph --version)"
}

write_conf() {
  local fsid=$1
  cat >"$CEPH_CONF" <<EOF
# Single-node development cluster written by infra/ceph/up.sh.
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT_V2,v1:127.0.0.1:$MON_PORT_V1]
public network = 127.0.0.0/8
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $CEPH_DIR/\$name.keyring
run dir = $CEPH_DIR/run
log file = $CEPH_DIR/log/\$name.log
pid file = $CEPH_DIR/run/\$name.pid
# One OSD: every pool has one replica and the CRUSH failure domain is the OSD.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
auth allow insecure global id reclaim = false

# Admin sockets are per daemon: a shared client path would make concurrent
# radosgw-admin runs fight over one socket.
[mon]
admin socket = $CEPH_DIR/run/\$name.asok
mon data = $CEPH_DIR/mon.\$id
mon cluster log file = $CEPH_DIR/log/cluster.log

[mgr]
admin socket = $CEPH_DIR/run/\$name.asok
mgr data = $CEPH_DIR/mgr.\$id

[osd]
admin socket = $CEPH_DIR/run/\$name.asok
osd data = $CEPH_DIR/osd.\$id
osd objectstore = bluestore
bluestore block path = $CEPH_DIR/osd.\$id.block
bluestore block create = true
bluestore block size = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
bluestore fsck on mount = false
# Keep the OSD small on a shared CI machine.
osd memory target = 939524096
osd memory cache min = 134217728
# RGW object names are long; the defaults are for ext4-backed FileStore.
osd max object name len = 460
osd max object namespace len = 64

[$RGW_NAME]
admin socket = $CEPH_DIR/run/\$name.asok
rgw data = $CEPH_DIR/rgw.gw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = localhost
rgw enable usage log = true
# Deleted objects' space comes back after garbage collection, by default two
# hours later: on a 10 GB test OSD that fills with training checkpoints that
# tests already removed. Collect within a minute instead.
rgw gc obj min wait = 60
rgw gc processor period = 60
rgw gc processor max time = 60
EOF
}

start_daemon() {
  local name=$1
  if daemon_pid "$name" >/dev/null; then
    return 0
  fi
  local out=$CEPH_DIR/log/$name.start.log
  case $name in
  mon.*) ceph-mon -i "${name#mon.}" ;;
  mgr.*) ceph-mgr -i "${name#mgr.}" ;;
  osd.*) ceph-osd -i "${name#osd.}" ;;
  client.rgw.*) radosgw -n "$name" ;;
  esac >"$out" 2>&1 || { cat "$out" >&2; die "$name did not start"; }
  # The daemons fork; the pid file appears once the child is running.
  if ! wait_until 30 "$name to write its pid file" daemon_pid "$name"; then
    cat "$out" >&2
    die "$name did not start, see $CEPH_DIR/log/$name.log"
  fi
  log "started $name (pid $(daemon_pid "$name"))"
}

mon_answers() { c mon stat; }
osd_up() { [ "$(c osd stat -f json | jq -r '.num_up_osds')" -ge 1 ]; }
mgr_available() { c mgr stat -f json | jq -e '.available' ; }
rgw_answers() { curl -sf -m 5 -o /dev/null "http://127.0.0.1:$RGW_PORT/"; }

check_ports_free() {
  local p
  for p in "$MON_PORT_V2" "$MON_PORT_V1" "$RGW_PORT"; do
    if port_open "$p"; then
      die "127.0.0.1:$p is already in use (another cluster? stop it with infra/ceph/down.sh ITS_DIR)"
    fi
  done
}

bootstrap() {
  local fsid osd_uuid osd_id
  check_ports_free
  mkdir -p "$CEPH_DIR"/{run,log,mon.a,mgr.x,osd.0,rgw.gw}
  touch "$CEPH_DIR/.dure-ceph"
  fsid=$(uuidgen)
  write_conf "$fsid"

  log "keyrings and monmap"
  ceph-authtool --create-keyring "$CEPH_DIR/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$CEPH_DIR/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$CEPH_DIR/mon.a.keyring" --import-keyring "$CEPH_DIR/client.admin.keyring" >/dev/null
  chmod 600 "$CEPH_DIR"/*.keyring
  monmaptool --create --fsid "$fsid" \
    --addv a "[v2:127.0.0.1:$MON_PORT_V2,v1:127.0.0.1:$MON_PORT_V1]" "$CEPH_DIR/monmap" >/dev/null

  log "mon: mkfs and start"
  ceph-mon --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/mon.a.keyring"
  start_daemon mon.a
  wait_until "$WAIT_S" "the monitor to answer" mon_answers
  log "mon answers"

  c auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
    -o "$CEPH_DIR/mgr.x.keyring" >/dev/null
  start_daemon mgr.x

  log "osd: mkfs (bluestore on a ${OSD_SIZE_GB} GiB sparse file)"
  osd_uuid=$(uuidgen)
  osd_id=$(c osd new "$osd_uuid")
  [ "$osd_id" = 0 ] || die "expected the first OSD to get id 0, got $osd_id"
  ceph-osd -i 0 --mkfs --no-mon-config --osd-uuid "$osd_uuid" --mkkey \
    --keyring "$CEPH_DIR/osd.0.keyring" >"$CEPH_DIR/log/osd-mkfs.log" 2>&1 ||
    die "osd mkfs failed, see $CEPH_DIR/log/osd-mkfs.log"
  c auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$CEPH_DIR/osd.0.keyring" >/dev/null 2>&1 || die "could not register the key of osd.0"
  start_daemon osd.0
  wait_until "$WAIT_S" "the OSD to be up" osd_up
  log "osd up"

  c auth get-or-create "$RGW_NAME" mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
    -o "$CEPH_DIR/$RGW_NAME.keyring" >/dev/null
  chmod 600 "$CEPH_DIR"/*.keyring

  create_realm
  start_daemon "$RGW_NAME"
}

# create_realm puts the default zonegroup and zone in a realm before RGW first
# starts. Without a realm, RGW reads zone and zonegroup placement only at start,
# so every new tenant placement target would need an RGW restart ("period update
# --commit" fails with ENOENT: no realm). With one, "radosgw-admin period update
# --commit" makes the running gateway reload its configuration in place.
create_realm() {
  log "rgw: realm dure, zonegroup default, zone default"
  rgwa realm create --rgw-realm=dure --default >/dev/null
  rgwa zonegroup create --rgw-realm=dure --rgw-zonegroup=default --master --default >/dev/null
  rgwa zone create --rgw-zonegroup=default --rgw-zone=default --master --default >/dev/null
  rgwa period update --commit >/dev/null
}

resume() {
  local name missing=()
  for name in "${CEPH_DAEMONS[@]}"; do
    daemon_pid "$name" >/dev/null || missing+=("$name")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "all daemons already running"
    return 0
  fi
  log "starting stopped daemons: ${missing[*]}"
  for name in "${missing[@]}"; do
    case $name in
    mon.*) port_open "$MON_PORT_V2" && die "monitor port $MON_PORT_V2 is taken by another process" ;;
    client.rgw.*) port_open "$RGW_PORT" && die "RGW port $RGW_PORT is taken by another process" ;;
    esac
    start_daemon "$name"
    [ "$name" = mon.a ] && wait_until "$WAIT_S" "the monitor to answer" mon_answers
  done
  return 0
}

ensure_admin_user() {
  local info
  # radosgw-admin prints the user's keys: capture them, never let them reach a log.
  if ! info=$(rgwa user info --uid "$ADMIN_UID" 2>/dev/null); then
    # Keys are generated by radosgw-admin so they never appear on a command line.
    info=$(rgwa user create --uid "$ADMIN_UID" --display-name "dure platform admin" 2>/dev/null) ||
      die "could not create the RGW admin user $ADMIN_UID"
    log "created RGW admin user $ADMIN_UID"
  fi
  rgwa caps add --uid "$ADMIN_UID" --caps "users=*;buckets=*;metadata=*;usage=*;zone=*" >/dev/null 2>&1 ||
    die "could not grant Admin Ops caps to $ADMIN_UID"
  if [ -z "$(admin_key access_key)" ]; then
    # The user exists without an S3 key of its own (removed by hand): make one.
    info=$(rgwa key create --uid "$ADMIN_UID" --key-type s3 --gen-access-key --gen-secret 2>/dev/null) ||
      die "could not create an S3 key for $ADMIN_UID"
  fi
  ADMIN_ACCESS_KEY=$(admin_key access_key)
  ADMIN_SECRET_KEY=$(admin_key secret_key)
  [ -n "$ADMIN_ACCESS_KEY" ] && [ -n "$ADMIN_SECRET_KEY" ] || die "RGW admin user $ADMIN_UID has no S3 key"
}

# admin_key FIELD prints a field of the admin user's own S3 key from $info.
admin_key() {
  printf '%s' "$info" | jq -r --arg u "$ADMIN_UID" --arg f "$1" \
    '[.keys[] | select(.user == $u)][0][$f] // empty'
}

write_env() {
  local tmp
  tmp=$(umask 077 && mktemp "$CEPH_DIR/.dure-ceph.env.XXXXXX")
  cat >"$tmp" <<EOF
# Written by infra/ceph/up.sh; source it (set -a; . FILE) or let the tests read it.
CEPH_CONF=$CEPH_CONF
DURE_CEPH_DIR=$CEPH_DIR
DURE_CEPH_RGW_ENDPOINT=http://127.0.0.1:$RGW_PORT
DURE_CEPH_RGW_NAME=$RGW_NAME
DURE_CEPH_ADMIN_UID=$ADMIN_UID
DURE_CEPH_ADMIN_ACCESS_KEY=$ADMIN_ACCESS_KEY
DURE_CEPH_ADMIN_SECRET_KEY=$ADMIN_SECRET_KEY
EOF
  mv "$tmp" "$ENV_FILE"
}

install_packages
boot_start=$(date +%s%3N)

# One up.sh per cluster at a time; the lock sits beside DIR, which may be wiped.
mkdir -p "$(dirname "$CEPH_DIR")"
exec 9>"$CEPH_DIR.lock"
flock -w "$WAIT_S" 9 || die "another up.sh holds $CEPH_DIR.lock"

if [ "${CEPH_FRESH:-0}" = 1 ] || [ ! -f "$CEPH_DIR/.bootstrapped" ]; then
  if [ -e "$CEPH_DIR" ] && [ -n "$(ls -A "$CEPH_DIR")" ]; then
    # Only ever wipe a directory this script made.
    [ -f "$CEPH_DIR/.dure-ceph" ] || die "$CEPH_DIR is not empty and was not made by $0; refusing to wipe it"
    log "wiping $CEPH_DIR (unfinished bootstrap or CEPH_FRESH=1)"
    "$here/down.sh" "$CEPH_DIR" >/dev/null
    rm -rf "$CEPH_DIR"
  fi
  mode=bootstrap
  bootstrap
else
  mode=resume
  resume
fi

wait_until "$WAIT_S" "the RADOS Gateway to answer on 127.0.0.1:$RGW_PORT" rgw_answers
log "rgw answers on 127.0.0.1:$RGW_PORT"
wait_until "$WAIT_S" "the manager to be available" mgr_available
wait_until "$WAIT_S" "the OSD to be up" osd_up
touch "$CEPH_DIR/.bootstrapped"

ensure_admin_user
write_env
log "ready ($mode) in $(awk -v d="$(($(date +%s%3N) - boot_start))" 'BEGIN{printf "%.1f", d/1000}')s; env file: $ENV_FILE"
c health || true
