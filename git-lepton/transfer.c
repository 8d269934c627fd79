#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "frame.h"
#include "oidset.h"
#include "pack.h"
#include "recipe.h"
#include "transfer.h"
#include "banned.h"

#define MARKER_KEY       "lepton-store"
#define MARKER_TEXT      "lepton store 1\n"
#define RECIPE_LIMIT     (RECIPE_HEADER_SIZE + (size_t)RECIPE_MAX_CHUNKS * RECIPE_ENTRY_SIZE)
#define IDX_LIMIT        (1u << 30)
#define FRAME_READ_LIMIT (STORE_CHUNK_SIZE * 2 + 4096)

struct remote_store {
	struct backend *b;
	char *cache_dir; /* <local store>/remotes/<id>: the remote's pack indexes */
	char *cache_tmp;
	struct pack *packs;
	size_t nr_packs, alloc_packs;
};

/* ---- opening ---------------------------------------------------------- */

static int first_entry(void *data, const char *name)
{
	*(int *)data = 1;
	return 1; /* stop */
}

static int check_or_create(struct remote_store *rs, int create)
{
	struct buf marker;
	const char *name = backend_name(rs->b);
	int err, nonempty = 0;

	buf_init_limit(&marker, 4096);
	err = backend_get(rs->b, MARKER_KEY, &marker);
	if (!err) {
		if (strncmp(marker.data, "lepton store ", 13))
			err = lepton_error_set(LEPTON_EINVALID, "'%s' is not a git-lepton store",
					       name);
		else if (strcmp(marker.data, MARKER_TEXT))
			err = lepton_error_set(LEPTON_EINVALID,
					       "store '%s' has format '%.20s'; this git-lepton "
					       "reads version 1; upgrade git-lepton",
					       name, marker.data + 13);
		goto done;
	}
	if (err != LEPTON_ENOTFOUND)
		goto done;
	lepton_error_clear();
	err = backend_list(rs->b, "", first_entry, &nonempty);
	if (err < 0)
		goto done;
	if (nonempty)
		err = lepton_error_set(LEPTON_EINVALID,
				       "'%s' is not a git-lepton store (it holds other files "
				       "and no '%s' marker)",
				       name, MARKER_KEY);
	else if (!create)
		err = lepton_error_set(LEPTON_ENOTFOUND, "store '%s' does not exist", name);
	else
		err = backend_put(rs->b, MARKER_KEY, MARKER_TEXT, strlen(MARKER_TEXT));
done:
	buf_release(&marker);
	return err;
}

static int make_dirs(const char *path)
{
	char *copy = xstrdup(path);
	int err = 0;
	for (char *p = copy + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(copy, 0777) < 0 && errno != EEXIST) {
			err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", copy);
			break;
		}
		if (!c)
			break;
		*p = c;
	}
	free(copy);
	return err;
}

int remote_store_open(struct remote_store **out, struct lepton_store *local, const char *url,
		      int create)
{
	struct remote_store *rs = xcalloc(1, sizeof(*rs));
	struct buf dir = BUF_INIT;
	int err;

	*out = NULL;
	if ((err = backend_open(&rs->b, url)))
		goto fail;
	if ((err = check_or_create(rs, create)))
		goto fail;
	buf_addf(&dir, "%s/remotes/%016llx", store_root(local),
		 (unsigned long long)xxh3_64(url, strlen(url)));
	rs->cache_dir = buf_detach(&dir, NULL);
	buf_addf(&dir, "%s/tmp", rs->cache_dir);
	rs->cache_tmp = buf_detach(&dir, NULL);
	if ((err = make_dirs(rs->cache_tmp)))
		goto fail;
	*out = rs;
	return 0;
fail:
	remote_store_free(rs);
	return err;
}

void remote_store_free(struct remote_store *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nr_packs; i++)
		pack_close(&rs->packs[i]);
	free(rs->packs);
	free(rs->cache_dir);
	free(rs->cache_tmp);
	backend_free(rs->b);
	free(rs);
}

struct backend *remote_store_backend(struct remote_store *rs)
{
	return rs->b;
}

const char *remote_store_name(const struct remote_store *rs)
{
	return backend_name(rs->b);
}

static void recipe_key(struct buf *key, const struct lepton_oid *oid)
{
	buf_reset(key);
	store_recipe_path(key, oid);
}

