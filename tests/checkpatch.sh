#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the kernel's checkpatch.pl --strict over natk's kernel sources.
# checkpatch.pl and its data files are extracted once from Debian's
# linux-source-6.12 tarball into /var/cache/natk/checkpatch/.
# Exit status: non-zero on any error, warning or check.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${NATK_CACHE:-/var/cache/natk}/checkpatch
TARBALL=${NATK_LINUX_SOURCE:-$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)}

if [ ! -x "$CACHE/scripts/checkpatch.pl" ]; then
	[ -r "$TARBALL" ] || { echo "checkpatch: no linux-source tarball (apt-get install linux-source-6.12)" >&2; exit 2; }
	top=$(basename "$TARBALL" .tar.xz)
	tmp=$(mktemp -d)
	tar -xJf "$TARBALL" -C "$tmp" \
		"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
		"$top/scripts/const_structs.checkpatch" || { rm -rf "$tmp"; exit 2; }
	mkdir -p "$CACHE"
	rm -rf "$CACHE/scripts"
	mv "$tmp/$top/scripts" "$CACHE/scripts"
	rm -rf "$tmp"
fi

cd "$REPO" || exit 2
shopt -s nullglob
files=(kmod/*.[ch] kmod/kunit/*.[ch] include/uapi/linux/natk.h)
[ ${#files[@]} -gt 0 ] || { echo "checkpatch: no files" >&2; exit 2; }
# --no-tree: not run from a kernel tree; spelling/const_structs are found
# next to the script.
"$CACHE/scripts/checkpatch.pl" --strict --no-tree --show-types --summary-file \
	-f "${files[@]}"
rc=$?
[ $rc -eq 0 ] && echo "checkpatch: ${#files[@]} files clean"
exit $rc
