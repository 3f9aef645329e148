/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * natk: in-kernel IPv4 masquerading NAT with its own flow table.
 *
 * Generic netlink API, family NATK_GENL_NAME ("natk"), version
 * NATK_GENL_VERSION. The family is network-namespace aware: every command
 * acts on the network namespace of the socket that sends it. Looking the
 * family up autoloads natk.ko (MODULE_ALIAS_GENL_FAMILY).
 *
 * Permissions: NATK_CMD_SET_CONFIG, NATK_CMD_DOWN, NATK_CMD_FLUSH,
 * NATK_CMD_FLOW_ADD, NATK_CMD_DELETE_FLOW, NATK_CMD_FWD_ADD,
 * NATK_CMD_FWD_DEL and the dumps NATK_CMD_GET_FLOWS and
 * NATK_CMD_GET_FWDS (both reveal internal addresses) require CAP_NET_ADMIN
 * in the user namespace that owns the network namespace
 * (GENL_UNS_ADMIN_PERM). An unprivileged caller gets -EPERM.
 * NATK_CMD_GET_CONFIG and NATK_CMD_GET_STATS are open to everyone.
 * Joining the NATK_MCGRP_EVENTS group needs the same CAP_NET_ADMIN (flow
 * events reveal internal addresses).
 *
 * Containers: the root of a container (CAP_NET_ADMIN over its own network
 * namespace, not the host's) may configure natk in that namespace and no
 * other. The memory natk allocates for the namespace's flows, mappings and
 * hosts is charged to the memory cgroup of the task that first set its
 * external interface, so a container's limit bounds it. In a network
 * namespace owned by a user namespace other than the initial one,
 * NATK_A_MAX_FLOWS defaults to NATK_USERNS_MAX_FLOWS and cannot be set
 * higher (-EPERM); the host's root has the full range.
 *
 * Errors are reported as negative errno in the netlink ack. Where the kernel
 * can say more, the ack carries an extended-ack message (NLMSGERR_ATTR_MSG)
 * and, for a bad attribute, its offset (NLMSGERR_ATTR_OFFS). Every command
 * has a strict attribute policy: unknown attributes, wrong types, wrong
 * lengths and out-of-range values are rejected with -EINVAL (or -ERANGE)
 * and an extack naming the attribute.
 *
 * Integers are in host byte order unless the attribute name ends in _BE,
 * where they are in network byte order (addresses and ports as they appear
 * on the wire). Addresses are IPv4 (__be32).
 *
 * NATK_CMD_GET_CONFIG (doit)
 *   Takes nothing. Returns one message with NATK_CMD_GET_CONFIG and:
 *     NATK_A_ENABLED       u8   1 if an external interface is set in this
 *                               netns (masquerading, or waiting for it)
 *     NATK_A_STATE         u8   enum natk_state: masquerading, or what
 *                               natk waits for
 *     NATK_A_IFNAME        string   the external interface's name, sent
 *                               when enabled (even while it does not exist)
 *     NATK_A_IFINDEX       u32  its index, sent while it exists
 *     NATK_A_EXT_ADDR_BE   u32  its primary IPv4 address (sent when
 *                               enabled), 0 if it has none right now
 *     NATK_A_PORT_MIN, NATK_A_PORT_MAX  u16  port range for mappings
 *     NATK_A_MAX_FLOWS     u32  flow table limit
 *     NATK_A_MAX_FLOWS_PER_HOST u32  per internal host limit, 0 = none
 *     NATK_A_FLOWS         u32  flows in use now
 *     NATK_A_MAPPING       u8   enum natk_mapping
 *     NATK_A_FILTERING     u8   enum natk_filtering
 *     NATK_A_TIMEOUT_*     u32  seconds
 *     NATK_A_MSS_CLAMP     u16  0 = off, NATK_MSS_CLAMP_PMTU, or a value
 *                               in NATK_MSS_MIN..NATK_MSS_MAX: the MSS
 *                               option of TCP SYNs crossing natk is
 *                               lowered to it
 *     NATK_A_HASH_BUCKETS  u32  current size of the flow hash table
 *     NATK_A_PORT_HOLD     u32  seconds an external port stays reserved
 *                               after its mapping's last flow ended
 *                               (RFC 6888 REQ-8; 0 = none)
 *     NATK_A_PORTS_HELD    u32  external ports reserved that way now
 *     NATK_A_HASH_MAX_CHAIN u32  the longest hash chain now, in any of
 *                               natk's hash tables of this netns (flows
 *                               both ways, mappings, filtering index,
 *                               hosts): the most entries in one bucket,
 *                               among at most 65536 buckets of each table
 *                               (a window from a random bucket in a
 *                               larger one). Keyed hashes and rehashing
 *                               keep it small whatever tuples are sent.
 *     NATK_A_HASH_ENTRIES  u32  flows in the flow hash table now, as the
 *                               table counts them (NATK_A_FLOWS is the
 *                               count natk admits new flows by; the table
 *                               never holds more)
 *     NATK_A_FAST_PATH     u8   enum natk_fast_path, the mode set
 *     NATK_A_FAST_PATH_WHY u8   enum natk_fp_why: NATK_FP_ACTIVE if the
 *                               fast path runs now, else why not
 *     NATK_A_FWD_REPLACE   flag this module takes NATK_A_FWD_REPLACE in
 *                               NATK_CMD_SET_CONFIG (an older one rejects
 *                               the request)
 *     NATK_A_INTERNAL      nest  the source prefixes natk masquerades
 *                               (see "Scope" below); sent, possibly
 *                               empty, by every module that takes it
 *     NATK_A_NO_NAT        nest  the destination prefixes it leaves
 *                               untranslated; likewise
 *     NATK_A_ADDRS_MODE, NATK_A_ADDRS, NATK_A_POOL  the external
 *                               addresses (see "External addresses")
 *     NATK_A_PORT_BLOCK, NATK_A_PORT_BLOCKS_PER_HOST  u16 (see "Port
 *                               blocks")
 *     NATK_A_ACCOUNTING    u8   1: flows created from now on count their
 *                               packets and bytes (see "Accounting")
 *
 * NATK_CMD_SET_CONFIG (doit, CAP_NET_ADMIN)
 *   Takes any subset of: NATK_A_IFINDEX or NATK_A_IFNAME (start
 *   masquerading out of that interface; by index it must exist, by name it
 *   need not: see "External interface" below), NATK_A_PORT_MIN with
 *   NATK_A_PORT_MAX (both, min <= max, 1..65535), NATK_A_MAX_FLOWS
 *   (1..16777216), NATK_A_MAX_FLOWS_PER_HOST (0 = no limit),
 *   NATK_A_MAPPING, NATK_A_FILTERING, NATK_A_TIMEOUT_* (1..NATK_TIMEOUT_MAX
 *   seconds; they apply to existing flows at once), NATK_A_MSS_CLAMP,
 *   NATK_A_PORT_HOLD (0..NATK_PORT_HOLD_MAX seconds, default 120),
 *   NATK_A_FAST_PATH, NATK_A_INTERNAL, NATK_A_NO_NAT, NATK_A_ADDRS_MODE,
 *   NATK_A_ADDRS (see "External addresses"), NATK_A_PORT_BLOCK,
 *   NATK_A_PORT_BLOCKS_PER_HOST (see "Port blocks"), NATK_A_ACCOUNTING.
 *   All attributes are validated before any is applied: the command
 *   applies all of them or none. With NATK_A_RESET (flag) every setting
 *   the request does not give returns to its default, the external
 *   interface included (none: natk stops), as a configuration file is
 *   applied. With NATK_A_FWD_REPLACE (flag) the request's NATK_A_FWD
 *   attributes (nests as for NATK_CMD_FWD_ADD, any number up to
 *   NATK_FWDS_MAX, each at the top level of the message) are the complete
 *   set of port forwards, changed with the settings in one transaction:
 *   a forward listed as it is stays untouched with its flows, one not
 *   listed is deleted, a new port is added, and a port whose internal
 *   endpoint changed takes the new one at once (its flows to the old
 *   endpoint go on until they end). Either all of it is applied or
 *   nothing is, and a refused forward is named by the error's attribute
 *   offset (NLMSGERR_ATTR_OFFS). Without NATK_A_FWD_REPLACE the forwards
 *   are left as they are. With NATK_A_DRY_RUN (flag) the request is
 *   validated as if it were applied (ranges, limits, a container's caps,
 *   forwards against the mappings in use) and nothing changes. Settings
 *   made before an external interface is set are kept and used when it
 *   is. Changing the external interface (or its address changing), the
 *   mapping or the filtering behaviour flushes all dynamic flows. When
 *   the table is full, flows that have not seen traffic in both
 *   directions are evicted first. Returns an empty ack.
 *
 * Scope (NATK_A_INTERNAL, NATK_A_NO_NAT): which packets routed out of the
 * external interface natk masquerades, as iptables' `-s PREFIX` and
 * `! -d PREFIX` on a MASQUERADE rule. Each is a nest holding up to
 * NATK_PREFIXES_MAX NATK_PREFIX_A_ENTRY nests, each with
 * NATK_PREFIX_A_ADDR_BE (__be32, no bits set past the length) and
 * NATK_PREFIX_A_LEN (u8, 0..32). In SET_CONFIG a nest replaces that list
 * (an empty nest empties it). A new flow is made only for a packet whose
 * source is in one of NATK_A_INTERNAL's prefixes (an empty list: any
 * source, the default) and whose destination is in none of NATK_A_NO_NAT's
 * (default: none). Any other packet leaves as it is, counted in
 * NATK_STAT_PASSED_OUT_OF_SCOPE. Established flows and port forwards are
 * not affected by the lists; changing a list deletes the dynamic flows it
 * puts out of scope (reason NATK_REASON_FLUSH).
 *
 * External addresses (NATK_A_ADDRS_MODE, enum natk_addrs_mode): which IPv4
 * addresses of the external interface natk masquerades behind.
 * NATK_ADDRS_PRIMARY (the default) uses its primary address;
 * NATK_ADDRS_ALL every address of global scope it has, following them as
 * they come and go; NATK_ADDRS_LIST those of NATK_A_ADDRS it has. At most
 * NATK_ADDRS_MAX are used (ALL: the first ones). NATK_A_ADDRS is a nest of
 * up to NATK_ADDR_RANGES_MAX NATK_RANGE_A_ENTRY nests, each with
 * NATK_RANGE_A_FIRST_BE and NATK_RANGE_A_LAST_BE (__be32, first <= last),
 * NATK_ADDRS_MAX addresses in all. In SET_CONFIG, NATK_ADDRS_LIST needs
 * NATK_A_ADDRS (in the same request or set before), and while the
 * interface exists each listed address must be on it (-EADDRNOTAVAIL,
 * with an extack naming it); an address that later goes from the
 * interface is left out until it comes back. The addresses in use are
 * the pool. NATK_A_EXT_ADDR_BE is the primary external address: the
 * interface's primary address if it is in the pool, else the first in
 * the pool; natk waits (NATK_STATE_WAIT_ADDRESS) while the pool is empty.
 *
 * Paired pooling (RFC 4787 REQ-2): every mapping of one internal host uses
 * the same external address while the host has a flow. A host is paired
 * when it gets its first flow, with the address that has the fewest hosts
 * paired (the first in the pool on a tie). A port forward uses the address
 * its NATK_FWD_A_EXT_ADDR_BE names, or without one the primary external
 * address, whichever it is at the time; an internal endpoint a forward
 * maps sends through its forward's address. An address that leaves the
 * pool ends the flows and held ports on it alone (NATK_REASON_FLUSH).
 *
 * Port blocks (RFC 7422 style, NATK_A_PORT_BLOCK, 0 = off, the default,
 * or NATK_PORT_BLOCK_MIN..NATK_PORT_BLOCK_MAX ports): each internal host
 * gets blocks of that many contiguous ports on its paired address, from
 * the port range (NATK_A_PORT_MIN + k * size), and all its dynamic
 * mappings (TCP, UDP and ICMP) take ports inside its blocks. It gets a
 * block with its first flow and another when its blocks are full, up to
 * NATK_A_PORT_BLOCKS_PER_HOST (1..NATK_PORT_BLOCKS_MAX, default 8); past
 * that its new mappings are dropped (NATK_STAT_DROP_NO_PORT, counted as
 * exhaustion of its address). The block is chosen at random among the
 * free ones, and the port inside it at random too, keeping the internal
 * port (and its parity) where the block allows; ports below 1024 are not
 * kept below 1024. A host's blocks are freed when its last flow ends
 * (ports still held inside stay held). Changing either setting flushes
 * the dynamic flows. NATK_POOL_A_BLOCKS counts an address's blocks in
 * use. With blocks on, the mapping log has one event per block instead
 * of one per mapping (see NATK_MCGRP_MAPPINGS).
 *
 * Accounting (NATK_A_ACCOUNTING, 0 = off, the default, as
 * nf_conntrack_acct): a flow created while it is on counts its packets and
 * bytes each way, and dumps and events carry NATK_FLOW_A_PKTS_OUT,
 * _BYTES_OUT, _PKTS_IN and _BYTES_IN for it; a flow created while it is
 * off has no counters (32 bytes less kernel memory a flow, and no write to
 * the flow per packet) and carries none. Changing it leaves existing flows
 * as they are. Every flow carries NATK_FLOW_A_SEEN: the directions it has
 * had packets in (NATK_FLOW_F_SEEN_OUT, NATK_FLOW_F_SEEN_IN).
 *
 * NATK_CMD_GET_CONFIG returns NATK_A_ADDRS_MODE, NATK_A_ADDRS (LIST mode)
 * and NATK_A_POOL: a nest of NATK_POOL_A_ENTRY nests, one per address in
 * the pool, each with NATK_POOL_A_ADDR_BE, NATK_POOL_A_HOSTS (u32,
 * internal hosts paired with it; only while natk keeps an object per
 * internal host: with more than one address, a per-host limit or port
 * blocks), NATK_POOL_A_PORTS_TCP, _UDP, _ICMP (u32,
 * its external ports that endpoint-independent mappings hold now, held
 * ports included; address-and-port-dependent mapping holds none) and
 * NATK_POOL_A_EXHAUSTED_TCP, _UDP, _ICMP (u64, new flows dropped because
 * that address had no free port: also counted in
 * NATK_STAT_PORT_ALLOCATION_ERRORS).
 *
 * External interface: natk binds it by name, as nft's oifname does. When
 * no interface of that name exists (it was deleted or renamed, or is not
 * there yet at boot) natk keeps its configuration, forwards and flows,
 * masquerades nothing and waits (NATK_STATE_WAIT_INTERFACE); while the
 * interface has no IPv4 address it waits for one
 * (NATK_STATE_WAIT_ADDRESS). When an interface of that name with an
 * address appears it resumes by itself. Flows made before are kept if the
 * address is the one they were made with, and flushed if it differs. Each
 * change of state is logged ("natk: ...") and sent as NATK_CMD_STATE.
 *
 * NATK_CMD_DOWN (doit, CAP_NET_ADMIN)
 *   Stops masquerading in this netns: unhooks and flushes all flows.
 *   Configuration values other than the interface are kept.
 *
 * NATK_CMD_FLUSH (doit, CAP_NET_ADMIN)
 *   Deletes all dynamic flows and releases held ports. Static port
 *   forwards stay.
 *
 * Port hold (RFC 6888 REQ-8): when the last flow of an endpoint-independent
 * mapping ends, its external port is held for NATK_A_PORT_HOLD seconds:
 * no other internal endpoint gets it, inbound packets to it are not
 * forwarded, and the same internal endpoint gets the same port back if it
 * sends again. NATK_CMD_DOWN, a flush, an external address change and a
 * new port forward on that port release held ports at once. The port of a
 * deleted forward is not held.
 *
 * NATK_CMD_GET_STATS (doit)
 *   Returns NATK_A_STATS, a nest of u64 counters indexed by enum
 *   natk_stat (NATK_STAT_*), summed over all CPUs. Counters only grow;
 *   NATK_STAT_ACTIVE_CONNECTIONS is a gauge. Attributes unknown to an old
 *   reader must be ignored: new counters are appended.
 *
 * NATK_CMD_GET_FLOWS (dump, CAP_NET_ADMIN)
 *   Optional filters in the request: NATK_A_FILTER_PROTO (u8 IPPROTO_*),
 *   NATK_A_FILTER_ADDR_BE (internal address), NATK_A_FILTER_PORT (u16,
 *   internal port). Each message carries one or more NATK_A_FLOW nests,
 *   each with NATK_FLOW_A_* attributes. A long dump is split over many
 *   messages and resumed by the kernel where it left off. If the table was
 *   resized or flushed while the dump ran, messages carry NLM_F_DUMP_INTR:
 *   the dump may have missed or repeated flows and should be retried.
 *
 *   Each flow carries NATK_FLOW_A_ID: the same in every dump and event
 *   for the flow's whole life, and (but for a 32-bit collision) different
 *   for every other flow, and for a later one with the same tuple unless
 *   it was created within the same clock tick (as conntrack's ids).
 *
 * NATK_CMD_DELETE_FLOW (doit, CAP_NET_ADMIN)
 *   Deletes one flow: NATK_A_FLOW nest with NATK_FLOW_A_PROTO,
 *   NATK_FLOW_A_INT_ADDR_BE, NATK_FLOW_A_INT_PORT, NATK_FLOW_A_REM_ADDR_BE
 *   and NATK_FLOW_A_REM_PORT as a dump gives them and, to delete only that
 *   flow and not a newer one with the same tuple, NATK_FLOW_A_ID. Its
 *   NATK_CMD_FLOW_DEL event has reason NATK_REASON_DELETED; its mapping
 *   is held as after any flow's end. -ENOENT if there is no such flow.
 *   To delete by a filter, dump with it and delete what it returned, as
 *   conntrack -D does.
 *
 * NATK_CMD_FLOW_ADD (doit, CAP_NET_ADMIN)
 *   Imports one flow as a dump or event describes it (a table saved before
 *   the module was reloaded, or a peer's): NATK_A_FLOW nest with
 *   NATK_FLOW_A_PROTO, NATK_FLOW_A_INT_ADDR_BE, NATK_FLOW_A_INT_PORT,
 *   NATK_FLOW_A_EXT_ADDR_BE, NATK_FLOW_A_EXT_PORT, NATK_FLOW_A_REM_ADDR_BE,
 *   NATK_FLOW_A_REM_PORT, and optionally NATK_FLOW_A_STATE (TCP; default
 *   NATK_TCP_ESTABLISHED), NATK_FLOW_A_EXPIRES_MS (default: a full idle
 *   timeout; never more), the four NATK_FLOW_A_PKTS_ / _BYTES_
 *   counters (kept if the flow is accounted: NATK_A_ACCOUNTING on here)
 *   and NATK_FLOW_A_SEEN (without it: a direction with packets counted,
 *   or an established TCP state, counts as seen). The flow keeps that
 *   external port: its endpoint's mapping is made with it (or must
 *   already have it), and a port forward's flow
 *   goes through that forward. While natk waits for its interface or
 *   address (an HA pair's standby, before keepalived gives it the
 *   address), flows are imported too, with any external address: they
 *   stay when natk gets that address, and go if it gets others. With the flag
 *   NATK_FLOW_A_UPDATE a flow that exists with the same external port is
 *   updated instead (state, time left, counters; a peer's update). Errors, each with an
 *   extack: -ENETDOWN no external interface set; -EADDRNOTAVAIL the
 *   external address is not in natk's pool;
 *   -EEXIST the flow exists; -EADDRINUSE the port is taken (another
 *   mapping, a forward, a local socket), the endpoint is mapped to another
 *   port, or (NATK_FLOW_A_UPDATE) the flow exists with another port; -ENOSPC the
 *   table is full; -EDQUOT the host's limit. A NATK_CMD_FLOW_NEW event
 *   goes out as for any new flow, none for an update.
 *
 * NATK_CMD_FWD_ADD (doit, CAP_NET_ADMIN)
 *   Static port forward: NATK_A_FWD nest with NATK_FWD_A_PROTO (TCP or UDP),
 *   NATK_FWD_A_EXT_PORT, NATK_FWD_A_INT_ADDR_BE, NATK_FWD_A_INT_PORT, and
 *   optionally NATK_FWD_A_EXT_ADDR_BE (see "External addresses"; absent
 *   or 0: the primary external address). -EEXIST if the external port is
 *   already forwarded on that address.
 * NATK_CMD_FWD_DEL (doit, CAP_NET_ADMIN)
 *   NATK_A_FWD nest with NATK_FWD_A_PROTO, NATK_FWD_A_EXT_PORT and, for
 *   a forward that names its address, NATK_FWD_A_EXT_ADDR_BE.
 *   -ENOENT if there is no such forward.
 * NATK_CMD_GET_FWDS (dump, CAP_NET_ADMIN)
 *   One NATK_A_FWD nest per message. Several forwards may name the same
 *   internal endpoint; its outbound flows use the external port of the
 *   oldest of them.
 *
 * Fast path (NATK_A_FAST_PATH): packets of a flow that has seen both
 * directions (TCP: established) are translated and sent to the next hop
 * from the netdev ingress hook of the device they came in on (natk adds
 * one to a device, up to 8 of them, once a flow arriving there took the
 * fast path, and removes them in mode off), else at PRE_ROUTING, skipping routing, FORWARD and
 * POST_ROUTING (and from ingress, IPv4 input and PRE_ROUTING); SYN, FIN,
 * RST, IP options, TTL <= 1, packets over the MTU and IPsec take the normal
 * path. NATK_FAST_PATH_AUTO runs it only while no other netfilter hook
 * (nf_conntrack, nftables, iptables) would be skipped, NATK_FAST_PATH_ON
 * always, NATK_FAST_PATH_OFF never. Packets it sends are counted in
 * NATK_STAT_FASTPATH_PACKETS as well as in the usual counters, and those
 * sent from an ingress hook in NATK_STAT_FASTPATH_INGRESS too. When natk
 * hooks a bridge, it hooks the bridge's ports too, and takes a flow's
 * packets there, before the bridge, while the bridge would only have
 * passed them up (port forwarding, not locked, no VLAN filtering, frame
 * for the bridge's address) and nothing else on the bridge device would
 * see them (no tc, XDP, packet socket or, in mode auto, netfilter ingress
 * or bridge-family hook); those are in NATK_STAT_FASTPATH_BRIDGE too, and
 * in the bridge device's receive counters.
 *
 * Multicast group NATK_MCGRP_EVENTS ("events"):
 *   NATK_CMD_FLOW_NEW when a flow is created, NATK_CMD_FLOW_DEL when it is
 *   destroyed (with NATK_FLOW_A_REASON), NATK_CMD_FLOW_UPDATE (below) when
 *   it changes. Each carries one NATK_A_FLOW nest with the same attributes
 *   as a dump, and NATK_A_TIMESTAMP_NS (u64, CLOCK_REALTIME). Together
 *   they are enough to replay the table on a standby (NATK_CMD_FLOW_ADD).
 *   NATK_CMD_FLOW_UPDATE (no NATK_FLOW_A_REASON) is sent
 *     - when a TCP flow's state (enum natk_tcp_state) changes: one event
 *       per transition, from the packet that made it;
 *     - as an expiry refresh: a flow that saw traffic since it was last
 *       announced (by FLOW_NEW or FLOW_UPDATE), when that announcement is
 *       at least min(timeout / 2, 30 s) old (at least 1 s), where timeout
 *       is the flow's current idle timeout. So NATK_FLOW_A_EXPIRES_MS of
 *       the last event of a busy flow is behind its real expiry by at most
 *       about that much (plus GC delay; second granularity). The GC sends
 *       these as it walks the table (a full pass every half second or so,
 *       longer for a large table), at most 4096 a second per network
 *       namespace; a flow over that budget is announced on a later pass.
 *       A flow without traffic gets no refresh: its last event's expiry
 *       holds.
 *   An update shows the flow as it is when the event is built (a moment
 *   after what caused it), and one that races with the flow's end may,
 *   rarely, follow its NATK_CMD_FLOW_DEL (same NATK_FLOW_A_ID).
 *   NATK_CMD_STATE when the external interface's state
 *   changes (see "External interface"): NATK_A_ENABLED, NATK_A_STATE,
 *   NATK_A_IFNAME, NATK_A_IFINDEX and NATK_A_EXT_ADDR_BE as in
 *   NATK_CMD_GET_CONFIG, and NATK_A_TIMESTAMP_NS. Events are best effort
 *   (FLOW_UPDATE too): under overload some are lost and counted in
 *   NATK_STAT_EVENTS_LOST; a listener whose socket overflows sees ENOBUFS
 *   and should dump the flows (NATK_CMD_GET_FLOWS) to catch up. Nothing
 *   is built, refreshes included, while nobody listens.
 *
 * Multicast group NATK_MCGRP_MAPPINGS ("mappings"), the mapping log (RFC
 * 6888 REQ-12, "who had this external port"), CAP_NET_ADMIN to join:
 *   NATK_CMD_MAP_NEW when a dynamic mapping (internal endpoint -> external
 *   address and port) is made, NATK_CMD_MAP_DEL when its external port is
 *   free for another internal endpoint again: after its last flow ended
 *   and its port hold ran out (or was ended by a flush, down or address
 *   change). A mapping that a new flow takes back during its hold is the
 *   same mapping: no event. One event per mapping, however many flows use
 *   it. Port forwards (static mappings) send none. Each carries a
 *   NATK_A_MAP nest (NATK_MAP_A_*) and NATK_A_TIMESTAMP_NS (u64,
 *   CLOCK_REALTIME: when the mapping was made, or freed). An event that
 *   cannot be allocated or delivered is counted in
 *   NATK_STAT_MAP_EVENTS_LOST (not in NATK_STAT_EVENTS_LOST); a listener
 *   whose socket overflows sees ENOBUFS.
 *   With port blocks, NATK_CMD_MAP_NEW is sent when a host gets a block
 *   and NATK_CMD_MAP_DEL when the block is free again, with
 *   NATK_MAP_A_INT_ADDR_BE, NATK_MAP_A_EXT_ADDR_BE, NATK_MAP_A_EXT_PORT
 *   (the first port) and NATK_MAP_A_EXT_PORT_LAST (the last): no protocol
 *   or internal port (the block serves all of the host's). Dynamic
 *   mappings inside blocks send none.
 *   With address-and-port-dependent mapping every flow is a mapping of
 *   its own: NATK_CMD_MAP_NEW when the flow is made, NATK_CMD_MAP_DEL
 *   when it ends (its port is free again then; no port hold). Another
 *   internal endpoint may then have the same external port at the same
 *   time towards another remote endpoint: the flow events say which.
 */

#ifndef _UAPI_LINUX_NATK_H
#define _UAPI_LINUX_NATK_H

#define NATK_GENL_NAME		"natk"
#define NATK_GENL_VERSION	1
#define NATK_MCGRP_EVENTS	"events"
#define NATK_MCGRP_MAPPINGS	"mappings"

#define NATK_TIMEOUT_MAX	(30 * 24 * 3600)	/* seconds */
#define NATK_MSS_CLAMP_PMTU	0xffff	/* clamp to the path MTU - 40 */
#define NATK_MSS_MIN		88	/* NATK_A_MSS_CLAMP values, besides */
#define NATK_MSS_MAX		65534	/* 0 (off) and NATK_MSS_CLAMP_PMTU */
#define NATK_PORT_HOLD_MAX	3600	/* seconds, NATK_A_PORT_HOLD */
#define NATK_FWDS_MAX		4096	/* forwards in one NATK_A_FWD_REPLACE request */
#define NATK_USERNS_MAX_FLOWS	65536	/* NATK_A_MAX_FLOWS in a container */
#define NATK_PREFIXES_MAX	64	/* prefixes in NATK_A_INTERNAL, NATK_A_NO_NAT */
#define NATK_ADDRS_MAX		32	/* external addresses in the pool */
#define NATK_ADDR_RANGES_MAX	16	/* NATK_RANGE_A_ENTRY in NATK_A_ADDRS */
#define NATK_PORT_BLOCK_MIN	8	/* NATK_A_PORT_BLOCK, besides 0 (off) */
#define NATK_PORT_BLOCK_MAX	4096
#define NATK_PORT_BLOCKS_MAX	32	/* NATK_A_PORT_BLOCKS_PER_HOST */

enum natk_cmd {
	NATK_CMD_UNSPEC,
	NATK_CMD_GET_CONFIG,
	NATK_CMD_SET_CONFIG,
	NATK_CMD_DOWN,
	NATK_CMD_FLUSH,
	NATK_CMD_GET_STATS,
	NATK_CMD_GET_FLOWS,
	NATK_CMD_FWD_ADD,
	NATK_CMD_FWD_DEL,
	NATK_CMD_GET_FWDS,
	NATK_CMD_FLOW_NEW,
	NATK_CMD_FLOW_DEL,
	NATK_CMD_STATE,
	NATK_CMD_DELETE_FLOW,
	NATK_CMD_MAP_NEW,		/* event, NATK_MCGRP_MAPPINGS */
	NATK_CMD_MAP_DEL,		/* event, NATK_MCGRP_MAPPINGS */
	NATK_CMD_FLOW_ADD,
	NATK_CMD_FLOW_UPDATE,		/* event, NATK_MCGRP_EVENTS */
	__NATK_CMD_MAX
};

#define NATK_CMD_MAX (__NATK_CMD_MAX - 1)

enum natk_mapping {
	NATK_MAPPING_ENDPOINT_INDEPENDENT,
	NATK_MAPPING_ADDRESS_PORT_DEPENDENT,
	__NATK_MAPPING_MAX
};

#define NATK_MAPPING_MAX (__NATK_MAPPING_MAX - 1)

enum natk_filtering {
	NATK_FILTERING_ADDRESS_PORT_DEPENDENT,
	NATK_FILTERING_ADDRESS_DEPENDENT,
	NATK_FILTERING_ENDPOINT_INDEPENDENT,
	__NATK_FILTERING_MAX
};

#define NATK_FILTERING_MAX (__NATK_FILTERING_MAX - 1)

enum natk_fast_path {
	NATK_FAST_PATH_AUTO,	/* only while no other hook would be skipped */
	NATK_FAST_PATH_ON,
	NATK_FAST_PATH_OFF,
	__NATK_FAST_PATH_MAX
};

#define NATK_FAST_PATH_MAX (__NATK_FAST_PATH_MAX - 1)

enum natk_fp_why {
	NATK_FP_ACTIVE,		/* the fast path runs */
	NATK_FP_WHY_OFF,	/* mode off */
	NATK_FP_WHY_DOWN,	/* no external interface or address */
	NATK_FP_WHY_HOOKS,	/* auto: other netfilter hooks would be skipped */
	NATK_FP_WHY_XFRM,	/* IPsec forward policies exist */
	__NATK_FP_WHY_MAX
};

enum natk_addrs_mode {
	NATK_ADDRS_PRIMARY,		/* the interface's primary address */
	NATK_ADDRS_ALL,			/* all its addresses */
	NATK_ADDRS_LIST,		/* those of NATK_A_ADDRS */
	__NATK_ADDRS_MAX
};

#define NATK_ADDRS_MODE_MAX (__NATK_ADDRS_MAX - 1)

enum natk_state {
	NATK_STATE_DOWN,		/* no external interface set */
	NATK_STATE_ACTIVE,		/* masquerading */
	NATK_STATE_WAIT_INTERFACE,	/* no interface of that name exists */
	NATK_STATE_WAIT_ADDRESS,	/* it exists but has no IPv4 address */
	__NATK_STATE_MAX
};

enum natk_attr {
	NATK_A_UNSPEC,
	NATK_A_ENABLED,			/* u8 */
	NATK_A_IFINDEX,			/* u32 */
	NATK_A_IFNAME,			/* string, < IFNAMSIZ */
	NATK_A_EXT_ADDR_BE,		/* __be32 */
	NATK_A_PORT_MIN,		/* u16 */
	NATK_A_PORT_MAX,		/* u16 */
	NATK_A_MAX_FLOWS,		/* u32 */
	NATK_A_MAX_FLOWS_PER_HOST,	/* u32 */
	NATK_A_FLOWS,			/* u32 */
	NATK_A_MAPPING,			/* u8, enum natk_mapping */
	NATK_A_FILTERING,		/* u8, enum natk_filtering */
	NATK_A_TIMEOUT_TCP_EST,		/* u32, seconds */
	NATK_A_TIMEOUT_TCP_TRANS,	/* u32, seconds */
	NATK_A_TIMEOUT_UDP,		/* u32, seconds */
	NATK_A_TIMEOUT_ICMP,		/* u32, seconds */
	NATK_A_MSS_CLAMP,		/* u16 */
	NATK_A_HASH_BUCKETS,		/* u32 */
	NATK_A_STATS,			/* nest, enum natk_stat */
	NATK_A_FLOW,			/* nest, enum natk_flow_attr */
	NATK_A_FILTER_PROTO,		/* u8 */
	NATK_A_FILTER_ADDR_BE,		/* __be32 */
	NATK_A_FILTER_PORT,		/* u16 */
	NATK_A_FWD,			/* nest, enum natk_fwd_attr */
	NATK_A_TIMESTAMP_NS,		/* u64 */
	NATK_A_PAD,
	NATK_A_PORT_HOLD,		/* u32, seconds */
	NATK_A_PORTS_HELD,		/* u32 */
	NATK_A_HASH_MAX_CHAIN,		/* u32 */
	NATK_A_HASH_ENTRIES,		/* u32 */
	NATK_A_FAST_PATH,		/* u8, enum natk_fast_path */
	NATK_A_FAST_PATH_WHY,		/* u8, enum natk_fp_why */
	NATK_A_STATE,			/* u8, enum natk_state */
	NATK_A_RESET,			/* flag */
	NATK_A_DRY_RUN,			/* flag */
	NATK_A_FWD_REPLACE,		/* flag */
	NATK_A_INTERNAL,		/* nest of NATK_PREFIX_A_ENTRY */
	NATK_A_NO_NAT,			/* nest of NATK_PREFIX_A_ENTRY */
	NATK_A_MAP,			/* nest, enum natk_map_attr */
	NATK_A_ADDRS_MODE,		/* u8, enum natk_addrs_mode */
	NATK_A_ADDRS,			/* nest of NATK_RANGE_A_ENTRY */
	NATK_A_POOL,			/* nest of NATK_POOL_A_ENTRY */
	NATK_A_PORT_BLOCK,		/* u16, ports in a block, 0 = off */
	NATK_A_PORT_BLOCKS_PER_HOST,	/* u16 */
	NATK_A_ACCOUNTING,		/* u8, 0 or 1 */
	__NATK_A_MAX
};

#define NATK_A_MAX (__NATK_A_MAX - 1)

enum natk_tcp_state {
	NATK_TCP_NONE,		/* not TCP */
	NATK_TCP_SYN_OUT,	/* SYN sent by the internal host */
	NATK_TCP_SYN_IN,	/* SYN received from outside first */
	NATK_TCP_ESTABLISHED,	/* handshake complete: initiator's ACK seen */
	NATK_TCP_FIN_OUT,	/* FIN sent by the internal host */
	NATK_TCP_FIN_IN,	/* FIN received from outside */
	NATK_TCP_FIN_BOTH,	/* FIN seen in both directions */
	NATK_TCP_RST,		/* RST seen: transitory, then freed */
	NATK_TCP_SYNACK_IN,	/* SYN-ACK from outside: ACK from inside due */
	NATK_TCP_SYNACK_OUT,	/* SYN-ACK from inside: ACK from outside due */
	__NATK_TCP_MAX
};

#define NATK_TCP_MAX (__NATK_TCP_MAX - 1)

enum natk_flow_reason {
	NATK_REASON_NONE,
	NATK_REASON_EXPIRED,	/* idle timeout */
	NATK_REASON_FLUSH,	/* natkctl flush, down, address change */
	NATK_REASON_EVICTED,	/* evicted to make room (table full) */
	NATK_REASON_DELETED,	/* NATK_CMD_DELETE_FLOW (natkctl flows del) */
	__NATK_REASON_MAX
};

enum natk_flow_attr {
	NATK_FLOW_A_UNSPEC,
	NATK_FLOW_A_PROTO,		/* u8, IPPROTO_TCP/UDP/ICMP */
	NATK_FLOW_A_INT_ADDR_BE,	/* __be32 */
	NATK_FLOW_A_INT_PORT,		/* u16 (ICMP: echo identifier) */
	NATK_FLOW_A_EXT_ADDR_BE,	/* __be32 */
	NATK_FLOW_A_EXT_PORT,		/* u16 */
	NATK_FLOW_A_REM_ADDR_BE,	/* __be32 */
	NATK_FLOW_A_REM_PORT,		/* u16 (ICMP: 0) */
	NATK_FLOW_A_STATE,		/* u8, enum natk_tcp_state */
	NATK_FLOW_A_EXPIRES_MS,		/* u32, milliseconds until expiry */
	NATK_FLOW_A_PKTS_OUT,		/* u64, internal -> remote */
	NATK_FLOW_A_BYTES_OUT,		/* u64 */
	NATK_FLOW_A_PKTS_IN,		/* u64, remote -> internal */
	NATK_FLOW_A_BYTES_IN,		/* u64 */
	NATK_FLOW_A_REASON,		/* u8, enum natk_flow_reason (events) */
	NATK_FLOW_A_AGE_MS,		/* u32, milliseconds since creation */
	NATK_FLOW_A_PAD,
	NATK_FLOW_A_ID,			/* u32, the flow's id for its life */
	NATK_FLOW_A_UPDATE,		/* flag, NATK_CMD_FLOW_ADD: update it */
	NATK_FLOW_A_SEEN,		/* u8, NATK_FLOW_F_SEEN_* bits */
	__NATK_FLOW_A_MAX
};

#define NATK_FLOW_A_MAX (__NATK_FLOW_A_MAX - 1)

/* NATK_FLOW_A_SEEN: the directions a flow has had packets in. */
#define NATK_FLOW_F_SEEN_OUT	0x1	/* internal -> remote */
#define NATK_FLOW_F_SEEN_IN	0x2	/* remote -> internal */

enum natk_fwd_attr {
	NATK_FWD_A_UNSPEC,
	NATK_FWD_A_PROTO,		/* u8, IPPROTO_TCP or IPPROTO_UDP */
	NATK_FWD_A_EXT_PORT,		/* u16 */
	NATK_FWD_A_INT_ADDR_BE,		/* __be32 */
	NATK_FWD_A_INT_PORT,		/* u16 */
	NATK_FWD_A_EXT_ADDR_BE,		/* __be32, 0: the primary */
	__NATK_FWD_A_MAX
};

#define NATK_FWD_A_MAX (__NATK_FWD_A_MAX - 1)

/* In NATK_A_MAP (mapping events). */
enum natk_map_attr {
	NATK_MAP_A_UNSPEC,
	NATK_MAP_A_PROTO,		/* u8, IPPROTO_TCP/UDP/ICMP */
	NATK_MAP_A_INT_ADDR_BE,		/* __be32 */
	NATK_MAP_A_INT_PORT,		/* u16 (ICMP: echo identifier) */
	NATK_MAP_A_EXT_ADDR_BE,		/* __be32 */
	NATK_MAP_A_EXT_PORT,		/* u16 */
	NATK_MAP_A_EXT_PORT_LAST,	/* u16, a port block's last port */
	__NATK_MAP_A_MAX
};

#define NATK_MAP_A_MAX (__NATK_MAP_A_MAX - 1)

/* In NATK_A_INTERNAL and NATK_A_NO_NAT: NATK_PREFIX_A_ENTRY nests of the rest. */
enum natk_prefix_attr {
	NATK_PREFIX_A_UNSPEC,
	NATK_PREFIX_A_ENTRY,		/* nest */
	NATK_PREFIX_A_ADDR_BE,		/* __be32 */
	NATK_PREFIX_A_LEN,		/* u8, 0..32 */
	__NATK_PREFIX_A_MAX
};

#define NATK_PREFIX_A_MAX (__NATK_PREFIX_A_MAX - 1)

/* In NATK_A_ADDRS: NATK_RANGE_A_ENTRY nests of the rest. */
enum natk_range_attr {
	NATK_RANGE_A_UNSPEC,
	NATK_RANGE_A_ENTRY,		/* nest */
	NATK_RANGE_A_FIRST_BE,		/* __be32 */
	NATK_RANGE_A_LAST_BE,		/* __be32 */
	__NATK_RANGE_A_MAX
};

#define NATK_RANGE_A_MAX (__NATK_RANGE_A_MAX - 1)

/* In NATK_A_POOL: NATK_POOL_A_ENTRY nests of the rest. */
enum natk_pool_attr {
	NATK_POOL_A_UNSPEC,
	NATK_POOL_A_ENTRY,		/* nest */
	NATK_POOL_A_ADDR_BE,		/* __be32 */
	NATK_POOL_A_HOSTS,		/* u32 */
	NATK_POOL_A_PORTS_TCP,		/* u32 */
	NATK_POOL_A_PORTS_UDP,		/* u32 */
	NATK_POOL_A_PORTS_ICMP,		/* u32 */
	NATK_POOL_A_PAD,
	NATK_POOL_A_EXHAUSTED_TCP,	/* u64 */
	NATK_POOL_A_EXHAUSTED_UDP,	/* u64 */
	NATK_POOL_A_EXHAUSTED_ICMP,	/* u64 */
	NATK_POOL_A_BLOCKS,		/* u32, port blocks in use */
	__NATK_POOL_A_MAX
};

#define NATK_POOL_A_MAX (__NATK_POOL_A_MAX - 1)

/*
 * Counters in NATK_A_STATS, all u64. Names follow the metrics of managed
 * NAT gateways; natkctl prints them in snake_case.
 */
enum natk_stat {
	NATK_STAT_UNSPEC,
	NATK_STAT_ACTIVE_CONNECTIONS,	/* gauge: flows in the table */
	NATK_STAT_CONNECTION_ATTEMPTS,	/* flows created (TCP: by a SYN) */
	NATK_STAT_CONNECTIONS_ESTABLISHED, /* TCP handshakes completed */
	NATK_STAT_IDLE_TIMEOUTS,	/* flows freed by their idle timeout */
	NATK_STAT_PORT_ALLOCATION_ERRORS, /* no free external port */
	NATK_STAT_PACKETS_IN_FROM_SOURCE,	/* lan -> natk */
	NATK_STAT_BYTES_IN_FROM_SOURCE,
	NATK_STAT_PACKETS_OUT_TO_DESTINATION,	/* natk -> wan */
	NATK_STAT_BYTES_OUT_TO_DESTINATION,
	NATK_STAT_PACKETS_IN_FROM_DESTINATION,	/* wan -> natk */
	NATK_STAT_BYTES_IN_FROM_DESTINATION,
	NATK_STAT_PACKETS_OUT_TO_SOURCE,	/* natk -> lan */
	NATK_STAT_BYTES_OUT_TO_SOURCE,
	NATK_STAT_PACKETS_DROPPED,		/* sum of the DROP_* below */
	NATK_STAT_DROP_TABLE_FULL,
	NATK_STAT_DROP_NO_PORT,
	NATK_STAT_DROP_INVALID,		/* truncated or malformed */
	NATK_STAT_DROP_UNSOLICITED,	/* inbound, no flow, filtered */
	NATK_STAT_DROP_NO_MEMORY,	/* GFP_ATOMIC allocation failed */
	NATK_STAT_DROP_HOST_LIMIT,	/* max-flows-per-host reached */
	NATK_STAT_DROP_BAD_CHECKSUM,	/* ICMP error with a bad checksum */
	NATK_STAT_DROP_NO_FLOW,		/* TCP non-SYN or ICMP without flow */
	NATK_STAT_DROP_FRAGMENT,	/* fragment that could not be handled */
	NATK_STAT_ICMP_ERRORS_TRANSLATED,
	NATK_STAT_FLOWS_EVICTED,
	NATK_STAT_EVENTS_LOST,
	NATK_STAT_PASSED_NO_FLOW,	/* inbound to the host, not for natk */
	NATK_STAT_HAIRPINNED,
	NATK_STAT_PAD,
	NATK_STAT_DROP_ICMP_RATELIMIT,	/* host's ICMP error over the limit */
	NATK_STAT_FASTPATH_PACKETS,	/* sent by the fast path */
	NATK_STAT_FASTPATH_ROUTES,	/* routes the fast path looked up */
	NATK_STAT_PASSED_OUT_OF_SCOPE,	/* left untranslated: see "Scope" */
	NATK_STAT_MAP_EVENTS_LOST,	/* mapping events not delivered */
	NATK_STAT_FASTPATH_INGRESS,	/* of FASTPATH_PACKETS: from ingress */
	NATK_STAT_FASTPATH_BRIDGE,	/* of FASTPATH_INGRESS: at a bridge port */
	__NATK_STAT_MAX
};

#define NATK_STAT_MAX (__NATK_STAT_MAX - 1)

#endif /* _UAPI_LINUX_NATK_H */
