# SPDX-License-Identifier: GPL-2.0
# Helpers for the RFC conformance scenarios (tests/scenarios/3*-*.sh, 4*).
# Source after tests/lib/netns.sh. bash.
# shellcheck shell=bash

FAR=198.51.100.2	# a host two hops beyond the NAT (netns far)
FAR_GW=198.51.100.1	# wan's address on the far link

# rfc_far_setup: netns far behind wan (wan forwards): wan eth1
# 198.51.100.1/24 -- far eth0 198.51.100.2/24; nat routes 198.51.100.0/24
# via wan. Traceroute and PMTU need a router beyond the NAT's neighbour.
rfc_far_setup() {
	_ns_base far || return 1
	nsx wan sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n wan link add eth1 type veth peer name eth0 netns far || return 1
	ip -n wan addr add $FAR_GW/24 dev eth1 && ip -n wan link set eth1 up || return 1
	ip -n far addr add $FAR/24 dev eth0 && ip -n far link set eth0 up || return 1
	ip -n far route add default via $FAR_GW || return 1
	ip -n nat route add 198.51.100.0/24 via $WAN1 || return 1
	poll 10 nsx far ping -c1 -W1 $FAR_GW || { echo "far: cannot reach wan"; return 1; }
	poll 10 nsx nat ping -c1 -W1 $FAR || { echo "nat: cannot reach far"; return 1; }
}

# stat_delta NAME BEFORE: how much counter NAME grew since BEFORE
stat_delta() {
	local now
	now=$(stat_of "$1")
	echo $(( ${now:-0} - ${2:-0} ))
}

# rfc_wait_file FILE PATTERN [TIMEOUT]: until FILE has a line matching
rfc_wait_file() {
	poll "${3:-10}" grep -q -- "$2" "$1"
}

# rfcpy SUBCOMMAND ARGS...: the python3 tool below (raw ICMP errors, an
# ICMP error sniffer, UDP servers and senders with checksummed payloads,
# hand-made fragments, TCP connects). Plain sockets, no scapy: importing
# scapy takes tens of seconds under TCG.
rfcpy() { python3 -c "$RFC_PY" "$@"; }

# shellcheck disable=SC2016
RFC_PY='
import errno, hashlib, json, os, select, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def pattern(n):
    return bytes((i * 7 + 3) % 251 for i in range(n))

def md5(b):
    return hashlib.md5(b).hexdigest()

def iphdr(src, dst, proto, plen, ident=0x4242, frag=0, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + plen, ident, frag, ttl,
                    proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]

def udp_packet(src, sport, dst, dport, data):
    ln = 8 + len(data)
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ln)
    u = struct.pack("!HHHH", sport, dport, ln, 0) + data
    c = csum(ph + u) or 0xffff
    return u[:6] + struct.pack("!H", c) + u[8:]

def out(path):
    return open(path, "a", buffering=1) if path != "-" else sys.stdout

