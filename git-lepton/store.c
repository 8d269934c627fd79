#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chunker.h"
#include "codec.h"
#include "error.h"
#include "frame.h"
#include "oidset.h"
#include "pack.h"
#include "recipe.h"
#include "store.h"
#include "tensormap.h"
#include "banned.h"

#define STORE_MARKER      "lepton-store"
#define STORE_MARKER_TEXT "lepton store 1\n"
#define READER_WORKERS    2 /* the reader's threads that read and decode chunks */
#define PIPELINE_BUFFERS  (READER_WORKERS + 2) /* the reader's chunk buffers in flight */
#define WRITER_WORKERS    2 /* the writer's threads that hash and encode chunks */
#define WRITER_BUFFERS    (WRITER_WORKERS + 1) /* one per worker, one being filled */
#define QUEUE_SLOTS       (WRITER_BUFFERS + 1)
/* The most of a stream's start the writer holds to read a model header;
 * a larger header makes the file opaque (FastCDC). */
#define WRITER_MAX_HEADER (32u << 20)

struct lepton_store {
	char *root, *packdir, *tmpdir, *recipedir;
	struct pack **packs; /* pointers: readers keep them across reloads */
	size_t nr_packs, alloc_packs;
	int do_fsync;
	int level;                  /* zstd level for new frames; 0 stores raw */
	int deltas;                 /* new frames may be XOR deltas against a previous version */
	store_previous_fn previous; /* finds a path's previous version, or NULL */
	void *previous_data;
	char *lfs_objects;    /* NULL, or a Git LFS object directory to import from */
	int pruned_tmp;       /* stale temporary files were removed by this handle */
	store_fetch_fn fetch; /* brings missing content from elsewhere, or NULL */
	void *fetch_data;
	int lock_fd;   /* the lock file, or -1 */
	int lock_mode; /* 0: none held, else LOCK_SH or LOCK_EX */
};

/* ---- opening ---------------------------------------------------------- */

static int make_dir(const char *path)
{
	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		return lepton_error_errno(LEPTON_EIO, "cannot create '%s'", path);
	return 0;
}

static char *join(const char *a, const char *b)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s", a, b);
	return buf_detach(&p, NULL);
}

static int store_create(const char *root)
{
	static const char *const dirs[] = { "packs", "recipes", "tmp" };
	char *marker;
	int err = 0;
	struct stat st;

	if ((err = make_dir(root)))
		return err;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs) && !err; i++) {
		char *d = join(root, dirs[i]);
		err = make_dir(d);
		free(d);
	}
	marker = join(root, STORE_MARKER);
	if (!err && stat(marker, &st) < 0) {
		char *tmp = join(root, "tmp");
		err =
		    write_file_atomic(tmp, marker, STORE_MARKER_TEXT, strlen(STORE_MARKER_TEXT), 0);
		free(tmp);
	}
	free(marker);
	return err;
}

static int check_marker(const char *root)
{
	char *marker = join(root, STORE_MARKER);
	struct buf text;
	int err;

	buf_init_limit(&text, 4096);
	err = buf_read_file(&text, marker);
	if (err == LEPTON_ENOTFOUND) {
		DIR *d = opendir(root);
		struct dirent *e;
		int empty = 1;
		if (!d) {
			err = errno == ENOENT
				  ? lepton_error_set(LEPTON_ENOTFOUND, "store '%s' does not exist",
						     root)
				  : lepton_error_errno(LEPTON_EIO, "cannot open '%s'", root);
			goto done;
		}
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				empty = 0;
		closedir(d);
		err = empty ? lepton_error_set(LEPTON_ENOTFOUND, "store '%s' does not exist", root)
			    : lepton_error_set(LEPTON_EINVALID,
					       "'%s' is not a git-lepton store (no '%s' marker)",
					       root, STORE_MARKER);
		goto done;
	}
	if (err)
		goto done;
	if (strncmp(text.data, "lepton store ", 13))
		err = lepton_error_set(LEPTON_EINVALID, "'%s' is not a git-lepton store", root);
	else if (strcmp(text.data, STORE_MARKER_TEXT))
		err = lepton_error_set(LEPTON_EINVALID,
				       "store '%s' has format '%.40s', this git-lepton reads "
				       "version %d; upgrade git-lepton",
				       root, text.data + 13, STORE_FORMAT_VERSION);
done:
	buf_release(&text);
	free(marker);
	return err;
}

int store_open(struct lepton_store **out, const char *root, int create)
{
	struct lepton_store *s;
	int err = check_marker(root);

	*out = NULL;
	if (err == LEPTON_ENOTFOUND && create)
		err = store_create(root);
	else if (!err)
		err = store_create(root); /* restores directories an rm -r took away */
	if (err)
		return err;
	s = xcalloc(1, sizeof(*s));
	s->root = xstrdup(root);
	s->packdir = join(root, "packs");
	s->tmpdir = join(root, "tmp");
	s->recipedir = join(root, "recipes");
	s->deltas = 1;
	s->lock_fd = -1;
	if ((err = store_reload(s))) {
		store_free(s);
		return err;
	}
	*out = s;
	return 0;
}

void store_free(struct lepton_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_packs; i++) {
		pack_close(s->packs[i]);
		free(s->packs[i]);
	}
	free(s->packs);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* and with it the lock */
	free(s->root);
	free(s->packdir);
	free(s->tmpdir);
	free(s->recipedir);
	free(s->lfs_objects);
	free(s);
}

/* ---- the lock against gc and prune --------------------------------------- */

#define LOCK_POLL_MS 50

/* The lock file, opened once: 0, or 1 when a read-only store has none
 * (nobody can gc a store they cannot write). */
static int open_lock(struct lepton_store *s)
{
	struct buf path = BUF_INIT;
	int err = 0;

	if (s->lock_fd >= 0)
		return 0;
	buf_addf(&path, "%s/%s", s->root, STORE_LOCK_FILE);
	s->lock_fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (s->lock_fd < 0 && (errno == EACCES || errno == EROFS))
		s->lock_fd = open(path.data, O_RDONLY | O_CLOEXEC);
	if (s->lock_fd < 0)
		err = errno == EACCES || errno == EROFS || errno == ENOENT
			  ? 1
			  : lepton_error_errno(LEPTON_EIO, "cannot open '%s'", path.data);
	buf_release(&path);
	return err;
}

int store_lock(struct lepton_store *s, int exclusive, long timeout_ms, int quiet)
{
	const char *held = getenv(STORE_LOCK_ENV);
	char *real = realpath(s->root, NULL);
	int want = exclusive ? LOCK_EX : LOCK_SH, err = 0, said = 0;
	long waited = 0;

	/* a process git runs for one that holds the store (a filter run by a
	 * git command that prune runs) works under that lock */
	if (!exclusive && held && real && !strcmp(held, real))
		goto done;
	if (s->lock_mode == want || (!exclusive && s->lock_mode == LOCK_EX))
		goto done;
	if ((err = open_lock(s))) {
		if (err == 1 && !exclusive)
			err = 0; /* a read-only store: nothing can change it */
		else if (err == 1)
			err = lepton_error_set(LEPTON_EIO,
					       "cannot lock store '%s': it is read-only", s->root);
		goto done;
	}
	/* shared to exclusive lets go first: two processes waiting to trade up
	 * would each wait for the other's shared lock */
	if (s->lock_mode)
		flock(s->lock_fd, LOCK_UN);
	s->lock_mode = 0;
	while (flock(s->lock_fd, want | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			err = lepton_error_errno(LEPTON_EIO, "cannot lock store '%s'", s->root);
			goto done;
		}
		if (waited >= timeout_ms) {
			err = lepton_error_set(
			    LEPTON_ECONFLICT,
			    exclusive ? "store '%s' is in use by other git-lepton processes; try "
					"again when they are done (lepton.lockTimeout)"
				      : "store '%s' is locked by a running 'git lepton gc' or "
					"'prune'; try again when it is done (lepton.lockTimeout)",
			    s->root);
			goto done;
		}
		if (!said++ && !quiet)
			fprintf(stderr,
				exclusive ? "git-lepton: waiting for other git-lepton processes to "
					    "finish with the store...\n"
					  : "git-lepton: waiting for a 'git lepton gc' or 'prune' "
					    "to finish with the store...\n");
		sleep_ms(LOCK_POLL_MS);
		waited += LOCK_POLL_MS;
	}
	s->lock_mode = want;
	if (exclusive) {
		if (real)
			setenv(STORE_LOCK_ENV, real, 1);
		/* packs may have come and gone while this process waited */
		err = store_reload(s);
	}
done:
	free(real);
	return err;
}

