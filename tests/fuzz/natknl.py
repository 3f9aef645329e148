# SPDX-License-Identifier: GPL-2.0
"""Minimal generic netlink client for natk tests (python3 stdlib only).

Builds and parses netlink messages with struct; no libnl, no pyroute2.
The constants mirror include/uapi/linux/natk.h and the kernel's netlink
headers.
"""
import errno
import os
import select
import socket
import struct
import time

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NETLINK_CAP_ACK = 10

NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 1, 2, 3, 4
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x2, 0x4, 0x8
NLM_F_DUMP_INTR, NLM_F_DUMP_FILTERED = 0x10, 0x20
NLM_F_ROOT, NLM_F_MATCH, NLM_F_ATOMIC = 0x100, 0x200, 0x400
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLA_F_NESTED, NLA_F_NET_BYTEORDER = 0x8000, 0x4000
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2

GENL_ID_CTRL = 16
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
CTRL_ATTR_MAXATTR, CTRL_ATTR_OPS, CTRL_ATTR_MCAST_GROUPS = 5, 6, 7
CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID = 1, 2

# include/uapi/linux/natk.h
NATK_GENL_NAME = "natk"
NATK_GENL_VERSION = 1
NATK_TIMEOUT_MAX = 30 * 24 * 3600
(NATK_CMD_UNSPEC, NATK_CMD_GET_CONFIG, NATK_CMD_SET_CONFIG, NATK_CMD_DOWN,
 NATK_CMD_FLUSH, NATK_CMD_GET_STATS, NATK_CMD_GET_FLOWS, NATK_CMD_FWD_ADD,
 NATK_CMD_FWD_DEL, NATK_CMD_GET_FWDS, NATK_CMD_FLOW_NEW,
 NATK_CMD_FLOW_DEL, NATK_CMD_STATE, NATK_CMD_DELETE_FLOW,
 NATK_CMD_MAP_NEW, NATK_CMD_MAP_DEL, NATK_CMD_FLOW_ADD,
 NATK_CMD_FLOW_UPDATE) = range(18)
NATK_CMD_MAX = 17
ADMIN_CMDS = {NATK_CMD_SET_CONFIG, NATK_CMD_DOWN, NATK_CMD_FLUSH,
              NATK_CMD_GET_FLOWS, NATK_CMD_FWD_ADD, NATK_CMD_FWD_DEL,
              NATK_CMD_DELETE_FLOW, NATK_CMD_FLOW_ADD}
DUMP_CMDS = {NATK_CMD_GET_FLOWS, NATK_CMD_GET_FWDS}
DOIT_CMDS = {NATK_CMD_GET_CONFIG, NATK_CMD_SET_CONFIG, NATK_CMD_DOWN,
             NATK_CMD_FLUSH, NATK_CMD_GET_STATS, NATK_CMD_FWD_ADD,
             NATK_CMD_FWD_DEL, NATK_CMD_DELETE_FLOW, NATK_CMD_FLOW_ADD}

A = dict(ENABLED=1, IFINDEX=2, IFNAME=3, EXT_ADDR_BE=4, PORT_MIN=5,
         PORT_MAX=6, MAX_FLOWS=7, MAX_FLOWS_PER_HOST=8, FLOWS=9, MAPPING=10,
         FILTERING=11, TIMEOUT_TCP_EST=12, TIMEOUT_TCP_TRANS=13,
         TIMEOUT_UDP=14, TIMEOUT_ICMP=15, MSS_CLAMP=16, HASH_BUCKETS=17,
         STATS=18, FLOW=19, FILTER_PROTO=20, FILTER_ADDR_BE=21,
         FILTER_PORT=22, FWD=23, TIMESTAMP_NS=24, PAD=25, PORT_HOLD=26,
         PORTS_HELD=27, HASH_MAX_CHAIN=28,
         HASH_ENTRIES=29, FAST_PATH=30, FAST_PATH_WHY=31, STATE=32, RESET=33, DRY_RUN=34,
         FWD_REPLACE=35, INTERNAL=36, NO_NAT=37, MAP=38, ADDRS_MODE=39,
         ADDRS=40, POOL=41, PORT_BLOCK=42, PORT_BLOCKS_PER_HOST=43,
         ACCOUNTING=44)
NATK_A_MAX = 44
FWD_A = dict(PROTO=1, EXT_PORT=2, INT_ADDR_BE=3, INT_PORT=4, EXT_ADDR_BE=5)
NATK_FWD_A_MAX = 5
NATK_FLOW_A_MAX = 19
# NATK_FLOW_A_SEEN (u8): the directions a flow has had packets in.
NATK_FLOW_A_SEEN = 19
NATK_FLOW_F_SEEN_OUT, NATK_FLOW_F_SEEN_IN = 0x1, 0x2
NATK_STAT_MAX = 36
MAP_A = dict(PROTO=1, INT_ADDR_BE=2, INT_PORT=3, EXT_ADDR_BE=4, EXT_PORT=5,
             EXT_PORT_LAST=6)
