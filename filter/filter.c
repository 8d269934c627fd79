#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "filter.h"
#include "pointer.h"
#include "banned.h"

#define IO_SIZE (1u << 20)

ssize_t filter_read_fd(void *ctx, void *buf, size_t len)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return lepton_error_errno(LEPTON_EIO, "cannot read input");
	}
}

int filter_write_fd(void *ctx, const void *buf, size_t len)
{
	return write_all(*(int *)ctx, buf, len);
}

/* Read until head holds POINTER_MAX_SIZE bytes or the input ends. */
static int read_head(struct buf *head, filter_read_fn rd, void *rctx, int *ended)
{
	*ended = 0;
	buf_grow(head, POINTER_MAX_SIZE);
	while (head->len < POINTER_MAX_SIZE) {
		ssize_t n = rd(rctx, head->data + head->len, POINTER_MAX_SIZE - head->len);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			*ended = 1;
			break;
		}
		buf_setlen(head, head->len + (size_t)n);
	}
	return 0;
}

/* Copy everything rd gives to wr, through a buffer of IO_SIZE. */
static int pump(filter_read_fn rd, void *rctx, filter_write_fn wr, void *wctx)
{
	struct buf io = BUF_INIT;
	int err = 0;

	buf_grow(&io, IO_SIZE);
	while (!err) {
		ssize_t n = rd(rctx, io.data, IO_SIZE);
		if (n <= 0) {
			err = (int)n;
			break;
		}
		err = wr(wctx, io.data, (size_t)n);
	}
	buf_release(&io);
	return err;
}

static int write_to_store(void *ctx, const void *buf, size_t len)
{
	return store_writer_write(ctx, buf, len);
}

int filter_clean(struct lepton_store *s, const char *path, filter_read_fn rd, void *rctx,
		 struct buf *out)
{
	struct buf head = BUF_INIT;
	struct store_writer *w = NULL;
	struct lepton_pointer p, prev;
	int ended, err, canonical;

	if ((err = read_head(&head, rd, rctx, &ended)))
		goto done;
	if (ended && head.len == 0)
		goto done; /* an empty file is its own pointer */
	if (ended && pointer_looks_like(head.data, head.len)) {
		err = pointer_parse(&p, &canonical, head.data, head.len);
		if (!err) {
			if (canonical)
				buf_add(out, head.data, head.len);
			else
				pointer_format(out, &p);
			goto done;
		}
		err = lepton_error_wrap(err,
					"'%s' looks like a Git LFS pointer but is malformed; "
					"fix or remove it",
					path);
		goto done;
	}

	if ((err = store_writer_new(&w, s)))
		goto done;
	/* the path's previous version gives delta bases; without one (or if it
	 * cannot be read) the file is stored whole */
	if (store_previous(s, path, &prev) > 0 && store_writer_set_previous(w, &prev))
		lepton_error_clear();
	if ((err = store_writer_write(w, head.data, head.len)) ||
	    (!ended && (err = pump(rd, rctx, write_to_store, w))))
		goto done;
	err = store_writer_finish(w, &p, NULL);
	w = NULL;
	if (!err)
		pointer_format(out, &p);
done:
	if (err && !strstr(lepton_error_last(), path))
		lepton_error_wrap(err, "cannot store '%s'", path);
	store_writer_abort(w);
	buf_release(&head);
	return err;
}

static int copy_through(const struct buf *head, filter_read_fn rd, void *rctx, int ended,
			filter_write_fn wr, void *wctx, int (*before_content)(void *wctx))
{
	int err = before_content ? before_content(wctx) : 0;

	if (!err && head->len)
		err = wr(wctx, head->data, head->len);
	if (!err && !ended)
		err = pump(rd, rctx, wr, wctx);
	return err;
}

static int spool_through(struct lepton_store *s, const struct buf *head, filter_read_fn rd,
			 void *rctx, filter_write_fn wr, void *wctx,
			 int (*before_content)(void *wctx))
{
	struct buf path = BUF_INIT;
	int fd, err;

	buf_addf(&path, "%s/tmp/spool-XXXXXX", store_root(s));
	fd = mkstemp(path.data);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", path.data);
		buf_release(&path);
		return err;
	}
	unlink(path.data);
	err = write_all(fd, head->data, head->len);
	if (!err)
		err = pump(rd, rctx, filter_write_fd, &fd);
	if (!err && lseek(fd, 0, SEEK_SET) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot rewind '%s'", path.data);
	if (!err)
		err = before_content(wctx);
	if (!err)
		err = pump(filter_read_fd, &fd, wr, wctx);
	close(fd);
	buf_release(&path);
	return err;
}

int filter_skip_smudge(void)
{
	const char *v = getenv("GIT_LEPTON_SKIP_SMUDGE");
	return v && *v && strcmp(v, "0") && strcmp(v, "false");
}

int filter_smudge(struct lepton_store *s, const char *path, filter_read_fn rd, void *rctx,
		  filter_write_fn wr, void *wctx, int (*before_content)(void *wctx))
{
	struct buf head = BUF_INIT;
	struct store_reader *r = NULL;
	struct lepton_pointer p;
	char hex[OID_HEXSZ + 1];
	int ended, err;

	if ((err = read_head(&head, rd, rctx, &ended)))
		goto done;
	if (!ended && before_content) {
		/* Not a pointer, and more of it to come.  The long-running
		 * protocol answers only after git sent everything, so the rest
		 * waits in an unlinked temporary file, not in memory. */
		err = spool_through(s, &head, rd, rctx, wr, wctx, before_content);
		if (!err)
			err = SMUDGE_PASSTHROUGH;
		goto done;
	}
	if (!ended || !pointer_looks_like(head.data, head.len)) {
		err = copy_through(&head, rd, rctx, ended, wr, wctx, before_content);
		if (!err)
			err = SMUDGE_PASSTHROUGH;
		goto done;
	}
	if (pointer_parse(&p, NULL, head.data, head.len)) {
		char reason[512];
		snprintf(reason, sizeof(reason), "%s", lepton_error_last());
		err = copy_through(&head, rd, rctx, ended, wr, wctx, before_content);
		if (!err)
			err =
			    lepton_error_set(SMUDGE_MALFORMED,
					     "'%s' holds a malformed pointer (%s); checked out as "
					     "it is",
					     path, reason);
		goto done;
	}
	oid_to_hex(hex, &p.oid);
	if (filter_skip_smudge()) {
		/* a clone of pointers only: content comes later with git lepton pull */
		err = copy_through(&head, rd, rctx, ended, wr, wctx, before_content);
		if (!err)
			err = SMUDGE_PASSTHROUGH;
		goto done;
	}
	if ((err = store_reader_open(&r, s, &p))) {
		lepton_error_wrap(err, "cannot check out '%s'", path);
		goto done;
	}
	if (before_content && (err = before_content(wctx)))
		goto done;
	for (;;) {
		const void *data;
		ssize_t n = store_reader_next(r, &data, IO_SIZE);
		if (n < 0) {
			err = lepton_error_wrap((int)n, "cannot check out '%s'", path);
			goto done;
		}
		if (n == 0)
			break;
		if ((err = wr(wctx, data, (size_t)n)))
			goto done;
	}
	err = SMUDGE_CONTENT;
done:
	store_reader_free(r);
	buf_release(&head);
	return err;
}
