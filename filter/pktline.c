#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "error.h"
#include "hash.h"
#include "pktline.h"
#include "banned.h"

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char)p[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Judge a packet header of which `have` bytes arrived: PKT_EOF, PKT_FLUSH,
 * or PKT_DATA with the packet's whole length in *len_out; or an error. */
static int check_header(const char *header, ssize_t have, size_t *len_out)
{
	int len;
	if (have < 0)
		return (int)have;
	if (have == 0)
		return PKT_EOF;
	if (have < 4)
		return lepton_error_set(LEPTON_EINVALID, "protocol error: stream ended inside a "
							 "pkt-line header");
	len = hex4(header);
	if (len < 0)
		return lepton_error_set(LEPTON_EINVALID,
					"protocol error: bad pkt-line header '%.4s'", header);
	if (len == 0)
		return PKT_FLUSH;
	if (len < 4 || len > PKT_MAX_SIZE)
		return lepton_error_set(LEPTON_EINVALID, "protocol error: bad pkt-line length %d",
					len);
	*len_out = (size_t)len;
	return PKT_DATA;
}

#define PKT_READER_SIZE (1u << 20)

void pkt_reader_init(struct pkt_reader *r, int fd)
{
	r->fd = fd;
	r->cap = PKT_READER_SIZE + 1;
	r->buf = xmalloc(r->cap);
	r->start = r->end = 0;
}

void pkt_reader_release(struct pkt_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Make at least want bytes available from start; returns the number there
 * are (fewer only at the end of the stream) or a negative error. */
static ssize_t pkt_reader_fill(struct pkt_reader *r, size_t want)
{
	if (r->end - r->start >= want)
		return (ssize_t)(r->end - r->start);
	if (r->start + want > r->cap - 1) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	while (r->end - r->start < want) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - 1 - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lepton_error_errno(LEPTON_EIO, "read failed");
		if (n == 0)
			break;
		r->end += (size_t)n;
	}
	return (ssize_t)(r->end - r->start);
}

int pkt_reader_read(struct pkt_reader *r, const char **data, size_t *len_out)
{
	ssize_t have = pkt_reader_fill(r, 4);
	size_t len = 0;
	int type = check_header(r->buf + r->start, have > 4 ? 4 : have, &len);

	*len_out = 0;
	*data = "";
	if (type == PKT_FLUSH)
		r->start += 4;
	if (type != PKT_DATA)
		return type;
	have = pkt_reader_fill(r, len);
	if (have < 0)
		return (int)have;
	if ((size_t)have < len)
		return lepton_error_set(LEPTON_EINVALID,
					"protocol error: stream ended inside a pkt-line");
	*data = r->buf + r->start + 4;
	*len_out = len - 4;
	r->start += len;
	return PKT_DATA;
}

int pkt_reader_text(struct pkt_reader *r, char *buf, size_t *len_out)
{
	const char *data;
	int type = pkt_reader_read(r, &data, len_out);
	if (type == PKT_DATA) {
		memcpy(buf, data, *len_out);
		buf[*len_out] = '\0';
		if (*len_out && buf[*len_out - 1] == '\n')
			buf[--*len_out] = '\0';
	} else {
		buf[0] = '\0';
	}
	return type;
}

/* writev() until all of total bytes are out; -1 with errno on failure */
static int writev_all(int fd, struct iovec *iov, int nr, size_t total)
{
	while (total) {
		ssize_t n = writev(fd, iov, nr);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		total -= (size_t)n;
		while (n > 0 && nr) {
			if ((size_t)n >= iov->iov_len) {
				n -= (ssize_t)iov->iov_len;
				iov++;
				nr--;
			} else {
				iov->iov_base = (char *)iov->iov_base + n;
				iov->iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	return 0;
}

int pkt_write(int fd, const void *data, size_t len)
{
	char packet[PKT_MAX_SIZE];
	if (len > PKT_MAX_DATA)
		return lepton_error_set(LEPTON_EINVALID,
					"pkt-line payload of %zu bytes is too long", len);
	snprintf(packet, 5, "%04x", (unsigned)(len + 4));
	memcpy(packet + 4, data, len);
	return write_all(fd, packet, len + 4);
}

int pkt_write_text(int fd, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int err;
	va_start(ap, fmt);
	err = buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (!err)
		err = buf_addch(&b, '\n');
	if (!err)
		err = pkt_write(fd, b.data, b.len);
	buf_release(&b);
	return err;
}

int pkt_flush(int fd)
{
	return write_all(fd, "0000", 4);
}

int pkt_write_data(int fd, const void *data, size_t len)
{
	/* several packets a system call, each header beside its payload */
	enum { BATCH = 16 };
	char headers[BATCH][5];
	struct iovec iov[2 * BATCH];
	const char *p = data;

	while (len) {
		int nr = 0;
		size_t total = 0;
		while (len && nr < BATCH) {
			size_t n = len < PKT_MAX_DATA ? len : PKT_MAX_DATA;
			snprintf(headers[nr], sizeof(headers[nr]), "%04x", (unsigned)(n + 4));
			iov[2 * nr].iov_base = headers[nr];
			iov[2 * nr].iov_len = 4;
			iov[2 * nr + 1].iov_base = (void *)p;
			iov[2 * nr + 1].iov_len = n;
			total += n + 4;
			p += n;
			len -= n;
			nr++;
		}
		if (writev_all(fd, iov, 2 * nr, total))
			return lepton_error_errno(LEPTON_EIO, "write failed");
	}
	return 0;
}
