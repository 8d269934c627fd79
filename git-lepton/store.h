#ifndef LEPTON_STORE_H
#define LEPTON_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hash.h"
#include "pointer.h"

/*
 * The content store: one layout for the local cache (.git/lepton/) and,
 * later, every remote store.  docs/FORMAT.md describes the bytes.
 *
 *   <root>/lepton-store          format marker: "lepton store 1\n"
 *   <root>/packs/<name>.pack     frames, one per stored chunk
 *   <root>/packs/<name>.idx      sorted chunk ids -> (offset, length) in the pack
 *   <root>/recipes/ab/<62 hex>   a file's recipe: its chunk ids in order
 *   <root>/tmp/                  files being written
 *
 * A file is present when its recipe is; a recipe is written only after
 * every chunk it names is in a pack with its index.  Every file of the store
 * is written under tmp/ and renamed into place, so a process killed at any
 * instant leaves a valid store: at worst unreferenced packs or temporary
 * files, which `git lepton fsck` reports and gc removes.
 *
 * Threads: a store handle may be used by one writer or reader at a time;
 * writers and readers run one worker thread of their own.
 */

#define STORE_FORMAT_VERSION 1
#define STORE_CHUNK_SIZE     (4u << 20) /* the largest chunk the writer cuts (CHUNK_MAX) */
/* zstd level of new frames unless lepton.compressionLevel says otherwise
 * (docs/NOTES.md has the measurements behind it) */
#define STORE_DEFAULT_LEVEL 3

struct lepton_store;

/*
 * Open the store at root.  With create, a missing store is created
 * (directories and marker); without, a missing store is LEPTON_ENOTFOUND.
 * A directory that exists with no or another marker is LEPTON_EINVALID.
 */
int store_open(struct lepton_store **out, const char *root, int create);
void store_free(struct lepton_store *s);
const char *store_root(const struct lepton_store *s);

/*
 * The lock that keeps a gc or prune from deleting what another process
 * reads or is writing: <root>/lock, taken with flock(2), so a killed
 * process lets go of it.  Every process that uses the repository's store
 * takes it shared; gc, prune and fsck --repair take it exclusive (a shared
 * lock of this handle is traded for it, and the pack list is read again).
 * Waits up to timeout_ms, saying so on standard error once unless quiet,
 * then fails with LEPTON_ECONFLICT.  Held until store_free().  A process
 * that holds it exclusive puts the store's path in GIT_LEPTON_STORE_LOCKED,
 * so the filters of the git commands it runs work under its lock.  A
 * read-only store without a lock file is not locked (nothing can change
 * it).
 */
#define STORE_LOCK_FILE "lock"
#define STORE_LOCK_ENV  "GIT_LEPTON_STORE_LOCKED"
int store_lock(struct lepton_store *s, int exclusive, long timeout_ms, int quiet);

/* Durability and encoding of new objects: fsync before renames; zstd
 * level for new frames (0 stores them raw). */
void store_set_options(struct lepton_store *s, int do_fsync, int level);

/* Whether new frames may be XOR deltas against the same tensor slice in a
 * file's previous version (on by default; lepton.deltas).  Deltas need a
 * level above 0. */
void store_set_deltas(struct lepton_store *s, int on);

/*
 * How the filter finds the previous version of the file at path (the
 * path's blob in HEAD, when it is a pointer whose content is in this
 * store): fn returns 1 and fills out, 0 when there is none.  The
 * repository layer sets it; store_previous() asks it (0 without fn, or
 * when deltas or compression are off).
 */
typedef int (*store_previous_fn)(void *data, const char *path, struct lepton_pointer *out);
void store_set_previous(struct lepton_store *s, store_previous_fn fn, void *data);
int store_previous(struct lepton_store *s, const char *path, struct lepton_pointer *out);

/*
 * A Git LFS object directory (<dir>/ab/cd/<64 hex>) to take whole files
 * from when they are not in this store, so a repository that moves from
 * git-lfs keeps its local content: store_reader_open() imports such a file
 * (verifying its SHA-256) and reads it from this store.  NULL: none.
 */
void store_set_lfs_objects(struct lepton_store *s, const char *dir);

/*
 * Where store_reader_open() turns for content this store lacks (after the
 * Git LFS directory): fn brings the files into s and returns 0, or returns
 * an error with a message (LEPTON_ENOTFOUND when one is nowhere).  The
 * repository layer sets it to fetch from the repository's remote store.
 * store_fetch() calls it for many files at once (a checkout that delays
 * its missing files downloads them together); LEPTON_ENOTFOUND without fn.
 */
typedef int (*store_fetch_fn)(void *data, struct lepton_store *s, const struct lepton_pointer *p,
			      size_t nr);
void store_set_fetch(struct lepton_store *s, store_fetch_fn fn, void *data);
int store_can_fetch(const struct lepton_store *s);
int store_fetch(struct lepton_store *s, const struct lepton_pointer *p, size_t nr);

/* Read again the list of packs (after another process added some). */
int store_reload(struct lepton_store *s);

/* 1 if the file's recipe is present, 0 if not. */
int store_has_file(struct lepton_store *s, const struct lepton_oid *oid);
/* 1 if the chunk is in a pack, 0 if not. */
int store_has_chunk(struct lepton_store *s, const struct lepton_oid *chunk);

/*
 * The decoded bytes of one stored chunk into out (reset first), verified
 * against its SHA-256, and in *depth (when not NULL) the depth of its
 * frame in a delta chain (0: a full frame).  A delta's bases are fetched
 * and decoded as needed.  LEPTON_ENOTFOUND when the chunk or a base is not
 * in the store, LEPTON_ECORRUPT when a frame is damaged, the chain is
 * broken or deeper than CODEC_MAX_CHAIN, or the bytes do not verify.  The
 * store writer fetches the base of a delta with it.
 */
