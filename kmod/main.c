// SPDX-License-Identifier: GPL-2.0
/*
 * natk: in-kernel IPv4 masquerading NAT with its own flow table.
 *
 * Module init and exit only: each part is set up in order and torn down in
 * reverse, and a failure unwinds what was already done.
 */
#include <linux/module.h>
#include "natk.h"

#define NATK_VERSION "0.1.0"

static int __init natk_init(void)
{
	int err;

	err = natk_flow_cache_init();
	if (err)
		return err;
	err = natk_map_cache_init();
	if (err)
		goto err_flow_cache;
	err = natk_netns_init();
	if (err)
		goto err_map_cache;
	err = natk_fpb_init();
	if (err)
		goto err_netns;
	err = natk_genl_init();
	if (err)
		goto err_fpb;
	pr_info("natk " NATK_VERSION " loaded\n");
	return 0;

err_fpb:
	natk_fpb_exit();
err_netns:
	natk_netns_exit();
err_map_cache:
	natk_map_cache_exit();
err_flow_cache:
	natk_flow_cache_exit();
	return err;
}

static void __exit natk_exit(void)
{
	natk_genl_exit();
	natk_fpb_exit();
	natk_netns_exit();
	natk_map_cache_exit();
	natk_flow_cache_exit();
	pr_info("natk unloaded\n");
}

module_init(natk_init);
module_exit(natk_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("natk developers");
MODULE_DESCRIPTION("In-kernel IPv4 masquerading NAT with its own flow table");
MODULE_VERSION(NATK_VERSION);
MODULE_ALIAS_GENL_FAMILY(NATK_GENL_NAME);
MODULE_SOFTDEP("pre: nf_defrag_ipv4");
