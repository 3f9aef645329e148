#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""nlfuzz: random and mangled generic netlink messages to the natk family.

    nlfuzz.py [--seed S] [--count N] [--unpriv] [--no-checks]

Resolves the "natk" family with CTRL_CMD_GETFAMILY, then sends COUNT
messages built from a seeded PRNG: every command number (valid and not),
random flags with and without NLM_F_DUMP, attributes of the wrong type and
length, unknown attributes, bad nesting, huge values, truncated and lying
headers, several messages in one datagram. After each datagram it sends an
NLMSG_NOOP with NLM_F_ACK as a barrier and reads every reply (acks, errors,
dump parts) with a timeout.

Prints "RESULT PASS name" / "RESULT FAIL name: why" lines (the scenario
turns them into PASS/FAIL) and a summary. Checks:
  - every message that asked for an ack got exactly one final reply
    (error, ack or NLMSG_DONE); messages the kernel must ignore (lying
    nlmsg_len) are not counted as lost
  - EINVAL/ERANGE from a well-formed request carries an extack message
  - the family still answers NATK_CMD_GET_CONFIG and GET_STATS
  - with --unpriv: no admin command (set, down, flush, flows dump, forward
    add/del) ever succeeds
  - before the random phase (unless --no-checks or --unpriv): a few exact
    cases of the contract (all-or-nothing SET_CONFIG, extack, errno)
