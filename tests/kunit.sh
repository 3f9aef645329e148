#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make kunit: build natk and its KUnit suites (kmod/kunit/) into a UML
# kernel with tools/testing/kunit/kunit.py from Debian's linux-source-6.12
# and run them. Prints kunit.py's results; exit status 0 iff every test
# passed (none skipped unexpectedly) and the kernel reported no problem
# (KASAN, UBSAN, lockdep, RCU, list corruption, WARN) while a natk suite
# ran.
#
# The kernel tree is extracted once into $NATK_KUNIT_CACHE/linux-6.12 and
# the build directory is kept in $NATK_KUNIT_CACHE/build, so a second run
# only rebuilds what changed. natk's sources are symlinked into the tree's
# net/natk/ (tests in net/natk/kunit/), as out-of-tree KUnit users do; the
# tree's net/Kconfig and net/Makefile get one line each.
#
# Environment:
#   NATK_KUNIT_CACHE=DIR   cache (default /var/cache/natk/kunit)
#   NATK_LINUX_SOURCE=TAR  tarball (default newest /usr/src/linux-source-*)
#   NATK_KUNIT_JOBS=N      make -j (default 2)
#   NATK_KUNIT_FILTER=GLOB only these suites/cases (kunit.py filter_glob,
#                          e.g. 'natk_ports.*')
#   NATK_KUNIT_OUT=DIR     where kunit.json and the kernel log are copied
#                          (default build/kunit)
#   NATK_KUNIT_SKIP_OK="natk_<suite>.<case> ..."  cases expected to skip
#                          (any other skip fails: it checked nothing)
# Exit status: 0 all passed, 1 a test or a kernel check failed or a case
# skipped unexpectedly, 2 the kernel (or natk in it) did not build, 3
# setup failed.
set -uo pipefail

