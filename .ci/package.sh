#!/usr/bin/env bash
# The package checks of make test (issue 14): build the .deb and .rpm from
# deploy/nfpm.yaml, lintian, then on this machine dpkg -i, the installed
# unit, binary, man page and completion, a daemon run from the installed
# binary, `dpkg -r` (the pinned program and its bans stay), `dpkg --purge`
# (detached, state gone, not one file of the package left). As root. The
# trap removes everything it made, also on failure; it never starts a
# unit on this machine, and it refuses to run where xdpban is installed or
# in use. Last, .ci/nspawn.sh runs the same .deb under a real systemd in a
# container: start from the unit, ban, remove, purge.
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
bad() { echo "package: $*"; fail=1; }
die() { echo "package: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (dpkg -i); run make test as root"
# One run at a time on the machine: dpkg has one database.
exec 9>/run/lock/xdpban-package-test.lock
flock -w 600 9 || die "another package check holds /run/lock/xdpban-package-test.lock"

pins=/sys/fs/bpf/xdpban
if grep -q installed <<<"$(dpkg-query -W -f='${Status}' xdpban 2>/dev/null)"; then
	die "xdpban is installed on this machine; not touching it (dpkg --purge xdpban first)"
fi
for p in "$pins" /etc/xdpban /var/lib/xdpban /var/log/xdpban /run/xdpban; do
	[[ ! -e $p ]] || die "$p exists: an xdpban is in use here; not touching it"
done

tmp=$(mktemp -d /tmp/xdpban-package.XXXXXX)
ns=xdpban-pkg-$RANDOM$RANDOM
veth=xpk${RANDOM}
daemon=
cleanup() {
	exec 8<&-
	[[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	if grep -q 'ok \(installed\|config-files\)' <<<"$(dpkg-query -W -f='${Status}' xdpban 2>/dev/null)"; then
		dpkg --purge xdpban >/dev/null 2>&1
	fi
	# Made by this run (checked absent above), whatever purge left.
	rm -rf "$pins" /etc/xdpban /var/lib/xdpban /var/log/xdpban
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Names of the package's kind in the trees it installs to, before and after.
snapshot() {
	find /etc /lib /usr /var -xdev -path /var/tmp -prune -o -path /var/cache -prune \
		-o -name '*xdpban*' -print 2>/dev/null | sort
}
snapshot >"$tmp/before"

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
# make deb and make rpm in one go: one binary, staged once.
deploy/package/build.sh "$version" deb rpm >"$tmp/built" 2>"$tmp/build.log"
deb=$(sed -n 1p "$tmp/built") rpmfile=$(sed -n 2p "$tmp/built")
[[ -f $deb ]] || { cat "$tmp/build.log"; die "build.sh made no .deb"; }

# lintian: no error; the warnings kept (README "Install") and nothing else.
lintian --pedantic "$deb" >"$tmp/lintian" 2>/dev/null
kept='^W: xdpban: (initial-upload-closes-no-bugs \[usr/share/doc/xdpban/changelog.Debian.gz:1\]|non-standard-dir-perm 0700 != 0755 \[etc/xdpban/\]|non-standard-file-perm 0600 != 0644 \[etc/xdpban/xdpban.yaml\])$'
if [[ -n $(grep -vE "$kept" "$tmp/lintian") ]]; then
	bad "lintian reports more than the kept warnings:"; grep -vE "$kept" "$tmp/lintian"
fi

# The .rpm from the same file: what rpm itself reads from it.
if [[ -f $rpmfile ]]; then
	rpm -qlp "$rpmfile" 2>/dev/null >"$tmp/rpm.list"
	for f in /usr/sbin/xdpban /usr/lib/systemd/system/xdpban.service /etc/xdpban/xdpban.yaml \
		/usr/share/man/man8/xdpban.8.gz /usr/share/zsh/site-functions/_xdpban /usr/share/licenses/xdpban/LICENSE; do
		grep -qx "$f" "$tmp/rpm.list" || bad "rpm lacks $f"
	done
	grep -qx /etc/xdpban/xdpban.yaml <<<"$(rpm -qcp "$rpmfile" 2>/dev/null)" || bad "rpm: xdpban.yaml is not a config file"
	grep -q 'preuninstall scriptlet' <<<"$(rpm -qp --scripts "$rpmfile" 2>/dev/null)" || bad "rpm has no %preun"
	# rpm installs and erases it in a throw-away root (scriptlets off:
	# there is no shell in that root; they are the .deb's, checked below).
	root=$tmp/rpmroot
	mkdir -p "$root" && rpm --root "$root" --initdb 2>/dev/null
	if rpm --root "$root" -i --nodeps --noscripts --ignoreos "$rpmfile" 2>/dev/null; then
		while read -r f; do [[ -e $root$f ]] || bad "rpm did not install $f"; done <"$tmp/rpm.list"
		[[ $(stat -c %a "$root/etc/xdpban/xdpban.yaml") == 600 ]] || bad "rpm: xdpban.yaml is not 0600"
		[[ $("$root/usr/sbin/xdpban" version) == "xdpban $version "* ]] || bad "rpm: xdpban version"
		rpm --root "$root" -e --noscripts xdpban 2>/dev/null || bad "rpm -e failed"
		left=$(find "$root" -type f -not -path "$root/root/.rpmdb/*" -not -path "$root/var/lib/rpm/*")
		[[ -z $left ]] || bad "rpm -e left $left"
	else
		bad "rpm -i into $root failed"
	fi
else
	cat "$tmp/build.log"; bad "build.sh made no .rpm"
fi

# The copyright file names every Go module linked into the binary.
for m in $(go version -m dist/stage/xdpban | awk '$1 == "dep" { print $2 }'); do
	grep -q "^ *\(Files: \)\?$m\$" deploy/package/copyright || bad "deploy/package/copyright does not name $m"
done
grep -q 'CGO_ENABLED=0' <<<"$(go version -m dist/stage/xdpban)" || bad "binary not built with CGO_ENABLED=0"

# Install.
dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; die "dpkg -i failed"; }
dpkg -L xdpban >"$tmp/files"
out=$(/usr/sbin/xdpban version) || bad "xdpban version failed"
[[ $out == "xdpban $version "* ]] || bad "xdpban version: $out (want $version)"
ldd /usr/sbin/xdpban >/dev/null 2>&1 && bad "/usr/sbin/xdpban is dynamically linked"
[[ $(man -w xdpban 2>&1) == /usr/share/man/man8/xdpban.8.gz ]] || bad "man -w xdpban: $(man -w xdpban 2>&1)"
for unit in xdpban.service xdpban-logonly.service; do
	grep -q '^ExecStart=/usr/sbin/xdpban run ' "/lib/systemd/system/$unit" || bad "$unit does not run /usr/sbin/xdpban"
	v=$(systemd-analyze verify "/lib/systemd/system/$unit" 2>&1) || bad "systemd-analyze verify $unit failed"
	[[ -z $v ]] || bad "systemd-analyze verify $unit: $v"
	[[ ! -e /etc/systemd/system/multi-user.target.wants/$unit ]] || bad "$unit was enabled by the package"
	if [[ -d /run/systemd/system ]] && systemctl -q is-active "$unit"; then bad "$unit was started by the package"; fi
done
conffiles=$(dpkg-query -W -f='${Conffiles}' xdpban)
for f in /etc/xdpban/xdpban.yaml /etc/logrotate.d/xdpban; do
	grep -q " $f " <<<"$conffiles" || bad "$f is not a conffile"
done
for want in "/etc/xdpban 700" "/etc/xdpban/xdpban.yaml 600" "/var/lib/xdpban 700" "/var/log/xdpban 750"; do
	got=$(stat -c '%n %a' "${want% *}" 2>&1)
	[[ $got == "$want" ]] || bad "mode: $got, want $want"
done
grep -q '^/etc/fail2ban' "$tmp/files" && bad "the package installs into /etc/fail2ban"
# README "Migrating" runs it on the gateway, which has no source tree.
[[ -x /usr/share/xdpban/fail2ban/import-bans.sh ]] || bad "the package lacks /usr/share/xdpban/fail2ban/import-bans.sh (executable)"
logrotate -d /etc/logrotate.d/xdpban >"$tmp/logrotate" 2>&1 || { cat "$tmp/logrotate"; bad "logrotate rejects /etc/logrotate.d/xdpban"; }
comp=$(bash -c 'source /usr/share/bash-completion/completions/xdpban
	COMP_WORDS=(xdpban ba); COMP_CWORD=1; _xdpban; echo "${COMPREPLY[*]}"
	COMP_WORDS=(xdpban ban --dur); COMP_CWORD=2; _xdpban; echo "${COMPREPLY[*]}"')
[[ $comp == $'banned ban\n--duration' ]] || bad "bash completion: $comp"
# zsh: compadd and _files stand in for the completion system's.
comp=$(zsh -c 'compadd() { [[ $1 == -a ]] && print -l -- ${(P)2}; }; _files() { print FILES; }
	words=(xdpban ba); CURRENT=2; source /usr/share/zsh/vendor-completions/_xdpban
	words=(xdpban ban --dur); CURRENT=3; source /usr/share/zsh/vendor-completions/_xdpban
	words=(xdpban run --config ""); CURRENT=4; source /usr/share/zsh/vendor-completions/_xdpban' 2>&1)
[[ $comp == *$'\nban\n'*$'\n--duration\nFILES' ]] || bad "zsh completion: $comp"

# The service as its unit starts it, as far as that goes without systemd
# here: the unit's ExecStart, with only the unit's capabilities, after an
# admin's edit of the conffile; on a veth in a namespace of its own, with
# the default pins, state and log directory. Then a ban in force.
ip netns add "$ns" && ip -n "$ns" link add "$veth" type veth peer name "${veth}p" &&
	ip -n "$ns" link set "$veth" up && ip -n "$ns" link set "${veth}p" up || die "namespace setup failed"
cat >/etc/xdpban/xdpban.yaml <<CONF
iface: [$veth]
xdp-mode: generic
listen: ""
metrics: ""
control-socket: $tmp/control.sock
CONF
unit=/lib/systemd/system/xdpban.service
read -ra start <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
caps=$(sed -n 's/^AmbientCapabilities=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
[[ ${start[0]} == /usr/sbin/xdpban && -n $caps ]] || die "$unit: ExecStart ${start[*]}, capabilities $caps"
nsenter --net="/run/netns/$ns" setpriv --bounding-set=-all,"$caps" --inh-caps=-all,"$caps" \
	--ambient-caps=-all,"$caps" -- "${start[@]}" >"$tmp/daemon.log" 2>&1 &
daemon=$!
for ((i = 0; i < 300; i++)); do
	[[ -S $tmp/control.sock ]] && break
	kill -0 "$daemon" 2>/dev/null || break
	sleep 0.1
done
[[ -S $tmp/control.sock ]] || { cat "$tmp/daemon.log"; die "the unit's ExecStart did not start: ${start[*]}"; }
/usr/sbin/xdpban ban 198.18.0.9 --duration 1h --control-socket "$tmp/control.sock" >/dev/null || bad "ban through the daemon failed"
kill "$daemon"; wait "$daemon" || { cat "$tmp/daemon.log"; bad "the daemon did not stop cleanly"; }; daemon=

# Reinstall (an upgrade's path): the edited conffile stays as edited.
dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; bad "dpkg -i again failed"; }
grep -q "^iface: \[$veth\]" /etc/xdpban/xdpban.yaml || bad "reinstalling replaced the edited /etc/xdpban/xdpban.yaml"

# Remove: the program stays attached with the ban in force.
dpkg -r xdpban >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; bad "dpkg -r failed"; }
[[ ! -e /usr/sbin/xdpban ]] || bad "dpkg -r left /usr/sbin/xdpban"
grep -q 'xdp' <<<"$(ip -n "$ns" link show "$veth")" || bad "dpkg -r detached the XDP program"
bans=$(bpftool map dump pinned "$pins/xdpban_bans" 2>&1 | tr -d ' \n')
[[ $bans == *'"addr":[0,0,0,0,0,0,0,0,0,0,255,255,198,18,0,9]'* ]] || bad "dpkg -r dropped the ban: $bans"

# Purge while something holds the pin directory's lock, as a running
# daemon does: the postrm keeps pins and state and says so.
exec 8<"$pins" && flock -n 8 || die "cannot lock $pins"
msg=$(/var/lib/dpkg/info/xdpban.postrm purge 2>&1) || bad "postrm purge failed under a held lock: $msg"
exec 8<&-
[[ $msg == *"held by a running xdpban"* && -d $pins && -d /var/lib/xdpban ]] ||
	bad "postrm purge under a held lock: $msg; pins $(ls -d "$pins" 2>&1), state $(ls -d /var/lib/xdpban 2>&1)"

# Purge: detached, pins, state and logs gone, and no file of the package.
dpkg --purge xdpban >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; bad "dpkg --purge failed"; }
grep -q 'xdp' <<<"$(ip -n "$ns" link show "$veth")" && bad "dpkg --purge left the XDP program attached"
for p in "$pins" /etc/xdpban /var/lib/xdpban /var/log/xdpban /run/xdpban; do
	[[ ! -e $p ]] || bad "dpkg --purge left $p"
done
while read -r f; do
	# Shared directories (/usr/sbin, /etc/logrotate.d, ...) stay.
	[[ -e $f && ! -d $f ]] && bad "dpkg --purge left $f"
done <"$tmp/files"
snapshot >"$tmp/after"
if ! diff "$tmp/before" "$tmp/after" >"$tmp/diff"; then
	bad "files of xdpban left after purge:"; cat "$tmp/diff"
fi

# PID 1 here need not be systemd: the unit itself is started, and stopped
# by `dpkg -r`, inside a container booting this machine's systemd.
XDPBAN_PACKAGE_LOCK_HELD=1 .ci/nspawn.sh "$deb" || bad "the .deb under systemd failed (.ci/nspawn.sh)"

if [[ $fail == 0 ]]; then
	echo "package: ok ($deb and $rpmfile; lintian $(grep -c '^W:' "$tmp/lintian") kept warnings; installed, verified, removed, purged; under systemd: started, banned, removed, purged)"
fi
exit $fail
