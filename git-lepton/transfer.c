#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "error.h"
#include "frame.h"
#include "oidset.h"
#include "pack.h"
#include "recipe.h"
#include "testpoint.h"
#include "transfer.h"
#include "banned.h"

#define MARKER_KEY   "lepton-store"
#define MARKER_TEXT  "lepton store 1\n"
#define RECIPE_LIMIT (RECIPE_HEADER_SIZE + (size_t)RECIPE_MAX_CHUNKS * RECIPE_ENTRY_SIZE)

struct remote_store {
	struct backend *b;
	char *cache_dir; /* <local store>/remotes/<id>: the remote's pack indexes */
	char *cache_tmp;
	struct pack *packs;
	size_t nr_packs, alloc_packs;
	unsigned concurrency;                     /* threads that download at once */
	int links;                                /* whole packs may go as hard links */
	int (*checkpoint)(void *data, int force); /* between a repack's steps */
	void *checkpoint_data;
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
	else if (!(err = backend_create(rs->b)))
		err = backend_put(rs->b, MARKER_KEY, MARKER_TEXT, strlen(MARKER_TEXT));
done:
	buf_release(&marker);
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
	rs->concurrency = TRANSFER_DEFAULT_THREADS;
	rs->links = 1;
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
	if (len < 5 || strcmp(name + len - 4, ".idx") || !pack_name_ok(name, len - 4))
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

