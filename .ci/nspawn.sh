#!/usr/bin/env bash
# The .deb under a real systemd (issue 14): boots this machine's own
# Debian 12 with its systemd as PID 1 in a container, and inside it
# installs the .deb with dpkg, starts xdpban.service from the installed
# unit (Type=notify: active only after READY=1), bans through the control
# socket, then `dpkg -r` must stop the service and leave the program
# attached with the ban in its pinned map, and `dpkg --purge` must leave
# nothing. Called by .ci/package.sh with the .deb's path, as root, while
# no xdpban is installed on the host (the container's root is an overlay
# of the host's).
#
# The container has no Go toolchain (removed from the copy), as a gateway.
# The container sees only what it was given: a copy-on-write overlay of
# the host root on a tmpfs, a fresh bpffs (its own pins), its own network
# namespace (its interfaces die with it). All three are mounted in a
# private mount namespace that dies with systemd-nspawn, so nothing is
# left behind whatever happens; the trap powers the container off.
set -uo pipefail

deb=${1:?usage: nspawn.sh path/to/xdpban.deb}
[[ $(id -u) == 0 ]] || { echo "nspawn: needs root"; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "nspawn: no systemd-nspawn (make deps: systemd-container)"; exit 1; }

# The container's root is the host's, seen live: a package check running
# meanwhile (another worktree's make test) would install and purge xdpban
# under it. package.sh holds the lock already and says so.
if [[ -z ${XDPBAN_PACKAGE_LOCK_HELD:-} ]]; then
	exec 9>/run/lock/xdpban-package-test.lock
	flock -w 600 9 || { echo "nspawn: another package check holds /run/lock/xdpban-package-test.lock"; exit 1; }
fi
if grep -q 'ok \(installed\|config-files\)' <<<"$(dpkg-query -W -f='${Status}' xdpban 2>/dev/null)"; then
	echo "nspawn: xdpban is installed on this machine, so it would be in the container too"; exit 1
fi

fail=0
bad() { echo "nspawn: $*"; fail=1; }
die() { echo "nspawn: $*"; exit 1; }

