#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natkctl doctor on a NAT namespace: well configured, every check ok and
# exit 0; then each thing an admin gets wrong, one at a time, is reported
# by its check (fail: exit 4; warn: exit 0) and put right again:
# ip_forward off, no default route, a default route out of the internal
# side, natk down, natk unloaded (and doctor does not load it), the
# external address gone, natk.service disabled / masked / not installed /
# no systemd, the configuration file broken or without an external
# interface, strict rp_filter on the internal side, an external MTU below
# the internal one without mss-clamp, nf_conntrack's table smaller than
# natk's; and on a cloud instance (DMI bind-mounted from a fake AWS one)
# the source/destination check and subnet route reminders, which turn ok
# once traffic shows they work.
# systemd is faked: /run/systemd/system and a systemctl in PATH that
# answers from files.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
doctor_cleanup() {
	local rc=$?
	rm -rf /run/systemd
	ctl_cleanup
	exit $rc
}
trap doctor_cleanup EXIT
plan doctor-natk-up doctor-good-exit doctor-good-all-ok doctor-good-names doctor-good-text \
	doctor-ip-forward doctor-no-default-route doctor-default-route-internal \
	doctor-natk-down doctor-natk-unloaded doctor-no-autoload doctor-no-address \
	doctor-service-disabled doctor-service-masked doctor-service-missing doctor-no-systemd \
	doctor-config-broken doctor-config-no-external doctor-config-missing doctor-rp-filter \
	doctor-mtu doctor-mtu-clamped doctor-conntrack doctor-cloud-reminders \
	doctor-cloud-evidence doctor-restored
require_natk doctor-natk-built
topo_setup || { fail doctor-topology "topology setup failed"; exit 1; }
check doctor-natk-up natk_up || exit 1
ip -n nat route add default via $WAN1 dev wan0
nsx nat sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.lan0.rp_filter=2

CONF=$CTL_TMP/natk.conf
printf 'external wan0\nports 1024-65535\n' > "$CONF"
mkdir -p /run/systemd/system "$CTL_TMP/bin"
echo enabled > "$CTL_TMP/unit-enabled"
echo active > "$CTL_TMP/unit-active"
cat > "$CTL_TMP/bin/systemctl" <<EOF
#!/bin/sh
# fake: systemctl is-enabled|is-active natk.service
case \$1 in
is-enabled) [ -s "$CTL_TMP/unit-enabled" ] && cat "$CTL_TMP/unit-enabled" ;;
is-active) cat "$CTL_TMP/unit-active" ;;
esac
EOF
chmod +x "$CTL_TMP/bin/systemctl"

# doc [PREFIX...]: natkctl -j doctor in nat; sets DOC (JSON) and DOC_RC
doc() {
	DOC=$(nsx nat env PATH="$CTL_TMP/bin:$PATH" "$@" "$NATKCTL" -j doctor config "$CONF" 2> "$CTL_TMP/doc.err")
	DOC_RC=$?
}
# doc_n: the same from the initial namespace with -n nat
doc_n() {
	DOC=$(env PATH="$CTL_TMP/bin:$PATH" "$NATKCTL" -n nat -j doctor config "$CONF" 2> "$CTL_TMP/doc.err")
	DOC_RC=$?
}
st() { printf '%s' "$DOC" | jq -r --arg n "$1" '.checks[] | select(.name == $n) | .status'; }
# expect_doc NAME CHECK STATUS RC [REGEX]: after doc, CHECK is STATUS,
# exit RC, with a fix to offer unless ok, and what it found matches REGEX
expect_doc() {
	local got fix found
	got=$(st "$2")
	fix=$(printf '%s' "$DOC" | jq -r --arg n "$2" '.checks[] | select(.name == $n) | .fix')
	found=$(printf '%s' "$DOC" | jq -r --arg n "$2" '.checks[] | select(.name == $n) | .found')
	if [ "$got" = "$3" ] && [ "$DOC_RC" = "$4" ] &&
		{ [ "$3" = ok ] || { [ -n "$fix" ] && [ "$fix" != null ]; }; } &&
		printf '%s\n' "$found" | grep -Eq -- "${5:-.}"; then
		pass "$1"
		log "$2: $(printf '%s' "$DOC" | jq -r --arg n "$2" '.checks[] | select(.name == $n) | .found')"
	else
		fail "$1" "$2 is '$got' (want $3), exit $DOC_RC (want $4), fix '$fix', found '$found' (want /${5:-.}/); $(printf '%s' "$DOC" | jq -c '[.checks[] | select(.status != "ok") | {name, found}]') $(cat "$CTL_TMP/doc.err")"
	fi
}

doc
expect_eq doctor-good-exit 0 "$DOC_RC" "exit status ($(cat "$CTL_TMP/doc.err"))"
json_expect doctor-good-all-ok "$DOC" '([.checks[].status] | all(. == "ok")) and .fail == 0 and .warn == 0'
json_expect doctor-good-names "$DOC" '[.checks[].name] == ["ip-forward","natk-loaded","natk-active","masquerading","external-interface","default-route","rp-filter","nf-conntrack","mss-mtu","service","config"]'
txt=$(nsx nat env PATH="$CTL_TMP/bin:$PATH" "$NATKCTL" doctor config "$CONF")
if echo "$txt" | grep -q '^ok   default-route      default via 192.0.2.2 dev wan0$' &&
	echo "$txt" | tail -n 1 | grep -qx '11 ok, 0 warnings, 0 failed'; then
	pass doctor-good-text
else
	fail doctor-good-text "$txt"
fi

nsx nat sysctl -qw net.ipv4.ip_forward=0
doc
expect_doc doctor-ip-forward ip-forward fail 4
nsx nat sysctl -qw net.ipv4.ip_forward=1

