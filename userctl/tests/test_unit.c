// SPDX-License-Identifier: GPL-2.0
/*
 * Offline unit tests for natkctl: the printer, the parsers and the netlink
 * callbacks fed with messages built here (no kernel module needed). The
 * sources are included so static functions can be tested.
 */
int natkctl_main(int argc, char **argv);
#define main natkctl_main
#include "../natkctl.c"
#undef main
#include "../print.c"
#include "../nl.c"
#include "../parse.c"
#include "../conf.c"
#include "../flow.c"
#include "../status.c"
#include "../flows.c"
#include "../file.c"
#include "../fwd.c"
#include "../monitor.c"
#include "../apply.c"
#include "../metrics.c"
#include "../doctor.c"
#include "../supervise.c"

#include <assert.h>

static int failures;
static char *cap_buf;
static size_t cap_len;
static FILE *saved_stdout;

static void cap_start(bool j, bool p)
{
	saved_stdout = stdout;
	stdout = open_memstream(&cap_buf, &cap_len);
	print_init(j, p);
}

static char *cap_end(void)
{
	print_flush();
	fclose(stdout);
	stdout = saved_stdout;
	return cap_buf;
}

#define EXPECT_STR(got, want) do { \
	if (strcmp((got), (want))) { \
		fprintf(stderr, "%s:%d: mismatch\n--- got:\n%s\n--- want:\n%s\n", \
			__FILE__, __LINE__, (got), (want)); \
		failures++; \
	} \
} while (0)

#define EXPECT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

static void save_json(const char *name, const char *s)
{
	char path[256];
	FILE *f;

	/* for "make check", which validates them with python3 -m json.tool */
	if (!getenv("TEST_OUT"))
		return;
	snprintf(path, sizeof(path), "%s/%s.json", getenv("TEST_OUT"), name);
	f = fopen(path, "w");
	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static void test_printer(void)
{
	char *s;

	cap_start(true, false);
	print_open_object(NULL);
	print_string(PRINT_ANY, "a", "%s", "q\"b\\s\n\t\x01\x7f é \xff end");
	print_u64(PRINT_ANY, "n", "%u", 18446744073709551615ull);
	print_bool(PRINT_ANY, "t", "%s", true);
	print_null(PRINT_ANY, "z", "%s", "none");
	print_string(PRINT_TEXT, "hidden", "%s", "x");
	print_open_array("arr");
	print_u64(PRINT_ANY, NULL, "%u", 1);
	print_open_object(NULL);
	print_close_object();
	print_open_array(NULL);
	print_close_array();
	print_close_array();
	print_close_object();
	print_end();
	s = cap_end();
	EXPECT_STR(s, "{\"a\":\"q\\\"b\\\\s\\n\\t\\u0001\\u007f é \\u00ff end\","
		      "\"n\":18446744073709551615,\"t\":true,\"z\":null,"
		      "\"arr\":[1,{},[]]}\n");
	save_json("printer", s);
	free(s);

	cap_start(true, true);
	print_open_object(NULL);
	print_u64(PRINT_ANY, "a", "%u", 1);
	print_open_object("o");
	print_string(PRINT_ANY, "b", "%s", "x");
	print_close_object();
	print_open_array("e");
	print_close_array();
	print_close_object();
	print_end();
	s = cap_end();
	EXPECT_STR(s, "{\n  \"a\": 1,\n  \"o\": {\n    \"b\": \"x\"\n  },\n  \"e\": []\n}\n");
	free(s);

	cap_start(false, false);
	print_open_object(NULL);
	print_string(PRINT_ANY, "a", "[%s]", "x");
	print_u64(PRINT_ANY, "b", " %u%%", 42);
	print_u64(PRINT_ANY, "c", " <%5u>", 7);
	print_string(PRINT_ANY, "d", " <%-4s>", "ab");
	print_u64(PRINT_ANY, "e", " %" PRIu64, 5);
	print_u64(PRINT_JSON, "f", " %u", 6);
	print_null(PRINT_ANY, "g", " %s", "none");
	print_bool(PRINT_ANY, "h", " %s", false);
	print_close_object();
	print_end();
	s = cap_end();
	EXPECT_STR(s, "[x] 42% <    7> <ab  > 5 none false");
	free(s);
}

static void test_parsers(void)
{
	uint32_t u, a;
	uint16_t p;
	bool hp;
	struct natk_conf c = {};
	char err[256];
	char *argv1[] = { "ports", "1024-65535", "timeout", "udp", "5m",
			  "mss-clamp", "pmtu", "max-flows-per-host", "none",
			  "filtering", "endpoint-independent", "external", "wan0" };
	int i = 0, n;

	EXPECT(parse_seconds("300", &u) && u == 300);
	EXPECT(parse_seconds("2h", &u) && u == 7200);
	EXPECT(parse_seconds("30d", &u) && u == 2592000);
	EXPECT(!parse_seconds("31d", &u));
	EXPECT(!parse_seconds("0", &u));
	EXPECT(!parse_seconds("-1", &u));
	EXPECT(!parse_seconds("1x", &u));
	EXPECT(!parse_seconds("", &u));
	EXPECT(!parse_seconds("99999999999999999999", &u));
	EXPECT(parse_port("65535", &p) && p == 65535);
	EXPECT(!parse_port("65536", &p));
	EXPECT(!parse_port("0", &p));
	EXPECT(!parse_port("+1", &p));
	EXPECT(!parse_port(" 1", &p));
	EXPECT(!parse_port("0x10", &p));
	EXPECT(parse_addr_port("10.0.0.2:80", &a, &p, &hp) && hp && p == 80 &&
	       a == htonl(0x0a000002));
	EXPECT(parse_addr_port("10.0.0.2", &a, &p, &hp) && !hp);
	EXPECT(!parse_addr_port("10.0.0.2:", &a, &p, &hp));
	EXPECT(!parse_addr_port("host:80", &a, &p, &hp));

	while (i < (int)ARRAY_SIZE(argv1)) {
		n = conf_parse_setting(&c, (int)ARRAY_SIZE(argv1) - i, argv1 + i,
				       true, err, sizeof(err));
		EXPECT(n > 0);
		if (n <= 0) {
			fprintf(stderr, "  %s\n", err);
			return;
		}
		i += n;
	}
	EXPECT(c.port_min == 1024 && c.port_max == 65535);
	EXPECT(c.timeout[TIMEOUT_UDP] == 300);
	EXPECT(c.mss_clamp == NATK_MSS_CLAMP_PMTU);
	EXPECT(c.max_flows_per_host == 0 && (c.have & HAVE_MAX_PER_HOST));
	EXPECT(c.filtering == NATK_FILTERING_ENDPOINT_INDEPENDENT);
	EXPECT(!strcmp(c.ifname, "wan0"));

	{
		char *bad[] = { "external", "a/b" };
		char *bad2[] = { "external", "0123456789abcdef" };
		char *dup[] = { "timeout", "udp", "10" };
		char *pfx[] = { "max-flows", "5" };
		char *amb[] = { "m", "5" };

		EXPECT(conf_parse_setting(&c, 2, bad, true, err, sizeof(err)) < 0);
		EXPECT(conf_parse_setting(&c, 2, bad2, true, err, sizeof(err)) < 0);
		EXPECT(conf_parse_setting(&c, 3, dup, true, err, sizeof(err)) < 0);
		EXPECT(conf_parse_setting(&c, 2, pfx, true, err, sizeof(err)) == 2 &&
		       c.max_flows == 5);
		EXPECT(conf_parse_setting(&c, 2, amb, true, err, sizeof(err)) < 0);
	}
	{
		/* port-hold: 0 to NATK_PORT_HOLD_MAX seconds, or off/none */
		static const struct {
			const char *v;
			bool ok;
			uint32_t want;
		} ph[] = {
			{ "0", true, 0 }, { "120", true, 120 },
			{ "3600", true, 3600 }, { "off", true, 0 },
			{ "none", true, 0 }, { "0s", true, 0 }, { "2m", true, 120 },
			{ "1h", true, 3600 }, { "-1", false, 0 },
			{ "3601", false, 0 }, { "abc", false, 0 },
			{ "61m", false, 0 }, { "1d", false, 0 }, { "", false, 0 },
			{ "+5", false, 0 }, { "0x10", false, 0 },
		};

		for (i = 0; i < (int)ARRAY_SIZE(ph); i++) {
			struct natk_conf pc = { .port_hold = 99 };
			char *args[] = { "port-hold", (char *)ph[i].v };

			n = conf_parse_setting(&pc, 2, args, false, err, sizeof(err));
			if (ph[i].ok) {
				EXPECT(n == 2 && pc.port_hold == ph[i].want &&
				       pc.have == HAVE_PORT_HOLD);
			} else {
				EXPECT(n < 0 && !(pc.have & HAVE_PORT_HOLD));
				if (n < 0 && !strstr(err, "invalid port-hold '")) {
					fprintf(stderr, "  port-hold '%s': %s\n",
						ph[i].v, err);
					failures++;
				}
			}
		}
	}
	{
		struct natk_conf pc = {};
		char *two[] = { "port-hold", "10", "port-hold", "20" };
		char *pfx[] = { "port-h", "30" };
		char *amb[] = { "port", "30" };
		char *none[] = { "port-hold" };

		EXPECT(conf_parse_setting(&pc, 4, two, true, err, sizeof(err)) == 2);
		EXPECT(conf_parse_setting(&pc, 2, two + 2, true, err, sizeof(err)) < 0 &&
		       strstr(err, "'port-hold' given twice"));
		pc.have = 0;
		EXPECT(conf_parse_setting(&pc, 2, pfx, true, err, sizeof(err)) == 2 &&
		       pc.port_hold == 30);
		EXPECT(conf_parse_setting(&pc, 2, pfx, false, err, sizeof(err)) < 0);
		EXPECT(conf_parse_setting(&pc, 2, amb, true, err, sizeof(err)) < 0 &&
		       strstr(err, "ambiguous setting 'port'"));
		EXPECT(conf_parse_setting(&pc, 1, none, true, err, sizeof(err)) < 0 &&
		       strstr(err, "'port-hold' needs a value"));
		EXPECT(strstr(conf_keywords(), "port-hold"));
	}
	{
		static const char *const names[] = { "status", "stats", "set" };

		for (i = 0; i < 3; i++)
			cmd_names[i] = names[i];
		EXPECT(match_word("stat", names, 3, true) == -2);
		EXPECT(match_word("stats", names, 3, true) == 1);
		EXPECT(match_word("statu", names, 3, true) == 0);
		EXPECT(match_word("se", names, 3, true) == 2);
		EXPECT(match_word("se", names, 3, false) == -1);
		EXPECT(match_word("", names, 3, true) == -1);
	}
}

/* internal value (words) -> want ("" = the empty list), or the error. */
static void prefix_case(const char *key, const char *const *words, int nw,
			int want_used, const char *want, const char *want_err)
{
	struct natk_conf c = {};
	struct natk_prefix_list *l = strcmp(key, "internal") ? &c.no_nat :
				     &c.internal;
	char *argv[80], err[256] = "", got[2048] = "", buf[PREFIX_STRLEN];
	int n;

	argv[0] = (char *)key;
	for (int i = 0; i < nw; i++)
		argv[i + 1] = (char *)words[i];
	n = conf_parse_setting(&c, nw + 1, argv, true, err, sizeof(err));
	if (want) {
		for (unsigned int i = 0; n > 0 && i < l->n; i++) {
			if (i)
				strcat(got, ",");
			strcat(got, prefix_str(&l->p[i], buf));
		}
		if (n != want_used || strcmp(got, want) ||
		    !(c.have & (l == &c.internal ? HAVE_INTERNAL : HAVE_NO_NAT))) {
			fprintf(stderr, "%s %s...: used %d, want %d; got '%s', want '%s' (%s)\n",
				key, words[0], n, want_used, got, want, err);
			failures++;
		}
	} else if (n >= 0 || !strstr(err, want_err)) {
		fprintf(stderr, "%s %s...: used %d, error '%s', want error '%s'\n",
			key, words[0], n, err, want_err);
		failures++;
	}
}

#define PFX(key, want_used, want, want_err, ...) do { \
		static const char *const w_[] = { __VA_ARGS__ }; \
		prefix_case(key, w_, (int)ARRAY_SIZE(w_), want_used, want, \
			    want_err); \
	} while (0)
