// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl flows save FILE, natkctl flows restore FILE: the flow table in a
 * file, so that connections survive a module reload (natk-stop saves,
 * natk-start restores; natkctl(8), FLOW FILE).
 *
 * save writes FILE.tmp (mode 0600: internal addresses), fsyncs and renames
 * it: FILE is whole or as it was. restore parses the whole file before it
 * sends anything, then imports each flow with NATK_CMD_FLOW_ADD, many
 * requests to a datagram, and counts what the kernel answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "natkctl.h"

/* Requests in flight: their acks (an error's carries the request and the
 * kernel's message, about 1 KiB of buffer each) fit any receive buffer. */
#define RESTORE_WINDOW		64
/* Refused flows named one by one; the rest are counted. */
#define RESTORE_SHOW_MAX	20
/* Bad lines named one by one before giving up. */
#define PARSE_SHOW_MAX		20

/* ---- save ---- */

/*
 * The header and a line per flow on fp; *skipped: flows that cannot be
 * written (a protocol or TCP state newer than this natkctl). Returns how
 * many were written.
 */
static size_t flows_write(FILE *fp, const struct flow *v, size_t n,
			  uint64_t now_ns, size_t *skipped)
{
	char line[FLOW_LINE_MAX], t[TIME_STRLEN];
	size_t written = 0, len;

	*skipped = 0;
	format_time(now_ns, t, sizeof(t));
	fprintf(fp, "# natk flows, saved %s by natkctl flows save; restore with natkctl flows restore FILE\n",
		t);
	for (size_t i = 0; i < n; i++) {
		len = flow_format_line(&v[i], line, sizeof(line));
		if (!len) {
			(*skipped)++;
			continue;
		}
		fwrite(line, 1, len, fp);
		written++;
	}
	return written;
}

/* FILE.tmp while save writes it: removed if natkctl exits before the rename. */
static char save_tmp[PATH_MAX];

static void save_tmp_cleanup(void)
{
	if (save_tmp[0])
		unlink(save_tmp);
}

/* Write failed: say why, remove the temporary file, exit 1. */
static void save_fail(const char *path, const char *what, int err)
	__attribute__((noreturn));

static void save_fail(const char *path, const char *what, int err)
{
	save_tmp_cleanup();
	save_tmp[0] = '\0';
	input_fail("flows save: cannot %s %s: %s", what, path, strerror(err));
}

/*
 * Open FILE.tmp, fresh (a stale one, or a link planted there, is removed
 * first), mode 0600 whatever the umask. Before the dump: a FILE that
 * cannot be written costs no dump.
 */
