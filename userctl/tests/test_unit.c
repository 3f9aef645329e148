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
#include "../flowfile.c"
#include "../file.c"
#include "../fwd.c"
#include "../monitor.c"
#include "../apply.c"
#include "../metrics.c"
#include "../doctor.c"
#include "../supervise.c"
#include "../maplog.c"
#include "../sync.c"
#include "../syncproto.c"

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
		{ IPPROTO_TCP, 8080, htonl(0x0a000002), 80, 0 },
		{ IPPROTO_UDP, 5353, htonl(0x0a000003), 5353, 0 },
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
		"\"forwards\":[{\"proto\":\"tcp\",\"external_address\":null,"
		"\"external_port\":8080,\"internal_address\":\"10.0.0.2\","
		"\"internal_port\":80},{\"proto\":\"udp\",\"external_address\":null,\"external_port\":5353,"
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
		{ IPPROTO_TCP, 8080, htonl(0x0a000002), 80, 0 },
		{ IPPROTO_UDP, 5353, htonl(0x0a000003), 5353, 0 },
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
	EXPECT(strstr(s, ",\"fastpath_routes\":0,\"passed_out_of_scope\":0,\"map_events_lost\":0,\"fastpath_ingress\":0,\"fastpath_bridge\":0}\n"));
	save_json("stats", s);
	free(s);
}

/* seen: NATK_FLOW_A_SEEN's bits, or -1 for none (an older module). */
static void put_flow(struct nl_msg *m, uint8_t proto, uint8_t state,
		     uint8_t reason, bool counters, int seen)
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
	if (seen >= 0)
		nla_put_u8(m, NATK_FLOW_A_SEEN, (uint8_t)seen);
	nla_put_u32(m, NATK_FLOW_A_MAX + 3, 1);	/* unknown: ignored */
	nla_nest_end(m, nest);
}

