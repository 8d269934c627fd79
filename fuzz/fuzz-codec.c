/*
 * Fuzz codec_decode() on any bytes taken as a frame, with the fixed base of
 * codec-base.h (so delta frames reach their payload), as they are and with
 * the XXH3 trailer made right.  A decoded frame must give exactly raw_len
 * bytes, and a delta must never decode without its base.  Then the bytes
 * are encoded as a chunk with each element width, against the base's
 * first bytes, and must decode back to themselves.
 */
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "codec-base.h"
#include "frame.h"
#include "fuzz.h"
#include "hash.h"

static unsigned char base[FUZZ_BASE_LEN];

static void decode(const unsigned char *data, size_t size)
{
	struct frame_header h;
	struct buf out = BUF_INIT, scratch = BUF_INIT;
	int parsed = !frame_header_parse(&h, data, size);
	size_t base_len = parsed && h.raw_len <= FUZZ_BASE_LEN ? (size_t)h.raw_len : FUZZ_BASE_LEN;

	if (parsed && h.header_len != FRAME_HEADER_SIZE &&
	    h.header_len != FRAME_HEADER_SIZE + FRAME_BASE_SIZE &&
	    h.header_len != FRAME_HEADER_SIZE + FRAME_BASE2_SIZE)
		fuzz_fail("frame_header_parse gave a bad header length");
	if (!codec_decode_scratch(&out, &scratch, data, size, NULL, base, base_len)) {
		if (!parsed)
			fuzz_fail("a frame with a bad header decoded");
		if (out.len != h.raw_len)
			fuzz_fail("a decoded frame has the wrong length");
		if (h.encoding == FRAME_DELTA && h.depth > CODEC_MAX_CHAIN)
			fuzz_fail("a delta deeper than the bound decoded");
	}
	buf_reset(&out);
	if (!codec_decode(&out, data, size, NULL, NULL, 0) && parsed && h.encoding == FRAME_DELTA)
		fuzz_fail("a delta decoded without its base");
	buf_release(&out);
	buf_release(&scratch);
}

static void encode(const unsigned char *data, size_t size, unsigned width)
{
	struct codec_base b = { .data = base, .len = size, .depth = width % CODEC_MAX_CHAIN };
	struct codec_hint hint = { .level = 1,
				   .width = width,
				   .base = size <= FUZZ_BASE_LEN ? &b : NULL };
	struct lepton_oid chunk;
	struct buf frame = BUF_INIT, out = BUF_INIT;
	enum codec_kind kind;

	sha256_buffer(&chunk, data, size);
	sha256_buffer(&b.id, base, size <= FUZZ_BASE_LEN ? size : 0);
	if (codec_encode(&frame, &kind, &chunk, data, size, &hint))
		fuzz_fail("codec_encode failed");
	if (codec_decode(&out, (const unsigned char *)frame.data, frame.len, &chunk,
			 kind == CODEC_DELTA ? base : NULL, kind == CODEC_DELTA ? size : 0))
		fuzz_fail("an encoded frame does not decode");
	if (out.len != size || memcmp(out.data, data, size))
		fuzz_fail("an encoded frame decodes to other bytes");
	buf_release(&frame);
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned widths[] = { 0, 2, 4, 8 };
	unsigned char *fixed;

	if (!base[1])
		fuzz_codec_base(base, sizeof(base));
	/* an exact-size heap copy, so that the sanitizer sees any overread */
	fixed = xmalloc(size);
	memcpy(fixed, data, size);
	decode(fixed, size);
	if (size >= FRAME_HEADER_SIZE + FRAME_TRAILER_SIZE) {
		fix_trailer(fixed, size);
		decode(fixed, size);
	}
	memcpy(fixed, data, size);
	encode(fixed, size, widths[size % 4]);
	free(fixed);
	return 0;
}
