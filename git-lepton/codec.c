#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <zstd.h>

#include "codec.h"
#include "error.h"
#include "banned.h"

/*
 * Choosing an encoding: for a chunk above CODEC_SAMPLE_MIN bytes each
 * candidate is compressed on CODEC_SAMPLES slices of CODEC_SAMPLE_SIZE
 * bytes spread over the chunk, and only the winner on the whole chunk
 * (docs/NOTES.md has the measurements).  Smaller chunks are sampled whole.
 */
#define CODEC_SAMPLES     4
#define CODEC_SAMPLE_SIZE (32u << 10)
#define CODEC_SAMPLE_MIN  (CODEC_SAMPLES * CODEC_SAMPLE_SIZE * 2)
/*
 * Byte-grouped streams compress both better and two to three times faster
 * at zstd level 1 than at 3 (the exponent stream is all short matches that
 * higher levels chase for nothing): grouped and delta payloads use level 1
 * unless a level of CODEC_GROUPED_KEEP_LEVEL or more asks for the most.
 */
#define CODEC_GROUPED_LEVEL      1
#define CODEC_GROUPED_KEEP_LEVEL 10
/* A delta must beat the best full encoding by this fraction (1/8) to be
 * kept: every delta makes reads decode one frame more. */
#define CODEC_DELTA_GAIN_SHIFT 3

const char *codec_kind_name(enum codec_kind kind)
{
	switch (kind) {
	case CODEC_RAW:
		return "raw";
	case CODEC_ZSTD:
		return "zstd";
	case CODEC_GROUPED:
		return "grouped";
	case CODEC_DELTA:
		return "delta";
	}
	return "unknown";
}

/* ---- byte grouping ------------------------------------------------------ */

void codec_group(unsigned char *out, const unsigned char *in, size_t len, unsigned width)
{
	size_t n = width ? len / width : 0;

	if (width <= 1) {
		memcpy(out, in, len);
		return;
	}
	if (width == 2) {
		unsigned char *s0 = out, *s1 = out + n;
		size_t e = 0;
#ifdef __SSE2__
		/* 16 elements a step: low bytes masked, high bytes shifted, packed */
		const __m128i low = _mm_set1_epi16(0x00ff);
		for (; e + 16 <= n; e += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(in + 2 * e));
			__m128i y = _mm_loadu_si128((const __m128i *)(in + 2 * e + 16));
			_mm_storeu_si128(
			    (__m128i *)(s0 + e),
			    _mm_packus_epi16(_mm_and_si128(x, low), _mm_and_si128(y, low)));
			_mm_storeu_si128(
			    (__m128i *)(s1 + e),
			    _mm_packus_epi16(_mm_srli_epi16(x, 8), _mm_srli_epi16(y, 8)));
		}
#endif
		for (; e < n; e++) {
			s0[e] = in[2 * e];
			s1[e] = in[2 * e + 1];
		}
	} else if (width == 4) {
		unsigned char *s0 = out, *s1 = out + n, *s2 = out + 2 * n, *s3 = out + 3 * n;
		for (size_t e = 0; e < n; e++) {
			s0[e] = in[4 * e];
			s1[e] = in[4 * e + 1];
			s2[e] = in[4 * e + 2];
			s3[e] = in[4 * e + 3];
		}
	} else {
		for (size_t e = 0; e < n; e++)
			for (unsigned i = 0; i < width; i++)
				out[i * n + e] = in[e * width + i];
	}
	memcpy(out + n * width, in + n * width, len - n * width);
}

/* out ^= x, a word at a time (the compiler vectorises it) */
static void xor_into(unsigned char *out, const unsigned char *x, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t a, b;
		memcpy(&a, out + i, 8);
		memcpy(&b, x + i, 8);
		a ^= b;
		memcpy(out + i, &a, 8);
	}
	for (; i < len; i++)
		out[i] ^= x[i];
}

