#!/usr/bin/env bash
# Builds dist/xdpban_<version>_<arch>.deb and/or dist/xdpban-<version>.<arch>.rpm
# from deploy/nfpm.yaml: stages what is generated under dist/stage (the
# static binary, the manual page from `xdpban man`, the Debian changelog)
# once, then runs nfpm per format and prints each package's path.
# Usage: build.sh GIT_VERSION deb|rpm... (make deb, make rpm, .ci/package.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

version=${1:?version, as git describe prints it}
shift
(($# > 0)) || { echo "build.sh: which formats? deb, rpm" >&2; exit 1; }
go=${GO:-go}
export ARCH=${ARCH:-amd64}

# Package versions must start with a digit and hold no '-' (that separates
# the release): v1.2.3 -> 1.2.3, v1.2.3-4-gabc -> 1.2.3+4+gabc, an
# untagged commit 1abc -> 0~git1abc, which sorts before any release.
pkg=${version#v}
[[ $pkg =~ ^[0-9]+\.[0-9] ]] || pkg=0~git$pkg
export PKG_VERSION=${pkg//-/+}
export PKG_RELEASE=1

stage=dist/stage
rm -rf "$stage"
mkdir -p "$stage"
CGO_ENABLED=0 GOOS=linux GOARCH=$ARCH "$go" build -trimpath \
	-ldflags "-s -w -X main.version=$version" -o "$stage/xdpban" ./cmd/xdpban
"$stage/xdpban" man | gzip -9n >"$stage/xdpban.8.gz"

# One entry: an untagged build's changes are the repository's history.
maintainer=$(sed -n 's/^maintainer: //p' deploy/nfpm.yaml)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
cat >"$stage/changelog.Debian" <<CHANGES
xdpban ($PKG_VERSION-$PKG_RELEASE) unstable; urgency=medium

  * xdpban $version.
    Built from commit $commit
    of https://github.com/xdpban/xdpban; the changes are its history.

 -- $maintainer  $date
CHANGES
gzip -9n "$stage/changelog.Debian"

for format in "$@"; do
	case $format in
	deb) out=dist/xdpban_${PKG_VERSION}-${PKG_RELEASE}_${ARCH}.deb ;;
	rpm)
		case $ARCH in
		amd64) rpmarch=x86_64 ;;
		arm64) rpmarch=aarch64 ;;
		*) rpmarch=$ARCH ;;
		esac
		out=dist/xdpban-${PKG_VERSION}-${PKG_RELEASE}.$rpmarch.rpm
		;;
	*) echo "build.sh: unknown format $format (deb or rpm)" >&2; exit 1 ;;
	esac
	rm -f dist/xdpban[_-]*."$format"
	"$go" tool nfpm package --config deploy/nfpm.yaml --packager "$format" --target "$out" >&2
	echo "$out"
done
