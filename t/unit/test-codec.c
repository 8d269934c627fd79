/*
 * Unit tests of the chunk codec (git-lepton/codec.h) and the frame header
 * it writes (git-lepton/frame.h): byte grouping, round trips for every
 * element width and odd tails, the encoder's choices (raw for what does
 * not compress, grouped for float data, a delta only below the chain
 * bound) and what decoding must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "codec.h"
#include "error.h"
#include "frame.h"
#include "hash.h"

#define CHUNK (1u << 20)

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* Incompressible bytes. */
static unsigned char *random_bytes(size_t len, uint64_t seed)
{
	unsigned char *p = malloc(len ? len : 1);
	assert_non_null(p);
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(rng() >> 24);
	return p;
}

/*
 * Bytes that look like little-endian floats of width w: the high byte
 * (sign and exponent) takes few values, the others are noise.  Plain zstd
 * saves little on them; grouped saves more.
 */
static unsigned char *float_bytes(size_t len, unsigned width, uint64_t seed)
{
	unsigned char *p = random_bytes(len, seed);
	for (size_t i = width - 1; i < len; i += width)
		p[i] = (unsigned char)(0x3c + (rng() % 4 == 0 ? rng() % 4 : 0));
	return p;
}

static void encode(struct buf *frame, enum codec_kind *kind, const unsigned char *data, size_t len,
		   int level, unsigned width, const struct codec_base *base)
{
	struct lepton_oid id;
	struct codec_hint hint = { .level = level, .width = width, .base = base };
	sha256_buffer(&id, data, len);
	buf_reset(frame);
	if (codec_encode(frame, kind, &id, data, len, &hint))
		fail_msg("codec_encode: %s", lepton_error_last());
}

static void decodes_to(const struct buf *frame, const unsigned char *data, size_t len,
		       const void *base, size_t base_len)
{
	struct buf out = BUF_INIT;
	struct lepton_oid id;
	sha256_buffer(&id, data, len);
	if (codec_decode(&out, (unsigned char *)frame->data, frame->len, &id, base, base_len))
		fail_msg("codec_decode: %s", lepton_error_last());
	assert_int_equal(out.len, len);
	if (len)
		assert_memory_equal(out.data, data, len);
	buf_release(&out);
}

/* Rewrite the frame's XXH3 trailer after an edit of its header. */
static void fix_trailer(struct buf *frame)
{
	put_le64((unsigned char *)frame->data + frame->len - FRAME_TRAILER_SIZE,
		 xxh3_64(frame->data, frame->len - FRAME_TRAILER_SIZE));
}

/* ---- grouping ----------------------------------------------------------- */

static void test_group_layout(void **state)
{
	const unsigned char in[] = { 'a', 'A', 'b', 'B', 'c', 'C', 't' };
	const unsigned char want2[] = { 'a', 'b', 'c', 'A', 'B', 'C', 't' };
	const unsigned char in4[] = { 0, 1, 2, 3, 10, 11, 12, 13, 99, 98 };
	const unsigned char want4[] = { 0, 10, 1, 11, 2, 12, 3, 13, 99, 98 };
	unsigned char out[16];
	(void)state;

	codec_group(out, in, sizeof(in), 2);
	assert_memory_equal(out, want2, sizeof(want2));
	codec_group(out, in4, sizeof(in4), 4);
	assert_memory_equal(out, want4, sizeof(want4));
}

