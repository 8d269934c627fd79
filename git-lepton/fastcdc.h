#ifndef LEPTON_FASTCDC_H
#define LEPTON_FASTCDC_H

#include <stddef.h>
#include <stdint.h>

/*
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016): a gear
 * rolling hash, cut-point skipping below the minimum size, and normalized
 * chunking at level 2 (a mask with two more bits before the average size,
 * two fewer after it), so chunk sizes cluster around the average and a cut
 * depends only on the bytes just before it: an edit moves the cuts near
 * it and no others.
 *
 * The gear table is generated from a fixed seed (splitmix64), so cuts are
 * the same on every machine and every run: they are part of what the
 * store deduplicates against.
 *
 * Streaming: feed the bytes of a stream in pieces of any size; the state
 * carries over between calls, so the result does not depend on how the
 * stream is split.
 *
 *   struct fastcdc f;
 *   fastcdc_init(&f, 0, 0, 0);                 defaults
 *   while (len) {
 *           int cut;
 *           size_t n = fastcdc_next(&f, data, len, &cut);
 *           ... the n bytes belong to the current chunk; if cut, it ends there
 *           data += n, len -= n;
 *   }
 *   the last chunk ends at the end of the stream
 */

#define FASTCDC_MIN_DEFAULT (256u << 10)
#define FASTCDC_AVG_DEFAULT (1u << 20)
#define FASTCDC_MAX_DEFAULT (4u << 20)

struct fastcdc {
	size_t min, avg, max;
	uint64_t mask_s, mask_l; /* before and after the average size */
	uint64_t hash;
	size_t pos; /* bytes of the current chunk seen so far */
};

/*
 * Sizes in bytes; 0 takes the default.  Needs 64 <= min < avg < max; avg is
 * rounded down to a power of two for the masks.  LEPTON_EINVALID (message
 * set) otherwise.
 */
int fastcdc_init(struct fastcdc *f, size_t min, size_t avg, size_t max);

/* Forget the current chunk: the next byte starts a new one. */
void fastcdc_reset(struct fastcdc *f);

/*
 * Scan data, which continues the current chunk.  Returns how many bytes
 * belong to it (at least 1 when len > 0).  *cut is 1 when the chunk ends
 * after them (the state is then reset for the next chunk), 0 when all of
 * data was taken and the chunk goes on.
 */
size_t fastcdc_next(struct fastcdc *f, const unsigned char *data, size_t len, int *cut);

/* The 256 gear values (for tests). */
const uint64_t *fastcdc_gear(void);

#endif
