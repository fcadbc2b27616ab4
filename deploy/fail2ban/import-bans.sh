#!/bin/sh
# Carry fail2ban's bans in force over to xdpban, each for the time it has
# left, before the fail2ban jail is disabled:
#
#   sh import-bans.sh [JAIL]        (default jail: os4x)
#
# Run it as a user that may talk to both (root). It reads
# `fail2ban-client get JAIL banip --with-time`; permanent bans stay
# permanent. A ban xdpban refuses (one covering an ignoreip address, say)
# is reported and the others are still carried over; the exit status is 1
# if any was refused. XDPBAN and FAIL2BAN_CLIENT name other commands to call.
set -eu
jail=${1:-os4x}
xdpban=${XDPBAN:-xdpban}
client=${FAIL2BAN_CLIENT:-fail2ban-client}
now=$(date +%s)
# shellcheck disable=SC2086 # FAIL2BAN_CLIENT may carry options (-s SOCKET)
list=$($client get "$jail" banip --with-time)
status=0
while read -r ip _start_d _start_t _plus bantime _eq end_d end_t; do
	case $ip in *[!0-9a-fA-F.:]* | '') continue ;; esac
	if [ "$bantime" = -1 ]; then
		duration=-1
	else
		duration=$(( $(date -d "$end_d $end_t" +%s) - now ))
		[ "$duration" -gt 0 ] || continue
	fi
	"$xdpban" ban "$ip" --duration "$duration" || status=1
done <<LIST
$list
LIST
exit "$status"