#define PFX_OK(key, used, want, ...) PFX(key, used, want, NULL, __VA_ARGS__)
#define PFX_BAD(key, want_err, ...) PFX(key, 0, NULL, want_err, __VA_ARGS__)

/* internal, no-nat: parse_prefix and the lists of conf_parse_setting. */
static void test_prefixes(void)
{
	static const struct {
		const char *s;
		enum prefix_err want;
		const char *addr;
		uint8_t len;
	} pc[] = {
		{ "10.0.0.0/8", PREFIX_OK, "10.0.0.0", 8 },
		{ "10.0.0.1", PREFIX_OK, "10.0.0.1", 32 },
		{ "10.0.0.1/32", PREFIX_OK, "10.0.0.1", 32 },
		{ "0.0.0.0/0", PREFIX_OK, "0.0.0.0", 0 },
		{ "255.255.255.255/32", PREFIX_OK, "255.255.255.255", 32 },
		{ "192.168.1.128/25", PREFIX_OK, "192.168.1.128", 25 },
		{ "10.0.0.1/24", PREFIX_HOST_BITS, "10.0.0.1", 24 },
		{ "0.0.0.1/0", PREFIX_HOST_BITS, "0.0.0.1", 0 },
		{ "10.0.0.0/33", PREFIX_LEN, NULL, 0 },
		{ "10.0.0.0/4294967296", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0.0/", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0.0/-1", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0.0/+8", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0.0/8x", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0.0/ 8", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0.0/8/8", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0/8", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0.256", PREFIX_SYNTAX, NULL, 0 },
		{ "10.0.0.1:80", PREFIX_SYNTAX, NULL, 0 },
		{ "/8", PREFIX_SYNTAX, NULL, 0 },
		{ "", PREFIX_SYNTAX, NULL, 0 },
		{ "all", PREFIX_SYNTAX, NULL, 0 },
		{ "::1/128", PREFIX_SYNTAX, NULL, 0 },
	};
	char *big[NATK_PREFIXES_MAX + 2], err[256], words[NATK_PREFIXES_MAX + 1][24];
	struct natk_conf c = {};
	struct natk_status st = {};
	uint32_t a, want;
	uint8_t len;
	int i, n;

	for (i = 0; i < (int)ARRAY_SIZE(pc); i++) {
		enum prefix_err e = parse_prefix(pc[i].s, &a, &len);

		if (e != pc[i].want) {
			fprintf(stderr, "parse_prefix('%s') = %d, want %d\n",
				pc[i].s, e, pc[i].want);
			failures++;
			continue;
		}
		if (!pc[i].addr)
			continue;
		inet_pton(AF_INET, pc[i].addr, &want);
		EXPECT(a == want && len == pc[i].len);
	}
	EXPECT(prefix_mask_be(0) == 0 && prefix_mask_be(32) == 0xffffffff &&
	       prefix_mask_be(8) == htonl(0xff000000));

	/* lists, one word or several, and the keywords of the empty list */
	PFX_OK("internal", 2, "10.0.0.0/16", "10.0.0.0/16");
	PFX_OK("internal", 2, "10.0.0.0/16,10.1.0.0/16",
	       "10.0.0.0/16,10.1.0.0/16", "ports", "1-2");
	PFX_OK("no-nat", 3, "10.0.0.0/8,172.16.0.0/12",
	       "10.0.0.0/8,", "172.16.0.0/12", "ports", "1-2");
	PFX_OK("no-nat", 5, "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
	       "10.0.0.0/8", ",172.16.0.0/12", ",", "192.168.0.0/16",
	       "mss-clamp", "off");
	PFX_OK("internal", 2, "10.0.0.1/32,0.0.0.0/0", "10.0.0.1,0.0.0.0/0");
	PFX_OK("internal", 2, "", "all");
	PFX_OK("internal", 2, "", "any");
	PFX_OK("no-nat", 2, "", "none");
	/* a repeated prefix counts once, in the order first given */
	PFX_OK("no-nat", 2, "10.0.0.0/8,10.1.0.0/16",
	       "10.0.0.0/8,10.1.0.0/16,10.0.0.0/8,10.1.0.0/16");
	PFX_OK("no-nat", 2, "10.0.0.0/8,10.0.0.0/16", "10.0.0.0/8,10.0.0.0/16");

	PFX_BAD("internal", "internal: 10.0.0.1/24 has host bits set: did you mean 10.0.0.0/24?",
		"10.0.0.1/24");
	PFX_BAD("no-nat", "no-nat: 172.16.0.1/12 has host bits set: did you mean 172.16.0.0/12?",
		"10.0.0.0/8,", "172.16.0.1/12");
	PFX_BAD("internal", "internal: 0.0.0.1/0 has host bits set: did you mean 0.0.0.0/0?",
		"0.0.0.1/0");
	PFX_BAD("internal", "internal: invalid prefix '10.0.0.0/33': the length after '/' is 0 to 32",
		"10.0.0.0/33");
	PFX_BAD("internal", "internal: invalid prefix '10.0.0/8': expected A.B.C.D/LEN or A.B.C.D",
		"10.0.0/8");
	PFX_BAD("no-nat", "or none", "10.0.0.0/x");
	PFX_BAD("internal", "a prefix is missing", "10.0.0.0/8,,10.1.0.0/16");
	PFX_BAD("internal", "a prefix is missing", "10.0.0.0/8,");
	PFX_BAD("internal", "a prefix is missing", ",10.0.0.0/8");
	PFX_BAD("internal", "a prefix is missing", "");
	PFX_BAD("internal", "internal: 'all' stands alone", "10.0.0.0/8,all");
	PFX_BAD("no-nat", "no-nat: 'none' stands alone", "none,", "10.0.0.0/8");
	PFX_BAD("no-nat", "invalid prefix 'all'", "all");
	PFX_BAD("internal", "invalid prefix 'none'", "none");
	PFX_BAD("internal", "'internal' needs a value");

	/* 64 prefixes are the most, duplicates not counted */
	big[0] = "no-nat";
	for (i = 0; i <= NATK_PREFIXES_MAX; i++) {
		snprintf(words[i], sizeof(words[i]), "10.%d.0.0/16%s", i,
			 i < NATK_PREFIXES_MAX ? "," : "");
		big[i + 1] = words[i];
	}
	words[NATK_PREFIXES_MAX - 1][strlen(words[NATK_PREFIXES_MAX - 1]) - 1] = '\0';
	n = conf_parse_setting(&c, NATK_PREFIXES_MAX + 1, big, false, err,
			       sizeof(err));
	EXPECT(n == NATK_PREFIXES_MAX + 1 && c.no_nat.n == NATK_PREFIXES_MAX &&
	       c.no_nat.p[63].addr_be == htonl(0x0a3f0000) &&
	       c.no_nat.p[63].len == 16);
	strcat(words[NATK_PREFIXES_MAX - 1], ",");
	c.have = 0;
	n = conf_parse_setting(&c, NATK_PREFIXES_MAX + 2, big, false, err,
			       sizeof(err));
	EXPECT(n < 0 && !strcmp(err, "no-nat: more than 64 prefixes: cover them with fewer, shorter ones"));
	snprintf(words[NATK_PREFIXES_MAX], sizeof(words[0]), "10.0.0.0/16");
	c.have = 0;
	n = conf_parse_setting(&c, NATK_PREFIXES_MAX + 2, big, false, err,
			       sizeof(err));
	EXPECT(n == NATK_PREFIXES_MAX + 2 && c.no_nat.n == NATK_PREFIXES_MAX);

	/* given twice; abbreviated; a prefix where a setting belongs */
	{
		char *two[] = { "internal", "10.0.0.0/8", "internal", "all" };
		char *abbr[] = { "no", "10.0.0.0/8" };
		char *stray[] = { "10.1.0.0/16" };

		memset(&c, 0, sizeof(c));
		EXPECT(conf_parse_setting(&c, 4, two, true, err, sizeof(err)) == 2);
		EXPECT(conf_parse_setting(&c, 2, two + 2, true, err, sizeof(err)) < 0 &&
		       strstr(err, "'internal' given twice"));
		EXPECT(c.internal.n == 1);
		EXPECT(conf_parse_setting(&c, 2, abbr, true, err, sizeof(err)) == 2 &&
		       c.no_nat.n == 1);
		EXPECT(conf_parse_setting(&c, 2, abbr, false, err, sizeof(err)) < 0);
		EXPECT(conf_parse_setting(&c, 1, stray, true, err, sizeof(err)) < 0 &&
		       strstr(err, "separate the prefixes of internal or no-nat with commas"));
		EXPECT(strstr(conf_keywords(), "internal") &&
		       strstr(conf_keywords(), "no-nat"));
	}

	/* SET_CONFIG: a nest of entries; an empty list an empty nest */
	{
		struct nl_msg *m = nlmsg_alloc_size(CONF_MSG_SIZE);
		struct nlattr *tb[NATK_A_MAX + 1];
		struct natk_status got = {};

		memset(&c, 0, sizeof(c));
		n = conf_parse_setting(&c, NATK_PREFIXES_MAX + 2, big, false,
				       err, sizeof(err));
		EXPECT(n > 0);
		c.have |= HAVE_INTERNAL;	/* internal all */
		family = 0x1234;
		assert(m && genlmsg_put(m, 0, 0, family, 0, 0,
					NATK_CMD_SET_CONFIG, 1));
		conf_put_attrs(m, &c);
		EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
		EXPECT(tb[NATK_A_INTERNAL] && nla_len(tb[NATK_A_INTERNAL]) == 0);
		/* the kernel's strict policy refuses a nest without the flag */
		EXPECT(tb[NATK_A_INTERNAL]->nla_type & NLA_F_NESTED);
		EXPECT(tb[NATK_A_NO_NAT] &&
		       (tb[NATK_A_NO_NAT]->nla_type & NLA_F_NESTED) &&
		       nla_len(tb[NATK_A_NO_NAT]) == NATK_PREFIXES_MAX * 20);
		/* read back as GET_CONFIG would carry them */
		EXPECT(status_parse(m, &got) == 0);
		EXPECT(status_has(&got, NATK_A_INTERNAL) && got.internal.n == 0);
		EXPECT(got.no_nat.n == NATK_PREFIXES_MAX);
		for (i = 0; i < (int)got.no_nat.n; i++)
			EXPECT(got.no_nat.p[i].addr_be == c.no_nat.p[i].addr_be &&
			       got.no_nat.p[i].len == c.no_nat.p[i].len);
		nlmsg_free(m);
	}

	/* an older module has neither list */
	st.present = 1ull << NATK_A_FWD_REPLACE;
	c.have = HAVE_PORTS;
	EXPECT(!conf_unsupported(&c, &st));
	c.have = HAVE_PORTS | HAVE_NO_NAT;
	EXPECT(conf_unsupported(&c, &st) && !strcmp(conf_unsupported(&c, &st), "no-nat"));
	c.have = HAVE_INTERNAL;
	EXPECT(conf_unsupported(&c, &st) && !strcmp(conf_unsupported(&c, &st), "internal"));
	st.present |= 1ull << NATK_A_INTERNAL | 1ull << NATK_A_NO_NAT;
	c.have = HAVE_INTERNAL | HAVE_NO_NAT;
	EXPECT(!conf_unsupported(&c, &st));
}

