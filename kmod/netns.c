// SPDX-License-Identifier: GPL-2.0
/*
 * natk per-network-namespace state: configuration snapshots, bringing the
 * hooks up and down, counters, and the device and address notifiers.
 *
 * Every netns gets empty tables and a default configuration when it is
 * created; nothing is hooked until an external interface is configured.
 * The external interface is bound by name. Notifiers run under RTNL: they
 * only schedule natk_net.addr_work, which looks the name up again in
 * process context: natk waits while no interface of that name (or no
 * address) exists, keeping its flows, and resumes when one appears,
 * flushing the flows only if the address differs from theirs.
 */
#include <linux/inetdevice.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <net/netns/generic.h>
#include "natk.h"

unsigned int natk_net_id __read_mostly;

struct natk_net *natk_pernet(const struct net *net)
{
	return net_generic(net, natk_net_id);
}

static u32 natk_default_max_flows(void)
{
	u64 bytes = (u64)totalram_pages() << PAGE_SHIFT;

	/* About 200 bytes a flow: at most 1/20 of RAM by default. */
	return clamp_t(u64, bytes >> 12, 16384, 4U << 20);
}

/* The configuration of a netns nothing was set in. */
struct natk_cfg *natk_cfg_default(const struct net *net)
{
	struct natk_cfg *cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);

	if (!cfg)
		return NULL;
	cfg->port_min = NATK_DEF_PORT_MIN;
	cfg->port_max = NATK_DEF_PORT_MAX;
	cfg->max_flows = natk_default_max_flows();
	/* A container's namespace gets a container's share by default. */
	if (net->user_ns != &init_user_ns)
		cfg->max_flows = min_t(u32, cfg->max_flows,
				       NATK_USERNS_MAX_FLOWS);
	cfg->timeout[NATK_TO_TCP_EST] = NATK_DEF_TCP_EST * HZ;
	cfg->timeout[NATK_TO_TCP_TRANS] = NATK_DEF_TCP_TRANS * HZ;
	cfg->timeout[NATK_TO_UDP] = NATK_DEF_UDP * HZ;
	cfg->timeout[NATK_TO_ICMP] = NATK_DEF_ICMP * HZ;
	cfg->port_hold = NATK_DEF_PORT_HOLD * HZ;
	cfg->blocks_per_host = NATK_DEF_BLOCKS_PER_HOST;
	cfg->fast_path = natk_fp_default;
	cfg->mapping = NATK_MAPPING_ENDPOINT_INDEPENDENT;
	cfg->filtering = NATK_FILTERING_ADDRESS_PORT_DEPENDENT;
	return cfg;
}

/* A private copy of the running configuration, to change and commit. */
struct natk_cfg *natk_cfg_dup(struct natk_net *nn)
{
	struct natk_cfg *cfg;

	lockdep_assert_held(&nn->lock);
	cfg = kmemdup(rcu_dereference_protected(nn->cfg,
						lockdep_is_held(&nn->lock)),
		      sizeof(*cfg), GFP_KERNEL);
	return cfg;
}

/*
 * Unhook and stop the GC, in this order: once hooked is false no packet
 * re-arms the GC; once the hooks are unregistered no new packet enters
 * natk; synchronize_net() waits for those still inside (6.12's
 * nf_unregister_net_hooks() does not); then the GC is stopped for good.
 */
static void natk_unhook(struct natk_net *nn)
{
	if (!nn->hooked)
		return;
	WRITE_ONCE(nn->hooked, false);
	natk_hooks_unregister(nn->net);
	synchronize_net();
	natk_gc_stop(nn);
}

/* Did the addresses natk masquerades behind change? */
static bool natk_pool_changed(const struct natk_cfg *old,
			      const struct natk_cfg *ncfg)
{
	return old->naddrs != ncfg->naddrs ||
	       memcmp(old->addrs, ncfg->addrs,
		      ncfg->naddrs * sizeof(ncfg->addrs[0]));
}

