/*
 * Unit tests of the store writer's cutter (git-lepton/chunker.h): cuts
 * follow tensor boundaries, a new tensor leaves the other tensors' chunks
 * byte for byte the same, small tensors share chunks by groups that an
 * insertion disturbs only locally, no chunk is longer than CHUNK_MAX, and files that
 * are not models go through FastCDC.
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
#include "chunker.h"
#include "error.h"
#include "hash.h"
#include "model.h"

#define MIB (1u << 20)

struct spec {
	const char *name;
	uint64_t elems; /* F32 elements */
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A safetensors file; each tensor's bytes depend only on its name. */
static void make_model(struct buf *out, struct model_info *m, const struct spec *t, size_t n)
{
	struct buf json = BUF_INIT;
	unsigned char len[8];
	uint64_t at = 0;

	buf_addch(&json, '{');
	for (size_t i = 0; i < n; i++) {
		buf_addf(
		    &json,
		    "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%llu],\"data_offsets\":[%llu,%llu]}",
		    i ? "," : "", t[i].name, (unsigned long long)t[i].elems, (unsigned long long)at,
		    (unsigned long long)(at + 4 * t[i].elems));
		at += 4 * t[i].elems;
	}
	buf_addch(&json, '}');
	buf_reset(out);
	put_le64(len, json.len);
	buf_add(out, len, 8);
	buf_add(out, json.data, json.len);
	for (size_t i = 0; i < n; i++) {
		rng_state = xxh3_64(t[i].name, strlen(t[i].name));
		for (uint64_t k = 0; k < 4 * t[i].elems; k++)
			buf_addch(out, (int)(rng() & 0xff));
	}
	assert_int_equal(model_parse(m, out->data, out->len, out->len), 0);
	assert_int_equal(m->format, MODEL_SAFETENSORS);
	buf_release(&json);
}

struct spans {
	struct chunk_span *v;
	size_t n, alloc;
};

/* Cut data[0..len) with the chunker, fed in pieces of `piece` bytes
 * (random sizes with SIZE_MAX); check the spans tile the file. */
static void cut(struct spans *out, const struct model_info *m, const unsigned char *data,
		size_t len, size_t piece)
{
	struct chunker c;
	size_t at = 0;
	uint64_t expect = 0;

	out->n = 0;
	assert_int_equal(chunker_init(&c, m), 0);
	rng_state = 7;
	for (;;) {
		struct chunk_span span;
		size_t want = len - at, n;
		int eof;
		if (piece == SIZE_MAX && want)
			want = 1 + rng() % (want < 3 * MIB ? want : 3 * MIB);
		else if (want > piece)
			want = piece;
		eof = at + want == len;
		n = chunker_next_cut(&c, data + at, want, eof, &span);
		assert_true(n <= want);
		at += n;
		if (span.len) {
			assert_int_equal(span.offset, expect);
			assert_true(span.len <= CHUNK_MAX);
			expect += span.len;
			assert_int_equal(expect, at);
			if (out->n == out->alloc) {
				out->alloc = out->alloc ? 2 * out->alloc : 64;
				out->v = xrealloc(out->v, out->alloc * sizeof(*out->v));
			}
			out->v[out->n++] = span;
		} else if (eof && n == want) {
			break;
		}
	}
	assert_int_equal(expect, len);
	chunker_release(&c);
}

static void test_tensor_aligned(void **state)
{
	const struct spec t[] = { { "small", 25 }, { "big", 2 * MIB + 1000 }, { "tiny", 1 } };
	struct buf file = BUF_INIT;
	struct model_info m;
	struct spans s = { 0 };
	size_t pieces[] = { 1000, 64 * 1024, 5 * MIB, SIZE_MAX };

	make_model(&file, &m, t, 3);
	for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
		cut(&s, &m, (unsigned char *)file.data, file.len, pieces[p]);
		/* header, small, big in 3 slices (4, 4, 0.0038 MiB), tiny */
		assert_int_equal(s.n, 6);
		assert_int_equal(s.v[0].tensor, -1);
		assert_int_equal(s.v[0].len, m.header_size);
		assert_int_equal(s.v[1].tensor, 0);
		assert_int_equal(s.v[1].len, 100);
		for (int k = 0; k < 3; k++) {
			assert_int_equal(s.v[2 + k].tensor, 1);
			assert_int_equal(s.v[2 + k].slice, k);
			assert_int_equal(s.v[2 + k].offset,
					 m.tensors[1].offset + k * CHUNK_TENSOR_SLICE);
		}
		assert_int_equal(s.v[4].len, 4000);
		assert_int_equal(s.v[5].tensor, 2);
		assert_int_equal(s.v[5].len, 4);
	}
	free(s.v);
	model_info_release(&m);
	buf_release(&file);
}

