#!/usr/bin/env bash
# A self-contained xdpban lab: two throw-away network namespaces joined by a
# veth pair (198.18.0.0/15, reserved for benchmarks), a TCP service on
# 6619 on the server side, and xdpban attached to the server's veth. It
# shows a ban taking effect at XDP and expiring in the kernel, then removes
# everything — also when interrupted.
set -euo pipefail

bin=${1:-bin/xdpban}
bin=$(realpath "$bin")
[[ $(id -u) == 0 ]] || { echo "demo: run as root (sudo make demo)"; exit 1; }

id=$$
srv=xdpban-demo-srv-$id
cli=xdpban-demo-cli-$id
pin=/sys/fs/bpf/xdpban-demo-$id
log=$(mktemp -d)
pids=()

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	"$bin" detach --pin-dir "$pin" >/dev/null 2>&1
	ip netns del "$cli" 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	rm -rf "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_srv() { nsenter --net="/run/netns/$srv" -- "$@"; }
in_cli() { nsenter --net="/run/netns/$cli" -- "$@"; }
# connect reports whether a TCP connection from the attacker gets through.
connect() {
	if in_cli timeout 1 bash -c 'exec 3<>/dev/tcp/198.18.0.1/6619' 2>/dev/null; then
		echo "   attacker -> 198.18.0.1:6619: connected"
	else
		echo "   attacker -> 198.18.0.1:6619: no answer (SYN dropped)"
	fi
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

step "lab: namespaces $cli (198.18.0.2) and $srv (198.18.0.1), one veth pair"
ip netns add "$srv"
ip netns add "$cli"
ip link add xdemo-c type veth peer name xdemo-s
ip link set xdemo-c netns "$cli"
ip link set xdemo-s netns "$srv"
in_srv ip addr add 198.18.0.1/24 dev xdemo-s
in_srv ip link set xdemo-s up
in_cli ip addr add 198.18.0.2/24 dev xdemo-c
in_cli ip link set xdemo-c up
# Started through nsenter directly (not a shell function), so $! is the
# PID of the process itself and cleanup can end exactly what we started.
nsenter --net="/run/netns/$srv" -- /usr/bin/python3 -m http.server --bind 198.18.0.1 6619 >/dev/null 2>&1 &
pids+=($!)

for _ in $(seq 50); do
	in_cli timeout 1 bash -c 'exec 3<>/dev/tcp/198.18.0.1/6619' 2>/dev/null && break
	sleep 0.1
done

step "xdpban run --iface xdemo-s (XDP on the server's veth)"
nsenter --net="/run/netns/$srv" -- "$bin" run --iface xdemo-s --pin-dir "$pin" --listen "" --sweep-interval 2s >/dev/null 2>"$log/daemon.log" &
pids+=($!)
for _ in $(seq 50); do
	in_srv "$bin" status --pin-dir "$pin" >/dev/null 2>&1 && break
	sleep 0.1
done
sed 's/^/   /' "$log/daemon.log"
connect

step "xdpban ban 198.18.0.2 --duration 8s"
"$bin" ban 198.18.0.2 --duration 8s --pin-dir "$pin" | sed 's/^/   /'
connect
connect
step "xdpban status: the ban and its dropped SYNs"
in_srv "$bin" status --pin-dir "$pin" | sed 's/^/   /'

step "waiting for the ban to expire in the kernel"
sleep 8
connect
in_srv "$bin" status --pin-dir "$pin" | sed 's/^/   /'

step "done: removing the lab"
