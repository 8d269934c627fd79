/*
 * Unit tests of FastCDC (git-lepton/fastcdc.h): cuts are deterministic and
 * do not depend on how the stream is fed, sizes stay within min and max,
 * and an insertion moves only the cuts near it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "fastcdc.h"
#include "hash.h"

#define MIN (2u << 10)
#define AVG (8u << 10)
#define MAX (32u << 10)

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned char *random_bytes(size_t len, uint64_t seed)
{
	unsigned char *p = xmalloc(len);
	rng_state = seed;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)rng();
	return p;
}

/* Cut data into chunks, fed in pieces of at most `piece` bytes (0: all at
 * once, or random sizes when piece is SIZE_MAX); returns the number of chunks
 * and the end offset of each in ends. */
static size_t cut_all(size_t *ends, size_t max_ends, const unsigned char *data, size_t len,
		      size_t piece)
{
	struct fastcdc f;
	size_t at = 0, n = 0;

	assert_int_equal(fastcdc_init(&f, MIN, AVG, MAX), 0);
	rng_state = 42;
	while (at < len) {
		size_t want = len - at, took;
		int cut;
		if (piece == SIZE_MAX)
			want = want < 1 + rng() % 20000 ? want : 1 + rng() % 20000;
		else if (piece && want > piece)
			want = piece;
		took = fastcdc_next(&f, data + at, want, &cut);
		assert_true(took > 0 && took <= want);
		assert_true(cut || took == want);
		at += took;
		if (cut) {
			assert_true(n < max_ends);
			ends[n++] = at;
		}
	}
	if (!n || ends[n - 1] != len) {
		assert_true(n < max_ends);
		ends[n++] = len;
	}
	return n;
}

static void test_deterministic_and_split_independent(void **state)
{
	size_t len = 4u << 20, a[4096], b[4096], c[4096], d[4096];
	unsigned char *data = random_bytes(len, 1);
	size_t na = cut_all(a, 4096, data, len, 0);
	size_t nb = cut_all(b, 4096, data, len, 4096);
	size_t nc = cut_all(c, 4096, data, len, SIZE_MAX);
	size_t nd = cut_all(d, 4096, data, len, 1);

	assert_true(na > 100);
	assert_int_equal(na, nb);
	assert_int_equal(na, nc);
	assert_int_equal(na, nd);
	assert_memory_equal(a, b, na * sizeof(*a));
	assert_memory_equal(a, c, na * sizeof(*a));
	assert_memory_equal(a, d, na * sizeof(*a));
	free(data);
}

static void test_sizes_within_bounds(void **state)
{
	size_t len = 4u << 20, ends[4096], n, prev = 0;
	unsigned char *data = random_bytes(len, 2);

	n = cut_all(ends, 4096, data, len, 0);
	for (size_t i = 0; i < n; i++) {
		size_t size = ends[i] - prev;
		assert_true(size <= MAX);
		if (i + 1 < n)
			assert_true(size >= MIN);
		prev = ends[i];
	}
	/* normalized chunking keeps the mean near the average */
	assert_true(len / n > AVG / 2 && len / n < AVG * 2);
	free(data);

	/* no content to cut on: every chunk is max long */
	data = xcalloc(len, 1);
	n = cut_all(ends, 4096, data, len, 0);
	for (size_t i = 0; i + 1 < n; i++)
		assert_int_equal(ends[i], (i + 1) * MAX);
	free(data);
}

/* How many chunks of b (by content) are also chunks of a. */
static size_t shared_chunks(const unsigned char *a, const size_t *ea, size_t na,
			    const unsigned char *b, const size_t *eb, size_t nb)
{
	size_t same = 0;
	for (size_t j = 0, pj = 0; j < nb; pj = eb[j], j++)
		for (size_t i = 0, pi = 0; i < na; pi = ea[i], i++)
			if (ea[i] - pi == eb[j] - pj && !memcmp(a + pi, b + pj, ea[i] - pi)) {
				same++;
				break;
			}
	return same;
}

/*
 * Most chunks survive an edit.  Not all the chunks after it: normalized
 * chunking judges a cut by its distance from the chunk's start, so the cuts
 * after an edit drift until a cut strong enough for the stricter mask
 * brings both streams back in step (here 8 chunks after the deletion).  A
 * fixed-size cutter would lose every chunk after the edit.
 */
static void test_insertion_moves_few_cuts(void **state)
{
	size_t len = 2u << 20, ea[2048], eb[2048], na, nb, same;
	unsigned char *data = random_bytes(len, 3);
	unsigned char *edited = xmalloc(len + 100);

	na = cut_all(ea, 2048, data, len, 0);
	/* 100 bytes at the front */
	memset(edited, 0x5a, 100);
	memcpy(edited + 100, data, len);
	nb = cut_all(eb, 2048, edited, len + 100, 0);
	same = shared_chunks(data, ea, na, edited, eb, nb);
	assert_true(same >= na - 3); /* only the first chunk changes */
	/* 100 bytes in the middle */
	memcpy(edited, data, len / 2);
	memset(edited + len / 2, 0xa5, 100);
	memcpy(edited + len / 2 + 100, data + len / 2, len - len / 2);
	nb = cut_all(eb, 2048, edited, len + 100, 0);
	same = shared_chunks(data, ea, na, edited, eb, nb);
	assert_true(same >= na - na / 10);
	/* and a deletion */
	memcpy(edited, data, len / 3);
	memcpy(edited + len / 3, data + len / 3 + 1000, len - len / 3 - 1000);
	nb = cut_all(eb, 2048, edited, len - 1000, 0);
	same = shared_chunks(data, ea, na, edited, eb, nb);
	assert_true(same >= na - na / 10);
	free(edited);
	free(data);
}

static void test_bad_sizes(void **state)
{
	struct fastcdc f;
	assert_int_equal(fastcdc_init(&f, 0, 0, 0), 0);
	assert_int_equal(f.min, FASTCDC_MIN_DEFAULT);
	assert_int_equal(f.avg, FASTCDC_AVG_DEFAULT);
	assert_int_equal(f.max, FASTCDC_MAX_DEFAULT);
	assert_int_equal(fastcdc_init(&f, 8192, 4096, 65536), LEPTON_EINVALID);
	assert_non_null(strstr(lepton_error_last(), "min < avg < max"));
	assert_int_equal(fastcdc_init(&f, 16, 4096, 65536), LEPTON_EINVALID);
	assert_int_equal(fastcdc_init(&f, 1024, 4096, 4096), LEPTON_EINVALID);
}

static void test_gear_table_fixed(void **state)
{
	const uint64_t *g = fastcdc_gear();
	/* the cuts are part of what the store deduplicates against: the table
	 * must never change.  First values of splitmix64 from the seed. */
	uint64_t x = 0x6c6570746f6e4344ull + 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	assert_true(g[0] == (x ^ (x >> 31)));
	for (int i = 1; i < 256; i++)
		assert_true(g[i] != g[i - 1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic_and_split_independent),
		cmocka_unit_test(test_sizes_within_bounds),
		cmocka_unit_test(test_insertion_moves_few_cuts),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_gear_table_fixed),
	};
	return cmocka_run_group_tests_name("fastcdc", tests, NULL, NULL);
}