static void test_group_inverse(void **state)
{
	static const unsigned widths[] = { 1, 2, 3, 4, 8 };
	(void)state;
	for (size_t w = 0; w < sizeof(widths) / sizeof(*widths); w++) {
		for (size_t len = 0; len < 70; len++) {
			unsigned char *in = random_bytes(len, len + 1), *x = random_bytes(len, 99);
			unsigned char g[80], back[80];
			codec_group(g, in, len, widths[w]);
			codec_ungroup(back, g, len, widths[w], NULL);
			if (len)
				assert_memory_equal(back, in, len);
			/* with xor: ungroup(group(a)) ^ x */
			codec_ungroup(back, g, len, widths[w], x);
			for (size_t i = 0; i < len; i++)
				assert_int_equal(back[i], in[i] ^ x[i]);
			free(in);
			free(x);
		}
	}
}

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip_widths(void **state)
{
	static const unsigned widths[] = { 0, 1, 2, 4, 8 };
	static const size_t tails[] = { 0, 1, 3, 7 };
	struct buf frame = BUF_INIT;
	(void)state;

	for (size_t w = 0; w < sizeof(widths) / sizeof(*widths); w++) {
		for (size_t t = 0; t < sizeof(tails) / sizeof(*tails); t++) {
			unsigned width = widths[w] ? widths[w] : 1;
			size_t len = CHUNK + tails[t];
			unsigned char *data = float_bytes(len, width, w * 10 + t);
			enum codec_kind kind;
			encode(&frame, &kind, data, len, 3, widths[w], NULL);
			if (width > 1)
				assert_int_equal(kind, CODEC_GROUPED);
			else
				assert_int_not_equal(kind, CODEC_GROUPED);
			decodes_to(&frame, data, len, NULL, 0);
			/* and small chunks, sampled whole */
			encode(&frame, &kind, data, 1000 + tails[t], 3, widths[w], NULL);
			decodes_to(&frame, data, 1000 + tails[t], NULL, 0);
			free(data);
		}
	}
	buf_release(&frame);
}

static void test_grouped_beats_plain(void **state)
{
	struct buf grouped = BUF_INIT, plain = BUF_INIT;
	unsigned char *data = float_bytes(CHUNK, 2, 5);
	enum codec_kind kind;
	(void)state;

	encode(&grouped, &kind, data, CHUNK, 3, 2, NULL);
	assert_int_equal(kind, CODEC_GROUPED);
	assert_int_equal((unsigned char)grouped.data[4], FRAME_VERSION);
	assert_int_equal((unsigned char)grouped.data[6], 2);
	encode(&plain, &kind, data, CHUNK, 3, 0, NULL);
	assert_int_equal(kind, CODEC_ZSTD);
	/* a zstd frame stays version 1, readable by older readers */
	assert_int_equal((unsigned char)plain.data[4], FRAME_VERSION_1);
	assert_true(grouped.len < plain.len);
	free(data);
	buf_release(&grouped);
	buf_release(&plain);
}

static void test_empty_chunk(void **state)
{
	struct buf frame = BUF_INIT;
	enum codec_kind kind = CODEC_DELTA;
	unsigned char none = 0;
	struct codec_base base = { .data = &none, .len = 0 };
	(void)state;

	encode(&frame, &kind, &none, 0, 3, 2, &base);
	assert_int_equal(kind, CODEC_RAW);
	assert_int_equal(frame.len, FRAME_HEADER_SIZE + FRAME_TRAILER_SIZE);
	decodes_to(&frame, &none, 0, NULL, 0);
	buf_release(&frame);
}

static void test_incompressible_is_raw(void **state)
{
	struct buf frame = BUF_INIT;
	unsigned char *data = random_bytes(CHUNK + 3, 7);
	enum codec_kind kind;
	(void)state;

	encode(&frame, &kind, data, CHUNK + 3, 3, 4, NULL);
	assert_int_equal(kind, CODEC_RAW);
	assert_int_equal(frame.len, FRAME_HEADER_SIZE + CHUNK + 3 + FRAME_TRAILER_SIZE);
	decodes_to(&frame, data, CHUNK + 3, NULL, 0);
	/* level 0 stores raw whatever the data */
	free(data);
	data = float_bytes(CHUNK, 2, 8);
	encode(&frame, &kind, data, CHUNK, 0, 2, NULL);
	assert_int_equal(kind, CODEC_RAW);
	decodes_to(&frame, data, CHUNK, NULL, 0);
	free(data);
	buf_release(&frame);
}

static void test_frame_encode_wrapper(void **state)
{
	struct buf frame = BUF_INIT, out = BUF_INIT;
	unsigned char *data = float_bytes(CHUNK, 2, 9);
	struct lepton_oid id;
	(void)state;

	sha256_buffer(&id, data, CHUNK);
	assert_int_equal(frame_encode(&frame, &id, data, CHUNK, 3), 0);
	assert_int_equal((unsigned char)frame.data[5], FRAME_ZSTD);
	assert_int_equal(frame_decode(&out, (unsigned char *)frame.data, frame.len, &id), 0);
	assert_int_equal(out.len, CHUNK);
	assert_memory_equal(out.data, data, CHUNK);
	free(data);
	buf_release(&frame);
	buf_release(&out);
}

