#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host suite for make check: the Debian packages of `make deb`
# (scripts/deb.sh, debian/), built into a temporary directory and read
# the way dpkg and DKMS will:
#   deb-build                 scripts/deb.sh builds natk-dkms and natkctl
#   deb-lintian               lintian: no error, no warning
#   deb-version               both packages carry kmod/main.c's version
#   deb-natkctl-files         natkctl, natk-start/stop, the three units,
#                             /etc/natk.conf, both man pages, completion
#   deb-natkctl-paths         no @PLACEHOLDER@ left; the unit runs
#                             /usr/libexec/natk/natk-start, which runs
#                             /usr/sbin/natkctl
#   deb-natkctl-conffile      /etc/natk.conf is the one conffile, and the
#                             commented example
#   deb-natkctl-depends       libnl and kmod; no compiler, no dkms
#   deb-natkctl-not-enabled   installing enables and starts nothing
#   deb-natkctl-upgrade       an upgrade does not stop natk.service (its
#                             flows live on); removing natkctl stops it
#   deb-natkctl-runs          the packaged natkctl runs and says its version
#   deb-dkms-files            /usr/src/natk-VERSION holds exactly the
#                             module's sources (no KUnit, no tests)
#   deb-dkms-conf             dkms.conf with the version filled in
#   deb-dkms-depends          natk-dkms depends on dkms
#   deb-dkms-builds           dkms (private trees) builds natk.ko from the
#                             packaged source for the newest kernel with
#                             headers, with the right version and vermagic
# Installing, rebooting on, upgrading and removing the packages is
# make check-reboot's (tests/reboot/).
set -uo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$HERE/.." && pwd)
TMP=$(mktemp -d /var/tmp/natk-deb.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "PLAN deb-build deb-lintian deb-version deb-natkctl-files deb-natkctl-paths" \
	"deb-natkctl-conffile deb-natkctl-depends deb-natkctl-not-enabled" \
	"deb-natkctl-upgrade deb-natkctl-runs deb-dkms-files deb-dkms-conf" \
	"deb-dkms-depends deb-dkms-builds"

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
# verdict NAME WHY: PASS if WHY is empty
verdict() { if [ -z "$2" ]; then pass "$1"; else fail "$1" "$2"; fi; }

VERSION=$(sed -n 's/^#define NATK_VERSION "\(.*\)"/\1/p' "$REPO/kmod/main.c")
OUT=$TMP/out
if ! NATK_DEB_OUT=$OUT "$REPO/scripts/deb.sh" > "$TMP/deb.log" 2>&1; then
	tail -n 20 "$TMP/deb.log"
	fail deb-build "scripts/deb.sh failed: $(grep -m1 'deb:' "$TMP/deb.log")"
	exit 1
fi
N=$OUT/natkctl_${VERSION}_$(dpkg --print-architecture).deb
D=$OUT/natk-dkms_${VERSION}_all.deb
if [ -f "$N" ] && [ -f "$D" ]; then
	pass deb-build
else
	fail deb-build "no $(basename "$N") or $(basename "$D") in: $(cd "$OUT" && ls ./*.deb 2>/dev/null | tr '\n' ' ')"
	exit 1
fi

if [ ! -f "$OUT/lintian.txt" ]; then
	fail deb-lintian "lintian did not run (apt-get install lintian)"
else
	why=$(grep -E '^(E|W): ' "$OUT/lintian.txt" | head -n 5 | tr '\n' ';')
	verdict deb-lintian "$why"
fi

why=
for p in "$N" "$D"; do
	v=$(dpkg-deb -f "$p" Version)
	[ "$v" = "$VERSION" ] || why+="$(basename "$p") is version '$v', kmod/main.c says '$VERSION'; "
done
verdict deb-version "$why"

dpkg-deb -R "$N" "$TMP/n" && dpkg-deb -R "$D" "$TMP/d" || { fail deb-natkctl-files "dpkg-deb -R failed"; exit 1; }
n=$TMP/n

why=
for f in usr/sbin/natkctl usr/libexec/natk/natk-start usr/libexec/natk/natk-stop \
	lib/systemd/system/natk.service lib/systemd/system/natk-metrics.service \
	lib/systemd/system/natk-metrics.timer etc/natk.conf \
	usr/share/man/man8/natkctl.8.gz usr/share/man/man5/natk.conf.5.gz \
	usr/share/bash-completion/completions/natkctl usr/share/doc/natkctl/copyright; do
	[ -f "$n/$f" ] || why+="no /$f; "
done
for f in usr/sbin/natkctl usr/libexec/natk/natk-start usr/libexec/natk/natk-stop; do
	[ -x "$n/$f" ] || why+="/$f not executable; "
done
verdict deb-natkctl-files "$why"

why=
left=$(grep -rlE '@[A-Z_]+@' "$n/usr/libexec" "$n/lib/systemd" "$n/etc" 2>/dev/null | sed "s|^$n||" | tr '\n' ' ')
[ -z "$left" ] || why+="placeholders left in $left; "
grep -q '^ExecStart=/usr/libexec/natk/natk-start' "$n/lib/systemd/system/natk.service" ||
	why+="natk.service: $(grep '^ExecStart' "$n/lib/systemd/system/natk.service"); "
grep -q '^ExecStopPost=/usr/libexec/natk/natk-stop' "$n/lib/systemd/system/natk.service" ||
	why+="natk.service: $(grep '^ExecStopPost' "$n/lib/systemd/system/natk.service"); "
grep -q '/usr/sbin/natkctl' "$n/usr/libexec/natk/natk-start" || why+="natk-start does not run /usr/sbin/natkctl; "
grep -q '/usr/sbin/natkctl' "$n/lib/systemd/system/natk-metrics.service" || why+="natk-metrics.service does not run /usr/sbin/natkctl; "
verdict deb-natkctl-paths "$why"

why=
[ "$(cat "$n/DEBIAN/conffiles" 2>/dev/null)" = /etc/natk.conf ] ||
	why+="conffiles: '$(tr '\n' ' ' < "$n/DEBIAN/conffiles" 2>/dev/null)'; "
cmp -s "$n/etc/natk.conf" "$REPO/packaging/natk.conf" || why+="/etc/natk.conf is not packaging/natk.conf; "
verdict deb-natkctl-conffile "$why"

why=
dep=$(dpkg-deb -f "$N" Depends)
for p in libnl-3-200 libnl-genl-3-200 kmod; do
	echo "$dep" | grep -qw -- "$p" || why+="no $p; "
done
for p in gcc make dkms build-essential libnl-3-dev; do
	echo "$dep" | grep -qw -- "$p" && why+="depends on $p; "
done
verdict deb-natkctl-depends "${why:+$why(Depends: $dep)}"

# dh_installsystemd's snippets: enable only what the admin had enabled
# (was-enabled), start nothing.
why=
grep -q "deb-systemd-invoke.*\(start\|restart\)" "$n/DEBIAN/postinst" && why+="postinst starts a unit; "
grep -q "was-enabled 'natk.service'" "$n/DEBIAN/postinst" || why+="postinst has no was-enabled guard for natk.service; "
if sed '/was-enabled/,/fi/d' "$n/DEBIAN/postinst" | grep -q "deb-systemd-helper enable"; then
	why+="postinst enables a unit unconditionally; "
fi
verdict deb-natkctl-not-enabled "$why"

why=
for s in preinst prerm postinst; do
	[ -f "$n/DEBIAN/$s" ] || continue
	# Any stop or restart of natk.service must be for a removal only.
	cmd='^[^#]*(deb-systemd-invoke|systemctl|invoke-rc.d)[^#]*(stop|restart)[^#]*natk\.service'
	if grep -qE "$cmd" "$n/DEBIAN/$s"; then
		grep -B3 -E "$cmd" "$n/DEBIAN/$s" | grep -q '"$1" = remove' ||
			why+="$s stops or restarts natk.service outside a removal; "
	fi
done
grep -q 'deb-systemd-invoke stop natk.service' "$n/DEBIAN/prerm" 2>/dev/null ||
	why+="prerm does not stop natk.service on removal; "
verdict deb-natkctl-upgrade "$why"

v=$("$n/usr/sbin/natkctl" --version 2>&1)
if echo "$v" | grep -q "$VERSION"; then pass deb-natkctl-runs; else fail deb-natkctl-runs "natkctl --version: '$v'"; fi

S=$TMP/d/usr/src/natk-$VERSION
want=$( (cd "$REPO" && { printf '%s\n' Makefile Kbuild dkms.conf; ls kmod/*.c kmod/*.h; find include -type f; } | sort))
have=$( (cd "$S" 2>/dev/null && find . -type f | sed 's|^\./||' | sort))
if [ -n "$have" ] && [ "$have" = "$want" ]; then
	pass deb-dkms-files
else
	fail deb-dkms-files "/usr/src/natk-$VERSION: missing $(comm -13 <(echo "$have") <(echo "$want") | tr '\n' ' ')extra $(comm -23 <(echo "$have") <(echo "$want") | tr '\n' ' ')"
fi

why=
grep -q "^PACKAGE_VERSION=\"$VERSION\"" "$S/dkms.conf" 2>/dev/null || why+="$(grep PACKAGE_VERSION "$S/dkms.conf" 2>&1); "
grep -q '#MODULE_VERSION#\|@NATK_VERSION@' "$S/dkms.conf" 2>/dev/null && why+="a placeholder left; "
grep -q '^AUTOINSTALL="yes"' "$S/dkms.conf" 2>/dev/null || why+="no AUTOINSTALL; "
verdict deb-dkms-conf "$why"

dep=$(dpkg-deb -f "$D" Depends)
if echo "$dep" | grep -qw dkms; then pass deb-dkms-depends; else fail deb-dkms-depends "Depends: '$dep'"; fi

k=$(for b in /lib/modules/*/build; do [ -f "$b/Makefile" ] && basename "$(dirname "$b")"; done | sort -V | tail -n 1)
if [ -z "$k" ]; then
	fail deb-dkms-builds "no kernel headers in /lib/modules/*/build (apt-get install linux-headers-amd64)"
elif ! command -v dkms > /dev/null; then
	fail deb-dkms-builds "dkms is not installed (apt-get install dkms)"
else
	mkdir -p "$TMP/dkms-tree" "$TMP/dkms-src"
	cp -a "$S" "$TMP/dkms-src/"
	if dkms build --dkmstree "$TMP/dkms-tree" --sourcetree "$TMP/dkms-src" -m natk -v "$VERSION" -k "$k" > "$TMP/dkms.log" 2>&1; then
		ko=$(find "$TMP/dkms-tree/natk/$VERSION/$k" -name 'natk.ko*' | head -n 1)
		if [ -z "$ko" ]; then
			fail deb-dkms-builds "dkms build for $k made no natk.ko"
		else
			mv=$(modinfo -F version "$ko" 2>&1)
			vm=$(modinfo -F vermagic "$ko" 2>&1)
			if [ "$mv" = "$VERSION" ] && [ "${vm%% *}" = "$k" ]; then
				pass deb-dkms-builds
			else
				fail deb-dkms-builds "natk.ko for $k: version '$mv' (want $VERSION), vermagic '$vm'"
			fi
		fi
	else
		tail -n 20 "$TMP/dkms.log"
		fail deb-dkms-builds "dkms build -k $k failed: $(grep -m1 -i error "$TMP/dkms.log")"
	fi
fi
