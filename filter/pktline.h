#ifndef LEPTON_PKTLINE_H
#define LEPTON_PKTLINE_H

#include <stddef.h>

#include "buf.h"

/*
 * git's pkt-line framing (gitprotocol-common): four lowercase hex digits
 * giving the length of the packet including those four bytes, then the
 * payload.  "0000" is a flush packet.  A payload holds at most
 * PKT_MAX_DATA bytes.  Text packets end in "\n", which the text readers
 * strip and the text writers add.
 */

#define PKT_MAX_DATA 65516
#define PKT_MAX_SIZE (PKT_MAX_DATA + 4)

enum pkt_type {
	PKT_EOF = 0,   /* the stream ended cleanly before a packet */
	PKT_FLUSH = 1, /* "0000" */
	PKT_DATA = 2,
};

/*
 * A buffered reader: reads the stream in large blocks and hands out packets
 * in place, so a gigabyte of content costs a few thousand system calls,
 * not two a packet.  *data points into the reader until the next call; it
 * is not NUL-terminated.
 */
struct pkt_reader {
	int fd;
	char *buf;
	size_t start, end, cap;
};

void pkt_reader_init(struct pkt_reader *r, int fd);
void pkt_reader_release(struct pkt_reader *r);
/*
 * One packet: returns a pkt_type, with the payload in place, or
 * LEPTON_EINVALID for a malformed header (bad hex, a length of 1 to 3, a
 * delimiter packet) or a stream that ends inside a packet, or LEPTON_EIO.
 */
int pkt_reader_read(struct pkt_reader *r, const char **data, size_t *len_out);
/* The same for text: copies the payload into buf (PKT_MAX_DATA + 1 bytes),
 * NUL-terminated, without one trailing "\n". */
int pkt_reader_text(struct pkt_reader *r, char *buf, size_t *len_out);

int pkt_write(int fd, const void *data, size_t len); /* len <= PKT_MAX_DATA */
int pkt_write_text(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pkt_flush(int fd);
/* Write len bytes as as many packets as they need (no flush). */
int pkt_write_data(int fd, const void *data, size_t len);

#endif
