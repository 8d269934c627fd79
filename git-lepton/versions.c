/* versions: version numbers of a model path from first-parent history. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "oidset.h"
#include "tensormap.h"
#include "versions.h"
#include "banned.h"

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();
	return lepton_error_set(LEPTON_EGIT, "%s: %s", what,
				e && e->message ? e->message : "unknown error");
}

int version_blob_pointer(struct lepton_pointer *out, git_repository *repo, const git_oid *blob)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	git_object_t type;
	size_t len;
	int ret = 0;

	if (git_repository_odb(&odb, repo) < 0)
		return git_fail("cannot open the object database");
	if (git_odb_read_header(&len, &type, odb, blob) < 0) {
		ret = git_fail("cannot read a blob");
		goto done;
	}
	if (type != GIT_OBJECT_BLOB || len >= POINTER_MAX_SIZE)
		goto done;
	if (len == 0) {
		out->oid = empty_oid;
		out->size = 0;
		ret = 1;
		goto done;
	}
	if (git_odb_read(&obj, odb, blob) < 0) {
		ret = git_fail("cannot read a blob");
		goto done;
	}
	ret = pointer_parse(out, NULL, git_odb_object_data(obj), git_odb_object_size(obj));
	if (ret == 0)
		ret = 1;
	else if (ret == LEPTON_ENOTFOUND)
		ret = 0;
done:
	git_odb_object_free(obj);
	git_odb_free(odb);
	return ret;
}

/* What the walk sees at one commit. */
struct step {
	git_oid commit, blob;
	int present;
};

static void add_version(struct version_list *l, const struct step *s, int is_pointer,
			const struct lepton_pointer *p)
{
	struct version *v;
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	v = &l->v[l->nr++];
	memset(v, 0, sizeof(*v));
	v->n = (unsigned)l->nr;
	v->commit = s->commit;
	v->blob = s->blob;
	v->is_pointer = is_pointer;
	v->pointer = *p;
}

/* The content at one step: pointer, or raw blob (its size only). */
static int step_content(struct lepton_pointer *p, int *is_pointer, git_repository *repo,
			const git_oid *blob)
{
	int kind = version_blob_pointer(p, repo, blob);
	if (kind < 0 && kind != LEPTON_EINVALID)
		return kind;
	*is_pointer = kind == 1;
	if (kind != 1) {
		/* raw bytes or a malformed pointer: known by the blob id */
		git_odb *odb;
		git_object_t type;
		size_t len = 0;
		memset(p, 0, sizeof(*p));
		memcpy(p->oid.hash, blob->id, GIT_OID_RAWSZ);
		if (git_repository_odb(&odb, repo) < 0)
			return git_fail("cannot open the object database");
		if (git_odb_read_header(&len, &type, odb, blob) < 0) {
			git_odb_free(odb);
			return git_fail("cannot read a blob");
		}
		git_odb_free(odb);
		p->size = len;
	}
	return 0;
}

int versions_of_path(struct version_list *out, git_repository *repo, const char *path,
		     const git_oid *tip)
{
	struct step *steps = NULL;
	size_t nr = 0, alloc = 0;
	git_commit *c = NULL, *parent = NULL;
	git_oid prev_tree;
	int have_prev_tree = 0, prev_present = 0, ret = 0;
	git_oid prev_blob;

	memset(out, 0, sizeof(*out));
	out->path = xstrdup(path);
	memset(&prev_blob, 0, sizeof(prev_blob));
	if (git_commit_lookup(&c, repo, tip) < 0) {
		ret = git_fail("cannot read a commit");
		goto done;
	}
	/* newest to oldest along first parents */
	while (c) {
		const git_oid *tree_id = git_commit_tree_id(c);
		struct step *s;

		if (nr == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			steps = xrealloc(steps, alloc * sizeof(*steps));
		}
		s = &steps[nr++];
		memset(s, 0, sizeof(*s));
		git_oid_cpy(&s->commit, git_commit_id(c));
		if (have_prev_tree && git_oid_equal(tree_id, &prev_tree)) {
			s->present = prev_present;
			s->blob = prev_blob;
		} else {
			git_tree *tree = NULL;
			git_tree_entry *e = NULL;
			if (git_commit_tree(&tree, c) < 0) {
				ret = git_fail("cannot read a tree");
				goto done;
			}
			if (git_tree_entry_bypath(&e, tree, path) == 0 &&
			    git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
				s->present = 1;
				git_oid_cpy(&s->blob, git_tree_entry_id(e));
			}
			git_tree_entry_free(e);
			git_tree_free(tree);
			git_oid_cpy(&prev_tree, tree_id);
			have_prev_tree = 1;
			prev_present = s->present;
			prev_blob = s->blob;
		}
		if (git_commit_parentcount(c) == 0) {
			git_commit_free(c);
			c = NULL;
		} else {
			if (git_commit_parent(&parent, c, 0) < 0) {
				ret = git_fail("cannot read a parent commit (shallow clone?)");
				goto done;
			}
			git_commit_free(c);
			c = parent;
			parent = NULL;
		}
	}

	/* oldest to newest: a version where content differs from the last one */
	for (size_t i = nr; i-- > 0;) {
		const struct step *s = &steps[i];
		const struct version *last = out->nr ? &out->v[out->nr - 1] : NULL;
		struct lepton_pointer p;
		int is_pointer;

		if (!s->present)
			continue;
		if (last && git_oid_equal(&s->blob, &last->blob))
			continue;
		if ((ret = step_content(&p, &is_pointer, repo, &s->blob)))
			goto done;
		if (last && last->is_pointer == is_pointer && !oid_cmp(&last->pointer.oid, &p.oid))
			continue;
		add_version(out, s, is_pointer, &p);
	}
done:
	git_commit_free(c);
	free(steps);
	return ret;
}