/* One scratch buffer across chunks of every kind and size. */
static void test_scratch_reuse(void **state)
{
	struct buf frame = BUF_INIT, scratch = BUF_INIT, dscratch = BUF_INIT, out = BUF_INIT;
	static const size_t lens[] = { CHUNK, 100, CHUNK + 7, 0, 5000 };
	(void)state;

	for (size_t i = 0; i < 10; i++) {
		size_t len = lens[i % 5];
		unsigned width = i % 2 ? 4 : 2;
		unsigned char *data = i % 3 ? float_bytes(len, width, i) : random_bytes(len, i);
		unsigned char *old = float_bytes(len, width, i + 100);
		struct codec_base base = { .data = old, .len = len };
		struct codec_hint hint = { .level = 3,
					   .width = width,
					   .base = i % 4 ? NULL : &base };
		struct lepton_oid id;
		enum codec_kind kind;

		sha256_buffer(&id, data, len);
		buf_reset(&frame);
		assert_int_equal(
		    codec_encode_scratch(&frame, &scratch, &kind, &id, data, len, &hint), 0);
		buf_reset(&out);
		assert_int_equal(codec_decode_scratch(&out, &dscratch, (unsigned char *)frame.data,
						      frame.len, &id,
						      kind == CODEC_DELTA ? old : NULL,
						      kind == CODEC_DELTA ? len : 0),
				 0);
		assert_int_equal(out.len, len);
		if (len)
			assert_memory_equal(out.data, data, len);
		free(data);
		free(old);
	}
	buf_release(&frame);
	buf_release(&scratch);
	buf_release(&dscratch);
	buf_release(&out);
}

/* ---- deltas ------------------------------------------------------------- */

/* A copy of base with about one element in 50 nudged by one ulp. */
static unsigned char *nudged(const unsigned char *base, size_t len, unsigned width, uint64_t seed)
{
	unsigned char *p = malloc(len);
	assert_non_null(p);
	memcpy(p, base, len);
	rng_state = seed + 1;
	for (size_t i = 0; i + width <= len; i += width)
		if (rng() % 50 == 0)
			p[i] ^= 1;
	return p;
}

static void test_delta_round_trip(void **state)
{
	static const unsigned widths[] = { 0, 2, 4, 8 };
	struct buf frame = BUF_INIT, full = BUF_INIT, out = BUF_INIT;
	(void)state;

	for (size_t w = 0; w < sizeof(widths) / sizeof(*widths); w++) {
		unsigned width = widths[w] ? widths[w] : 1;
		size_t len = CHUNK + 5;
		unsigned char *old = float_bytes(len, width, 20 + w);
		unsigned char *cur = nudged(old, len, width, w);
		struct codec_base base = { .data = old, .len = len, .depth = 3 };
		struct frame_header h;
		enum codec_kind kind;

		sha256_buffer(&base.id, old, len);
		encode(&frame, &kind, cur, len, 3, widths[w], &base);
		assert_int_equal(kind, CODEC_DELTA);
		encode(&full, NULL, cur, len, 3, widths[w], NULL);
		assert_true(frame.len < full.len / 4);
		assert_int_equal(frame_header_parse(&h, (unsigned char *)frame.data, frame.len), 0);
		assert_int_equal(h.depth, 4);
		assert_int_equal(h.width, width);
		assert_memory_equal(h.base.hash, base.id.hash, OID_RAWSZ);
		decodes_to(&frame, cur, len, old, len);

		/* without its base: not found, and nothing appended */
		assert_int_equal(
		    codec_decode(&out, (unsigned char *)frame.data, frame.len, NULL, NULL, 0),
		    LEPTON_ENOTFOUND);
		assert_non_null(strstr(lepton_error_last(), "base chunk"));
		/* a base of the wrong length */
		assert_int_equal(
		    codec_decode(&out, (unsigned char *)frame.data, frame.len, NULL, old, len - 1),
		    LEPTON_ECORRUPT);
		/* a wrong base of the right length gives other bytes: the
		 * caller's SHA-256 check catches it */
		buf_reset(&out);
		assert_int_equal(
		    codec_decode(&out, (unsigned char *)frame.data, frame.len, NULL, cur, len), 0);
		assert_int_equal(out.len, len);
		assert_true(memcmp(out.data, cur, len) != 0);
		buf_reset(&out);
		free(old);
		free(cur);
	}
	buf_release(&frame);
	buf_release(&full);
	buf_release(&out);
}

