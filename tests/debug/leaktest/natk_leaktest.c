// SPDX-License-Identifier: GPL-2.0
/*
 * natk_leaktest: the kmemleak check's canary (tests/debug/guest-kmemleak.sh).
 *
 * Not part of natk. It leaks one object of a size nothing else allocates,
 * on purpose, so that the debug lane can prove its leak check fails when
 * an unloaded module leaves memory behind: the object is reachable only
 * from this module's data, which rmmod frees.
 */
#include <linux/module.h>
#include <linux/slab.h>

#define NATK_LEAKTEST_SIZE	4242

static void *natk_leaktest_obj;

static int __init natk_leaktest_init(void)
{
	natk_leaktest_obj = kzalloc(NATK_LEAKTEST_SIZE, GFP_KERNEL);
	return natk_leaktest_obj ? 0 : -ENOMEM;
}

static void __exit natk_leaktest_exit(void)
{
	/* Leaves natk_leaktest_obj allocated: that is the test. */
}

module_init(natk_leaktest_init);
module_exit(natk_leaktest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("natk test canary: leaks one 4242-byte object on purpose");