/* Chunk hashes of one tensor, in order. */
static size_t tensor_chunks(uint64_t *out, const struct spans *s, const unsigned char *data,
			    long tensor)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].tensor == tensor)
			out[n++] = xxh3_64(data + s->v[i].offset, (size_t)s->v[i].len);
	return n;
}

static void test_insert_tensor_keeps_others(void **state)
{
	const struct spec v1[] = { { "a", MIB + 3 }, { "b", 3 * MIB / 2 }, { "c", 77 } };
	const struct spec v2[] = {
		{ "a", MIB + 3 }, { "new", 123457 }, { "b", 3 * MIB / 2 }, { "c", 77 }
	};
	struct buf f1 = BUF_INIT, f2 = BUF_INIT;
	struct model_info m1, m2;
	struct spans s1 = { 0 }, s2 = { 0 };
	uint64_t h1[8], h2[8];
	const char *names[] = { "a", "b", "c" };

	make_model(&f1, &m1, v1, 3);
	make_model(&f2, &m2, v2, 4);
	cut(&s1, &m1, (unsigned char *)f1.data, f1.len, 1 << 16);
	cut(&s2, &m2, (unsigned char *)f2.data, f2.len, 1 << 16);
	for (size_t k = 0; k < 3; k++) {
		long i1 = -1, i2 = -1;
		size_t n1, n2;
		for (size_t i = 0; i < m1.n_tensors; i++)
			if (!strcmp(m1.tensors[i].name, names[k]))
				i1 = (long)i;
		for (size_t i = 0; i < m2.n_tensors; i++)
			if (!strcmp(m2.tensors[i].name, names[k]))
				i2 = (long)i;
		n1 = tensor_chunks(h1, &s1, (unsigned char *)f1.data, i1);
		n2 = tensor_chunks(h2, &s2, (unsigned char *)f2.data, i2);
		assert_true(n1 > 0);
		assert_int_equal(n1, n2);
		assert_memory_equal(h1, h2, n1 * sizeof(*h1));
	}
	free(s1.v);
	free(s2.v);
	model_info_release(&m1);
	model_info_release(&m2);
	buf_release(&f1);
	buf_release(&f2);
}

static void test_opaque_fallback(void **state)
{
	size_t len = 12 * MIB + 5;
	unsigned char *data = xmalloc(len);
	struct spans s = { 0 }, again = { 0 };
	struct model_info m;

	rng_state = 99;
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)rng();
	cut(&s, NULL, data, len, 1 << 20);
	assert_true(s.n >= 3);
	for (size_t i = 0; i < s.n; i++) {
		assert_int_equal(s.v[i].tensor, -1);
		assert_true(s.v[i].len <= FASTCDC_MAX_DEFAULT);
		if (i + 1 < s.n)
			assert_true(s.v[i].len >= FASTCDC_MIN_DEFAULT);
	}
	/* an opaque model_info is the same as none */
	model_info_init(&m);
	cut(&again, &m, data, len, SIZE_MAX);
	assert_int_equal(again.n, s.n);
	assert_memory_equal(again.v, s.v, s.n * sizeof(*s.v));
	/* zeros: max-sized chunks */
	memset(data, 0, len);
	cut(&s, NULL, data, len, 1 << 20);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.v[0].len, CHUNK_MAX);
	free(s.v);
	free(again.v);
	free(data);
}

