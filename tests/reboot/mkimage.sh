#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse from the cache) the Debian 12 disk image for the reboot
# test and print the directory holding it:
#
#   DIR/base.raw          ext4 root filesystem (whole disk, no partitions)
#   DIR/vmlinuz, initrd   the image's own first kernel (linux-image-amd64)
#   DIR/kver              its release
#
#   tests/reboot/mkimage.sh
#
# The image is a debootstrap --variant=minbase of bookworm with systemd,
# the build tools natk needs and, in /root/debs, the .debs of a second
# kernel (linux-image-6.12-amd64 + headers, with dependencies) so that the
# VM can install it without a network. The disk is made without mounting
# anything: mke2fs -d. The cache key is a hash of the package lists and of
# this script, so the image is built once (under NATK_CACHE, default
# /var/cache/natk, in reboot/<key>/); older images are deleted.
#
# Nothing of natk is in the image: the test copies the source tree in at
# run time (over a 9p share), so the image only changes with this script.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${NATK_CACHE:-/var/cache/natk}/reboot
MIRROR=${NATK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${NATK_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
SUITE=bookworm
SIZE=${NATK_REBOOT_DISK_SIZE:-8G}

PKGS=(
	systemd-sysv udev dbus kmod iproute2 procps util-linux e2fsprogs
	initramfs-tools zstd linux-image-amd64 linux-headers-amd64
	dkms build-essential make libnl-3-dev libnl-genl-3-dev pkg-config
	nftables socat iputils-ping less
)
SECOND=(linux-image-6.12-amd64 linux-headers-6.12-amd64)

key=$( { echo "${PKGS[*]}" "${SECOND[*]}" "$SUITE" "$SIZE"; cat "$0"; } | sha256sum | cut -c1-16)
out=$CACHE/$key
if [ -e "$out/done" ]; then
	echo "$out"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "mkimage: must run as root (debootstrap)" >&2; exit 1; }
for t in debootstrap mke2fs debugfs; do
	command -v "$t" >/dev/null || { echo "mkimage: $t missing (tests/deps.sh installs it)" >&2; exit 1; }
done
mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
flock 9
if [ -e "$out/done" ]; then
	echo "$out"
	exit 0
fi

t0=$(date +%s)
tmp=$CACHE/tmp.$$
root=$tmp/root
cleanup() {
	for m in proc sys dev/pts dev; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp"
log=$tmp/build.log
echo "mkimage: debootstrap $SUITE into $root (log: $log)" >&2
if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${PKGS[*]}")" \
	"$SUITE" "$root" "$MIRROR" > "$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "mkimage: debootstrap failed" >&2
	exit 1
fi
echo "mkimage: debootstrap done in $(( $(date +%s) - t0 ))s" >&2

# The second kernel is in bookworm-security (and bookworm-updates).
cat > "$root/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
SRC
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
{
	in_root apt-get update -q
	in_root apt-get clean
	in_root apt-get install -y -q --download-only --no-install-recommends "${SECOND[@]}"
} >> "$log" 2>&1 || { tail -n 40 "$log" >&2; echo "mkimage: downloading ${SECOND[*]} failed" >&2; exit 1; }
mkdir -p "$root/root/debs"
mv "$root"/var/cache/apt/archives/*.deb "$root/root/debs/"
in_root apt-get clean
echo "mkimage: $(ls "$root/root/debs" | wc -l) .debs for the second kernel in /root/debs" >&2
for m in dev/pts dev sys proc; do umount -l "$root/$m"; done

# System configuration: root on /dev/vda, results share over 9p, no
# password for root on the serial console, no timers that wake up apt.
cat > "$root/etc/fstab" <<'FSTAB'
/dev/vda	/		ext4	rw,errors=remount-ro	0 1
results		/mnt/results	9p	trans=virtio,version=9p2000.L,msize=262144,nofail	0 0
FSTAB
mkdir -p "$root/mnt/results"
echo natk-vm > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tnatk-vm\n' > "$root/etc/hosts"
chroot "$root" passwd -d root >/dev/null
: > "$root/etc/resolv.conf"
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
	fstrim.timer man-db.timer dpkg-db-backup.timer e2scrub_reap.service; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done
mkdir -p "$root/var/log/journal"
# The test driver: runs the stage script from the share after boot.
cat > "$root/etc/systemd/system/natk-test-driver.service" <<'UNIT'
[Unit]
Description=natk reboot test driver
After=multi-user.target natk.service

# The share is mounted here, retried: at boot the fstab mount can run
# before virtio-9p has probed ("no channels available"). Without it the
# VM powers off at once instead of idling until the host's timeout.
[Service]
Type=oneshot
ExecStart=/bin/bash -c 'for i in $(seq 60); do mountpoint -q /mnt/results || mount /mnt/results 2>/dev/null; [ -f /mnt/results/natk/tests/reboot/guest.sh ] && exec /bin/bash /mnt/results/natk/tests/reboot/guest.sh; sleep 1; done; echo "natk-test-driver: no results share after 60 s" > /dev/console; systemctl poweroff'
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/natk-test-driver.service \
	"$root/etc/systemd/system/multi-user.target.wants/natk-test-driver.service"

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
[ -r "$root/boot/vmlinuz-$kver" ] && [ -r "$root/boot/initrd.img-$kver" ] || {
	echo "mkimage: no kernel/initrd for $kver in the image's /boot" >&2; exit 1; }
cp "$root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$tmp/initrd"
echo "$kver" > "$tmp/kver"

echo "mkimage: mke2fs -d ($SIZE)" >&2
mke2fs -q -F -t ext4 -L natkroot -d "$root" "$tmp/base.raw" "$SIZE" >> "$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; echo "mkimage: mke2fs failed" >&2; exit 1; }
rm -rf "$root"
mkdir -p "$out"
mv "$tmp/base.raw" "$tmp/vmlinuz" "$tmp/initrd" "$tmp/kver" "$tmp/build.log" "$out/"
{ echo "${PKGS[*]}"; echo "${SECOND[*]}"; } > "$out/packages"
touch "$out/done"
find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name 'tmp.*' -exec rm -rf {} +
echo "mkimage: image ready in $(( $(date +%s) - t0 ))s: $out" >&2
echo "$out"
