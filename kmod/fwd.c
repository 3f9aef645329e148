// SPDX-License-Identifier: GPL-2.0
/*
 * natk static port forwards. A forward is a mapping that never expires:
 * its external port belongs to one internal endpoint, inbound packets to it
 * open flows (hooks.c), and outbound flows from that endpoint reuse it.
 * The list is changed only under natk_net.lock; the packet path sees the
 * mappings through the mapping tables.
 */
#include <linux/bsearch.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include "natk.h"

/* A forward and its mapping, not published. */
static struct natk_fwd *natk_fwd_alloc(u8 proto, __be32 eaddr, __be16 eport,
				       __be32 iaddr, __be16 iport)
{
	struct natk_fwd *fwd;
	struct natk_map *map;

	fwd = kzalloc(sizeof(*fwd), GFP_KERNEL);
	map = natk_map_alloc(GFP_KERNEL);
	if (!fwd || !map) {
		natk_map_discard(map);
		kfree(fwd);
		return NULL;
	}
	map->ikey.iaddr = iaddr;
	map->ikey.iport = iport;
	map->ikey.proto = proto;
	map->ekey.eaddr = eaddr;
	map->ekey.eport = eport;
	map->ekey.proto = proto;
	map->flags = NATK_MAP_STATIC;
	fwd->map = map;
	fwd->proto = proto;
	fwd->eaddr = eaddr;
	fwd->eport = eport;
	fwd->iaddr = iaddr;
	fwd->iport = iport;
	return fwd;
}

/* A forward never inserted, or whose insertion failed. */
static void natk_fwd_discard(struct natk_fwd *fwd)
{
	natk_map_free(fwd->map);	/* readers may have seen it */
	kfree(fwd);
}

static const char *natk_fwd_insert_msg(int err)
{
	return err == -EBUSY ?
	       "natk: the internal endpoint has a dynamic mapping (natkctl flush first)" :
	       "natk: the external port is in use by a dynamic mapping (natkctl flush first)";
}

/* NL_SET_ERR_MSG_ATTR for a message chosen at run time (a literal too). */
static void natk_fwd_err(struct netlink_ext_ack *extack,
			 const struct nlattr *attr, const char *msg)
{
	if (!extack)
		return;
	extack->_msg = msg;
	NL_SET_BAD_ATTR(extack, attr);
}

/*
 * A forward is named by protocol, external address (0: the primary, as it
 * is at the time) and port. One that names the primary address by value
 * is another forward: while that address is primary it comes first.
 */
int natk_fwd_add(struct natk_net *nn, u8 proto, __be32 eaddr, __be16 eport,
		 __be32 iaddr, __be16 iport, struct netlink_ext_ack *extack)
{
	struct natk_fwd *fwd;
	int err;

	lockdep_assert_held(&nn->lock);
	list_for_each_entry(fwd, &nn->fwds, list) {
		if (fwd->proto == proto && fwd->eport == eport &&
		    fwd->eaddr == eaddr) {
			NL_SET_ERR_MSG(extack, "natk: this port is already forwarded");
			return -EEXIST;
		}
	}
	fwd = natk_fwd_alloc(proto, eaddr, eport, iaddr, iport);
	if (!fwd)
		return -ENOMEM;
	err = natk_map_insert_static(nn, fwd->map);
	if (err) {
		natk_fwd_err(extack, NULL, natk_fwd_insert_msg(err));
		natk_fwd_discard(fwd);
		return -EBUSY;
	}
	list_add_tail(&fwd->list, &nn->fwds);
	return 0;
}

static void natk_fwd_free(struct natk_net *nn, struct natk_fwd *fwd)
{
	struct natk_fwd *heir = NULL, *f;

	list_del(&fwd->list);
	/* Another forward to the same endpoint takes over its outbound flows. */
	list_for_each_entry(f, &nn->fwds, list) {
		if (f->proto == fwd->proto && f->iaddr == fwd->iaddr &&
		    f->iport == fwd->iport) {
			heir = f;
			break;
		}
	}
	/*
	 * Flows still using it keep the mapping until they end; then its
	 * port is free at once, as the administrator asked.
	 */
	natk_map_retire_static(nn, fwd->map, heir ? heir->map : NULL);
	kfree(fwd);
}

int natk_fwd_del(struct natk_net *nn, u8 proto, __be32 eaddr, __be16 eport)
{
	struct natk_fwd *fwd;

	lockdep_assert_held(&nn->lock);
	list_for_each_entry(fwd, &nn->fwds, list) {
		if (fwd->proto == proto && fwd->eport == eport &&
		    fwd->eaddr == eaddr) {
			natk_fwd_free(nn, fwd);
			return 0;
		}
	}
	return -ENOENT;
}

void natk_fwd_flush(struct natk_net *nn)
{
	struct natk_fwd *fwd, *tmp;

	list_for_each_entry_safe(fwd, tmp, &nn->fwds, list)
		natk_fwd_free(nn, fwd);
}