static struct nl_msg *genl_msg(uint8_t cmd)
{
	struct nl_msg *m = nlmsg_alloc_size(1 << 16);

	assert(m);
	family = 0x1234;
	assert(genlmsg_put(m, 0, 0, family, 0, 0, cmd, 1));
	return m;
}

/* A NATK_A_INTERNAL or NATK_A_NO_NAT nest as the kernel sends it. */
static void put_prefixes(struct nl_msg *m, int attr, const char *const *p,
			 int n)
{
	struct nlattr *nest, *e;
	uint32_t a;
	uint8_t len;

	if (!n) {
		nla_put(m, attr, 0, NULL);	/* the kernel keeps it empty */
		return;
	}
	nest = nla_nest_start(m, attr);
	for (int i = 0; i < n; i++) {
		assert(parse_prefix(p[i], &a, &len) == PREFIX_OK);
		e = nla_nest_start(m, NATK_PREFIX_A_ENTRY);
		nla_put_u32(m, NATK_PREFIX_A_ADDR_BE, a);
		nla_put_u8(m, NATK_PREFIX_A_LEN, len);
		nla_nest_end(m, e);
	}
	nla_nest_end(m, nest);
}

static void test_status(void)
{
	struct nl_msg *m = genl_msg(NATK_CMD_GET_CONFIG);
	struct natk_status st = {};
	struct natk_fwd fw[2] = {
		{ IPPROTO_TCP, 8080, htonl(0x0a000002), 80 },
		{ IPPROTO_UDP, 5353, htonl(0x0a000003), 5353 },
	};
	char *s;

	nla_put_u8(m, NATK_A_ENABLED, 1);
	nla_put_u32(m, NATK_A_IFINDEX, 3);
	nla_put_string(m, NATK_A_IFNAME, "wan0");
	nla_put_u32(m, NATK_A_EXT_ADDR_BE, htonl(0xc0000201));
	nla_put_u16(m, NATK_A_PORT_MIN, 1024);
	nla_put_u16(m, NATK_A_PORT_MAX, 65535);
	nla_put_u32(m, NATK_A_MAX_FLOWS, 262144);
	nla_put_u32(m, NATK_A_MAX_FLOWS_PER_HOST, 0);
	nla_put_u32(m, NATK_A_FLOWS, 3);
	nla_put_u8(m, NATK_A_MAPPING, NATK_MAPPING_ENDPOINT_INDEPENDENT);
	nla_put_u8(m, NATK_A_FILTERING, NATK_FILTERING_ADDRESS_PORT_DEPENDENT);
	nla_put_u32(m, NATK_A_TIMEOUT_TCP_EST, 7440);
	nla_put_u32(m, NATK_A_TIMEOUT_TCP_TRANS, 240);
	nla_put_u32(m, NATK_A_TIMEOUT_UDP, 300);
	nla_put_u32(m, NATK_A_TIMEOUT_ICMP, 60);
	nla_put_u16(m, NATK_A_MSS_CLAMP, NATK_MSS_CLAMP_PMTU);
	nla_put_u32(m, NATK_A_HASH_BUCKETS, 65536);
	nla_put_u32(m, NATK_A_PORT_HOLD, 120);
	nla_put_u32(m, NATK_A_PORTS_HELD, 3);
	EXPECT(config_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	EXPECT(st.port_hold == 120 && st.ports_held == 3);
	EXPECT(status_has(&st, NATK_A_PORT_HOLD) &&
	       status_has(&st, NATK_A_PORTS_HELD));

	cap_start(false, false);
	status_print(&st, fw, 2);
	s = cap_end();
	EXPECT_STR(s,
		"natk: enabled\n"
		"  external interface: wan0 (192.0.2.1)\n"
		"  state: active\n"
		"  ports: 1024-65535\n"
		"  mapping: endpoint-independent   filtering: address-port-dependent\n"
		"  timeouts: tcp-established 7440s tcp-transitory 240s udp 300s icmp 60s\n"
		"  flows: 3 / 262144\n"
		"  max-flows-per-host: none   hash buckets: 65536\n"
		"  mss-clamp: pmtu\n"
		"  port-hold: 120s   held ports: 3\n"
		"  forwards:\n"
		"    tcp 8080 -> 10.0.0.2:80\n"
		"    udp 5353 -> 10.0.0.3:5353\n");
	free(s);

	cap_start(true, false);
	status_print(&st, fw, 2);
	s = cap_end();
	EXPECT_STR(s,
		"{\"enabled\":true,\"state\":\"active\",\"external_interface\":\"wan0\","
		"\"external_address\":\"192.0.2.1\",\"port_min\":1024,"
		"\"port_max\":65535,\"mapping\":\"endpoint-independent\","
		"\"filtering\":\"address-port-dependent\",\"timeouts\":{"
		"\"tcp_established\":7440,\"tcp_transitory\":240,\"udp\":300,"
		"\"icmp\":60},\"flows\":3,\"max_flows\":262144,"
		"\"max_flows_per_host\":0,\"hash_buckets\":65536,"
		"\"mss_clamp\":\"pmtu\",\"port_hold\":120,\"ports_held\":3,"
		"\"forwards\":[{\"proto\":\"tcp\","
		"\"external_port\":8080,\"internal_address\":\"10.0.0.2\","
		"\"internal_port\":80},{\"proto\":\"udp\",\"external_port\":5353,"
		"\"internal_address\":\"10.0.0.3\",\"internal_port\":5353}]}\n");
	save_json("status", s);
	free(s);

	/* disabled, nothing forwarded, numeric MSS, no port hold */
	st.enabled = false;
	st.state = NATK_STATE_DOWN;
	st.mss_clamp = 1400;
	st.max_flows_per_host = 100;
	st.port_hold = 0;
	st.ports_held = 0;
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT_STR(s,
		"natk: disabled\n"
		"  external interface: none\n"
		"  ports: 1024-65535\n"
		"  mapping: endpoint-independent   filtering: address-port-dependent\n"
		"  timeouts: tcp-established 7440s tcp-transitory 240s udp 300s icmp 60s\n"
		"  flows: 3 / 262144\n"
		"  max-flows-per-host: 100   hash buckets: 65536\n"
		"  mss-clamp: 1400\n"
		"  port-hold: off   held ports: 0\n");
	free(s);
	cap_start(true, true);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\"external_interface\": null,"));
	EXPECT(strstr(s, "\"external_address\": null,"));
	EXPECT(strstr(s, "\"mss_clamp\": 1400,"));
	EXPECT(strstr(s, "\"port_hold\": 0,"));
	EXPECT(strstr(s, "\"ports_held\": 0,"));
	EXPECT(strstr(s, "\"forwards\": []"));
	save_json("status_disabled", s);
	free(s);

	/* An older module sends neither port hold attribute: nothing shown. */
	st.present &= ~(1ull << NATK_A_PORT_HOLD | 1ull << NATK_A_PORTS_HELD);
	st.port_hold = 120;
	st.ports_held = 3;
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "  mss-clamp: 1400\n") && !strstr(s, "port-hold") &&
	       !strstr(s, "held"));
	free(s);
	cap_start(true, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\"mss_clamp\":1400,\"forwards\":[]}"));
	EXPECT(!strstr(s, "port_hold") && !strstr(s, "ports_held"));
	save_json("status_old_module", s);
	free(s);

	/* Only the count (not expected, but each is shown on its own). */
	st.present |= 1ull << NATK_A_PORTS_HELD;
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "  mss-clamp: 1400\n  held ports: 3\n"));
	free(s);

	/* The longest hash chain, from a module that sends it. */
	m = genl_msg(NATK_CMD_GET_CONFIG);
	nla_put_u32(m, NATK_A_HASH_BUCKETS, 4096);
	nla_put_u32(m, NATK_A_HASH_MAX_CHAIN, 4);
	nla_put_u32(m, NATK_A_HASH_ENTRIES, 2000);
	EXPECT(config_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	EXPECT(st.hash_max_chain == 4 && st.hash_entries == 2000 &&
	       status_has(&st, NATK_A_HASH_MAX_CHAIN) &&
	       status_has(&st, NATK_A_HASH_ENTRIES));
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "  max-flows-per-host: 100   hash buckets: 4096"
		      "   entries: 2000   longest chain: 4\n"));
	free(s);
	cap_start(true, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\"hash_buckets\":4096,\"hash_entries\":2000,"
		      "\"hash_max_chain\":4,"));
	free(s);

	/* The scope lists, from a module that has them: after the state. */
	{
		static const char *const in[] = { "10.0.0.0/16", "10.1.0.0/16" };
		static const char want[] = "natk: enabled\n"
			"  external interface: wan0 (192.0.2.1)\n"
			"  state: active\n"
			"  internal: 10.0.0.0/16, 10.1.0.0/16\n"
			"  no-nat: 172.16.0.0/12\n"
			"  ports: 1024-65535\n";
		struct nlattr *nest;

		memset(&st, 0, sizeof(st));
		m = genl_msg(NATK_CMD_GET_CONFIG);
		nla_put_u8(m, NATK_A_ENABLED, 1);
		nla_put_u8(m, NATK_A_STATE, NATK_STATE_ACTIVE);
		nla_put_string(m, NATK_A_IFNAME, "wan0");
		nla_put_u32(m, NATK_A_EXT_ADDR_BE, htonl(0xc0000201));
		nla_put_u16(m, NATK_A_PORT_MIN, 1024);
		nla_put_u16(m, NATK_A_PORT_MAX, 65535);
		put_prefixes(m, NATK_A_INTERNAL, in, 2);
		/* a malformed entry and an unknown one are skipped */
		nest = nla_nest_start(m, NATK_A_NO_NAT);
		{
			struct nlattr *e = nla_nest_start(m, NATK_PREFIX_A_ENTRY);

			nla_put_u32(m, NATK_PREFIX_A_ADDR_BE, htonl(0xac100000));
			nla_put_u8(m, NATK_PREFIX_A_LEN, 12);
			nla_nest_end(m, e);
			e = nla_nest_start(m, NATK_PREFIX_A_ENTRY);
			nla_put_u32(m, NATK_PREFIX_A_ADDR_BE, htonl(0x0a000000));
			nla_nest_end(m, e);
			nla_put_u32(m, NATK_PREFIX_A_MAX + 1, 0);
		}
		nla_nest_end(m, nest);
		EXPECT(config_cb(m, &st) == NL_OK);
		nlmsg_free(m);
		EXPECT(st.internal.n == 2 && st.no_nat.n == 1);
		cap_start(false, false);
		status_print(&st, NULL, 0);
		s = cap_end();
		EXPECT(!strncmp(s, want, strlen(want)));
		free(s);
		cap_start(true, false);
		status_print(&st, NULL, 0);
		s = cap_end();
		EXPECT(strstr(s, "\"state\":\"active\",\"external_interface\":\"wan0\","
			      "\"external_address\":\"192.0.2.1\","
			      "\"internal\":[\"10.0.0.0/16\",\"10.1.0.0/16\"],"
			      "\"no_nat\":[\"172.16.0.0/12\"],\"port_min\":1024,"));
		save_json("status_scope", s);
		free(s);

		/* both empty: the defaults, any source and no exception */
		m = genl_msg(NATK_CMD_GET_CONFIG);
		put_prefixes(m, NATK_A_INTERNAL, NULL, 0);
		put_prefixes(m, NATK_A_NO_NAT, NULL, 0);
		EXPECT(config_cb(m, &st) == NL_OK);
		nlmsg_free(m);
		EXPECT(st.internal.n == 0 && st.no_nat.n == 0 &&
		       status_has(&st, NATK_A_INTERNAL) &&
		       status_has(&st, NATK_A_NO_NAT));
		cap_start(false, false);
		status_print(&st, NULL, 0);
		s = cap_end();
		EXPECT(strstr(s, "  state: active\n  internal: any\n"
			      "  no-nat: none\n  ports: 1024-65535\n"));
		free(s);
		cap_start(true, true);
		status_print(&st, NULL, 0);
		s = cap_end();
		EXPECT(strstr(s, "\n  \"internal\": [],\n  \"no_nat\": [],\n"));
		save_json("status_scope_empty", s);
		free(s);
	}
}

