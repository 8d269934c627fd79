#ifndef LEPTON_CODEC_H
#define LEPTON_CODEC_H

#include <stddef.h>

#include "buf.h"
#include "frame.h"
#include "hash.h"

/*
 * The chunk codec: how a chunk's bytes become a frame's payload and back.
 *
 *   raw      the bytes as they are
 *   zstd     one zstd frame of the bytes
 *   grouped  float data of element width w (2, 4 or 8) split into w byte
 *            streams (byte i of every element into stream i, the tail that
 *            is not a whole element after them), then one zstd frame: the
 *            exponent-bearing stream compresses, the mantissa ones do not
 *            get in its way
 *   delta    the XOR of the chunk with a base chunk of the same length (the
 *            same tensor slice in the previous version), grouped by w
 *            (1: not grouped), then one zstd frame
 *
 * docs/FORMAT.md has the byte layout.  A delta frame names its base and
 * its depth in the chain (1 + the base's depth; a full frame has depth 0).
 * Chains are bounded: the encoder never writes a depth above
 * CODEC_MAX_CHAIN and decoding refuses one, so a chunk decodes from at most
 * CODEC_MAX_CHAIN + 1 frames.
 */

#define CODEC_MAX_CHAIN 8
/* The largest chunk the grouped and delta encodings take (and decoding of
 * them accepts): it bounds what an untrusted header can make a reader
 * allocate.  Larger chunks are stored raw or zstd. */
#define CODEC_MAX_CHUNK (16u << 20)

enum codec_kind {
	CODEC_RAW = FRAME_RAW,
	CODEC_ZSTD = FRAME_ZSTD,
	CODEC_GROUPED = FRAME_GROUPED,
	CODEC_DELTA = FRAME_DELTA,
};

/* The base chunk a delta may be taken against: its id, its decoded bytes
 * (borrowed for the call) and its own depth. */
struct codec_base {
	struct lepton_oid id;
	const void *data;
	size_t len;
	unsigned depth;
};

/*
 * What the caller knows about a chunk.  level: zstd level, 0 stores raw
 * (no other candidate is tried).  width: element width of float data (2
 * for bf16/f16, 4 for f32, 8 for f64), 0 or 1 when the chunk is not float
 * data.  base: NULL, or a candidate base for a delta.
 */
struct codec_hint {
	int level;
	unsigned width;
	const struct codec_base *base;
};

/*
 * Encode a chunk as a whole frame (header, payload, trailer) appended to
 * out; chunk is the SHA-256 of data.  The candidates that make sense for
 * the hint are tried (on a sample first for large chunks) and the
 * smallest kept; a compressed form is kept only when it saves at least
 * 1/32 of the bytes.  A delta is tried only when the base has the same
 * length and its depth is below CODEC_MAX_CHAIN.  kind_out, when not
 * NULL, gets the encoding chosen.
 */
int codec_encode(struct buf *out, enum codec_kind *kind_out, const struct lepton_oid *chunk,
		 const void *data, size_t len, const struct codec_hint *hint);

/* The same with a caller's scratch buffer, reused across calls (up to two
 * chunks of room), so that a writer does not allocate per chunk. */
int codec_encode_scratch(struct buf *out, struct buf *scratch, enum codec_kind *kind_out,
			 const struct lepton_oid *chunk, const void *data, size_t len,
			 const struct codec_hint *hint);

/*
 * Check a whole frame in memory (header, XXH3 trailer, bounds) and decode
 * it into out (appended).  The chunk id in the header must equal expect
 * when expect is not NULL.  A delta frame needs its base's decoded bytes
 * in base/base_len (the caller fetched the chunk the header names);
 * without them it is LEPTON_ENOTFOUND, with the wrong length
 * LEPTON_ECORRUPT.  This does not hash the result: a caller that needs the
 * chunk verified compares its SHA-256 (a wrong base gives other bytes).
 */
int codec_decode(struct buf *out, const unsigned char *frame, size_t len,
		 const struct lepton_oid *expect, const void *base, size_t base_len);

/* The same with a caller's scratch buffer, reused across calls (decoding
 * a grouped or delta frame needs one chunk of room besides out). */
int codec_decode_scratch(struct buf *out, struct buf *scratch, const unsigned char *frame,
			 size_t len, const struct lepton_oid *expect, const void *base,
			 size_t base_len);

/* Byte grouping of len bytes with element width w (1..8): out and in do
 * not overlap.  codec_ungroup() undoes codec_group(); with xor not NULL it
 * XORs the result with xor[0..len) as it writes it. */
void codec_group(unsigned char *out, const unsigned char *in, size_t len, unsigned width);
void codec_ungroup(unsigned char *out, const unsigned char *in, size_t len, unsigned width,
		   const unsigned char * xor);

/* Name of an encoding for messages and statistics ("raw", "zstd", ...). */
const char *codec_kind_name(enum codec_kind kind);

#endif
