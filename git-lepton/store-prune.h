#ifndef LEPTON_STORE_PRUNE_H
#define LEPTON_STORE_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "oidset.h"
#include "store.h"

/*
 * Rewriting the local store's packs: keep what a set of files needs, drop
 * the rest (prune), consolidate (gc), or put good frames in place of
 * damaged ones (fsck --repair).  Frames are copied as they are, never
 * re-encoded.
 *
 * Crash safety, in this order: the new pack is written and made visible
 * (pack, then index); then recipes are written or deleted; then the old
 * packs are deleted, each index before its pack.  A process killed at any
 * instant leaves a valid store that has everything the kept files need
 * (at worst duplicate frames, or a pack file without an index, which is
 * never read).
 *
 * Not safe against a `git add` running at the same time in the same
 * repository (it may reuse a chunk of a pack being deleted), as git's own
 * gc is not against concurrent writers; run prune and gc alone.
 */

/*
 * Add to out every chunk the files need: those their recipes name, and
 * the delta bases of those, transitively (read from frame headers).  A
 * file without a recipe needs nothing here.  LEPTON_ECORRUPT when a recipe
 * or a frame header is damaged (the base of a damaged frame is unknown:
 * run `git lepton fsck --repair` first).
 */
int store_chunks_needed(struct oidset *out, struct lepton_store *s, const struct lepton_oid *files,
			size_t nr);

struct store_repack_opts {
	const struct oidset *keep;     /* chunks to keep; NULL keeps every chunk */
	const struct lepton_oid *drop; /* files whose recipes are deleted */
	size_t nr_drop;
	struct lepton_store *extra;    /* frames to take in (fsck --repair), or NULL */
	const struct lepton_oid *take; /* recipes to copy from extra */
	size_t nr_take;
	int dry_run; /* count only, change nothing (frames are not read) */
};

struct store_repack_stats {
	uint64_t packs_before, packs_after;
	uint64_t chunks_kept, chunks_dropped; /* distinct chunks */
	uint64_t chunks_damaged;              /* frames that failed their own check */
	uint64_t chunks_taken;                /* frames copied from extra */
	uint64_t bytes_before, bytes_after;   /* pack and index files */
	uint64_t files_dropped, files_taken;
};

/*
 * Write one pack of every kept chunk's frame (the first good copy found;
 * a frame whose header, id or XXH3 does not check is left behind), then
 * apply the recipe changes, then delete the packs that were there before.
 * Nothing is rewritten when a single pack would only be copied.
 */
int store_repack(struct lepton_store *s, const struct store_repack_opts *o,
		 struct store_repack_stats *st);

/*
 * Delete every pack whose index does not load (checksum, size or order
 * wrong): such a pack is never read, and fsck reports it until it goes.
 * Only once what its chunks were needed for is back (fsck --repair).
 * fn, when not NULL, is called with each name; returns how many went.
 */
int store_drop_damaged_packs(struct lepton_store *s, void (*fn)(void *data, const char *name),
			     void *data);

/* Accessors of the store's private state, defined in store.c. */
struct pack;
size_t store_pack_count(const struct lepton_store *s);
struct pack *store_pack_at(struct lepton_store *s, size_t i);
const char *store_packdir(const struct lepton_store *s);
/* Delete a pack (its index first) and forget it. */
int store_drop_pack(struct lepton_store *s, const char *name);
/* Delete a file's recipe; a missing one is not an error. */
int store_delete_recipe(struct lepton_store *s, const struct lepton_oid *oid);

#endif
