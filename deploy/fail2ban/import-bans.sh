#!/bin/sh
# Carry fail2ban's bans in force over to xdpban, each for the time it has
# left, before the fail2ban jail is disabled:
#
#   sh import-bans.sh [JAIL]        (default jail: os4x)
#
# Run it as a user that may talk to both (root). It reads
# `fail2ban-client get JAIL banip --with-time`; permanent bans stay
# permanent. XDPBAN and FAIL2BAN_CLIENT name other commands to call.
set -eu
jail=${1:-os4x}
xdpban=${XDPBAN:-xdpban}
client=${FAIL2BAN_CLIENT:-fail2ban-client}
now=$(date +%s)
# shellcheck disable=SC2086 # FAIL2BAN_CLIENT may carry options (-s SOCKET)
$client get "$jail" banip --with-time |
while read -r ip _start_d _start_t _plus bantime _eq end_d end_t; do
	case $ip in *[!0-9a-fA-F.:]* | '') continue ;; esac
	if [ "$bantime" = -1 ]; then
		"$xdpban" ban "$ip" --duration -1
		continue
	fi
	left=$(( $(date -d "$end_d $end_t" +%s) - now ))
	if [ "$left" -gt 0 ]; then
		"$xdpban" ban "$ip" --duration "$left"
	fi
done