static void test_flows(void)
{
	struct nl_msg *m = genl_msg(NATK_CMD_GET_FLOWS);
	struct flow_buf b = {};
	char *s;

	put_flow(m, IPPROTO_TCP, NATK_TCP_ESTABLISHED, 0, true, -1);
	put_flow(m, IPPROTO_ICMP, 0, 0, true, -1);
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

	/* flows made with accounting off have no counters: neither text nor
	 * keys; a module that has the seen bits sends them (JSON only) */
	{
		struct nl_msg *am = genl_msg(NATK_CMD_GET_FLOWS);
		struct flow_buf ab = {};

		put_flow(am, IPPROTO_UDP, 0, 0, false, NATK_FLOW_F_SEEN_OUT);
		put_flow(am, IPPROTO_TCP, NATK_TCP_ESTABLISHED, 0, true,
			 NATK_FLOW_F_SEEN_OUT | NATK_FLOW_F_SEEN_IN);
		put_flow(am, IPPROTO_ICMP, 0, 0, false, 0);
		EXPECT(flows_cb(am, &ab) == NL_OK && ab.n == 3 && !ab.bad);
		nlmsg_free(am);
		EXPECT(!(ab.v[0].present & FLOW_P_COUNTERS) &&
		       (ab.v[0].present & FLOW_P_SEEN) &&
		       ab.v[0].seen == NATK_FLOW_F_SEEN_OUT);
		EXPECT((ab.v[1].present & FLOW_P_COUNTERS) == FLOW_P_COUNTERS &&
		       ab.v[1].seen == (NATK_FLOW_F_SEEN_OUT | NATK_FLOW_F_SEEN_IN));
		EXPECT((ab.v[2].present & FLOW_P_SEEN) && ab.v[2].seen == 0);
		cap_start(false, false);
		flows_print(&ab);
		s = cap_end();
		EXPECT_STR(s,
			"udp 10.0.0.2:40000 -> 192.0.2.1:40000 -> 192.0.2.2:80 - expires 7439s\n"
			"tcp 10.0.0.2:40000 -> 192.0.2.1:40000 -> 192.0.2.2:80 established expires 7439s out 12 pkts 1024 bytes in 10 pkts 9000 bytes\n"
			"icmp 10.0.0.2:40000 -> 192.0.2.1:40000 -> 192.0.2.2:0 - expires 7439s\n");
		free(s);
		cap_start(true, false);
		flows_print(&ab);
		s = cap_end();
		EXPECT_STR(s,
			"[{\"proto\":\"udp\",\"internal_address\":\"10.0.0.2\",\"internal_port\":40000,"
			"\"external_address\":\"192.0.2.1\",\"external_port\":40000,"
			"\"remote_address\":\"192.0.2.2\",\"remote_port\":80,\"state\":\"-\","
			"\"expires\":7439,\"age\":1,\"seen_out\":true,\"seen_in\":false},"
			"{\"proto\":\"tcp\",\"internal_address\":\"10.0.0.2\",\"internal_port\":40000,"
			"\"external_address\":\"192.0.2.1\",\"external_port\":40000,"
			"\"remote_address\":\"192.0.2.2\",\"remote_port\":80,\"state\":\"established\","
			"\"expires\":7439,\"age\":1,\"packets_out\":12,\"bytes_out\":1024,"
			"\"packets_in\":10,\"bytes_in\":9000,\"seen_out\":true,\"seen_in\":true},"
			"{\"proto\":\"icmp\",\"internal_address\":\"10.0.0.2\",\"internal_port\":40000,"
			"\"external_address\":\"192.0.2.1\",\"external_port\":40000,"
			"\"remote_address\":\"192.0.2.2\",\"remote_port\":0,\"state\":\"-\","
			"\"expires\":7439,\"age\":1,\"seen_out\":false,\"seen_in\":false}]\n");
		save_json("flows-no-counters", s);
		free(s);
		/* an event (monitor) the same way */
		ab.v[0].present &= ~(1u << NATK_FLOW_A_EXPIRES_MS | 1u << NATK_FLOW_A_AGE_MS);
		cap_start(false, false);
		flow_print(&ab.v[0], false);
		s = cap_end();
		EXPECT_STR(s, "udp 10.0.0.2:40000 -> 192.0.2.1:40000 -> 192.0.2.2:80 -");
		free(s);
		free(ab.v);
	}

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

	put_flow(m, IPPROTO_UDP, 0, NATK_REASON_EXPIRED, true, -1);
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

/* ---- the mapping log (maplog.c) */

static uint64_t fake_mono_ns, fake_real_ns;

static uint64_t fake_mono(void)
{
	return fake_mono_ns;
}

static uint64_t fake_real(void)
{
	return fake_real_ns;
}

/* 2026-12-03T06:30:00Z */
#define T0 (1796279400ull * 1000000000ull)
#define MIN (60ull * 1000000000ull)

static void test_times(void)
{
	const uint64_t now = T0 + 123456789;
	char buf[TIME_STRLEN];
	uint64_t t;

	EXPECT(parse_time("2026-12-03T06:30:00Z", 0, &t) && t == T0);
	EXPECT(parse_time("2026-12-03T06:30:00", 0, &t) && t == T0);
	EXPECT(parse_time("2026-12-03 06:30:00", 0, &t) && t == T0);
	EXPECT(parse_time("2026-12-03t06:30:00z", 0, &t) && t == T0);
	EXPECT(parse_time("2026-12-03T06:30", 0, &t) && t == T0);
	EXPECT(parse_time("2026-12-03T07:30:00+01:00", 0, &t) && t == T0);
	EXPECT(parse_time("2026-12-03T01:30:00-0500", 0, &t) && t == T0);
	EXPECT(parse_time("2026-12-03T06:30:00.123456Z", 0, &t) &&
	       t == T0 + 123456000);
	EXPECT(parse_time("2026-12-03T06:30:00,5", 0, &t) && t == T0 + 500000000);
	EXPECT(parse_time("2026-12-03T06:30:00.123456789Z", 0, &t) &&
	       t == T0 + 123456789);
	EXPECT(parse_time("2024-02-29T00:00:00Z", 0, &t) &&
	       t == 1709164800ull * 1000000000ull);
	EXPECT(parse_time("1970-01-01T00:00:00Z", 0, &t) && t == 0);
	EXPECT(parse_time("now", now, &t) && t == now);
	EXPECT(parse_time("-5m", now, &t) && t == now - 5 * MIN);
	EXPECT(parse_time("-2h", now, &t) && t == now - 120 * MIN);
	EXPECT(parse_time("-1d", now, &t) && t == now - 1440 * MIN);
	EXPECT(parse_time("-30", now, &t) && t == now - 30000000000ull);
	/* round trip with the log's format */
	format_time(T0 + 123456789, buf, sizeof(buf));
	EXPECT_STR(buf, "2026-12-03T06:30:00.123456Z");
	EXPECT(parse_time(buf, 0, &t) && t == T0 + 123456000);
	format_time(0, buf, sizeof(buf));
	EXPECT_STR(buf, "1970-01-01T00:00:00.000000Z");

	static const char *const bad[] = {
		"", "2026-12-03", "2026-12-03T", "2026-12-03T6:30:00Z",
		"2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z", "2026-12-00T00:00:00Z",
		"2100-02-29T00:00:00Z", "2026-12-03T24:00:00Z",
		"2026-12-03T06:60:00Z", "2026-12-03T06:30:60Z",
		"2026-12-03T06:30:00Q", "2026-12-03T06:30:00ZZ",
		"2026-12-03T06:30:00.Z", "2026-12-03T06:30:00.1234567891Z",
		"2026-12-03T06:30:00+24:00", "2026-12-03T06:30:00+01",
		"1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01",
		"-5x", "-", "--5m", "-100000d", "yesterday", "12:00",
		"2026/12/03 06:30:00",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		bool ok = parse_time(bad[i], now, &t);

		if (ok)
			fprintf(stderr, "parse_time accepted '%s'\n", bad[i]);
		EXPECT(!ok);
	}
}

static struct ml_event mk_ev(enum ml_kind k, uint64_t ns, uint8_t proto,
			     const char *in, uint16_t ip, const char *ex,
			     uint16_t ep)
{
	struct ml_event e = { .kind = k, .ns = ns, .proto = proto,
			      .int_port = ip, .ext_port = ep };

	inet_pton(AF_INET, in, &e.int_addr);
	inet_pton(AF_INET, ex, &e.ext_addr);
	return e;
}

static char *read_all(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r"), *m = open_memstream(&buf, &len);
	int c;

	if (f) {
		while ((c = getc(f)) != EOF)
			putc(c, m);
		fclose(f);
	} else {
		fputs("(missing)", m);
	}
	fclose(m);
	return buf;
}

static void test_maplog(void)
{
	struct ml_event e = mk_ev(ML_NEW, T0 + 123456789, IPPROTO_UDP,
				  "10.0.0.2", 41000, "192.0.2.1", 41000), p;
	char line[ML_LINE_MAX], path[128], name[160], dir[64], *got;
	struct ml_out o;
	size_t len;
	struct stat st;
	mode_t um;

	/* the line format */
	len = ml_format_line(&e, line, sizeof(line));
	EXPECT_STR(line, "2026-12-03T06:30:00.123456Z new udp 10.0.0.2:41000 192.0.2.1:41000\n");
	EXPECT(len == strlen(line) && len == 67);
	e.kind = ML_DEL;
	ml_format_line(&e, line, sizeof(line));
	EXPECT_STR(line, "2026-12-03T06:30:00.123456Z del udp 10.0.0.2:41000 192.0.2.1:41000\n");
	{
		struct ml_event w = mk_ev(ML_LIVE, T0, IPPROTO_ICMP,
					  "255.255.255.255", 65535,
					  "255.255.255.255", 65535);

		len = ml_format_line(&w, line, sizeof(line));
		EXPECT(len == 82 && len < ML_LINE_MAX);
		EXPECT_STR(line, "2026-12-03T06:30:00.000000Z live icmp 255.255.255.255:65535 255.255.255.255:65535\n");
	}
	{
		struct ml_event i = mk_ev(ML_NEW, T0, IPPROTO_ICMP, "10.0.0.2", 0,
					  "192.0.2.1", 7);

		ml_format_line(&i, line, sizeof(line));
		EXPECT_STR(line, "2026-12-03T06:30:00.000000Z new icmp 10.0.0.2:0 192.0.2.1:7\n");
		line[strlen(line) - 1] = '\0';
		EXPECT(ml_parse_line(line, &p) && p.kind == ML_NEW &&
		       p.proto == IPPROTO_ICMP && p.int_port == 0 &&
		       p.ext_port == 7 && p.ns == T0 && p.ext_addr == i.ext_addr);
	}
	{
		struct ml_event l = { .kind = ML_LOST, .ns = T0, .lost = 12 };

		ml_format_line(&l, line, sizeof(line));
		EXPECT_STR(line, "2026-12-03T06:30:00.000000Z lost 12\n");
		l.lost = 0;
		ml_format_line(&l, line, sizeof(line));
		EXPECT_STR(line, "2026-12-03T06:30:00.000000Z lost\n");
	}
	/* and back */
	snprintf(line, sizeof(line), "2026-12-03T06:30:00.123456Z del tcp 10.0.0.2:41000 192.0.2.1:41001");
	EXPECT(ml_parse_line(line, &p) && p.kind == ML_DEL &&
	       p.proto == IPPROTO_TCP && p.int_addr == e.int_addr &&
	       p.int_port == 41000 && p.ext_addr == e.ext_addr &&
	       p.ext_port == 41001 && p.ns == T0 + 123456000);
	snprintf(line, sizeof(line), "2026-12-03T06:30:00.123456Z lost 7");
	EXPECT(ml_parse_line(line, &p) && p.kind == ML_LOST && p.lost == 7);
	snprintf(line, sizeof(line), "2026-12-03T06:30:00.123456Z lost");
	EXPECT(ml_parse_line(line, &p) && p.kind == ML_LOST && p.lost == 0);
	/* fields after the known ones: a newer natkctl's */
	snprintf(line, sizeof(line), "2026-12-03T06:30:00.123456Z live udp 10.0.0.2:1 192.0.2.1:2 more");
	EXPECT(ml_parse_line(line, &p) && p.kind == ML_LIVE && p.ext_port == 2);
	{
		static const char *const bad[] = {
			"", "garbage", "2026-12-03T06:30:00Z", "now new udp 1.2.3.4:1 5.6.7.8:2",
			"-5m new udp 1.2.3.4:1 5.6.7.8:2",
			"2026-12-03T06:30:00Z gone udp 1.2.3.4:1 5.6.7.8:2",
			"2026-12-03T06:30:00Z new sctp 1.2.3.4:1 5.6.7.8:2",
			"2026-12-03T06:30:00Z new udp 1.2.3.4 5.6.7.8:2",
			"2026-12-03T06:30:00Z new udp 1.2.3.4:1 5.6.7.8:65536",
			"2026-12-03T06:30:00Z new udp 1.2.3.4:1 5.6.7:2",
			"2026-12-03T06:30:00Z new udp 1.2.3.4:1",
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			snprintf(line, sizeof(line), "%s", bad[i]);
			if (ml_parse_line(line, &p)) {
				fprintf(stderr, "ml_parse_line accepted '%s'\n", bad[i]);
				failures++;
			}
		}
	}

	/* standard output: the line, or a JSON line */
	ml_out_init(&o);
	o.to_stdout = true;
	e.kind = ML_NEW;
	cap_start(false, false);
	ml_emit(&o, &e);
	got = cap_end();
	EXPECT_STR(got, "2026-12-03T06:30:00.123456Z new udp 10.0.0.2:41000 192.0.2.1:41000\n");
	free(got);
	cap_start(true, false);
	ml_emit(&o, &e);
	{
		struct ml_event l = { .kind = ML_LOST, .ns = T0, .lost = 3 };

		ml_emit(&o, &l);
		l.lost = 0;
		ml_emit(&o, &l);
	}
	got = cap_end();
	EXPECT_STR(got,
		"{\"time\":\"2026-12-03T06:30:00.123456Z\",\"event\":\"new\",\"proto\":\"udp\","
		"\"internal_address\":\"10.0.0.2\",\"internal_port\":41000,"
		"\"external_address\":\"192.0.2.1\",\"external_port\":41000}\n"
		"{\"time\":\"2026-12-03T06:30:00.000000Z\",\"event\":\"lost\",\"lost\":3}\n"
		"{\"time\":\"2026-12-03T06:30:00.000000Z\",\"event\":\"lost\",\"lost\":null}\n");
	{
		char *nl = strchr(got, '\n');

		*nl = '\0';
		save_json("maplog-event", got);
	}
	free(got);

	/* a netlink event, as the kernel sends it */
	{
		struct nl_msg *m = genl_msg(NATK_CMD_MAP_DEL);
		struct nlattr *nest = nla_nest_start(m, NATK_A_MAP);

		nla_put_u8(m, NATK_MAP_A_PROTO, IPPROTO_TCP);
		nla_put_u32(m, NATK_MAP_A_INT_ADDR_BE, htonl(0x0a000002));
		nla_put_u16(m, NATK_MAP_A_INT_PORT, 40000);
		nla_put_u32(m, NATK_MAP_A_EXT_ADDR_BE, htonl(0xc0000201));
		nla_put_u16(m, NATK_MAP_A_EXT_PORT, 40001);
		nla_put_u32(m, NATK_MAP_A_MAX + 3, 1);	/* unknown: ignored */
		nla_nest_end(m, nest);
		nla_put_u64(m, NATK_A_TIMESTAMP_NS, T0 + 1000);
		nlmsg_hdr(m)->nlmsg_type = (uint16_t)family;
		cap_start(false, false);
		{
			struct ml_run r = { .o = &o };

			EXPECT(ml_event_cb(m, &r) == NL_OK);
		}
		got = cap_end();
		EXPECT_STR(got, "2026-12-03T06:30:00.000001Z del tcp 10.0.0.2:40000 192.0.2.1:40001\n");
		free(got);
		/* another family's message, or a flow event: skipped */
		nlmsg_hdr(m)->nlmsg_type = (uint16_t)(family + 1);
		EXPECT(!ml_parse_msg(m, &p));
		nlmsg_free(m);
		m = genl_msg(NATK_CMD_FLOW_NEW);
		put_flow(m, IPPROTO_UDP, 0, 0, false, -1);
		nlmsg_hdr(m)->nlmsg_type = (uint16_t)family;
		EXPECT(!ml_parse_msg(m, &p));
		nlmsg_free(m);
		/* a nest without the external port: skipped */
		m = genl_msg(NATK_CMD_MAP_NEW);
		nest = nla_nest_start(m, NATK_A_MAP);
		nla_put_u8(m, NATK_MAP_A_PROTO, IPPROTO_TCP);
		nla_put_u32(m, NATK_MAP_A_INT_ADDR_BE, htonl(0x0a000002));
		nla_put_u16(m, NATK_MAP_A_INT_PORT, 40000);
		nla_put_u32(m, NATK_MAP_A_EXT_ADDR_BE, htonl(0xc0000201));
		nla_nest_end(m, nest);
		nlmsg_hdr(m)->nlmsg_type = (uint16_t)family;
		EXPECT(!ml_parse_msg(m, &p));
		nlmsg_free(m);
	}

	/* nlctrl says natk's family is gone (rmmod): the log must end */
	{
		struct nl_msg *m = nlmsg_alloc_size(4096);
		struct ml_run r = { .o = &o };

		assert(m);
		assert(genlmsg_put(m, 0, 0, GENL_ID_CTRL, 0, 0, CTRL_CMD_DELFAMILY, 1));
		nla_put_u16(m, CTRL_ATTR_FAMILY_ID, 0x1234);
		nla_put_string(m, CTRL_ATTR_FAMILY_NAME, "natkx");
		EXPECT(ml_event_cb(m, &r) == NL_SKIP && !r.gone);
		nlmsg_free(m);
		m = nlmsg_alloc_size(4096);
		assert(genlmsg_put(m, 0, 0, GENL_ID_CTRL, 0, 0, CTRL_CMD_NEWFAMILY, 1));
		nla_put_string(m, CTRL_ATTR_FAMILY_NAME, "natk");
		EXPECT(ml_event_cb(m, &r) == NL_SKIP && !r.gone);
		nlmsg_free(m);
		m = nlmsg_alloc_size(4096);
		assert(genlmsg_put(m, 0, 0, GENL_ID_CTRL, 0, 0, CTRL_CMD_DELFAMILY, 1));
		nla_put_u16(m, CTRL_ATTR_FAMILY_ID, 0x1234);
		nla_put_string(m, CTRL_ATTR_FAMILY_NAME, "natk");
		EXPECT(ml_event_cb(m, &r) == NL_STOP && r.gone);
		nlmsg_free(m);
	}

	/* live: one line per mapping, not per flow; forwards left out */
	{
		struct flow fl[4] = {};
		struct natk_fwd fw = { .proto = IPPROTO_TCP, .ext_port = 80 };
		struct ml_event *ev;
		size_t n;

		for (int i = 0; i < 4; i++) {
			fl[i].proto = IPPROTO_UDP;
			fl[i].int_addr = htonl(0x0a000002);
			fl[i].int_port = 41000;
			fl[i].ext_addr = htonl(0xc0000201);
			fl[i].ext_port = 41000;
			fl[i].rem_addr = htonl(0xc0000210 + (uint32_t)i);
		}
		fl[2].proto = IPPROTO_TCP;	/* a forward's flow */
		fl[2].ext_port = 80;
		fl[3].int_addr = htonl(0x0a000001);	/* sorted first */
		fl[3].ext_port = 41000;
		n = ml_live_from_flows(fl, 4, &fw, 1, 0, NULL, T0, &ev);
		EXPECT(n == 2);
		EXPECT(ev[0].kind == ML_LIVE && ev[0].ns == T0 &&
		       ev[0].int_addr == htonl(0x0a000001));
		EXPECT(ev[1].int_addr == htonl(0x0a000002) && ev[1].proto == IPPROTO_UDP);
		free(ev);
		n = ml_live_from_flows(fl, 0, NULL, 0, 0, NULL, T0, &ev);
		EXPECT(n == 0);
		free(ev);
	}

	/* size suffixes */
	{
		uint64_t v;

		EXPECT(ml_parse_size("100M", &v) && v == 100ull << 20);
		EXPECT(ml_parse_size("2G", &v) && v == 2ull << 30);
		EXPECT(ml_parse_size("10k", &v) && v == 10240);
		EXPECT(ml_parse_size("4096", &v) && v == 4096);
		EXPECT(!ml_parse_size("0", &v) && !ml_parse_size("M", &v) &&
		       !ml_parse_size("1T", &v) && !ml_parse_size("-1M", &v) &&
		       !ml_parse_size("", &v));
	}

	/* the file: appended, 0640, rotated at max-size, keep old files */
	snprintf(dir, sizeof(dir), "/tmp/natk-maplog-test.%d", (int)getpid());
	EXPECT(mkdir(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/m.log", dir);
	um = umask(022);
	ml_out_init(&o);
	o.path = path;
	o.max_size = 140;	/* two 67-byte lines a file */
	o.keep = 2;
	o.real = fake_real;
	o.mono = fake_mono;
	EXPECT(ml_file_open(&o) == 0);
	EXPECT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	for (int i = 1; i <= 7; i++) {
		e.ns = T0 + (uint64_t)i * 1000;
		e.kind = i % 2 ? ML_NEW : ML_DEL;
		ml_emit(&o, &e);
	}
	got = read_all(path);
	EXPECT_STR(got, "2026-12-03T06:30:00.000007Z new udp 10.0.0.2:41000 192.0.2.1:41000\n");
	free(got);
	snprintf(name, sizeof(name), "%s.1", path);
	got = read_all(name);
	EXPECT_STR(got, "2026-12-03T06:30:00.000005Z new udp 10.0.0.2:41000 192.0.2.1:41000\n"
			"2026-12-03T06:30:00.000006Z del udp 10.0.0.2:41000 192.0.2.1:41000\n");
	free(got);
	snprintf(name, sizeof(name), "%s.2", path);
	got = read_all(name);
	EXPECT(!strncmp(got, "2026-12-03T06:30:00.000003Z new ", 32));
	free(got);
	snprintf(name, sizeof(name), "%s.3", path);
	EXPECT(access(name, F_OK) < 0);
	EXPECT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	/* keep lowered: the files past it go at the next rotation */
	o.keep = 1;
	e.ns = T0 + 8000;
	ml_emit(&o, &e);
	ml_emit(&o, &e);
	snprintf(name, sizeof(name), "%s.2", path);
	EXPECT(access(name, F_OK) < 0);
	/* SIGHUP after an external logrotate moved the file: a new one */
	snprintf(name, sizeof(name), "%s.old", path);
	EXPECT(rename(path, name) == 0);
	EXPECT(ml_file_open(&o) == 0);
	e.ns = T0 + 9000;
	ml_emit(&o, &e);
	got = read_all(path);
	EXPECT(!strncmp(got, "2026-12-03T06:30:00.000009Z ", 28) &&
	       strlen(got) == 67);
	free(got);
	/* a write that fails is counted, then reported by a lost line */
	close(o.fd);
	o.fd = open("/dev/full", O_WRONLY);
	o.max_size = 0;
	ml_emit(&o, &e);
	ml_emit(&o, &e);
	EXPECT(o.file_lost == 2);
	close(o.fd);
	EXPECT(ml_file_open(&o) == 0);
	fake_real_ns = T0 + 10000;
	ml_emit(&o, &e);
	got = read_all(path);
	EXPECT(strstr(got, "\n2026-12-03T06:30:00.000010Z lost 2\n2026-12-03T06:30:00.000009Z new ") != NULL);
	free(got);
	EXPECT(o.file_lost == 0);
	close(o.fd);
	umask(um);
	snprintf(name, sizeof(name), "rm -rf %s", dir);
	EXPECT(system(name) == 0);
}

/* The journal: native protocol datagrams, rate-limited. */
static void test_journal(void)
{
	struct ml_event e = mk_ev(ML_NEW, T0 + 123456789, IPPROTO_UDP,
				  "10.0.0.2", 41000, "192.0.2.1", 41000);
	struct ml_out o;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/natk-journal-test.%d", (int)getpid());
	fd = sv_bind(path, false);
	setenv("NATK_JOURNAL_SOCKET", path, 1);
	ml_out_init(&o);
	o.journal = true;
	o.rate = 2;
	o.mono = fake_mono;
	o.real = fake_real;
	fake_mono_ns = 100 * 1000000000ull;
	fake_real_ns = T0 + 5000000000ull;
	EXPECT(ml_journal_connect(&o) == 0);
	o.tokens = o.rate;
	o.tokens_ns = o.mono();
	ml_emit(&o, &e);
	EXPECT_STR(sv_recv(fd),
		"MESSAGE=new udp 10.0.0.2:41000 192.0.2.1:41000\n"
		"PRIORITY=6\n"
		"SYSLOG_IDENTIFIER=natk-maplog\n"
		"NATK_EVENT=new\n"
		"NATK_PROTO=udp\n"
		"NATK_INTERNAL=10.0.0.2:41000\n"
		"NATK_EXTERNAL=192.0.2.1:41000\n"
		"NATK_TIMESTAMP_NS=1796279400123456789\n");
	e.kind = ML_DEL;
	ml_emit(&o, &e);
	EXPECT(!strncmp(sv_recv(fd), "MESSAGE=del udp 10.0.0.2:41000 192.0.2.1:41000\n", 47));
	/* over the rate: counted, and said at once, then once a second */
	ml_emit(&o, &e);
	EXPECT_STR(sv_recv(fd),
		"MESSAGE=lost 1 (journal rate limit 2/s, or journald busy)\n"
		"PRIORITY=4\n"
		"SYSLOG_IDENTIFIER=natk-maplog\n"
		"NATK_EVENT=lost\n"
		"NATK_LOST=1\n"
		"NATK_TIMESTAMP_NS=1796279405000000000\n");
	ml_emit(&o, &e);
	ml_emit(&o, &e);
	EXPECT_STR(sv_recv(fd), "");
	EXPECT(o.j_dropped == 2);
	fake_mono_ns += 500000000;	/* half a second: one token back */
	ml_journal_tick(&o, false);
	EXPECT_STR(sv_recv(fd), "");
	ml_emit(&o, &e);
	EXPECT(!strncmp(sv_recv(fd), "MESSAGE=del ", 12));
	fake_mono_ns += 500000000;	/* a second since the last record */
	ml_journal_tick(&o, false);
	EXPECT(!strncmp(sv_recv(fd), "MESSAGE=lost 2 (journal rate limit 2/s", 38));
	EXPECT(o.j_dropped == 0);
	/* lost lines (overruns, the kernel's count) always go */
	o.tokens = 0;
	{
		struct ml_event l = { .kind = ML_LOST, .ns = T0, .lost = 0 };

		ml_emit(&o, &l);
		EXPECT_STR(sv_recv(fd),
			"MESSAGE=lost\nPRIORITY=4\nSYSLOG_IDENTIFIER=natk-maplog\n"
			"NATK_EVENT=lost\nNATK_TIMESTAMP_NS=1796279400000000000\n");
	}
	/* no limit */
	o.rate = 0;
	for (int i = 0; i < 5; i++)
		ml_emit(&o, &e);
	for (int i = 0; i < 5; i++)
		EXPECT(!strncmp(sv_recv(fd), "MESSAGE=del ", 12));
	EXPECT(o.j_dropped == 0);
	/* journald restarted: a new socket at the same path */
	close(fd);
	unlink(path);
	fd = sv_bind(path, false);
	ml_emit(&o, &e);
	EXPECT(!strncmp(sv_recv(fd), "MESSAGE=del ", 12));
	/* journald gone: counted; the lost record once it is back */
	close(fd);
	unlink(path);
	ml_emit(&o, &e);
	EXPECT(o.j_dropped == 1);
	fd = sv_bind(path, false);
	fake_mono_ns += 2000000000ull;
	ml_journal_tick(&o, true);
	EXPECT(!strncmp(sv_recv(fd), "MESSAGE=lost 1 ", 15));
	close(o.jfd);
	close(fd);
	unlink(path);
	/* nothing there */
	setenv("NATK_JOURNAL_SOCKET", "/nonexistent/natk-journal", 1);
	EXPECT(ml_journal_connect(&o) == -ENOENT);
	unsetenv("NATK_JOURNAL_SOCKET");
	EXPECT_STR(ml_journal_path(), "/run/systemd/journal/socket");
}

/* who: feed a log's lines, ask. */
static void who_feed(struct ml_log *l, const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;

	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		ml_log_line(l, line, strlen(line));
	free(copy);
}

static struct ml_query who_q(const char *ext, uint16_t port, int proto,
			     const char *at)
{
	struct ml_query q = { .ext_port = port };

	inet_pton(AF_INET, ext, &q.ext_addr);
	if (proto) {
		q.have_proto = true;
		q.proto = (uint8_t)proto;
	}
	assert(parse_time(at, 0, &q.at));
	return q;
}

/* The answer as text lines, flags after each: "F" from inferred, "T" to
 * inferred, "L" lost near; "nobody" (L: lost near), "B" before the log. */
static char *who_ask(const char *log, struct ml_query q)
{
	static char out[1024];
	struct ml_answer a;
	struct ml_log l;
	char ia[INET_ADDRSTRLEN], t1[TIME_STRLEN], t2[TIME_STRLEN];
	size_t n = 0;

	ml_log_init(&l, &q);
	who_feed(&l, log);
	ml_who(l.v, l.n, l.start, &q, &a);
	out[0] = '\0';
	for (size_t i = 0; i < a.n; i++) {
		const struct ml_span *s = &a.v[i];

		inet_ntop(AF_INET, &s->int_addr, ia, sizeof(ia));
		format_time(s->from, t1, sizeof(t1));
		if (s->to)
			format_time(s->to, t2, sizeof(t2));
		else
			strcpy(t2, "-");
		if (s->block)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "block %u-%u %s",
					      s->first, s->last, ia);
		else
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s %s:%u",
					      proto_name(s->proto), ia, s->int_port);
		n += (size_t)snprintf(out + n, sizeof(out) - n, " %.19s %.19s%s%s%s;",
				      t1, t2,
				      s->from_inferred ? " F" : "",
				      s->to_inferred ? " T" : "",
				      s->lost_near ? " L" : "");
	}
	if (!a.n)
		snprintf(out, sizeof(out), "nobody%s%s", a.lost_near ? " L" : "",
			 a.before_log ? " B" : "");
	free(a.v);
	free(l.v);
	return out;
}

static const char who_log[] =
	"2026-12-03T06:00:00.000000Z live udp 10.0.0.9:5000 192.0.2.1:5000\n"
	"2026-12-03T06:00:00.000000Z live udp 10.0.0.2:41000 192.0.2.1:41000\n"
	"2026-12-03T06:10:00.000000Z new udp 10.0.0.2:41000 192.0.2.1:41000\n"
	"2026-12-03T06:20:00.000000Z del udp 10.0.0.2:41000 192.0.2.1:41000\n"
	"2026-12-03T06:25:00.000000Z new udp 10.0.0.3:41000 192.0.2.1:41000\n"
	"2026-12-03T06:30:00.000000Z del udp 10.0.0.3:41000 192.0.2.1:41000\n"
	"2026-12-03T06:31:00.000000Z new udp 10.0.0.2:4100 192.0.2.1:4100\n"
	"2026-12-03T06:32:00.000000Z new udp 10.0.0.2:41000 192.0.2.1:141000\n"
	"2026-12-03T06:40:00.000000Z new tcp 10.0.0.4:41000 192.0.2.1:41000\n"
	"2026-12-03T06:45:00.000000Z new udp 10.0.0.5:41000 192.0.2.1:41000\n"
	"2026-12-03T06:50:00.000000Z new udp 10.0.0.6:41000 192.0.2.1:41000\n"
	"2026-12-03T06:55:00.000000Z lost 3\n"
	"2026-12-03T07:00:00.000000Z del udp 10.0.0.7:41000 192.0.2.1:41000\n"
	"2026-12-03T07:10:00.000000Z del udp 10.0.0.8:41000 192.0.2.1:41000\n"
	"2026-12-03T07:20:00.000000Z new udp 10.0.0.2:41000 192.0.2.10:41000\n"
	"2026-12-03T07:21:00.000000Z new udp 10.0.0.2:41000 192.0.2.1:41000 192.0.2.9:1\n"
	"not a line\n"
	"2026-12-03T07:30:00.000000Z del udp 10.0.0.2:41000 192.0.2.10:41000\n";

static void test_who(void)
{
	const char *U = "192.0.2.1";
	struct ml_query q;
	struct ml_log l;

	/* a live line then new for the same endpoint: one span, to its del */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T06:05:00Z")),
		   "udp 10.0.0.2:41000 2026-12-03T06:00:00 2026-12-03T06:20:00;");
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T06:20:00Z")),
		   "udp 10.0.0.2:41000 2026-12-03T06:00:00 2026-12-03T06:20:00;");
	/* between a del and the next new: nobody */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T06:22:00Z")),
		   "nobody");
	/* the port reused by another host after the del */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, 0, "2026-12-03T06:27:00Z")),
		   "udp 10.0.0.3:41000 2026-12-03T06:25:00 2026-12-03T06:30:00;");
	/* other protocol: its own mappings; open until the end and after */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, 0, "2026-12-03T06:42:00Z")),
		   "tcp 10.0.0.4:41000 2026-12-03T06:40:00 -;");
	/* ... but a lost line since it began may hide its del */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_TCP, "2026-12-04T00:00:00Z")),
		   "tcp 10.0.0.4:41000 2026-12-03T06:40:00 - L;");
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T06:42:00Z")),
		   "nobody");
	/* a new for another endpoint ends the open one (its del was lost) */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T06:47:00Z")),
		   "udp 10.0.0.5:41000 2026-12-03T06:45:00 2026-12-03T06:50:00 T;");
	/* a lost line, then a del with no new: two candidates, both unsure */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T06:56:00Z")),
		   "udp 10.0.0.6:41000 2026-12-03T06:50:00 2026-12-03T07:00:00 T L;"
		   "udp 10.0.0.7:41000 2026-12-03T06:50:00 2026-12-03T07:00:00 F L;");
	/* a del with no new: since the port's previous del */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T07:05:00Z")),
		   "udp 10.0.0.8:41000 2026-12-03T07:00:00 2026-12-03T07:10:00 F;");
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T07:15:00Z")),
		   "nobody");
	/* another external address of the same port */
	EXPECT_STR(who_ask(who_log, who_q("192.0.2.10", 41000, 0, "2026-12-03T07:25:00Z")),
		   "udp 10.0.0.2:41000 2026-12-03T07:20:00 2026-12-03T07:30:00;");
	/* 4100 and 141000 are other ports: not confused with 41000 */
	EXPECT_STR(who_ask(who_log, who_q(U, 4100, 0, "2026-12-03T06:31:30Z")),
		   "udp 10.0.0.2:4100 2026-12-03T06:31:00 -;");
	/* a line with a field more (a newer natkctl's) still counts */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, IPPROTO_UDP, "2026-12-03T07:25:00Z")),
		   "udp 10.0.0.2:41000 2026-12-03T07:21:00 -;");
	/* before the log: it does not know */
	EXPECT_STR(who_ask(who_log, who_q(U, 41000, 0, "2026-12-03T05:00:00Z")),
		   "nobody B");
	/* nobody, but events were lost just then */
	EXPECT_STR(who_ask("2026-12-03T06:00:00.000000Z new udp 10.0.0.2:1 192.0.2.1:1\n"
			   "2026-12-03T06:10:00.000000Z del udp 10.0.0.2:1 192.0.2.1:1\n"
			   "2026-12-03T06:11:10.000000Z lost\n"
			   "2026-12-03T06:30:00.000000Z new udp 10.0.0.3:1 192.0.2.1:1\n",
			   who_q(U, 1, 0, "2026-12-03T06:11:00Z")), "nobody L");
	EXPECT_STR(who_ask("2026-12-03T06:00:00.000000Z new udp 10.0.0.2:1 192.0.2.1:1\n"
			   "2026-12-03T06:10:00.000000Z del udp 10.0.0.2:1 192.0.2.1:1\n"
			   "2026-12-03T06:11:10.000000Z lost\n"
			   "2026-12-03T06:30:00.000000Z new udp 10.0.0.3:1 192.0.2.1:1\n",
			   who_q(U, 1, 0, "2026-12-03T06:05:00Z")),
		   "udp 10.0.0.2:1 2026-12-03T06:00:00 2026-12-03T06:10:00;");
	/* the log restarted: its live lines continue what was open */
	EXPECT_STR(who_ask("2026-12-03T06:00:00.000000Z new icmp 10.0.0.2:7 192.0.2.1:7\n"
			   "2026-12-03T08:00:00.000000Z live icmp 10.0.0.2:7 192.0.2.1:7\n"
			   "2026-12-03T09:00:00.000000Z del icmp 10.0.0.2:7 192.0.2.1:7\n",
			   who_q(U, 7, IPPROTO_ICMP, "2026-12-03T08:30:00Z")),
		   "icmp 10.0.0.2:7 2026-12-03T06:00:00 2026-12-03T09:00:00;");

	/* the bad line was counted, the log's first line is its start */
	q = who_q(U, 41000, 0, "2026-12-03T06:05:00Z");
	ml_log_init(&l, &q);
	who_feed(&l, who_log);
	EXPECT(l.bad == 1 && l.any && l.start == T0 - 30 * MIN &&
	       l.end == T0 + 60 * MIN);
	EXPECT(l.n == 12);	/* the lines on 192.0.2.1:41000, and lost */
	free(l.v);

	/* rotated files, oldest first: PATH.2, PATH.1, PATH */
	{
		char dir[64], path[128], name[160], bad[256];
		FILE *f;
		struct ml_answer a;
		static const char *const parts[3] = {
			/* PATH */
			"2026-12-03T06:30:00.000000Z del udp 10.0.0.3:41000 192.0.2.1:41000\n",
			/* PATH.1 */
			("2026-12-03T06:20:00.000000Z del udp 10.0.0.2:41000 192.0.2.1:41000\n"
			 "2026-12-03T06:25:00.000000Z new udp 10.0.0.3:41000 192.0.2.1:41000\n"),
			/* PATH.2 */
			"2026-12-03T06:00:00.000000Z new udp 10.0.0.2:41000 192.0.2.1:41000\n",
		};

		snprintf(dir, sizeof(dir), "/tmp/natk-who-test.%d", (int)getpid());
		EXPECT(mkdir(dir, 0700) == 0);
		snprintf(path, sizeof(path), "%s/mappings.log", dir);
		for (int i = 0; i < 3; i++) {
			if (i)
				snprintf(name, sizeof(name), "%s.%d", path, i);
			else
				snprintf(name, sizeof(name), "%s", path);
			f = fopen(name, "w");
			assert(f);
			fputs(parts[i], f);
			fclose(f);
		}
		/* PATH.4 with no PATH.3: not part of the log */
		snprintf(name, sizeof(name), "%s.4", path);
		f = fopen(name, "w");
		assert(f);
		fputs("2026-12-03T05:00:00.000000Z new udp 10.0.0.99:41000 192.0.2.1:41000\n", f);
		fclose(f);

		q = who_q(U, 41000, IPPROTO_UDP, "2026-12-03T06:10:00Z");
		ml_log_init(&l, &q);
		EXPECT(ml_log_read(&l, path, bad, sizeof(bad)) == 0);
		EXPECT(l.start == T0 - 30 * MIN && l.end == T0 && l.n == 4);
		ml_who(l.v, l.n, l.start, &q, &a);
		EXPECT(a.n == 1 && a.v[0].int_addr == htonl(0x0a000002) &&
		       a.v[0].from == T0 - 30 * MIN && a.v[0].to == T0 - 10 * MIN &&
		       !a.v[0].from_inferred && !a.v[0].to_inferred);
		/* the printed answer */
		cap_start(false, false);
		EXPECT(ml_who_print(&a, &l, &q, path) == 0);
		EXPECT_STR(cap_end(), "udp 192.0.2.1:41000 10.0.0.2:41000 from 2026-12-03T06:00:00.000000Z to 2026-12-03T06:20:00.000000Z\n");
		free(cap_buf);
		cap_start(true, false);
		EXPECT(ml_who_print(&a, &l, &q, path) == 0);
		EXPECT_STR(cap_end(),
			"[{\"proto\":\"udp\",\"external_address\":\"192.0.2.1\",\"external_port\":41000,"
			"\"internal_address\":\"10.0.0.2\",\"internal_port\":41000,"
			"\"from\":\"2026-12-03T06:00:00.000000Z\",\"to\":\"2026-12-03T06:20:00.000000Z\","
			"\"flows\":null,\"certain\":true}]\n");
		save_json("who", cap_buf);
		free(cap_buf);
		free(a.v);
		q.at = T0 - 2 * MIN;
		ml_who(l.v, l.n, l.start, &q, &a);
		EXPECT(a.n == 1 && a.v[0].int_addr == htonl(0x0a000003) &&
		       !a.v[0].from_inferred);
		free(a.v);
		q.at = T0 + 1 * MIN;
		ml_who(l.v, l.n, l.start, &q, &a);
		cap_start(false, false);
		EXPECT(ml_who_print(&a, &l, &q, path) == ML_EXIT_NOBODY);
		EXPECT_STR(cap_end(), "nobody\n");
		free(cap_buf);
		cap_start(true, false);
		EXPECT(ml_who_print(&a, &l, &q, path) == ML_EXIT_NOBODY);
		EXPECT_STR(cap_end(), "[]\n");
		free(cap_buf);
		free(a.v);
		free(l.v);
		/* an open span prints "to -" (JSON null) */
		{
			struct ml_span s = { .proto = IPPROTO_TCP, .from = T0,
					     .int_addr = htonl(0x0a000002),
					     .int_port = 1, .ext_port = 2,
					     .ext_addr = htonl(0xc0000201),
					     .to_inferred = false };
			struct ml_answer oa = { .v = &s, .n = 1 };
			struct ml_log ol = {};

			cap_start(false, false);
			ml_who_print(&oa, &ol, &q, path);
			EXPECT_STR(cap_end(), "tcp 192.0.2.1:2 10.0.0.2:1 from 2026-12-03T06:30:00.000000Z to -\n");
			free(cap_buf);
			s.lost_near = true;
			cap_start(true, false);
			ml_who_print(&oa, &ol, &q, path);
			EXPECT(strstr(cap_end(), "\"to\":null,\"flows\":null,\"certain\":false}]\n"));
			free(cap_buf);
			/* live */
			cap_start(false, false);
			print_open_array(NULL);
			ml_who_print_span(&s, " (live, %u flows)", 2);
			print_close_array();
			print_end();
			EXPECT_STR(cap_end(), "tcp 192.0.2.1:2 10.0.0.2:1 (live, 2 flows)\n");
			free(cap_buf);
			cap_start(true, false);
			print_open_array(NULL);
			ml_who_print_span(&s, " (live, %u flows)", 2);
			print_close_array();
			print_end();
			EXPECT_STR(cap_end(), "[{\"proto\":\"tcp\",\"external_address\":\"192.0.2.1\",\"external_port\":2,"
				   "\"internal_address\":\"10.0.0.2\",\"internal_port\":1,"
				   "\"from\":null,\"to\":null,\"flows\":2,\"certain\":true}]\n");
			save_json("who-live", cap_buf);
			free(cap_buf);
		}
		/* no PATH, only rotated ones: read them */
		EXPECT(unlink(path) == 0);
		ml_log_init(&l, &q);
		EXPECT(ml_log_read(&l, path, bad, sizeof(bad)) == 0 && l.n == 3);
		free(l.v);
		/* nothing at all: an error naming the file */
		snprintf(name, sizeof(name), "%s/none.log", dir);
		ml_log_init(&l, &q);
		EXPECT(ml_log_read(&l, name, bad, sizeof(bad)) == -ENOENT);
		EXPECT_STR(bad, name);
		free(l.v);
		/* what log writes, who reads */
		{
			struct ml_out o;
			struct ml_event e = mk_ev(ML_NEW, T0, IPPROTO_UDP, "10.0.0.5",
						  5, "192.0.2.1", 41000);

			ml_out_init(&o);
			o.path = name;
			o.max_size = 100;
			o.keep = 3;
			EXPECT(ml_file_open(&o) == 0);
			ml_emit(&o, &e);
			e.kind = ML_DEL;
			e.ns = T0 + MIN;
			ml_emit(&o, &e);
			e = mk_ev(ML_LIVE, T0 + 2 * MIN, IPPROTO_UDP, "10.0.0.6", 6,
				  "192.0.2.1", 41000);
			ml_emit(&o, &e);
			close(o.fd);
			snprintf(bad, sizeof(bad), "%s.2", name);
			EXPECT(access(bad, F_OK) == 0);
			q = who_q(U, 41000, 0, "2026-12-03T06:30:30Z");
			ml_log_init(&l, &q);
			EXPECT(ml_log_read(&l, name, bad, sizeof(bad)) == 0);
			ml_who(l.v, l.n, l.start, &q, &a);
			EXPECT(a.n == 1 && a.v[0].int_addr == htonl(0x0a000005) &&
			       a.v[0].from == T0 && a.v[0].to == T0 + MIN);
			free(a.v);
			q.at = T0 + 3 * MIN;
			ml_who(l.v, l.n, l.start, &q, &a);
			EXPECT(a.n == 1 && a.v[0].int_addr == htonl(0x0a000006) &&
			       !a.v[0].to);
			free(a.v);
			free(l.v);
		}
		snprintf(name, sizeof(name), "rm -rf %s", dir);
		EXPECT(system(name) == 0);
	}
}


