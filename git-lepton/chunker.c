/* The store writer's cutter: see chunker.h. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chunker.h"
#include "error.h"
#include "hash.h"
#include "banned.h"

enum region_kind { REGION_FIXED, REGION_CDC };

struct chunk_region {
	uint64_t start, end; /* end UINT64_MAX: up to the end of the stream */
	long tensor;
	uint32_t n_tensors; /* > 1: a group of small tensors */
	int open_group;     /* small tensors may still join */
	enum region_kind kind;
};

static void add_region(struct chunker *c, size_t *alloc, uint64_t start, uint64_t end, long tensor,
		       enum region_kind kind)
{
	if (start >= end)
		return;
	if (c->n_regions == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 8;
		c->regions = xrealloc(c->regions, *alloc * sizeof(*c->regions));
	}
	c->regions[c->n_regions].start = start;
	c->regions[c->n_regions].end = end;
	c->regions[c->n_regions].tensor = tensor;
	c->regions[c->n_regions].kind = kind;
	c->regions[c->n_regions].n_tensors = tensor >= 0;
	c->regions[c->n_regions].open_group = 0;
	c->n_regions++;
}

int chunker_init_sizes(struct chunker *c, const struct model_info *m, size_t min, size_t avg,
		       size_t max)
{
	size_t alloc = 0;
	uint64_t at = 0;
	int ret;

	memset(c, 0, sizeof(*c));
	if (max > CHUNK_MAX)
		return lepton_error_set(LEPTON_EINVALID, "chunk size %zu is over the maximum %u",
					max, CHUNK_MAX);
	if ((ret = fastcdc_init(&c->cdc, min, avg, max)))
		return ret;
	if (m && m->format != MODEL_OPAQUE) {
		add_region(c, &alloc, 0, m->header_size, -1, REGION_FIXED);
		at = m->header_size;
		for (size_t i = 0; i < m->n_tensors; i++) {
			const struct model_tensor *t = &m->tensors[i];
			uint64_t start = t->offset, end = t->offset + t->size;
			if (end <= at)
				continue; /* empty (or, in a bad header, inside another) */
			if (start < at)
				start = at;
			if (start > at) {
				struct chunk_region *prev =
				    c->n_regions ? &c->regions[c->n_regions - 1] : NULL;
				if (prev && prev->tensor >= 0 && start - at < m->alignment)
					prev->end = start; /* padding after the previous tensor */
				else
					add_region(c, &alloc, at, start, -1, REGION_CDC);
			}
			at = end;
			if (t->size < CHUNK_SMALL_TENSOR) {
				struct chunk_region *prev =
				    c->n_regions ? &c->regions[c->n_regions - 1] : NULL;
				if (prev && prev->open_group && prev->end == start &&
				    end - prev->start <= CHUNK_GROUP_MAX) {
					prev->end = end;
					prev->n_tensors++;
				} else {
					add_region(c, &alloc, start, end, (long)i, REGION_FIXED);
					prev = &c->regions[c->n_regions - 1];
				}
				/* a group ends after a tensor whose name says so: which
				 * tensors share a chunk depends on names, not positions */
				prev->open_group =
				    xxh3_64(t->name, strlen(t->name)) % CHUNK_GROUP_SPREAD != 0;
				continue;
			}
			add_region(c, &alloc, start, end, (long)i, REGION_FIXED);
		}
	}
	add_region(c, &alloc, at, UINT64_MAX, -1, REGION_CDC);
	return 0;
}

int chunker_init(struct chunker *c, const struct model_info *m)
{
	return chunker_init_sizes(c, m, 0, 0, 0);
}

void chunker_release(struct chunker *c)
{
	free(c->regions);
	memset(c, 0, sizeof(*c));
}

static void emit(struct chunker *c, const struct chunk_region *r, struct chunk_span *out)
{
	out->offset = c->chunk_start;
	out->len = c->pos - c->chunk_start;
	out->tensor = r->tensor;
	out->n_tensors = r->n_tensors;
	out->slice = c->slice++;
	c->chunk_start = c->pos;
	fastcdc_reset(&c->cdc);
	if (c->pos == r->end) {
		c->cur++;
		c->slice = 0;
	}
}

size_t chunker_next_cut(struct chunker *c, const unsigned char *data, size_t len, int at_eof,
			struct chunk_span *out)
{
	const struct chunk_region *r = &c->regions[c->cur];
	uint64_t room = r->end - c->pos;
	size_t n, take = len;
	int cut = 0;

	memset(out, 0, sizeof(*out));
	out->tensor = -1;
	if (take > room)
		take = (size_t)room;
	if (r->kind == REGION_FIXED) {
		uint64_t slice_end = c->chunk_start + CHUNK_TENSOR_SLICE;
		if (slice_end > r->end)
			slice_end = r->end;
		if (take > slice_end - c->pos)
			take = (size_t)(slice_end - c->pos);
		n = take;
		cut = c->pos + n == slice_end;
	} else {
		n = fastcdc_next(&c->cdc, data, take, &cut);
	}
	c->pos += n;
	if (c->pos == r->end)
		cut = 1;
	if (cut || (at_eof && n == len && c->pos > c->chunk_start))
		emit(c, r, out);
	return n;
}
