#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse from the cache) a tiny initramfs for kernel KVER that can
# mount the host's root filesystem over virtio-9p. Prints the image path.
#
#   tests/vm/mkinitramfs.sh KVER
#
# Contents: busybox-static, /init (tests/vm/initramfs-init) and the modules
# needed for 9p and overlayfs, decompressed, in dependency order; those that
# the kernel has built in (or lacks) are skipped. NATK_MODDIR replaces
# /lib/modules/KVER (a kernel that is not installed: tests/check-debug.sh).
set -euo pipefail

KVER=${1:?usage: mkinitramfs.sh KVER}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${NATK_CACHE:-/var/cache/natk}
MODDIR=${NATK_MODDIR:-/lib/modules/$KVER}
WANT=(virtio_pci virtio_ring virtio netfs fscache 9pnet 9pnet_virtio 9p overlay)

[ -e "$MODDIR/modules.dep" ] || { echo "mkinitramfs: no $MODDIR/modules.dep" >&2; exit 1; }
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || { echo "mkinitramfs: busybox missing (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	echo "mkinitramfs: $BUSYBOX is dynamically linked; install busybox-static" >&2
	exit 1
fi

key=$( { echo "$KVER"; cat "$HERE/initramfs-init" "$0"; stat -c %Y "$MODDIR/modules.dep" "$BUSYBOX"; } | sha256sum | cut -c1-16)
out=$CACHE/initramfs-$KVER-$key.cpio.gz
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$CACHE"

# Resolve dependencies depth first so that each module follows its deps.
declare -A seen=()
order=()
dep_of() { # relative module path -> its direct deps (relative paths)
	awk -v m="$1:" '$1 == m { for (i = 2; i <= NF; i++) print $i }' "$MODDIR/modules.dep"
}
visit() {
	local rel=$1 d
	[ -n "${seen[$rel]:-}" ] && return 0
	seen[$rel]=1
	for d in $(dep_of "$rel"); do visit "$d"; done
	order+=("$rel")
}
for m in "${WANT[@]}"; do
	rel=$(awk -v m="$m" -F: '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", n);
		gsub(/-/, "_", n); if (n == m) { print $1; exit } }' "$MODDIR/modules.dep")
	if [ -z "$rel" ]; then
		# Built in (or absent): nothing to load.
		continue
	fi
	visit "$rel"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,dev,proc,sys,newroot,results,modules}
cp "$BUSYBOX" "$tmp/bin/busybox"
for a in sh mount umount mkdir insmod switch_root cat sleep echo poweroff ls grep; do
	ln -s busybox "$tmp/bin/$a"
done
cp "$HERE/initramfs-init" "$tmp/init"
chmod +x "$tmp/init"
: > "$tmp/modules/order"
for rel in "${order[@]}"; do
	name=$(basename "$rel")
	case $name in
	*.ko.xz) xz -dc "$MODDIR/$rel" > "$tmp/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -dcq "$MODDIR/$rel" > "$tmp/modules/${name%.zst}"; name=${name%.zst} ;;
	*.ko.gz) gzip -dc "$MODDIR/$rel" > "$tmp/modules/${name%.gz}"; name=${name%.gz} ;;
	*) cp "$MODDIR/$rel" "$tmp/modules/$name" ;;
	esac
	echo "$name" >> "$tmp/modules/order"
done
(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
find "$CACHE" -maxdepth 1 -name "initramfs-$KVER-*.cpio.gz" ! -name "${out##*/}" -mmin +180 \
	-delete 2>/dev/null
echo "$out"
