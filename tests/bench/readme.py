#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Put the latest benchmark table into README.md's "## Benchmarks" section
(everything up to the next "## " heading is replaced; nothing else changes).

    tests/bench/readme.py [README.md [bench/results/latest.md]]
"""
import os
import re
import sys

readme = sys.argv[1] if len(sys.argv) > 1 else "README.md"
latest = sys.argv[2] if len(sys.argv) > 2 else "bench/results/latest.md"

md = open(latest).read()
title = md.splitlines()[0].lstrip("# ").strip()
# the main table and the targets table, as they are in latest.md
tables = re.findall(r"(?m)^(\|.*\|\n(?:\|.*\|\n?)+)", md)
main = tables[0] if tables else ""
targets = [t for t in tables if t.startswith("| target")]
load = re.search(r"(?m)^\*\*Method\.\*\*", md)

section = f"""## Benchmarks

`make bench` (not part of `make check`: it reports, never fails) boots one
VM and measures, on the lan-nat-wan namespace topology, (a) plain IPv4
forwarding, (b) nf_conntrack with nftables masquerade, (c) the same with an
nftables software flowtable on lan0 and wan0, (d) natk with its fast path
off, (e) natk with its fast path and (f) c with lan0's bridge port in the
flowtable too (nft then skips the bridge, as natk's fast path does): 64-byte
UDP packets per second on one flow (pktgen, its skbs unshared as a NIC's
since 2026-12-05: earlier runs had the bridge clone every packet), new flows
per second, per-packet cost with 1k, 100k and 1M flows in the table, kernel
memory per flow and iperf3 TCP throughput.
QEMU runs with `-icount` so that guest time counts instructions: figures are
per guest second and repeat whatever the host's load (the runs kept in
bench/results/, on hosts with load averages from 6 to 9, agree within 2%
on the ratios and within 5% on the 1M-flow cost) (method, every raw
figure and the spread of each: [bench/results/latest.md](bench/results/latest.md),
`.json`). `BENCH_PHASES=profile BENCH_VARIANTS="d e" make bench` shows
where natk's time goes, function by function, from the function_graph
tracer ([bench/results/latest-profile.md](bench/results/latest-profile.md);
how to read it: docs/design.md, "What a new flow costs"), and
`BENCH_PHASES=insns BENCH_VARIANTS="a d e" make bench` counts it exactly:
a QEMU plugin counts every instruction the guest kernel runs (under
`-icount` an instruction is a nanosecond) and reports, function by
function, what natk adds to a new flow and to an established packet
([bench/results/latest-insns.md](bench/results/latest-insns.md), a minute
to run). Latest run ({title.replace("natk benchmark: ", "")}); median (min-max) across interleaved runs,
then the ratio to plain forwarding:

{main}
![per-packet cost against table size](bench/results/latest.svg)

"""
if targets:
    section += "natk's design targets against these numbers:\n\n" + targets[0] + "\n"
# phase smp, run alone on 2 vCPUs without icount (tests/bench.sh keeps it
# as latest-smp.md beside latest.md)
smp_path = os.path.join(os.path.dirname(latest), "latest-smp.md")
if os.path.exists(smp_path):
    smp = open(smp_path).read()
    stitle = smp.splitlines()[0].lstrip("# ").strip().replace("natk benchmark: ", "")
    qemu = re.search(r"(?m)^Kernel .*? in QEMU \(([^)]*)\)", smp)
    st = re.search(r"(?ms)^### Two flows on two CPUs\n\n(.*?)\n\n(\|.*?\|\n(?:\|.*\|\n?)+)", smp)
    if st:
        section += (f"Two flows on two CPUs ([bench/results/latest-smp.md](bench/results/latest-smp.md), "
                    f"{stitle}{', ' + qemu.group(1) if qemu else ''}; `BENCH_PHASES=smp`, see "
                    f"tests/bench.sh): {st.group(1)}\n\n{st.group(2)}\n")

text = open(readme).read()
m = re.search(r"(?ms)^## Benchmarks\n.*?(?=^## )", text)
if not m:
    sys.exit("readme: no '## Benchmarks' section followed by another section")
text = text[:m.start()] + section + text[m.end():]
open(readme, "w").write(text)