void codec_ungroup(unsigned char *out, const unsigned char *in, size_t len, unsigned width,
		   const unsigned char * xor)
{
	size_t n = width > 1 ? len / width : 0, done = n * (width > 1 ? width : 1);

	/* interleave first, then XOR in a second pass: both loops are simple
	 * enough to vectorise, where one loop doing both was not */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (width == 2) {
		const unsigned char *s0 = in, *s1 = in + n;
		size_t e = 0;
#ifdef __SSE2__
		/* 16 elements a step: interleave the low and the high bytes */
		for (; e + 16 <= n; e += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(s0 + e));
			__m128i b = _mm_loadu_si128((const __m128i *)(s1 + e));
			_mm_storeu_si128((__m128i *)(out + 2 * e), _mm_unpacklo_epi8(a, b));
			_mm_storeu_si128((__m128i *)(out + 2 * e + 16), _mm_unpackhi_epi8(a, b));
		}
#endif
		for (; e < n; e++) {
			uint16_t v = (uint16_t)(s0[e] | (unsigned)s1[e] << 8);
			memcpy(out + 2 * e, &v, 2);
		}
	} else if (width == 4) {
		const unsigned char *s0 = in, *s1 = in + n, *s2 = in + 2 * n, *s3 = in + 3 * n;
		size_t e = 0;
#ifdef __SSE2__
		for (; e + 16 <= n; e += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(s0 + e));
			__m128i b = _mm_loadu_si128((const __m128i *)(s1 + e));
			__m128i c = _mm_loadu_si128((const __m128i *)(s2 + e));
			__m128i d = _mm_loadu_si128((const __m128i *)(s3 + e));
			__m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
			__m128i cd_lo = _mm_unpacklo_epi8(c, d), cd_hi = _mm_unpackhi_epi8(c, d);
			_mm_storeu_si128((__m128i *)(out + 4 * e),
					 _mm_unpacklo_epi16(ab_lo, cd_lo));
			_mm_storeu_si128((__m128i *)(out + 4 * e + 16),
					 _mm_unpackhi_epi16(ab_lo, cd_lo));
			_mm_storeu_si128((__m128i *)(out + 4 * e + 32),
					 _mm_unpacklo_epi16(ab_hi, cd_hi));
			_mm_storeu_si128((__m128i *)(out + 4 * e + 48),
					 _mm_unpackhi_epi16(ab_hi, cd_hi));
		}
#endif
		for (; e < n; e++) {
			uint32_t v = (uint32_t)s0[e] | (uint32_t)s1[e] << 8 |
				     (uint32_t)s2[e] << 16 | (uint32_t)s3[e] << 24;
			memcpy(out + 4 * e, &v, 4);
		}
	} else
#endif
	    if (width > 1) {
		for (size_t e = 0; e < n; e++)
			for (unsigned i = 0; i < width; i++)
				out[e * width + i] = in[i * n + e];
	}
	/* the tail that is not a whole element (all of it with width 1) */
	memcpy(out + done, in + done, len - done);
	if (xor)
		xor_into(out, xor, len);
}

/* out = group(a XOR b) of len bytes; b may be NULL. */
static void transform(unsigned char *out, unsigned char *tmp, const unsigned char *a,
		      const unsigned char *b, size_t len, unsigned width)
{
	if (b) {
		for (size_t i = 0; i < len; i++)
			tmp[i] = a[i] ^ b[i];
		a = tmp;
	}
	codec_group(out, a, len, width);
}

/* ---- encoding ----------------------------------------------------------- */

struct candidate {
	enum codec_kind kind;
	unsigned width;
	const unsigned char *base;
	size_t estimate;
};

static size_t compress_into(ZSTD_CCtx *cctx, void *dst, size_t cap, const void *src, size_t len,
			    int level)
{
	size_t got = ZSTD_compressCCtx(cctx, dst, cap, src, len, level);
	return ZSTD_isError(got) ? (size_t)-1 : got;
}

/* Estimated compressed size of a candidate from slices of the chunk. */
/* How many bytes estimate() compresses for a chunk of len bytes. */
static size_t sample_size(size_t len)
{
	return len < CODEC_SAMPLE_MIN ? len : CODEC_SAMPLES * CODEC_SAMPLE_SIZE;
}

static int candidate_level(const struct candidate *c, int level)
{
	if (c->kind == CODEC_ZSTD || level >= CODEC_GROUPED_KEEP_LEVEL)
		return level;
	return CODEC_GROUPED_LEVEL;
}

static size_t estimate(ZSTD_CCtx *cctx, struct buf *scratch, const struct candidate *c,
		       const unsigned char *data, size_t len, int level)
{
	size_t slices = len < CODEC_SAMPLE_MIN ? 1 : CODEC_SAMPLES;
	size_t slice = sample_size(len) / slices;
	size_t total = 0, bound = ZSTD_compressBound(slice);
	unsigned char *grouped, *tmp, *dst;

	buf_reset(scratch);
	buf_grow(scratch, 2 * slice + bound);
	grouped = (unsigned char *)scratch->data;
	tmp = grouped + slice;
	dst = tmp + slice;
	for (size_t i = 0; i < slices; i++) {
		/* evenly spread, at whole elements (slice and width are powers of 2) */
		size_t at = slices == 1 ? 0 : (len - slice) / (slices - 1) * i;
		size_t got;
		at -= at % 8;
		transform(grouped, tmp, data + at, c->base ? c->base + at : NULL, slice, c->width);
		got = compress_into(cctx, dst, bound, grouped, slice, candidate_level(c, level));
		if (got == (size_t)-1)
			return (size_t)-1;
		total += got;
	}
	return total;
}