/* stderr into a string, as cap_start/cap_end do for stdout. */
static char *err_buf;
static size_t err_len;
static FILE *saved_stderr;

static void err_start(void)
{
	saved_stderr = stderr;
	stderr = open_memstream(&err_buf, &err_len);
}

static char *err_end(void)
{
	fclose(stderr);
	stderr = saved_stderr;
	return err_buf;
}

static size_t count_lines(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static struct flow flow_of(uint8_t proto, const char *ia, uint16_t ip,
			   const char *ea, uint16_t ep, const char *ra,
			   uint16_t rp, uint8_t state)
{
	/* with counters, as a module with accounting on sends them */
	struct flow f = { .proto = proto, .int_port = ip, .ext_port = ep,
			  .rem_port = rp, .state = state,
			  .present = FLOW_P_COUNTERS };

	inet_pton(AF_INET, ia, &f.int_addr);
	inet_pton(AF_INET, ea, &f.ext_addr);
	inet_pton(AF_INET, ra, &f.rem_addr);
	return f;
}

static bool flow_same(const struct flow *a, const struct flow *b)
{
	return a->proto == b->proto && a->int_addr == b->int_addr &&
	       a->int_port == b->int_port && a->ext_addr == b->ext_addr &&
	       a->ext_port == b->ext_port && a->rem_addr == b->rem_addr &&
	       a->rem_port == b->rem_port &&
	       (a->proto == IPPROTO_TCP ? a->state : 0) ==
	       (b->proto == IPPROTO_TCP ? b->state : 0) &&
	       a->expires_ms == b->expires_ms && a->pkts_out == b->pkts_out &&
	       a->bytes_out == b->bytes_out && a->pkts_in == b->pkts_in &&
	       a->bytes_in == b->bytes_in &&
	       (a->present & (FLOW_P_COUNTERS | FLOW_P_SEEN)) ==
	       (b->present & (FLOW_P_COUNTERS | FLOW_P_SEEN)) &&
	       (!(a->present & FLOW_P_SEEN) || a->seen == b->seen);
}

/* flows save and restore: the file's lines, the FLOW_ADD message, the
 * kernel's answers counted (natkctl(8), FLOW FILE). */
/*
 * The flow nest of a NATK_CMD_FLOW_ADD message @m into @fb, each
 * attribute checked against the size the kernel's strict validation
 * wants exactly; returns how many there are, -1 if @m has no flow nest.
 */
static int flow_add_parse(struct nl_msg *m, struct nlattr **fb)
{
	static struct nla_policy pol[NATK_FLOW_A_MAX + 1] = {
		[NATK_FLOW_A_PROTO] = { .type = NLA_U8 },
		[NATK_FLOW_A_INT_ADDR_BE] = { .type = NLA_U32 },
		[NATK_FLOW_A_INT_PORT] = { .type = NLA_U16 },
		[NATK_FLOW_A_EXT_ADDR_BE] = { .type = NLA_U32 },
		[NATK_FLOW_A_EXT_PORT] = { .type = NLA_U16 },
		[NATK_FLOW_A_REM_ADDR_BE] = { .type = NLA_U32 },
		[NATK_FLOW_A_REM_PORT] = { .type = NLA_U16 },
		[NATK_FLOW_A_STATE] = { .type = NLA_U8 },
		[NATK_FLOW_A_EXPIRES_MS] = { .type = NLA_U32 },
		[NATK_FLOW_A_PKTS_OUT] = { .type = NLA_U64 },
		[NATK_FLOW_A_BYTES_OUT] = { .type = NLA_U64 },
		[NATK_FLOW_A_PKTS_IN] = { .type = NLA_U64 },
		[NATK_FLOW_A_BYTES_IN] = { .type = NLA_U64 },
		[NATK_FLOW_A_UPDATE] = { .type = NLA_FLAG },
		[NATK_FLOW_A_SEEN] = { .type = NLA_U8 },
	};
	/* the sizes the kernel's strict validation wants exactly */
	static const int size[NATK_FLOW_A_MAX + 1] = {
		[NATK_FLOW_A_PROTO] = 1, [NATK_FLOW_A_STATE] = 1,
		[NATK_FLOW_A_INT_PORT] = 2, [NATK_FLOW_A_EXT_PORT] = 2,
		[NATK_FLOW_A_REM_PORT] = 2,
		[NATK_FLOW_A_INT_ADDR_BE] = 4, [NATK_FLOW_A_EXT_ADDR_BE] = 4,
		[NATK_FLOW_A_REM_ADDR_BE] = 4, [NATK_FLOW_A_EXPIRES_MS] = 4,
		[NATK_FLOW_A_PKTS_OUT] = 8, [NATK_FLOW_A_BYTES_OUT] = 8,
		[NATK_FLOW_A_PKTS_IN] = 8, [NATK_FLOW_A_BYTES_IN] = 8,
		[NATK_FLOW_A_SEEN] = 1,
	};
	struct nlattr *tb[NATK_A_MAX + 1], *a;
	int rem, attrs = 0;

	EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
	EXPECT(tb[NATK_A_FLOW] != NULL);
	if (!tb[NATK_A_FLOW])
		return -1;
	EXPECT(nla_parse_nested(fb, NATK_FLOW_A_MAX, tb[NATK_A_FLOW], pol) == 0);
	nla_for_each_nested(a, tb[NATK_A_FLOW], rem) {
		int t = nla_type(a);

		attrs++;
		EXPECT(t <= NATK_FLOW_A_MAX &&
		       (t == NATK_FLOW_A_UPDATE ? nla_len(a) == 0 :
			size[t] && nla_len(a) == size[t]));
	}
	return attrs;
}

static void test_flowfile(void)
{
	char line[FLOW_LINE_MAX], err[256], *s;
	struct flow f, g, v[16];
	size_t n = 0, len, skipped;

	/* the documented examples, both ways */
	f = flow_of(IPPROTO_TCP, "10.0.0.2", 41700, "192.0.2.1", 41700,
		    "192.0.2.2", 5000, NATK_TCP_ESTABLISHED);
	f.expires_ms = 7439000;
	f.pkts_out = 12;
	f.bytes_out = 1034;
	f.pkts_in = 10;
	f.bytes_in = 980;
	EXPECT(flow_format_line(&f, line, sizeof(line)) > 0);
	EXPECT_STR(line, "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980\n");
	v[n++] = f;
	f = flow_of(IPPROTO_UDP, "10.0.0.2", 41702, "192.0.2.1", 41702,
		    "192.0.2.2", 5001, NATK_TCP_NONE);
	f.expires_ms = 299000;
	f.pkts_out = 1;
	f.bytes_out = 34;
	f.pkts_in = 1;
	f.bytes_in = 50;
	EXPECT(flow_format_line(&f, line, sizeof(line)) > 0);
	EXPECT_STR(line, "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 34 1 50\n");
	v[n++] = f;
	/* ICMP: the echo id as internal port (0 too), remote port 0 */
	f = flow_of(IPPROTO_ICMP, "10.0.0.3", 0, "192.0.2.1", 1,
		    "198.51.100.7", 0, NATK_TCP_NONE);
	f.expires_ms = 0;
	EXPECT(flow_format_line(&f, line, sizeof(line)) > 0);
	EXPECT_STR(line, "icmp 10.0.0.3:0 192.0.2.1:1 198.51.100.7:0 - 0 0 0 0 0\n");
	v[n++] = f;
	/* every TCP state, and the largest values: the longest line fits */
	for (int st = NATK_TCP_NONE + 1; st <= NATK_TCP_MAX; st++) {
		f = flow_of(IPPROTO_TCP, "255.255.255.255", 65535,
			    "255.255.255.255", 65535, "255.255.255.255", 65535,
			    (uint8_t)st);
		f.expires_ms = UINT32_MAX;
		f.pkts_out = f.bytes_out = f.pkts_in = f.bytes_in = UINT64_MAX;
		v[n++] = f;
	}
	EXPECT(n <= ARRAY_SIZE(v));
	for (size_t i = 0; i < n; i++) {
		len = flow_format_line(&v[i], line, sizeof(line));
		EXPECT(len > 0 && line[len - 1] == '\n' && len < FLOW_LINE_MAX);
		line[len - 1] = '\0';
		if (!flow_parse_line(line, &g, err, sizeof(err))) {
			fprintf(stderr, "round trip of '%s': %s\n", line, err);
			failures++;
			continue;
		}
		EXPECT(flow_same(&v[i], &g));
		EXPECT(!strcmp(flow_state_name(&g), flow_state_name(&v[i])));
	}
	EXPECT(flow_parse_line("tcp 255.255.255.255:65535 255.255.255.255:65535 255.255.255.255:65535 synack_out 4294967295 18446744073709551615 18446744073709551615 18446744073709551615 18446744073709551615",
			       &g, err, sizeof(err)));
	EXPECT(g.state == NATK_TCP_SYNACK_OUT && g.bytes_in == UINT64_MAX &&
	       g.expires_ms == UINT32_MAX);
	/* without counters (accounting off) and with the seen bits: both
	 * ways; a file without them (an older natkctl's) reads as before */
	{
		static const struct {
			uint32_t present;
			uint8_t seen;
			const char *tail;
		} cs[] = {
			{ 0, 0, " 7439000 - - - -\n" },
			{ FLOW_P_SEEN, NATK_FLOW_F_SEEN_OUT, " 7439000 - - - - seen=out\n" },
			{ FLOW_P_SEEN, NATK_FLOW_F_SEEN_IN, " 7439000 - - - - seen=in\n" },
			{ FLOW_P_SEEN, NATK_FLOW_F_SEEN_OUT | NATK_FLOW_F_SEEN_IN,
			  " 7439000 - - - - seen=out,in\n" },
			{ FLOW_P_SEEN, 0, " 7439000 - - - - seen=none\n" },
			{ FLOW_P_COUNTERS | FLOW_P_SEEN, NATK_FLOW_F_SEEN_IN,
			  " 7439000 12 1034 10 980 seen=in\n" },
			{ FLOW_P_COUNTERS, 0, " 7439000 12 1034 10 980\n" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(cs); i++) {
			f = v[0];
			f.present = cs[i].present;
			f.seen = cs[i].seen;
			if (!(f.present & FLOW_P_COUNTERS))
				f.pkts_out = f.bytes_out = f.pkts_in = f.bytes_in = 0;
			len = flow_format_line(&f, line, sizeof(line));
			EXPECT(len > strlen(cs[i].tail) &&
			       !strcmp(line + len - strlen(cs[i].tail), cs[i].tail));
			if (!len)
				continue;
			line[len - 1] = '\0';
			if (!flow_parse_line(line, &g, err, sizeof(err))) {
				fprintf(stderr, "round trip of '%s': %s\n", line, err);
				failures++;
				continue;
			}
			EXPECT(flow_same(&f, &g));
		}
		/* bits a newer module may add are not written */
		f = v[1];
		f.present |= FLOW_P_SEEN;
		f.seen = 0x80 | NATK_FLOW_F_SEEN_OUT;
		EXPECT(flow_format_line(&f, line, sizeof(line)) > 0);
		EXPECT_STR(line, "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 34 1 50 seen=out\n");
		/* the longest line still fits */
		f = v[n - 1];
		f.present |= FLOW_P_SEEN;
		f.seen = NATK_FLOW_F_SEEN_OUT | NATK_FLOW_F_SEEN_IN;
		len = flow_format_line(&f, line, sizeof(line));
		EXPECT(len > 0 && len < FLOW_LINE_MAX);
		/* an older natkctl's line: counters, the seen bits not known */
		EXPECT(flow_parse_line("udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 34 1 50",
				       &g, err, sizeof(err)));
		EXPECT((g.present & FLOW_P_COUNTERS) == FLOW_P_COUNTERS &&
		       !(g.present & FLOW_P_SEEN) && g.bytes_in == 50);
	}
	for (int st = NATK_TCP_NONE + 1; st <= NATK_TCP_MAX; st++)
		EXPECT(tcp_state_from_name(tcp_state_names[st]) == st);
	EXPECT(tcp_state_from_name("-") == -1 && tcp_state_from_name("ESTABLISHED") == -1);

	/* what cannot be written is left out, and counted */
	f = v[0];
	f.state = NATK_TCP_NONE;
	EXPECT(flow_format_line(&f, line, sizeof(line)) == 0);
	f.state = NATK_TCP_MAX + 1;
	EXPECT(flow_format_line(&f, line, sizeof(line)) == 0);
	f.proto = IPPROTO_SCTP;
	EXPECT(flow_format_line(&f, line, sizeof(line)) == 0);
	EXPECT(flow_format_line(&v[0], line, 10) == 0);
	{
		struct flow w[3] = { v[0], f, v[1] };
		char *buf = NULL;
		size_t blen = 0, written;
		FILE *m = open_memstream(&buf, &blen);

		/* 2026-12-03T06:30:00.123456Z */
		written = flows_write(m, w, 3, 1796279400123456000ull, &skipped);
		fclose(m);
		EXPECT(written == 2 && skipped == 1);
		EXPECT_STR(buf,
			"# natk flows, saved 2026-12-03T06:30:00.123456Z by natkctl flows save; restore with natkctl flows restore FILE\n"
			"tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980\n"
			"udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 34 1 50\n");
		save_file("flows.txt", buf);
		free(buf);
	}

	/* a dumped flow as it is saved */
	{
		struct nl_msg *dm = genl_msg(NATK_CMD_GET_FLOWS);
		struct flow_buf b = {};

		put_flow(dm, IPPROTO_TCP, NATK_TCP_FIN_OUT, 0, true, -1);
		put_flow(dm, IPPROTO_ICMP, 0, 0, false, -1);
		put_flow(dm, IPPROTO_UDP, 0, 0, false, NATK_FLOW_F_SEEN_OUT);
		EXPECT(flows_cb(dm, &b) == NL_OK && b.n == 3);
		nlmsg_free(dm);
		if (b.n == 3) {
			flow_format_line(&b.v[0], line, sizeof(line));
			EXPECT_STR(line, "tcp 10.0.0.2:40000 192.0.2.1:40000 192.0.2.2:80 fin_out 7438001 12 1024 10 9000\n");
			flow_format_line(&b.v[1], line, sizeof(line));
			EXPECT_STR(line, "icmp 10.0.0.2:40000 192.0.2.1:40000 192.0.2.2:0 - 7438001 - - - -\n");
			flow_format_line(&b.v[2], line, sizeof(line));
			EXPECT_STR(line, "udp 10.0.0.2:40000 192.0.2.1:40000 192.0.2.2:80 - 7438001 - - - - seen=out\n");
		}
		free(b.v);
	}

	/* bad lines: each says what is wrong */
	{
		static const struct { const char *line, *why; } bad[] = {
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10",
			  "expected 10 or 11 fields (PROTO INT_ADDR:PORT EXT_ADDR:PORT REM_ADDR:PORT STATE EXPIRES_MS PKTS_OUT BYTES_OUT PKTS_IN BYTES_IN [SEEN]), found 9" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980 1",
			  "invalid SEEN '1' (seen=out,in, seen=out, seen=in or seen=none)" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980 seen=out 1",
			  "expected 10 or 11 fields" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 - - - - seen=both",
			  "invalid SEEN 'seen=both'" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 - - - - seen=in,out",
			  "invalid SEEN 'seen=in,out'" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 - - - - seen=out ",
			  "field 12 is empty" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 - 1 50",
			  "counters '1 - 1 50': all four are numbers, or all four '-' (a flow without counters)" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 - - - 0 seen=out",
			  "counters '- - - 0'" },
			{ "tcp", "found 1" },
			{ "tcp 10.0.0.2:41700  192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980",
			  "field 3 is empty: fields are separated by one space" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980 ",
			  "field 11 is empty" },
			{ "tcp\t10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980",
			  "unexpected character 0x09 at column 4" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980\r",
			  "unexpected character 0x0d" },
			{ "sctp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 - 7439000 12 1034 10 980",
			  "invalid PROTO 'sctp' (tcp, udp or icmp)" },
			{ "TCP 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980",
			  "invalid PROTO 'TCP'" },
			{ "tcp 10.0.0.256:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980",
			  "invalid internal ADDR:PORT '10.0.0.256:41700'" },
			{ "tcp 10.0.0.2 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980",
			  "invalid internal ADDR:PORT '10.0.0.2'" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:65536 192.0.2.2:5000 established 7439000 12 1034 10 980",
			  "invalid external ADDR:PORT '192.0.2.1:65536'" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 ::1:5000 established 7439000 12 1034 10 980",
			  "invalid remote ADDR:PORT '::1:5000'" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:+50 established 7439000 12 1034 10 980",
			  "invalid remote ADDR:PORT" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 :5000 established 7439000 12 1034 10 980",
			  "invalid remote ADDR:PORT ':5000'" },
			{ "tcp 10.0.0.2:0 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980",
			  "internal port 0: a tcp flow's ports are 1 to 65535" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:0 - 299000 1 34 1 50",
			  "remote port 0: a udp flow's ports are 1 to 65535" },
			{ "icmp 10.0.0.2:7 192.0.2.1:0 192.0.2.2:0 - 299000 1 34 1 50",
			  "external port 0: external ports are 1 to 65535" },
			{ "icmp 10.0.0.2:7 192.0.2.1:7 192.0.2.2:7 - 299000 1 34 1 50",
			  "remote port 7: an icmp flow's remote port is 0" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 open 7439000 12 1034 10 980",
			  "invalid TCP state 'open' (syn_out, syn_in, synack_in, synack_out, established, fin_out, fin_in, fin_both or rst)" },
			{ "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 - 7439000 12 1034 10 980",
			  "invalid TCP state '-'" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 established 299000 1 34 1 50",
			  "state 'established': a udp flow has no TCP state ('-')" },
			{ "icmp 10.0.0.2:7 192.0.2.1:7 192.0.2.2:0 rst 299000 1 34 1 50",
			  "a icmp flow has no TCP state" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 4294967296 1 34 1 50",
			  "invalid EXPIRES_MS '4294967296' (milliseconds, 0 to 4294967295)" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 1s 1 34 1 50",
			  "invalid EXPIRES_MS '1s'" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 -1 34 1 50",
			  "invalid PKTS_OUT '-1' (0 to 18446744073709551615, or '-' for all four)" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 0x22 1 50",
			  "invalid BYTES_OUT '0x22'" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 34 18446744073709551616 50",
			  "invalid PKTS_IN '18446744073709551616'" },
			{ "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 34 1 5e1",
			  "invalid BYTES_IN '5e1'" },
		};
		char longline[400];

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			err[0] = '\0';
			if (flow_parse_line(bad[i].line, &g, err, sizeof(err)) ||
			    !strstr(err, bad[i].why)) {
				fprintf(stderr, "bad line '%s': got '%s', want '%s'\n",
					bad[i].line, err, bad[i].why);
				failures++;
			}
		}
		memset(longline, 'x', sizeof(longline) - 1);
		longline[sizeof(longline) - 1] = '\0';
		EXPECT(!flow_parse_line(longline, &g, err, sizeof(err)) &&
		       strstr(err, "line too long (399 characters)"));
	}

	/* a file: comments and blank lines skipped, every bad line named */
	{
		const char *text =
			"# natk flows, saved 2026-12-03T06:30:00.123456Z by natkctl flows save; restore with natkctl flows restore FILE\n"
			"tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980\n"
			"\n"
			"   \n"
			"  # indented comment\n"
			"udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 1 34 1 50";
		struct flow_list l = {};
		FILE *fp = fmemopen((void *)text, strlen(text), "r");

		err_start();
		EXPECT(flows_read("f", fp, &l) == 0);
		s = err_end();
		EXPECT_STR(s, "");
		free(s);
		fclose(fp);
		EXPECT(l.n == 2 && l.line[0] == 2 && l.line[1] == 6);
		EXPECT(l.n == 2 && flow_same(&l.v[0], &v[0]) && flow_same(&l.v[1], &v[1]));
		/* an older natkctl's file: counters, seen not known */
		EXPECT(l.n == 2 && (l.v[0].present & FLOW_P_COUNTERS) == FLOW_P_COUNTERS &&
		       !(l.v[1].present & FLOW_P_SEEN));
		free(l.v);
		free(l.line);

		text = "# x\n"
		       "udp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 established 299000 1 34 1 50\n"
		       "tcp 10.0.0.2:41700 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980\n"
		       "tcp 10.0.0.2:0 192.0.2.1:41700 192.0.2.2:5000 established 7439000 12 1034 10 980\n";
		memset(&l, 0, sizeof(l));
		fp = fmemopen((void *)text, strlen(text), "r");
		err_start();
		EXPECT(flows_read("kept.txt", fp, &l) == 2);
		s = err_end();
		EXPECT_STR(s,
			"natkctl: flows restore: kept.txt:2: state 'established': a udp flow has no TCP state ('-')\n"
			"natkctl: flows restore: kept.txt:4: internal port 0: a tcp flow's ports are 1 to 65535\n");
		free(s);
		fclose(fp);
		free(l.v);
		free(l.line);

		/* many bad lines: the first 20 named, the rest counted */
		{
			char *big = NULL;
			size_t blen = 0;
			FILE *m = open_memstream(&big, &blen);

			for (int i = 0; i < 25; i++)
				fprintf(m, "bad line %d\n", i);
			fclose(m);
			memset(&l, 0, sizeof(l));
			fp = fmemopen(big, blen, "r");
			err_start();
			EXPECT(flows_read("big", fp, &l) == 25);
			s = err_end();
			EXPECT(count_lines(s, ": expected 10 or 11 fields") == 20);
			EXPECT(strstr(s, "natkctl: flows restore: big: ... and 5 more bad lines\n"));
			free(s);
			fclose(fp);
			free(big);
			free(l.v);
			free(l.line);
		}
	}

	/* NATK_CMD_FLOW_ADD, as the kernel's policy takes it */
	{
		family = 0x1234;
		for (size_t i = 0; i < 4; i++) {
			const struct flow *w = &v[i == 3 ? n - 1 : i];
			struct nl_msg *m = flow_add_msg(w, false, true);
			struct nlattr *fb[NATK_FLOW_A_MAX + 1];
			struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(m));
			int attrs;

			EXPECT(gh->cmd == NATK_CMD_FLOW_ADD);
			EXPECT(nlmsg_hdr(m)->nlmsg_type == 0x1234);
			attrs = flow_add_parse(m, fb);
			if (attrs < 0) {
				nlmsg_free(m);
				continue;
			}
			/* only TCP has a state: the kernel refuses one for the others */
			EXPECT(attrs == (w->proto == IPPROTO_TCP ? 13 : 12));
			EXPECT(!fb[NATK_FLOW_A_STATE] == (w->proto != IPPROTO_TCP));
			EXPECT(nla_get_u8(fb[NATK_FLOW_A_PROTO]) == w->proto);
			EXPECT(nla_get_u32(fb[NATK_FLOW_A_INT_ADDR_BE]) == w->int_addr);
			EXPECT(nla_get_u16(fb[NATK_FLOW_A_INT_PORT]) == w->int_port);
			EXPECT(nla_get_u32(fb[NATK_FLOW_A_EXT_ADDR_BE]) == w->ext_addr);
			EXPECT(nla_get_u16(fb[NATK_FLOW_A_EXT_PORT]) == w->ext_port);
			EXPECT(nla_get_u32(fb[NATK_FLOW_A_REM_ADDR_BE]) == w->rem_addr);
			EXPECT(nla_get_u16(fb[NATK_FLOW_A_REM_PORT]) == w->rem_port);
			if (fb[NATK_FLOW_A_STATE])
				EXPECT(nla_get_u8(fb[NATK_FLOW_A_STATE]) == w->state);
			EXPECT(nla_get_u32(fb[NATK_FLOW_A_EXPIRES_MS]) == w->expires_ms);
			EXPECT(nla_get_u64(fb[NATK_FLOW_A_PKTS_OUT]) == w->pkts_out);
			EXPECT(nla_get_u64(fb[NATK_FLOW_A_BYTES_OUT]) == w->bytes_out);
			EXPECT(nla_get_u64(fb[NATK_FLOW_A_PKTS_IN]) == w->pkts_in);
			EXPECT(nla_get_u64(fb[NATK_FLOW_A_BYTES_IN]) == w->bytes_in);
			/* addresses in network order, as the dump gives them */
			if (i == 0)
				EXPECT(ntohl(nla_get_u32(fb[NATK_FLOW_A_INT_ADDR_BE])) == 0x0a000002);
			EXPECT(!fb[NATK_FLOW_A_SEEN] && !fb[NATK_FLOW_A_UPDATE]);
			nlmsg_free(m);
		}

		/* counters only when the flow has them; the seen bits when
		 * known and the module takes them (sizes as above) */
		for (int k = 0; k < 5; k++) {
			struct nlattr *fb[NATK_FLOW_A_MAX + 1];
			struct flow w = v[1];
			bool seen_ok = k != 2, counters = k >= 3;
			struct nl_msg *m;
			int attrs;

			if (!counters) {
				w.present &= ~FLOW_P_COUNTERS;
				w.pkts_out = w.bytes_out = w.pkts_in = w.bytes_in = 0;
			}
			if (k != 1 && k != 4) {
				w.present |= FLOW_P_SEEN;
				/* a newer module's bit is not passed on */
				w.seen = NATK_FLOW_F_SEEN_OUT | 0x40;
			}
			m = flow_add_msg(&w, k == 0, seen_ok);
			attrs = flow_add_parse(m, fb);
			if (attrs < 0) {
				nlmsg_free(m);
				continue;
			}
			EXPECT(!fb[NATK_FLOW_A_PKTS_OUT] == !counters &&
			       !fb[NATK_FLOW_A_BYTES_OUT] == !counters &&
			       !fb[NATK_FLOW_A_PKTS_IN] == !counters &&
			       !fb[NATK_FLOW_A_BYTES_IN] == !counters);
			EXPECT(!fb[NATK_FLOW_A_SEEN] ==
			       !(seen_ok && (w.present & FLOW_P_SEEN)));
			if (fb[NATK_FLOW_A_SEEN])
				EXPECT(nla_get_u8(fb[NATK_FLOW_A_SEEN]) == NATK_FLOW_F_SEEN_OUT);
			EXPECT(!fb[NATK_FLOW_A_UPDATE] == (k != 0));
			EXPECT(attrs == 8 + (counters ? 4 : 0) + !!fb[NATK_FLOW_A_SEEN] +
			       (k == 0));
			nlmsg_free(m);
		}
		/* the seen bits came with accounting: an older module has neither */
		{
			struct natk_status st = {};

			EXPECT(!flow_add_takes_seen(&st));
			st.present = 1ull << NATK_A_ACCOUNTING;
			EXPECT(flow_add_takes_seen(&st));
		}
		/* flows restore sends them only to a module that takes them */
		{
			struct flow w = v[1];
			struct flow_list l = { .v = &w, .n = 1 };
			struct restore r = { .l = &l };
			struct nlattr *fb[NATK_FLOW_A_MAX + 1];
			struct nl_msg *m;

			w.present |= FLOW_P_SEEN;
			w.seen = NATK_FLOW_F_SEEN_IN;
			for (int k = 0; k < 2; k++) {
				r.seen_ok = k;
				m = restore_build(0, &r);
				EXPECT(flow_add_parse(m, fb) > 0);
				EXPECT(!fb[NATK_FLOW_A_SEEN] == !k && fb[NATK_FLOW_A_PKTS_OUT]);
				nlmsg_free(m);
			}
		}
	}

	/* a table with and without counters and seen bits: saved and read back */
	{
		struct flow w[4] = { v[0], v[1], v[2], v[3] };
		struct flow_list l = {};
		char *buf = NULL;
		size_t blen = 0;
		FILE *m = open_memstream(&buf, &blen), *fp;

		w[1].present = FLOW_P_SEEN;
		w[1].pkts_out = w[1].bytes_out = w[1].pkts_in = w[1].bytes_in = 0;
		w[1].seen = NATK_FLOW_F_SEEN_OUT | NATK_FLOW_F_SEEN_IN;
		w[2].present = 0;
		w[3].present |= FLOW_P_SEEN;
		w[3].seen = NATK_FLOW_F_SEEN_OUT;
		EXPECT(flows_write(m, w, 4, 1796279400123456000ull, &skipped) == 4);
		fclose(m);
		EXPECT(strstr(buf, "\nudp 10.0.0.2:41702 192.0.2.1:41702 192.0.2.2:5001 - 299000 - - - - seen=out,in\n"));
		EXPECT(strstr(buf, "\nicmp 10.0.0.3:0 192.0.2.1:1 198.51.100.7:0 - 0 - - - -\n"));
		fp = fmemopen(buf, blen, "r");
		err_start();
		EXPECT(flows_read("mixed", fp, &l) == 0 && l.n == 4);
		s = err_end();
		EXPECT_STR(s, "");
		free(s);
		fclose(fp);
		for (size_t i = 0; i < l.n && i < 4; i++)
			EXPECT(flow_same(&l.v[i], &w[i]));
		free(l.v);
		free(l.line);
		free(buf);
	}

	/* the kernel's answers, counted: faked */
	{
		struct flow_list l = {};
		struct restore r = {};
		unsigned int lines[30];
		struct flow fl[30];

		for (int i = 0; i < 30; i++) {
			fl[i] = v[0];
			lines[i] = (unsigned int)(i + 2);
		}
		l.v = fl;
		l.line = lines;
		l.n = 30;
		r.name = "kept.txt";
		r.l = &l;
		err_start();
		r.base = 0;
		restore_done(0, 0, &r);
		for (size_t i = 1; i < 5; i++)
			restore_done(i, 0, &r);
		r.base = 5;
		for (size_t i = 0; i < 3; i++)
			restore_done(i, -EEXIST, &r);
		snprintf(nk_extack, sizeof(nk_extack), "natk: the flow was made with another external address");
		for (size_t i = 3; i < 24; i++)
			restore_done(i, -EADDRNOTAVAIL, &r);
		nk_extack[0] = '\0';
		restore_done(24, -ENOSPC, &r);
		cap_start(false, false);
		restore_summary(&r);
		s = cap_end();
		EXPECT_STR(s, "restored 5 flows (3 present, 22 refused)\n");
		free(s);
		s = err_end();
		EXPECT(r.restored == 5 && r.present == 3 && r.refused == 22 &&
		       r.shown == 20 && !r.fatal);
		EXPECT(count_lines(s, ": refused: ") == 20);
		EXPECT(strstr(s, "natkctl: flows restore: kept.txt:10: refused: natk: the flow was made with another external address\n") == s);
		EXPECT(strstr(s, "natkctl: flows restore: kept.txt:29: refused: natk: the flow was made with another external address\n"));
		EXPECT(!strstr(s, "kept.txt:30:"));	/* the 21st */
		EXPECT(!strstr(s, "kept.txt:9:"));	/* present */
		EXPECT(strstr(s, "natkctl: flows restore: ... and 2 more refused\n"));
		free(s);
		err_start();
		cap_start(true, false);
		restore_summary(&r);
		s = cap_end();
		EXPECT_STR(s, "{\"restored\":5,\"present\":3,\"refused\":22}\n");
		save_json("flows-restore", s);
		free(s);
		free(err_end());

		/* a second restore: all present, nothing refused, no message */
		memset(&r, 0, sizeof(r));
		r.name = "kept.txt";
		r.l = &l;
		err_start();
		for (size_t i = 0; i < 30; i++)
			restore_done(i, -EEXIST, &r);
		cap_start(false, false);
		restore_summary(&r);
		s = cap_end();
		EXPECT_STR(s, "restored 0 flows (30 present, 0 refused)\n");
		free(s);
		s = err_end();
		EXPECT_STR(s, "");
		free(s);

		/* no extack: strerror; an older natk.ko, no privilege: fatal */
		memset(&r, 0, sizeof(r));
		r.name = "<stdin>";
		r.l = &l;
		err_start();
		restore_done(0, -EDQUOT, &r);
		s = err_end();
		EXPECT_STR(s, "natkctl: flows restore: <stdin>:2: refused: Disk quota exceeded\n");
		free(s);
		restore_done(1, -EOPNOTSUPP, &r);
		EXPECT(r.fatal == -EOPNOTSUPP && r.refused == 1);
		r.fatal = 0;
		restore_done(1, -EPERM, &r);
		EXPECT(r.fatal == -EPERM);
	}

	cap_start(false, false);
	save_summary(2, "/run/natk/flows");
	s = cap_end();
	EXPECT_STR(s, "saved 2 flows to /run/natk/flows\n");
	free(s);
	cap_start(true, false);
	save_summary(100000, "/run/natk/fl\"ows");
	s = cap_end();
	EXPECT_STR(s, "{\"saved\":100000,\"file\":\"/run/natk/fl\\\"ows\"}\n");
	save_json("flows-save", s);
	free(s);

	/* save to a file: FILE.tmp, mode 0600 whatever the umask, renamed */
	{
		char dir[] = "/tmp/natk-flowfile-test.XXXXXX", path[256], tmp[300];
		struct stat sb;
		mode_t um = umask(0);
		FILE *fp;

		EXPECT(mkdtemp(dir) != NULL);
		snprintf(path, sizeof(path), "%s/flows", dir);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		/* a stale FILE.tmp, a symlink: replaced, not followed */
		EXPECT(symlink("/nonexistent/target", tmp) == 0);
		fp = save_open_tmp(path);
		EXPECT(lstat(tmp, &sb) == 0 && S_ISREG(sb.st_mode) &&
		       (sb.st_mode & 07777) == 0600);
		flows_write(fp, v, 2, 1796279400123456000ull, &skipped);
		save_commit(path, fp);
		umask(um);
		EXPECT(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600);
		EXPECT(access(tmp, F_OK) < 0 && errno == ENOENT);
		EXPECT(save_tmp[0] == '\0');
		fp = fopen(path, "r");
		if (fp) {
			struct flow_list l = {};

			EXPECT(flows_read(path, fp, &l) == 0 && l.n == 2);
			EXPECT(l.n == 2 && flow_same(&l.v[0], &v[0]) &&
			       flow_same(&l.v[1], &v[1]));
			fclose(fp);
			free(l.v);
			free(l.line);
		}
		unlink(path);
		rmdir(dir);
	}
}

