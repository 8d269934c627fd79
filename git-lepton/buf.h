#ifndef LEPTON_BUF_H
#define LEPTON_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * struct buf: the one growable byte buffer of git-lepton.
 *
 * Invariants: `data` is never NULL and always NUL-terminated at data[len]
 * (so text can be used as a C string); `len` bytes are valid.  A buffer
 * that holds untrusted input (a pointer, a header, a server reply) gets a
 * limit with buf_init_limit(): any append that would grow `len` past
 * `limit` fails with LEPTON_EINVALID and leaves the buffer as it was.
 *
 * Allocation failure aborts the process (as git's xmalloc does): the
 * callers never handle a NULL from these functions.
 *
 *   struct buf b = BUF_INIT;
 *   buf_addf(&b, "size %llu\n", n);
 *   ... use b.data, b.len ...
 *   buf_release(&b);
 */
struct buf {
	char *data;
	size_t len;
	size_t alloc; /* 0 while data points at the shared empty string */
	size_t limit; /* 0: no limit */
};

extern char buf_empty[];
#define BUF_INIT                  \
	{                         \
		.data = buf_empty \
	}

void buf_init(struct buf *b, size_t hint);
void buf_init_limit(struct buf *b, size_t limit);
/* Free the contents; the buffer is ready for reuse as after BUF_INIT
 * (the limit stays). */
void buf_release(struct buf *b);
/* Hand the allocated string to the caller, who frees it; b is reset. */
char *buf_detach(struct buf *b, size_t *len_out);

/* Make room for `extra` more bytes without changing len. */
int buf_grow(struct buf *b, size_t extra);
void buf_setlen(struct buf *b, size_t len);
static inline void buf_reset(struct buf *b)
{
	buf_setlen(b, 0);
}

int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, int c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);

/* Remove trailing whitespace (space, tab, CR, LF). */
void buf_rtrim(struct buf *b);

/* Append everything readable from fd until EOF (the limit applies). */
int buf_read_fd(struct buf *b, int fd);
/* Append the contents of a file (the limit applies). */
int buf_read_file(struct buf *b, const char *path);

/* write(2) all of data, retrying on EINTR and short writes. */
int write_all(int fd, const void *data, size_t len);
/* read(2) until len bytes or EOF; returns bytes read or a negative error. */
ssize_t read_full(int fd, void *data, size_t len);
/* Sleep ms milliseconds, through signals. */
void sleep_ms(long ms);
/* mkdir -p: path and the directories leading to it (0777 less the umask). */
int make_dirs(const char *path);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

#endif
