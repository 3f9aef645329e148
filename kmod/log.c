// SPDX-License-Identifier: GPL-2.0
/*
 * natk kernel log lines: what an admin must hear about without polling
 * counters. Each line starts "natk: " (and names the netns when it is not
 * the initial one). Conditions that packets can repeat (table full, port
 * pool exhausted, per-host limit) are logged at most once a minute each:
 * per netns, per protocol's pool, per internal host. State changes (NAT
 * started or stopped, external address changed) are logged every time;
 * they happen in process context, at the admin's or the interface's pace.
 */
#include <linux/kernel.h>
#include <linux/printk.h>
#include "natk.h"

#define NATK_LOG_INTERVAL	(60 * HZ)

/*
 * Is a rate-limited line due (at most one a minute per @next)? Any
 * context; racing callers: one wins.
 */
bool natk_log_due(unsigned long *next)
{
	unsigned long now = jiffies, due = READ_ONCE(*next);

	if (time_before(now, due))
		return false;
	return cmpxchg(next, due, now + NATK_LOG_INTERVAL) == due;
}

void natk_log(struct natk_net *nn, int level, const char *fmt, ...)
{
	struct va_format vaf;
	char where[24] = "";
	va_list args;

	if (!net_eq(nn->net, &init_net))
		snprintf(where, sizeof(where), "netns %u: ", nn->net->ns.inum);
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (level == LOGLEVEL_WARNING)
		pr_warn("natk: %s%pV", where, &vaf);
	else if (level == LOGLEVEL_NOTICE)
		pr_notice("natk: %s%pV", where, &vaf);
	else
		pr_info("natk: %s%pV", where, &vaf);
	va_end(args);
}

/* At most once a minute for each @kind of this netns. */
void natk_log_limited(struct natk_net *nn, enum natk_log_kind kind,
		      const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (!natk_log_due(&nn->log_next[kind]))
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	natk_log(nn, LOGLEVEL_WARNING, "%pV", &vaf);
	va_end(args);
}

void natk_log_init(struct natk_net *nn)
{
	int i;

	for (i = 0; i < NATK_LOG_NUM; i++)
		nn->log_next[i] = jiffies;
}
