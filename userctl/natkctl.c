// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl: configure natk, the in-kernel IPv4 masquerading NAT.
 *
 *   natkctl [-j] [-p] [-n NETNS] COMMAND [ARGS]
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natkctl.h"
#include "metrics.h"

const char *netns_name;

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "status", cmd_status, "status",
	  "show whether natk runs, its configuration and port forwards" },
	{ "stats", cmd_stats,
	  "stats [-o text|json|prometheus|cloudwatch-emf] [file PATH]\n"
	  "             [interval SECONDS] [count N] [namespace NAME]",
	  "show the counters; -o prometheus or cloudwatch-emf for metric collectors" },
	{ "flows", cmd_flows,
	  "flows [count|del] [FILTER]...\n"
	  "       natkctl flows save|restore FILE\n"
	  "  FILTER := proto tcp|udp|icmp | internal ADDR[:PORT] | remote ADDR[:PORT] |\n"
	  "            external-port PORT | state STATE | id ID\n"
	  "  FILE := a flow file ('-': standard output or input)",
	  "list, count or delete the flows (translations), optionally filtered; save and restore them" },
	{ "set", cmd_set,
	  "set SETTING VALUE [SETTING VALUE]...\n"
	  "  SETTING VALUE := external IFNAME | ports LO-HI | max-flows N |\n"
	  "                   max-flows-per-host N | timeout NAME SECONDS |\n"
	  "                   mapping endpoint-independent|address-port-dependent |\n"
	  "                   filtering address-port-dependent|address-dependent|endpoint-independent |\n"
	  "                   mss-clamp pmtu|VALUE|off | port-hold SECONDS|off |\n"
	  "                   fast-path auto|on|off | internal PREFIX[,PREFIX]...|all |\n"
	  "                   no-nat PREFIX[,PREFIX]...|none |\n"
	  "                   addresses primary|all|ADDRS |\n"
	  "                   port-block SIZE|off | port-blocks-per-host N |\n"
	  "                   accounting on|off\n"
	  "  NAME := tcp-established | tcp-transitory | udp | icmp\n"
	  "  PREFIX := A.B.C.D/LEN | A.B.C.D\n"
	  "  ADDRS := ADDR[,ADDR|ADDR-ADDR]... (at most 16 ranges, 32 addresses)\n"
	  "  SIZE := ports a block, 8 to 4096; N := blocks a host may hold, 1 to 32",
	  "change the configuration; \"set external IFNAME\" starts masquerading" },
	{ "down", cmd_down, "down",
	  "stop masquerading and drop all flows (other settings are kept)" },
	{ "flush", cmd_flush, "flush",
	  "drop all dynamic flows (port forwards stay)" },
	{ "forward", cmd_forward,
	  "forward { add tcp|udp PORT ADDR[:PORT] [address EXTADDR] |\n"
	  "                 del tcp|udp PORT [address EXTADDR] | list }\n"
	  "  EXTADDR := the external address the forward is on (default: the primary)",
	  "manage static port forwards" },
	{ "monitor", cmd_monitor,
	  "monitor [count N] [event new|update|destroy|state] [FILTER]...\n"
	  "  FILTER := as for flows (flow events only)",
	  "print flow creation, updates and destruction, and natk's state changes, as they happen" },
	{ "log", cmd_log,
	  "log [file PATH [max-size SIZE] [keep N]] [journal [rate N]]",
	  "write the mapping log: which internal endpoint got which external port, when" },
	{ "who", cmd_who,
	  "who ADDR:PORT [proto tcp|udp|icmp] [at TIME [log PATH]]\n"
	  "  TIME := 2026-12-03T06:30:00Z | \"2026-12-03 06:30:00\" (UTC) |\n"
	  "          2026-12-03T07:30:00+01:00 | now | -5m | -2h | -1d",
	  "which internal host has, or had at a time, an external address and port" },
	{ "sync", cmd_sync,
	  "sync { run [config FILE] [OPTION VALUE]... | status | flows | commit | resync } [socket PATH]\n"
	  "       natkctl sync genkey\n"
	  "  OPTION := peer ADDR[:PORT] | listen ADDR[:PORT] | key-file PATH",
	  "HA pair: ship flows to the peer and hold its flows, import them on failover (docs/ha.md)" },
	{ "apply", cmd_apply, "apply [--check] FILE",
	  "apply a configuration file (such as /etc/natk.conf); --check only validates it" },
	{ "save", cmd_save, "save [FILE]",
	  "print the running configuration in the configuration file format, or replace FILE with it" },
	{ "doctor", cmd_doctor, "doctor [config FILE]",
	  "check the NAT host (forwarding, routes, natk, service, configuration) and say what to fix" },
	{ "supervise", cmd_supervise, "supervise [standby]",
	  "natk.service's main process: tell systemd whether NAT runs, exit when it stops" },
	{ "help", cmd_help, "help [COMMAND]",
	  "show help for all commands or for one" },
};