const char *store_root(const struct lepton_store *s)
{
	return s->root;
}

void store_set_options(struct lepton_store *s, int do_fsync, int level)
{
	s->do_fsync = do_fsync;
	s->level = level;
}

void store_set_deltas(struct lepton_store *s, int on)
{
	s->deltas = on;
}

void store_set_previous(struct lepton_store *s, store_previous_fn fn, void *data)
{
	s->previous = fn;
	s->previous_data = data;
}

int store_previous(struct lepton_store *s, const char *path, struct lepton_pointer *out)
{
	if (!s->previous || !path || !s->deltas || s->level <= 0)
		return 0;
	return s->previous(s->previous_data, path, out);
}

void store_set_lfs_objects(struct lepton_store *s, const char *dir)
{
	free(s->lfs_objects);
	s->lfs_objects = dir ? xstrdup(dir) : NULL;
}

void store_set_fetch(struct lepton_store *s, store_fetch_fn fn, void *data)
{
	s->fetch = fn;
	s->fetch_data = data;
}

int store_can_fetch(const struct lepton_store *s)
{
	return s->fetch != NULL;
}

int store_fetch(struct lepton_store *s, const struct lepton_pointer *p, size_t nr)
{
	if (!s->fetch)
		return lepton_error_set(LEPTON_ENOTFOUND, "no remote store to fetch from");
	return nr ? s->fetch(s->fetch_data, s, p, nr) : 0;
}

static int have_pack(const struct lepton_store *s, const char *name)
{
	for (size_t i = 0; i < s->nr_packs; i++)
		if (!strcmp(s->packs[i]->name, name))
			return 1;
	return 0;
}

static int add_pack(struct lepton_store *s, const char *name)
{
	struct pack p;
	int err = pack_open(&p, s->packdir, name);
	if (err)
		return err;
	if (s->nr_packs == s->alloc_packs) {
		s->alloc_packs = s->alloc_packs ? 2 * s->alloc_packs : 16;
		s->packs = xrealloc(s->packs, s->alloc_packs * sizeof(*s->packs));
	}
	s->packs[s->nr_packs] = xmalloc(sizeof(p));
	*s->packs[s->nr_packs++] = p;
	return 0;
}

/* Call fn with the name of each pack that has an index ("pack-<hex>"). */
static int for_each_pack_name(struct lepton_store *s, void (*fn)(void *data, const char *name),
			      void *data)
{
	DIR *d = opendir(s->packdir);
	struct dirent *e;

	if (!d)
		return lepton_error_errno(LEPTON_EIO, "cannot read '%s'", s->packdir);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char name[256];
		if (len < 5 || len >= sizeof(name) || strcmp(e->d_name + len - 4, ".idx"))
			continue;
		memcpy(name, e->d_name, len - 4);
		name[len - 4] = '\0';
		fn(data, name);
	}
	closedir(d);
	return 0;
}

static void load_new_pack(void *data, const char *name)
{
	struct lepton_store *s = data;
	/* a damaged index is fsck's to report; the rest of the store stays usable */
	if (!have_pack(s, name))
		add_pack(s, name);
}

int store_reload(struct lepton_store *s)
{
	return for_each_pack_name(s, load_new_pack, s);
}

static int find_chunk(struct lepton_store *s, const struct lepton_oid *oid, struct pack **pack,
		      uint64_t *offset, uint64_t *len)
{
	for (size_t i = s->nr_packs; i-- > 0;)
		if (pack_find(s->packs[i], oid, offset, len)) {
			*pack = s->packs[i];
			return 1;
		}
	return 0;
}

int store_has_chunk(struct lepton_store *s, const struct lepton_oid *chunk)
{
	struct pack *p;
	uint64_t off, len;
	return find_chunk(s, chunk, &p, &off, &len);
}

void store_recipe_path(struct buf *out, const struct lepton_oid *oid)
{
	char hex[OID_HEXSZ + 1];
	oid_to_hex(hex, oid);
	buf_addf(out, "recipes/%.2s/%s", hex, hex + 2);
}

static char *recipe_file(const struct lepton_store *s, const struct lepton_oid *oid)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/", s->root);
	store_recipe_path(&p, oid);
	return buf_detach(&p, NULL);
}

int store_has_file(struct lepton_store *s, const struct lepton_oid *oid)
{
	char *path = recipe_file(s, oid);
	int present = access(path, F_OK) == 0;
	free(path);
	return present;
}

static int read_recipe(struct lepton_store *s, const struct lepton_oid *oid, struct recipe *r)
{
	char *path = recipe_file(s, oid);
	char hex[OID_HEXSZ + 1];
	struct buf data;
	int err;

	buf_init_limit(&data, RECIPE_HEADER_SIZE + (size_t)RECIPE_MAX_CHUNKS * RECIPE_ENTRY_SIZE);
	memset(r, 0, sizeof(*r));
	err = buf_read_file(&data, path);
	oid_to_hex(hex, oid);
	if (err == LEPTON_ENOTFOUND)
		err = lepton_error_set(LEPTON_ENOTFOUND, "content '%s' is not in the store", hex);
	else if (!err && (err = recipe_parse(r, (unsigned char *)data.data, data.len)))
		err = lepton_error_wrap(err, "recipe of '%s' is damaged", hex);
	else if (!err && oid_cmp(&r->file, oid)) {
		recipe_release(r);
		err =
		    lepton_error_set(LEPTON_ECORRUPT, "recipe of '%s' describes another file", hex);
	}
	buf_release(&data);
	free(path);
	return err;
}

/* Write a file's encoded recipe into place (the chunks must be stored). */
static int put_recipe(struct lepton_store *s, const struct lepton_oid *oid, const void *data,
		      size_t len)
{
	char hex[OID_HEXSZ + 1];
	struct buf dir = BUF_INIT;
	char *path;
	int err;

	oid_to_hex(hex, oid);
	buf_addf(&dir, "%s/%.2s", s->recipedir, hex);
	err = make_dir(dir.data);
	buf_release(&dir);
	if (err)
		return err;
	path = recipe_file(s, oid);
	err = write_file_atomic(s->tmpdir, path, data, len, s->do_fsync);
	free(path);
	return err;
}

/* ---- decoding chunks, delta chains included ---------------------------- */

/*
 * A delta frame needs its base's decoded bytes, and the base may be a delta
 * too.  The chain is walked from the frames' headers first (a few bytes
 * each), checking that each depth is one less than the one above it (so a
 * cycle or a chain deeper than CODEC_MAX_CHAIN cannot loop), then decoded
 * from its full frame up with two chunk buffers: memory stays at a few
 * chunks whatever the depth.
 */
struct chunk_decoder {
	struct buf frame, scratch, cur, next;
};

struct chunk_place {
	struct pack *pack;
	uint64_t offset, len;
};

static void swap_bufs(struct buf *a, struct buf *b)
{
	struct buf t = *a;
	*a = *b;
	*b = t;
}

static void chunk_decoder_init(struct chunk_decoder *d)
{
	buf_init(&d->frame, 0);
	buf_init(&d->scratch, 0);
	buf_init(&d->cur, 0);
	buf_init(&d->next, 0);
}

static void chunk_decoder_release(struct chunk_decoder *d)
{
	buf_release(&d->frame);
	buf_release(&d->scratch);
	buf_release(&d->cur);
	buf_release(&d->next);
}

/* The reader's worker must not reload (the list of packs belongs to the
 * handle's thread): it reads with the packs its reader opened with. */
static int find_base(struct lepton_store *s, int may_reload, const struct lepton_oid *base,
		     const struct lepton_oid *chunk, struct pack **pack, uint64_t *off,
		     uint64_t *len)
{
	char hex[OID_HEXSZ + 1], bhex[OID_HEXSZ + 1];

	if (find_chunk(s, base, pack, off, len))
		return 0;
	if (may_reload) {
		store_reload(s);
		if (find_chunk(s, base, pack, off, len))
			return 0;
	}
	return lepton_error_set(LEPTON_ENOTFOUND,
				"base chunk '%s' of chunk '%s' is missing from the store; "
				"fetch it again",
				oid_to_hex(bhex, base), oid_to_hex(hex, chunk));
}