int remote_store_has_file(struct remote_store *rs, const struct lepton_oid *oid)
{
	struct buf key = BUF_INIT;
	int ret;
	recipe_key(&key, oid);
	ret = backend_exists(rs->b, key.data);
	buf_release(&key);
	return ret;
}

/* ---- the remote's pack indexes ----------------------------------------- */

struct name_list {
	char **names;
	size_t nr, alloc;
};

static int collect_idx(void *data, const char *name)
{
	struct name_list *l = data;
	size_t len = strlen(name);
	if (len < 5 || strcmp(name + len - 4, ".idx") || strncmp(name, "pack-", 5))
		return 0;
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->names = xrealloc(l->names, l->alloc * sizeof(*l->names));
	}
	l->names[l->nr] = xstrdup(name);
	l->names[l->nr++][len - 4] = '\0';
	return 0;
}

static void name_list_release(struct name_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->names[i]);
	free(l->names);
}

static int have_cached(const struct remote_store *rs, const char *name)
{
	for (size_t i = 0; i < rs->nr_packs; i++)
		if (!strcmp(rs->packs[i].name, name))
			return 1;
	return 0;
}

static int add_cached(struct remote_store *rs, const char *name)
{
	struct pack p;
	int err = pack_open(&p, rs->cache_dir, name);
	if (err)
		return lepton_error_wrap(err, "index '%s' of store '%s'", name,
					 backend_name(rs->b));
	if (rs->nr_packs == rs->alloc_packs) {
		rs->alloc_packs = rs->alloc_packs ? 2 * rs->alloc_packs : 16;
		rs->packs = xrealloc(rs->packs, rs->alloc_packs * sizeof(*rs->packs));
	}
	rs->packs[rs->nr_packs++] = p;
	return 0;
}

/* Bring the list of the remote's packs up to date, downloading the indexes
 * that are not cached yet. */
static int reload_indexes(struct remote_store *rs)
{
	struct name_list names = { 0 };
	struct buf key = BUF_INIT, path = BUF_INIT, idx;
	int err;

	buf_init_limit(&idx, IDX_LIMIT);
	if ((err = backend_list(rs->b, "packs", collect_idx, &names)))
		goto done;
	for (size_t i = 0; i < names.nr && !err; i++) {
		struct stat st;
		if (have_cached(rs, names.names[i]))
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s.idx", rs->cache_dir, names.names[i]);
		if (stat(path.data, &st) < 0) {
			buf_reset(&key);
			buf_reset(&idx);
			buf_addf(&key, "packs/%s.idx", names.names[i]);
			err = backend_get(rs->b, key.data, &idx);
			if (!err)
				err = write_file_atomic(rs->cache_tmp, path.data, idx.data, idx.len,
							0);
			if (err)
				break;
		}
		err = add_cached(rs, names.names[i]);
	}
done:
	name_list_release(&names);
	buf_release(&key);
	buf_release(&path);
	buf_release(&idx);
	return err;
}

static struct pack *remote_find(struct remote_store *rs, const struct lepton_oid *chunk,
				uint64_t *offset, uint64_t *len)
{
	for (size_t i = rs->nr_packs; i-- > 0;)
		if (pack_find(&rs->packs[i], chunk, offset, len))
			return &rs->packs[i];
	return NULL;
}

/* ---- frames on the wire ---------------------------------------------- */

/* A whole frame, checked as it travels: header, chunk id, length, XXH3. */
static int check_frame(struct frame_header *h, const unsigned char *frame, size_t len,
		       const struct lepton_oid *chunk)
{
	char hex[OID_HEXSZ + 1];
	int err = frame_header_parse(h, frame, len);

	if (!err && oid_cmp(&h->chunk, chunk))
		err = lepton_error_set(LEPTON_ECORRUPT, "holds another chunk");
	else if (!err && frame_total_size(h) != len)
		err = lepton_error_set(LEPTON_ECORRUPT, "length mismatch");
	else if (!err && xxh3_64(frame, len - FRAME_TRAILER_SIZE) !=
			     get_le64(frame + len - FRAME_TRAILER_SIZE))
		err = lepton_error_set(LEPTON_ECORRUPT, "checksum mismatch");
	if (err)
		err = lepton_error_wrap(LEPTON_ECORRUPT, "frame of chunk '%s'",
					oid_to_hex(hex, chunk));
	return err;
}