# One compound command, read whole before it runs: editing this file
# while it runs (a UML build takes minutes) cannot derail it.
{
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${NATK_KUNIT_CACHE:-/var/cache/natk/kunit}
TREE=$CACHE/linux-6.12
BUILD=$CACHE/build
OUT=${NATK_KUNIT_OUT:-$REPO/build/kunit}
JOBS=${NATK_KUNIT_JOBS:-2}
TARBALL=${NATK_LINUX_SOURCE:-$(ls -1 /usr/src/linux-source-6.12.tar.xz /usr/src/linux-source-*.tar.xz 2>/dev/null | head -n1)}
. "$HERE/lib/kernlog.sh"

log() { echo "kunit: $*" >&2; }

# One run at a time: they share the tree and the build directory.
mkdir -p "$CACHE" || exit 3
exec 9> "$CACHE/.lock"
if ! flock -n 9; then
	log "waiting for another make kunit (lock $CACHE/.lock)"
	flock 9
fi

# ------------------------------------------------------------ kernel tree
if [ ! -f "$TREE/tools/testing/kunit/kunit.py" ]; then
	[ -r "$TARBALL" ] || { log "no linux-source tarball (apt-get install linux-source-6.12, or make deps)"; exit 3; }
	log "extracting $TARBALL into $TREE (once)"
	mkdir -p "$CACHE" || exit 3
	tmp=$(mktemp -d "$CACHE/extract.XXXXXX") || exit 3
	if ! tar -xJf "$TARBALL" -C "$tmp"; then
		rm -rf "$tmp"
		log "extracting $TARBALL failed"
		exit 3
	fi
	rm -rf "$TREE"
	mv "$tmp"/linux-source-* "$TREE" && rm -rf "$tmp" || exit 3
fi

# ------------------------------------------------------------ natk in it
D=$TREE/net/natk
mkdir -p "$D/kunit" "$D/include/uapi/linux" || exit 3
# Links of files removed from the repository must go.
find "$D" -type l ! -exec test -e {} \; -delete
shopt -s nullglob
for f in "$REPO"/kmod/*.c "$REPO"/kmod/*.h; do
	ln -sfn "$f" "$D/$(basename "$f")"
done
ln -sfn "$REPO/include/uapi/linux/natk.h" "$D/include/uapi/linux/natk.h"
ln -sfn "$REPO/kmod/kunit/Kconfig.natk" "$D/Kconfig"
ln -sfn "$REPO/kmod/kunit/Makefile.natk" "$D/Makefile"
ln -sfn "$REPO/kmod/kunit/Makefile" "$D/kunit/Makefile"
for f in "$REPO"/kmod/kunit/*.c "$REPO"/kmod/kunit/*.h; do
	ln -sfn "$f" "$D/kunit/$(basename "$f")"
done
# The tree is shared by every checkout on this host. make judges natk's
# objects by the mtimes of the files the links point to: objects built
# from another checkout can look newer than this one's sources and be kept.
# So natk's objects go whenever the checkout changes (they rebuild in
# seconds; the kernel's own stay).
if [ "$(cat "$D/.checkout" 2>/dev/null)" != "$REPO" ]; then
	rm -rf "$BUILD/net/natk"
	echo "$REPO" > "$D/.checkout"
fi
# natk-y exactly as the top-level Kbuild has it (the objects of natk.ko).
objs=$(make -s --no-print-directory -f - src=. <<EOF
include $REPO/Kbuild
all:
	@echo \$(natk-y)
EOF
) || { log "cannot read natk-y from $REPO/Kbuild"; exit 3; }
new="natk-y := $(echo "$objs" | sed 's|kmod/||g')"
# Rewrite only when it changed, so that a warm build stays warm.
[ "$(cat "$D/natk-objs.mk" 2>/dev/null)" = "$new" ] || echo "$new" > "$D/natk-objs.mk"
grep -q '^source "net/natk/Kconfig"' "$TREE/net/Kconfig" ||
	echo 'source "net/natk/Kconfig"' >> "$TREE/net/Kconfig"
grep -q '^obj-$(CONFIG_NATK)' "$TREE/net/Makefile" ||
	echo 'obj-$(CONFIG_NATK) += natk/' >> "$TREE/net/Makefile"

# ------------------------------------------------------------ build, run
mkdir -p "$OUT" "$BUILD" || exit 3
rm -f "$OUT/kunit.json" "$OUT/test.log" "$OUT/kunit.log"
args=(run --arch=um --build_dir="$BUILD" --kunitconfig="$REPO/kmod/kunit"
      --jobs="$JOBS" --timeout=900 --json="$OUT/kunit.json")
[ -n "${NATK_KUNIT_FILTER:-}" ] && args+=("$NATK_KUNIT_FILTER")
t0=$(date +%s)
log "kunit.py ${args[*]}"
(cd "$TREE" && python3 tools/testing/kunit/kunit.py "${args[@]}") 2>&1 | tee "$OUT/kunit.log"
rc=${PIPESTATUS[0]}
log "kunit.py exited $rc after $(( $(date +%s) - t0 ))s"
cp "$BUILD/test.log" "$OUT/test.log" 2>/dev/null

if [ ! -s "$OUT/test.log" ] || grep -q 'Could not build kernel\|Build failed\|ERROR:root:' "$OUT/kunit.log"; then
	if ! [ -x "$BUILD/linux" ] || grep -q 'Could not build kernel\|Build failed' "$OUT/kunit.log"; then
		log "the UML kernel did not build (see $OUT/kunit.log)"
		exit 2
	fi
fi

# Kernel problems while a natk suite ran: kunit.py does not see lockdep,
# UBSAN or WARN reports (KASAN does fail the current test by itself).
probs=$(awk -v re="$KERNEL_PROBLEM_RE" '
	/# Subtest: natk_/ { in_natk = 1 }
	/^(\[[^]]*\] )?(not )?ok [0-9]+ natk_[a-z0-9_]+[ \t]*$/ { in_natk = 0 }
	in_natk && $0 ~ re { print }' "$OUT/test.log" | head -n 20)
if [ -n "$probs" ]; then
	log "kernel problems while natk suites ran (full log: $OUT/test.log):"
	echo "$probs" >&2
	[ "$rc" -eq 0 ] && rc=1
fi
# A case that skipped checked nothing: unless NATK_KUNIT_SKIP_OK names it
# (natk_<suite>.<case>, as tests/suites/kunit.sh prints it), it fails the
# run; in UML every precondition of the suites is ours to provide.
skips=$(sed -E 's/^\[[^]]*\] ?//' "$OUT/test.log" | awk '
	/# Subtest: natk_/ { suite = $NF }
	suite != "" && /^[ \t]+ok [0-9]+ [a-z0-9_]+ # SKIP/ {
		c = $3; if (index(c, suite "_") == 1) c = substr(c, length(suite) + 2)
		why = $0; sub(/.*# SKIP ?/, "", why)
		print suite "." c ": " why
	}')
while IFS= read -r sk; do
	[ -n "$sk" ] || continue
	case " ${NATK_KUNIT_SKIP_OK:-} " in
	*" ${sk%%:*} "*) log "skipped, as NATK_KUNIT_SKIP_OK expects: $sk" ;;
	*)
		log "skipped (checked nothing): $sk"
		[ "$rc" -eq 0 ] && rc=1
		;;
	esac
done <<< "$skips"
exit "$rc"
}