/*
 * Decode the frame of chunk (frame[0..len), already read) into out,
 * fetching the bases it needs (may_reload: read the list of packs again
 * when one is missing).  *depth_out, when not NULL, gets the frame's depth.
 * Does not hash the result.
 */
static int decode_chunk(struct lepton_store *s, int may_reload, struct chunk_decoder *d,
			const struct lepton_oid *chunk, const unsigned char *frame, size_t len,
			struct buf *out, unsigned *depth_out)
{
	struct lepton_oid ids[CODEC_MAX_CHAIN + 1];
	struct chunk_place places[CODEC_MAX_CHAIN + 1];
	struct frame_header h;
	char hex[OID_HEXSZ + 1];
	size_t n = 0;
	int err = frame_header_parse(&h, frame, len);

	if (err)
		return err;
	if (depth_out)
		*depth_out = h.depth;
	if (h.encoding != FRAME_DELTA)
		return codec_decode_scratch(out, &d->scratch, frame, len, chunk, NULL, 0);
	if (h.depth > CODEC_MAX_CHAIN)
		return lepton_error_set(LEPTON_ECORRUPT,
					"chunk '%s' is a delta chain of depth %u, more than %d",
					oid_to_hex(hex, chunk), h.depth, CODEC_MAX_CHAIN);
	/* ids[k], places[k]: the base k + 1 steps down; ids[n - 1] is a full frame */
	while (h.encoding == FRAME_DELTA) {
		unsigned want = h.depth - 1;
		struct lepton_oid below = h.base;
		struct chunk_place *pl = &places[n];
		if ((err = find_base(s, may_reload, &below, n ? &ids[n - 1] : chunk, &pl->pack,
				     &pl->offset, &pl->len)))
			return err;
		ids[n] = below;
		/* the header only: at most FRAME_MAX_HEADER bytes */
		if ((err = pack_read_frame(pl->pack, pl->offset,
					   pl->len < FRAME_MAX_HEADER ? pl->len : FRAME_MAX_HEADER,
					   &d->frame)) ||
		    (err = frame_header_parse(&h, (unsigned char *)d->frame.data, d->frame.len)))
			return lepton_error_wrap(err, "base chunk '%s'", oid_to_hex(hex, &below));
		if (oid_cmp(&h.chunk, &below) || h.depth != want)
			return lepton_error_set(LEPTON_ECORRUPT,
						"delta chain of chunk '%s' is broken at base '%s'",
						oid_to_hex(hex, chunk), oid_to_hex(hex, &below));
		n++;
	}
	/* decode up from the full frame */
	buf_reset(&d->cur);
	for (size_t k = n; k-- > 0;) {
		struct chunk_place *pl = &places[k];
		if ((err = pack_read_frame(pl->pack, pl->offset, pl->len, &d->frame)))
			return lepton_error_wrap(err, "base chunk '%s'", oid_to_hex(hex, &ids[k]));
		/* the full frame decodes straight into cur: a chain of one base
		 * needs no second buffer */
		struct buf *into = k == n - 1 ? &d->cur : &d->next;
		buf_reset(into);
		err = codec_decode_scratch(into, &d->scratch, (unsigned char *)d->frame.data,
					   d->frame.len, &ids[k], k == n - 1 ? NULL : d->cur.data,
					   k == n - 1 ? 0 : d->cur.len);
		if (err)
			return lepton_error_wrap(err, "base chunk '%s'", oid_to_hex(hex, &ids[k]));
		if (into == &d->next)
			swap_bufs(&d->cur, &d->next);
	}
	return codec_decode_scratch(out, &d->scratch, frame, len, chunk, d->cur.data, d->cur.len);
}

/* store_read_chunk() with the caller's decoder and frame buffer, kept
 * from call to call (the writer's workers). */
static int read_chunk_with(struct lepton_store *s, struct chunk_decoder *d, struct buf *frame,
			   const struct lepton_oid *chunk, struct buf *out, unsigned *depth)
{
	struct pack *pack;
	uint64_t off, len;
	struct lepton_oid got;
	char hex[OID_HEXSZ + 1];
	int err;

	buf_reset(out);
	oid_to_hex(hex, chunk);
	if (!find_chunk(s, chunk, &pack, &off, &len)) {
		store_reload(s);
		if (!find_chunk(s, chunk, &pack, &off, &len)) {
			err = lepton_error_set(LEPTON_ENOTFOUND, "chunk '%s' is not in the store",
					       hex);
			goto done;
		}
	}
	if ((err = pack_read_frame(pack, off, len, frame)))
		goto wrap;
	if ((err = decode_chunk(s, 1, d, chunk, (unsigned char *)frame->data, frame->len, out,
				depth)))
		goto wrap;
	sha256_buffer(&got, out->data, out->len);
	if (oid_cmp(&got, chunk))
		err =
		    lepton_error_set(LEPTON_ECORRUPT, "chunk '%s' does not match its SHA-256", hex);
	goto done;
wrap:
	err = lepton_error_wrap(err, "chunk '%s'", hex);
done:
	if (err)
		buf_reset(out);
	return err;
}

int store_read_chunk(struct lepton_store *s, const struct lepton_oid *chunk, struct buf *out,
		     unsigned *depth)
{
	struct chunk_decoder d;
	struct buf frame = BUF_INIT;
	int err;

	chunk_decoder_init(&d);
	err = read_chunk_with(s, &d, &frame, chunk, out, depth);
	buf_release(&frame);
	chunk_decoder_release(&d);
	return err;
}

/* ---- a bounded queue of chunk buffers between two threads ------------- */

struct chunk_buf {
	struct buf data;  /* raw chunk bytes for the writer, decoded ones for the reader */
	struct buf frame; /* the reader's: the frame as read, kept for reuse */
	const unsigned char *bytes; /* the chunk's bytes inside data or frame */
	size_t len;
	/* the writer's: the chunk's place in the file and what the codec is told */
	uint64_t seq;
	unsigned width;
	int has_base;
	struct lepton_oid base;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct chunk_buf *items[QUEUE_SLOTS];
	size_t head, nr;
	int closed;
};

static void queue_init(struct queue *q)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->head = q->nr = 0;
	q->closed = 0;
}

static void queue_destroy(struct queue *q)
{
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
}