tmp=$(mktemp -d /tmp/xdpban-nspawn.XXXXXX)
machine=xdpban-ci-$RANDOM$RANDOM
mkdir "$tmp/ovl" "$tmp/deb" && cp "$deb" "$tmp/deb/xdpban.deb" || exit 1
nspawn= leader=
cleanup() {
	if [[ -n $nspawn ]] && kill -0 "$nspawn" 2>/dev/null; then
		# SIGTERM to systemd-nspawn powers the container off cleanly.
		kill "$nspawn"
		for ((i = 0; i < 200; i++)); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$nspawn" 2>/dev/null
		wait "$nspawn" 2>/dev/null
	fi
	# systemd-nspawn's own scratch directory, left when it is stopped early.
	rm -rf "/run/systemd/nspawn/propagate/$machine"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --volatile=overlay refuses the root directory itself, so the overlay is
# made here. Only the root filesystem is the lower layer, not the mounts
# on it. --keep-unit and --register=no: no systemd or machined on the host
# to ask for a scope. The container boots only to basic.target: nothing
# of the host's own services starts, and systemctl needs no more.
# --system-call-filter=bpf: systemd-nspawn's own seccomp filter, inherited
# by everything the container's systemd starts, denies bpf() (EPERM at the
# first map open) even with --capability=all. The fresh bpffs is bound
# where systemd mounts it on a host, so the unit's RequiresMountsFor= and
# ReadWritePaths= meet the same path.
unshare --mount --propagation private sh -ec '
	root=$1; shift
	mount -t tmpfs -o mode=0755 xdpban-ci "$root"
	mkdir "$root/upper" "$root/work" "$root/root" "$root/bpf"
	mount -t overlay -o lowerdir=/,upperdir="$root/upper",workdir="$root/work" xdpban-ci "$root/root"
	mount -t bpf xdpban-ci "$root/bpf"
	exec systemd-nspawn --quiet --directory="$root/root" --machine="$1" \
		--register=no --keep-unit --link-journal=no --console=pipe \
		--capability=all --system-call-filter=bpf --private-network \
		--bind="$root/bpf:/sys/fs/bpf" --bind-ro="$2:/run/xdpban-ci" \
		--boot -- --unit=basic.target
' nspawn "$tmp/ovl" "$machine" "$tmp/deb" </dev/null >"$tmp/boot.log" 2>&1 &
nspawn=$!

# The container's PID 1 is systemd-nspawn's child.
for ((i = 0; i < 300; i++)); do
	leader=$(pgrep -P "$nspawn" -x systemd 2>/dev/null | head -1)
	[[ -n $leader ]] && break
	kill -0 "$nspawn" 2>/dev/null || break
	sleep 0.1
done
[[ -n $leader ]] || { cat "$tmp/boot.log"; die "the container did not start"; }
inside() { nsenter --target="$leader" --all -- "$@"; }
# Until its systemd answers on its private socket and has finished booting.
# "offline" is also what systemctl says before PID 1 has set up
# /run/systemd/system, early in the boot: wait on, as for "starting".
for ((i = 0; i < 600; i++)); do
	state=$(inside systemctl is-system-running 2>&1)
	[[ $state == @(running|degraded|maintenance|stopping) ]] && break
	kill -0 "$nspawn" 2>/dev/null || break
	sleep 0.1
done
[[ $state == running ]] || { inside systemctl --failed --no-pager; die "container systemd: $state"; }
[[ $(inside readlink /proc/1/exe) == */systemd && $(inside systemctl --version | sed -n 1p) == "systemd 252 "* ]] ||
	die "PID 1 in the container is not systemd 252: $(inside systemctl --version | sed -n 1p)"

# A Docker-built root (as this CI machine's) carries a policy-rc.d that
# forbids maintainer scripts to start or stop any service; a Debian
# install has none, and with it `dpkg -r` could not stop xdpban.
inside rm -f /usr/sbin/policy-rc.d
# The gateway has no Go: remove this machine's toolchain from the copy.
# Only a GOROOT (it holds src/runtime) goes, and the links to it.
inside sh -ec 'for go in $(which -a go); do
	root=$("$go" env GOROOT) && [ -d "$root/src/runtime" ] && rm -rf "$root"
	[ -L "$go" ] && rm -f "$go"
done; true'
inside sh -c 'command -v go' >/dev/null && die "go is still in the container: $(inside sh -c 'command -v go')"
inside dpkg -i /run/xdpban-ci/xdpban.deb >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; die "dpkg -i in the container failed"; }
inside systemctl -q is-enabled xdpban.service && bad "the package enabled xdpban.service"
inside systemctl -q is-active xdpban.service && bad "the package started xdpban.service before it was configured"

# The admin's part: a certificate, an interface, the config.
inside sh -ec '
	cd /etc/xdpban
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=xdpban-ci -keyout key.pem -out cert.pem 2>/dev/null
	cp cert.pem client-ca.pem
	ip link add xci0 type veth peer name xci1
	ip link set xci0 up && ip link set xci1 up
	cat >xdpban.yaml <<CONF
iface: [xci0]
xdp-mode: generic
listen: "127.0.0.1:6619"
cert: [/etc/xdpban/cert.pem]
key: [/etc/xdpban/key.pem]
client-ca: /etc/xdpban/client-ca.pem
backend: "127.0.0.1:3305"
watch-log: []
CONF
' || die "writing the config in the container failed"

# Log-only first (an unprivileged dynamic user, the key handed over as a
# credential): it comes up, then makes way for the XDP unit.
if ! inside timeout 60 systemctl start xdpban-logonly.service; then
	inside journalctl -u xdpban-logonly --no-pager | tail -20
	bad "systemctl start xdpban-logonly failed"
fi
[[ $(inside systemctl is-active xdpban-logonly.service) == active ]] || bad "xdpban-logonly.service is not active after start"
inside timeout 60 systemctl stop xdpban-logonly.service || bad "systemctl stop xdpban-logonly failed"

