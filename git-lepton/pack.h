#ifndef LEPTON_PACK_H
#define LEPTON_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

/*
 * Packs hold frames back to back after a 16-byte header; each pack has an
 * index of its chunk ids, sorted, with a 256-entry fan-out table (as git's
 * pack indexes have), each entry giving the frame's offset and length.
 * A pack becomes visible when its index is renamed into packs/; the pack
 * file is renamed first, so a visible index always has its pack.
 */

#define PACK_MAGIC       "LPAK"
#define PACK_VERSION     1
#define PACK_HEADER_SIZE 16
#define IDX_MAGIC        "LIDX"
#define IDX_VERSION      1
#define IDX_HEADER_SIZE  16
#define IDX_FANOUT_SIZE  (256 * 4)
#define IDX_ENTRY_SIZE   48

/* A pack index, mapped read-only, and its pack's file descriptor. */
struct pack {
	char *name; /* "pack-<64 hex>" */
	char *path; /* the .pack file */
	const unsigned char *map;
	size_t map_size;
	uint32_t count;
	int fd; /* of the .pack, opened on first read, -1 before */
};

/* 1 when name[0..len) is a pack's name, "pack-" and 64 lower-case hex
 * digits: names read from a store are checked before they become paths. */
int pack_name_ok(const char *name, size_t len);

/* Map and verify (header, trailer checksum, order) the index at idx_path. */
int pack_open(struct pack *p, const char *dir, const char *name);
void pack_close(struct pack *p);

/* 1 and the frame's place if the pack has the chunk, 0 if not. */
int pack_find(const struct pack *p, const struct lepton_oid *oid, uint64_t *offset, uint64_t *len);
/* The i-th entry in id order. */
void pack_entry(const struct pack *p, uint32_t i, struct lepton_oid *oid, uint64_t *offset,
		uint64_t *len);
/* Read one whole frame into out (reset first). */
int pack_read_frame(struct pack *p, uint64_t offset, uint64_t len, struct buf *out);

/* Writing a new pack under tmpdir, then moving it into packdir. */
struct pack_writer {
	int fd;
	char *tmp_path;
	uint64_t offset;
	struct pack_entry_rec {
		struct lepton_oid oid;
		uint64_t offset, len;
	} * entries;
	size_t nr, alloc;
};

int pack_writer_open(struct pack_writer *w, const char *tmpdir);
int pack_writer_add(struct pack_writer *w, const struct lepton_oid *oid, const void *frame,
		    size_t len);
/* Write the index and rename both into packdir; name_out gets the pack's
 * name.  With do_fsync the data reaches the disk before the renames. */
int pack_writer_commit(struct pack_writer *w, const char *tmpdir, const char *packdir, int do_fsync,
		       struct buf *name_out);
void pack_writer_abort(struct pack_writer *w);

/* Write data to a new file under tmpdir and rename it to path. */
int write_file_atomic(const char *tmpdir, const char *path, const void *data, size_t len,
		      int do_fsync);

#endif
