#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Clear errors for bad input (what natkctl checks itself is run in the init
# netns, the rest in "nat"): each case exits 1, prints nothing on stdout
# and one "natkctl: ..." line on stderr (plus the usage line for usage
# errors) that names the problem; the kernel's extack text reaches the user
# for values only the kernel refuses; the module-missing message when the
# family cannot be found (module unloaded and autoload disabled); and none
# of the failed calls changed the configuration.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan errors-natk-up errors-unknown-command errors-ambiguous-command errors-unknown-option \
	errors-netns-missing-arg errors-netns-unknown errors-netns-bad-name errors-status-extra-arg \
	errors-set-nothing errors-set-unknown-setting errors-set-missing-value errors-set-twice \
	errors-help-unknown errors-bad-interface-name errors-long-interface-name \
	errors-ports-reversed errors-ports-zero errors-ports-too-high errors-ports-no-dash \
	errors-ports-garbage errors-timeout-zero errors-timeout-huge errors-timeout-31d \
	errors-timeout-negative errors-timeout-overflow errors-timeout-unit errors-timeout-name \
	errors-timeout-no-seconds errors-max-flows-zero errors-max-flows-huge errors-mapping \
	errors-filtering errors-mss errors-flows-proto errors-flows-address errors-flows-port \
	errors-flows-filter errors-flows-state errors-flows-remote \
	errors-forward-proto errors-forward-port errors-forward-addr \
	errors-forward-missing-args errors-monitor-count errors-apply-missing-file errors-kernel-max-flows \
	errors-forward-add-first errors-kernel-forward-exists errors-kernel-forward-del-missing \
	errors-nothing-changed errors-module-missing errors-module-missing-set errors-module-autoload \
	errors-module-autoloaded
require_natk errors-natk-built
nat_only || { fail errors-netns "cannot create netns nat"; exit 1; }
check errors-natk-up natk_up || exit 1
before=$(nctl -j status)

# ------------------------------------------------------------ usage
expect_err errors-unknown-command "unknown command 'frobnicate'" - frobnicate
expect_err errors-ambiguous-command "ambiguous command 'fl'.*flows.*flush" - fl
expect_err errors-unknown-option "unknown option" - -x status
expect_err errors-netns-missing-arg "needs a network namespace" - -n
EXPECT_ERR_RC=2 expect_err errors-netns-unknown "network namespace 'nosuchns'" - -n nosuchns status
expect_err errors-netns-bad-name "invalid network namespace name" - -n ../x status
expect_err errors-status-extra-arg "takes no arguments" - status now
expect_err errors-set-nothing "at least one" - set
expect_err errors-set-unknown-setting "unknown setting 'colour'" - set colour blue
expect_err errors-set-missing-value "'ports' needs a value" - set ports
expect_err errors-set-twice "given twice" - set max-flows 10 max-flows 20
expect_err errors-help-unknown "unknown command 'nope'" - help nope