static void test_delta_needs_same_length(void **state)
{
	struct buf frame = BUF_INIT;
	unsigned char *old = float_bytes(CHUNK, 2, 30);
	unsigned char *cur = nudged(old, CHUNK, 2, 1);
	struct codec_base base = { .data = old, .len = CHUNK - 2 };
	enum codec_kind kind;
	(void)state;

	encode(&frame, &kind, cur, CHUNK, 3, 2, &base);
	assert_int_equal(kind, CODEC_GROUPED);
	free(old);
	free(cur);
	buf_release(&frame);
}

static void test_delta_chain_bound(void **state)
{
	struct buf frame = BUF_INIT, out = BUF_INIT;
	unsigned char *old = float_bytes(CHUNK, 2, 40);
	unsigned char *cur = nudged(old, CHUNK, 2, 2);
	struct codec_base base = { .data = old, .len = CHUNK, .depth = CODEC_MAX_CHAIN - 1 };
	struct frame_header h;
	enum codec_kind kind;
	(void)state;

	sha256_buffer(&base.id, old, CHUNK);
	/* depth N is written and read */
	encode(&frame, &kind, cur, CHUNK, 3, 2, &base);
	assert_int_equal(kind, CODEC_DELTA);
	assert_int_equal(frame_header_parse(&h, (unsigned char *)frame.data, frame.len), 0);
	assert_int_equal(h.depth, CODEC_MAX_CHAIN);
	decodes_to(&frame, cur, CHUNK, old, CHUNK);

	/* N + 1 is refused on read */
	frame.data[FRAME_HEADER_SIZE + OID_RAWSZ] = CODEC_MAX_CHAIN + 1;
	fix_trailer(&frame);
	assert_int_equal(
	    codec_decode(&out, (unsigned char *)frame.data, frame.len, NULL, old, CHUNK),
	    LEPTON_ECORRUPT);
	assert_non_null(strstr(lepton_error_last(), "deeper"));

	/* and the encoder does not go beyond: a full frame */
	base.depth = CODEC_MAX_CHAIN;
	encode(&frame, &kind, cur, CHUNK, 3, 2, &base);
	assert_int_equal(kind, CODEC_GROUPED);
	assert_int_equal(frame_header_parse(&h, (unsigned char *)frame.data, frame.len), 0);
	assert_int_equal(h.depth, 0);
	assert_int_equal(h.flags & FRAME_HAS_BASE, 0);
	free(old);
	free(cur);
	buf_release(&frame);
	buf_release(&out);
}

static void test_delta_corrupt_payload(void **state)
{
	struct buf frame = BUF_INIT, out = BUF_INIT;
	unsigned char *old = float_bytes(CHUNK, 4, 50);
	unsigned char *cur = nudged(old, CHUNK, 4, 3);
	struct codec_base base = { .data = old, .len = CHUNK };
	struct frame_header h;
	enum codec_kind kind;
	(void)state;

	encode(&frame, &kind, cur, CHUNK, 3, 4, &base);
	assert_int_equal(kind, CODEC_DELTA);
	assert_int_equal(frame_header_parse(&h, (unsigned char *)frame.data, frame.len), 0);
	frame.data[h.header_len + h.payload_len / 2] ^= 0x10;
	assert_int_equal(
	    codec_decode(&out, (unsigned char *)frame.data, frame.len, NULL, old, CHUNK),
	    LEPTON_ECORRUPT);
	/* a payload cut short, trailer made right: zstd refuses it */
	frame.data[h.header_len + h.payload_len / 2] ^= 0x10;
	memmove(frame.data + h.header_len + 4, frame.data + h.header_len + h.payload_len,
		FRAME_TRAILER_SIZE);
	buf_setlen(&frame, h.header_len + 4 + FRAME_TRAILER_SIZE);
	put_le64((unsigned char *)frame.data + 16, 4);
	fix_trailer(&frame);
	assert_true(codec_decode(&out, (unsigned char *)frame.data, frame.len, NULL, old, CHUNK) ==
		    LEPTON_ECORRUPT);
	free(old);
	free(cur);
	buf_release(&frame);
	buf_release(&out);
}

