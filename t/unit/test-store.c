/*
 * Unit tests of the content store (git-lepton/store.h), against its
 * header: opening and creating, streamed writes in pieces of awkward sizes
 * around the chunk size, verified streamed reads, deduplication, abort,
 * listing, and what a flipped or missing byte on disk must cause.
 *
 * Each test gets a fresh directory from mkdtemp() and removes it after.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "chunker.h"
#include "codec.h"
#include "error.h"
#include "frame.h"
#include "hash.h"
#include "oidset.h"
#include "pack.h"
#include "pointer.h"
#include "recipe.h"
#include "store.h"
#include "unit-lib.h"

#define CS          ((size_t)STORE_CHUNK_SIZE)
#define MARKER_TEXT "lepton store 1\n"

struct fixture {
	char dir[64];   /* from mkdtemp */
	char root[128]; /* dir/store, not created */
	struct lepton_store *s;
};

/* ---- helpers ------------------------------------------------------------ */

/* Where the writer cuts bytes that are no model: the chunker's cuts over
 * the whole buffer.  Returns the number of chunks; ids[] (when not NULL,
 * room for max) gets their SHA-256. */
static size_t opaque_cuts(const unsigned char *data, size_t len, struct lepton_oid *ids, size_t max)
{
	struct chunker c;
	struct chunk_span span;
	size_t n = 0, pos = 0;

	assert_int_equal(chunker_init(&c, NULL), 0);
	for (;;) {
		size_t took = chunker_next_cut(&c, data + pos, len - pos, 1, &span);
		if (span.len) {
			if (ids && n < max)
				sha256_buffer(&ids[n], data + span.offset, span.len);
			n++;
		} else if (!took) {
			break;
		}
		pos += took;
	}
	chunker_release(&c);
	return n;
}

/* How many of data's chunks are not in seen yet (nor repeated within
 * data); adds them to seen, as the store does. */
static size_t new_cuts(struct oidset *seen, const unsigned char *data, size_t len)
{
	struct lepton_oid ids[64];
	size_t n = opaque_cuts(data, len, ids, 64), fresh = 0;

	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++)
		fresh += oidset_insert(seen, &ids[i]);
	return fresh;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lepton-test-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->root, sizeof(f->root), "%s/store", f->dir);
	*state = f;
	return 0;
}

/* setup, and a store created at root */
static int setup_store(void **state)
{
	struct fixture *f;
	if (setup(state))
		return -1;
	f = *state;
	if (store_open(&f->s, f->root, 1)) {
		fprintf(stderr, "store_open: %s\n", lepton_error_last());
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	store_free(f->s);
	remove_tree(f->dir);
	free(f);
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Number of entries in root/sub whose names end in suffix ("" for all);
 * the last one's path goes to last when not NULL. */
static size_t count_files(const char *root, const char *sub, const char *suffix, char *last,
			  size_t last_size)
{
	char dir[512];
	DIR *d;
	struct dirent *e;
	size_t n = 0, slen = strlen(suffix);

	path_in(dir, sizeof(dir), root, sub);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (len < slen || strcmp(e->d_name + len - slen, suffix))
			continue;
		n++;
		if (last)
			path_in(last, last_size, dir, e->d_name);
	}
	closedir(d);
	return n;
}

static size_t count_recipes(const char *root)
{
	char dir[512];
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	path_in(dir, sizeof(dir), root, "recipes");
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char sub[600];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "recipes/%s", e->d_name);
		n += count_files(root, sub, "", NULL, 0);
	}
	closedir(d);
	return n;
}

static struct lepton_oid sha256_of(const void *data, size_t len)
{
	struct lepton_oid oid;
	sha256_buffer(&oid, data, len);
	return oid;
}

/* The stats of the writer that write_pieces() finished last. */
static struct store_write_stats finished_stats;

static struct store_write_stats last_stats(void)
{
	return finished_stats;
}

/* Write data in pieces whose sizes cycle through pieces[]; 0 or the error
 * of the first failing call. */
static int write_pieces(struct lepton_store *s, const unsigned char *data, size_t len,
			const size_t *pieces, size_t npieces, struct lepton_pointer *out)
{
	struct store_writer *w = NULL;
	size_t off = 0, k = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = store_writer_new(&w, s);
	if (err)
		return err;
	assert_non_null(w);
	while (off < len) {
		size_t n = pieces[k++ % npieces];
		if (n > len - off)
			n = len - off;
		err = store_writer_write(w, data + off, n);
		if (err) {
			store_writer_abort(w);
			return err;
		}
		off += n;
	}
	/* an empty write anywhere changes nothing */
	err = store_writer_write(w, "", 0);
	if (err) {
		store_writer_abort(w);
		return err;
	}
	memset(&finished_stats, 0xff, sizeof(finished_stats));
	return store_writer_finish(w, out, &finished_stats);
}

static const size_t odd_pieces[] = { 1, 7, 65536, 1, 1, 4093, 1000003, 12345, CS + 5, 3 };
static const size_t whole[] = { SIZE_MAX };

static void write_ok(struct lepton_store *s, const unsigned char *data, size_t len,
		     const size_t *pieces, size_t npieces, struct lepton_pointer *out)
{
	int err = write_pieces(s, data, len, pieces, npieces, out);
	if (err)
		fail_msg("writing %zu bytes: %d %s", len, err, lepton_error_last());
	{
		struct lepton_oid want = sha256_of(data, len);
		assert_memory_equal(out->oid.hash, want.hash, OID_RAWSZ);
		assert_int_equal(out->size, len);
	}
}

/*
 * Read the file through a reader in pieces cycling through sizes[].
 * Returns what the last read returned (0 at the verified end) or the
 * open's error; the bytes handed out are in got.
 */
static ssize_t read_pieces(struct lepton_store *s, const struct lepton_pointer *p,
			   const size_t *sizes, size_t nsizes, struct buf *got)
{
	struct store_reader *r = NULL;
	unsigned char *buf;
	size_t max = 0, k = 0;
	ssize_t n;
	int err;

	for (size_t i = 0; i < nsizes; i++)
		if (sizes[i] > max)
			max = sizes[i];
	buf_reset(got);
	err = store_reader_open(&r, s, p);
	if (err)
		return err;
	assert_non_null(r);
	buf = malloc(max);
	assert_non_null(buf);
	for (;;) {
		size_t want = sizes[k++ % nsizes];
		n = store_reader_read(r, buf, want);
		if (n <= 0)
			break;
		assert_true((size_t)n <= want);
		assert_int_equal(buf_add(got, buf, (size_t)n), 0);
		/* never more than the pointer promises */
		assert_true(got->len <= p->size);
	}
	free(buf);
	store_reader_free(r);
	return n;
}

static const size_t read_sizes[] = { 1, 7, 4096, 65536, 3, CS + 3, 100000, 1 };

static void read_back_ok(struct lepton_store *s, const struct lepton_pointer *p,
			 const unsigned char *data, size_t len)
{
	struct buf got = BUF_INIT;
	static const size_t big[] = { 16u << 20 };
	ssize_t ret = read_pieces(s, p, read_sizes, sizeof(read_sizes) / sizeof(*read_sizes), &got);
	if (ret != 0)
		fail_msg("reading %zu bytes back: %zd %s", len, ret, lepton_error_last());
	assert_int_equal(got.len, len);
	if (len)
		assert_memory_equal(got.data, data, len);
	/* and in one large read at a time */
	ret = read_pieces(s, p, big, 1, &got);
	assert_int_equal(ret, 0);
	assert_int_equal(got.len, len);
	if (len)
		assert_memory_equal(got.data, data, len);
	buf_release(&got);
}

/* Reading must fail with LEPTON_ECORRUPT at open or during the read, and
 * must never reach a clean end. */
