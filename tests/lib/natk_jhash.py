#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The hash natk's flow table (an rhashtable keyed by struct natk_okey,
kmod/natk.h) computes for a UDP or TCP flow: the kernel's jhash2() over the
16-byte key as four host-order (x86: little-endian) u32s, with the bucket
table's seed. The bucket is the hash's low bits (table size - 1).

  natk_jhash.py generate N MASK IADDR RADDR > FILE
      N keys "IPORT RPORT" (UDP, IADDR:IPORT -> RADDR:RPORT) whose hash with
      seed 0 has the same bits MASK (all 0): one bucket of any table up to
      MASK + 1 buckets, for a table seeded with 0. The fixed collision set
      of tests/scenarios/63-hash-chains.sh was made this way.
  natk_jhash.py check MASK IADDR RADDR < FILE
      prints "N BUCKETS": the keys, and how many buckets they fill under
      seed 0 (1 for a collision set).
  natk_jhash.py selftest
      known values (from the kernel's jhash.h built in C)."""
import socket
import struct
import sys

M = 0xffffffff


def rol(x, s):
    return ((x << s) | (x >> (32 - s))) & M


def jhash2(k, seed):
    """jhash2(k, len(k), seed) of include/linux/jhash.h."""
    a = b = c = (0xdeadbeef + (len(k) << 2) + seed) & M
    i, n = 0, len(k)
    while n > 3:
        a = (a + k[i]) & M
        b = (b + k[i + 1]) & M
        c = (c + k[i + 2]) & M
        a = (a - c) & M; a ^= rol(c, 4); c = (c + b) & M
        b = (b - a) & M; b ^= rol(a, 6); a = (a + c) & M
        c = (c - b) & M; c ^= rol(b, 8); b = (b + a) & M
        a = (a - c) & M; a ^= rol(c, 16); c = (c + b) & M
        b = (b - a) & M; b ^= rol(a, 19); a = (a + c) & M
        c = (c - b) & M; c ^= rol(b, 4); b = (b + a) & M
        n -= 3
        i += 3
    if n == 0:
        return c
    if n == 3:
        c = (c + k[i + 2]) & M
    if n >= 2:
        b = (b + k[i + 1]) & M
    a = (a + k[i]) & M
    c ^= b; c = (c - rol(b, 14)) & M
    a ^= c; a = (a - rol(c, 11)) & M
    b ^= a; b = (b - rol(a, 25)) & M
    c ^= b; c = (c - rol(b, 16)) & M
    a ^= c; a = (a - rol(c, 4)) & M
    b ^= a; b = (b - rol(a, 14)) & M
    c ^= b; c = (c - rol(b, 24)) & M
    return c


def okey(iaddr, raddr, iport, rport, proto=17):
    """struct natk_okey as the four u32s jhash2 reads on x86."""
    b = (socket.inet_aton(iaddr) + socket.inet_aton(raddr) +
         struct.pack("!HHB3x", iport, rport, proto))
    return list(struct.unpack("<4I", b))


def main(argv):
    if argv[0] == "generate":
        n, mask, ia, ra = int(argv[1]), int(argv[2], 0), argv[3], argv[4]
        found, rport = 0, 5000
        while found < n:
            for iport in range(1024, 65536):
                if not jhash2(okey(ia, ra, iport, rport), 0) & mask:
                    print(iport, rport)
                    found += 1
                    if found == n:
                        break
            rport += 1
    elif argv[0] == "check":
        mask, ia, ra = int(argv[1], 0), argv[2], argv[3]
        keys = [tuple(map(int, line.split())) for line in sys.stdin if line.strip()]
        buckets = {jhash2(okey(ia, ra, i, r), 0) & mask for i, r in keys}
        print(len(keys), len(buckets))
    elif argv[0] == "selftest":
        want = [(1024, 5000, 0x911ce254, 0xe558b69b),
                (2024, 5001, 0xaf985987, 0x28637f7a),
                (5024, 5004, 0x6580f61b, 0x017ec7c9)]
        for i, r, h0, h1 in want:
            k = okey("10.0.0.2", "192.0.2.2", i, r)
            if (jhash2(k, 0), jhash2(k, 0x12345678)) != (h0, h1):
                print("selftest failed for", i, r)
                return 1
        print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
