#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "http.h"
#include "pointer.h"
#include "remote.h"
#include "repo.h"
#include "banned.h"

const char *git_error_message(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "unknown libgit2 error";
}

static char *with_slash(const char *path)
{
	struct buf b = BUF_INIT;
	buf_addstr(&b, path);
	if (!b.len || b.data[b.len - 1] != '/')
		buf_addch(&b, '/');
	return buf_detach(&b, NULL);
}

/* a and b name the same directory, ignoring a trailing '/' */
static int same_dir(const char *a, const char *b)
{
	size_t la, lb;
	if (!a || !b)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && !memcmp(a, b, la);
}

int repo_open(struct lepton_repo *out)
{
	struct buf store = BUF_INIT;
	int err;

	const char *env_worktree = getenv("GIT_WORK_TREE");
	char *worktree = NULL;

	memset(out, 0, sizeof(*out));
	git_libgit2_init();
	/* libgit2 reads GIT_DIR, GIT_INDEX_FILE and the rest of git's variables,
	 * but refuses GIT_WORK_TREE, which git sets for filters and hooks in
	 * worktrees; that one is applied here */
	if (env_worktree && *env_worktree) {
		worktree = realpath(env_worktree, NULL);
		if (!worktree)
			return lepton_error_errno(LEPTON_EGIT, "cannot use GIT_WORK_TREE '%s'",
						  env_worktree);
		unsetenv("GIT_WORK_TREE");
	}
	err = git_repository_open_ext(&out->git, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (worktree) {
		setenv("GIT_WORK_TREE", env_worktree ? env_worktree : worktree, 1);
		/* only when it differs: libgit2 1.5 leaks its path buffer when the
		 * work tree is already the one asked for */
		if (!err && !same_dir(git_repository_workdir(out->git), worktree) &&
		    git_repository_set_workdir(out->git, worktree, 0) < 0)
			err = -1;
		free(worktree);
	}
	if (err == GIT_ENOTFOUND)
		return lepton_error_set(LEPTON_ENOTFOUND, "not a git repository (or any of the "
							  "parent directories): .git");
	if (err < 0)
		return lepton_error_set(LEPTON_EGIT, "cannot open the repository: %s",
					git_error_message());
	out->gitdir = with_slash(git_repository_path(out->git));
	out->commondir = with_slash(git_repository_commondir(out->git));
	if (git_repository_workdir(out->git))
		out->workdir = with_slash(git_repository_workdir(out->git));
	buf_addf(&store, "%slepton", out->commondir);
	out->store_path = buf_detach(&store, NULL);
	return 0;
}

void repo_release(struct lepton_repo *r)
{
	git_tree_free(r->head_tree);
	git_config_free(r->config);
	if (r->git)
		git_repository_free(r->git);
	free(r->gitdir);
	free(r->commondir);
	free(r->workdir);
	free(r->store_path);
	remote_fetch_hook_free(r->fetch_hook);
	memset(r, 0, sizeof(*r));
}

git_config *repo_config(struct lepton_repo *r)
{
	if (!r->config && git_repository_config_snapshot(&r->config, r->git) < 0)
		r->config = NULL;
	return r->config;
}

/*
 * libgit2 does not see `git -c` (GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT),
 * which git hands on to the filters and commands it runs: when either is
 * set, git's own reading of the settings decides.  1 and out set when the
 * key is found there.
 */
static int config_from_git(const char *key, struct buf *out)
{
	if (!getenv("GIT_CONFIG_PARAMETERS") && !getenv("GIT_CONFIG_COUNT"))
		return 0;
	return http_git_config(key, out);
}

/* git's integer: decimal (or 0x hex), with an optional k, m or g */
static int parse_git_int(const char *s, int32_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (end == s || errno)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10, end++;
		break;
	case 'm':
	case 'M':
		v <<= 20, end++;
		break;
	case 'g':
	case 'G':
		v <<= 30, end++;
		break;
	}
	if (*end || v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int32_t)v;
	return 0;
}

