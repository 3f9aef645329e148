#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Offline checks of natkctl's command line: usage errors, help, version,
# apply --check, and (where natk is not available) the "module not loaded"
# error. Needs no kernel module and no privileges. Ends with one line,
# "PASS userctl-cli" or "FAIL userctl-cli: N of M checks failed" (the
# failed ones are described above it); exit status 0 iff all passed.
#
#   tests/test_cli.sh [path/to/natkctl]

N=${1:-./natkctl}
fails=0 total=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect RC 'stderr/stdout pattern' args...
expect() {
	want_rc=$1 pat=$2
	shift 2
	"$N" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	total=$((total + 1))
	if [ "$rc" != "$want_rc" ] || { [ -n "$pat" ] && ! grep -q -e "$pat" "$tmp/out" "$tmp/err"; }; then
		echo "test_cli: natkctl $*: rc $rc, want $want_rc, pattern '$pat'"
		sed 's/^/  | /' "$tmp/out" "$tmp/err"
		fails=$((fails + 1))
	fi
}

expect 0 '^natkctl 0\.1\.0$' -V
expect 0 '^natkctl 0\.1\.0$' --version
expect 0 'Usage: natkctl' -h
expect 0 'monitor' --help
expect 1 'Usage: natkctl'
expect 1 "unknown option '-x'" -x status
expect 1 "ambiguous command 'st': could be status, stats" st
expect 1 "ambiguous command 'stat'" stat
expect 1 "unknown command 'frobnicate'" frobnicate
expect 0 'Usage: natkctl set SETTING' help set
expect 0 'Usage: natkctl flows' help flo
expect 1 'needs at least one' set
expect 1 'Usage: natkctl set' set
expect 1 "unknown setting 'colour'" set colour blue
expect 1 "'ports' needs a value" set ports
expect 1 "invalid port range '0-10'" set ports 0-10
expect 1 "invalid port range '2000-1000'" set ports 2000-1000
expect 1 "invalid port range '1-65536'" set ports 1-65536
expect 1 "invalid max-flows '0'" set max-flows 0
expect 1 "invalid max-flows '-1'" set max-flows -1
expect 1 "invalid max-flows-per-host 'x'" set max-flows-per-host x
expect 1 "unknown timeout 'sctp'" set timeout sctp 10
expect 1 "invalid timeout '0' for udp" set timeout udp 0
expect 1 "invalid timeout '31d' for udp" set timeout udp 31d
expect 1 "timeout udp given twice" set timeout udp 10 timeout udp 20
expect 1 "'ports' given twice" set ports 1-2 ports 3-4
expect 1 "invalid mapping 'full-cone'" set mapping full-cone
expect 1 "invalid filtering 'x'" set filtering x
expect 1 "invalid mss-clamp '10'" set mss-clamp 10
expect 1 "invalid port-hold '-1'" set port-hold -1
expect 1 "invalid port-hold '3601'" set port-hold 3601
expect 1 "invalid port-hold 'abc'" set port-hold abc
expect 1 "invalid port-hold '61m'" set port-hold 61m
expect 1 "'port-hold' needs a value" set port-hold
expect 1 "'port-hold' given twice" set port-hold 10 port-hold off
expect 1 "ambiguous setting 'port'" set port 1024-2048
expect 1 "invalid interface name" set external a/b
expect 1 'internal: 10.0.0.1/24 has host bits set: did you mean 10.0.0.0/24?' set internal 10.0.0.1/24
expect 1 "no-nat: invalid prefix '10.0.0.0/33': the length after '/' is 0 to 32" set no-nat 10.0.0.0/33
expect 1 "internal: invalid prefix '10.0.0/8': expected A.B.C.D/LEN" set internal 10.0.0/8
expect 1 'internal: a prefix is missing' set internal 10.0.0.0/8,
expect 1 "internal: 'all' stands alone" set internal all,10.0.0.0/8
expect 1 "'internal' needs a value" set internal
expect 1 "'no-nat' given twice" set no-nat none no-nat 10.0.0.0/8
expect 1 "'10.1.0.0/16' is not a setting: separate the prefixes" set internal 10.0.0.0/8 10.1.0.0/16
expect 1 'no-nat: more than 64 prefixes' set no-nat "$(seq -s, -f '10.%g.0.0/16' 0 64)"
expect 0 'PREFIX := A.B.C.D/LEN | A.B.C.D' help set
expect 1 "invalid interface name" set external 0123456789abcdef
expect 1 "'addresses' needs a value: primary, all, or ADDR" set addresses
expect 1 "addresses: invalid address 'eth0': expected A.B.C.D or A.B.C.D-A.B.C.D" set addresses eth0
expect 1 "addresses: invalid range '192.0.2.9-192.0.2.1': the first address is above the last (did you mean 192.0.2.1-192.0.2.9?)" set addresses 192.0.2.9-192.0.2.1
expect 1 'addresses: more than 32 addresses' set addresses 192.0.2.0-192.0.2.32
expect 1 'addresses: more than 16 ranges' set addresses "$(seq -s, -f '192.0.2.%g' 1 2 33)"
expect 1 'addresses: 192.0.2.3 is in the list twice' set addresses 192.0.2.1-192.0.2.4,192.0.2.3
expect 1 "addresses: 'all' stands alone" set addresses all,192.0.2.1
expect 1 'addresses: an address is missing' set external eth0 addresses 192.0.2.1,
expect 1 'addresses: 0.0.0.0 is not an address to masquerade behind' set addresses 0.0.0.0
expect 1 "'addresses' given twice" set addresses all addresses primary
expect 1 "'192.0.2.2-192.0.2.3' is not a setting: separate the addresses of addresses with commas" set addresses 192.0.2.1 192.0.2.2-192.0.2.3
# port blocks
expect 1 "invalid port-block '7': expected ports a block from 8 to 4096, or off" set port-block 7
expect 1 "invalid port-block '4097'" set port-block 4097
expect 1 "invalid port-block 'none'" set port-block none
expect 1 "'port-block' needs a value: ports a block from 8 to 4096, or off" set port-block
expect 1 "invalid port-blocks-per-host '0': expected a number from 1 to 32" set port-blocks-per-host 0
expect 1 "invalid port-blocks-per-host '33'" set port-blocks-per-host 33
expect 1 "ambiguous setting 'port-b'" set port-b 16
expect 1 "'port-block' given twice" set port-block 16 port-block off
# accounting
expect 1 "invalid accounting 'yes': expected on or off (count the packets and bytes of the flows made from then on)" set accounting yes
expect 1 "invalid accounting 'o': expected on or off" set accounting o
expect 1 "'accounting' needs a value: on or off" set accounting
expect 1 "'accounting' given twice" set accounting on accounting off
expect 1 "ambiguous setting 'a' (one of: .*, accounting)" set a on
expect 0 'accounting on|off' help set
expect 0 'ADDRS := ADDR\[,ADDR|ADDR-ADDR\]' help set
expect 1 'down takes no arguments' down now
expect 1 'flush takes no arguments' flush all
expect 1 'status takes no arguments' status x
expect 1 "unknown argument 'x'" stats x
expect 1 "unknown output format 'xml'" stats -o xml
expect 1 "'-o' needs a value" stats -o
expect 1 "'file' is for -o prometheus" stats -o json file /tmp/x
expect 1 "'interval', 'count' and 'namespace' are for -o cloudwatch-emf" stats -o prometheus interval 10
expect 1 "invalid interval '0'" stats -o cloudwatch-emf interval 0
expect 1 'count needs a number' stats -o cloudwatch-emf count 0
expect 1 '-j and -o prometheus do not go together' -j stats -o prometheus
expect 1 "unknown argument 'now'" doctor now
expect 1 "'config' needs a FILE" doctor config
expect 1 "supervise takes no arguments" supervise now
expect 1 "unknown filter 'port'" flows port 80
expect 1 "invalid or repeated state 'open'" flows state open
expect 1 "invalid or repeated external-port '0'" flows external-port 0
expect 1 "invalid or repeated remote '1.2.3'" flows remote 1.2.3
expect 1 "invalid or repeated proto 'sctp'" flows proto sctp
expect 1 "invalid or repeated internal '10.0.0.256'" flows internal 10.0.0.256
expect 1 "invalid or repeated internal '10.0.0.1:0'" flows internal 10.0.0.1:0
expect 1 "invalid or repeated id 'x'" flows id x
expect 1 "invalid or repeated id '5'" flows del id 4 id 5
expect 1 "unknown filter 'all'" flows del all
expect 0 'Usage: natkctl flows \[count|del\]' help flows
expect 0 'natkctl flows save|restore FILE' help flows
expect 1 "flows save needs a FILE ('-': standard output)" flows save
expect 1 'flows save takes one FILE' flows save a b
expect 1 'Usage: natkctl flows' flows save a b
expect 1 "flows restore needs a FILE ('-': standard input)" flows restore
expect 1 'flows restore takes one FILE' flows restore a b
expect 1 "unknown filter 'restore-all'" flows restore-all
expect 1 'flows save: cannot write /nonexistent/natk/flows.tmp: No such file or directory' flows save /nonexistent/natk/flows
expect 1 "flows save: $tmp is not a regular file" flows save "$tmp"
expect 1 'flows save: empty file name' flows save ''
expect 1 'flows restore: cannot read /nonexistent/flows: No such file or directory' flows restore /nonexistent/flows
# A flow file is parsed whole, strictly, before anything is sent: no module needed.
cat >"$tmp/good.flows" <<'FLOWS'
# natk flows, saved 2026-12-03T06:30:00.123456Z by natkctl flows save; restore with natkctl flows restore FILE
tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980

udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 34 1 50
icmp 10.0.0.2:7 192.0.2.1:7 192.0.2.2:0 - 59000 1 84 1 84
udp 10.0.0.2:41703 192.0.2.1:41703 192.0.2.2:5001 - 299000 - - - - seen=out,in
tcp 10.0.0.2:41704 192.0.2.1:41704 192.0.2.2:5000 syn_out 119000 - - - - seen=out
FLOWS
cat >"$tmp/bad.flows" <<'FLOWS'
# natk flows
tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10
udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 established 299000 1 34 1 50
tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 open 7439000 12 1034 10 980
tcp 10.0.0.300:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980
udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:0 - 299000 1 34 1 50
tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980
udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 - 1 50 seen=out
udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 - - - - seen=both
FLOWS
expect 1 'bad.flows:2: expected 10 or 11 fields (PROTO INT_ADDR:PORT EXT_ADDR:PORT REM_ADDR:PORT STATE EXPIRES_MS PKTS_OUT BYTES_OUT PKTS_IN BYTES_IN \[SEEN\]), found 9' flows restore "$tmp/bad.flows"
expect 1 "bad.flows:3: state 'established': a udp flow has no TCP state ('-')" flows restore "$tmp/bad.flows"
expect 1 "bad.flows:4: invalid TCP state 'open'" flows restore "$tmp/bad.flows"
expect 1 "bad.flows:5: invalid internal ADDR:PORT '10.0.0.300:41700'" flows restore "$tmp/bad.flows"
expect 1 "bad.flows:6: remote port 0: a udp flow's ports are 1 to 65535" flows restore "$tmp/bad.flows"
expect 1 "bad.flows:8: counters '1 - 1 50': all four are numbers, or all four '-' (a flow without counters)" flows restore "$tmp/bad.flows"
expect 1 "bad.flows:9: invalid SEEN 'seen=both' (seen=out,in, seen=out, seen=in or seen=none)" flows restore "$tmp/bad.flows"
expect 1 '^natkctl: flows restore: .*bad.flows: 7 bad lines, nothing restored$' flows restore "$tmp/bad.flows"
expect 1 '^natkctl: flows restore: <stdin>:3: state' flows restore - <"$tmp/bad.flows"
expect 1 '<stdin>: 7 bad lines, nothing restored' -j flows restore - <"$tmp/bad.flows"
expect 1 'Usage: natkctl forward' forward add
expect 1 "not 'sctp'" forward add sctp 80 10.0.0.2
expect 1 "not '0'" forward add tcp 0 10.0.0.2
expect 1 "not 'x'" forward add tcp 80 x
expect 1 'too many arguments for forward add' forward add tcp 80 10.0.0.2 extra
expect 1 'too many arguments for forward del' forward del tcp 80 10.0.0.2
expect 1 "unknown forward command 'move'" forward move
expect 1 "too many arguments for forward add: 'on' (what may follow is address EXTADDR)" forward add tcp 80 10.0.0.2 on 192.0.2.5
expect 1 "'address' needs the external address" forward add tcp 80 10.0.0.2 address
expect 1 "invalid external address '192.0.2.0/24'" forward add tcp 80 10.0.0.2 address 192.0.2.0/24
expect 1 "invalid external address '0.0.0.0' (A.B.C.D; leave 'address' out for the primary" forward del udp 53 address 0.0.0.0
expect 1 'too many arguments for forward add' forward add tcp 80 10.0.0.2 address 192.0.2.5 extra
expect 1 'too many arguments for forward del' forward del tcp 80 address 192.0.2.5 extra
expect 0 'address EXTADDR' help forward
expect 1 'count needs a number' monitor count 0
expect 1 "unknown argument 'foo'" monitor foo
expect 1 'event needs new, update, destroy or state' monitor event created
expect 1 "invalid or repeated proto 'sctp'" monitor proto sctp
expect 1 "unknown argument 'foo' (file, max-size, keep, journal or rate)" log foo
expect 1 "'file' needs a value" log file
expect 1 "empty file name" log file ''
expect 1 "'max-size' and 'keep' are for 'file PATH'" log max-size 10M
expect 1 "'max-size' and 'keep' are for 'file PATH'" log journal keep 3
expect 1 "invalid max-size '0'" log file "$tmp/m.log" max-size 0
expect 1 "invalid max-size '1T'" log file "$tmp/m.log" max-size 1T
expect 1 "invalid keep '1001'" log file "$tmp/m.log" keep 1001
expect 1 "'rate' is for 'journal'" log rate 10
expect 1 "invalid rate 'x'" log journal rate x
expect 1 "'journal' given twice" log journal journal
expect 1 "'file' given twice" log file a file b
expect 1 '-j is for the standard output' -j log file "$tmp/m.log"
expect 1 'Usage: natkctl log \[file PATH' log foo
expect 2 "log: cannot open /nonexistent/natk/m.log: No such file or directory (the directory must exist" log file /nonexistent/natk/m.log
NATK_JOURNAL_SOCKET=/nonexistent/journal/socket
export NATK_JOURNAL_SOCKET
expect 2 'log: cannot connect to systemd-journald at /nonexistent/journal/socket: No such file or directory (is systemd-journald running' log journal
unset NATK_JOURNAL_SOCKET
expect 0 'Usage: natkctl who ADDR:PORT' help who
expect 0 'Usage: natkctl log' help log
expect 1 'who needs an external ADDR:PORT' who
expect 1 "invalid external endpoint '192.0.2.1' (expected ADDR:PORT" who 192.0.2.1
expect 1 "invalid external endpoint '192.0.2.1:0'" who 192.0.2.1:0
expect 1 "invalid proto 'sctp'" who 192.0.2.1:41000 proto sctp
expect 1 "invalid time 'yesterday'" who 192.0.2.1:41000 at yesterday
expect 1 "invalid time '2026-02-30T00:00:00Z'" who 192.0.2.1:41000 at 2026-02-30T00:00:00Z
expect 1 "'at' needs a value" who 192.0.2.1:41000 at
expect 1 "'at' given twice" who 192.0.2.1:41000 at now at now
expect 1 "unknown argument 'when'" who 192.0.2.1:41000 when now
expect 1 "'log' goes with 'at TIME'" who 192.0.2.1:41000 log /tmp/x
expect 2 'who: cannot read /nonexistent/m.log: No such file or directory' who 192.0.2.1:41000 at now log /nonexistent/m.log
cat >"$tmp/m.log" <<'LOG'
2020-12-03T06:00:00.000000Z live udp 10.0.0.2:41000 192.0.2.1:41000
2020-12-03T06:20:00.000000Z del udp 10.0.0.2:41000 192.0.2.1:41000
2020-12-03T06:25:00.000000Z new udp 10.0.0.3:41000 192.0.2.1:41000
LOG
printf '2020-12-03T05:50:00.000000Z new tcp 10.0.0.9:80 192.0.2.1:80\n' >"$tmp/m.log.1"
expect 0 '^udp 192.0.2.1:41000 10.0.0.2:41000 from 2020-12-03T06:00:00.000000Z to 2020-12-03T06:20:00.000000Z$' who 192.0.2.1:41000 at 2020-12-03T06:05:00Z log "$tmp/m.log"
expect 0 '^udp 192.0.2.1:41000 10.0.0.2:41000 from' who 192.0.2.1:41000 proto udp at '2020-12-03 07:05:00+01:00' log "$tmp/m.log"
expect 0 '^udp 192.0.2.1:41000 10.0.0.3:41000 from 2020-12-03T06:25:00.000000Z to -$' who 192.0.2.1:41000 at now log "$tmp/m.log"
expect 0 '"internal_address":"10.0.0.3","internal_port":41000,"from":"2020-12-03T06:25:00.000000Z","to":null' -j who 192.0.2.1:41000 at -1h log "$tmp/m.log"
expect 0 '^tcp 192.0.2.1:80 10.0.0.9:80 from 2020-12-03T05:50:00.000000Z to -$' who 192.0.2.1:80 at 2020-12-03T06:00:00Z log "$tmp/m.log"
expect 3 '^nobody$' who 192.0.2.1:41000 at 2020-12-03T06:22:00Z log "$tmp/m.log"
expect 3 '^nobody$' who 192.0.2.1:41000 proto tcp at 2020-12-03T06:05:00Z log "$tmp/m.log"
expect 3 '^\[\]$' -j who 192.0.2.1:41000 at 2020-12-03T06:22:00Z log "$tmp/m.log"
expect 3 "is before the log's first line (2020-12-03T05:50:00.000000Z)" who 192.0.2.1:41000 at 2020-12-03T05:00:00Z log "$tmp/m.log"
printf '2020-12-03T06:24:30.000000Z lost\n2020-12-03T06:25:30.000000Z lost 4\n' >>"$tmp/m.log"
expect 0 'the answer may be incomplete' who 192.0.2.1:41000 at 2020-12-03T06:26:00Z log "$tmp/m.log"
expect 3 'the answer may be incomplete' who 192.0.2.1:41000 at 2020-12-03T06:24:20Z log "$tmp/m.log"
expect 0 '^udp 192.0.2.1:41000 10.0.0.2:41000 from' who 192.0.2.1:41000 at 2020-12-03T06:05:00Z log - <"$tmp/m.log"
expect 2 "cannot open network namespace 'natk-nonexist'" -n natk-nonexist status
expect 1 "option -n needs" -n
expect 1 'apply needs a FILE' apply
expect 2 "cannot open '/nonexistent/natk.conf'" apply /nonexistent/natk.conf

