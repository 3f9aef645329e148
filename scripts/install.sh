#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install natk on this host, or remove it.
#
#   scripts/install.sh install        everything below (make install)
#   scripts/install.sh uninstall      remove all of it (make uninstall)
#   scripts/install.sh dkms-install   only the module, through DKMS
#   scripts/install.sh dkms-remove    only remove the module from DKMS
#
# install:
#   - on Debian/Ubuntu, as root, apt-get installs what is missing: dkms,
#     build-essential, pkg-config, libnl-3-dev, libnl-genl-3-dev and the
#     running kernel's headers (linux-headers-$(uname -r)) if the archive
#     has them (NATK_NO_APT=1: never call apt-get)
#   - natk.ko through DKMS: the module sources (Makefile, Kbuild, kmod/*.[ch]
#     without kmod/kunit/, include/, dkms.conf) go to /usr/src/natk-VERSION/
#     and are built and installed for every kernel with headers; DKMS
#     rebuilds them for kernels installed later
#   - natkctl, natkctl(8), bash completion (userctl make install)
#   - LIBEXECDIR/natk-start and natk-stop, UNITDIR/natk.service, natk-metrics.service
#     and natk-metrics.timer (natk.prom for the node exporter; enabling
#     natk.service enables the timer too), natk-maplog.service (the mapping
#     log, /var/log/natk/mappings.log; enabled by hand), then systemctl
#     daemon-reload when systemd runs (the units are not enabled)
#   - /etc/natk.conf, commented out, unless it exists already; the pristine
#     example is kept as DOCDIR/natk.conf.example
# uninstall: stops and disables natk.service, unloads natk, removes all of
#   the above; /etc/natk.conf is removed if it is still the example and
#   kept (with a message) if it was edited.
#
# Paths (environment, as passed by the top-level Makefile): PREFIX
# (/usr/local), SBINDIR, MANDIR, BASHCOMPDIR, LIBEXECDIR (PREFIX/libexec/natk),
# DOCDIR (PREFIX/share/doc/natk), UNITDIR (/etc/systemd/system), CONF
# (/etc/natk.conf).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
MANDIR=${MANDIR:-$PREFIX/share/man}
BASHCOMPDIR=${BASHCOMPDIR:-$PREFIX/share/bash-completion/completions}
LIBEXECDIR=${LIBEXECDIR:-$PREFIX/libexec/natk}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/natk}
UNITDIR=${UNITDIR:-/etc/systemd/system}
CONF=${CONF:-/etc/natk.conf}
MAKE=${MAKE:-make}

VERSION=$(sed -n 's/^#define NATK_VERSION "\(.*\)"$/\1/p' "$REPO/kmod/main.c")
[ -n "$VERSION" ] || { echo "install: no NATK_VERSION in kmod/main.c" >&2; exit 1; }
SRC=/usr/src/natk-$VERSION

