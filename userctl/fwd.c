// SPDX-License-Identifier: GPL-2.0
/* natkctl forward: static port forwards. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "natkctl.h"

struct fwd_buf {
	struct natk_fwd *v;
	size_t n, cap;
};

static bool fwd_parse(const struct nlattr *nest, struct natk_fwd *f)
{
	const struct nlattr *a;
	unsigned int seen = 0;
	int rem;

	memset(f, 0, sizeof(*f));
	nla_for_each_nested(a, (struct nlattr *)nest, rem) {
		switch (nla_type(a)) {
		case NATK_FWD_A_PROTO:
			if (nla_len(a) < 1)
				return false;
			f->proto = nla_get_u8(a);
			break;
		case NATK_FWD_A_EXT_PORT:
			if (nla_len(a) < 2)
				return false;
			f->ext_port = nla_get_u16(a);
			break;
		case NATK_FWD_A_INT_ADDR_BE:
			if (nla_len(a) < 4)
				return false;
			f->int_addr_be = nla_get_u32(a);
			break;
		case NATK_FWD_A_INT_PORT:
			if (nla_len(a) < 2)
				return false;
			f->int_port = nla_get_u16(a);
			break;
		case NATK_FWD_A_EXT_ADDR_BE:
			if (nla_len(a) < 4)
				return false;
			f->ext_addr_be = nla_get_u32(a);
			break;
		default:
			continue;
		}
		seen |= 1u << nla_type(a);
	}
	return seen & (1u << NATK_FWD_A_EXT_PORT);
}

static int fwds_cb(struct nl_msg *msg, void *arg)
{
	struct fwd_buf *b = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *a;
	int rem;

	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		if (nla_type(a) != NATK_A_FWD)
			continue;
		b->v = grow_array(b->v, &b->cap, b->n, sizeof(*b->v), 16);
		if (fwd_parse(a, &b->v[b->n]))
			b->n++;
	}
	return NL_OK;
}

static int fwd_cmp(const void *x, const void *y)
{
	const struct natk_fwd *a = x, *b = y;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->ext_port != b->ext_port)
		return (int)a->ext_port - (int)b->ext_port;
	if (a->ext_addr_be != b->ext_addr_be)
		return ntohl(a->ext_addr_be) < ntohl(b->ext_addr_be) ? -1 : 1;
	return 0;
}

int fwd_get_all(struct natk_fwd **out, size_t *n)
{
	struct fwd_buf b = {};
	bool intr;
	int err, try;

	nk_open();
	for (try = 0; try < 5; try++) {
		b.n = 0;
		err = nk_request(nk_msg(NATK_CMD_GET_FWDS, NLM_F_DUMP), fwds_cb,
				 &b, &intr);
		if (err || !intr)
			break;
	}
	if (err) {
		free(b.v);
		return err;
	}
	if (b.n)
		qsort(b.v, b.n, sizeof(*b.v), fwd_cmp);
	*out = b.v;
	*n = b.n;
	return 0;
}

void fwd_print_list(const struct natk_fwd *f, size_t n, const char *key,
		    const char *text_indent)
{
	char a[INET_ADDRSTRLEN];

	print_open_array(key);
	for (size_t i = 0; i < n; i++) {
		inet_ntop(AF_INET, &f[i].int_addr_be, a, sizeof(a));
		print_open_object(NULL);
		print_text(text_indent);
		print_string(PRINT_ANY, "proto", "%s", proto_name(f[i].proto));
		/* null: the primary external address, whichever it is */
		if (f[i].ext_addr_be) {
			char e[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &f[i].ext_addr_be, e, sizeof(e));
			print_string(PRINT_ANY, "external_address", " %s", e);
			print_u64(PRINT_ANY, "external_port", ":%u",
				  f[i].ext_port);
		} else {
			print_null(PRINT_JSON, "external_address", NULL, NULL);
			print_u64(PRINT_ANY, "external_port", " %u",
				  f[i].ext_port);
		}
		print_string(PRINT_ANY, "internal_address", " -> %s", a);
		print_u64(PRINT_ANY, "internal_port", ":%u\n", f[i].int_port);
		print_close_object();
	}
	print_close_array();
}