def cmd_icmperr(a):
    # icmperr TO TYPE CODE PROTO ISRC ISPORT IDST IDPORT [badsum] [mtu=N]
    to, typ, code, proto = a[0], int(a[1]), int(a[2]), a[3]
    isrc, isport, idst, idport = a[4], int(a[5]), a[6], int(a[7])
    bad = "badsum" in a[8:]
    mtu = 0
    for x in a[8:]:
        if x.startswith("mtu="):
            mtu = int(x[4:])
    if proto == "udp":
        l4 = struct.pack("!HHHH", isport, idport, 108, 0x1234); pn = 17
    elif proto == "tcp":
        l4 = struct.pack("!HHI", isport, idport, 12345); pn = 6
    else:
        l4 = struct.pack("!BBHHH", 8, 0, 0, isport, 1); pn = 1
        l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
    inner = iphdr(isrc, idst, pn, 100, ttl=1) + l4
    rest = struct.pack("!HH", 0, mtu) if typ == 3 and code == 4 else (b"\0\0\0\0" if typ != 12 else b"\x14\0\0\0")
    msg = struct.pack("!BBH", typ, code, 0) + rest + inner
    c = csum(msg)
    if bad:
        c ^= 0x5a5a
    msg = msg[:2] + struct.pack("!H", c) + msg[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(msg, (to, 0))

def cmd_sniff(a):
    # sniff OUTFILE SECONDS: one JSON line per ICMP error received
    f = out(a[0]); end = time.time() + float(a[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    f.write("#ready\n")
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        p = s.recv(65535)
        ihl = (p[0] & 15) * 4
        ic = p[ihl:]
        if len(ic) < 8 or ic[0] not in (3, 4, 5, 11, 12):
            continue
        d = {"src": socket.inet_ntoa(p[12:16]), "dst": socket.inet_ntoa(p[16:20]),
             "type": ic[0], "code": ic[1], "csum_ok": csum(ic) == 0,
             "mtu": struct.unpack("!H", ic[6:8])[0]}
        inn = ic[8:]
        if len(inn) >= 28:
            il = (inn[0] & 15) * 4
            d.update({"inner_src": socket.inet_ntoa(inn[12:16]),
                      "inner_dst": socket.inet_ntoa(inn[16:20]),
                      "inner_proto": inn[9],
                      "inner_ipcsum_ok": csum(inn[:il]) == 0})
            l4 = inn[il:]
            if inn[9] == 1:
                d["inner_sport"] = struct.unpack("!H", l4[4:6])[0]
                d["inner_dport"] = 0
            else:
                d["inner_sport"], d["inner_dport"] = struct.unpack("!HH", l4[:4])
        f.write(json.dumps(d) + "\n")

def cmd_udpsrv(a):
    # udpsrv BIND PORT OUTFILE [first=H:P] [reply=peer|echo|none]
    # logs "SRC SPORT LEN MD5 HEAD" per datagram; replies as asked
    f = out(a[2]); opts = dict(x.split("=", 1) for x in a[3:])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a[0], int(a[1])))
    if "first" in opts:
        h, p = opts["first"].rsplit(":", 1)
        s.sendto(b"open", (h, int(p)))
    f.write("#ready\n")
    rep = opts.get("reply", "none")
    while True:
        d, src = s.recvfrom(65535)
        f.write("%s %d %d %s %s\n" % (src[0], src[1], len(d), md5(d),
                d[:16].decode("ascii", "replace").split()[0] if d[:1].isalpha() else "-"))
        try:
            if rep == "peer":
                s.sendto(("%s %d\n" % src).encode(), src)
            elif rep == "echo":
                s.sendto(d, src)
        except OSError:
            pass  # e.g. no route back to an untranslated source

def cmd_udpsend(a):
    # udpsend SRC SPORT DST DPORT DATA|size=N [df] [count=N] [wait=SEC]
    # with wait: print "LEN MD5 SRC SPORT" of the reply, or "none"
    opts = dict(x.split("=", 1) for x in a[5:] if "=" in x)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if "df" in a[5:]:
        s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER, IP_PMTUDISC_DO
    s.bind((a[0], int(a[1])))
    data = pattern(int(a[4][5:])) if a[4].startswith("size=") else a[4].encode()
    res = "sent"
    n = int(opts.get("count", 1))
    for i in range(n):
        try:
            s.sendto(data, (a[2], int(a[3])))
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
        if i < n - 1:
            time.sleep(float(opts.get("gap", 0)))
    if "wait" in opts:
        s.settimeout(float(opts["wait"]))
        try:
            d, src = s.recvfrom(65535)
            print("%d %s %s %d" % (len(d), md5(d), src[0], src[1]))
        except socket.timeout:
            print("none")
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))
    else:
        print(res)

def cmd_udpmany(a):
    # udpmany SRC:SPORT:DST:DPORT:DATA...: one datagram each, in order
    for spec in a:
        src, sport, dst, dport, data = spec.split(":", 4)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, int(sport)))
        s.sendto(data.encode(), (dst, int(dport)))
        s.close()

def cmd_udperr(a):
    # udperr DST DPORT SPORT SECONDS: connected UDP; the error it gets
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(a[2])))
    s.connect((a[0], int(a[1])))
    s.settimeout(float(a[3]))
    try:
        s.send(b"probe")
        s.recv(100)
        print("reply")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))

def cmd_md5(a):
    print(md5(pattern(int(a[0]))))

