#ifndef LEPTON_CHUNKER_H
#define LEPTON_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "fastcdc.h"
#include "model.h"

/*
 * The streaming cutter of the store writer: where a file's chunks begin
 * and end, from its bytes and (when it is a model) its parsed header.
 *
 * Rules (docs/NOTES.md has the reasons):
 *   - the header [0, header_size) is its own chunk (cut every
 *     CHUNK_TENSOR_SLICE bytes when it is larger), tensor -1;
 *   - each tensor is cut into slices of CHUNK_TENSOR_SLICE bytes counted
 *     from its own first byte, so resizing, adding or removing one tensor
 *     moves no other tensor's chunks; GGUF padding after a tensor (less
 *     than the alignment) goes with the tensor's last slice;
 *   - tensors under CHUNK_SMALL_TENSOR that follow each other share a
 *     chunk of at most CHUNK_GROUP_MAX bytes; a group ends after a tensor
 *     whose name hashes to 0 modulo CHUNK_GROUP_SPREAD (so about 16
 *     tensors a group), so adding or removing a small tensor changes only
 *     the group it is in (a model of 100,000 tiny tensors would otherwise
 *     cost 100,000 chunks);
 *   - any other bytes (an opaque file, a gap between tensors, bytes after
 *     the last tensor) are cut by FastCDC, tensor -1.
 * No chunk is empty or longer than CHUNK_MAX (= STORE_CHUNK_SIZE).  A
 * stream shorter than the header says still gets its bytes cut; the last
 * chunk ends at the end of the stream.
 *
 *   struct chunker c;
 *   chunker_init(&c, &info);                   or NULL: opaque
 *   for each piece of the stream (data, len), then once with at_eof:
 *           while (len || at_eof) {
 *                   size_t n = chunker_next_cut(&c, data, len, at_eof, &span);
 *                   ... the n bytes go to the current chunk
 *                   if (span.len) ... the current chunk ends here: span says what it is
 *                   else if (at_eof && !n) break;
 *                   data += n, len -= n;
 *           }
 *   chunker_release(&c);
 */

#define CHUNK_TENSOR_SLICE (4u << 20)
#define CHUNK_MAX          (4u << 20)
#define CHUNK_SMALL_TENSOR (64u << 10)
#define CHUNK_GROUP_MAX    (1u << 20)
#define CHUNK_GROUP_SPREAD 16

struct chunk_span {
	uint64_t offset;    /* in the file */
	uint64_t len;       /* 0: no chunk ended */
	long tensor;        /* index in model_info.tensors (the first one of a group), -1
			       for header, gaps, opaque bytes */
	uint32_t n_tensors; /* tensors in the chunk: 1, more for a group of small ones, 0 */
	uint32_t slice;     /* number of this chunk within its tensor (or region) */
};

struct chunk_region; /* internal */

struct chunker {
	struct chunk_region *regions;
	size_t n_regions, cur;
	struct fastcdc cdc;
	uint64_t pos;         /* file offset of the next byte */
	uint64_t chunk_start; /* file offset where the current chunk began */
	uint32_t slice;
};

/* m may be NULL or MODEL_OPAQUE: FastCDC over everything.  The chunker
 * copies what it needs; m may be released afterwards.  0, or
 * LEPTON_EINVALID for bad FastCDC sizes. */
int chunker_init(struct chunker *c, const struct model_info *m);
/* The same with FastCDC sizes of one's own (0: default) for opaque bytes;
 * max must be at most CHUNK_MAX. */
int chunker_init_sizes(struct chunker *c, const struct model_info *m, size_t min, size_t avg,
		       size_t max);
void chunker_release(struct chunker *c);

/*
 * Take bytes of the stream that follow what was taken before.  Returns how
 * many of data[0..len) belong to the current chunk.  out->len is non-zero
 * when the chunk ends after them (out describes it), 0 when the chunk goes
 * on.  With at_eof, the stream ends after data: call until the result is
 * 0 and out->len is 0 (the last chunk comes out when the bytes are taken).
 */
size_t chunker_next_cut(struct chunker *c, const unsigned char *data, size_t len, int at_eof,
			struct chunk_span *out);

#endif