static void queue_push(struct queue *q, struct chunk_buf *c)
{
	pthread_mutex_lock(&q->lock);
	q->items[(q->head + q->nr) % QUEUE_SLOTS] = c;
	q->nr++;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* NULL once the queue is closed and empty. */
static struct chunk_buf *queue_pop(struct queue *q)
{
	struct chunk_buf *c = NULL;
	pthread_mutex_lock(&q->lock);
	while (!q->nr && !q->closed)
		pthread_cond_wait(&q->cond, &q->lock);
	if (q->nr) {
		c = q->items[q->head];
		q->head = (q->head + 1) % QUEUE_SLOTS;
		q->nr--;
	}
	pthread_mutex_unlock(&q->lock);
	return c;
}

static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* ---- writing ------------------------------------------------------------ */

/*
 * The caller's thread hashes the file, reads the header and cuts chunks
 * (chunker.h); WRITER_WORKERS threads take the chunks in any order, hash
 * them, decide whether they are new, encode them (codec.h, with a delta
 * base from the previous version when there is one) and then take turns,
 * in the order of the file, to add them to the recipe and the pack.
 */

struct writer_worker {
	struct store_writer *w;
	pthread_t thread;
	int started;
	/* kept from chunk to chunk: the frame (a base's as read, then the
	 * chunk's as encoded), a base's decoded bytes, and the decoder, whose
	 * scratch the encoder uses too */
	struct buf frame, base;
	struct chunk_decoder dec;
};

struct store_writer {
	struct lepton_store *store;
	struct sha256_ctx file_hash;
	uint64_t size;

	/* the caller's thread: header, cutting, tensor map */
	int cutting;     /* the chunker is set up */
	uint64_t need;   /* head bytes the header needs before parsing again */
	struct buf head; /* the start of the stream while the header is read */
	struct model_info info;
	int parsed; /* info holds the parsed header */
	struct chunker chunker;
	struct tensor_map map;
	uint64_t next_seq;
	struct chunk_buf bufs[WRITER_BUFFERS];
	struct chunk_buf *current;
	struct queue full, empty;
	struct writer_worker workers[WRITER_WORKERS];

	/* the previous version (read by the caller's thread only) */
	struct tensor_map prev_map;
	struct lepton_oid *prev_chunks;
	uint32_t *prev_slots; /* open addressing: entry index + 1, 0 empty */
	size_t prev_mask;

	/* store access from the workers (has_chunk, read_chunk may reload) */
	pthread_mutex_t store_lock;
	/* everything below, and the order of commits */
	pthread_mutex_t lock;
	pthread_cond_t turn;
	uint64_t next_commit;
	struct recipe recipe;
	struct pack_writer pack;
	int pack_open;
	struct oidset written;
	struct store_write_stats stats;
	int error;
	char message[1024];
};

static void writer_fail(struct store_writer *w, int err)
{
	pthread_mutex_lock(&w->lock);
	if (!w->error) {
		snprintf(w->message, sizeof(w->message), "%s", lepton_error_last());
		w->error = err;
	}
	pthread_mutex_unlock(&w->lock);
}

static int writer_error(struct store_writer *w)
{
	int err;
	pthread_mutex_lock(&w->lock);
	err = w->error;
	pthread_mutex_unlock(&w->lock);
	return err;
}

static void store_chunk(struct writer_worker *wk, struct chunk_buf *c)
{
	struct store_writer *w = wk->w;
	struct lepton_store *s = w->store;
	struct lepton_oid oid;
	struct codec_base base;
	struct codec_hint hint = { .level = s->level, .width = c->width, .base = NULL };
	enum codec_kind kind = CODEC_RAW;
	int err = 0, skip;

	sha256_buffer(&oid, c->data.data, c->data.len);
	pthread_mutex_lock(&w->store_lock);
	skip = store_has_chunk(s, &oid);
	pthread_mutex_unlock(&w->store_lock);
	pthread_mutex_lock(&w->lock);
	skip = skip || w->error || !oidset_insert(&w->written, &oid);
	pthread_mutex_unlock(&w->lock);

	if (!skip && c->has_base) {
		pthread_mutex_lock(&w->store_lock);
		err = read_chunk_with(s, &wk->dec, &wk->frame, &c->base, &wk->base, &base.depth);
		pthread_mutex_unlock(&w->store_lock);
		if (!err && wk->base.len == c->data.len) {
			base.id = c->base;
			base.data = wk->base.data;
			base.len = wk->base.len;
			hint.base = &base;
		}
		err = 0; /* a base that cannot be read only costs the delta */
	}
	buf_reset(&wk->frame);
	if (!skip)
		err = codec_encode_scratch(&wk->frame, &wk->dec.scratch, &kind, &oid, c->data.data,
					   c->data.len, &hint);
	if (err)
		writer_fail(w, err);

	/* commit in the order of the file */
	pthread_mutex_lock(&w->lock);
	while (w->next_commit != c->seq)
		pthread_cond_wait(&w->turn, &w->lock);
	recipe_add(&w->recipe, &oid, c->data.len);
	w->stats.chunks++;
	w->stats.bytes += c->data.len;
	if (!skip && !w->error) {
		if (!w->pack_open && !(err = pack_writer_open(&w->pack, s->tmpdir)))
			w->pack_open = 1;
		if (!err)
			err = pack_writer_add(&w->pack, &oid, wk->frame.data, wk->frame.len);
		if (err) {
			snprintf(w->message, sizeof(w->message), "%s", lepton_error_last());
			w->error = err;
		} else {
			w->stats.new_chunks++;
			w->stats.new_bytes += c->data.len;
			w->stats.stored_bytes += wk->frame.len;
			if (kind == CODEC_DELTA)
				w->stats.delta_chunks++;
		}
	}
	w->next_commit++;
	pthread_cond_broadcast(&w->turn);
	pthread_mutex_unlock(&w->lock);
}

static void *writer_main(void *arg)
{
	struct writer_worker *wk = arg;
	struct store_writer *w = wk->w;
	struct chunk_buf *c;

	while ((c = queue_pop(&w->full))) {
		store_chunk(wk, c);
		buf_reset(&c->data);
		queue_push(&w->empty, c);
	}
	return NULL;
}

/* A file under tmp/ untouched for this long belongs to a writer that died
 * (a live writer keeps writing, so its file stays fresh). */
#define STALE_TMP_SECONDS (24 * 60 * 60)

/* Remove what killed writers left under tmp/: a killed add of a large
 * model can leave gigabytes there.  Nothing in tmp/ is ever needed. */
static void prune_stale_tmp(struct lepton_store *s)
{
	DIR *d = opendir(s->tmpdir);
	struct dirent *e;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now - st.st_mtime > STALE_TMP_SECONDS)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

int store_writer_new(struct store_writer **out, struct lepton_store *s)
{
	struct store_writer *w = xcalloc(1, sizeof(*w));
	pthread_attr_t attr;
	int err = 0;

	if (!s->pruned_tmp) {
		s->pruned_tmp = 1;
		prune_stale_tmp(s);
	}
	w->store = s;
	w->pack.fd = -1;
	sha256_init(&w->file_hash);
	buf_init(&w->head, 0);
	model_info_init(&w->info);
	tensor_map_init(&w->map);
	tensor_map_init(&w->prev_map);
	pthread_mutex_init(&w->store_lock, NULL);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->turn, NULL);
	queue_init(&w->full);
	queue_init(&w->empty);
	for (size_t i = 0; i < WRITER_BUFFERS; i++) {
		buf_init(&w->bufs[i].data, 0);
		queue_push(&w->empty, &w->bufs[i]);
	}
	/* the workers need little stack: keep the address space small for
	 * filters run under a memory limit */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1u << 20);
	for (size_t i = 0; i < WRITER_WORKERS && !err; i++) {
		struct writer_worker *wk = &w->workers[i];
		wk->w = w;
		buf_init(&wk->frame, 0);
		buf_init(&wk->base, 0);
		chunk_decoder_init(&wk->dec);
		if (pthread_create(&wk->thread, &attr, writer_main, wk))
			err = lepton_error_set(LEPTON_ERR, "cannot start a thread");
		else
			wk->started = 1;
	}
	pthread_attr_destroy(&attr);
	if (err) {
		store_writer_abort(w);
		w = NULL;
	}
	*out = w;
	return err;
}

static uint64_t prev_hash(uint64_t key)
{
	return key * 0x9e3779b97f4a7c15ull;
}

int store_writer_set_previous(struct store_writer *w, const struct lepton_pointer *prev)
{
	struct recipe r = RECIPE_INIT;
	const struct recipe_section *sec;
	int err;

	if (!w->store->deltas || w->store->level <= 0 || w->prev_chunks)
		return 0;
	if ((err = store_read_recipe(w->store, &prev->oid, &r, NULL)))
		goto done;
	sec = recipe_find_section(&r, RECIPE_SECTION_TENSOR_MAP);
	if (!sec)
		goto done; /* not a model, or written before tensor maps */
	if ((err = tensor_map_parse(&w->prev_map, sec->data, sec->len)))
		goto done;
	if (w->prev_map.nr != r.nr) {
		tensor_map_release(&w->prev_map);
		err = lepton_error_set(LEPTON_ECORRUPT, "tensor map does not match its recipe");
		goto done;
	}
	w->prev_chunks = xmalloc((r.nr ? r.nr : 1) * sizeof(*w->prev_chunks));
	for (size_t i = 0; i < r.nr; i++)
		w->prev_chunks[i] = r.chunks[i].oid;
	w->prev_mask = 63;
	while (w->prev_mask < 2 * r.nr)
		w->prev_mask = 2 * w->prev_mask + 1;
	w->prev_slots = xcalloc(w->prev_mask + 1, sizeof(*w->prev_slots));
	for (size_t i = 0; i < r.nr; i++) {
		uint64_t key = tensor_map_key(&w->prev_map.entries[i]);
		size_t at;
		if (!key)
			continue;
		for (at = prev_hash(key) & w->prev_mask; w->prev_slots[at];
		     at = (at + 1) & w->prev_mask)
			;
		w->prev_slots[at] = (uint32_t)(i + 1);
	}
done:
	recipe_release(&r);
	return err;
}

/* The chunk of the previous version that holds the same part of the same
 * tensor as e, or NULL. */
