/*
 * git's long-running filter protocol (gitattributes(5), "Long Running
 * Filter Process"), version 2, capabilities clean and smudge.  One process
 * serves every file of a `git add` or a checkout.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "filter.h"
#include "pktline.h"
#include "pointer.h"
#include "banned.h"

struct pkt_stream {
	struct pkt_reader in;
	int out;
	const char *packet; /* the current content packet, inside the reader */
	size_t pos, len;
	int ended;   /* the flush after the content was read */
	int started; /* status=success was sent */
};

/* filter_read_fn over the content packets of one request */
static ssize_t pkt_stream_read(void *ctx, void *buf, size_t len)
{
	struct pkt_stream *st = ctx;
	size_t n;
	while (st->pos == st->len) {
		int type;
		if (st->ended)
			return 0;
		type = pkt_reader_read(&st->in, &st->packet, &st->len);
		st->pos = 0;
		if (type < 0)
			return type;
		if (type != PKT_DATA) {
			st->ended = 1;
			st->len = 0;
			if (type == PKT_EOF)
				return lepton_error_set(
				    LEPTON_EINVALID, "protocol error: input ended inside content");
		}
	}
	n = st->len - st->pos;
	if (n > len)
		n = len;
	memcpy(buf, st->packet + st->pos, n);
	st->pos += n;
	return (ssize_t)n;
}

/* Read and drop what is left of the content, so the reply comes in turn. */
static int drain(struct pkt_stream *st)
{
	char scratch[8192];
	ssize_t n;
	while ((n = pkt_stream_read(st, scratch, sizeof(scratch))) > 0)
		;
	return (int)n;
}

/* filter_write_fn: content packets, buffered to full packets */
struct pkt_out {
	int fd;
	char data[PKT_MAX_DATA];
	size_t len;
};

static int pkt_out_write(void *ctx, const void *buf, size_t len)
{
	struct pkt_out *o = ctx;
	const char *p = buf;
	if (o->len && o->len + len >= PKT_MAX_DATA) {
		/* complete the pending packet, then go straight */
		size_t n = PKT_MAX_DATA - o->len;
		int err;
		memcpy(o->data + o->len, p, n);
		if ((err = pkt_write(o->fd, o->data, PKT_MAX_DATA)))
			return err;
		o->len = 0;
		p += n;
		len -= n;
	}
	if (!o->len && len >= PKT_MAX_DATA) {
		/* whole packets straight from the caller's bytes */
		size_t whole = len - len % PKT_MAX_DATA;
		int err = pkt_write_data(o->fd, p, whole);
		if (err)
			return err;
		p += whole;
		len -= whole;
	}
	while (len) {
		size_t n = PKT_MAX_DATA - o->len;
		int err;
		if (n > len)
			n = len;
		memcpy(o->data + o->len, p, n);
		o->len += n;
		p += n;
		len -= n;
		if (o->len == PKT_MAX_DATA) {
			if ((err = pkt_write(o->fd, o->data, o->len)))
				return err;
			o->len = 0;
		}
	}
	return 0;
}

static int pkt_out_flush(struct pkt_out *o)
{
	int err = o->len ? pkt_write(o->fd, o->data, o->len) : 0;
	o->len = 0;
	return err;
}

struct smudge_out {
	struct pkt_out pkt; /* first: filter_write_fn gets this struct */
	struct pkt_stream *st;
};

static int send_success(void *ctx)
{
	struct smudge_out *o = ctx;
	int err = pkt_write_text(o->pkt.fd, "status=success");
	if (!err)
		err = pkt_flush(o->pkt.fd);
	if (!err)
		o->st->started = 1;
	return err;
}

static int expect_text(struct pkt_reader *in, char *buf, const char *want)
{
	size_t len;
	int type = pkt_reader_text(in, buf, &len);
	if (type < 0)
		return type;
	if (type != PKT_DATA || strcmp(buf, want))
		return lepton_error_set(LEPTON_EINVALID, "protocol error: expected '%s', got '%s'",
					want, type == PKT_DATA ? buf : "flush");
	return 0;
}

static int handshake(struct pkt_reader *in, int out, char *buf, int *delay)
{
	size_t len;
	int type, err, versions = 0, clean = 0, smudge = 0, can_delay = 0;

	if ((err = expect_text(in, buf, "git-filter-client")))
		return err;
	while ((type = pkt_reader_text(in, buf, &len)) == PKT_DATA)
		if (!strcmp(buf, "version=2"))
			versions++;
	if (type < 0)
		return type;
	if (type != PKT_FLUSH || !versions)
		return lepton_error_set(
		    LEPTON_EINVALID,
		    "protocol error: git does not offer filter protocol version 2");
	if ((err = pkt_write_text(out, "git-filter-server")) ||
	    (err = pkt_write_text(out, "version=2")) || (err = pkt_flush(out)))
		return err;
	while ((type = pkt_reader_text(in, buf, &len)) == PKT_DATA) {
		if (!strcmp(buf, "capability=clean"))
			clean = 1;
		else if (!strcmp(buf, "capability=smudge"))
			smudge = 1;
		else if (!strcmp(buf, "capability=delay"))
			can_delay = 1;
	}
	if (type != PKT_FLUSH)
		return type < 0
			   ? type
			   : lepton_error_set(LEPTON_EINVALID,
					      "protocol error: capability list not terminated");
	/* delaying only pays when missing content can come from a remote */
	*delay = *delay && can_delay && smudge;
	if ((clean && (err = pkt_write_text(out, "capability=clean"))) ||
	    (smudge && (err = pkt_write_text(out, "capability=smudge"))) ||
	    (*delay && (err = pkt_write_text(out, "capability=delay"))))
		return err;
	return pkt_flush(out);
}

