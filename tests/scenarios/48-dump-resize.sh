#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flow dumps across table resizes. The flow table is an rhashtable that
# doubles at 75% load; a dump is many netlink calls, and between two calls
# the walk is stopped. A resize that lands there rewinds the walk to the
# first slot of the new table. natk marks such a dump NLM_F_DUMP_INTR, and
# natkctl retries it and prints only a complete one; before natk did,
# natkctl printed every flow the dump had already sent a second time (this
# scenario caught it in 8 runs of 8, in 1 to 3 dumps of about 50 a run).
#
# A rewind inside one call is flagged too, and natk once missed it in the
# first call of a dump (nothing to compare with yet) and when the last call
# sent nothing: a dump then repeated what it had seen before the resize
# (1 dump in about 3 runs with small tables). Two things make a resize land
# inside a first call: small phases, where a whole dump fits in one or two
# calls, and a filtered dumper, whose first call walks most of the table.
#
# First NATK_RESIZE_SMALL_ROUNDS (3) small growth phases, small1..3, each
# from 0 to NATK_RESIZE_SRC x NATK_RESIZE_SMALL_DST flows (50 x 20 = 1,000)
# paced over NATK_RESIZE_SMALL_SECONDS (8 s) with a flush after it; then
# two big growth phases (0 to NATK_RESIZE_SRC x NATK_RESIZE_DST flows,
# 50 x 400 = 20,000 by default, paced over NATK_RESIZE_SECONDS, 12 s; a
# flush in between, so that the table shrinks and grows again). lan1 sends
# one UDP datagram from each source port to each destination port of wan,
# which drops them early (as 23-dump-100k). Meanwhile NATK_RESIZE_DUMPERS
# (3) natkctl -j flows, and one natkctl -j flows internal LAN1:PORT, run
# back to back in netns nat, and python checks every dump. A call is short
# next to a resize of thousands of flows, so python stops each natkctl with
# SIGSTOP for 0.2-0.6 s at random moments until it starts printing: a
# stopped process is never inside a call, so resizes land between calls.
# Checked:
#  - no dump holds the same 5-tuple twice;
#  - nothing is lost: during a growth phase no flow ends, so a dump holds
#    every flow of any dump of the same phase that finished before it began;
#  - natkctl fails only by giving up on a table that kept changing;
#  - at least 2 dumps per phase with more than 1000 flows ran wholly inside
#    the growth (so the checks had something to see).
# At the end one full dump holds exactly the generated flows, as many as
# natkctl -j status .flows.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan dump-resize-natk-up dump-resize-set-limits dump-resize-grow1-flows \
	dump-resize-grow2-flows dump-resize-flush dump-resize-no-duplicates \
	dump-resize-nothing-lost dump-resize-natkctl-errors dump-resize-dumps-during-growth \
	dump-resize-final-exit dump-resize-final-equals-status dump-resize-final-complete \
	dump-resize-kernel-log
dmesg_mark
require_natk dump-resize-natk-built
NSRC=${NATK_RESIZE_SRC:-50}
NDST=${NATK_RESIZE_DST:-400}
GROW_S=${NATK_RESIZE_SECONDS:-12}
NDUMPERS=${NATK_RESIZE_DUMPERS:-3}
NSMALL=${NATK_RESIZE_SMALL_DST:-20}
SMALL_S=${NATK_RESIZE_SMALL_SECONDS:-8}
SMALL_ROUNDS=${NATK_RESIZE_SMALL_ROUNDS:-3}
TOTAL=$((NSRC * NDST))
SP0=20000
DP0=30000
DPID= GPID=

# dumper_stop: end the dumps and the generator (they stop at $CTL_TMP/stop)
dumper_stop() {
	local p
	touch "$CTL_TMP/stop"
	for p in $DPID $GPID; do
		poll 60 sh -c "! kill -0 $p" || kill_tree "$p"
		wait "$p" 2>/dev/null
	done
	DPID= GPID=
}
# The dumper and the generator must be gone before ctl_cleanup tears the
# namespaces down; keep ctl_cleanup's exit status.
trap 'rc=$?; dumper_stop; (exit $rc); ctl_cleanup' EXIT

topo_setup || { fail dump-resize-topology "topology setup failed"; exit 1; }
check dump-resize-natk-up natk_up || exit 1
check dump-resize-set-limits nctl set max-flows $((TOTAL * 2)) timeout udp 1h
# wan drops the datagrams early: no ICMP port unreachable, no sockets.
nsx wan nft -f - <<-EOT
	table ip sink {
		chain pre {
			type filter hook prerouting priority -400;
			udp dport $DP0-$((DP0 + NDST - 1)) drop
		}
	}