void version_list_release(struct version_list *l)
{
	free(l->path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int version_number_parse(unsigned long *out, const char *s)
{
	char *end;
	unsigned long n;

	if (s[0] != 'v' || s[1] < '0' || s[1] > '9')
		return 0;
	errno = 0;
	n = strtoul(s + 1, &end, 10);
	if (*end || errno)
		return 0;
	*out = n;
	return 1;
}

static int resolve_version(git_oid *out, git_repository *repo, const char *path, unsigned long n)
{
	struct version_list l = VERSION_LIST_INIT;
	git_oid head;
	int ret = 0;

	if (git_reference_name_to_id(&head, repo, "HEAD") < 0) {
		ret = lepton_error_set(LEPTON_ENOTFOUND,
				       "'%s@v%lu': there is no commit yet; versions start at the "
				       "first commit",
				       path, n);
		goto done;
	}
	if ((ret = versions_of_path(&l, repo, path, &head)))
		goto done;
	if (!l.nr)
		ret =
		    lepton_error_set(LEPTON_ENOTFOUND,
				     "'%s' has no versions in the history of HEAD; check the path "
				     "with 'git lepton log'",
				     path);
	else if (n == 0)
		ret = lepton_error_set(LEPTON_EINVALID,
				       "there is no v0 of '%s'; versions count from v1 to v%zu",
				       path, l.nr);
	else if (n > l.nr)
		ret = lepton_error_set(LEPTON_EINVALID, "'%s' has %zu version%s; there is no v%lu",
				       path, l.nr, l.nr == 1 ? "" : "s", n);
	else
		git_oid_cpy(out, &l.v[n - 1].commit);
done:
	version_list_release(&l);
	return ret;
}

int version_resolve(git_oid *out, char **path_out, git_repository *repo, const char *spec,
		    const char *default_path)
{
	const char *at = strrchr(spec, '@');
	git_object *obj = NULL, *commit = NULL;
	unsigned long n;
	int ret = 0;

	if (path_out)
		*path_out = NULL;
	if (at && at != spec && version_number_parse(&n, at + 1)) {
		char *path = xstrdup(spec);
		path[at - spec] = '\0';
		ret = resolve_version(out, repo, path, n);
		if (!ret && path_out)
			*path_out = path;
		else
			free(path);
		return ret;
	}
	if (version_number_parse(&n, spec)) {
		if (!default_path)
			return lepton_error_set(LEPTON_EINVALID,
						"'%s' needs exactly one model path; name it as "
						"'PATH@%s'",
						spec, spec);
		return resolve_version(out, repo, default_path, n);
	}
	if (git_revparse_single(&obj, repo, spec) < 0 ||
	    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		ret = lepton_error_set(LEPTON_ENOTFOUND,
				       "'%s' is not a revision, nor PATH@vN or vN; see 'git lepton "
				       "log' for versions",
				       spec);
		goto done;
	}
	git_oid_cpy(out, git_object_id(commit));
done:
	git_object_free(commit);
	git_object_free(obj);
	return ret;
}

int version_read_recipe(struct recipe *out, struct lepton_store *s, const struct lepton_oid *oid)
{
	struct buf path = BUF_INIT, data;
	char hex[OID_HEXSZ + 1];
	int err;

	memset(out, 0, sizeof(*out));
	oid_to_hex(hex, oid);
	buf_init_limit(&data, RECIPE_HEADER_SIZE + (size_t)RECIPE_MAX_CHUNKS * RECIPE_ENTRY_SIZE);
	buf_addf(&path, "%s/", store_root(s));
	store_recipe_path(&path, oid);
	err = buf_read_file(&data, path.data);
	if (err == LEPTON_ENOTFOUND)
		err = lepton_error_set(LEPTON_ENOTFOUND,
				       "content '%s' is not in the local store; run 'git lepton "
				       "fetch' to get it",
				       hex);
	else if (!err && (err = recipe_parse(out, (unsigned char *)data.data, data.len)))
		err = lepton_error_wrap(err, "recipe of '%s' is damaged", hex);
	else if (!err && oid_cmp(&out->file, oid)) {
		recipe_release(out);
		err =
		    lepton_error_set(LEPTON_ECORRUPT, "recipe of '%s' describes another file", hex);
	}
	buf_release(&data);
	buf_release(&path);
	return err;
}

void recipe_compare(struct recipe_delta *out, const struct recipe *old, const struct recipe *new)
{
	struct oidset old_set = OIDSET_INIT, new_set = OIDSET_INIT, seen = OIDSET_INIT;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; old && i < old->nr; i++)
		oidset_insert(&old_set, &old->chunks[i].oid);
	for (size_t i = 0; i < new->nr; i++) {
		const struct recipe_chunk *c = &new->chunks[i];
		out->chunks++;
		oidset_insert(&new_set, &c->oid);
		if (oidset_has(&old_set, &c->oid))
			out->shared++;
		else if (oidset_insert(&seen, &c->oid)) {
			out->changed++;
			out->changed_bytes += c->len;
		}
	}
	for (size_t i = 0; old && i < old->nr; i++)
		if (!oidset_has(&new_set, &old->chunks[i].oid) &&
		    oidset_insert(&seen, &old->chunks[i].oid))
			out->removed++;
	oidset_release(&old_set);
	oidset_release(&new_set);
	oidset_release(&seen);
}

static long read_store(void *ctx, void *buf, size_t len)
{
	return (long)store_reader_read(ctx, buf, len);
}

int version_parse_stored(struct model_info *out, int *parse_ret, struct lepton_store *s,
			 const struct lepton_pointer *p)
{
	struct store_reader *r = NULL;
	int ret;

	model_info_init(out);
	*parse_ret = 0;
	if ((ret = store_reader_open(&r, s, p)))
		return ret;
	*parse_ret = model_parse_stream(out, read_store, r, p->size);
	/* a reader's failure is an error, not a verdict on the format */
	if (*parse_ret && *parse_ret != LEPTON_EINVALID)
		ret = *parse_ret;
	store_reader_free(r);
	return ret;
}

void json_add_string(struct buf *out, const char *s)
{
	buf_addch(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_addf(out, "\\%c", c);
		else if (c == '\n')
			buf_addstr(out, "\\n");
		else if (c == '\t')
			buf_addstr(out, "\\t");
		else if (c < 0x20)
			buf_addf(out, "\\u%04x", c);
		else
			buf_addch(out, c);
	}
	buf_addch(out, '"');
}

/* One tensor of a version: its name and a fingerprint of its bytes (a
 * hash of its chunks' ids, or for small tensors that share a chunk, of
 * the tensor's own bytes within it). */
struct tensor_digest {
	char *name;
	uint64_t fingerprint;
};

static int cmp_digest(const void *a, const void *b)
{
	return strcmp(((const struct tensor_digest *)a)->name,
		      ((const struct tensor_digest *)b)->name);
}

static void digest_add(struct tensor_digest **d, size_t *nr, size_t *alloc, const char *name,
		       uint64_t fingerprint)
{
	if (*nr == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 64;
		*d = xrealloc(*d, *alloc * sizeof(**d));
	}
	(*d)[*nr].name = xstrdup(name);
	(*d)[(*nr)++].fingerprint = fingerprint;
}

static void digests_free(struct tensor_digest *d, size_t nr)
{
	for (size_t i = 0; d && i < nr; i++)
		free(d[i].name);
	free(d);
}

/* The tensors of the model header at the start of a recipe's file. */
static int stored_header(struct model_info *info, struct lepton_store *s, const struct recipe *r,
			 const struct tensor_map *m)
{
	struct buf head = BUF_INIT, chunk = BUF_INIT;
	int err = 0;

	for (size_t i = 0; i < m->nr && m->entries[i].kind == TMAP_HEADER && !err; i++) {
		unsigned depth;
		buf_reset(&chunk);
		if (!(err = store_read_chunk(s, &r->chunks[i].oid, &chunk, &depth)))
			buf_add(&head, chunk.data, chunk.len);
	}
	if (!err)
		err = model_parse(info, head.data, head.len, r->size);
	buf_release(&head);
	buf_release(&chunk);
	return err;
}

/* The digests of a recipe's tensors, sorted by name. */
static int tensor_digests(struct tensor_digest **out, size_t *nr, struct lepton_store *s,
			  const struct recipe *r)
{
	const struct recipe_section *sec = recipe_find_section(r, RECIPE_SECTION_TENSOR_MAP);
	struct tensor_map m = TENSOR_MAP_INIT;
	struct model_info info;
	struct tensor_digest *d = NULL;
	struct buf chunk = BUF_INIT;
	size_t n = 0, alloc = 0, t = 0;
	uint64_t offset = 0;
	int err, have_info = 0;

	*out = NULL;
	*nr = 0;
	model_info_init(&info);
	if (!sec)
		return LEPTON_ENOTFOUND;
	if ((err = tensor_map_parse(&m, sec->data, sec->len)))
		return err;
	if (m.nr != r->nr) {
		err = lepton_error_set(LEPTON_ECORRUPT, "tensor map and recipe disagree");
		goto done;
	}
	for (size_t i = 0; i < m.nr; offset += r->chunks[i].len, i++) {
		const struct tensor_map_entry *e = &m.entries[i];
		uint64_t h = xxh3_64(r->chunks[i].oid.hash, OID_RAWSZ);
		unsigned depth;

		if (e->kind == TMAP_TENSOR) {
			/* the slices of one tensor follow each other: fold them in */
			if (n && e->slice > 0 && !strcmp(d[n - 1].name, e->name))
				d[n - 1].fingerprint = d[n - 1].fingerprint * 1099511628211ull ^ h;
			else
				digest_add(&d, &n, &alloc, e->name, h);
			continue;
		}
		if (e->kind != TMAP_GROUP)
			continue;
		/* small tensors share this chunk: tell them apart by their bytes,
		 * placed by the header's offsets */
		if (!have_info && (err = stored_header(&info, s, r, &m)))
			goto done;
		have_info = 1;
		buf_reset(&chunk);
		if ((err = store_read_chunk(s, &r->chunks[i].oid, &chunk, &depth)))
			goto done;
		while (t < info.n_tensors && info.tensors[t].offset < offset)
			t++;
		for (; t < info.n_tensors && info.tensors[t].offset < offset + chunk.len; t++) {
			const struct model_tensor *mt = &info.tensors[t];
			uint64_t at = mt->offset - offset;
			uint64_t len = mt->size < chunk.len - at ? mt->size : chunk.len - at;
			digest_add(&d, &n, &alloc, mt->name, xxh3_64(chunk.data + at, len));
		}
	}
	qsort(d, n, sizeof(*d), cmp_digest);
	*out = d;
	*nr = n;
	d = NULL;
done:
	digests_free(d, n);
	buf_release(&chunk);
	model_info_release(&info);
	tensor_map_release(&m);
	return err;
}

int recipe_tensor_changes(uint64_t *changed, uint64_t *total, struct lepton_store *s,
			  const struct recipe *old, const struct recipe *new)
{
	struct tensor_digest *dold = NULL, *dnew = NULL;
	size_t nold = 0, nnew = 0, i = 0, j = 0;
	int err;

	*changed = *total = 0;
	if ((err = tensor_digests(&dnew, &nnew, s, new)) ||
	    (old && (err = tensor_digests(&dold, &nold, s, old))))
		goto done;
	*total = nnew;
	/* a merge of the two sorted lists: removed, added, or changed */
	while (i < nold || j < nnew) {
		int c = i == nold ? 1 : j == nnew ? -1 : strcmp(dold[i].name, dnew[j].name);
		if (c < 0) {
			(*changed)++;
			i++;
		} else if (c > 0) {
			(*changed)++;
			j++;
		} else {
			*changed += dold[i].fingerprint != dnew[j].fingerprint;
			i++;
			j++;
		}
	}
done:
	digests_free(dold, nold);
	digests_free(dnew, nnew);
	return err;
}
