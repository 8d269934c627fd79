#ifndef LEPTON_REMOTE_H
#define LEPTON_REMOTE_H

#include "repo.h"
#include "transfer.h"

/*
 * Which remote store a repository's model content comes from and goes to,
 * and which content a range of history needs.
 *
 * The store of a git remote NAME: its URL when that is `lepton::<store>`;
 * otherwise (code on an ordinary git server) `lepton.url` from git config,
 * or from a committed `.leptonconfig` (work tree, index, then HEAD).
 * Without NAME: lepton.url, .leptonconfig, then the upstream remote of the
 * current branch, `origin`, or the only remote, when its URL is lepton::.
 */

/* The store URL (without "lepton::") in url; LEPTON_ENOTFOUND when there is
 * none, with a message that says how to name one. */
int remote_store_url(struct lepton_repo *r, const char *remote_name, struct buf *url);

/* Open the store of remote_name (see above) against the local store. */
int remote_open_for(struct remote_store **out, struct lepton_repo *r, struct lepton_store *local,
		    const char *remote_name, int create);

/* Apply the repository's lepton.concurrency and lepton.hardlinks. */
void remote_store_configure(struct remote_store *rs, struct lepton_repo *r);

/* Make store_reader_open() on s fetch missing content from the
 * repository's remote store (opened on first need).  The returned state is
 * freed with remote_fetch_hook_free() after the store. */
struct remote_fetch_hook;
struct remote_fetch_hook *remote_fetch_hook_install(struct lepton_repo *r, struct lepton_store *s);
void remote_fetch_hook_free(struct remote_fetch_hook *h);

/* A file named in history: its pointer's oid and size, and a path it has. */
struct pointer_ref {
	struct lepton_oid oid;
	uint64_t size;
	char *path;
};

struct pointer_list {
	struct pointer_ref *items;
	size_t nr, alloc;
};

void pointer_list_release(struct pointer_list *l);

/*
 * The pointers that git objects reachable from revs (each a revision or
 * "--not", "--all", ... as `git rev-list` takes them) refer to; with
 * no_walk only the trees of the named commits, not their history.
 * include/exclude: comma-separated globs on paths (NULL: all); a glob
 * without '/' also matches the file name alone.  Each oid once.
 */
int pointers_reachable(struct pointer_list *out, struct lepton_repo *r, const char *const *revs,
		       size_t nr, int no_walk, const char *include, const char *exclude);

/* Only the oids, for transfer_push()/transfer_fetch(). */
struct lepton_oid *pointer_list_oids(const struct pointer_list *l);

#endif