/* Say in the kernel log when NAT starts, stops, waits or changes address. */
static void natk_cfg_log(struct natk_net *nn, const struct natk_cfg *old,
			 const struct natk_cfg *ncfg, bool same_if, bool flush)
{
	u8 was = natk_cfg_state(old), now = natk_cfg_state(ncfg);
	const char *name = ncfg->ifname;

	if (now == NATK_STATE_DOWN) {
		if (was != NATK_STATE_DOWN)
			natk_log(nn, LOGLEVEL_NOTICE,
				 "stopped masquerading out of %s: flows flushed\n",
				 old->ifname);
		return;
	}
	if (same_if && strncmp(old->ifname, name, IFNAMSIZ))
		natk_log(nn, LOGLEVEL_NOTICE,
			 "external interface %s was renamed %s: natk follows it\n",
			 old->ifname, name);
	if (!same_if) {
		if (now == NATK_STATE_ACTIVE)
			natk_log(nn, LOGLEVEL_INFO,
				 "masquerading out of %s as %pI4\n",
				 name, &ncfg->ext_addr);
		else if (now == NATK_STATE_WAIT_INTERFACE)
			natk_log(nn, LOGLEVEL_WARNING,
				 "external interface %s does not exist: waiting for it\n",
				 name);
		else
			natk_log(nn, LOGLEVEL_WARNING,
				 "external interface %s has no IPv4 address: waiting for one\n",
				 name);
		return;
	}
	if (now == was && old->ext_addr == ncfg->ext_addr) {
		if (now == NATK_STATE_ACTIVE && natk_pool_changed(old, ncfg))
			natk_log(nn, LOGLEVEL_NOTICE,
				 "external addresses of %s changed: %u in use, primary %pI4; flows of addresses that left ended\n",
				 name, ncfg->naddrs, &ncfg->ext_addr);
		return;
	}
	if (now == NATK_STATE_WAIT_INTERFACE)
		natk_log(nn, LOGLEVEL_WARNING,
			 "external interface %s is gone: waiting for it, flows kept\n",
			 name);
	else if (now == NATK_STATE_WAIT_ADDRESS)
		natk_log(nn, LOGLEVEL_WARNING,
			 "external interface %s has no IPv4 address: waiting for one, flows kept\n",
			 name);
	else if (was != NATK_STATE_ACTIVE)
		natk_log(nn, LOGLEVEL_NOTICE,
			 "external interface %s is back with %pI4: masquerading again, %s\n",
			 name, &ncfg->ext_addr,
			 flush || (old->flows_addr &&
				   !natk_pool_has(ncfg, old->flows_addr)) ?
			 "flows of the old address flushed" : "flows kept");
	else
		natk_log(nn, LOGLEVEL_NOTICE,
			 "external address of %s changed from %pI4 to %pI4: flows %s\n",
			 name, &old->ext_addr, &ncfg->ext_addr,
			 natk_pool_has(ncfg, old->ext_addr) ? "kept" :
			 "flushed");
}

/*
 * Find the interface @cfg is bound to, and its address: the device it was
 * bound to while that exists (a rename is followed: the name changes with
 * it), else the one with its name, if any. Set ifindex to 0 first to look
 * by name only.
 */
static void natk_cfg_resolve(struct natk_net *nn, struct natk_cfg *cfg)
{
	struct net_device *dev = NULL;

	natk_pool_resolve(cfg, NULL);
	if (!cfg->ifname[0]) {
		cfg->ifindex = 0;
		return;
	}
	rcu_read_lock();
	if (cfg->ifindex)
		dev = dev_get_by_index_rcu(nn->net, cfg->ifindex);
	if (!dev)
		dev = dev_get_by_name_rcu(nn->net, cfg->ifname);
	cfg->ifindex = 0;
	if (dev) {
		cfg->ifindex = dev->ifindex;
		/* A rename racing with this copy sends NETDEV_CHANGENAME,
		 * which runs natk_addr_work again.
		 */
		strscpy(cfg->ifname, dev->name, IFNAMSIZ);
		natk_pool_resolve(cfg, dev);
	}
	rcu_read_unlock();
}

/*
 * Publish @ncfg (a copy from natk_cfg_dup, consumed in every case).
 * Resolves its interface by name (it may not exist: natk then waits for
 * it) and its address pool (pool.c); hooks the netns when an interface is
 * set for the first time; flushes when the interface name, the mapping or
 * the filtering changes; ends the flows of addresses that left the pool
 * when natk is (again) masquerading, and the flows a changed scope leaves
 * out. Caller holds nn->lock.
 */
int natk_cfg_commit(struct natk_net *nn, struct natk_cfg *ncfg,
		    struct netlink_ext_ack *extack)
{
	struct natk_cfg *old = rcu_dereference_protected(nn->cfg,
						lockdep_is_held(&nn->lock));
	bool same_if, flush, changed, rescope, sweep, reblock;
	unsigned int walk;
	u8 now;
	int err;