int codec_encode_scratch(struct buf *out, struct buf *scratch, enum codec_kind *kind_out,
			 const struct lepton_oid *chunk, const void *data, size_t len,
			 const struct codec_hint *hint)
{
	struct frame_header h = { .encoding = FRAME_RAW, .raw_len = len, .payload_len = len };
	struct candidate cands[3], *best = NULL;
	size_t nr = 0, start = out->len, full_best = (size_t)-1;
	unsigned char header[FRAME_MAX_HEADER];
	unsigned char trailer[FRAME_TRAILER_SIZE];
	int level = hint ? hint->level : 0;
	unsigned width = hint ? hint->width : 0;
	const struct codec_base *base = hint ? hint->base : NULL;
	ZSTD_CCtx *cctx = NULL;
	int err = 0;

	h.chunk = *chunk;
	if (width != 2 && width != 4 && width != 8)
		width = 1;
	if (level > 0 && len >= 64) {
		cands[nr++] = (struct candidate){ .kind = CODEC_ZSTD, .width = 1 };
		if (width > 1 && len <= CODEC_MAX_CHUNK)
			cands[nr++] = (struct candidate){ .kind = CODEC_GROUPED, .width = width };
		if (base && base->len == len && base->depth < CODEC_MAX_CHAIN &&
		    len <= CODEC_MAX_CHUNK)
			cands[nr++] = (struct candidate){ .kind = CODEC_DELTA,
							  .width = width,
							  .base = base->data };
	}
	if (nr) {
		if (!(cctx = ZSTD_createCCtx())) {
			err = lepton_error_set(LEPTON_ERR, "cannot allocate a zstd context");
			goto done;
		}
		for (size_t i = 0; i < nr; i++) {
			cands[i].estimate =
			    nr == 1 ? 0 : estimate(cctx, scratch, &cands[i], data, len, level);
			if (cands[i].kind != CODEC_DELTA && cands[i].estimate < full_best) {
				full_best = cands[i].estimate;
				best = &cands[i];
			}
		}
		if (nr > 1 && cands[nr - 1].kind == CODEC_DELTA &&
		    cands[nr - 1].estimate < full_best - (full_best >> CODEC_DELTA_GAIN_SHIFT))
			best = &cands[nr - 1];
		/* nothing saved a byte on the sample: do not compress it all to
		 * learn the same (incompressible data goes raw at memcpy speed) */
		if (nr > 1 && best && best->estimate >= sample_size(len))
			best = NULL;
	}

	if (best) {
		h.encoding = best->kind;
		h.width = best->kind == CODEC_ZSTD ? 0 : best->width;
		if (best->kind == CODEC_DELTA) {
			h.flags = FRAME_HAS_BASE;
			h.base = base->id;
			h.depth = base->depth + 1;
		}
	}
	frame_header_write(header, &h);
	if ((err = buf_add(out, header, h.header_len)))
		goto done;
	if (best) {
		const unsigned char *src = data;
		size_t bound = ZSTD_compressBound(len), got;
		if (best->kind != CODEC_ZSTD) {
			buf_reset(scratch);
			buf_grow(scratch, best->base ? 2 * len : len);
			transform((unsigned char *)scratch->data,
				  (unsigned char *)scratch->data + len, data, best->base, len,
				  best->width);
			src = (unsigned char *)scratch->data;
		}
		if ((err = buf_grow(out, bound)))
			goto done;
		got = compress_into(cctx, out->data + out->len, bound, src, len,
				    candidate_level(best, level));
		if (got != (size_t)-1 && got < len - len / 32) {
			h.payload_len = got;
			buf_setlen(out, out->len + got);
			frame_header_write((unsigned char *)out->data + start, &h);
			goto trailer;
		}
		/* not worth it: a raw frame after all */
		h = (struct frame_header){ .encoding = FRAME_RAW,
					   .raw_len = len,
					   .payload_len = len };
		h.chunk = *chunk;
		buf_setlen(out, start);
		frame_header_write(header, &h);
		if ((err = buf_add(out, header, h.header_len)))
			goto done;
	}
	if ((err = buf_add(out, data, len)))
		goto done;
trailer:
	put_le64(trailer, xxh3_64(out->data + start, out->len - start));
	if ((err = buf_add(out, trailer, sizeof(trailer))))
		goto done;
	if (kind_out)
		*kind_out = (enum codec_kind)h.encoding;
done:
	if (err)
		buf_setlen(out, start);
	ZSTD_freeCCtx(cctx);
	return err;
}

