// SPDX-License-Identifier: GPL-2.0
/*
 * natk header rewriting: one address and one port (or ICMP echo identifier)
 * of an IPv4 packet, with incremental checksum updates (RFC 1624).
 *
 * inet_proto_csum_replace*() keeps CHECKSUM_PARTIAL skbs (local or GSO
 * traffic, where the L4 field holds only the pseudo-header sum) and
 * CHECKSUM_COMPLETE skbs right. A UDP checksum of zero means "none" and
 * stays zero; a computed zero is sent as 0xffff.
 */
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/tcp.h>
#include "natk.h"

/*
 * Rewrite the source (@src) or destination address and port of @skb.
 * The caller has checked that the L4 header is present (pskb_may_pull).
 * For ICMP the port is the echo identifier and only queries are passed in.
 * Returns 0 or -ENOMEM when the header could not be made writable.
 */
int natk_manip(struct sk_buff *skb, bool src, __be32 addr, __be16 port)
{
	struct iphdr *iph = ip_hdr(skb);
	unsigned int l4off = skb_network_offset(skb) + iph->ihl * 4;
	u8 proto = iph->protocol;
	__be32 *a, olda;
	__be16 *p;
	__sum16 *check;
	int len = natk_l4_hdrlen(proto);

	if (len < 0 || skb_ensure_writable(skb, l4off + len))
		return -ENOMEM;
	iph = ip_hdr(skb);
	a = src ? &iph->saddr : &iph->daddr;
	olda = *a;

	switch (proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = (struct tcphdr *)(skb->data + l4off);

		p = src ? &th->source : &th->dest;
		check = &th->check;
		inet_proto_csum_replace4(check, skb, olda, addr, true);
		inet_proto_csum_replace2(check, skb, *p, port, false);
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = (struct udphdr *)(skb->data + l4off);

		p = src ? &uh->source : &uh->dest;
		check = &uh->check;
		if (*check || skb->ip_summed == CHECKSUM_PARTIAL) {
			inet_proto_csum_replace4(check, skb, olda, addr, true);
			inet_proto_csum_replace2(check, skb, *p, port, false);
			if (!*check)
				*check = CSUM_MANGLED_0;
		}
		break;
	}
	default: {
		struct icmphdr *ih = (struct icmphdr *)(skb->data + l4off);

		/* The ICMP checksum has no pseudo-header: only the id. */
		p = &ih->un.echo.id;
		inet_proto_csum_replace2(&ih->checksum, skb, *p, port, false);
		break;
	}
	}
	*p = port;
	csum_replace4(&iph->check, olda, addr);
	*a = addr;
	return 0;
}

/*
 * Lower the MSS option of a TCP SYN to @mss if it is larger. The option
 * walk is bounded by the header length (at most 60 bytes) and stops at
 * anything malformed, leaving the packet as it is.
 */
int natk_mss_clamp(struct sk_buff *skb, unsigned int l4off, u16 mss)
{
	const struct tcphdr *cth = (const struct tcphdr *)(skb->data + l4off);
	unsigned int hdrlen = cth->doff * 4, i;
	__be16 old, new = htons(mss);
	struct tcphdr *th;
	u8 *opt;

	if (hdrlen <= sizeof(*th) || !pskb_may_pull(skb, l4off + hdrlen) ||
	    skb_ensure_writable(skb, l4off + hdrlen))
		return 0;
	th = (struct tcphdr *)(skb->data + l4off);
	opt = (u8 *)th;
	i = sizeof(*th);
	while (i < hdrlen) {
		if (opt[i] == TCPOPT_EOL)
			break;
		if (opt[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= hdrlen || opt[i + 1] < 2 || i + opt[i + 1] > hdrlen)
			break;
		if (opt[i] == TCPOPT_MSS && opt[i + 1] == TCPOLEN_MSS) {
			/* Options need not be aligned. */
			memcpy(&old, opt + i + 2, sizeof(old));
			if (ntohs(old) <= mss)
				return 0;
			memcpy(opt + i + 2, &new, sizeof(new));
			/*
			 * The checksum adds 16-bit words at even offsets: at
			 * an odd one the value's bytes count swapped.
			 */
			if (i & 1) {
				old = (__force __be16)swab16((__force u16)old);
				new = (__force __be16)swab16((__force u16)new);
			}
			inet_proto_csum_replace2(&th->check, skb, old, new,
						 false);
			return 1;
		}
		i += opt[i + 1];
	}
	return 0;
}
