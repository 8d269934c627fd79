#ifndef LEPTON_VERSIONS_H
#define LEPTON_VERSIONS_H

#include <stdint.h>

#include <git2.h>

#include "buf.h"
#include "pointer.h"
#include "recipe.h"
#include "store.h"

/*
 * The versions of a model path, numbered from history: along the
 * first-parent chain from a tip commit, v1 is the oldest commit where the
 * path has content, and each later commit whose content differs from the
 * previous version's is the next version.  Content is the pointer's oid (a
 * blob committed as raw bytes, before the path was tracked, counts by its
 * git blob id).  A commit that deletes the path is not a version; re-adding
 * it is a new version when the content differs from the last version's, and
 * nothing when it is the same.
 *
 * Nothing is cached: the walk reads one tree entry per commit (unchanged
 * trees are skipped by id) and one blob per change.
 */

struct version {
	unsigned n;                    /* 1 for v1 */
	git_oid commit;                /* the commit that brought this content */
	git_oid blob;                  /* the path's blob there */
	int is_pointer;                /* 0: committed as raw bytes */
	struct lepton_pointer pointer; /* the content; for raw bytes only .size */
};

struct version_list {
	char *path;
	size_t nr, alloc;
	struct version *v; /* v[0] is v1: oldest first */
};

#define VERSION_LIST_INIT \
	{                 \
		.nr = 0   \
	}

/*
 * The versions of path along the first-parent history of tip.  A path with
 * no content anywhere in that history gives an empty list (not an error).
 * LEPTON_EGIT when a commit or tree cannot be read.  out is initialised
 * here; release it with version_list_release() whatever this returns.
 */
int versions_of_path(struct version_list *out, git_repository *repo, const char *path,
		     const git_oid *tip);
void version_list_release(struct version_list *l);

/*
 * Revision syntax of the version commands:
 *   PATH@vN   version N of PATH (from HEAD)
 *   vN        version N of default_path; an error without one
 *   anything else: what git rev-parse understands (peeled to a commit)
 * A tag or branch literally named "vN" is reached as "refs/tags/vN".
 * *path_out (when not NULL) gets the path named by PATH@vN (the caller
 * frees it), or NULL.  Errors: LEPTON_EINVALID for v0 or N past the last
 * version ("'model.safetensors' has 4 versions; there is no v7"),
 * LEPTON_ENOTFOUND for a path without versions or an unknown revision.
 */
int version_resolve(git_oid *out, char **path_out, git_repository *repo, const char *spec,
		    const char *default_path);

/* 1 and the number when s is exactly "v<decimal>" (v0 included), else 0. */
int version_number_parse(unsigned long *out, const char *s);

/*
 * The pointer in a blob: 1 and *out when it is one (an empty blob is the
 * pointer of an empty file), 0 when it holds other bytes, LEPTON_EINVALID
 * when it is a malformed pointer, LEPTON_EGIT when it cannot be read.
 */
int version_blob_pointer(struct lepton_pointer *out, git_repository *repo, const git_oid *blob);

/*
 * Read a file's recipe from the store: 0; LEPTON_ENOTFOUND when the
 * content is not local; LEPTON_ECORRUPT when the recipe is damaged.
 * Release *out with recipe_release() after success.
 */
int version_read_recipe(struct recipe *out, struct lepton_store *s, const struct lepton_oid *oid);

/*
 * How a new recipe relates to an old one, by chunk id.  Chunk counts
 * stand for "what changed" until recipes carry tensor maps; a tensor
 * comparison plugs in beside this (same callers, a tensor count instead).
 */
struct recipe_delta {
	uint64_t chunks;        /* chunks of the new recipe */
	uint64_t shared;        /* ... also in the old one */
	uint64_t changed;       /* ... not in the old one (each distinct id once) */
	uint64_t changed_bytes; /* their bytes: what the new version added to a store
				   that held the old one */
	uint64_t removed;       /* distinct chunks of the old one not in the new one */
};
/* old may be NULL (a first version): every chunk is new. */
void recipe_compare(struct recipe_delta *out, const struct recipe *old, const struct recipe *new);

/*
 * Tensors that changed from old to new (NULL: a first version, all of
 * them), from the tensor maps the store writer records: a tensor changed
 * when one of its chunks did, or when it is only in one of the two; small
 * tensors that share a chunk are told apart by their own bytes (read from
 * s, a few small chunks).  *total gets the new version's tensor count.
 * LEPTON_ENOTFOUND when a recipe has no tensor map (not a parsed model, or
 * stored before maps existed), or a chunk it needs is not local.
 */
int recipe_tensor_changes(uint64_t *changed, uint64_t *total, struct lepton_store *s,
			  const struct recipe *old, const struct recipe *new);

struct model_info;
/*
 * Parse the header of stored content (only the header bytes are read):
 * 0 with *parse_ret what the parser said (0, or LEPTON_EINVALID with its
 * message); a negative error when the content cannot be read (not local:
 * LEPTON_ENOTFOUND).  Release *out with model_info_release() either way.
 */
int version_parse_stored(struct model_info *out, int *parse_ret, struct lepton_store *s,
			 const struct lepton_pointer *p);

/* Append s as a JSON string, quotes included. */
void json_add_string(struct buf *out, const char *s);

#endif
