#!/usr/bin/env bash
# device-check.sh: check dure's GPU inventory adapter (activities/gpu) against
# the real NVML of an NVIDIA GPU host, in a few minutes. Nothing else needs it.
#
#   infra/gpu/device-check.sh [OUTDIR]
#
# It prints, and saves under OUTDIR (a temporary folder if not given):
#   nvidia-smi.csv, nvidia-smi-q.txt   what the driver's own tool says, if present
#   nvmlcheck.txt                      the inventory as JSON, then the metrics exposition
#   gotest.txt                         the package's tests, the real-NVML one included
# and cross-checks the inventory's GPUs (UUID, PCI address) against nvidia-smi.
# Exits non-zero if any step fails.
#
# Needs the NVIDIA driver, and Go with this module's dependencies in the
# module cache. A host without Go can run prebuilt binaries instead:
#   CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations" go build -o nvmlcheck ./infra/gpu/nvmlcheck
#   CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations" go test -c -o gpu.test ./activities/gpu
#   NVMLCHECK_BIN=./nvmlcheck GPU_TEST_BIN=./gpu.test infra/gpu/device-check.sh
# Other knobs: MIN_GPUS (default 1), GPU_HOST (default hostname),
# REQUIRE_HEALTHY=1 (fail on a degraded GPU), SKIP_GO_TEST=1.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
out=${1:-$(mktemp -d -t dure-gpu-check.XXXXXX)}
mkdir -p "$out" || exit 1
export CGO_ENABLED=1
export CGO_CFLAGS=${CGO_CFLAGS:-"-O2 -g -Wno-deprecated-declarations"}
host=${GPU_HOST:-$(hostname)}

failed=()
step() { printf '\n== %s\n' "$*" >&2; }
fail() { echo "FAIL: $*" >&2; failed+=("$*"); }
# bounded runs a command with a time limit where timeout(1) exists.
bounded() {
	local secs=$1
	shift
	if command -v timeout >/dev/null; then
		timeout "$secs" "$@"
	else
		"$@"
	fi
}

# 1. The driver's own view, for the record and the cross-check.
have_smi=0
if command -v nvidia-smi >/dev/null; then
	have_smi=1
	step "nvidia-smi"
	bounded 60 nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,memory.total,memory.used,utilization.gpu,temperature.gpu,mig.mode.current \
		--format=csv | tee "$out/nvidia-smi.csv" || fail "nvidia-smi --query-gpu"
	if bounded 120 nvidia-smi -q >"$out/nvidia-smi-q.txt"; then
		# A summary: identity, MIG, memory health and why clocks are held down.
		grep -E '^(Driver Version|CUDA Version|Attached GPUs)|^GPU |Product Name|GPU UUID|Bus Id|MIG Mode|^ +(Current|Pending) +:|Remapped Rows|Pending +:|Remapping Failure|Clocks Event Reasons|Clocks Throttle Reasons|Slowdown +: Active|Brake.*: Active|GPU Current Temp' \
			"$out/nvidia-smi-q.txt" | head -n 120
	else
		fail "nvidia-smi -q"
	fi
else
	step "nvidia-smi not found: skipping the driver's own view and the cross-check"
fi

# 2. The inventory and metrics through the adapter.
step "nvmlcheck (host $host)"
args=(-host "$host" -min-gpus "${MIN_GPUS:-1}")
if [[ ${REQUIRE_HEALTHY:-0} == 1 ]]; then
	args+=(-require-healthy)
fi
if [[ -n ${NVMLCHECK_BIN:-} ]]; then
	bounded 300 "$NVMLCHECK_BIN" "${args[@]}" >"$out/nvmlcheck.txt"
else
	bounded 300 go run ./infra/gpu/nvmlcheck "${args[@]}" >"$out/nvmlcheck.txt"
fi
rc=$?
cat "$out/nvmlcheck.txt"
if [[ $rc != 0 ]]; then
	fail "nvmlcheck exited $rc"
fi

# 3. Every GPU nvidia-smi lists is in the inventory, at the same PCI address
# (NVML's 00000000:1B:00.0 becomes 0000:1b:00.0 in the inventory).
if [[ $have_smi == 1 && $rc == 0 ]]; then
	step "cross-check with nvidia-smi"
	n=0
	while IFS=', ' read -r uuid pci; do
		[[ -z $uuid ]] && continue
		n=$((n + 1))
		pci=$(tr '[:upper:]' '[:lower:]' <<<"$pci" | sed -E 's/^0000([0-9a-f]{4}:)/\1/')
		# In the JSON a GPU's pci_bus_id is the line after its uuid.
		if grep -A1 "\"uuid\": \"$uuid\"" "$out/nvmlcheck.txt" | grep -q "\"pci_bus_id\": \"$pci\""; then
			echo "ok   $uuid $pci"
		else
			fail "nvidia-smi lists $uuid at $pci; the inventory does not"
		fi
	done < <(bounded 60 nvidia-smi --query-gpu=uuid,pci.bus_id --format=csv,noheader)
	got=$(grep -c '"uuid": "GPU-' "$out/nvmlcheck.txt")
	if [[ $got != "$n" ]]; then
		fail "inventory lists $got gpus, nvidia-smi $n"
	fi
fi

# 4. The package's tests; TestOpenSystemWithDriver reads the real GPUs here.
if [[ ${SKIP_GO_TEST:-0} != 1 ]]; then
	step "go test activities/gpu"
	if [[ -n ${GPU_TEST_BIN:-} ]]; then
		bounded 300 "$GPU_TEST_BIN" -test.count=1 -test.v >"$out/gotest.txt" 2>&1
	else
		bounded 300 go test -count=1 -v ./activities/gpu/ >"$out/gotest.txt" 2>&1
	fi
	rc=$?
	grep -E '^(--- |ok|FAIL|PASS)|nvml_test.go' "$out/gotest.txt"
	if [[ $rc != 0 ]]; then
		tail -n 40 "$out/gotest.txt" >&2
		fail "go test exited $rc"
	fi
	if ! grep -q -- '--- PASS: TestOpenSystemWithDriver' "$out/gotest.txt"; then
		fail "TestOpenSystemWithDriver did not pass (skipped: no driver seen?)"
	fi
fi

step "results in $out"
if ((${#failed[@]})); then
	printf 'device check FAILED:\n' >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "device check passed" >&2