	lockdep_assert_held(&nn->lock);
	natk_cfg_resolve(nn, ncfg);
	now = natk_cfg_state(ncfg);
	if (ncfg->ifname[0] && !nn->hooked) {
		err = natk_hooks_register(nn->net);
		if (err) {
			NL_SET_ERR_MSG(extack,
				       "natk: cannot register netfilter hooks");
			kfree(ncfg);
			return err;
		}
		natk_gc_start(nn);
		WRITE_ONCE(nn->hooked, true);
		/* Who turned natk on pays for its memory (docs/design.md). */
		if (!nn->memcg && current->mm)
			nn->memcg = get_mem_cgroup_from_mm(current->mm);
	}
	/*
	 * While natk waits for its interface or an address, the flows stay,
	 * with the addresses they were made with: when it masquerades again,
	 * those of addresses not in the pool go (REQ-11), as when an address
	 * leaves the pool. Another interface name flushes them all.
	 */
	same_if = ncfg->ifname[0] &&
		  (!strncmp(old->ifname, ncfg->ifname, IFNAMSIZ) ||
		   (old->ifindex && old->ifindex == ncfg->ifindex));
	ncfg->flows_addr = ncfg->ext_addr ?: (same_if ? old->flows_addr : 0);
	flush = !same_if ||
		(natk_mutant(ext_flush_waiting) &&	/* mutant: flows lost */
		 now != NATK_STATE_ACTIVE) ||
		old->mapping != ncfg->mapping ||
		old->filtering != ncfg->filtering;
	/* Port blocks of another size, range or limit: made again. */
	reblock = (old->port_block || ncfg->port_block) &&
		  (old->port_block != ncfg->port_block ||
		   old->blocks_per_host != ncfg->blocks_per_host ||
		   old->port_min != ncfg->port_min ||
		   old->port_max != ncfg->port_max);
	flush |= reblock;
	sweep = now == NATK_STATE_ACTIVE &&
		(natk_cfg_state(old) != NATK_STATE_ACTIVE ||
		 natk_pool_changed(old, ncfg));
	/* A narrower scope ends the flows it leaves out (scope.c). */
	rescope = !natk_scope_equal(&old->internal, &ncfg->internal) ||
		  !natk_scope_equal(&old->no_nat, &ncfg->no_nat);
	changed = !same_if || old->ifindex != ncfg->ifindex ||
		  old->ext_addr != ncfg->ext_addr ||
		  natk_pool_changed(old, ncfg) ||
		  strncmp(old->ifname, ncfg->ifname, IFNAMSIZ);
	if (!old->ifname[0] && !ncfg->ifname[0])
		changed = false;
	/*
	 * A per-host limit, port blocks or a second address: every flow
	 * needs its host's object (host.c). New flows make theirs from now
	 * on; once the packets of before have passed, the flows they made
	 * without one get theirs, before the limit applies. A flush ends
	 * them anyway.
	 */
	if (natk_cfg_needs_hosts(ncfg) && !READ_ONCE(nn->hosts_attach)) {
		WRITE_ONCE(nn->hosts_attach, true);
		if (!flush && !natk_mutant(hosts_unattached)) {
			synchronize_net();
			err = natk_hosts_attach(nn);
			if (err) {
				WRITE_ONCE(nn->hosts_attach, false);
				NL_SET_ERR_MSG(extack,
					       "natk: out of memory for the internal hosts' objects: try again");
				kfree(ncfg);
				return err;
			}
		}
	}
	natk_cfg_log(nn, old, ncfg, same_if, flush);
	natk_pool_claim(nn, ncfg);
	rcu_assign_pointer(nn->cfg, ncfg);
	/* Packets of the old snapshot may still make hosts: harmless. */
	if (!natk_cfg_needs_hosts(ncfg))
		WRITE_ONCE(nn->hosts_attach, false);
	/* Held ports are measured against the new hold at the next GC pass. */
	if (old->port_hold != ncfg->port_hold)
		WRITE_ONCE(nn->held_next, jiffies);
	/* A GC resting for a large table under the old timeouts: now. */
	walk = natk_gc_walk_size(nn);
	if (natk_gc_pause(ncfg, walk, false) < natk_gc_pause(old, walk, false))
		natk_gc_kick(nn);
	/* Mode off: natk's ingress hooks go, and cost no packet anything. */
	if (ncfg->fast_path == NATK_FAST_PATH_OFF &&
	    old->fast_path != NATK_FAST_PATH_OFF)
		natk_fp_devs_clear(nn);
	kfree_rcu(old, rcu);
	if (!ncfg->ifname[0])
		natk_unhook(nn);
	if (flush || sweep || rescope) {
		/*
		 * Packets still running on the old snapshot may be creating
		 * flows under the old rule: wait for them, then clean up.
		 */
		synchronize_net();
		if (flush)
			natk_flush(nn, NATK_REASON_FLUSH);
		if (reblock)
			natk_hosts_reblock(nn);
		if (!flush && sweep)
			natk_pool_sweep(nn);
		if (!flush && rescope && !natk_mutant(scope_no_sweep))
			natk_scope_sweep(nn);
		natk_pool_release(nn, ncfg);
	} else {
		atomic_inc(&nn->gen);
	}
	if (changed)
		natk_event_state(nn, ncfg);
	return 0;
}

