#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "pktline.h"
#include "banned.h"

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

int pkt_read(int fd, char *buf, size_t *len_out)
{
	char header[4];
	ssize_t n = read_full(fd, header, 4);
	int len;

	*len_out = 0;
	buf[0] = '\0';
	if (n < 0)
		return (int)n;
	if (n == 0)
		return PKT_EOF;
	if (n < 4)
		return lepton_error_set(LEPTON_EINVALID, "protocol error: stream ended inside a "
							 "pkt-line header");
	len = hex4(header);
	if (len < 0)
		return lepton_error_set(LEPTON_EINVALID, "protocol error: bad pkt-line header '%.4s'",
					header);
	if (len == 0)
		return PKT_FLUSH;
	if (len < 4 || len > PKT_MAX_SIZE)
		return lepton_error_set(LEPTON_EINVALID, "protocol error: bad pkt-line length %d", len);
	n = read_full(fd, buf, (size_t)len - 4);
	if (n < 0)
		return (int)n;
	if (n != len - 4)
		return lepton_error_set(LEPTON_EINVALID, "protocol error: stream ended inside a "
							 "pkt-line");
	buf[n] = '\0';
	*len_out = (size_t)n;
	return PKT_DATA;
}

int pkt_read_text(int fd, char *buf, size_t *len_out)
{
	int ret = pkt_read(fd, buf, len_out);
	if (ret == PKT_DATA && *len_out && buf[*len_out - 1] == '\n')
		buf[--*len_out] = '\0';
	return ret;
}

int pkt_write(int fd, const void *data, size_t len)
{
	char packet[PKT_MAX_SIZE];
	if (len > PKT_MAX_DATA)
		return lepton_error_set(LEPTON_EINVALID, "pkt-line payload of %zu bytes is too long",
					len);
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
	const char *p = data;
	while (len) {
		size_t n = len < PKT_MAX_DATA ? len : PKT_MAX_DATA;
		int err = pkt_write(fd, p, n);
		if (err)
			return err;
		p += n;
		len -= n;
	}
	return 0;
}
