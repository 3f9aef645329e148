// SPDX-License-Identifier: GPL-2.0
/*
 * natk race windows, built only with NATK_RACE=y (make check-debug): each
 * natk_race() point (natk.h) waits a while, so that a flush, a GC pass,
 * another CPU's packet or rmmod lands inside the window that a normal
 * build keeps a few instructions wide. Never in a production build.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/random.h>
#include "natk.h"

static unsigned int race_delay_us = 200;
module_param(race_delay_us, uint, 0644);
MODULE_PARM_DESC(race_delay_us, "test build: delay at each race window (us)");

static unsigned int race_one_in = 4;
module_param(race_one_in, uint, 0644);
MODULE_PARM_DESC(race_one_in, "test build: widen one window in this many");

void natk_race(struct natk_net *nn, enum natk_race_point p, void *obj)
{
	unsigned int one_in = READ_ONCE(race_one_in);

	if (one_in && get_random_u32_below(one_in) == 0)
		udelay(min(READ_ONCE(race_delay_us), 2000U));
}
