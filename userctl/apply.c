// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl apply FILE, natkctl save: the configuration file.
 *
 * A line is a setting as given to "natkctl set" ("ports 1024-65535",
 * "timeout udp 300", "addresses all"; "external eth0 addresses all" too)
 * or "forward tcp|udp PORT ADDR[:PORT] [address EXTADDR]". "#" starts a
 * comment. The whole file is validated before anything is sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natkctl.h"

/* internal and no-nat lists may have blanks after their commas. */
#define MAX_WORDS (2 * NATK_PREFIXES_MAX + 8)

struct file_conf {
	struct natk_conf c;
	struct natk_fwd *fwd;
	size_t nfwd, capfwd;
	unsigned int *fwd_line;
	struct natk_conf *line_conf;	/* each setting line alone */
	unsigned int *line_no;
	size_t nlines;
};

static int split(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			break;
		if (n == max)
			return -1;
		w[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (!*p)
			break;
		*p++ = '\0';
	}
	return n;
}

static int parse_forward(struct file_conf *fc, int argc, char **argv,
			 unsigned int lineno, char *err, size_t errlen)
{
	struct natk_fwd f = {};
	char name[64];
	bool has_port;

	if (argc != 4 && (argc != 6 || strcmp(argv[4], "address"))) {
		snprintf(err, errlen, "expected: forward tcp|udp PORT ADDR[:PORT] [address EXTADDR]");
		return -1;
	}
	if (!parse_proto(argv[1], false, &f.proto)) {
		snprintf(err, errlen, "invalid protocol '%s' (tcp or udp)", argv[1]);
		return -1;
	}
	if (!parse_port(argv[2], &f.ext_port)) {
		snprintf(err, errlen, "invalid port '%s' (1 to 65535)", argv[2]);
		return -1;
	}
	if (!parse_addr_port(argv[3], &f.int_addr_be, &f.int_port, &has_port)) {
		snprintf(err, errlen, "invalid internal address '%s' (ADDR or ADDR:PORT)",
			 argv[3]);
		return -1;
	}
	if (argc == 6 && !parse_ext_addr(argv[5], &f.ext_addr_be)) {
		snprintf(err, errlen, "invalid external address '%s' (A.B.C.D; leave 'address' out for the primary external address)",
			 argv[5]);
		return -1;
	}
	if (!has_port)
		f.int_port = f.ext_port;
	for (size_t i = 0; i < fc->nfwd; i++) {
		if (fc->fwd[i].proto == f.proto &&
		    fc->fwd[i].ext_port == f.ext_port &&
		    fc->fwd[i].ext_addr_be == f.ext_addr_be) {
			snprintf(err, errlen, "%s is already forwarded on line %u",
				 fwd_name(&f, name, sizeof(name)),
				 fc->fwd_line[i]);
			return -1;
		}
	}
	if (fc->nfwd == fc->capfwd) {
		size_t cap = fc->capfwd ? fc->capfwd * 2 : 16;

		fc->fwd = realloc(fc->fwd, cap * sizeof(*fc->fwd));
		fc->fwd_line = realloc(fc->fwd_line, cap * sizeof(*fc->fwd_line));
		if (!fc->fwd || !fc->fwd_line)
			fail("out of memory");
		fc->capfwd = cap;
	}
	fc->fwd_line[fc->nfwd] = lineno;
	fc->fwd[fc->nfwd++] = f;
	return 0;
}

