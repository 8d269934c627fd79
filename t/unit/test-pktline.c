/*
 * Unit tests of git's pkt-line framing (filter/pktline.h): what the
 * writers put on the wire byte for byte, round trips through a temporary
 * file and through pipes with short reads, and every malformed header
 * git could (or could not) send.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "pktline.h"

/* Every read goes into a heap buffer of exactly the documented size, so
 * that the sanitizer catches a write past it. */
static char *pkt_buffer(void)
{
	char *buf = malloc(PKT_MAX_DATA + 1);
	assert_non_null(buf);
	memset(buf, 'Q', PKT_MAX_DATA + 1);
	return buf;
}

/* An unlinked temporary file to write packets into. */
static int temp_fd(void)
{
	char path[] = "/tmp/lepton-test-pktline-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	return fd;
}

/*
 * Reading goes through the buffered reader the filter uses, one reader a
 * stream: it is made at the stream's first read and dropped when the
 * stream is rewound or closed (its buffer would be stale).
 */
static struct pkt_reader reader = { .fd = -1 };

static void forget_reader(int fd)
{
	if (reader.buf && reader.fd == fd) {
		pkt_reader_release(&reader);
		reader.fd = -1;
	}
}

static struct pkt_reader *reader_of(int fd)
{
	if (!reader.buf || reader.fd != fd) {
		if (reader.buf)
			pkt_reader_release(&reader);
		pkt_reader_init(&reader, fd);
	}
	return &reader;
}

/* One packet into buf (PKT_MAX_DATA + 1 bytes), NUL-terminated. */
static int read_pkt(int fd, char *buf, size_t *len)
{
	const char *data;
	int type = pkt_reader_read(reader_of(fd), &data, len);
	if (type == PKT_DATA)
		memcpy(buf, data, *len);
	buf[type == PKT_DATA ? *len : 0] = '\0';
	return type;
}

static int read_pkt_text(int fd, char *buf, size_t *len)
{
	return pkt_reader_text(reader_of(fd), buf, len);
}

static void close_stream(int fd)
{
	forget_reader(fd);
	close(fd);
}

static void rewind_fd(int fd)
{
	forget_reader(fd);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

/* Everything in fd, from the start. */
static void slurp(struct buf *out, int fd)
{
	rewind_fd(fd);
	buf_reset(out);
	assert_int_equal(buf_read_fd(out, fd), 0);
	rewind_fd(fd);
}

/* A stream holding exactly these bytes. */
static int stream_of(const void *data, size_t len)
{
	int fd = temp_fd();
	assert_int_equal(write_all(fd, data, len), 0);
	rewind_fd(fd);
	return fd;
}

static unsigned char pattern_byte(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 11);
}

static void test_text_round_trip(void **state)
{
	static const char wire[] = "0013command=smudge\n"
				   "000eversion=2\n"
				   "0000"
				   "000eno newline"
				   "0008a\n\n\n"
				   "0005\n"
				   "0000";
	struct buf raw = BUF_INIT;
	char *buf = pkt_buffer();
	size_t len = 999;
	int fd = temp_fd();
	(void)state;

	assert_int_equal(pkt_write_text(fd, "command=%s", "smudge"), 0);
	assert_int_equal(pkt_write_text(fd, "version=%d", 2), 0);
	assert_int_equal(pkt_flush(fd), 0);
	assert_int_equal(pkt_write(fd, "no newline", 10), 0);
	assert_int_equal(pkt_write_text(fd, "a\n%s", "\n"), 0);
	assert_int_equal(pkt_write_text(fd, "%s", ""), 0);
	assert_int_equal(pkt_flush(fd), 0);

	slurp(&raw, fd);
	assert_int_equal(raw.len, sizeof(wire) - 1);
	assert_memory_equal(raw.data, wire, sizeof(wire) - 1);

	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 14);
	assert_string_equal(buf, "command=smudge");
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_DATA);
	assert_string_equal(buf, "version=2");
	assert_int_equal(len, 9);
	len = 999;
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_FLUSH);
	assert_int_equal(len, 0);
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "no newline");
	/* only one trailing newline is stripped */
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "a\n\n", 4);
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_FLUSH);
	len = 999;
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_EOF);
	assert_int_equal(len, 0);
	/* and EOF again */
	assert_int_equal(read_pkt(fd, buf, &len), PKT_EOF);

	/* the plain reader does not strip the newline */
	rewind_fd(fd);
	assert_int_equal(read_pkt(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 15);
	assert_string_equal(buf, "command=smudge\n");

	close_stream(fd);
	buf_release(&raw);
	free(buf);
}