ip -n nat route del default
doc
expect_doc doctor-no-default-route default-route fail 4
ip -n nat route add default via $LAN1 dev lan0
doc
expect_doc doctor-default-route-internal default-route fail 4
ip -n nat route replace default via $WAN1 dev wan0

nctl down
doc
expect_doc doctor-natk-down natk-active fail 4
nctl set external wan0

topo_flows=$(nctl -j status | jq .flows)
natk_unload
doc
expect_doc doctor-natk-unloaded natk-loaded fail 4
if natk_loaded; then fail doctor-no-autoload "natkctl doctor loaded natk"; else pass doctor-no-autoload; fi
natk_up
log "flows before the reload: $topo_flows"

ip -n nat addr del $NAT_EXT/24 dev wan0
doc
if [ "$(st external-interface)" = fail ] && [ "$(st masquerading)" = fail ]; then
	expect_doc doctor-no-address external-interface fail 4
else
	fail doctor-no-address "external-interface $(st external-interface), masquerading $(st masquerading): $DOC"
fi
ip -n nat addr add $NAT_EXT/24 dev wan0
ip -n nat route replace default via $WAN1 dev wan0

echo disabled > "$CTL_TMP/unit-enabled"
doc
expect_doc doctor-service-disabled service fail 4
echo masked > "$CTL_TMP/unit-enabled"
doc
expect_doc doctor-service-masked service fail 4
: > "$CTL_TMP/unit-enabled"	# systemctl says nothing: no such unit
doc
expect_doc doctor-service-missing service fail 4
echo enabled > "$CTL_TMP/unit-enabled"
mv /run/systemd/system /run/systemd/system.off
doc
expect_doc doctor-no-systemd service warn 0
mv /run/systemd/system.off /run/systemd/system

printf 'external wan0\nports 1-70000\n' > "$CONF"
doc
expect_doc doctor-config-broken config fail 4 "natk.conf:2: invalid port range '1-70000'"
printf 'ports 1024-65535\n' > "$CONF"
doc
expect_doc doctor-config-no-external config fail 4
rm -f "$CONF"
doc
expect_doc doctor-config-missing config fail 4
printf 'external wan0\nports 1024-65535\n' > "$CONF"

nsx nat sysctl -qw net.ipv4.conf.lan0.rp_filter=1
doc
expect_doc doctor-rp-filter rp-filter warn 0
nsx nat sysctl -qw net.ipv4.conf.lan0.rp_filter=2

ip -n nat link set wan0 mtu 1400
doc
expect_doc doctor-mtu mss-mtu warn 0
nctl set mss-clamp pmtu
doc
expect_doc doctor-mtu-clamped mss-mtu ok 0
nctl set mss-clamp off
ip -n nat link set wan0 mtu 1500

# A cloud instance: DMI says Amazon EC2 (bind-mounted in a private mount
# namespace). After a reload natk has seen no traffic: reminders; after
# traffic both ways: ok, with the counts as evidence.
mkdir -p "$CTL_TMP/dmi"
echo "Amazon EC2" > "$CTL_TMP/dmi/sys_vendor"
cloud_doc() { doc unshare -m sh -c "mount --bind '$CTL_TMP/dmi' /sys/class/dmi/id && exec \"\$0\" \"\$@\""; }
natk_unload
natk_up
ip -n nat route replace default via $WAN1 dev wan0
cloud_doc
if [ "$(st cloud-forwarding)" = warn ] && [ "$(st cloud-route)" = warn ] && [ "$DOC_RC" = 0 ]; then
	pass doctor-cloud-reminders
	log "cloud-forwarding fix: $(printf '%s' "$DOC" | jq -r '.checks[] | select(.name == "cloud-forwarding") | .fix')"
else
	fail doctor-cloud-reminders "cloud-forwarding '$(st cloud-forwarding)', cloud-route '$(st cloud-route)', exit $DOC_RC: $DOC $(cat "$CTL_TMP/doc.err")"
fi
nsx lan1 ping -c 2 -i 0.2 -W 2 $WAN1 > /dev/null
cloud_doc
if [ "$(st cloud-forwarding)" = ok ] && [ "$(st cloud-route)" = ok ]; then
	pass doctor-cloud-evidence
else
	fail doctor-cloud-evidence "cloud-forwarding '$(st cloud-forwarding)', cloud-route '$(st cloud-route)': $DOC"
fi

doc
json_expect doctor-restored "$DOC" '[.checks[].status] | all(. == "ok")'

# nf_conntrack tracking in nat (a stateful forward rule) with a table
# smaller than natk's. nf_conntrack_max is global and shown in the
# initial namespace only: doctor -n nat reads it there.
nsx nat nft -f - <<'EOT' || fail doctor-conntrack "nft did not take the ruleset"
table inet fw {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ct state established,related accept
	}
}
EOT
peer_server wan tcp 7001 $WAN1
ask lan1 tcp $WAN1 7001 > /dev/null
ctmax=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo 0)
poll 5 sh -c "[ \"\$(ip netns exec nat cat /proc/sys/net/netfilter/nf_conntrack_count)\" -gt 0 ]"
maxflows=$(nctl -j status | jq .max_flows)
if [ "$ctmax" -gt 0 ] && [ "$ctmax" -lt 16777216 ]; then
	nctl set max-flows $((ctmax + 1))
	doc_n
	expect_doc doctor-conntrack nf-conntrack warn 0
	nctl set max-flows "$maxflows"
else
	fail doctor-conntrack "nf_conntrack_max in nat: '$ctmax'"
fi
nsx nat nft delete table inet fw