/* Returns the number of errors, each reported as FILE:LINE: message. */
static int parse_file(const char *path, FILE *fp, struct file_conf *fc)
{
	char *line = NULL, err[256], *w[MAX_WORDS];
	size_t cap = 0;
	unsigned int lineno = 0;
	int errors = 0, n, used;

	while (getline(&line, &cap, fp) >= 0) {
		lineno++;
		n = split(line, w, MAX_WORDS);
		if (n == 0)
			continue;
		if (n < 0) {
			warnmsg("%s:%u: too many words", path, lineno);
			errors++;
			continue;
		}
		/* natkctl sync's settings: not natk.ko's (sync.c reads them). */
		if (!strcmp(w[0], "sync")) {
			if (n != 3 || !sync_setting_word(w[1])) {
				warnmsg("%s:%u: expected: sync peer|listen|key-file|socket VALUE",
					path, lineno);
				errors++;
			}
			continue;
		}
		if (!strcmp(w[0], "forward")) {
			if (parse_forward(fc, n, w, lineno, err, sizeof(err)) < 0) {
				warnmsg("%s:%u: %s", path, lineno, err);
				errors++;
			}
			continue;
		}
		if (fc->nlines % 16 == 0) {
			fc->line_conf = realloc(fc->line_conf, (fc->nlines + 16) *
						sizeof(*fc->line_conf));
			fc->line_no = realloc(fc->line_no, (fc->nlines + 16) *
					      sizeof(*fc->line_no));
			if (!fc->line_conf || !fc->line_no)
				fail("out of memory");
		}
		memset(&fc->line_conf[fc->nlines], 0, sizeof(*fc->line_conf));
		fc->line_no[fc->nlines] = lineno;
		used = conf_parse_setting(&fc->line_conf[fc->nlines], n, w,
					  false, err, sizeof(err));
		/* "external IFNAME addresses ...", as set takes it */
		if (used == 2 && n > 2 && !strcmp(w[0], "external") &&
		    !strcmp(w[2], "addresses") &&
		    conf_parse_setting(&fc->line_conf[fc->nlines], n - 2,
				       w + 2, false, err, sizeof(err)) < 0)
			used = -1;
		if (used > 0)
			fc->nlines++;
		used = conf_parse_setting(&fc->c, n, w, false, err, sizeof(err));
		if (used == 2 && n > 2 && !strcmp(w[0], "external") &&
		    !strcmp(w[2], "addresses")) {
			int more = conf_parse_setting(&fc->c, n - 2, w + 2,
						      false, err, sizeof(err));

			used = more < 0 ? more : used + more;
		}
		if (used < 0) {
			warnmsg("%s:%u: %s", path, lineno, err);
			errors++;
		} else if (used != n) {
			uint32_t a;
			uint8_t len;

			warnmsg("%s:%u: one setting per line: unexpected '%s'%s",
				path, lineno, w[used],
				parse_prefix(w[used], &a, &len) != PREFIX_SYNTAX ?
				" (separate the prefixes of a list with commas)" : "");
			errors++;
		}
	}
	if (ferror(fp)) {
		warnmsg("%s: read error: %s", path, strerror(errno));
		errors++;
	}
	free(line);
	return errors;
}

/*
 * Does the module take settings and forwards in one transaction
 * (NATK_A_FWD_REPLACE)? An older one says nothing of it in its status.
 */
static bool apply_atomic(const struct natk_status *st)
{
	return status_has(st, NATK_A_FWD_REPLACE);
}

/*
 * A module older than a setting of the file (internal, no-nat) would
 * refuse it with a bare policy error: name each such line and say what to
 * do instead. Returns how many lines were named.
 */
static int apply_name_unsupported(const char *path, const struct file_conf *fc,
				  const struct natk_status *st)
{
	const char *what;
	int bad = 0;

	for (size_t i = 0; i < fc->nlines; i++) {
		what = conf_unsupported(&fc->line_conf[i], st);
		if (!what)
			continue;
		warnmsg("%s:%u: %s: " CONF_TOO_OLD, path, fc->line_no[i], what);
		bad++;
	}
	/* A forward on one of several external addresses. */
	for (size_t i = 0; i < fc->nfwd; i++) {
		if (!fc->fwd[i].ext_addr_be ||
		    status_has(st, NATK_A_ADDRS_MODE))
			continue;
		warnmsg("%s:%u: forward ... address: " CONF_TOO_OLD, path,
			fc->fwd_line[i]);
		bad++;
	}
	return bad;
}

/*
 * Send the file as one SET_CONFIG: its settings, the rest at their
 * defaults (NATK_A_RESET) and, when atomic, its forwards as the complete
 * set (NATK_A_FWD_REPLACE), each forward's offset noted in fwd_off.
 */
static int apply_send(const struct file_conf *fc, bool atomic, bool dry_run,
		      uint32_t *fwd_off)
{
	struct nl_msg *msg;

	if (!atomic)
		return conf_request(&fc->c, true, dry_run);
	nk_open();
	msg = nk_msg_size(NATK_CMD_SET_CONFIG, 0, CONF_MSG_SIZE + fc->nfwd * 64);
	conf_put_attrs(msg, &fc->c);
	if (nla_put_flag(msg, NATK_A_RESET) < 0 ||
	    nla_put_flag(msg, NATK_A_FWD_REPLACE) < 0 ||
	    (dry_run && nla_put_flag(msg, NATK_A_DRY_RUN) < 0))
		fail("out of memory");
	for (size_t i = 0; i < fc->nfwd; i++)
		fwd_off[i] = fwd_put(msg, &fc->fwd[i]);
	return nk_request(msg, NULL, NULL, NULL);
}

