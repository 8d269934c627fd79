#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "banned.h"

char buf_empty[1];

static void out_of_memory(size_t size)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		out_of_memory(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (!q)
		out_of_memory(size);
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		out_of_memory(strlen(s));
	return p;
}

void buf_init(struct buf *b, size_t hint)
{
	b->data = buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->limit = 0;
	if (hint)
		buf_grow(b, hint);
}

void buf_init_limit(struct buf *b, size_t limit)
{
	buf_init(b, 0);
	b->limit = limit;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->data);
	b->data = buf_empty;
	b->len = 0;
	b->alloc = 0;
}

char *buf_detach(struct buf *b, size_t *len_out)
{
	char *p;
	if (len_out)
		*len_out = b->len;
	if (!b->alloc)
		p = xcalloc(1, 1);
	else
		p = b->data;
	b->data = buf_empty;
	b->len = 0;
	b->alloc = 0;
	return p;
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t want;
	if (extra > SIZE_MAX - b->len - 1)
		return lepton_error_set(LEPTON_EINVALID, "buffer size overflow");
	want = b->len + extra + 1;
	if (b->limit && b->len + extra > b->limit)
		return lepton_error_set(LEPTON_EINVALID, "input longer than the limit of %zu bytes",
					b->limit);
	if (want <= b->alloc)
		return 0;
	if (want < b->alloc + b->alloc / 2)
		want = b->alloc + b->alloc / 2;
	if (want < 64)
		want = 64;
	if (!b->alloc) {
		b->data = xmalloc(want);
		b->data[0] = '\0';
	} else {
		b->data = xrealloc(b->data, want);
	}
	b->alloc = want;
	return 0;
}

void buf_setlen(struct buf *b, size_t len)
{
	if (!b->alloc)
		return; /* the empty string stays empty */
	b->len = len < b->alloc ? len : b->alloc - 1;
	b->data[b->len] = '\0';
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	int err = buf_grow(b, len);
	if (err)
		return err;
	if (!len)
		return 0;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, int c)
{
	char ch = (char)c;
	return buf_add(b, &ch, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n, err;
	char small[256];

	va_copy(copy, ap);
	n = vsnprintf(small, sizeof(small), fmt, copy);
	va_end(copy);
	if (n < 0)
		return lepton_error_set(LEPTON_ERR, "invalid format string");
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	err = buf_grow(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int err;
	va_start(ap, fmt);
	err = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return err;
}

void buf_rtrim(struct buf *b)
{
	size_t len = b->len;
	while (len && (b->data[len - 1] == ' ' || b->data[len - 1] == '\t' ||
		       b->data[len - 1] == '\r' || b->data[len - 1] == '\n'))
		len--;
	buf_setlen(b, len);
}

int buf_read_fd(struct buf *b, int fd)
{
	for (;;) {
		size_t want = 8192;
		ssize_t n;
		int err;
		if (b->limit && b->len >= b->limit) {
			char c;
			/* full: one more byte means the input is over the limit */
			while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
				;
			if (n < 0)
				return lepton_error_errno(LEPTON_EIO, "read failed");
			if (n == 0)
				return 0;
			return lepton_error_set(
			    LEPTON_EINVALID, "input longer than the limit of %zu bytes", b->limit);
		}
		if (b->limit && want > b->limit - b->len)
			want = b->limit - b->len;
		if ((err = buf_grow(b, want)))
			return err;
		n = read(fd, b->data + b->len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lepton_error_errno(LEPTON_EIO, "read failed");
		}
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
}

int buf_read_file(struct buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;
	if (fd < 0)
		return lepton_error_errno(errno == ENOENT ? LEPTON_ENOTFOUND : LEPTON_EIO,
					  "cannot open '%s'", path);
	err = buf_read_fd(b, fd);
	close(fd);
	if (err)
		return lepton_error_wrap(err, "cannot read '%s'", path);
	return 0;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lepton_error_errno(LEPTON_EIO, "write failed");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *data, size_t len)
{
	char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lepton_error_errno(LEPTON_EIO, "read failed");
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int make_dirs(const char *path)
{
	char *copy = xstrdup(path);
	int err = 0;

	for (char *p = copy + 1;; p++) {
		char c = *p;
		if (c && c != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0777) < 0 && errno != EEXIST) {
			err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", copy);
			break;
		}
		if (!c)
			break;
		*p = c;
	}
	free(copy);
	return err;
}
