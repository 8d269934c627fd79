#ifndef LEPTON_FRAME_H
#define LEPTON_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

/*
 * A frame is one stored chunk: a header, the payload (the chunk's bytes as
 * encoded) and an XXH3-64 of header and payload.  docs/FORMAT.md has the
 * byte layout.  Frames are immutable and named by their chunk's SHA-256.
 */

#define FRAME_MAGIC "LFRM"
/*
 * Version 1 frames hold raw and zstd payloads; version 2 adds the grouped
 * and delta encodings and a chain depth after the base id.  Writers write
 * version 1 whenever the encoding allows, so stores without the new
 * encodings stay readable by older readers.
 */
#define FRAME_VERSION_1    1
#define FRAME_VERSION      2
#define FRAME_HEADER_SIZE  56
#define FRAME_BASE_SIZE    32 /* version 1: base chunk id, after the header, when FRAME_HAS_BASE */
#define FRAME_BASE2_SIZE   40 /* version 2: base chunk id, depth byte, 7 reserved zero bytes */
#define FRAME_MAX_HEADER   (FRAME_HEADER_SIZE + FRAME_BASE2_SIZE)
#define FRAME_TRAILER_SIZE 8

enum frame_encoding {
	FRAME_RAW = 0,     /* payload is the chunk */
	FRAME_ZSTD = 1,    /* payload is one zstd frame of the chunk */
	FRAME_GROUPED = 2, /* version 2: zstd of the chunk byte-grouped by width */
	FRAME_DELTA = 3,   /* version 2: zstd of (chunk XOR base) byte-grouped by width */
};

#define FRAME_HAS_BASE 0x01

struct frame_header {
	unsigned version, encoding, width, flags;
	unsigned depth; /* delta chain depth: 0 for a full frame */
	uint64_t raw_len, payload_len;
	struct lepton_oid chunk, base;
	size_t header_len; /* FRAME_HEADER_SIZE, plus the base section with a base */
};

/* Total stored size of a frame from its header. */
static inline uint64_t frame_total_size(const struct frame_header *h)
{
	return h->header_len + h->payload_len + FRAME_TRAILER_SIZE;
}

/* Serialise h into out (h->header_len bytes, at most FRAME_MAX_HEADER).
 * The version is the lowest that holds the encoding: 1 for raw and zstd
 * without a base, else 2. */
void frame_header_write(unsigned char *out, struct frame_header *h);

/* Parse a header from p[0..len); LEPTON_ECORRUPT if it is not one (bad
 * magic, unknown version or flags, a width or depth the encoding does not
 * allow, sizes out of range).  Does not check the trailer. */
int frame_header_parse(struct frame_header *out, const unsigned char *p, size_t len);

/*
 * Check a whole frame in memory (header, XXH3 trailer) and decode its
 * payload into out (appended; out must have no limit below raw_len).  The
 * chunk id in the header must equal expect when expect is not NULL.
 * Returns LEPTON_ECORRUPT on any mismatch; the caller names the chunk.
 * A delta frame needs its base: use codec_decode() (this gives
 * LEPTON_ENOTFOUND for one).
 */
int frame_decode(struct buf *out, const unsigned char *frame, size_t len,
		 const struct lepton_oid *expect);

/*
 * Encode a chunk as a frame: header, payload and trailer appended to out.
 * level 0 stores raw; a positive zstd level compresses and keeps the
 * compressed form only when it saves at least 1/32 of the bytes.  The
 * same as codec_encode() without an element width or a base.
 */
int frame_encode(struct buf *out, const struct lepton_oid *chunk, const void *data, size_t len,
		 int level);

#endif
