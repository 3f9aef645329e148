#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prepare, on the host, the module index files (modules.dep, .bin, aliases,
# ...) for kernel KVER with natk.ko added as extra/natk.ko, so that the
# guest only copies them instead of running depmod -a (which decompresses
# every module and takes minutes under TCG). Cached by natk.ko's hash.
# Prints the directory holding the modules.* files.
#
#   tests/vm/modindex.sh KVER NATK_KO
set -euo pipefail
KVER=${1:?usage: modindex.sh KVER NATK_KO}
KO=${2:?natk.ko}
CACHE=${NATK_CACHE:-/var/cache/natk}/modindex
MODDIR=${NATK_MODDIR:-/lib/modules/$KVER} # tests/check-debug.sh sets it
[ -r "$KO" ] && [ -d "$MODDIR" ] || exit 1

key=$( { sha256sum < "$KO"; stat -c %Y "$MODDIR/modules.dep"; } | sha256sum | cut -c1-16)
out=$CACHE/$KVER-$key
if [ -e "$out/modules.dep.bin" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/lib/modules/$KVER
mkdir -p "$tree/extra"
for f in "$MODDIR"/*; do
	n=${f##*/}
	case $n in
	modules.order | modules.builtin | modules.builtin.modinfo) cp "$f" "$tree/" ;;
	modules.* | build | source | extra) ;;
	*) ln -s "$f" "$tree/$n" ;;
	esac
done
# Other extra modules the host has (e.g. DKMS) stay visible.
if [ -d "$MODDIR/extra" ]; then
	for f in "$MODDIR"/extra/*; do
		[ -e "$f" ] && [ "${f##*/}" != natk.ko ] && ln -s "$f" "$tree/extra/"
	done
fi
cp "$KO" "$tree/extra/natk.ko"
depmod -b "$tmp" "$KVER"
mkdir -p "$tmp/out"
cp "$tree"/modules.* "$tmp/out/"
cp "$KO" "$tmp/out/natk.ko"
mv "$tmp/out" "$out" 2>/dev/null || [ -e "$out/modules.dep.bin" ]
# Prune old indexes (not recent ones: another run may be using them).
find "$CACHE" -mindepth 1 -maxdepth 1 -name "$KVER-*" ! -name "$KVER-$key" -mmin +180 \
	-exec rm -rf {} + 2>/dev/null || true
echo "$out"
