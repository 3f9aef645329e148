// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl doctor: check the NAT host the way its admin would by hand after
 * a reboot, and say what to fix. Facts are gathered first (doc_gather:
 * /proc/sys, rtnetlink dumps, natk's status and counters, systemctl, the
 * configuration file, DMI), then judged (doc_judge, pure: the unit tests
 * feed it facts), one row per check: name, ok|warn|fail, what was found,
 * what to do.
 *
 * Exit status: 0 no check failed (warnings allowed), 1 usage, 2 a netlink
 * error (rtnetlink or natk's family), 4 a check failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/msg.h>

#include "natkctl.h"
#include "metrics.h"

#define DOC_EXIT_NETLINK	2
#define DOC_EXIT_FAILED		4
#define DOC_MAX_LINKS		256
#define DOC_TEXT		256

enum doc_status { DOC_OK, DOC_WARN, DOC_FAIL };
static const char *const doc_status_names[] = { "ok", "warn", "fail" };

struct doc_link {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned int flags;	/* IFF_* */
	unsigned int mtu;
	uint32_t addr;		/* first IPv4 address (network order), 0: none */
	unsigned int prefixlen;
	int rp_filter;		/* net.ipv4.conf.NAME.rp_filter, -1 unknown */
};

enum doc_cloud { CLOUD_NONE, CLOUD_AWS, CLOUD_GCP, CLOUD_AZURE, CLOUD_OCI };

struct doc_facts {
	int ip_forward;			/* -1: unreadable */
	bool natk_loaded;
	bool have_status;		/* natk answered */
	struct natk_status st;
	uint64_t v[NATK_STAT_MAX + 1];

	struct doc_link links[DOC_MAX_LINKS];
	int nlinks;
	int rp_all;			/* conf/all/rp_filter, -1 unknown */

	bool have_default;
	int def_oif;			/* 0: none (blackhole, ...) */
	uint32_t def_gw;		/* network order, 0: none */
	unsigned int def_mtu;		/* route's mtu metric, 0: none */
	bool def_multipath;

	long ct_count, ct_max;		/* -1: nf_conntrack not loaded here */

	bool systemd;
	char unit_state[32];		/* systemctl is-enabled natk.service */
	bool unit_active;

	const char *conf_path;
	bool conf_exists;
	int conf_rc;			/* natkctl apply --check: exit status */
	char conf_err[DOC_TEXT];	/* its first error line */
	char conf_ext[IF_NAMESIZE];	/* the file's external interface */

	enum doc_cloud cloud;
};

struct doc_row {
	const char *name;
	enum doc_status status;
	char found[DOC_TEXT * 2];
	char fix[DOC_TEXT * 2];
};

struct doc_report {
	struct doc_row rows[32];
	int n;
};

__attribute__((format(printf, 4, 5)))
static struct doc_row *doc_row(struct doc_report *r, const char *name,
			       enum doc_status st, const char *fmt, ...)
{
	struct doc_row *row;
	va_list ap;

	if (r->n == (int)ARRAY_SIZE(r->rows))
		fail("doctor: too many checks");
	row = &r->rows[r->n++];
	memset(row, 0, sizeof(*row));
	row->name = name;
	row->status = st;
	va_start(ap, fmt);
	vsnprintf(row->found, sizeof(row->found), fmt, ap);
	va_end(ap);
	return row;
}

__attribute__((format(printf, 2, 3)))
static void doc_fix(struct doc_row *row, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(row->fix, sizeof(row->fix), fmt, ap);
	va_end(ap);
}

static const struct doc_link *doc_link_by_name(const struct doc_facts *f,
					       const char *name)
{
	for (int i = 0; i < f->nlinks; i++)
		if (!strcmp(f->links[i].name, name))
			return &f->links[i];
	return NULL;
}

static const struct doc_link *doc_link_by_index(const struct doc_facts *f,
						int ifindex)
{
	for (int i = 0; i < f->nlinks; i++)
		if (f->links[i].ifindex == ifindex)
			return &f->links[i];
	return NULL;
}

static const char *doc_ip(uint32_t be, char *buf)
{
	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

/* Effective reverse-path filter of a link: the larger of all and its own. */
static int doc_rp(const struct doc_facts *f, const struct doc_link *l)
{
	return l->rp_filter > f->rp_all ? l->rp_filter : f->rp_all;
}

static const char *const doc_cloud_names[] = {
	[CLOUD_AWS] = "AWS EC2",
	[CLOUD_GCP] = "Google Compute Engine",
	[CLOUD_AZURE] = "Microsoft Azure",
	[CLOUD_OCI] = "Oracle Cloud",
};

/* ---------------------------------------------------------- judging */

/* The external interface: natk's, else the configuration file's. */
static const char *doc_ext(const struct doc_facts *f)
{
	if (f->have_status && f->st.enabled && f->st.ifname[0])
		return f->st.ifname;
	if (f->conf_ext[0])
		return f->conf_ext;
	return NULL;
}

static void judge_forward(const struct doc_facts *f, struct doc_report *r)
{
	struct doc_row *row;

	if (f->ip_forward == 1) {
		doc_row(r, "ip-forward", DOC_OK, "net.ipv4.ip_forward is 1");
		return;
	}
	if (f->ip_forward < 0)
		row = doc_row(r, "ip-forward", DOC_FAIL,
			      "cannot read /proc/sys/net/ipv4/ip_forward");
	else
		row = doc_row(r, "ip-forward", DOC_FAIL,
			      "net.ipv4.ip_forward is %d: nothing is forwarded",
			      f->ip_forward);
	doc_fix(row, "sysctl -w net.ipv4.ip_forward=1 (natk.service sets it at boot; without it, also in /etc/sysctl.d/)");
}

static void judge_natk(const struct doc_facts *f, struct doc_report *r)
{
	const char *ext = doc_ext(f);
	struct doc_row *row;
	char a[INET_ADDRSTRLEN];

	if (!f->natk_loaded) {
		row = doc_row(r, "natk-loaded", DOC_FAIL, "the natk module is not loaded");
		doc_fix(row, "systemctl start natk (or: modprobe natk; if that fails: dkms status natk)");
		return;
	}
	doc_row(r, "natk-loaded", DOC_OK, "the natk module is loaded");
	if (!f->have_status)
		return;
	if (!f->st.enabled) {
		row = doc_row(r, "natk-active", DOC_FAIL,
			      "natk is loaded but not masquerading in this network namespace");
		if (ext)
			doc_fix(row, "systemctl start natk, or: natkctl set external %s", ext);
		else
			doc_fix(row, "natkctl set external IFNAME (and write it in %s)",
				f->conf_path);
		return;
	}
	if (f->st.state == NATK_STATE_WAIT_INTERFACE) {
		row = doc_row(r, "natk-active", DOC_FAIL,
			      "natk waits for %s: there is no such interface",
			      f->st.ifname);
		doc_fix(row, "attach or create %s (ip link); natk resumes by itself once it has an IPv4 address", f->st.ifname);
		return;
	}
	doc_row(r, "natk-active", DOC_OK, "natk masquerades out of %s",
		f->st.ifname);
	if (!f->st.ext_addr) {
		row = doc_row(r, "masquerading", DOC_FAIL,
			      "%s has no IPv4 address: natk has nothing to masquerade behind",
			      f->st.ifname);
		doc_fix(row, "give %s an address (DHCP, or: ip addr add ADDR/LEN dev %s)",
			f->st.ifname, f->st.ifname);
		return;
	}
	doc_row(r, "masquerading", DOC_OK,
		"behind %s; %llu packets translated out, %llu back, %llu dropped",
		doc_ip(f->st.ext_addr, a),
		(unsigned long long)f->v[NATK_STAT_PACKETS_OUT_TO_DESTINATION],
		(unsigned long long)f->v[NATK_STAT_PACKETS_OUT_TO_SOURCE],
		(unsigned long long)f->v[NATK_STAT_PACKETS_DROPPED]);
}

/*
 * The external addresses, from a module that reports its pool: listed
 * addresses the interface lacks (natk leaves them out), and addresses
 * whose ports ran out. With one primary address and no exhaustion, no
 * row: masquerading says it all.
 */
static void judge_pool(const struct doc_facts *f, struct doc_report *r)
{
	const struct natk_status *st = &f->st;
	char a[INET_ADDRSTRLEN], list[DOC_TEXT];
	unsigned int missing = 0, exhausted = 0;
	size_t len = 0;
	struct doc_row *row;

	if (!f->have_status || !st->enabled ||
	    st->state != NATK_STATE_ACTIVE || !status_has(st, NATK_A_POOL))
		return;
	list[0] = '\0';
	for (unsigned int i = 0; st->addrs_mode == NATK_ADDRS_LIST &&
	     i < st->addrs.n; i++) {
		for (uint64_t h = ntohl(st->addrs.r[i].first_be);
		     h <= ntohl(st->addrs.r[i].last_be); h++) {
			uint32_t be = htonl((uint32_t)h);

			if (status_pool_find(st, be))
				continue;
			if (len < sizeof(list))
				len += (size_t)snprintf(list + len, sizeof(list) - len,
							"%s%s", missing ? ", " : "",
							doc_ip(be, a));
			missing++;
		}
	}
	if (missing) {
		row = doc_row(r, "external-addresses", DOC_WARN,
			      "%u listed address%s not on %s, left out: %s",
			      missing, missing > 1 ? "es are" : " is",
			      st->ifname, list);
		doc_fix(row, "add %s to %s (ip addr add ADDR/LEN dev %s), or take %s out of 'addresses' in %s",
			missing > 1 ? "them" : "it", st->ifname, st->ifname,
			missing > 1 ? "them" : "it", f->conf_path);
	} else if (st->addrs_mode != NATK_ADDRS_PRIMARY) {
		len = 0;
		list[0] = '\0';
		for (unsigned int i = 0; i < st->npool && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s", i ? ", " : "",
						doc_ip(st->pool[i].addr_be, a));
		doc_row(r, "external-addresses", DOC_OK,
			"behind %u address%s (addresses %s): %s", st->npool,
			st->npool == 1 ? "" : "es",
			st->addrs_mode == NATK_ADDRS_LIST ? "list" : "all", list);
	}
	len = 0;
	list[0] = '\0';
	for (unsigned int i = 0; i < st->npool; i++) {
		const struct natk_pool_addr *p = &st->pool[i];

		if (!p->exhausted[0] && !p->exhausted[1] && !p->exhausted[2])
			continue;
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s (tcp %llu, udp %llu, icmp %llu)",
						exhausted ? "; " : "",
						doc_ip(p->addr_be, a),
						(unsigned long long)p->exhausted[0],
						(unsigned long long)p->exhausted[1],
						(unsigned long long)p->exhausted[2]);
		exhausted++;
	}
	if (exhausted) {
		row = doc_row(r, "port-exhaustion", DOC_WARN,
			      "new flows were dropped for want of a free port on %s since natk was loaded: %s",
			      exhausted > 1 ? "these addresses" : "this address",
			      list);
		doc_fix(row, "masquerade behind more addresses (natkctl set addresses all, or a longer list, in %s), widen 'ports', or shorten the timeouts",
			f->conf_path);
	}
}

static void judge_external(const struct doc_facts *f, struct doc_report *r)
{
	const char *ext = doc_ext(f);
	const struct doc_link *l;
	struct doc_row *row;
	char a[INET_ADDRSTRLEN];

	if (!ext) {
		row = doc_row(r, "external-interface", DOC_FAIL,
			      "unknown: natk is not masquerading and %s names no external interface",
			      f->conf_path);
		doc_fix(row, "write 'external IFNAME' in %s, then: systemctl restart natk",
			f->conf_path);
		return;
	}
	l = doc_link_by_name(f, ext);
	if (!l) {
		row = doc_row(r, "external-interface", DOC_FAIL,
			      "%s does not exist", ext);
		doc_fix(row, "check the name (ip link); natk.service waits 60 s for it at boot");
		return;
	}
	if (!(l->flags & IFF_UP) || !(l->flags & IFF_RUNNING)) {
		row = doc_row(r, "external-interface", DOC_FAIL, "%s is %s", ext,
			      !(l->flags & IFF_UP) ? "down" : "up but has no carrier");
		doc_fix(row, "ip link set %s up; check its cable or virtual NIC", ext);
		return;
	}
	if (!l->addr) {
		row = doc_row(r, "external-interface", DOC_FAIL,
			      "%s is up but has no IPv4 address", ext);
		doc_fix(row, "configure an address on %s (DHCP, or: ip addr add ADDR/LEN dev %s)",
			ext, ext);
		return;
	}
	doc_row(r, "external-interface", DOC_OK, "%s is up, %s/%u, mtu %u", ext,
		doc_ip(l->addr, a), l->prefixlen, l->mtu);
}

static void judge_route(const struct doc_facts *f, struct doc_report *r)
{
	const char *ext = doc_ext(f);
	const struct doc_link *l;
	struct doc_row *row;
	char gw[INET_ADDRSTRLEN], via[64] = "";

	if (!f->have_default) {
		row = doc_row(r, "default-route", DOC_FAIL,
			      "no default route: the NAT host cannot reach the internet");
		doc_fix(row, "ip route add default via GATEWAY dev %s (and make the network configuration keep it)",
			ext ? ext : "EXTERNAL");
		return;
	}
	l = doc_link_by_index(f, f->def_oif);
	if (f->def_gw)
		snprintf(via, sizeof(via), "via %s ", doc_ip(f->def_gw, gw));
	if (!l) {
		row = doc_row(r, "default-route", DOC_FAIL,
			      "the default route %sleads to no interface (unreachable or blackhole)",
			      via);
		doc_fix(row, "ip route replace default via GATEWAY dev %s",
			ext ? ext : "EXTERNAL");
		return;
	}
	if (ext && strcmp(l->name, ext)) {
		row = doc_row(r, "default-route", DOC_FAIL,
			      "default %sdev %s, but natk masquerades out of %s: traffic to the internet leaves untranslated",
			      via, l->name, ext);
		doc_fix(row, "ip route replace default via GATEWAY dev %s, or: natkctl set external %s",
			ext, l->name);
		return;
	}
	doc_row(r, "default-route", DOC_OK, "default %sdev %s%s", via, l->name,
		f->def_multipath ? " (first of several next hops)" : "");
}

/*
 * The internal side: interfaces with an IPv4 address other than the
 * loopback and the external one; none (one-armed, the cloud default):
 * the external one.
 */
static void judge_rp_filter(const struct doc_facts *f, struct doc_report *r)
{
	const char *ext = doc_ext(f);
	const struct doc_link *def = f->have_default ?
		doc_link_by_index(f, f->def_oif) : NULL;
	char strict[128] = "", seen[DOC_TEXT] = "";
	int n = 0;
	struct doc_row *row;

	for (int pass = 0; pass < 2 && !n; pass++) {
		for (int i = 0; i < f->nlinks; i++) {
			const struct doc_link *l = &f->links[i];
			size_t len = strlen(seen);
			int rp;

			if ((l->flags & IFF_LOOPBACK) || !l->addr)
				continue;
			if (pass == 0 && ext && !strcmp(l->name, ext))
				continue;
			if (pass == 1 && (!ext || strcmp(l->name, ext)))
				continue;
			n++;
			rp = doc_rp(f, l);
			snprintf(seen + len, sizeof(seen) - len, "%s%s %d",
				 len ? ", " : "", l->name, rp);
			/*
			 * Strict mode drops a packet whose source is not
			 * routed back out of the interface it came in by.
			 * With the default route out of that interface,
			 * every source passes.
			 */
			if (rp == 1 && !(def && def->ifindex == l->ifindex) &&
			    !strict[0])
				snprintf(strict, sizeof(strict), "%s", l->name);
		}
	}
	if (!n) {
		doc_row(r, "rp-filter", DOC_OK, "no internal interface with an IPv4 address");
		return;
	}
	if (strict[0]) {
		row = doc_row(r, "rp-filter", DOC_WARN,
			      "rp_filter (all %d): %s; strict (1) on %s drops packets from internal hosts whose subnet is not routed back out of %s",
			      f->rp_all, seen, strict, strict);
		doc_fix(row, "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.%s.rp_filter=2 (loose), or route every private subnet via %s",
			strict, strict);
		return;
	}
	doc_row(r, "rp-filter", DOC_OK, "rp_filter (all %d): %s", f->rp_all, seen);
}

static void judge_conntrack(const struct doc_facts *f, struct doc_report *r)
{
	struct doc_row *row;
	uint32_t want = f->have_status ? f->st.max_flows : 0;

	if (f->ct_count < 0) {
		doc_row(r, "nf-conntrack", DOC_OK,
			"nf_conntrack is not loaded: natk alone tracks the flows");
		return;
	}
	if (f->ct_count == 0) {
		doc_row(r, "nf-conntrack", DOC_OK,
			"nf_conntrack is loaded but tracks nothing in this namespace (its hooks are off here)");
		return;
	}
	if (want && f->ct_max > 0 && (unsigned long)f->ct_max < want) {
		row = doc_row(r, "nf-conntrack", DOC_WARN,
			      "nf_conntrack tracks %ld connections here too; its table (nf_conntrack_max %ld) fills before natk's (max-flows %u) and then drops new connections",
			      f->ct_count, f->ct_max, want);
		doc_fix(row, "sysctl -w net.netfilter.nf_conntrack_max=%u, or remove the rules that need conntrack (ct state, an old MASQUERADE)",
			want);
		return;
	}
	if (f->ct_max < 0)
		doc_row(r, "nf-conntrack", DOC_OK,
			"nf_conntrack tracks %ld connections here too (stateful rules keep working; its nf_conntrack_max is only readable from the host's namespace: natkctl -n NETNS doctor compares it with max-flows)",
			f->ct_count);
	else
		doc_row(r, "nf-conntrack", DOC_OK,
			"nf_conntrack tracks %ld connections here too (stateful rules keep working; nf_conntrack_max %ld)",
			f->ct_count, f->ct_max);
}

static void judge_mtu(const struct doc_facts *f, struct doc_report *r)
{
	const char *ext = doc_ext(f);
	const struct doc_link *el = ext ? doc_link_by_name(f, ext) : NULL;
	unsigned int path, in_mtu = 0, mss;
	const char *in_name = NULL;
	char clamp[32];
	struct doc_row *row;

	if (!el || !f->have_status) {
		doc_row(r, "mss-mtu", DOC_OK, "not checked: %s",
			!f->have_status ? "natk is not running" :
			"no external interface");
		return;
	}
	path = f->def_mtu && el && f->def_oif == el->ifindex ? f->def_mtu : el->mtu;
	for (int i = 0; i < f->nlinks; i++) {
		const struct doc_link *l = &f->links[i];

		if ((l->flags & IFF_LOOPBACK) || !l->addr || l == el)
			continue;
		if (l->mtu > in_mtu) {
			in_mtu = l->mtu;
			in_name = l->name;
		}
	}
	if (!in_name) {		/* one-armed */
		in_mtu = el->mtu;
		in_name = el->name;
	}
	mss = f->st.mss_clamp;
	if (mss == 0)
		snprintf(clamp, sizeof(clamp), "off");
	else if (mss == NATK_MSS_CLAMP_PMTU)
		snprintf(clamp, sizeof(clamp), "pmtu");
	else
		snprintf(clamp, sizeof(clamp), "%u", mss);

	if (mss && mss != NATK_MSS_CLAMP_PMTU && mss + 40 > path) {
		row = doc_row(r, "mss-mtu", DOC_WARN,
			      "mss-clamp %u is above what the way out carries (mtu %u, MSS %u)",
			      mss, path, path - 40);
		doc_fix(row, "natkctl set mss-clamp pmtu (or %u), and the same in %s",
			path - 40, f->conf_path);
		return;
	}
	if (in_mtu > path && mss == 0) {
		row = doc_row(r, "mss-mtu", DOC_WARN,
			      "%s has mtu %u, the way out %u: internal hosts announce MSS %u, too large outside, and mss-clamp is off",
			      in_name, in_mtu, path, in_mtu - 40);
		doc_fix(row, "natkctl set mss-clamp pmtu (and 'mss-clamp pmtu' in %s)",
			f->conf_path);
		return;
	}
	if (f->cloud != CLOUD_NONE && path > 1500 &&
	    !(mss && mss != NATK_MSS_CLAMP_PMTU && mss <= 1460)) {
		row = doc_row(r, "mss-mtu", DOC_WARN,
			      "%s has mtu %u (jumbo frames inside the cloud network), but the internet path is 1500 bytes (AWS: traffic through an internet gateway) and mss-clamp is %s",
			      el->name, path, clamp);
		doc_fix(row, "natkctl set mss-clamp 1460 (and in %s), or: ip route change default ... mtu 1500 with mss-clamp pmtu",
			f->conf_path);
		return;
	}
	doc_row(r, "mss-mtu", DOC_OK, "internal mtu %u (%s), external %u, mss-clamp %s",
		in_mtu, in_name, path, clamp);
}

static void judge_service(const struct doc_facts *f, struct doc_report *r)
{
	struct doc_row *row;

	if (!f->systemd) {
		row = doc_row(r, "service", DOC_WARN,
			      "no systemd: nothing here says natk comes back after a reboot");
		doc_fix(row, "run natk-start %s at boot (it loads natk, applies the file and enables forwarding)",
			f->conf_path);
		return;
	}
	if (!strcmp(f->unit_state, "enabled")) {
		row = doc_row(r, "service", f->unit_active ? DOC_OK : DOC_WARN,
			      "natk.service is enabled%s", f->unit_active ? " and active" :
			      " but not active now");
		if (!f->unit_active)
			doc_fix(row, "systemctl start natk; journalctl -u natk says why it stopped");
		return;
	}
	if (!f->unit_state[0] || !strcmp(f->unit_state, "not-found")) {
		row = doc_row(r, "service", DOC_FAIL,
			      "natk.service is not installed: natk does not come back after a reboot");
		doc_fix(row, "make install (in natk's source tree), then: systemctl enable --now natk");
		return;
	}
	row = doc_row(r, "service", DOC_FAIL,
		      "natk.service is %s: natk does not come back after a reboot",
		      f->unit_state);
	doc_fix(row, "%ssystemctl enable natk",
		!strcmp(f->unit_state, "masked") ? "systemctl unmask natk; " : "");
}

static void judge_config(const struct doc_facts *f, struct doc_report *r)
{
	struct doc_row *row;

	if (!f->conf_exists) {
		row = doc_row(r, "config", f->systemd &&
			      !strcmp(f->unit_state, "enabled") ? DOC_FAIL : DOC_WARN,
			      "%s does not exist%s", f->conf_path,
			      f->systemd && !strcmp(f->unit_state, "enabled") ?
			      ": natk.service fails at boot" : "");
		doc_fix(row, "natkctl save > %s", f->conf_path);
		return;
	}
	if (f->conf_rc != 0) {
		row = doc_row(r, "config", DOC_FAIL, "%s does not parse: %s",
			      f->conf_path, f->conf_err[0] ? f->conf_err : "(no message)");
		doc_fix(row, "fix it (natkctl apply --check %s lists every error), or: natkctl save > %s",
			f->conf_path, f->conf_path);
		return;
	}
	if (!f->conf_ext[0]) {
		row = doc_row(r, "config", DOC_FAIL,
			      "%s parses but names no external interface: natk-start refuses it",
			      f->conf_path);
		doc_fix(row, "add 'external IFNAME' to %s", f->conf_path);
		return;
	}
	if (f->have_status && f->st.enabled && strcmp(f->st.ifname, f->conf_ext)) {
		row = doc_row(r, "config", DOC_WARN,
			      "%s says external %s, natk runs with %s: the next boot changes it",
			      f->conf_path, f->conf_ext, f->st.ifname);
		doc_fix(row, "natkctl save > %s, or: systemctl reload natk", f->conf_path);
		return;
	}
	doc_row(r, "config", DOC_OK, "%s parses, external %s", f->conf_path,
		f->conf_ext);
}

/*
 * What the cloud side needs cannot be read from inside the instance
 * without its metadata service; natk's counters show it works: packets
 * from internal hosts arrived (the subnet's route leads here) and replies
 * went back to them (the provider let the instance forward).
 */
static void judge_cloud(const struct doc_facts *f, struct doc_report *r)
{
	static const char *const what[] = {
		[CLOUD_AWS] = "the source/destination check",
		[CLOUD_GCP] = "IP forwarding (canIpForward)",
		[CLOUD_AZURE] = "IP forwarding on the network interface",
		[CLOUD_OCI] = "the source/destination check of the VNIC",
	};
	static const char *const fix_fwd[] = {
		[CLOUD_AWS] = "aws ec2 modify-instance-attribute --instance-id INSTANCE --no-source-dest-check",
		[CLOUD_GCP] = "the instance must be created with --can-ip-forward (gcloud compute instances create ... --can-ip-forward)",
		[CLOUD_AZURE] = "az network nic update -g GROUP -n NIC --ip-forwarding true",
		[CLOUD_OCI] = "oci network vnic update --vnic-id VNIC --skip-source-dest-check true",
	};
	static const char *const fix_route[] = {
		[CLOUD_AWS] = "aws ec2 replace-route --route-table-id RTB --destination-cidr-block 0.0.0.0/0 --network-interface-id ENI (the private subnet's route table)",
		[CLOUD_GCP] = "gcloud compute routes create ... --destination-range 0.0.0.0/0 --next-hop-instance INSTANCE --tags PRIVATE-TAG",
		[CLOUD_AZURE] = "a route table on the private subnet: 0.0.0.0/0, next hop type VirtualAppliance, this instance's private address",
		[CLOUD_OCI] = "a route rule in the private subnet's route table: 0.0.0.0/0 to this instance's private IP",
	};
	uint64_t in = f->v[NATK_STAT_PACKETS_IN_FROM_SOURCE];
	uint64_t back = f->v[NATK_STAT_PACKETS_OUT_TO_SOURCE];
	const char *name = doc_cloud_names[f->cloud];
	struct doc_row *row;

	if (f->cloud == CLOUD_NONE)
		return;
	if (in && back) {
		doc_row(r, "cloud-forwarding", DOC_OK,
			"%s: %llu packets translated back to internal hosts, so %s lets them through",
			name, (unsigned long long)back, what[f->cloud]);
	} else {
		row = doc_row(r, "cloud-forwarding", DOC_WARN,
			      "%s: no packet translated back to an internal host yet; %s cannot be read from inside the instance",
			      name, what[f->cloud]);
		doc_fix(row, "make sure %s allows forwarding: %s", what[f->cloud],
			fix_fwd[f->cloud]);
	}
	if (in) {
		doc_row(r, "cloud-route", DOC_OK,
			"%s: %llu packets from internal hosts arrived, so their route leads here",
			name, (unsigned long long)in);
	} else {
		row = doc_row(r, "cloud-route", DOC_WARN,
			      "%s: no packet from an internal host yet; the private subnet's default route must point at this instance",
			      name);
		doc_fix(row, "%s", fix_route[f->cloud]);
	}
}

static void doc_judge(const struct doc_facts *f, struct doc_report *r)
{
	r->n = 0;
	judge_forward(f, r);
	judge_natk(f, r);
	judge_pool(f, r);
	judge_external(f, r);
	judge_route(f, r);
	judge_rp_filter(f, r);
	judge_conntrack(f, r);
	judge_mtu(f, r);
	judge_service(f, r);
	judge_config(f, r);
	judge_cloud(f, r);
}

/* ---------------------------------------------------------- gathering */

/* First line of a file, without the newline; false if unreadable. */
static bool doc_read_line(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	bool ok;

	if (!fp)
		return false;
	ok = fgets(buf, (int)len, fp) != NULL;
	fclose(fp);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static long doc_read_long(const char *path)
{
	char buf[64], *end;
	long v;

	if (!doc_read_line(path, buf, sizeof(buf)))
		return -1;
	v = strtol(buf, &end, 10);
	return end == buf ? -1 : v;
}

/* The cloud the instance runs in, from DMI (dir: /sys/class/dmi/id). */
static enum doc_cloud doc_cloud_detect(const char *dir)
{
	char path[512], vendor[128] = "", product[128] = "", bios[128] = "",
	     tag[128] = "";

	snprintf(path, sizeof(path), "%s/sys_vendor", dir);
	doc_read_line(path, vendor, sizeof(vendor));
	snprintf(path, sizeof(path), "%s/product_name", dir);
	doc_read_line(path, product, sizeof(product));
	snprintf(path, sizeof(path), "%s/bios_version", dir);
	doc_read_line(path, bios, sizeof(bios));
	snprintf(path, sizeof(path), "%s/chassis_asset_tag", dir);
	doc_read_line(path, tag, sizeof(tag));

	/* Nitro instances; Xen ones say so in the BIOS version (4.11.amazon) */
	if (!strcmp(vendor, "Amazon EC2") || strstr(bios, "amazon"))
		return CLOUD_AWS;
	if (!strcmp(vendor, "Google") || !strcmp(product, "Google Compute Engine"))
		return CLOUD_GCP;
	/* Hyper-V says Microsoft too: Azure's asset tag tells them apart */
	if (!strcmp(vendor, "Microsoft Corporation") &&
	    !strcmp(tag, "7783-7084-3265-9085-8269-3286-77"))
		return CLOUD_AZURE;
	if (!strcmp(tag, "OracleCloud.com"))
		return CLOUD_OCI;
	return CLOUD_NONE;
}

/* rtnetlink dumps (links, IPv4 addresses, IPv4 main-table routes) */
static int doc_link_cb(struct nl_msg *msg, void *arg)
{
	struct doc_facts *f = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ifinfomsg *ifi = nlmsg_data(nlh);
	struct nlattr *tb[IFLA_MAX + 1];
	struct doc_link *l;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0 ||
	    !tb[IFLA_IFNAME] || f->nlinks == DOC_MAX_LINKS)
		return NL_OK;
	l = &f->links[f->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->rp_filter = -1;
	snprintf(l->name, sizeof(l->name), "%.*s", nla_len(tb[IFLA_IFNAME]),
		 (const char *)nla_data(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU] && nla_len(tb[IFLA_MTU]) >= 4)
		l->mtu = nla_get_u32(tb[IFLA_MTU]);
	return NL_OK;
}

static int doc_addr_cb(struct nl_msg *msg, void *arg)
{
	struct doc_facts *f = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ifaddrmsg *ifa = nlmsg_data(nlh);
	struct nlattr *tb[IFA_MAX + 1], *a;
	struct doc_link *l = NULL;

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET ||
	    nlmsg_parse(nlh, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return NL_OK;
	for (int i = 0; i < f->nlinks; i++)
		if (f->links[i].ifindex == (int)ifa->ifa_index)
			l = &f->links[i];
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!l || l->addr || !a || nla_len(a) < 4)
		return NL_OK;
	l->addr = nla_get_u32(a);
	l->prefixlen = ifa->ifa_prefixlen;
	return NL_OK;
}

static int doc_route_cb(struct nl_msg *msg, void *arg)
{
	struct doc_facts *f = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct rtmsg *rtm = nlmsg_data(nlh);
	struct nlattr *tb[RTA_MAX + 1];
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return NL_OK;
	table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table != RT_TABLE_MAIN || rtm->rtm_dst_len != 0 || f->have_default)
		return NL_OK;
	f->have_default = true;
	if (rtm->rtm_type != RTN_UNICAST)
		return NL_OK;	/* blackhole, unreachable, ...: no interface */
	if (tb[RTA_OIF])
		f->def_oif = (int)nla_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY] && nla_len(tb[RTA_GATEWAY]) >= 4)
		f->def_gw = nla_get_u32(tb[RTA_GATEWAY]);
	if (tb[RTA_MULTIPATH] && nla_len(tb[RTA_MULTIPATH]) >= (int)sizeof(struct rtnexthop)) {
		struct rtnexthop *nh = nla_data(tb[RTA_MULTIPATH]);

		f->def_multipath = true;
		f->def_oif = nh->rtnh_ifindex;
		if (nh->rtnh_len > sizeof(*nh)) {
			struct nlattr *ntb[RTA_MAX + 1];

			if (!nla_parse(ntb, RTA_MAX, (struct nlattr *)RTNH_DATA(nh),
				       nh->rtnh_len - (int)sizeof(*nh), NULL) &&
			    ntb[RTA_GATEWAY] && nla_len(ntb[RTA_GATEWAY]) >= 4)
				f->def_gw = nla_get_u32(ntb[RTA_GATEWAY]);
		}
	}
	if (tb[RTA_METRICS]) {
		struct nlattr *mtb[RTAX_MAX + 1];

		if (!nla_parse_nested(mtb, RTAX_MAX, tb[RTA_METRICS], NULL) &&
		    mtb[RTAX_MTU] && nla_len(mtb[RTAX_MTU]) >= 4)
			f->def_mtu = nla_get_u32(mtb[RTAX_MTU]);
	}
	return NL_OK;
}

