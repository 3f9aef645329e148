#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-reboot: natk survives reboots and a kernel upgrade.
#
# Boots a real Debian 12 system (tests/reboot/mkimage.sh, cached) three
# times under QEMU, each time with the kernel and initrd taken from the
# disk image itself (direct kernel boot, root=/dev/vda); the VM runs
# tests/reboot/guest.sh from a 9p share at every boot:
#
#   boot 1 (Debian's 6.1 kernel)  apt install ./natk-dkms_*.deb
#                                 ./natkctl_*.deb (make deb, on the host),
#                                 /etc/natk.conf, enable natk
#   boot 2 (6.1)                  natk up by itself; dpkg -i the 6.12 kernel
#   boot 3 (6.12, from the disk)  natk up by itself (DKMS rebuilt it); the
#                                 unit follows NAT; reinstalling (an
#                                 upgrade) keeps NAT and its flows; apt
#                                 remove stops NAT, purge leaves nothing
#
# NATK_REBOOT_INSTALL=source does the same with make install and make
# uninstall from the source tree, as docs/install.md tells source users.
#
# Prints PASS/FAIL lines and ends with "N passed, N failed"; exit status 0
# iff nothing failed. The run disk is a sparse copy of the cached image,
# so the cache stays clean; logs and the share are in
# build/test-logs/reboot/ (NATK_LOG_DIR).
#
# Environment: NATK_REBOOT_INSTALL (deb or source, default deb),
# NATK_REBOOT_TIMEOUT (seconds per boot, default 2400),
# NATK_VM_MEM (2G), NATK_VM_SMP (2), NATK_KVM=1 (use /dev/kvm if present),
# NATK_SKIP_DEPS=1, NATK_REBOOT_SRC=head (test HEAD, not the working tree),
# NATK_KEEP_DISK=1 (keep the run disk after a pass),
# NATK_CONSOLE=1 (copy the serial console to stdout).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LOGDIR=${NATK_LOG_DIR:-$REPO/build/test-logs}/reboot
INSTALL=${NATK_REBOOT_INSTALL:-deb}
TIMEOUT=${NATK_REBOOT_TIMEOUT:-2400}
T0=$(date +%s)
SUMMARY=$(mktemp)
trap 'rm -f "$SUMMARY"' EXIT

result() { # PASS|FAIL NAME [WHY]
	local line="$1 reboot-$2"
	[ -n "${3:-}" ] && line+=": $3"
	echo "$line"
	echo "$line" >> "$SUMMARY"
}
record() { # < guest PASS/FAIL lines
	local line
	while IFS= read -r line; do
		case $line in
		PASS\ *) line="PASS reboot-${line#PASS }" ;;
		FAIL\ *) line="FAIL reboot-${line#FAIL }" ;;
		*) continue ;;
		esac
		echo "$line"
		echo "$line" >> "$SUMMARY"
	done
}
section() { echo "==== $* ($(( $(date +%s) - T0 ))s)"; }
summary() {
	local p f
	p=$(grep -c '^PASS' "$SUMMARY")
	f=$(grep -c '^FAIL' "$SUMMARY")
	section "done"
	echo "$p passed, $f failed"
	[ "$f" -eq 0 ]
	exit $?
}

if [ "${NATK_SKIP_DEPS:-0}" != 1 ]; then
	section "dependencies"
	"$REPO/tests/deps.sh" || result FAIL deps "tests/deps.sh failed"
fi
case $INSTALL in
deb | source) ;;
*) result FAIL install "NATK_REBOOT_INSTALL is '$INSTALL', want deb or source"; summary ;;
esac
for t in qemu-system-x86_64 debootstrap mke2fs debugfs; do
	command -v "$t" >/dev/null || { result FAIL tools "$t missing"; summary; }
done

section "image"
t=$(date +%s)
IMG=$("$HERE/mkimage.sh") || { result FAIL image "tests/reboot/mkimage.sh failed"; summary; }
echo "image: $IMG ($(( $(date +%s) - t ))s)"
KVER1=$(cat "$IMG/kver")

rm -rf "$LOGDIR"
mkdir -p "$LOGDIR/share/natk"
SHARE=$LOGDIR/share
DISK=$LOGDIR/disk.raw
cp --sparse=always "$IMG/base.raw" "$DISK" || { result FAIL disk "copy of the image failed"; summary; }
# The source tree as it is now (tracked and new files), without build/;
# NATK_REBOOT_SRC=head: the last commit only (git archive HEAD).
if [ "${NATK_REBOOT_SRC:-worktree}" = head ]; then
	git -C "$REPO" archive HEAD | tar -C "$SHARE/natk" -xf -
