#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Vendors the libbpf headers (and the two UAPI headers they need) that
# bpf/xdpban.c compiles against, so `make generate` gives the same object
# on every machine with the pinned clang. The versions are pinned here: run
# this script only on a machine with exactly these Debian packages, and
# commit the result together with a change of the pins.
set -euo pipefail

LIBBPF_VERSION="1:1.1.2-0+deb12u1"   # Debian 12 libbpf-dev (libbpf v1.1.2)
UAPI_VERSION="6.1."                  # Debian 12 linux-libc-dev, any 6.1.x

here="$(cd "$(dirname "$0")" && pwd)"

have_libbpf="$(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null || true)"
have_uapi="$(dpkg-query -W -f='${Version}' linux-libc-dev 2>/dev/null || true)"
if [[ "$have_libbpf" != "$LIBBPF_VERSION" ]]; then
	echo "update.sh: need libbpf-dev $LIBBPF_VERSION, have '${have_libbpf:-none}' (apt-get install libbpf-dev=$LIBBPF_VERSION)" >&2
	exit 1
fi
if [[ "$have_uapi" != "$UAPI_VERSION"* ]]; then
	echo "update.sh: need linux-libc-dev ${UAPI_VERSION}x, have '${have_uapi:-none}'" >&2
	exit 1
fi

mkdir -p "$here/bpf" "$here/linux"
for h in bpf_helpers.h bpf_helper_defs.h bpf_endian.h; do
	install -m 0644 "/usr/include/bpf/$h" "$here/bpf/$h"
done
for h in bpf.h bpf_common.h; do
	install -m 0644 "/usr/include/linux/$h" "$here/linux/$h"
done
# libbpf is dual licensed LGPL-2.1 OR BSD-2-Clause; keep Debian's copyright
# file, which carries both texts, next to the headers.
install -m 0644 /usr/share/doc/libbpf-dev/copyright "$here/LICENSE.libbpf"
echo "vendored libbpf $LIBBPF_VERSION and linux UAPI $have_uapi into $here"