cat >"$tmp/good.conf" <<'CONF'
# natk configuration
external eth0
ports 1024-65535   # trailing comment
timeout udp 300
timeout tcp-established 2h
max-flows 100000
max-flows-per-host 0
mapping endpoint-independent
filtering address-port-dependent
mss-clamp pmtu
port-hold 120
accounting on
internal 10.0.0.0/16
no-nat 10.0.0.0/8, 172.16.0.0/12,192.168.0.0/16

forward tcp 8080 10.0.0.2:80
forward udp 53 10.0.0.3
CONF
expect 0 '' apply --check "$tmp/good.conf"
# 64 prefixes, with blanks after the commas, are one line
{ echo "external eth0"; echo "no-nat $(seq -s ', ' -f '10.%g.0.0/16' 0 63)"; } >"$tmp/big.conf"
expect 0 '' apply --check "$tmp/big.conf"
{ echo "external eth0"; echo "no-nat $(seq -s ', ' -f '10.%g.0.0/16' 0 64)"; } >"$tmp/big.conf"
expect 1 'big.conf:2: no-nat: more than 64 prefixes' apply --check "$tmp/big.conf"

# several external addresses, and forwards on them
cat >"$tmp/addrs.conf" <<'CONF'
external eth0 addresses 192.0.2.1, 192.0.2.5-192.0.2.7
forward udp 7000 10.0.0.2:7001 address 192.0.2.5
forward udp 7000 10.0.0.3:7001 address 192.0.2.6
forward udp 7000 10.0.0.4:7001
CONF
expect 0 '' apply --check "$tmp/addrs.conf"
printf 'external eth0\naddresses all\n' >"$tmp/addrs.conf"
expect 0 '' apply --check "$tmp/addrs.conf"
cat >"$tmp/addrs.conf" <<'CONF'
addresses 192.0.2.0-192.0.2.40
external eth0 addresses 192.0.2.1 192.0.2.2
forward udp 7000 10.0.0.2 address 192.0.2.5
forward udp 7000 10.0.0.3 address 192.0.2.5
forward udp 7001 10.0.0.3 address 224.0.0.1
CONF
expect 1 'addrs.conf:1: addresses: more than 32 addresses' apply --check "$tmp/addrs.conf"
expect 1 "addrs.conf:2: one setting per line: unexpected '192.0.2.2'" apply --check "$tmp/addrs.conf"
expect 1 'addrs.conf:4: udp port 7000 on 192.0.2.5 is already forwarded on line 3' apply --check "$tmp/addrs.conf"
expect 1 "addrs.conf:5: invalid external address '224.0.0.1'" apply --check "$tmp/addrs.conf"
expect 1 'addrs.conf: 4 errors, nothing applied' apply --check "$tmp/addrs.conf"