NATK_MAP_A_MAX = 6
PREFIX_A = dict(ENTRY=1, ADDR_BE=2, LEN=3)
NATK_PREFIX_A_MAX = 3
NATK_PREFIXES_MAX = 64
# External addresses: NATK_A_ADDRS_MODE (enum natk_addrs_mode), NATK_A_ADDRS
# (NATK_RANGE_A_ENTRY nests), NATK_A_POOL (NATK_POOL_A_ENTRY nests).
ADDRS_MODE = dict(PRIMARY=0, ALL=1, LIST=2)
NATK_ADDRS_MODE_MAX = 2
RANGE_A = dict(ENTRY=1, FIRST_BE=2, LAST_BE=3)
NATK_RANGE_A_MAX = 3
POOL_A = dict(ENTRY=1, ADDR_BE=2, HOSTS=3, PORTS_TCP=4, PORTS_UDP=5,
              PORTS_ICMP=6, PAD=7, EXHAUSTED_TCP=8, EXHAUSTED_UDP=9,
              EXHAUSTED_ICMP=10, BLOCKS=11)
NATK_POOL_A_MAX = 11
NATK_ADDRS_MAX = 32
NATK_ADDR_RANGES_MAX = 16
# Port blocks: NATK_A_PORT_BLOCK (0 = off, or MIN..MAX ports),
# NATK_A_PORT_BLOCKS_PER_HOST (1..NATK_PORT_BLOCKS_MAX).
NATK_PORT_BLOCK_MIN = 8
NATK_PORT_BLOCK_MAX = 4096
NATK_PORT_BLOCKS_MAX = 32

# attribute -> natural payload size (0 = string / nest)
A_SIZE = {1: 1, 2: 4, 3: 0, 4: 4, 5: 2, 6: 2, 7: 4, 8: 4, 9: 4, 10: 1,
          11: 1, 12: 4, 13: 4, 14: 4, 15: 4, 16: 2, 17: 4, 18: 0, 19: 0,
          20: 1, 21: 4, 22: 2, 23: 0, 24: 8, 25: 0, 26: 4, 27: 4, 28: 4,
          29: 4, 30: 1, 31: 1, 32: 1, 33: 0, 34: 0, 35: 0, 36: 0, 37: 0, 38: 0,
          39: 1, 40: 0, 41: 0, 42: 2, 43: 2, 44: 1}
FWD_SIZE = {1: 1, 2: 2, 3: 4, 4: 2, 5: 4}


def align4(n):
    return (n + 3) & ~3


def nla(atype, payload, flags=0):
    """One attribute, padded to 4 bytes."""
    hdr = struct.pack("=HH", 4 + len(payload), atype | flags)
    return hdr + payload + b"\0" * (align4(len(payload)) - len(payload))


def nla_u8(t, v):
    return nla(t, struct.pack("=B", v & 0xff))


def nla_u16(t, v):
    return nla(t, struct.pack("=H", v & 0xffff))


def nla_u32(t, v):
    return nla(t, struct.pack("=I", v & 0xffffffff))


def nla_u64(t, v):
    return nla(t, struct.pack("=Q", v & 0xffffffffffffffff))


def nla_be32(t, v):
    return nla(t, struct.pack("!I", v & 0xffffffff))


def nla_str(t, s):
    return nla(t, s.encode() + b"\0")


def nla_nest(t, *attrs):
    return nla(t, b"".join(attrs), NLA_F_NESTED)


def parse_attrs(buf):
    """{type: payload} of a flat attribute stream (last one wins)."""
    out = {}
    off = 0
    while off + 4 <= len(buf):
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4 or off + alen > len(buf):
            break
        out[atype & 0x3fff] = buf[off + 4:off + alen]
        off += align4(alen)
    return out


def attr_list(buf):
    """[(type, payload)] of a flat attribute stream, in order."""
    out = []
    off = 0
    while off + 4 <= len(buf):
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4 or off + alen > len(buf):
            break
        out.append((atype & 0x3fff, buf[off + 4:off + alen]))
        off += align4(alen)
    return out


def nlmsg(mtype, flags, seq, payload, pid=0):
    return struct.pack("=IHHII", 16 + len(payload), mtype, flags, seq,
                       pid) + payload


def genlmsg(family, cmd, flags, seq, attrs=b"", version=NATK_GENL_VERSION):
    return nlmsg(family, flags, seq,
                 struct.pack("=BBH", cmd, version, 0) + attrs)


class Reply:
    """What came back for one request (one sequence number)."""

    def __init__(self):
        self.parts = []     # (type, flags, genl cmd, attrs bytes)
        self.error = None   # errno (positive) of an NLMSG_ERROR, 0 = ack
        self.done = False   # NLMSG_DONE seen
        self.done_err = 0
        self.extack = None  # NLMSGERR_ATTR_MSG text
        self.extack_offs = None
        self.flags_seen = 0

    @property
    def finished(self):
        return self.done or self.error is not None

    def __repr__(self):
        return ("Reply(parts=%d error=%r done=%r done_err=%r extack=%r)" %
                (len(self.parts), self.error, self.done, self.done_err,
                 self.extack))


