#ifndef LEPTON_TRANSFER_H
#define LEPTON_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "frame.h"
#include "hash.h"
#include "progress.h"
#include "store.h"

/*
 * Moving model content between the local store and a remote store.  A
 * remote store has the local store's layout (docs/FORMAT.md) on a backend:
 * push and fetch copy frames and recipes as they are, never re-encoding,
 * and move only what the other side lacks.
 *
 * Push: the frames the remote lacks (with the base chunks their deltas
 * need) go up in packs of at most TRANSFER_PACK_LIMIT bytes, each pack
 * before its index, and the recipes last: a file is on the remote only when
 * everything it needs is.  Fetch: recipes and frames are checked on
 * arrival (each frame's XXH3, its chunk id, the recipe's checksum); files
 * are verified again by SHA-256 when they are read.
 *
 * The remote's pack indexes are cached under the local store
 * (remotes/<id>/), since packs never change once written.
 */

#define TRANSFER_PACK_LIMIT      (1ull << 30)
#define TRANSFER_DEFAULT_THREADS 4 /* lepton.concurrency */
#define TRANSFER_MAX_THREADS     64
#define TRANSFER_IDX_LIMIT       (1u << 30)                    /* one pack index */
#define FRAME_READ_LIMIT         (STORE_CHUNK_SIZE * 2 + 4096) /* one frame */

struct remote_store;

/* Open the store at url.  With create, a missing store is created (its
 * format marker is written); without, it is LEPTON_ENOTFOUND.  A place that
 * holds something else is LEPTON_EINVALID ("not a git-lepton store"). */
int remote_store_open(struct remote_store **out, struct lepton_store *local, const char *url,
		      int create);
void remote_store_free(struct remote_store *rs);
struct backend *remote_store_backend(struct remote_store *rs);
const char *remote_store_name(const struct remote_store *rs);

/* Transfers in flight at once (lepton.concurrency, 1 to 64), and whether a
 * push may hard-link whole local packs into a directory store on the same
 * file system (lepton.hardlinks; the two stores then share those files, as
 * a local `git clone` shares objects). */
void remote_store_set_options(struct remote_store *rs, unsigned concurrency, int links);

/* 1 if the remote has the file's recipe, 0 if not, or an error. */
int remote_store_has_file(struct remote_store *rs, const struct lepton_oid *oid);

struct transfer_stats {
	uint64_t files, files_present; /* asked for; of those, already there */
	uint64_t chunks, bytes;        /* frames sent or received, and their bytes */
};

/*
 * Copy the files to the remote (push) or from it (fetch).  Files that are
 * already on the other side cost a lookup; on a push also a look at their
 * local recipe and frame headers: a frame of theirs (or a delta base under
 * one) that no remote index lists goes up again, when the local store has
 * it (a prune that ran during an earlier push can leave a recipe whose
 * frames it dropped, see maintenance.h).  quiet: no progress.  dry_run
 * (push only): count what would be sent and send nothing.
 */
int transfer_push(struct remote_store *rs, struct lepton_store *local,
		  const struct lepton_oid *files, size_t nr, int quiet, int dry_run,
		  struct transfer_stats *stats);
int transfer_fetch(struct remote_store *rs, struct lepton_store *local,
		   const struct lepton_oid *files, size_t nr, int quiet,
		   struct transfer_stats *stats);

/*
 * Consolidate the remote's content packs into one, for stores that many
 * small pushes left with many packs.  Readers that are fetching meanwhile
 * keep working: the old packs' indexes disappear only after the new pack
 * is complete, and their pack files stay for grace seconds more (listed in
 * packs/retired; each repack deletes those whose time is over).
 */
struct repack_stats {
	uint64_t packs_before, packs_after, chunks, bytes, deleted;
	uint64_t chunks_dropped, bytes_dropped; /* remote_store_prune() */
};
int remote_store_repack(struct remote_store *rs, long long grace, struct repack_stats *st);

