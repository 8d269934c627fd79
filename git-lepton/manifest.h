#ifndef LEPTON_MANIFEST_H
#define LEPTON_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "buf.h"

/*
 * The refs manifest of a remote store (git/refs): every ref with its
 * object id, the symbolic HEAD, and the git packs that hold the history.
 * One object, replaced whole with a compare-and-swap, so a reader always
 * sees refs and the packs they need from the same instant.  docs/FORMAT.md
 * has the text layout:
 *
 *   lepton refs 1                    (2 once a prune or gc --remote ran)
 *   maintenance <unix time> <token>  (version 2)
 *   maintained <unix time> <token>   (version 2)
 *   head refs/heads/main
 *   pack pack-<hex>
 *   retired pack-<hex> <unix time>
 *   ref <object id> <refname>
 */

#define MANIFEST_KEY   "git/refs"
#define MANIFEST_LIMIT (64u << 20)

struct manifest_ref {
	char *name, *oid; /* oid in hex */
};

struct manifest_pack {
	char *name;
	long long retired; /* unix time it left the manifest's pack list; 0 while in it */
};

struct manifest {
	char *head; /* NULL: none yet */
	/* A prune or gc --remote rewriting the store's content since then
	 * (maintenance.h); token NULL: none. */
	long long maintenance_since;
	char *maintenance_token;
	/* The last one that finished: every run leaves the manifest different
	 * (etags are content hashes), which pushes rely on; NULL: none yet. */
	long long maintained_at;
	char *maintained_token;
	struct manifest_ref *refs;
	size_t nr_refs, alloc_refs;
	struct manifest_pack *packs;
	size_t nr_packs, alloc_packs;
};

void manifest_init(struct manifest *m);
/* Read and parse a store's manifest; a store nobody pushed to has an empty
 * one.  etag (may be NULL) gets its version for backend_put_if(). */
int manifest_read(struct manifest *m, struct backend *b, struct buf *etag);
/*
 * Read-modify-write of a store's manifest against concurrent writers: read
 * it, let fn change it (etag: the version read), write it back only if the
 * store still has that version, and on a lost race start again, at most
 * `attempts` times (then LEPTON_ECONFLICT).  fn returns 0 to write,
 * MANIFEST_KEEP to stop without writing, or an error, which is returned
 * (LEPTON_ECONFLICT from fn also starts again).
 */
#define MANIFEST_KEEP 1
typedef int manifest_update_fn(struct manifest *m, const char *etag, void *data);
int manifest_update(struct backend *b, int attempts, manifest_update_fn *fn, void *data);
/*
 * Download history pack `name` of a store to tmp_path (a file name to use
 * and remove) and index it with `git index-pack`, which checks every
 * object, into git_dir (NULL: the repository git runs in).
 */
int manifest_index_pack(struct backend *b, const char *name, const char *git_dir,
			const char *tmp_path);
void manifest_release(struct manifest *m);
/* Parse text; LEPTON_ECORRUPT with the line on anything unexpected. */
int manifest_parse(struct manifest *m, const char *text, size_t len);
void manifest_format(struct buf *out, const struct manifest *m);

/* The ref's oid, or NULL. */
const char *manifest_get(const struct manifest *m, const char *name);
/* Set (oid non-NULL) or delete (oid NULL) a ref; refs stay sorted. */
void manifest_set(struct manifest *m, const char *name, const char *oid);
void manifest_set_head(struct manifest *m, const char *name);
/* Set (token non-NULL) or clear the maintenance mark, and the record of
 * the last maintenance that finished. */
void manifest_set_maintenance(struct manifest *m, long long since, const char *token);
void manifest_set_maintained(struct manifest *m, long long at, const char *token);
/* Add a live pack (no-op when listed); retire moves it out of the live list. */
void manifest_add_pack(struct manifest *m, const char *name);
void manifest_retire_pack(struct manifest *m, const char *name, long long when);

#endif
