#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Permissions (GENL_UNS_ADMIN_PERM): an unprivileged user (nobody) and the
# root of a new user namespace without its own netns get EPERM with a
# "permission denied" message for set, down, flush, forward add/del/list,
# flows and monitor, in the init netns (forward list, like flows, shows
# internal addresses); status and stats work for them, without the
# forwards' internal addresses. The root of a new user + net namespace
# manages natk in its own netns: a dummy interface there, set external,
# status, flows, down.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan perm-natk-load perm-root-forward-add perm-nobody-status-text perm-nothing-changed \
	perm-userns-init-untouched perm-root-forward-del
for who in nobody userns; do
	for c in set-external set-timeout down flush flows flows-json forward-add forward-del monitor \
		forward-list forward-list-json status status-no-internal-address stats; do
		plan "perm-$who-$c"
	done
done
for who in root nobody; do
	for c in own-netns set-external flows forward down; do plan "perm-userns-$who-$c"; done
done
require_natk perm-natk-built
check perm-natk-load natk_load || exit 1
ip link add perm0 type dummy && ip addr add 198.51.100.1/24 dev perm0 && ip link set perm0 up ||
	{ fail perm-dummy "cannot create perm0"; exit 1; }
perm_cleanup() {
	local rc=$?
	ip link del perm0 2>/dev/null
	[ -n "${userns_old:-}" ] && echo "$userns_old" > "$userns_sysctl"
	[ -n "${maxuserns_old:-}" ] && echo "$maxuserns_old" > /proc/sys/user/max_user_namespaces
	(exit $rc)
	ctl_cleanup
}
trap perm_cleanup EXIT
# A forward in the init netns, so that there is something to list (and to
# fail to delete).
check perm-root-forward-add "$NATKCTL" forward add tcp 8080 10.0.0.2:80

# Unprivileged users need a natkctl they can run: a copy in a 0755 dir.
chmod 755 "$CTL_TMP"
cp "$NATKCTL" "$CTL_TMP/natkctl" && chmod 755 "$CTL_TMP/natkctl"
NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)
# unprivileged user namespaces, if the kernel has the Debian switch
userns_sysctl=/proc/sys/kernel/unprivileged_userns_clone
userns_old=$(cat $userns_sysctl 2>/dev/null)
[ -n "$userns_old" ] && echo 1 > $userns_sysctl
maxuserns_old=$(cat /proc/sys/user/max_user_namespaces)
[ "$maxuserns_old" -gt 0 ] || echo 1000 > /proc/sys/user/max_user_namespaces

# as_user NAME-PREFIX WRAPPER...: run the denial checks under WRAPPER.
denied() { # NAME WRAPPER-ARRAY-NAME ARGS...
	local name=$1 w=$2
	shift 2
	local -n wrap=$w
	"${wrap[@]}" "$CTL_TMP/natkctl" "$@" > "$CTL_TMP/out" 2> "$CTL_TMP/err"
	local rc=$? err
	err=$(cat "$CTL_TMP/err")
	# 2: the kernel or the system refused (natkctl(8), EXIT STATUS)
	if [ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
		printf '%s\n' "$err" | grep -Eiq '^natkctl: .*(permission denied|not permitted|run as root)'; then
		pass "$name"
	else
		fail "$name" "natkctl $*: exit $rc, stderr: $err"
	fi
}
allowed() { # NAME WRAPPER-ARRAY-NAME JQ ARGS... (exit ALLOWED_RC, 0)
	local name=$1 w=$2 jqe=$3
	shift 3
	local -n wrap=$w
	"${wrap[@]}" "$CTL_TMP/natkctl" "$@" > "$CTL_TMP/out" 2> "$CTL_TMP/err"
	local rc=$?
	if [ "$rc" -eq "${ALLOWED_RC:-0}" ] && jq -e "$jqe" "$CTL_TMP/out" > /dev/null 2>&1; then
		pass "$name"
	else
		fail "$name" "natkctl $*: exit $rc, stdout: $(head -c 300 "$CTL_TMP/out"), stderr: $(cat "$CTL_TMP/err")"
	fi
}

before=$("$NATKCTL" -j status)
for who in nobody userns; do
	case $who in
	nobody) W=("${NOBODY[@]}") ;;
	userns) W=(unshare --user --map-root-user) ;;   # root of a userns, init netns
	esac
	denied "perm-$who-set-external" W set external perm0
	denied "perm-$who-set-timeout" W set timeout udp 30
	denied "perm-$who-down" W down
	denied "perm-$who-flush" W flush
	denied "perm-$who-flows" W flows
	denied "perm-$who-flows-json" W -j flows
	denied "perm-$who-forward-add" W forward add udp 53 10.0.0.3
	denied "perm-$who-forward-del" W forward del tcp 8080
	# monitor: subscribing to the events group needs CAP_NET_ADMIN too
	W2=(timeout 10 "${W[@]}")
	denied "perm-$who-monitor" W2 monitor count 1
	denied "perm-$who-forward-list" W forward list
	denied "perm-$who-forward-list-json" W -j forward list
	# 3: NAT is not active in the init netns
	ALLOWED_RC=3 allowed "perm-$who-status" W '.enabled == false' -j status
	if ! jq -e . "$CTL_TMP/out" > /dev/null 2>&1; then
		fail "perm-$who-status-no-internal-address" "no status: $(head -c 300 "$CTL_TMP/out") $(cat "$CTL_TMP/err")"
	elif grep -q '10\.0\.0\.2' "$CTL_TMP/out"; then
		fail "perm-$who-status-no-internal-address" "natkctl -j status shows the forward's internal address: $(head -c 300 "$CTL_TMP/out")"
	else
		pass "perm-$who-status-no-internal-address"
	fi
	allowed "perm-$who-stats" W '(.active_connections | type) == "number"' -j stats
