#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench, phase insns: instructions per packet, by kernel function.

insns.py RESDIR [OUT.md]: RESDIR holds the plugin's dumps (snap.N, from
insnprof.c), insn-windows (one line per measured run: VARIANT WHAT
PACKETS, its dumps 2k and 2k+1) and the guest's kallsyms. Prints, for each
run, the instructions per packet of the whole guest kernel and natk's own
functions, the functions that cost most, and for each variant's run the
difference to plain forwarding's (a) same run: what natk adds, function by
function (a GC pass or a scheduler tick in one window and not the other
shows there too: read it against the function names).
"""
import bisect
import collections
import sys
import time


def symbols(d):
    syms = []
    with open(f"{d}/kallsyms") as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[1] in "tTwW":
                syms.append((int(p[0], 16), p[2]))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def load(d, i):
    m = collections.Counter()
    with open(f"{d}/snap.{i}") as f:
        for line in f:
            a, n, c = line.split()
            m[(int(a, 16), int(n))] += int(c)
    return m


def main():
    d = sys.argv[1]
    addrs, names = symbols(d)
    with open(f"{d}/insn-windows") as f:
        wins = [line.split() for line in f if line.strip()]
    runs = {}
    for k, (v, what, pk) in enumerate(wins):
        a, b = load(d, 2 * k), load(d, 2 * k + 1)
        fn = collections.Counter()
        for key, c in b.items():
            dc = c - a.get(key, 0)
            if dc:
                i = bisect.bisect_right(addrs, key[0]) - 1
                fn[names[i] if i >= 0 else "?"] += dc * key[1]
        runs[(v, what)] = {n: c / int(pk) for n, c in fn.items()}
    try:
        with open(f"{d}/kernel") as f:
            kernel = f.read().strip()
    except OSError:
        kernel = "?"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = [f"### Instructions per packet (phase insns): {kernel}, {when}", "",
           "Every instruction the guest kernel executed during each run "
           "(QEMU plugin tests/bench/insnprof.c; with -icount one "
           "instruction is 1 ns), divided by the packets sent: 5,000 "
           "packets, every one a new flow (newflows) or all of one "
           "established flow (pps), the same traffic as make bench's "
           "(tests/bench/guest.sh, phase insns).", ""]
    out += ["| variant | run | all | natk_* | added over a |",
            "|---|---|---|---|---|"]
    for (v, what), fn in runs.items():
        tot = sum(fn.values())
        base = runs.get(("a", what))
        add = f"{tot - sum(base.values()):,.0f}" if base and v != "a" else "-"
        natk = sum(c for n, c in fn.items() if n.startswith("natk_"))
        out.append(f"| {v} | {what} | {tot:,.0f} | {natk:,.0f} | {add} |")
    for (v, what), fn in runs.items():
        base = runs.get(("a", what))
        if v == "a" or not base:
            continue
        diff = {n: fn.get(n, 0) - base.get(n, 0) for n in set(fn) | set(base)}
        top = sorted(diff.items(), key=lambda x: -abs(x[1]))[:40]
        out += ["", f"**{v} {what}: added over a, by function** "
                f"(total {sum(diff.values()):,.0f})", "",
                "| function | instructions per packet |", "|---|---|"]
        out += [f"| `{n}` | {c:,.1f} |" for n, c in top if abs(c) >= 1]
    text = "\n".join(out) + "\n"
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
