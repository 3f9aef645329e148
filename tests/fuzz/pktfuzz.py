#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""natk packet fuzzer aimed at live flows (tests/scenarios/50-pktfuzz.sh).

Every fuzz frame carries the exact tuple of one of three live flows through
natk (a TCP connection, a UDP flow and an ICMP echo flow of lan1 with the
wan host), from the lan side (lan host -> wan host: natk_out) or from the
wan side (wan host -> the NAT's external address: natk_in), so that natk's
lookup, translation, TCP tracking, MSS clamping and ICMP error rewriting
run on it. Frames go out of an AF_PACKET socket, with the NAT's MAC.

Each frame's IPv4 TOS is MARK (0x20), or MARK|CLEAN (0x24) for a frame
sent well formed: natk must deliver every clean frame translated, with
valid IP, L4 and quoted checksums. The receiving host drops marked frames
in nft prerouting, so no endpoint ever reacts to one (the live flows'
integrity then measures natk alone); before that, `sniff` sees them on the
wire and checks the clean ones.

Each frame's fate in natk is known by construction (translated, ICMP error
translated, passed to the host, dropped for a given reason, or dead before
natk's hooks in ip_rcv/defrag/forwarding) except for the "chaos" class
(random bytes), which is counted as unknown. `judge` compares those fates
with natk's counters (natkctl -j stats) and with nft counters of what
reached natk's hooks.

Most frames reach natk. A few die before it, as a sanity check: a bad
version, IHL, total length or header checksum (ip_rcv), overlapping or
incomplete fragments (defrag; RFC 5722), and from the lan TTL 0/1 or broken
IP options (forwarding). From the wan, broken options and TTL 0/1 die only
after natk_in translated the packet (the host's ICMP error about it then
crosses natk_out). A total length shorter than the frame is trimmed by
ip_rcv and reaches natk with a short L4 header.

Modes:
  send   IFACE DMAC FLOWS SIDE FRAMES SEED SECS OUT  fuzz from SIDE (lan|wan),
                                                 for at most SECS seconds
  sniff  IFACE FLOWS SIDE READY STOP OUT          check what natk forwarded
  echo   ADDR TCPPORT UDPPORT                     wan-side echo servers
  legit  FLOWS PHASEFILE OUT                      the live flows' traffic
  judge  DIR                                      PASS/FAIL lines
FLOWS is a JSON file: {"lan", "wan", "router", "ext": addresses,
"tcp": [internal port, remote port, external port], "udp": [same],
"icmp": [internal id, external id], "clamp": MSS clamp}.
"""
import hashlib
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time
from array import array
from collections import Counter

MARK = 0x20
CLEAN = 0x04
ETH_P_IP = 0x0800
ICMP_ERRORS = (3, 4, 11, 12)
# The outcome counters natk keeps (natkctl -j stats); "pre": the frame
# dies before natk's hooks; "unknown": no certain fate (chaos).
XL_LAN = "packets_in_from_source"
XL_WAN = "packets_in_from_destination"
ICMPX = "icmp_errors_translated"
PASSED = "passed_no_flow"
INVALID = "drop_invalid"
BADSUM = "drop_bad_checksum"
NOFLOW = "drop_no_flow"
UNSOL = "drop_unsolicited"
PRE = "pre"
UNKNOWN = "unknown"


def csum(b):
    """The Internet checksum of b (RFC 1071), as an int."""
    b = bytes(b)
    if len(b) & 1:
        b += b"\0"
    a = array("H", b)
    if sys.byteorder == "little":
        a.byteswap()
    s = sum(a)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pseudo(src, dst, proto, length):
    return src + dst + struct.pack("!BBH", 0, proto, length)


def put16(b, off, v):
    return b[:off] + struct.pack("!H", v) + b[off + 2:]


def pad4(opts, filler=b"\0"):
    while len(opts) % 4:
        opts += filler
    return opts


def ip_hdr(src, dst, proto, l4len, tos=MARK, ttl=64, ident=0, frag=0,
           opts=b"", tot_len=None, ver_ihl=None, bad_csum=False):
    opts = pad4(opts)
    ihl = 5 + len(opts) // 4
    tl = 4 * ihl + l4len if tot_len is None else tot_len
    vi = 0x40 | ihl if ver_ihl is None else ver_ihl
    h = struct.pack("!BBHHHBBH4s4s", vi, tos, tl, ident, frag, ttl, proto, 0,
                    src, dst) + opts
    c = csum(h)
    if bad_csum:
        c ^= 0x5A5A
    return put16(h, 10, c)


def ip(src, dst, proto, l4, **kw):
    return ip_hdr(src, dst, proto, len(l4), **kw) + l4


def tcp(src, dst, sport, dport, seq=0, ack=0, flags=0x10, opts=b"",
        payload=b"", win=65535, doff=None, ns=0, bad_csum=False):
    if doff is None:
        opts = pad4(opts)
        doff = 5 + len(opts) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4 | ns,
                      flags, win, 0, 0) + opts + payload
    c = csum(pseudo(src, dst, 6, len(seg)) + seg)
    if bad_csum:
        c ^= 0x5A5A
    return put16(seg, 16, c)


def udp(src, dst, sport, dport, payload=b"", length=None, check="ok"):
    ln = 8 + len(payload) if length is None else length
    dg = struct.pack("!HHHH", sport, dport, ln & 0xFFFF, 0) + payload
    if check == "zero":
        return dg
    c = csum(pseudo(src, dst, 17, len(dg)) + dg) or 0xFFFF
    if check == "bad":
        c ^= 0x5A5A
    return put16(dg, 6, c)


def icmp(typ, code, rest=b"\0\0\0\0", data=b"", bad_csum=False):
    m = struct.pack("!BBH", typ, code, 0) + rest + data
    c = csum(m)
    if bad_csum:
        c ^= 0x5A5A
    return put16(m, 2, c)


def echo(typ, ident, seq, data=b"", bad_csum=False):
    return icmp(typ, 0, struct.pack("!HH", ident, seq), data, bad_csum)


def fixq(q):
    """Recompute a quoted (or any) IPv4 header's checksum, in place."""
    ihl = max(20, (q[0] & 15) * 4)
    q[10:12] = b"\0\0"
    q[10:12] = struct.pack("!H", csum(q[:ihl]))
    return q


def load_flows(path):
    with open(path) as f:
        fl = json.load(f)
    for k in ("lan", "wan", "router", "ext"):
        fl[k + "_b"] = socket.inet_aton(fl[k])
    return fl


# ---------------------------------------------------------------- send

class Side:
    """The live flows as one side sees them, and how natk treats its
    frames. lan: lan1 -> wan host, through natk_out (POST_ROUTING); wan:
    wan host -> the external address, through natk_in (PRE_ROUTING)."""

    def __init__(self, side, fl):
        self.side = side
        ti, tr, te = fl["tcp"]
        ui, ur, ue = fl["udp"]
        ii, ie = fl["icmp"]
        lan, wan, ext = fl["lan_b"], fl["wan_b"], fl["ext_b"]
        if side == "lan":
            self.src, self.dst = lan, wan
            self.tcp, self.udp, self.echo = (ti, tr), (ui, ur), (8, ii)
            self.err_src, self.err_dst = [lan], wan
            # An error lan1 sends about what it received from the wan host.
            self.q_src, self.q_dst = wan, lan
            self.q_tcp, self.q_udp, self.q_echo = (tr, ti), (ur, ui), (0, ii)
            self.xl = XL_LAN
            # Not natk's to pass on: natk_out drops what it cannot match.
            self.nomatch = NOFLOW
        else:
            self.src, self.dst = wan, ext
            self.tcp, self.udp, self.echo = (tr, te), (ur, ue), (0, ie)
            self.err_src, self.err_dst = [wan, fl["router_b"]], ext
            # An error about what natk sent out: ext:eport -> wan host.
            self.q_src, self.q_dst = ext, wan
            self.q_tcp, self.q_udp, self.q_echo = (te, tr), (ue, ur), (8, ie)
            self.xl = XL_WAN
            # natk_in passes what is not about its flows to the host.
            self.nomatch = PASSED
        self.live_id = self.echo[1]


class Sender:
    def __init__(self, iface, dmac, fl, side, seed):
        self.s = Side(side, fl)
        self.fl = fl
        self.rnd = random.Random(seed)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((iface, 0))
        smac = self.sock.getsockname()[4]
        self.eth = bytes.fromhex(dmac.replace(":", "")) + smac + b"\x08\x00"
        self.ident = self.rnd.randrange(65536)
        self.classes = {}
        self.fates = Counter()
        self.reach_yes = self.reach_maybe = 0
        self.clean = 0
        self.attempted = self.sent = 0
        self.errnos = Counter()
        self.cut = 0
        self.out_of_time = False

    def next_id(self):
        self.ident = (self.ident + 1) & 0xFFFF
        return self.ident

    def rbytes(self, n):
        return self.rnd.getrandbits(8 * n).to_bytes(n, "big") if n else b""

    def emit(self, cls, pkts, fate, clean=False):
        """Send one datagram (one or more frames) of class cls whose fate in
        natk is fate; clean: it must come out translated and valid."""
        c = self.classes.setdefault(cls, Counter())
        ok = 0
        for p in pkts:
            self.attempted += 1
            c["frames"] += 1
            try:
                self.sock.send(self.eth + p)
                ok += 1
                self.sent += 1
            except OSError as e:
                self.errnos[e.errno] += 1
                c["errors"] += 1
        c["units"] += 1
        if ok == len(pkts):
            self.fates[fate] += 1
            if fate != PRE:
                self.reach_yes += 1
            if clean:
                self.clean += 1
                c["clean"] += 1
        elif ok:
            # Part of a fragmented datagram went out: nobody can say.
            self.fates[UNKNOWN] += 1
            self.reach_maybe += 1
        else:
            self.fates["unsent"] += 1

    # -- live packets: (proto, l4 bytes) of each flow, well formed

    def tos(self, clean):
        return MARK | CLEAN if clean else MARK

    def l4_tcp(self, flags=None, opts=b"", payload=None, **kw):
        r, s = self.rnd, self.s
        if flags is None:
            flags = r.randrange(256)
        if payload is None:
            payload = self.rbytes(r.choice((0, 0, 1, 8, 64)))
        return tcp(s.src, s.dst, s.tcp[0], s.tcp[1], r.getrandbits(32),
                   r.getrandbits(32), flags, opts, payload,
                   win=r.randrange(65536), ns=r.randrange(2), **kw)

    def l4_udp(self, payload=None, **kw):
        s = self.s
        if payload is None:
            payload = self.rbytes(self.rnd.choice((0, 1, 8, 64, 200)))
        return udp(s.src, s.dst, s.udp[0], s.udp[1], payload, **kw)

    def l4_echo(self, **kw):
        s, r = self.s, self.rnd
        return echo(s.echo[0], s.echo[1], r.randrange(65536),
                    self.rbytes(r.choice((0, 8, 32, 56))), **kw)

    def live(self, proto=None):
        """A clean live packet: (proto, l4)."""
        proto = proto or self.rnd.choice((6, 6, 17, 17, 1))
        if proto == 6:
            return 6, self.l4_tcp()
        if proto == 17:
            return 17, self.l4_udp()
        return 1, self.l4_echo()

    def pkt(self, proto, l4, clean=False, **kw):
        s = self.s
        return ip(s.src, s.dst, proto, l4, tos=self.tos(clean),
                  ident=kw.pop("ident", None) or self.next_id(), **kw)

    # -- quoted packets for ICMP errors

    def quote(self, proto, opts=b"", l4=None):
        """The packet an error quotes, whole: as natk sent it (wan side)
        or as lan1 received it (lan side)."""
        s, r = self.s, self.rnd
        if l4 is None:
            if proto == 6:
                l4 = tcp(s.q_src, s.q_dst, s.q_tcp[0], s.q_tcp[1],
                         r.getrandbits(32), r.getrandbits(32), 0x18, b"",
                         self.rbytes(r.choice((0, 4, 16))))
            elif proto == 17:
                l4 = udp(s.q_src, s.q_dst, s.q_udp[0], s.q_udp[1],
                         self.rbytes(r.choice((0, 4, 16))),
                         check=r.choice(("ok", "ok", "zero")))
            else:
                l4 = echo(s.q_echo[0], s.q_echo[1], r.randrange(65536),
                          self.rbytes(r.choice((0, 8, 16))))
        return ip_hdr(s.q_src, s.q_dst, proto, len(l4), tos=0,
                      ident=r.randrange(65536), opts=opts) + l4

    def error(self, quote, clean=False, bad_csum=False, typ=None, **kw):
        r, s = self.rnd, self.s
        if typ is None:
            typ, code = r.choice(((3, 0), (3, 1), (3, 3), (3, 4), (3, 13),
                                  (4, 0), (11, 0), (11, 1), (12, 0), (12, 2)))
        else:
            typ, code = typ
        rest = b"\0\0\0\0"
        if (typ, code) == (3, 4):
            rest = struct.pack("!HH", 0, r.choice((68, 576, 1280, 1400)))
        elif typ == 12:
            rest = bytes([r.randrange(40), 0, 0, 0])
        m = icmp(typ, code, rest, quote, bad_csum)
        return ip(r.choice(s.err_src), s.err_dst, 1, m, tos=self.tos(clean),
                  ident=self.next_id(), **kw)

    def err_fate(self, quote_len, ihl=20):
        """natk_icmp_parse: 20 bytes of quoted IP header, then the quoted
        header and 8 bytes of what follows it, else drop_invalid."""
        if quote_len < 20 or quote_len < ihl + 8:
            return INVALID
        return ICMPX

    # -- the classes

    def c_tcp(self):
        """Any flags, any sequence and acknowledgement numbers, sometimes
        options; well formed: translated."""
        r = self.rnd
        opts = r.choice((b"", b"", b"\x01\x01\x08\x0a" + self.rbytes(8)))
        self.emit("tcp-flags-seq", [self.pkt(6, self.l4_tcp(opts=opts),
                                             True)], self.s.xl, True)

    def tcp_opts(self):
        """Options for natk's MSS clamp walk: MSS above and below the clamp,
        MSS with a wrong length, lengths past the header, EOL, NOP, junk."""
        r = self.rnd
        o = b""
        for _ in range(r.randint(1, 6)):
            k = r.randrange(10)
            if k in (0, 9):
                o += b"\x02\x04" + struct.pack("!H", r.choice(
                    (536, 1200, 1300, 1301, 1460, 8960, 65535,
                     r.randrange(65536))))
            elif k == 1:
                o += b"\x01"
            elif k == 2:
                o += b"\x00"
            elif k == 3:
                o += bytes([2, r.choice((0, 1, 2, 3, 5, 6, 40, 255))]) + self.rbytes(2)
            elif k == 4:
                o += b"\x03\x03" + self.rbytes(1)
            elif k == 5:
                o += b"\x04\x02"
            elif k == 6:
                o += b"\x08\x0a" + self.rbytes(8)
            elif k == 7:
                o += bytes([r.randrange(256), r.randrange(256)]) + self.rbytes(r.randrange(6))
            else:
                o += b"\x02"
        o = o[:40]
        return pad4(o, r.choice((b"\0", b"\x01", self.rbytes(1))))

    def c_tcp_syn_opts(self):
        """SYNs with odd options: natk_mss_clamp walks them."""
        flags = self.rnd.choice((0x02, 0x12, 0x02 | self.rnd.randrange(256)))
        self.emit("tcp-syn-options",
                  [self.pkt(6, self.l4_tcp(flags, self.tcp_opts()), True)],
                  self.s.xl, True)

    def c_tcp_doff(self):
        """Data offset 0-15 whatever the segment's length: below 5 natk
        drops it (drop_invalid); above, it translates it."""
        r = self.rnd
        doff = r.randrange(16)
        flags = r.choice((0x02, r.randrange(256)))
        extra = self.rbytes(r.choice((0, 4, 12, 40)))
        l4 = self.l4_tcp(flags, payload=extra, doff=doff)
        clean = doff >= 5
        self.emit("tcp-data-offset", [self.pkt(6, l4, clean)],
                  self.s.xl if clean else INVALID, clean)

    def l4_short(self, proto):
        """Fewer L4 bytes than natk reads (IP lengths consistent)."""
        full = {6: self.l4_tcp(), 17: self.l4_udp(), 1: self.l4_echo()}[proto]
        return full[:self.rnd.randrange({6: 20, 17: 8, 1: 8}[proto])]

    def c_l4_short(self):
        proto = self.rnd.choice((6, 17, 1))
        self.emit("l4-truncated", [self.pkt(proto, self.l4_short(proto))],
                  INVALID)

    def c_udp(self):
        chk = self.rnd.choice(("ok", "ok", "ok", "zero"))
        self.emit("udp", [self.pkt(17, self.l4_udp(check=chk), True)],
                  self.s.xl, True)

    def c_udp_len(self):
        """UDP length lying (0-65535): below 8 drop_invalid, else
        translated as it is."""
        ln = self.rnd.choice((0, 1, 7, 8, 9, 65535, self.rnd.randrange(65536)))
        self.emit("udp-length-lies", [self.pkt(17, self.l4_udp(length=ln))],
                  INVALID if ln < 8 else self.s.xl)

    def c_udp_badsum(self):
        self.emit("udp-bad-checksum",
                  [self.pkt(17, self.l4_udp(check="bad"))], self.s.xl)

    def c_echo(self):
        bad = self.rnd.random() < 0.2
        self.emit("icmp-echo", [self.pkt(1, self.l4_echo(bad_csum=bad),
                                         not bad)], self.s.xl, not bad)

    def c_icmp_other(self):
        """ICMP that is neither an error nor the flow's echo: the host's
        (wan) or nobody's (lan)."""
        r, s = self.rnd, self.s
        typ = r.choice((0, 5, 8, 9, 10, 13, 14, 15, 17, 18, 30, 40, 255))
        ident = s.echo[1]
        if s.side == "lan" and typ == 8:
            typ = 13
        if s.side == "wan" and typ == 0:
            # An echo reply no flow has (lan fuzz ids avoid 0x8000-0x80ff).
            while ident in (s.live_id,) or 0x8000 <= ident <= 0x80FF:
                ident = r.randrange(65536)
        m = icmp(typ, r.randrange(4), struct.pack("!HH", ident, 1), self.rbytes(8))
        self.emit("icmp-other-type", [self.pkt(1, m)], s.nomatch)

    def c_err(self):
        """An ICMP error quoting a live flow's packet whole."""
        q = self.quote(self.rnd.choice((6, 17, 1)))
        self.emit("icmp-error", [self.error(q, True)], ICMPX, True)

    def c_err_trunc(self):
        """The quote cut at every length in turn, 0 to whole."""
        q = self.quote(self.rnd.choice((6, 17, 1)))
        n = self.cut % (len(q) + 1)
        self.cut += 1
        fate = self.err_fate(n)
        self.emit("icmp-error-truncated", [self.error(q[:n], fate == ICMPX)],
                  fate, fate == ICMPX)

    def c_err_badsum(self):
        """A wrong ICMP checksum: natk_icmp_parse checks it once 28 bytes
        are there (drop_bad_checksum)."""
        q = self.quote(self.rnd.choice((6, 17, 1)))
        n = self.rnd.randint(20, len(q))
        self.emit("icmp-error-bad-checksum", [self.error(q[:n], bad_csum=True)],
                  BADSUM)

    def inner_opts(self):
        r = self.rnd
        return r.choice((b"\x01" * 4, b"\x07\x07\x04" + bytes(4),
                         b"\x44\x08\x05\x00" + bytes(4), self.rbytes(4 * r.randint(1, 10))))

    def c_err_inner(self):
        """The quoted IP header mangled in one way."""
        r, s = self.rnd, self.s
        proto = r.choice((6, 17, 1))
        q = bytearray(self.quote(proto))
        v = r.randrange(12)
        clean, fate = False, ICMPX
        if v == 0:      # not IPv4
            q[0] = r.choice([x for x in range(16) if x != 4]) << 4 | 5
            fate = INVALID
        elif v == 1:    # IHL below 5
            q[0] = 0x40 | r.randrange(5)
            fate = INVALID
        elif v == 2:    # options, quoted whole (natk must skip them)
            q = bytearray(self.quote(proto, opts=self.inner_opts()))
            clean = True
        elif v == 3:    # IHL says options, the quote ends first
            q = bytearray(self.quote(proto, opts=self.inner_opts()))
            ihl = (q[0] & 15) * 4
            q = q[:r.randint(20, ihl + 7)]
            fate = self.err_fate(len(q), ihl)
        elif v == 4:    # a later fragment: no L4 header to match
            struct.pack_into("!H", q, 6, r.randint(1, 0x1FFF) | r.choice((0, 0x2000)))
            fixq(q)
            fate = INVALID
        elif v == 5:    # first fragment (MF, offset 0): still matched
            struct.pack_into("!H", q, 6, 0x2000)
            fixq(q)
            clean = True
        elif v == 6:    # quoted total length lies
            struct.pack_into("!H", q, 2, r.randrange(65536))
            fixq(q)
        elif v == 7:    # wrong quoted IP checksum
            q[10] ^= 0x5A
        elif v == 8:    # wrong quoted L4 checksum
            off = {6: 36, 17: 26, 1: 22}[proto]
            if proto == 17 and q[26:28] == b"\0\0":
                q[26:28] = b"\x12\x34"
            else:
                q[off] ^= 0x5A
        elif v == 9:    # another protocol, or an ICMP that is not an echo
            if proto == 1:
                q[20] = r.choice((3, 5, 11, 13, 17, 255))
            else:
                q[9] = r.choice((0, 4, 41, 47, 50, 132, 255))
            fixq(q)
            fate = s.nomatch
        elif v == 10:   # no such flow: another remote port or echo id
            if proto == 1:
                ident = s.q_echo[1]
                while ident == s.q_echo[1] or 0x8000 <= ident <= 0x80FF:
                    ident = r.randrange(65536)
                struct.pack_into("!H", q, 24, ident)
            else:
                rp = 20 if s.side == "lan" else 22   # the remote's port
                port = struct.unpack_from("!H", q, rp)[0]
                struct.pack_into("!H", q, rp, port ^ (1 + r.randrange(0xFFFF)))
            fate = s.nomatch
        else:           # the address natk translates is another one
            a = 12 if s.side == "wan" else 16
            q[a:a + 4] = socket.inet_aton(r.choice(("192.0.2.9", "10.0.0.3", "198.51.100.1")))
            fixq(q)
            fate = s.nomatch
        self.emit("icmp-error-inner-mangled", [self.error(bytes(q), clean)],
                  fate, clean)

    def frag_l4(self):
        """A datagram of a live flow to fragment: (proto, l4, fate)."""
        r, s = self.rnd, self.s
        k = r.randrange(10)
        if k < 5:
            return 17, self.l4_udp(self.rbytes(r.randint(24, 1200))), s.xl
        if k < 7:
            return 6, self.l4_tcp(0x18, payload=self.rbytes(r.randint(8, 1000))), s.xl
        if k < 9:
            return 1, echo(s.echo[0], s.echo[1], r.randrange(65536),
                           self.rbytes(r.randint(16, 1000))), s.xl
        q = self.quote(r.choice((6, 17, 1)))
        typ = r.choice((3, 11))
        return 1, icmp(typ, 0, b"\0\0\0\0", q + self.rbytes(r.randint(0, 400))), ICMPX

    def c_frag(self):
        """Fragments of a live datagram, out of order; sometimes with a
        duplicate (ignored by defrag), an overlap (the whole datagram
        discarded, RFC 5722) or a piece missing (never reassembled)."""
        r, s = self.rnd, self.s
        proto, l4, fate = self.frag_l4()
        n = r.randint(2, 8)
        size = max(8, ((len(l4) + n - 1) // n + 7) // 8 * 8)
        # Sometimes the first piece is 8 bytes: the L4 header itself split.
        first = 8 if r.random() < 0.25 else size
        pieces = [(0, l4[:first])] + [(o, l4[o:o + size]) for o in range(first, len(l4), size)]
        v = r.choice(("shuffled", "shuffled", "shuffled", "duplicate",
                      "overlap", "missing"))
        if len(pieces) < 2:
            v = "shuffled"
        if v == "overlap" and not any(len(p[1]) >= 16 for p in pieces[:-1]):
            v = "missing"
        ident = self.next_id()
        clean = v in ("shuffled", "duplicate")
        tos = self.tos(clean)
        if v == "duplicate":
            pieces.append(r.choice(pieces))
        elif v == "missing":
            pieces.pop(r.randrange(len(pieces)))
            fate = PRE
        elif v == "overlap":
            # Piece i+1 starts 8 bytes early, into piece i (at least 16
            # bytes long, so it is never wholly covered).
            i = r.choice([j for j in range(len(pieces) - 1) if len(pieces[j][1]) >= 16])
            o = pieces[i + 1][0] - 8
            pieces[i + 1] = (o, l4[o:pieces[i + 1][0] + len(pieces[i + 1][1])])
            fate = PRE
        last = max(o + len(d) for o, d in pieces)
        pkts = []
        for o, d in pieces:
            mf = 0x2000 if o + len(d) < last or (v == "missing" and o + len(d) < len(l4)) else 0
            pkts.append(ip(s.src, s.dst, proto, d, tos=tos, ident=ident,
                           frag=mf | o >> 3))
        r.shuffle(pkts)
        self.emit("fragments-" + v, pkts, fate, clean)

    def c_ip_dies(self):
        """Outer IPv4 headers ip_rcv drops before any hook: a few, as a
        sanity check that they stay harmless."""
        r = self.rnd
        proto, l4 = self.live()
        p = bytearray(self.pkt(proto, l4))
        v = r.randrange(7)
        if v == 0:
            p[0] = r.choice([x for x in range(16) if x != 4]) << 4 | 5
        elif v == 1:
            p[0] = 0x40 | r.randrange(5)
        elif v == 2:    # the header longer than the frame
            p = p[:r.randint(20, 56)]
            p[0] = 0x40 | r.randint(len(p) // 4 + 1, 15)
            struct.pack_into("!H", p, 2, len(p))
        elif v == 3:
            struct.pack_into("!H", p, 2, len(p) + r.randint(1, 1000))
        elif v == 4:
            struct.pack_into("!H", p, 2, r.randrange(20))
        elif v == 5:
            p[10] ^= 0x5A
            self.emit("ip-header-broken", [bytes(p)], PRE)
            return
        else:
            self.emit("ip-header-broken", [bytes(p[:r.randrange(20)])], PRE)
            return
        p[10:12] = b"\0\0"
        p[10:12] = struct.pack("!H", csum(p[:20]))
        self.emit("ip-header-broken", [bytes(p)], PRE)

    def c_ip_len_short(self):
        """IP total length shorter than the frame: ip_rcv trims the frame,
        natk sees a short L4 header (drop_invalid) or a cut payload."""
        r = self.rnd
        proto, l4 = self.live()
        need = 20 if proto == 6 else 8
        k = r.randrange(need) if r.random() < 0.7 else r.randint(need, len(l4))
        p = self.pkt(proto, l4, tot_len=20 + k)
        self.emit("ip-length-short", [p], INVALID if k < need else self.s.xl)

    def c_ip_opts(self):
        """Valid IP options (NOP, record route, timestamp): natk finds the
        L4 header past them; the kernel updates them when forwarding."""
        r = self.rnd
        o = r.choice((b"\x01" * 4, b"\x07\x07\x04" + bytes(4) + b"\x01",
                      b"\x44\x08\x05\x00" + bytes(4),
                      b"\x01\x07\x0b\x04" + bytes(8) + b"\0" * 4))
        if r.random() < 0.2:
            q = self.quote(r.choice((6, 17, 1)))
            self.emit("ip-options", [self.error(q, True, opts=o)], ICMPX, True)
            return
        proto, l4 = self.live()
        self.emit("ip-options", [self.pkt(proto, l4, True, opts=o)], self.s.xl, True)

    def c_ip_badopts(self):
        """Broken IP options. ip_rcv checks options after PRE_ROUTING: from
        the wan natk has translated the packet by then; from the lan it
        dies before being forwarded to natk_out."""
        r = self.rnd
        o = r.choice((b"\x07\x02", b"\x07\x07\x03" + bytes(4), b"\x44\x08\x04\x00" + bytes(4),
                      b"\x83\x01", b"\x01\x01\x07\x28"))
        proto, l4 = self.live()
        fate = self.s.xl if self.s.side == "wan" else PRE
        self.emit("ip-options-broken", [self.pkt(proto, l4, opts=o)], fate)

    def c_ttl(self):
        """TTL 0 or 1: forwarding drops it (wan: after natk translated it;
        the host's time-exceeded error then goes through natk_out)."""
        proto, l4 = self.live()
        fate = self.s.xl if self.s.side == "wan" else PRE
        self.emit("ttl-expired", [self.pkt(proto, l4, ttl=self.rnd.randrange(2))], fate)

    def c_proto(self):
        """Another IP protocol between the flow's addresses."""
        proto = self.rnd.choice((0, 4, 41, 47, 50, 51, 132, 136, 253, 255))
        self.emit("ip-other-protocol", [self.pkt(proto, self.rbytes(self.rnd.randrange(41)))],
                  self.s.nomatch)

    def c_wrong_port(self):
        """No flow for the tuple. lan: TCP that cannot open one
        (drop_no_flow), or UDP/echo that opens a new one; wan: a live
        external port from an unknown remote port (drop_unsolicited), or a
        port natk never mapped (passed)."""
        r, s = self.rnd, self.s
        proto = r.choice((6, 17, 1)) if s.side == "lan" else r.choice((6, 17))
        if s.side == "lan":
            if proto == 6:
                flags = r.randrange(256) | r.choice((0x10, 0x04))
                l4 = tcp(s.src, s.dst, r.randint(20000, 29999), s.tcp[1],
                         r.getrandbits(32), r.getrandbits(32), flags)
                fate = NOFLOW
            elif proto == 17:
                l4 = udp(s.src, s.dst, r.randint(50000, 50999), s.udp[1], self.rbytes(8))
                fate = s.xl
            else:
                l4 = echo(8, r.randint(0x8000, 0x80FF), 1, self.rbytes(8))
                fate = s.xl
        else:
            live = s.tcp if proto == 6 else s.udp
            if r.random() < 0.5:
                sp, dp, fate = r.randint(20000, 29999), live[1], UNSOL
            else:
                sp, dp, fate = live[0], r.randint(1, 1023), PASSED
            if proto == 6:
                l4 = tcp(s.src, s.dst, sp, dp, r.getrandbits(32), 0, r.randrange(256))
            else:
                l4 = udp(s.src, s.dst, sp, dp, self.rbytes(8))
        self.emit("no-such-flow", [self.pkt(proto, l4)], fate)

    def c_chaos(self):
        """Random bytes flipped past the IP header: fate unknown. From the
        lan only TCP without a lone SYN and ICMP errors, which cannot
        open flows (a random new flow would change other frames' fates)."""
        r, s = self.rnd, self.s
        if s.side == "lan" and r.random() < 0.5:
            proto, l4 = 1, icmp(3, 3, b"\0\0\0\0", self.quote(r.choice((6, 17, 1))))
        elif s.side == "lan":
            proto, l4 = 6, self.l4_tcp()
        elif r.random() < 0.3:
            proto, l4 = 1, icmp(11, 0, b"\0\0\0\0", self.quote(r.choice((6, 17, 1))))
        else:
            proto, l4 = self.live()
        b = bytearray(l4)
        for _ in range(r.randint(1, 4)):
            b[r.randrange(len(b))] = r.randrange(256)
        if s.side == "lan" and proto == 6 and len(b) > 13:
            b[13] |= 0x10
        if s.side == "lan" and proto == 1:
            b[0] = 3
        self.emit("chaos", [self.pkt(proto, bytes(b))], UNKNOWN)

    CLASSES = (
        ("c_tcp", 9), ("c_tcp_syn_opts", 5), ("c_tcp_doff", 4),
        ("c_l4_short", 4), ("c_udp", 7), ("c_udp_len", 4),
        ("c_udp_badsum", 3), ("c_echo", 5), ("c_icmp_other", 3),
        ("c_err", 8), ("c_err_trunc", 8), ("c_err_badsum", 3),
        ("c_err_inner", 10), ("c_frag", 5), ("c_ip_dies", 2),
        ("c_ip_len_short", 3), ("c_ip_opts", 3), ("c_ip_badopts", 1),
        ("c_ttl", 1), ("c_proto", 2), ("c_wrong_port", 3), ("c_chaos", 3),
    )

    def run(self, frames, budget):
        """Send frames, or stop after budget seconds (out of time)."""
        fns = [getattr(self, n) for n, _ in self.CLASSES]
        weights = [w for _, w in self.CLASSES]
        t0 = time.monotonic()
        while self.attempted < frames:
            if self.attempted % 256 == 0 and time.monotonic() - t0 > budget:
                self.out_of_time = True
                break
            self.rnd.choices(fns, weights)[0]()
        return time.monotonic() - t0


def cpu():
    t = os.times()
    return {"user": round(t.user, 1), "sys": round(t.system, 1)}


def cmd_send(a):
    iface, dmac, flows, side, frames, seed, budget, out = a
    fl = load_flows(flows)
    snd = Sender(iface, dmac, fl, side, int(seed))
    secs = snd.run(int(frames), float(budget))
    res = {
        "side": side, "asked": int(frames), "attempted": snd.attempted,
        "out_of_time": snd.out_of_time, "budget": float(budget),
        "sent": snd.sent, "errors": snd.attempted - snd.sent,
        "errnos": {str(k): v for k, v in snd.errnos.items()},
        "seconds": round(secs, 1), "cpu": cpu(), "clean": snd.clean,
        "fates": dict(snd.fates), "reach_yes": snd.reach_yes,
        "reach_maybe": snd.reach_maybe,
        "classes": {k: dict(v) for k, v in sorted(snd.classes.items())},
    }
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print("pktfuzz: %s: %d frames sent of %d, %d errors, %.0f s" %
          (side, snd.sent, int(frames), res["errors"], secs))


# ---------------------------------------------------------------- sniff

def bpf_clean():
    """Classic BPF: incoming (not outgoing) IPv4 frames with TOS & 0xfc ==
    MARK | CLEAN: the fuzz frames sent clean (and their fragments)."""
    ins = [
        (0x20, 0, 0, 0xFFFFF004),   # ld pkttype
        (0x15, 6, 0, 4),            # outgoing -> drop
        (0x28, 0, 0, 12),           # ldh ethertype
        (0x15, 0, 4, ETH_P_IP),
        (0x30, 0, 0, 15),           # ldb tos
        (0x54, 0, 0, 0xFC),         # and
        (0x15, 0, 1, MARK | CLEAN),
        (0x06, 0, 0, 0x40000),      # accept
        (0x06, 0, 0, 0),            # drop
    ]
    prog = b"".join(struct.pack("HBBI", *i) for i in ins)
    return prog


def attach_bpf(sock, prog):
    import ctypes
    buf = ctypes.create_string_buffer(prog)
    fprog = struct.pack("HL", len(prog) // 8, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, 26, fprog)   # SO_ATTACH_FILTER
    return buf


class Expect:
    """What a clean frame looks like once natk translated it, on the side
    that receives it (recv = wan: it came from the lan)."""

    def __init__(self, fl, recv):
        ti, tr, te = fl["tcp"]
        ui, ur, ue = fl["udp"]
        ii, ie = fl["icmp"]
        lan, wan, ext, rtr = fl["lan_b"], fl["wan_b"], fl["ext_b"], fl["router_b"]
        self.clamp = fl["clamp"]
        if recv == "wan":
            self.src, self.dst = [ext], wan
            self.tcp, self.udp, self.echo = (te, tr), (ue, ur), (8, ie)
            self.q_src, self.q_dst = wan, ext
            self.q_tcp, self.q_udp, self.q_echo = (tr, te), (ur, ue), (0, ie)
            self.e_src, self.e_dst = [ext], wan
        else:
            self.src, self.dst = [wan], lan
            self.tcp, self.udp, self.echo = (tr, ti), (ur, ui), (0, ii)
            self.q_src, self.q_dst = lan, wan
            self.q_tcp, self.q_udp, self.q_echo = (ti, tr), (ui, ur), (8, ii)
            self.e_src, self.e_dst = [wan, rtr], lan


def l4_ok(src, dst, proto, l4):
    if proto == 17 and l4[6:8] == b"\0\0":
        return True
    if proto == 1:
        return csum(l4) == 0
    return csum(pseudo(src, dst, proto, len(l4)) + l4) == 0


def mss_of(l4):
    """The MSS natk's clamp would find in a SYN (same walk), or None."""
    hl = (l4[12] >> 4) * 4
    if hl <= 20 or hl > len(l4):
        return None
    i = 20
    while i < hl:
        k = l4[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= hl or l4[i + 1] < 2 or i + l4[i + 1] > hl:
            break
        if k == 2 and l4[i + 1] == 4:
            return struct.unpack_from("!H", l4, i + 2)[0]
        i += l4[i + 1]
    return None


def check_clean(d, e):
    """None if the datagram d is a clean frame translated right, else why."""
    ihl = (d[0] & 15) * 4
    proto, src, dst = d[9], d[12:16], d[16:20]
    l4 = d[ihl:struct.unpack_from("!H", d, 2)[0]]
    if proto in (6, 17):
        want = e.tcp if proto == 6 else e.udp
        if src not in e.src or dst != e.dst:
            return "addresses %s -> %s" % (socket.inet_ntoa(src), socket.inet_ntoa(dst))
        ports = struct.unpack_from("!HH", l4)
        if ports != want:
            return "proto %d ports %s, want %s" % (proto, ports, want)
        if not l4_ok(src, dst, proto, l4):
            return "proto %d checksum" % proto
        if proto == 6 and l4[13] & 0x02:
            mss = mss_of(l4)
            if mss is not None and mss > e.clamp:
                return "SYN MSS %d above the clamp" % mss
        return None
    if proto != 1:
        return "protocol %d" % proto
    if csum(l4) != 0:
        return "ICMP checksum (type %d)" % l4[0]
    if l4[0] not in ICMP_ERRORS:
        if src not in e.src or dst != e.dst:
            return "echo addresses"
        got = (l4[0], struct.unpack_from("!H", l4, 4)[0])
        if got != e.echo:
            return "echo type/id %s, want %s" % (got, e.echo)
        return None
    if src not in e.e_src or dst != e.e_dst:
        return "error addresses %s -> %s" % (socket.inet_ntoa(src), socket.inet_ntoa(dst))
    q = l4[8:]
    qihl = (q[0] & 15) * 4
    if len(q) < qihl + 8:
        return "quote too short (%d)" % len(q)
    if csum(q[:qihl]) != 0:
        return "quoted IP checksum"
    qp, qs, qd = q[9], q[12:16], q[16:20]
    if qs != e.q_src or qd != e.q_dst:
        return "quoted addresses %s -> %s" % (socket.inet_ntoa(qs), socket.inet_ntoa(qd))
    ql4 = q[qihl:]
    if qp == 1:
        got = (ql4[0], struct.unpack_from("!H", ql4, 4)[0])
        if got != e.q_echo:
            return "quoted echo %s, want %s" % (got, e.q_echo)
    else:
        got = struct.unpack_from("!HH", ql4)
        if got != (e.q_tcp if qp == 6 else e.q_udp):
            return "quoted proto %d ports %s" % (qp, got)
    qlen = struct.unpack_from("!H", q, 2)[0]
    if len(q) >= qlen and not l4_ok(qs, qd, qp, q[qihl:qlen]):
        return "quoted proto %d checksum" % qp
    return None


def cmd_sniff(a):
    iface, flows, side, ready, stop, out = a
    e = Expect(load_flows(flows), side)
    # No protocol until bound: nothing arrives before the filter is there.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)   # SO_RCVBUFFORCE
    keep = attach_bpf(s, bpf_clean())
    s.bind((iface, ETH_P_IP))
    s.settimeout(0.2)
    open(ready, "w").close()
    st = Counter()
    bad = []
    frags = {}
    last = time.monotonic()
    while True:
        try:
            fr = s.recv(65535)
        except socket.timeout:
            if os.path.exists(stop) and time.monotonic() - last > 2:
                break
            continue
        except OSError:
            return      # the scenario tore the network down: it gave up
        last = time.monotonic()
        d = fr[14:]
        st["frames"] += 1
        if len(d) < 20 or csum(d[:(d[0] & 15) * 4]) != 0:
            st["clean_bad"] += 1
            bad.append("IP header checksum")
            continue
        tl = struct.unpack_from("!H", d, 2)[0]
        d = d[:tl]
        fo = struct.unpack_from("!H", d, 6)[0]
        if fo & 0x3FFF:
            st["fragments"] += 1
            key = (d[12:20], d[9], d[4:6])
            ihl = (d[0] & 15) * 4
            ent = frags.setdefault(key, {"parts": {}, "end": None, "hdr": None})
            off = (fo & 0x1FFF) * 8
            ent["parts"][off] = d[ihl:]
            if off == 0:
                ent["hdr"] = d[:ihl]
            if not fo & 0x2000:
                ent["end"] = off + len(d) - ihl
            if ent["hdr"] is None or ent["end"] is None:
                continue
            data, o = b"", 0
            while o < ent["end"] and o in ent["parts"]:
                data += ent["parts"][o]
                o += len(ent["parts"][o])
            if o < ent["end"]:
                continue
            del frags[key]
            h = bytearray(ent["hdr"])
            struct.pack_into("!HH", h, 2, len(h) + len(data), 0)
            d = bytes(h) + data
            st["reassembled"] += 1
        why = check_clean(d, e)
        if why:
            st["clean_bad"] += 1
            if len(bad) < 8:
                bad.append(why)
        else:
            st["clean_ok"] += 1
    ps = s.getsockopt(263, 6, 8)   # SOL_PACKET, PACKET_STATISTICS
    st["socket_drops"] = struct.unpack("II", ps)[1]
    st["incomplete"] = len(frags)
    del keep
    res = dict(st)
    res["bad"] = bad
    res["cpu"] = cpu()
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


# ---------------------------------------------------------------- echo

def cmd_echo(a):
    addr, tport, uport = a[0], int(a[1]), int(a[2])

    def conn(c):
        with c:
            while True:
                try:
                    d = c.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                try:
                    c.sendall(d)
                except OSError:
                    return

    def tcp_srv():
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, tport))
        ls.listen(8)
        while True:
            c, _ = ls.accept()
            threading.Thread(target=conn, args=(c,), daemon=True).start()

    threading.Thread(target=tcp_srv, daemon=True).start()
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind((addr, uport))
    while True:
        d, peer = us.recvfrom(65535)
        us.sendto(d, peer)


# ---------------------------------------------------------------- legit

class Legit:
    """The live flows' own traffic, before, during and after the fuzz
    (PHASEFILE says which: before, hold, during, after, stop):
    a TCP stream echoed back and compared (md5), UDP requests and ICMP
    echoes each answered, with the same payload, in order (a lost one is
    sent again every 2 s, at most 30 times)."""

    def __init__(self, fl, phasefile, out):
        self.fl, self.phasefile, self.out = fl, phasefile, out
        self.lock = threading.Lock()
        self.r = {"tcp": Counter(), "udp": Counter(), "icmp": Counter()}
        self.errors = []
        self._phase, self._pt = "before", 0

    def phase(self):
        now = time.monotonic()
        if now - self._pt > 0.1:
            self._pt = now
            try:
                with open(self.phasefile) as f:
                    self._phase = f.read().strip() or "before"
            except OSError:
                pass
        return self._phase

    def held(self):
        """Phase "hold": send nothing new (the counters are being read)."""
        if self.phase() != "hold":
            return False
        time.sleep(0.05)
        return True

    def count(self, what, key, n=1):
        with self.lock:
            self.r[what][key] += n

    def tcp(self):
        fl = self.fl
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((fl["lan"], fl["tcp"][0]))
        s.settimeout(120)
        s.connect((fl["wan"], fl["tcp"][1]))
        s.settimeout(None)
        sent_md5, recv_md5 = hashlib.md5(), hashlib.md5()
        st = {"sent": 0, "eof": False}

        def reader():
            while True:
                try:
                    d = s.recv(65536)
                except OSError as ex:
                    self.errors.append("tcp recv: %s" % ex)
                    return
                if not d:
                    st["eof"] = True
                    return
                recv_md5.update(d)
                self.count("tcp", "recv", len(d))
                self.count("tcp", "recv_" + self.phase(), len(d))

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        n = 0
        while self.phase() != "stop":
            if self.held():
                continue
            chunk = hashlib.sha256(b"%d" % n).digest() * 32
            n += 1
            try:
                s.sendall(chunk)
            except OSError as ex:
                self.errors.append("tcp send: %s" % ex)
                return
            sent_md5.update(chunk)
            self.count("tcp", "sent", len(chunk))
            time.sleep(0.1)
        s.shutdown(socket.SHUT_WR)
        t.join(300)
        with self.lock:
            self.r["tcp"]["eof"] = int(st["eof"])
            self.r["tcp"]["md5_match"] = int(sent_md5.hexdigest() == recv_md5.hexdigest())
        s.close()

    def ask(self, what, sock, dst, make, match, gap):
        seq = 0
        while self.phase() != "stop":
            if self.held():
                continue
            msg = make(seq)
            for _ in range(30):
                sock.sendto(msg, dst)
                self.count(what, "sent")
                end = time.monotonic() + 2
                got = False
                while not got and time.monotonic() < end:
                    rd, _, _ = select.select([sock], [], [], max(0, end - time.monotonic()))
                    if not rd:
                        break
                    d = sock.recv(65535)
                    got = match(seq, msg, d)
                if got:
                    self.count(what, "answered")
                    self.count(what, "answered_" + self.phase())
                    break
                self.count(what, "resent")
            else:
                self.errors.append("%s: request %d never answered" % (what, seq))
                return
            seq += 1
            time.sleep(gap)
        self.count(what, "requests", seq)

    def udp(self):
        fl = self.fl
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((fl["lan"], fl["udp"][0]))

        def make(n):
            return struct.pack("!I", n) + hashlib.sha256(b"u%d" % n).digest() * (1 + n % 8)

        self.ask("udp", s, (fl["wan"], fl["udp"][1]), make,
                 lambda n, m, d: d == m, 0.2)

    def icmp(self):
        fl = self.fl
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        ident = fl["icmp"][0]

        def make(n):
            return echo(8, ident, n & 0xFFFF, hashlib.sha256(b"i%d" % n).digest())

        def match(n, m, d):
            ihl = (d[0] & 15) * 4
            return d[ihl] == 0 and d[ihl + 4:] == m[4:]

        self.ask("icmp", s, (fl["wan"], 0), make, match, 0.2)

    def run(self):
        ts = [threading.Thread(target=self.guard, args=(f,), daemon=True)
              for f in (self.tcp, self.udp, self.icmp)]
        for t in ts:
            t.start()
        while any(t.is_alive() for t in ts):
            self.dump(False)
            time.sleep(0.5)
        self.dump(True)

    def guard(self, f):
        try:
            f()
        except Exception as ex:   # noqa: BLE001 - reported, then judged
            self.errors.append("%s: %r" % (f.__name__, ex))

    def dump(self, done):
        with self.lock:
            res = {k: dict(v) for k, v in self.r.items()}
        res["errors"] = list(self.errors)
        res["done"] = done
        res["cpu"] = cpu()
        tmp = self.out + ".tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(res, f)
            os.rename(tmp, self.out)
        except OSError:
            sys.exit(1)     # the scenario is gone (its directory with it)


def cmd_legit(a):
    flows, phasefile, out = a
    Legit(load_flows(flows), phasefile, out).run()


# ---------------------------------------------------------------- judge

def cmd_judge(a):
    """One PASS/FAIL line per check, from the data a run left in DIR:
    send-{lan,wan}.json, sniff-{lan,wan}.json, legit.json, natk's stats
    and the nft counters before (stats0, nft0) and after (stats1, nft1)."""
    d = a[0]

    def j(name):
        with open(os.path.join(d, name)) as f:
            return json.load(f)

    out = []

    def res(name, ok, why):
        out.append("PASS %s: %s" % (name, why) if ok else "FAIL %s: %s" % (name, why))

    snd = {s: j("send-%s.json" % s) for s in ("lan", "wan")}
    sniff = {s: j("sniff-%s.json" % s) for s in ("lan", "wan")}
    legit = j("legit.json")
    s0, s1 = j("stats0.json"), j("stats1.json")
    n0, n1 = j("nft0.json"), j("nft1.json")
    ds = {k: s1[k] - s0.get(k, 0) for k in s1 if isinstance(s1[k], int)}
    dn = {k: n1.get(k, 0) - n0.get(k, 0) for k in n1}

    for side in ("lan", "wan"):
        r = snd[side]
        cls = ", ".join("%s %d" % (k, v["frames"]) for k, v in r["classes"].items())
        ok = r["attempted"] >= r["asked"] and r["errors"] <= r["asked"] // 100
        late = "OUT OF TIME after %.0f s: " % r["budget"] if r.get("out_of_time") else ""
        res("pktfuzz-sent-" + side, ok,
            "%s%d of %d frames sent, %d send errors %s in %.0f s (%d datagrams clean); %s" %
            (late, r["sent"], r["asked"], r["errors"], r["errnos"], r["seconds"], r["clean"], cls))

    for frm, to in (("lan", "wan"), ("wan", "lan")):
        sn, want = sniff[to], snd[frm]["clean"]
        ok = (sn.get("clean_ok", 0) == want and not sn.get("clean_bad", 0) and
              not sn.get("socket_drops", 0) and want > 0)
        res("pktfuzz-translated-%s-to-%s" % (frm, to), ok,
            "%d of %d clean datagrams arrived translated with valid checksums, "
            "%d wrong %s; %d clean frames seen (%d fragments, %d reassembled, "
            "%d incomplete), %d socket drops" %
            (sn.get("clean_ok", 0), want, sn.get("clean_bad", 0), sn.get("bad", []),
             sn.get("frames", 0), sn.get("fragments", 0), sn.get("reassembled", 0),
             sn.get("incomplete", 0), sn.get("socket_drops", 0)))

    t = legit.get("tcp", {})
    ok = (t.get("md5_match") == 1 and t.get("eof") == 1 and t.get("sent", 0) > 0 and
          t.get("recv") == t.get("sent") and t.get("recv_during", 0) > 0 and
          t.get("recv_after", 0) > 0 and not [e for e in legit["errors"] if e.startswith("tcp")])
    res("pktfuzz-tcp-intact", ok,
        "one connection: %d bytes sent, %d echoed (%d during the fuzz, %d after), md5 %s; %s" %
        (t.get("sent", 0), t.get("recv", 0), t.get("recv_during", 0), t.get("recv_after", 0),
         "equal" if t.get("md5_match") == 1 else "DIFFERENT", legit["errors"] or "no errors"))
    for what in ("udp", "icmp"):
        u = legit.get(what, {})
        ok = (u.get("requests", 0) > 0 and u.get("answered") == u.get("requests") and
              u.get("answered_during", 0) > 0 and u.get("answered_after", 0) > 0 and
              not [e for e in legit["errors"] if e.startswith(what)])
        res("pktfuzz-%s-intact" % what, ok,
            "%d requests, each answered with its own payload (%d during the fuzz, %d after), "
            "%d sent again; %s" %
            (u.get("requests", 0), u.get("answered_during", 0), u.get("answered_after", 0),
             u.get("resent", 0), [e for e in legit["errors"] if e.startswith(what)] or "no errors"))

    drops = {k: v for k, v in ds.items() if k.startswith("drop_")}
    res("pktfuzz-drops-add-up", ds["packets_dropped"] == sum(drops.values()) and
        ds["packets_dropped"] > 0,
        "packets_dropped +%d, the drop reasons add up to %d: %s" %
        (ds["packets_dropped"], sum(drops.values()),
         ", ".join("%s +%d" % (k, v) for k, v in sorted(drops.items()) if v)))

    outcomes = (ds[PASSED] + ds[XL_LAN] + ds[XL_WAN] + ds[ICMPX] + ds["packets_dropped"])
    seen = (dn["in_legit"] + dn["in_legit_err"] + dn["in_fuzz"] +
            dn["out_legit"] + dn["out_legit_err"] + dn["out_fuzz"] + dn["hosterr_flow"])
    res("pktfuzz-all-frames-accounted", outcomes == seen and dn["hairpin"] == 0,
        "natk counted %d datagrams passed, translated or dropped (passed %d, from lan %d, "
        "from wan %d, ICMP errors %d, dropped %d); its hooks saw %d (wan side %d, lan side %d, "
        "the host's errors about flows %d), hairpin path %d" %
        (outcomes, ds[PASSED], ds[XL_LAN], ds[XL_WAN], ds[ICMPX], ds["packets_dropped"], seen,
         dn["in_legit"] + dn["in_legit_err"] + dn["in_fuzz"],
         dn["out_legit"] + dn["out_legit_err"] + dn["out_fuzz"], dn["hosterr_flow"], dn["hairpin"]))

    yes = snd["lan"]["reach_yes"] + snd["wan"]["reach_yes"]
    maybe = snd["lan"]["reach_maybe"] + snd["wan"]["reach_maybe"]
    fz = dn["in_fuzz"] + dn["out_fuzz"]
    res("pktfuzz-fuzz-reached-natk", yes <= fz <= yes + maybe,
        "fuzz datagrams at natk's hooks: %d (lan %d, wan %d); expected %d (+%d uncertain), "
        "the rest die in ip_rcv, defrag or forwarding first" %
        (fz, dn["out_fuzz"], dn["in_fuzz"], yes, maybe))

    fates = Counter(snd["lan"]["fates"]) + Counter(snd["wan"]["fates"])
    unknown = fates[UNKNOWN]
    slack = unknown + dn["in_legit_err"] + dn["out_legit_err"] + dn["hosterr_flow"]
    exp = Counter()
    exp[XL_LAN] = snd["lan"]["fates"].get(XL_LAN, 0) + dn["out_legit"]
    exp[XL_WAN] = snd["wan"]["fates"].get(XL_WAN, 0) + dn["in_legit"]
    for k in (ICMPX, PASSED, INVALID, BADSUM, NOFLOW, UNSOL):
        exp[k] = fates[k]
    bounded = (XL_LAN, XL_WAN, ICMPX, PASSED, INVALID, BADSUM, NOFLOW, UNSOL,
               "drop_fragment", "drop_icmp_ratelimit")
    off = []
    lines = []
    for k in bounded:
        lo, hi = exp[k], exp[k] + slack
        lines.append("%s +%d [%d, %d]" % (k, ds[k], lo, hi))
        if not lo <= ds[k] <= hi:
            off.append(k)
    res("pktfuzz-counters-by-reason", not off and exp[INVALID] and exp[BADSUM] and
        exp[NOFLOW] and exp[UNSOL] and exp[ICMPX] and exp[PASSED],
        "%s%s (expected from each frame's fate; slack %d: %d chaos, %d legit ICMP errors, "
        "%d host errors about flows)" %
        ("OUT OF RANGE: %s; " % off if off else "", "; ".join(lines), slack, unknown,
         dn["in_legit_err"] + dn["out_legit_err"], dn["hosterr_flow"]))

    zero = ("drop_table_full", "drop_no_port", "drop_no_memory", "drop_host_limit",
            "flows_evicted", "port_allocation_errors")
    bad = ["%s +%d" % (k, ds.get(k, 0)) for k in zero if ds.get(k, 0)]
    big = ["%s +%d" % (k, v) for k, v in ds.items()
           if not k.startswith("bytes") and k != "active_connections" and v > seen]
    neg = ["%s %d" % (k, v) for k, v in ds.items() if v < 0 and k != "active_connections"]
    mism = []
    if ds["packets_out_to_destination"] != ds[XL_LAN]:
        mism.append("out_to_destination %d != in_from_source %d" %
                    (ds["packets_out_to_destination"], ds[XL_LAN]))
    if ds["packets_out_to_source"] != ds[XL_WAN]:
        mism.append("out_to_source %d != in_from_destination %d" %
                    (ds["packets_out_to_source"], ds[XL_WAN]))
    wrong = bad + big + neg + mism
    res("pktfuzz-counters-sane", not wrong,
        "no counter above the %d datagrams seen, none going back, none of %s, and what "
        "came in went out%s" % (seen, "/".join(zero), ": " + "; ".join(wrong) if wrong else ""))

    for line in out:
        print(line)


def main():
    cmds = {"send": (cmd_send, 8), "sniff": (cmd_sniff, 6), "echo": (cmd_echo, 3),
            "legit": (cmd_legit, 3), "judge": (cmd_judge, 1)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) != cmds[sys.argv[1]][1] + 2:
        sys.exit(__doc__)
    cmds[sys.argv[1]][0](sys.argv[2:])


if __name__ == "__main__":
    main()
