/* SPDX-License-Identifier: GPL-2.0 */
/*
 * natkctl stats -o prometheus|cloudwatch-emf (metrics.c) and natkctl
 * doctor (doctor.c). Kept apart from natkctl.h so that these files stand
 * on their own.
 */
#ifndef NATKCTL_METRICS_H
#define NATKCTL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/natk.h>

/* status.c: one NATK_CMD_GET_STATS; 0 or a negative errno. */
int stats_get(uint64_t v[NATK_STAT_MAX + 1]);

/* metrics.c: natkctl stats with arguments (-o FORMAT ...). */
int stats_output(int argc, char **argv);

/* doctor.c */
int cmd_doctor(int argc, char **argv);

#endif