static void doc_dump(struct nl_sock *rsk, int type, void *hdr, size_t len,
		     nl_recvmsg_msg_cb_t cb, struct doc_facts *f)
{
	int err;

	err = nl_send_simple(rsk, type, NLM_F_DUMP, hdr, len);
	if (err >= 0) {
		nl_socket_modify_cb(rsk, NL_CB_VALID, NL_CB_CUSTOM, cb, f);
		err = nl_recvmsgs_default(rsk);
	}
	if (err < 0) {
		print_flush();
		fprintf(stderr, PROG ": doctor: rtnetlink dump failed: %s\n",
			nl_geterror(err));
		exit(DOC_EXIT_NETLINK);
	}
}

static void doc_gather_rtnl(struct doc_facts *f)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct ifaddrmsg ifa = { .ifa_family = AF_INET };
	struct rtmsg rtm = { .rtm_family = AF_INET };
	struct nl_sock *rsk = nl_socket_alloc();
	char path[128];
	int err;

	if (!rsk)
		fail("out of memory");
	err = nl_connect(rsk, NETLINK_ROUTE);
	if (err < 0) {
		fprintf(stderr, PROG ": doctor: cannot open an rtnetlink socket: %s\n",
			nl_geterror(err));
		exit(DOC_EXIT_NETLINK);
	}
	doc_dump(rsk, RTM_GETLINK, &ifi, sizeof(ifi), doc_link_cb, f);
	doc_dump(rsk, RTM_GETADDR, &ifa, sizeof(ifa), doc_addr_cb, f);
	doc_dump(rsk, RTM_GETROUTE, &rtm, sizeof(rtm), doc_route_cb, f);
	nl_socket_free(rsk);
	for (int i = 0; i < f->nlinks; i++) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter",
			 f->links[i].name);
		f->links[i].rp_filter = (int)doc_read_long(path);
	}
	f->rp_all = (int)doc_read_long("/proc/sys/net/ipv4/conf/all/rp_filter");
}

