/* diff: how two versions of model files differ (size, oid, chunks). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "model.h"
#include "tensordiff.h"
#include "versions.h"
#include "banned.h"

/* One side of the comparison: a commit, or the work tree. */
struct side {
	const char *label;
	const char *spec; /* resolved per path when it is vN */
	int worktree;
	git_tree *tree;
};

/* What one side holds at a path. */
struct content {
	int present;
	int is_pointer; /* 0: raw bytes in git (identity is the blob id) */
	struct lepton_pointer p;
	char *file; /* the work tree file holding the bytes, or NULL: the store */
};

struct strlist {
	char **items;
	size_t nr, alloc;
};

static void strlist_add_unique(struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->items[i], s))
			return;
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->items = xrealloc(l->items, l->alloc * sizeof(*l->items));
	}
	l->items[l->nr++] = xstrdup(s);
}

static void strlist_release(struct strlist *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

struct collect {
	git_repository *repo;
	struct strlist *paths;
};

static int collect_cb(const char *root, const git_tree_entry *entry, void *data)
{
	struct collect *c = data;
	struct lepton_pointer p;
	struct buf path = BUF_INIT;
	if (git_tree_entry_type(entry) == GIT_OBJECT_BLOB &&
	    !blob_is_empty(git_tree_entry_id(entry)) &&
	    version_blob_pointer(&p, c->repo, git_tree_entry_id(entry)) == 1) {
		buf_addf(&path, "%s%s", root, git_tree_entry_name(entry));
		strlist_add_unique(c->paths, path.data);
	}
	buf_release(&path);
	return 0;
}

/* Model paths of a side: pointer blobs of its tree, or of the index for the
 * work tree. */
static int side_paths(struct strlist *out, git_repository *repo, const struct side *s)
{
	struct collect c = { repo, out };
	git_index *index = NULL;

	if (s->tree)
		return git_tree_walk(s->tree, GIT_TREEWALK_PRE, collect_cb, &c) < 0
			   ? lepton_error_set(LEPTON_EGIT, "cannot read a tree: %s",
					      git_error_message())
			   : 0;
	if (git_repository_index(&index, repo) < 0)
		return lepton_error_set(LEPTON_EGIT, "cannot read the index: %s",
					git_error_message());
	for (size_t i = 0; i < git_index_entrycount(index); i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		struct lepton_pointer p;
		if (!blob_is_empty(&e->id) && version_blob_pointer(&p, repo, &e->id) == 1)
			strlist_add_unique(out, e->path);
	}
	git_index_free(index);
	return 0;
}

static int tree_of(git_tree **out, git_repository *repo, const git_oid *commit)
{
	git_commit *c = NULL;
	int ret = 0;
	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(out, c) < 0)
		ret =
		    lepton_error_set(LEPTON_EGIT, "cannot read a commit: %s", git_error_message());
	git_commit_free(c);
	return ret;
}