/* save's output read back as apply reads a file gives the same settings. */
static void test_save_apply(void)
{
	struct natk_fwd fw[2] = {
		{ IPPROTO_TCP, 8080, htonl(0x0a000002), 80 },
		{ IPPROTO_UDP, 5353, htonl(0x0a000003), 5353 },
	};
	static const uint32_t holds[] = { 120, 0, 3600 };
	/* the scope lists of each round, as save writes them ("": empty) */
	static const char *const in_s[] = { "10.0.0.0/16, 10.1.0.0/16", "",
					    "10.0.0.7/32", NULL };
	static const char *const nonat_s[] = { "10.0.0.0/8, 172.16.0.0/12", "",
					       "", NULL };
	static const char *const in_p[][2] = {
		{ "10.0.0.0/16", "10.1.0.0/16" }, {}, { "10.0.0.7" }, {} };
	static const char *const nonat_p[][2] = {
		{ "10.0.0.0/8", "172.16.0.0/12" }, {}, {}, {} };
	static const int in_n[] = { 2, 0, 1, 0 }, nonat_n[] = { 2, 0, 0, 0 };

	for (int k = 0; k < 4; k++) {
		struct nl_msg *m = genl_msg(NATK_CMD_GET_CONFIG);
		struct natk_status st = {};
		struct file_conf fc = {};
		bool old = k == 3;	/* a module without port hold */
		FILE *fp;
		char *s;
		int i;

		nla_put_u8(m, NATK_A_ENABLED, 1);
		nla_put_string(m, NATK_A_IFNAME, "wan0");
		nla_put_u16(m, NATK_A_PORT_MIN, 20000);
		nla_put_u16(m, NATK_A_PORT_MAX, 30000);
		nla_put_u32(m, NATK_A_MAX_FLOWS, 100000);
		nla_put_u32(m, NATK_A_MAX_FLOWS_PER_HOST, 50);
		nla_put_u8(m, NATK_A_MAPPING, NATK_MAPPING_ADDRESS_PORT_DEPENDENT);
		nla_put_u8(m, NATK_A_FILTERING, NATK_FILTERING_ADDRESS_DEPENDENT);
		nla_put_u32(m, NATK_A_TIMEOUT_TCP_EST, 7440);
		nla_put_u32(m, NATK_A_TIMEOUT_TCP_TRANS, 240);
		nla_put_u32(m, NATK_A_TIMEOUT_UDP, 77);
		nla_put_u32(m, NATK_A_TIMEOUT_ICMP, 60);
		nla_put_u16(m, NATK_A_MSS_CLAMP, 1400);
		if (!old) {
			nla_put_u32(m, NATK_A_PORT_HOLD, holds[k]);
			nla_put_u32(m, NATK_A_PORTS_HELD, 7);
			put_prefixes(m, NATK_A_INTERNAL, in_p[k], in_n[k]);
			put_prefixes(m, NATK_A_NO_NAT, nonat_p[k], nonat_n[k]);
		}
		EXPECT(config_cb(m, &st) == NL_OK);
		nlmsg_free(m);

		cap_start(false, false);
		save_print(&st, fw, 2);
		s = cap_end();
		if (old) {
			EXPECT(!strstr(s, "port-hold"));
		} else {
			char line[32];

			snprintf(line, sizeof(line), "\nport-hold %u\n", holds[k]);
			EXPECT(strstr(s, line));
		}
		/* the lists only when not empty, after external */
		{
			char line[128];

			snprintf(line, sizeof(line), "\nexternal wan0\ninternal %s\n",
				 in_s[k] ? in_s[k] : "");
			EXPECT(!in_n[k] || strstr(s, line));
			snprintf(line, sizeof(line), "\nno-nat %s\n",
				 nonat_s[k] ? nonat_s[k] : "");
			EXPECT(!nonat_n[k] || strstr(s, line));
			EXPECT(in_n[k] || !strstr(s, "internal"));
			EXPECT(nonat_n[k] || !strstr(s, "no-nat"));
		}

		fp = fmemopen(s, strlen(s), "r");
		assert(fp);
		EXPECT(parse_file("saved", fp, &fc) == 0);
		fclose(fp);
		EXPECT(!strcmp(fc.c.ifname, "wan0"));
		EXPECT(fc.c.port_min == 20000 && fc.c.port_max == 30000);
		EXPECT(fc.c.max_flows == 100000 && fc.c.max_flows_per_host == 50);
		EXPECT(fc.c.mapping == NATK_MAPPING_ADDRESS_PORT_DEPENDENT);
		EXPECT(fc.c.filtering == NATK_FILTERING_ADDRESS_DEPENDENT);
		for (i = 0; i < TIMEOUT_COUNT; i++)
			EXPECT(fc.c.timeout[i] == st.timeout[i]);
		EXPECT(fc.c.mss_clamp == 1400);
		if (old) {
			EXPECT(!(fc.c.have & HAVE_PORT_HOLD));
		} else {
			EXPECT((fc.c.have & HAVE_PORT_HOLD) &&
			       fc.c.port_hold == holds[k]);
		}
		EXPECT(!!(fc.c.have & HAVE_INTERNAL) == !!in_n[k] &&
		       fc.c.internal.n == (unsigned int)in_n[k]);
		EXPECT(!!(fc.c.have & HAVE_NO_NAT) == !!nonat_n[k] &&
		       fc.c.no_nat.n == (unsigned int)nonat_n[k]);
		for (i = 0; i < in_n[k]; i++)
			EXPECT(fc.c.internal.p[i].addr_be == st.internal.p[i].addr_be &&
			       fc.c.internal.p[i].len == st.internal.p[i].len);
		for (i = 0; i < nonat_n[k]; i++)
			EXPECT(fc.c.no_nat.p[i].addr_be == st.no_nat.p[i].addr_be &&
			       fc.c.no_nat.p[i].len == st.no_nat.p[i].len);
		EXPECT(fc.nfwd == 2);
		for (i = 0; i < (int)fc.nfwd && i < 2; i++)
			EXPECT(fc.fwd[i].proto == fw[i].proto &&
			       fc.fwd[i].ext_port == fw[i].ext_port &&
			       fc.fwd[i].int_addr_be == fw[i].int_addr_be &&
			       fc.fwd[i].int_port == fw[i].int_port);

		/* and the message apply would send carries it */
		m = genl_msg(NATK_CMD_SET_CONFIG);
		conf_put_attrs(m, &fc.c);
		{
			struct nlattr *tb[NATK_A_MAX + 1];

			EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX,
					     NULL) == 0);
			if (old)
				EXPECT(!tb[NATK_A_PORT_HOLD]);
			else
				EXPECT(tb[NATK_A_PORT_HOLD] &&
				       nla_get_u32(tb[NATK_A_PORT_HOLD]) == holds[k]);
			EXPECT(!tb[NATK_A_PORTS_HELD]);
			/* an empty list is not in the file: NATK_A_RESET's */
			EXPECT(!tb[NATK_A_INTERNAL] == !in_n[k]);
			EXPECT(!tb[NATK_A_NO_NAT] == !nonat_n[k]);
			EXPECT(!tb[NATK_A_INTERNAL] ||
			       nla_len(tb[NATK_A_INTERNAL]) == in_n[k] * 20);
		}
		nlmsg_free(m);
		/* an older module: the lines that set a list are named */
		st.present &= ~(1ull << NATK_A_INTERNAL | 1ull << NATK_A_NO_NAT);
		EXPECT(apply_name_unsupported("saved", &fc, &st) ==
		       !!in_n[k] + !!nonat_n[k]);
		st.present |= 1ull << NATK_A_INTERNAL | 1ull << NATK_A_NO_NAT;
		EXPECT(apply_name_unsupported("saved", &fc, &st) == 0);
		free(fc.fwd);
		free(fc.fwd_line);
		free(fc.line_conf);
		free(fc.line_no);
		free(s);
	}
}