# The README's command. Type=notify: the start returns only after
# READY=1, and fails without it.
if ! inside timeout 60 systemctl -q enable --now xdpban.service; then
	inside journalctl -u xdpban --no-pager | tail -20
	die "systemctl enable --now xdpban failed"
fi
[[ $(inside systemctl is-active xdpban.service) == active ]] || bad "xdpban.service is not active after start"
st=$(inside xdpban status 2>&1) || bad "xdpban status through /run/xdpban/control.sock failed: $st"
grep -q xci0 <<<"$st" || bad "xdpban status does not show xci0: $st"
inside xdpban ban 198.18.14.9 --duration 1h >/dev/null || bad "xdpban ban through the service failed"
grep -q 198.18.14.9 <<<"$(inside xdpban status 2>&1)" || bad "xdpban status does not list the ban: $(inside xdpban status 2>&1)"
main=$(inside systemctl show -P MainPID xdpban.service)

# An upgrade (here a reinstall) restarts the running daemon: a new process,
# active again, the ban still there (the pins and the ban store outlive it).
inside dpkg -i /run/xdpban-ci/xdpban.deb >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; bad "dpkg -i again failed"; }
[[ $(inside systemctl is-active xdpban.service) == active ]] || bad "xdpban.service not active after the upgrade"
again=$(inside systemctl show -P MainPID xdpban.service)
[[ $again != "$main" && $again != 0 ]] || bad "the upgrade did not restart xdpban (MainPID $main, then $again)"
grep -q 198.18.14.9 <<<"$(inside xdpban status 2>&1)" || bad "the ban is gone after the upgrade: $(inside xdpban status 2>&1)"
main=$again

# Remove: the service stops, the program and the ban stay.
inside dpkg -r xdpban >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; bad "dpkg -r failed"; }
[[ $(inside systemctl is-active xdpban.service) != active ]] || bad "dpkg -r left xdpban.service active"
[[ $main != 0 ]] && inside kill -0 "$main" 2>/dev/null && bad "dpkg -r left the daemon (pid $main) running"
grep -q 'prog/xdp' <<<"$(inside ip link show xci0)" || bad "dpkg -r detached the XDP program: $(inside ip link show xci0)"
bans=$(inside bpftool map dump pinned /sys/fs/bpf/xdpban/xdpban_bans 2>&1 | tr -d ' \n')
[[ $bans == *'"addr":[0,0,0,0,0,0,0,0,0,0,255,255,198,18,14,9]'* ]] || bad "dpkg -r dropped the ban: $bans"

# Purge: detached, nothing of the package left, the unit unknown.
inside dpkg --purge xdpban >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; bad "dpkg --purge failed"; }
grep -q 'prog/xdp' <<<"$(inside ip link show xci0)" && bad "dpkg --purge left the XDP program attached"
# The admin's own files stay (dpkg removes only what it installed), and
# with them /etc/xdpban; the conffile goes.
left=$(inside ls -A /etc/xdpban | tr '\n' ' ')
[[ $left == "cert.pem client-ca.pem key.pem " ]] || bad "after purge /etc/xdpban holds $left, want only the admin's cert.pem client-ca.pem key.pem"
inside rm -r /etc/xdpban
for p in /sys/fs/bpf/xdpban /var/lib/xdpban /var/log/xdpban /run/xdpban /usr/sbin/xdpban \
	/lib/systemd/system/xdpban.service; do
	inside test -e "$p" && bad "dpkg --purge left $p"
done
left=$(inside find /etc /lib /usr /var -xdev -name '*xdpban*' 2>/dev/null)
[[ -z $left ]] || bad "dpkg --purge left $left"
grep -q xdpban <<<"$(inside systemctl list-unit-files --no-legend 'xdpban*' 2>&1)" &&
	bad "systemd still knows xdpban units after purge"

[[ $fail == 0 ]] && echo "nspawn: ok (systemd 252 in a container without Go: installed, log-only unit started, XDP unit enabled and started, status, ban, upgraded (restarted), removed with the ban in force, purged)"
exit $fail