/* natk's status and counters, without autoloading it. */
static void doc_gather_natk(struct doc_facts *f)
{
	struct nl_sock *rsk;
	int err;

	f->natk_loaded = nk_module_loaded();
	if (!f->natk_loaded)
		return;
	/* nk_open exits 1 when the family is missing: ask first */
	rsk = nl_socket_alloc();
	if (!rsk)
		fail("out of memory");
	err = genl_connect(rsk);
	if (err >= 0)
		err = genl_ctrl_resolve(rsk, NATK_GENL_NAME);
	nl_socket_free(rsk);
	if (err < 0) {
		fprintf(stderr, PROG ": doctor: natk is loaded but its netlink family does not answer: %s\n",
			nl_geterror(err));
		exit(DOC_EXIT_NETLINK);
	}
	err = status_get(&f->st);
	if (!err)
		err = stats_get(f->v);
	if (err) {
		fprintf(stderr, PROG ": doctor: natk status: %s%s%s\n", strerror(-err),
			nk_extack[0] ? ": " : "", nk_extack);
		exit(DOC_EXIT_NETLINK);
	}
	f->have_status = true;
}

/* systemctl's one-word answer, "" if it said nothing. */
static void doc_systemctl(const char *verb, char *out, size_t len)
{
	char cmd[128];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "systemctl %s natk.service 2>/dev/null", verb);
	fflush(stdout);
	p = popen(cmd, "r");
	if (!p)
		return;
	if (fgets(out, (int)len, p))
		out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* natkctl apply --check FILE in a child; its first error line. */