static const struct lepton_oid *find_previous(struct store_writer *w,
					      const struct tensor_map_entry *e)
{
	uint64_t key;

	if (!w->prev_slots || !(key = tensor_map_key(e)))
		return NULL;
	for (size_t at = prev_hash(key) & w->prev_mask; w->prev_slots[at];
	     at = (at + 1) & w->prev_mask) {
		size_t i = w->prev_slots[at] - 1;
		if (tensor_map_same(&w->prev_map.entries[i], e))
			return &w->prev_chunks[i];
	}
	return NULL;
}

/* What the chunker's span holds, for the tensor map and the codec. */
static void describe_span(struct store_writer *w, const struct chunk_span *span,
			  struct tensor_map_entry *e, unsigned *width)
{
	const struct model_tensor *t;

	memset(e, 0, sizeof(*e));
	e->name = "";
	e->slice = span->slice;
	*width = 0;
	if (span->tensor < 0 || (size_t)span->tensor >= w->info.n_tensors) {
		e->kind =
		    w->parsed && span->offset < w->info.header_size ? TMAP_HEADER : TMAP_BYTES;
		return;
	}
	t = &w->info.tensors[span->tensor];
	e->kind = span->n_tensors > 1 ? TMAP_GROUP : TMAP_TENSOR;
	e->n_tensors = span->n_tensors;
	e->name = t->name;
	snprintf(e->dtype, sizeof(e->dtype), "%s", t->dtype);
	e->ndim = t->ndim;
	memcpy(e->shape, t->shape, sizeof(e->shape));
	if (t->is_float && (t->elem_width == 2 || t->elem_width == 4 || t->elem_width == 8)) {
		*width = t->elem_width;
		/* a group is float data of one width only if all of it is */
		for (size_t i = (size_t)span->tensor + 1;
		     i < w->info.n_tensors && i < (size_t)span->tensor + span->n_tensors; i++)
			if (strcmp(w->info.tensors[i].dtype, t->dtype))
				*width = 0;
	}
}

static int end_chunk(struct store_writer *w, const struct chunk_span *span)
{
	struct tensor_map_entry e;
	const struct lepton_oid *base;
	struct chunk_buf *c = w->current;

	if (!c || c->data.len != span->len)
		return lepton_error_set(LEPTON_ERR, "chunk cut at %llu does not match its bytes",
					(unsigned long long)span->offset);
	describe_span(w, span, &e, &c->width);
	if (w->parsed)
		tensor_map_add(&w->map, &e);
	base = find_previous(w, &e);
	c->has_base = base != NULL;
	if (base)
		c->base = *base;
	c->seq = w->next_seq++;
	w->current = NULL;
	queue_push(&w->full, c);
	return 0;
}

/* Cut data[0..len) (at_eof: the stream ends after it) into chunks for the
 * workers. */
static int feed(struct store_writer *w, const unsigned char *data, size_t len, int at_eof)
{
	int err;

	while (len || at_eof) {
		struct chunk_span span;
		size_t n = chunker_next_cut(&w->chunker, data, len, at_eof, &span);
		if (n) {
			if (!w->current) {
				w->current = queue_pop(&w->empty);
				if ((err = writer_error(w)))
					return lepton_error_set(err, "%s", w->message);
				buf_grow(&w->current->data, CHUNK_MAX);
			}
			buf_add(&w->current->data, data, n);
		}
		if (span.len) {
			if ((err = end_chunk(w, &span)))
				return err;
		} else if (at_eof && !n) {
			break;
		}
		data += n;
		len -= n;
	}
	return 0;
}

/* With the head of the stream read so far, decide how to cut it: once the
 * header is whole (or cannot be: not a model, invalid, too large, or the
 * stream ended), set the chunker up and cut what was buffered. */
static int start_cutting(struct store_writer *w, int at_eof)
{
	enum model_format format;
	uint64_t need = 0;
	int err = model_header_need(&need, &format, w->head.data, w->head.len);

	if (!err && need > w->head.len && need <= WRITER_MAX_HEADER && !at_eof) {
		w->need = need;
		return 0; /* read more */
	}
	if (!err && format != MODEL_OPAQUE && need <= w->head.len &&
	    !model_parse(&w->info, w->head.data, w->head.len, UINT64_MAX) &&
	    w->info.format != MODEL_OPAQUE)
		w->parsed = 1;
	if (!w->parsed)
		model_info_release(&w->info);
	lepton_error_clear(); /* a file that is no valid model is stored as bytes */
	if ((err = chunker_init(&w->chunker, w->parsed ? &w->info : NULL)))
		return err;
	w->cutting = 1;
	err = feed(w, (unsigned char *)w->head.data, w->head.len, 0);
	buf_release(&w->head);
	return err;
}

int store_writer_write(struct store_writer *w, const void *data, size_t len)
{
	int err;

	if ((err = writer_error(w)))
		return lepton_error_set(err, "%s", w->message);
	sha256_update(&w->file_hash, data, len);
	w->size += len;
	if (w->cutting)
		return feed(w, data, len, 0);
	buf_add(&w->head, data, len);
	if (w->head.len < w->need)
		return 0;
	return start_cutting(w, 0);
}

static void join_workers(struct store_writer *w)
{
	queue_close(&w->full);
	for (size_t i = 0; i < WRITER_WORKERS; i++) {
		if (w->workers[i].started) {
			pthread_join(w->workers[i].thread, NULL);
			w->workers[i].started = 0;
		}
	}
}

static void writer_free(struct store_writer *w)
{
	join_workers(w);
	if (w->file_hash.md)
		sha256_release(&w->file_hash);
	if (w->pack_open)
		pack_writer_abort(&w->pack);
	for (size_t i = 0; i < WRITER_BUFFERS; i++)
		buf_release(&w->bufs[i].data);
	for (size_t i = 0; i < WRITER_WORKERS; i++) {
		buf_release(&w->workers[i].frame);
		buf_release(&w->workers[i].base);
		chunk_decoder_release(&w->workers[i].dec);
	}
	if (w->cutting)
		chunker_release(&w->chunker);
	buf_release(&w->head);
	model_info_release(&w->info);
	tensor_map_release(&w->map);
	tensor_map_release(&w->prev_map);
	free(w->prev_chunks);
	free(w->prev_slots);
	recipe_release(&w->recipe);
	oidset_release(&w->written);
	queue_destroy(&w->full);
	queue_destroy(&w->empty);
	pthread_mutex_destroy(&w->store_lock);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->turn);
	free(w);
}

int store_writer_finish(struct store_writer *w, struct lepton_pointer *out,
			struct store_write_stats *stats)
{
	struct lepton_store *s = w->store;
	struct buf name = BUF_INIT, data = BUF_INIT;
	int err = 0;

	if ((err = writer_error(w))) {
		err = lepton_error_set(err, "%s", w->message);
		goto done;
	}
	if ((!w->cutting && (err = start_cutting(w, 1))) || (err = feed(w, NULL, 0, 1)))
		goto done;
	join_workers(w);
	if (w->error) {
		err = lepton_error_set(w->error, "%s", w->message);
		goto done;
	}
	sha256_final(&out->oid, &w->file_hash);
	out->size = w->size;
	w->recipe.file = out->oid;
	w->recipe.size = w->size;
	/* the map is kept only when the header held for the whole file */
	if (w->parsed && w->map.nr == w->recipe.nr && !model_check_size(&w->info, w->size)) {
		tensor_map_encode(&data, &w->map);
		recipe_add_section(&w->recipe, RECIPE_SECTION_TENSOR_MAP, data.data, data.len);
		buf_reset(&data);
	}
	lepton_error_clear();

	if (w->pack_open) {
		w->pack_open = 0;
		if ((err = pack_writer_commit(&w->pack, s->tmpdir, s->packdir, s->do_fsync, &name)))
			goto done;
		if ((err = add_pack(s, name.data)))
			goto done;
	}
	if (!store_has_file(s, &out->oid)) {
		recipe_encode(&data, &w->recipe);
		err = put_recipe(s, &out->oid, data.data, data.len);
	}
done:
	if (stats)
		*stats = w->stats;
	buf_release(&name);
	buf_release(&data);
	writer_free(w);
	return err;
}

void store_writer_abort(struct store_writer *w)
{
	if (w)
		writer_free(w);
}

/* ---- reading ------------------------------------------------------------ */

/* The reader's workers each read and decode whole chunks (any chunk, the
 * next one not taken) and hand them over in the file's order. */