/*
 * Replacing the whole list (NATK_A_FWD_REPLACE) with the configuration, in
 * one transaction: natk_fwds_prepare() checks and allocates everything;
 * then natk_fwds_insert() adds the forwards of new ports (undone by
 * natk_fwds_abort() if what follows fails); natk_fwds_finish(), once the
 * settings are committed, retires the forwards the request does not list
 * and moves the ports whose internal endpoint changed, neither of which
 * can fail. A forward listed as it is stays untouched, with its flows.
 * All under natk_net.lock, so no other change to the list comes between.
 */
static int natk_fwd_spec_cmp(const void *key, const void *elt)
{
	const struct natk_fwd_spec *a = key, *b = elt;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->eport != b->eport)
		return ntohs(a->eport) < ntohs(b->eport) ? -1 : 1;
	if (a->eaddr != b->eaddr)
		return ntohl(a->eaddr) < ntohl(b->eaddr) ? -1 : 1;
	return 0;
}

/* Sort @s by protocol and port; false if two name the same port. */
bool natk_fwd_specs_sort(struct natk_fwd_spec *s, unsigned int n,
			 const struct natk_fwd_spec **dup)
{
	unsigned int i;

	sort(s, n, sizeof(*s), natk_fwd_spec_cmp, NULL);
	for (i = 1; i < n; i++) {
		if (!natk_fwd_spec_cmp(&s[i - 1], &s[i])) {
			*dup = s[i].attr > s[i - 1].attr ? &s[i] : &s[i - 1];
			return false;
		}
	}
	return true;
}

int natk_fwds_prepare(struct natk_net *nn, struct natk_fwd_spec *s,
		      unsigned int n, struct netlink_ext_ack *extack)
{
	struct natk_fwd_spec key = {}, *sp;
	struct natk_fwd *fwd;
	const char *msg;
	unsigned int i;
	int err;

	lockdep_assert_held(&nn->lock);
	list_for_each_entry(fwd, &nn->fwds, list) {
		key.proto = fwd->proto;
		key.eport = fwd->eport;
		key.eaddr = fwd->eaddr;
		sp = bsearch(&key, s, n, sizeof(*s), natk_fwd_spec_cmp);
		fwd->doomed = !sp || sp->iaddr != fwd->iaddr ||
			      sp->iport != fwd->iport;
		if (sp && fwd->doomed)
			sp->old = fwd;
		else if (sp)
			sp->kept = true;
	}
	for (i = 0; i < n; i++) {
		sp = &s[i];
		if (sp->kept)
			continue;
		sp->fwd = natk_fwd_alloc(sp->proto, sp->eaddr, sp->eport,
					 sp->iaddr, sp->iport);
		if (!sp->fwd) {
			err = -ENOMEM;
			goto err;
		}
		err = natk_mutant(fwd_txn_no_check) ? 0 :	/* mutant */
		      natk_map_static_check(nn, sp->fwd->map, !!sp->old,
					    &msg);
		if (err) {
			natk_fwd_err(extack, sp->attr, msg);
			goto err;
		}
	}
	return 0;
err:
	natk_fwds_abort(nn, s, n);
	return err;
}

int natk_fwds_insert(struct natk_net *nn, struct natk_fwd_spec *s,
		     unsigned int n, struct netlink_ext_ack *extack)
{
	unsigned int i;
	int err;

	lockdep_assert_held(&nn->lock);
	for (i = 0; i < n; i++) {
		if (!s[i].fwd || s[i].old)
			continue;
		err = natk_map_insert_static(nn, s[i].fwd->map);
		if (err) {
			/* Something took the port or endpoint since. */
			natk_fwd_err(extack, s[i].attr,
				     natk_fwd_insert_msg(err));
			natk_fwds_abort(nn, s, n);
			return -EBUSY;
		}
		list_add_tail(&s[i].fwd->list, &nn->fwds);
		s[i].inserted = true;
	}
	return 0;
}

void natk_fwds_abort(struct natk_net *nn, struct natk_fwd_spec *s,
		     unsigned int n)
{
	struct natk_fwd *fwd;
	unsigned int i;

	lockdep_assert_held(&nn->lock);
	for (i = 0; i < n; i++) {
		if (s[i].inserted)
			natk_fwd_free(nn, s[i].fwd);
		else if (s[i].fwd)
			natk_fwd_discard(s[i].fwd);
		s[i].fwd = NULL;
		s[i].inserted = false;
	}
	list_for_each_entry(fwd, &nn->fwds, list)
		fwd->doomed = false;
}

void natk_fwds_finish(struct natk_net *nn, struct natk_fwd_spec *s,
		      unsigned int n)
{
	struct natk_fwd *fwd, *tmp;
	unsigned int i;

	lockdep_assert_held(&nn->lock);
	for (i = 0; i < n; i++) {
		if (!s[i].old)
			continue;
		natk_map_replace_static(nn, s[i].old->map, s[i].fwd->map);
		list_add_tail(&s[i].fwd->list, &nn->fwds);
		natk_fwd_free(nn, s[i].old);
	}
	list_for_each_entry_safe(fwd, tmp, &nn->fwds, list)
		if (fwd->doomed)
			natk_fwd_free(nn, fwd);
}
