#!/usr/bin/env bash
# The xdpban demo (`make demo`, as root): a self-contained lab on this machine.
#
#   partner 198.18.0.3 ─┐                         ┌─ xdpban run (XDP on the veth,
#                       ├── veth ── 198.18.0.1 ───┤   TLS listener on 6619)
#   attacker 198.18.0.2 ┘                         └─ echo backend 127.0.0.1:7000
#
# Two throw-away network namespaces joined by a veth pair (198.18.0.0/15 is
# reserved for benchmarks, so nothing real is touched), certificates made
# with openssl in a temp dir, an echo backend standing in for the OFTP2
# server, and xdpban in front of it. Then, step by step: a partner with a
# certificate is served, an attacker fails three handshakes, the fail2ban
# log and `xdpban status` show the ban, the attacker's SYNs are dropped at
# XDP while the partner is still served, and the ban expires. Everything is
# removed at the end, also when interrupted.
set -euo pipefail

bin=${1:-bin/xdpban}
bin=$(realpath "$bin")
[[ $(id -u) == 0 ]] || { echo "demo: run as root (make demo)"; exit 1; }
for tool in openssl python3 nsenter ip; do
	command -v "$tool" >/dev/null || { echo "demo: $tool is missing (make deps installs it)"; exit 1; }
done

id=$$
srv=xdpban-demo-srv-$id
cli=xdpban-demo-cli-$id
sif=xbd-s-$id
cif=xbd-c-$id
pin=/sys/fs/bpf/xdpban-demo-$id
bantime=20
tmp=$(mktemp -d /tmp/xdpban-demo.XXXXXX)
sock=$tmp/control.sock
tlslog=$tmp/tls.log
pids=()

cleanup() {
	set +e
	# A second Ctrl-C (or timeout(1) signalling the whole group) must not
	# cut the cleanup short; every step below ends by itself.
	trap '' INT TERM
	# Only what this script started, by PID; the daemon first (SIGTERM
	# drains it), then the pins it leaves behind on purpose.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null
		wait "${pids[i]}" 2>/dev/null
	done
	[[ -e $pin ]] && "$bin" detach --pin-dir "$pin" >/dev/null
	ip netns del "$cli" 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, removing the lab"; exit 130' INT
trap 'exit 143' TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
indent() { sed 's/^/   /'; }
in_srv() { nsenter --net="/run/netns/$srv" -- "$@"; }
in_cli() { nsenter --net="/run/netns/$cli" -- "$@"; }
xdpban() { in_srv "$bin" "$@" --pin-dir "$pin" --control-socket "$sock"; }
log_lines() { [[ -s $tlslog ]] && wc -l <"$tlslog" || echo 0; }

# syn_probe tells whether a TCP connection from 198.18.0.2 to 6619 is
# accepted; it sends no byte, so it is no failed handshake.
syn_probe() {
	in_cli timeout 5 python3 -c '
import socket
s = socket.socket()
s.bind(("198.18.0.2", 0))
s.settimeout(1)
try:
    s.connect(("198.18.0.1", 6619))
    print("connected")
except OSError:
    print("no answer: SYN dropped")
'
}

# partner sends one line over mTLS with the partner certificate and shows
# what came back through xdpban from the backend.
partner() {
	local reply
	reply=$(echo "hello from ACME GmbH" | in_cli timeout 5 openssl s_client -quiet -verify_return_error \
		-connect 198.18.0.1:6619 -bind 198.18.0.3 -servername demo.test -CAfile "$tmp/ca.pem" \
		-cert "$tmp/partner.pem" -key "$tmp/partner.key" 2>/dev/null) || true
	say "partner 198.18.0.3 sent \"hello from ACME GmbH\", got back: \"${reply:-nothing}\""
}

# attack makes one handshake without a client certificate.
attack() {
	local out why
	# stdin stays open a moment, so s_client reads the server's refusal.
	out=$(sleep 0.5 | in_cli timeout 5 openssl s_client -connect 198.18.0.1:6619 -bind 198.18.0.2 \
		-servername demo.test -CAfile "$tmp/ca.pem" 2>&1) || true
	why=$(grep -o "alert [a-z ]*" <<<"$out" | head -1) || true
	say "attacker 198.18.0.2 handshake $1 without a certificate: refused (${why:-connection closed})"
}

ban_json() { # prints "<remaining seconds> <dropped packets>" of the attacker's ban, or nothing
	xdpban status --json | python3 -c '
import json, sys
for b in json.load(sys.stdin)["bans"]:
    if b["prefix"] == "198.18.0.2/32" and not b.get("expired"):
        print(b["remaining_seconds"], b["packets"])
'
}

# Mounted as systemd mounts it at boot (and as the tests do), when missing.
mountpoint -q /sys/fs/bpf || mount -t bpf -o mode=0700 bpf /sys/fs/bpf

step "1. the lab: namespaces $cli and $srv, one veth pair"
ip netns add "$srv"
ip netns add "$cli"
ip link add "$cif" netns "$cli" type veth peer name "$sif" netns "$srv"
in_srv ip addr add 198.18.0.1/24 dev "$sif"
in_srv ip link set "$sif" up
in_srv ip link set lo up
in_cli ip addr add 198.18.0.2/24 dev "$cif" # attacker
in_cli ip addr add 198.18.0.3/24 dev "$cif" # partner
in_cli ip link set "$cif" up
say "server 198.18.0.1 on $sif; attacker 198.18.0.2 and partner 198.18.0.3 on $cif"

step "2. certificates (openssl): a CA, the server's, the partner's"
(
	cd "$tmp"
	ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	openssl req -x509 "${ec[@]}" -days 1 -subj "/CN=xdpban demo CA" -keyout ca.key -out ca.pem \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
	openssl req "${ec[@]}" -subj "/CN=demo.test" -keyout server.key -out server.csr
	printf 'subjectAltName=DNS:demo.test,IP:198.18.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile server.ext -out server.pem
	openssl req "${ec[@]}" -subj "/O=ACME GmbH/CN=ACME GmbH" -keyout partner.key -out partner.csr
	printf 'extendedKeyUsage=clientAuth\n' >partner.ext
	openssl x509 -req -in partner.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile partner.ext -out partner.pem
) 2>/dev/null
say "in $tmp: ca.pem, server.pem (198.18.0.1), partner.pem (CN=ACME GmbH)"

step "3. an echo backend (stands in for the OFTP2 server) and xdpban in front of it"
# Background processes start through nsenter directly (not a shell
# function), so $! is the process itself and cleanup ends exactly it.
nsenter --net="/run/netns/$srv" -- python3 -c '
import socketserver
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"echo: " + self.rfile.readline())
socketserver.TCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", 7000), Echo).serve_forever()
' &
pids+=($!)
for _ in $(seq 100); do
	in_srv python3 -c 'import socket; socket.create_connection(("127.0.0.1", 7000), 1)' 2>/dev/null && break
	sleep 0.1
