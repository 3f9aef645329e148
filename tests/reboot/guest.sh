#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The reboot test inside the VM, run at every boot by natk-test-driver.service
# (baked into the image by mkimage.sh) from the 9p share /mnt/results that
# tests/reboot/run.sh prepares: natk/ (the source tree), stage (1, 2 or 3).
# Writes results-N.txt (PASS/FAIL lines), guest-N.log, journal-N.txt and,
# last, stage-N.done, then reboots (QEMU runs with -no-reboot, so the host
# sees the VM exit and starts the next boot).
#
#   1 (first kernel): install as docs/install.md says (install: deb,
#     apt-get install ./natk-dkms_*.deb ./natkctl_*.deb from debs/; or
#     source, make install), write /etc/natk.conf, enable natk.service and
#     the test topology, reboot
#   2 (first kernel): natk came up by itself; then install the second
#     kernel's .debs offline and check that DKMS built natk for it, reboot
#   3 (second kernel): natk came up by itself; the unit follows NAT's state
#     (an address lost and back, natkctl down, systemctl stop undoing
#     forwarding, a missing interface retried loudly); deb: reinstalling
#     natkctl (an upgrade) keeps NAT and its flows, apt-get remove stops
#     NAT and keeps the edited conffile, purge leaves nothing; source: make
#     uninstall leaves nothing behind; power off
set -u
R=/mnt/results
STAGE=$(cat "$R/stage" 2>/dev/null || echo 0)
OUT=$R/results-$STAGE.txt
LOG=$R/guest-$STAGE.log
SRC=/root/natk
INSTALL=$(cat "$R/install" 2>/dev/null || echo source)
if [ "$INSTALL" = deb ]; then
	SBIN=/usr/sbin LIBEXEC=/usr/libexec/natk SHARE=/usr/share
else
	SBIN=/usr/local/sbin LIBEXEC=/usr/local/libexec/natk SHARE=/usr/local/share
fi
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
: > "$OUT"
exec >> "$LOG" 2>&1
echo "== stage $STAGE on $(uname -r) at $(date)"

