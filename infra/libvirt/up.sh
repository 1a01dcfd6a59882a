#!/usr/bin/env bash
# Brings up libvirtd (Debian 12, libvirt 9.0, monolithic daemon) on a machine
# without systemd, for the hypervisor adapter's tests and for single-host dev.
# Safe to run again: it installs only what is missing, leaves a daemon that
# already answers alone, and restarts one that died behind a stale socket.
#
# Environment:
#   WITH_QEMU=1          also install qemu-system-x86 (qemu:///system with TCG VMs)
#   LIBVIRT_WAIT_SECS=10 how long to wait for the daemon to answer
#
# `libvirtd -d` forks before the drivers load and exits 0 even when the daemon
# dies right after, so success here means "a client got an answer", never
# "the start command returned 0".
set -euo pipefail

wait_secs=${LIBVIRT_WAIT_SECS:-10}
run_dir=/run/libvirt
sock=$run_dir/libvirt-sock
pidfile=/run/libvirtd.pid
logpidfile=/run/virtlogd.pid
log=/var/log/libvirt/libvirtd.log

say() { printf 'libvirt/up: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "must run as root (it installs packages and starts system daemons)"
  exit 1
fi

# --- packages ---------------------------------------------------------------
pkgs=()
command -v libvirtd >/dev/null || pkgs+=(libvirt-daemon)
command -v virsh >/dev/null || pkgs+=(libvirt-clients)
command -v xmllint >/dev/null || pkgs+=(libxml2-utils) # virt-xml-validate runs xmllint
if [ "${WITH_QEMU:-0}" = 1 ] && ! command -v qemu-system-x86_64 >/dev/null; then
  pkgs+=(qemu-system-x86)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  say "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101 keeps the maintainer scripts from trying to start services
  # through an init system that is not there; we start the daemons ourselves.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f "$policy"
fi
command -v virt-xml-validate >/dev/null || { say "virt-xml-validate missing after install"; exit 1; }

# --- users, directories, qemu.conf --------------------------------------------
# The qemu driver refuses to load without its user and group, even when every
# VM runs as root; the postinst does not create them everywhere (containers).
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent group libvirt >/dev/null || groupadd -r libvirt
getent passwd libvirt-qemu >/dev/null ||
  useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
mkdir -p /var/log/libvirt /var/lib/libvirt /var/cache/libvirt "$run_dir"

# Without systemd there is no AppArmor/SELinux label service and no per-VM
# user switching worth having on a CI box: run QEMU as root, no security driver.
# Each key is set in place (or appended) so a packaged qemu.conf keeps its
# comments and a second run changes nothing.
set_conf() { # file key value
  local file=$1 key=$2 value=$3
  if grep -Eq "^[[:space:]]*${key}[[:space:]]*=" "$file"; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*|${key} = ${value}|" "$file"
  else
    printf '%s = %s\n' "$key" "$value" >>"$file"
  fi
}
mkdir -p /etc/libvirt
qemu_conf=/etc/libvirt/qemu.conf
[ -f "$qemu_conf" ] || : >"$qemu_conf"
set_conf "$qemu_conf" user '"root"'
set_conf "$qemu_conf" group '"root"'
set_conf "$qemu_conf" security_driver '"none"'
set_conf "$qemu_conf" remember_owner 0

# --- daemons ----------------------------------------------------------------
# answers: the daemon served an RPC. test+unix goes through the socket to the
# daemon's own test driver, so it works with or without the qemu driver
# (plain test:/// would be served inside virsh and prove nothing).
answers() { virsh -q -c 'test+unix:///default' uri >/dev/null 2>&1; }
# alive PIDFILE NAME: the process named in PIDFILE exists, is NAME, and is not
# a zombie. kill -0 alone is not enough: where PID 1 is not an init that reaps
# orphans (containers, CI sandboxes) a killed daemon lingers as a zombie and
# would block the restart forever.
alive() {
  local pid state
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ] && [ "$state" != X ]
}

if answers; then
  say "libvirtd already answers on $sock"
  exit 0
fi

start=$(date +%s%N)
if ! alive "$logpidfile" virtlogd; then
  rm -f "$logpidfile" "$run_dir/virtlogd-sock" "$run_dir/virtlogd-admin-sock"
  virtlogd -d -p "$logpidfile"
fi
if ! alive "$pidfile" libvirtd; then
  # A socket without a live daemon is left over from a crash or a killed
  # container; libvirtd would refuse to bind it.
  rm -f "$pidfile" "$sock" "$run_dir/libvirt-sock-ro" "$run_dir/libvirt-admin-sock"
  # It exits non-zero only for errors found before it forks (a bad
  # libvirtd.conf); the poll below catches the rest.
  libvirtd -d -p "$pidfile" || say "libvirtd -d exited with status $?"
fi

# Poll until a client gets an answer. A daemon that is gone for a whole second
# (the pidfile appears a moment after `libvirtd -d` returns) died on start:
# stop waiting and show its log.
deadline=$(( $(date +%s) + wait_secs ))
gone=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  if answers; then
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    say "libvirtd answers on $sock after ${ms} ms (pid $(cat "$pidfile" 2>/dev/null || echo ?))"
    exit 0
  fi
  if alive "$pidfile" libvirtd; then gone=0; else gone=$((gone + 1)); fi
  [ "$gone" -ge 20 ] && break
  sleep 0.05
done

say "libvirtd did not come up (waited up to ${wait_secs}s)"
alive "$pidfile" libvirtd && say "process $(cat "$pidfile") is running but silent" || say "the daemon is not running"
[ -f "$log" ] && tail -n 30 "$log" >&2
exit 1