static void doc_check_conf(struct doc_facts *f)
{
	char *argv[] = { "--check", (char *)f->conf_path, NULL };
	int pipefd[2], status;
	size_t len;
	ssize_t n;
	pid_t pid;
	FILE *fp;
	char line[512], drain[512];

	fp = fopen(f->conf_path, "r");
	f->conf_exists = fp != NULL;
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *w, *save;

		line[strcspn(line, "#")] = '\0';
		w = strtok_r(line, " \t\r\n", &save);
		if (w && !strcmp(w, "external")) {
			w = strtok_r(NULL, " \t\r\n", &save);
			if (w)
				snprintf(f->conf_ext, sizeof(f->conf_ext), "%s", w);
		}
	}
	fclose(fp);

	print_flush();
	fflush(stderr);
	if (pipe(pipefd) < 0)
		fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(pipefd[1], STDERR_FILENO);
		if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO);
		close(pipefd[0]);
		exit(cmd_apply(2, argv));
	}
	close(pipefd[1]);
	/* all of it: an error line may come in several writes */
	len = 0;
	for (;;) {
		bool room = len < sizeof(line) - 1;

		n = read(pipefd[0], room ? line + len : drain,
			 room ? sizeof(line) - 1 - len : sizeof(drain));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			len += (size_t)n;
	}
	line[len] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		f->conf_rc = -1;
	else
		f->conf_rc = WEXITSTATUS(status);
	line[strcspn(line, "\n")] = '\0';
	snprintf(f->conf_err, sizeof(f->conf_err), "%.*s",
		 (int)sizeof(f->conf_err) - 1,
		 !strncmp(line, PROG ": ", strlen(PROG ": ")) ?
		 line + strlen(PROG ": ") : line);
}

