/* fsck: verify the local store, and the pointers in history against it. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "error.h"
#include "oidset.h"
#include "remote.h"
#include "banned.h"

struct fsck_state {
	struct lepton_repo *repo;
	struct lepton_store *store;
	struct oidset damaged;  /* file ids whose content is damaged */
	struct oidset reported; /* file ids already tied to a path */
	struct oidset trees;    /* git trees already walked */
	struct oidset checked;  /* file ids already looked at */
	const char *commit;     /* abbreviated id of the commit being walked, or "index" */
	int problems, pointers, remote_only;
	struct remote_store *remote; /* where missing content may be; NULL: none */
};

static void on_store_problem(void *data, const char *kind, const struct lepton_oid *oid,
			     const char *what)
{
	struct fsck_state *st = data;
	char hex[OID_HEXSZ + 1];
	st->problems++;
	if (oid && !strcmp(kind, "recipe"))
		oidset_insert(&st->damaged, oid);
	if (oid)
		printf("error: %s '%s': %s\n", kind, oid_to_hex(hex, oid), what);
	else
		printf("error: %s: %s\n", kind, what);
}

static void git_to_lepton_oid(struct lepton_oid *out, const git_oid *id)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->hash, id->id, GIT_OID_RAWSZ);
}

static void check_pointer(struct fsck_state *st, const char *path, const git_oid *blob)
{
	struct lepton_pointer p;
	char hex[OID_HEXSZ + 1];
	int kind = blob_pointer(st->repo->git, blob, &p);

	if (kind == LEPTON_EINVALID) {
		struct lepton_oid key;
		git_to_lepton_oid(&key, blob);
		if (oidset_insert(&st->reported, &key)) {
			printf("error: malformed pointer '%s' in %s: %s\n", path, st->commit,
			       lepton_error_last());
			st->problems++;
		}
		return;
	}
	if (kind != 1 || !oidset_insert(&st->checked, &p.oid))
		return;
	st->pointers++;
	oid_to_hex(hex, &p.oid);
	if (oidset_has(&st->damaged, &p.oid)) {
		if (oidset_insert(&st->reported, &p.oid))
			printf("  affects '%s' in %s (content '%s')\n", path, st->commit, hex);
	} else if (!store_has_file(st->store, &p.oid)) {
		if (oidset_insert(&st->reported, &p.oid)) {
			/* content not fetched yet is normal when a remote store has it */
			if (st->remote && remote_store_has_file(st->remote, &p.oid) == 1) {
				st->remote_only++;
				return;
			}
			printf("error: missing content '%s' of '%s' in %s%s\n", hex, path,
			       st->commit, st->remote ? " (not in the remote store either)" : "");
			st->problems++;
		}
	}
}

static int tree_cb(const char *root, const git_tree_entry *entry, void *data)
{
	struct fsck_state *st = data;
	struct buf path = BUF_INIT;

	if (git_tree_entry_type(entry) == GIT_OBJECT_TREE) {
		struct lepton_oid key;
		git_to_lepton_oid(&key, git_tree_entry_id(entry));
		return oidset_insert(&st->trees, &key) ? 0 : 1; /* 1 skips a tree seen before */
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	buf_addf(&path, "%s%s", root, git_tree_entry_name(entry));
	check_pointer(st, path.data, git_tree_entry_id(entry));
	buf_release(&path);
	return 0;
}

static int walk_history(struct fsck_state *st)
{
	git_revwalk *walk = NULL;
	git_index *index = NULL;
	git_oid id;
	int ret = 0;

	if (git_revwalk_new(&walk, st->repo->git) < 0) {
		ret = -1;
		goto done;
	}
	git_revwalk_sorting(walk, GIT_SORT_TIME);
	git_revwalk_push_glob(walk, "refs/*");
	git_revwalk_push_head(walk); /* fails harmlessly on an unborn branch */
	while (git_revwalk_next(&id, walk) == 0) {
		git_commit *commit;
		git_tree *tree;
		char abbrev[GIT_OID_HEXSZ + 1];
		struct lepton_oid key;
		if (git_commit_lookup(&commit, st->repo->git, &id) < 0)
			continue;
		git_oid_tostr(abbrev, 11, &id);
		st->commit = abbrev;
		if (git_commit_tree(&tree, commit) == 0) {
			git_to_lepton_oid(&key, git_tree_id(tree));
			if (oidset_insert(&st->trees, &key))
				git_tree_walk(tree, GIT_TREEWALK_PRE, tree_cb, st);
			git_tree_free(tree);
		}
		git_commit_free(commit);
	}
	if (git_repository_index(&index, st->repo->git) == 0) {
		st->commit = "the index";
		for (size_t i = 0; i < git_index_entrycount(index); i++) {
			const git_index_entry *e = git_index_get_byindex(index, i);
			check_pointer(st, e->path, &e->id);
		}
	}
done:
	git_index_free(index);
	git_revwalk_free(walk);
	return ret;
}

int cmd_fsck(int argc, const char **argv, struct lepton_repo *repo)
{
	struct fsck_state st = { .repo = repo };
	int full = 0, n, ret = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--full"))
			full = 1;
		else
			return usage_error(argv[0], "unknown option '%s'", argv[i]);
	}
	if ((n = repo_open_store(repo, &st.store)))
		return report_error(n);
	n = store_fsck(st.store, full, on_store_problem, &st);
	if (n < 0) {
		ret = report_error(n);
		goto done;
	}
	/* without a remote store, missing content is simply missing */
	if (remote_open_for(&st.remote, repo, st.store, NULL, 0))
		lepton_error_clear();
	walk_history(&st);
	if (st.remote_only)
		printf("%d file%s not fetched yet: in remote store '%s' ('git lepton fetch "
		       "--all' brings them)\n",
		       st.remote_only, st.remote_only == 1 ? " is" : "s are",
		       remote_store_name(st.remote));
	if (st.problems) {
		printf("%d problem%s found in '%s'\n", st.problems, st.problems == 1 ? "" : "s",
		       store_root(st.store));
		ret = EXIT_FAIL;
	} else {
		printf("ok: store '%s' verified%s; the content of %d file%s in history is "
		       "present\n",
		       store_root(st.store), full ? " (full)" : "", st.pointers - st.remote_only,
		       st.pointers - st.remote_only == 1 ? "" : "s");
	}
done:
	oidset_release(&st.damaged);
	oidset_release(&st.reported);
	oidset_release(&st.trees);
	oidset_release(&st.checked);
	remote_store_free(st.remote);
	store_free(st.store);
	return ret;
}
