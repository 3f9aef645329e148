#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""natk benchmark report: raw.jsonl from tests/bench/guest.sh to
PREFIX.md (tables), PREFIX.json (every raw figure plus the summary) and
PREFIX.gp/.dat (gnuplot script and data for PREFIX.svg).

    report.py RAW.jsonl PREFIX --kernel K --wall SECONDS --qemu TEXT --host TEXT
    report.py OLD.json PREFIX      (redo a report from its raw records)
"""
import argparse
import datetime
import json
import os
import statistics

NAMES = {
    "a": "plain forwarding",
    "b": "nf_conntrack + nft masquerade",
    "c": "nft masquerade + flowtable",
    "d": "natk, fast path off",
    "e": "natk, fast path",
    "f": "flowtable on the bridge port too",
}


METHOD = """\
**Method.** One VM boot (tests/bench.sh, guest side tests/bench/guest.sh).
QEMU runs TCG with `-icount shift=0,sleep=off`: the guest clock advances
exactly 1 ns per executed guest instruction (idle time is skipped), so every
rate below is "per guest second" = per 10^9 guest instructions. The host's
load then changes how long a run takes, not the figures; without icount, two
identical runs on this busy host differed by up to 2x. With icount QEMU runs
one vCPU thread, so the VM has 1 vCPU: every figure is the cost of the whole
path on one CPU (pktgen's own cost, the lan veth and bridge, forwarding,
the wan veth and the sink are in every variant: ratios understate natk's
own difference). Each variant gets fresh namespaces lan1X -- [bridge lan0
10.0.0.1] natX [wan0 192.0.2.1] -- wanX (the tests/lib/netns.sh shape);
nf_conntrack is loaded once (hashsize 1048576, nf_conntrack_max 4M, UDP
timeouts 3600 s) but hooks only the b, c and f netns (their rules ask for it;
`nft list hooks` for each nat netns is in the JSON); natk gets max-flows 4M
and UDP timeout 3600 s, and natk.flows_hint 65535 (its flow and mapping
tables sized for 65,535 flows from the netns's start, as conntrack's hash
is; BENCH_FLOWS_HINT, the JSON's natk record). Traffic: kernel pktgen in lan1 (64-byte frames, UDP,
clone_skb 0, flag !SHARED: an skb of its own for each packet that pktgen
does not hold on to, as a NIC's; shared, the bridge clones each and natk's
ingress hook leaves them to the normal path) to 192.0.2.2; wan drops UDP at its eth0 ingress with an
nftables netdev counter, and rates are packets delivered there divided by
pktgen's elapsed time. (1) one flow: 200 packets to establish it (c, f: so
it is offloaded), then the measured count. (2) new flows: every packet a new
source port; flows created (nf_conntrack_count / natkctl status) divided by
the time; a: packets per second. (4) memory: /proc/meminfo Slab before and
after, divided by the flows created (the rhashtable bucket arrays of large
tables may be vmalloc'd: Slab+VmallocUsed is given too); (4b) with one
mapping per flow at 1M flows (phase mem1, natk as shipped): 17 internal
hosts x 60,000 source ports to one destination, each flow an internal
endpoint of its own, natk masquerading behind 18 addresses of wan0
(paired pooling gives each host one), Slab and VmallocUsed growth over
the flows made (the tables' first bucket arrays, sized by flows_hint,
were there before). (5) iperf3 TCP
lan1 -> wan, 1 and 4 streams. (3) per-packet cost: one variant at a time
(conntrack's hash is shared by all netns), the table preloaded with pktgen
(1000 source ports x coprime destination-port counts, one packet per new
5-tuple) to each size, then the one-flow measurement repeated. Medians and
(min-max) over runs; runs interleave the variants (a b c d e f, a b c d e f, ...).
d and e get one reply from wan before the measured flow (natk's fast path
takes a flow once it has seen both directions). (6) teardown: the nat netns
of e (natk) and of b (nf_conntrack) preloaded the same way to
BENCH_TEARDOWN_SIZE flows, then `ip netns del`; netns cleanup runs
asynchronously, so the time is until the flow objects are freed (objects in
use in the natk_flow or nf_conntrack slab cache back to their count before
the preload, within 1% of the table). Then natk again with a table that
size and `rmmod natk` (which tears down every netns's natk and waits for
its RCU callbacks before it returns). One measurement each.
"""


def med(xs):
    return statistics.median(xs) if xs else None


def spread(xs):
    return (min(xs), max(xs)) if xs else (None, None)


def fmt(x, unit="", prec=0):
    if x is None:
        return "n/a"
    if prec == 0:
        return f"{x:,.0f}{unit}"
    return f"{x:,.{prec}f}{unit}"


def cell(xs, unit="", prec=0, scale=1.0):
    """median (min-max) of a list"""
    if not xs:
        return "n/a"
    xs = [x * scale for x in xs]
    lo, hi = spread(xs)
    return f"{fmt(med(xs), unit, prec)} ({fmt(lo, '', prec)}-{fmt(hi, '', prec)})"


def ratio_cell(rs):
    if not rs:
        return "n/a"
    lo, hi = spread(rs)
    return f"{med(rs):.2f}x ({lo:.2f}-{hi:.2f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("prefix")
    ap.add_argument("--kernel", default="?")
    ap.add_argument("--wall", type=int, default=0)
    ap.add_argument("--qemu", default="")
    ap.add_argument("--host", default="")
    a = ap.parse_args()

    recs = []
    if a.raw.endswith(".json"):
        # a previous report's JSON: redo the report from its raw records
        old = json.load(open(a.raw))
        recs = old["raw"]
        a.kernel = old.get("kernel", a.kernel)
        a.wall = old.get("wall_seconds", a.wall)
        a.qemu = old.get("qemu", a.qemu)
        a.host = old.get("host", a.host)
        a.date = old.get("date")
    with open(a.raw if not a.raw.endswith(".json") else os.devnull) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    recs.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    by = lambda m: [r for r in recs if r.get("m") == m]
    env = (by("env") or [{}])[0]
    variants = [v for v in "abcdef" if any(r.get("v") == v for r in recs)]

    # per-run values of a metric: {variant: {run: value}}
    def runs(m, key, pred=lambda r: True):
        out = {}
        for r in by(m):
            if pred(r) and r.get(key) is not None:
                out.setdefault(r["v"], {})[r["run"]] = r[key]
        return out

    def ratios(vals, v, base="a"):
        """per-run ratio v/base (same interleaved run), else median ratio"""
        if v not in vals or base not in vals:
            return []
        common = sorted(set(vals[v]) & set(vals[base]))
        return [vals[v][r] / vals[base][r] for r in common if vals[base][r]]

    summary = {}
    # 1. single flow
    pps = runs("pps", "pps", lambda r: r.get("size", 0) == 0)
    # 2. new flows: flows created per second (a: packets per second)
    nf = {}
    for r in by("newflows"):
        created = r["flows_after"] - r["flows_before"]
        n = r["delivered"] if r["v"] == "a" else created
        nf.setdefault(r["v"], {})[r["run"]] = n * 1e6 / r["usec"] if r["usec"] else 0
    nf_end = {v: [r["flows_after"] for r in by("newflows") if r["v"] == v] for v in variants}
    # 4. memory per flow
    mem_nf = {}
    for r in by("newflows"):
        created = r["flows_after"] - r["flows_before"]
        if r["v"] != "a" and created > 0:
            mem_nf.setdefault(r["v"], []).append(r["slab_delta"] / created)
    mem_pre = {}
    for r in by("preload"):
        created = r["table"] - r.get("flows_before", 0)
        # (a negative delta: the previous variant's table was still being
        # freed when the baseline was read; no figure then)
        if created > 0 and r["slab_delta"] > 0:
            mem_pre.setdefault(r["v"], []).append(
                (r["size"], r["table"], r["slab_delta"] / created,
                 (r["slab_delta"] + r["vmalloc_delta"]) / created, r["seconds"]))
    # 4b. memory with one mapping per flow at 1M flows (phase mem1)
    mem1 = {}
    for r in by("mem1"):
        created = r["flows"] - r["flows_before"]
        if created > 0:
            mem1[r["v"]] = (created, r["mappings"], r["slab_delta"] / created,
                            (r["slab_delta"] + r["vmalloc_delta"]) / created)
    objsize = {r["cache"]: r for r in by("objsize")}
    # 5. iperf3
    ip1 = runs("iperf1", "bps")
    ip4 = runs("iperf4", "bps")
    # 3. per-packet cost with a loaded table (ns per packet)
    sizes = sorted({r["size"] for r in by("pps") if r.get("size", 0) > 0})
    load = {}
    for r in by("pps"):
        if r.get("size", 0) > 0 and r["pps"]:
            load.setdefault(r["v"], {}).setdefault(r["size"], []).append(1e9 / r["pps"])
    table_at = {(r["v"], r["size"]): r["table"] for r in by("preload")}
    a_ns = [1e9 / x for x in pps.get("a", {}).values() if x]

    L = []
    date = getattr(a, "date", None) or \
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    base = os.path.basename(a.prefix)
    nruns = max((len(x) for x in pps.values()), default=0)
    L.append(f"# natk benchmark: {a.kernel}, {date}\n")
    L.append(f"Kernel {a.kernel} in QEMU ({a.qemu}); guest {env.get('cpus', '?')} CPU, "
             f"{env.get('memkb', 0) // 1024} MiB. Host: {a.host}. "
             f"Whole run {a.wall // 60} min {a.wall % 60} s.\n")
    L.append("Variants: **a** plain IPv4 forwarding (no netfilter table in the nat netns), "
             "**b** nf_conntrack + nftables masquerade, **c** b + nftables software flowtable "
             "(lan0, wan0), **d** natk with its fast path off, **e** natk as shipped (fast "
             "path auto), **f** c with the bridge's port vlan1 in the flowtable too. Every figure: median of the runs, (min-max) across "
             f"runs; {nruns} interleaved runs (a b c d e f, a b c d e f, ...) unless said. "
             "Ratios are to plain forwarding, per run (same interleaved run), then the median.\n")

    L.append(METHOD)
    L.append("| metric | " + " | ".join(f"{v}: {NAMES[v]}" for v in variants) + " |")
    L.append("|---|" + "---|" * len(variants))

    def row(title, vals, unit, prec=0, scale=1.0, with_ratio=True):
        if not any(vals.get(v) for v in variants):
            return  # not measured in this run (BENCH_PHASES, BENCH_SKIP)
        cells = []
        for v in variants:
            xs = list(vals.get(v, {}).values()) if isinstance(vals.get(v), dict) else vals.get(v, [])
            c = cell(xs, unit, prec, scale)
            if with_ratio and v != "a" and isinstance(vals.get(v), dict):
                c += f"<br>{ratio_cell(ratios(vals, v))}"
            cells.append(c)
        L.append(f"| {title} | " + " | ".join(cells) + " |")

    row("64-byte UDP, one flow (packets/s)", pps, "")
    row("new flows/s (a: packets/s)", nf, "")
    # Every packet also pays for pktgen, two veths, the bridge and the
    # sink: what a variant adds is its cost minus plain forwarding's, per run.
    def over(vals):
        out = {}
        for v in vals:
            if v == "a" or "a" not in vals:
                continue
            for r, x in vals[v].items():
                if x and vals["a"].get(r):
                    out.setdefault(v, {})[r] = 1e9 / x - 1e9 / vals["a"][r]
        return out
    ov_pps, ov_nf = over(pps), over(nf)
    if "a" in variants:
        L.append("| ns added per packet over plain forwarding, one flow | - | " + " | ".join(
            cell(list(ov_pps.get(v, {}).values()), " ns") for v in variants if v != "a") + " |")
        L.append("| ns added per new flow over plain forwarding | - | " + " | ".join(
            cell(list(ov_nf.get(v, {}).values()), " ns") for v in variants if v != "a") + " |")
    if any(nf_end.get(v) for v in variants):
        L.append("| table size after the new-flow run | " + " | ".join(
            cell(nf_end.get(v, [])) if v != "a" else "-" for v in variants) + " |")
    row("TCP, iperf3 1 stream (Gbit/s)", ip1, "", 2, 1e-9)
    row("TCP, iperf3 -P 4 (Gbit/s)", ip4, "", 2, 1e-9)
    if mem_nf:
        L.append("| kernel memory per flow, new-flow run (Slab bytes) | " + " | ".join(
            cell(mem_nf.get(v, [])) if v != "a" else "-" for v in variants) + " |")
    big = {v: max(mem_pre[v]) for v in mem_pre}
    if big:
        L.append("| kernel memory per flow, largest preload (Slab; Slab+vmalloc) | " + " | ".join(
            (f"{big[v][2]:.0f}; {big[v][3]:.0f} (at {big[v][1]:,} flows)" if v in big else "-")
            for v in variants) + " |")
    if mem1:
        L.append("| kernel memory per flow, 1M flows with one mapping each (Slab; Slab+vmalloc) | " + " | ".join(
            (f"{mem1[v][2]:.0f}; {mem1[v][3]:.0f} (at {mem1[v][0]:,} flows, {mem1[v][1]:,} mappings)"
             if v in mem1 else "-") for v in variants) + " |")
    # 6. teardown with a full table: {what: {variant: [seconds or None]}}
    td, td_size, td_table = {}, {}, {}
    for r in by("teardown"):
        sec = r["us"] / 1e6 if r.get("us", -1) >= 0 else None
        td.setdefault(r["what"], {}).setdefault(r["v"], []).append(sec)
        td_size[r["what"]] = max(td_size.get(r["what"], 0), r["size"])
        td_table[(r["what"], r["v"])] = r["table"]

    def size_name(n):
        return f"{n // 1000000}M" if n % 1000000 == 0 else f"{n:,}"

    def td_cell(what, v):
        xs = td.get(what, {}).get(v)
        if not xs:
            return "-"
        ok = [x for x in xs if x is not None]
        if not ok:
            return "did not finish"
        return f"{med(ok):.2f} s ({td_table[(what, v)]:,} flows)"

    for what, title in (("netns", "netns teardown time"), ("rmmod", "rmmod natk time")):
        if what in td:
            L.append(f"| {title} at {size_name(td_size[what])} flows | " + " | ".join(
                td_cell(what, v) for v in variants) + " |")
    L.append("")
    if objsize:
        L.append("Per-flow object sizes (/sys/kernel/slab): " + ", ".join(
            f"{c} object_size {o['object_size']} B (slab_size {o['slab_size']})"
            for c, o in objsize.items()) + ". natk's mappings (cache natk_map, 64 B "
            "since 2026-12-05) come besides only for internal endpoints with "
            "two flows or more, forwards and held ports: an endpoint's only "
            "flow is its own mapping (since 2026-12-06); "
            "nf_conntrack adds its extensions (NAT, ...) in kmalloc'd memory.\n")

    if sizes:
        L.append("### Per-packet cost with a preloaded table\n")
        L.append("ns per packet = 1e9 / single-flow packets/s, measured with the table holding "
                 "the given number of flows (median (min-max) of "
                 f"{max(len(x) for d in load.values() for x in d.values())} measurements per size; "
                 "plain forwarding has no table: its one-flow figure is repeated).\n")
        L.append("| flows | " + " | ".join(f"{v}: {NAMES[v]}" for v in variants) + " |")
        L.append("|---|" + "---|" * len(variants))
        an = med(a_ns)
        for s in sizes:
            cells = []
            for v in variants:
                if v == "a":
                    cells.append(cell(a_ns, " ns"))
                    continue
                xs = load.get(v, {}).get(s, [])
                c = cell(xs, " ns")
                if xs and an:
                    c += f"<br>{med(xs) / an:.2f}x a"
                t = table_at.get((v, s))
                if t is not None and t < 0.95 * s:
                    c += f"<br>(table reached {t:,})"
                cells.append(c)
            L.append(f"| {s:,} | " + " | ".join(cells) + " |")
        L.append("")
        L.append(f"![per-packet cost against table size]({base}.svg)\n")

    # phase smp: one flow on one CPU, two flows on two CPUs
    smp1, smp2 = runs("smp", "pps1"), runs("smp", "pps2")
    if smp1:
        L.append("### Two flows on two CPUs\n")
        L.append("pktgen's thread on CPU 0 sends one flow, then the threads on CPUs 0 and 1 "
                 "send one flow each at once (2 vCPUs, no icount: wall-clock guest time on "
                 "a shared host, so read the ranges). Scaling: two-flow rate over one-flow "
                 "rate, per run.\n")
        L.append("| metric | " + " | ".join(f"{v}: {NAMES.get(v, v)}" for v in variants if v in smp1) + " |")
        L.append("|---|" + "---|" * len([v for v in variants if v in smp1]))
        L.append("| one flow, one CPU (packets/s) | " + " | ".join(
            cell(list(smp1[v].values())) for v in variants if v in smp1) + " |")
        L.append("| two flows, two CPUs (packets/s) | " + " | ".join(
            cell(list(smp2.get(v, {}).values())) for v in variants if v in smp1) + " |")
        L.append("| scaling | " + " | ".join(
            cell([smp2[v][r] / smp1[v][r] for r in smp1[v] if r in smp2.get(v, {})], "x", 2)
            for v in variants if v in smp1) + " |")
        L.append("")

    # phase profile: where natk's time goes (function_graph, icount)
    prof = [r for r in recs if r.get("m") == "profile"]
    if prof:
        L.append("### Where the time goes (function_graph tracer)\n")
        L.append("Phase profile: a run of its own under the function_graph tracer, "
                 "limited to natk's steps and the stack's main ones (BENCH_PROFILE_FNS). "
                 "A duration counts guest instructions (icount) of the function and its "
                 "callees, plus the tracer's own cost for each traced callee (about 0.5-1 us "
                 "each): a leaf's figure is its cost, a parent's is an upper bound. "
                 "Sorted by time per packet.\n")
        for v in variants:
            for what, title in (("newflows", "every packet a new flow"),
                                ("pps", "one established flow")):
                rs = [r for r in prof if r["v"] == v and r["what"] == what]
                if not rs:
                    continue
                L.append(f"**{v}: {NAMES.get(v, v)}, {title}** "
                         f"({rs[0]['packets']:,} packets)\n")
                L.append("| function | calls per packet | ns per call | ns per packet |")
                L.append("|---|---|---|---|")
                for r in sorted(rs, key=lambda r: -r["ns"]):
                    pk = r["packets"] or 1
                    L.append(f"| `{r['fn']}` | {r['calls'] / pk:.2f} | "
                             f"{r['ns'] / max(r['calls'], 1):,.0f} | {r['ns'] / pk:,.0f} |")
                L.append("")

    # targets
    t = []

    def verdict(ok):
        return "n/a" if ok is None else ("**holds**" if ok else "**does not hold**")

    # natk as shipped: with its fast path (e) when it ran, else d.
    n = "e" if "e" in pps else "d"
    if n in pps:
        rn_a = med(ratios(pps, n))
        t.append(("single-flow pps >= 1.15x plain forwarding",
                  f"natk/plain {rn_a:.2f}x" if rn_a else "n/a",
                  verdict(rn_a >= 1.15 if rn_a else None)))
        rn_c = med(ratios(pps, n, "c")) if "c" in pps else None
        t.append(("single-flow pps >= 1.05x the nft flowtable",
                  f"natk/flowtable {rn_c:.2f}x" if rn_c else "n/a",
                  verdict(rn_c >= 1.05 if rn_c else None)))
        rn_f = med(ratios(pps, n, "f")) if "f" in pps else None
        if rn_f:
            t.append(("(f, not an issue target) single-flow pps >= 1.05x the nft flowtable "
                      "that lists the bridge's port",
                      f"natk/flowtable-on-port {rn_f:.2f}x", verdict(rn_f >= 1.05)))
        rn_b = med(ratios(pps, n, "b")) if "b" in pps else None
        ovr = ""
        if "b" in ov_pps and n in ov_pps:
            ob, on = med(list(ov_pps["b"].values())), med(list(ov_pps[n].values()))
            ovr = f"; cost above forwarding: natk {on:.0f} ns, conntrack {ob:.0f} ns a packet"
        t.append(("single-flow pps >= 1.3x nf_conntrack masquerade",
                  (f"natk/conntrack {rn_b:.2f}x" if rn_b else "n/a") + ovr,
                  verdict(rn_b >= 1.3 if rn_b else None)))
    nn = "e" if "e" in ov_nf else "d"   # natk as shipped, as above
    if nn in nf and "b" in nf and "b" in ov_nf and nn in ov_nf:
        ob, od = med(list(ov_nf["b"].values())), med(list(ov_nf[nn].values()))
        t.append(("added cost of a new flow <= 0.4x nf_conntrack masquerade's",
                  f"natk {od:.0f} ns, conntrack {ob:.0f} ns: {od / ob:.2f}x",
                  verdict(od <= 0.4 * ob)))
    # Memory, as issue 15 counts it: everything (slab, bucket arrays,
    # mappings). One mapping per flow: the new-flow run (every packet a
    # new source port), whose Slab growth holds the flow and its mapping
    # but not the bucket arrays (the tables were sized before it): a lower
    # bound, so it can only show that the target does not hold. Shared
    # mappings: the largest preload (1000 source ports), Slab + vmalloc.
    mn = "e" if "e" in mem_nf else "d"
    m1 = "e" if "e" in mem1 else ("d" if "d" in mem1 else None)
    if m1:
        c, maps, sl, tot = mem1[m1]
        t.append(("<= 128 bytes of kernel memory per flow, one mapping per flow "
                  "(slab, buckets, mapping)",
                  f"{tot:.0f} B Slab+vmalloc per flow at {c:,} flows with {maps:,} "
                  f"mappings ({sl:.0f} B Slab)",
                  verdict(tot <= 128)))
    elif mn in mem_nf:
        m = med(mem_nf[mn])
        extra = f" (conntrack: {med(mem_nf['b']):.0f})" if "b" in mem_nf else ""
        t.append(("<= 128 bytes of kernel memory per flow, one mapping per flow "
                  "(slab, buckets, mapping)",
                  f"{m:.0f} B Slab per flow in the new-flow run{extra}, "
                  "without the tables' bucket arrays (a lower bound)",
                  verdict(False if m > 128 else None)))
    bn = "e" if "e" in big else "d"
    if bn in big:
        m = big[bn][3]
        extra = f" (conntrack: {big['b'][3]:.0f})" if "b" in big else ""
        t.append(("<= 100 bytes of kernel memory per flow, shared mappings "
                  "(slab, buckets, mapping)",
                  f"{m:.0f} B Slab+vmalloc per flow at {big[bn][1]:,} flows "
                  f"({big[bn][2]:.0f} B Slab){extra}",
                  verdict(m <= 100)))
    ln = "e" if "e" in load else "d"
    if ln in load and sizes:
        lo, hi = min(sizes), max(sizes)
        if lo in load[ln] and hi in load[ln] and lo != hi:
            r = med(load[ln][hi]) / med(load[ln][lo])
            reached = table_at.get((ln, hi), hi)
            t.append((f"per-packet cost at 1M flows within 5% of 1k",
                      f"{hi:,} (reached {reached:,}) vs {lo:,}: {r:.2f}x",
                      verdict(r <= 1.05 if hi >= 1000000 and reached >= 0.95 * hi else None)
                      if hi >= 1000000 else f"n/a (largest size {hi:,}): {r:.2f}x"))
    tn = "e" if "e" in td.get("netns", {}) else "d"
    if tn in td.get("netns", {}) and tn in td.get("rmmod", {}):
        size = min(td_size["netns"], td_size["rmmod"])
        secs = {w: [x for x in td[w][tn] if x is not None] for w in ("netns", "rmmod")}
        full = all(td_table[(w, tn)] >= 0.95 * td_size[w] for w in ("netns", "rmmod"))
        got = ", ".join(f"{w} {med(secs[w]):.2f} s" if secs[w] else f"{w} did not finish"
                        for w in ("netns", "rmmod"))
        ok = all(secs[w] and med(secs[w]) < 2 for w in ("netns", "rmmod"))
        t.append(("netns teardown and rmmod with 1M flows under 2 s",
                  f"{got} (at {size:,} flows)",
                  verdict(ok) if size >= 1000000 and full else f"n/a (at {size:,} flows)"))
    if t:
        L.append("### natk's design targets\n")
        L.append("| target | measured | verdict |")
        L.append("|---|---|---|")
        for x in t:
            L.append(f"| {x[0]} | {x[1]} | {x[2]} |")
        L.append("")
    pre = by("preload")
    if pre:
        L.append("Preloading (flows added with pktgen, one packet per new 5-tuple): " + "; ".join(
            f"{r['v']} {r['table']:,} flows at size {r['size']:,} ({r['seconds']} s)" for r in pre) + ".\n")

    summary = {
        "pps": {v: med(list(x.values())) for v, x in pps.items()},
        "pps_ratio": {v: med(ratios(pps, v)) for v in pps if v != "a"},
        "newflows_per_s": {v: med(list(x.values())) for v, x in nf.items()},
        "newflows_ratio": {v: med(ratios(nf, v)) for v in nf if v != "a"},
        "ns_over_plain_per_packet": {v: med(list(x.values())) for v, x in ov_pps.items()},
        "ns_over_plain_per_new_flow": {v: med(list(x.values())) for v, x in ov_nf.items()},
        "iperf1_bps": {v: med(list(x.values())) for v, x in ip1.items()},
        "iperf4_bps": {v: med(list(x.values())) for v, x in ip4.items()},
        "mem_per_flow_newflows": {v: med(x) for v, x in mem_nf.items()},
        "mem_per_flow_preload": {v: [list(y) for y in x] for v, x in mem_pre.items()},
        "ns_per_packet_loaded": {v: {s: med(x) for s, x in d.items()} for v, d in load.items()},
        "teardown_seconds": {w: {v: med([x for x in xs if x is not None]) if any(
            x is not None for x in xs) else None for v, xs in d.items()} for w, d in td.items()},
        "smp_pps": {v: {"one": med(list(smp1[v].values())),
                        "two": med(list(smp2.get(v, {}).values()) or [0])} for v in smp1},
        "targets": t,
    }
    # A table with no rows (a run of one phase: profile, smp) goes.
    L = [x for i, x in enumerate(L)
         if not (x.startswith("| ") and i + 1 < len(L) and L[i + 1].startswith("|---")
                 and not (i + 2 < len(L) and L[i + 2].startswith("| ")))
         and not (x.startswith("|---") and i > 0 and L[i - 1].startswith("| ")
                  and not (i + 1 < len(L) and L[i + 1].startswith("| ")))]
    with open(a.prefix + ".md", "w") as f:
        f.write("\n".join(L))
    with open(a.prefix + ".json", "w") as f:
        json.dump({"kernel": a.kernel, "date": date, "qemu": a.qemu, "host": a.host,
                   "wall_seconds": a.wall, "env": env,
                   "method": METHOD,
                   "summary": summary, "raw": recs}, f, indent=1)

    # gnuplot: ns/packet against table size
    with open(a.prefix + ".dat", "w") as f:
        for v in variants:
            f.write(f"# {v}\n")
            if v == "a":
                pts = [(s, a_ns) for s in sizes] if a_ns else []
            else:
                pts = [(s, load.get(v, {}).get(s, [])) for s in sizes]
            for s, xs in pts:
                if xs:
                    f.write(f"{s} {med(xs):.1f} {min(xs):.1f} {max(xs):.1f}\n")
            f.write("\n\n")
    plots = []
    for i, v in enumerate(variants):
        plots.append(f"'{base}.dat' index {i} using 1:2:3:4 with yerrorlines "
                     f"title '{v}: {NAMES[v]}'")
    with open(a.prefix + ".gp", "w") as f:
        f.write(f"""set terminal svg size 800,500 dynamic font 'sans,12' background '#ffffff'
cd '{os.path.dirname(os.path.abspath(a.prefix))}'
set output '{base}.svg'
set title 'Per-packet cost against flow table size ({a.kernel}, QEMU {a.qemu.split(",")[0]})'
set xlabel 'flows in the table'
set ylabel 'ns per 64-byte packet (one flow)'
set logscale x
set yrange [0:*]
set key below
set termoption noenhanced
set grid
plot {", ".join(plots)}
""")


if __name__ == "__main__":
    main()