/* natkctl sync: the wire format, MAC, replay window, and the receiver. */
static struct sync_rec sync_rec_of(uint8_t op, uint16_t iport)
{
	struct sync_rec r = {
		.op = op, .proto = IPPROTO_UDP,
		.int_addr = htonl(0x0a000002), .ext_addr = htonl(0xc0000201),
		.rem_addr = htonl(0xc0000202), .int_port = iport,
		.ext_port = (uint16_t)(iport + 1000), .rem_port = 5001,
		.expires_ms = 300000, .pkts_out = 1, .bytes_out = 2,
		.pkts_in = 3, .bytes_in = 0x1122334455667788ull,
	};

	return r;
}

/* A datagram from the peer: epoch, pn, seq, base; n UPSERTs from port p. */
static size_t sync_from_peer(uint8_t *buf, uint8_t type, uint64_t epoch,
			     uint64_t pn, uint32_t seq, uint32_t base,
			     const struct sync_rec *recs, uint16_t n)
{
	struct sync_hdr h = {
		.type = type, .count = n, .epoch = epoch, .pn = pn,
		.time_ns = now_realtime_ns(), .seq = seq, .base = base,
	};

	return sync_seal(buf, &h, recs, sd.key);
}

static void test_sync(void)
{
	uint8_t key[SYNC_KEY_LEN], key2[SYNC_KEY_LEN], buf[SYNC_MAX_MSG];
	struct sync_rec recs[SYNC_MAX_RECS], r;
	struct sockaddr_in peer = { .sin_family = AF_INET }, other = peer;
	struct sync_replay w = {};
	struct sync_hdr h = { .type = SYNC_DATA, .epoch = 7, .pn = 9,
			      .time_ns = 11, .seq = 3, .base = 2, .ack = 5,
			      .ack_epoch = 13 }, g;
	size_t len;

	/* keys: 64 hex digits, blanks and a newline around them */
	EXPECT(sync_key_parse("00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n", key));
	EXPECT(key[0] == 0x00 && key[9] == 0x99 && key[31] == 0xff);
	EXPECT(!sync_key_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n", key2));
	EXPECT(!sync_key_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg", key2));
	EXPECT(!sync_key_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00", key2));
	EXPECT(!sync_key_parse("", key2));
	memcpy(key2, key, sizeof(key));
	key2[5] ^= 1;

	/* a message round trip: every field */
	EXPECT(SYNC_MAX_RECS == 22);
	for (int i = 0; i < SYNC_MAX_RECS; i++)
		recs[i] = sync_rec_of(SYNC_OP_UPSERT, (uint16_t)(40000 + i));
	h.count = SYNC_MAX_RECS;
	len = sync_seal(buf, &h, recs, key);
	EXPECT(len == SYNC_HDR_LEN + SYNC_MAX_RECS * SYNC_REC_LEN + SYNC_MAC_LEN);
	EXPECT(len <= SYNC_MAX_MSG);
	EXPECT(sync_open(buf, len, &g, key) == SYNC_OK);
	EXPECT(g.type == SYNC_DATA && g.count == SYNC_MAX_RECS && g.epoch == 7 &&
	       g.pn == 9 && g.time_ns == 11 && g.seq == 3 && g.base == 2 &&
	       g.ack == 5 && g.ack_epoch == 13);
	sync_rec_get(buf + SYNC_HDR_LEN + 21 * SYNC_REC_LEN, &r);
	EXPECT(r.op == SYNC_OP_UPSERT && r.proto == IPPROTO_UDP &&
	       r.int_addr == recs[21].int_addr && r.ext_addr == recs[21].ext_addr &&
	       r.rem_addr == recs[21].rem_addr && r.int_port == 40021 &&
	       r.ext_port == 41021 && r.rem_port == 5001 &&
	       r.expires_ms == 300000 && r.pkts_out == 1 && r.bytes_out == 2 &&
	       r.pkts_in == 3 && r.bytes_in == 0x1122334455667788ull &&
	       r.flags == 0);

	/*
	 * Byte 3: the seen bits (known with SYNC_REC_F_SEEN) and a flow
	 * without counters (SYNC_REC_F_NO_COUNTERS); 0 from an older peer,
	 * whose byte was a pad: counters valid, seen not known.
	 */
	{
		static const uint8_t flags[] = {
			SYNC_REC_F_SEEN | SYNC_REC_F_SEEN_OUT | SYNC_REC_F_SEEN_IN,
			SYNC_REC_F_SEEN | SYNC_REC_F_SEEN_OUT | SYNC_REC_F_NO_COUNTERS,
			SYNC_REC_F_SEEN | SYNC_REC_F_NO_COUNTERS,	/* none seen */
			SYNC_REC_F_SEEN | SYNC_REC_F_SEEN_IN,
			SYNC_REC_F_NO_COUNTERS,			/* an older module's flow */
			0,					/* an older peer */
		};
		uint8_t fb[SYNC_MAX_MSG];
		struct sync_rec in[ARRAY_SIZE(flags)], out;
		struct sync_hdr fh = { .type = SYNC_DATA, .count = ARRAY_SIZE(flags) };
		struct flow f, back;
		char lb[FLOW_LINE_MAX], eb[256];
		size_t flen;

		for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
			in[i] = sync_rec_of(SYNC_OP_UPSERT, (uint16_t)(50000 + i));
			in[i].flags = flags[i];
			if (flags[i] & SYNC_REC_F_NO_COUNTERS)
				in[i].pkts_out = in[i].bytes_out = in[i].pkts_in =
					in[i].bytes_in = 0;
		}
		flen = sync_seal(fb, &fh, in, key);
		EXPECT(sync_open(fb, flen, &g, key) == SYNC_OK);
		for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
			const uint8_t *p = fb + SYNC_HDR_LEN + i * SYNC_REC_LEN;
			bool counters = !(flags[i] & SYNC_REC_F_NO_COUNTERS);
			bool seen = flags[i] & SYNC_REC_F_SEEN;

			/* on the wire: byte 3 as it is, the pad at 22 still 0 */
			EXPECT(p[3] == flags[i] && p[22] == 0 && p[23] == 0);
			sync_rec_get(p, &out);
			EXPECT(out.flags == flags[i] && out.int_port == in[i].int_port &&
			       out.pkts_out == in[i].pkts_out &&
			       out.bytes_in == in[i].bytes_in);
			/* as natk gets it */
			sync_rec_to_flow(&out, out.expires_ms, &f);
			EXPECT(!(f.present & FLOW_P_COUNTERS) == !counters);
			EXPECT(!(f.present & FLOW_P_SEEN) == !seen);
			EXPECT(f.seen == (seen ? flags[i] & 3 : 0));
			EXPECT(!counters || f.bytes_in == 0x1122334455667788ull);
			{
				struct nl_msg *m = flow_add_msg(&f, true, true);
				struct nlattr *tb[NATK_A_MAX + 1], *ab[NATK_FLOW_A_MAX + 1];

				EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0 &&
				       tb[NATK_A_FLOW] &&
				       nla_parse_nested(ab, NATK_FLOW_A_MAX, tb[NATK_A_FLOW], NULL) == 0);
				EXPECT(!ab[NATK_FLOW_A_PKTS_OUT] == !counters &&
				       !ab[NATK_FLOW_A_BYTES_IN] == !counters);
				EXPECT(!ab[NATK_FLOW_A_SEEN] == !seen);
				EXPECT(!ab[NATK_FLOW_A_SEEN] ||
				       nla_get_u8(ab[NATK_FLOW_A_SEEN]) == (flags[i] & 3));
				nlmsg_free(m);
			}
			/* and back: the record a flow event makes is the same */
			sync_flow_to_rec(&f, SYNC_OP_UPSERT, &out);
			EXPECT(out.flags == flags[i] && out.pkts_out == in[i].pkts_out &&
			       out.bytes_in == in[i].bytes_in);
			/* a sync flows line, read back */
			EXPECT(flow_format_line(&f, lb, sizeof(lb)) > 0);
			lb[strcspn(lb, "\n")] = '\0';
			EXPECT(flow_parse_line(lb, &back, eb, sizeof(eb)));
			EXPECT(!(back.present & FLOW_P_COUNTERS) == !counters &&
			       !(back.present & FLOW_P_SEEN) == !seen &&
			       back.seen == f.seen);
		}
		/* an older peer's record (its pad byte 0, built by hand):
		 * counters imported, no NATK_FLOW_A_SEEN */
		memset(fb, 0, SYNC_REC_LEN);
		fb[0] = SYNC_OP_UPSERT;
		fb[1] = IPPROTO_UDP;
		fb[17] = 7;		/* internal port 7 */
		fb[35] = 5;		/* packets out 5 */
		sync_rec_get(fb, &out);
		sync_rec_to_flow(&out, 1000, &f);
		EXPECT(out.flags == 0 && out.int_port == 7 && f.pkts_out == 5 &&
		       (f.present & FLOW_P_COUNTERS) == FLOW_P_COUNTERS &&
		       !(f.present & FLOW_P_SEEN));
		/* a flow of natk here, from an older module (no seen bits):
		 * a record as an older natkctl sent it, byte 3 = 0 */
		memset(&f, 0, sizeof(f));
		f.proto = IPPROTO_TCP;
		f.present = FLOW_P_COUNTERS;
		f.pkts_in = 9;
		sync_flow_to_rec(&f, SYNC_OP_UPSERT, &out);
		EXPECT(out.flags == 0 && out.pkts_in == 9);
	}

	/* refused: another key, any bit changed, cut, padded */
	EXPECT(sync_open(buf, len, &g, key2) == SYNC_BAD_MAC);
	for (size_t i = 0; i < len; i += 37) {
		buf[i] ^= 0x20;
		EXPECT(sync_open(buf, len, &g, key) == SYNC_BAD_MAC);
		buf[i] ^= 0x20;
	}
	EXPECT(sync_open(buf, len - 1, &g, key) == SYNC_BAD_MAC);
	EXPECT(sync_open(buf, SYNC_HDR_LEN + SYNC_MAC_LEN - 1, &g, key) == SYNC_BAD_LEN);
	EXPECT(sync_open(buf, SYNC_MAX_MSG + 1, &g, key) == SYNC_BAD_LEN);
	/* authentic but wrong: the version, a count that lies */
	buf[3] = 2;
	sync_mac(key, buf, len - SYNC_MAC_LEN, buf + len - SYNC_MAC_LEN);
	EXPECT(sync_open(buf, len, &g, key) == SYNC_BAD_VERSION);
	buf[3] = SYNC_VERSION;
	buf[7] = 3;
	sync_mac(key, buf, len - SYNC_MAC_LEN, buf + len - SYNC_MAC_LEN);
	EXPECT(sync_open(buf, len, &g, key) == SYNC_BAD_LEN);

	/* the replay window */
	EXPECT(!sync_replay_check(&w, 0));
	for (uint64_t pn = 1; pn <= 3; pn++) {
		EXPECT(sync_replay_check(&w, pn));
		sync_replay_mark(&w, pn);
	}
	EXPECT(!sync_replay_check(&w, 2));
	sync_replay_mark(&w, 100);
	EXPECT(!sync_replay_check(&w, 36));	/* 64 behind: too old */
	EXPECT(sync_replay_check(&w, 37));
	EXPECT(sync_replay_check(&w, 99));	/* late, never seen */
	sync_replay_mark(&w, 99);
	EXPECT(!sync_replay_check(&w, 99));
	EXPECT(!sync_replay_check(&w, 100));
	sync_replay_mark(&w, 1000);
	EXPECT(!sync_replay_check(&w, 100) && sync_replay_check(&w, 1001));

	/* the receiver, offline (no socket: its answers go nowhere) */
	memset(&sd, 0, sizeof(sd));
	memcpy(sd.key, key, sizeof(key));
	sd.udp = -1;
	sd.epoch = 500;
	sd.base = sd.next_seq = 1;
	peer.sin_addr.s_addr = htonl(0xc0a8ff01);
	other.sin_addr.s_addr = htonl(0xc0a8ff09);
	sd.conf.peer = peer;
	sd.conf.peer.sin_port = htons(SYNC_PORT);
	/* first contact: seq 1 applies, its records are held */
	len = sync_from_peer(buf, SYNC_DATA, 1000, 1, 1, 1, recs, 3);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sync_cache.n == 3 && sd.rx_next == 2 && sd.peer_epoch == 1000);
	EXPECT(sd.need_table);	/* a new peer gets our whole table */
	/* the same datagram again: a replay, nothing applied */
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sd.replays == 1 && sync_cache.n == 3);
	/* from elsewhere, or under another key: an auth failure */
	len = sync_from_peer(buf, SYNC_DATA, 1000, 2, 2, 1, recs + 3, 1);
	sync_handle_datagram(buf, len, &other);
	EXPECT(sd.auth_fail == 1 && sync_cache.n == 3);
	buf[SYNC_HDR_LEN + 5] ^= 1;
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sd.auth_fail == 2 && sync_cache.n == 3);
	/* seq 3 before 2 (2 was lost): not applied, go-back-N resends */
	len = sync_from_peer(buf, SYNC_DATA, 1000, 3, 3, 1, recs + 4, 1);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sync_cache.n == 3 && sd.rx_next == 2 && sd.ack_due);
	len = sync_from_peer(buf, SYNC_DATA, 1000, 4, 2, 1, recs + 3, 1);
	sync_handle_datagram(buf, len, &peer);
	len = sync_from_peer(buf, SYNC_DATA, 1000, 5, 3, 1, recs + 4, 1);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sync_cache.n == 5 && sd.rx_next == 4);
	/* a delete */
	r = recs[0];
	r.op = SYNC_OP_DEL;
	len = sync_from_peer(buf, SYNC_DATA, 1000, 6, 4, 1, &r, 1);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sync_cache.n == 4 && sd.rx_next == 5);
	/* the sender abandoned 5..9: base 10 skips them */
	len = sync_from_peer(buf, SYNC_DATA, 1000, 7, 10, 10, recs + 5, 1);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sync_cache.n == 5 && sd.rx_next == 11);
	/* a whole table: BEGIN, two flows, END: the rest is gone */
	recs[0] = (struct sync_rec){ .op = SYNC_OP_BEGIN };
	recs[1] = sync_rec_of(SYNC_OP_UPSERT, 40001);
	recs[2] = sync_rec_of(SYNC_OP_UPSERT, 40003);
	recs[3] = (struct sync_rec){ .op = SYNC_OP_END };
	len = sync_from_peer(buf, SYNC_DATA, 1000, 8, 11, 11, recs, 4);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sync_cache.n == 2 && sd.tables_rx == 1);
	/* an older run of the peer is a replay; a newer one starts afresh */
	len = sync_from_peer(buf, SYNC_DATA, 999, 100, 12, 12, recs + 1, 1);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sd.replays == 2 && sd.rx_next == 12);
	sd.need_table = false;
	len = sync_from_peer(buf, SYNC_HELLO, 2000, 1, 0, 1, NULL, 0);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sd.peer_epoch == 2000 && sd.rx_next == 1 && sd.need_table);
	/* acks: only for our run, within what is unacked */
	sd.next_seq = 6;
	h = (struct sync_hdr){ .type = SYNC_HELLO, .epoch = 2000, .pn = 2,
			       .time_ns = now_realtime_ns(), .base = 1,
			       .ack = 4, .ack_epoch = 499 };
	len = sync_seal(buf, &h, NULL, key);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sd.base == 1);
	h.pn = 3;
	h.ack_epoch = 500;
	len = sync_seal(buf, &h, NULL, key);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sd.base == 4);
	h.pn = 4;
	h.ack = 9;
	len = sync_seal(buf, &h, NULL, key);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sd.base == 4);
	/* sent a minute ago: refused */
	h.pn = 5;
	h.time_ns -= SYNC_MAX_SKEW_NS + 1000000000ull;
	len = sync_seal(buf, &h, NULL, key);
	sync_handle_datagram(buf, len, &peer);
	EXPECT(sd.replays == 3);
	sync_cache_sweep(UINT64_MAX, false);
	EXPECT(sync_cache.n == 0);

	/* the held copy keeps byte 3: sync flows shows what the peer sent */
	{
		char *out = NULL;
		size_t outlen = 0;
		FILE *fp;

		recs[0] = sync_rec_of(SYNC_OP_UPSERT, 40000);
		recs[0].flags = SYNC_REC_F_SEEN | SYNC_REC_F_SEEN_OUT |
				SYNC_REC_F_NO_COUNTERS;
		recs[0].pkts_out = recs[0].bytes_out = recs[0].pkts_in =
			recs[0].bytes_in = 0;
		recs[1] = sync_rec_of(SYNC_OP_UPSERT, 40001);	/* an older peer */
		sync_apply_rec(&recs[0], sync_now_ms());
		sync_apply_rec(&recs[1], sync_now_ms());
		fp = open_memstream(&out, &outlen);
		sync_ctl_flows(fp);
		fclose(fp);
		EXPECT(count_lines(out, "\n") == 2);
		EXPECT(strstr(out, "udp 10.0.0.2:40000 192.0.2.1:41000 192.0.2.2:5001 - ") &&
		       strstr(out, " - - - - seen=out\n"));
		EXPECT(strstr(out, "udp 10.0.0.2:40001 192.0.2.1:41001 192.0.2.2:5001 - ") &&
		       strstr(out, " 1 2 3 1234605616436508552\n"));
		free(out);
		sync_cache_sweep(UINT64_MAX, false);
		EXPECT(sync_cache.n == 0);
	}
}

