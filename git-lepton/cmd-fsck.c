/* fsck: verify the local store, and the pointers in history against it. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "error.h"
#include "manifest.h"
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

static void on_remote_problem(void *data, const char *kind, const struct lepton_oid *oid,
			      const char *what)
{
	struct fsck_state *st = data;
	char hex[OID_HEXSZ + 1];
	st->problems++;
	if (oid && !strcmp(kind, "recipe"))
		oidset_insert(&st->damaged, oid);
	if (oid)
		printf("error: remote %s '%s': %s\n", kind, oid_to_hex(hex, oid), what);
	else
		printf("error: remote %s: %s\n", kind, what);
}

/*
 * fsck --remote: the store's objects (every index, frame and recipe), its
 * refs manifest and history packs, and the content every pointer reachable
 * from its refs needs.
 */
static int fsck_remote(struct lepton_repo *repo, const char *name, int full)
{
	struct fsck_state st = { .repo = repo };
	struct lepton_store *local = NULL, *remote_as_store = NULL;
	struct remote_store *rs = NULL;
	struct manifest m;
	struct buf text, etag = BUF_INIT, key = BUF_INIT;
	struct pointer_list pointers = { 0 };
	const char **revs = NULL;
	int err, ret = 0;

	manifest_init(&m);
	buf_init_limit(&text, MANIFEST_LIMIT);
	if ((err = repo_open_store(repo, &local)) ||
	    (err = remote_open_for(&rs, repo, local, name, 0)))
		goto fail;
	if (!backend_local_path(remote_store_backend(rs))) {
		err = lepton_error_set(LEPTON_EINVALID,
				       "fsck --remote reads directory stores in this version");
		goto fail;
	}
	if ((err = store_open(&remote_as_store, backend_local_path(remote_store_backend(rs)), 0)))
		goto fail;
	if ((err = store_fsck(remote_as_store, full, on_remote_problem, &st)) < 0)
		goto fail;
	err = 0;
	if ((err = backend_get_versioned(remote_store_backend(rs), MANIFEST_KEY, &text, &etag)))
		goto fail;
	if (text.len && manifest_parse(&m, text.data, text.len)) {
		printf("error: remote refs manifest: %s\n", lepton_error_last());
		st.problems++;
	}
	for (size_t i = 0; i < m.nr_packs; i++) {
		int has;
		buf_reset(&key);
		buf_addf(&key, "git/packs/%s.pack", m.packs[i].name);
		has = backend_exists(remote_store_backend(rs), key.data);
		if (has == 0 && !m.packs[i].retired) {
			printf("error: remote history pack '%s' is missing\n", m.packs[i].name);
			st.problems++;
		}
	}
	/* content of every version the store's refs reach, checked by pointer;
	 * history the local repository does not have is the store's to vouch for */
	revs = xcalloc(m.nr_refs + 1, sizeof(*revs));
	{
		size_t n = 0;
		git_odb *odb = NULL;
		if (git_repository_odb(&odb, repo->git) == 0)
			for (size_t i = 0; i < m.nr_refs; i++) {
				git_oid id;
				if (!git_oid_fromstr(&id, m.refs[i].oid) &&
				    git_odb_exists(odb, &id))
					revs[n++] = m.refs[i].oid;
			}
		git_odb_free(odb);
		if (n && (err = pointers_reachable(&pointers, repo, revs, n, 0, NULL, NULL)))
			goto fail;
	}
	for (size_t i = 0; i < pointers.nr; i++) {
		char hex[OID_HEXSZ + 1];
		oid_to_hex(hex, &pointers.items[i].oid);
		st.pointers++;
		if (oidset_has(&st.damaged, &pointers.items[i].oid)) {
			printf("  affects '%s' (content '%s')\n", pointers.items[i].path, hex);
		} else if (!store_has_file(remote_as_store, &pointers.items[i].oid)) {
			printf("error: remote store lacks content '%s' of '%s'\n", hex,
			       pointers.items[i].path);
			st.problems++;
		}
	}
	if (st.problems) {
		printf("%d problem%s found in remote store '%s'\n", st.problems,
		       st.problems == 1 ? "" : "s", remote_store_name(rs));
		ret = EXIT_FAIL;
	} else {
		printf("ok: remote store '%s' verified%s; %zu refs, the content of %d file%s "
		       "present\n",
		       remote_store_name(rs), full ? " (full)" : "", m.nr_refs, st.pointers,
		       st.pointers == 1 ? "" : "s");
	}
	goto done;
fail:
	ret = report_error(err);
done:
	free(revs);
	pointer_list_release(&pointers);
	manifest_release(&m);
	buf_release(&text);
	buf_release(&etag);
	buf_release(&key);
	oidset_release(&st.damaged);
	store_free(remote_as_store);
	remote_store_free(rs);
	store_free(local);
	return ret;
}

int cmd_fsck(int argc, const char **argv, struct lepton_repo *repo)
{
	struct fsck_state st = { .repo = repo };
	const char *remote = NULL;
	int full = 0, n, ret = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--full"))
			full = 1;
		else if (!strcmp(argv[i], "--remote") && i + 1 < argc)
			remote = argv[++i];
		else if (!strncmp(argv[i], "--remote=", 9))
			remote = argv[i] + 9;
		else
			return usage_error(argv[0], "unknown option '%s'", argv[i]);
	}
	if (remote)
		return fsck_remote(repo, remote, full);
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
