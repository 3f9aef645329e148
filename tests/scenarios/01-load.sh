#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk.ko loads and unloads cleanly; natkctl status works before any
# configuration and says natk is not enabled; the generic netlink family
# autoloads the module.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan module-install module-load module-present status-unconfigured-text \
	status-unconfigured-json natkctl-netns-option stats-unconfigured \
	flows-unconfigured module-unload module-gone genl-autoload module-reload \
	module-load-unload-clean
require_natk module-load
dmesg_mark

check module-install natk_install || exit 1
check module-load modprobe natk
check module-present test -d /sys/module/natk

ip netns add nat
# What a user reads: natk is off, no interface, the default settings.
out=$(nctl status 2>&1)
if [ "$(echo "$out" | sed -n 1p)" = "natk: disabled" ] &&
	echo "$out" | grep -qx '  external interface: none' &&
	echo "$out" | grep -qx '  ports: 1024-65535' &&
	echo "$out" | grep -qx '  flows: 0 / [0-9]*'; then
	pass status-unconfigured-text
else
	fail status-unconfigured-text "natkctl status: $(echo "$out" | head -n 4 | tr '\n' '|')"
fi
js=$(nctl -j status 2>&1)
if echo "$js" | jq -e '.enabled == false and .external_interface == null and .port_min == 1024 and .port_max == 65535 and .flows == 0 and .timeouts.udp == 300 and .timeouts.tcp_established == 7440' > /dev/null 2>&1; then
	pass status-unconfigured-json
else
	fail status-unconfigured-json "natkctl -j status: $js"
fi
js2=$("$NATKCTL" -n nat -j status 2>&1)
# -n nat and ip netns exec nat: the same namespace, the same answer.
a=$(echo "$js" | jq -c 'select(.enabled == false)' 2>&1)
b=$(echo "$js2" | jq -c 'select(.enabled == false)' 2>&1)
if [ -n "$a" ] && [ "$a" = "$b" ]; then
	pass natkctl-netns-option
else
	fail natkctl-netns-option "ip netns exec nat natkctl -j status: '$js'; natkctl -n nat -j status: '$js2'"
fi
# Every counter there, and all zero in a namespace natk never saw.
check stats-unconfigured sh -c "'$NATKCTL' -n nat -j stats | jq -e 'type == \"object\" and length >= 29 and has(\"packets_dropped\") and has(\"connection_attempts\") and all(.[]; . == 0)'"
check flows-unconfigured sh -c "'$NATKCTL' -n nat -j flows | jq -e 'type == \"array\" and length == 0'"
ip netns del nat

check module-unload rmmod natk
check module-gone sh -c '! test -d /sys/module/natk'

# Looking up the "natk" genl family autoloads the module.
"$NATKCTL" status > /dev/null 2>&1
check genl-autoload test -d /sys/module/natk
natk_unload
check module-reload sh -c 'modprobe natk && rmmod natk'
dmesg_check module-load-unload-clean