/*
 * A function remote_store_repack() and remote_store_prune() call between
 * their steps (force 0: before each pack is read) and before they delete
 * anything (force 1); an error from it stops them there.  The maintenance
 * mark (maintenance.h) is refreshed and checked through it.  fn NULL: none.
 */
void remote_store_set_checkpoint(struct remote_store *rs, int (*fn)(void *data, int force),
				 void *data);

/*
 * Retention (git lepton prune --remote), the same consolidation with a
 * filter: the new pack holds only the chunks in keep (frames copied as
 * they are); once it is visible the recipes of drop are deleted, then the
 * old packs retired as above.  The caller makes keep hold every chunk the
 * remaining recipes need, delta bases included (remote_store_check_files()
 * collects them).  dry_run: only count, from the indexes, what would go
 * (chunks_dropped, bytes_dropped) and stay (chunks, bytes).
 */
struct oidset;
struct recipe;
int remote_store_prune(struct remote_store *rs, const struct oidset *keep,
		       const struct lepton_oid *drop, size_t nr_drop, long long grace, int dry_run,
		       struct repack_stats *st);

/*
 * The end of a prune: the recipes that appeared after it listed them
 * (those not in listed) came from pushes that overlapped it; those of them
 * that are not whole now (frames the prune did not keep) are deleted, so
 * that no recipe names a frame nobody has.  Those pushes notice and send
 * them again (maintenance.h).  dropped gets how many went.
 */
int remote_store_drop_partial(struct remote_store *rs, const struct oidset *listed,
			      size_t *dropped);

/* A file's recipe on the remote (and its bytes in raw when not NULL);
 * LEPTON_ENOTFOUND when the remote lacks it. */
int remote_store_read_recipe(struct remote_store *rs, const struct lepton_oid *oid,
			     struct recipe *out, struct buf *raw);

/*
 * Whether the remote holds each file whole: ok[i] = 1 when its recipe is
 * there and every chunk it names, and every delta base under those, is
 * listed by an index whose pack still has the frame's header.  chunks,
 * when not NULL, gets every chunk id met (the recipes' and their bases').
 */
int remote_store_check_files(struct remote_store *rs, const struct lepton_oid *files, size_t nr,
			     unsigned char *ok, struct oidset *chunks);

/* Call fn for each file that has a recipe on the remote. */
int remote_store_for_each_file(struct remote_store *rs,
			       int (*fn)(void *data, const struct lepton_oid *oid), void *data);

/*
 * A whole frame checked as it travels: header, chunk id (chunk), length
 * and XXH3; LEPTON_ECORRUPT naming the chunk on a mismatch.
 */
int transfer_check_frame(struct frame_header *h, const unsigned char *frame, size_t len,
			 const struct lepton_oid *chunk);

/* fn(data, i) for every i below n, on the remote's download threads
 * (lepton.concurrency); the first error stops the rest and is returned. */
int remote_store_parallel(struct remote_store *rs, size_t n, int (*fn)(void *data, size_t i),
			  void *data);

/*
 * Check a remote store where it lies, streaming: every pack index loads
 * (downloaded under scratch, an empty directory the caller removes), every
 * frame of every pack arrives whole with its XXH3, every full frame
 * decodes, every delta sits one level above a base that is whole; with
 * full, every frame decodes to its chunk's SHA-256 (deltas from the root
 * of their chain, frames read again by range).  Every recipe reads and
 * names chunks that are listed and whole.  Problems go to report as
 * store_fsck() gives them; files (may be NULL) gets every file whose
 * recipe the store has.  Returns the number of problems, or a negative
 * error when the store could not be read.  Memory and local disk do not
 * grow with the store (the indexes aside).
 */
int remote_store_fsck(struct remote_store *rs, int full, const char *scratch, store_fsck_fn report,
		      void *data, struct oidset *files);

#endif
