#!/usr/bin/env bash
# Runs the whole test suite: make lint, staleness of the generated
# BPF bindings, the package checks (.ci/package.sh), and every Go test
# including the kernel and namespace ones.
# As root (always in CI) a skipped test fails the run: the kernel tests
# skip only without privileges, so a skip there means lost coverage.
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
make --no-print-directory lint || fail=1

# The committed BPF object and bindings must be what the pinned clang makes.
if make --no-print-directory generate >/dev/null; then
	if ! git diff --quiet -- internal/xdp/xdpban_bpfel.go internal/xdp/xdpban_bpfel.o; then
		echo "generate: committed bpf2go output is stale; run make generate and commit"
		git diff --stat -- internal/xdp/xdpban_bpfel.go internal/xdp/xdpban_bpfel.o
		fail=1
	fi
else
	echo "generate: failed"; fail=1
fi

# The .deb and .rpm: built, linted, installed, removed and purged here.
if [[ $(id -u) == 0 ]]; then
	.ci/package.sh || fail=1
else
	echo "package: skipped, dpkg -i needs root"
	[[ -z ${CI:-} ]] || fail=1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -count=1 -race -v -timeout 15m ./... >"$log" 2>&1
status=$?

# The privilege tests must give the same answer however bpffs is mounted:
# systemd mounts it 0700, a bare `mount -t bpf` (and the kernel default)
# 1777. Each mode gets a fresh mount in a private mount namespace, so the
# machine's own mount is left as it is. Only these tests depend on the
# mode, so only they run twice; the rest would double the run's time.
if [[ $(id -u) == 0 ]]; then
	for mode in 0700 1777; do
		echo "=== bpffs mode $mode: privilege tests" >>"$log"
		unshare --mount --propagation private -- sh -c \
			"mount -t bpf -o mode=$mode bpf /sys/fs/bpf && exec go test -count=1 -race -v -timeout 5m \
			-run '^(TestWithoutPrivilegesSaysWhatToGrant|TestRunsWithTheUnitCapabilities)\$' ./cmd/xdpban" >>"$log" 2>&1 || status=1
	done
fi
# Keep the console readable: package results, failures and skips only.
grep -E '^(ok|FAIL|---|panic:|\?|=== bpffs|[[:space:]]+--- (FAIL|SKIP))|_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' || true
if [[ $status != 0 ]]; then
	echo "---- full output of failing packages ----"
	grep -E -B2 -A30 -- '--- FAIL' "$log" | head -400
	fail=1
fi

passed=$(grep -cE -- '--- PASS' "$log")
failed=$(grep -cE -- '--- FAIL' "$log")
skipped=$(grep -cE -- '--- SKIP' "$log")
if [[ $skipped != 0 ]]; then
	grep -E -A1 -- '--- SKIP' "$log"
	if [[ $(id -u) == 0 || -n ${CI:-} ]]; then
		echo "tests were skipped while running as root or in CI: that is a failure"
		fail=1
	fi
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $fail