int store_read_chunk(struct lepton_store *s, const struct lepton_oid *chunk, struct buf *out,
		     unsigned *depth);

/*
 * Writing one file, streamed: write the bytes in pieces of any size, then
 * finish, which makes the content durable (packs, then the recipe) and
 * gives the pointer.  Chunks already in the store are not written again.
 * Memory stays bounded by a few chunks whatever the file size.  On any
 * error, call store_writer_abort(): nothing becomes visible.
 */
struct store_writer;
int store_writer_new(struct store_writer **out, struct lepton_store *s);
int store_writer_write(struct store_writer *w, const void *data, size_t len);
/* What a writer stored: chunks and bytes in all, and those that were new
 * (raw bytes, and the frames' bytes as stored; delta_chunks of them are
 * XOR deltas). */
struct store_write_stats {
	uint64_t chunks, new_chunks, bytes, new_bytes;
	uint64_t stored_bytes, delta_chunks;
};

/*
 * Offer the file prev as this file's previous version, before the first
 * write: each tensor slice of the new file whose name, dtype, shape and
 * slice match a chunk of prev's tensor map gets that chunk as a delta base
 * candidate (decoded one at a time when its turn comes).  Nothing happens
 * when deltas or compression are off or prev has no tensor map; an error
 * (prev's recipe unreadable) leaves the writer usable without bases.
 */
int store_writer_set_previous(struct store_writer *w, const struct lepton_pointer *prev);

/* Frees w whatever it returns; stats, when not NULL, gets what was stored. */
int store_writer_finish(struct store_writer *w, struct lepton_pointer *out,
			struct store_write_stats *stats);
void store_writer_abort(struct store_writer *w);

/*
 * Reading one file, streamed and verified: every frame's XXH3 as it is
 * read, the whole file's SHA-256 and size against the pointer.  The bytes
 * of the last chunk are handed out only after the SHA-256 matched, so a
 * caller never sees the end of a file that does not verify.
 *
 * store_reader_open() fails with LEPTON_ENOTFOUND (message names the oid)
 * when the recipe or a chunk is missing, LEPTON_ECORRUPT when the recipe is
 * damaged.  store_reader_read() returns the number of bytes put in buf, 0
 * at the verified end, or a negative error (LEPTON_ECORRUPT on a checksum
 * mismatch, naming the chunk or file).
 */
struct store_reader;
int store_reader_open(struct store_reader **out, struct lepton_store *s,
		      const struct lepton_pointer *p);
ssize_t store_reader_read(struct store_reader *r, void *buf, size_t len);
/* The same without a copy: *data points at up to max bytes inside the
 * reader, valid until the next call. */
ssize_t store_reader_next(struct store_reader *r, const void **data, size_t max);
void store_reader_free(struct store_reader *r);

/*
 * Verification of every stored object.  For each problem found, report is
 * called with what is affected: kind is "chunk", "recipe", "pack" or
 * "index"; oid is the chunk's or file's id where there is one (NULL for a
 * damaged pack or index); what is a message.  With full, every chunk's
 * SHA-256 is recomputed, not only the frames' XXH3.  Returns the number of
 * problems, or a negative error if the store could not be read at all.
 */
typedef void (*store_fsck_fn)(void *data, const char *kind, const struct lepton_oid *oid,
			      const char *what);
int store_fsck(struct lepton_store *s, int full, store_fsck_fn report, void *data);

/* Call fn for each file oid that has a recipe. */
int store_for_each_file(struct lepton_store *s, int (*fn)(void *data, const struct lepton_oid *oid),
			void *data);

/* Store-relative path of a file's recipe, for messages ("recipes/ab/cd..."). */
void store_recipe_path(struct buf *out, const struct lepton_oid *oid);

/*
 * Raw objects, for copying between stores without re-encoding (push and
 * fetch).  store_read_recipe() parses and verifies a file's recipe, and
 * with raw appends its encoded bytes too.  store_put_recipe() verifies an
 * encoded recipe (its own checksum, that it describes oid, that every chunk
 * it names is in this store) and writes it: the file becomes present.
 * store_read_frame() gives a chunk's stored frame as it is.
 * Frames go in through a pack writer: begin, pack_writer_add() each, and
 * commit (or pack_writer_abort()).
 */
struct recipe;
struct pack_writer;
int store_read_recipe(struct lepton_store *s, const struct lepton_oid *oid, struct recipe *out,
		      struct buf *raw);
int store_put_recipe(struct lepton_store *s, const struct lepton_oid *oid, const void *data,
		     size_t len);
int store_read_frame(struct lepton_store *s, const struct lepton_oid *chunk, struct buf *out);
int store_add_frames_begin(struct lepton_store *s, struct pack_writer *w);
int store_add_frames_commit(struct lepton_store *s, struct pack_writer *w);
const char *store_tmpdir(const struct lepton_store *s);
/* The pack a chunk is read from (owned by the store), so that a transfer
 * can send a pack whole when every chunk in it is wanted. */
struct pack;
struct frame_header;
int store_chunk_pack(struct lepton_store *s, const struct lepton_oid *chunk, struct pack **out);
/* Take a complete pack file (already under this store's tmp/) and its
 * index bytes as pack `name`: the pack is renamed into place, then the
 * index written, which makes it visible.  The caller checked the frames. */
int store_adopt_pack(struct lepton_store *s, const char *name, const char *pack_tmp,
		     const void *idx, size_t idx_len);
/* Only a frame's header: what a transfer needs to find delta bases. */
int store_read_frame_header(struct lepton_store *s, const struct lepton_oid *chunk,
			    struct frame_header *h);

#endif