static void test_empty_packet_is_not_flush(void **state)
{
	struct buf raw = BUF_INIT;
	char *buf = pkt_buffer();
	size_t len = 999;
	int fd = temp_fd();
	(void)state;

	assert_int_equal(pkt_write(fd, "", 0), 0);
	slurp(&raw, fd);
	assert_int_equal(raw.len, 4);
	assert_memory_equal(raw.data, "0004", 4);
	assert_int_equal(read_pkt(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(read_pkt(fd, buf, &len), PKT_EOF);
	close_stream(fd);
	buf_release(&raw);
	free(buf);
}

static void test_binary_payload(void **state)
{
	static const char payload[] = "\0\1\2\n\r\n\0\xff";
	char *buf = pkt_buffer();
	size_t len;
	int fd = temp_fd();
	(void)state;

	assert_int_equal(pkt_write(fd, payload, sizeof(payload)), 0);
	rewind_fd(fd);
	assert_int_equal(read_pkt(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, sizeof(payload));
	assert_memory_equal(buf, payload, sizeof(payload));
	assert_int_equal(buf[len], '\0');
	close_stream(fd);
	free(buf);
}

static void test_max_size(void **state)
{
	unsigned char *data = malloc(PKT_MAX_DATA + 1);
	struct buf raw = BUF_INIT;
	char *buf = pkt_buffer();
	size_t len;
	int fd = temp_fd();
	(void)state;

	assert_non_null(data);
	for (size_t i = 0; i <= PKT_MAX_DATA; i++)
		data[i] = pattern_byte(i);
	assert_int_equal(PKT_MAX_SIZE, 65520);

	assert_int_equal(pkt_write(fd, data, PKT_MAX_DATA), 0);
	slurp(&raw, fd);
	assert_int_equal(raw.len, PKT_MAX_SIZE);
	assert_memory_equal(raw.data, "fff0", 4);
	assert_int_equal(read_pkt(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, PKT_MAX_DATA);
	assert_memory_equal(buf, data, PKT_MAX_DATA);
	assert_int_equal(buf[PKT_MAX_DATA], '\0');
	assert_int_equal(read_pkt(fd, buf, &len), PKT_EOF);
	close_stream(fd);

	/* one byte more is refused and nothing is written */
	fd = temp_fd();
	assert_int_equal(pkt_write(fd, data, PKT_MAX_DATA + 1), LEPTON_EINVALID);
	assert_int_equal(pkt_write(fd, data, SIZE_MAX), LEPTON_EINVALID);
	slurp(&raw, fd);
	assert_int_equal(raw.len, 0);
	close_stream(fd);

	buf_release(&raw);
	free(data);
	free(buf);
}

static void test_write_text_long(void **state)
{
	char *big = malloc(PKT_MAX_DATA + 2);
	char *buf = pkt_buffer();
	struct buf raw = BUF_INIT;
	size_t len;
	int fd = temp_fd();
	(void)state;

	assert_non_null(big);
	memset(big, 'x', PKT_MAX_DATA + 1);
	big[PKT_MAX_DATA + 1] = '\0';

	/* past any small formatting buffer */
	assert_int_equal(pkt_write_text(fd, "key=%.*s", 1000, big), 0);
	rewind_fd(fd);
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 1004);
	assert_memory_equal(buf, "key=", 4);
	assert_memory_equal(buf + 4, big, 1000);
	assert_int_equal(buf[len], '\0');
	close_stream(fd);

	/* the newline counts: PKT_MAX_DATA - 1 characters fit, PKT_MAX_DATA do not */
	fd = temp_fd();
	assert_int_equal(pkt_write_text(fd, "%.*s", PKT_MAX_DATA - 1, big), 0);
	rewind_fd(fd);
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, PKT_MAX_DATA - 1);
	close_stream(fd);
	fd = temp_fd();
	assert_int_equal(pkt_write_text(fd, "%.*s", PKT_MAX_DATA, big), LEPTON_EINVALID);
	slurp(&raw, fd);
	assert_int_equal(raw.len, 0);
	close_stream(fd);

	buf_release(&raw);
	free(big);
	free(buf);
}

static void check_write_data(size_t total)
{
	unsigned char *data = malloc(total + 1);
	struct buf back = BUF_INIT;
	char *buf = pkt_buffer();
	size_t len, packets = 0;
	int fd = temp_fd(), ret;

	assert_non_null(data);
	for (size_t i = 0; i < total; i++)
		data[i] = pattern_byte(i + total);
	assert_int_equal(pkt_write_data(fd, data, total), 0);
	rewind_fd(fd);
	while ((ret = read_pkt(fd, buf, &len)) == PKT_DATA) {
		assert_true(len > 0); /* no empty packets: they are not flushes */
		assert_true(len <= PKT_MAX_DATA);
		assert_int_equal(buf_add(&back, buf, len), 0);
		packets++;
	}
	/* no flush at the end: the stream just ends */
	assert_int_equal(ret, PKT_EOF);
	assert_int_equal(back.len, total);
	if (total)
		assert_memory_equal(back.data, data, total);
	assert_int_equal(packets, (total + PKT_MAX_DATA - 1) / PKT_MAX_DATA);
	close_stream(fd);
	buf_release(&back);
	free(data);
	free(buf);
}

static void test_write_data(void **state)
{
	(void)state;
	check_write_data(200 * 1024);
	check_write_data(0);
	check_write_data(1);
	check_write_data(PKT_MAX_DATA - 1);
	check_write_data(PKT_MAX_DATA);
	check_write_data(PKT_MAX_DATA + 1);
	check_write_data(3 * PKT_MAX_DATA);
}

/* A child writes bytes into a pipe `piece` at a time with pauses, so the
 * reader sees short reads in the middle of headers and payloads. */
static int slow_pipe(const void *data, size_t len, size_t piece, pid_t *pid)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		const char *p = data;
		close(fds[0]);
		for (size_t off = 0; off < len;) {
			size_t n = len - off < piece ? len - off : piece;
			ssize_t w = write(fds[1], p + off, n);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				_exit(1);
			}
			off += (size_t)w;
			usleep(200);
		}
		_exit(0);
	}
	close(fds[1]);
	return fds[0];
}