Only the network namespace the script runs in is touched.
"""
import argparse
import collections
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natknl as nl  # noqa: E402

RESULTS = []


def result(ok, name, why=""):
    line = "RESULT %s %s%s" % ("PASS" if ok else "FAIL", name,
                               (": " + why) if (why and not ok) else "")
    RESULTS.append(line)
    print(line, flush=True)


# ------------------------------------------------------------ generation

EDGE_U = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0xffff, 0x10000,
          1023, 1024, 65535, 65536, nl.NATK_TIMEOUT_MAX,
          nl.NATK_TIMEOUT_MAX + 1, 16 << 20, (16 << 20) + 1, 0x7fffffff,
          0x80000000, 0xfffffffe, 0xffffffff]
IFNAMES = [b"lo", b"dummy0", b"", b"nosuch0", b"x" * 15, b"x" * 16,
           b"x" * 40, b"lo\0junk", b"\xff\xfe", b"dummy0\0"]
CMD_ATTRS = {
    nl.NATK_CMD_SET_CONFIG: [2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16,
                             23, 23, 35, 35, 36, 37, 39, 40, 40, 42, 43,
                             44],
    nl.NATK_CMD_GET_FLOWS: [20, 21, 22],
    nl.NATK_CMD_FWD_ADD: [23],
    nl.NATK_CMD_FWD_DEL: [23],
    nl.NATK_CMD_DELETE_FLOW: [19],
    nl.NATK_CMD_FLOW_ADD: [19, 19],
}


def rand_value(rng, size):
    if rng.random() < 0.6:
        v = rng.choice(EDGE_U)
    else:
        v = rng.getrandbits(size * 8)
    if size == 1 and rng.random() < 0.5:
        v = rng.choice([0, 1, 2, 3, 6, 17, 1, 6, 17, 255])
    return (v & ((1 << (size * 8)) - 1)).to_bytes(size, "little")


def payload_for(rng, atype, sizes):
    """A payload for atype: mostly the right size, sometimes not."""
    size = sizes.get(atype)
    r = rng.random()
    if r < 0.12:
        return os.urandom(rng.randrange(0, 13)) if rng.random() < 0.5 \
            else b""
    if size == 0 or size is None:
        if atype == 3:
            return rng.choice(IFNAMES) + (b"\0" if rng.random() < 0.8
                                          else b"")
        return os.urandom(rng.randrange(0, 24))
    if r < 0.25:
        return rand_value(rng, rng.choice([s for s in (1, 2, 4, 8)
                                           if s != size]))
    return rand_value(rng, size)


def gen_fwd_nest(rng, depth):
    parts = []
    for _ in range(rng.randrange(0, 6)):
        r = rng.random()
        if r < 0.8:
            t = rng.randrange(0, nl.NATK_FWD_A_MAX + 2)
        else:
            t = rng.randrange(0, 0x4000)
        if depth < 3 and rng.random() < 0.05:
            parts.append(nl.nla(t, gen_fwd_nest(rng, depth + 1),
                                nl.NLA_F_NESTED))
            continue
        if t == 1 and rng.random() < 0.6:
            p = bytes([rng.choice([6, 17, 6, 17, 1, 0, 255])])
        elif t == 3 and rng.random() < 0.5:
            p = rng.choice([b"\x0a\0\0\x02", b"\0\0\0\0", os.urandom(4)])
        else:
            p = payload_for(rng, t, nl.FWD_SIZE)
        parts.append(nl.nla(t, p))
    return b"".join(parts)


def gen_prefix_list(rng):
    """A NATK_A_INTERNAL / NATK_A_NO_NAT list: mostly well formed."""
    parts = []
    for _ in range(rng.choice([0, 1, 2, 3, 64, 65])):
        if rng.random() < 0.9:
            plen = rng.choice([0, 8, 16, 24, 32, 33, 255])
            addr = rng.choice([0x0a000000, 0xc0000200, 0x0a000001,
                               rng.randrange(0, 1 << 32)])
            inner = nl.nla_be32(2, addr) + nl.nla_u8(3, plen)
            if rng.random() < 0.1:
                inner = nl.nla_u8(3, plen)
            parts.append(nl.nla(1, inner, nl.NLA_F_NESTED))
        else:
            parts.append(nl.nla(rng.randrange(0, 6), gen_fwd_nest(rng, 1),
                                rng.choice([0, nl.NLA_F_NESTED])))
    return b"".join(parts)


def gen_range_list(rng):
    """A NATK_A_ADDRS list of address ranges: mostly well formed."""
    parts = []
    for _ in range(rng.choice([0, 1, 1, 2, 3, nl.NATK_ADDR_RANGES_MAX,
                               nl.NATK_ADDR_RANGES_MAX + 1])):
        if rng.random() < 0.9:
            first = rng.choice([0xc0000201, 0xc0000202, 0x0a000001, 0,
                                0xffffffff, rng.randrange(0, 1 << 32)])
            last = (first + rng.choice([0, 0, 1, 31, 32, -1])) & 0xffffffff
            inner = nl.nla_be32(2, first) + nl.nla_be32(3, last)
            if rng.random() < 0.1:
                inner = nl.nla_be32(rng.choice([2, 3]), first)
            parts.append(nl.nla(1, inner, nl.NLA_F_NESTED))
        else:
            parts.append(nl.nla(rng.randrange(0, 6), gen_fwd_nest(rng, 1),
                                rng.choice([0, nl.NLA_F_NESTED])))
    return b"".join(parts)


def gen_attrs(rng, cmd):
    parts = []
    want = CMD_ATTRS.get(cmd, [])
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 4, 6])):
        r = rng.random()
        if want and r < 0.65:
            t = rng.choice(want)
        elif r < 0.9:
            t = rng.randrange(0, nl.NATK_A_MAX + 4)
        else:
            t = rng.randrange(0, 0x4000)
        flags = 0
        if rng.random() < 0.05:
            flags = rng.choice([nl.NLA_F_NESTED, nl.NLA_F_NET_BYTEORDER,
                                nl.NLA_F_NESTED | nl.NLA_F_NET_BYTEORDER])
        if t in (nl.A["INTERNAL"], nl.A["NO_NAT"]) and rng.random() < 0.8:
            parts.append(nl.nla(t, gen_prefix_list(rng),
                                flags | nl.NLA_F_NESTED))
        elif t == nl.A["ADDRS"] and rng.random() < 0.8:
            parts.append(nl.nla(t, gen_range_list(rng),
                                flags | nl.NLA_F_NESTED))
        elif t in (nl.A["FWD"], nl.A["STATS"], nl.A["FLOW"]) and \
                rng.random() < 0.8:
            inner = gen_fwd_nest(rng, 0)
            if rng.random() < 0.85:
                flags |= nl.NLA_F_NESTED
            parts.append(nl.nla(t, inner, flags))
        else:
            parts.append(nl.nla(t, payload_for(rng, t, nl.A_SIZE), flags))
    attrs = b"".join(parts)
    # Mangle the attribute stream itself.
    r = rng.random()
    if attrs and r < 0.06:
        # lie in one nla_len
        i = rng.randrange(0, max(1, len(attrs) - 1)) & ~3
        if i + 2 <= len(attrs):
            attrs = attrs[:i] + struct.pack("=H", rng.choice(
                [0, 1, 2, 3, 5, 0xffff, len(attrs) + 4,
                 rng.randrange(0, 0x10000)])) + attrs[i + 2:]
    elif attrs and r < 0.10:
        b = bytearray(attrs)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        attrs = bytes(b)
    elif r < 0.14:
        attrs += os.urandom(rng.randrange(1, 8))      # trailing garbage
    return attrs


def gen_cmd(rng):
    r = rng.random()
    if r < 0.45:
        # the commands that take attributes, most of the time
        return rng.choice([nl.NATK_CMD_SET_CONFIG, nl.NATK_CMD_SET_CONFIG,
                           nl.NATK_CMD_GET_FLOWS, nl.NATK_CMD_FWD_ADD,
                           nl.NATK_CMD_FWD_DEL])
    if r < 0.9:
        return rng.randrange(0, nl.NATK_CMD_MAX + 3)
    return rng.randrange(0, 256)


def gen_flags(rng, cmd):
    f = nl.NLM_F_REQUEST | nl.NLM_F_ACK
    if rng.random() < (0.8 if cmd in nl.DUMP_CMDS else 0.1):
        f |= nl.NLM_F_DUMP
    if rng.random() < 0.08:
        f |= nl.NLM_F_ECHO
    if rng.random() < 0.05:
        f |= rng.choice([nl.NLM_F_ROOT, nl.NLM_F_MATCH, nl.NLM_F_ATOMIC,
                         nl.NLM_F_MULTI, nl.NLM_F_DUMP_INTR])
    if rng.random() < 0.04:
        f = rng.getrandbits(16)
    if rng.random() < 0.04:
        f &= ~nl.NLM_F_ACK        # no ack asked: a reply is optional
    if rng.random() < 0.03:
        f &= ~nl.NLM_F_REQUEST    # not a request: the kernel ignores it
    return f


class Msg:
    """One netlink message of a datagram and what it should get back."""

    def __init__(self, data, seq, mtype, flags, cmd, hdr_ok, wellformed):
        self.data = data
        self.seq = seq
        self.mtype = mtype
        self.flags = flags
        self.cmd = cmd
        self.hdr_ok = hdr_ok          # nlmsg_len sane: the kernel parses it
        self.wellformed = wellformed  # genl header complete, real family


def gen_msg(rng, g, fam):
    seq = g.next_seq()
    cmd = gen_cmd(rng)
    flags = gen_flags(rng, cmd)
    version = nl.NATK_GENL_VERSION if rng.random() < 0.9 else \
        rng.randrange(256)
    mtype = fam
    if rng.random() < 0.02:
        mtype = rng.choice([nl.NLMSG_NOOP, nl.NLMSG_ERROR, nl.NLMSG_DONE,
                            nl.NLMSG_OVERRUN, 0])
    payload = struct.pack("=BBH", cmd, version,
                          0 if rng.random() < 0.95 else rng.getrandbits(16))
    payload += gen_attrs(rng, cmd)
    wellformed = mtype == fam
    r = rng.random()
    nlen = 16 + len(payload)
    hdr_ok = True
    if r < 0.04:
        # honest truncation, possibly inside the genl header
        payload = payload[:rng.randrange(0, len(payload) + 1)]
        nlen = 16 + len(payload)
        if len(payload) < 4:
            wellformed = False
    elif r < 0.06:
        # nlmsg_len larger than the datagram (by more than the padding):
        # the kernel drops it silently; it is sent last in its datagram
        nlen = 16 + len(payload) + rng.randrange(4, 64)
        hdr_ok = False
    elif r < 0.07:
        nlen = rng.randrange(0, 16)   # shorter than a header: dropped
        hdr_ok = False
    data = struct.pack("=IHHII", nlen, mtype, flags, seq, 0) + payload
    return Msg(data, seq, mtype, flags, cmd, hdr_ok, wellformed)


# ------------------------------------------------------------ running

class Stats:
    def __init__(self):
        self.sent = 0
        self.datagrams = 0
        self.expected = 0
        self.replied = 0
        self.optional = 0
        self.ignored = 0
        self.lost = []
        self.dup = []
        self.errnos = collections.Counter()
        self.cmds = collections.Counter()
        self.no_extack = []
        self.with_offs = 0
        self.priv_violations = []
        self.dumps = 0
        self.acks = 0


def run_datagram(g, msgs, st, unpriv, timeout):
    data = b""
    for m in msgs:
        data += m.data + b"\0" * (nl.align4(len(m.data)) - len(m.data))
    # what the kernel processes: messages up to the first bad header
    active = []
    for m in msgs:
        if not m.hdr_ok:
            break
        active.append(m)
    replies = {m.seq: g.expect(m.seq) for m in msgs}
    sync = g.next_seq()
    sr = g.expect(sync)
    try:
        g.send(data)
    except OSError as e:
        st.errnos["send-" + nl.errname(e.errno)] += 1
    g.send(nl.nlmsg(nl.NLMSG_NOOP, nl.NLM_F_REQUEST | nl.NLM_F_ACK, sync,
                    b""))
    st.datagrams += 1
    st.sent += len(msgs)

    def settled():
        if not sr.finished:
            return False
        for m in active:
            r = replies[m.seq]
            # a started dump (parts, no DONE yet) must be read to its end
            if r.parts and not r.finished and \
                    (m.flags & nl.NLM_F_DUMP) == nl.NLM_F_DUMP:
                return False
        return True

    g.wait(settled, timeout)
    # after the barrier, wait a little longer only for what is missing
    for m in active:
        if m.flags & nl.NLM_F_ACK:
            r = replies[m.seq]
            if not r.finished:
                g.wait(lambda: r.finished, 0.5)
    for m in msgs:
        r = replies.pop(m.seq)
        del g.replies[m.seq]
        st.cmds[m.cmd if m.wellformed else "x"] += 1
        if m not in active:
            st.ignored += 1
            if r.parts or r.finished:
                st.dup.append("ignored message got a reply: %s %r"
                              % (m.data[:32].hex(), r))
            continue
        if r.error is not None:
            st.errnos[nl.errname(r.error)] += 1
            if r.error == 0:
                st.acks += 1
        elif r.done:
            st.errnos["done-" + nl.errname(r.done_err)] += 1
            st.dumps += 1
        if m.flags & nl.NLM_F_ACK:
            st.expected += 1
            if r.finished:
                st.replied += 1
            else:
                st.lost.append("seq %d flags %#x type %d cmd %s: %r (%s)" % (
                    m.seq, m.flags, m.mtype, m.cmd, r, m.data[:48].hex()))
        else:
            st.optional += 1
        if r.error is not None and r.done:
            st.dup.append("both error and DONE: %s %r"
                          % (m.data[:32].hex(), r))
        if r.error is not None and r.error != 0 and r.extack_offs is not None:
            st.with_offs += 1
        if (r.error in (22, 34) and m.wellformed and len(m.data) >= 20 and
                m.flags & nl.NLM_F_REQUEST and not r.extack):
            st.no_extack.append("%s -> %s (%s)" % (
                m.cmd, nl.errname(r.error), m.data.hex()[:160]))
        if (unpriv and m.wellformed and m.flags & nl.NLM_F_REQUEST and
                m.cmd in nl.ADMIN_CMDS and
                (r.error == 0 or (r.done and r.done_err == 0))):
            st.priv_violations.append("cmd %d flags %#x -> %r (%s)" % (
                m.cmd, m.flags, r, m.data.hex()[:160]))
    del g.replies[sync]


def alive(g, fam):
    c = nl.get_config(g, fam)
    if isinstance(c, nl.Reply):
        return False, "GET_CONFIG: %r" % c
    r = g.request(fam, nl.NATK_CMD_GET_STATS, nl.NLM_F_ACK)
    if r.error or not r.parts:
        return False, "GET_STATS: %r" % r
    return True, c


# ------------------------------------------------------------ exact checks

def exact_checks(g, fam):
    c = nl.get_config(g, fam)
    if isinstance(c, nl.Reply):
        result(False, "nlfuzz-contract-get-config", repr(c))
        return
    t0 = c.get("TIMEOUT_UDP")
    mf0 = c.get("MAX_FLOWS")

    def udp():
        cc = nl.get_config(g, fam)
        return None if isinstance(cc, nl.Reply) else \
            (cc.get("TIMEOUT_UDP"), cc.get("MAX_FLOWS"), cc.get("PORT_MIN"))

    def prefixes(t, lst):
        return nl.nla_nest(t, *[nl.nla_nest(1, nl.nla_be32(2, a),
                                            nl.nla_u8(3, n))
                                for a, n in lst])

    before = udp()
    cases = [
        ("set-max-flows-0", [nl.nla_u32(14, t0 + 7), nl.nla_u32(7, 0)],
         (22, 34)),
        ("set-port-min-alone", [nl.nla_u32(14, t0 + 7),
                                nl.nla_u16(5, 5000)], (22,)),
        ("set-port-min-above-max", [nl.nla_u32(14, t0 + 7),
                                    nl.nla_u16(5, 6000),
                                    nl.nla_u16(6, 5000)], (22,)),
        ("set-timeout-huge", [nl.nla_u32(12, 100),
                              nl.nla_u32(14, nl.NATK_TIMEOUT_MAX + 1)],
         (22, 34)),
        ("set-timeout-zero", [nl.nla_u32(12, 100), nl.nla_u32(14, 0)],
         (22, 34)),
        ("set-unknown-attr", [nl.nla_u32(14, t0 + 7), nl.nla_u32(200, 1)],
         (22,)),
        ("set-not-settable-attr", [nl.nla_u32(14, t0 + 7),
                                   nl.nla_u32(9, 5)], (22,)),
        ("set-wrong-length", [nl.nla_u32(12, 100),
                              nl.nla(14, b"\x05\x00")], (22, 34)),
        ("set-unknown-ifindex", [nl.nla_u32(14, t0 + 7),
                                 nl.nla_u32(2, 0x7ffffff0)], (19,)),
        ("set-invalid-ifname", [nl.nla_u32(14, t0 + 7),
                                nl.nla_str(3, "a/b")], (22,)),
        ("set-ifname-and-ifindex", [nl.nla_u32(14, t0 + 7),
                                    nl.nla_str(3, "lo"),
                                    nl.nla_u32(2, 1)], (22,)),
        ("set-long-ifname", [nl.nla_u32(14, t0 + 7),
                             nl.nla(3, b"y" * 20 + b"\0")], (22, 34)),
        ("set-prefix-host-bits", [nl.nla_u32(14, t0 + 7), prefixes(
            36, [(0x0a000001, 24)])], (22,)),
        ("set-prefix-len-33", [nl.nla_u32(14, t0 + 7), prefixes(
            37, [(0x0a000000, 33)])], (22, 34)),
        ("set-prefix-no-len", [nl.nla_u32(14, t0 + 7), nl.nla_nest(
            36, nl.nla_nest(1, nl.nla_be32(2, 0x0a000000)))], (22,)),
        ("set-prefix-too-many", [nl.nla_u32(14, t0 + 7), prefixes(
            37, [(0x0a000000 + (i << 8), 24)
                 for i in range(nl.NATK_PREFIXES_MAX + 1)])], (7,)),
    ]
    for name, attrs, want in cases:
        r = g.request(fam, nl.NATK_CMD_SET_CONFIG, nl.NLM_F_ACK,
                      b"".join(attrs))
        ok = r.error in want and bool(r.extack)
        result(ok, "nlfuzz-contract-" + name,
               "want %s with an extack, got %s extack=%r" % (
                   "/".join(nl.errname(w) for w in want),
                   nl.errname(r.error), r.extack))
        after = udp()
        result(after == before, "nlfuzz-contract-" + name + "-nothing-applied",
               "config changed from %r to %r" % (before, after))
    r = g.request(fam, nl.NATK_CMD_SET_CONFIG, nl.NLM_F_ACK,
                  nl.nla_u32(14, t0 + 7) + nl.nla_u32(7, 12345))
    result(r.error == 0 and udp()[:2] == (t0 + 7, 12345),
           "nlfuzz-contract-set-valid", "%r, config %r" % (r, udp()))
    g.request(fam, nl.NATK_CMD_SET_CONFIG, nl.NLM_F_ACK,
              nl.nla_u32(14, t0) + nl.nla_u32(7, mf0))
    result(udp() == before, "nlfuzz-contract-set-restore", repr(udp()))

    r = g.request(fam, nl.NATK_CMD_GET_FLOWS, nl.NLM_F_DUMP,
                  nl.nla_u16(20, 17))
    result(r.error in (22, 34) and bool(r.extack) or
           (r.done and r.done_err in (22, 34) and bool(r.extack)),
           "nlfuzz-contract-flows-filter-wrong-type", repr(r))
    r = g.request(fam, nl.NATK_CMD_GET_FLOWS, nl.NLM_F_DUMP,
                  nl.nla_u8(20, 17))
    result(r.done and r.done_err == 0 and r.error is None,
           "nlfuzz-contract-flows-dump", repr(r))
    r = g.request(fam, nl.NATK_CMD_FWD_ADD, nl.NLM_F_ACK)
    result(r.error == 22 and bool(r.extack),
           "nlfuzz-contract-fwd-add-no-nest", repr(r))
    r = g.request(fam, nl.NATK_CMD_FWD_ADD, nl.NLM_F_ACK,
                  nl.nla_nest(23, nl.nla_u8(1, 132), nl.nla_u16(2, 80),
                              nl.nla_be32(3, 0x0a000002),
                              nl.nla_u16(4, 80)))
    result(r.error == 22 and bool(r.extack),
           "nlfuzz-contract-fwd-add-sctp", repr(r))
    r = g.request(fam, nl.NATK_CMD_FWD_ADD, nl.NLM_F_ACK,
                  nl.nla_nest(23, nl.nla_u8(1, 6), nl.nla_u16(2, 0),
                              nl.nla_be32(3, 0x0a000002),
                              nl.nla_u16(4, 80)))
    result(r.error in (22, 34) and bool(r.extack),
           "nlfuzz-contract-fwd-add-port-0", repr(r))
    r = g.request(fam, nl.NATK_CMD_FWD_DEL, nl.NLM_F_ACK,
                  nl.nla_nest(23, nl.nla_u8(1, 6), nl.nla_u16(2, 4321)))
    result(r.error == 2, "nlfuzz-contract-fwd-del-missing", repr(r))
    r = g.request(fam, nl.NATK_CMD_DELETE_FLOW, nl.NLM_F_ACK)
    result(r.error == 22 and bool(r.extack),
           "nlfuzz-contract-delete-flow-no-flow", repr(r))
    r = g.request(fam, nl.NATK_CMD_DELETE_FLOW, nl.NLM_F_ACK,
                  nl.nla_nest(19, nl.nla_u8(1, 17)))
    result(r.error == 22 and bool(r.extack),
           "nlfuzz-contract-delete-flow-partial", repr(r))
    r = g.request(fam, nl.NATK_CMD_DELETE_FLOW, nl.NLM_F_ACK,
                  nl.nla_nest(19, nl.nla_u8(1, 17), nl.nla_be32(2, 0x0a0000fe),
                              nl.nla_u16(3, 9), nl.nla_be32(6, 0xc0000263),
                              nl.nla_u16(7, 9)))
    result(r.error == 2 and bool(r.extack),
           "nlfuzz-contract-delete-flow-missing", repr(r))
    # (named, not numbered: tests/scenarios/29-nlfuzz.sh declares them)
    for what, cmd in (("unspec", 0), ("flow-new", nl.NATK_CMD_FLOW_NEW),
                      ("flow-del", nl.NATK_CMD_FLOW_DEL),
                      ("state", nl.NATK_CMD_STATE),
                      ("map-new", nl.NATK_CMD_MAP_NEW),
                      ("map-del", nl.NATK_CMD_MAP_DEL),
                      ("flow-update", nl.NATK_CMD_FLOW_UPDATE),
                      ("max-plus-1", nl.NATK_CMD_MAX + 1), ("99", 99),
                      ("255", 255)):
        r = g.request(fam, cmd, nl.NLM_F_ACK)
        result(r.error == 95, "nlfuzz-contract-unknown-cmd-" + what,
               "cmd %d: want EOPNOTSUPP, got %r" % (cmd, r))
    r = g.request(fam, nl.NATK_CMD_SET_CONFIG, nl.NLM_F_ACK | nl.NLM_F_DUMP)
    result(r.error == 95, "nlfuzz-contract-dump-of-doit", repr(r))


# ------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--unpriv", action="store_true")
    ap.add_argument("--no-checks", action="store_true")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--max-seconds", type=float, default=150.0)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else \
        int.from_bytes(os.urandom(4), "little")
    tag = "nlfuzz" + ("-unpriv" if a.unpriv else "")
    print("%s: seed %d (rerun: nlfuzz.py --seed %d --count %d%s)" % (
        tag, seed, seed, a.count, " --unpriv" if a.unpriv else ""),
        flush=True)
    rng = random.Random(seed)
    g = nl.Genl()
    res = nl.resolve(g)
    if not res:
        result(False, tag + "-resolve", "no natk generic netlink family")
        return 1
    fam, groups = res
    print("%s: family id %d, groups %r" % (tag, fam, groups), flush=True)
    if not a.unpriv and not a.no_checks:
        exact_checks(g, fam)

    st = Stats()
    t0 = time.monotonic()
    i = 0
    dead = None
    while i < a.count:
        n = 1 if rng.random() < 0.9 else rng.randrange(2, 4)
        msgs = [gen_msg(rng, g, fam) for _ in range(n)]
        # a message with a lying nlmsg_len only at the end of a datagram,
        # and only one: the bytes of a second one would make the first's
        # length true again, and the kernel would parse it after all
        msgs.sort(key=lambda m: not m.hdr_ok)
        bad = [m.hdr_ok for m in msgs].index(False) if \
            not all(m.hdr_ok for m in msgs) else len(msgs)
        msgs = msgs[:bad + 1]
        n = len(msgs)
        run_datagram(g, msgs, st, a.unpriv, a.timeout)
        i += n
        if i % 500 < n:
            ok, why = alive(g, fam)
            if not ok:
                dead = "after %d messages: %s" % (i, why)
                break
        if time.monotonic() - t0 > a.max_seconds:
            print("%s: time budget of %.0f s used up after %d messages" % (
                tag, a.max_seconds, i), flush=True)
            break
    el = time.monotonic() - t0
    print("%s: %d messages in %d datagrams in %.1f s; %d asked for a reply, "
          "%d got one, %d lost; %d without NLM_F_ACK; %d ignored by the "
          "kernel (bad nlmsg_len); %d acks, %d dumps; %d errors with an "
          "extack offset; %d stray replies" % (
              tag, st.sent, st.datagrams, el, st.expected, st.replied,
              len(st.lost), st.optional, st.ignored, st.acks, st.dumps,
              st.with_offs, g.stray), flush=True)
    print("%s: replies by errno: %s" % (tag, ", ".join(
        "%s=%d" % kv for kv in sorted(st.errnos.items(),
                                      key=lambda kv: -kv[1]))), flush=True)
    print("%s: messages by command: %s" % (tag, ", ".join(
        "%s=%d" % kv for kv in sorted(st.cmds.items(), key=str))),
        flush=True)
    result(dead is None, tag + "-family-alive", dead or "")
    result(st.sent >= min(a.count, 1000), tag + "-sent",
           "only %d messages sent" % st.sent)
    result(not st.lost, tag + "-every-message-answered",
           "%d of %d messages that asked for an ack got no final reply, "
           "e.g. %s" % (len(st.lost), st.expected, "; ".join(st.lost[:3])))
    result(not st.dup, tag + "-replies-consistent", "; ".join(st.dup[:3]))
    if not a.unpriv:
        result(not st.no_extack, tag + "-einval-has-extack",
               "%d EINVAL/ERANGE replies without an extack message, e.g. %s"
               % (len(st.no_extack), "; ".join(st.no_extack[:3])))
    else:
        result(not st.priv_violations, tag + "-admin-commands-refused",
               "%d admin commands succeeded unprivileged, e.g. %s" % (
                   len(st.priv_violations),
                   "; ".join(st.priv_violations[:3])))
    ok, why = alive(g, fam)
    result(ok, tag + "-alive-at-end", "" if ok else why)
    if ok:
        print("%s: config at the end: %r" % (tag, why), flush=True)
    return 0 if all(" PASS " in r for r in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