uint32_t fwd_put(struct nl_msg *msg, const struct natk_fwd *f)
{
	struct nlattr *nest = nla_nest_start(msg, NATK_A_FWD);

	if (!nest ||
	    nla_put_u8(msg, NATK_FWD_A_PROTO, f->proto) < 0 ||
	    nla_put_u16(msg, NATK_FWD_A_EXT_PORT, f->ext_port) < 0 ||
	    nla_put_u32(msg, NATK_FWD_A_INT_ADDR_BE, f->int_addr_be) < 0 ||
	    nla_put_u16(msg, NATK_FWD_A_INT_PORT, f->int_port) < 0 ||
	    /* Only when named: an older module knows no such attribute. */
	    (f->ext_addr_be &&
	     nla_put_u32(msg, NATK_FWD_A_EXT_ADDR_BE, f->ext_addr_be) < 0))
		fail("out of memory");
	nla_nest_end(msg, nest);
	return (uint32_t)((char *)nest - (char *)nlmsg_hdr(msg));
}

int fwd_add(const struct natk_fwd *f)
{
	struct nl_msg *msg = nk_msg(NATK_CMD_FWD_ADD, 0);

	fwd_put(msg, f);
	return nk_request(msg, NULL, NULL, NULL);
}

int fwd_del(const struct natk_fwd *f)
{
	struct nl_msg *msg = nk_msg(NATK_CMD_FWD_DEL, 0);
	struct nlattr *nest = nla_nest_start(msg, NATK_A_FWD);

	if (!nest ||
	    nla_put_u8(msg, NATK_FWD_A_PROTO, f->proto) < 0 ||
	    nla_put_u16(msg, NATK_FWD_A_EXT_PORT, f->ext_port) < 0 ||
	    (f->ext_addr_be &&
	     nla_put_u32(msg, NATK_FWD_A_EXT_ADDR_BE, f->ext_addr_be) < 0))
		fail("out of memory");
	nla_nest_end(msg, nest);
	return nk_request(msg, NULL, NULL, NULL);
}

const char *fwd_name(const struct natk_fwd *f, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	if (!f->ext_addr_be) {
		snprintf(buf, len, "%s port %u", proto_name(f->proto),
			 f->ext_port);
	} else {
		inet_ntop(AF_INET, &f->ext_addr_be, a, sizeof(a));
		snprintf(buf, len, "%s port %u on %s", proto_name(f->proto),
			 f->ext_port, a);
	}
	return buf;
}

/* " address 192.0.2.5" for a forward that names its address, else "". */
static const char *fwd_addr_arg(const struct natk_fwd *f, char *buf,
				size_t len)
{
	char a[INET_ADDRSTRLEN];

	buf[0] = '\0';
	if (f->ext_addr_be) {
		inet_ntop(AF_INET, &f->ext_addr_be, a, sizeof(a));
		snprintf(buf, len, " address %s", a);
	}
	return buf;
}

void fwd_fail(const char *what, int err, const struct natk_fwd *f)
{
	char name[64], arg[32];

	fwd_name(f, name, sizeof(name));
	fwd_addr_arg(f, arg, sizeof(arg));
	if (err == -EEXIST)
		fail("%s is already forwarded (remove it first: natkctl forward del %s %u%s)",
		     name, proto_name(f->proto), f->ext_port, arg);
	if (err == -ENOENT)
		fail("there is no forward for %s (see: natkctl forward list%s)",
		     name, f->ext_addr_be ? "" :
		     "; one on a named external address is deleted with its address EXTADDR");
	nk_fail(what, err);
}

