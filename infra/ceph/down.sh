#!/usr/bin/env bash
# Stops the daemons of a cluster started by infra/ceph/up.sh DIR, found through
# their pid files (never by process name, so other clusters on the host live on).
#
# Usage: infra/ceph/down.sh DIR [--purge]
#   --purge   also delete DIR (the cluster's data, keyrings and env file)
#
# Stopping keeps the data: up.sh DIR starts the same cluster again.
set -euo pipefail

if [ $# -lt 1 ] || [ -z "$1" ] || { [ $# -eq 2 ] && [ "$2" != --purge ]; } || [ $# -gt 2 ]; then
  echo "usage: $0 DIR [--purge]" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
CEPH_DIR=$(realpath -m "$1")
# shellcheck source=common.sh
. "$here/common.sh"

STOP_WAIT_S=${CEPH_STOP_WAIT_S:-30}
# RGW keeps no state of its own, and on Pacific its SIGTERM shutdown can hang
# after an in-place realm reload (it arms a 120 s alarm): do not wait long.
RGW_STOP_WAIT_S=${CEPH_RGW_STOP_WAIT_S:-10}

# gone PID: the process has exited (a zombie counts: the daemons forked away
# from us, and whatever init reaps them may be slow or never do it).
gone() {
  ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# stop_daemons TIMEOUT NAME...: SIGTERM to all of them at once, then wait for
# each, with SIGKILL after TIMEOUT seconds.
stop_daemons() {
  local timeout=$1 name pid pids=() names=() i
  shift
  for name in "$@"; do
    pid=$(daemon_pid "$name") || continue
    kill -TERM "$pid" 2>/dev/null || continue
    pids+=("$pid")
    names+=("$name")
  done
  for i in "${!pids[@]}"; do
    if ! wait_until "$timeout" "${names[i]} (pid ${pids[i]}) to exit" gone "${pids[i]}"; then
      echo "ceph: killing ${names[i]} (pid ${pids[i]})" >&2
      kill -KILL "${pids[i]}" 2>/dev/null || true
      wait_until 10 "${names[i]} (pid ${pids[i]}) to die" gone "${pids[i]}" || true
    fi
    log "stopped ${names[i]}"
  done
}

if [ -d "$CEPH_DIR/run" ]; then
  # The monitor last: the other daemons talk to it while shutting down.
  stop_daemons "$RGW_STOP_WAIT_S" client.rgw.gw
  stop_daemons "$STOP_WAIT_S" osd.0 mgr.x
  stop_daemons "$STOP_WAIT_S" mon.a
fi

if [ "${2:-}" = --purge ] && [ -d "$CEPH_DIR" ]; then
  [ -f "$CEPH_DIR/.dure-ceph" ] || die "$CEPH_DIR was not made by up.sh; refusing to delete it"
  rm -rf "$CEPH_DIR"
  rm -f "$CEPH_DIR.lock"
  log "deleted $CEPH_DIR"
fi
