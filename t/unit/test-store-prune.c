/*
 * Unit tests of the local repack (git-lepton/store-prune.h): what a kept
 * set of files needs, dropping the rest, dry runs that change nothing,
 * consolidation, and damaged frames left behind.
 *
 * Each test gets a fresh store under a directory from mkdtemp().
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "oidset.h"
#include "pack.h"
#include "pointer.h"
#include "store-prune.h"
#include "store.h"
#include "unit-lib.h"

#define FILE_SIZE (300u << 10) /* one chunk each */

struct fixture {
	char dir[64];
	struct lepton_store *s;
	struct lepton_pointer p[3];
};

static void put_file(struct lepton_store *s, struct lepton_pointer *out, uint64_t seed)
{
	unsigned char *data = make_data(FILE_SIZE, seed);
	struct store_writer *w;
	assert_int_equal(store_writer_new(&w, s), 0);
	assert_int_equal(store_writer_write(w, data, FILE_SIZE), 0);
	assert_int_equal(store_writer_finish(w, out, NULL), 0);
	free(data);
}

/* The file reads back whole and verified. */
static int reads_back(struct lepton_store *s, const struct lepton_pointer *p)
{
	struct store_reader *r;
	char buf[65536];
	ssize_t n;
	uint64_t total = 0;

	if (store_reader_open(&r, s, p))
		return 0;
	while ((n = store_reader_read(r, buf, sizeof(buf))) > 0)
		total += (uint64_t)n;
	store_reader_free(r);
	return n == 0 && total == p->size;
}

/* Three files, each written by its own writer: three packs. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char root[128];
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lepton-test-prune-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(root, sizeof(root), "%s/store", f->dir);
	if (store_open(&f->s, root, 1))
		return -1;
	for (int i = 0; i < 3; i++)
		put_file(f->s, &f->p[i], (uint64_t)i + 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->s);
	remove_tree(f->dir);
	free(f);
	return 0;
}

static void no_problem(void *data, const char *kind, const struct lepton_oid *oid, const char *what)
{
	(void)data;
	(void)oid;
	fail_msg("fsck: %s: %s", kind, what);
}

static void count_problem(void *data, const char *kind, const struct lepton_oid *oid,
			  const char *what)
{
	(void)kind;
	(void)oid;
	(void)what;
	(*(int *)data)++;
}

static void test_prune_drops_what_is_not_kept(void **state)
{
	struct fixture *f = *state;
	struct lepton_oid kept[2] = { f->p[0].oid, f->p[2].oid };
	struct oidset keep = OIDSET_INIT;
	struct store_repack_opts o = { 0 };
	struct store_repack_stats st;

	assert_int_equal(store_pack_count(f->s), 3);
	assert_int_equal(store_chunks_needed(&keep, f->s, kept, 2), 0);
	assert_int_equal(keep.nr, 2);
	o.keep = &keep;
	o.drop = &f->p[1].oid;
	o.nr_drop = 1;
	assert_int_equal(store_repack(f->s, &o, &st), 0);
	assert_int_equal(st.packs_before, 3);
	assert_int_equal(st.packs_after, 1);
	assert_int_equal(st.chunks_kept, 2);
	assert_int_equal(st.chunks_dropped, 1);
	assert_true(st.bytes_after < st.bytes_before);
	assert_int_equal(store_pack_count(f->s), 1);
	assert_false(store_has_file(f->s, &f->p[1].oid));
	assert_true(reads_back(f->s, &f->p[0]));
	assert_true(reads_back(f->s, &f->p[2]));
	assert_int_equal(store_fsck(f->s, 1, no_problem, NULL), 0);
	oidset_release(&keep);
}

static void test_dry_run_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct oidset keep = OIDSET_INIT;
	struct store_repack_opts o = { 0 };
	struct store_repack_stats st;

	assert_int_equal(store_chunks_needed(&keep, f->s, &f->p[0].oid, 1), 0);
	o.keep = &keep;
	o.drop = &f->p[1].oid;
	o.nr_drop = 1;
	o.dry_run = 1;
	assert_int_equal(store_repack(f->s, &o, &st), 0);
	assert_int_equal(st.chunks_dropped, 2);
	assert_int_equal(store_pack_count(f->s), 3);
	assert_true(store_has_file(f->s, &f->p[1].oid));
	assert_true(reads_back(f->s, &f->p[1]));
	oidset_release(&keep);
}

static void test_gc_consolidates_then_keeps(void **state)
{
	struct fixture *f = *state;
	struct store_repack_opts o = { 0 };
	struct store_repack_stats st;
	char *name;

	assert_int_equal(store_repack(f->s, &o, &st), 0);
	assert_int_equal(st.packs_after, 1);
	assert_int_equal(st.chunks_kept, 3);
	name = strdup(((struct pack *)store_pack_at(f->s, 0))->name);
	/* a single pack that would only be copied stays as it is */
	assert_int_equal(store_repack(f->s, &o, &st), 0);
	assert_int_equal(store_pack_count(f->s), 1);
	assert_string_equal(((struct pack *)store_pack_at(f->s, 0))->name, name);
	for (int i = 0; i < 3; i++)
		assert_true(reads_back(f->s, &f->p[i]));
	free(name);
}

static void test_damaged_frame_left_out(void **state)
{
	struct fixture *f = *state;
	struct store_repack_opts o = { 0 };
	struct store_repack_stats st;
	struct pack *p;
	int fd, problems = 0;
	unsigned char byte;

	/* flip a payload byte of file 0's only chunk (whose id is the
	 * file's: one chunk) in the pack that holds it alone */
	assert_int_equal(store_chunk_pack(f->s, &f->p[0].oid, &p), 0);
	chmod(p->path, 0600);
	fd = open(p->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, 200), 1);
	byte ^= 0xff;
	assert_int_equal(pwrite(fd, &byte, 1, 200), 1);
	close(fd);
	assert_int_equal(store_repack(f->s, &o, &st), 0);
	assert_int_equal(st.chunks_damaged, 1);
	assert_int_equal(st.chunks_kept, 2);
	assert_int_equal(store_pack_count(f->s), 1);
	assert_false(reads_back(f->s, &f->p[0]));
	assert_true(reads_back(f->s, &f->p[1]));
	/* the recipe of file 0 now names a missing chunk: fsck says so */
	assert_true(store_fsck(f->s, 0, count_problem, &problems) > 0);
	lepton_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prune_drops_what_is_not_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_consolidates_then_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_frame_left_out, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