EOT

# gen.py DST NSRC NDST SP0 DP0 DIR: binds the source ports once (python
# starts slowly under TCG), then for round K=1,2,... waits for DIR/go.K,
# which holds "SECONDS [N]", and sends one datagram from each source port
# to each of the first N (NDST) destination ports, destination by
# destination, paced to take SECONDS (0: as fast as it can); then writes
# what it did to DIR/go.K.done.
cat > "$CTL_TMP/gen.py" <<'PY'
import os, socket, sys, time
dst, nsrc, ndst, sp0, dp0 = sys.argv[1], *map(int, sys.argv[2:6])
d = sys.argv[6]
socks = []
for i in range(nsrc):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.bind(("", sp0 + i))
    socks.append(s)
open(os.path.join(d, "go.ready"), "w").close()
k = 0
while not os.path.exists(os.path.join(d, "stop")):
    go = os.path.join(d, "go.%d" % (k + 1))
    try:
        words = open(go).read().split()
        secs = float(words[0])
        n = int(words[1]) if len(words) > 1 else ndst
    except (OSError, ValueError, IndexError):
        time.sleep(0.05)
        continue
    k += 1
    t0 = time.monotonic()
    err = 0
    for j in range(n):
        a = (dst, dp0 + j)
        for s in socks:
            try:
                s.sendto(b"x", a)
            except OSError:
                err += 1
        ahead = t0 + secs * (j + 1) / n - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    with open(go + ".tmp", "w") as f:
        f.write("sent %d datagrams (%d errors) in %.1f s\n" % (nsrc * n, err, time.monotonic() - t0))
    os.rename(go + ".tmp", go + ".done")
PY
# dumper.py NATKCTL PHASEFILE STOPFILE THREADS [FILTER...]: THREADS natkctl
# -j flows, and one natkctl -j flows FILTER, back to back until STOPFILE
# exists; each dump is checked as it comes and
# tagged with the phase (PHASEFILE's content) at its start and its end.
# Creates STOPFILE.ready once the dumps run. Prints one line per dump and,
# last, a JSON summary.
cat > "$CTL_TMP/dumper.py" <<'PY'
import collections, json, os, queue, random, signal, subprocess, sys, threading, time
natkctl, phase_f, stop_f, nthreads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
filt = sys.argv[5:]	# the arguments of one more, filtered, dumper
KEYS = ("proto", "internal_address", "internal_port", "remote_address", "remote_port")

def phase():
    try:
        with open(phase_f) as f:
            return f.read().strip()
    except OSError:
        return "?"

# pauser: while natkctl walks the table (it prints nothing before the dump
# is complete), stop it now and then; always leave it running.
def pauser(p, walking):
    rnd = random.Random()
    while True:
        time.sleep(rnd.uniform(0.05, 0.2))
        if not walking.is_set() or p.poll() is not None:
            return
        try:
            os.kill(p.pid, signal.SIGSTOP)
            time.sleep(rnd.uniform(0.2, 0.6))
        finally:
            try:
                os.kill(p.pid, signal.SIGCONT)
            except OSError:
                pass