/* Stop masquerading in this netns and flush. Caller holds nn->lock. */
void natk_down(struct natk_net *nn)
{
	struct natk_cfg *ncfg;

	lockdep_assert_held(&nn->lock);
	ncfg = natk_cfg_dup(nn);
	if (ncfg) {
		ncfg->ifname[0] = '\0';
		natk_cfg_commit(nn, ncfg, NULL);
	} else {
		/* Out of memory: still unhook and flush, keep the config. */
		natk_unhook(nn);
		natk_flush(nn, NATK_REASON_FLUSH);
	}
}

void natk_stats_sum(struct natk_net *nn, u64 *out)
{
	int cpu, i;

	memset(out, 0, sizeof(u64) * __NATK_STAT_MAX);
	for_each_possible_cpu(cpu) {
		const struct natk_stats *s = per_cpu_ptr(nn->stats, cpu);

		for (i = 0; i < __NATK_STAT_MAX; i++)
			out[i] += READ_ONCE(s->c[i]);
	}
	out[NATK_STAT_ACTIVE_CONNECTIONS] = atomic_read(&nn->nflows);
}

/*
 * The bound interface went, was renamed or changed its addresses, or one
 * of the bound name came: look it up again and commit what changed.
 */
static void natk_addr_work(struct work_struct *work)
{
	struct natk_net *nn = container_of(work, struct natk_net, addr_work);
	const struct natk_cfg *cfg;
	struct natk_cfg now, *ncfg;

	mutex_lock(&nn->lock);
	cfg = rcu_dereference_protected(nn->cfg, lockdep_is_held(&nn->lock));
	if (!cfg->ifname[0])
		goto out;
	memcpy(now.ifname, cfg->ifname, IFNAMSIZ);
	now.ifindex = cfg->ifindex;
	now.addrs_mode = cfg->addrs_mode;
	now.nranges = cfg->nranges;
	memcpy(now.ranges, cfg->ranges, sizeof(now.ranges));
	natk_cfg_resolve(nn, &now);
	if (now.ifindex == cfg->ifindex && now.ext_addr == cfg->ext_addr &&
	    !natk_pool_changed(&now, cfg) &&
	    !strncmp(now.ifname, cfg->ifname, IFNAMSIZ))
		goto out;
	ncfg = natk_cfg_dup(nn);
	if (ncfg)
		natk_cfg_commit(nn, ncfg, NULL);	/* resolves again */
	else
		/* Retry: a packet path must not keep a stale ifindex. */
		schedule_delayed_work(&nn->addr_retry, HZ);
out:
	mutex_unlock(&nn->lock);
}

static void natk_addr_retry(struct work_struct *work)
{
	struct natk_net *nn = container_of(to_delayed_work(work),
					   struct natk_net, addr_retry);

	schedule_work(&nn->addr_work);
}

/* Does @dev have, or had it, the bound interface's name or index? */
static void natk_dev_event(struct net_device *dev)
{
	struct natk_net *nn = natk_pernet(dev_net(dev));
	const struct natk_cfg *cfg;
	bool ours;

	rcu_read_lock();
	cfg = rcu_dereference(nn->cfg);
	ours = cfg && cfg->ifname[0] &&
	       ((cfg->ifindex && cfg->ifindex == dev->ifindex) ||
		(!strncmp(cfg->ifname, dev->name, IFNAMSIZ) &&
		 !natk_mutant(ext_no_resume)));	/* mutant: waits forever */
	rcu_read_unlock();
	if (ours)
		schedule_work(&nn->addr_work);
}