static int reply_status(int out, const char *status)
{
	int err = pkt_write_text(out, "status=%s", status);
	return err ? err : pkt_flush(out);
}

static int serve_clean(struct lepton_store *s, struct pkt_stream *st, const char *path)
{
	struct buf pointer = BUF_INIT;
	int err = filter_clean(s, path, pkt_stream_read, st, &pointer);
	int io;

	if (err) {
		fprintf(stderr, "error: %s\n", lepton_error_last());
		if ((io = drain(st)))
			err = io;
		else
			err = reply_status(st->out, "error");
		goto done;
	}
	/* a pointer is tiny: one packet */
	if ((err = drain(st)) || (err = pkt_write_text(st->out, "status=success")) ||
	    (err = pkt_flush(st->out)) ||
	    (pointer.len && (err = pkt_write(st->out, pointer.data, pointer.len))) ||
	    (err = pkt_flush(st->out)) || (err = pkt_flush(st->out)))
		goto done;
done:
	buf_release(&pointer);
	return err;
}

/*
 * Delayed smudging: a checkout asks for every file before it needs one, so
 * files whose content is not here answer "delayed"; when git then asks
 * which are available, all of them are fetched in one transfer, and git
 * asks for each again (with no content: the pointer is remembered here).
 */
struct delayed {
	char *path;
	struct buf pointer;
	struct lepton_pointer p;
	int listed; /* git was told it is available */
};

struct delay_queue {
	struct delayed *items;
	size_t nr, alloc;
};

/* filter_read_fn over bytes read ahead, then the rest of the stream */
struct readahead {
	const struct buf *head;
	size_t pos;
	struct pkt_stream *st;
};

static ssize_t readahead_read(void *ctx, void *buf, size_t len)
{
	struct readahead *r = ctx;
	if (r->pos < r->head->len) {
		size_t n = r->head->len - r->pos;
		if (n > len)
			n = len;
		memcpy(buf, r->head->data + r->pos, n);
		r->pos += n;
		return (ssize_t)n;
	}
	return r->st ? pkt_stream_read(r->st, buf, len) : 0;
}

static int smudge_from(struct lepton_store *s, struct pkt_stream *st, const char *path,
		       filter_read_fn rd, void *rctx)
{
	struct smudge_out o = { .pkt.fd = st->out, .st = st };
	int ret = filter_smudge(s, path, rd, rctx, pkt_out_write, &o, send_success);
	int err;

	if (ret == SMUDGE_MALFORMED)
		fprintf(stderr, "warning: %s\n", lepton_error_last());
	if (ret < 0) {
		fprintf(stderr, "error: %s\n", lepton_error_last());
		if (!st->started) {
			if ((err = drain(st)))
				return err;
			return reply_status(st->out, "error");
		}
		/* content was under way: end it, then take it back */
		if ((err = drain(st)) || (err = pkt_out_flush(&o.pkt)) ||
		    (err = pkt_flush(st->out)))
			return err;
		return reply_status(st->out, "error");
	}
	if ((err = drain(st)) || (err = pkt_out_flush(&o.pkt)) || (err = pkt_flush(st->out)))
		return err;
	return pkt_flush(st->out); /* empty list: the status stays success */
}

static struct delayed *find_delayed(struct delay_queue *q, const char *path)
{
	for (size_t i = 0; i < q->nr; i++)
		if (q->items[i].path && !strcmp(q->items[i].path, path))
			return &q->items[i];
	return NULL;
}

static void drop_delayed(struct delayed *d)
{
	free(d->path);
	d->path = NULL;
	buf_release(&d->pointer);
}

static int serve_smudge(struct lepton_store *s, struct pkt_stream *st, const char *path,
			struct delay_queue *q, int can_delay)
{
	struct delayed *d = find_delayed(q, path);
	struct buf head = BUF_INIT;
	struct readahead ra = { &head, 0, st };
	struct lepton_pointer p;
	int err;

	if (d && d->listed) {
		/* the second request for a delayed file: its pointer is here */
		ra.head = &d->pointer;
		err = smudge_from(s, st, path, readahead_read, &ra);
		drop_delayed(d);
		return err;
	}
	if (!can_delay)
		return smudge_from(s, st, path, pkt_stream_read, st);