# ------------------------------------------------------------ values natkctl checks
# (an interface that does not exist is not an error: natk waits for it,
# 68-ext-iface)
expect_err errors-bad-interface-name "invalid interface name" - set external 'a/b'
expect_err errors-long-interface-name "invalid interface name" - set external abcdefghijklmnopq
expect_err errors-ports-reversed "invalid port range '2000-1000'" - set ports 2000-1000
expect_err errors-ports-zero "invalid port range '0-1000'" - set ports 0-1000
expect_err errors-ports-too-high "invalid port range '1-65536'" - set ports 1-65536
expect_err errors-ports-no-dash "invalid port range '2000'" - set ports 2000
expect_err errors-ports-garbage "invalid port range" - set ports a-b
expect_err errors-timeout-zero "invalid timeout '0' for udp" - set timeout udp 0
expect_err errors-timeout-huge "invalid timeout '99999999' for udp" - set timeout udp 99999999
expect_err errors-timeout-31d "invalid timeout '31d'" - set timeout tcp-established 31d
expect_err errors-timeout-negative "invalid timeout '-5'" - set timeout icmp -5
expect_err errors-timeout-overflow "invalid timeout" - set timeout udp 18446744073709551617
expect_err errors-timeout-unit "invalid timeout '5x'" - set timeout udp 5x
expect_err errors-timeout-name "unknown timeout 'tcp'" - set timeout tcp 60
expect_err errors-timeout-no-seconds "needs a value" - set timeout udp
expect_err errors-max-flows-zero "invalid max-flows '0'" - set max-flows 0
expect_err errors-max-flows-huge "invalid max-flows" - set max-flows 4294967296
expect_err errors-mapping "invalid mapping 'full-cone'" - set mapping full-cone
expect_err errors-filtering "invalid filtering 'none'" - set filtering none
expect_err errors-mss "invalid mss-clamp '10'" - set mss-clamp 10
expect_err errors-flows-proto "sctp|proto" - flows proto sctp
expect_err errors-flows-address "10.0.0.300|address|invalid" - flows internal 10.0.0.300
expect_err errors-flows-port "99999|port|invalid" - flows internal 10.0.0.2:99999
expect_err errors-flows-filter "unknown filter 'colour'" - flows colour red
expect_err errors-flows-state "invalid or repeated state 'open'" - flows state open
expect_err errors-flows-remote "invalid or repeated remote '1.2.3'" - flows remote 1.2.3
expect_err errors-forward-proto "expected tcp or udp" - forward add sctp 80 10.0.0.2
expect_err errors-forward-port "expected an external PORT" - forward add tcp 0 10.0.0.2
expect_err errors-forward-addr "expected an internal ADDR" - forward add tcp 80 10.0.0
expect_err errors-forward-missing-args "expected an external PORT" - forward add tcp
expect_err errors-monitor-count "count needs a number" - monitor count 0
EXPECT_ERR_RC=2 expect_err errors-apply-missing-file "nosuchfile" - apply /nonexistent/nosuchfile

# ------------------------------------------------------------ values only the kernel refuses: its extack is shown
EXPECT_ERR_RC=2 expect_err errors-kernel-max-flows "set: .*out of range" nat set max-flows 20000000
check errors-forward-add-first nctl forward add tcp 80 10.0.0.2
EXPECT_ERR_RC=2 expect_err errors-kernel-forward-exists "tcp port 80 is already forwarded" nat forward add tcp 80 10.0.0.3
EXPECT_ERR_RC=2 expect_err errors-kernel-forward-del-missing "no forward for udp port 9999" nat forward del udp 9999
nctl forward del tcp 80 > /dev/null 2>&1

after=$(nctl -j status)
expect_eq errors-nothing-changed "$(printf '%s' "$before" | jq -c .)" "$(printf '%s' "$after" | jq -c .)" "status before/after the failed calls"

# ------------------------------------------------------------ module missing
# natk unloaded and module autoloading switched off for a moment: natkctl
# says that the module is not loaded (instead of autoloading it).
topo_teardown
rmmod natk 2>/dev/null
modprobe_path=$(cat /proc/sys/kernel/modprobe)
restore_modprobe() { echo "$modprobe_path" > /proc/sys/kernel/modprobe; }
trap 'rc=$?; restore_modprobe; (exit $rc); ctl_cleanup' EXIT
echo /bin/false > /proc/sys/kernel/modprobe
EXPECT_ERR_RC=2 expect_err errors-module-missing "natk module is not loaded.*modprobe natk" - status
EXPECT_ERR_RC=2 expect_err errors-module-missing-set "natk module is not loaded" - set timeout udp 30
restore_modprobe
# with autoload back, natkctl loads it by itself
expect_inactive errors-module-autoload - -j status
natk_loaded && pass errors-module-autoloaded || fail errors-module-autoloaded "natk not loaded after natkctl status"
