#ifndef LEPTON_OIDSET_H
#define LEPTON_OIDSET_H

#include <stddef.h>

#include "hash.h"

/*
 * A set of SHA-256 ids (or git object ids, zero-padded into one), open
 * addressing.  The ids are hashes, so their first bytes index the table.
 */
struct oidset {
	struct lepton_oid *slots;
	unsigned char *used;
	size_t nr, cap;
};

#define OIDSET_INIT     \
	{               \
		.nr = 0 \
	}

/* 1 if the id was added, 0 if it was there already. */
int oidset_insert(struct oidset *set, const struct lepton_oid *oid);
int oidset_has(const struct oidset *set, const struct lepton_oid *oid);
void oidset_release(struct oidset *set);

#endif
