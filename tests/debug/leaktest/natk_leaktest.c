// SPDX-License-Identifier: GPL-2.0
/*
 * natk_leaktest: the kmemleak check's canary (tests/debug/guest-kmemleak.sh).
 *
 * Not part of natk. It leaks objects of a size nothing else allocates,
 * on purpose, so that the debug lane can prove its leak check fails when
 * an unloaded module leaves memory behind: the object is reachable only
 * from this module's data, which rmmod frees.
 */
#include <linux/module.h>
#include <linux/slab.h>

#define NATK_LEAKTEST_SIZE	4242
/*
 * Several objects, each referenced only from this module's data: kmemleak
 * scans conservatively, and a stale copy of a pointer (the exited insmod's
 * kernel stack, which the stack cache keeps allocated and scanned, or a
 * register spill) can keep one object looking referenced. It must report
 * at least one; one object alone was not reported in some runs.
 */
#define NATK_LEAKTEST_OBJS	16

static void *natk_leaktest_obj[NATK_LEAKTEST_OBJS];

static int __init natk_leaktest_init(void)
{
	int i;

	for (i = 0; i < NATK_LEAKTEST_OBJS; i++) {
		natk_leaktest_obj[i] = kzalloc(NATK_LEAKTEST_SIZE, GFP_KERNEL);
		if (!natk_leaktest_obj[i])
			return -ENOMEM;
	}
	return 0;
}

static void __exit natk_leaktest_exit(void)
{
	/* Leaves every natk_leaktest_obj allocated: that is the test. */
}

module_init(natk_leaktest_init);
module_exit(natk_leaktest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("natk test canary: leaks 4242-byte objects on purpose");