struct reader_worker {
	struct store_reader *r;
	pthread_t thread;
	int started;
	struct chunk_decoder decoder;
	struct buf frame; /* the frame being read */
};

struct store_reader {
	struct lepton_store *store;
	struct lepton_pointer pointer;
	struct recipe recipe;
	struct chunk_place *places;
	struct chunk_buf bufs[PIPELINE_BUFFERS];
	struct queue full, empty;
	struct reader_worker workers[READER_WORKERS];
	/* under empty.lock: which chunk a worker takes next, whose turn it is
	 * to hand one over, and the end */
	size_t next_load, next_push;
	pthread_cond_t turn;
	int stop, failed;

	struct sha256_ctx file_hash;
	struct chunk_buf *current;
	size_t pos;    /* read position inside current */
	size_t next;   /* index of the next chunk expected */
	uint64_t done; /* bytes hashed */
	int finished;
	int error; /* first error seen by the caller's thread */
	char message[1024];
	int worker_error; /* set by the worker before it closes the queue */
	char worker_message[1024];
};

static void reader_fail(struct store_reader *r, int err)
{
	if (!r->error) {
		snprintf(r->message, sizeof(r->message), "%s", lepton_error_last());
		r->error = err;
	}
}

static int load_chunk(struct reader_worker *wk, size_t i, struct chunk_buf *c)
{
	struct store_reader *r = wk->r;
	struct chunk_place *pl = &r->places[i];
	struct frame_header h;
	char hex[OID_HEXSZ + 1];
	struct buf *frame = &wk->frame;
	int err = pack_read_frame(pl->pack, pl->offset, pl->len, frame);

	oid_to_hex(hex, &r->recipe.chunks[i].oid);
	if (err)
		return lepton_error_wrap(err, "chunk '%s'", hex);
	if ((err = frame_header_parse(&h, (unsigned char *)frame->data, frame->len)))
		return lepton_error_wrap(err, "chunk '%s'", hex);
	/* before anything is allocated for it: the recipe knows the length */
	if (h.raw_len != r->recipe.chunks[i].len)
		return lepton_error_set(LEPTON_ECORRUPT, "chunk '%s' has the wrong length", hex);
	if (h.encoding == FRAME_RAW) {
		/* check in place; no copy for the common case */
		if (oid_cmp(&h.chunk, &r->recipe.chunks[i].oid) ||
		    frame_total_size(&h) != frame->len)
			return lepton_error_set(LEPTON_ECORRUPT,
						"chunk '%s': frame does not match "
						"its index entry",
						hex);
		if (xxh3_64(frame->data, frame->len - FRAME_TRAILER_SIZE) !=
		    get_le64((unsigned char *)frame->data + frame->len - FRAME_TRAILER_SIZE))
			return lepton_error_set(LEPTON_ECORRUPT, "chunk '%s': checksum mismatch",
						hex);
		/* the frame becomes the chunk's buffer, and the chunk's old
		 * buffer the next frame's: no copy, no allocation */
		swap_bufs(&c->data, frame);
		c->bytes = (unsigned char *)c->data.data + h.header_len;
		c->len = h.raw_len;
	} else {
		struct lepton_oid got;
		/* both buffers are kept from chunk to chunk: no allocation here */
		buf_reset(&c->data);
		if ((err = decode_chunk(r->store, 0, &wk->decoder, &r->recipe.chunks[i].oid,
					(unsigned char *)frame->data, frame->len, &c->data, NULL)))
			return lepton_error_wrap(err, "chunk '%s'", hex);
		/*
		 * A delta decodes right only with the right base, which its own
		 * XXH3 cannot vouch for: check the chunk itself, so a wrong base
		 * is named and its bytes never go out.  Other frames are
		 * covered by their XXH3 and the file's SHA-256 (hashing every
		 * grouped chunk too costs as much as decoding it: docs/NOTES.md).
		 */
		if (h.encoding == FRAME_DELTA) {
			sha256_buffer(&got, c->data.data, c->data.len);
			if (oid_cmp(&got, &r->recipe.chunks[i].oid))
				return lepton_error_set(
				    LEPTON_ECORRUPT, "chunk '%s' does not match its SHA-256", hex);
		}
		c->bytes = (unsigned char *)c->data.data;
		c->len = c->data.len;
	}
	if (c->len != r->recipe.chunks[i].len)
		return lepton_error_set(LEPTON_ECORRUPT, "chunk '%s' has the wrong length", hex);
	return 0;
}

static void *reader_main(void *arg)
{
	struct reader_worker *wk = arg;
	struct store_reader *r = wk->r;

	for (;;) {
		struct chunk_buf *c = queue_pop(&r->empty);
		size_t i = 0;
		int err = 0, go;

		pthread_mutex_lock(&r->empty.lock);
		go = c && !r->stop && !r->failed && r->next_load < r->recipe.nr;
		if (go)
			i = r->next_load++;
		pthread_mutex_unlock(&r->empty.lock);
		if (!go) {
			if (c)
				queue_push(&r->empty, c);
			break;
		}
		err = load_chunk(wk, i, c);
		pthread_mutex_lock(&r->empty.lock);
		while (r->next_push != i && !r->stop && !r->failed)
			pthread_cond_wait(&r->turn, &r->empty.lock);
		go = r->next_push == i && !r->stop && !r->failed;
		if (go && err) {
			/* every chunk before this one went out: the caller gets
			 * them, then the error */
			snprintf(r->worker_message, sizeof(r->worker_message), "%s",
				 lepton_error_last());
			r->worker_error = err;
			r->failed = 1;
			go = 0;
		} else if (go) {
			/* handed over before the turn passes: the order holds */
			queue_push(&r->full, c);
			r->next_push++;
		}
		pthread_cond_broadcast(&r->turn);
		pthread_mutex_unlock(&r->empty.lock);
		if (!go) {
			buf_reset(&c->data);
			queue_push(&r->empty, c);
			if (r->failed)
				queue_close(&r->full);
			break;
		}
	}
	return NULL;
}

/* Import the file p names from the Git LFS object directory, if it is
 * there: LEPTON_ENOTFOUND when it is not, LEPTON_ECORRUPT when its bytes
 * do not match the pointer. */
static int import_lfs_object(struct lepton_store *s, const struct lepton_pointer *p)
{
	struct buf path = BUF_INIT, io = BUF_INIT;
	struct store_writer *w = NULL;
	struct lepton_pointer got;
	char hex[OID_HEXSZ + 1];
	int fd, err = 0;

	oid_to_hex(hex, &p->oid);
	buf_addf(&path, "%s/%.2s/%.2s/%s", s->lfs_objects, hex, hex + 2, hex);
	fd = open(path.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = lepton_error_set(LEPTON_ENOTFOUND, "content '%s' is not in the store", hex);
		goto done;
	}
	if ((err = store_writer_new(&w, s)))
		goto done;
	buf_grow(&io, 1 << 20);
	for (;;) {
		ssize_t n = read_full(fd, io.data, 1 << 20);
		if (n < 0) {
			err = lepton_error_wrap((int)n, "cannot read '%s'", path.data);
			goto done;
		}
		if (n == 0)
			break;
		if ((err = store_writer_write(w, io.data, (size_t)n)))
			goto done;
	}
	err = store_writer_finish(w, &got, NULL);
	w = NULL;
	if (!err && (oid_cmp(&got.oid, &p->oid) || got.size != p->size))
		err = lepton_error_set(LEPTON_ECORRUPT,
				       "Git LFS object '%s' does not match its name; it is damaged",
				       path.data);
done:
	store_writer_abort(w);
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	buf_release(&io);
	return err;
}

