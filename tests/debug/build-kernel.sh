#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse from the cache) natk's debug kernel: Debian's
# linux-source-6.12 with tests/debug/debug.config (KASAN, KFENCE, UBSAN,
# lockdep, kmemleak, ...) merged over x86_64_defconfig + kvm_guest.config.
# See docs/debug-kernel.md.
#
#   tests/debug/build-kernel.sh        build if needed, print the env file
#
# The cache (NATK_DEBUG_CACHE, default /var/cache/natk/debug) holds:
#   src/             the extracted source tree (never built in: O= build)
#   build/           the O= build tree: KDIR for natk.ko
#   vmlinuz-KVER     the kernel image
#   lib/modules/KVER modules_install + depmod output (modules.builtin ...)
#   hash             fragment + source package version the build is from
#   kernel.env       NATK_DEBUG_KVER, NATK_KDIR, NATK_VMLINUZ, NATK_MODDIR
#   build.log        the last build's output; build-seconds its duration
# A rebuild happens only when debug.config, this script's recipe version
# or the linux-source-6.12 package version changes.
#
# Environment: NATK_DEBUG_CACHE, NATK_DEBUG_JOBS (make -j, default 2),
# NATK_DEBUG_TARBALL (default /usr/src/linux-source-6.12.tar.xz).
# The build runs under nice -n 19 so that test VMs keep priority.
set -euo pipefail
# One compound command, read whole before it runs: editing this file while
# a build runs cannot derail it.
{
HERE=$(cd "$(dirname "$0")" && pwd)
FRAG=$HERE/debug.config
CACHE=${NATK_DEBUG_CACHE:-${NATK_CACHE:-/var/cache/natk}/debug}
PKG=linux-source-6.12
TARBALL=${NATK_DEBUG_TARBALL:-/usr/src/$PKG.tar.xz}
JOBS=${NATK_DEBUG_JOBS:-2}
RECIPE=1 # bump when the steps below change in a way that needs a rebuild
SRC=$CACHE/src
OUT=$CACHE/build

log() { echo "natk-debug: $*" >&2; }
die() { log "$*"; exit 1; }

[ -r "$TARBALL" ] || die "no $TARBALL (apt-get install $PKG)"
pkgver=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null) ||
	pkgver="tarball-$(stat -c %s-%Y "$TARBALL")"
key=$( { echo "recipe $RECIPE"; echo "$pkgver"; cat "$FRAG"; } | sha256sum | cut -c1-16)

mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
if ! flock -n 9; then
	log "another build holds $CACHE/.lock; waiting"
	flock 9
fi

if [ -s "$CACHE/kernel.env" ] && [ "$(cat "$CACHE/hash" 2>/dev/null)" = "$key" ]; then
	# shellcheck disable=SC1091
	. "$CACHE/kernel.env"
	if [ -r "$NATK_VMLINUZ" ] && [ -e "$NATK_KDIR/Makefile" ] && [ -e "$NATK_MODDIR/modules.dep" ]; then
		echo "$CACHE/kernel.env"
		exit 0
	fi
fi
rm -f "$CACHE/hash" "$CACHE/kernel.env"
T0=$(date +%s)

# ---- source tree: one extracted copy per package version, kept pristine
if [ "$(cat "$SRC/.natk-pkgver" 2>/dev/null)" != "$pkgver" ]; then
	log "extracting $TARBALL ($pkgver) into $SRC"
	rm -rf "$SRC" "$OUT"
	mkdir -p "$SRC"
	nice -n 19 tar -xf "$TARBALL" -C "$SRC" --strip-components=1
	echo "$pkgver" > "$SRC/.natk-pkgver"
fi

# ---- configuration
mkdir -p "$OUT"
mk() { nice -n 19 make -C "$SRC" O="$OUT" "$@"; }
log "configuring (x86_64_defconfig + kvm_guest.config + $FRAG)"
{
	mk x86_64_defconfig
	mk kvm_guest.config
	# merge_config.sh runs "make alldefconfig" from the current directory.
	(cd "$SRC" && ./scripts/kconfig/merge_config.sh -O "$OUT" "$OUT/.config" "$FRAG")
	mk olddefconfig
} > "$CACHE/config.log" 2>&1 || { tail -n 30 "$CACHE/config.log" >&2; die "configuration failed"; }

# Every line of the fragment must be in the final .config as written.
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) sym=${line%%=*}; want=$line ;;
	"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}; want= ;;
	*) continue ;;
	esac
	have=$(grep -E "^($sym=|# $sym is not set)" "$OUT/.config" || true)
	if [ -n "$want" ]; then
		[ "$have" = "$want" ] && continue
	else
		# "not set" is also satisfied by a symbol that does not exist.
		case $have in "" | "# $sym is not set") continue ;; esac
	fi
	log "config: wanted '$line', got '${have:-<absent>}'"
	missing=$((missing + 1))
done < "$FRAG"
if [ "$missing" -gt 0 ]; then
	log "$missing option(s) of $FRAG did not end up in $OUT/.config"
	[ "${NATK_DEBUG_ALLOW_MISSING:-0}" = 1 ] || die "fix the fragment (or NATK_DEBUG_ALLOW_MISSING=1)"
fi

# ---- build
log "building with make -j$JOBS under nice (log $CACHE/build.log); this takes long"
if ! mk -j"$JOBS" bzImage modules > "$CACHE/build.log" 2>&1; then
	grep -E 'error|Error' "$CACHE/build.log" | tail -n 20 >&2
	die "kernel build failed (log $CACHE/build.log)"
fi
# (Only valid once the build has synced include/config/auto.conf.)
kver=$(cat "$OUT/include/config/kernel.release" 2>/dev/null)
[ -n "$kver" ] || die "no $OUT/include/config/kernel.release after the build"
rm -rf "$CACHE/lib/modules/$kver"
mk INSTALL_MOD_PATH="$CACHE" modules_install >> "$CACHE/build.log" 2>&1 ||
	die "modules_install failed (log $CACHE/build.log)"
mkdir -p "$CACHE/lib/modules/$kver"
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[ -e "$CACHE/lib/modules/$kver/$f" ] || cp "$OUT/$f" "$CACHE/lib/modules/$kver/" 2>/dev/null || true
done
depmod -b "$CACHE" "$kver" || die "depmod -b $CACHE $kver failed"
ln -sfn "$OUT" "$CACHE/lib/modules/$kver/build"
cp "$OUT/arch/x86/boot/bzImage" "$CACHE/vmlinuz-$kver"
cp "$OUT/.config" "$CACHE/config-$kver"
cp "$OUT/System.map" "$CACHE/System.map-$kver"
T1=$(date +%s)
echo "$((T1 - T0))" > "$CACHE/build-seconds"
{
	printf 'NATK_DEBUG_KVER=%q\n' "$kver"
	printf 'NATK_KDIR=%q\n' "$OUT"
	printf 'NATK_VMLINUZ=%q\n' "$CACHE/vmlinuz-$kver"
	printf 'NATK_MODDIR=%q\n' "$CACHE/lib/modules/$kver"
} > "$CACHE/kernel.env"
echo "$key" > "$CACHE/hash"
log "built $kver in $((T1 - T0))s"
echo "$CACHE/kernel.env"
exit
}
