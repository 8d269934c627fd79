#ifndef LEPTON_REPO_H
#define LEPTON_REPO_H

#include <git2.h>

#include "store.h"

struct remote_fetch_hook;

/*
 * The repository git-lepton works in, found the way git finds it: GIT_DIR
 * and GIT_WORK_TREE when set, else upwards from the current directory;
 * worktrees share the store through git's common directory.
 */
struct lepton_repo {
	git_repository *git;
	char *gitdir;                         /* this worktree's git dir, with a trailing '/' */
	char *commondir;                      /* shared by all worktrees, with a trailing '/' */
	char *workdir;                        /* NULL in a bare repository */
	char *store_path;                     /* <commondir>lepton */
	git_config *config;                   /* snapshot, read on first use */
	struct remote_fetch_hook *fetch_hook; /* of the store repo_open_store() gave */
	git_tree *head_tree;                  /* HEAD's tree, read on first use (NULL: none) */
	int head_read;
	struct lepton_store *previous_store; /* the store the previous-version hook serves */
};

/* LEPTON_ENOTFOUND with git's message when there is no repository. */
int repo_open(struct lepton_repo *out);
void repo_release(struct lepton_repo *r);

/* Open (creating on first use) the local store, with the repository's
 * lepton.* options applied, and lock it shared (store_lock()). */
int repo_open_store(struct lepton_repo *r, struct lepton_store **out);
/* store_lock() with lepton.lockTimeout seconds (REPO_LOCK_TIMEOUT when
 * unset): shared for what reads or writes the store, exclusive for what
 * deletes from it. */
#define REPO_LOCK_TIMEOUT 600
int repo_lock_store(struct lepton_repo *r, struct lepton_store *s, int exclusive);

/*
 * The previous version of the file at path (relative to the work tree):
 * the path's blob in HEAD when it is a pointer whose content is in store s.
 * 1 and *out set, or 0 (unborn branch, no such path, not a pointer, content
 * not local).  repo_open_store() makes the store's writers use it.
 */
int repo_previous_version(struct lepton_repo *r, struct lepton_store *s, const char *path,
			  struct lepton_pointer *out);

/* The repository's configuration (with global and system), read once;
 * owned by r.  NULL if it cannot be read. */
git_config *repo_config(struct lepton_repo *r);

/* A string from the repository's configuration appended to out: 1 when
 * the key is set, 0 when not. */
int repo_config_string(struct lepton_repo *r, const char *key, struct buf *out);
/* Integer and boolean config of the repository (with global and system). */
int repo_config_int(struct lepton_repo *r, const char *key, int def);
int repo_config_bool(struct lepton_repo *r, const char *key, int def);

/* Message of the last libgit2 error. */
const char *git_error_message(void);

#endif