/*
 * The kernel refused the file (err): name what it refused as FILE:LINE:
 * the forward its error points at, or else each setting line it refuses
 * alone. Returns how many lines were named (at least 1).
 */
static int apply_name_refused(const char *path, const struct file_conf *fc,
			      const uint32_t *fwd_off, int err)
{
	char whole[sizeof(nk_extack)];
	uint32_t off = nk_extack_off;
	int bad = 0;
	size_t i;

	snprintf(whole, sizeof(whole), "%s", nk_extack[0] ? nk_extack : strerror(-err));
	if (off && fc->nfwd && fwd_off[0] && off >= fwd_off[0]) {
		for (i = fc->nfwd - 1; i > 0 && fwd_off[i] > off; i--)
			;
		warnmsg("%s:%u: %s", path, fc->fwd_line[i], whole);
		return 1;
	}
	for (i = 0; i < fc->nlines; i++) {
		if (!conf_request(&fc->line_conf[i], false, true))
			continue;
		warnmsg("%s:%u: %s", path, fc->line_no[i],
			nk_extack[0] ? nk_extack : "refused by the kernel");
		bad++;
	}
	if (!bad)
		warnmsg("%s: %s", path, whole);
	return bad ? bad : 1;
}

/*
 * apply --check, after the file parsed: ask the kernel to validate it as it
 * would be applied (NATK_A_DRY_RUN), which checks what only the kernel
 * knows (a container's max-flows cap, limits of an older or newer module,
 * forwards against the mappings in use). Without natk loaded the offline
 * check is all: a check changes nothing, so it does not load the module
 * either (natkctl doctor runs it).
 */
static void apply_check_kernel(const char *path, const struct file_conf *fc,
			       uint32_t *fwd_off)
{
	struct natk_status st;
	bool known;
	int err, bad;

	if (!nk_module_loaded() || !nk_try_open()) {
		warnmsg("%s: natk is not loaded: checked offline only", path);
		return;
	}
	known = !status_get(&st);	/* else the kernel's answer says it */
	bad = known ? apply_name_unsupported(path, fc, &st) : 0;
	if (bad)
		input_fail("%s: the loaded natk.ko cannot take %d line%s, nothing applied",
			   path, bad, bad > 1 ? "s" : "");
	err = apply_send(fc, known && apply_atomic(&st), true, fwd_off);
	if (!err)
		return;
	/* No privilege (genetlink says nothing more); a value refused with
	 * EPERM (a container's cap) comes with the kernel's message. */
	if (err == -EPERM && !nk_extack[0])
		nk_fail("apply --check", err);
	bad = apply_name_refused(path, fc, fwd_off, err);
	input_fail("%s: the kernel refused %d line%s, nothing applied", path,
		   bad, bad > 1 ? "s" : "");
}

/* An older module: the forwards one by one, after the settings. */
static void apply_fwds_one_by_one(struct file_conf *fc)
{
	struct natk_fwd *cur = NULL;
	size_t ncur = 0;
	int err;

	err = fwd_get_all(&cur, &ncur);
	if (err)
		nk_fail("apply: port forwards", err);
	for (size_t i = 0; i < ncur; i++) {
		bool keep = false;

		for (size_t j = 0; j < fc->nfwd; j++) {
			if (cur[i].proto == fc->fwd[j].proto &&
			    cur[i].ext_port == fc->fwd[j].ext_port &&
			    cur[i].ext_addr_be == fc->fwd[j].ext_addr_be &&
			    cur[i].int_addr_be == fc->fwd[j].int_addr_be &&
			    cur[i].int_port == fc->fwd[j].int_port) {
				keep = true;
				fc->fwd[j].proto = 0;	/* already there */
				break;
			}
		}
		if (keep)
			continue;
		err = fwd_del(&cur[i]);
		if (err && err != -ENOENT)
			fwd_fail("apply: forward del", err, &cur[i]);
	}
	for (size_t j = 0; j < fc->nfwd; j++) {
		if (!fc->fwd[j].proto)
			continue;
		err = fwd_add(&fc->fwd[j]);
		if (err)
			fwd_fail("apply: forward add", err, &fc->fwd[j]);
	}
	free(cur);
}

