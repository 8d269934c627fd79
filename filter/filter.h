#ifndef LEPTON_FILTER_H
#define LEPTON_FILTER_H

#include <sys/types.h>

#include "buf.h"
#include "store.h"

/*
 * clean and smudge, on any byte source and sink: the one-shot commands use
 * stdin and stdout, the long-running filter uses pkt-line streams.
 */

/* Returns bytes read, 0 at the end of the input, or a negative error. */
typedef ssize_t (*filter_read_fn)(void *ctx, void *buf, size_t len);
/* Returns 0 or a negative error. */
typedef int (*filter_write_fn)(void *ctx, const void *buf, size_t len);

/*
 * clean: read a file's bytes, store them, and put the pointer in out.
 * Empty input gives empty output.  Input that already is a pointer comes
 * back canonical without touching the store; input that starts like a
 * pointer but is malformed is refused (LEPTON_EINVALID), since storing it
 * would hide a damaged pointer behind a valid one.  path is for messages.
 *
 * On error the input may be partly read; the caller drains it.
 */
int filter_clean(struct lepton_store *s, const char *path, filter_read_fn rd, void *rctx,
		 struct buf *out);

enum smudge_result {
	SMUDGE_CONTENT = 0,     /* a pointer, replaced by its verified content */
	SMUDGE_PASSTHROUGH = 1, /* not a pointer: the input was copied as it is */
	SMUDGE_MALFORMED = 2,   /* looked like a pointer but did not parse: copied as it
				 * is, and the error message says why */
};

/*
 * smudge: read a pointer, write the file's content, verified.  Returns an
 * enum smudge_result, or a negative error: LEPTON_ENOTFOUND when the
 * content is not in the store, LEPTON_ECORRUPT when it fails verification
 * (messages name the path and the oid).
 *
 * before_content, when not NULL, is called once just before the first
 * byte is written (after the pointer parsed and the content was found), so
 * the long-running filter can send its "status=success" then.  It also
 * says the input must be read to its end before any output: large
 * non-pointer input then goes through a temporary file in the store.
 */
int filter_smudge(struct lepton_store *s, const char *path, filter_read_fn rd, void *rctx,
		  filter_write_fn wr, void *wctx, int (*before_content)(void *wctx));

/* GIT_LEPTON_SKIP_SMUDGE is set: smudge leaves pointers as they are. */
int filter_skip_smudge(void);

/* The long-running filter on stdin and stdout (git's filter.<driver>.process). */
int filter_process(struct lepton_store *s, int in, int out);

/* read/write callbacks for plain file descriptors; ctx points at the fd */
ssize_t filter_read_fd(void *ctx, void *buf, size_t len);
int filter_write_fd(void *ctx, const void *buf, size_t len);

#endif
