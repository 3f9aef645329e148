#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natkctl, command by command and option by option, as a user checks it:
# -h, -V, help, -n, -p, status (text and every JSON key), set (several pairs
# in one call, all-or-nothing in natkctl and in the kernel, every setting
# and timeout, abbreviations, units). 21-cli-flows has the rest.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan cli-natk-load cli-help-option cli-help-lists-commands cli-help-long-option \
	cli-help-option-is-usage cli-version cli-version-format cli-version-long cli-help-command \
	cli-help-command-lists cli-help-set cli-help-set-usage cli-help-abbrev cli-help-abbrev-flows \
	cli-no-command-usage cli-status-disabled-json cli-status-disabled-keys cli-status-disabled-text \
	cli-status-disabled-line cli-set-external cli-status-json cli-status-enabled \
	cli-status-external-interface cli-status-external-address cli-status-port-min cli-status-port-max \
	cli-status-max-flows cli-status-max-flows-per-host cli-status-flows cli-status-hash-buckets \
	cli-status-mapping cli-status-filtering cli-status-mss-clamp cli-status-timeout-tcp-established \
	cli-status-timeout-tcp-transitory cli-status-timeout-udp cli-status-timeout-icmp \
	cli-status-timeouts-exactly cli-status-forwards cli-status-text cli-status-text-lines \
	cli-netns-option cli-netns-option-same cli-netns-long-option cli-netns-long-option-json cli-pretty \
	cli-pretty-same-json cli-set-several cli-set-several-applied cli-set-atomic-cli-rejects \
	cli-set-atomic-cli-nothing-changed cli-set-atomic-cli-rejects-ports \
	cli-set-atomic-cli-ports-nothing-changed cli-set-atomic-kernel-rejects \
	cli-set-atomic-kernel-nothing-changed cli-set-atomic-kernel-rejects-max-flows \
	cli-set-atomic-kernel-max-flows-nothing-changed cli-set-ports cli-set-ports-applied \
	cli-set-ports-single cli-set-ports-single-applied cli-set-max-flows cli-set-max-flows-applied \
	cli-set-timeout-several cli-set-timeout-units cli-set-timeout-max cli-set-timeout-max-applied \
	cli-set-abbreviated cli-set-abbreviated-applied cli-set-filtering cli-set-filtering-applied \
	cli-set-filtering-back cli-set-filtering-back-applied cli-set-restore
for t in tcp-established tcp-transitory udp icmp; do
	plan "cli-set-timeout-$t" "cli-set-timeout-$t-applied"
done

require_natk cli-natk-built
nat_only || { fail cli-netns "cannot create netns nat"; exit 1; }
check cli-natk-load natk_load || exit 1

# ------------------------------------------------------------ -h -V help
expect_ok cli-help-option - -h
missing=
for w in status stats flows set down flush forward monitor apply save help -j, -p, -n, -h, -V,; do
	printf '%s\n' "$CTL_OUT" | grep -q -- " $w" || missing+=" $w"
done
expect_eq cli-help-lists-commands "" "$missing" "missing from natkctl -h"
expect_ok cli-help-long-option - --help
expect_eq cli-help-option-is-usage "Usage: natkctl [OPTIONS] COMMAND [ARGS]" "$(printf '%s\n' "$CTL_OUT" | sed -n 1p)" "first line of natkctl --help"
expect_ok cli-version - -V &&
	{ printf '%s\n' "$CTL_OUT" | grep -Eqx 'natkctl [0-9]+\.[0-9]+\.[0-9]+.*' &&
		pass cli-version-format || fail cli-version-format "natkctl -V printed '$CTL_OUT'"; }
expect_ok cli-version-long - --version
expect_ok cli-help-command - help
printf '%s\n' "$CTL_OUT" | grep -q 'monitor' && pass cli-help-command-lists ||
	fail cli-help-command-lists "natkctl help: $CTL_OUT"
expect_ok cli-help-set - help set
printf '%s\n' "$CTL_OUT" | grep -q '^Usage: natkctl set SETTING VALUE' &&
	printf '%s\n' "$CTL_OUT" | grep -q 'tcp-established' &&
	pass cli-help-set-usage || fail cli-help-set-usage "natkctl help set: $CTL_OUT"
expect_ok cli-help-abbrev - help flo
printf '%s\n' "$CTL_OUT" | grep -q '^Usage: natkctl flows' && pass cli-help-abbrev-flows ||
	fail cli-help-abbrev-flows "natkctl help flo: $CTL_OUT"
