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

#define FRAME_MAGIC        "LFRM"
#define FRAME_VERSION      1
#define FRAME_HEADER_SIZE  56
#define FRAME_BASE_SIZE    32 /* base chunk id, after the header, when FRAME_HAS_BASE */
#define FRAME_TRAILER_SIZE 8

enum frame_encoding {
	FRAME_RAW = 0,  /* payload is the chunk */
	FRAME_ZSTD = 1, /* payload is one zstd frame of the chunk */
			/* 2 and up: reserved for byte-grouped and delta encodings */
};

#define FRAME_HAS_BASE 0x01

struct frame_header {
	unsigned encoding, width, flags;
	uint64_t raw_len, payload_len;
	struct lepton_oid chunk, base;
	size_t header_len; /* FRAME_HEADER_SIZE, plus FRAME_BASE_SIZE with a base */
};

/* Total stored size of a frame from its header. */
static inline uint64_t frame_total_size(const struct frame_header *h)
{
	return h->header_len + h->payload_len + FRAME_TRAILER_SIZE;
}

/* Serialise h into out (h->header_len bytes, at most 88). */
void frame_header_write(unsigned char *out, struct frame_header *h);

/* Parse a header from p[0..len); LEPTON_ECORRUPT if it is not one.  Does
 * not check the trailer. */
int frame_header_parse(struct frame_header *out, const unsigned char *p, size_t len);

/*
 * Check a whole frame in memory (header, XXH3 trailer) and decode its
 * payload into out (appended; out must have no limit below raw_len).  The
 * chunk id in the header must equal expect when expect is not NULL.
 * Returns LEPTON_ECORRUPT on any mismatch; the caller names the chunk.
 */
int frame_decode(struct buf *out, const unsigned char *frame, size_t len,
		 const struct lepton_oid *expect);

/*
 * Encode a chunk as a frame: header, payload and trailer appended to out.
 * level 0 stores raw; a positive zstd level compresses and keeps the
 * compressed form only when it saves at least 1/32 of the bytes.
 */
int frame_encode(struct buf *out, const struct lepton_oid *chunk, const void *data, size_t len,
		 int level);

#endif