static void test_gguf_padding_and_tail(void **state)
{
	/* a hand-made info: header 96, two tensors with 24 bytes of padding
	 * after the first, then a gap larger than the alignment and 60
	 * trailing bytes */
	struct model_tensor t[2] = {
		{ .name = "x", .dtype = "F32", .offset = 96, .size = 65544 },
		{ .name = "y", .dtype = "F32", .offset = 65664, .size = 65536 },
	};
	struct model_info m = { .format = MODEL_GGUF,
				.version = 3,
				.header_size = 96,
				.data_size = 131104,
				.n_tensors = 2,
				.tensors = t,
				.alignment = 32 };
	size_t len = 131300;
	unsigned char *data = xcalloc(len, 1);
	struct spans s = { 0 };

	cut(&s, &m, data, len, 7000);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.v[0].len, 96);
	/* x and its padding */
	assert_int_equal(s.v[1].tensor, 0);
	assert_int_equal(s.v[1].n_tensors, 1);
	assert_int_equal(s.v[1].len, 65568);
	/* y, then the rest is not a tensor's */
	assert_int_equal(s.v[2].tensor, 1);
	assert_int_equal(s.v[2].len, 65536);
	assert_int_equal(s.v[3].tensor, -1);
	assert_int_equal(s.v[3].n_tensors, 0);
	assert_int_equal(s.v[3].offset, 131200);
	/* a stream shorter than the header says: its bytes are still cut */
	cut(&s, &m, data, 120, 1000);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.v[1].len, 24);
	free(s.v);
	free(data);
}

static int has_chunk(const struct spans *s, const unsigned char *data, const unsigned char *chunk,
		     uint64_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].len == len && !memcmp(data + s->v[i].offset, chunk, (size_t)len))
			return 1;
	return 0;
}

static void test_small_tensors_grouped(void **state)
{
	struct spec v1[1000], v2[1001];
	char names[1001][16];
	struct buf f1 = BUF_INIT, f2 = BUF_INIT;
	struct model_info m1, m2;
	struct spans s1 = { 0 }, s2 = { 0 };
	size_t changed = 0, in_groups = 0;

	for (int i = 0; i < 1000; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		v1[i].name = names[i];
		v1[i].elems = 25 + i % 7;
	}
	snprintf(names[1000], sizeof(names[1000]), "inserted");
	memcpy(v2, v1, 500 * sizeof(*v1));
	v2[500].name = names[1000];
	v2[500].elems = 30;
	memcpy(v2 + 501, v1 + 500, 500 * sizeof(*v1));
	make_model(&f1, &m1, v1, 1000);
	make_model(&f2, &m2, v2, 1001);
	cut(&s1, &m1, (unsigned char *)f1.data, f1.len, SIZE_MAX);
	cut(&s2, &m2, (unsigned char *)f2.data, f2.len, SIZE_MAX);
	/* about 16 tensors a chunk */
	assert_true(s1.n > 1 + 1000 / 64 && s1.n < 1 + 1000 / 4);
	for (size_t i = 1; i < s1.n; i++) {
		assert_true(s1.v[i].len <= CHUNK_GROUP_MAX);
		in_groups += s1.v[i].n_tensors;
	}
	assert_int_equal(in_groups, 1000);
	/* the header changes, and the group the new tensor joined */
	for (size_t i = 0; i < s2.n; i++)
		changed += !has_chunk(&s1, (unsigned char *)f1.data,
				      (unsigned char *)f2.data + s2.v[i].offset, s2.v[i].len);
	assert_true(changed >= 2 && changed <= 3);
	free(s1.v);
	free(s2.v);
	model_info_release(&m1);
	model_info_release(&m2);
	buf_release(&f1);
	buf_release(&f2);
}

static void test_large_header_sliced(void **state)
{
	struct model_info m = { .format = MODEL_SAFETENSORS, .header_size = 9 * MIB };
	size_t len = 9 * MIB;
	unsigned char *data = xcalloc(len, 1);
	struct spans s = { 0 };

	cut(&s, &m, data, len, 3 * MIB);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.v[0].len, CHUNK_TENSOR_SLICE);
	assert_int_equal(s.v[2].len, MIB);
	assert_int_equal(s.v[2].slice, 2);
	free(s.v);
	free(data);
}

static void test_bad_sizes(void **state)
{
	struct chunker c;
	assert_int_equal(chunker_init_sizes(&c, NULL, 1024, 4096, 8 * MIB), LEPTON_EINVALID);
	assert_int_equal(chunker_init_sizes(&c, NULL, 4096, 1024, MIB), LEPTON_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tensor_aligned),
		cmocka_unit_test(test_insert_tensor_keeps_others),
		cmocka_unit_test(test_opaque_fallback),
		cmocka_unit_test(test_gguf_padding_and_tail),
		cmocka_unit_test(test_small_tensors_grouped),
		cmocka_unit_test(test_large_header_sliced),
		cmocka_unit_test(test_bad_sizes),
	};
	return cmocka_run_group_tests_name("chunker", tests, NULL, NULL);
}
