#!/usr/bin/env bash
# Runs the whole test suite: make lint, staleness of the generated
# BPF bindings, and every Go test including the kernel and namespace ones.
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

log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -count=1 -race -v -timeout 15m ./... >"$log" 2>&1
status=$?
# Keep the console readable: package results, failures and skips only.
grep -E '^(ok|FAIL|---|panic:|\?|[[:space:]]+--- (FAIL|SKIP))|_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' || true
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