done
W=("${NOBODY[@]}")
"${W[@]}" "$CTL_TMP/natkctl" status > "$CTL_TMP/out" 2>&1
rc=$?	# 3: NAT not active in this netns, as systemctl is-active
[ "$rc" = 3 ] && grep -qx 'natk: disabled' "$CTL_TMP/out" && pass perm-nobody-status-text ||
	fail perm-nobody-status-text "exit $rc (want 3): $(cat "$CTL_TMP/out")"
expect_eq perm-nothing-changed "$(printf '%s' "$before" | jq -c .)" "$("$NATKCTL" -j status | jq -c .)" "init netns status before/after the denied commands"

# Root of a new user + net namespace manages natk in its own netns.
cat > "$CTL_TMP/own.sh" <<'EOF'
set -e
C=$1
ip link set lo up
ip link add own0 type dummy
ip addr add 203.0.113.1/24 dev own0
ip link set own0 up
$C set external own0 timeout udp 33
$C -j status
$C -j flows
$C forward add udp 5353 10.9.9.9
$C -j forward list
$C flush
$C down
# status exits 3 once NAT is down (not active)
rc=0; $C -j status || rc=$?; [ "$rc" = 3 ]
EOF
chmod 644 "$CTL_TMP/own.sh"
for who in root nobody; do
	case $who in
	root) W=(unshare --user --map-root-user --net) ;;
	nobody) W=("${NOBODY[@]}" unshare --user --map-root-user --net) ;;
	esac
	"${W[@]}" bash "$CTL_TMP/own.sh" "$CTL_TMP/natkctl" > "$CTL_TMP/own.out" 2> "$CTL_TMP/own.err"
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q 'unshare: .*Operation not permitted\|unshare failed' "$CTL_TMP/own.err"; then
		fail "perm-userns-$who-own-netns" "cannot create a user namespace here: $(cat "$CTL_TMP/own.err")"
		continue
	fi
	expect_eq "perm-userns-$who-own-netns" 0 "$rc" "exit status (stderr: $(cat "$CTL_TMP/own.err"))"
	js=$(jq -s . "$CTL_TMP/own.out" 2>/dev/null)
	json_expect "perm-userns-$who-set-external" "$js" \
		'.[0].enabled == true and .[0].external_interface == "own0" and .[0].external_address == "203.0.113.1" and .[0].timeouts.udp == 33'
	json_expect "perm-userns-$who-flows" "$js" '.[1] == []'
	json_expect "perm-userns-$who-forward" "$js" '.[2] | length == 1 and .[0].internal_address == "10.9.9.9"'
	json_expect "perm-userns-$who-down" "$js" '.[3].enabled == false and .[3].timeouts.udp == 33'
done
# ... and that did not touch the init netns
expect_eq perm-userns-init-untouched "$(printf '%s' "$before" | jq -c .)" "$("$NATKCTL" -j status | jq -c .)" "init netns status"
check perm-root-forward-del "$NATKCTL" forward del tcp 8080