class Genl:
    def __init__(self, rcvbuf=1 << 20, ext_ack=True):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                               NETLINK_GENERIC)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if ext_ack:
            self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.bind((0, 0))
        self.seq = int(time.time()) & 0xffff
        self.replies = {}
        self.stray = 0

    def next_seq(self):
        self.seq = (self.seq + 1) & 0xffffffff
        return self.seq

    def send(self, data):
        self.s.sendto(data, (0, 0))

    def _ingest(self, data):
        off = 0
        while off + 16 <= len(data):
            mlen, mtype, mflags, mseq, _ = struct.unpack_from("=IHHII",
                                                              data, off)
            if mlen < 16 or off + mlen > len(data):
                break
            body = data[off + 16:off + mlen]
            r = self.replies.get(mseq)
            if r is None:
                self.stray += 1
            else:
                r.flags_seen |= mflags
                if mtype == NLMSG_ERROR:
                    err = struct.unpack_from("=i", body, 0)[0]
                    r.error = -err
                    if mflags & NLM_F_ACK_TLVS:
                        omlen = struct.unpack_from("=I", body, 4)[0]
                        toff = 4 + (16 if mflags & NLM_F_CAPPED
                                    else align4(omlen))
                        tl = parse_attrs(body[toff:])
                        if NLMSGERR_ATTR_MSG in tl:
                            r.extack = tl[NLMSGERR_ATTR_MSG].rstrip(
                                b"\0").decode(errors="replace")
                        if NLMSGERR_ATTR_OFFS in tl:
                            r.extack_offs = struct.unpack(
                                "=I", tl[NLMSGERR_ATTR_OFFS][:4])[0]
                elif mtype == NLMSG_DONE:
                    r.done = True
                    if len(body) >= 4:
                        r.done_err = -struct.unpack_from("=i", body, 0)[0]
                    if mflags & NLM_F_ACK_TLVS:
                        tl = parse_attrs(body[4:])
                        if NLMSGERR_ATTR_MSG in tl:
                            r.extack = tl[NLMSGERR_ATTR_MSG].rstrip(
                                b"\0").decode(errors="replace")
                else:
                    cmd = body[0] if body else None
                    r.parts.append((mtype, mflags, cmd, body[4:]))
            off += align4(mlen)

    def expect(self, seq):
        r = Reply()
        self.replies[seq] = r
        return r

    def pump(self, timeout):
        """Read what is there, waiting up to timeout seconds for data."""
        rl, _, _ = select.select([self.s], [], [], timeout)
        if not rl:
            return False
        while True:
            try:
                data = self.s.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return True
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    self.stray += 1
                    continue
                raise
            self._ingest(data)

    def wait(self, cond, timeout):
        end = time.monotonic() + timeout
        while not cond():
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.pump(left)
        return True

    def request(self, mtype, cmd, flags, attrs=b"", timeout=10):
        seq = self.next_seq()
        r = self.expect(seq)
        self.send(genlmsg(mtype, cmd, flags | NLM_F_REQUEST, seq, attrs))
        self.wait(lambda: r.finished or
                  (not (flags & (NLM_F_ACK | NLM_F_DUMP)) and r.parts),
                  timeout)
        del self.replies[seq]
        return r

    def close(self):
        self.s.close()


def resolve(g, name=NATK_GENL_NAME):
    """(family id, {group name: id}) of a generic netlink family, or None."""
    r = g.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK,
                  nla_str(CTRL_ATTR_FAMILY_NAME, name))
    if r.error or not r.parts:
        return None
    at = parse_attrs(r.parts[0][3])
    fam = struct.unpack("=H", at[CTRL_ATTR_FAMILY_ID][:2])[0]
    groups = {}
    for _, grp in attr_list(at.get(CTRL_ATTR_MCAST_GROUPS, b"")):
        ga = parse_attrs(grp)
        if CTRL_ATTR_MCAST_GRP_NAME in ga and CTRL_ATTR_MCAST_GRP_ID in ga:
            groups[ga[CTRL_ATTR_MCAST_GRP_NAME].rstrip(b"\0").decode()] = \
                struct.unpack("=I", ga[CTRL_ATTR_MCAST_GRP_ID][:4])[0]
    return fam, groups


def get_config(g, fam):
    """NATK_CMD_GET_CONFIG as {attr name: int or str}, or the Reply."""
    r = g.request(fam, NATK_CMD_GET_CONFIG, NLM_F_ACK)
    if r.error or not r.parts:
        return r
    names = {v: k for k, v in A.items()}
    out = {}
    for t, p in parse_attrs(r.parts[0][3]).items():
        n = names.get(t, str(t))
        if t == A["IFNAME"]:
            out[n] = p.rstrip(b"\0").decode(errors="replace")
        elif len(p) in (1, 2, 4, 8):
            out[n] = int.from_bytes(p, "little" if t != A["EXT_ADDR_BE"]
                                    else "big")
    return out


def errname(e):
    if e is None:
        return "none"
    return errno.errorcode.get(e, str(e))


if __name__ == "__main__":
    g = Genl()
    res = resolve(g)
    print("family", res)
    if res:
        print(get_config(g, res[0]))
    os._exit(0)