run_ctl - 2> /dev/null
[ "$CTL_RC" -eq 1 ] && printf '%s\n' "$CTL_ERR" | grep -q '^Usage: natkctl' &&
	pass cli-no-command-usage || fail cli-no-command-usage "natkctl without a command: exit $CTL_RC, stderr: $CTL_ERR"

# ------------------------------------------------------------ status, unconfigured
expect_inactive cli-status-disabled-json nat -j status
js=$CTL_OUT
json_expect cli-status-disabled-keys "$js" \
	'.enabled == false and .external_interface == null and .external_address == null and .flows == 0 and (.forwards | length) == 0'
expect_inactive cli-status-disabled-text nat status
printf '%s\n' "$CTL_OUT" | grep -qx 'natk: disabled' && pass cli-status-disabled-line ||
	fail cli-status-disabled-line "natkctl status: $CTL_OUT"

# ------------------------------------------------------------ set external, status key by key
expect_ok cli-set-external nat set external wan0 || exit 1
expect_ok cli-status-json nat -j status
js=$CTL_OUT
log "status: $js"
json_expect cli-status-enabled "$js" '.enabled == true'
json_expect cli-status-external-interface "$js" '.external_interface == "wan0"'
json_expect cli-status-external-address "$js" ".external_address == \"$NAT_EXT\""
json_expect cli-status-port-min "$js" '.port_min == 1024'
json_expect cli-status-port-max "$js" '.port_max == 65535'
json_expect cli-status-max-flows "$js" '(.max_flows | type) == "number" and .max_flows >= 16384'
json_expect cli-status-max-flows-per-host "$js" '.max_flows_per_host == 0'
json_expect cli-status-flows "$js" '.flows == 0'
json_expect cli-status-hash-buckets "$js" '(.hash_buckets | type) == "number" and .hash_buckets > 0'
json_expect cli-status-mapping "$js" '.mapping == "endpoint-independent"'
json_expect cli-status-filtering "$js" '.filtering == "address-port-dependent"'
json_expect cli-status-mss-clamp "$js" '.mss_clamp == "off"'
json_expect cli-status-timeout-tcp-established "$js" '.timeouts.tcp_established == 7440'
json_expect cli-status-timeout-tcp-transitory "$js" '.timeouts.tcp_transitory == 240'
json_expect cli-status-timeout-udp "$js" '.timeouts.udp == 300'
json_expect cli-status-timeout-icmp "$js" '.timeouts.icmp == 60'
json_expect cli-status-timeouts-exactly "$js" '(.timeouts | keys) == ["icmp","tcp_established","tcp_transitory","udp"]'
json_expect cli-status-forwards "$js" '.forwards == []'

expect_ok cli-status-text nat status
txt=$CTL_OUT
missing=
for re in '^natk: enabled$' "^  external interface: wan0 \\($NAT_EXT\\)\$" '^  ports: 1024-65535$' \
	'^  mapping: endpoint-independent +filtering: address-port-dependent$' \
	'^  timeouts: tcp-established 7440s tcp-transitory 240s udp 300s icmp 60s$' \
	'^  flows: 0 / [0-9]+$' '^  mss-clamp: off$'; do
	printf '%s\n' "$txt" | grep -Eq "$re" || missing+=" /$re/"
done
expect_eq cli-status-text-lines "" "$missing" "lines missing from natkctl status ($txt)"

# -n NETNS acts on that namespace, from the init namespace
expect_ok cli-netns-option - -n nat -j status
expect_eq cli-netns-option-same "$(printf '%s' "$js" | jq -c 'del(.hash_buckets)')" \
	"$(printf '%s' "$CTL_OUT" | jq -c 'del(.hash_buckets)')" "natkctl -n nat -j status vs in-netns"
expect_ok cli-netns-long-option - --netns nat --json status
json_expect cli-netns-long-option-json "$CTL_OUT" '.external_interface == "wan0"'
# -p: indented JSON, same content
expect_ok cli-pretty nat -j -p status
[ "$(printf '%s\n' "$CTL_OUT" | wc -l)" -gt 10 ] &&
	[ "$(printf '%s' "$CTL_OUT" | jq -c .)" = "$(nsx nat "$NATKCTL" -j status | jq -c .)" ] &&
	pass cli-pretty-same-json || fail cli-pretty-same-json "natkctl -j -p status: $CTL_OUT"