static int forward_list(void)
{
	struct natk_fwd *f = NULL;
	size_t n = 0;
	int err = fwd_get_all(&f, &n);

	if (err)
		nk_fail("forward list", err);
	fwd_print_list(f, n, NULL, "");
	print_end();
	free(f);
	return 0;
}

/*
 * "address EXTADDR" at argv[0], if there: the forward's external address
 * (without it, the primary). Returns the words used (0 or 2).
 */
static int forward_addr_arg(const char *sub, struct natk_fwd *f, int argc,
			    char **argv)
{
	if (argc < 1)
		return 0;
	if (strcmp(argv[0], "address"))
		usage_fail("forward", "too many arguments for forward %s: '%s' (what may follow is address EXTADDR)",
			   sub, argv[0]);
	if (argc < 2)
		usage_fail("forward", "'address' needs the external address the forward is on (one of natk's addresses, see: natkctl status)");
	if (!parse_ext_addr(argv[1], &f->ext_addr_be))
		usage_fail("forward", "invalid external address '%s' (A.B.C.D; leave 'address' out for the primary external address)",
			   argv[1]);
	return 2;
}

/* An older module refuses the attribute with a bare policy error. */
static void forward_check_module(const struct natk_fwd *f, const char *what)
{
	struct natk_status st;
	int err;

	if (!f->ext_addr_be)
		return;
	err = status_get(&st);
	if (err)
		nk_fail(what, err);
	if (!status_has(&st, NATK_A_ADDRS_MODE))
		fail("%s: address: " CONF_TOO_OLD, what);
}

int cmd_forward(int argc, char **argv)
{
	static const char *const sub[] = { "add", "del", "list", "show", "delete" };
	struct natk_fwd f = {};
	bool has_port;
	int i, n, err;

	if (argc == 0)
		return forward_list();
	i = match_word(argv[0], sub, ARRAY_SIZE(sub), true);
	if (i == -2 && !strncmp(argv[0], "delete", strlen(argv[0])))
		i = 1;
	if (i < 0)
		usage_fail("forward", "unknown forward command '%s' (add, del or list)",
			   argv[0]);
	if (i == 2 || i == 3) {
		if (argc > 1)
			usage_fail("forward", "forward list takes no arguments");
		return forward_list();
	}
	if (i == 4)
		i = 1;
	if (argc < 2 || !parse_proto(argv[1], false, &f.proto))
		usage_fail("forward", "expected tcp or udp%s%s%s",
			   argc >= 2 ? ", not '" : "", argc >= 2 ? argv[1] : "",
			   argc >= 2 ? "'" : "");
	if (argc < 3 || !parse_port(argv[2], &f.ext_port))
		usage_fail("forward", "expected an external PORT from 1 to 65535%s%s%s",
			   argc >= 3 ? ", not '" : "", argc >= 3 ? argv[2] : "",
			   argc >= 3 ? "'" : "");
	if (i == 1) {
		n = 3 + forward_addr_arg("del", &f, argc - 3, argv + 3);
		if (argc > n)
			usage_fail("forward", "too many arguments for forward del");
		nk_open();
		forward_check_module(&f, "forward del");
		err = fwd_del(&f);
		if (err)
			fwd_fail("forward del", err, &f);
		return 0;
	}
	if (argc < 4 || !parse_addr_port(argv[3], &f.int_addr_be, &f.int_port,
					 &has_port))
		usage_fail("forward", "expected an internal ADDR[:PORT]%s%s%s",
			   argc >= 4 ? ", not '" : "", argc >= 4 ? argv[3] : "",
			   argc >= 4 ? "'" : "");
	n = 4 + forward_addr_arg("add", &f, argc - 4, argv + 4);
	if (argc > n)
		usage_fail("forward", "too many arguments for forward add");
	if (!has_port)
		f.int_port = f.ext_port;
	nk_open();
	forward_check_module(&f, "forward add");
	err = fwd_add(&f);
	if (err)
		fwd_fail("forward add", err, &f);
	return 0;
}