/* A queue of chunk ids with membership, to walk delta bases as they turn up. */
struct chunk_queue {
	struct lepton_oid *ids;
	size_t nr, alloc;
	struct oidset seen;
};

static void chunk_queue_add(struct chunk_queue *q, const struct lepton_oid *oid)
{
	if (oidset_has(&q->seen, oid))
		return;
	oidset_insert(&q->seen, oid);
	if (q->nr == q->alloc) {
		q->alloc = q->alloc ? 2 * q->alloc : 64;
		q->ids = xrealloc(q->ids, q->alloc * sizeof(*q->ids));
	}
	q->ids[q->nr++] = *oid;
}

static void chunk_queue_release(struct chunk_queue *q)
{
	free(q->ids);
	oidset_release(&q->seen);
}

/* ---- push --------------------------------------------------------------- */

struct outgoing {
	struct remote_store *rs;
	struct lepton_store *local;
	struct pack_writer w;
	int open;
	uint64_t bytes;
};

/* Send the pack being built: the pack, then its index (the index makes it
 * visible), both named by the index's hash.  The index stays in the cache. */
static int send_pack(struct outgoing *o)
{
	struct remote_store *rs = o->rs;
	struct buf name = BUF_INIT, path = BUF_INIT, key = BUF_INIT, idx = BUF_INIT;
	struct buf final = BUF_INIT;
	struct lepton_oid id;
	char hex[OID_HEXSZ + 1];
	int err;

	o->open = 0;
	o->bytes = 0;
	if ((err = pack_writer_commit(&o->w, rs->cache_tmp, rs->cache_tmp, 0, &name)))
		goto done;
	buf_addf(&path, "%s/%s.idx", rs->cache_tmp, name.data);
	if ((err = buf_read_file(&idx, path.data)))
		goto cleanup;
	sha256_buffer(&id, idx.data, idx.len);
	buf_addf(&final, "pack-%s", oid_to_hex(hex, &id));

	buf_addf(&key, "packs/%s.pack", final.data);
	buf_reset(&path);
	buf_addf(&path, "%s/%s.pack", rs->cache_tmp, name.data);
	if ((err = backend_put_file(rs->b, key.data, path.data)))
		goto cleanup;
	buf_reset(&key);
	buf_addf(&key, "packs/%s.idx", final.data);
	if ((err = backend_put(rs->b, key.data, idx.data, idx.len)))
		goto cleanup;
	buf_reset(&path);
	buf_addf(&path, "%s/%s.idx", rs->cache_dir, final.data);
	if (!have_cached(rs, final.data) &&
	    !(err = write_file_atomic(rs->cache_tmp, path.data, idx.data, idx.len, 0)))
		err = add_cached(rs, final.data);
cleanup:
	buf_reset(&path);
	buf_addf(&path, "%s/%s.pack", rs->cache_tmp, name.data);
	unlink(path.data);
	buf_reset(&path);
	buf_addf(&path, "%s/%s.idx", rs->cache_tmp, name.data);
	unlink(path.data);
done:
	buf_release(&name);
	buf_release(&path);
	buf_release(&key);
	buf_release(&idx);
	buf_release(&final);
	return err;
}

static int send_frame(struct outgoing *o, const struct lepton_oid *chunk, const struct buf *frame)
{
	int err;
	if (!o->open) {
		if ((err = pack_writer_open(&o->w, o->rs->cache_tmp)))
			return err;
		o->open = 1;
	}
	if ((err = pack_writer_add(&o->w, chunk, frame->data, frame->len)))
		return err;
	o->bytes += frame->len;
	return o->bytes >= TRANSFER_PACK_LIMIT ? send_pack(o) : 0;
}

int transfer_push(struct remote_store *rs, struct lepton_store *local,
		  const struct lepton_oid *files, size_t nr, int quiet, int dry_run,
		  struct transfer_stats *stats)
{
	struct chunk_queue q = { 0 };
	struct oidset remote_has = { 0 };
	struct buf frame = BUF_INIT, key = BUF_INIT, *recipes = NULL;
	struct lepton_oid *recipe_ids = NULL;
	size_t nr_recipes = 0;
	struct outgoing o = { rs, local, { 0 }, 0, 0 };
	struct progress progress;
	char hex[OID_HEXSZ + 1];
	int err = 0;