static void test_stats(void)
{
	struct nl_msg *m = genl_msg(NATK_CMD_GET_STATS);
	struct nlattr *nest;
	struct stats st = {};
	char *s;

	nest = nla_nest_start(m, NATK_A_STATS);
	nla_put_u64(m, NATK_STAT_ACTIVE_CONNECTIONS, 3);
	nla_put_u32(m, NATK_STAT_PAD, 0);
	nla_put_u64(m, NATK_STAT_HAIRPINNED, 1ull << 40);
	nla_put_u64(m, NATK_STAT_DROP_ICMP_RATELIMIT, 7);
	nla_put_u64(m, NATK_STAT_MAX + 5, 99);	/* newer counter: ignored */
	nla_nest_end(m, nest);
	EXPECT(stats_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	EXPECT(st.got);

	cap_start(false, false);
	stats_print(&st);
	s = cap_end();
	EXPECT(!strncmp(s, "active_connections: 3\nconnection_attempts: 0\n", 45));
	EXPECT(strstr(s, "\nhairpinned: 1099511627776\n"));
	EXPECT(strstr(s, "drop_fragment: 0\n"));
	EXPECT(strstr(s, "\ndrop_icmp_ratelimit: 7\n"));
	free(s);
	cap_start(true, false);
	stats_print(&st);
	s = cap_end();
	EXPECT(!strncmp(s, "{\"active_connections\":3,\"connection_attempts\":0,", 48));
	EXPECT(strstr(s, ",\"hairpinned\":1099511627776,"));
	EXPECT(strstr(s, ",\"drop_icmp_ratelimit\":7,"));
	EXPECT(strstr(s, ",\"fastpath_routes\":0,\"passed_out_of_scope\":0}\n"));
	save_json("stats", s);
	free(s);
}

static void put_flow(struct nl_msg *m, uint8_t proto, uint8_t state,
		     uint8_t reason, bool counters)
{
	struct nlattr *nest = nla_nest_start(m, NATK_A_FLOW);

	nla_put_u8(m, NATK_FLOW_A_PROTO, proto);
	nla_put_u32(m, NATK_FLOW_A_INT_ADDR_BE, htonl(0x0a000002));
	nla_put_u16(m, NATK_FLOW_A_INT_PORT, 40000);
	nla_put_u32(m, NATK_FLOW_A_EXT_ADDR_BE, htonl(0xc0000201));
	nla_put_u16(m, NATK_FLOW_A_EXT_PORT, 40000);
	nla_put_u32(m, NATK_FLOW_A_REM_ADDR_BE, htonl(0xc0000202));
	nla_put_u16(m, NATK_FLOW_A_REM_PORT, proto == IPPROTO_ICMP ? 0 : 80);
	nla_put_u8(m, NATK_FLOW_A_STATE, state);
	if (reason)
		nla_put_u8(m, NATK_FLOW_A_REASON, reason);
	nla_put_u32(m, NATK_FLOW_A_EXPIRES_MS, 7438001);
	nla_put_u32(m, NATK_FLOW_A_AGE_MS, 1999);
	if (counters) {
		nla_put_u32(m, NATK_FLOW_A_PAD, 0);
		nla_put_u64(m, NATK_FLOW_A_PKTS_OUT, 12);
		nla_put_u64(m, NATK_FLOW_A_BYTES_OUT, 1024);
		nla_put_u64(m, NATK_FLOW_A_PKTS_IN, 10);
		nla_put_u64(m, NATK_FLOW_A_BYTES_IN, 9000);
	}
	nla_put_u32(m, NATK_FLOW_A_MAX + 3, 1);	/* unknown: ignored */
	nla_nest_end(m, nest);
}

static void test_flows(void)
{
	struct nl_msg *m = genl_msg(NATK_CMD_GET_FLOWS);
	struct flow_buf b = {};
	char *s;

	put_flow(m, IPPROTO_TCP, NATK_TCP_ESTABLISHED, 0, true);
	put_flow(m, IPPROTO_ICMP, 0, 0, true);
	EXPECT(flows_cb(m, &b) == NL_OK);
	nlmsg_free(m);
	EXPECT(b.n == 2);

	cap_start(false, false);
	flows_print(&b);
	s = cap_end();
	EXPECT_STR(s,
		"tcp 10.0.0.2:40000 -> 192.0.2.1:40000 -> 192.0.2.2:80 established expires 7439s out 12 pkts 1024 bytes in 10 pkts 9000 bytes\n"
		"icmp 10.0.0.2:40000 -> 192.0.2.1:40000 -> 192.0.2.2:0 - expires 7439s out 12 pkts 1024 bytes in 10 pkts 9000 bytes\n");
	free(s);

	cap_start(true, false);
	flows_print(&b);
	s = cap_end();
	EXPECT_STR(s,
		"[{\"proto\":\"tcp\",\"internal_address\":\"10.0.0.2\",\"internal_port\":40000,"
		"\"external_address\":\"192.0.2.1\",\"external_port\":40000,"
		"\"remote_address\":\"192.0.2.2\",\"remote_port\":80,\"state\":\"established\","
		"\"expires\":7439,\"age\":1,\"packets_out\":12,\"bytes_out\":1024,"
		"\"packets_in\":10,\"bytes_in\":9000},"
		"{\"proto\":\"icmp\",\"internal_address\":\"10.0.0.2\",\"internal_port\":40000,"
		"\"external_address\":\"192.0.2.1\",\"external_port\":40000,"
		"\"remote_address\":\"192.0.2.2\",\"remote_port\":0,\"state\":\"-\","
		"\"expires\":7439,\"age\":1,\"packets_out\":12,\"bytes_out\":1024,"
		"\"packets_in\":10,\"bytes_in\":9000}]\n");
	save_json("flows", s);
	free(s);

	b.n = 0;
	cap_start(true, false);
	flows_print(&b);
	s = cap_end();
	EXPECT_STR(s, "[]\n");
	free(s);
	cap_start(false, false);
	flows_print(&b);
	s = cap_end();
	EXPECT_STR(s, "");
	free(s);

	/* A big dump prints fast: 1M flows, timed. */
	if (!getenv("NO_BENCH")) {
		struct timespec t0, t1;
		struct flow f = b.v[0];
		FILE *null = fopen("/dev/null", "w");
		double dt;

		free(b.v);
		b.v = malloc(1000000 * sizeof(*b.v));
		assert(b.v);
		for (b.n = 0; b.n < 1000000; b.n++) {
			b.v[b.n] = f;
			b.v[b.n].int_port = (uint16_t)b.n;
		}
		for (int j = 0; j < 2; j++) {
			static char vbuf[1 << 16];

			saved_stdout = stdout;
			stdout = null;
			setvbuf(stdout, vbuf, _IOFBF, sizeof(vbuf));
			print_init(j, false);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			flows_print(&b);
			print_flush();
			clock_gettime(CLOCK_MONOTONIC, &t1);
			stdout = saved_stdout;
			dt = (double)(t1.tv_sec - t0.tv_sec) +
			     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
			fprintf(stderr, "  1M flows, %s: %.2fs\n", j ? "json" : "text", dt);
		}
		fclose(null);
	}
	free(b.v);
}

static void test_event(void)
{
	struct nl_msg *m = genl_msg(NATK_CMD_FLOW_DEL);
	struct mon mo = { .count = 2 };
	char *s;

	put_flow(m, IPPROTO_UDP, 0, NATK_REASON_EXPIRED, true);
	/* 2024-05-01T12:34:56.123456789Z */
	nla_put_u64(m, NATK_A_TIMESTAMP_NS, 1714566896123456789ull);
	nlmsg_hdr(m)->nlmsg_type = (uint16_t)family;

	cap_start(false, false);
	EXPECT(event_cb(m, &mo) == NL_OK);
	s = cap_end();
	EXPECT_STR(s, "2024-05-01T12:34:56.123456Z destroy udp 10.0.0.2:40000 -> 192.0.2.1:40000 -> 192.0.2.2:80 - expires 7439s out 12 pkts 1024 bytes in 10 pkts 9000 bytes reason expired\n");
	free(s);

	cap_start(true, false);
	EXPECT(event_cb(m, &mo) == NL_OK);
	s = cap_end();
	EXPECT_STR(s, "{\"time\":\"2024-05-01T12:34:56.123456Z\",\"event\":\"destroy\","
		      "\"reason\":\"expired\",\"proto\":\"udp\",\"internal_address\":\"10.0.0.2\","
		      "\"internal_port\":40000,\"external_address\":\"192.0.2.1\","
		      "\"external_port\":40000,\"remote_address\":\"192.0.2.2\","
		      "\"remote_port\":80,\"state\":\"-\",\"expires\":7439,\"age\":1,"
		      "\"packets_out\":12,\"bytes_out\":1024,\"packets_in\":10,"
		      "\"bytes_in\":9000}\n");
	save_json("event", s);
	free(s);
	EXPECT(mo.seen == 2 && stop);
	nlmsg_free(m);

	/* a new flow without counters */
	m = genl_msg(NATK_CMD_FLOW_NEW);
	{
		struct nlattr *nest = nla_nest_start(m, NATK_A_FLOW);

		nla_put_u8(m, NATK_FLOW_A_PROTO, IPPROTO_TCP);
		nla_put_u32(m, NATK_FLOW_A_INT_ADDR_BE, htonl(0x0a000002));
		nla_put_u16(m, NATK_FLOW_A_INT_PORT, 1);
		nla_put_u32(m, NATK_FLOW_A_EXT_ADDR_BE, htonl(0xc0000201));
		nla_put_u16(m, NATK_FLOW_A_EXT_PORT, 2);
		nla_put_u32(m, NATK_FLOW_A_REM_ADDR_BE, htonl(0xc0000202));
		nla_put_u16(m, NATK_FLOW_A_REM_PORT, 3);
		nla_put_u8(m, NATK_FLOW_A_STATE, NATK_TCP_SYN_OUT);
		nla_nest_end(m, nest);
	}
	nla_put_u64(m, NATK_A_TIMESTAMP_NS, 1714566896000001000ull);
	cap_start(true, false);
	EXPECT(event_cb(m, &mo) == NL_OK);
	s = cap_end();
	EXPECT_STR(s, "{\"time\":\"2024-05-01T12:34:56.000001Z\",\"event\":\"new\","
		      "\"reason\":null,\"proto\":\"tcp\",\"internal_address\":\"10.0.0.2\","
		      "\"internal_port\":1,\"external_address\":\"192.0.2.1\","
		      "\"external_port\":2,\"remote_address\":\"192.0.2.2\","
		      "\"remote_port\":3,\"state\":\"syn_out\"}\n");
	free(s);
	/* a flow filter it does not match: not printed */
	mo.ff.have_proto = true;
	mo.ff.proto = IPPROTO_UDP;
	mo.flow_filtered = true;
	cap_start(true, false);
	EXPECT(event_cb(m, &mo) == NL_SKIP);
	s = cap_end();
	EXPECT_STR(s, "");
	free(s);
	nlmsg_free(m);

	/* natk's state: printed with no filter, left out with a flow filter */
	m = genl_msg(NATK_CMD_STATE);
	nla_put_u8(m, NATK_A_ENABLED, 1);
	nla_put_u8(m, NATK_A_STATE, NATK_STATE_WAIT_INTERFACE);
	nla_put_string(m, NATK_A_IFNAME, "wan0");
	nla_put_u32(m, NATK_A_EXT_ADDR_BE, 0);
	nla_put_u64(m, NATK_A_TIMESTAMP_NS, 1714566896000001000ull);
	nlmsg_hdr(m)->nlmsg_type = (uint16_t)family;
	cap_start(true, false);
	EXPECT(event_cb(m, &mo) == NL_SKIP);
	s = cap_end();
	EXPECT_STR(s, "");
	free(s);
	memset(&mo, 0, sizeof(mo));
	cap_start(false, false);
	EXPECT(event_cb(m, &mo) == NL_OK);
	s = cap_end();
	EXPECT_STR(s, "2024-05-01T12:34:56.000001Z state   waiting-interface wan0\n");
	free(s);
	cap_start(true, false);
	EXPECT(event_cb(m, &mo) == NL_OK);
	s = cap_end();
	EXPECT_STR(s, "{\"time\":\"2024-05-01T12:34:56.000001Z\",\"event\":\"state\","
		      "\"state\":\"waiting-interface\",\"external_interface\":\"wan0\","
		      "\"external_address\":null}\n");
	free(s);
	nlmsg_free(m);
}

/* NLMSG_ERROR with extended ack TLVs, capped and not capped. */
static void test_extack(void)
{
	char buf[512] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlmsgerr *e = NLMSG_DATA(nlh);
	struct nlattr *a;
	struct req r = {};
	const char *msg = "port range: min is above max";
	size_t orig_payload = 12, off;

	for (int capped = 0; capped < 2; capped++) {
		memset(buf, 0, sizeof(buf));
		e->error = -EINVAL;
		e->msg.nlmsg_len = NLMSG_HDRLEN + (unsigned int)orig_payload;
		e->msg.nlmsg_type = 0x1234;
		off = sizeof(*e) + (capped ? 0 : orig_payload);
		a = (struct nlattr *)((char *)e + NLMSG_ALIGN(off));
		a->nla_type = NLMSGERR_ATTR_OFFS;
		a->nla_len = NLA_HDRLEN + 4;
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
		a->nla_type = NLMSGERR_ATTR_MSG;
		a->nla_len = (uint16_t)(NLA_HDRLEN + strlen(msg) + 1);
		memcpy((char *)a + NLA_HDRLEN, msg, strlen(msg) + 1);
		nlh->nlmsg_type = NLMSG_ERROR;
		nlh->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
		nlh->nlmsg_len = (uint32_t)((char *)a + NLA_ALIGN(a->nla_len) - buf);
		nk_extack[0] = '\0';
		EXPECT(err_cb(NULL, e, &r) == NL_STOP);
		EXPECT(r.err == -EINVAL && r.done);
		EXPECT_STR(nk_extack, msg);
	}
	/* no TLVs */
	nlh->nlmsg_flags = 0;
	nk_extack[0] = '\0';
	err_cb(NULL, e, &r);
	EXPECT_STR(nk_extack, "");
}

static void save_file(const char *name, const char *s)
{
	char path[256];
	FILE *f;

	if (!getenv("TEST_OUT"))
		return;
	snprintf(path, sizeof(path), "%s/%s", getenv("TEST_OUT"), name);
	f = fopen(path, "w");
	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static struct flow mk_flow(uint8_t proto, uint16_t ext_port,
			   const char *rem, uint16_t rem_port)
{
	struct flow f = { .proto = proto, .ext_port = ext_port,
			  .rem_port = rem_port };

	inet_pton(AF_INET, rem, &f.rem_addr);
	return f;
}

static void census(struct mx_census *c, const struct natk_status *st,
		   const struct flow *fl, size_t n)
{
	struct mx_dump d = { .c = c, .st = st };
	uint8_t bm[MX_NPROTO][65536 / 8];

	memset(c, 0, sizeof(*c));
	memset(bm, 0, sizeof(bm));
	d.per_remote = st->mapping == NATK_MAPPING_ADDRESS_PORT_DEPENDENT;
	for (int p = 0; p < MX_NPROTO; p++)
		d.bitmap[p] = bm[p];
	for (size_t i = 0; i < n; i++)
		mx_census_add(&d, &fl[i]);
	mx_census_finish(&d);
	free(d.use);
}

static void test_metrics(void)
{
	struct mx_sample *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct mx_emf e = { .namespace = "natk", .host = "nat1", .ifname = "eth0" };
	const struct flow fl[] = {
		mk_flow(IPPROTO_TCP, 2000, "192.0.2.2", 80),
		mk_flow(IPPROTO_TCP, 2000, "192.0.2.3", 80),	/* same port: EIM */
		mk_flow(IPPROTO_TCP, 2001, "192.0.2.2", 80),
		mk_flow(IPPROTO_TCP, 80, "192.0.2.2", 80),	/* low pool */
		mk_flow(IPPROTO_UDP, 3000, "192.0.2.2", 53),
		mk_flow(IPPROTO_ICMP, 7, "192.0.2.2", 0),
	};
	char *buf = NULL, *s;
	size_t len = 0;
	FILE *f;

	/* census: endpoint-independent mapping, distinct ports in the pool */
	b->st.port_min = 1024;
	b->st.port_max = 65535;
	census(&b->c, &b->st, fl, ARRAY_SIZE(fl));
	EXPECT(b->c.ok);
	EXPECT(b->c.flows[MX_TCP] == 4 && b->c.flows[MX_UDP] == 1 &&
	       b->c.flows[MX_ICMP] == 1);
	EXPECT(b->c.used[MX_TCP] == 2 && b->c.used[MX_UDP] == 1 &&
	       b->c.used[MX_ICMP] == 1);
	EXPECT(b->c.pool[MX_TCP] == 64512 && b->c.pool[MX_ICMP] == 65536);
	/* address-port-dependent: the busiest remote endpoint's ports */
	b->st.mapping = NATK_MAPPING_ADDRESS_PORT_DEPENDENT;
	census(&b->c, &b->st, fl, ARRAY_SIZE(fl));
	EXPECT(b->c.used[MX_TCP] == 2);	/* 192.0.2.2:80: 2000 and 2001 */
	b->st.mapping = 0;

	/* prometheus */
	b->st.enabled = true;
	b->st.state = NATK_STATE_ACTIVE;
	b->st.max_flows = 262144;
	b->st.ports_held = 5;
	b->v[NATK_STAT_ACTIVE_CONNECTIONS] = 6;
	b->v[NATK_STAT_BYTES_IN_FROM_SOURCE] = 1ull << 40;
	b->v[NATK_STAT_PACKETS_DROPPED] = 7;
	b->v[NATK_STAT_DROP_TABLE_FULL] = 4;
	b->v[NATK_STAT_DROP_ICMP_RATELIMIT] = 3;
	census(&b->c, &b->st, fl, ARRAY_SIZE(fl));
	f = open_memstream(&buf, &len);
	prom_write(f, b);
	fclose(f);
	EXPECT(strstr(buf, "# HELP natk_bytes_in_from_source_total "));
	EXPECT(strstr(buf, "\n# TYPE natk_bytes_in_from_source_total counter\nnatk_bytes_in_from_source_total 1099511627776\n"));
	EXPECT(strstr(buf, "\nnatk_packets_dropped_total 7\n"));
	EXPECT(strstr(buf, "\n# TYPE natk_drops_total counter\n"));
	EXPECT(strstr(buf, "\nnatk_drops_total{reason=\"table_full\"} 4\n"));
	EXPECT(strstr(buf, "\nnatk_drops_total{reason=\"icmp_ratelimit\"} 3\n"));
	EXPECT(strstr(buf, "\nnatk_drops_total{reason=\"no_port\"} 0\n"));
	EXPECT(strstr(buf, "\nnatk_active_connections 6\n"));
	EXPECT(strstr(buf, "\nnatk_flows_max 262144\n"));
	EXPECT(strstr(buf, "\nnatk_ports_held 5\n"));
	EXPECT(strstr(buf, "\nnatk_enabled 1\n"));
	EXPECT(strstr(buf, "\nnatk_flows{proto=\"tcp\"} 4\n"));
	EXPECT(strstr(buf, "\nnatk_port_pool_ports{proto=\"udp\"} 64512\n"));
	EXPECT(strstr(buf, "\nnatk_port_pool_used_ports{proto=\"tcp\"} 2\n"));
	/* every counter of the header has a line (none forgotten) */
	for (int i = 1; i <= NATK_STAT_MAX; i++) {
		bool found = i == NATK_STAT_PAD || i == NATK_STAT_ACTIVE_CONNECTIONS;

		for (size_t j = 0; j < ARRAY_SIZE(mx_counters); j++)
			found |= mx_counters[j].stat == i;
		for (size_t j = 0; j < ARRAY_SIZE(mx_drops); j++)
			found |= mx_drops[j].stat == i;
		if (!found)
			fprintf(stderr, "counter %d is not in the prometheus output\n", i);
		EXPECT(found);
	}
	save_file("metrics.prom", buf);
	free(buf);
	buf = NULL;
	/* without the flow table (no CAP_NET_ADMIN): the gauges it feeds go */
	b->c.ok = false;
	f = open_memstream(&buf, &len);
	prom_write(f, b);
	fclose(f);
	EXPECT(!strstr(buf, "natk_flows{") && !strstr(buf, "natk_port_pool_used_ports{"));
	EXPECT(strstr(buf, "\nnatk_port_pool_ports{proto=\"tcp\"} 64512\n"));
	save_file("metrics-noadmin.prom", buf);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	prom_write_unloaded(f);
	fclose(f);
	EXPECT_STR(buf, "# HELP natk_loaded 1 if the natk module is loaded.\n# TYPE natk_loaded gauge\nnatk_loaded 0\n");
	free(buf);
	b->c.ok = true;

	/* cloudwatch-emf: increases over the interval, TCP flows as gauge */
	a->v[NATK_STAT_BYTES_IN_FROM_SOURCE] = (1ull << 40) - 1000;
	a->v[NATK_STAT_PACKETS_DROPPED] = 2;
	cap_start(true, false);
	emf_print(&e, a, b, 12345, 67, 1764660000123ull);
	s = cap_end();
	EXPECT(!strncmp(s, "{\"_aws\":{\"Timestamp\":1764660000123,\"CloudWatchMetrics\":[{\"Namespace\":\"natk\",\"Dimensions\":[[\"Host\"]],\"Metrics\":[{\"Name\":\"ActiveConnectionCount\",\"Unit\":\"Count\"},", 150));
	EXPECT(strstr(s, "{\"Name\":\"BytesInFromSource\",\"Unit\":\"Bytes\"}"));
	EXPECT(strstr(s, "{\"Name\":\"PeakBytesPerSecond\",\"Unit\":\"Bytes/Second\"}"));
	EXPECT(strstr(s, "\"Host\":\"nat1\",\"ExternalInterface\":\"eth0\",\"ActiveConnectionCount\":4,"));
	EXPECT(strstr(s, ",\"BytesInFromSource\":1000,"));
	EXPECT(strstr(s, ",\"PacketsDropCount\":5,"));
	EXPECT(strstr(s, ",\"PeakBytesPerSecond\":12345,\"PeakPacketsPerSecond\":67}\n"));
	save_json("emf", s);
	save_file("emf.jsonl", s);
	free(s);
	free(a);
	free(b);
}

/* A well-configured two-armed NAT: lan0 10.0.0.1, wan0 192.0.2.1. */
static void doc_good(struct doc_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->ip_forward = 1;
	f->natk_loaded = true;
	f->have_status = true;
	f->st.enabled = true;
	f->st.state = NATK_STATE_ACTIVE;
	snprintf(f->st.ifname, sizeof(f->st.ifname), "wan0");
	inet_pton(AF_INET, "192.0.2.1", &f->st.ext_addr);
	f->st.max_flows = 1000;
	f->v[NATK_STAT_PACKETS_IN_FROM_SOURCE] = 10;
	f->v[NATK_STAT_PACKETS_OUT_TO_SOURCE] = 9;
	f->links[0] = (struct doc_link){ 1, "lo", IFF_UP | IFF_RUNNING | IFF_LOOPBACK, 65536, htonl(0x7f000001), 8, 0 };
	f->links[1] = (struct doc_link){ 2, "lan0", IFF_UP | IFF_RUNNING, 1500, htonl(0x0a000001), 24, 0 };
	f->links[2] = (struct doc_link){ 3, "wan0", IFF_UP | IFF_RUNNING, 1500, htonl(0xc0000201), 24, 0 };
	f->nlinks = 3;
	f->have_default = true;
	f->def_oif = 3;
	f->def_gw = htonl(0xc0000202);
	f->ct_count = -1;
	f->ct_max = -1;
	f->systemd = true;
	snprintf(f->unit_state, sizeof(f->unit_state), "enabled");
	f->unit_active = true;
	f->conf_path = "/etc/natk.conf";
	f->conf_exists = true;
	snprintf(f->conf_ext, sizeof(f->conf_ext), "wan0");
}

/* The status of check name in r ("" if it is not there). */
static const char *doc_st(const struct doc_report *r, const char *name)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->rows[i].name, name))
			return doc_status_names[r->rows[i].status];
	return "";
}