int store_reader_open(struct store_reader **out, struct lepton_store *s,
		      const struct lepton_pointer *p)
{
	struct store_reader *r = xcalloc(1, sizeof(*r));
	char hex[OID_HEXSZ + 1];
	int err;

	*out = NULL;
	pthread_cond_init(&r->turn, NULL);
	r->store = s;
	r->pointer = *p;
	queue_init(&r->full);
	queue_init(&r->empty);
	for (size_t i = 0; i < PIPELINE_BUFFERS; i++) {
		buf_init(&r->bufs[i].data, 0);
		queue_push(&r->empty, &r->bufs[i]);
	}
	err = read_recipe(s, &p->oid, &r->recipe);
	if (err == LEPTON_ENOTFOUND && s->lfs_objects) {
		int imported = import_lfs_object(s, p);
		if (imported == 0)
			err = read_recipe(s, &p->oid, &r->recipe);
		else if (imported != LEPTON_ENOTFOUND)
			err = imported;
		else
			err = lepton_error_set(LEPTON_ENOTFOUND, "content '%s' is not in the store",
					       oid_to_hex(hex, &p->oid));
	}
	if (err == LEPTON_ENOTFOUND && s->fetch) {
		int fetched = s->fetch(s->fetch_data, s, p, 1);
		err = fetched ? fetched : read_recipe(s, &p->oid, &r->recipe);
	}
	if (err)
		goto fail;
	if (r->recipe.size != p->size) {
		err = lepton_error_set(
		    LEPTON_ECORRUPT,
		    "content '%s' is %llu bytes in the store, the pointer says %llu",
		    oid_to_hex(hex, &p->oid), (unsigned long long)r->recipe.size,
		    (unsigned long long)p->size);
		goto fail;
	}
	r->places = xcalloc(r->recipe.nr ? r->recipe.nr : 1, sizeof(*r->places));
	for (size_t i = 0; i < r->recipe.nr; i++) {
		struct chunk_place *pl = &r->places[i];
		if (!find_chunk(s, &r->recipe.chunks[i].oid, &pl->pack, &pl->offset, &pl->len)) {
			store_reload(s);
			if (!find_chunk(s, &r->recipe.chunks[i].oid, &pl->pack, &pl->offset,
					&pl->len)) {
				char chex[OID_HEXSZ + 1];
				err = lepton_error_set(LEPTON_ENOTFOUND,
						       "chunk '%s' of content '%s' is missing from "
						       "the store",
						       oid_to_hex(chex, &r->recipe.chunks[i].oid),
						       oid_to_hex(hex, &p->oid));
				goto fail;
			}
		}
	}
	sha256_init(&r->file_hash);
	for (size_t i = 0; i < READER_WORKERS; i++) {
		struct reader_worker *wk = &r->workers[i];
		wk->r = r;
		chunk_decoder_init(&wk->decoder);
		buf_init(&wk->frame, 0);
		if (pthread_create(&wk->thread, NULL, reader_main, wk)) {
			err = lepton_error_set(LEPTON_ERR, "cannot start a thread");
			goto fail;
		}
		wk->started = 1;
	}
	*out = r;
	return 0;
fail:
	store_reader_free(r);
	return err;
}

/* Take the next chunk.  Chunks are hashed as their bytes go out, but the
 * last one is hashed whole and verified before any of its bytes do. */
static int next_chunk(struct store_reader *r)
{
	char hex[OID_HEXSZ + 1];
	struct lepton_oid got;

	r->current = queue_pop(&r->full);
	if (!r->current) {
		/* the queue is closed: the worker's fields are final */
		if (r->worker_error)
			return lepton_error_set(r->worker_error, "%s", r->worker_message);
		return lepton_error_set(LEPTON_ERR, "store reader stopped early");
	}
	r->pos = 0;
	r->next++;
	r->done += r->current->len;
	if (r->next == r->recipe.nr) {
		sha256_update(&r->file_hash, r->current->bytes, r->current->len);
		sha256_final(&got, &r->file_hash);
		if (oid_cmp(&got, &r->pointer.oid) || r->done != r->pointer.size)
			return lepton_error_set(
			    LEPTON_ECORRUPT, "content '%s' does not match its SHA-256 in the store",
			    oid_to_hex(hex, &r->pointer.oid));
	}
	return 0;
}

ssize_t store_reader_next(struct store_reader *r, const void **data, size_t max)
{
	size_t n;
	int err;

	if (r->error)
		return lepton_error_set(r->error, "%s", r->message);
	if (!r->recipe.nr) {
		/* empty file: nothing to hash but the empty string */
		if (!r->finished) {
			struct lepton_oid got;
			sha256_final(&got, &r->file_hash);
			r->finished = 1;
			if (oid_cmp(&got, &r->pointer.oid))
				return lepton_error_set(LEPTON_ECORRUPT,
							"empty content has the wrong id");
		}
		return 0;
	}
	if (!r->current || r->pos == r->current->len) {
		if (r->current) {
			buf_reset(&r->current->data);
			queue_push(&r->empty, r->current);
			r->current = NULL;
		}
		if (r->next == r->recipe.nr)
			return 0;
		if ((err = next_chunk(r))) {
			reader_fail(r, err);
			return err;
		}
	}
	n = r->current->len - r->pos;
	if (n > max)
		n = max;
	*data = r->current->bytes + r->pos;
	if (r->next < r->recipe.nr) /* the last chunk was hashed when it was taken */
		sha256_update(&r->file_hash, *data, n);
	r->pos += n;
	return (ssize_t)n;
}

ssize_t store_reader_read(struct store_reader *r, void *buf, size_t len)
{
	const void *data;
	ssize_t n = store_reader_next(r, &data, len);
	if (n > 0)
		memcpy(buf, data, (size_t)n);
	return n;
}

void store_reader_free(struct store_reader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->empty.lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->turn);
	pthread_mutex_unlock(&r->empty.lock);
	queue_close(&r->empty);
	for (size_t i = 0; i < READER_WORKERS; i++) {
		if (r->workers[i].started)
			pthread_join(r->workers[i].thread, NULL);
		chunk_decoder_release(&r->workers[i].decoder);
		buf_release(&r->workers[i].frame);
	}
	pthread_cond_destroy(&r->turn);
	if (r->file_hash.md)
		sha256_release(&r->file_hash);
	for (size_t i = 0; i < PIPELINE_BUFFERS; i++)
		buf_release(&r->bufs[i].data);
	recipe_release(&r->recipe);
	free(r->places);
	queue_destroy(&r->full);
	queue_destroy(&r->empty);
	free(r);
}

/* ---- walking and verifying --------------------------------------------- */

int store_for_each_file(struct lepton_store *s, int (*fn)(void *data, const struct lepton_oid *oid),
			void *data)
{
	DIR *top = opendir(s->recipedir);
	struct dirent *e;
	int ret = 0;

	if (!top)
		return lepton_error_errno(LEPTON_EIO, "cannot read '%s'", s->recipedir);
	while (!ret && (e = readdir(top))) {
		char *sub;
		DIR *d;
		struct dirent *f;
		if (strlen(e->d_name) != 2 || e->d_name[0] == '.')
			continue;
		sub = join(s->recipedir, e->d_name);
		d = opendir(sub);
		free(sub);
		if (!d)
			continue;
		while (!ret && (f = readdir(d))) {
			char hex[OID_HEXSZ + 1];
			struct lepton_oid oid;
			if (strlen(f->d_name) != OID_HEXSZ - 2)
				continue;
			memcpy(hex, e->d_name, 2);
			memcpy(hex + 2, f->d_name, OID_HEXSZ - 2);
			hex[OID_HEXSZ] = '\0';
			if (oid_from_hex(&oid, hex))
				continue;
			ret = fn(data, &oid);
		}
		closedir(d);
	}
	closedir(top);
	return ret;
}

struct fsck_state {
	struct lepton_store *store;
	int full;
	store_fsck_fn report;
	void *data;
	int problems;
	struct oidset bad_chunks;
	struct buf frame, decoded;
	struct chunk_decoder decoder;
};

static void problem(struct fsck_state *st, const char *kind, const struct lepton_oid *oid,
		    const char *what)
{
	st->problems++;
	st->report(st->data, kind, oid, what);
}

static void fsck_pack(struct fsck_state *st, struct pack *p)
{
	for (uint32_t i = 0; i < p->count; i++) {
		struct lepton_oid oid, got;
		uint64_t off, len;
		int err;
		pack_entry(p, i, &oid, &off, &len);
		err = pack_read_frame(p, off, len, &st->frame);
		if (!err) {
			buf_reset(&st->decoded);
			/* a delta decodes only with its chain: this checks its bases */
			err = decode_chunk(st->store, 0, &st->decoder, &oid,
					   (unsigned char *)st->frame.data, st->frame.len,
					   &st->decoded, NULL);
		}
		if (!err && st->full) {
			sha256_buffer(&got, st->decoded.data, st->decoded.len);
			if (oid_cmp(&got, &oid))
				err = lepton_error_set(LEPTON_ECORRUPT,
						       "content does not match its SHA-256");
		}
		if (err) {
			oidset_insert(&st->bad_chunks, &oid);
			problem(st, "chunk", &oid, lepton_error_last());
		}
	}
}

