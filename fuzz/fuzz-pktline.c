/*
 * Fuzz the pkt-line readers: the bytes are put in a memory file and read
 * packet by packet until the end or an error, by the buffered reader (with
 * its normal buffer and with the smallest buffer it allows, so that its
 * compaction runs on inputs of a few hundred KiB).  Nothing may crash, and
 * the buffer size must not change what is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "pktline.h"
#include "fuzz.h"

static int memory_file(const uint8_t *data, size_t size)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-pktline", MFD_CLOEXEC);
		if (fd < 0)
			fuzz_fail("memfd_create failed");
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		fuzz_fail("cannot write the memory file");
	if (lseek(fd, 0, SEEK_SET) < 0)
		fuzz_fail("cannot rewind the memory file");
	return fd;
}

/* Record one packet as type, length and payload. */
static void record(struct buf *log, int type, const char *data, size_t len)
{
	buf_addf(log, "%d %zu:", type, len);
	buf_add(log, data, len);
}

/* The buffered reader; with small_buffer, a buffer of exactly one packet. */
static void read_buffered(struct buf *log, int fd, int small_buffer)
{
	struct pkt_reader r;
	const char *data;
	size_t len;
	int type;

	pkt_reader_init(&r, fd);
	if (small_buffer) {
		free(r.buf);
		r.cap = PKT_MAX_SIZE + 1;
		r.buf = xmalloc(r.cap);
	}
	do {
		type = pkt_reader_read(&r, &data, &len);
		if (type == PKT_DATA && len > PKT_MAX_DATA)
			fuzz_fail("pkt_reader_read returned a payload that is too long");
		record(log, type < 0 ? -1 : type, data, len);
	} while (type > 0);
	pkt_reader_release(&r);
}

static void read_text(int fd)
{
	char *packet = xmalloc(PKT_MAX_DATA + 1);
	struct pkt_reader r;
	size_t len;
	int type;

	pkt_reader_init(&r, fd);
	do {
		type = pkt_reader_text(&r, packet, &len);
		if (type == PKT_DATA && packet[len] != '\0')
			fuzz_fail("pkt_reader_text did not terminate the payload");
	} while (type > 0);
	pkt_reader_release(&r);
	free(packet);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf buffered = BUF_INIT, small = BUF_INIT;
	int fd = memory_file(data, size);

	read_buffered(&buffered, fd, 0);
	if (lseek(fd, 0, SEEK_SET) < 0)
		fuzz_fail("cannot rewind the memory file");
	read_buffered(&small, fd, 1);
	if (lseek(fd, 0, SEEK_SET) < 0)
		fuzz_fail("cannot rewind the memory file");
	read_text(fd);

	if (buffered.len != small.len || memcmp(buffered.data, small.data, small.len))
		fuzz_fail("the buffered reader depends on its buffer size");
	buf_release(&buffered);
	buf_release(&small);
	return 0;
}