static void doc_gather(struct doc_facts *f, const char *conf)
{
	memset(f, 0, sizeof(*f));
	/*
	 * nf_conntrack_max is one limit for all namespaces, and kernels show
	 * it in the initial one only: read it before -n enters another.
	 */
	f->ct_max = doc_read_long("/proc/sys/net/netfilter/nf_conntrack_max");
	nk_enter_netns();
	f->conf_path = conf;
	f->ip_forward = (int)doc_read_long("/proc/sys/net/ipv4/ip_forward");
	doc_gather_rtnl(f);
	doc_gather_natk(f);
	f->ct_count = doc_read_long("/proc/sys/net/netfilter/nf_conntrack_count");
	if (access("/proc/sys/net/netfilter/nf_conntrack_max", R_OK) == 0)
		f->ct_max = doc_read_long("/proc/sys/net/netfilter/nf_conntrack_max");
	f->systemd = access("/run/systemd/system", F_OK) == 0;
	if (f->systemd) {
		char active[32];

		doc_systemctl("is-enabled", f->unit_state, sizeof(f->unit_state));
		doc_systemctl("is-active", active, sizeof(active));
		f->unit_active = !strcmp(active, "active");
	}
	doc_check_conf(f);
	f->cloud = doc_cloud_detect("/sys/class/dmi/id");
}