done
nsenter --net="/run/netns/$srv" -- "$bin" run --iface "$sif" --listen 198.18.0.1:6619 \
	--cert "$tmp/server.pem" --key "$tmp/server.key" --client-ca "$tmp/ca.pem" --backend 127.0.0.1:7000 \
	--fail2ban-log "$tlslog" --state-dir "$tmp/state" --pin-dir "$pin" --control-socket "$sock" \
	--maxretry 3 --findtime 10m --bantime "$bantime" --sweep-interval 2s 2>"$tmp/daemon.log" &
pids+=($!)
say "xdpban run --iface $sif --listen 198.18.0.1:6619 --backend 127.0.0.1:7000 \\"
say "           --maxretry 3 --findtime 10m --bantime ${bantime}s ..."
for _ in $(seq 100); do
	xdpban status >/dev/null 2>&1 && grep -q 'xdpban running' "$tmp/daemon.log" && break
	kill -0 "${pids[-1]}" 2>/dev/null || { cat "$tmp/daemon.log"; exit 1; }
	sleep 0.1
done
grep -E 'xdp attached|xdpban running' "$tmp/daemon.log" | indent || true

step "4. a partner with a certificate is served"
partner

step "5. an attacker without a certificate fails three handshakes"
for i in 1 2 3; do
	before=$(log_lines)
	attack "$i"
	for _ in $(seq 50); do (($(log_lines) > before)) && break; sleep 0.1; done
done

step "6. the fail2ban log ($tlslog), as OS4X writes it"
indent <"$tlslog"
say ""
say "xdpban's own log:"
grep 'msg=ban ' "$tmp/daemon.log" | indent || true

step "7. xdpban status"
xdpban status | indent

step "8. the attacker's SYNs are dropped at XDP; the ban's counter rises"
read -r _ drops < <(ban_json) || true
say "dropped packets for 198.18.0.2 so far: ${drops:-0} (the rest of its third connection)"
for i in 1 2 3; do say "connect $i: $(syn_probe)"; done
read -r _ drops < <(ban_json) || true
say "dropped packets for 198.18.0.2: ${drops:-0} (each unanswered connect retransmits its SYN)"

step "9. the partner is still served"
partner

step "10. the ban expires after ${bantime}s (in the kernel, by itself)"
while read -r left _ < <(ban_json) && [[ -n ${left:-} ]]; do
	printf '\r   %2ss left ' "$left"
	sleep 1
done
printf '\r   ban expired      \n'
say "connect: $(syn_probe)"
xdpban status | grep -E 'Currently banned|Banned IP list|packets:' | indent || true

step "done: removing the lab (namespaces, XDP program, pins, temp dir)"