static int doc_fails(const struct doc_report *r)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += r->rows[i].status != DOC_OK;
	return n;
}

static void test_doctor(void)
{
	struct doc_facts *f = calloc(1, sizeof(*f));
	struct doc_report r;
	char dir[] = "/tmp/natk-dmi.XXXXXX", path[300];
	char *s;

	doc_good(f);
	doc_judge(f, &r);
	EXPECT(r.n == 11 && doc_fails(&r) == 0);
	for (int i = 0; i < r.n; i++)
		if (r.rows[i].status != DOC_OK)
			fprintf(stderr, "doctor: %s: %s\n", r.rows[i].name, r.rows[i].found);
	cap_start(false, false);
	EXPECT(doc_print(&r) == 0);
	s = cap_end();
	EXPECT(!strncmp(s, "ok   ip-forward         net.ipv4.ip_forward is 1\n", 49));
	EXPECT(strstr(s, "\nok   default-route      default via 192.0.2.2 dev wan0\n"));
	EXPECT(strstr(s, "\n11 ok, 0 warnings, 0 failed\n"));
	free(s);

	/* each check fails (or warns) when its fact is broken */
#define BREAK(what, check, want) do { \
		doc_good(f); \
		what; \
		doc_judge(f, &r); \
		if (strcmp(doc_st(&r, check), want)) \
			fprintf(stderr, "doctor: %s: %s, want %s\n", #what, \
				doc_st(&r, check), want); \
		EXPECT(!strcmp(doc_st(&r, check), want)); \
	} while (0)
	BREAK(f->ip_forward = 0, "ip-forward", "fail");
	BREAK(f->ip_forward = -1, "ip-forward", "fail");
	BREAK(f->natk_loaded = false; f->have_status = false, "natk-loaded", "fail");
	BREAK(f->st.enabled = false, "natk-active", "fail");
	BREAK(f->st.ext_addr = 0, "masquerading", "fail");
	BREAK(f->links[2].flags = 0, "external-interface", "fail");
	BREAK(f->links[2].addr = 0, "external-interface", "fail");
	BREAK(snprintf(f->st.ifname, sizeof(f->st.ifname), "eth9"), "external-interface", "fail");
	BREAK(f->st.enabled = false; f->conf_ext[0] = 0, "external-interface", "fail");
	BREAK(f->have_default = false, "default-route", "fail");
	BREAK(f->def_oif = 2, "default-route", "fail");
	BREAK(f->def_oif = 0, "default-route", "fail");
	BREAK(f->links[1].rp_filter = 1, "rp-filter", "warn");
	BREAK(f->rp_all = 1, "rp-filter", "warn");
	/* one-armed: strict is harmless when the default route leaves there */
	BREAK(f->rp_all = 1; f->links[1].addr = 0, "rp-filter", "ok");
	BREAK(f->ct_count = 5; f->ct_max = 100, "nf-conntrack", "warn");
	BREAK(f->ct_count = 5; f->ct_max = 100000, "nf-conntrack", "ok");
	BREAK(f->links[2].mtu = 1400, "mss-mtu", "warn");
	BREAK(f->links[2].mtu = 1400; f->st.mss_clamp = NATK_MSS_CLAMP_PMTU, "mss-mtu", "ok");
	BREAK(f->def_mtu = 1400, "mss-mtu", "warn");
	BREAK(f->st.mss_clamp = 1480, "mss-mtu", "warn");
	BREAK(f->cloud = CLOUD_AWS; f->links[2].mtu = 9001; f->links[1].mtu = 9001, "mss-mtu", "warn");
	BREAK(f->cloud = CLOUD_AWS; f->links[2].mtu = 9001; f->links[1].mtu = 9001; f->st.mss_clamp = 1460, "mss-mtu", "ok");
	BREAK(snprintf(f->unit_state, sizeof(f->unit_state), "disabled"), "service", "fail");
	BREAK(snprintf(f->unit_state, sizeof(f->unit_state), "masked"), "service", "fail");
	BREAK(f->unit_state[0] = 0, "service", "fail");
	BREAK(f->unit_active = false, "service", "warn");
	BREAK(f->systemd = false, "service", "warn");
	BREAK(f->conf_exists = false, "config", "fail");
	BREAK(f->conf_exists = false; f->systemd = false, "config", "warn");
	BREAK(f->conf_rc = 1, "config", "fail");
	BREAK(f->conf_ext[0] = 0, "config", "fail");
	BREAK(snprintf(f->conf_ext, sizeof(f->conf_ext), "eth0"), "config", "warn");
	BREAK(f->cloud = CLOUD_AWS, "cloud-forwarding", "ok");
	BREAK(f->cloud = CLOUD_AWS, "cloud-route", "ok");
	BREAK(f->cloud = CLOUD_GCP; f->v[NATK_STAT_PACKETS_OUT_TO_SOURCE] = 0, "cloud-forwarding", "warn");
	BREAK(f->cloud = CLOUD_AZURE; f->v[NATK_STAT_PACKETS_IN_FROM_SOURCE] = 0, "cloud-route", "warn");
	BREAK(f->cloud = CLOUD_NONE, "cloud-route", "");