cat >"$tmp/bad.conf" <<'CONF'
ports 1024-70000
timeout udp
forward tcp 8080 10.0.0.2:80
forward tcp 8080 10.0.0.3:80
mapping full-cone
ports 1-2 max-flows 3
ext eth0
port-hold 3601
internal 10.0.0.1/24
no-nat 10.0.0.0/8 172.16.0.0/12
accounting maybe
CONF
expect 1 'bad.conf:1: invalid port range' apply --check "$tmp/bad.conf"
expect 1 "bad.conf:2: 'timeout' needs a value" apply --check "$tmp/bad.conf"
expect 1 'bad.conf:4: tcp port 8080 is already forwarded on line 3' apply --check "$tmp/bad.conf"
expect 1 "bad.conf:5: invalid mapping" apply --check "$tmp/bad.conf"
expect 1 "bad.conf:6: one setting per line" apply --check "$tmp/bad.conf"
expect 1 "bad.conf:7: unknown setting 'ext'" apply --check "$tmp/bad.conf"
expect 1 "bad.conf:8: invalid port-hold '3601'" apply --check "$tmp/bad.conf"
expect 1 'bad.conf:9: internal: 10.0.0.1/24 has host bits set: did you mean 10.0.0.0/24?' apply --check "$tmp/bad.conf"
expect 1 "bad.conf:10: one setting per line: unexpected '172.16.0.0/12' (separate the prefixes of a list with commas)" apply --check "$tmp/bad.conf"
expect 1 "bad.conf:11: invalid accounting 'maybe': expected on or off" apply --check "$tmp/bad.conf"
expect 1 'bad.conf: 10 errors, nothing applied' apply --check "$tmp/bad.conf"

