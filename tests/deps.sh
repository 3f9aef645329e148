#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what natk needs to build and to test in QEMU (Debian 12).
# Idempotent: apt is only touched when a package is missing.
set -euo pipefail

PKGS=(
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64 linux-source-6.12
	qemu-system-x86 busybox-static
	libnl-3-dev libnl-genl-3-dev nettle-dev pkg-config build-essential bc flex bison
	libelf-dev libssl-dev sparse kmod cpio xz-utils debootstrap e2fsprogs
	socat iperf3 nftables iproute2 iputils-ping tcpdump
	python3 python3-scapy jq gawk gnuplot-nox groff-base
	debhelper dh-dkms dkms dpkg-dev fakeroot lintian
	prometheus prometheus-node-exporter keepalived coturn
)
# Daemons the tests only run in their VMs (promtool, node_exporter,
# turnserver): the host does not start them, nor start them at boot.
DAEMONS=(prometheus prometheus-node-exporter keepalived coturn)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi

echo "deps: installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: must run as root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
new_daemons=()
for d in "${DAEMONS[@]}"; do
	case " ${missing[*]} " in *" $d "*) new_daemons+=("$d") ;; esac
done
policy=
if [ ${#new_daemons[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	# invoke-rc.d and deb-systemd-invoke start nothing while this says 101
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' > $policy
	chmod 0755 $policy
	trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ ${#new_daemons[@]} -gt 0 ] && [ -d /run/systemd/system ]; then
	systemctl disable --now "${new_daemons[@]}" 2>/dev/null || true
fi
