#!/usr/bin/env bash
# CI: bring up libvirtd for the hypervisor adapter's tests (activities/hypervisor).
# Run it (as root) before `make test`:  .ci/libvirt.sh
#
# It installs libvirt (and qemu-system-x86, so the qemu:///system tests start a
# real VM and see the host-limit errors for real) and starts the daemons without
# systemd. With CI=true exported for the tests, a missing daemon, validator or
# qemu fails them instead of skipping. WITH_QEMU=0 leaves qemu out; then also
# export DURE_QEMU_TESTS=0, or CI=true fails the qemu:///system tests.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_QEMU="${WITH_QEMU:-1}" infra/libvirt/up.sh