/* ---- several external addresses (natkctl set addresses, pool) ---- */

/* parse_addr_list(s): true and the list as addr_range_str writes it, or
 * false with err containing want. */
static void addrs_ok(const char *s, const char *want, uint32_t count)
{
	struct natk_addr_list l;
	char err[256], got[1024] = "", buf[ADDR_RANGE_STRLEN];

	if (!parse_addr_list(s, &l, err, sizeof(err))) {
		fprintf(stderr, "parse_addr_list('%s'): %s\n", s, err);
		failures++;
		return;
	}
	for (unsigned int i = 0; i < l.n; i++) {
		strcat(got, i ? "," : "");
		strcat(got, addr_range_str(&l.r[i], buf));
	}
	EXPECT_STR(got, want);
	EXPECT(addr_list_count(&l) == count);
}

static void addrs_bad(const char *s, const char *want)
{
	struct natk_addr_list l;
	char err[256];

	if (parse_addr_list(s, &l, err, sizeof(err))) {
		fprintf(stderr, "parse_addr_list('%s') accepted it, want '%s'\n",
			s, want);
		failures++;
	} else if (!strstr(err, want)) {
		fprintf(stderr, "parse_addr_list('%s'): '%s', want '%s'\n", s,
			err, want);
		failures++;
	}
}

/* A NATK_A_POOL entry as the kernel sends it. */
struct t_pool {
	const char *addr;
	uint32_t hosts, ports[3];
	uint64_t exhausted[3];
};

static void put_pool(struct nl_msg *m, const struct t_pool *p, int n)
{
	static const int pa[3] = { NATK_POOL_A_PORTS_TCP, NATK_POOL_A_PORTS_UDP,
				   NATK_POOL_A_PORTS_ICMP };
	static const int ea[3] = { NATK_POOL_A_EXHAUSTED_TCP,
				   NATK_POOL_A_EXHAUSTED_UDP,
				   NATK_POOL_A_EXHAUSTED_ICMP };
	struct nlattr *nest = nla_nest_start(m, NATK_A_POOL), *e;
	uint32_t a;

	for (int i = 0; i < n; i++) {
		assert(inet_pton(AF_INET, p[i].addr, &a) == 1);
		e = nla_nest_start(m, NATK_POOL_A_ENTRY);
		nla_put_u32(m, NATK_POOL_A_ADDR_BE, a);
		nla_put_u32(m, NATK_POOL_A_HOSTS, p[i].hosts);
		for (int k = 0; k < 3; k++)
			nla_put_u32(m, pa[k], p[i].ports[k]);
		nla_put_u32(m, NATK_POOL_A_PAD, 0);
		for (int k = 0; k < 3; k++)
			nla_put_u64(m, ea[k], p[i].exhausted[k]);
		nla_put_u32(m, NATK_POOL_A_MAX + 1, 7);	/* newer: ignored */
		nla_nest_end(m, e);
	}
	/* an entry without its address is skipped */
	e = nla_nest_start(m, NATK_POOL_A_ENTRY);
	nla_put_u32(m, NATK_POOL_A_HOSTS, 9);
	nla_nest_end(m, e);
	nla_nest_end(m, nest);
}

/* NATK_A_ADDRS as the kernel sends it: "A" or "A-B" each. */
static void put_ranges(struct nl_msg *m, const char *const *r, int n)
{
	struct nlattr *nest = nla_nest_start(m, NATK_A_ADDRS), *e;
	struct natk_addr_list l;
	char err[128];

	for (int i = 0; i < n; i++) {
		assert(parse_addr_list(r[i], &l, err, sizeof(err)) && l.n == 1);
		e = nla_nest_start(m, NATK_RANGE_A_ENTRY);
		nla_put_u32(m, NATK_RANGE_A_FIRST_BE, l.r[0].first_be);
		nla_put_u32(m, NATK_RANGE_A_LAST_BE, l.r[0].last_be);
		nla_nest_end(m, e);
	}
	nla_nest_end(m, nest);
}

/* A GET_CONFIG reply of an active natk on wan0 (192.0.2.1 primary). */
static struct nl_msg *addr_config(uint8_t mode, bool pool)
{
	struct nl_msg *m = genl_msg(NATK_CMD_GET_CONFIG);

	nla_put_u8(m, NATK_A_ENABLED, 1);
	nla_put_u8(m, NATK_A_STATE, NATK_STATE_ACTIVE);
	nla_put_string(m, NATK_A_IFNAME, "wan0");
	nla_put_u32(m, NATK_A_EXT_ADDR_BE, htonl(0xc0000201));
	nla_put_u16(m, NATK_A_PORT_MIN, 1024);
	nla_put_u16(m, NATK_A_PORT_MAX, 65535);
	nla_put_u32(m, NATK_A_MAX_FLOWS, 1000);
	nla_put_u32(m, NATK_A_TIMEOUT_TCP_EST, 7440);
	nla_put_u32(m, NATK_A_TIMEOUT_TCP_TRANS, 240);
	nla_put_u32(m, NATK_A_TIMEOUT_UDP, 300);
	nla_put_u32(m, NATK_A_TIMEOUT_ICMP, 60);
	nla_put_u8(m, NATK_A_ADDRS_MODE, mode);
	if (pool) {
		static const struct t_pool p[] = {
			{ "192.0.2.1", 3, { 120, 40, 2 }, { 0, 0, 0 } },
			{ "192.0.2.5", 1, { 5, 0, 0 }, { 17, 0, 1ull << 33 } },
		};

		put_pool(m, p, 2);
	}
	return m;
}