def cmd_frags(a):
    # frags SRC SPORT DST DPORT SIZE ORDER FRAGLEN: UDP datagram of SIZE
    # pattern bytes as IP fragments of FRAGLEN (multiple of 8) payload bytes,
    # sent in ORDER: forward, reverse, shuffle or first (only the first)
    src, sport, dst, dport, size, order, fl = a[0], int(a[1]), a[2], int(a[3]), int(a[4]), a[5], int(a[6])
    u = udp_packet(src, sport, dst, dport, pattern(size))
    ident = os.getpid() & 0xffff
    frs = []
    for off in range(0, len(u), fl):
        chunk = u[off:off + fl]
        mf = 0x2000 if off + fl < len(u) else 0
        frs.append(iphdr(src, dst, 17, len(chunk), ident, mf | (off // 8)) + chunk)
    if order == "reverse":
        frs.reverse()
    elif order == "shuffle":
        frs = frs[1::2] + frs[0::2]
    elif order == "first":
        frs = frs[:1]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for fr in frs:
        s.sendto(fr, (dst, 0))
    print(len(frs))

def cmd_tcpconnect(a):
    # tcpconnect SRC SPORT DST DPORT SECONDS: connected, refused, timeout,
    # or the errno name
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a[0], int(a[1])))
    s.settimeout(float(a[4]))
    t = time.time()
    try:
        s.connect((a[2], int(a[3])))
        print("connected")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print("%s %.1f" % (errno.errorcode.get(e.errno, str(e.errno)), time.time() - t))

def cmd_tcpsim(a):
    # tcpsim SRC SPORT DST DPORT SECONDS MSG: bind, connect (retried on
    # refusal), send MSG, print "connected" and the first line received
    end = time.time() + float(a[4])
    while time.time() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a[0], int(a[1])))
        s.settimeout(max(0.5, end - time.time()))
        try:
            s.connect((a[2], int(a[3])))
        except (ConnectionRefusedError, ConnectionResetError):
            s.close(); time.sleep(0.2); continue
        except socket.timeout:
            break
        print("connected", flush=True)
        s.sendall((a[5] + "\n").encode())
        try:
            print(s.makefile().readline().strip(), flush=True)
        except socket.timeout:
            print("noreply")
        time.sleep(1)
        return
    print("failed")

def cmd_tcprst(a):
    # tcprst SRC SPORT DST DPORT: connect, read the greeting line, then
    # abort the connection (SO_LINGER 0: RST, no FIN)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a[0], int(a[1])))
    s.settimeout(10)
    s.connect((a[2], int(a[3])))
    print(s.makefile().readline().strip())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def cmd_tcpsink(a):
    # tcpsink SRC DST DPORT BYTES SECONDS: send BYTES pattern bytes, print
    # what the peer says back (tcpcount replies with "LEN MD5")
    s = socket.create_connection((a[1], int(a[2])), timeout=float(a[4]), source_address=(a[0], 0))
    s.sendall(pattern(int(a[3])))
    s.shutdown(socket.SHUT_WR)
    print(s.makefile().read().strip())

def cmd_tcpcount(a):
    # tcpcount BIND PORT: for each connection, read to EOF, answer "LEN MD5"
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((a[0], int(a[1])))
    l.listen(8)
    while True:
        c, _ = l.accept()
        b = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            b += d
        c.sendall(("%d %s\n" % (len(b), md5(b))).encode())
        c.close()

def cmd_echo(a):
    # echo DST ID [count=N]: ICMP echo requests with a fixed identifier
    opts = dict(x.split("=", 1) for x in a[2:])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for seq in range(int(opts.get("count", 1))):
        m = struct.pack("!BBHHH", 8, 0, 0, int(a[1]), seq) + b"natk-rfc"
        m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
        s.sendto(m, (a[0], 0))

globals()["cmd_" + sys.argv[1]](sys.argv[2:])
'

# sniff_start NS FILE [SECONDS]: log ICMP errors arriving in NS to FILE
# (JSON lines, see cmd_sniff) in the background, until SECONDS (default
# 120) pass; returns once the raw socket is open.
sniff_start() {
	: > "$2"
	nsx "$1" python3 -c "$RFC_PY" sniff "$2" "${3:-120}" &
	rfc_wait_file "$2" '^#ready' 10
}

# sniff_match FILE JQ-CONDITION: print the first logged error matching
sniff_match() {
	grep -v '^#' "$1" | jq -c "select($2)" 2>/dev/null | sed -n 1p
}

# sniff_wait FILE JQ-CONDITION [TIMEOUT]: until such an error is logged
sniff_wait() {
	poll "${3:-5}" sh -c "grep -v '^#' '$1' | jq -e -c 'select($2)' | grep -q ."
}

# rfc_expect_match NAME FILE JQ-CONDITION WHAT: PASS if an error matching
# was logged within 5 s, else FAIL showing what was logged
rfc_expect_match() {
	if sniff_wait "$2" "$3" "${5:-5}"; then
		pass "$1"
	else
		fail "$1" "$4; ICMP errors seen: $(grep -v '^#' "$2" | tr '\n' ' ' | cut -c1-600)"
	fi
}