static int fsck_recipe(void *data, const struct lepton_oid *oid)
{
	struct fsck_state *st = data;
	struct recipe r;
	struct buf msg = BUF_INIT;

	if (read_recipe(st->store, oid, &r)) {
		problem(st, "recipe", oid, lepton_error_last());
		return 0;
	}
	for (size_t i = 0; i < r.nr; i++) {
		char hex[OID_HEXSZ + 1];
		oid_to_hex(hex, &r.chunks[i].oid);
		if (!store_has_chunk(st->store, &r.chunks[i].oid)) {
			buf_reset(&msg);
			buf_addf(&msg, "chunk '%s' is missing", hex);
			problem(st, "recipe", oid, msg.data);
		} else if (oidset_has(&st->bad_chunks, &r.chunks[i].oid)) {
			buf_reset(&msg);
			buf_addf(&msg, "chunk '%s' is damaged", hex);
			problem(st, "recipe", oid, msg.data);
		}
	}
	buf_release(&msg);
	recipe_release(&r);
	return 0;
}

/* An index that does not load is damaged. */
static void fsck_index(void *data, const char *name)
{
	struct fsck_state *st = data;
	struct pack p;
	if (pack_open(&p, st->store->packdir, name))
		problem(st, "index", NULL, lepton_error_last());
	else
		pack_close(&p);
}

int store_fsck(struct lepton_store *s, int full, store_fsck_fn report, void *data)
{
	struct fsck_state st = { .store = s, .full = full, .report = report, .data = data };
	int err;

	buf_init(&st.frame, 0);
	chunk_decoder_init(&st.decoder);
	buf_init(&st.decoded, 0);
	/* indexes that do not load are damaged */
	if ((err = for_each_pack_name(s, fsck_index, &st)))
		return err;
	store_reload(s);
	for (size_t i = 0; i < s->nr_packs; i++)
		fsck_pack(&st, s->packs[i]);
	err = store_for_each_file(s, fsck_recipe, &st);
	oidset_release(&st.bad_chunks);
	buf_release(&st.frame);
	buf_release(&st.decoded);
	chunk_decoder_release(&st.decoder);
	return err < 0 ? err : st.problems;
}

/* ---- raw objects, for transfers between stores ------------------------ */

int store_read_recipe(struct lepton_store *s, const struct lepton_oid *oid, struct recipe *out,
		      struct buf *raw)
{
	int err = read_recipe(s, oid, out);
	char *path;

	if (err || !raw)
		return err;
	path = recipe_file(s, oid);
	if ((err = buf_read_file(raw, path)))
		recipe_release(out);
	free(path);
	return err;
}

int store_put_recipe(struct lepton_store *s, const struct lepton_oid *oid, const void *data,
		     size_t len)
{
	struct recipe r;
	char hex[OID_HEXSZ + 1];
	int err = recipe_parse(&r, data, len);

	oid_to_hex(hex, oid);
	if (err)
		return lepton_error_wrap(err, "recipe of '%s' is damaged", hex);
	if (oid_cmp(&r.file, oid))
		err =
		    lepton_error_set(LEPTON_ECORRUPT, "recipe of '%s' describes another file", hex);
	for (size_t i = 0; !err && i < r.nr; i++)
		if (!store_has_chunk(s, &r.chunks[i].oid))
			err = lepton_error_set(
			    LEPTON_ENOTFOUND, "recipe of '%s' names a chunk this store lacks", hex);
	recipe_release(&r);
	return err ? err : put_recipe(s, oid, data, len);
}

int store_read_frame(struct lepton_store *s, const struct lepton_oid *chunk, struct buf *out)
{
	struct pack *p;
	uint64_t off, len;
	char hex[OID_HEXSZ + 1];

	if (!find_chunk(s, chunk, &p, &off, &len))
		return lepton_error_set(LEPTON_ENOTFOUND, "chunk '%s' is not in the store",
					oid_to_hex(hex, chunk));
	return pack_read_frame(p, off, len, out);
}

int store_add_frames_begin(struct lepton_store *s, struct pack_writer *w)
{
	return pack_writer_open(w, s->tmpdir);
}

int store_add_frames_commit(struct lepton_store *s, struct pack_writer *w)
{
	struct buf name = BUF_INIT;
	int err = pack_writer_commit(w, s->tmpdir, s->packdir, s->do_fsync, &name);
	if (!err)
		err = add_pack(s, name.data);
	buf_release(&name);
	return err;
}

const char *store_tmpdir(const struct lepton_store *s)
{
	return s->tmpdir;
}

int store_chunk_pack(struct lepton_store *s, const struct lepton_oid *chunk, struct pack **out)
{
	uint64_t off, len;
	char hex[OID_HEXSZ + 1];
	if (!find_chunk(s, chunk, out, &off, &len))
		return lepton_error_set(LEPTON_ENOTFOUND, "chunk '%s' is not in the store",
					oid_to_hex(hex, chunk));
	return 0;
}

int store_read_frame_header(struct lepton_store *s, const struct lepton_oid *chunk,
			    struct frame_header *h)
{
	struct pack *p;
	uint64_t off, len;
	struct buf head = BUF_INIT;
	char hex[OID_HEXSZ + 1];
	int err;

	if (!find_chunk(s, chunk, &p, &off, &len))
		return lepton_error_set(LEPTON_ENOTFOUND, "chunk '%s' is not in the store",
					oid_to_hex(hex, chunk));
	err = pack_read_frame(p, off, len < FRAME_MAX_HEADER ? len : FRAME_MAX_HEADER, &head);
	if (!err)
		err = frame_header_parse(h, (unsigned char *)head.data, head.len);
	buf_release(&head);
	return err;
}

int store_adopt_pack(struct lepton_store *s, const char *name, const char *pack_tmp,
		     const void *idx, size_t idx_len)
{
	struct buf path = BUF_INIT;
	int err = 0;

	buf_addf(&path, "%s/%s.pack", s->packdir, name);
	if (rename(pack_tmp, path.data) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", path.data);
	buf_reset(&path);
	buf_addf(&path, "%s/%s.idx", s->packdir, name);
	if (!err)
		err = write_file_atomic(s->tmpdir, path.data, idx, idx_len, s->do_fsync);
	if (!err && !have_pack(s, name))
		err = add_pack(s, name);
	buf_release(&path);
	return err;
}

/* ---- accessors for store-prune.c (declared in store-prune.h) ----------- */

#include "store-prune.h"

size_t store_pack_count(const struct lepton_store *s)
{
	return s->nr_packs;
}

struct pack *store_pack_at(struct lepton_store *s, size_t i)
{
	return i < s->nr_packs ? s->packs[i] : NULL;
}

const char *store_packdir(const struct lepton_store *s)
{
	return s->packdir;
}

int store_drop_pack(struct lepton_store *s, const char *name)
{
	struct buf path = BUF_INIT;
	int err = 0;

	/* the index first: a pack without an index is invisible and harmless,
	 * an index without its pack is a damaged store */
	buf_addf(&path, "%s/%s.idx", s->packdir, name);
	if (unlink(path.data) < 0 && errno != ENOENT)
		err = lepton_error_errno(LEPTON_EIO, "cannot delete '%s'", path.data);
	buf_reset(&path);
	buf_addf(&path, "%s/%s.pack", s->packdir, name);
	if (!err && unlink(path.data) < 0 && errno != ENOENT)
		err = lepton_error_errno(LEPTON_EIO, "cannot delete '%s'", path.data);
	for (size_t i = 0; !err && i < s->nr_packs; i++)
		if (!strcmp(s->packs[i]->name, name)) {
			pack_close(s->packs[i]);
			free(s->packs[i]);
			memmove(s->packs + i, s->packs + i + 1,
				(s->nr_packs - i - 1) * sizeof(*s->packs));
			s->nr_packs--;
			break;
		}
	buf_release(&path);
	return err;
}

int store_delete_recipe(struct lepton_store *s, const struct lepton_oid *oid)
{
	char *path = recipe_file(s, oid);
	int err = 0;
	if (unlink(path) < 0 && errno != ENOENT)
		err = lepton_error_errno(LEPTON_EIO, "cannot delete '%s'", path);
	free(path);
	return err;
}
