#ifndef LEPTON_BACKEND_IMPL_H
#define LEPTON_BACKEND_IMPL_H

#include "backend.h"

/*
 * What an implementation of backend.h provides.  Each one embeds struct
 * backend first in its own handle and fills the calls it has; backend.c
 * checks arguments, dispatches, and falls back where a call is optional:
 *
 *   put_link       NULL: 1 (the caller copies)
 *   sweep          NULL: nothing to sweep (0)
 *   local_path     NULL: not a directory
 *
 * Calls may come from several threads at once (transfers download on
 * lepton.concurrency threads); an implementation keeps its own locking.
 */

struct backend_ops {
	const char *kind; /* "directory", "s3", "webdav": for messages */
	void (*free)(struct backend *b);
	const char *(*local_path)(const struct backend *b);
	int (*create)(struct backend *b);
	int (*get_range_stream)(struct backend *b, const char *key, uint64_t offset, uint64_t len,
				backend_sink_fn fn, void *data);
	int (*get_stream)(struct backend *b, const char *key, backend_sink_fn fn, void *data);
	int (*exists)(struct backend *b, const char *key);
	int (*put)(struct backend *b, const char *key, const void *data, size_t len);
	int (*put_file)(struct backend *b, const char *key, const char *path);
	int (*put_link)(struct backend *b, const char *key, const char *path);
	int (*list)(struct backend *b, const char *prefix, int (*fn)(void *data, const char *name),
		    void *data);
	int (*sweep)(struct backend *b, long long age);
	int (*delete)(struct backend *b, const char *key);
	int (*get_versioned)(struct backend *b, const char *key, struct buf *out, struct buf *etag);
	int (*put_if)(struct backend *b, const char *key, const void *data, size_t len,
		      const char *etag);
};

struct backend {
	const struct backend_ops *ops;
	char *name; /* the URL without credentials, for messages */
};

/* The implementations' constructors, given the URL backend_open() got. */
int backend_dir_open(struct backend **out, const char *url);
int backend_s3_open(struct backend **out, const char *url);
int backend_http_open(struct backend **out, const char *url);

/* get_versioned for a store whose own etags will not do: the object and an
 * etag of its bytes (XXH3 and length); "" when there is none, or when it
 * is empty and empty_is_none. */
int backend_get_content_versioned(struct backend *b, const char *key, struct buf *out,
				  struct buf *etag, int empty_is_none);

/* The URL with any user:password@ removed (for messages); malloc'd. */
char *backend_redact_url(const char *url);

#endif