else
	(cd "$REPO" && git ls-files -z --cached --others --exclude-standard -- . ':!build' |
		tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$SHARE/natk" -xf -
fi || { result FAIL source "copying the source tree failed"; summary; }
echo "$KVER1" > "$SHARE/kver1"
echo "$INSTALL" > "$SHARE/install"
if [ "$INSTALL" = deb ]; then
	# Built from the tree just copied, as a user runs make deb.
	section "make deb"
	if NATK_DEB_OUT=$LOGDIR/deb "$SHARE/natk/scripts/deb.sh" > "$LOGDIR/deb.log" 2>&1; then
		mkdir -p "$SHARE/debs"
		cp "$LOGDIR"/deb/natk-dkms_*.deb "$LOGDIR"/deb/natkctl_*.deb "$SHARE/debs/"
		rm -f "$SHARE"/debs/*dbgsym*
		result PASS make-deb
	else
		tail -n 20 "$LOGDIR/deb.log"
		result FAIL make-deb "scripts/deb.sh failed (log $LOGDIR/deb.log)"
		summary
	fi
fi

ACCEL=(-accel tcg -cpu max)
if [ "${NATK_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then
	ACCEL=(-accel kvm -cpu host)
fi

boot() { # STAGE KERNEL INITRD
	local stage=$1 kernel=$2 initrd=$3 log=$LOGDIR/console-$1.log rc t
	echo "$stage" > "$SHARE/stage"
	local qemu=(qemu-system-x86_64 "${ACCEL[@]}"
		-m "${NATK_VM_MEM:-2G}" -smp "${NATK_VM_SMP:-2}"
		-nographic -nodefaults -no-reboot -nic none -serial stdio
		-drive "file=$DISK,if=virtio,format=raw,cache=unsafe"
		-virtfs "local,path=$SHARE,mount_tag=results,security_model=none,multidevs=remap"
		-kernel "$kernel" -initrd "$initrd"
		-append "root=/dev/vda rw console=ttyS0 panic=-1 net.ifnames=0 mitigations=off no_timer_check")
	t=$(date +%s)
	if [ "${NATK_CONSOLE:-0}" = 1 ]; then
		timeout -k 10 "$TIMEOUT" "${qemu[@]}" < /dev/null 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
	else
		timeout -k 10 "$TIMEOUT" "${qemu[@]}" < /dev/null > "$log" 2>&1
		rc=$?
	fi
	echo "boot $stage: $(( $(date +%s) - t ))s"
	record < "$SHARE/results-$stage.txt" 2>/dev/null
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		result FAIL "boot$stage" "VM killed after ${TIMEOUT}s (see $log)"
		return 1
	fi
	if [ ! -e "$SHARE/stage-$stage.done" ]; then
		result FAIL "boot$stage" "stage $stage did not finish (qemu exit $rc; see $log)"
		return 1
	fi
	result PASS "boot$stage"
}

section "boot 1: $KVER1, install ($INSTALL)"
boot 1 "$IMG/vmlinuz" "$IMG/initrd" || summary
section "boot 2: $KVER1, natk after a reboot; install the 6.12 kernel"
boot 2 "$IMG/vmlinuz" "$IMG/initrd" || summary

# The second kernel, read from the disk the VM installed it on.
KVER2=$(cat "$SHARE/kver2" 2>/dev/null)
ondisk=$(debugfs -R 'ls -p /boot' "$DISK" 2>/dev/null | awk -F/ '{ print $6 }' |
	sed -n 's/^vmlinuz-//p' | grep '^6\.12\.' | sort -V | tail -n 1)
if [ -z "$KVER2" ] || [ "$KVER2" != "$ondisk" ]; then
	result FAIL kernel2 "guest says '${KVER2:-}', /boot on the disk has '${ondisk:-nothing}'"
	summary
fi
for f in vmlinuz initrd.img; do
	debugfs -R "dump /boot/$f-$KVER2 $LOGDIR/$f-$KVER2" "$DISK" >/dev/null 2>&1
	[ -s "$LOGDIR/$f-$KVER2" ] || { result FAIL kernel2 "cannot read /boot/$f-$KVER2 from the disk"; summary; }
done
result PASS kernel2

section "boot 3: $KVER2, natk after the kernel upgrade; uninstall ($INSTALL)"
boot 3 "$LOGDIR/vmlinuz-$KVER2" "$LOGDIR/initrd.img-$KVER2"

if [ "${NATK_KEEP_DISK:-0}" != 1 ] && ! grep -q '^FAIL' "$SUMMARY"; then
	rm -f "$DISK"
fi
summary