static void test_addresses(void)
{
	struct natk_conf c = {};
	struct natk_status st = {};
	char err[256], *s;
	struct nl_msg *m;

	/* the list: single addresses and ranges, in the order given */
	addrs_ok("192.0.2.1", "192.0.2.1", 1);
	addrs_ok("192.0.2.1,192.0.2.5-192.0.2.7", "192.0.2.1,192.0.2.5-192.0.2.7", 4);
	addrs_ok("198.51.100.9,192.0.2.1", "198.51.100.9,192.0.2.1", 2);
	addrs_ok("192.0.2.5-192.0.2.5", "192.0.2.5", 1);
	addrs_ok("10.0.0.255-10.0.1.0", "10.0.0.255-10.0.1.0", 2);
	addrs_ok("192.0.2.0-192.0.2.31", "192.0.2.0-192.0.2.31", 32);
	addrs_ok("223.255.255.255", "223.255.255.255", 1);
	/* 16 ranges, 32 addresses: the most */
	addrs_ok("10.0.0.1,10.0.0.3,10.0.0.5,10.0.0.7,10.0.0.9,10.0.0.11,"
		 "10.0.0.13,10.0.0.15,10.0.0.17,10.0.0.19,10.0.0.21,10.0.0.23,"
		 "10.0.0.25,10.0.0.27,10.0.0.29,10.0.1.0-10.0.1.16",
		 "10.0.0.1,10.0.0.3,10.0.0.5,10.0.0.7,10.0.0.9,10.0.0.11,"
		 "10.0.0.13,10.0.0.15,10.0.0.17,10.0.0.19,10.0.0.21,10.0.0.23,"
		 "10.0.0.25,10.0.0.27,10.0.0.29,10.0.1.0-10.0.1.16", 32);
	addrs_bad("10.0.0.1,10.0.0.3,10.0.0.5,10.0.0.7,10.0.0.9,10.0.0.11,"
		  "10.0.0.13,10.0.0.15,10.0.0.17,10.0.0.19,10.0.0.21,10.0.0.23,"
		  "10.0.0.25,10.0.0.27,10.0.0.29,10.0.0.31,10.0.0.33",
		  "more than 16 ranges: join neighbouring addresses into ranges");
	addrs_bad("192.0.2.0-192.0.2.32", "more than 32 addresses");
	addrs_bad("192.0.2.0-192.0.2.30,198.51.100.1,198.51.100.2",
		  "more than 32 addresses (natk masquerades behind at most 32)");
	addrs_bad("1.0.0.0-223.255.255.255", "more than 32 addresses");
	addrs_bad("192.0.2.7-192.0.2.5",
		  "invalid range '192.0.2.7-192.0.2.5': the first address is above the last (did you mean 192.0.2.5-192.0.2.7?)");
	addrs_bad("192.0.2.1,192.0.2.1", "192.0.2.1 is in the list twice (192.0.2.1 and 192.0.2.1)");
	addrs_bad("192.0.2.1-192.0.2.8,192.0.2.6-192.0.2.9",
		  "192.0.2.6 is in the list twice (192.0.2.1-192.0.2.8 and 192.0.2.6-192.0.2.9)");
	addrs_bad("192.0.2.6-192.0.2.9,192.0.2.1-192.0.2.7",
		  "192.0.2.6 is in the list twice");
	addrs_bad("192.0.2.1,", "an address is missing");
	addrs_bad(",192.0.2.1", "an address is missing");
	addrs_bad("192.0.2.1,,192.0.2.2", "an address is missing");
	addrs_bad("", "an address is missing");
	addrs_bad("192.0.2.1,all", "'all' stands alone, without addresses");
	addrs_bad("primary,192.0.2.1", "'primary' stands alone");
	addrs_bad("192.0.2", "invalid address '192.0.2': expected A.B.C.D or A.B.C.D-A.B.C.D");
	addrs_bad("192.0.2.256", "invalid address '192.0.2.256'");
	addrs_bad("192.0.2.0/24", "invalid address '192.0.2.0/24'");
	addrs_bad("192.0.2.1:80", "invalid address");
	addrs_bad("192.0.2.1-", "invalid range '192.0.2.1-'");
	addrs_bad("-192.0.2.1", "invalid range");
	addrs_bad("192.0.2.1-192.0.2.2-192.0.2.3", "invalid range");
	addrs_bad("eth0", "invalid address 'eth0'");
	addrs_bad("::1", "invalid address");
	addrs_bad("0.0.0.0", "0.0.0.0 is not an address to masquerade behind");
	addrs_bad("224.0.0.1", "224.0.0.1 is not an address to masquerade behind");
	addrs_bad("223.255.255.254-224.0.0.0", "224.0.0.0 is not an address");
	addrs_bad("255.255.255.255", "is not an address");
	{
		struct natk_addr_list l;

		EXPECT(parse_addr_list("192.0.2.1,192.0.2.5-192.0.2.7", &l, err,
				       sizeof(err)));
		EXPECT(addr_list_has(&l, htonl(0xc0000206)) &&
		       addr_list_has(&l, htonl(0xc0000201)) &&
		       !addr_list_has(&l, htonl(0xc0000202)) &&
		       !addr_list_has(&l, htonl(0xc0000208)));
		EXPECT(parse_ext_addr("192.0.2.9", &l.r[0].first_be) &&
		       l.r[0].first_be == htonl(0xc0000209));
		EXPECT(!parse_ext_addr("0.0.0.0", &l.r[0].first_be) &&
		       !parse_ext_addr("239.1.1.1", &l.r[0].first_be) &&
		       !parse_ext_addr("192.0.2.9:80", &l.r[0].first_be) &&
		       !parse_ext_addr("", &l.r[0].first_be));
	}

	/* the setting: primary, all, a list (one word or several) */
	{
		char *p[] = { "addresses", "primary", "ports", "1-2" };
		char *a[] = { "addr", "all" };
		char *l1[] = { "addresses", "192.0.2.1,", "192.0.2.5-192.0.2.7",
			       "mss-clamp", "off" };
		char *l2[] = { "addresses", "192.0.2.1", ",192.0.2.5", "ports",
			       "1-2" };
		char *bad[] = { "addresses", "192.0.2.1,192.0.2.1" };
		char *none[] = { "addresses" };
		char *stray[] = { "192.0.2.5-192.0.2.7" };
		char *ext[] = { "external", "wan0", "addresses", "all" };

		EXPECT(conf_parse_setting(&c, 4, p, false, err, sizeof(err)) == 2 &&
		       (c.have & HAVE_ADDRS) && c.addrs_mode == NATK_ADDRS_PRIMARY);
		EXPECT(conf_parse_setting(&c, 4, p, false, err, sizeof(err)) < 0 &&
		       !strcmp(err, "'addresses' given twice"));
		memset(&c, 0, sizeof(c));
		EXPECT(conf_parse_setting(&c, 2, a, true, err, sizeof(err)) == 2 &&
		       c.addrs_mode == NATK_ADDRS_ALL);
		EXPECT(conf_parse_setting(&c, 2, a, false, err, sizeof(err)) < 0);
		memset(&c, 0, sizeof(c));
		EXPECT(conf_parse_setting(&c, 5, l1, false, err, sizeof(err)) == 3 &&
		       c.addrs_mode == NATK_ADDRS_LIST && c.addrs.n == 2 &&
		       c.addrs.r[1].first_be == htonl(0xc0000205) &&
		       c.addrs.r[1].last_be == htonl(0xc0000207));
		memset(&c, 0, sizeof(c));
		EXPECT(conf_parse_setting(&c, 5, l2, false, err, sizeof(err)) == 3 &&
		       c.addrs.n == 2);
		memset(&c, 0, sizeof(c));
		EXPECT(conf_parse_setting(&c, 2, bad, false, err, sizeof(err)) < 0 &&
		       !strcmp(err, "addresses: 192.0.2.1 is in the list twice (192.0.2.1 and 192.0.2.1)"));
		EXPECT(!(c.have & HAVE_ADDRS));
		EXPECT(conf_parse_setting(&c, 1, none, false, err, sizeof(err)) < 0 &&
		       strstr(err, "'addresses' needs a value: primary, all, or ADDR[,ADDR|ADDR-ADDR]..."));
		EXPECT(conf_parse_setting(&c, 1, stray, false, err, sizeof(err)) < 0 &&
		       strstr(err, "'192.0.2.5-192.0.2.7' is not a setting: separate the addresses of addresses with commas"));
		/* set external IFNAME addresses ...: two settings */
		memset(&c, 0, sizeof(c));
		EXPECT(conf_parse_setting(&c, 4, ext, false, err, sizeof(err)) == 2);
		EXPECT(conf_parse_setting(&c, 2, ext + 2, false, err, sizeof(err)) == 2 &&
		       (c.have & (HAVE_IFNAME | HAVE_ADDRS)) == (HAVE_IFNAME | HAVE_ADDRS));
		EXPECT(strstr(conf_keywords(), "addresses"));
	}

	/* SET_CONFIG: the mode alone, or the mode and the ranges */
	{
		struct nlattr *tb[NATK_A_MAX + 1];
		struct natk_status got = {};
		char *l[] = { "addresses", "192.0.2.1,192.0.2.5-192.0.2.7" };

		memset(&c, 0, sizeof(c));
		c.have = HAVE_ADDRS;
		c.addrs_mode = NATK_ADDRS_ALL;
		m = genl_msg(NATK_CMD_SET_CONFIG);
		conf_put_attrs(m, &c);
		EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
		EXPECT(tb[NATK_A_ADDRS_MODE] &&
		       nla_get_u8(tb[NATK_A_ADDRS_MODE]) == NATK_ADDRS_ALL &&
		       !tb[NATK_A_ADDRS]);
		nlmsg_free(m);
		memset(&c, 0, sizeof(c));
		EXPECT(conf_parse_setting(&c, 2, l, false, err, sizeof(err)) == 2);
		m = genl_msg(NATK_CMD_SET_CONFIG);
		conf_put_attrs(m, &c);
		EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
		EXPECT(tb[NATK_A_ADDRS_MODE] &&
		       nla_get_u8(tb[NATK_A_ADDRS_MODE]) == NATK_ADDRS_LIST);
		EXPECT(tb[NATK_A_ADDRS] && (tb[NATK_A_ADDRS]->nla_type & NLA_F_NESTED) &&
		       nla_len(tb[NATK_A_ADDRS]) == 2 * 20);
		EXPECT(!tb[NATK_A_IFNAME] && !tb[NATK_A_PORT_MIN]);
		/* read back as GET_CONFIG carries it */
		EXPECT(status_parse(m, &got) == 0);
		EXPECT(got.addrs_mode == NATK_ADDRS_LIST && got.addrs.n == 2 &&
		       got.addrs.r[0].first_be == htonl(0xc0000201) &&
		       got.addrs.r[0].last_be == htonl(0xc0000201) &&
		       got.addrs.r[1].first_be == htonl(0xc0000205) &&
		       got.addrs.r[1].last_be == htonl(0xc0000207));
		nlmsg_free(m);
		/* an older module has no such setting */
		memset(&got, 0, sizeof(got));
		got.present = 1ull << NATK_A_FWD_REPLACE | 1ull << NATK_A_INTERNAL |
			      1ull << NATK_A_NO_NAT;
		EXPECT(conf_unsupported(&c, &got) &&
		       !strcmp(conf_unsupported(&c, &got), "addresses"));
		got.present |= 1ull << NATK_A_ADDRS_MODE;
		EXPECT(!conf_unsupported(&c, &got));
	}

	/* status: the mode, the pool and its exhaustion, in text and JSON */
	m = addr_config(NATK_ADDRS_ALL, true);
	EXPECT(config_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	EXPECT(st.npool == 2 && st.pool[1].addr_be == htonl(0xc0000205) &&
	       st.pool[1].hosts == 1 && st.pool[1].ports[0] == 5 &&
	       st.pool[1].exhausted[0] == 17 &&
	       st.pool[1].exhausted[2] == 1ull << 33);
	EXPECT(status_pool_find(&st, htonl(0xc0000205)) == &st.pool[1] &&
	       !status_pool_find(&st, htonl(0xc0000206)));
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "  state: active\n"
		      "  addresses: all\n"
		      "    192.0.2.1: 3 hosts, ports tcp 120 udp 40 icmp 2\n"
		      "    192.0.2.5: 1 host, ports tcp 5 udp 0 icmp 0, exhausted tcp 17 udp 0 icmp 8589934592\n"
		      "  ports: 1024-65535\n"));
	free(s);
	cap_start(true, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\"external_address\":\"192.0.2.1\",\"addresses\":{"
		      "\"mode\":\"all\",\"list\":[],\"pool\":["
		      "{\"address\":\"192.0.2.1\",\"hosts\":3,\"ports\":{\"tcp\":120,\"udp\":40,\"icmp\":2},"
		      "\"exhausted\":{\"tcp\":0,\"udp\":0,\"icmp\":0}},"
		      "{\"address\":\"192.0.2.5\",\"hosts\":1,\"ports\":{\"tcp\":5,\"udp\":0,\"icmp\":0},"
		      "\"exhausted\":{\"tcp\":17,\"udp\":0,\"icmp\":8589934592}}],"
		      "\"missing\":[]},\"port_min\":1024,"));
	save_json("status_addresses_all", s);
	free(s);

	/* a list: a listed address the interface lacks is "missing" */
	memset(&st, 0, sizeof(st));
	m = addr_config(NATK_ADDRS_LIST, true);
	{
		static const char *const r[] = { "192.0.2.1", "192.0.2.5-192.0.2.6" };

		put_ranges(m, r, 2);
	}
	EXPECT(config_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	EXPECT(st.addrs.n == 2);
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "  state: active\n"
		      "  addresses: list 192.0.2.1, 192.0.2.5-192.0.2.6\n"
		      "    192.0.2.1: 3 hosts, ports tcp 120 udp 40 icmp 2\n"
		      "    192.0.2.5: 1 host, ports tcp 5 udp 0 icmp 0, exhausted tcp 17 udp 0 icmp 8589934592\n"
		      "    192.0.2.6: not on wan0, left out\n"
		      "  ports: 1024-65535\n"));
	free(s);
	cap_start(true, true);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\"mode\": \"list\",\n    \"list\": [\n      \"192.0.2.1\",\n"
		      "      \"192.0.2.5-192.0.2.6\"\n    ],"));
	EXPECT(strstr(s, "\"missing\": [\n      \"192.0.2.6\"\n    ]\n  },"));
	save_json("status_addresses_list", s);
	free(s);
	/* one address, no per-host limit or blocks: hosts are not counted */
	{
		struct natk_status one = st;

		one.npool = 1;
		one.pool[0].has_hosts = false;
		cap_start(false, false);
		status_print(&one, NULL, 0);
		s = cap_end();
		EXPECT(strstr(s, "    192.0.2.1: ports tcp 120 udp 40 icmp 2\n"));
		free(s);
		cap_start(true, false);
		status_print(&one, NULL, 0);
		s = cap_end();
		EXPECT(strstr(s, "{\"address\":\"192.0.2.1\",\"ports\":{\"tcp\":120,"));
		free(s);
	}
	/* waiting for its interface: none is "missing", all are */
	st.state = NATK_STATE_WAIT_INTERFACE;
	st.npool = 0;
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "  addresses: list 192.0.2.1, 192.0.2.5-192.0.2.6\n  ports:"));
	free(s);
	/* waiting for one of them */
	st.state = NATK_STATE_WAIT_ADDRESS;
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "  state: waiting for one of its addresses on wan0\n"));
	EXPECT(strstr(s, "    192.0.2.1: not on wan0, left out\n"
		      "    192.0.2.5: not on wan0, left out\n"
		      "    192.0.2.6: not on wan0, left out\n"));
	free(s);

	/* one primary address: two short lines */
	memset(&st, 0, sizeof(st));
	m = addr_config(NATK_ADDRS_PRIMARY, false);
	{
		static const struct t_pool p[] = {
			{ "192.0.2.1", 1, { 0, 10, 0 }, { 0, 6, 0 } },
		};

		put_pool(m, p, 1);
	}
	EXPECT(config_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "  state: active\n  addresses: primary\n"
		      "    192.0.2.1: 1 host, ports tcp 0 udp 10 icmp 0, exhausted tcp 0 udp 6 icmp 0\n"
		      "  ports:"));
	free(s);

	/* an older module sends none of it: nothing more than before */
	memset(&st, 0, sizeof(st));
	m = addr_config(NATK_ADDRS_ALL, false);
	EXPECT(config_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	st.present &= ~(1ull << NATK_A_ADDRS_MODE);
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(!strstr(s, "addresses") && strstr(s, "  state: active\n  ports:"));
	free(s);
	cap_start(true, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(!strstr(s, "addresses") &&
	       strstr(s, "\"external_address\":\"192.0.2.1\",\"port_min\":1024,"));
	free(s);
}

/* save writes the setting and forwards' addresses; apply reads them back. */
static void test_addr_save_apply(void)
{
	static const char *const lists[] = { NULL, "all",
		"192.0.2.1, 192.0.2.5-192.0.2.7", "198.51.100.7" };
	struct natk_fwd fw[3] = {
		{ IPPROTO_TCP, 8080, htonl(0x0a000002), 80, 0 },
		{ IPPROTO_UDP, 7000, htonl(0x0a000002), 7001, htonl(0xc0000205) },
		{ IPPROTO_UDP, 7000, htonl(0x0a000003), 7000, htonl(0xc0000206) },
	};

	for (int k = 0; k < 5; k++) {
		struct nl_msg *m = addr_config(k == 0 || k == 4 ? NATK_ADDRS_PRIMARY :
					       k == 1 ? NATK_ADDRS_ALL :
					       NATK_ADDRS_LIST, true);
		struct natk_status st = {};
		struct file_conf fc = {};
		char line[128], *s;
		FILE *fp;

		if (k == 2) {
			static const char *const r[] = { "192.0.2.1", "192.0.2.5-192.0.2.7" };

			put_ranges(m, r, 2);
		} else if (k == 3) {
			static const char *const r[] = { "198.51.100.7" };

			put_ranges(m, r, 1);
		}
		EXPECT(config_cb(m, &st) == NL_OK);
		nlmsg_free(m);
		if (k == 4)	/* an older module */
			st.present &= ~(1ull << NATK_A_ADDRS_MODE);
		cap_start(false, false);
		save_print(&st, fw, 3);
		s = cap_end();
		if (k > 0 && k < 4) {
			snprintf(line, sizeof(line), "\nexternal wan0\naddresses %s\n",
				 lists[k]);
			EXPECT(strstr(s, line));
		} else {
			EXPECT(!strstr(s, "addresses"));
		}
		EXPECT(strstr(s, "\nforward tcp 8080 10.0.0.2:80\n"
			      "forward udp 7000 10.0.0.2:7001 address 192.0.2.5\n"
			      "forward udp 7000 10.0.0.3:7000 address 192.0.2.6\n"));
		fp = fmemopen(s, strlen(s), "r");
		assert(fp);
		EXPECT(parse_file("saved", fp, &fc) == 0);
		fclose(fp);
		/* what the file omits is primary: NATK_A_RESET's default */
		EXPECT(!!(fc.c.have & HAVE_ADDRS) == (k > 0 && k < 4));
		if (k > 0 && k < 4) {
			EXPECT(fc.c.addrs_mode == st.addrs_mode);
			EXPECT(fc.c.addrs.n == st.addrs.n);
			for (unsigned int i = 0; i < st.addrs.n && i < fc.c.addrs.n; i++)
				EXPECT(fc.c.addrs.r[i].first_be == st.addrs.r[i].first_be &&
				       fc.c.addrs.r[i].last_be == st.addrs.r[i].last_be);
		}
		EXPECT(fc.nfwd == 3);
		for (size_t i = 0; i < fc.nfwd && i < 3; i++)
			EXPECT(!memcmp(&fc.fwd[i], &fw[i], sizeof(fw[i])) ||
			       (fc.fwd[i].proto == fw[i].proto &&
				fc.fwd[i].ext_port == fw[i].ext_port &&
				fc.fwd[i].int_addr_be == fw[i].int_addr_be &&
				fc.fwd[i].int_port == fw[i].int_port &&
				fc.fwd[i].ext_addr_be == fw[i].ext_addr_be));
		/* apply's one transaction carries the setting and the forwards */
		{
			struct nlattr *tb[NATK_A_MAX + 1], *a, *fb[NATK_FWD_A_MAX + 1];
			uint32_t off[3];
			int rem, i = 0;

			m = genl_msg(NATK_CMD_SET_CONFIG);
			conf_put_attrs(m, &fc.c);
			for (size_t j = 0; j < fc.nfwd; j++)
				off[j] = fwd_put(m, &fc.fwd[j]);
			EXPECT(off[0] && off[1] > off[0] && off[2] > off[1]);
			EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
			EXPECT(!tb[NATK_A_ADDRS_MODE] == !(k > 0 && k < 4));
			EXPECT(!tb[NATK_A_ADDRS] == (k != 2 && k != 3));
			nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlmsg_hdr(m)), 0),
					  genlmsg_attrlen(nlmsg_data(nlmsg_hdr(m)), 0), rem) {
				if (nla_type(a) != NATK_A_FWD)
					continue;
				EXPECT(nla_parse_nested(fb, NATK_FWD_A_MAX, a, NULL) == 0);
				/* the primary's forward has no address attribute */
				EXPECT(!fb[NATK_FWD_A_EXT_ADDR_BE] == (i == 0));
				EXPECT(!fb[NATK_FWD_A_EXT_ADDR_BE] ||
				       nla_get_u32(fb[NATK_FWD_A_EXT_ADDR_BE]) == fw[i].ext_addr_be);
				i++;
			}
			EXPECT(i == 3);
			nlmsg_free(m);
		}
		/* an older module: the lines it cannot take are named */
		st.present &= ~(1ull << NATK_A_ADDRS_MODE);
		EXPECT(apply_name_unsupported("saved", &fc, &st) ==
		       (k > 0 && k < 4) + 2);
		st.present |= 1ull << NATK_A_ADDRS_MODE | 1ull << NATK_A_INTERNAL |
			      1ull << NATK_A_NO_NAT;
		EXPECT(apply_name_unsupported("saved", &fc, &st) == 0);
		free(fc.fwd);
		free(fc.fwd_line);
		free(fc.line_conf);
		free(fc.line_no);
		free(s);
	}

	/* lines a person writes: external with its addresses; errors */
	{
		static const char good[] =
			"external wan0 addresses 192.0.2.1, 192.0.2.5-192.0.2.7\n"
			"forward udp 7000 10.0.0.2:7001 address 192.0.2.5\n"
			"forward udp 7000 10.0.0.2:7002\n"
			"forward udp 7000 10.0.0.2:7003 address 192.0.2.6\n";
		static const char *const bad[] = {
			"addresses 192.0.2.1 192.0.2.2\n",
			"addresses all\naddresses primary\n",
			"external wan0 addresses all ports 1-2\n",
			"external wan0 addresses 192.0.2.0-192.0.2.40\n",
			"forward udp 7000 10.0.0.2 address 192.0.2.5\n"
			"forward udp 7000 10.0.0.3 address 192.0.2.5\n",
			"forward udp 7000 10.0.0.2 address\n",
			"forward udp 7000 10.0.0.2 address 0.0.0.0\n",
			"forward udp 7000 10.0.0.2 on 192.0.2.5\n",
		};
		struct file_conf fc = {};
		FILE *fp;

		fp = fmemopen((void *)good, strlen(good), "r");
		EXPECT(parse_file("good", fp, &fc) == 0);
		fclose(fp);
		EXPECT(!strcmp(fc.c.ifname, "wan0") &&
		       fc.c.addrs_mode == NATK_ADDRS_LIST && fc.c.addrs.n == 2);
		/* the line's own settings, for naming it when refused */
		EXPECT(fc.nlines == 1 &&
		       (fc.line_conf[0].have & (HAVE_IFNAME | HAVE_ADDRS)) ==
		       (HAVE_IFNAME | HAVE_ADDRS));
		EXPECT(fc.nfwd == 3 && fc.fwd[2].ext_addr_be == htonl(0xc0000206));
		free(fc.fwd);
		free(fc.fwd_line);
		free(fc.line_conf);
		free(fc.line_no);
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			memset(&fc, 0, sizeof(fc));
			fp = fmemopen((void *)bad[i], strlen(bad[i]), "r");
			if (parse_file("bad", fp, &fc) != 1) {
				fprintf(stderr, "apply accepted: %s", bad[i]);
				failures++;
			}
			fclose(fp);
			free(fc.fwd);
			free(fc.fwd_line);
			free(fc.line_conf);
			free(fc.line_no);
		}
	}
}

/* Forwards on an address: the list, and the mapping log's live lines. */
static void test_addr_forwards(void)
{
	struct natk_fwd fw[2] = {
		{ IPPROTO_UDP, 7000, htonl(0x0a000002), 7001, htonl(0xc0000205) },
		{ IPPROTO_TCP, 8080, htonl(0x0a000003), 80, 0 },
	};
	struct fwd_buf b = {};
	struct nl_msg *m;
	char name[64], *s;

	/* the dump: the address when the forward names one */
	m = genl_msg(NATK_CMD_GET_FWDS);
	fwd_put(m, &fw[0]);
	EXPECT(fwds_cb(m, &b) == NL_OK);
	nlmsg_free(m);
	m = genl_msg(NATK_CMD_GET_FWDS);
	fwd_put(m, &fw[1]);
	EXPECT(fwds_cb(m, &b) == NL_OK);
	nlmsg_free(m);
	EXPECT(b.n == 2 && b.v[0].ext_addr_be == fw[0].ext_addr_be &&
	       b.v[1].ext_addr_be == 0);
	qsort(b.v, b.n, sizeof(*b.v), fwd_cmp);
	cap_start(false, false);
	fwd_print_list(b.v, b.n, NULL, "");
	s = cap_end();
	EXPECT_STR(s, "tcp 8080 -> 10.0.0.3:80\nudp 192.0.2.5:7000 -> 10.0.0.2:7001\n");
	free(s);
	cap_start(true, false);
	fwd_print_list(b.v, b.n, NULL, "");
	print_end();
	s = cap_end();
	EXPECT_STR(s, "[{\"proto\":\"tcp\",\"external_address\":null,\"external_port\":8080,"
		      "\"internal_address\":\"10.0.0.3\",\"internal_port\":80},"
		      "{\"proto\":\"udp\",\"external_address\":\"192.0.2.5\",\"external_port\":7000,"
		      "\"internal_address\":\"10.0.0.2\",\"internal_port\":7001}]\n");
	save_json("forwards_addresses", s);
	free(s);
	free(b.v);
	/* one port on two addresses sorts by address */
	{
		struct natk_fwd x[3] = {
			{ IPPROTO_UDP, 7000, 0, 1, htonl(0xc0000206) },
			{ IPPROTO_UDP, 7000, 0, 2, htonl(0xc0000205) },
			{ IPPROTO_UDP, 7000, 0, 3, 0 },
		};

		qsort(x, 3, sizeof(*x), fwd_cmp);
		EXPECT(x[0].int_port == 3 && x[1].int_port == 2 &&
		       x[2].int_port == 1);
	}
	EXPECT_STR(fwd_name(&fw[0], name, sizeof(name)), "udp port 7000 on 192.0.2.5");
	EXPECT_STR(fwd_name(&fw[1], name, sizeof(name)), "tcp port 8080");

	/* del names the address of a forward that has one */
	{
		struct nlattr *tb[NATK_A_MAX + 1], *fb[NATK_FWD_A_MAX + 1];
		struct nlattr *nest;

		m = genl_msg(NATK_CMD_FWD_DEL);
		nest = nla_nest_start(m, NATK_A_FWD);
		nla_put_u8(m, NATK_FWD_A_PROTO, fw[0].proto);
		nla_nest_end(m, nest);
		fwd_put(m, &fw[0]);
		EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
		EXPECT(tb[NATK_A_FWD] &&
		       nla_parse_nested(fb, NATK_FWD_A_MAX, tb[NATK_A_FWD], NULL) == 0 &&
		       fb[NATK_FWD_A_EXT_ADDR_BE] &&
		       nla_get_u32(fb[NATK_FWD_A_EXT_ADDR_BE]) == htonl(0xc0000205));
		nlmsg_free(m);
	}

	/* the mapping log's live lines leave forwards' flows out, on their
	 * own address: a dynamic mapping of that port on another stays */
	{
		struct flow fl[4] = {};
		struct ml_event *ev;
		size_t n;

		for (int i = 0; i < 4; i++) {
			fl[i].proto = IPPROTO_UDP;
			fl[i].int_addr = htonl(0x0a000010 + (uint32_t)i);
			fl[i].int_port = 7000;
			fl[i].ext_port = 7000;
			fl[i].rem_addr = htonl(0xc6336401);
		}
		fl[0].ext_addr = htonl(0xc0000205);	/* fw[0]'s flow */
		fl[1].ext_addr = htonl(0xc0000201);	/* a mapping on the primary */
		fl[2].ext_addr = htonl(0xc0000206);	/* and on a third address */
		fl[3].proto = IPPROTO_TCP;		/* fw[1]'s, on the primary */
		fl[3].ext_port = 8080;
		fl[3].ext_addr = htonl(0xc0000201);
		n = ml_live_from_flows(fl, 4, fw, 2, htonl(0xc0000201), NULL, T0, &ev);
		EXPECT(n == 2 && ev[0].ext_addr == htonl(0xc0000201) &&
		       ev[1].ext_addr == htonl(0xc0000206));
		free(ev);
		/* a TCP flow on 8080 of another address is no forward's */
		fl[3].ext_addr = htonl(0xc0000206);
		n = ml_live_from_flows(fl, 4, fw, 2, htonl(0xc0000201), NULL, T0, &ev);
		EXPECT(n == 3);
		free(ev);
	}
}

/* Metrics and doctor per external address. */
static void test_addr_metrics(void)
{
	struct mx_sample *x = calloc(1, sizeof(*x));
	struct doc_facts *f = calloc(1, sizeof(*f));
	struct doc_report r;
	char *buf = NULL;
	size_t len = 0;
	struct nl_msg *m;
	FILE *fp;

	assert(x && f);
	m = addr_config(NATK_ADDRS_ALL, true);
	EXPECT(config_cb(m, &x->st) == NL_OK);
	nlmsg_free(m);
	x->c.ok = true;
	fp = open_memstream(&buf, &len);
	prom_write(fp, x);
	fclose(fp);
	EXPECT(strstr(buf, "\n# TYPE natk_pool_addresses gauge\nnatk_pool_addresses 2\n"));
	EXPECT(strstr(buf, "\n# TYPE natk_pool_hosts gauge\n"
		      "natk_pool_hosts{address=\"192.0.2.1\"} 3\n"
		      "natk_pool_hosts{address=\"192.0.2.5\"} 1\n"));
	EXPECT(strstr(buf, "\nnatk_pool_used_ports{address=\"192.0.2.1\",proto=\"tcp\"} 120\n"
		      "natk_pool_used_ports{address=\"192.0.2.1\",proto=\"udp\"} 40\n"
		      "natk_pool_used_ports{address=\"192.0.2.1\",proto=\"icmp\"} 2\n"));
	EXPECT(strstr(buf, "\n# TYPE natk_pool_port_exhausted_total counter\n"));
	EXPECT(strstr(buf, "\nnatk_pool_port_exhausted_total{address=\"192.0.2.5\",proto=\"tcp\"} 17\n"));
	EXPECT(strstr(buf, "\nnatk_pool_port_exhausted_total{address=\"192.0.2.5\",proto=\"icmp\"} 8589934592\n"));
	save_file("metrics-pool.prom", buf);
	free(buf);
	buf = NULL;
	/* an empty pool: the count only */
	x->st.npool = 0;
	fp = open_memstream(&buf, &len);
	prom_write(fp, x);
	fclose(fp);
	EXPECT(strstr(buf, "\nnatk_pool_addresses 0\n") && !strstr(buf, "natk_pool_hosts"));
	free(buf);
	buf = NULL;
	/* one address, hosts not counted: no hosts gauge */
	x->st.npool = 1;
	x->st.pool[0].has_hosts = false;
	fp = open_memstream(&buf, &len);
	prom_write(fp, x);
	fclose(fp);
	EXPECT(strstr(buf, "\nnatk_pool_addresses 1\n") && !strstr(buf, "natk_pool_hosts") &&
	       strstr(buf, "natk_pool_used_ports{address=\"192.0.2.1\",proto=\"tcp\"} 120\n"));
	free(buf);
	buf = NULL;
	/* an older module: none of them */
	x->st.present &= ~(1ull << NATK_A_POOL);
	fp = open_memstream(&buf, &len);
	prom_write(fp, x);
	fclose(fp);
	EXPECT(!strstr(buf, "natk_pool_"));
	free(buf);
	free(x);

	/* doctor: a primary address and no exhaustion add no row */
	doc_good(f);
	f->st.present = 1ull << NATK_A_ADDRS_MODE | 1ull << NATK_A_POOL;
	f->st.npool = 1;
	f->st.pool[0].addr_be = htonl(0xc0000201);
	doc_judge(f, &r);
	EXPECT(r.n == 11 && doc_fails(&r) == 0);
	/* all: an ok row naming them */
	f->st.addrs_mode = NATK_ADDRS_ALL;
	f->st.npool = 2;
	f->st.pool[1].addr_be = htonl(0xc0000205);
	doc_judge(f, &r);
	EXPECT(r.n == 12 && doc_fails(&r) == 0 &&
	       !strcmp(doc_st(&r, "external-addresses"), "ok"));
	for (int i = 0; i < r.n; i++)
		if (!strcmp(r.rows[i].name, "external-addresses"))
			EXPECT_STR(r.rows[i].found, "behind 2 addresses (addresses all): 192.0.2.1, 192.0.2.5");
	/* a list with addresses wan0 lacks, and an address that ran out */
	f->st.addrs_mode = NATK_ADDRS_LIST;
	f->st.addrs.n = 2;
	f->st.addrs.r[0] = (struct natk_addr_range){ htonl(0xc0000201), htonl(0xc0000201) };
	f->st.addrs.r[1] = (struct natk_addr_range){ htonl(0xc0000205), htonl(0xc0000207) };
	f->st.pool[1].exhausted[1] = 6;
	doc_judge(f, &r);
	EXPECT(!strcmp(doc_st(&r, "external-addresses"), "warn") &&
	       !strcmp(doc_st(&r, "port-exhaustion"), "warn"));
	for (int i = 0; i < r.n; i++) {
		if (!strcmp(r.rows[i].name, "external-addresses")) {
			EXPECT_STR(r.rows[i].found, "2 listed addresses are not on wan0, left out: 192.0.2.6, 192.0.2.7");
			EXPECT(strstr(r.rows[i].fix, "ip addr add ADDR/LEN dev wan0") &&
			       strstr(r.rows[i].fix, "'addresses' in /etc/natk.conf"));
		}
		if (!strcmp(r.rows[i].name, "port-exhaustion"))
			EXPECT_STR(r.rows[i].found, "new flows were dropped for want of a free port on this address since natk was loaded: 192.0.2.5 (tcp 0, udp 6, icmp 0)");
	}
	cap_start(true, false);
	EXPECT(doc_print(&r) == 0);	/* warnings only */
	buf = cap_end();
	save_json("doctor_addresses", buf);
	free(buf);
	/* not active: nothing to say about addresses */
	f->st.state = NATK_STATE_WAIT_INTERFACE;
	doc_judge(f, &r);
	EXPECT(!doc_st(&r, "external-addresses")[0] && !doc_st(&r, "port-exhaustion")[0]);
	free(f);
}

