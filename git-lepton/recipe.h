#ifndef LEPTON_RECIPE_H
#define LEPTON_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

/*
 * A recipe says how to rebuild one file: its SHA-256 and size, and the
 * ids and lengths of its chunks in order.  Extension sections (type,
 * length, payload) after the chunk list carry what later versions know
 * about a file (a tensor map, say); readers skip types they do not know.
 * docs/FORMAT.md has the byte layout.
 */

#define RECIPE_MAGIC       "LRCP"
#define RECIPE_VERSION     1
#define RECIPE_HEADER_SIZE 56
#define RECIPE_ENTRY_SIZE  40
#define RECIPE_MAX_CHUNKS  (1u << 26) /* 256 TiB at 4 MiB chunks */

struct recipe_chunk {
	struct lepton_oid oid;
	uint64_t len;
};

/* Extension section types (docs/FORMAT.md). */
#define RECIPE_SECTION_TENSOR_MAP 1 /* tensormap.h */
/* The most a section may hold: bounds what a damaged recipe allocates. */
#define RECIPE_MAX_SECTION (1u << 30)

struct recipe_section {
	uint32_t type;
	size_t len;
	unsigned char *data; /* owned */
};

struct recipe {
	struct lepton_oid file;
	uint64_t size;
	size_t nr, alloc;
	struct recipe_chunk *chunks;
	size_t nr_sections; /* extension sections, in file order */
	struct recipe_section *sections;
};

#define RECIPE_INIT     \
	{               \
		.nr = 0 \
	}

void recipe_add(struct recipe *r, const struct lepton_oid *chunk, uint64_t len);
void recipe_release(struct recipe *r);

/* Append an extension section (type > 0; data copied).  recipe_encode()
 * writes sections in the order they were added. */
void recipe_add_section(struct recipe *r, uint32_t type, const void *data, size_t len);
/* The first section of a type, or NULL. */
const struct recipe_section *recipe_find_section(const struct recipe *r, uint32_t type);

/* Append the encoded recipe (with its trailer) to out. */
void recipe_encode(struct buf *out, const struct recipe *r);

/* Parse and verify (trailer, lengths adding up to the size); on failure
 * LEPTON_ECORRUPT with the reason, and r holds nothing to free. */
int recipe_parse(struct recipe *r, const unsigned char *data, size_t len);

#endif