say() { echo "natk: $*"; }
die() { echo "natk: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "$1 must run as root (sudo make $1)"; }
have_systemd() { [ -d /run/systemd/system ]; }

# ------------------------------------------------------------- packages
deps() {
	local pkgs=(dkms build-essential make pkg-config libnl-3-dev libnl-genl-3-dev)
	local kver missing=() p st
	kver=$(uname -r)
	if [ -r /etc/debian_version ] && command -v apt-get >/dev/null && [ "${NATK_NO_APT:-0}" != 1 ]; then
		if [ ! -e "/lib/modules/$kver/build/Makefile" ]; then
			if apt-cache show "linux-headers-$kver" >/dev/null 2>&1; then
				pkgs+=("linux-headers-$kver")
			else
				say "warning: no package linux-headers-$kver for the running kernel;" \
					"natk is built only for kernels whose headers are installed"
			fi
		fi
		for p in "${pkgs[@]}"; do
			st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
			[ "$st" = installed ] || missing+=("$p")
		done
		if [ ${#missing[@]} -gt 0 ]; then
			say "apt-get install ${missing[*]}"
			export DEBIAN_FRONTEND=noninteractive
			apt-get install -y -q --no-install-recommends "${missing[@]}" ||
			{ apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } ||
			die "could not install ${missing[*]}"
		fi
		return 0
	fi
	# Other distributions: only say what is missing (docs/install.md).
	for p in dkms make cc pkg-config; do
		command -v "$p" >/dev/null || missing+=("$p")
	done
	pkg-config --exists libnl-genl-3.0 2>/dev/null || missing+=("libnl-3/libnl-genl-3 development files")
	[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (see docs/install.md)"
}

# ----------------------------------------------------------------- DKMS
# natk versions DKMS knows about
dkms_versions() {
	dkms status natk 2>/dev/null | sed -n 's|^natk[/,] *\([^,:]*\).*|\1|p' | sort -u
}

dkms_remove() {
	need_root dkms-remove
	local v
	if command -v dkms >/dev/null; then
		for v in $(dkms_versions); do
			say "dkms remove natk/$v --all"
			dkms remove "natk/$v" --all || die "dkms remove natk/$v failed"
		done
	fi
	for v in /usr/src/natk-*; do
		[ -e "$v" ] && { rm -rf "$v"; say "removed $v"; }
	done
	return 0
}

dkms_install() {
	need_root dkms-install
	command -v dkms >/dev/null || die "dkms is not installed (make install installs it on Debian/Ubuntu)"
	# Start clean: the same version may have been added from other sources.
	dkms_remove
	mkdir -p "$SRC/kmod" "$SRC/include"
	cp "$REPO/Makefile" "$REPO/Kbuild" "$SRC/"
	cp "$REPO"/kmod/*.c "$REPO"/kmod/*.h "$SRC/kmod/"
	cp -r "$REPO/include/." "$SRC/include/"
	sed "s/@NATK_VERSION@/$VERSION/" "$REPO/dkms.conf" > "$SRC/dkms.conf"
	dkms add "natk/$VERSION" || die "dkms add natk/$VERSION failed"

	local k built=0 failed=() running
	running=$(uname -r)
	for k in $(ls -1 /lib/modules | sort -V); do
		[ -e "/lib/modules/$k/build/Makefile" ] || { say "no headers for $k: skipped"; continue; }
		say "dkms install natk/$VERSION -k $k"
		if dkms install "natk/$VERSION" -k "$k"; then
			built=$((built + 1))
		else
			failed+=("$k")
		fi
	done
	[ ${#failed[@]} -eq 0 ] || say "warning: natk did not build for: ${failed[*]} (see above)"
	[ "$built" -gt 0 ] || die "natk was not built for any kernel (install the headers of your kernel)"
	case " ${failed[*]} " in
	*" $running "*) die "natk did not build for the running kernel $running" ;;
	esac
	return 0
}

# -------------------------------------------------------------- install
install_all() {
	need_root install
	deps
	say "building natkctl"
	$MAKE -C "$REPO/userctl" >/dev/null || die "building natkctl failed"
	$MAKE -C "$REPO/userctl" install PREFIX="$PREFIX" SBINDIR="$SBINDIR" \
		MANDIR="$MANDIR" BASHCOMPDIR="$BASHCOMPDIR" >/dev/null ||
		die "installing natkctl failed"
	say "installed $SBINDIR/natkctl, $MANDIR/man8/natkctl.8, $MANDIR/man5/natk.conf.5, $BASHCOMPDIR/natkctl"

	dkms_install

	local subst="s|@SBINDIR@|$SBINDIR|g; s|@LIBEXECDIR@|$LIBEXECDIR|g"
	install -d "$LIBEXECDIR" "$UNITDIR" "$DOCDIR"
	sed "$subst" "$REPO/packaging/natk-start.in" > "$LIBEXECDIR/natk-start"
	sed "$subst" "$REPO/packaging/natk-stop.in" > "$LIBEXECDIR/natk-stop"
	install -m 0755 "$REPO/packaging/keepalived/natk-notify" "$LIBEXECDIR/natk-notify"
	chmod 0755 "$LIBEXECDIR/natk-start" "$LIBEXECDIR/natk-stop"
	sed "$subst" "$REPO/packaging/natk.service.in" > "$UNITDIR/natk.service"
	sed "$subst" "$REPO/packaging/natk-metrics.service.in" > "$UNITDIR/natk-metrics.service"
	sed "$subst" "$REPO/packaging/natk-maplog.service.in" > "$UNITDIR/natk-maplog.service"
	sed "$subst" "$REPO/packaging/natk-sync.service.in" > "$UNITDIR/natk-sync.service"
	install -m 0644 "$REPO/packaging/natk-metrics.timer" "$UNITDIR/natk-metrics.timer"
	chmod 0644 "$UNITDIR/natk.service" "$UNITDIR/natk-metrics.service" "$UNITDIR/natk-maplog.service" \
		"$UNITDIR/natk-sync.service"
	install -m 0644 "$REPO/packaging/natk.conf" "$DOCDIR/natk.conf.example"
	say "installed $LIBEXECDIR/natk-start and natk-stop, $UNITDIR/natk.service, natk-metrics.service and .timer, natk-maplog.service, natk-sync.service"
	if [ -e "$CONF" ]; then
		say "kept the existing $CONF"
	else
		install -m 0644 "$REPO/packaging/natk.conf" "$CONF"
		say "installed the example $CONF"
	fi
	if have_systemd; then
		systemctl daemon-reload
		if systemctl -q is-active natk.service; then
			say "natk.service is running the old version: systemctl restart natk"
		fi
	fi
	say "done. Next: edit $CONF (at least 'external IFNAME'), then: systemctl enable --now natk"
}

uninstall_all() {
	need_root uninstall
	if have_systemd && [ -e "$UNITDIR/natk-metrics.timer" ]; then
		systemctl disable --now natk-metrics.timer 2>/dev/null || true
	fi
	if have_systemd && [ -e "$UNITDIR/natk-maplog.service" ]; then
		systemctl disable --now natk-maplog.service 2>/dev/null || true
	fi
	if have_systemd && [ -e "$UNITDIR/natk-sync.service" ]; then
		systemctl disable --now natk-sync.service 2>/dev/null || true
	fi
	if have_systemd && [ -e "$UNITDIR/natk.service" ]; then
		systemctl disable --now natk.service 2>/dev/null || true
	elif [ -x "$SBINDIR/natkctl" ] && grep -qw '^natk' /proc/modules 2>/dev/null; then
		"$SBINDIR/natkctl" down 2>/dev/null || true
	fi
	# Leftover enable links (systemctl may have been unavailable).
	find "$UNITDIR" \( -name natk.service -o -name 'natk-metrics.*' -o -name natk-maplog.service -o -name natk-sync.service \) -type l -delete 2>/dev/null || true
	rm -f "$UNITDIR/natk.service" "$UNITDIR/natk-metrics.service" "$UNITDIR/natk-metrics.timer" \
		"$UNITDIR/natk-maplog.service" "$UNITDIR/natk-sync.service"
	if have_systemd; then
		systemctl daemon-reload
		systemctl reset-failed natk.service natk-metrics.service natk-maplog.service natk-sync.service 2>/dev/null || true
	fi
	# what natk-metrics.service wrote for the node exporter
	rm -f /var/lib/prometheus/node-exporter/natk.prom
	if grep -qw '^natk' /proc/modules 2>/dev/null; then
		modprobe -r natk || rmmod natk || say "warning: could not unload natk (in use?); it goes away at the next reboot"
	fi
	dkms_remove
	$MAKE -C "$REPO/userctl" uninstall PREFIX="$PREFIX" SBINDIR="$SBINDIR" \
		MANDIR="$MANDIR" BASHCOMPDIR="$BASHCOMPDIR" >/dev/null
	rm -f "$LIBEXECDIR/natk-start" "$LIBEXECDIR/natk-stop" "$LIBEXECDIR/natk-notify"
	rmdir "$LIBEXECDIR" 2>/dev/null || true
	if [ -e "$CONF" ]; then
		if cmp -s "$CONF" "$REPO/packaging/natk.conf" ||
			{ [ -e "$DOCDIR/natk.conf.example" ] && cmp -s "$CONF" "$DOCDIR/natk.conf.example"; }; then
			rm -f "$CONF"
			say "removed $CONF (unchanged example)"
		else
			say "kept $CONF: it was edited (delete it yourself if you do not need it)"
		fi
	fi
	rm -f "$DOCDIR/natk.conf.example"
	rmdir "$DOCDIR" 2>/dev/null || true
	say "uninstalled"
}

case ${1:-} in
install) install_all ;;
uninstall) uninstall_all ;;
dkms-install) dkms_install ;;
dkms-remove) dkms_remove ;;
*) echo "usage: $0 install|uninstall|dkms-install|dkms-remove" >&2; exit 2 ;;
esac
