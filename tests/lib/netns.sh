# SPDX-License-Identifier: GPL-2.0
# natk test helpers for scenarios that run inside the test VM.
# Source this file; it is bash.
# shellcheck shell=bash

NATK_REPO=${NATK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NATK_RESULTS=${NATK_RESULTS:-/dev/null}
NATKCTL=${NATKCTL:-$NATK_REPO/userctl/natkctl}
NATK_KO=${NATK_KO:-$NATK_REPO/build/$(uname -r)/natk.ko}
# The module the host indexed for this VM (tests/vm/boot.sh: the job's
# NATK_KO, or the default above); natk_install uses its snapshot.
NATK_KO_JOB=${NATK_KO_JOB:-$NATK_KO}
. "$NATK_REPO/tests/lib/kernlog.sh"

# Address plan (see tests/scenarios/README: fixed, everyone uses it).
LAN1=10.0.0.2
LAN2=10.0.0.3
LAN_GW=10.0.0.1
NAT_EXT=192.0.2.1
WAN1=192.0.2.2
WAN2=192.0.2.3
NAMESPACES="lan1 lan2 nat wan"
# Short scenario name (03-tcp.sh -> tcp) for prefixing common assert names.
SCEN=$(basename "$0" .sh)
SCEN=${SCEN#[0-9][0-9]-}

# ---------------------------------------------------------------- results

pass() {
	echo "PASS $1"
	echo "PASS $1" >> "$NATK_RESULTS"
}

fail() {
	local name=$1
	shift
	local why=${*:-failed}
	why=${why//$'\n'/ }
	echo "FAIL $name: $why"
	echo "FAIL $name: $why" >> "$NATK_RESULTS"
}

# plan NAME...: the checks this scenario will report (each exactly as its
# PASS/FAIL line names it), declared before the first one is reported; may be
# called more than once (a loop declares the names it will report the same
# way). Every helper that reports counts: check, expect_eq, dmesg_check,
# kernel_log_check, and ctl.sh's expect_ok, expect_err, json_expect, rfc.sh's
# rfc_expect_match. tests/vm/guest-run.sh passes NATK_PLAN (one file per
# scenario) and FAILs every declared check that was never reported, every
# check that PASSed without being declared, and a scenario that declared
# nothing: a scenario that dies half-way cannot lose its later checks
# unnoticed. A name that is only ever reported as a FAIL (a setup step
# that gives up, require_natk) need not be declared.
NATK_PLAN=${NATK_PLAN:-/dev/null}
plan() {
	printf '%s\n' "$@" >> "$NATK_PLAN"
}

# check NAME CMD...: PASS if the command succeeds, else FAIL with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "'$*' failed: $(echo "$out" | tail -n 3)"
		return 1
	fi
}

# expect_eq NAME WANT GOT [what]
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "${4:-value}: expected '$2', got '$3'"
		return 1
	fi
}

# expect_ge NAME MIN GOT [what]: GOT is a number of at least MIN
expect_ge() {
	if [ "$3" -ge "$2" ] 2> /dev/null; then
		pass "$1"
	else
		fail "$1" "${4:-value}: expected at least $2, got '$3'"
		return 1
	fi
}

log() { echo "  # $*"; }

# poll TIMEOUT CMD...: retry every 0.1 s until CMD succeeds (0) or TIMEOUT
# seconds (may be fractional) pass (1). Output of CMD is discarded.
# NATK_TIME_SCALE (an integer, default 1) multiplies every such deadline:
# make check-debug sets 4, as a KASAN kernel under TCG runs that much slower.
NATK_TIME_SCALE=${NATK_TIME_SCALE:-1}
poll() {
	local timeout=$1
	shift
	local end=$(( ${timeout%.*} * 1000000000 ))
	case $timeout in
	*.*) end=$(( end + ${timeout#*.} * 100000000 )) ;;
	esac
	end=$(( $(date +%s%N) + end * NATK_TIME_SCALE ))
	while :; do
		"$@" > /dev/null 2>&1 && return 0
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------- topology

nsx() { # nsx NS CMD...
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

_ns_base() { # fresh netns with lo up
	ip netns add "$1" && ip -n "$1" link set lo up
}

# topo_setup: lan1, lan2 -- [br lan0 10.0.0.1] nat [wan0 192.0.2.1] -- wan
#   lan1 eth0 10.0.0.2/24, lan2 eth0 10.0.0.3/24, default via 10.0.0.1
#   nat: bridge lan0 (ports vlan1, vlan2) 10.0.0.1/24, wan0 192.0.2.1/24,
#        ip_forward=1
#   wan eth0 192.0.2.2/24 + 192.0.2.3/24, no route to 10.0.0.0/24
topo_setup() {
	local ns
	topo_teardown
	for ns in $NAMESPACES; do _ns_base "$ns" || return 1; done
	nsx nat sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n nat -b - <<-EOT || return 1
		link add lan0 type bridge forward_delay 0 stp_state 0
		link add vlan1 type veth peer name eth0 netns lan1
		link add vlan2 type veth peer name eth0 netns lan2
		link add wan0 type veth peer name eth0 netns wan
		link set vlan1 master lan0
		link set vlan2 master lan0
		addr add $LAN_GW/24 dev lan0
		addr add $NAT_EXT/24 dev wan0
		link set lan0 up
		link set vlan1 up
		link set vlan2 up
		link set wan0 up
	EOT
	ip -n lan1 -b - <<-EOT || return 1
		addr add $LAN1/24 dev eth0
		link set eth0 up
		route add default via $LAN_GW
	EOT
	ip -n lan2 -b - <<-EOT || return 1
		addr add $LAN2/24 dev eth0
		link set eth0 up
		route add default via $LAN_GW
	EOT
	ip -n wan -b - <<-EOT || return 1
		addr add $WAN1/24 dev eth0
		addr add $WAN2/24 dev eth0
		link set eth0 up
	EOT
	# Links come up asynchronously; wait until the gateway answers.
	poll 10 nsx lan1 ping -c1 -W1 $LAN_GW || { echo "topo: lan1 cannot reach gateway"; return 1; }
	poll 10 nsx lan2 ping -c1 -W1 $LAN_GW || { echo "topo: lan2 cannot reach gateway"; return 1; }
	poll 10 nsx wan ping -c1 -W1 $NAT_EXT || { echo "topo: wan cannot reach nat"; return 1; }
}

# ns_kill NS: kill every process inside a netns.
ns_kill() {
	local pids
	pids=$(ip netns pids "$1" 2>/dev/null) || return 0
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null
	poll 3 test -z "$(ip netns pids "$1" 2>/dev/null)" ||
		{ pids=$(ip netns pids "$1" 2>/dev/null); [ -n "$pids" ] && kill -9 $pids 2>/dev/null; }
	return 0
}

# ns_group_teardown NS...: kill every process in these netns (SIGTERM,
# then SIGKILL after 3 s), then delete them; for scenarios with their own
# topology.
ns_group_teardown() {
	local ns pids=
	for ns in "$@"; do
		pids="$pids $(ip netns pids "$ns" 2>/dev/null)"
	done
	# shellcheck disable=SC2086
	if [ -n "${pids// /}" ]; then
		kill $pids 2>/dev/null
		poll 3 sh -c "! kill -0 $pids 2>/dev/null" || kill -9 $pids 2>/dev/null
	fi
	for ns in "$@"; do ip netns del "$ns" 2>/dev/null; done
	return 0
}

topo_teardown() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		ns_kill "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	pkill_orphans
	return 0
}

# pkill_orphans: our background helpers (socat, iperf3) outside any netns.
pkill_orphans() {
	local p
	for p in $(jobs -p 2>/dev/null); do kill "$p" 2>/dev/null; done
	return 0
}

# ---------------------------------------------------------------- natk

natkctl() { "$NATKCTL" "$@"; }
# nctl ARGS...: natkctl acting on the nat namespace
nctl() { nsx nat "$NATKCTL" "$@"; }

natk_built() {
	[ -e "$NATK_KO" ] && [ -x "$NATKCTL" ]
}

# natk_install: put natk.ko into the (overlay) module tree and index it.
# The host prepares the index (tests/vm/modindex.sh, NATK_MODINDEX) from a
# snapshot of natk.ko taken at boot, since depmod -a takes minutes under
# TCG; that snapshot is what gets tested even if build/ changes meanwhile.
# Without an index, fall back to NATK_KO and depmod -a.
natk_install() {
	local mod src stamp=/run/natk-installed
	mod=/lib/modules/$(uname -r)
	src=$NATK_KO
	if [ -n "${NATK_MODINDEX:-}" ] && [ -e "$NATK_MODINDEX/natk.ko" ] &&
		[ "$NATK_KO" = "$NATK_KO_JOB" ]; then
		src=$NATK_MODINDEX/natk.ko
	fi
	[ -e "$src" ] || { echo "natk: $src not built"; return 1; }
	[ -e $stamp ] && cmp -s "$src" "$mod/extra/natk.ko" && return 0
	rm -f $stamp
	mkdir -p "$mod/extra" && cp "$src" "$mod/extra/natk.ko" || return 1
	if [ "$src" = "${NATK_MODINDEX:-}/natk.ko" ]; then
		cp "$NATK_MODINDEX"/modules.* "$mod/" || return 1
	else
		echo "natk: no prepared module index, running depmod -a (slow)"
		depmod -a || return 1
	fi
	touch $stamp
}

natk_loaded() { [ -d /sys/module/natk ]; }

natk_load() {
	natk_install || return 1
	natk_loaded || modprobe natk
}

# (rmmod, not modprobe -r: that also tries to remove nf_defrag_ipv4 and
# fails when nf_conntrack uses it, which is not natk's business.)
natk_unload() {
	natk_loaded || return 0
	rmmod natk
}

# natk_up: load natk and masquerade out of wan0 in netns nat.
# natk_up [SETTING VALUE...]: load natk and masquerade out of wan0, with
# any other natkctl settings given (e.g. accounting on).
natk_up() {
	natk_load || return 1
	nctl set external wan0 "$@"
}

# require_natk NAME: FAIL NAME and exit the scenario if natk is not built.
require_natk() {
	if ! natk_built; then
		fail "$1" "natk not built ($NATK_KO, $NATKCTL)"
		exit 1
	fi
}

# flows_json [filters...]: natkctl -j flows in nat
flows_json() { nctl -j flows "$@"; }
stats_json() { nctl -j stats; }
stat_of() { nctl -j stats | jq -r ".$1"; }

# ---------------------------------------------------------------- traffic

# wait_listen NS PROTO PORT [ADDR]: until something listens (tcp) / is
# bound (udp) on PORT (and ADDR)
wait_listen() {
	local opt=-ltn filt="sport = :$3"
	[ "$2" = udp ] && opt=-lun
	[ -n "${4:-}" ] && filt="src $4:$3"
	poll 10 sh -c "ip netns exec $1 ss -H $opt '$filt' | grep -q ."
}

# peer_server NS PROTO PORT [ADDR] [TAG]: background server that answers
# every connection / datagram with "PEERADDR PEERPORT" (TCP: or TAG, to
# tell servers apart) and, for TCP, echoes.
peer_server() {
	local ns=$1 proto=$2 port=$3 addr=${4:-} tag=${5:-}
	if [ "$proto" = tcp ]; then
		# The peer line goes out at accept time, before any fork or
		# exec, so a loaded guest cannot make it miss the client.
		nsx "$ns" python3 -c '
import socket, sys, threading
def serve(c, a):
    c.sendall(((sys.argv[3] or "%s %d" % a) + "\n").encode())
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(128)
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
' "${addr:-0.0.0.0}" "$port" "$tag" &
	else
		# One socket answering every datagram to its sender (socat's
		# UDP-RECVFROM,fork children can swallow each other's packets).
		nsx "$ns" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    try:
        s.sendto(("%s %d\n" % a).encode(), a)
    except OSError:
        pass  # e.g. no route back to an untranslated source
' "${addr:-0.0.0.0}" "$port" &
	fi
	wait_listen "$ns" "$proto" "$port" "$addr"
}

# ask NS PROTO DST PORT [SRCPORT] [DATA]: send DATA (default "hello"), print
# the reply (first line: the peer as the server saw it).
ask() {
	local ns=$1 proto=$2 dst=$3 port=$4 sport=${5:-} data=${6:-hello} opt=
	[ -n "$sport" ] && opt=",sourceport=$sport,reuseaddr"
	if [ "$proto" = tcp ]; then
		echo "$data" | nsx "$ns" timeout 30 socat -t 5 - TCP:"$dst":"$port",connect-timeout=5"$opt"
	else
		echo "$data" | nsx "$ns" timeout 30 socat -t 1 - UDP:"$dst":"$port""$opt"
	fi
}

# ---------------------------------------------------------------- kernel

# kernel_log_check NAME: FAIL if dmesg shows a warning, oops, ... or the
# kernel got tainted by a warning/oops (beyond out-of-tree/unsigned).
kernel_log_check() {
	local name=$1 tmp hits taint bad
	tmp=$(mktemp)
	dmesg > "$tmp" 2>/dev/null
	hits=$(kernel_problems "$tmp")
	taint=$(cat /proc/sys/kernel/tainted 2>/dev/null || echo 0)
	# D=128 (died), W=512 (warning), L=32768 (soft lockup), B=32 (bad page)
	bad=$(( taint & (128 | 512 | 32768 | 32) ))
	if [ -z "$hits" ] && [ "$bad" -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "kernel log: $(echo "$hits" | cut -d: -f2 | tr '\n' ' ')taint=$taint"
		if [ -n "$hits" ]; then
			kernel_context "$tmp" "$(echo "$hits" | head -n1 | cut -d: -f1)" 5 40 | sed 's/^/  | /'
		fi
	fi
	rm -f "$tmp"
}

# reset_all: leave the VM clean for the next scenario.
reset_all() {
	topo_teardown
	if natk_loaded; then
		rmmod natk 2>/dev/null || echo "natk: could not unload natk"
	fi
	nft flush ruleset 2>/dev/null
	return 0
}

# scenario_init: common prologue: clean slate and a cleanup trap.
scenario_init() {
	reset_all
	trap scenario_cleanup EXIT
}

scenario_cleanup() {
	local rc=$?
	reset_all
	exit $rc
}

# ---------------------------------------------------------------- more natk

# flow_get PROTO INT_ADDR INT_PORT: the matching flow objects (JSON, one
# per line) from natkctl -j flows, filtered with jq (not natkctl's filter).
flow_get() {
	nctl -j flows | jq -c --arg p "$1" --arg a "$2" --argjson port "$3" \
		'.[] | select(.proto == $p and .internal_address == $a and .internal_port == $port)'
}

# flow_field PROTO INT_ADDR INT_PORT FIELD: one field of the first match
flow_field() {
	flow_get "$1" "$2" "$3" | sed -n 1p | jq -r ".$4"
}

# flow_absent PROTO INT_ADDR INT_PORT: succeeds if no such flow (and natkctl
# worked)
flow_absent() {
	local out
	out=$(nctl -j flows) || return 1
	[ -z "$(echo "$out" | jq -c --arg p "$1" --arg a "$2" --argjson port "$3" \
		'.[] | select(.proto == $p and .internal_address == $a and .internal_port == $port)')" ]
}

flow_present() { [ -n "$(flow_get "$@")" ]; }

# flow_state_is PROTO ADDR PORT REGEX
flow_state_is() {
	flow_field "$1" "$2" "$3" state | grep -Eqx "$4"
}

# ---------------------------------------------------------------- dmesg

# dmesg_mark: remember where the kernel log is now, as a line of its own
# written to it (a line count is no mark: once the ring buffer wraps, the
# count stays put while old lines go); dmesg_since: the kernel log after
# the mark (all of it when there is no mark or the mark has wrapped out);
# dmesg_check NAME: PASS if nothing bad was logged since.
dmesg_mark() {
	DMESG_MARK="natk-test: mark $$.$RANDOM.$(date +%s%N)"
	echo "$DMESG_MARK" > /dev/kmsg
}

dmesg_since() {
	dmesg | awk -v m="${DMESG_MARK:-}" '
		{ l[NR] = $0 }
		m != "" && index($0, m) { s = NR }
		END { for (i = s + 1; i <= NR; i++) print l[i] }'
}

# dmesg_has RE: some kernel log line since the mark matches RE (grep -E)
dmesg_has() { dmesg_since | grep -qE "$1"; }

dmesg_check() {
	local name=$1 tmp hits
	tmp=$(mktemp)
	dmesg_since > "$tmp"
	hits=$(kernel_problems "$tmp")
	if [ -z "$hits" ]; then
		pass "$name"
	else
		fail "$name" "kernel log: $(echo "$hits" | cut -d: -f2 | tr '\n' ' ')"
		kernel_context "$tmp" "$(echo "$hits" | head -n1 | cut -d: -f1)" 5 40 | sed 's/^/  | /'
	fi
	rm -f "$tmp"
}

# ---------------------------------------------------------------- long-lived

# hold_tcp NS DST PORT SPORT [extra socat opts]: background TCP connection
# that stays open (stdin is a sleep) until killed; prints its PID.
hold_tcp() {
	local ns=$1 dst=$2 port=$3 sport=$4 extra=${5:-}
	ip netns exec "$ns" sh -c "sleep 600 | exec socat - TCP:$dst:$port,sourceport=$sport,reuseaddr$extra" \
		> /dev/null 2>&1 &
	echo $!
}

# wan_counter_setup: nft counters in wan: packets arriving from the NAT's
# external address and from the private lan (which must never happen).
wan_counter_setup() {
	nsx wan nft -f - <<-EOT
		table ip watch {
			counter from_nat { }
			counter from_lan { }
			chain in {
				type filter hook prerouting priority -300;
				ip saddr $NAT_EXT counter name from_nat
				ip saddr 10.0.0.0/24 counter name from_lan
			}
		}
	EOT
}

# wan_counter NAME: packets counted so far
wan_counter() {
	nsx wan nft list counter ip watch "$1" | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# hold_stop PID: end a hold_tcp connection (normal close, FIN or RST per its
# options).
hold_stop() {
	kill_tree "$1"
}

# kill_tree PID: SIGTERM a process and all its descendants (children first
# collected, so nothing is reparented away before we see it).
kill_tree() {
	local p=$1 c
	for c in $(pgrep -P "$p" 2>/dev/null); do kill_tree "$c"; done
	kill "$p" 2>/dev/null
	return 0
}
