// SPDX-License-Identifier: GPL-2.0
/*
 * natk static port forwards. A forward is a mapping that never expires:
 * its external port belongs to one internal endpoint, inbound packets to it
 * open flows (hooks.c), and outbound flows from that endpoint reuse it.
 * The list is changed only under natk_net.lock; the packet path sees the
 * mappings through the mapping tables.
 */
#include <linux/slab.h>
#include "natk.h"

int natk_fwd_add(struct natk_net *nn, u8 proto, __be16 eport, __be32 iaddr,
		 __be16 iport, struct netlink_ext_ack *extack)
{
	struct natk_fwd *fwd;
	struct natk_map *map;
	int err;

	lockdep_assert_held(&nn->lock);
	list_for_each_entry(fwd, &nn->fwds, list) {
		if (fwd->proto == proto && fwd->eport == eport) {
			NL_SET_ERR_MSG(extack, "natk: this port is already forwarded");
			return -EEXIST;
		}
	}
	fwd = kzalloc(sizeof(*fwd), GFP_KERNEL);
	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!fwd || !map) {
		err = -ENOMEM;
		goto err;
	}
	map->ikey.iaddr = iaddr;
	map->ikey.iport = iport;
	map->ikey.proto = proto;
	map->ekey.eport = eport;
	map->ekey.proto = proto;
	map->flags = NATK_MAP_STATIC;
	err = natk_map_insert_static(nn, map);
	if (err) {
		if (err == -EBUSY)
			NL_SET_ERR_MSG(extack,
				       "natk: the internal endpoint has a dynamic mapping (natkctl flush first)");
		else
			NL_SET_ERR_MSG(extack,
				       "natk: the external port is in use by a dynamic mapping (natkctl flush first)");
		natk_map_free(map);	/* readers may have seen it */
		kfree(fwd);
		return -EBUSY;
	}
	fwd->map = map;
	fwd->proto = proto;
	fwd->eport = eport;
	fwd->iaddr = iaddr;
	fwd->iport = iport;
	list_add_tail(&fwd->list, &nn->fwds);
	return 0;
err:
	kfree(map);
	kfree(fwd);
	return err;
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

int natk_fwd_del(struct natk_net *nn, u8 proto, __be16 eport)
{
	struct natk_fwd *fwd;

	lockdep_assert_held(&nn->lock);
	list_for_each_entry(fwd, &nn->fwds, list) {
		if (fwd->proto == proto && fwd->eport == eport) {
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
