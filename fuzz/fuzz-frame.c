/*
 * Fuzz frame_header_parse() and frame_decode() on any bytes, with and
 * without an expected chunk id, as they are and with the XXH3 trailer made
 * right (so that the fuzzer reaches the payload).  Decoding a frame must
 * give exactly raw_len bytes, and must refuse a frame of another chunk.
 * Then the bytes are encoded as a chunk, raw and with zstd, and must
 * decode back to themselves.
 */
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "frame.h"
#include "fuzz.h"

static void decode(const unsigned char *data, size_t size)
{
	struct frame_header h;
	struct lepton_oid other;
	struct buf out = BUF_INIT;
	int parsed = !frame_header_parse(&h, data, size);

	if (parsed && (h.header_len != FRAME_HEADER_SIZE &&
		       h.header_len != FRAME_HEADER_SIZE + FRAME_BASE_SIZE &&
		       h.header_len != FRAME_HEADER_SIZE + FRAME_BASE2_SIZE))
		fuzz_fail("frame_header_parse gave a bad header length");

	if (!frame_decode(&out, data, size, NULL)) {
		if (!parsed)
			fuzz_fail("a frame with a bad header decoded");
		if (out.len != h.raw_len)
			fuzz_fail("a decoded frame has the wrong length");
	}
	buf_release(&out);
	if (!parsed)
		return;

	if (!frame_decode(&out, data, size, &h.chunk) && out.len != h.raw_len)
		fuzz_fail("a decoded frame has the wrong length");
	buf_release(&out);

	other = h.chunk;
	other.hash[OID_RAWSZ - 1] ^= 1;
	if (!frame_decode(&out, data, size, &other))
		fuzz_fail("a frame decoded as another chunk");
	buf_release(&out);
}

static void encode(const unsigned char *data, size_t size, int level)
{
	struct lepton_oid chunk;
	struct buf frame = BUF_INIT, out = BUF_INIT;

	sha256_buffer(&chunk, data, size);
	if (frame_encode(&frame, &chunk, data, size, level))
		fuzz_fail("frame_encode failed");
	if (frame_decode(&out, (const unsigned char *)frame.data, frame.len, &chunk))
		fuzz_fail("an encoded frame does not decode");
	if (out.len != size || memcmp(out.data, data, size))
		fuzz_fail("an encoded frame decodes to other bytes");
	buf_release(&frame);
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *fixed;

	/* an exact-size heap copy, so that the sanitizer sees any overread */
	fixed = xmalloc(size);
	memcpy(fixed, data, size);
	decode(fixed, size);
	if (size >= FRAME_HEADER_SIZE + FRAME_TRAILER_SIZE) {
		fix_trailer(fixed, size);
		decode(fixed, size);
	}
	encode(fixed, size, 0);
	encode(fixed, size, 1);
	free(fixed);
	return 0;
}
