#!/usr/bin/env bash
# Installs, from Debian's packages, what xdpban's build, tests, demo and
# benchmarks use. Idempotent and non-interactive: it does nothing when
# everything is there already.
set -euo pipefail

packages=(clang llvm bpftool libbpf-dev fail2ban openssl nftables iptables iproute2 util-linux make python3-pyinotify systemd logrotate lintian rpm man-db zsh prometheus systemd-container)
commands=(clang-14 llvm-strip bpftool fail2ban-server fail2ban-regex openssl nft iptables ip nsenter make systemd-analyze crowdsec cscli logrotate lintian rpm man zsh promtool systemd-nspawn)

# crowdsec's install script registers with CrowdSec's central API and
# aborts the install when that fails (offline CI). It skips the
# registration when credentials exist, so give it a placeholder: the tests
# run their own Local API on loopback and never talk to the central one.
# The package's own service is of no use to the tests and must not hold
# port 8080 or a second database, so it is stopped and disabled.
install_crowdsec() {
	local creds=/etc/crowdsec/online_api_credentials.yaml
	if ! command -v crowdsec >/dev/null 2>&1; then
		mkdir -p /etc/crowdsec
		if [[ ! -s $creds ]]; then
			printf '# placeholder written by xdpban .ci/deps.sh: no central API\nurl: http://127.0.0.1:1/\nlogin: offline\npassword: offline\n' >"$creds"
		fi
		apt-get install -y -q --no-install-recommends crowdsec
	fi
	if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
		systemctl disable --now crowdsec.service >/dev/null 2>&1 || true
	fi
}

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
install_crowdsec