	/* read what a pointer can be; anything longer is not one */
	while (head.len < POINTER_MAX_SIZE) {
		char piece[POINTER_MAX_SIZE];
		ssize_t n = pkt_stream_read(st, piece, POINTER_MAX_SIZE - head.len);
		if (n < 0) {
			buf_release(&head);
			return (int)n;
		}
		if (!n)
			break;
		buf_add(&head, piece, (size_t)n);
	}
	if (st->ended && st->pos == st->len && pointer_looks_like(head.data, head.len) &&
	    !pointer_parse(&p, NULL, head.data, head.len) && !store_has_file(s, &p.oid)) {
		struct delayed *n;
		if (q->nr == q->alloc) {
			q->alloc = q->alloc ? 2 * q->alloc : 16;
			q->items = xrealloc(q->items, q->alloc * sizeof(*q->items));
		}
		n = &q->items[q->nr++];
		n->path = xstrdup(path);
		n->pointer = head;
		n->p = p;
		n->listed = 0;
		return reply_status(st->out, "delayed");
	}
	err = smudge_from(s, st, path, readahead_read, &ra);
	buf_release(&head);
	return err;
}

/* list_available_blobs: fetch everything delayed so far in one go, then
 * name it all; an empty list says nothing is left. */
static int list_available(struct lepton_store *s, int out, struct delay_queue *q)
{
	struct lepton_pointer *batch = xcalloc(q->nr ? q->nr : 1, sizeof(*batch));
	size_t nr = 0;
	int err = 0;

	for (size_t i = 0; i < q->nr; i++)
		if (q->items[i].path && !q->items[i].listed)
			batch[nr++] = q->items[i].p;
	/* a failure is reported file by file when git asks for each again,
	 * one fetch at a time, so that the error names the file */
	if (nr && store_fetch(s, batch, nr))
		lepton_error_clear();
	for (size_t i = 0; i < q->nr && !err; i++)
		if (q->items[i].path && !q->items[i].listed) {
			q->items[i].listed = 1;
			err = pkt_write_text(out, "pathname=%s", q->items[i].path);
		}
	free(batch);
	if (!err)
		err = pkt_flush(out);
	return err ? err : reply_status(out, "success");
}

int filter_process(struct lepton_store *s, int in, int out)
{
	struct pkt_stream st = { .out = out };
	struct buf command = BUF_INIT, path = BUF_INIT;
	struct delay_queue delayed = { 0 };
	char *buf = xmalloc(PKT_MAX_DATA + 1);
	int err, delay = store_can_fetch(s) && !filter_skip_smudge(), can_delay;

	/* Bigger pipes mean fewer switches between git and us per gigabyte;
	 * where the kernel refuses, the default size works as well. */
	fcntl(in, F_SETPIPE_SZ, 1 << 20);
	fcntl(out, F_SETPIPE_SZ, 1 << 20);
	pkt_reader_init(&st.in, in);
	if ((err = handshake(&st.in, out, buf, &delay)))
		goto done;
	for (;;) {
		size_t len;
		int type;

		buf_reset(&command);
		buf_reset(&path);
		can_delay = 0;
		while ((type = pkt_reader_text(&st.in, buf, &len)) == PKT_DATA) {
			if (!strncmp(buf, "command=", 8))
				buf_addstr(&command, buf + 8);
			else if (!strncmp(buf, "pathname=", 9))
				buf_addstr(&path, buf + 9);
			else if (!strcmp(buf, "can-delay=1"))
				can_delay = delay;
			/* ref=, treeish=, blob=: not needed */
		}
		if (type == PKT_EOF && !command.len)
			break; /* git is done with us */
		if (type < 0) {
			err = type;
			goto done;
		}
		if (type != PKT_FLUSH || !command.len) {
			err = lepton_error_set(LEPTON_EINVALID, "protocol error: request without a "
								"command");
			goto done;
		}
		st.pos = st.len = 0;
		st.ended = 0;
		st.started = 0;
		if (!strcmp(command.data, "list_available_blobs") && delay)
			err = list_available(s, out, &delayed); /* no content follows */
		else if (!strcmp(command.data, "clean"))
			err = serve_clean(s, &st, path.data);
		else if (!strcmp(command.data, "smudge"))
			err = serve_smudge(s, &st, path.data, &delayed, can_delay);
		else {
			if ((err = drain(&st)) == 0)
				err = reply_status(out, "error");
			fprintf(stderr, "error: unknown filter command '%s'\n", command.data);
		}
		if (err)
			goto done;
	}
done:
	for (size_t i = 0; i < delayed.nr; i++)
		drop_delayed(&delayed.items[i]);
	free(delayed.items);
	pkt_reader_release(&st.in);
	free(buf);
	buf_release(&command);
	buf_release(&path);
	return err;
}
