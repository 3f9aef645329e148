#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make deb: natk's Debian packages, built from a copy of the tree (the
# files git tracks, plus any not yet committed) in build/deb/src so that
# the checkout stays clean:
#   build/deb/natk-dkms_VERSION_all.deb     natk.ko's source, built by DKMS
#   build/deb/natkctl_VERSION_ARCH.deb      natkctl, natk.service, man pages
# Install them on a NAT host with: apt install ./natk-dkms_*.deb ./natkctl_*.deb
# (DKMS needs the kernel headers: linux-headers-amd64 on Debian). Missing
# build dependencies are installed with apt-get when run as root on Debian
# or Ubuntu; otherwise this stops and names them.
# Environment: NATK_DEB_OUT (build/deb), NATK_DEB_LINTIAN=0 (no lintian).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${NATK_DEB_OUT:-$REPO/build/deb}
DEPS=(debhelper dh-dkms libnl-3-dev libnl-genl-3-dev pkg-config dpkg-dev build-essential)

say() { echo "deb: $*"; }
die() { echo "deb: $*" >&2; exit 1; }

missing=()
for p in "${DEPS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
		say "installing build dependencies: ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null ||
			die "apt-get install ${missing[*]} failed"
	else
		die "missing build dependencies: ${missing[*]} (apt-get install them, as root)"
	fi
fi

rm -rf "$OUT"
mkdir -p "$OUT/src"
# git's file list only when the tree is a checkout of its own (not a copy
# inside some other repository's ignored build directory).
if [ "$(git -C "$REPO" rev-parse --show-toplevel 2> /dev/null)" = "$(cd "$REPO" && pwd -P)" ]; then
	(cd "$REPO" && git ls-files -z --cached --others --exclude-standard -- . ':!build' |
		xargs -0 cp --parents -t "$OUT/src" 2> /dev/null) || die "cannot copy the tree to $OUT/src"
else
	(cd "$REPO" && tar --exclude=./build -cf - .) | tar -xf - -C "$OUT/src"
fi
# Files git lists but the work tree deleted are simply not copied.
say "dpkg-buildpackage in $OUT/src (log $OUT/build.log)"
if ! (cd "$OUT/src" && dpkg-buildpackage -us -uc -b) > "$OUT/build.log" 2>&1; then
	tail -n 30 "$OUT/build.log" >&2
	die "dpkg-buildpackage failed (log $OUT/build.log)"
fi
debs=("$OUT"/*.deb)
[ -e "${debs[0]}" ] || die "dpkg-buildpackage made no .deb"
if [ "${NATK_DEB_LINTIAN:-1}" = 1 ] && command -v lintian > /dev/null; then
	lintian --tag-display-limit 0 "$OUT"/*.changes > "$OUT/lintian.txt" 2>&1 || true
	say "lintian: $(grep -c '^E:' "$OUT/lintian.txt") errors, $(grep -c '^W:' "$OUT/lintian.txt") warnings ($OUT/lintian.txt)"
fi
for d in "${debs[@]}"; do say "built $d"; done
