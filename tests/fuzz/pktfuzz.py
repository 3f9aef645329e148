#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Malformed-packet fuzzer for natk: sends truncated and corrupted IPv4,
TCP, UDP and ICMP frames at the NAT from one side (lan or wan).

Templates are built once with scapy; the hot loop mutates raw bytes with
a seeded PRNG and writes frames to an AF_PACKET socket, so tens of
thousands of packets go out quickly even under emulation.

usage: pktfuzz.py IFACE DST_MAC SRC_IP DST_IP EXT_IP COUNT SEED
"""
import random
import socket
import struct
import sys

from scapy.all import ICMP, IP, TCP, UDP, Ether, IPOption, Raw, fragment  # noqa


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def fix_ip_csum(ip):
    ihl = (ip[0] & 0xF) * 4
    if ihl < 20 or ihl > len(ip):
        return ip
    hdr = bytearray(ip[:ihl])
    hdr[10:12] = b"\0\0"
    hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
    return bytes(hdr) + ip[ihl:]


def templates(src, dst, ext, rnd):
    t = []
    for _ in range(6):
        sp, dp = rnd.randint(1024, 65535), rnd.randint(1, 65535)
        t.append(IP(src=src, dst=dst) / UDP(sport=sp, dport=dp) / Raw(b"x" * rnd.randint(0, 64)))
        t.append(IP(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=rnd.choice(["S", "SA", "A", "R", "F", "FA", "PA", ""])))
        t.append(IP(src=src, dst=dst) / ICMP(type=8, id=rnd.randint(0, 65535)) / Raw(b"p" * 32))
        t.append(IP(src=src, dst=dst, options=[IPOption(b"\x01\x01\x01\x00")]) / UDP(sport=sp, dport=dp))
    # ICMP errors quoting packets from/to the external address, with inner
    # headers whole, truncated, forged or with options.
    for code_type in [(3, 3), (3, 4), (11, 0), (12, 0), (3, 1)]:
        ty, co = code_type
        for inner in [
            IP(src=ext, dst=src) / UDP(sport=rnd.randint(1024, 65535), dport=53),
            IP(src=ext, dst=src) / TCP(sport=rnd.randint(1024, 65535), dport=80),
            IP(src=ext, dst=src) / ICMP(type=8, id=rnd.randint(0, 65535)),
            IP(src=dst, dst=ext) / UDP(sport=53, dport=rnd.randint(1024, 65535)),
            IP(src=ext, dst=src, ihl=15) / UDP(),
        ]:
            raw = bytes(inner)
            for cut in (len(raw), 28, 24, 20, 12):
                t.append(IP(src=src, dst=dst) / ICMP(type=ty, code=co) / Raw(raw[:cut]))
    # Fragments of a larger datagram, some overlapping.
    big = IP(src=src, dst=dst, id=rnd.randint(0, 65535)) / UDP(sport=rnd.randint(1024, 65535), dport=9) / Raw(b"f" * 1200)
    t.extend(fragment(big, fragsize=256))
    return [bytes(p) for p in t]


def mutate(pkt, rnd):
    b = bytearray(pkt)
    kind = rnd.randrange(12)
    if kind == 0:  # truncate anywhere
        b = b[: rnd.randrange(1, len(b) + 1)]
    elif kind == 1:  # bad IHL
        b[0] = 0x40 | rnd.randrange(16)
    elif kind == 2:  # tot_len lies
        struct.pack_into("!H", b, 2, rnd.randrange(65536))
    elif kind == 3:  # flip random bytes
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(len(b))
            b[i] = rnd.randrange(256)
    elif kind == 4:  # fragment offset / MF noise
        struct.pack_into("!H", b, 6, rnd.randrange(65536) & 0x3FFF)
    elif kind == 5:  # L4 header truncated, lengths consistent
        ihl = (b[0] & 0xF) * 4
        b = b[: ihl + rnd.randrange(0, 9)]
        struct.pack_into("!H", b, 2, len(b))
    elif kind == 6:  # TCP data offset / UDP length garbage
        ihl = (b[0] & 0xF) * 4
        if len(b) > ihl + 13:
            b[ihl + 12] = rnd.randrange(256)
        if len(b) > ihl + 5:
            struct.pack_into("!H", b, ihl + 4, rnd.randrange(65536))
    elif kind == 7:  # wrong L4 / ICMP checksum
        ihl = (b[0] & 0xF) * 4
        if len(b) > ihl + 4:
            b[ihl + 2] ^= 0xFF
    elif kind == 8:  # protocol swap
        b[9] = rnd.choice([1, 6, 17, 47, 50, 132, rnd.randrange(256)])
    elif kind == 9:  # garbage tail
        b += bytes(rnd.randrange(256) for _ in range(rnd.randrange(64)))
    # kind 10, 11: unchanged (valid-looking traffic mixed in)
    if rnd.random() < 0.8:
        b = bytearray(fix_ip_csum(bytes(b)))
    return bytes(b)


def main():
    iface, dmac, src, dst, ext, count, seed = sys.argv[1:8]
    count, seed = int(count), int(seed)
    rnd = random.Random(seed)
    print("pktfuzz: %s seed %d count %d" % (iface, seed, count), flush=True)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    smac = s.getsockname()[4]
    eth = bytes.fromhex(dmac.replace(":", "")) + smac + b"\x08\x00"
    tpl = templates(src, dst, ext, rnd)
    sent = 0
    for _ in range(count):
        frame = eth + mutate(rnd.choice(tpl), rnd)
        try:
            s.send(frame)
            sent += 1
        except OSError:
            pass
    print("pktfuzz: sent %d" % sent, flush=True)


if __name__ == "__main__":
    main()
