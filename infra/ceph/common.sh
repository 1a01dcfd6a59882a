# Shared helpers for infra/ceph/up.sh and infra/ceph/down.sh (sourced, not run).
# shellcheck shell=bash

# Daemons of the single-node cluster, in start order. The names are Ceph entity
# names; the pid file of each is $CEPH_DIR/run/<name>.pid (see ceph.conf).
CEPH_DAEMONS=(mon.a mgr.x osd.0 client.rgw.gw)

_ceph_t0_ms=$(date +%s%3N)

# log prints a message with the time since the script started.
log() {
  local now
  now=$(date +%s%3N)
  printf '[%6.1fs] %s\n' "$(awk -v d="$((now - _ceph_t0_ms))" 'BEGIN{print d/1000}')" "$*"
}

die() {
  echo "ceph: $*" >&2
  exit 1
}

# wait_until TIMEOUT_S WHAT CMD...: runs CMD every half second until it succeeds,
# failing after TIMEOUT_S seconds. Every wait in these scripts goes through here so
# that none of them can hang a CI job.
wait_until() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if (($(date +%s) >= deadline)); then
      echo "ceph: timed out after ${timeout}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.5
  done
}

# daemon_pid NAME prints the pid of a running daemon of this cluster, or fails.
# It checks the process's command line too, so a stale pid file whose pid was
# reused by another process is not mistaken for a live daemon.
daemon_pid() {
  local name=$1 pidfile="$CEPH_DIR/run/$1.pid" pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(daemon_binary "$name")" || return 1
  echo "$pid"
}

daemon_binary() {
  case $1 in
  mon.*) echo ceph-mon ;;
  mgr.*) echo ceph-mgr ;;
  osd.*) echo ceph-osd ;;
  client.rgw.*) echo radosgw ;;
  *) return 1 ;;
  esac
}

# port_open PORT succeeds when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