/* ----------------------------------------------------------- printing */

static int doc_print(const struct doc_report *r)
{
	int count[3] = { 0, 0, 0 };

	print_open_object(NULL);
	print_open_array("checks");
	for (int i = 0; i < r->n; i++) {
		const struct doc_row *row = &r->rows[i];

		count[row->status]++;
		print_open_object(NULL);
		print_string(PRINT_ANY, "status", "%-5s",
			     doc_status_names[row->status]);
		print_string(PRINT_ANY, "name", "%-19s", row->name);
		print_string(PRINT_ANY, "found", "%s\n", row->found);
		if (row->fix[0])
			print_string(PRINT_ANY, "fix", "      fix: %s\n", row->fix);
		else
			print_null(PRINT_JSON, "fix", NULL, NULL);
		print_close_object();
	}
	print_close_array();
	print_u64(PRINT_ANY, "ok", "%u ok", (uint64_t)count[DOC_OK]);
	print_u64(PRINT_ANY, "warn", ", %u warning", (uint64_t)count[DOC_WARN]);
	print_text(count[DOC_WARN] == 1 ? "" : "s");
	print_u64(PRINT_ANY, "fail", ", %u failed\n", (uint64_t)count[DOC_FAIL]);
	print_close_object();
	print_end();
	return count[DOC_FAIL] ? DOC_EXIT_FAILED : 0;
}

int cmd_doctor(int argc, char **argv)
{
	const char *conf = "/etc/natk.conf";
	struct doc_facts *f;
	struct doc_report r;
	int ret;

	while (argc > 0) {
		if (strcmp(argv[0], "config"))
			usage_fail("doctor", "unknown argument '%s'", argv[0]);
		if (argc < 2 || !*argv[1])
			usage_fail("doctor", "'config' needs a FILE");
		conf = argv[1];
		argc -= 2;
		argv += 2;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		fail("out of memory");
	doc_gather(f, conf);
	doc_judge(f, &r);
	ret = doc_print(&r);
	free(f);
	return ret;
}