int cmd_apply(int argc, char **argv)
{
	struct file_conf fc = {};
	struct natk_status st;
	const char *path;
	bool check = false, known, atomic;
	uint32_t *fwd_off;
	FILE *fp;
	int errors, err, bad;

	if (argc > 0 && (!strcmp(argv[0], "--check") || !strcmp(argv[0], "-c"))) {
		check = true;
		argc--;
		argv++;
	}
	if (argc != 1)
		usage_fail("apply", argc ? "too many arguments" : "apply needs a FILE");
	path = argv[0];
	if (!strcmp(path, "-")) {
		fp = stdin;
		path = "<stdin>";
	} else {
		fp = fopen(path, "r");
		if (!fp)
			fail("cannot open '%s': %s", path, strerror(errno));
	}
	errors = parse_file(path, fp, &fc);
	if (fp != stdin)
		fclose(fp);
	if (errors)
		input_fail("%s: %d error%s, nothing applied", path, errors,
		     errors > 1 ? "s" : "");
	fwd_off = calloc(fc.nfwd ? fc.nfwd : 1, sizeof(*fwd_off));
	if (!fwd_off)
		fail("out of memory");
	if (check) {
		apply_check_kernel(path, &fc, fwd_off);
		goto out;
	}

	/*
	 * Replace, as wg syncconf and nft -f: what the file does not say
	 * returns to its default, and its forwards are all there are; one
	 * transaction, all of it or nothing.
	 */
	nk_open();
	known = !status_get(&st);	/* else the kernel's answer says it */
	bad = known ? apply_name_unsupported(path, &fc, &st) : 0;
	if (bad)
		fail("%s: the loaded natk.ko cannot take %d line%s, nothing applied",
		     path, bad, bad > 1 ? "s" : "");
	atomic = known && apply_atomic(&st);
	err = apply_send(&fc, atomic, false, fwd_off);
	if (err) {
		if (err == -EPERM && !nk_extack[0])
			nk_fail("apply", err);
		bad = apply_name_refused(path, &fc, fwd_off, err);
		fail("%s: the kernel refused %d line%s, nothing applied", path,
		     bad, bad > 1 ? "s" : "");
	}
	conf_warn_missing_if(&fc.c);
	if (!atomic) {
		warnmsg("warning: natk.ko is older than natkctl: forwards are changed one by one after the settings (reload natk.ko for one transaction)");
		apply_fwds_one_by_one(&fc);
	}
out:
	free(fwd_off);
	free(fc.fwd);
	free(fc.fwd_line);
	free(fc.line_conf);
	free(fc.line_no);
	return 0;
}

struct save_state {
	const struct natk_status *st;
	const struct natk_fwd *f;
	size_t n;
	char *sync;		/* the "sync" lines of the file replaced */
};

/*
 * The "sync ..." lines of the file save replaces: natkctl sync's settings,
 * which the kernel does not hold, are kept. NULL if none.
 */
static char *save_sync_lines(const char *path)
{
	char *line = NULL, *out = NULL;
	size_t cap = 0, len = 0;
	FILE *fp, *mem;

	fp = fopen(path, "r");
	if (!fp)
		return NULL;
	mem = open_memstream(&out, &len);
	if (!mem)
		fail("out of memory");
	while (getline(&line, &cap, fp) >= 0) {
		const char *p = line + strspn(line, " \t");

		if (!strncmp(p, "sync", 4) && (p[4] == ' ' || p[4] == '\t'))
			fputs(p, mem);
	}
	free(line);
	fclose(fp);
	fclose(mem);
	if (!len) {
		free(out);
		return NULL;
	}
	return out;
}

/* "KEY A.B.C.D/LEN, ..." when the list has prefixes (empty: the default). */
static void save_prefixes(FILE *fp, const char *key,
			  const struct natk_prefix_list *l)
{
	char buf[PREFIX_STRLEN];

	if (!l->n)
		return;
	fprintf(fp, "%s", key);
	for (unsigned int i = 0; i < l->n; i++)
		fprintf(fp, "%s%s", i ? ", " : " ", prefix_str(&l->p[i], buf));
	fputc('\n', fp);
}

/* "addresses all" or "addresses A, B-C" (primary: the default, left out). */
static void save_addrs(FILE *fp, const struct natk_status *st)
{
	char buf[ADDR_RANGE_STRLEN];

	if (!status_has(st, NATK_A_ADDRS_MODE))
		return;
	if (st->addrs_mode == NATK_ADDRS_ALL) {
		fprintf(fp, "addresses all\n");
	} else if (st->addrs_mode == NATK_ADDRS_LIST && st->addrs.n) {
		fprintf(fp, "addresses");
		for (unsigned int i = 0; i < st->addrs.n; i++)
			fprintf(fp, "%s%s", i ? ", " : " ",
				addr_range_str(&st->addrs.r[i], buf));
		fputc('\n', fp);
	}
}