pass() { echo "PASS boot$STAGE-$1" | tee -a "$OUT"; }
fail() { echo "FAIL boot$STAGE-$1: $2" | tee -a "$OUT"; }
# check NAME WHY CMD...: PASS if CMD succeeds
check() {
	local name=$1 why=$2
	shift 2
	echo "-- $name: $*"
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

finish() { # reboot|poweroff
	journalctl -b --no-pager > "$R/journal-$STAGE.txt" 2>&1
	dmesg > "$R/dmesg-$STAGE.txt" 2>&1
	touch "$R/stage-$STAGE.done"
	sync
	systemctl --no-block "$1"
	exit 0
}

# unit_poll SECONDS CMD...: until CMD succeeds, at most SECONDS
unit_poll() {
	local i=0
	while ! "${@:2}"; do
		i=$((i + 1))
		[ "$i" -ge "$1" ] && return 1
		sleep 1
	done
}

status_has() { natkctl status | tee /dev/stderr | grep -qF -- "$1"; }

# natk came up at boot on its own, with the configuration of stage 1
verify_boot() {
	local want_kver=$1 st
	check kernel "running $(uname -r), want $want_kver" test "$(uname -r)" = "$want_kver"
	st=$(systemctl is-active natk.service)
	check service-active "natk.service is $st" test "$st" = active
	check service-waited "natk-start did not log waiting for wan0" \
		sh -c "journalctl -b -u natk.service --no-pager | grep -q 'waiting up to .* for external interface wan0'"
	check module-loaded "natk not in /proc/modules" grep -q '^natk ' /proc/modules
	check module-from-dkms "modinfo: $(modinfo -F filename natk 2>&1)" \
		sh -c "modinfo -F filename natk | grep -q '^/lib/modules/$want_kver/updates/dkms/natk.ko'"
	check status-enabled "natkctl status: not enabled" status_has "natk: enabled"
	check status-external "natkctl status: no wan0 (192.0.2.1)" status_has "external interface: wan0 (192.0.2.1)"
	check status-conf "natkctl status: timeouts/forward of /etc/natk.conf missing" \
		sh -c 'natkctl status | grep -q "udp 120s" && natkctl status | grep -qF "tcp 8080 -> 10.0.0.2:80"'
	check ip-forward "net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)" \
		test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1
	check ping-lan-wan "ping from netns lan to 192.0.2.2 failed" \
		ip netns exec lan ping -c 2 -W 3 192.0.2.2
	ip netns exec wan socat -T 5 TCP-LISTEN:7000,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR' &
	local srv=$! seen
	sleep 2
	# -t: wait for the reply after our EOF (the default 0.5 s is too short
	# under TCG).
	seen=$(ip netns exec lan socat -t 10 -T 10 - TCP:192.0.2.2:7000 </dev/null)
	kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
	check wan-sees-external "wan side saw source '$seen', want 192.0.2.1" test "$seen" = 192.0.2.1
	check flows "natkctl flows lists no flow of 10.0.0.2" \
		sh -c 'natkctl flows | grep -q "10.0.0.2"'
}

# The packages from the share to /tmp/natk-debs (a tmpfs: again at each
# boot), where apt's sandbox user can read them.
stage_debs() {
	rm -rf /tmp/natk-debs
	mkdir -m 0755 /tmp/natk-debs
	install -m 0644 "$R"/debs/*.deb /tmp/natk-debs/
}

stage1() {
	check kernel "running $(uname -r)" test "$(uname -r)" = "$(cat "$R/kver1")"
	rm -rf "$SRC"
	cp -a "$R/natk" "$SRC"
	# As docs/install.md tells a user.
	if [ "$INSTALL" = deb ]; then
		stage_debs
		echo "-- apt-get install ./natk-dkms_*.deb ./natkctl_*.deb"
		if (cd /tmp/natk-debs && apt-get install -y ./natk-dkms_*.deb ./natkctl_*.deb) > "$R/install-1.log" 2>&1; then
			pass deb-install
		else
			fail deb-install "see install-1.log"; tail -n 30 "$R/install-1.log"
		fi
		check deb-conffile "dpkg: $(dpkg-query -W -f='${Conffiles}' natkctl 2>&1 | tr '\n' ' ')" \
			sh -c "dpkg-query -W -f='\${Conffiles}' natkctl | grep -q '^ /etc/natk.conf '"
	else
		echo "-- make install"
		if (cd "$SRC" && make install) > "$R/install-1.log" 2>&1; then
			pass make-install
		else
			fail make-install "see install-1.log"; tail -n 30 "$R/install-1.log"
		fi
	fi
	check natkctl-installed "natkctl in PATH: '$(command -v natkctl)', want $SBIN/natkctl" \
		test "$(command -v natkctl)" = "$SBIN/natkctl"
	check man-installed "no natkctl.8 or natk.conf.5 in $SHARE/man" \
		sh -c "ls $SHARE/man/man8/natkctl.8* $SHARE/man/man5/natk.conf.5*"
	check completion-installed "no bash completion" test -e "$SHARE/bash-completion/completions/natkctl"
	check unit-installed "systemctl cat natk.service failed" systemctl cat natk.service
	check conf-example "no example /etc/natk.conf" grep -q '^#external eth0' /etc/natk.conf
	check dkms-installed "dkms status: $(dkms status natk 2>&1 | tr '\n' ' ')" \
		sh -c "dkms status natk -k $(uname -r) | grep -q ': installed'"
	check dkms-src-clean "/usr/src/natk-* has test code" \
		sh -c '! ls -d /usr/src/natk-*/kmod/kunit /usr/src/natk-*/tests 2>/dev/null | grep -q .'
	check unit-not-enabled "natk.service is $(systemctl is-enabled natk.service 2>&1) after the install" \
		test "$(systemctl is-enabled natk.service 2>&1)" = disabled
	check example-unconfigured "natk-start accepted the commented example" \
		sh -c "! $LIBEXEC/natk-start /etc/natk.conf"

	cat > /etc/natk.conf <<'CONF'
# natk reboot test
external wan0
timeout udp 120
forward tcp 8080 10.0.0.2:80
CONF
	check conf-valid "natkctl apply --check /etc/natk.conf failed" natkctl apply --check /etc/natk.conf

	mkdir -p /usr/local/lib/natk-test
	install -m 0755 "$SRC/tests/reboot/natk-test-net.sh" /usr/local/lib/natk-test/
	install -m 0644 "$SRC/tests/reboot/natk-test-net.service" /etc/systemd/system/
	systemctl daemon-reload
	check enable "systemctl enable natk natk-test-net failed" \
		systemctl enable natk.service natk-test-net.service
	finish reboot
}

stage2() {
	verify_boot "$(cat "$R/kver1")"
	# This VM's initramfs needs only this VM's drivers: with Debian's
	# default MODULES=most, update-initramfs alone takes over 20 minutes
	# under TCG. natk is not in the initramfs either way.
	sed -i 's/^MODULES=.*/MODULES=dep/' /etc/initramfs-tools/initramfs.conf
	echo "-- dpkg -i /root/debs/*.deb"
	if dpkg -i /root/debs/*.deb > "$R/kernel-install-2.log" 2>&1; then
		pass install-kernel
	else
		fail install-kernel "dpkg -i failed, see kernel-install-2.log"; tail -n 30 "$R/kernel-install-2.log"
	fi
	local k
	k=$(find /lib/modules -mindepth 1 -maxdepth 1 -name '6.12.*' -printf '%f\n' | sort -V | tail -n 1)
	echo "${k:-none}" > "$R/kver2"
	check new-kernel "no 6.12 kernel in /lib/modules" test -n "$k"
	check new-kernel-boot "no /boot/vmlinuz-$k or initrd" test -e "/boot/vmlinuz-$k" -a -e "/boot/initrd.img-$k"
	check dkms-new-kernel "dkms status: $(dkms status natk 2>&1 | tr '\n' ' ')" \
		sh -c "dkms status natk -k '$k' | grep -q ': installed'"
	check module-new-kernel "no natk.ko for $k in updates/dkms" \
		sh -c "ls /lib/modules/$k/updates/dkms/natk.ko*"
	check modinfo-new-kernel "modinfo -k $k natk: wrong vermagic" \
		sh -c "modinfo -k '$k' -F vermagic natk | grep -q '^$k '"
	finish reboot
}

# make uninstall, as docs/install.md tells source users: nothing is left
uninstall_source() {
	echo "-- make uninstall"
	if (cd "$SRC" && make uninstall) > "$R/uninstall-3.log" 2>&1; then
		pass make-uninstall
	else
		fail make-uninstall "see uninstall-3.log"; tail -n 30 "$R/uninstall-3.log"
	fi
	local left
	check gone-module-loaded "natk still loaded" sh -c '! grep -q "^natk " /proc/modules'
	left=$(find /lib/modules -name 'natk.ko*' 2>/dev/null | tr '\n' ' ')
	check gone-module-files "left: $left" test -z "$left"
	left=$(ls -d /usr/src/natk-* /var/lib/dkms/natk 2>/dev/null | tr '\n' ' ')
	check gone-dkms "left: $left" test -z "$left"
	check gone-natkctl "natkctl still in PATH" sh -c '! command -v natkctl'
	left=$(ls -d /usr/local/share/man/man8/natkctl.8 /usr/local/share/man/man5/natk.conf.5 /usr/local/share/bash-completion/completions/natkctl \
		/usr/local/libexec/natk /usr/local/share/doc/natk 2>/dev/null | tr '\n' ' ')
	check gone-files "left: $left" test -z "$left"
	left=$(find /etc/systemd /lib/systemd /usr/lib/systemd -name 'natk.service*' 2>/dev/null | tr '\n' ' ')
	check gone-unit "left: $left" test -z "$left"
	check gone-unit-loaded "systemd still knows natk.service" \
		sh -c '[ "$(systemctl show -P LoadState natk.service)" = not-found ]'
	check conf-kept-edited "the edited /etc/natk.conf was removed" grep -q '^external wan0' /etc/natk.conf

	# Uninstalling again is harmless, and removes an unchanged example.
	mv /etc/natk.conf /root/natk.conf.edited
	install -m 0644 "$SRC/packaging/natk.conf" /etc/natk.conf
	check uninstall-again "a second make uninstall failed" \
		sh -c "cd '$SRC' && make uninstall > '$R/uninstall-again-3.log' 2>&1"
	check conf-removed-unchanged "the unchanged example /etc/natk.conf was kept" test ! -e /etc/natk.conf
}

# A reinstall is an upgrade to dpkg (preinst upgrade, postinst configure):
# NAT and its flows stay; remove stops NAT, keeps the edited conffile and
# the module loaded (as every DKMS package does) until the next boot; purge
# leaves nothing
uninstall_deb() {
	local pid left
	pid=$(systemctl show -P MainPID natk.service)
	# A UDP flow (udp timeout 120 s) that must outlive the upgrade.
	ip netns exec wan socat -u UDP4-RECV:7001 /dev/null &
	local srv=$!
	unit_poll 10 sh -c "ip netns exec wan ss -Hlun | grep -q ':7001 '"
	ip netns exec lan sh -c 'echo upgrade | socat -u - UDP4-SENDTO:192.0.2.2:7001,sourceport=7001'
	flow_there() { natkctl flows | grep -q "udp 10.0.0.2:7001 "; }
	check upgrade-flow-before "no flow of 10.0.0.2:7001: $(natkctl flows 2>&1 | tr '\n' ' ')" unit_poll 10 flow_there
	echo "-- apt-get install --reinstall ./natkctl_*.deb"
	stage_debs
	if (cd /tmp/natk-debs && apt-get install -y --reinstall ./natkctl_*.deb) > "$R/upgrade-3.log" 2>&1 &&
		grep -q "Unpacking natkctl .* over " "$R/upgrade-3.log"; then
		pass deb-upgrade
	else
		fail deb-upgrade "no reinstall of natkctl, see upgrade-3.log"; tail -n 30 "$R/upgrade-3.log"
	fi
	check upgrade-unit-kept "natk.service is $(systemctl is-active natk.service), main PID $(systemctl show -P MainPID natk.service) (was $pid)" \
		sh -c "systemctl -q is-active natk.service && [ \"\$(systemctl show -P MainPID natk.service)\" = '$pid' ]"
	check upgrade-nat-kept "natkctl status after the upgrade: not enabled" status_has "natk: enabled"
	check upgrade-flow-kept "the flow of 10.0.0.2:7001 is gone after the upgrade: $(natkctl flows 2>&1 | tr '\n' ' ')" flow_there
	check upgrade-forwarding-kept "net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward) after the upgrade" \
		test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1
	check upgrade-unit-fresh "systemd wants a daemon-reload for natk.service" \
		test "$(systemctl show -P NeedDaemonReload natk.service)" = no

	# natkctl, kept to ask natk after the package is gone
	kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
	cp /usr/sbin/natkctl /root/natkctl.saved
	echo "-- apt-get remove natkctl natk-dkms"
	if apt-get remove -y natkctl natk-dkms > "$R/uninstall-3.log" 2>&1; then
		pass deb-remove
	else
		fail deb-remove "see uninstall-3.log"; tail -n 30 "$R/uninstall-3.log"
	fi
	check remove-unit-stopped "natk.service is $(systemctl is-active natk.service) after apt-get remove" \
		sh -c '! systemctl -q is-active natk.service'
	check remove-nat-down "natk still enabled after apt-get remove" sh -c '! /root/natkctl.saved status | grep -q "natk: enabled"'
	check remove-forwarding-off "net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward) after apt-get remove" \
		test "$(cat /proc/sys/net/ipv4/ip_forward)" = 0
	left=$(find /lib/modules -name 'natk.ko*' 2>/dev/null | tr '\n' ' ')
	check gone-module-files "left: $left" test -z "$left"
	left=$(ls -d /usr/src/natk-* /var/lib/dkms/natk 2>/dev/null | tr '\n' ' ')
	check gone-dkms "left: $left" test -z "$left"
	check gone-natkctl "natkctl still in PATH" sh -c '! command -v natkctl'
	left=$(ls -d /usr/share/man/man8/natkctl.8* /usr/share/man/man5/natk.conf.5* /usr/share/bash-completion/completions/natkctl \
		/usr/libexec/natk /lib/systemd/system/natk* 2>/dev/null | tr '\n' ' ')
	check gone-files "left: $left" test -z "$left"
	check conf-kept-edited "apt-get remove removed the edited /etc/natk.conf" grep -q '^external wan0' /etc/natk.conf

	echo "-- apt-get purge natkctl natk-dkms"
	if apt-get purge -y natkctl natk-dkms > "$R/purge-3.log" 2>&1; then
		pass deb-purge
	else
		fail deb-purge "see purge-3.log"; tail -n 30 "$R/purge-3.log"
	fi
	check conf-purged "/etc/natk.conf is still there after purge" test ! -e /etc/natk.conf
	left=$(find /etc/systemd /lib/systemd /usr/lib/systemd /var/lib/systemd/deb-systemd-helper-enabled \
		\( -name 'natk.service*' -o -name 'natk-metrics*' \) 2>/dev/null | tr '\n' ' ')
	check gone-unit "left: $left" test -z "$left"
	check gone-unit-loaded "systemd still knows natk.service" \
		sh -c '[ "$(systemctl show -P LoadState natk.service)" = not-found ]'
	left=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' natkctl natk-dkms 2>/dev/null | grep -v '^un ' | tr '\n' ' ')
	check gone-dpkg "dpkg still knows: $left" test -z "$left"
}

stage3() {
	verify_boot "$(cat "$R/kver2")"
	check previous-stop "no clean stop of natk.service in the previous boot's journal" \
		sh -c "journalctl -b -1 -u natk.service --no-pager | grep -q 'Stopped\|Deactivated successfully'"

	# The unit is natkctl supervise (Type=notify): its status is NAT's.
	check unit-notify "natk.service: Type=$(systemctl show -P Type natk.service)" \
		test "$(systemctl show -P Type natk.service)" = notify
	check unit-status-text "natk.service StatusText: $(systemctl show -P StatusText natk.service)" \
		test "$(systemctl show -P StatusText natk.service)" = "masquerading out of wan0 (192.0.2.1)"
	check unit-main-supervise "natk.service's main process: $(cat /proc/"$(systemctl show -P MainPID natk.service)"/cmdline 2>&1 | tr '\0' ' ')" \
		grep -qa supervise "/proc/$(systemctl show -P MainPID natk.service)/cmdline"

	# The address goes away: the unit is no longer active, restarts by
	# itself, says what it waits for, and is active again once the
	# address is back, with no command.
	ip addr del 192.0.2.1/24 dev wan0
	check addr-gone-not-active "natk.service is $(systemctl is-active natk.service) 20 s after the address went" \
		unit_poll 20 sh -c '! systemctl -q is-active natk.service'
	check addr-gone-status "StatusText: $(systemctl show -P StatusText natk.service)" \
		unit_poll 40 sh -c 'systemctl show -P StatusText natk.service | grep -q "waiting for an IPv4 address on wan0"'
	ip addr add 192.0.2.1/24 dev wan0
	check addr-back-active "natk.service is $(systemctl is-active natk.service) after the address came back" \
		unit_poll 40 systemctl -q is-active natk.service
	check addr-back-restarted "NRestarts $(systemctl show -P NRestarts natk.service)" \
		test "$(systemctl show -P NRestarts natk.service)" -ge 1
	check addr-back-ping "ping from netns lan to 192.0.2.2 failed after the address came back" \
		ip netns exec lan ping -c 2 -W 3 192.0.2.2

	# natkctl down by hand: the unit fails and stays failed.
	natkctl down
	check down-fails-unit "natk.service is $(systemctl is-active natk.service) after natkctl down, want failed" \
		unit_poll 20 systemctl -q is-failed natk.service
	check down-status "StatusText: $(systemctl show -P StatusText natk.service)" \
		sh -c 'systemctl show -P StatusText natk.service | grep -q "NAT was stopped"'
	systemctl restart natk.service
	check down-restart-ok "natk.service is $(systemctl is-active natk.service) after restart" \
		systemctl -q is-active natk.service

	# systemctl stop: NAT stops and natk-start's forwarding is undone.
	systemctl stop natk.service
	check stop-down "natk still enabled after systemctl stop" \
		sh -c '! natkctl status | grep -q "natk: enabled"'
	check stop-forwarding-off "net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward) after systemctl stop" \
		test "$(cat /proc/sys/net/ipv4/ip_forward)" = 0

	# A missing external interface: the unit is not active, says so
	# loudly, keeps retrying, and NAT is off.
	mkdir -p /run/systemd/system/natk.service.d
	printf '[Service]\nEnvironment=NATK_WAIT=5\n' > /run/systemd/system/natk.service.d/wait.conf
	cp /etc/natk.conf /root/natk.conf.good
	sed -i 's/^external wan0/external nosuch0/' /etc/natk.conf
	systemctl daemon-reload
	systemctl --no-block start natk.service
	check missing-iface-retries "natk.service NRestarts $(systemctl show -P NRestarts natk.service) after 60 s, state $(systemctl is-active natk.service)" \
		unit_poll 60 sh -c '[ "$(systemctl show -P NRestarts natk.service)" -ge 1 ] && ! systemctl -q is-active natk.service'
	check missing-iface-message "no 'did not appear' in the journal" \
		sh -c "journalctl -b -u natk.service --no-pager | grep -q 'external interface nosuch0 did not appear within 5s; NAT is NOT running'"
	check missing-iface-down "natk enabled while its interface is missing" \
		sh -c '! natkctl status | grep -q "natk: enabled"'
	check missing-iface-no-forwarding "net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward) while natk waits" \
		test "$(cat /proc/sys/net/ipv4/ip_forward)" = 0
	systemctl stop natk.service
	cp /root/natk.conf.good /etc/natk.conf
	rm -rf /run/systemd/system/natk.service.d
	systemctl daemon-reload
	systemctl reset-failed natk.service 2>/dev/null
	systemctl restart natk.service
	check restart-ok "natk.service is $(systemctl is-active natk.service) after restoring the file" \
		systemctl -q is-active natk.service
	check reload-ok "systemctl reload natk failed" systemctl reload natk.service

	if [ "$INSTALL" = deb ]; then uninstall_deb; else uninstall_source; fi
	finish poweroff
}

case $STAGE in
1) stage1 ;;
2) stage2 ;;
3) stage3 ;;
*) fail stage "unknown stage '$STAGE'"; finish poweroff ;;
esac
