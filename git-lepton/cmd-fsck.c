/* fsck: verify the local store, and the pointers in history against it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "maintenance.h"
#include "manifest.h"
#include "oidset.h"
#include "recipe.h"
#include "remote.h"
#include "run.h"
#include "store-prune.h"
#include "versions.h"
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
	struct oidset tips;          /* content of the refs' tip trees and the index */
	int pruned;                  /* old versions in no store: a prune dropped them */
	struct remote_store *remote; /* where missing content may be; NULL: none */
	struct oidset bad_chunks;    /* chunks whose frame failed a check */
	int quiet;                   /* count problems, print nothing */
	const char *where;           /* "" for the local store, "remote " for a remote one */
};

static void on_store_problem(void *data, const char *kind, const struct lepton_oid *oid,
			     const char *what)
{
	struct fsck_state *st = data;
	char hex[OID_HEXSZ + 1];
	st->problems++;
	if (oid && !strcmp(kind, "recipe"))
		oidset_insert(&st->damaged, oid);
	if (oid && !strcmp(kind, "chunk"))
		oidset_insert(&st->bad_chunks, oid);
	if (st->quiet)
		return;
	if (oid)
		printf("error: %s%s '%s': %s\n", st->where, kind, oid_to_hex(hex, oid), what);
	else
		printf("error: %s%s: %s\n", st->where, kind, what);
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
			/* a prune of both stores drops old versions on purpose;
			 * what a tip or the index needs must be somewhere */
			if (st->remote && !oidset_has(&st->tips, &p.oid)) {
				st->pruned++;
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

/* The content the refs' tip trees, HEAD and the index name: it must be in
 * some store, whatever was pruned. */
static int collect_tips(struct oidset *out, struct lepton_repo *repo)
{
	struct pointer_list l = { 0 };
	struct buf text = BUF_INIT;
	const char **revs = NULL;
	size_t nr = 0;
	git_index *index = NULL;
	char *line, *next, head_hex[GIT_OID_HEXSZ + 1];
	git_oid head;
	int err = 0;

	if (run_git(&text, "for-each-ref", "--format=%(objectname)", (char *)NULL) == 0 &&
	    text.len) {
		for (line = text.data; *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			else
				next = line + strlen(line);
			revs = xrealloc(revs, (nr + 2) * sizeof(*revs));
			revs[nr++] = line;
		}
	}
	if (git_reference_name_to_id(&head, repo->git, "HEAD") == 0) {
		git_oid_tostr(head_hex, sizeof(head_hex), &head);
		revs = xrealloc(revs, (nr + 2) * sizeof(*revs));
		revs[nr++] = head_hex; /* a detached HEAD is in no ref */
	}
	if (nr && (err = pointers_reachable(&l, repo, revs, nr, 1, NULL, NULL)))
		goto done;
	for (size_t i = 0; i < l.nr; i++)
		oidset_insert(out, &l.items[i].oid);
	if (git_repository_index(&index, repo->git) == 0)
		for (size_t i = 0; i < git_index_entrycount(index); i++) {
			struct lepton_pointer p;
			if (blob_pointer(repo->git, &git_index_get_byindex(index, i)->id, &p) == 1)
				oidset_insert(out, &p.oid);
			lepton_error_clear();
		}
done:
	git_index_free(index);
	pointer_list_release(&l);
	free(revs);
	buf_release(&text);
	return err;
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

/*
 * fsck --remote: the store's objects (every index, frame and recipe), its
 * refs manifest and history packs, and the content every pointer reachable
 * from its refs needs.
 */
static int fsck_remote(struct lepton_repo *repo, const char *name, int full)
{
	struct fsck_state st = { .repo = repo, .where = "remote " };
	struct lepton_store *local = NULL;
	struct remote_store *rs = NULL;
	struct manifest m;
	struct buf key = BUF_INIT;
	struct pointer_list pointers = { 0 };
	struct buf scratch = BUF_INIT;
	struct oidset files = OIDSET_INIT; /* whose recipe the store has */
	const char **revs = NULL;
	int err, ret = 0;

	manifest_init(&m);
	if ((err = repo_open_store(repo, &local)) ||
	    (err = remote_open_for(&rs, repo, local, name, 0)))
		goto fail;
	/* the store is read where it lies; only its pack indexes come here */
	buf_addf(&scratch, "%s/fsck-remote-XXXXXX", store_tmpdir(local));
	if (!mkdtemp(scratch.data)) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", scratch.data);
		buf_release(&scratch);
		goto fail;
	}
	if ((err = remote_store_fsck(rs, full, scratch.data, on_store_problem, &st, &files)) < 0)
		goto fail;
	err = 0;
	err = manifest_read(&m, remote_store_backend(rs), NULL);
	if (err == LEPTON_ECORRUPT || err == LEPTON_EINVALID) {
		printf("error: remote refs manifest: %s\n", lepton_error_last());
		st.problems++;
	} else if (err) {
		goto fail;
	} else if (maintenance_check(&m, remote_store_name(rs))) {
		/* what a running prune rewrites may look missing meanwhile */
		warning("%s", lepton_error_last());
		lepton_error_clear();
	}
	err = 0;
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
		if (n) {
			struct pointer_list tips = { 0 };
			if ((err = pointers_reachable(&tips, repo, revs, n, 1, NULL, NULL)))
				goto fail;
			for (size_t i = 0; i < tips.nr; i++)
				oidset_insert(&st.tips, &tips.items[i].oid);
			pointer_list_release(&tips);
		}
	}
	for (size_t i = 0; i < pointers.nr; i++) {
		char hex[OID_HEXSZ + 1];
		oid_to_hex(hex, &pointers.items[i].oid);
		st.pointers++;
		if (oidset_has(&st.damaged, &pointers.items[i].oid)) {
			printf("  affects '%s' (content '%s')\n", pointers.items[i].path, hex);
		} else if (!oidset_has(&files, &pointers.items[i].oid)) {
			/* prune --remote drops old versions; the tips stay */
			if (!oidset_has(&st.tips, &pointers.items[i].oid)) {
				st.pruned++;
				continue;
			}
			printf("error: remote store lacks content '%s' of '%s'\n", hex,
			       pointers.items[i].path);
			st.problems++;
		}
	}
	if (st.pruned)
		printf(
		    "%d file%s of old versions %s not in the store (dropped by 'git lepton prune "
		    "--remote')\n",
		    st.pruned, st.pruned == 1 ? "" : "s", st.pruned == 1 ? "is" : "are");
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
	buf_release(&key);
	oidset_release(&st.damaged);
	oidset_release(&st.tips);
	oidset_release(&files);
	remote_store_free(rs);
	store_free(local);
	if (scratch.len) {
		const char *rm[] = { "rm", "-rf", scratch.data, NULL };
		run_command(rm, NULL);
	}
	buf_release(&scratch);
	return ret;
}

/* "'model.safetensors' v3 (abc...)": the version of path at HEAD that has
 * this content, when there is one. */
static void describe_file(struct buf *out, struct lepton_repo *repo, const char *path,
			  const struct lepton_oid *oid)
{
	struct version_list vl = VERSION_LIST_INIT;
	char hex[OID_HEXSZ + 1];
	unsigned n = 0;
	git_oid head;

	oid_to_hex(hex, oid);
	if (path && git_reference_name_to_id(&head, repo->git, "HEAD") == 0 &&
	    versions_of_path(&vl, repo->git, path, &head) == 0)
		for (size_t i = 0; i < vl.nr; i++)
			if (vl.v[i].is_pointer && !oid_cmp(&vl.v[i].pointer.oid, oid))
				n = vl.v[i].n;
	lepton_error_clear();
	version_list_release(&vl);
	if (path && n)
		buf_addf(out, "'%s' v%u (%.12s)", path, n, hex);
	else if (path)
		buf_addf(out, "'%s' (%.12s)", path, hex);
	else
		buf_addf(out, "content %.12s", hex);
}

static void say_dropped_pack(void *data, const char *name)
{
	(void)data;
	printf("removed pack '%s': its index is damaged\n", name);
}

static const char *path_of(const struct pointer_list *l, const struct lepton_oid *oid)
{
	for (size_t i = 0; i < l->nr; i++)
		if (!oid_cmp(&l->items[i].oid, oid))
			return l->items[i].path;
	return NULL;
}

struct oid_array {
	struct lepton_oid *v;
	size_t nr, alloc;
};

static void oid_array_add(struct oid_array *a, const struct lepton_oid *oid)
{
	if (a->nr == a->alloc) {
		a->alloc = a->alloc ? 2 * a->alloc : 16;
		a->v = xrealloc(a->v, a->alloc * sizeof(*a->v));
	}
	a->v[a->nr++] = *oid;
}

static int add_damaged_recipe(void *data, const struct lepton_oid *oid)
{
	struct fsck_state *st = ((void **)data)[0];
	struct oid_array *a = ((void **)data)[1];
	if (oidset_has(&st->damaged, oid))
		oid_array_add(a, oid);
	return 0;
}

/*
 * fsck --repair: damaged local objects come again from the remote store.
 * A damaged frame (or a file whose recipe or chunks are damaged) is fetched
 * whole into a scratch store under tmp/, then the local packs are rewritten
 * with the good frames and without the damaged ones, so no damaged copy
 * can be read again; a recipe that is gone while its chunks are here is
 * fetched again.  What the remote store lacks is reported and left.
 */
static int repair(struct lepton_repo *repo, const char *remote_name)
{
	struct fsck_state st = { .repo = repo, .quiet = 1, .where = "" };
	struct lepton_store *tmp = NULL;
	struct remote_store *rs = NULL, *rs_tmp = NULL;
	struct pointer_list history = { 0 };
	struct oid_array fetch = { 0 }, failed = { 0 }, restored = { 0 }, damaged = { 0 };
	struct str_list_ {
		char **v;
		size_t nr;
	} revs = { 0 };
	struct buf text = BUF_INIT, url = BUF_INIT, tmpdir = BUF_INIT, line = BUF_INIT;
	struct store_repack_opts ro = { 0 };
	struct store_repack_stats rst = { 0 };
	struct transfer_stats ts;
	void *pair[2] = { &st, &damaged };
	int err, ret = 0, n;

	if ((err = repo_open_store(repo, &st.store)) ||
	    (err = repo_lock_store(repo, st.store, 1)) ||
	    (err = remote_open_for(&rs, repo, st.store, remote_name, 0)) ||
	    (err = remote_store_url(repo, remote_name, &url)))
		goto fail;
	if ((n = store_fsck(st.store, 0, on_store_problem, &st)) < 0) {
		err = n;
		goto fail;
	}
	/* every file history names, with a path */
	if (!run_git(&text, "for-each-ref", "--format=%(objectname)", (char *)NULL)) {
		char *l = text.data ? text.data : (char *)"", *next;
		for (; *l; l = next) {
			next = strchr(l, '\n');
			if (next)
				*next++ = '\0';
			else
				next = l + strlen(l);
			revs.v = xrealloc(revs.v, (revs.nr + 2) * sizeof(*revs.v));
			revs.v[revs.nr++] = l;
		}
	}
	if (revs.nr && (err = pointers_reachable(&history, repo, (const char *const *)revs.v,
						 revs.nr, 0, NULL, NULL)))
		goto fail;
	/* damaged recipes, or recipes whose chunks are damaged or missing */
	if ((err = store_for_each_file(st.store, add_damaged_recipe, pair)) < 0)
		goto fail;
	err = 0;
	for (size_t i = 0; i < damaged.nr; i++) {
		int has = remote_store_has_file(rs, &damaged.v[i]);
		if (has < 0) {
			err = has;
			goto fail;
		}
		oid_array_add(has ? &fetch : &failed, &damaged.v[i]);
	}
	/* recipes that are gone while every chunk they name is still here */
	for (size_t i = 0; i < history.nr; i++) {
		struct recipe r;
		struct buf raw = BUF_INIT;
		int whole = 1;
		if (store_has_file(st.store, &history.items[i].oid))
			continue;
		if (remote_store_read_recipe(rs, &history.items[i].oid, &r, &raw)) {
			lepton_error_clear();
			buf_release(&raw);
			continue;
		}
		for (size_t c = 0; c < r.nr && whole; c++)
			whole = store_has_chunk(st.store, &r.chunks[c].oid) &&
				!oidset_has(&st.bad_chunks, &r.chunks[c].oid);
		if (whole && !store_put_recipe(st.store, &history.items[i].oid, raw.data, raw.len))
			oid_array_add(&restored, &history.items[i].oid);
		lepton_error_clear();
		recipe_release(&r);
		buf_release(&raw);
	}
	if (fetch.nr || st.bad_chunks.nr) {
		buf_addf(&tmpdir, "%s/tmp/repair-XXXXXX", store_root(st.store));
		if (!mkdtemp(tmpdir.data)) {
			err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", tmpdir.data);
			goto fail;
		}
		if ((err = store_open(&tmp, tmpdir.data, 1)) ||
		    (err = remote_store_open(&rs_tmp, tmp, url.data, 0)))
			goto cleanup;
		remote_store_configure(rs_tmp, repo);
		if (fetch.nr && (err = transfer_fetch(rs_tmp, tmp, fetch.v, fetch.nr, 1, &ts)))
			goto cleanup;
		ro.extra = tmp;
		ro.take = fetch.v;
		ro.nr_take = fetch.nr;
		err = store_repack(st.store, &ro, &rst);
	cleanup : {
		const char *rm[] = { "rm", "-rf", tmpdir.data, NULL };
		remote_store_free(rs_tmp);
		rs_tmp = NULL;
		store_free(tmp);
		tmp = NULL;
		run_command(rm, NULL);
	}
		if (err)
			goto fail;
	}
	for (size_t i = 0; i < fetch.nr; i++) {
		buf_reset(&line);
		describe_file(&line, repo, path_of(&history, &fetch.v[i]), &fetch.v[i]);
		printf("repaired %s: fetched again from '%s'\n", line.data, remote_store_name(rs));
	}
	for (size_t i = 0; i < restored.nr; i++) {
		buf_reset(&line);
		describe_file(&line, repo, path_of(&history, &restored.v[i]), &restored.v[i]);
		printf("repaired %s: its lost recipe fetched again from '%s'\n", line.data,
		       remote_store_name(rs));
	}
	for (size_t i = 0; i < failed.nr; i++) {
		buf_reset(&line);
		describe_file(&line, repo, path_of(&history, &failed.v[i]), &failed.v[i]);
		printf("cannot repair %s: remote store '%s' does not have it\n", line.data,
		       remote_store_name(rs));
	}
	/* once every damaged file is back, a pack whose index does not load
	 * holds nothing that is needed */
	if (!failed.nr && (n = store_drop_damaged_packs(st.store, say_dropped_pack, NULL)) < 0) {
		err = n;
		goto fail;
	}
	if (rst.chunks_damaged)
		printf("left out %llu damaged frame%s; took %llu from '%s'\n",
		       (unsigned long long)rst.chunks_damaged, rst.chunks_damaged == 1 ? "" : "s",
		       (unsigned long long)rst.chunks_taken, remote_store_name(rs));
	/* what is left */
	oidset_release(&st.damaged);
	oidset_release(&st.bad_chunks);
	st.problems = 0;
	if ((n = store_fsck(st.store, 0, on_store_problem, &st)) < 0) {
		err = n;
		goto fail;
	}
	if (n) {
		printf("%d problem%s left in '%s'; run 'git lepton fsck' to see them\n", n,
		       n == 1 ? "" : "s", store_root(st.store));
		ret = EXIT_FAIL;
	} else {
		printf("ok: store '%s' verified after repair\n", store_root(st.store));
	}
	goto done;
fail:
	ret = report_error(err);
done:
	free(revs.v);
	free(fetch.v);
	free(failed.v);
	free(restored.v);
	free(damaged.v);
	pointer_list_release(&history);
	oidset_release(&st.damaged);
	oidset_release(&st.bad_chunks);
	buf_release(&text);
	buf_release(&url);
	buf_release(&tmpdir);
	buf_release(&line);
	remote_store_free(rs);
	store_free(st.store);
	return ret;
}

int cmd_fsck(int argc, const char **argv, struct lepton_repo *repo)
{
	struct fsck_state st = { .repo = repo, .where = "" };
	const char *remote = NULL;
	int full = 0, do_repair = 0, n, ret = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--full"))
			full = 1;
		else if (!strcmp(argv[i], "--repair"))
			do_repair = 1;
		else if (!strcmp(argv[i], "--remote") && i + 1 < argc)
			remote = argv[++i];
		else if (!strncmp(argv[i], "--remote=", 9))
			remote = argv[i] + 9;
		else
			return usage_error(argv[0], "unknown option '%s'", argv[i]);
	}
	if (do_repair)
		return repair(repo, remote);
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
	if (st.remote && (n = collect_tips(&st.tips, repo)) < 0) {
		ret = report_error(n);
		goto done;
	}
	walk_history(&st);
	if (st.pruned)
		printf("%d file%s of old versions %s in no store (dropped by 'git lepton prune')\n",
		       st.pruned, st.pruned == 1 ? "" : "s", st.pruned == 1 ? "is" : "are");
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
		       store_root(st.store), full ? " (full)" : "",
		       st.pointers - st.remote_only - st.pruned,
		       st.pointers - st.remote_only - st.pruned == 1 ? "" : "s");
	}
done:
	oidset_release(&st.damaged);
	oidset_release(&st.reported);
	oidset_release(&st.trees);
	oidset_release(&st.checked);
	oidset_release(&st.bad_chunks);
	oidset_release(&st.tips);
	remote_store_free(st.remote);
	store_free(st.store);
	return ret;
}