int repo_config_int(struct lepton_repo *r, const char *key, int def)
{
	git_config *cfg = repo_config(r);
	struct buf text = BUF_INIT;
	int32_t v;
	int found = config_from_git(key, &text);

	if (found)
		found = parse_git_int(text.data, &v) == 0;
	buf_release(&text);
	if (found)
		return v;
	return cfg && git_config_get_int32(&v, cfg, key) == 0 ? v : def;
}

int repo_config_bool(struct lepton_repo *r, const char *key, int def)
{
	git_config *cfg = repo_config(r);
	struct buf text = BUF_INIT;
	int v = -1;

	if (config_from_git(key, &text))
		v = http_parse_bool(text.data, -1);
	buf_release(&text);
	if (v >= 0)
		return v;
	return cfg && git_config_get_bool(&v, cfg, key) == 0 ? v : def;
}

int repo_config_string(struct lepton_repo *r, const char *key, struct buf *out)
{
	git_config *cfg = repo_config(r);
	git_buf value = { 0 };
	struct buf text = BUF_INIT;
	int found = config_from_git(key, &text);

	if (found)
		buf_add(out, text.data, text.len);
	else if ((found = cfg && git_config_get_string_buf(&value, cfg, key) == 0))
		buf_addstr(out, value.ptr);
	git_buf_dispose(&value);
	buf_release(&text);
	return found;
}

int repo_previous_version(struct lepton_repo *r, struct lepton_store *s, const char *path,
			  struct lepton_pointer *out)
{
	git_object *head = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	int canonical, found = 0;

	if (!r->head_read) {
		r->head_read = 1;
		if (git_revparse_single(&head, r->git, "HEAD^{tree}") == 0)
			r->head_tree = (git_tree *)head;
	}
	if (!r->head_tree || !path || !*path)
		goto done;
	if (git_tree_entry_bypath(&entry, r->head_tree, path) < 0 ||
	    git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&blob, r->git, git_tree_entry_id(entry)) < 0)
		goto done;
	if (git_blob_rawsize(blob) >= POINTER_MAX_SIZE ||
	    pointer_parse(out, &canonical, git_blob_rawcontent(blob),
			  (size_t)git_blob_rawsize(blob)))
		goto done;
	found = store_has_file(s, &out->oid) > 0;
done:
	lepton_error_clear();
	git_error_clear();
	git_blob_free(blob);
	git_tree_entry_free(entry);
	return found;
}

static int previous_version(void *data, const char *path, struct lepton_pointer *out)
{
	struct lepton_repo *r = data;
	/* the store this hook was installed on is the one asking */
	return repo_previous_version(r, r->previous_store, path, out);
}

int repo_lock_store(struct lepton_repo *r, struct lepton_store *s, int exclusive)
{
	long timeout = repo_config_int(r, "lepton.locktimeout", REPO_LOCK_TIMEOUT);
	return store_lock(s, exclusive, (timeout < 0 ? 0 : timeout) * 1000L, 0);
}

int repo_open_store(struct lepton_repo *r, struct lepton_store **out)
{
	struct buf lfs = BUF_INIT;
	int err = store_open(out, r->store_path, 1);
	if (err)
		return err;
	if ((err = repo_lock_store(r, *out, 0))) {
		store_free(*out);
		*out = NULL;
		return err;
	}
	store_set_options(*out, repo_config_bool(r, "lepton.fsync", 0),
			  repo_config_int(r, "lepton.compressionlevel", STORE_DEFAULT_LEVEL));
	store_set_deltas(*out, repo_config_bool(r, "lepton.deltas", 1));
	r->previous_store = *out;
	store_set_previous(*out, previous_version, r);
	/* a repository that used git-lfs keeps that content: it is imported
	 * the first time a checkout needs it */
	buf_addf(&lfs, "%slfs/objects", r->commondir);
	if (access(lfs.data, F_OK) == 0)
		store_set_lfs_objects(*out, lfs.data);
	buf_release(&lfs);
	/* content that is nowhere local comes from the remote store */
	remote_fetch_hook_free(r->fetch_hook);
	r->fetch_hook = remote_fetch_hook_install(r, *out);
	return 0;
}