#undef BREAK

	doc_good(f);
	f->have_default = false;
	doc_judge(f, &r);
	cap_start(true, false);
	EXPECT(doc_print(&r) == DOC_EXIT_FAILED);
	s = cap_end();
	EXPECT(strstr(s, "{\"status\":\"fail\",\"name\":\"default-route\",\"found\":\"no default route: the NAT host cannot reach the internet\",\"fix\":\"ip route add default via GATEWAY dev wan0 (and make the network configuration keep it)\"}"));
	EXPECT(strstr(s, "{\"status\":\"ok\",\"name\":\"ip-forward\",\"found\":\"net.ipv4.ip_forward is 1\",\"fix\":null}"));
	EXPECT(strstr(s, "],\"ok\":10,\"warn\":0,\"fail\":1}\n"));
	save_json("doctor", s);
	free(s);

	/* cloud detection from DMI */
	EXPECT(mkdtemp(dir) != NULL);
	EXPECT(doc_cloud_detect(dir) == CLOUD_NONE);
#define DMI(file, text) do { \
		FILE *fp; \
		snprintf(path, sizeof(path), "%s/%s", dir, file); \
		fp = fopen(path, "w"); \
		if (fp) { fputs(text, fp); fclose(fp); } \
	} while (0)
	DMI("sys_vendor", "QEMU\n");
	EXPECT(doc_cloud_detect(dir) == CLOUD_NONE);
	DMI("sys_vendor", "Amazon EC2\n");
	EXPECT(doc_cloud_detect(dir) == CLOUD_AWS);
	DMI("sys_vendor", "Xen\n");
	DMI("bios_version", "4.11.amazon\n");
	EXPECT(doc_cloud_detect(dir) == CLOUD_AWS);
	DMI("bios_version", "1.0\n");
	DMI("sys_vendor", "Google\n");
	EXPECT(doc_cloud_detect(dir) == CLOUD_GCP);
	DMI("sys_vendor", "Microsoft Corporation\n");
	EXPECT(doc_cloud_detect(dir) == CLOUD_NONE);	/* Hyper-V */
	DMI("chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77\n");
	EXPECT(doc_cloud_detect(dir) == CLOUD_AZURE);