# ------------------------------------------------------------ set
expect_ok cli-set-several nat set ports 20000-30000 timeout udp 60 max-flows 100000
js=$(nsx nat "$NATKCTL" -j status)
json_expect cli-set-several-applied "$js" '.port_min == 20000 and .port_max == 30000 and .timeouts.udp == 60 and .max_flows == 100000'
# natkctl refuses the whole call when one value is bad: nothing sent.
expect_err cli-set-atomic-cli-rejects 'timeout' nat set timeout udp 61 timeout icmp 0
json_expect cli-set-atomic-cli-nothing-changed "$(nsx nat "$NATKCTL" -j status)" '.timeouts.udp == 60 and .timeouts.icmp == 60'
expect_err cli-set-atomic-cli-rejects-ports 'port range' nat set timeout udp 61 ports 2000-1000
json_expect cli-set-atomic-cli-ports-nothing-changed "$(nsx nat "$NATKCTL" -j status)" '.timeouts.udp == 60 and .port_min == 20000'
# The kernel refuses the whole message when one attribute is bad.
# (max-flows above the module's limit of 16M flows passes natkctl's check)
EXPECT_ERR_RC=2 expect_err cli-set-atomic-kernel-rejects 'out of range' nat set timeout udp 62 ports 3000-4000 filtering endpoint-independent max-flows 20000000
json_expect cli-set-atomic-kernel-nothing-changed "$(nsx nat "$NATKCTL" -j status)" \
	'.timeouts.udp == 60 and .port_min == 20000 and .port_max == 30000 and .filtering == "address-port-dependent" and .max_flows == 100000'
EXPECT_ERR_RC=2 expect_err cli-set-atomic-kernel-rejects-max-flows 'max|range|flows' nat set timeout udp 63 max-flows 4294967295
json_expect cli-set-atomic-kernel-max-flows-nothing-changed "$(nsx nat "$NATKCTL" -j status)" '.timeouts.udp == 60 and .max_flows == 100000'

expect_ok cli-set-ports nat set ports 1024-65535
json_expect cli-set-ports-applied "$(nsx nat "$NATKCTL" -j status)" '.port_min == 1024 and .port_max == 65535'
expect_ok cli-set-ports-single nat set ports 40000-40000
json_expect cli-set-ports-single-applied "$(nsx nat "$NATKCTL" -j status)" '.port_min == 40000 and .port_max == 40000'
expect_ok cli-set-max-flows nat set max-flows 5000
json_expect cli-set-max-flows-applied "$(nsx nat "$NATKCTL" -j status)" '.max_flows == 5000'
for t in tcp-established:3600:tcp_established tcp-transitory:120:tcp_transitory udp:45:udp icmp:30:icmp; do
	IFS=: read -r name secs key <<< "$t"
	expect_ok "cli-set-timeout-$name" nat set timeout "$name" "$secs"
	json_expect "cli-set-timeout-$name-applied" "$(nsx nat "$NATKCTL" -j status)" ".timeouts.$key == $secs"
done
expect_ok cli-set-timeout-several nat set timeout udp 2m timeout icmp 1h timeout tcp-established 1d timeout tcp-transitory 90s
json_expect cli-set-timeout-units "$(nsx nat "$NATKCTL" -j status)" \
	'.timeouts.udp == 120 and .timeouts.icmp == 3600 and .timeouts.tcp_established == 86400 and .timeouts.tcp_transitory == 90'
expect_ok cli-set-timeout-max nat set timeout udp 30d
json_expect cli-set-timeout-max-applied "$(nsx nat "$NATKCTL" -j status)" '.timeouts.udp == 2592000'
expect_ok cli-set-abbreviated nat set time udp 50 max-flows 6000
json_expect cli-set-abbreviated-applied "$(nsx nat "$NATKCTL" -j status)" '.timeouts.udp == 50 and .max_flows == 6000'
expect_ok cli-set-filtering nat set filtering endpoint-independent
json_expect cli-set-filtering-applied "$(nsx nat "$NATKCTL" -j status)" '.filtering == "endpoint-independent"'
expect_ok cli-set-filtering-back nat set filtering address-port-dependent mapping endpoint-independent max-flows-per-host none mss-clamp off
json_expect cli-set-filtering-back-applied "$(nsx nat "$NATKCTL" -j status)" \
	'.filtering == "address-port-dependent" and .mapping == "endpoint-independent" and .max_flows_per_host == 0 and .mss_clamp == "off"'
expect_ok cli-set-restore nat set ports 1024-65535 max-flows 100000 timeout udp 300 timeout icmp 60