/* ---- headers that must be refused ------------------------------------------ */

static void expect_refused(struct buf *frame, size_t at, unsigned char value)
{
	struct buf copy = BUF_INIT, out = BUF_INIT;
	struct frame_header h;
	buf_add(&copy, frame->data, frame->len);
	copy.data[at] = (char)value;
	fix_trailer(&copy);
	assert_int_equal(frame_header_parse(&h, (unsigned char *)copy.data, copy.len),
			 LEPTON_ECORRUPT);
	assert_int_equal(codec_decode(&out, (unsigned char *)copy.data, copy.len, NULL, NULL, 0),
			 LEPTON_ECORRUPT);
	assert_int_equal(out.len, 0);
	buf_release(&copy);
	buf_release(&out);
}

static void test_bad_headers(void **state)
{
	struct buf grouped = BUF_INIT, delta = BUF_INIT, out = BUF_INIT;
	unsigned char *old = float_bytes(CHUNK, 2, 60);
	unsigned char *cur = nudged(old, CHUNK, 2, 4);
	struct codec_base base = { .data = old, .len = CHUNK };
	enum codec_kind kind;
	(void)state;

	encode(&grouped, &kind, old, CHUNK, 3, 2, NULL);
	assert_int_equal(kind, CODEC_GROUPED);
	encode(&delta, &kind, cur, CHUNK, 3, 2, &base);
	assert_int_equal(kind, CODEC_DELTA);

	expect_refused(&grouped, 6, 3);                           /* width 3 */
	expect_refused(&grouped, 6, 1);                           /* grouped by 1 */
	expect_refused(&grouped, 4, FRAME_VERSION_1);             /* grouped in a version 1 frame */
	expect_refused(&grouped, 4, 9);                           /* a version from the future */
	expect_refused(&grouped, 7, FRAME_HAS_BASE);              /* a base on a full frame */
	expect_refused(&delta, 7, 0);                             /* a delta without its base */
	expect_refused(&delta, FRAME_HEADER_SIZE + OID_RAWSZ, 0); /* depth 0 */
	expect_refused(&delta, FRAME_HEADER_SIZE + OID_RAWSZ + 3, 1); /* reserved byte */
	expect_refused(&delta, 6, 16);                                /* width 16 */

	/* a raw length beyond CODEC_MAX_CHUNK is refused before allocating */
	put_le64((unsigned char *)grouped.data + 8, (uint64_t)CODEC_MAX_CHUNK + 1);
	fix_trailer(&grouped);
	assert_int_equal(
	    codec_decode(&out, (unsigned char *)grouped.data, grouped.len, NULL, NULL, 0),
	    LEPTON_ECORRUPT);
	/* an unknown encoding says to upgrade */
	grouped.data[5] = 7;
	fix_trailer(&grouped);
	assert_int_equal(
	    codec_decode(&out, (unsigned char *)grouped.data, grouped.len, NULL, NULL, 0),
	    LEPTON_ECORRUPT);
	assert_non_null(strstr(lepton_error_last(), "upgrade"));
	free(old);
	free(cur);
	buf_release(&grouped);
	buf_release(&delta);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_layout),
		cmocka_unit_test(test_group_inverse),
		cmocka_unit_test(test_round_trip_widths),
		cmocka_unit_test(test_grouped_beats_plain),
		cmocka_unit_test(test_empty_chunk),
		cmocka_unit_test(test_incompressible_is_raw),
		cmocka_unit_test(test_frame_encode_wrapper),
		cmocka_unit_test(test_scratch_reuse),
		cmocka_unit_test(test_delta_round_trip),
		cmocka_unit_test(test_delta_needs_same_length),
		cmocka_unit_test(test_delta_chain_bound),
		cmocka_unit_test(test_delta_corrupt_payload),
		cmocka_unit_test(test_bad_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
