#ifndef LEPTON_BACKEND_H
#define LEPTON_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * A backing store seen as named objects: what a remote store (a directory
 * today; S3 and WebDAV slot in as other implementations) must offer.  Keys
 * are store-relative paths with '/' separators ("packs/pack-ab.idx").
 *
 * Objects are immutable once written, with one exception: the objects that
 * are updated with backend_put_if(), a compare-and-swap on an etag, which
 * is how the refs manifest changes without losing a concurrent update.
 * Every put is atomic: a reader sees the whole new object or none of it.
 */

struct backend;

/* Open the store at url: a path or file:// URL (a directory),
 * s3://bucket/prefix (S3 or a compatible service) or http(s)://host/path
 * (WebDAV).  out gets a handle even when nothing exists there yet. */
int backend_open(struct backend **out, const char *url);
void backend_free(struct backend *b);
/* The URL without credentials, for messages. */
const char *backend_name(const struct backend *b);
/* The git remote whose URL the next stores come from (NULL: none): its
 * lepton.<remote>.* settings (endpoint, region, pathstyle) apply. */
void backend_set_remote(const char *remote);
const char *backend_remote(void);

/* A local path for the store when it is a directory (NULL otherwise):
 * directory stores are opened as a local store for fsck and gc. */
const char *backend_local_path(const struct backend *b);

/* The whole object appended to out (its limit applies); LEPTON_ENOTFOUND
 * when there is none. */
int backend_get(struct backend *b, const char *key, struct buf *out);
/* len bytes from offset appended to out; a short object is LEPTON_ECORRUPT. */
int backend_get_range(struct backend *b, const char *key, uint64_t offset, uint64_t len,
		      struct buf *out);
/* len bytes from offset, streamed to fn in pieces; a short object is
 * LEPTON_ECORRUPT. */
typedef int (*backend_sink_fn)(void *data, const void *bytes, size_t len);
int backend_get_range_stream(struct backend *b, const char *key, uint64_t offset, uint64_t len,
			     backend_sink_fn fn, void *data);
/* The whole object, streamed to fn in pieces; fn returning non-zero stops
 * the transfer with that value. */
int backend_get_stream(struct backend *b, const char *key, backend_sink_fn fn, void *data);
/* A backend_sink_fn that writes to the file descriptor data points at. */
int backend_sink_fd(void *data, const void *bytes, size_t len);

/* 1 if the object exists, 0 if not, or a negative error. */
int backend_exists(struct backend *b, const char *key);

/* Write an object whole, from memory or from a local file (streamed). */
int backend_put(struct backend *b, const char *key, const void *data, size_t len);
int backend_put_file(struct backend *b, const char *key, const char *path);

/* Make the store's root (the first push to a new store): every other put
 * fails when the root is missing rather than making a partial store. */
int backend_create(struct backend *b);

/* Put a local file that will never change as an object without copying
 * it (a hard link, when the store is a directory on the same file system):
 * 0 when done, 1 when this backend or place cannot (then copy it), or an
 * error. */
int backend_put_link(struct backend *b, const char *key, const char *path);

/* Call fn with the name of each object directly under prefix ("packs");
 * a missing prefix lists nothing. */
int backend_list(struct backend *b, const char *prefix, int (*fn)(void *data, const char *name),
		 void *data);

/* Remove what killed writers left behind (a directory's tmp/ files older
 * than age seconds); returns how many went, or an error. */
int backend_sweep(struct backend *b, long long age);

/* Remove an object; a missing one is not an error. */
int backend_delete(struct backend *b, const char *key);

/*
 * Compare-and-swap.  backend_get_versioned() reads an object and its etag
 * (an opaque version string; empty when the object does not exist, which
 * is not an error).  backend_put_if() writes the object only if its etag
 * is still etag (empty: only if it still does not exist), else returns
 * LEPTON_ECONFLICT and writes nothing.
 */
int backend_get_versioned(struct backend *b, const char *key, struct buf *out, struct buf *etag);
int backend_put_if(struct backend *b, const char *key, const void *data, size_t len,
		   const char *etag);

#endif