static int natk_netdev_event(struct notifier_block *nb, unsigned long event,
			     void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	switch (event) {
	case NETDEV_CHANGEUPPER:
		natk_fp_dev_upper(dev, ptr);
		break;
	case NETDEV_UNREGISTER:
		natk_fp_dev_gone(dev);
		fallthrough;
	case NETDEV_REGISTER:
	case NETDEV_CHANGENAME:
		natk_dev_event(dev);
		break;
	}
	return NOTIFY_DONE;
}

static int natk_inetaddr_event(struct notifier_block *nb, unsigned long event,
			       void *ptr)
{
	const struct in_ifaddr *ifa = ptr;

	if (ifa->ifa_dev && ifa->ifa_dev->dev)
		natk_dev_event(ifa->ifa_dev->dev);
	return NOTIFY_DONE;
}

static struct notifier_block natk_netdev_nb = {
	.notifier_call = natk_netdev_event,
};

static struct notifier_block natk_inetaddr_nb = {
	.notifier_call = natk_inetaddr_event,
};

static int __net_init natk_net_init(struct net *net)
{
	struct natk_net *nn = natk_pernet(net);
	struct natk_cfg *cfg;
	int err;

	nn->net = net;
	mutex_init(&nn->lock);
	INIT_LIST_HEAD(&nn->fwds);
	INIT_WORK(&nn->addr_work, natk_addr_work);
	INIT_DELAYED_WORK(&nn->addr_retry, natk_addr_retry);
	natk_fp_net_init(nn);
	natk_log_init(nn);
	atomic_set(&nn->nflows, 0);
	/* The ICMP bucket starts full: its first use refills it. */
	nn->icmp_stamp = (u32)jiffies - HZ;

	nn->stats = alloc_percpu(struct natk_stats);
	if (!nn->stats)
		return -ENOMEM;
	cfg = natk_cfg_default(net);
	if (!cfg) {
		err = -ENOMEM;
		goto err_stats;
	}
	RCU_INIT_POINTER(nn->cfg, cfg);
	err = natk_tables_init(nn);
	if (err)
		goto err_cfg;
	return 0;

err_cfg:
	kfree(cfg);
err_stats:
	free_percpu(nn->stats);
	return err;
}

static void __net_exit natk_net_exit(struct net *net)
{
	struct natk_net *nn = natk_pernet(net);

	struct natk_cfg *cfg;

	mutex_lock(&nn->lock);
	natk_unhook(nn);
	mutex_unlock(&nn->lock);
	/* Never hooked, or a kick raced with the unhook: stop it anyway. */
	natk_gc_stop(nn);
	natk_fp_net_exit(nn);
	cancel_work_sync(&nn->addr_work);	/* may arm addr_retry */
	cancel_delayed_work_sync(&nn->addr_retry);
	cancel_work_sync(&nn->addr_work);
	natk_fwd_flush(nn);
	/*
	 * No flush: the flows are freed in bulk with the tables, with no
	 * event (nobody can be told about a netns that is going away).
	 */
	natk_tables_destroy(nn);
	cfg = rcu_dereference_protected(nn->cfg, true);
	RCU_INIT_POINTER(nn->cfg, NULL);
	kfree_rcu(cfg, rcu);
	mem_cgroup_put(nn->memcg);
	free_percpu(nn->stats);
}

static struct pernet_operations natk_net_ops = {
	.init = natk_net_init,
	.exit = natk_net_exit,
	.id = &natk_net_id,
	.size = sizeof(struct natk_net),
};

int natk_netns_init(void)
{
	int err;

	err = register_pernet_subsys(&natk_net_ops);
	if (err)
		return err;
	err = register_netdevice_notifier(&natk_netdev_nb);
	if (err)
		goto err_pernet;
	err = register_inetaddr_notifier(&natk_inetaddr_nb);
	if (err)
		goto err_netdev;
	return 0;

err_netdev:
	unregister_netdevice_notifier(&natk_netdev_nb);
err_pernet:
	unregister_pernet_subsys(&natk_net_ops);
	return err;
}

void natk_netns_exit(void)
{
	unregister_inetaddr_notifier(&natk_inetaddr_nb);
	unregister_netdevice_notifier(&natk_netdev_nb);
	unregister_pernet_subsys(&natk_net_ops);
}