/* The configuration file for a save_state, on fp. */
static void save_fill(FILE *fp, const void *arg)
{
	const struct save_state *ss = arg;
	const struct natk_status *st = ss->st;
	char a[INET_ADDRSTRLEN];
	int i;

	fprintf(fp, "# natk configuration (natkctl save); load with: natkctl apply FILE\n");
	if (st->enabled && st->ifname[0])
		fprintf(fp, "external %s\n", st->ifname);
	/* primary, or not reported by an older module: the default. */
	save_addrs(fp, st);
	/* Empty, or not reported by an older module: the default. */
	save_prefixes(fp, "internal", &st->internal);
	save_prefixes(fp, "no-nat", &st->no_nat);
	fprintf(fp, "ports %u-%u\n", st->port_min, st->port_max);
	fprintf(fp, "max-flows %u\n", st->max_flows);
	fprintf(fp, "max-flows-per-host %u\n", st->max_flows_per_host);
	fprintf(fp, "mapping %s\n", status_mapping(st));
	fprintf(fp, "filtering %s\n", status_filtering(st));
	for (i = 0; i < TIMEOUT_COUNT; i++)
		fprintf(fp, "timeout %s %u\n", timeout_names[i], st->timeout[i]);
	if (st->mss_clamp == 0)
		fprintf(fp, "mss-clamp off\n");
	else if (st->mss_clamp == NATK_MSS_CLAMP_PMTU)
		fprintf(fp, "mss-clamp pmtu\n");
	else
		fprintf(fp, "mss-clamp %u\n", st->mss_clamp);
	/* An older module neither reports nor accepts it. */
	if (status_has(st, NATK_A_PORT_HOLD))
		fprintf(fp, "port-hold %u\n", st->port_hold);
	if (status_has(st, NATK_A_FAST_PATH) &&
	    st->fast_path <= NATK_FAST_PATH_MAX)
		fprintf(fp, "fast-path %s\n", fast_path_names[st->fast_path]);
	/* Neither reported nor accepted by an older module. */
	if (status_has(st, NATK_A_ACCOUNTING))
		fprintf(fp, "accounting %s\n", st->accounting ? "on" : "off");
	/* Neither are reported nor accepted by an older module. */
	if (status_has(st, NATK_A_PORT_BLOCK)) {
		if (st->port_block)
			fprintf(fp, "port-block %u\n", st->port_block);
		else
			fprintf(fp, "port-block off\n");
	}
	if (status_has(st, NATK_A_PORT_BLOCKS_PER_HOST))
		fprintf(fp, "port-blocks-per-host %u\n",
			st->port_blocks_per_host);
	for (size_t j = 0; j < ss->n; j++) {
		inet_ntop(AF_INET, &ss->f[j].int_addr_be, a, sizeof(a));
		fprintf(fp, "forward %s %u %s:%u", proto_name(ss->f[j].proto),
			ss->f[j].ext_port, a, ss->f[j].int_port);
		if (ss->f[j].ext_addr_be) {
			inet_ntop(AF_INET, &ss->f[j].ext_addr_be, a, sizeof(a));
			fprintf(fp, " address %s", a);
		}
		fputc('\n', fp);
	}
	if (ss->sync)
		fputs(ss->sync, fp);
}

static void save_print(const struct natk_status *st, const struct natk_fwd *f,
		       size_t n)
{
	struct save_state ss = { st, f, n, NULL };

	save_fill(stdout, &ss);
}

/*
 * natkctl save [FILE]: the running configuration as a file apply takes.
 * To FILE it is written whole or not at all (a temporary file, fsynced and
 * renamed), and never without an external interface: that file would not
 * start natk at the next boot.
 */
int cmd_save(int argc, char **argv)
{
	struct natk_status st;
	struct natk_fwd *f = NULL;
	struct save_state ss;
	size_t n = 0;
	int err;

	if (argc > 1)
		usage_fail("save", "save takes at most a FILE");
	err = status_get(&st);
	if (err)
		nk_fail("save", err);
	err = fwd_get_all(&f, &n);
	if (err)
		nk_fail("save: port forwards", err);
	if (argc == 0) {
		save_print(&st, f, n);
	} else {
		if (!st.enabled || !st.ifname[0])
			fail("save: natk has no external interface in this namespace, so %s would not start it at boot; left unchanged (natkctl set external IFNAME first)",
			     argv[0]);
		ss = (struct save_state){ &st, f, n, save_sync_lines(argv[0]) };
		file_write_atomic("save", argv[0], save_fill, &ss);
		free(ss.sync);
	}
	free(f);
	return 0;
}