static FILE *save_open_tmp(const char *path)
{
	struct stat sb;
	int fd, n;
	FILE *fp;

	if (!*path)
		input_fail("flows save: empty file name");
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
		input_fail("flows save: %s is not a regular file", path);
	n = snprintf(save_tmp, sizeof(save_tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(save_tmp)) {
		save_tmp[0] = '\0';
		input_fail("flows save: file name too long: %s", path);
	}
	if (unlink(save_tmp) < 0 && errno != ENOENT) {
		int e = errno;

		save_tmp[0] = '\0';
		input_fail("flows save: cannot replace %s.tmp: %s", path,
			   strerror(e));
	}
	fd = open(save_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		int e = errno;

		save_tmp[0] = '\0';
		input_fail("flows save: cannot write %s.tmp: %s", path,
			   strerror(e));
	}
	atexit(save_tmp_cleanup);
	if (fchmod(fd, 0600) < 0)
		save_fail(save_tmp, "set the mode of", errno);
	fp = fdopen(fd, "w");
	if (!fp)
		save_fail(save_tmp, "write", errno);
	return fp;
}

/* fsync FILE.tmp, rename it over FILE, fsync the directory (best effort). */
static void save_commit(const char *path, FILE *fp)
{
	char dir[PATH_MAX];
	int fd;

	if (fflush(fp) == EOF || ferror(fp) || fsync(fileno(fp)) < 0) {
		int e = errno ? errno : EIO;

		fclose(fp);
		save_fail(save_tmp, "write", e);
	}
	if (fclose(fp) == EOF)
		save_fail(save_tmp, "write", errno);
	if (rename(save_tmp, path) < 0) {
		int e = errno;

		save_tmp_cleanup();
		save_tmp[0] = '\0';
		input_fail("flows save: cannot rename %s.tmp to %s: %s", path,
			   path, strerror(e));
	}
	save_tmp[0] = '\0';
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* "saved N flows to FILE" (-j: {"saved": N, "file": FILE}). */
static void save_summary(size_t written, const char *path)
{
	print_open_object(NULL);
	print_u64(PRINT_ANY, "saved", "saved %u", written);
	print_string(PRINT_ANY, "file", " flows to %s\n", path);
	print_close_object();
	print_end();
}

/* natkctl flows save FILE|-: the whole flow table. */
int flows_save(int argc, char **argv)
{
	struct flow_filter ff = {};
	struct flow *v = NULL;
	size_t n = 0, written, skipped;
	const char *path;
	FILE *fp;

	if (argc != 1)
		usage_fail("flows", argc ? "flows save takes one FILE" :
			   "flows save needs a FILE ('-': standard output)");
	path = argv[0];
	fp = strcmp(path, "-") ? save_open_tmp(path) : stdout;
	flows_get_all(&ff, &v, &n);
	written = flows_write(fp, v, n, now_realtime_ns(), &skipped);
	free(v);
	if (skipped)
		warnmsg("flows save: warning: left out %zu flow%s of a protocol or TCP state this natkctl does not know (is natk.ko newer than natkctl?)",
			skipped, skipped > 1 ? "s" : "");
	if (fp == stdout)
		return 0;
	save_commit(path, fp);
	save_summary(written, path);
	return 0;
}

/* ---- restore ---- */

struct flow_list {
	struct flow *v;
	unsigned int *line;	/* each flow's line in the file */
	size_t n, cap;
};

/*
 * Read a flow file: every bad line is named (the first PARSE_SHOW_MAX) as
 * "flows restore: NAME:LINE: what"; returns how many were bad.
 */
static size_t flows_read(const char *name, FILE *fp, struct flow_list *l)
{
	char *buf = NULL, err[256];
	size_t cap = 0, bad = 0;
	unsigned int lineno = 0;
	ssize_t len;
	struct flow f;

	while ((len = getline(&buf, &cap, fp)) >= 0) {
		const char *p = buf;

		lineno++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			continue;
		if (!flow_parse_line(buf, &f, err, sizeof(err))) {
			if (bad < PARSE_SHOW_MAX)
				warnmsg("flows restore: %s:%u: %s", name, lineno, err);
			bad++;
			continue;
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 1024;
			l->v = realloc(l->v, l->cap * sizeof(*l->v));
			l->line = realloc(l->line, l->cap * sizeof(*l->line));
			if (!l->v || !l->line)
				fail("out of memory (%zu flows)", l->n);
		}
		l->v[l->n] = f;
		l->line[l->n++] = lineno;
	}
	if (ferror(fp)) {
		warnmsg("flows restore: %s: read error: %s", name, strerror(errno));
		bad++;
	} else if (bad > PARSE_SHOW_MAX) {
		warnmsg("flows restore: %s: ... and %zu more bad lines", name,
			bad - PARSE_SHOW_MAX);
	}
	free(buf);
	return bad;
}

/* What the kernel answered, flow by flow. */
struct restore {
	const char *name;
	const struct flow_list *l;
	size_t base;		/* the batch's first flow in l */
	size_t restored, present, refused, shown;
	int fatal;		/* EOPNOTSUPP, EPERM: no flow can be restored */
	bool seen_ok;		/* the module takes NATK_FLOW_A_SEEN */
};

static struct nl_msg *restore_build(size_t i, void *arg)
{
	const struct restore *r = arg;

	return flow_add_msg(&r->l->v[r->base + i], false, r->seen_ok);
}

/* The kernel's answer for flow i (nk_extack: its message). */
static void restore_done(size_t i, int err, void *arg)
{
	struct restore *r = arg;

	i += r->base;
	if (!err) {
		r->restored++;
		return;
	}
	if (err == -EEXIST) {
		r->present++;
		return;
	}
	/* An older natk.ko (no such command), no CAP_NET_ADMIN. */
	if (err == -EOPNOTSUPP || (err == -EPERM && !nk_extack[0])) {
		r->fatal = err;
		return;
	}
	r->refused++;
	if (r->shown < RESTORE_SHOW_MAX) {
		warnmsg("flows restore: %s:%u: refused: %s", r->name,
			r->l->line[i], nk_extack[0] ? nk_extack : strerror(-err));
		r->shown++;
	}
}

/* After the last answer: the count of refusals not named, the summary. */
static void restore_summary(const struct restore *r)
{
	if (r->refused > r->shown)
		warnmsg("flows restore: ... and %zu more refused",
			r->refused - r->shown);
	print_open_object(NULL);
	print_u64(PRINT_ANY, "restored", "restored %u flows", r->restored);
	print_u64(PRINT_ANY, "present", " (%u present", r->present);
	print_u64(PRINT_ANY, "refused", ", %u refused)\n", r->refused);
	print_close_object();
	print_end();
}

/* flows l[base..base+n) to the kernel; exits when it cannot go on. */
static void restore_send(struct restore *r, size_t base, size_t n,
			 size_t window)
{
	int err;

	r->base = base;
	err = nk_request_batch(n, window, restore_build, restore_done, r);
	if (r->fatal == -EOPNOTSUPP)
		fail("flows restore: the loaded natk.ko is too old to restore flows (it has no NATK_CMD_FLOW_ADD): upgrade natk and reload the module before saving and restoring flows");
	if (r->fatal)
		nk_fail("flows restore", r->fatal);
	if (err)
		fail("flows restore: %s: %s; %zu flows restored, %zu present, %zu refused before that (restoring again is safe: a flow already there counts as present)",
		     strerror(-err), nk_extack, r->restored, r->present,
		     r->refused);
}

/* natkctl flows restore FILE|-: import the flows of FILE. */
int flows_restore(int argc, char **argv)
{
	struct flow_list l = {};
	struct restore r = {};
	struct natk_status st;
	char why[128];
	const char *name;
	size_t bad;
	FILE *fp;
	int err;

	if (argc != 1)
		usage_fail("flows", argc ? "flows restore takes one FILE" :
			   "flows restore needs a FILE ('-': standard input)");
	if (strcmp(argv[0], "-")) {
		name = argv[0];
		fp = fopen(name, "r");
		if (!fp)
			input_fail("flows restore: cannot read %s: %s", name,
				   strerror(errno));
	} else {
		name = "<stdin>";
		fp = stdin;
	}
	bad = flows_read(name, fp, &l);
	if (fp != stdin)
		fclose(fp);
	if (bad)
		input_fail("flows restore: %s: %zu bad line%s, nothing restored",
			   name, bad, bad > 1 ? "s" : "");

	/* Flows are made under the external address natk masquerades with. */
	err = status_get(&st);
	if (err)
		nk_fail("flows restore", err);
	if (st.state == NATK_STATE_DOWN)
		fail("flows restore: natk is not masquerading: set the external interface first (natkctl apply /etc/natk.conf, or natkctl set external IFNAME), then restore; nothing restored");
	if (st.state != NATK_STATE_ACTIVE)
		fail("flows restore: natk is not masquerading: %s; restore once it masquerades (natkctl status); nothing restored",
		     status_state_text(&st, why, sizeof(why)));

	r.name = name;
	r.l = &l;
	r.seen_ok = flow_add_takes_seen(&st);
	if (l.n) {
		nk_set_rcvbuf(4 << 20);
		/* The first alone: an older natk.ko refuses them all. */
		restore_send(&r, 0, 1, 1);
		restore_send(&r, 1, l.n - 1, RESTORE_WINDOW);
	}
	restore_summary(&r);
	free(l.v);
	free(l.line);
	return r.refused ? NK_EXIT_FAILED : 0;
}