	buf_init_limit(&idx, TRANSFER_IDX_LIMIT);
	if ((err = backend_list(rs->b, "packs", collect_idx, &names)))
		goto done;
	/* packs a gc retired: forget them (their frames are in the new pack) */
	for (size_t i = 0; i < rs->nr_packs;) {
		int listed = 0;
		for (size_t k = 0; k < names.nr && !listed; k++)
			listed = !strcmp(names.names[k], rs->packs[i].name);
		if (listed) {
			i++;
			continue;
		}
		buf_reset(&path);
		buf_addf(&path, "%s/%s.idx", rs->cache_dir, rs->packs[i].name);
		unlink(path.data);
		pack_close(&rs->packs[i]);
		rs->packs[i] = rs->packs[--rs->nr_packs];
	}
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
int transfer_check_frame(struct frame_header *h, const unsigned char *frame, size_t len,
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

/*
 * Put a local pack and its index on the remote: the pack (as a hard link
 * with link, which may answer 1: not possible here), then its index, which
 * makes it visible; both named by the index's hash.  The index stays in
 * the cache; final_name (if not NULL) gets the name.
 */
static int put_pack(struct remote_store *rs, const char *pack_path, const char *idx_path, int link,
		    struct buf *final_name)
{
	struct buf idx = BUF_INIT, key = BUF_INIT, final = BUF_INIT, cache = BUF_INIT;
	struct lepton_oid id;
	char hex[OID_HEXSZ + 1];
	int err;

	if ((err = buf_read_file(&idx, idx_path)))
		goto done;
	sha256_buffer(&id, idx.data, idx.len);
	buf_addf(&final, "pack-%s", oid_to_hex(hex, &id));
	buf_addf(&key, "packs/%s.pack", final.data);
	err = link ? backend_put_link(rs->b, key.data, pack_path)
		   : backend_put_file(rs->b, key.data, pack_path);
	if (err)
		goto done;
	buf_reset(&key);
	buf_addf(&key, "packs/%s.idx", final.data);
	if ((err = backend_put(rs->b, key.data, idx.data, idx.len)))
		goto done;
	buf_addf(&cache, "%s/%s.idx", rs->cache_dir, final.data);
	if (!have_cached(rs, final.data) &&
	    !(err = write_file_atomic(rs->cache_tmp, cache.data, idx.data, idx.len, 0)))
		err = add_cached(rs, final.data);
	if (!err && final_name)
		buf_addstr(final_name, final.data);
done:
	buf_release(&idx);
	buf_release(&key);
	buf_release(&final);
	buf_release(&cache);
	return err;
}

/* Upload a finished pack writer's pack (written in the cache's tmp/). */
static int upload_pack(struct remote_store *rs, struct pack_writer *w, struct buf *final_name)
{
	struct buf name = BUF_INIT, pack = BUF_INIT, idx = BUF_INIT;
	int err = pack_writer_commit(w, rs->cache_tmp, rs->cache_tmp, 0, &name);

	if (!err) {
		buf_addf(&pack, "%s/%s.pack", rs->cache_tmp, name.data);
		buf_addf(&idx, "%s/%s.idx", rs->cache_tmp, name.data);
		err = put_pack(rs, pack.data, idx.data, 0, final_name);
		unlink(pack.data);
		unlink(idx.data);
	}
	buf_release(&name);
	buf_release(&pack);
	buf_release(&idx);
	return err;
}

static int send_pack(struct outgoing *o)
{
	int err;
	o->open = 0;
	o->bytes = 0;
	err = upload_pack(o->rs, &o->w, NULL);
	test_point("push-content-pack");
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

/* A local pack every chunk of which goes to the remote: it can go whole. */
struct pack_tally {
	struct pack *pack;
	uint32_t wanted;
	uint64_t wanted_bytes;
	int linked;
};

/*
 * Whether a pack goes whole, as a hard link, rather than frame by frame: a
 * link costs neither copying nor space, so it is worth it as soon as a
 * good part of the pack is wanted (the rest comes along unused, and is
 * checked like the rest); a pack mostly of other things is not read whole
 * for a few of its frames.
 */
static int worth_linking(const struct pack_tally *t)
{
	uint64_t total = 0, off, len;
	if (t->wanted == t->pack->count)
		return 1;
	for (uint32_t i = 0; i < t->pack->count; i++) {
		struct lepton_oid oid;
		pack_entry(t->pack, i, &oid, &off, &len);
		total += len;
	}
	return t->wanted_bytes * 4 >= total;
}

static struct pack_tally *tally_find(struct pack_tally *t, size_t nr, const struct pack *p)
{
	for (size_t i = 0; i < nr; i++)
		if (t[i].pack == p)
			return &t[i];
	return NULL;
}

/* Link a whole local pack into a directory store (named, as every remote
 * pack, by its index's hash): 0 when linked, 1 when it must be copied. */
static int link_pack(struct remote_store *rs, struct pack *p)
{
	struct buf idx = BUF_INIT;
	int err;

	buf_add(&idx, p->path, strlen(p->path) - 5); /* ".pack" */
	buf_addstr(&idx, ".idx");
	err = put_pack(rs, p->path, idx.data, 1, NULL);
	buf_release(&idx);
	return err;
}

/* ---- small requests in parallel ------------------------------------- */

/* Per-file requests (is this file's recipe there, put it, get it) cost a
 * round trip each on S3 or WebDAV: they go out on several threads. */
struct parallel {
	pthread_mutex_t lock;
	size_t next, n;
	int (*fn)(void *data, size_t i);
	void *data;
	int err;
	char *message;
};

static void *parallel_worker(void *arg)
{
	struct parallel *p = arg;
	for (;;) {
		size_t i;
		int err;
		pthread_mutex_lock(&p->lock);
		if (p->err || p->next == p->n) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if ((err = p->fn(p->data, i))) {
			pthread_mutex_lock(&p->lock);
			if (!p->err) {
				p->err = err;
				p->message = xstrdup(lepton_error_last());
			}
			pthread_mutex_unlock(&p->lock);
		}
	}
}

/* fn(data, i) for every i below n, on up to threads threads; the first
 * error stops the rest and is returned, with its message. */
static int run_parallel(unsigned threads, size_t n, int (*fn)(void *data, size_t i), void *data)
{
	struct parallel p = { .n = n, .fn = fn, .data = data };
	pthread_t tids[TRANSFER_MAX_THREADS];
	unsigned started = 0;

	pthread_mutex_init(&p.lock, NULL);
	for (unsigned t = 0; t < threads && t < n && t < TRANSFER_MAX_THREADS; t++)
		if (!pthread_create(&tids[started], NULL, parallel_worker, &p))
			started++;
	if (!started)
		parallel_worker(&p);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&p.lock);
	if (p.err)
		lepton_error_set(p.err, "%s", p.message);
	free(p.message);
	return p.err;
}

int remote_store_parallel(struct remote_store *rs, size_t n, int (*fn)(void *data, size_t i),
			  void *data)
{
	return run_parallel(rs->concurrency, n, fn, data);
}

struct file_requests {
	struct remote_store *rs;
	const struct lepton_oid *ids;
	struct buf *recipes;
	signed char *has;
};

static int look_up_file(void *data, size_t i)
{
	struct file_requests *f = data;
	int ret = remote_store_has_file(f->rs, &f->ids[i]);
	f->has[i] = ret > 0;
	return ret < 0 ? ret : 0;
}

static int put_recipe(void *data, size_t i)
{
	struct file_requests *f = data;
	struct buf key = BUF_INIT;
	int err;
	recipe_key(&key, &f->ids[i]);
	err = backend_put(f->rs->b, key.data, f->recipes[i].data, f->recipes[i].len);
	buf_release(&key);
	return err;
}

static int get_recipe(void *data, size_t i)
{
	struct file_requests *f = data;
	struct buf key = BUF_INIT;
	char hex[OID_HEXSZ + 1];
	int err;
	recipe_key(&key, &f->ids[i]);
	err = backend_get(f->rs->b, key.data, &f->recipes[i]);
	if (err == LEPTON_ENOTFOUND)
		err = lepton_error_set(LEPTON_ENOTFOUND, "content '%s' is not in store '%s'",
				       oid_to_hex(hex, &f->ids[i]), backend_name(f->rs->b));
	buf_release(&key);
	return err;
}

/*
 * A file whose recipe the remote has may still lack frames when a prune
 * ran meanwhile (it kept no chunk of a recipe that landed after it listed
 * them): queue each chunk of it, and each delta base under those, that no
 * remote index lists.  What the local store lacks is left as it is.
 */
static void queue_missing_frames(struct chunk_queue *q, struct remote_store *rs,
				 struct lepton_store *local, const struct lepton_oid *file)
{
	struct recipe r;
	struct buf raw = BUF_INIT;
	uint64_t off, len;

	if (store_read_recipe(local, file, &r, &raw)) {
		lepton_error_clear();
		buf_release(&raw);
		return;
	}
	for (size_t c = 0; c < r.nr; c++) {
		struct lepton_oid cur = r.chunks[c].oid;
		for (int depth = 0; depth <= CODEC_MAX_CHAIN; depth++) {
			struct frame_header h;
			if (store_read_frame_header(local, &cur, &h)) {
				lepton_error_clear(); /* not here either: nothing to send */
				break;
			}
			if (!remote_find(rs, &cur, &off, &len)) {
				chunk_queue_add(q, &cur); /* its bases follow in the queue */
				break;
			}
			if (!(h.flags & FRAME_HAS_BASE))
				break;
			cur = h.base;
		}
	}
	recipe_release(&r);
	buf_release(&raw);
}

int transfer_push(struct remote_store *rs, struct lepton_store *local,
		  const struct lepton_oid *files, size_t nr, int quiet, int dry_run,
		  struct transfer_stats *stats)
{
	struct chunk_queue q = { 0 };
	struct oidset remote_has = { 0 };
	struct buf frame = BUF_INIT, key = BUF_INIT, *recipes = NULL;
	struct lepton_oid *recipe_ids = NULL;
	struct pack_tally *tally = NULL;
	struct pack **chunk_pack = NULL;
	struct file_requests requests = { 0 };
	signed char *has = NULL;
	size_t nr_recipes = 0, nr_tally = 0;
	struct outgoing o = { rs, local, { 0 }, 0, 0 };
	struct progress progress;
	char hex[OID_HEXSZ + 1];
	uint64_t dummy_off, dummy_len;
	int err = 0;

	memset(stats, 0, sizeof(*stats));
	if ((err = reload_indexes(rs)))
		goto done;
	recipes = xcalloc(nr ? nr : 1, sizeof(*recipes));
	recipe_ids = xcalloc(nr ? nr : 1, sizeof(*recipe_ids));
	has = xcalloc(nr ? nr : 1, sizeof(*has));
	requests.rs = rs;
	requests.ids = files;
	requests.has = has;
	if ((err = run_parallel(rs->concurrency, nr, look_up_file, &requests)))
		goto done;
	for (size_t i = 0; i < nr; i++) {
		struct recipe r;
		stats->files++;
		if (oidset_has(&remote_has, &files[i])) {
			stats->files_present++;
			continue;
		}
		oidset_insert(&remote_has, &files[i]);
		if (has[i]) {
			stats->files_present++;
			queue_missing_frames(&q, rs, local, &files[i]);
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
			if (!remote_find(rs, &r.chunks[c].oid, &dummy_off, &dummy_len))
				chunk_queue_add(&q, &r.chunks[c].oid);
		recipe_release(&r);
	}
	/* the bases of deltas go with them (the queue grows as they turn up) */
	for (size_t i = 0; i < q.nr; i++) {
		struct frame_header h;
		if ((err = store_read_frame_header(local, &q.ids[i], &h)))
			goto done;
		if ((h.flags & FRAME_HAS_BASE) && !remote_find(rs, &h.base, &dummy_off, &dummy_len))
			chunk_queue_add(&q, &h.base);
	}

	/* local packs worth linking go as they are where the store allows */
	chunk_pack = xcalloc(q.nr ? q.nr : 1, sizeof(*chunk_pack));
	tally = xcalloc(q.nr ? q.nr : 1, sizeof(*tally));
	for (size_t i = 0; i < q.nr; i++) {
		struct pack_tally *t;
		if ((err = store_chunk_pack(local, &q.ids[i], &chunk_pack[i])))
			goto done;
		t = tally_find(tally, nr_tally, chunk_pack[i]);
		if (!t) {
			t = &tally[nr_tally++];
			t->pack = chunk_pack[i];
		}
		t->wanted++;
		if (pack_find(chunk_pack[i], &q.ids[i], &dummy_off, &dummy_len))
			t->wanted_bytes += dummy_len;
	}
	progress_start(&progress, "Uploading model content", q.nr, !quiet && progress_enabled());
	for (size_t i = 0; i < nr_tally && !dry_run && rs->links && backend_local_path(rs->b);
	     i++) {
		if (!worth_linking(&tally[i]))
			continue;
		if ((err = link_pack(rs, tally[i].pack)) < 0)
			goto done;
		tally[i].linked = !err;
		err = 0;
	}
	for (size_t i = 0; i < q.nr; i++) {
		struct pack_tally *t = tally_find(tally, nr_tally, chunk_pack[i]);
		if (t->linked) {
			uint64_t off, len;
			pack_find(t->pack, &q.ids[i], &off, &len);
			stats->chunks++;
			stats->bytes += len;
			progress_add(&progress, 1, len);
			continue;
		}
		if ((err = store_read_frame(local, &q.ids[i], &frame)))
			goto done;
		stats->chunks++;
		stats->bytes += frame.len;
		if (!dry_run && (err = send_frame(&o, &q.ids[i], &frame)))
			goto done;
		progress_add(&progress, 1, frame.len);
	}
	if (o.open && (err = send_pack(&o)))
		goto done;
	requests.ids = recipe_ids;
	requests.recipes = recipes;
	if (!dry_run && (err = run_parallel(rs->concurrency, nr_recipes, put_recipe, &requests)))
		goto done;
	if (!dry_run)
		test_point("push-content");
	progress_stop(&progress);
done:
	if (o.open)
		pack_writer_abort(&o.w);
	for (size_t i = 0; i < nr_recipes; i++)
		buf_release(&recipes[i]);
	free(recipes);
	free(recipe_ids);
	free(has);
	free(tally);
	free(chunk_pack);
	chunk_queue_release(&q);
	oidset_release(&remote_has);
	buf_release(&frame);
	buf_release(&key);
	return err;
}

/* ---- fetch -------------------------------------------------------------- */

/*
 * Frames come down in spans: the wanted frames of one remote pack, sorted
 * by offset, with neighbours that lie close together read in one ranged
 * request, streamed and cut into frames as they arrive (so a span's size
 * costs no memory).  Spans are sized to give each of the threads a share
 * of the bytes (between SPAN_MIN and SPAN_MAX): a few requests per GiB,
 * not one per frame.  The pack being written, the queue (which grows as
 * delta bases turn up) and the counts are the lock's.
 */
#define SPAN_MIN (16ull << 20)  /* bytes one request may stop at */
#define SPAN_MAX (512ull << 20) /* bytes one request reads, at most */
#define SPAN_GAP (1u << 20)     /* unwanted bytes read to join two frames */

struct wanted_frame {
	struct lepton_oid oid;
	struct pack *pack;
	uint64_t offset, len;
};

struct span {
	struct pack *pack;
	uint64_t offset, len;
	size_t first, nr; /* its frames in the sorted wanted list */
};

struct incoming {
	pthread_mutex_t lock;
	struct remote_store *rs;
	struct lepton_store *local;
	struct chunk_queue *q;
	const struct wanted_frame *frames;
	const struct span *spans;
	size_t nr_spans, next;
	int err;
	char *message;
	struct pack_writer w;
	int open;
	uint64_t in_pack;
	struct transfer_stats *stats;
	struct progress *progress;
};

static int wanted_cmp(const void *a, const void *b)
{
	const struct wanted_frame *x = a, *y = b;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The frames of q from *from on that the local store lacks, found in the
 * remote packs and grouped into spans. */
static int plan_spans(struct remote_store *rs, struct lepton_store *local, struct chunk_queue *q,
		      size_t *from, struct wanted_frame **frames_out, size_t *nr_frames,
		      struct span **spans_out, size_t *nr_spans)
{
	struct wanted_frame *frames = xcalloc(q->nr - *from + 1, sizeof(*frames));
	struct span *spans;
	size_t n = 0, ns = 0;
	uint64_t total = 0, limit;
	char hex[OID_HEXSZ + 1];

	for (; *from < q->nr; (*from)++) {
		struct wanted_frame *f = &frames[n];
		if (store_has_chunk(local, &q->ids[*from]))
			continue;
		f->oid = q->ids[*from];
		f->pack = remote_find(rs, &f->oid, &f->offset, &f->len);
		if (!f->pack) {
			free(frames);
			return lepton_error_set(LEPTON_ENOTFOUND,
						"chunk '%s' is missing from store '%s'; run 'git "
						"lepton fsck' where it was pushed from",
						oid_to_hex(hex, &f->oid), backend_name(rs->b));
		}
		if (f->len > FRAME_READ_LIMIT) {
			int err =
			    lepton_error_set(LEPTON_ECORRUPT, "index '%s' of store '%s' is damaged",
					     f->pack->name, backend_name(rs->b));
			free(frames);
			return err;
		}
		total += f->len;
		n++;
	}
	qsort(frames, n, sizeof(*frames), wanted_cmp);
	limit = total / (rs->concurrency ? rs->concurrency : 1) + 1;
	limit = limit < SPAN_MIN ? SPAN_MIN : limit > SPAN_MAX ? SPAN_MAX : limit;
	spans = xcalloc(n + 1, sizeof(*spans));
	for (size_t i = 0; i < n; i++) {
		struct span *s = ns ? &spans[ns - 1] : NULL;
		uint64_t end = frames[i].offset + frames[i].len;
		if (s && s->pack == frames[i].pack && frames[i].offset >= s->offset + s->len &&
		    frames[i].offset - (s->offset + s->len) <= SPAN_GAP &&
		    end - s->offset <= limit) {
			s->len = end - s->offset;
			s->nr++;
			continue;
		}
		s = &spans[ns++];
		s->pack = frames[i].pack;
		s->offset = frames[i].offset;
		s->len = frames[i].len;
		s->first = i;
		s->nr = 1;
	}
	*frames_out = frames;
	*nr_frames = n;
	*spans_out = spans;
	*nr_spans = ns;
	return 0;
}

/* With the lock: put a checked frame in the local pack. */
static int keep_frame(struct incoming *in, const struct lepton_oid *chunk, const void *frame,
		      size_t len, const struct frame_header *h)
{
	int err;
	if ((h->flags & FRAME_HAS_BASE) && !store_has_chunk(in->local, &h->base)) {
		chunk_queue_add(in->q, &h->base);
		in->progress->total = in->q->nr;
	}
	if (store_has_chunk(in->local, chunk))
		return 0; /* a base an earlier span brought */
	if (!in->open) {
		if ((err = store_add_frames_begin(in->local, &in->w)))
			return err;
		in->open = 1;
	}
	if ((err = pack_writer_add(&in->w, chunk, frame, len)))
		return err;
	in->in_pack += len;
	in->stats->chunks++;
	in->stats->bytes += len;
	progress_add(in->progress, 1, len);
	if (in->in_pack >= TRANSFER_PACK_LIMIT) {
		in->open = 0;
		in->in_pack = 0;
		return store_add_frames_commit(in->local, &in->w);
	}
	return 0;
}

/* A span as it streams in: the bytes between its frames are dropped, each
 * frame is gathered, checked and kept as soon as it is whole. */
struct span_reader {
	struct incoming *in;
	const struct span *s;
	size_t next;  /* the span's frame being gathered */
	uint64_t pos; /* pack offset of the next byte */
	struct buf *frame;
};

static int span_take(void *data, const void *bytes, size_t len)
{
	struct span_reader *r = data;
	const unsigned char *p = bytes;

	while (len && r->next < r->s->nr) {
		const struct wanted_frame *f = &r->in->frames[r->s->first + r->next];
		struct frame_header h;
		size_t n;
		int err;

		if (r->pos < f->offset) {
			n = f->offset - r->pos < len ? (size_t)(f->offset - r->pos) : len;
		} else {
			n = f->offset + f->len - r->pos < len
				? (size_t)(f->offset + f->len - r->pos)
				: len;
			if ((err = buf_add(r->frame, p, n)))
				return err;
		}
		p += n;
		len -= n;
		r->pos += n;
		if (r->pos < f->offset + f->len || r->pos <= f->offset)
			continue;
		if ((err = transfer_check_frame(&h, (unsigned char *)r->frame->data, r->frame->len,
						&f->oid)))
			return lepton_error_wrap(err, "store '%s'", backend_name(r->in->rs->b));
		pthread_mutex_lock(&r->in->lock);
		err = r->in->err ? r->in->err
				 : keep_frame(r->in, &f->oid, r->frame->data, r->frame->len, &h);
		pthread_mutex_unlock(&r->in->lock);
		if (err)
			return err;
		buf_reset(r->frame);
		r->next++;
	}
	return 0;
}

/* Read one span (without the lock), check its frames, keep them. */
static int fetch_span(struct incoming *in, const struct span *s, struct buf *frame)
{
	struct span_reader r = { .in = in, .s = s, .pos = s->offset, .frame = frame };
	struct buf key = BUF_INIT;
	int err;

	buf_reset(frame);
	buf_addf(&key, "packs/%s.pack", s->pack->name);
	err = backend_get_range_stream(in->rs->b, key.data, s->offset, s->len, span_take, &r);
	buf_release(&key);
	if (err == LEPTON_ECORRUPT)
		err = lepton_error_wrap(err, "pack '%s'", s->pack->name);
	else if (!err && r.next < s->nr)
		err = lepton_error_set(LEPTON_ECORRUPT, "pack '%s' of store '%s' is truncated",
				       s->pack->name, backend_name(in->rs->b));
	return err;
}

static void *fetch_worker(void *arg)
{
	struct incoming *in = arg;
	struct buf bytes;

	buf_init_limit(&bytes, FRAME_READ_LIMIT);
	for (;;) {
		const struct span *s = NULL;
		int err;

		pthread_mutex_lock(&in->lock);
		if (!in->err && in->next < in->nr_spans)
			s = &in->spans[in->next++];
		pthread_mutex_unlock(&in->lock);
		if (!s)
			break;
		err = fetch_span(in, s, &bytes);
		pthread_mutex_lock(&in->lock);
		if (err && !in->err) {
			in->err = err;
			in->message = xstrdup(lepton_error_last());
		}
		pthread_mutex_unlock(&in->lock);
	}
	buf_release(&bytes);
	return NULL;
}

static int fetch_frames(struct remote_store *rs, struct lepton_store *local, struct chunk_queue *q,
			struct transfer_stats *stats, struct progress *progress)
{
	struct incoming in = {
		.rs = rs, .local = local, .q = q, .stats = stats, .progress = progress
	};
	size_t from = 0;
	int err = 0;

	pthread_mutex_init(&in.lock, NULL);
	/* rounds: the delta bases the frames of one round name come in the next */
	while (!err && from < q->nr) {
		pthread_t threads[TRANSFER_MAX_THREADS];
		struct wanted_frame *frames = NULL;
		struct span *spans = NULL;
		size_t nr_frames = 0;
		unsigned started = 0;

		if ((err = plan_spans(rs, local, q, &from, &frames, &nr_frames, &spans,
				      &in.nr_spans)))
			break;
		in.frames = frames;
		in.spans = spans;
		in.next = 0;
		for (unsigned i = 0; i < rs->concurrency && i < in.nr_spans; i++)
			if (!pthread_create(&threads[started], NULL, fetch_worker, &in))
				started++;
		if (!started)
			fetch_worker(&in);
		for (unsigned i = 0; i < started; i++)
			pthread_join(threads[i], NULL);
		err = in.err;
		free(frames);
		free(spans);
	}
	if (!err && in.open) {
		in.open = 0;
		err = store_add_frames_commit(local, &in.w);
	}
	if (in.open)
		pack_writer_abort(&in.w);
	if (in.err)
		lepton_error_set(in.err, "%s", in.message);
	free(in.message);
	pthread_mutex_destroy(&in.lock);
	return err;
}

/* Link a remote pack of a directory store into the local store, checking
 * every frame as a download would: 0 when adopted, 1 when it cannot be
 * linked (the caller downloads its frames). */
static int adopt_remote_pack(struct remote_store *rs, struct lepton_store *local, struct pack *p,
			     struct chunk_queue *bases)
{
	struct buf src = BUF_INIT, tmp = BUF_INIT, idx_path = BUF_INIT, idx = BUF_INIT;
	struct buf frame;
	int fd = -1, err = 0;

	buf_init_limit(&frame, FRAME_READ_LIMIT);
	buf_addf(&src, "%s/packs/%s.pack", backend_local_path(rs->b), p->name);
	buf_addf(&tmp, "%s/adopt-%ld-%s.pack", store_tmpdir(local), (long)getpid(), p->name);
	if (link(src.data, tmp.data) < 0) {
		err = 1;
		goto done;
	}
	fd = open(tmp.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot open '%s'", tmp.data);
		goto done;
	}
	for (uint32_t e = 0; e < p->count && !err; e++) {
		struct lepton_oid oid;
		struct frame_header h;
		uint64_t off, len;
		pack_entry(p, e, &oid, &off, &len);
		buf_reset(&frame);
		if (len > FRAME_READ_LIMIT || (err = buf_grow(&frame, len))) {
			err =
			    lepton_error_set(LEPTON_ECORRUPT, "index '%s' of store '%s' is damaged",
					     p->name, backend_name(rs->b));
			break;
		}
		if (pread(fd, frame.data, len, (off_t)off) != (ssize_t)len) {
			err = lepton_error_set(LEPTON_ECORRUPT,
					       "pack '%s' of store '%s' is truncated", p->name,
					       backend_name(rs->b));
			break;
		}
		buf_setlen(&frame, len);
		if ((err =
			 transfer_check_frame(&h, (unsigned char *)frame.data, frame.len, &oid))) {
			err = lepton_error_wrap(err, "store '%s'", backend_name(rs->b));
			break;
		}
		if ((h.flags & FRAME_HAS_BASE) && !store_has_chunk(local, &h.base))
			chunk_queue_add(bases, &h.base);
	}
	if (err)
		goto done;
	buf_addf(&idx_path, "%s/%s.idx", rs->cache_dir, p->name);
	if (!(err = buf_read_file(&idx, idx_path.data)))
		err = store_adopt_pack(local, p->name, tmp.data, idx.data, idx.len);
done:
	if (fd >= 0)
		close(fd);
	if (err)
		unlink(tmp.data);
	buf_release(&src);
	buf_release(&tmp);
	buf_release(&idx_path);
	buf_release(&idx);
	buf_release(&frame);
	return err;
}

/* Remote packs worth linking (see worth_linking()) are linked whole, not
 * copied frame by frame; the queue keeps what is still to download.
 * Returns how many packs were linked, or an error. */
static int link_wanted_packs(struct remote_store *rs, struct lepton_store *local,
			     struct chunk_queue *q, struct transfer_stats *stats,
			     struct progress *progress)
{
	struct pack_tally *tally = xcalloc(rs->nr_packs ? rs->nr_packs : 1, sizeof(*tally));
	struct chunk_queue rest = { 0 };
	size_t nr_tally = 0;
	uint64_t off, len;
	int err = 0, linked = 0;

	for (size_t i = 0; i < q->nr; i++) {
		struct pack *p = remote_find(rs, &q->ids[i], &off, &len);
		struct pack_tally *t;
		if (!p)
			continue;
		if (!(t = tally_find(tally, nr_tally, p))) {
			t = &tally[nr_tally++];
			t->pack = p;
		}
		t->wanted++;
		t->wanted_bytes += len;
	}
	for (size_t i = 0; i < nr_tally && !err; i++) {
		if (!worth_linking(&tally[i]))
			continue;
		err = adopt_remote_pack(rs, local, tally[i].pack, &rest);
		tally[i].linked = !err;
		linked += !err;
		err = err < 0 ? err : 0;
	}
	if (err)
		goto done;
	/* keep the chunks still to fetch, and the bases the linked frames need */
	for (size_t i = 0; i < q->nr; i++) {
		struct pack *p = remote_find(rs, &q->ids[i], &off, &len);
		struct pack_tally *t = p ? tally_find(tally, nr_tally, p) : NULL;
		if (t && t->linked) {
			stats->chunks++;
			stats->bytes += len;
			progress_add(progress, 1, len);
		} else {
			chunk_queue_add(&rest, &q->ids[i]);
		}
	}
	for (size_t i = 0; i < rest.nr;)
		if (store_has_chunk(local, &rest.ids[i]))
			rest.ids[i] = rest.ids[--rest.nr];
		else
			i++;
	chunk_queue_release(q);
	*q = rest;
	memset(&rest, 0, sizeof(rest));
done:
	chunk_queue_release(&rest);
	free(tally);
	return err ? err : linked;
}

int transfer_fetch(struct remote_store *rs, struct lepton_store *local,
		   const struct lepton_oid *files, size_t nr, int quiet,
		   struct transfer_stats *stats)
{
	struct chunk_queue q = { 0 };
	struct oidset wanted = { 0 };
	struct buf key = BUF_INIT, *recipes = NULL;
	struct lepton_oid *recipe_ids = NULL;
	struct file_requests requests = { 0 };
	size_t nr_recipes = 0;
	int err = 0;
	struct progress progress;
	char hex[OID_HEXSZ + 1];

	memset(stats, 0, sizeof(*stats));
	recipes = xcalloc(nr ? nr : 1, sizeof(*recipes));
	recipe_ids = xcalloc(nr ? nr : 1, sizeof(*recipe_ids));
	for (size_t i = 0; i < nr; i++) {
		stats->files++;
		if (oidset_has(&wanted, &files[i]) || store_has_file(local, &files[i])) {
			stats->files_present++;
			continue;
		}
		oidset_insert(&wanted, &files[i]);
		buf_init_limit(&recipes[nr_recipes], RECIPE_LIMIT);
		recipe_ids[nr_recipes++] = files[i];
	}
	requests.rs = rs;
	requests.ids = recipe_ids;
	requests.recipes = recipes;
	if ((err = run_parallel(rs->concurrency, nr_recipes, get_recipe, &requests)))
		goto done;
	for (size_t i = 0; i < nr_recipes; i++) {
		struct recipe r;
		err = recipe_parse(&r, (unsigned char *)recipes[i].data, recipes[i].len);
		if (!err && oid_cmp(&r.file, &recipe_ids[i])) {
			recipe_release(&r);
			err = lepton_error_set(LEPTON_ECORRUPT, "describes another file");
		}
		if (err) {
			err =
			    lepton_error_wrap(err, "recipe of '%s' in store '%s'",
					      oid_to_hex(hex, &recipe_ids[i]), backend_name(rs->b));
			goto done;
		}
		for (size_t c = 0; c < r.nr; c++)
			if (!store_has_chunk(local, &r.chunks[c].oid))
				chunk_queue_add(&q, &r.chunks[c].oid);
		recipe_release(&r);
	}
	if (q.nr && (err = reload_indexes(rs)))
		goto done;

	progress_start(&progress, "Downloading model content", q.nr, !quiet && progress_enabled());
	/* linked packs bring delta bases to fetch, which may be worth linking
	 * in turn */
	while (q.nr && rs->links && backend_local_path(rs->b)) {
		int linked = link_wanted_packs(rs, local, &q, stats, &progress);
		if (linked < 0) {
			err = linked;
			goto done;
		}
		if (!linked)
			break;
	}
	if (q.nr && (err = fetch_frames(rs, local, &q, stats, &progress)))
		goto done;
	for (size_t i = 0; i < nr_recipes; i++)
		if ((err =
			 store_put_recipe(local, &recipe_ids[i], recipes[i].data, recipes[i].len)))
			goto done;
	progress_stop(&progress);
done:
	for (size_t i = 0; i < nr_recipes; i++)
		buf_release(&recipes[i]);
	free(recipes);
	free(recipe_ids);
	chunk_queue_release(&q);
	oidset_release(&wanted);
	buf_release(&key);
	return err;
}

void remote_store_set_options(struct remote_store *rs, unsigned concurrency, int links)
{
	rs->concurrency = concurrency < 1                      ? 1
			  : concurrency > TRANSFER_MAX_THREADS ? TRANSFER_MAX_THREADS
							       : concurrency;
	rs->links = links;
}

/* ---- consolidation ------------------------------------------------------- */

#define RETIRED_KEY   "packs/retired"
#define RETIRED_FIRST "lepton retired 1\n"

static int download_to(struct remote_store *rs, const char *key, const char *path)
{
	struct buf tmp = BUF_INIT;
	int fd, err;

	buf_addf(&tmp, "%s/dl-XXXXXX", rs->cache_tmp);
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", tmp.data);
		goto done;
	}
	err = backend_get_stream(rs->b, key, backend_sink_fd, &fd);
	if (close(fd) < 0 && !err)
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", tmp.data);
	if (!err && rename(tmp.data, path) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", path);
	if (err)
		unlink(tmp.data);
done:
	buf_release(&tmp);
	return err;
}

/* Drop the packs retired more than grace seconds ago; with add, retire
 * those names now.  The list is updated with a compare-and-swap. */
static int update_retired(struct remote_store *rs, long long grace, char **add, size_t nr_add,
			  struct repack_stats *st)
{
	time_t now = time(NULL);

	for (int attempt = 0; attempt < 100; attempt++) {
		struct buf text, etag = BUF_INIT, out = BUF_INIT, key = BUF_INIT;
		char *line, *next;
		int err;

		buf_init_limit(&text, 64u << 20);
		if ((err = backend_get_versioned(rs->b, RETIRED_KEY, &text, &etag)))
			return err;
		buf_addstr(&out, RETIRED_FIRST);
		line = text.data;
		if (!strncmp(line, RETIRED_FIRST, strlen(RETIRED_FIRST)))
			line += strlen(RETIRED_FIRST);
		for (; *line; line = next) {
			char name[256];
			long long when;
			next = strchr(line, '\n');
			next = next ? next + 1 : line + strlen(line);
			if (sscanf(line, "%255s %lld", name, &when) != 2 ||
			    !pack_name_ok(name, strlen(name)))
				continue;
			if (now - when >= grace) {
				buf_reset(&key);
				buf_addf(&key, "packs/%s.pack", name);
				if (backend_delete(rs->b, key.data) == 0 && st)
					st->deleted++;
			} else {
				buf_addf(&out, "%s %lld\n", name, when);
			}
		}
		for (size_t i = 0; i < nr_add; i++)
			buf_addf(&out, "%s %lld\n", add[i], (long long)now);
		err = backend_put_if(rs->b, RETIRED_KEY, out.data, out.len, etag.data);
		buf_release(&text);
		buf_release(&etag);
		buf_release(&out);
		buf_release(&key);
		if (err != LEPTON_ECONFLICT)
			return err;
		lepton_error_clear();
	}
	return lepton_error_set(LEPTON_ECONFLICT, "'%s' of store '%s' keeps changing", RETIRED_KEY,
				backend_name(rs->b));
}

void remote_store_set_checkpoint(struct remote_store *rs, int (*fn)(void *data, int force),
				 void *data)
{
	rs->checkpoint = fn;
	rs->checkpoint_data = data;
}

static int checkpoint(struct remote_store *rs, int force)
{
	return rs->checkpoint ? rs->checkpoint(rs->checkpoint_data, force) : 0;
}

/* With keep, only the chunks in it are copied into the new pack (even
 * from a single pack), and the recipes of drop are deleted once the new
 * pack is visible, before the old packs are retired. */
static int repack_keep(struct remote_store *rs, long long grace, const struct oidset *keep,
		       const struct lepton_oid *drop, size_t nr_drop, struct repack_stats *st)
{
	struct pack_writer w;
	struct oidset seen = { 0 };
	struct buf frame = BUF_INIT, path = BUF_INIT, key = BUF_INIT, name = BUF_INIT;
	char **old = NULL;
	size_t nr_old = 0;
	int open = 0, err;

	memset(st, 0, sizeof(*st));
	if ((err = reload_indexes(rs)))
		goto done;
	st->packs_before = rs->nr_packs;
	if (rs->nr_packs < 2 && !keep)
		goto retire;
	if ((err = pack_writer_open(&w, rs->cache_tmp)))
		goto done;
	open = 1;
	old = xcalloc(rs->nr_packs, sizeof(*old));
	for (size_t i = 0; i < rs->nr_packs; i++) {
		struct pack *p = &rs->packs[i];
		if ((err = checkpoint(rs, 0)))
			goto done;
		old[nr_old++] = xstrdup(p->name);
		buf_reset(&key);
		buf_addf(&key, "packs/%s.pack", p->name);
		/* the cached index's pack path is where the download goes */
		if ((err = download_to(rs, key.data, p->path)))
			goto done;
		for (uint32_t e = 0; e < p->count && !err; e++) {
			struct lepton_oid oid;
			struct frame_header h;
			uint64_t off, len;
			pack_entry(p, e, &oid, &off, &len);
			if (oidset_has(&seen, &oid))
				continue;
			oidset_insert(&seen, &oid);
			if (keep && !oidset_has(keep, &oid)) {
				st->chunks_dropped++;
				st->bytes_dropped += len;
				continue;
			}
			if (!(err = pack_read_frame(p, off, len, &frame)) &&
			    !(err = transfer_check_frame(&h, (unsigned char *)frame.data, frame.len,
							 &oid)))
				err = pack_writer_add(&w, &oid, frame.data, frame.len);
			st->chunks++;
			st->bytes += len;
		}
		if (p->fd >= 0) {
			close(p->fd);
			p->fd = -1;
		}
		unlink(p->path);
		if (err) {
			err = lepton_error_wrap(err, "pack '%s' of store '%s'", p->name,
						backend_name(rs->b));
			goto done;
		}
	}
	open = 0;
	if (w.nr && (err = upload_pack(rs, &w, &name)))
		goto done;
	if (!w.nr)
		pack_writer_abort(&w);
	test_point("prune-remote-pack-written");
	/* the last look before anything goes: did a push get in meanwhile? */
	if ((err = checkpoint(rs, 1)))
		goto done;
	for (size_t i = 0; i < nr_drop && !err; i++) {
		recipe_key(&key, &drop[i]);
		err = backend_delete(rs->b, key.data);
	}
	if (err)
		goto done;
	test_point("prune-remote-recipes-deleted");
	/* the new pack is visible: retire the old ones, then hide their indexes.
	 * Their packs stay for readers that listed them until the grace period
	 * is over (a later gc deletes them). */
	for (size_t i = 0; i < nr_old;)
		if (!strcmp(old[i], name.data)) {
			free(old[i]);
			old[i] = old[--nr_old];
		} else {
			i++;
		}
retire:
	if ((err = update_retired(rs, grace, old, nr_old, st)))
		goto done;
	for (size_t i = 0; i < nr_old && !err; i++) {
		buf_reset(&key);
		buf_addf(&key, "packs/%s.idx", old[i]);
		err = backend_delete(rs->b, key.data);
	}
	if (!err && nr_old && grace <= 0)
		err = update_retired(rs, grace, NULL, 0, st);
	if (!err)
		err = reload_indexes(rs);
	st->packs_after = rs->nr_packs;
done:
	if (open)
		pack_writer_abort(&w);
	for (size_t i = 0; i < nr_old; i++)
		free(old[i]);
	free(old);
	oidset_release(&seen);
	buf_release(&frame);
	buf_release(&path);
	buf_release(&key);
	buf_release(&name);
	return err;
}

int remote_store_repack(struct remote_store *rs, long long grace, struct repack_stats *st)
{
	return repack_keep(rs, grace, NULL, NULL, 0, st);
}

int remote_store_prune(struct remote_store *rs, const struct oidset *keep,
		       const struct lepton_oid *drop, size_t nr_drop, long long grace, int dry_run,
		       struct repack_stats *st)
{
	struct oidset seen = OIDSET_INIT;
	int err;

	if (!dry_run)
		return repack_keep(rs, grace, keep, drop, nr_drop, st);
	/* what would go, from the indexes alone */
	memset(st, 0, sizeof(*st));
	if ((err = reload_indexes(rs)))
		return err;
	st->packs_before = rs->nr_packs;
	for (size_t i = 0; i < rs->nr_packs; i++)
		for (uint32_t e = 0; e < rs->packs[i].count; e++) {
			struct lepton_oid oid;
			uint64_t off, len;
			pack_entry(&rs->packs[i], e, &oid, &off, &len);
			if (!oidset_insert(&seen, &oid))
				continue;
			if (oidset_has(keep, &oid)) {
				st->chunks++;
				st->bytes += len;
			} else {
				st->chunks_dropped++;
				st->bytes_dropped += len;
			}
		}
	oidset_release(&seen);
	return 0;
}

/* ---- what a remote store holds, for prune ------------------------------- */

#define CHAIN_LOOK 16 /* more than CODEC_MAX_CHAIN + 1 frames */

int remote_store_read_recipe(struct remote_store *rs, const struct lepton_oid *oid,
			     struct recipe *out, struct buf *raw)
{
	struct buf key = BUF_INIT, data;
	char hex[OID_HEXSZ + 1];
	int err;

	buf_init_limit(&data, RECIPE_LIMIT);
	recipe_key(&key, oid);
	memset(out, 0, sizeof(*out));
	err = backend_get(rs->b, key.data, &data);
	if (err == LEPTON_ENOTFOUND)
		err = lepton_error_set(LEPTON_ENOTFOUND, "content '%s' is not in store '%s'",
				       oid_to_hex(hex, oid), backend_name(rs->b));
	if (!err && (err = recipe_parse(out, (unsigned char *)data.data, data.len)))
		err = lepton_error_wrap(err, "recipe of '%s' in store '%s'", oid_to_hex(hex, oid),
					backend_name(rs->b));
	if (!err && oid_cmp(&out->file, oid)) {
		recipe_release(out);
		err = lepton_error_set(LEPTON_ECORRUPT,
				       "recipe of '%s' in store '%s' describes another file",
				       oid_to_hex(hex, oid), backend_name(rs->b));
	}
	if (!err && raw)
		buf_add(raw, data.data, data.len);
	buf_release(&key);
	buf_release(&data);
	return err;
}

/* The header of a remote frame; 0 (and *h), LEPTON_ENOTFOUND when no index
 * lists the chunk or its pack file is gone, or an error. */
static int remote_frame_header(struct remote_store *rs, const struct lepton_oid *chunk,
			       struct frame_header *h)
{
	struct buf key = BUF_INIT, head = BUF_INIT;
	uint64_t off, len;
	struct pack *p = remote_find(rs, chunk, &off, &len);
	int err;

	if (!p)
		return LEPTON_ENOTFOUND;
	buf_addf(&key, "packs/%s.pack", p->name);
	err = backend_get_range(rs->b, key.data, off,
				len < FRAME_MAX_HEADER ? len : FRAME_MAX_HEADER, &head);
	if (!err)
		err = frame_header_parse(h, (unsigned char *)head.data, head.len);
	if (!err && oid_cmp(&h->chunk, chunk))
		err = lepton_error_set(LEPTON_ECORRUPT, "holds another chunk");
	if (err == LEPTON_ENOTFOUND || err == LEPTON_ECORRUPT)
		err = LEPTON_ENOTFOUND; /* as good as missing for the caller */
	buf_release(&key);
	buf_release(&head);
	return err;
}

/* Add chunk and its delta bases to out; 1 when all are on the remote
 * (chains found whole are remembered in ok). */
static int remote_chain(struct remote_store *rs, struct oidset *out, struct oidset *ok,
			const struct lepton_oid *chunk)
{
	struct lepton_oid chain[CHAIN_LOOK];
	int n = 0, whole = 0;

	chain[n++] = *chunk;
	for (;;) {
		const struct lepton_oid *cur = &chain[n - 1];
		struct frame_header h;
		int err;
		if (out)
			oidset_insert(out, cur);
		if (oidset_has(ok, cur)) {
			whole = 1;
			break;
		}
		err = remote_frame_header(rs, cur, &h);
		if (err == LEPTON_ENOTFOUND) {
			lepton_error_clear();
			break;
		}
		if (err)
			return err;
		if (!(h.flags & FRAME_HAS_BASE)) {
			whole = 1;
			break;
		}
		if (n == CHAIN_LOOK)
			break; /* deeper than any reader follows */
		chain[n++] = h.base;
	}
	for (int i = 0; whole && i < n; i++)
		oidset_insert(ok, &chain[i]);
	return whole;
}

int remote_store_check_files(struct remote_store *rs, const struct lepton_oid *files, size_t nr,
			     unsigned char *ok, struct oidset *chunks)
{
	struct oidset good = OIDSET_INIT;
	int err;

	if ((err = reload_indexes(rs)))
		return err;
	for (size_t i = 0; i < nr; i++) {
		struct recipe r;
		ok[i] = 0;
		err = remote_store_read_recipe(rs, &files[i], &r, NULL);
		if (err == LEPTON_ENOTFOUND || err == LEPTON_ECORRUPT) {
			lepton_error_clear();
			err = 0;
			continue;
		}
		if (err)
			break;
		ok[i] = 1;
		for (size_t c = 0; c < r.nr && !err; c++) {
			int has = remote_chain(rs, chunks, &good, &r.chunks[c].oid);
			if (has < 0)
				err = has;
			else if (!has)
				ok[i] = 0;
		}
		recipe_release(&r);
		if (err)
			break;
	}
	oidset_release(&good);
	return err;
}

struct recipe_walk {
	struct remote_store *rs;
	const char *dir;
	int (*fn)(void *data, const struct lepton_oid *oid);
	void *data;
};

static int walk_recipe_name(void *data, const char *name)
{
	struct recipe_walk *rw = data;
	char hex[OID_HEXSZ + 1];
	struct lepton_oid oid;

	if (strlen(name) != OID_HEXSZ - 2)
		return 0;
	memcpy(hex, rw->dir, 2);
	memcpy(hex + 2, name, OID_HEXSZ - 2);
	hex[OID_HEXSZ] = '\0';
	if (oid_from_hex(&oid, hex))
		return 0;
	return rw->fn(rw->data, &oid);
}

static int walk_recipe_dir(void *data, const char *name)
{
	struct recipe_walk *rw = data;
	struct buf prefix = BUF_INIT;
	int err;

	if (strlen(name) != 2 || !isxdigit((unsigned char)name[0]) ||
	    !isxdigit((unsigned char)name[1]))
		return 0;
	rw->dir = name;
	buf_addf(&prefix, "recipes/%s", name);
	err = backend_list(rw->rs->b, prefix.data, walk_recipe_name, rw);
	buf_release(&prefix);
	return err;
}

int remote_store_for_each_file(struct remote_store *rs,
			       int (*fn)(void *data, const struct lepton_oid *oid), void *data)
{
	struct recipe_walk rw = { rs, NULL, fn, data };
	return backend_list(rs->b, "recipes", walk_recipe_dir, &rw);
}

struct late_files {
	const struct oidset *listed;
	struct lepton_oid *ids;
	size_t nr, alloc;
};

static int collect_late(void *data, const struct lepton_oid *oid)
{
	struct late_files *l = data;
	if (oidset_has(l->listed, oid))
		return 0;
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->ids = xrealloc(l->ids, l->alloc * sizeof(*l->ids));
	}
	l->ids[l->nr++] = *oid;
	return 0;
}

int remote_store_drop_partial(struct remote_store *rs, const struct oidset *listed, size_t *dropped)
{
	struct late_files late = { listed, NULL, 0, 0 };
	struct buf key = BUF_INIT;
	unsigned char *ok = NULL;
	int err;

	*dropped = 0;
	if ((err = remote_store_for_each_file(rs, collect_late, &late)) < 0 || !late.nr)
		goto done;
	ok = xcalloc(late.nr, 1);
	if ((err = remote_store_check_files(rs, late.ids, late.nr, ok, NULL)))
		goto done;
	for (size_t i = 0; i < late.nr && !err; i++) {
		if (ok[i])
			continue;
		recipe_key(&key, &late.ids[i]);
		err = backend_delete(rs->b, key.data);
		if (err == LEPTON_ENOTFOUND) {
			lepton_error_clear();
			err = 0;
		} else if (!err) {
			(*dropped)++;
		}
	}
done:
	free(late.ids);
	free(ok);
	buf_release(&key);
	return err < 0 ? err : 0;
}
