#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk.ko loads and unloads cleanly; natkctl status works before any
# configuration and says natk is not enabled; the generic netlink family
# autoloads the module.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
require_natk module-load
dmesg_mark

check module-install natk_install || exit 1
check module-load modprobe natk
check module-present test -d /sys/module/natk

ip netns add nat
out=$(nctl status 2>&1)
check status-unconfigured-text test -n "$out" || log "$out"
js=$(nctl -j status 2>&1)
if echo "$js" | jq -e '(.enabled == false or .enabled == 0) and (has("port_min")) and (has("timeouts"))' > /dev/null 2>&1; then
	pass status-unconfigured-json
else
	fail status-unconfigured-json "natkctl -j status: $js"
fi
js2=$("$NATKCTL" -n nat -j status 2>&1)
expect_eq natkctl-netns-option "$(echo "$js" | jq -c .enabled 2>/dev/null)" \
	"$(echo "$js2" | jq -c .enabled 2>/dev/null)" "natkctl -n nat -j status .enabled"
check stats-unconfigured sh -c "'$NATKCTL' -n nat -j stats | jq -e 'type == \"object\"'"
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