# Without the module, every command that talks to the kernel says so.
if [ ! -e /sys/module/natk ] && ! modinfo natk >/dev/null 2>&1; then
	for cmd in status stats flows down flush save monitor log "who 192.0.2.1:41000" "forward list" \
		"set ports 1024-2048" "set port-hold off" "forward del tcp 80" \
		"set internal 10.0.0.0/8" "set no-nat none" "set addresses all" \
		"set port-block 64" "set port-block off port-blocks-per-host 4" \
		"set accounting on" \
		"set external eth0 addresses 192.0.2.1,192.0.2.5-192.0.2.7" \
		"forward add udp 7000 10.0.0.2 address 192.0.2.5" "forward del udp 7000 address 192.0.2.5" \
		"flows save $tmp/saved.flows" "flows restore $tmp/good.flows"; do
		# shellcheck disable=SC2086
		expect 2 '^natkctl: the natk module is not loaded (try: modprobe natk)$' $cmd
	done
	expect 2 'natk module is not loaded' -j status
	expect 2 'natk module is not loaded' flows restore - <"$tmp/good.flows"
	# a save that could not dump leaves nothing behind
	total=$((total + 1))
	if [ -e "$tmp/saved.flows" ] || [ -e "$tmp/saved.flows.tmp" ]; then
		echo "test_cli: flows save without natk left $(ls "$tmp"/saved.flows*)"
		fails=$((fails + 1))
	fi
	# Metrics must not load the module: they say it is not loaded.
	expect 0 '^natk_loaded 0$' stats -o prometheus
	mkdir "$tmp/prom"
	expect 0 '' stats -o prometheus file "$tmp/prom/natk.prom"
	total=$((total + 1))
	if ! grep -qx 'natk_loaded 0' "$tmp/prom/natk.prom" ||
		[ "$(ls -A "$tmp/prom")" != natk.prom ] ||
		[ "$(stat -c %a "$tmp/prom/natk.prom")" != 644 ]; then
		echo "test_cli: stats -o prometheus file: want only natk.prom (0644) with natk_loaded 0, got: $(ls -lA "$tmp/prom")"
		fails=$((fails + 1))
	fi
	expect 2 'cannot create a file next to' stats -o prometheus file /nonexistent/natk.prom
	# doctor reports the missing module as a failed check: exit 4
	expect 4 '^fail natk-loaded  *the natk module is not loaded$' doctor config "$tmp/good.conf"
	expect 4 '"name":"natk-loaded"' -j doctor config "$tmp/good.conf"
	expect 4 "bad.conf:1: invalid port range" doctor config "$tmp/bad.conf"
	# supervise without natk: NAT is not running, exit 4 (no restart)
	expect 4 'supervise: natk is not loaded: NAT is not running' supervise
	"$N" -j status >"$tmp/out" 2>/dev/null
	total=$((total + 1))
	if [ -s "$tmp/out" ]; then
		echo "test_cli: natkctl -j status: errors must not go to stdout"
		fails=$((fails + 1))
	fi
fi

if [ "$fails" -ne 0 ]; then
	echo "FAIL userctl-cli: $fails of $total checks failed"
	exit 1
fi
echo "test_cli: $total checks"
echo "PASS userctl-cli"
