#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two things around the external interface and its netns:
#  - renaming the external interface (down, rename, up) keeps natk on it:
#    status and save name the new name, the flows were not flushed (a
#    rename is not an address change), and traffic goes on;
#  - a netns owned by an unprivileged user namespace (a container's root):
#    its natk defaults to NATK_USERNS_MAX_FLOWS (65536) flows and refuses
#    more, while the host's root keeps the full range.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" rename-before rename-status rename-save rename-no-flush rename-after \
	rename-enabled userns-default-max-flows userns-max-flows-capped userns-apply-check-kernel userns-max-flows-below-cap \
	userns-host-root-uncapped "$SCEN-kernel-log"
dmesg_mark
require_natk rename-setup
topo_setup || { fail rename-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan udp 5000 $WAN1 > /dev/null
ifname_is() { [ "$(nctl -j status | jq -r .external_interface)" = "$1" ]; }

r=$(ask lan1 udp $WAN1 5000 40700 | sed -n 1p)
expect_eq rename-before "$NAT_EXT 40700" "$r" "wan saw lan1:40700 as"
ip -n nat link set wan0 down
ip -n nat link set wan0 name ext0
ip -n nat link set ext0 up
if poll 5 ifname_is ext0; then
	pass rename-status
else
	fail rename-status "status names '$(nctl -j status | jq -r .external_interface)', want ext0"
fi
if nctl save 2>/dev/null | grep -qw 'external ext0'; then
	pass rename-save
else
	fail rename-save "natkctl save says: $(nctl save 2>&1 | grep external)"
fi
if flow_present udp $LAN1 40700; then
	pass rename-no-flush
else
	fail rename-no-flush "the flow of lan1:40700 is gone after a rename"
fi
r=$(ask lan1 udp $WAN1 5000 40701 | sed -n 1p)
expect_eq rename-after "$NAT_EXT 40701" "$r" "wan saw lan1:40701 as"
expect_eq rename-enabled true "$(nctl -j status | jq -r .enabled)" "enabled"

# --- a container's netns: a user namespace with its own network namespace.
# unshare runs natkctl as that namespace's root (mapped to the caller).
cont() { unshare --user --map-root-user --net sh -c "ip link set lo up; $*"; }
mf=$(cont "'$NATKCTL' -j status" | jq -r .max_flows)
expect_eq userns-default-max-flows 65536 "$mf" "max_flows in a container's netns"
out=$(cont "'$NATKCTL' set max-flows 100000 2>&1; echo rc=\$?")
case $out in
*rc=0*) fail userns-max-flows-capped "a container set max-flows 100000: $out" ;;
*65536*) pass userns-max-flows-capped ;;
*) fail userns-max-flows-capped "refused, but without saying the limit: $out" ;;
esac
# apply --check asks the kernel (NATK_A_DRY_RUN): the cap is the kernel's,
# so the offline check passes and the kernel's refusal names the line.
cf=$(mktemp /tmp/natk-userns.XXXXXX)
printf 'timeout udp 30\nmax-flows 100000\n' > "$cf"
out=$(cont "'$NATKCTL' apply --check '$cf' 2>&1; echo rc=\$?")
rm -f "$cf"
case $out in
*"natk-userns."*":2: "*65536*rc=1*) pass userns-apply-check-kernel ;;
*) fail userns-apply-check-kernel "apply --check of max-flows 100000 in a container: $out" ;;
esac
out=$(cont "'$NATKCTL' set max-flows 60000 && '$NATKCTL' -j status" | jq -r .max_flows)
expect_eq userns-max-flows-below-cap 60000 "$out" "max_flows set by a container"
# The host's root, in its own netns, is not capped.
check userns-host-root-uncapped nctl set max-flows 100000
dmesg_check "$SCEN-kernel-log"