static void wait_child(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_pipe_short_reads(void **state)
{
	static const char wire[] = "0009hello0000000aclean\n0004";
	char *buf = pkt_buffer();
	size_t len;
	pid_t pid;
	int fd;
	(void)state;

	fd = slow_pipe(wire, sizeof(wire) - 1, 1, &pid);
	assert_int_equal(read_pkt(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(read_pkt(fd, buf, &len), PKT_FLUSH);
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_DATA);
	assert_string_equal(buf, "clean");
	assert_int_equal(read_pkt(fd, buf, &len), PKT_DATA);
	assert_int_equal(len, 0);
	assert_int_equal(read_pkt(fd, buf, &len), PKT_EOF);
	close_stream(fd);
	wait_child(pid);
	free(buf);
}

static void test_pipe_large(void **state)
{
	enum { TOTAL = 200 * 1024 };
	unsigned char *data = malloc(TOTAL);
	struct buf wire = BUF_INIT, back = BUF_INIT;
	char *buf = pkt_buffer();
	size_t len;
	pid_t pid;
	int fd = temp_fd(), ret;
	(void)state;

	assert_non_null(data);
	for (size_t i = 0; i < TOTAL; i++)
		data[i] = pattern_byte(i * 7);
	/* the wire bytes come from the writers, the reading from a pipe that
	 * holds less than a packet at a time */
	assert_int_equal(pkt_write_data(fd, data, TOTAL), 0);
	assert_int_equal(pkt_flush(fd), 0);
	slurp(&wire, fd);
	close_stream(fd);

	fd = slow_pipe(wire.data, wire.len, 4093, &pid);
	while ((ret = read_pkt(fd, buf, &len)) == PKT_DATA)
		assert_int_equal(buf_add(&back, buf, len), 0);
	assert_int_equal(ret, PKT_FLUSH);
	assert_int_equal(read_pkt(fd, buf, &len), PKT_EOF);
	close_stream(fd);
	wait_child(pid);
	assert_int_equal(back.len, TOTAL);
	assert_memory_equal(back.data, data, TOTAL);

	buf_release(&wire);
	buf_release(&back);
	free(data);
	free(buf);
}

static void expect_malformed(const char *wire, size_t wire_len)
{
	char *buf = pkt_buffer();
	size_t len = 999;
	int fd = stream_of(wire, wire_len), ret;

	lepton_error_clear();
	ret = read_pkt(fd, buf, &len);
	if (ret != LEPTON_EINVALID)
		fail_msg("pkt_reader_read of \"%.*s\" returned %d, expected LEPTON_EINVALID (%d)",
			 (int)wire_len, wire, ret, LEPTON_EINVALID);
	/* with a message for the user */
	assert_string_not_equal(lepton_error_last(), "unknown error");
	close_stream(fd);

	/* the text reader refuses the same */
	fd = stream_of(wire, wire_len);
	assert_int_equal(read_pkt_text(fd, buf, &len), LEPTON_EINVALID);
	close_stream(fd);
	free(buf);
}

#define MALFORMED(s) expect_malformed((s), sizeof(s) - 1)

static void test_malformed_header(void **state)
{
	(void)state;
	MALFORMED("zzzz");
	MALFORMED("zzzzhello");
	MALFORMED("000g");
	MALFORMED("00 4");
	MALFORMED(" 004");
	MALFORMED("+004");
	MALFORMED("-004");
	MALFORMED("0x04");
	MALFORMED("\0\0\0\0");
	/* lengths 1 to 3 cannot hold their own header; 0001 (delim) and
	 * 0002 (response end) are protocol v2 packets this protocol has not */
	MALFORMED("0001");
	MALFORMED("0002");
	MALFORMED("0003");
	MALFORMED("0003abc");
	MALFORMED("0001000b1234567");
	/* longer than the largest packet; fff0 is exactly PKT_MAX_SIZE */
	MALFORMED("fff1");
	MALFORMED("fffe");
	MALFORMED("ffff");
}

static void test_truncated(void **state)
{
	char *buf = pkt_buffer();
	size_t len;
	int fd;
	(void)state;

	/* inside the header */
	MALFORMED("0");
	MALFORMED("00");
	MALFORMED("000");
	/* inside the payload */
	MALFORMED("0010abc");
	MALFORMED("0005");
	MALFORMED("fff0");
	/* a good packet, then the stream ends inside the next header */
	fd = stream_of("0006ok00", 8);
	assert_int_equal(read_pkt(fd, buf, &len), PKT_DATA);
	assert_string_equal(buf, "ok");
	assert_int_equal(read_pkt(fd, buf, &len), LEPTON_EINVALID);
	close_stream(fd);
	free(buf);
}

static void test_max_size_truncated_by_one(void **state)
{
	char *wire = malloc(PKT_MAX_SIZE);
	(void)state;
	assert_non_null(wire);
	memcpy(wire, "fff0", 4);
	memset(wire + 4, 'm', PKT_MAX_DATA - 1);
	expect_malformed(wire, PKT_MAX_SIZE - 1);
	free(wire);
}

static void test_empty_stream(void **state)
{
	char *buf = pkt_buffer();
	size_t len = 999;
	int fd = temp_fd();
	(void)state;
	assert_int_equal(read_pkt(fd, buf, &len), PKT_EOF);
	assert_int_equal(len, 0);
	len = 999;
	assert_int_equal(read_pkt_text(fd, buf, &len), PKT_EOF);
	assert_int_equal(len, 0);
	close_stream(fd);
	free(buf);
}

static void test_io_errors(void **state)
{
	char *buf = pkt_buffer();
	size_t len;
	(void)state;
	assert_int_equal(read_pkt(-1, buf, &len), LEPTON_EIO);
	assert_int_equal(pkt_write(-1, "x", 1), LEPTON_EIO);
	assert_int_equal(pkt_write_text(-1, "x"), LEPTON_EIO);
	assert_int_equal(pkt_flush(-1), LEPTON_EIO);
	assert_int_equal(pkt_write_data(-1, "xyz", 3), LEPTON_EIO);
	free(buf);
}

static void test_write_to_closed_pipe(void **state)
{
	int fds[2];
	(void)state;
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	/* SIGPIPE is ignored in main(): git going away is an error, not a kill */
	assert_int_equal(pkt_write_text(fds[1], "status=success"), LEPTON_EIO);
	assert_int_equal(pkt_flush(fds[1]), LEPTON_EIO);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_round_trip),
		cmocka_unit_test(test_empty_packet_is_not_flush),
		cmocka_unit_test(test_binary_payload),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_write_text_long),
		cmocka_unit_test(test_write_data),
		cmocka_unit_test(test_pipe_short_reads),
		cmocka_unit_test(test_pipe_large),
		cmocka_unit_test(test_malformed_header),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_max_size_truncated_by_one),
		cmocka_unit_test(test_empty_stream),
		cmocka_unit_test(test_io_errors),
		cmocka_unit_test(test_write_to_closed_pipe),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("pktline", tests, NULL, NULL);
}