#undef DMI
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	EXPECT(system(path) == 0);
	free(f);
}

/*
 * One line per test function on stdout, "PASS userctl-unit-NAME" or "FAIL
 * userctl-unit-NAME: ...", the details of a failure on stderr before it
 * (tests/run.sh checks that every function reported).
 */
static void run(const char *name, void (*fn)(void))
{
	int before = failures;

	fn();
	if (failures == before)
		printf("PASS userctl-unit-%s\n", name);
	else
		printf("FAIL userctl-unit-%s: %d expectation(s) failed (see above)\n",
		       name, failures - before);
	fflush(stdout);
}

/* supervise's notify protocol: a path or an abstract NOTIFY_SOCKET; READY=1
 * once, with the first active status; STATUS= only when it changes. */
static int sv_bind(const char *name, bool abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert(fd >= 0 && len < sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, len);
	if (abstract)
		sa.sun_path[0] = '\0';
	unlink(abstract ? "" : name);
	assert(!bind(fd, (struct sockaddr *)&sa,
		     offsetof(struct sockaddr_un, sun_path) + len));
	return fd;
}

static const char *sv_recv(int fd)
{
	static char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void test_supervise(void)
{
	char path[64], abs_name[64];
	struct sv s = {};
	int fd;

	snprintf(path, sizeof(path), "/tmp/natk-sv-test.%d", (int)getpid());
	fd = sv_bind(path, false);
	setenv("NOTIFY_SOCKET", path, 1);
	sv_notify_open(&s);
	EXPECT(s.notify_fd >= 0);
	cap_start(false, false);
	sv_status(&s, "not masquerading yet: waiting for wan0", false);
	sv_status(&s, "not masquerading yet: waiting for wan0", false);
	sv_status(&s, "masquerading out of wan0 (192.0.2.1)", true);
	sv_status(&s, "masquerading out of wan0 (192.0.2.1)", true);
	sv_status(&s, "masquerading out of wan0 (192.0.2.9)", true);
	EXPECT_STR(cap_end(), "not masquerading yet: waiting for wan0\n"
		   "masquerading out of wan0 (192.0.2.1)\n"
		   "masquerading out of wan0 (192.0.2.9)\n");
	free(cap_buf);
	EXPECT_STR(sv_recv(fd), "STATUS=not masquerading yet: waiting for wan0");
	EXPECT_STR(sv_recv(fd), "READY=1\nSTATUS=masquerading out of wan0 (192.0.2.1)");
	EXPECT_STR(sv_recv(fd), "STATUS=masquerading out of wan0 (192.0.2.9)");
	EXPECT_STR(sv_recv(fd), "");	/* nothing more: no repeats */
	EXPECT(sv_stopped(&s, 3, "NAT stopped, natk is %s", "waiting") == 3);
	EXPECT_STR(sv_recv(fd), "STOPPING=1\nSTATUS=NAT stopped, natk is waiting");
	close(s.notify_fd);
	close(fd);
	unlink(path);

	/* systemd may give an abstract socket: "@name" */
	snprintf(abs_name, sizeof(abs_name), "@natk-sv-test.%d", (int)getpid());
	fd = sv_bind(abs_name, true);
	setenv("NOTIFY_SOCKET", abs_name, 1);
	memset(&s, 0, sizeof(s));
	sv_notify_open(&s);
	cap_start(false, false);
	sv_status(&s, "masquerading out of eth0 (10.1.2.3)", true);
	free(cap_end());
	EXPECT_STR(sv_recv(fd), "READY=1\nSTATUS=masquerading out of eth0 (10.1.2.3)");
	close(s.notify_fd);
	close(fd);

	/* not under systemd: nothing sent, no error */
	unsetenv("NOTIFY_SOCKET");
	memset(&s, 0, sizeof(s));
	sv_notify_open(&s);
	EXPECT(s.notify_fd == -1);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	sv_notify_open(&s);
	EXPECT(s.notify_fd == -1);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	run("printer", test_printer);
	run("parsers", test_parsers);
	run("prefixes", test_prefixes);
	run("status", test_status);
	run("save-apply", test_save_apply);
	run("stats", test_stats);
	run("flows", test_flows);
	run("event", test_event);
	run("extack", test_extack);
	run("metrics", test_metrics);
	run("doctor", test_doctor);
	run("supervise", test_supervise);
	if (failures) {
		fprintf(stderr, "test_unit: %d failure(s)\n", failures);
		return 1;
	}
	fprintf(stderr, "test_unit: all passed\n");
	return 0;
}