int codec_encode(struct buf *out, enum codec_kind *kind_out, const struct lepton_oid *chunk,
		 const void *data, size_t len, const struct codec_hint *hint)
{
	struct buf scratch = BUF_INIT;
	int err = codec_encode_scratch(out, &scratch, kind_out, chunk, data, len, hint);
	buf_release(&scratch);
	return err;
}

/* ---- decoding ----------------------------------------------------------- */

static int decompress(unsigned char *dst, const struct frame_header *h,
		      const unsigned char *payload)
{
	size_t got = ZSTD_decompress(dst, h->raw_len, payload, h->payload_len);
	if (ZSTD_isError(got) || got != h->raw_len)
		return lepton_error_set(LEPTON_ECORRUPT, "cannot decompress: %s",
					ZSTD_isError(got) ? ZSTD_getErrorName(got)
							  : "wrong length");
	return 0;
}

int codec_decode_scratch(struct buf *out, struct buf *scratch, const unsigned char *frame,
			 size_t len, const struct lepton_oid *expect, const void *base,
			 size_t base_len)
{
	struct frame_header h;
	char hex[OID_HEXSZ + 1];
	const unsigned char *payload;
	int err = frame_header_parse(&h, frame, len);

	if (err)
		return err;
	if (expect && oid_cmp(&h.chunk, expect))
		return lepton_error_set(LEPTON_ECORRUPT, "frame of chunk '%s' holds another chunk",
					oid_to_hex(hex, expect));
	if (frame_total_size(&h) != len)
		return lepton_error_set(LEPTON_ECORRUPT, "frame length mismatch");
	if (xxh3_64(frame, len - FRAME_TRAILER_SIZE) != get_le64(frame + len - FRAME_TRAILER_SIZE))
		return lepton_error_set(LEPTON_ECORRUPT, "checksum mismatch");
	payload = frame + h.header_len;

	if (h.encoding == FRAME_RAW)
		return buf_add(out, payload, h.payload_len);
	if (h.encoding > FRAME_DELTA)
		return lepton_error_set(LEPTON_ECORRUPT,
					"encoding %u is not supported by this version; "
					"upgrade git-lepton",
					h.encoding);
	/* a zstd block gives at most ZSTD_BLOCKSIZE_MAX bytes and takes at
	 * least 4: refuse a raw length the payload cannot hold before
	 * allocating it (a 64-byte frame could ask for 1 TiB) */
	if (h.raw_len / ZSTD_BLOCKSIZE_MAX > h.payload_len / 4 + 1)
		return lepton_error_set(LEPTON_ECORRUPT,
					"frame raw length is out of range for its payload");
	if (h.encoding == FRAME_ZSTD) {
		if ((err = buf_grow(out, h.raw_len)))
			return err;
		if ((err = decompress((unsigned char *)out->data + out->len, &h, payload)))
			return err;
		buf_setlen(out, out->len + h.raw_len);
		return 0;
	}

	if (h.raw_len > CODEC_MAX_CHUNK)
		return lepton_error_set(LEPTON_ECORRUPT, "frame raw length is out of range");
	if (h.encoding == FRAME_DELTA) {
		if (h.depth > CODEC_MAX_CHAIN)
			return lepton_error_set(LEPTON_ECORRUPT,
						"delta chain of depth %u is deeper than %d",
						h.depth, CODEC_MAX_CHAIN);
		if (!base)
			return lepton_error_set(LEPTON_ENOTFOUND,
						"delta frame needs its base chunk '%s'",
						oid_to_hex(hex, &h.base));
		if (base_len != h.raw_len)
			return lepton_error_set(
			    LEPTON_ECORRUPT, "base chunk '%s' has the wrong length for the delta",
			    oid_to_hex(hex, &h.base));
	}
	buf_reset(scratch);
	if ((err = buf_grow(scratch, h.raw_len)) || (err = buf_grow(out, h.raw_len)))
		return err;
	if ((err = decompress((unsigned char *)scratch->data, &h, payload)))
		return err;
	codec_ungroup((unsigned char *)out->data + out->len, (unsigned char *)scratch->data,
		      h.raw_len, h.width, h.encoding == FRAME_DELTA ? base : NULL);
	buf_setlen(out, out->len + h.raw_len);
	return 0;
}

int codec_decode(struct buf *out, const unsigned char *frame, size_t len,
		 const struct lepton_oid *expect, const void *base, size_t base_len)
{
	struct buf scratch = BUF_INIT;
	int err = codec_decode_scratch(out, &scratch, frame, len, expect, base, base_len);
	buf_release(&scratch);
	return err;
}