static void read_fails_corrupt(struct lepton_store *s, const struct lepton_pointer *p,
			       size_t *handed_out)
{
	struct buf got = BUF_INIT;
	ssize_t ret = read_pieces(s, p, read_sizes, sizeof(read_sizes) / sizeof(*read_sizes), &got);
	if (ret != LEPTON_ECORRUPT)
		fail_msg("reading damaged content returned %zd after %zu bytes, expected "
			 "LEPTON_ECORRUPT (%d); %s",
			 ret, got.len, LEPTON_ECORRUPT, lepton_error_last());
	assert_true(got.len < p->size);
	if (handed_out)
		*handed_out = got.len;
	buf_release(&got);
}

static void recipe_path_of(const struct fixture *f, const struct lepton_oid *oid, char *out,
			   size_t size)
{
	struct buf rel = BUF_INIT;
	store_recipe_path(&rel, oid);
	path_in(out, size, f->root, rel.data);
	buf_release(&rel);
}

static void reopen(struct fixture *f)
{
	store_free(f->s);
	f->s = NULL;
	if (store_open(&f->s, f->root, 0))
		fail_msg("reopening the store: %s", lepton_error_last());
}

struct fsck_log {
	int calls, chunk, recipe, pack, index, other, with_oid;
	struct lepton_oid last_oid;
};

static void fsck_report(void *data, const char *kind, const struct lepton_oid *oid,
			const char *what)
{
	struct fsck_log *log = data;
	log->calls++;
	assert_non_null(kind);
	assert_non_null(what);
	assert_true(strlen(what) > 0);
	if (!strcmp(kind, "chunk"))
		log->chunk++;
	else if (!strcmp(kind, "recipe"))
		log->recipe++;
	else if (!strcmp(kind, "pack"))
		log->pack++;
	else if (!strcmp(kind, "index"))
		log->index++;
	else
		log->other++;
	if (oid) {
		log->with_oid++;
		log->last_oid = *oid;
	}
}

static int fsck(struct lepton_store *s, int full, struct fsck_log *log)
{
	int ret;
	memset(log, 0, sizeof(*log));
	ret = store_fsck(s, full, fsck_report, log);
	assert_true(ret >= 0);
	/* one report per problem counted */
	assert_int_equal(ret, log->calls);
	assert_int_equal(log->other, 0);
	return ret;
}

/* ---- opening ------------------------------------------------------------ */

static void test_open_create(void **state)
{
	struct fixture *f = *state;
	struct buf marker = BUF_INIT;
	char path[512];

	assert_false(exists(f->root));
	assert_int_equal(store_open(&f->s, f->root, 1), 0);
	assert_non_null(f->s);
	assert_string_equal(store_root(f->s), f->root);

	path_in(path, sizeof(path), f->root, "lepton-store");
	assert_int_equal(buf_read_file(&marker, path), 0);
	assert_string_equal(marker.data, MARKER_TEXT);
	buf_release(&marker);
	path_in(path, sizeof(path), f->root, "packs");
	assert_true(is_dir(path));
	path_in(path, sizeof(path), f->root, "recipes");
	assert_true(is_dir(path));
	path_in(path, sizeof(path), f->root, "tmp");
	assert_true(is_dir(path));

	/* opening again, with and without create, finds the same store */
	store_free(f->s);
	f->s = NULL;
	if (store_open(&f->s, f->root, 0))
		fail_msg("reopening a store: %s", lepton_error_last());
	assert_non_null(f->s);
	store_free(f->s);
	f->s = NULL;
	assert_int_equal(store_open(&f->s, f->root, 1), 0);
	path_in(path, sizeof(path), f->root, "lepton-store");
	assert_int_equal(buf_read_file(&marker, path), 0);
	assert_string_equal(marker.data, MARKER_TEXT);
	buf_release(&marker);
}

static void test_open_missing(void **state)
{
	struct fixture *f = *state;
	char deeper[512];

	assert_int_equal(store_open(&f->s, f->root, 0), LEPTON_ENOTFOUND);
	assert_null(f->s);
	/* the message names the store */
	assert_non_null(strstr(lepton_error_last(), f->root));
	/* and nothing was created */
	assert_false(exists(f->root));

	path_in(deeper, sizeof(deeper), f->root, "a/b");
	assert_int_equal(store_open(&f->s, deeper, 0), LEPTON_ENOTFOUND);
	assert_null(f->s);
	assert_false(exists(f->root));
}

static void test_open_not_a_store(void **state)
{
	struct fixture *f = *state;
	char path[512];
	int fd;

	assert_int_equal(mkdir(f->root, 0777), 0);
	path_in(path, sizeof(path), f->root, "model.safetensors");
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a store", 11), 11);
	close(fd);

	assert_int_equal(store_open(&f->s, f->root, 0), LEPTON_EINVALID);
	assert_null(f->s);
	/* create does not turn somebody's directory into a store */
	assert_int_equal(store_open(&f->s, f->root, 1), LEPTON_EINVALID);
	assert_null(f->s);
	path_in(path, sizeof(path), f->root, "lepton-store");
	assert_false(exists(path));
	path_in(path, sizeof(path), f->root, "packs");
	assert_false(exists(path));
}