/* The work tree file: a pointer left as it is, or content hashed here. */
static int worktree_content(struct content *out, struct lepton_repo *repo, const char *path)
{
	struct buf full = BUF_INIT, head = BUF_INIT;
	struct sha256_ctx ctx;
	unsigned char block[65536];
	struct stat st;
	ssize_t n;
	int fd = -1, ret = 0;

	memset(out, 0, sizeof(*out));
	buf_addf(&full, "%s%s", repo->workdir, path);
	fd = open(full.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto done; /* absent from the work tree */
	out->present = 1;
	out->is_pointer = 1;
	if (st.st_size < POINTER_MAX_SIZE) {
		buf_grow(&head, POINTER_MAX_SIZE);
		n = read_full(fd, head.data, POINTER_MAX_SIZE);
		if (n > 0 && pointer_parse(&out->p, NULL, head.data, (size_t)n) == 0)
			goto done;
		if (lseek(fd, 0, SEEK_SET) < 0) {
			ret = lepton_error_errno(LEPTON_EIO, "cannot read '%s'", path);
			goto done;
		}
	}
	sha256_init(&ctx);
	out->p.size = 0;
	while ((n = read(fd, block, sizeof(block))) > 0) {
		sha256_update(&ctx, block, (size_t)n);
		out->p.size += (uint64_t)n;
	}
	if (n < 0) {
		sha256_release(&ctx);
		ret = lepton_error_errno(LEPTON_EIO, "cannot read '%s'", path);
		goto done;
	}
	sha256_final(&out->p.oid, &ctx);
	out->file = xstrdup(full.data);
done:
	if (fd >= 0)
		close(fd);
	buf_release(&head);
	buf_release(&full);
	return ret;
}

static int side_content(struct content *out, struct lepton_repo *repo, struct side *s,
			const char *path)
{
	git_tree_entry *e = NULL;
	int kind;

	memset(out, 0, sizeof(*out));
	if (s->worktree)
		return worktree_content(out, repo, path);
	if (git_tree_entry_bypath(&e, s->tree, path) < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		git_tree_entry_free(e);
		return 0;
	}
	out->present = 1;
	kind = version_blob_pointer(&out->p, repo->git, git_tree_entry_id(e));
	out->is_pointer = kind == 1;
	if (kind != 1)
		memcpy(out->p.oid.hash, git_tree_entry_id(e)->id, GIT_OID_RAWSZ);
	git_tree_entry_free(e);
	return kind < 0 && kind != LEPTON_EINVALID ? kind : 0;
}

static int same_content(const struct content *a, const struct content *b)
{
	return a->present == b->present &&
	       (!a->present || (a->is_pointer == b->is_pointer && !oid_cmp(&a->p.oid, &b->p.oid)));
}

/* Chunk comparison when both recipes are local: 1 with *d, else 0. */
static int chunk_delta(struct recipe_delta *d, struct lepton_store *store, const struct content *a,
		       const struct content *b)
{
	struct recipe ra = RECIPE_INIT, rb = RECIPE_INIT;
	int ok = 0;
	if (!store || !b->present || !b->is_pointer || (a->present && !a->is_pointer))
		return 0;
	if (a->present && version_read_recipe(&ra, store, &a->p.oid))
		goto done;
	if (version_read_recipe(&rb, store, &b->p.oid))
		goto done;
	recipe_compare(d, a->present ? &ra : NULL, &rb);
	ok = 1;
done:
	recipe_release(&ra);
	recipe_release(&rb);
	lepton_error_clear();
	return ok;
}

/* A side's parsed header and where its bytes are: 1 for a model, 0 when
 * there is none to compare (not local, not a model, does not validate). */
static int side_model(struct model_info *m, struct tensor_source *src, struct lepton_store *store,
		      const struct content *c)
{
	int parse_ret = 0, err;

	model_info_init(m);
	memset(src, 0, sizeof(*src));
	if (!c->present || !c->is_pointer)
		return 0;
	if (c->file) {
		src->file = c->file;
		parse_ret = model_parse_file(m, c->file);
	} else {
		if (!store || !store_has_file(store, &c->p.oid))
			return 0;
		src->store = store;
		src->pointer = c->p;
		if ((err = version_parse_stored(m, &parse_ret, store, &c->p)))
			return err;
	}
	if (parse_ret == LEPTON_EINVALID) {
		lepton_error_clear();
		return 0;
	}
	if (parse_ret)
		return parse_ret;
	return m->format != MODEL_OPAQUE;
}

static void show_tensor_human(const struct tensor_diff *td, const struct model_info *old,
			      const struct model_info *new)
{
	static const char *const kinds[] = { "added", "removed", "renamed", "retyped", "changed" };
	size_t count[5] = { 0 };
	struct buf s1 = BUF_INIT, s2 = BUF_INIT;

	for (size_t i = 0; i < td->nr; i++)
		count[td->changes[i].kind]++;
	printf(
	    "  tensors %zu -> %zu: %zu added, %zu removed, %zu renamed, %zu retyped, %zu changed, "
	    "%zu unchanged\n",
	    old->n_tensors, new->n_tensors, count[TENSOR_ADDED], count[TENSOR_REMOVED],
	    count[TENSOR_RENAMED], count[TENSOR_RETYPED], count[TENSOR_CHANGED], td->unchanged);
	for (size_t i = 0; i < td->nr; i++) {
		const struct tensor_change *c = &td->changes[i];
		buf_reset(&s1);
		buf_reset(&s2);
		printf("    %-8s ", kinds[c->kind]);
		switch (c->kind) {
		case TENSOR_ADDED:
		case TENSOR_REMOVED: {
			const struct model_tensor *t = c->new ? c->new : c->old;
			tensor_shape_format(&s1, t);
			printf("%s  %s %s\n", t->name, t->dtype, s1.data);
			break;
		}
		case TENSOR_RENAMED:
			printf("%s -> %s\n", c->old->name, c->new->name);
			break;
		case TENSOR_RETYPED:
			tensor_shape_format(&s1, c->old);
			tensor_shape_format(&s2, c->new);
			printf("%s  %s %s -> %s %s\n", c->new->name, c->old->dtype, s1.data,
			       c->new->dtype, s2.data);
			break;
		case TENSOR_CHANGED:
			printf("%s  %.1f %% of %s", c->new->name,
			       100.0 * (double)c->changed_units / (double)(c->units ? c->units : 1),
			       c->units_are_bytes ? "bytes" : "elements");
			if (c->have_float_stats) {
				printf(", max |diff| %.3g", c->max_abs_diff);
				if (c->rel_l2 >= 0)
					printf(", rel L2 %.3g", c->rel_l2);
			}
			putchar('\n');
			break;
		}
	}
	if (td->meta_nr) {
		printf("  metadata\n");
		for (size_t i = 0; i < td->meta_nr; i++) {
			const struct meta_change *m = &td->meta[i];
			if (!m->old_value)
				printf("    added    %s = %s\n", m->key, m->new_value);
			else if (!m->new_value)
				printf("    removed  %s (was %s)\n", m->key, m->old_value);
			else
				printf("    changed  %s: %s -> %s\n", m->key, m->old_value,
				       m->new_value);
		}
	}
	buf_release(&s1);
	buf_release(&s2);
}

static void json_tensor(struct buf *out, const struct model_tensor *t)
{
	buf_addstr(out, "{\"name\":");
	json_add_string(out, t->name);
	buf_addf(out, ",\"dtype\":\"%s\",\"shape\":", t->dtype);
	tensor_shape_format(out, t);
	buf_addch(out, '}');
}

static void show_tensor_json(struct buf *out, const struct tensor_diff *td,
			     const struct model_info *old, const struct model_info *new)
{
	static const char *const kinds[] = { "added", "removed", "renamed", "retyped", "changed" };

	buf_addf(out, ",\"tensors\":{\"old_count\":%zu,\"new_count\":%zu,\"unchanged\":%zu",
		 old->n_tensors, new->n_tensors, td->unchanged);
	for (int k = TENSOR_ADDED; k <= TENSOR_CHANGED; k++) {
		int first = 1;
		buf_addf(out, ",\"%s\":[", kinds[k]);
		for (size_t i = 0; i < td->nr; i++) {
			const struct tensor_change *c = &td->changes[i];
			if ((int)c->kind != k)
				continue;
			if (!first)
				buf_addch(out, ',');
			first = 0;
			if (k == TENSOR_ADDED || k == TENSOR_REMOVED) {
				json_tensor(out, c->new ? c->new : c->old);
				continue;
			}
			buf_addstr(out, "{\"old\":");
			json_tensor(out, c->old);
			buf_addstr(out, ",\"new\":");
			json_tensor(out, c->new);
			if (k == TENSOR_CHANGED) {
				buf_addf(out, ",\"%s\":%llu,\"changed\":%llu",
					 c->units_are_bytes ? "bytes" : "elements",
					 (unsigned long long)c->units,
					 (unsigned long long)c->changed_units);
				if (c->have_float_stats) {
					buf_addf(out, ",\"max_abs_diff\":%.17g", c->max_abs_diff);
					if (c->rel_l2 >= 0)
						buf_addf(out, ",\"rel_l2\":%.17g", c->rel_l2);
					else
						buf_addstr(out, ",\"rel_l2\":null");
				}
			}
			buf_addch(out, '}');
		}
		buf_addch(out, ']');
	}
	buf_addstr(out, "},\"metadata\":[");
	for (size_t i = 0; i < td->meta_nr; i++) {
		const struct meta_change *m = &td->meta[i];
		buf_addstr(out, i ? ",{\"key\":" : "{\"key\":");
		json_add_string(out, m->key);
		buf_addstr(out, ",\"old\":");
		if (m->old_value)
			json_add_string(out, m->old_value);
		else
			buf_addstr(out, "null");
		buf_addstr(out, ",\"new\":");
		if (m->new_value)
			json_add_string(out, m->new_value);
		else
			buf_addstr(out, "null");
		buf_addch(out, '}');
	}
	buf_addch(out, ']');
}

static void json_content(struct buf *out, const struct content *c)
{
	char hex[OID_HEXSZ + 1];
	if (!c->present) {
		buf_addstr(out, "null");
		return;
	}
	buf_addf(out, "{\"oid\":\"%s\",\"size\":%llu,\"pointer\":%s}", oid_to_hex(hex, &c->p.oid),
		 (unsigned long long)c->p.size, c->is_pointer ? "true" : "false");
}

static void show_path(struct buf *json, const char *path, const struct content *a,
		      const struct content *b, const struct recipe_delta *d,
		      const struct tensor_diff *td, const struct model_info *ma,
		      const struct model_info *mb)
{
	const char *status = !a->present ? "added" : !b->present ? "deleted" : "modified";
	char s1[32], s2[32], h1[OID_HEXSZ + 1], h2[OID_HEXSZ + 1];

	if (json) {
		if (json->len)
			buf_addch(json, ',');
		buf_addstr(json, "{\"path\":");
		json_add_string(json, path);
		buf_addf(json, ",\"status\":\"%s\",\"old\":", status);
		json_content(json, a);
		buf_addstr(json, ",\"new\":");
		json_content(json, b);
		if (d)
			buf_addf(json,
				 ",\"chunks\":{\"total\":%llu,\"shared\":%llu,\"changed\":%llu,"
				 "\"changed_bytes\":%llu,\"removed\":%llu}",
				 (unsigned long long)d->chunks, (unsigned long long)d->shared,
				 (unsigned long long)d->changed,
				 (unsigned long long)d->changed_bytes,
				 (unsigned long long)d->removed);
		else
			buf_addstr(json, ",\"chunks\":null");
		if (td)
			show_tensor_json(json, td, ma, mb);
		else
			buf_addstr(json, ",\"tensors\":null,\"metadata\":null");
		buf_addch(json, '}');
		return;
	}
	printf("%s (%s)\n", path, status);
	oid_to_hex(h1, &a->p.oid);
	oid_to_hex(h2, &b->p.oid);
	if (a->present && b->present) {
		long long delta = (long long)b->p.size - (long long)a->p.size;
		printf("  size    %s -> %s (%+lld B)\n", human_size(s1, sizeof(s1), a->p.size),
		       human_size(s2, sizeof(s2), b->p.size), delta);
		printf("  oid     %.12s -> %.12s\n", h1, h2);
	} else if (b->present) {
		printf("  size    %s\n  oid     %.12s\n", human_size(s2, sizeof(s2), b->p.size),
		       h2);
	} else {
		printf("  size    %s\n  oid     %.12s\n", human_size(s1, sizeof(s1), a->p.size),
		       h1);
	}
	if (d)
		printf("  chunks  %llu shared, %llu changed (%s), %llu removed\n",
		       (unsigned long long)d->shared, (unsigned long long)d->changed,
		       human_size(s1, sizeof(s1), d->changed_bytes),
		       (unsigned long long)d->removed);
	else if (b->present)
		printf("  chunks  ? (content not in the local store)\n");
	if (td)
		show_tensor_human(td, ma, mb);
}

/* Is arg a revision rather than a path? */
static int looks_like_rev(git_repository *repo, const char *workdir, const char *arg)
{
	const char *at = strrchr(arg, '@');
	unsigned long n;
	git_object *obj = NULL;
	struct buf full = BUF_INIT;
	int is_file, ret;

	if (version_number_parse(&n, arg) || (at && at != arg && version_number_parse(&n, at + 1)))
		return 1;
	buf_addf(&full, "%s%s", workdir ? workdir : "", arg);
	is_file = workdir && access(full.data, F_OK) == 0;
	buf_release(&full);
	if (is_file)
		return 0;
	ret = git_revparse_single(&obj, repo, arg) == 0;
	git_object_free(obj);
	return ret;
}

static int resolve_side(struct side *s, git_repository *repo, const char *path)
{
	git_oid commit;
	int err;
	if (s->worktree)
		return 0;
	git_tree_free(s->tree);
	s->tree = NULL;
	if ((err = version_resolve(&commit, NULL, repo, s->spec, path)))
		return err;
	return tree_of(&s->tree, repo, &commit);
}

static int needs_one_path(const struct strlist *revs)
{
	unsigned long n;
	for (size_t i = 0; i < revs->nr; i++)
		if (version_number_parse(&n, revs->items[i]))
			return 1;
	return 0;
}

/* A bare vN without a path: the one model path of HEAD, if there is one. */
static int only_model_path(struct strlist *out, git_repository *repo)
{
	struct side head = { .spec = "HEAD" };
	struct strlist all = { 0 };
	int err;

	if (!(err = resolve_side(&head, repo, NULL)) && !(err = side_paths(&all, repo, &head))) {
		if (all.nr == 1)
			strlist_add_unique(out, all.items[0]);
		else
			err = lepton_error_set(LEPTON_EUSAGE,
					       "HEAD has %zu model paths; name one after the "
					       "versions, or write 'PATH@vN'",
					       all.nr);
	}
	git_tree_free(head.tree);
	strlist_release(&all);
	return err;
}

int cmd_diff(int argc, const char **argv, struct lepton_repo *repo)
{
	struct side sides[2] = { { .label = "HEAD", .spec = "HEAD" },
				 { .label = "work tree", .worktree = 1 } };
	struct strlist paths = { 0 }, revs = { 0 };
	struct lepton_store *store = NULL;
	struct buf json = BUF_INIT;
	int as_json = 0, only_paths = 0, ret = 0, err;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_paths && !strcmp(a, "--json"))
			as_json = 1;
		else if (!only_paths && !strcmp(a, "--"))
			only_paths = 1;
		else if (!only_paths && a[0] == '-') {
			ret = usage_error(argv[0], "unknown option '%s'", a);
			goto done;
		} else if (!only_paths && !paths.nr && revs.nr < 2 &&
			   looks_like_rev(repo->git, repo->workdir, a))
			strlist_add_unique(&revs, a);
		else
			strlist_add_unique(&paths, a);
	}
	if (revs.nr == 2) {
		sides[1].worktree = 0;
		sides[1].spec = sides[1].label = revs.items[1];
	}
	if (revs.nr >= 1)
		sides[0].spec = sides[0].label = revs.items[0];
	if (sides[1].worktree && !repo->workdir) {
		ret = error("a bare repository has no work tree; name two revisions");
		goto done;
	}
	if (!paths.nr && needs_one_path(&revs) && (err = only_model_path(&paths, repo->git))) {
		ret = report_error(err);
		goto done;
	}
	if (!paths.nr) {
		for (int i = 0; i < 2; i++) {
			if ((err = resolve_side(&sides[i], repo->git, NULL)) ||
			    (err = side_paths(&paths, repo->git, &sides[i]))) {
				ret = report_error(err);
				goto done;
			}
		}
	}
	store_open(&store, repo->store_path, 0);
	lepton_error_clear();
	if (store && (err = repo_lock_store(repo, store, 0))) {
		ret = report_error(err);
		goto done;
	}
	for (size_t i = 0; i < paths.nr; i++) {
		struct content a = { 0 }, b = { 0 };
		struct recipe_delta d;
		struct model_info ma, mb;
		struct tensor_source sa, sb;
		struct tensor_diff td;
		int have_delta, have_td = 0;

		if ((err = resolve_side(&sides[0], repo->git, paths.items[i])) ||
		    (err = resolve_side(&sides[1], repo->git, paths.items[i])) ||
		    (err = side_content(&a, repo, &sides[0], paths.items[i])) ||
		    (err = side_content(&b, repo, &sides[1], paths.items[i]))) {
			free(a.file);
			free(b.file);
			ret = report_error(err);
			goto done;
		}
		if (!a.present && !b.present) {
			ret = error(
			    "'%s' is in neither '%s' nor '%s'; see 'git lepton log' for model "
			    "paths",
			    paths.items[i], sides[0].label, sides[1].label);
			goto done;
		}
		if (same_content(&a, &b)) {
			free(a.file);
			free(b.file);
			continue;
		}
		have_delta = chunk_delta(&d, store, &a, &b);
		err = side_model(&ma, &sa, store, &a);
		if (err == 1)
			err = side_model(&mb, &sb, store, &b);
		else
			model_info_init(&mb);
		if (err == 1) {
			err = tensor_diff_compute(&td, &ma, &mb, &sa, &sb);
			have_td = err == 0;
		}
		if (err < 0)
			warning("no tensor comparison for '%s': %s", paths.items[i],
				lepton_error_last());
		show_path(as_json ? &json : NULL, paths.items[i], &a, &b, have_delta ? &d : NULL,
			  have_td ? &td : NULL, &ma, &mb);
		if (have_td)
			tensor_diff_release(&td);
		model_info_release(&ma);
		model_info_release(&mb);
		free(a.file);
		free(b.file);
	}
	if (as_json)
		printf("[%s]\n", json.data);
done:
	git_tree_free(sides[0].tree);
	git_tree_free(sides[1].tree);
	store_free(store);
	buf_release(&json);
	strlist_release(&paths);
	strlist_release(&revs);
	return ret;
}
