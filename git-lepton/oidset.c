#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "oidset.h"
#include "banned.h"

int oidset_insert(struct oidset *set, const struct lepton_oid *oid)
{
	size_t i;
	if (2 * (set->nr + 1) > set->cap) {
		struct oidset bigger = { .cap = set->cap ? 2 * set->cap : 256 };
		bigger.slots = xcalloc(bigger.cap, sizeof(*bigger.slots));
		bigger.used = xcalloc(bigger.cap, 1);
		for (size_t j = 0; j < set->cap; j++)
			if (set->used[j])
				oidset_insert(&bigger, &set->slots[j]);
		free(set->slots);
		free(set->used);
		*set = bigger;
	}
	for (i = get_le64(oid->hash) % set->cap; set->used[i]; i = (i + 1) % set->cap)
		if (!oid_cmp(&set->slots[i], oid))
			return 0;
	set->used[i] = 1;
	set->slots[i] = *oid;
	set->nr++;
	return 1;
}

int oidset_has(const struct oidset *set, const struct lepton_oid *oid)
{
	if (!set->cap)
		return 0;
	for (size_t i = get_le64(oid->hash) % set->cap; set->used[i]; i = (i + 1) % set->cap)
		if (!oid_cmp(&set->slots[i], oid))
			return 1;
	return 0;
}

void oidset_release(struct oidset *set)
{
	free(set->slots);
	free(set->used);
	memset(set, 0, sizeof(*set));
}