static void write_marker(const char *root, const char *text, size_t len)
{
	char path[512];
	int fd;
	path_in(path, sizeof(path), root, "lepton-store");
	chmod(path, 0644);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void test_open_other_marker(void **state)
{
	struct fixture *f = *state;
	static const char *const markers[] = {
		"lepton store 2\n",       "lepton store 1", "lepton store 10\n",
		"lepton store\n",         "hello\n",        "",
		"lepton store 1\nmore\n",
	};

	assert_int_equal(store_open(&f->s, f->root, 1), 0);
	store_free(f->s);
	f->s = NULL;
	for (size_t i = 0; i < sizeof(markers) / sizeof(*markers); i++) {
		int ret;
		write_marker(f->root, markers[i], strlen(markers[i]));
		ret = store_open(&f->s, f->root, 0);
		if (ret != LEPTON_EINVALID)
			fail_msg("marker '%s': store_open returned %d", markers[i], ret);
		assert_null(f->s);
		assert_int_equal(store_open(&f->s, f->root, 1), LEPTON_EINVALID);
		assert_null(f->s);
	}
	/* a marker with a NUL in it */
	write_marker(f->root, "lepton store 1\0\n", 16);
	assert_int_equal(store_open(&f->s, f->root, 0), LEPTON_EINVALID);
	assert_null(f->s);
}

static void test_open_on_a_file(void **state)
{
	struct fixture *f = *state;
	int fd = open(f->root, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_true(store_open(&f->s, f->root, 0) < 0);
	assert_null(f->s);
	assert_true(store_open(&f->s, f->root, 1) < 0);
	assert_null(f->s);
}

/* ---- writing and reading ------------------------------------------------ */

static void check_size(struct lepton_store *s, size_t len, uint64_t seed, const size_t *pieces,
		       size_t npieces)
{
	unsigned char *data = make_data(len, seed);
	struct lepton_pointer p;
	struct lepton_oid want = sha256_of(data, len);
	struct store_write_stats st;
	uint64_t chunks = opaque_cuts(data, len, NULL, 0);

	assert_int_equal(store_has_file(s, &want), 0);
	write_ok(s, data, len, pieces, npieces, &p);
	st = last_stats();
	assert_int_equal(st.bytes, len);
	assert_int_equal(st.chunks, chunks);
	assert_int_equal(st.new_chunks, chunks);
	if (chunks)
		assert_true(st.new_bytes > 0);
	assert_int_equal(store_has_file(s, &p.oid), 1);
	if (len) {
		/* chunks are named by their SHA-256 and cut where the chunker cuts */
		struct lepton_oid ids[64];
		size_t n = opaque_cuts(data, len, ids, 64);
		for (size_t i = 0; i < n && i < 64; i++)
			assert_int_equal(store_has_chunk(s, &ids[i]), 1);
	}
	read_back_ok(s, &p, data, len);
	free(data);
}

static void test_write_read_sizes(void **state)
{
	struct fixture *f = *state;
	static const size_t ones[] = { 1 };
	static const size_t sevens[] = { 7 };
	static const size_t sixty_four_k[] = { 65536 };
	const size_t npieces = sizeof(odd_pieces) / sizeof(*odd_pieces);

	check_size(f->s, 0, 1, odd_pieces, npieces);
	check_size(f->s, 1, 2, ones, 1);
	check_size(f->s, CS - 1, 3, odd_pieces, npieces);
	check_size(f->s, CS, 4, sevens, 1);
	check_size(f->s, CS + 1, 5, ones, 1);
	check_size(f->s, 3 * CS + 12345, 6, odd_pieces, npieces);
	check_size(f->s, 3 * CS + 12345, 7, sixty_four_k, 1);
	check_size(f->s, 2 * CS, 8, whole, 1);

	/* everything still there after reopening the store */
	reopen(f);
	{
		unsigned char *data = make_data(3 * CS + 12345, 6);
		struct lepton_pointer p = { .oid = sha256_of(data, 3 * CS + 12345),
					    .size = 3 * CS + 12345 };
		assert_int_equal(store_has_file(f->s, &p.oid), 1);
		read_back_ok(f->s, &p, data, 3 * CS + 12345);
		free(data);
	}
	{
		struct fsck_log log;
		assert_int_equal(fsck(f->s, 1, &log), 0);
	}
}

static void test_empty_file(void **state)
{
	struct fixture *f = *state;
	struct lepton_pointer p;
	struct store_writer *w = NULL;
	struct store_write_stats st;
	struct buf got = BUF_INIT;

	assert_int_equal(store_writer_new(&w, f->s), 0);
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(store_writer_finish(w, &p, &st), 0);
	assert_memory_equal(p.oid.hash, empty_oid.hash, OID_RAWSZ);
	assert_int_equal(p.size, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.chunks, 0);
	assert_int_equal(st.new_chunks, 0);
	assert_int_equal(store_has_file(f->s, &empty_oid), 1);
	assert_int_equal(read_pieces(f->s, &p, read_sizes, 3, &got), 0);
	assert_int_equal(got.len, 0);
	buf_release(&got);
}

static void test_write_twice(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 * CS + 12345;
	unsigned char *data = make_data(len, 11);
	struct lepton_pointer p1, p2;
	struct store_write_stats st;
	size_t idx, recipes;

	size_t n = opaque_cuts(data, len, NULL, 0);

	assert_true(n > 3);
	write_ok(f->s, data, len, odd_pieces, sizeof(odd_pieces) / sizeof(*odd_pieces), &p1);
	st = last_stats();
	assert_int_equal(st.chunks, n);
	assert_int_equal(st.new_chunks, n);
	idx = count_files(f->root, "packs", ".idx", NULL, 0);
	assert_true(idx >= 1);
	recipes = count_recipes(f->root);
	assert_int_equal(recipes, 1);

	/* the same bytes in other pieces: same pointer, nothing new stored */
	write_ok(f->s, data, len, whole, 1, &p2);
	assert_memory_equal(p2.oid.hash, p1.oid.hash, OID_RAWSZ);
	assert_int_equal(p2.size, p1.size);
	st = last_stats();
	assert_int_equal(st.chunks, n);
	assert_int_equal(st.bytes, len);
	assert_int_equal(st.new_chunks, 0);
	assert_int_equal(st.new_bytes, 0);
	assert_int_equal(count_files(f->root, "packs", ".idx", NULL, 0), idx);
	assert_int_equal(count_recipes(f->root), recipes);

	/* also through another handle on the same store */
	reopen(f);
	write_ok(f->s, data, len, odd_pieces + 2, 3, &p2);
	st = last_stats();
	assert_int_equal(st.new_chunks, 0);
	assert_int_equal(count_files(f->root, "packs", ".idx", NULL, 0), idx);
	read_back_ok(f->s, &p2, data, len);
	free(data);
}

static void test_rewrite_after_lost_recipe(void **state)
{
	/* the chunks are there but the recipe is not (a crash between the
	 * two): writing the file again makes it whole without new chunks */
	struct fixture *f = *state;
	size_t len = CS + 99;
	unsigned char *data = make_data(len, 12);
	struct lepton_pointer p;
	struct store_reader *r = NULL;
	char path[512];

	write_ok(f->s, data, len, whole, 1, &p);
	recipe_path_of(f, &p.oid, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(store_has_file(f->s, &p.oid), 0);
	assert_int_equal(store_reader_open(&r, f->s, &p), LEPTON_ENOTFOUND);
	assert_null(r);
	write_ok(f->s, data, len, odd_pieces, 4, &p);
	assert_int_equal(last_stats().new_chunks, 0);
	assert_int_equal(store_has_file(f->s, &p.oid), 1);
	read_back_ok(f->s, &p, data, len);
	free(data);
}

static void test_shared_first_chunk(void **state)
{
	struct fixture *f = *state;
	unsigned char *x = make_data(CS, 21), *y = make_data(1000, 22), *z = make_data(2000, 23);
	unsigned char *a = malloc(CS + 1000), *b = malloc(CS + 2000), *xx = malloc(2 * CS);
	struct lepton_pointer pa, pb, px, pxx;
	struct store_write_stats st;
	struct oidset seen = OIDSET_INIT;
	size_t fresh;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(xx);
	memcpy(a, x, CS);
	memcpy(a + CS, y, 1000);
	memcpy(b, x, CS);
	memcpy(b + CS, z, 2000);
	memcpy(xx, x, CS);
	memcpy(xx + CS, x, CS);

	write_ok(f->s, a, CS + 1000, odd_pieces, sizeof(odd_pieces) / sizeof(*odd_pieces), &pa);
	st = last_stats();
	assert_int_equal(st.chunks, opaque_cuts(a, CS + 1000, NULL, 0));
	assert_int_equal(st.new_chunks, new_cuts(&seen, a, CS + 1000));

	/* content-defined cuts: the chunks before the change are shared */
	write_ok(f->s, b, CS + 2000, whole, 1, &pb);
	st = last_stats();
	fresh = new_cuts(&seen, b, CS + 2000);
	assert_int_equal(st.chunks, opaque_cuts(b, CS + 2000, NULL, 0));
	assert_int_equal(st.new_chunks, fresh);
	assert_true(fresh < st.chunks);
	assert_int_equal(st.bytes, CS + 2000);

	write_ok(f->s, x, CS, whole, 1, &px);
	st = last_stats();
	assert_int_equal(st.new_chunks, new_cuts(&seen, x, CS));

	/* a file that repeats its content stores each chunk once */
	write_ok(f->s, xx, 2 * CS, whole, 1, &pxx);
	st = last_stats();
	assert_int_equal(st.new_chunks, new_cuts(&seen, xx, 2 * CS));
	assert_true(st.new_chunks < st.chunks);

	read_back_ok(f->s, &pa, a, CS + 1000);
	read_back_ok(f->s, &pb, b, CS + 2000);
	read_back_ok(f->s, &px, x, CS);
	read_back_ok(f->s, &pxx, xx, 2 * CS);
	oidset_release(&seen);
	free(x);
	free(y);
	free(z);
	free(a);
	free(b);
	free(xx);
}

static void test_repeated_chunk_in_new_file(void **state)
{
	struct fixture *f = *state;
	unsigned char *x = make_data(CS, 31), *xxx = malloc(3 * CS + 10);
	struct lepton_pointer p;
	struct store_write_stats st;
	struct oidset seen = OIDSET_INIT;

	assert_non_null(xxx);
	for (int i = 0; i < 3; i++)
		memcpy(xxx + (size_t)i * CS, x, CS);
	memcpy(xxx + 3 * CS, "0123456789", 10);
	write_ok(f->s, xxx, 3 * CS + 10, odd_pieces, sizeof(odd_pieces) / sizeof(*odd_pieces), &p);
	st = last_stats();
	assert_int_equal(st.chunks, opaque_cuts(xxx, 3 * CS + 10, NULL, 0));
	assert_int_equal(st.new_chunks, new_cuts(&seen, xxx, 3 * CS + 10));
	assert_true(st.new_chunks < st.chunks);
	read_back_ok(f->s, &p, xxx, 3 * CS + 10);
	oidset_release(&seen);
	free(x);
	free(xxx);
}

static void test_reader_missing(void **state)
{
	struct fixture *f = *state;
	struct store_reader *r = NULL;
	struct lepton_pointer p;
	char hex[OID_HEXSZ + 1];
	unsigned char *data = make_data(100, 41);

	p.oid = sha256_of("not stored", 10);
	p.size = 10;
	assert_int_equal(store_has_file(f->s, &p.oid), 0);
	assert_int_equal(store_reader_open(&r, f->s, &p), LEPTON_ENOTFOUND);
	assert_null(r);
	oid_to_hex(hex, &p.oid);
	hex[12] = '\0';
	/* the message names the oid */
	assert_non_null(strstr(lepton_error_last(), hex));

	/* a store with something in it still does not have the rest */
	write_ok(f->s, data, 100, whole, 1, &p);
	p.oid.hash[31] ^= 1;
	assert_int_equal(store_reader_open(&r, f->s, &p), LEPTON_ENOTFOUND);
	assert_null(r);
	free(data);
}

static void test_reader_wrong_size(void **state)
{
	struct fixture *f = *state;
	size_t len = CS + 777;
	unsigned char *data = make_data(len, 51);
	struct lepton_pointer p, q;
	struct buf got = BUF_INIT;
	ssize_t ret;

	write_ok(f->s, data, len, whole, 1, &p);
	/* the right oid with a size that does not match must not verify */
	q = p;
	q.size = len + 1;
	ret = read_pieces(f->s, &q, read_sizes, 4, &got);
	assert_true(ret < 0);
	q.size = len - 1;
	ret = read_pieces(f->s, &q, read_sizes, 4, &got);
	assert_true(ret < 0);
	assert_true(got.len < len);
	q.size = 0;
	ret = read_pieces(f->s, &q, read_sizes, 4, &got);
	assert_true(ret < 0);
	assert_int_equal(got.len, 0);
	buf_release(&got);
	free(data);
}

/* ---- damage --------------------------------------------------------------- */

static void test_corrupt_pack_single_chunk(void **state)
{
	struct fixture *f = *state;
	size_t len = 300000, handed_out = 99;
	unsigned char *data = make_data(len, 61);
	struct lepton_pointer p;
	struct fsck_log log;
	char pack[512];
	off_t size;

	write_ok(f->s, data, len, odd_pieces, sizeof(odd_pieces) / sizeof(*odd_pieces), &p);
	assert_int_equal(fsck(f->s, 0, &log), 0);
	assert_int_equal(fsck(f->s, 1, &log), 0);

	assert_int_equal(count_files(f->root, "packs", ".pack", pack, sizeof(pack)), 1);
	size = file_size(pack);
	assert_true(size > 16 + (off_t)len);
	/* a byte in the middle of the only frame's payload */
	flip_byte(pack, size / 2);

	reopen(f);
	read_fails_corrupt(f->s, &p, &handed_out);
	/* the only chunk is the last one: none of its bytes go out unverified */
	assert_int_equal(handed_out, 0);
	/* the message names what is damaged */
	assert_true(strlen(lepton_error_last()) > 0);

	assert_true(fsck(f->s, 0, &log) >= 1);
	assert_true(log.chunk + log.pack >= 1);
	assert_true(fsck(f->s, 1, &log) >= 1);
	free(data);
}

static void test_corrupt_pack_last_chunk(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 * CS + 12345, handed_out;
	unsigned char *data = make_data(len, 62);
	struct lepton_pointer p;
	struct fsck_log log;
	char pack[512];

	write_ok(f->s, data, len, whole, 1, &p);
	assert_int_equal(count_files(f->root, "packs", ".pack", pack, sizeof(pack)), 1);
	/* the frames follow each other in file order: this is inside the
	 * last chunk's payload, before its 8-byte trailer */
	flip_byte(pack, file_size(pack) - 5000);
	reopen(f);
	read_fails_corrupt(f->s, &p, &handed_out);
	assert_true(handed_out <= 3 * CS);
	assert_true(fsck(f->s, 0, &log) >= 1);
	free(data);
}

static void test_corrupt_pack_every_region(void **state)
{
	/* one byte flipped at a time past the 16-byte pack header: in the
	 * frame header, the payload's start and end, the trailer; every one
	 * must be caught */
	struct fixture *f = *state;
	size_t len = 5000;
	unsigned char *data = make_data(len, 63);
	struct lepton_pointer p;
	char pack[512];
	off_t size, offsets[6];
	size_t n = 0;

	write_ok(f->s, data, len, whole, 1, &p);
	assert_int_equal(count_files(f->root, "packs", ".pack", pack, sizeof(pack)), 1);
	size = file_size(pack);
	offsets[n++] = 16;         /* frame magic */
	offsets[n++] = 16 + 9;     /* inside a length field, probably */
	offsets[n++] = 16 + 40;    /* inside the chunk id, probably */
	offsets[n++] = size - len; /* near the payload start */
	offsets[n++] = size - 100; /* payload end */
	offsets[n++] = size - 1;   /* the trailer */
	for (size_t i = 0; i < n; i++) {
		struct fsck_log log;
		flip_byte(pack, offsets[i]);
		reopen(f);
		read_fails_corrupt(f->s, &p, NULL);
		assert_true(fsck(f->s, 0, &log) >= 1);
		flip_byte(pack, offsets[i]); /* undo */
		reopen(f);
		read_back_ok(f->s, &p, data, len);
		assert_int_equal(fsck(f->s, 1, &log), 0);
	}
	free(data);
}

static void truncate_to(const char *path, off_t len)
{
	chmod(path, 0644);
	assert_int_equal(truncate(path, len), 0);
}

static void expect_open_corrupt(struct lepton_store *s, const struct lepton_pointer *p)
{
	struct store_reader *r = NULL;
	int ret = store_reader_open(&r, s, p);
	if (ret != LEPTON_ECORRUPT)
		fail_msg("store_reader_open on a damaged recipe returned %d, expected %d (%s)", ret,
			 LEPTON_ECORRUPT, lepton_error_last());
	assert_null(r);
}

static void test_truncated_recipe(void **state)
{
	struct fixture *f = *state;
	size_t len = 2 * CS + 99;
	unsigned char *data = make_data(len, 71);
	struct lepton_pointer p;
	struct fsck_log log;
	char path[512];
	off_t size;

	write_ok(f->s, data, len, whole, 1, &p);
	recipe_path_of(f, &p.oid, path, sizeof(path));
	assert_true(exists(path));
	size = file_size(path);
	assert_true(size > 0);

	truncate_to(path, size - 1);
	expect_open_corrupt(f->s, &p);
	assert_true(fsck(f->s, 0, &log) >= 1);
	assert_true(log.recipe >= 1);
	assert_int_equal(log.with_oid, log.calls);
	assert_memory_equal(log.last_oid.hash, p.oid.hash, OID_RAWSZ);

	truncate_to(path, size / 2);
	expect_open_corrupt(f->s, &p);
	truncate_to(path, 4);
	expect_open_corrupt(f->s, &p);
	truncate_to(path, 0);
	expect_open_corrupt(f->s, &p);
	assert_true(fsck(f->s, 1, &log) >= 1);
	free(data);
}

static void test_damaged_recipe_byte(void **state)
{
	struct fixture *f = *state;
	size_t len = CS + 5;
	unsigned char *data = make_data(len, 72);
	struct lepton_pointer p;
	char path[512];
	off_t size;

	write_ok(f->s, data, len, whole, 1, &p);
	recipe_path_of(f, &p.oid, path, sizeof(path));
	size = file_size(path);
	for (off_t off = 0; off < size; off += 7) {
		flip_byte(path, off);
		expect_open_corrupt(f->s, &p);
		flip_byte(path, off);
	}
	read_back_ok(f->s, &p, data, len);
	free(data);
}

static void test_recipe_of_another_file(void **state)
{
	/* a recipe renamed to another file's name must not deliver that file */
	struct fixture *f = *state;
	unsigned char *a = make_data(1000, 73), *b = make_data(1000, 74);
	struct lepton_pointer pa, pb;
	char path_a[512], path_b[512];

	write_ok(f->s, a, 1000, whole, 1, &pa);
	write_ok(f->s, b, 1000, whole, 1, &pb);
	recipe_path_of(f, &pa.oid, path_a, sizeof(path_a));
	recipe_path_of(f, &pb.oid, path_b, sizeof(path_b));
	assert_int_equal(rename(path_a, path_b), 0);
	{
		struct buf got = BUF_INIT;
		ssize_t ret = read_pieces(f->s, &pb, read_sizes, 3, &got);
		assert_true(ret < 0);
		assert_true(got.len < 1000 || memcmp(got.data, a, 1000));
		buf_release(&got);
	}
	free(a);
	free(b);
}

static void test_missing_pack(void **state)
{
	struct fixture *f = *state;
	size_t len = 10000;
	unsigned char *data = make_data(len, 75);
	struct lepton_pointer p;
	struct buf got = BUF_INIT;
	struct fsck_log log;
	char pack[512];
	ssize_t ret;

	write_ok(f->s, data, len, whole, 1, &p);
	assert_int_equal(count_files(f->root, "packs", ".pack", pack, sizeof(pack)), 1);
	assert_int_equal(unlink(pack), 0);
	reopen(f);
	ret = read_pieces(f->s, &p, read_sizes, 3, &got);
	assert_true(ret < 0);
	assert_int_equal(got.len, 0);
	assert_true(fsck(f->s, 0, &log) >= 1);
	buf_release(&got);
	free(data);
}

static void test_truncated_pack(void **state)
{
	struct fixture *f = *state;
	size_t len = 2 * CS + 3;
	unsigned char *data = make_data(len, 76);
	struct lepton_pointer p;
	struct buf got = BUF_INIT;
	struct fsck_log log;
	char pack[512];
	ssize_t ret;

	write_ok(f->s, data, len, whole, 1, &p);
	assert_int_equal(count_files(f->root, "packs", ".pack", pack, sizeof(pack)), 1);
	/* the last frame loses its end */
	truncate_to(pack, file_size(pack) - 100);
	reopen(f);
	ret = read_pieces(f->s, &p, read_sizes, 4, &got);
	assert_true(ret < 0);
	assert_true(got.len <= 2 * CS);
	assert_true(fsck(f->s, 0, &log) >= 1);
	buf_release(&got);
	free(data);
}

static void test_damaged_index(void **state)
{
	struct fixture *f = *state;
	size_t len = CS + 3;
	unsigned char *data = make_data(len, 77);
	struct lepton_pointer p;
	struct buf got = BUF_INIT;
	struct fsck_log log;
	char idx[512];
	ssize_t ret;

	write_ok(f->s, data, len, whole, 1, &p);
	assert_int_equal(count_files(f->root, "packs", ".idx", idx, sizeof(idx)), 1);
	/* an offset or length inside an entry, past header and fan-out */
	flip_byte(idx, file_size(idx) - 8 - 10);
	store_free(f->s);
	f->s = NULL;
	/* the store still opens: one damaged index must not lock a user out */
	if (store_open(&f->s, f->root, 0))
		fail_msg("opening a store with a damaged index: %s", lepton_error_last());
	ret = read_pieces(f->s, &p, read_sizes, 4, &got);
	assert_true(ret < 0);
	assert_true(got.len < len);
	assert_true(fsck(f->s, 0, &log) >= 1);
	assert_true(log.index + log.pack + log.chunk >= 1);
	buf_release(&got);
	free(data);
}

static void test_reader_free_early(void **state)
{
	struct fixture *f = *state;
	size_t len = 4 * CS + 1;
	unsigned char *data = make_data(len, 78);
	struct lepton_pointer p;
	struct store_reader *r = NULL;
	unsigned char buf[100];

	write_ok(f->s, data, len, whole, 1, &p);
	/* freed before any read, after one read, and in the middle */
	assert_int_equal(store_reader_open(&r, f->s, &p), 0);
	store_reader_free(r);
	assert_int_equal(store_reader_open(&r, f->s, &p), 0);
	assert_int_equal(store_reader_read(r, buf, sizeof(buf)), sizeof(buf));
	assert_memory_equal(buf, data, sizeof(buf));
	store_reader_free(r);
	assert_int_equal(store_reader_open(&r, f->s, &p), 0);
	{
		unsigned char *big = malloc(CS);
		size_t total = 0;
		assert_non_null(big);
		while (total < 2 * CS + 5) {
			ssize_t n = store_reader_read(r, big, CS);
			assert_true(n > 0);
			assert_memory_equal(big, data + total, (size_t)n);
			total += (size_t)n;
		}
		free(big);
	}
	store_reader_free(r);
	store_reader_free(NULL);
	/* and a reader after those works from the start */
	read_back_ok(f->s, &p, data, len);
	free(data);
}

/* ---- abort ---------------------------------------------------------------- */

static void test_abort(void **state)
{
	struct fixture *f = *state;
	size_t len = 2 * CS + 5;
	unsigned char *data = make_data(len, 81), *kept = make_data(5000, 82);
	struct lepton_oid first = sha256_of(data, CS), second = sha256_of(data + CS, CS);
	struct store_writer *w = NULL;
	struct lepton_pointer pk;
	size_t idx, packs;

	/* a store that already holds something */
	write_ok(f->s, kept, 5000, whole, 1, &pk);
	idx = count_files(f->root, "packs", ".idx", NULL, 0);
	packs = count_files(f->root, "packs", ".pack", NULL, 0);
	assert_int_equal(count_recipes(f->root), 1);

	assert_int_equal(store_writer_new(&w, f->s), 0);
	assert_int_equal(store_writer_write(w, data, CS), 0);
	assert_int_equal(store_writer_write(w, data + CS, CS), 0);
	assert_int_equal(store_writer_write(w, data + 2 * CS, 5), 0);
	/* give the writer's thread time to pack the full chunks */
	usleep(300000);
	store_writer_abort(w);

	assert_int_equal(count_files(f->root, "packs", ".idx", NULL, 0), idx);
	assert_int_equal(count_files(f->root, "packs", ".pack", NULL, 0), packs);
	assert_int_equal(count_recipes(f->root), 1);
	assert_int_equal(store_has_chunk(f->s, &first), 0);
	assert_int_equal(store_has_chunk(f->s, &second), 0);
	{
		struct lepton_oid whole_oid = sha256_of(data, len);
		assert_int_equal(store_has_file(f->s, &whole_oid), 0);
	}
	reopen(f);
	assert_int_equal(store_has_chunk(f->s, &first), 0);
	assert_int_equal(store_has_chunk(f->s, &second), 0);
	read_back_ok(f->s, &pk, kept, 5000);

	/* abort before any byte, and after an empty write */
	assert_int_equal(store_writer_new(&w, f->s), 0);
	store_writer_abort(w);
	assert_int_equal(store_writer_new(&w, f->s), 0);
	assert_int_equal(store_writer_write(w, "", 0), 0);
	store_writer_abort(w);
	assert_int_equal(count_files(f->root, "packs", ".idx", NULL, 0), idx);
	assert_int_equal(count_recipes(f->root), 1);
	/* NULL is nothing to abort */
	store_writer_abort(NULL);

	/* the same content written properly afterwards is complete */
	{
		struct lepton_pointer p;
		write_ok(f->s, data, len, whole, 1, &p);
		read_back_ok(f->s, &p, data, len);
	}
	free(data);
	free(kept);
}

static void test_abort_cleans_tmp(void **state)
{
	struct fixture *f = *state;
	size_t len = CS + 5;
	unsigned char *data = make_data(len, 83);
	struct store_writer *w = NULL;
	struct lepton_pointer p;

	assert_int_equal(count_files(f->root, "tmp", "", NULL, 0), 0);
	write_ok(f->s, data, 100, whole, 1, &p);
	/* a finished writer leaves nothing behind in tmp/ */
	assert_int_equal(count_files(f->root, "tmp", "", NULL, 0), 0);
	assert_int_equal(store_writer_new(&w, f->s), 0);
	assert_int_equal(store_writer_write(w, data, len), 0);
	usleep(200000);
	store_writer_abort(w);
	/* neither does an aborted one */
	assert_int_equal(count_files(f->root, "tmp", "", NULL, 0), 0);
	free(data);
}

/* ---- listing and paths ------------------------------------------------------ */

struct oid_list {
	struct lepton_oid oids[16];
	int nr;
};

static int collect(void *data, const struct lepton_oid *oid)
{
	struct oid_list *l = data;
	if (l->nr >= 16)
		return -1;
	l->oids[l->nr++] = *oid;
	return 0;
}

static int listed(const struct oid_list *l, const struct lepton_oid *oid)
{
	int n = 0;
	for (int i = 0; i < l->nr; i++)
		if (!oid_cmp(&l->oids[i], oid))
			n++;
	return n;
}

static void test_for_each_file(void **state)
{
	struct fixture *f = *state;
	struct oid_list list = { .nr = 0 };
	struct lepton_pointer p[4];
	static const size_t sizes[] = { 0, 1, 5000, CS + 1 };

	assert_int_equal(store_for_each_file(f->s, collect, &list), 0);
	assert_int_equal(list.nr, 0);

	for (int i = 0; i < 4; i++) {
		unsigned char *data = make_data(sizes[i], 90 + (uint64_t)i);
		write_ok(f->s, data, sizes[i], whole, 1, &p[i]);
		free(data);
	}
	/* written twice, listed once */
	{
		unsigned char *data = make_data(5000, 92);
		struct lepton_pointer again;
		write_ok(f->s, data, 5000, odd_pieces, 3, &again);
		free(data);
	}
	assert_int_equal(store_for_each_file(f->s, collect, &list), 0);
	assert_int_equal(list.nr, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(listed(&list, &p[i].oid), 1);

	/* an aborted write is not listed */
	{
		struct store_writer *w = NULL;
		assert_int_equal(store_writer_new(&w, f->s), 0);
		assert_int_equal(store_writer_write(w, "abc", 3), 0);
		store_writer_abort(w);
	}
	list.nr = 0;
	reopen(f);
	assert_int_equal(store_for_each_file(f->s, collect, &list), 0);
	assert_int_equal(list.nr, 4);

	/* things in recipes/ that are not recipes are not files */
	{
		static const char *const junk[] = {
			"recipes/README",
			"recipes/zz/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
			"recipes/ab/short",
			"recipes/ab/0123456789012345678901234567890123456789012345678901234567890",
		};
		char path[512];
		path_in(path, sizeof(path), f->root, "recipes/zz");
		assert_int_equal(mkdir(path, 0777), 0);
		path_in(path, sizeof(path), f->root, "recipes/ab");
		mkdir(path, 0777);
		for (size_t i = 0; i < sizeof(junk) / sizeof(*junk); i++) {
			int fd;
			path_in(path, sizeof(path), f->root, junk[i]);
			fd = open(path, O_WRONLY | O_CREAT, 0644);
			assert_true(fd >= 0);
			close(fd);
		}
		list.nr = 0;
		assert_int_equal(store_for_each_file(f->s, collect, &list), 0);
		assert_int_equal(list.nr, 4);
		for (int i = 0; i < 4; i++)
			assert_int_equal(listed(&list, &p[i].oid), 1);
	}
}

static void test_recipe_path(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT;
	struct lepton_oid oid;
	char hex[OID_HEXSZ + 1], want[128], path[512];
	unsigned char *data = make_data(1234, 99);
	struct lepton_pointer p;

	assert_int_equal(oid_from_hex(&oid, "ab0102030405060708090a0b0c0d0e0f"
					    "101112131415161718191a1b1c1d1eff"),
			 0);
	assert_int_equal(buf_addstr(&b, "x/"), 0);
	store_recipe_path(&b, &oid);
	assert_string_equal(b.data, "x/recipes/ab/0102030405060708090a0b0c0d0e0f"
				    "101112131415161718191a1b1c1d1eff");
	buf_release(&b);

	write_ok(f->s, data, 1234, whole, 1, &p);
	oid_to_hex(hex, &p.oid);
	snprintf(want, sizeof(want), "recipes/%.2s/%s", hex, hex + 2);
	store_recipe_path(&b, &p.oid);
	assert_string_equal(b.data, want);
	path_in(path, sizeof(path), f->root, b.data);
	assert_true(exists(path));
	buf_release(&b);
	free(data);
}

/* ---- several handles -------------------------------------------------------- */

static void test_reload(void **state)
{
	struct fixture *f = *state;
	struct lepton_store *other = NULL;
	size_t len = CS + 4321;
	unsigned char *data = make_data(len, 101);
	struct lepton_oid first;
	struct lepton_pointer p;

	opaque_cuts(data, len, &first, 1);
	assert_int_equal(store_open(&other, f->root, 0), 0);
	write_ok(f->s, data, len, whole, 1, &p);
	assert_int_equal(store_reload(other), 0);
	assert_int_equal(store_has_chunk(other, &first), 1);
	assert_int_equal(store_has_file(other, &p.oid), 1);
	read_back_ok(other, &p, data, len);
	/* reloading with nothing new is harmless */
	assert_int_equal(store_reload(other), 0);
	assert_int_equal(store_reload(f->s), 0);
	read_back_ok(f->s, &p, data, len);
	store_free(other);
	free(data);
}

static void test_reload_while_opening_reader(void **state)
{
	/*
	 * A reader opened on a handle that has not seen the newest pack: the
	 * first chunk is in a pack the handle knows, the second only in a pack
	 * another handle just wrote.  Opening must find both, and the reader
	 * must not keep pointers into a pack list that grew under it (the
	 * handle here holds 16 packs, a usual growth step).
	 */
	struct fixture *f = *state;
	struct lepton_store *other = NULL;
	unsigned char *x = make_data(CS, 121), *y = make_data(5000, 122);
	unsigned char *xy = malloc(CS + 5000);
	struct lepton_pointer p, px;

	assert_non_null(xy);
	write_ok(f->s, x, CS, whole, 1, &px);
	for (int i = 0; i < 15; i++) {
		unsigned char *small = make_data(100, 200 + (uint64_t)i);
		struct lepton_pointer ps;
		write_ok(f->s, small, 100, whole, 1, &ps);
		free(small);
	}
	assert_int_equal(count_files(f->root, "packs", ".idx", NULL, 0), 16);

	memcpy(xy, x, CS);
	memcpy(xy + CS, y, 5000);
	assert_int_equal(store_open(&other, f->root, 0), 0);
	write_ok(other, xy, CS + 5000, whole, 1, &p);
	assert_int_equal(last_stats().new_chunks, 1);
	store_free(other);
	assert_int_equal(count_files(f->root, "packs", ".idx", NULL, 0), 17);

	/* no reload by the caller: opening the reader has to find the pack */
	read_back_ok(f->s, &p, xy, CS + 5000);
	read_back_ok(f->s, &px, x, CS);
	free(x);
	free(y);
	free(xy);
}

struct racer {
	const char *root;
	const unsigned char *data;
	size_t len;
	struct lepton_pointer p;
	int err;
};

static void *race_write(void *arg)
{
	struct racer *r = arg;
	struct lepton_store *s = NULL;
	r->err = store_open(&s, r->root, 0);
	if (!r->err) {
		struct store_writer *w = NULL;
		r->err = store_writer_new(&w, s);
		if (!r->err) {
			r->err = store_writer_write(w, r->data, r->len);
			if (r->err)
				store_writer_abort(w);
			else
				r->err = store_writer_finish(w, &r->p, NULL);
		}
		store_free(s);
	}
	return NULL;
}

static void test_two_writers_same_content(void **state)
{
	/* two processes cleaning the same file at once (git runs filters in
	 * parallel): both succeed and the store stays whole */
	struct fixture *f = *state;
	size_t len = 2 * CS + 17;
	unsigned char *data = make_data(len, 111);
	struct racer r[2];
	pthread_t t[2];
	struct fsck_log log;

	for (int i = 0; i < 2; i++) {
		r[i] = (struct racer){ .root = f->root, .data = data, .len = len };
		assert_int_equal(pthread_create(&t[i], NULL, race_write, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].err, 0);
	}
	assert_memory_equal(r[0].p.oid.hash, r[1].p.oid.hash, OID_RAWSZ);
	reopen(f);
	read_back_ok(f->s, &r[0].p, data, len);
	assert_int_equal(fsck(f->s, 1, &log), 0);
	free(data);
}

/* ---- delta chains, written frame by frame ---------------------------------- */

/*
 * The store writer does not make deltas yet: these tests put frames from
 * codec_encode() in a pack themselves and a one-chunk recipe for each
 * version, then read them through the store's reader.
 */

#define DCS ((size_t)(1u << 20) + 6) /* not a whole number of bf16 elements... almost */

/* bf16-looking bytes: a high byte of few values, a noisy low byte */
static unsigned char *bf16_data(size_t len, uint64_t seed)
{
	unsigned char *p = make_data(len, seed);
	for (size_t i = 1; i < len; i += 2)
		p[i] = (unsigned char)(0x3c + (p[i] % 8 == 0 ? p[i] % 3 : 0));
	return p;
}

/* A copy of prev with about one element in 64 nudged. */
static unsigned char *nudge(const unsigned char *prev, size_t len, uint64_t seed)
{
	unsigned char *p = malloc(len);
	unsigned char *noise = make_data(len / 2, seed + 1000);
	assert_non_null(p);
	memcpy(p, prev, len);
	for (size_t e = 0; e < len / 2; e++)
		if (noise[e] % 64 == 0)
			p[2 * e] ^= 1;
	free(noise);
	return p;
}

struct frames {
	struct pack_writer w;
	int open;
};

static void frames_add(struct fixture *f, struct frames *fr, const unsigned char *data, size_t len,
		       const struct codec_base *base, enum codec_kind want)
{
	struct buf frame = BUF_INIT;
	struct codec_hint hint = { .level = 3, .width = 2, .base = base };
	struct lepton_oid id = sha256_of(data, len);
	enum codec_kind kind;
	char tmp[512];

	if (!fr->open) {
		path_in(tmp, sizeof(tmp), f->root, "tmp");
		assert_int_equal(pack_writer_open(&fr->w, tmp), 0);
		fr->open = 1;
	}
	assert_int_equal(codec_encode(&frame, &kind, &id, data, len, &hint), 0);
	assert_int_equal(kind, want);
	assert_int_equal(pack_writer_add(&fr->w, &id, frame.data, frame.len), 0);
	buf_release(&frame);
}

static void frames_commit(struct fixture *f, struct frames *fr)
{
	struct buf name = BUF_INIT;
	char tmp[512], packs[512];
	path_in(tmp, sizeof(tmp), f->root, "tmp");
	path_in(packs, sizeof(packs), f->root, "packs");
	assert_int_equal(pack_writer_commit(&fr->w, tmp, packs, 0, &name), 0);
	fr->open = 0;
	buf_release(&name);
	assert_int_equal(store_reload(f->s), 0);
}

/* A recipe of chunks a (and b when not NULL), each DCS bytes. */
static struct lepton_pointer chunks_file(struct fixture *f, const unsigned char *a,
					 const unsigned char *b)
{
	struct lepton_pointer p = { .size = b ? 2 * DCS : DCS };
	struct recipe r = RECIPE_INIT;
	struct buf enc = BUF_INIT, content = BUF_INIT;
	char path[512], tmp[512];
	struct lepton_oid id = sha256_of(a, DCS);

	buf_add(&content, a, DCS);
	recipe_add(&r, &id, DCS);
	if (b) {
		id = sha256_of(b, DCS);
		buf_add(&content, b, DCS);
		recipe_add(&r, &id, DCS);
	}
	p.oid = sha256_of(content.data, content.len);
	r.file = p.oid;
	r.size = p.size;
	recipe_encode(&enc, &r);
	recipe_path_of(f, &p.oid, path, sizeof(path));
	*strrchr(path, '/') = '\0';
	mkdir(path, 0777);
	recipe_path_of(f, &p.oid, path, sizeof(path));
	path_in(tmp, sizeof(tmp), f->root, "tmp");
	assert_int_equal(write_file_atomic(tmp, path, enc.data, enc.len, 0), 0);
	buf_release(&enc);
	buf_release(&content);
	recipe_release(&r);
	return p;
}

/* A recipe of one chunk: the file is the chunk. */
static struct lepton_pointer one_chunk_file(struct fixture *f, const unsigned char *data,
					    size_t len)
{
	assert_int_equal(len, DCS);
	return chunks_file(f, data, NULL);
}

/* v[0] full, v[k] a delta against v[k - 1] at depth k, for k <= n */
static void make_chain(struct fixture *f, unsigned char **v, size_t n)
{
	struct frames fr = { .open = 0 };
	v[0] = bf16_data(DCS, 77);
	frames_add(f, &fr, v[0], DCS, NULL, CODEC_GROUPED);
	for (size_t k = 1; k <= n; k++) {
		struct codec_base base = { .id = sha256_of(v[k - 1], DCS),
					   .data = v[k - 1],
					   .len = DCS,
					   .depth = (unsigned)k - 1 };
		v[k] = nudge(v[k - 1], DCS, k);
		frames_add(f, &fr, v[k], DCS, &base, CODEC_DELTA);
	}
	frames_commit(f, &fr);
}

static void test_delta_chain_read(void **state)
{
	struct fixture *f = *state;
	unsigned char *v[CODEC_MAX_CHAIN + 1];
	struct buf got = BUF_INIT;
	struct fsck_log log;

	make_chain(f, v, CODEC_MAX_CHAIN);
	for (size_t k = 0; k <= CODEC_MAX_CHAIN; k++) {
		struct lepton_pointer p = one_chunk_file(f, v[k], DCS);
		unsigned depth = 99;
		read_back_ok(f->s, &p, v[k], DCS);
		if (store_read_chunk(f->s, &p.oid, &got, &depth))
			fail_msg("store_read_chunk: %s", lepton_error_last());
		assert_int_equal(depth, k);
		assert_int_equal(got.len, DCS);
		assert_memory_equal(got.data, v[k], DCS);
	}
	assert_int_equal(fsck(f->s, 1, &log), 0);
	reopen(f);
	assert_int_equal(fsck(f->s, 0, &log), 0);
	for (size_t k = 0; k <= CODEC_MAX_CHAIN; k++)
		free(v[k]);
	buf_release(&got);
}

/* Put a frame encoded for data against a base whose header claims depth
 * claimed, with its depth byte then set to depth. */
static void add_forged_delta(struct fixture *f, const unsigned char *data,
			     const unsigned char *base_data, unsigned claimed, unsigned depth)
{
	struct frames fr = { .open = 0 };
	struct codec_base base = {
		.id = sha256_of(base_data, DCS), .data = base_data, .len = DCS, .depth = claimed
	};
	struct codec_hint hint = { .level = 3, .width = 2, .base = &base };
	struct lepton_oid id = sha256_of(data, DCS);
	struct buf frame = BUF_INIT;
	enum codec_kind kind;
	char tmp[512];

	assert_int_equal(codec_encode(&frame, &kind, &id, data, DCS, &hint), 0);
	assert_int_equal(kind, CODEC_DELTA);
	frame.data[FRAME_HEADER_SIZE + OID_RAWSZ] = (char)depth;
	put_le64((unsigned char *)frame.data + frame.len - FRAME_TRAILER_SIZE,
		 xxh3_64(frame.data, frame.len - FRAME_TRAILER_SIZE));
	path_in(tmp, sizeof(tmp), f->root, "tmp");
	assert_int_equal(pack_writer_open(&fr.w, tmp), 0);
	fr.open = 1;
	assert_int_equal(pack_writer_add(&fr.w, &id, frame.data, frame.len), 0);
	frames_commit(f, &fr);
	buf_release(&frame);
}

static void expect_read_chunk_error(struct fixture *f, const unsigned char *data, int want,
				    const char *words)
{
	struct buf got = BUF_INIT;
	struct lepton_oid id = sha256_of(data, DCS);
	int err = store_read_chunk(f->s, &id, &got, NULL);
	if (err != want)
		fail_msg("store_read_chunk gave %d, expected %d: %s", err, want,
			 lepton_error_last());
	if (!strstr(lepton_error_last(), words))
		fail_msg("message '%s' lacks '%s'", lepton_error_last(), words);
	assert_int_equal(got.len, 0);
	buf_release(&got);
}

static void test_delta_chain_too_deep(void **state)
{
	struct fixture *f = *state;
	unsigned char *v[CODEC_MAX_CHAIN + 1], *deep, *lying;
	struct lepton_pointer p;
	struct fsck_log log;

	make_chain(f, v, CODEC_MAX_CHAIN);
	/* depth N + 1 on top of the chain: refused */
	deep = nudge(v[CODEC_MAX_CHAIN], DCS, 500);
	add_forged_delta(f, deep, v[CODEC_MAX_CHAIN], CODEC_MAX_CHAIN - 1, CODEC_MAX_CHAIN + 1);
	p = one_chunk_file(f, deep, DCS);
	read_fails_corrupt(f->s, &p, NULL);
	expect_read_chunk_error(f, deep, LEPTON_ECORRUPT, "more than");
	/* a depth that does not follow its base's (a cycle would not) */
	lying = nudge(v[CODEC_MAX_CHAIN], DCS, 501);
	add_forged_delta(f, lying, v[CODEC_MAX_CHAIN], 2, 3);
	p = one_chunk_file(f, lying, DCS);
	read_fails_corrupt(f->s, &p, NULL);
	expect_read_chunk_error(f, lying, LEPTON_ECORRUPT, "broken");
	assert_int_equal(fsck(f->s, 0, &log), 4); /* two chunks, two recipes */
	for (size_t k = 0; k <= CODEC_MAX_CHAIN; k++)
		free(v[k]);
	free(deep);
	free(lying);
}

static void test_delta_base_missing(void **state)
{
	struct fixture *f = *state;
	unsigned char *old = bf16_data(DCS, 90), *cur = nudge(old, DCS, 91);
	struct codec_base base = { .id = sha256_of(old, DCS), .data = old, .len = DCS };
	struct frames fr = { .open = 0 };
	struct lepton_pointer p;
	struct buf got = BUF_INIT;
	struct fsck_log log;
	ssize_t ret;

	frames_add(f, &fr, cur, DCS, &base, CODEC_DELTA);
	frames_commit(f, &fr);
	p = one_chunk_file(f, cur, DCS);
	ret = read_pieces(f->s, &p, read_sizes, sizeof(read_sizes) / sizeof(*read_sizes), &got);
	assert_int_equal(ret, LEPTON_ENOTFOUND);
	assert_int_equal(got.len, 0);
	assert_non_null(strstr(lepton_error_last(), "base chunk"));
	assert_non_null(strstr(lepton_error_last(), "missing"));
	expect_read_chunk_error(f, cur, LEPTON_ENOTFOUND, "base chunk");
	assert_int_equal(fsck(f->s, 0, &log), 2); /* the chunk, and the recipe using it */
	assert_int_equal(log.chunk, 1);
	free(old);
	free(cur);
	buf_release(&got);
}

static void test_delta_wrong_base(void **state)
{
	struct fixture *f = *state;
	unsigned char *old = bf16_data(DCS, 95), *other = nudge(old, DCS, 96);
	unsigned char *cur = nudge(old, DCS, 97);
	/* encoded against other, but naming old: decodes to wrong bytes */
	struct codec_base base = { .id = sha256_of(old, DCS), .data = other, .len = DCS };
	struct frames fr = { .open = 0 };
	struct lepton_pointer p;
	struct fsck_log log;
	size_t handed_out;

	frames_add(f, &fr, old, DCS, NULL, CODEC_GROUPED);
	frames_add(f, &fr, cur, DCS, &base, CODEC_DELTA);
	frames_commit(f, &fr);
	p = one_chunk_file(f, cur, DCS);
	read_fails_corrupt(f->s, &p, NULL);
	assert_non_null(strstr(lepton_error_last(), "SHA-256"));
	expect_read_chunk_error(f, cur, LEPTON_ECORRUPT, "SHA-256");
	assert_int_equal(fsck(f->s, 1, &log), 2);
	/* first of two chunks: the reader names the chunk and hands out none
	 * of its bytes (the file's SHA-256 alone would come after them) */
	p = chunks_file(f, cur, old);
	read_fails_corrupt(f->s, &p, &handed_out);
	assert_int_equal(handed_out, 0);
	assert_non_null(strstr(lepton_error_last(), "chunk '"));
	free(old);
	free(other);
	free(cur);
}

/* A flipped byte in a delta's frame or in its base's frame. */
static void test_delta_corrupt(void **state)
{
	struct fixture *f = *state;
	unsigned char *v[3];
	struct lepton_pointer p;
	char packs[512], path[1024];
	struct dirent *e;
	DIR *d;

	make_chain(f, v, 2);
	p = one_chunk_file(f, v[2], DCS);
	read_back_ok(f->s, &p, v[2], DCS);
	path_in(packs, sizeof(packs), f->root, "packs");
	d = opendir(packs);
	assert_non_null(d);
	path[0] = '\0';
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".pack"))
			snprintf(path, sizeof(path), "%s/%s", packs, e->d_name);
	closedir(d);
	assert_true(path[0]);
	/* the frames are in id order; flip one byte in the middle of each
	 * frame in turn: whichever of the three frames it hits, v[2] is damaged */
	for (off_t at = 100; at < file_size(path); at += file_size(path) / 7) {
		flip_byte(path, at);
		reopen(f);
		read_fails_corrupt(f->s, &p, NULL);
		flip_byte(path, at);
	}
	reopen(f);
	read_back_ok(f->s, &p, v[2], DCS);
	for (size_t k = 0; k < 3; k++)
		free(v[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_not_a_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_other_marker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_on_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read_sizes, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_write_twice, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_after_lost_recipe, setup_store,
						teardown),
		cmocka_unit_test_setup_teardown(test_shared_first_chunk, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_chunk_in_new_file, setup_store,
						teardown),
		cmocka_unit_test_setup_teardown(test_reader_missing, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_reader_wrong_size, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_pack_single_chunk, setup_store,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_pack_last_chunk, setup_store,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_pack_every_region, setup_store,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated_recipe, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_recipe_byte, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_recipe_of_another_file, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_missing_pack, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_pack, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_index, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_reader_free_early, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_abort_cleans_tmp, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_for_each_file, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_recipe_path, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_two_writers_same_content, setup_store,
						teardown),
		cmocka_unit_test_setup_teardown(test_delta_chain_read, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_delta_chain_too_deep, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_delta_base_missing, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_delta_wrong_base, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_delta_corrupt, setup_store, teardown),
		/* last: when it fails it crashes, and takes the rest with it */
		cmocka_unit_test_setup_teardown(test_reload_while_opening_reader, setup_store,
						teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