q = queue.Queue(maxsize=2 * nthreads + 2)
def dumper(args):
    while not os.path.exists(stop_f):
        p0, t0 = phase(), time.monotonic()
        p = subprocess.Popen([natkctl, "-j", "flows"] + args, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        walking = threading.Event()
        walking.set()
        th = threading.Thread(target=pauser, args=(p, walking))
        th.start()
        out = p.stdout.read(1)	# the dump is complete (or natkctl failed)
        tw = time.monotonic()
        walking.clear()
        th.join()
        out += p.stdout.read()
        err = p.stderr.read()
        rc = p.wait()
        t1, p1 = time.monotonic(), phase()
        q.put((t0, tw, t1, p0, p1, rc, out, err, " ".join(args)))
    q.put(None)

T0 = time.monotonic()
threads = [[]] * nthreads + ([filt] if filt else [])
for a in threads:
    threading.Thread(target=dumper, args=(a,), daemon=True).start()
open(stop_f + ".ready", "w").close()
s = {"dumps": 0, "failed": 0, "fail_other": [], "fail_changing": 0,
     "dup_dumps": 0, "dup_examples": [], "lost_dumps": 0, "lost_examples": [],
     "growth_big": collections.Counter(), "max_n": 0}
done = []	# (end, phase, set of tuples, filter) of the growth dumps
running = len(threads)
while running:
    item = q.get()
    if item is None:
        running -= 1
        continue
    t0, tw, t1, p0, p1, rc, out, err, fa = item
    err = err.decode(errors="replace").strip()
    tag = "%6.1f-%6.1f %s/%s%s" % (t0 - T0, t1 - T0, p0, p1, " [%s]" % fa if fa else "")
    walk = "walk %.1f s" % (tw - t0)
    if rc != 0:
        s["failed"] += 1
        if "kept changing" in err:
            s["fail_changing"] += 1
        elif len(s["fail_other"]) < 3:
            s["fail_other"].append("rc %d: %s" % (rc, err[:200]))
        print("%s natkctl rc %d: %s" % (tag, rc, err[:200]), flush=True)
        continue
    try:
        tuples = [tuple(f[k] for k in KEYS) for f in json.loads(out)]
    except (ValueError, KeyError, TypeError) as e:
        s["failed"] += 1
        if len(s["fail_other"]) < 3:
            s["fail_other"].append("bad JSON: %s" % e)
        continue
    s["dumps"] += 1
    n = len(tuples)
    s["max_n"] = max(s["max_n"], n)
    uniq = set(tuples)
    line = "%s %d flows, %s" % (tag, n, walk)
    if len(uniq) != n:
        c = collections.Counter(tuples)
        twice = [t for t, k in c.items() if k > 1]
        s["dup_dumps"] += 1
        if len(s["dup_examples"]) < 3:
            s["dup_examples"].append("%s: %d flows, %d distinct, %d repeated, e.g. %s x%d"
                                     % (tag, n, len(uniq), len(twice), twice[0], c[twice[0]]))
        line += ", %d distinct (%d repeated)" % (len(uniq), len(twice))
    if p0 == p1 and p0.startswith(("grow", "small")) and not p0.endswith("-done"):
        if n > 1000 and not fa:
            s["growth_big"][p0] += 1
        # the latest growth dump of this phase and filter that ended before
        # this began
        prev = [d for d in done if d[1] == p0 and d[3] == fa and d[0] < t0]
        if prev:
            end, _, pset, _ = max(prev, key=lambda d: d[0])
            lost = pset - uniq
            if lost:
                s["lost_dumps"] += 1
                if len(s["lost_examples"]) < 3:
                    s["lost_examples"].append("%s: %d flows of a dump that ended at %.1f missing, e.g. %s"
                                              % (tag, len(lost), end - T0, next(iter(lost))))
                line += ", %d lost" % len(lost)
        done = [d for d in done if d[1] == p0][-6:] + [(t1, p0, uniq, fa)]
    print(line, flush=True)
s["growth_big"] = dict(s["growth_big"])
print(json.dumps(s))
PY

nsx lan1 python3 "$CTL_TMP/gen.py" $WAN1 $NSRC $NDST $SP0 $DP0 "$CTL_TMP" > "$CTL_TMP/gen.out" 2>&1 &
GPID=$!
GO=0
# send SECONDS [NDST]: one round of the generator; SENT says what it did
send() {
	GO=$((GO + 1))
	echo "$*" > "$CTL_TMP/go.$GO.tmp" && mv "$CTL_TMP/go.$GO.tmp" "$CTL_TMP/go.$GO"
	if poll $((${1%.*} * 3 + 60)) test -e "$CTL_TMP/go.$GO.done"; then
		SENT=$(cat "$CTL_TMP/go.$GO.done")
	else
		SENT="round $GO of the generator did not end: $(cat "$CTL_TMP/gen.out")"
	fi
}
echo idle > "$CTL_TMP/phase"
nsx nat python3 "$CTL_TMP/dumper.py" "$NATKCTL" "$CTL_TMP/phase" "$CTL_TMP/stop" "$NDUMPERS" \
	internal "$LAN1:$SP0" > "$CTL_TMP/dumper.out" 2>&1 &
DPID=$!
poll 60 test -e "$CTL_TMP/stop.ready" || log "the dumper is not ready after 60 s"
poll 60 test -e "$CTL_TMP/go.ready" || log "the generator is not ready after 60 s: $(cat "$CTL_TMP/gen.out")"
T0=$SECONDS

# grow PHASE SECONDS NDST: the generator, paced, then once more unpaced if
# a datagram was lost (the flows it makes are all new or already there)
grow() {
	local try t=$((SECONDS - T0)) want=$((NSRC * $3))
	echo "$1" > "$CTL_TMP/phase"
	send "$2" "$3"
	log "$1 at $t s: $SENT"
	for try in 1 2; do
		poll 10 flows_is nat $want && break
		log "$1: $(flow_count nat) flows, sending again"
		send 0 "$3"
		log "$SENT"
	done
	echo "$1-done" > "$CTL_TMP/phase"
	log "$1 done at $((SECONDS - T0)) s"
	expect_eq "dump-resize-$1-flows" "$want" "$(flow_count nat)" "natkctl -j status .flows after $1" ||
		log "stats: $(nctl -j stats | jq -c 'with_entries(select(.value != 0))')"
}
# flush NAME: empty the table and let it shrink (automatic shrinking runs
# in a worker)
flush() {
	echo flush > "$CTL_TMP/phase"
	check "dump-resize-$1" nctl flush
	poll 20 flows_is nat 0 || log "after the flush: $(flow_count nat) flows"
	sleep 2
}

for r in $(seq "$SMALL_ROUNDS"); do
	plan "dump-resize-small$r-flows" "dump-resize-flush-small$r"
done
for r in $(seq "$SMALL_ROUNDS"); do
	grow "small$r" "$SMALL_S" "$NSMALL"
	flush "flush-small$r"
done
grow grow1 "$GROW_S" "$NDST"
sleep 1
flush flush
grow grow2 "$GROW_S" "$NDST"
sleep 2
dumper_stop
log "dumps stopped at $((SECONDS - T0)) s"
grep -v '^{' "$CTL_TMP/dumper.out" | sed 's/^/  # dump /' | tail -n 200
sum=$(tail -n 1 "$CTL_TMP/dumper.out")
if ! printf '%s\n' "$sum" | jq -e .dumps > /dev/null 2>&1; then
	fail dump-resize-dumper "no summary from the dumper: $(tail -n 5 "$CTL_TMP/dumper.out")"
	exit 1
fi
log "summary: $sum"
jqs() { printf '%s\n' "$sum" | jq -r "$1"; }

expect_eq dump-resize-no-duplicates 0 "$(jqs .dup_dumps)" \
	"dumps ($(jqs .dumps) complete) with a 5-tuple repeated: $(jqs '.dup_examples | join("; ")')"
expect_eq dump-resize-nothing-lost 0 "$(jqs .lost_dumps)" \
	"dumps without a flow an earlier dump had: $(jqs '.lost_examples | join("; ")')"
expect_eq dump-resize-natkctl-errors "" "$(jqs '.fail_other | join("; ")')" \
	"natkctl -j flows failures other than a table that kept changing ($(jqs .fail_changing) of those)"
g1=$(jqs '.growth_big.grow1 // 0')
g2=$(jqs '.growth_big.grow2 // 0')
if [ "$g1" -ge 2 ] && [ "$g2" -ge 2 ]; then
	pass dump-resize-dumps-during-growth
else
	fail dump-resize-dumps-during-growth "dumps of more than 1000 flows wholly inside a growth phase: $g1 in the first, $g2 in the second (want 2 each)"
fi

# The table is still now: a full dump is the generated grid, once each.
nctl -j flows > "$CTL_TMP/final.json"
rc=$?
expect_eq dump-resize-final-exit 0 "$rc" "natkctl -j flows exit status"
res=$(python3 -c '
import json, sys
fl = json.load(open(sys.argv[1]))
dst, nsrc, ndst, sp0, dp0, lan = sys.argv[2], *map(int, sys.argv[3:7]), sys.argv[7]
want = {("udp", lan, sp0 + i, dst, dp0 + j) for i in range(nsrc) for j in range(ndst)}
got = [(f["proto"], f["internal_address"], f["internal_port"], f["remote_address"], f["remote_port"]) for f in fl]
print(len(got), len(set(got)), len(want - set(got)), len(set(got) - want))
' "$CTL_TMP/final.json" $WAN1 $NSRC $NDST $SP0 $DP0 $LAN1 2>&1)
read -r n uniq missing extra <<< "$res"
st=$(flow_count nat)
log "final dump: $res (flows, distinct, missing, extra); status .flows $st"
expect_eq dump-resize-final-equals-status "$st" "$n" "flows in the final dump vs natkctl -j status .flows"
expect_eq dump-resize-final-complete "$TOTAL $TOTAL 0 0" "$n $uniq $missing $extra" \
	"flows, distinct, missing and extra 5-tuples in the final dump"
dmesg_check dump-resize-kernel-log
