#ifndef LEPTON_TENSORMAP_H
#define LEPTON_TENSORMAP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "model.h"

/*
 * The tensor map of a parsed model: what each chunk of its recipe holds,
 * one entry per chunk in recipe order.  It lives in the recipe's extension
 * section RECIPE_SECTION_TENSOR_MAP (docs/FORMAT.md has the bytes, version
 * TENSOR_MAP_VERSION).  The store writer records it when the file's header
 * parsed and its size checked out; the next version's writer reads it to
 * find, for each tensor slice, the chunk of the same slice in the previous
 * version (the base of an XOR delta), and `git lepton stats` reads it.
 */

#define TENSOR_MAP_VERSION   1
#define TENSOR_MAP_MAX_DTYPE 15
#define TENSOR_MAP_MAX_NAME  65535

enum tensor_map_kind {
	TMAP_BYTES = 0,  /* bytes of no tensor: a gap, trailing bytes */
	TMAP_HEADER = 1, /* the file's header */
	TMAP_TENSOR = 2, /* one slice of one tensor */
	TMAP_GROUP = 3,  /* small tensors sharing a chunk: name, dtype, shape of the first */
};

struct tensor_map_entry {
	enum tensor_map_kind kind;
	uint32_t slice;     /* number of the chunk within its tensor or region */
	uint32_t n_tensors; /* 1 for a slice, the count for a group, 0 otherwise */
	unsigned ndim;
	uint64_t shape[MODEL_MAX_DIMS];
	char dtype[TENSOR_MAP_MAX_DTYPE + 1]; /* "" for bytes and the header */
	char *name;                           /* owned; "" for bytes and the header */
};

struct tensor_map {
	size_t nr, alloc;
	struct tensor_map_entry *entries;
};

#define TENSOR_MAP_INIT \
	{               \
		.nr = 0 \
	}

void tensor_map_init(struct tensor_map *m);
void tensor_map_release(struct tensor_map *m);
/* Append a copy of e (its name is copied; NULL is ""). */
void tensor_map_add(struct tensor_map *m, const struct tensor_map_entry *e);
/* Append the section's payload to out. */
void tensor_map_encode(struct buf *out, const struct tensor_map *m);
/* Parse a section's payload; LEPTON_ECORRUPT (m empty) when it is not
 * one, LEPTON_EINVALID for a version this reader does not know. */
int tensor_map_parse(struct tensor_map *m, const unsigned char *data, size_t len);

/* The key that says two chunks hold the same part of the same tensor
 * (kind, name, dtype, shape, slice, n_tensors); 0 for entries that have
 * none (bytes, header). */
uint64_t tensor_map_key(const struct tensor_map_entry *e);
/* 1 if a and b hold the same part of the same tensor. */
int tensor_map_same(const struct tensor_map_entry *a, const struct tensor_map_entry *b);

#endif