	memset(stats, 0, sizeof(*stats));
	if ((err = reload_indexes(rs)))
		goto done;
	recipes = xcalloc(nr ? nr : 1, sizeof(*recipes));
	recipe_ids = xcalloc(nr ? nr : 1, sizeof(*recipe_ids));
	for (size_t i = 0; i < nr; i++) {
		struct recipe r;
		int has;
		stats->files++;
		if (oidset_has(&remote_has, &files[i])) {
			stats->files_present++;
			continue;
		}
		oidset_insert(&remote_has, &files[i]);
		if ((has = remote_store_has_file(rs, &files[i])) < 0) {
			err = has;
			goto done;
		}
		if (has) {
			stats->files_present++;
			continue;
		}
		err = store_read_recipe(local, &files[i], &r, &recipes[nr_recipes]);
		if (err) {
			if (err == LEPTON_ENOTFOUND)
				err = lepton_error_set(LEPTON_ENOTFOUND,
						       "content '%s' is not in the local store; "
						       "fetch it first (git lepton fetch)",
						       oid_to_hex(hex, &files[i]));
			goto done;
		}
		recipe_ids[nr_recipes++] = files[i];
		for (size_t c = 0; c < r.nr; c++)
			if (!remote_find(rs, &r.chunks[c].oid, &(uint64_t){ 0 }, &(uint64_t){ 0 }))
				chunk_queue_add(&q, &r.chunks[c].oid);
		recipe_release(&r);
	}

	progress_start(&progress, "Uploading model content", q.nr, !quiet && progress_enabled());
	for (size_t i = 0; i < q.nr; i++) {
		struct frame_header h;
		if ((err = store_read_frame(local, &q.ids[i], &frame)))
			goto done;
		if ((err = frame_header_parse(&h, (unsigned char *)frame.data, frame.len)))
			goto done;
		if ((h.flags & FRAME_HAS_BASE) &&
		    !remote_find(rs, &h.base, &(uint64_t){ 0 }, &(uint64_t){ 0 })) {
			chunk_queue_add(&q, &h.base);
			progress.total = q.nr;
		}
		stats->chunks++;
		stats->bytes += frame.len;
		if (!dry_run && (err = send_frame(&o, &q.ids[i], &frame)))
			goto done;
		progress_add(&progress, 1, frame.len);
	}
	if (o.open && (err = send_pack(&o)))
		goto done;
	for (size_t i = 0; i < nr_recipes && !dry_run; i++) {
		recipe_key(&key, &recipe_ids[i]);
		if ((err = backend_put(rs->b, key.data, recipes[i].data, recipes[i].len)))
			goto done;
	}
	progress_stop(&progress);
done:
	if (o.open)
		pack_writer_abort(&o.w);
	for (size_t i = 0; i < nr_recipes; i++)
		buf_release(&recipes[i]);
	free(recipes);
	free(recipe_ids);
	chunk_queue_release(&q);
	oidset_release(&remote_has);
	buf_release(&frame);
	buf_release(&key);
	return err;
}

/* ---- fetch -------------------------------------------------------------- */

int transfer_fetch(struct remote_store *rs, struct lepton_store *local,
		   const struct lepton_oid *files, size_t nr, int quiet,
		   struct transfer_stats *stats)
{
	struct chunk_queue q = { 0 };
	struct oidset wanted = { 0 };
	struct buf key = BUF_INIT, frame, *recipes = NULL;
	struct lepton_oid *recipe_ids = NULL;
	size_t nr_recipes = 0;
	struct pack_writer w;
	int open = 0, err = 0;
	uint64_t in_pack = 0;
	struct progress progress;
	char hex[OID_HEXSZ + 1];