/* Port blocks: the settings, status, the file and metrics. */
/*
 * The configuration a status message @m gives (freed), as natkctl save
 * writes it (returned, to free), read back into @fc as apply reads a file.
 */
static char *saved_config(struct nl_msg *m, struct natk_status *st,
			  struct file_conf *fc)
{
	FILE *fp;
	char *s;

	memset(st, 0, sizeof(*st));
	EXPECT(config_cb(m, st) == NL_OK);
	nlmsg_free(m);
	cap_start(false, false);
	save_print(st, NULL, 0);
	s = cap_end();
	fp = fmemopen(s, strlen(s), "r");
	assert(fp);
	EXPECT(parse_file("saved", fp, fc) == 0);
	fclose(fp);
	return s;
}

static void test_blocks(void)
{
	struct natk_conf c = {};
	struct natk_status st = {};
	char err[256], *s;
	struct nl_msg *m;

	/* set port-block SIZE|off, port-blocks-per-host N */
	{
		char *a[] = { "port-block", "64", "port-blocks-per-host", "4" };

		EXPECT(conf_parse_setting(&c, 4, a, true, err, sizeof(err)) == 2);
		EXPECT(conf_parse_setting(&c, 2, a + 2, true, err, sizeof(err)) == 2);
		EXPECT(c.port_block == 64 && c.port_blocks_per_host == 4 &&
		       (c.have & (HAVE_PORT_BLOCK | HAVE_BLOCKS_PER_HOST)) ==
		       (HAVE_PORT_BLOCK | HAVE_BLOCKS_PER_HOST));
		m = genl_msg(NATK_CMD_SET_CONFIG);
		conf_put_attrs(m, &c);
		{
			struct nlattr *tb[NATK_A_MAX + 1];

			EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
			EXPECT(tb[NATK_A_PORT_BLOCK] && nla_len(tb[NATK_A_PORT_BLOCK]) == 2 &&
			       nla_get_u16(tb[NATK_A_PORT_BLOCK]) == 64);
			EXPECT(tb[NATK_A_PORT_BLOCKS_PER_HOST] &&
			       nla_len(tb[NATK_A_PORT_BLOCKS_PER_HOST]) == 2 &&
			       nla_get_u16(tb[NATK_A_PORT_BLOCKS_PER_HOST]) == 4);
			EXPECT(!tb[NATK_A_PORT_MIN] && !tb[NATK_A_ADDRS_MODE]);
		}
		nlmsg_free(m);
		/* given twice */
		EXPECT(conf_parse_setting(&c, 2, a, true, err, sizeof(err)) < 0 &&
		       strstr(err, "given twice"));
	}
	{
		static const char *const good[][2] = {
			{ "port-block", "off" }, { "port-block", "0" },
			{ "port-block", "8" }, { "port-block", "4096" },
			{ "port-block", "100" },
			{ "port-blocks-per-host", "1" }, { "port-blocks-per-host", "32" },
		};
		static const uint16_t want[] = { 0, 0, 8, 4096, 100, 1, 32 };
		static const char *const bad[][2] = {
			{ "port-block", "7" }, { "port-block", "4097" },
			{ "port-block", "-1" }, { "port-block", "none" },
			{ "port-block", "16k" }, { "port-block", "" },
			{ "port-blocks-per-host", "0" }, { "port-blocks-per-host", "33" },
			{ "port-blocks-per-host", "off" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
			char *a[] = { (char *)good[i][0], (char *)good[i][1] };

			memset(&c, 0, sizeof(c));
			EXPECT(conf_parse_setting(&c, 2, a, false, err, sizeof(err)) == 2);
			EXPECT((i < 5 ? c.port_block : c.port_blocks_per_host) == want[i]);
		}
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			char *a[] = { (char *)bad[i][0], (char *)bad[i][1] };

			memset(&c, 0, sizeof(c));
			if (conf_parse_setting(&c, 2, a, false, err, sizeof(err)) >= 0) {
				fprintf(stderr, "accepted: %s %s\n", bad[i][0], bad[i][1]);
				failures++;
			}
			EXPECT(strstr(err, bad[i][0]) != NULL);
		}
		/* a prefix: "port-b" could be either */
		{
			char *a[] = { "port-b", "8" };

			EXPECT(conf_parse_setting(&c, 2, a, true, err, sizeof(err)) < 0 &&
			       strstr(err, "ambiguous"));
		}
		{
			char *a[] = { "port-block" };

			EXPECT(conf_parse_setting(&c, 1, a, true, err, sizeof(err)) < 0 &&
			       strstr(err, "needs a value"));
		}
	}

	/* status: the settings and each address's blocks */
	m = addr_config(NATK_ADDRS_ALL, false);
	nla_put_u16(m, NATK_A_PORT_BLOCK, 16);
	nla_put_u16(m, NATK_A_PORT_BLOCKS_PER_HOST, 8);
	{
		struct nlattr *nest = nla_nest_start(m, NATK_A_POOL), *e;

		e = nla_nest_start(m, NATK_POOL_A_ENTRY);
		nla_put_u32(m, NATK_POOL_A_ADDR_BE, htonl(0xc0000201));
		nla_put_u32(m, NATK_POOL_A_HOSTS, 2);
		nla_put_u32(m, NATK_POOL_A_PORTS_UDP, 20);
		nla_put_u32(m, NATK_POOL_A_BLOCKS, 3);
		nla_nest_end(m, e);
		e = nla_nest_start(m, NATK_POOL_A_ENTRY);
		nla_put_u32(m, NATK_POOL_A_ADDR_BE, htonl(0xc0000205));
		nla_put_u32(m, NATK_POOL_A_HOSTS, 0);
		nla_nest_end(m, e);
		nla_nest_end(m, nest);
	}
	memset(&st, 0, sizeof(st));
	EXPECT(config_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	EXPECT(st.port_block == 16 && st.port_blocks_per_host == 8 &&
	       st.npool == 2 && st.pool[0].blocks == 3 && st.pool[1].blocks == 0);
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\n  port-block: 16 ports   port-blocks-per-host: 8\n"));
	EXPECT(strstr(s, "    192.0.2.1: 2 hosts, ports tcp 0 udp 20 icmp 0, blocks 3\n"));
	EXPECT(strstr(s, "    192.0.2.5: 0 hosts, ports tcp 0 udp 0 icmp 0, blocks 0\n"));
	free(s);
	cap_start(true, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\"port_block\":16,\"port_blocks_per_host\":8"));
	EXPECT(strstr(s, "\"address\":\"192.0.2.1\",\"hosts\":2,"));
	EXPECT(strstr(s, "\"blocks\":3}"));
	save_json("status-blocks", s);
	free(s);
	/* off: said so, and no blocks in the pool's lines (JSON: 0) */
	st.port_block = 0;
	cap_start(false, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\n  port-block: off   port-blocks-per-host: 8\n"));
	EXPECT(!strstr(s, ", blocks"));
	free(s);
	cap_start(true, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(strstr(s, "\"port_block\":0,") && strstr(s, "\"blocks\":3}"));
	free(s);
	/* an older module: nothing of it */
	st.present &= ~(1ull << NATK_A_PORT_BLOCK | 1ull << NATK_A_PORT_BLOCKS_PER_HOST);
	cap_start(true, false);
	status_print(&st, NULL, 0);
	s = cap_end();
	EXPECT(!strstr(s, "port_block") && !strstr(s, "\"blocks\""));
	free(s);

	/* save and apply: the file says them, reading it gives them back */
	for (int k = 0; k < 3; k++) {
		struct file_conf fc = {};

		m = addr_config(NATK_ADDRS_PRIMARY, false);
		if (k < 2) {
			nla_put_u16(m, NATK_A_PORT_BLOCK, k ? 64 : 0);
			nla_put_u16(m, NATK_A_PORT_BLOCKS_PER_HOST, k ? 3 : 8);
		}
		s = saved_config(m, &st, &fc);
		if (k == 0)
			EXPECT(strstr(s, "\nport-block off\nport-blocks-per-host 8\n"));
		else if (k == 1)
			EXPECT(strstr(s, "\nport-block 64\nport-blocks-per-host 3\n"));
		else
			EXPECT(!strstr(s, "port-block"));	/* an older module */
		if (k < 2) {
			EXPECT((fc.c.have & (HAVE_PORT_BLOCK | HAVE_BLOCKS_PER_HOST)) ==
			       (HAVE_PORT_BLOCK | HAVE_BLOCKS_PER_HOST));
			EXPECT(fc.c.port_block == st.port_block &&
			       fc.c.port_blocks_per_host == st.port_blocks_per_host);
			/* an older module cannot take them: both lines named */
			st.present &= ~(1ull << NATK_A_PORT_BLOCK |
					1ull << NATK_A_PORT_BLOCKS_PER_HOST);
			EXPECT(apply_name_unsupported("saved", &fc, &st) == 2);
		} else {
			/* omitted: NATK_A_RESET's defaults (off, 8) */
			EXPECT(!(fc.c.have & (HAVE_PORT_BLOCK | HAVE_BLOCKS_PER_HOST)));
			m = genl_msg(NATK_CMD_SET_CONFIG);
			conf_put_attrs(m, &fc.c);
			{
				struct nlattr *tb[NATK_A_MAX + 1];

				EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
				EXPECT(!tb[NATK_A_PORT_BLOCK] && !tb[NATK_A_PORT_BLOCKS_PER_HOST]);
			}
			nlmsg_free(m);
		}
		free(fc.fwd);
		free(fc.fwd_line);
		free(fc.line_conf);
		free(fc.line_no);
		free(s);
	}
	/* a file a person writes */
	{
		static const char good[] = "external wan0\nport-block 128\nport-blocks-per-host 2\n";
		static const char *const bad[] = {
			"port-block 4\n", "port-block 64 port-blocks-per-host 2\n",
			"port-blocks-per-host\n", "port-block 64\nport-block off\n",
		};
		struct file_conf fc = {};
		FILE *fp;

		fp = fmemopen((void *)good, strlen(good), "r");
		EXPECT(parse_file("good", fp, &fc) == 0);
		fclose(fp);
		EXPECT(fc.c.port_block == 128 && fc.c.port_blocks_per_host == 2 &&
		       fc.nlines == 3);
		free(fc.line_conf);
		free(fc.line_no);
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			memset(&fc, 0, sizeof(fc));
			fp = fmemopen((void *)bad[i], strlen(bad[i]), "r");
			if (parse_file("bad", fp, &fc) != 1) {
				fprintf(stderr, "apply accepted: %s", bad[i]);
				failures++;
			}
			fclose(fp);
			free(fc.fwd);
			free(fc.fwd_line);
			free(fc.line_conf);
			free(fc.line_no);
		}
	}

	/* metrics: blocks per address, the size, the limit, the capacity */
	{
		struct mx_sample *x = calloc(1, sizeof(*x));
		char *buf = NULL;
		size_t len = 0;
		FILE *fp;

		assert(x);
		m = addr_config(NATK_ADDRS_ALL, true);
		nla_put_u16(m, NATK_A_PORT_BLOCK, 64);
		nla_put_u16(m, NATK_A_PORT_BLOCKS_PER_HOST, 8);
		EXPECT(config_cb(m, &x->st) == NL_OK);
		nlmsg_free(m);
		x->st.pool[0].blocks = 5;
		x->c.ok = true;
		fp = open_memstream(&buf, &len);
		prom_write(fp, x);
		fclose(fp);
		EXPECT(strstr(buf, "\n# TYPE natk_pool_blocks gauge\n"
			      "natk_pool_blocks{address=\"192.0.2.1\"} 5\n"
			      "natk_pool_blocks{address=\"192.0.2.5\"} 0\n"));
		EXPECT(strstr(buf, "\nnatk_port_block_ports 64\n"));
		EXPECT(strstr(buf, "\nnatk_port_blocks_per_host 8\n"));
		/* 1024-65535: 64,512 ports, 1,008 blocks of 64 */
		EXPECT(strstr(buf, "\nnatk_port_block_capacity 1008\n"));
		save_file("metrics-blocks.prom", buf);
		free(buf);
		buf = NULL;
		/* an older module: none of them */
		x->st.present &= ~(1ull << NATK_A_PORT_BLOCK);
		fp = open_memstream(&buf, &len);
		prom_write(fp, x);
		fclose(fp);
		EXPECT(!strstr(buf, "block"));
		free(buf);
		free(x);
	}
}

/* The mapping log with port blocks: lines, journal, events, live, who. */
static struct ml_event mk_block(enum ml_kind k, uint64_t ns, const char *in,
				const char *ex, uint16_t first, uint16_t last)
{
	struct ml_event e = mk_ev(k, ns, 0, in, 0, ex, first);

	e.block = true;
	e.ext_port_last = last;
	return e;
}

static const char block_log[] =
	/* blocks of 16 from 1024; 10.0.0.2 gets 1024-1039, later 1056-1071 */
	"2026-12-03T06:00:00.000000Z new block 10.0.0.2 192.0.2.1:1024-1039\n"
	"2026-12-03T06:01:00.000000Z new block 10.0.0.3 192.0.2.1:1040-1055\n"
	"2026-12-03T06:02:00.000000Z new block 10.0.0.2 192.0.2.1:1056-1071\n"
	"2026-12-03T06:03:00.000000Z new udp 10.0.0.9:7 192.0.2.1:1030\n"
	"2026-12-03T06:10:00.000000Z del block 10.0.0.2 192.0.2.1:1024-1039\n"
	"2026-12-03T06:10:00.000000Z del block 10.0.0.2 192.0.2.1:1056-1071\n"
	/* the block released, then given to another host */
	"2026-12-03T06:20:00.000000Z new block 10.0.0.4 192.0.2.1:1024-1039\n"
	"2026-12-03T06:25:00.000000Z del block 10.0.0.4 192.0.2.1:1024-1039\n"
	/* other address, same ports */
	"2026-12-03T06:30:00.000000Z new block 10.0.0.5 192.0.2.10:1024-1039\n"
	/* a new geometry (64): a wider block over the same ports */
	"2026-12-03T06:38:00.000000Z del block 10.0.0.3 192.0.2.1:1040-1055\n"
	"2026-12-03T06:40:00.000000Z new block 10.0.0.6 192.0.2.1:1024-1087\n"
	"2026-12-03T06:50:00.000000Z lost 2\n"
	"2026-12-03T07:00:00.000000Z new block 10.0.0.7 192.0.2.1:1024-1087\n"
	"2026-12-03T07:10:00.000000Z del block 10.0.0.8 192.0.2.1:1088-1151\n";

static void test_block_log(void)
{
	struct ml_event e = mk_block(ML_NEW, T0 + 123456789, "10.0.0.2",
				     "192.0.2.1", 1024, 1039), p;
	char line[ML_LINE_MAX], *got;
	struct ml_out o;
	size_t len;
	const char *U = "192.0.2.1";

	/* the line: no protocol, no internal port; the block's ports */
	len = ml_format_line(&e, line, sizeof(line));
	EXPECT_STR(line, "2026-12-03T06:30:00.123456Z new block 10.0.0.2 192.0.2.1:1024-1039\n");
	EXPECT(len == strlen(line) && len == 67);
	{
		struct ml_event w = mk_block(ML_LIVE, T0, "255.255.255.255",
					     "255.255.255.255", 65535, 65535);

		len = ml_format_line(&w, line, sizeof(line));
		EXPECT(len == 83 && len < ML_LINE_MAX);
		EXPECT_STR(line, "2026-12-03T06:30:00.000000Z live block 255.255.255.255 255.255.255.255:65535-65535\n");
	}
	/* and back */
	snprintf(line, sizeof(line), "2026-12-03T06:30:00.123456Z del block 10.0.0.2 192.0.2.1:1024-1039");
	EXPECT(ml_parse_line(line, &p) && p.kind == ML_DEL && p.block &&
	       p.proto == 0 && p.int_port == 0 && p.int_addr == e.int_addr &&
	       p.ext_addr == e.ext_addr && p.ext_port == 1024 &&
	       p.ext_port_last == 1039 && p.ns == T0 + 123456000);
	snprintf(line, sizeof(line), "2026-12-03T06:30:00.123456Z live block 10.0.0.2 192.0.2.1:1024-1039 more");
	EXPECT(ml_parse_line(line, &p) && p.kind == ML_LIVE && p.block);
	/* a mapping line is no block */
	snprintf(line, sizeof(line), "2026-12-03T06:30:00.123456Z new udp 10.0.0.2:1 192.0.2.1:1030");
	EXPECT(ml_parse_line(line, &p) && !p.block && p.proto == IPPROTO_UDP);
	{
		static const char *const bad[] = {
			"2026-12-03T06:30:00Z new block 10.0.0.2 192.0.2.1:1024",
			"2026-12-03T06:30:00Z new block 10.0.0.2 192.0.2.1:1039-1024",
			"2026-12-03T06:30:00Z new block 10.0.0.2 192.0.2.1:0-15",
			"2026-12-03T06:30:00Z new block 10.0.0.2 192.0.2.1:1024-65536",
			"2026-12-03T06:30:00Z new block 10.0.0.2:5 192.0.2.1:1024-1039",
			"2026-12-03T06:30:00Z new block 10.0.0.2 192.0.2:1024-1039",
			"2026-12-03T06:30:00Z new block 10.0.0.2 1024-1039",
			"2026-12-03T06:30:00Z new block 10.0.0.2",
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			snprintf(line, sizeof(line), "%s", bad[i]);
			if (ml_parse_line(line, &p)) {
				fprintf(stderr, "ml_parse_line accepted '%s'\n", bad[i]);
				failures++;
			}
		}
	}
	/* standard output, JSON lines */
	ml_out_init(&o);
	o.to_stdout = true;
	cap_start(false, false);
	ml_emit(&o, &e);
	got = cap_end();
	EXPECT_STR(got, "2026-12-03T06:30:00.123456Z new block 10.0.0.2 192.0.2.1:1024-1039\n");
	free(got);
	cap_start(true, false);
	ml_emit(&o, &e);
	got = cap_end();
	EXPECT_STR(got,
		"{\"time\":\"2026-12-03T06:30:00.123456Z\",\"event\":\"new\",\"proto\":null,"
		"\"internal_address\":\"10.0.0.2\",\"internal_port\":null,"
		"\"external_address\":\"192.0.2.1\",\"external_port\":1024,"
		"\"external_port_last\":1039}\n");
	got[strlen(got) - 1] = '\0';
	save_json("maplog-block", got);
	free(got);
	/* the journal's fields */
	{
		char buf[512], text[ML_LINE_MAX];

		ml_format_text(&e, text, sizeof(text));
		ml_journal_record(&e, text, buf, sizeof(buf));
		EXPECT_STR(buf,
			"MESSAGE=new block 10.0.0.2 192.0.2.1:1024-1039\n"
			"PRIORITY=6\n"
			"SYSLOG_IDENTIFIER=natk-maplog\n"
			"NATK_EVENT=new\n"
			"NATK_BLOCK=1\n"
			"NATK_INTERNAL=10.0.0.2\n"
			"NATK_EXTERNAL=192.0.2.1:1024-1039\n"
			"NATK_EXTERNAL_ADDRESS=192.0.2.1\n"
			"NATK_PORT_FIRST=1024\n"
			"NATK_PORT_LAST=1039\n"
			"NATK_TIMESTAMP_NS=1796279400123456789\n");
	}
	/* the kernel's block event: no proto, no internal port */
	{
		struct nl_msg *m = genl_msg(NATK_CMD_MAP_NEW);
		struct nlattr *nest = nla_nest_start(m, NATK_A_MAP);
		struct ml_run r = { .o = &o };

		nla_put_u32(m, NATK_MAP_A_INT_ADDR_BE, htonl(0x0a000003));
		nla_put_u32(m, NATK_MAP_A_EXT_ADDR_BE, htonl(0xc0000201));
		nla_put_u16(m, NATK_MAP_A_EXT_PORT, 2048);
		nla_put_u16(m, NATK_MAP_A_EXT_PORT_LAST, 2111);
		nla_nest_end(m, nest);
		nla_put_u64(m, NATK_A_TIMESTAMP_NS, T0 + 1000);
		nlmsg_hdr(m)->nlmsg_type = (uint16_t)family;
		cap_start(false, false);
		EXPECT(ml_event_cb(m, &r) == NL_OK);
		got = cap_end();
		EXPECT_STR(got, "2026-12-03T06:30:00.000001Z new block 10.0.0.3 192.0.2.1:2048-2111\n");
		free(got);
		nlmsg_free(m);
		/* a last port below the first: not a block */
		m = genl_msg(NATK_CMD_MAP_DEL);
		nest = nla_nest_start(m, NATK_A_MAP);
		nla_put_u32(m, NATK_MAP_A_INT_ADDR_BE, htonl(0x0a000003));
		nla_put_u32(m, NATK_MAP_A_EXT_ADDR_BE, htonl(0xc0000201));
		nla_put_u16(m, NATK_MAP_A_EXT_PORT, 2048);
		nla_put_u16(m, NATK_MAP_A_EXT_PORT_LAST, 2000);
		nla_nest_end(m, nest);
		nlmsg_hdr(m)->nlmsg_type = (uint16_t)family;
		EXPECT(!ml_parse_msg(m, &p));
		nlmsg_free(m);
		/* a mapping without proto (and no last port): still refused */
		m = genl_msg(NATK_CMD_MAP_DEL);
		nest = nla_nest_start(m, NATK_A_MAP);
		nla_put_u32(m, NATK_MAP_A_INT_ADDR_BE, htonl(0x0a000003));
		nla_put_u16(m, NATK_MAP_A_INT_PORT, 5);
		nla_put_u32(m, NATK_MAP_A_EXT_ADDR_BE, htonl(0xc0000201));
		nla_put_u16(m, NATK_MAP_A_EXT_PORT, 2048);
		nla_nest_end(m, nest);
		nlmsg_hdr(m)->nlmsg_type = (uint16_t)family;
		EXPECT(!ml_parse_msg(m, &p));
		nlmsg_free(m);
	}
	/* ml_block_of: block k = port_min + k * size, whole blocks only */
	{
		struct ml_blocks g = { 16, 1024, 1100 };
		uint16_t f = 0, l = 0;

		EXPECT(ml_block_of(&g, 1024, &f, &l) && f == 1024 && l == 1039);
		EXPECT(ml_block_of(&g, 1039, &f, &l) && f == 1024 && l == 1039);
		EXPECT(ml_block_of(&g, 1040, &f, &l) && f == 1040 && l == 1055);
		EXPECT(ml_block_of(&g, 1087, &f, &l) && f == 1072 && l == 1087);
		EXPECT(!ml_block_of(&g, 1088, &f, &l));	/* 1088-1103 > 1100 */
		EXPECT(!ml_block_of(&g, 1023, &f, &l) && !ml_block_of(&g, 2000, &f, &l));
		g.size = 0;
		EXPECT(!ml_block_of(&g, 1030, &f, &l) && !ml_block_of(NULL, 1030, &f, &l));
	}
	/* live at start: one line per host and block, not per flow */
	{
		struct ml_blocks g = { 16, 1024, 2047 };
		struct flow fl[6];
		struct natk_fwd fw = { .proto = IPPROTO_TCP, .ext_port = 1050 };
		struct ml_event *ev;
		size_t n;

		fl[0] = flow_of(IPPROTO_UDP, "10.0.0.2", 5000, "192.0.2.1", 1030, "192.0.2.9", 1, 0);
		fl[1] = flow_of(IPPROTO_TCP, "10.0.0.2", 5001, "192.0.2.1", 1025, "192.0.2.9", 2, 0);
		fl[2] = flow_of(IPPROTO_ICMP, "10.0.0.2", 7, "192.0.2.1", 1062, "192.0.2.9", 0, 0);
		fl[3] = flow_of(IPPROTO_UDP, "10.0.0.3", 5000, "192.0.2.1", 1045, "192.0.2.9", 1, 0);
		fl[4] = flow_of(IPPROTO_UDP, "10.0.0.3", 5000, "192.0.2.1", 1045, "192.0.2.8", 1, 0);
		/* a forward's flow in the range: not a block's */
		fl[5] = flow_of(IPPROTO_TCP, "10.0.0.4", 80, "192.0.2.1", 1050, "192.0.2.8", 9, 0);
		n = ml_live_from_flows(fl, 6, &fw, 1, 0, &g, T0, &ev);
		EXPECT(n == 3);
		if (n == 3) {
			char t[3][ML_LINE_MAX];

			for (size_t i = 0; i < 3; i++)
				ml_format_text(&ev[i], t[i], sizeof(t[i]));
			EXPECT_STR(t[0], "live block 10.0.0.2 192.0.2.1:1024-1039");
			EXPECT_STR(t[1], "live block 10.0.0.3 192.0.2.1:1040-1055");
			EXPECT_STR(t[2], "live block 10.0.0.2 192.0.2.1:1056-1071");
		}
		free(ev);
		/* blocks off: the mappings, as before */
		n = ml_live_from_flows(fl, 6, &fw, 1, 0, NULL, T0, &ev);
		EXPECT(n == 4);
		for (size_t i = 0; i < n; i++)
			EXPECT(!ev[i].block);
		free(ev);
		/* who, live: the block of the port, then the port's own */
		{
			struct ml_query q = { .ext_port = 1030 };
			struct ml_span *sp;
			uint64_t *cnt;

			inet_pton(AF_INET, U, &q.ext_addr);
			n = ml_who_from_flows(fl, 6, &fw, 1, 0, &g, &q, &sp, &cnt);
			EXPECT(n == 2 && sp[0].block && sp[0].first == 1024 &&
			       sp[0].last == 1039 && sp[0].int_addr == htonl(0x0a000002) &&
			       cnt[0] == 2 && !sp[1].block && sp[1].proto == IPPROTO_UDP &&
			       sp[1].int_port == 5000 && cnt[1] == 1);
			cap_start(false, false);
			print_open_array(NULL);
			for (size_t i = 0; i < n; i++)
				ml_who_print_span(&sp[i], " (live, %u flows)", cnt[i]);
			print_close_array();
			print_end();
			EXPECT_STR(cap_end(),
				   "block 192.0.2.1:1024-1039 10.0.0.2 (live, 2 flows)\n"
				   "udp 192.0.2.1:1030 10.0.0.2:5000 (live, 1 flows)\n");
			free(cap_buf);
			cap_start(true, false);
			print_open_array(NULL);
			ml_who_print_span(&sp[0], " (live, %u flows)", cnt[0]);
			print_close_array();
			print_end();
			EXPECT_STR(cap_end(),
				   "[{\"proto\":null,\"external_address\":\"192.0.2.1\",\"external_port\":1030,"
				   "\"block_first\":1024,\"block_last\":1039,"
				   "\"internal_address\":\"10.0.0.2\",\"internal_port\":null,"
				   "\"from\":null,\"to\":null,\"flows\":2,\"certain\":true}]\n");
			save_json("who-block-live", cap_buf);
			free(cap_buf);
			free(sp);
			free(cnt);
			/* a port of the block nobody maps: the block's host */
			q.ext_port = 1033;
			q.have_proto = true;
			q.proto = IPPROTO_TCP;
			n = ml_who_from_flows(fl, 6, &fw, 1, 0, &g, &q, &sp, &cnt);
			EXPECT(n == 1 && sp[0].block && sp[0].int_addr == htonl(0x0a000002));
			free(sp);
			free(cnt);
			/* another host's block */
			q.ext_port = 1041;
			n = ml_who_from_flows(fl, 6, &fw, 1, 0, &g, &q, &sp, &cnt);
			EXPECT(n == 1 && sp[0].block && sp[0].first == 1040 &&
			       sp[0].int_addr == htonl(0x0a000003) && cnt[0] == 2);
			free(sp);
			free(cnt);
			/* a block nobody holds (the forward's port alone) */
			q.ext_port = 1050;
			q.have_proto = false;
			n = ml_who_from_flows(fl, 6, &fw, 1, 0, &g, &q, &sp, &cnt);
			EXPECT(n == 2 && sp[0].block && sp[0].int_addr == htonl(0x0a000003) &&
			       !sp[1].block && sp[1].proto == IPPROTO_TCP &&
			       sp[1].int_addr == htonl(0x0a000004));
			free(sp);
			free(cnt);
			q.ext_port = 1080;
			n = ml_who_from_flows(fl, 6, &fw, 1, 0, &g, &q, &sp, &cnt);
			EXPECT(n == 0);
			free(sp);
			free(cnt);
			/* blocks off: the port alone */
			q.ext_port = 1033;
			n = ml_who_from_flows(fl, 6, &fw, 1, 0, NULL, &q, &sp, &cnt);
			EXPECT(n == 0);
			free(sp);
			free(cnt);
		}
	}

	/* who at TIME: the block that holds the port, any protocol */
	EXPECT_STR(who_ask(block_log, who_q(U, 1030, 0, "2026-12-03T06:05:00Z")),
		   "block 1024-1039 10.0.0.2 2026-12-03T06:00:00 2026-12-03T06:10:00;"
		   "udp 10.0.0.9:7 2026-12-03T06:03:00 -;");
	EXPECT_STR(who_ask(block_log, who_q(U, 1039, IPPROTO_TCP, "2026-12-03T06:05:00Z")),
		   "block 1024-1039 10.0.0.2 2026-12-03T06:00:00 2026-12-03T06:10:00;");
	/* the first and last instant count */
	EXPECT_STR(who_ask(block_log, who_q(U, 1024, IPPROTO_ICMP, "2026-12-03T06:10:00Z")),
		   "block 1024-1039 10.0.0.2 2026-12-03T06:00:00 2026-12-03T06:10:00;");
	/* next block: another host; the host's second block */
	EXPECT_STR(who_ask(block_log, who_q(U, 1040, 0, "2026-12-03T06:05:00Z")),
		   "block 1040-1055 10.0.0.3 2026-12-03T06:01:00 2026-12-03T06:38:00;");
	EXPECT_STR(who_ask(block_log, who_q(U, 1071, 0, "2026-12-03T06:05:00Z")),
		   "block 1056-1071 10.0.0.2 2026-12-03T06:02:00 2026-12-03T06:10:00;");
	/* before its block: nobody; outside every block: nobody */
	EXPECT_STR(who_ask(block_log, who_q(U, 1060, 0, "2026-12-03T06:01:30Z")),
		   "nobody");
	EXPECT_STR(who_ask(block_log, who_q(U, 1080, IPPROTO_UDP, "2026-12-03T06:05:00Z")),
		   "nobody");
	/* released, then given to another host: each at its time */
	EXPECT_STR(who_ask(block_log, who_q(U, 1030, IPPROTO_UDP, "2026-12-03T06:15:00Z")),
		   "udp 10.0.0.9:7 2026-12-03T06:03:00 -;");
	EXPECT_STR(who_ask(block_log, who_q(U, 1030, IPPROTO_TCP, "2026-12-03T06:15:00Z")),
		   "nobody");
	EXPECT_STR(who_ask(block_log, who_q(U, 1030, IPPROTO_TCP, "2026-12-03T06:22:00Z")),
		   "block 1024-1039 10.0.0.4 2026-12-03T06:20:00 2026-12-03T06:25:00;");
	/* another address's block of the same ports */
	EXPECT_STR(who_ask(block_log, who_q("192.0.2.10", 1030, 0, "2026-12-03T06:35:00Z")),
		   "block 1024-1039 10.0.0.5 2026-12-03T06:30:00 -;");
	EXPECT_STR(who_ask(block_log, who_q(U, 1030, IPPROTO_TCP, "2026-12-03T06:35:00Z")),
		   "nobody");
	/* a wider block (new geometry) over the port */
	EXPECT_STR(who_ask(block_log, who_q(U, 1080, IPPROTO_TCP, "2026-12-03T06:45:00Z")),
		   "block 1024-1087 10.0.0.6 2026-12-03T06:40:00 2026-12-03T07:00:00 T;");
	/* a new for another host ends the open block (its del was lost);
	 * the lost line is before it */
	EXPECT_STR(who_ask(block_log, who_q(U, 1030, IPPROTO_TCP, "2026-12-03T07:05:00Z")),
		   "block 1024-1087 10.0.0.7 2026-12-03T07:00:00 -;");
	/* a del with no new: since the previous del of a block holding it */
	EXPECT_STR(who_ask(block_log, who_q(U, 1100, IPPROTO_TCP, "2026-12-03T07:05:00Z")),
		   "block 1088-1151 10.0.0.8 2026-12-03T06:00:00 2026-12-03T07:10:00 F L;");
	/* the printed answer */
	{
		struct ml_query q = who_q(U, 1030, IPPROTO_TCP, "2026-12-03T06:22:00Z");
		struct ml_answer a;
		struct ml_log l;

		ml_log_init(&l, &q);
		who_feed(&l, block_log);
		EXPECT(l.bad == 0);
		ml_who(l.v, l.n, l.start, &q, &a);
		cap_start(false, false);
		EXPECT(ml_who_print(&a, &l, &q, "m.log") == 0);
		EXPECT_STR(cap_end(), "block 192.0.2.1:1024-1039 10.0.0.4 from 2026-12-03T06:20:00.000000Z to 2026-12-03T06:25:00.000000Z\n");
		free(cap_buf);
		cap_start(true, false);
		EXPECT(ml_who_print(&a, &l, &q, "m.log") == 0);
		EXPECT_STR(cap_end(),
			"[{\"proto\":null,\"external_address\":\"192.0.2.1\",\"external_port\":1030,"
			"\"block_first\":1024,\"block_last\":1039,"
			"\"internal_address\":\"10.0.0.4\",\"internal_port\":null,"
			"\"from\":\"2026-12-03T06:20:00.000000Z\",\"to\":\"2026-12-03T06:25:00.000000Z\","
			"\"flows\":null,\"certain\":true}]\n");
		save_json("who-block", cap_buf);
		free(cap_buf);
		free(a.v);
		free(l.v);
	}
	/* what log writes, who reads: a file with both kinds of line */
	{
		char dir[64], path[128], cmd[160];
		struct ml_query q = who_q(U, 1030, 0, "2026-12-03T06:30:30Z");
		struct ml_answer a;
		struct ml_log l;

		snprintf(dir, sizeof(dir), "/tmp/natk-block-test.%d", (int)getpid());
		EXPECT(mkdir(dir, 0700) == 0);
		snprintf(path, sizeof(path), "%s/m.log", dir);
		ml_out_init(&o);
		o.path = path;
		EXPECT(ml_file_open(&o) == 0);
		e = mk_block(ML_NEW, T0, "10.0.0.5", U, 1024, 1039);
		ml_emit(&o, &e);
		e.kind = ML_DEL;
		e.ns = T0 + MIN;
		ml_emit(&o, &e);
		e = mk_ev(ML_NEW, T0 + 2 * MIN, IPPROTO_UDP, "10.0.0.6", 6, U, 1030);
		ml_emit(&o, &e);
		close(o.fd);
		ml_log_init(&l, &q);
		EXPECT(ml_log_read(&l, path, cmd, sizeof(cmd)) == 0 && l.bad == 0 &&
		       l.n == 3);
		ml_who(l.v, l.n, l.start, &q, &a);
		EXPECT(a.n == 1 && a.v[0].block && a.v[0].int_addr == htonl(0x0a000005) &&
		       a.v[0].from == T0 && a.v[0].to == T0 + MIN);
		free(a.v);
		q.at = T0 + 3 * MIN;
		ml_who(l.v, l.n, l.start, &q, &a);
		EXPECT(a.n == 1 && !a.v[0].block && a.v[0].int_addr == htonl(0x0a000006));
		free(a.v);
		free(l.v);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		EXPECT(system(cmd) == 0);
	}
}

/* set accounting on|off: parsing, the request, status, save and apply. */
static void test_accounting(void)
{
	struct natk_conf c = {};
	struct natk_status st = {};
	struct nlattr *tb[NATK_A_MAX + 1];
	char err[256], *s;
	struct nl_msg *m;

	/* the values, an abbreviation of the setting, the request */
	{
		static const char *const good[] = { "on", "off", "of" };
		static const uint8_t want[] = { 1, 0, 0 };
		static const char *const bad[] = {
			"yes", "1", "0", "ON", "o", "", "enabled", "offf",
		};

		for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
			char *a[] = { "acc", (char *)good[i] };

			memset(&c, 0, sizeof(c));
			c.accounting = 7;
			EXPECT(conf_parse_setting(&c, 2, a, true, err, sizeof(err)) == 2);
			EXPECT(c.have == HAVE_ACCOUNTING && c.accounting == want[i]);
		}
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			char *a[] = { "accounting", (char *)bad[i] };
			char want_err[128];

			memset(&c, 0, sizeof(c));
			snprintf(want_err, sizeof(want_err),
				 "invalid accounting '%s': expected on or off (", bad[i]);
			err[0] = '\0';
			if (conf_parse_setting(&c, 2, a, true, err, sizeof(err)) >= 0 ||
			    !strstr(err, want_err) || c.have) {
				fprintf(stderr, "accounting '%s': got '%s'\n", bad[i], err);
				failures++;
			}
		}
		/* the file takes only the whole words */
		{
			char *a[] = { "accounting", "of" }, *b[] = { "acc", "on" };

			memset(&c, 0, sizeof(c));
			EXPECT(conf_parse_setting(&c, 2, a, false, err, sizeof(err)) < 0);
			EXPECT(conf_parse_setting(&c, 2, b, false, err, sizeof(err)) < 0 &&
			       strstr(err, "unknown setting 'acc'") &&
			       strstr(err, "accounting"));
		}
		{
			char *a[] = { "accounting" };
			char *two[] = { "accounting", "on", "accounting", "off" };
			char *amb[] = { "a", "on" };

			memset(&c, 0, sizeof(c));
			EXPECT(conf_parse_setting(&c, 1, a, true, err, sizeof(err)) < 0 &&
			       strstr(err, "'accounting' needs a value: on or off"));
			EXPECT(conf_parse_setting(&c, 4, two, true, err, sizeof(err)) == 2);
			EXPECT(conf_parse_setting(&c, 2, two + 2, true, err, sizeof(err)) < 0 &&
			       strstr(err, "'accounting' given twice"));
			/* addresses, accounting */
			EXPECT(conf_parse_setting(&c, 2, amb, true, err, sizeof(err)) < 0 &&
			       strstr(err, "ambiguous setting 'a'"));
		}
		EXPECT(strstr(conf_keywords(), ", accounting"));
		for (int k = 0; k < 3; k++) {
			memset(&c, 0, sizeof(c));
			if (k < 2) {
				c.have = HAVE_ACCOUNTING;
				c.accounting = (uint8_t)k;
			}
			m = genl_msg(NATK_CMD_SET_CONFIG);
			conf_put_attrs(m, &c);
			EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
			if (k < 2)
				EXPECT(tb[NATK_A_ACCOUNTING] &&
				       nla_len(tb[NATK_A_ACCOUNTING]) == 1 &&
				       nla_get_u8(tb[NATK_A_ACCOUNTING]) == k);
			else
				EXPECT(!tb[NATK_A_ACCOUNTING]);
			nlmsg_free(m);
		}
	}

	/* status: after fast-path; an older module: nothing */
	m = addr_config(NATK_ADDRS_PRIMARY, false);
	nla_put_u8(m, NATK_A_FAST_PATH, NATK_FAST_PATH_AUTO);
	nla_put_u8(m, NATK_A_FAST_PATH_WHY, NATK_FP_ACTIVE);
	nla_put_u8(m, NATK_A_ACCOUNTING, 1);
	EXPECT(config_cb(m, &st) == NL_OK);
	nlmsg_free(m);
	EXPECT(st.accounting == 1 && status_has(&st, NATK_A_ACCOUNTING));
	for (int k = 0; k < 3; k++) {
		static const char *const text[] = {
			"\n  fast-path: auto (active)\n  accounting: on\n",
			"\n  fast-path: auto (active)\n  accounting: off\n",
		};
		static const char *const want_json[] = {
			"\"fast_path_state\":\"active\",\"accounting\":true,",
			"\"fast_path_state\":\"active\",\"accounting\":false,",
		};

		if (k == 1)
			st.accounting = 0;
		if (k == 2)
			st.present &= ~(1ull << NATK_A_ACCOUNTING);
		cap_start(false, false);
		status_print(&st, NULL, 0);
		s = cap_end();
		EXPECT(k == 2 ? !strstr(s, "accounting") : !!strstr(s, text[k]));
		free(s);
		cap_start(true, false);
		status_print(&st, NULL, 0);
		s = cap_end();
		EXPECT(k == 2 ? !strstr(s, "accounting") : !!strstr(s, want_json[k]));
		if (k == 0)
			save_json("status-accounting", s);
		free(s);
	}

	/* save writes it, apply reads it back and sends it */
	for (int k = 0; k < 3; k++) {
		struct file_conf fc = {};

		m = addr_config(NATK_ADDRS_PRIMARY, false);
		if (k < 2)
			nla_put_u8(m, NATK_A_ACCOUNTING, (uint8_t)!k);
		s = saved_config(m, &st, &fc);
		if (k == 0)
			EXPECT(strstr(s, "\naccounting on\n"));
		else if (k == 1)
			EXPECT(strstr(s, "\naccounting off\n"));
		else
			EXPECT(!strstr(s, "accounting"));	/* an older module */
		EXPECT(!(fc.c.have & HAVE_ACCOUNTING) == (k == 2));
		EXPECT(k == 2 || fc.c.accounting == !k);
		m = genl_msg(NATK_CMD_SET_CONFIG);
		conf_put_attrs(m, &fc.c);
		EXPECT(genlmsg_parse(nlmsg_hdr(m), 0, tb, NATK_A_MAX, NULL) == 0);
		/* left out: NATK_A_RESET's default, off */
		EXPECT(k == 2 ? !tb[NATK_A_ACCOUNTING] :
		       tb[NATK_A_ACCOUNTING] && nla_get_u8(tb[NATK_A_ACCOUNTING]) == !k);
		nlmsg_free(m);
		/* a module without it: the line is named, with what to do */
		st.present &= ~(1ull << NATK_A_ACCOUNTING);
		err_start();
		EXPECT(apply_name_unsupported("saved", &fc, &st) == (k < 2));
		{
			char *e = err_end();

			EXPECT(k == 2 ? !*e :
			       !!strstr(e, ": accounting: the loaded natk.ko is too old for this setting: upgrade natk"));
			free(e);
		}
		{
			const char *u = conf_unsupported(&fc.c, &st);

			EXPECT(k == 2 ? !u : u && !strcmp(u, "accounting"));
		}
		st.present |= 1ull << NATK_A_ACCOUNTING;
		EXPECT(!conf_unsupported(&fc.c, &st));
		free(fc.fwd);
		free(fc.fwd_line);
		free(fc.line_conf);
		free(fc.line_no);
		free(s);
	}
	/* a file a person writes */
	{
		static const char good[] = "external wan0\naccounting on\n";
		static const char *const bad[] = {
			"accounting maybe\n", "accounting on off\n", "accounting\n",
			"accounting on\naccounting off\n", "acc on\n",
		};
		struct file_conf fc = {};
		FILE *fp;

		fp = fmemopen((void *)good, strlen(good), "r");
		EXPECT(parse_file("good", fp, &fc) == 0);
		fclose(fp);
		EXPECT((fc.c.have & HAVE_ACCOUNTING) && fc.c.accounting == 1 &&
		       fc.nlines == 2);
		free(fc.line_conf);
		free(fc.line_no);
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			memset(&fc, 0, sizeof(fc));
			fp = fmemopen((void *)bad[i], strlen(bad[i]), "r");
			err_start();
			if (parse_file("bad", fp, &fc) != 1) {
				fprintf(saved_stderr, "apply accepted: %s", bad[i]);
				failures++;
			}
			free(err_end());
			fclose(fp);
			free(fc.fwd);
			free(fc.fwd_line);
			free(fc.line_conf);
			free(fc.line_no);
		}
	}
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
	run("times", test_times);
	run("maplog", test_maplog);
	run("journal", test_journal);
	run("who", test_who);
	run("flowfile", test_flowfile);
	run("sync", test_sync);
	run("addresses", test_addresses);
	run("addr-save-apply", test_addr_save_apply);
	run("addr-forwards", test_addr_forwards);
	run("addr-metrics", test_addr_metrics);
	run("blocks", test_blocks);
	run("block-log", test_block_log);
	run("accounting", test_accounting);
	if (failures) {
		fprintf(stderr, "test_unit: %d failure(s)\n", failures);
		return 1;
	}
	fprintf(stderr, "test_unit: all passed\n");
	return 0;
}
