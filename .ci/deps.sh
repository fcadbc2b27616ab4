#!/usr/bin/env bash
# Installs, from Debian's packages, what xdpban's build, tests, demo and
# benchmarks use. Idempotent and non-interactive: it does nothing when
# everything is there already.
set -euo pipefail

packages=(clang llvm bpftool libbpf-dev fail2ban openssl nftables iptables iproute2 util-linux make python3-pyinotify systemd)
commands=(clang-14 llvm-strip bpftool fail2ban-server fail2ban-regex openssl nft iptables ip nsenter make systemd-analyze)

missing=0
for c in "${commands[@]}"; do
	command -v "$c" >/dev/null 2>&1 || missing=1
done
[[ -e /usr/include/bpf/bpf_helpers.h ]] || missing=1
/usr/bin/python3 -c 'import pyinotify' 2>/dev/null || missing=1
if [[ $missing == 0 ]]; then
	exit 0
fi

if [[ $(id -u) != 0 ]]; then
	echo "deps: missing packages; run as root (make deps) to install: ${packages[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