	memset(stats, 0, sizeof(*stats));
	buf_init_limit(&frame, FRAME_READ_LIMIT);
	recipes = xcalloc(nr ? nr : 1, sizeof(*recipes));
	recipe_ids = xcalloc(nr ? nr : 1, sizeof(*recipe_ids));
	for (size_t i = 0; i < nr; i++) {
		struct recipe r;
		stats->files++;
		if (oidset_has(&wanted, &files[i]) || store_has_file(local, &files[i])) {
			stats->files_present++;
			continue;
		}
		oidset_insert(&wanted, &files[i]);
		recipe_key(&key, &files[i]);
		buf_init_limit(&recipes[nr_recipes], RECIPE_LIMIT);
		err = backend_get(rs->b, key.data, &recipes[nr_recipes]);
		if (err == LEPTON_ENOTFOUND)
			err =
			    lepton_error_set(LEPTON_ENOTFOUND, "content '%s' is not in store '%s'",
					     oid_to_hex(hex, &files[i]), backend_name(rs->b));
		if (err)
			goto done;
		err = recipe_parse(&r, (unsigned char *)recipes[nr_recipes].data,
				   recipes[nr_recipes].len);
		if (!err && oid_cmp(&r.file, &files[i])) {
			recipe_release(&r);
			err = lepton_error_set(LEPTON_ECORRUPT, "describes another file");
		}
		if (err) {
			err = lepton_error_wrap(err, "recipe of '%s' in store '%s'",
						oid_to_hex(hex, &files[i]), backend_name(rs->b));
			buf_release(&recipes[nr_recipes]);
			goto done;
		}
		recipe_ids[nr_recipes++] = files[i];
		for (size_t c = 0; c < r.nr; c++)
			if (!store_has_chunk(local, &r.chunks[c].oid))
				chunk_queue_add(&q, &r.chunks[c].oid);
		recipe_release(&r);
	}
	if (q.nr && (err = reload_indexes(rs)))
		goto done;

	progress_start(&progress, "Downloading model content", q.nr, !quiet && progress_enabled());
	for (size_t i = 0; i < q.nr; i++) {
		struct frame_header h;
		uint64_t offset, len;
		struct pack *p = remote_find(rs, &q.ids[i], &offset, &len);

		if (!p) {
			err = lepton_error_set(LEPTON_ENOTFOUND,
					       "chunk '%s' is missing from store '%s'; run 'git "
					       "lepton fsck' where it was pushed from",
					       oid_to_hex(hex, &q.ids[i]), backend_name(rs->b));
			goto done;
		}
		if (len > FRAME_READ_LIMIT) {
			err = lepton_error_set(LEPTON_ECORRUPT,
					       "index of '%s' in store '%s' is damaged", p->name,
					       backend_name(rs->b));
			goto done;
		}
		buf_reset(&frame);
		buf_reset(&key);
		buf_addf(&key, "packs/%s.pack", p->name);
		if ((err = backend_get_range(rs->b, key.data, offset, len, &frame)))
			goto done;
		if ((err = check_frame(&h, (unsigned char *)frame.data, frame.len, &q.ids[i]))) {
			err = lepton_error_wrap(err, "store '%s'", backend_name(rs->b));
			goto done;
		}
		if ((h.flags & FRAME_HAS_BASE) && !store_has_chunk(local, &h.base)) {
			chunk_queue_add(&q, &h.base);
			progress.total = q.nr;
		}
		if (!open) {
			if ((err = store_add_frames_begin(local, &w)))
				goto done;
			open = 1;
		}
		if ((err = pack_writer_add(&w, &q.ids[i], frame.data, frame.len)))
			goto done;
		in_pack += frame.len;
		stats->chunks++;
		stats->bytes += frame.len;
		progress_add(&progress, 1, frame.len);
		if (in_pack >= TRANSFER_PACK_LIMIT) {
			open = 0;
			in_pack = 0;
			if ((err = store_add_frames_commit(local, &w)))
				goto done;
		}
	}
	if (open) {
		open = 0;
		if ((err = store_add_frames_commit(local, &w)))
			goto done;
	}
	for (size_t i = 0; i < nr_recipes; i++)
		if ((err =
			 store_put_recipe(local, &recipe_ids[i], recipes[i].data, recipes[i].len)))
			goto done;
	progress_stop(&progress);
done:
	if (open)
		pack_writer_abort(&w);
	for (size_t i = 0; i < nr_recipes; i++)
		buf_release(&recipes[i]);
	free(recipes);
	free(recipe_ids);
	chunk_queue_release(&q);
	oidset_release(&wanted);
	buf_release(&frame);
	buf_release(&key);
	return err;
}