static const char *cmd_names[ARRAY_SIZE(cmds)];

static void vfail(int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), noreturn));

static void vfail(int code, const char *fmt, va_list ap)
{
	print_flush();
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(code);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(NK_EXIT_FAILED, fmt, ap);
}

void input_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(NK_EXIT_USAGE, fmt, ap);
}

void warnmsg(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct cmd *find_cmd_exact(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

void usage_fail(const char *cmd, const char *fmt, ...)
{
	const struct cmd *c = find_cmd_exact(cmd);
	va_list ap;

	print_flush();
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c)
		fprintf(stderr, "Usage: " PROG " %s\n", c->usage);
	exit(NK_EXIT_USAGE);
}

int match_word(const char *word, const char *const *names, size_t n,
	       bool prefix_ok)
{
	size_t len = strlen(word);
	int found = -1;

	if (!len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		if (!strcmp(word, names[i]))
			return (int)i;
	}
	if (!prefix_ok)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!names[i] || strncmp(word, names[i], len))
			continue;
		if (found >= 0)
			return -2;
		found = (int)i;
	}
	return found;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Options (before the command):\n"
		"  -j, --json         JSON output\n"
		"  -p, --pretty       indented JSON (with -j)\n"
		"  -n, --netns NETNS  act on network namespace NETNS (/run/netns/NETNS)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Commands (an unambiguous prefix is enough):\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nRun \"" PROG " help COMMAND\" for a command's arguments; "
		   "see natkctl(8).\n");
}

static int cmd_help(int argc, char **argv)
{
	int i;

	if (argc == 0) {
		print_usage(stdout);
		return 0;
	}
	if (argc > 1)
		usage_fail("help", "too many arguments");
	i = match_word(argv[0], cmd_names, ARRAY_SIZE(cmds), true);
	if (i == -2)
		input_fail("ambiguous command '%s' (run: " PROG " help)", argv[0]);
	if (i < 0)
		input_fail("unknown command '%s' (run: " PROG " help)", argv[0]);
	printf("Usage: " PROG " %s\n\n%s\n", cmds[i].usage, cmds[i].help);
	return 0;
}

static void ambiguous(const char *word)
{
	size_t len = strlen(word);
	bool first = true;

	fprintf(stderr, PROG ": ambiguous command '%s': could be", word);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strncmp(word, cmds[i].name, len))
			continue;
		fprintf(stderr, "%s %s", first ? "" : ",", cmds[i].name);
		first = false;
	}
	fputc('\n', stderr);
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "netns",	required_argument,	NULL, 'n' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static char stdout_buf[1 << 16];
	bool json = false, pretty = false;
	int c, i, ret;

	for (i = 0; i < (int)ARRAY_SIZE(cmds); i++)
		cmd_names[i] = cmds[i].name;

	opterr = 0;
	/* '+': options end at the command, as in ip(8). */
	while ((c = getopt_long(argc, argv, "+jpn:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			pretty = true;
			break;
		case 'n':
			netns_name = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		case 'V':
			printf(PROG " %s\n", NATKCTL_VERSION);
			return 0;
		default:
			if (optopt == 'n')
				fprintf(stderr, PROG ": option -n needs a network namespace name\n");
			else if (optopt)
				fprintf(stderr, PROG ": unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, PROG ": unknown option '%s'\n",
					argv[optind - 1]);
			fprintf(stderr, "Usage: " PROG " [-j] [-p] [-n NETNS] COMMAND [ARGS] (try: " PROG " -h)\n");
			return 1;
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		return 1;
	}

	i = match_word(argv[optind], cmd_names, ARRAY_SIZE(cmds), true);
	if (i == -2)
		ambiguous(argv[optind]);
	if (i < 0) {
		fprintf(stderr, PROG ": unknown command '%s' (try: " PROG " -h)\n",
			argv[optind]);
		return 1;
	}

	setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));
	print_init(json, pretty);
	ret = cmds[i].fn(argc - optind - 1, argv + optind + 1);
	print_flush();
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, PROG ": write error: %s\n", strerror(errno));
		return 1;
	}
	return ret;
}
