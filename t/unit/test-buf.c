/*
 * Unit tests of struct buf (git-lepton/buf.h): the invariants (data never
 * NULL, NUL-terminated at data[len]), growth, formatting, the size limit
 * for untrusted input, and the fd and file readers.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"

/* The invariant every function must keep. */
static void assert_buf_ok(const struct buf *b)
{
	assert_non_null(b->data);
	assert_int_equal(b->data[b->len], '\0');
	if (b->alloc)
		assert_true(b->len < b->alloc);
	else
		assert_int_equal(b->len, 0);
	if (b->limit)
		assert_true(b->len <= b->limit);
}

static void assert_buf_equal(const struct buf *b, const void *data, size_t len)
{
	assert_buf_ok(b);
	assert_int_equal(b->len, len);
	if (len)
		assert_memory_equal(b->data, data, len);
}

#define assert_buf_str(b, s) assert_buf_equal((b), (s), strlen(s))

static unsigned char pattern_byte(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static void test_init_static(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	assert_ptr_equal(b.data, buf_empty);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.limit, 0);
	assert_string_equal(b.data, "");
	/* releasing a buffer that never allocated is fine, twice too */
	buf_release(&b);
	buf_release(&b);
	assert_ptr_equal(b.data, buf_empty);
	assert_buf_equal(&b, "", 0);
}

static void test_init_hint(void **state)
{
	struct buf b;
	char *before;
	(void)state;
	buf_init(&b, 1000);
	assert_buf_equal(&b, "", 0);
	assert_true(b.alloc >= 1001);
	assert_int_equal(b.limit, 0);
	/* the hint is room: 1000 bytes go in without moving the data */
	before = b.data;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_addch(&b, 'a' + i % 26), 0);
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.len, 1000);
	assert_buf_ok(&b);
	buf_release(&b);
	assert_ptr_equal(b.data, buf_empty);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);

	buf_init(&b, 0);
	assert_ptr_equal(b.data, buf_empty);
	assert_buf_equal(&b, "", 0);
	buf_release(&b);
}

static void test_release_reuse(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	assert_int_equal(buf_addstr(&b, "first"), 0);
	buf_release(&b);
	assert_buf_equal(&b, "", 0);
	assert_int_equal(buf_addstr(&b, "second"), 0);
	assert_buf_str(&b, "second");
	buf_release(&b);
}

static void test_detach(void **state)
{
	struct buf b = BUF_INIT;
	size_t len = 12345;
	char *p;
	(void)state;

	assert_int_equal(buf_addstr(&b, "hello"), 0);
	assert_int_equal(buf_add(&b, "\0world", 6), 0);
	p = buf_detach(&b, &len);
	assert_int_equal(len, 11);
	assert_memory_equal(p, "hello\0world", 12); /* NUL-terminated too */
	assert_ptr_equal(b.data, buf_empty);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	free(p);

	/* detaching an empty buffer still gives a string the caller frees */
	len = 12345;
	p = buf_detach(&b, &len);
	assert_non_null(p);
	assert_ptr_not_equal(p, buf_empty);
	assert_int_equal(len, 0);
	assert_string_equal(p, "");
	free(p);

	/* len_out may be NULL; the buffer is usable afterwards */
	assert_int_equal(buf_addstr(&b, "again"), 0);
	p = buf_detach(&b, NULL);
	assert_string_equal(p, "again");
	free(p);
	assert_int_equal(buf_addstr(&b, "x"), 0);
	assert_buf_str(&b, "x");
	buf_release(&b);
}

static void test_growth(void **state)
{
	enum { TOTAL = 300000 };
	struct buf b = BUF_INIT;
	unsigned char *expect = malloc(TOTAL);
	unsigned char piece[97];
	size_t i = 0;
	(void)state;

	assert_non_null(expect);
	for (size_t k = 0; k < TOTAL; k++)
		expect[k] = pattern_byte(k);
	/* alternate single bytes (NULs included) and pieces of odd sizes */
	while (i < TOTAL) {
		size_t n = (i / 7) % 97;
		if (n > TOTAL - i)
			n = TOTAL - i;
		if (n == 0) {
			assert_int_equal(buf_addch(&b, expect[i]), 0);
			i++;
		} else {
			memcpy(piece, expect + i, n);
			assert_int_equal(buf_add(&b, piece, n), 0);
			i += n;
		}
		assert_int_equal(b.len, i);
		assert_int_equal(b.data[b.len], '\0');
	}
	assert_buf_equal(&b, expect, TOTAL);

	/* an empty append changes nothing */
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_int_equal(buf_addstr(&b, ""), 0);
	assert_buf_equal(&b, expect, TOTAL);
	buf_release(&b);
	free(expect);
}

static void test_grow_keeps_len(void **state)
{
	struct buf b = BUF_INIT;
	char piece[100];
	char *before;
	(void)state;
	assert_int_equal(buf_addstr(&b, "abc"), 0);
	assert_int_equal(buf_grow(&b, 100000), 0);
	assert_buf_str(&b, "abc");
	assert_true(b.alloc >= 3 + 100000 + 1);
	memset(piece, 'p', sizeof(piece));
	before = b.data;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_add(&b, piece, sizeof(piece)), 0);
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.len, 3 + 100000);
	buf_release(&b);
}

static void test_grow_overflow(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	assert_int_equal(buf_addstr(&b, "abc"), 0);
	/* a size that cannot be represented is an error, not a wrap-around */
	assert_int_equal(buf_grow(&b, SIZE_MAX), LEPTON_EINVALID);
	assert_int_equal(buf_grow(&b, SIZE_MAX - 2), LEPTON_EINVALID);
	assert_buf_str(&b, "abc");
	buf_release(&b);
}

static void test_setlen_reset(void **state)
{
	struct buf b = BUF_INIT;
	size_t alloc;
	(void)state;
	assert_int_equal(buf_addstr(&b, "hello world"), 0);
	buf_setlen(&b, 5);
	assert_buf_str(&b, "hello");
	alloc = b.alloc;
	buf_reset(&b);
	assert_buf_equal(&b, "", 0);
	assert_int_equal(b.alloc, alloc); /* reset keeps the memory */
	assert_int_equal(buf_addstr(&b, "again"), 0);
	assert_buf_str(&b, "again");
	buf_release(&b);

	/* resetting a never-allocated buffer keeps the shared empty string intact */
	buf_reset(&b);
	assert_ptr_equal(b.data, buf_empty);
	assert_int_equal(buf_empty[0], '\0');
}

static void test_addf(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	assert_int_equal(buf_addf(&b, "size %llu\n", 18446744073709551615ull), 0);
	assert_buf_str(&b, "size 18446744073709551615\n");
	assert_int_equal(buf_addf(&b, "%s|%d|%c|%5.2f|%%", "x", -42, 'q', 3.14159), 0);
	assert_buf_str(&b, "size 18446744073709551615\nx|-42|q| 3.14|%");
	/* empty output */
	assert_int_equal(buf_addf(&b, "%s", ""), 0);
	assert_buf_str(&b, "size 18446744073709551615\nx|-42|q| 3.14|%");
	buf_release(&b);
}

static void test_addf_long(void **state)
{
	struct buf b = BUF_INIT;
	char big[5001], expect[5200];
	(void)state;

	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 1] = '\0';

	/* well past any small stack buffer, appended to existing content */
	assert_int_equal(buf_addstr(&b, "prefix:"), 0);
	assert_int_equal(buf_addf(&b, "<%s>%d", big, 7), 0);
	snprintf(expect, sizeof(expect), "prefix:<%s>%d", big, 7);
	assert_buf_str(&b, expect);
	buf_release(&b);

	/* the lengths around 256 (the usual small-buffer size), one by one */
	for (size_t n = 250; n <= 260; n++) {
		struct buf c = BUF_INIT;
		assert_int_equal(buf_addch(&c, '>'), 0);
		assert_int_equal(buf_addf(&c, "%.*s", (int)n, big), 0);
		assert_int_equal(c.len, n + 1);
		assert_int_equal(c.data[0], '>');
		assert_memory_equal(c.data + 1, big, n);
		assert_buf_ok(&c);
		buf_release(&c);
	}

	/* twice in a row: the second long addf sees the first one's result */
	assert_int_equal(buf_addf(&b, "%s", big), 0);
	assert_int_equal(buf_addf(&b, "%s", big), 0);
	assert_int_equal(b.len, 2 * (sizeof(big) - 1));
	assert_memory_equal(b.data, big, sizeof(big) - 1);
	assert_memory_equal(b.data + sizeof(big) - 1, big, sizeof(big) - 1);
	assert_buf_ok(&b);
	buf_release(&b);
}

static int call_vaddf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int call_vaddf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;
	va_start(ap, fmt);
	ret = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return ret;
}

static void test_vaddf_long(void **state)
{
	struct buf b = BUF_INIT;
	char big[1001];
	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* the va_list is used twice inside when the output is long */
	assert_int_equal(call_vaddf(&b, "%s-%s-%d", big, big, 99), 0);
	assert_int_equal(b.len, 2 * 1000 + 2 + 2);
	assert_memory_equal(b.data, big, 1000);
	assert_memory_equal(b.data + 1000, "-", 1);
	assert_memory_equal(b.data + 1001, big, 1000);
	assert_string_equal(b.data + 2001, "-99");
	buf_release(&b);
}

static void test_limit(void **state)
{
	struct buf b;
	(void)state;
	buf_init_limit(&b, 10);
	assert_int_equal(b.limit, 10);
	assert_buf_equal(&b, "", 0);

	assert_int_equal(buf_addstr(&b, "12345"), 0);
	/* one byte past the limit: refused, nothing appended */
	assert_int_equal(buf_addstr(&b, "678901"), LEPTON_EINVALID);
	assert_buf_str(&b, "12345");
	assert_int_equal(buf_add(&b, "678901", 6), LEPTON_EINVALID);
	assert_buf_str(&b, "12345");
	assert_int_equal(buf_addf(&b, "%s", "678901"), LEPTON_EINVALID);
	assert_buf_str(&b, "12345");
	/* exactly up to the limit is fine */
	assert_int_equal(buf_addstr(&b, "6789"), 0);
	assert_int_equal(buf_addch(&b, '0'), 0);
	assert_buf_str(&b, "1234567890");
	/* full: every append fails and leaves the contents */
	assert_int_equal(buf_addch(&b, 'x'), LEPTON_EINVALID);
	assert_int_equal(buf_addstr(&b, "x"), LEPTON_EINVALID);
	assert_int_equal(buf_addf(&b, "%d", 1), LEPTON_EINVALID);
	assert_int_equal(buf_grow(&b, 1), LEPTON_EINVALID);
	assert_buf_str(&b, "1234567890");
	/* an empty append is not past the limit */
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_buf_str(&b, "1234567890");
	/* the message says what went wrong */
	assert_int_equal(buf_addch(&b, 'x'), LEPTON_EINVALID);
	assert_non_null(strstr(lepton_error_last(), "limit"));

	/* release keeps the limit */
	buf_release(&b);
	assert_int_equal(b.limit, 10);
	assert_buf_equal(&b, "", 0);
	assert_int_equal(buf_addstr(&b, "12345678901"), LEPTON_EINVALID);
	assert_buf_equal(&b, "", 0);
	assert_int_equal(buf_addstr(&b, "1234567890"), 0);
	assert_buf_str(&b, "1234567890");
	buf_release(&b);
}

static void test_limit_addf_long(void **state)
{
	struct buf b;
	char big[2001];
	(void)state;
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	buf_init_limit(&b, 1024);
	assert_int_equal(buf_addstr(&b, "head"), 0);
	/* long formatted output past the limit */
	assert_int_equal(buf_addf(&b, "%s", big), LEPTON_EINVALID);
	assert_buf_str(&b, "head");
	/* long formatted output that exactly fills it */
	assert_int_equal(buf_addf(&b, "%.*s", 1020, big), 0);
	assert_int_equal(b.len, 1024);
	assert_buf_ok(&b);
	assert_int_equal(buf_addf(&b, "%s", "."), LEPTON_EINVALID);
	assert_int_equal(b.len, 1024);
	buf_release(&b);
}

static void test_rtrim(void **state)
{
	static const struct {
		const char *in;
		size_t in_len;
		const char *out;
		size_t out_len;
	} cases[] = {
#define C(in, out) { in, sizeof(in) - 1, out, sizeof(out) - 1 }
		C("abc", "abc"),
		C("abc \t\r\n\n \r", "abc"),
		C("  leading stays", "  leading stays"),
		C("a b\tc  ", "a b\tc"),
		C(" \t\r\n", ""),
		C("", ""),
		C("x\n", "x"),
		C("line\r\n", "line"),
		/* only space, tab, CR and LF are whitespace here */
		C("abc\v", "abc\v"),
		C("abc\f", "abc\f"),
		C("abc\xa0", "abc\xa0"),
		/* a NUL is a byte like any other, not the end of the data */
		C("abc\0", "abc\0"),
		C("abc \0", "abc \0"),
		C("abc\0 \n", "abc\0"),
#undef C
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf b = BUF_INIT;
		char out[32];
		size_t len;
		int terminated;
		assert_int_equal(buf_add(&b, cases[i].in, cases[i].in_len), 0);
		buf_rtrim(&b);
		/* copy the result out, so that a failure leaks nothing */
		len = b.len < sizeof(out) ? b.len : sizeof(out);
		memcpy(out, b.data, len);
		terminated = b.data[b.len] == '\0';
		len = b.len;
		buf_release(&b);
		if (len != cases[i].out_len)
			fail_msg("rtrim case %zu: length %zu, expected %zu", i, len,
				 cases[i].out_len);
		assert_true(terminated);
		assert_memory_equal(out, cases[i].out, len);
	}
	{
		/* never allocated */
		struct buf b = BUF_INIT;
		buf_rtrim(&b);
		assert_ptr_equal(b.data, buf_empty);
		assert_buf_equal(&b, "", 0);
	}
}

/* A pipe whose write end is fed by a child process, so more than the pipe
 * buffer can go through; returns the read end. */
static int pipe_from_child(const unsigned char *data, size_t len, size_t piece, pid_t *pid)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		close(fds[0]);
		for (size_t off = 0; off < len;) {
			size_t n = len - off < piece ? len - off : piece;
			ssize_t w = write(fds[1], data + off, n);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				/* the reader may stop early (over the limit) */
				_exit(errno == EPIPE ? 0 : 1);
			}
			off += (size_t)w;
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

static void test_read_fd_pipe(void **state)
{
	enum { TOTAL = 1000003 };
	unsigned char *data = malloc(TOTAL);
	struct buf b = BUF_INIT;
	pid_t pid;
	int fd;
	(void)state;

	assert_non_null(data);
	for (size_t i = 0; i < TOTAL; i++)
		data[i] = pattern_byte(i);
	assert_int_equal(buf_addstr(&b, "existing:"), 0);
	fd = pipe_from_child(data, TOTAL, 4093, &pid);
	assert_int_equal(buf_read_fd(&b, fd), 0);
	close(fd);
	wait_child(pid);
	assert_buf_ok(&b);
	assert_int_equal(b.len, 9 + TOTAL);
	assert_memory_equal(b.data, "existing:", 9);
	assert_memory_equal(b.data + 9, data, TOTAL);
	buf_release(&b);

	/* a pipe that delivers nothing */
	fd = pipe_from_child(data, 0, 1, &pid);
	assert_int_equal(buf_addstr(&b, "same"), 0);
	assert_int_equal(buf_read_fd(&b, fd), 0);
	close(fd);
	wait_child(pid);
	assert_buf_str(&b, "same");
	buf_release(&b);
	free(data);
}

static void test_read_fd_limit(void **state)
{
	unsigned char data[4000];
	struct buf b;
	pid_t pid;
	int fd;
	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern_byte(i);

	/* small input, well under the limit: read whole */
	buf_init_limit(&b, 1024);
	fd = pipe_from_child(data, 100, 100, &pid);
	assert_int_equal(buf_read_fd(&b, fd), 0);
	close(fd);
	wait_child(pid);
	assert_buf_equal(&b, data, 100);
	buf_release(&b);

	/* exactly the limit, delivered a byte at a time */
	fd = pipe_from_child(data, 1024, 1, &pid);
	assert_int_equal(buf_read_fd(&b, fd), 0);
	close(fd);
	wait_child(pid);
	assert_buf_equal(&b, data, 1024);
	buf_release(&b);

	/* one byte more than the limit */
	fd = pipe_from_child(data, 1025, 1025, &pid);
	assert_int_equal(buf_read_fd(&b, fd), LEPTON_EINVALID);
	close(fd);
	wait_child(pid);
	assert_buf_ok(&b);
	buf_release(&b);

	/* far more */
	fd = pipe_from_child(data, sizeof(data), 333, &pid);
	assert_int_equal(buf_read_fd(&b, fd), LEPTON_EINVALID);
	close(fd);
	wait_child(pid);
	assert_buf_ok(&b);
	buf_release(&b);
}

static void test_read_fd_bad(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	assert_int_equal(buf_addstr(&b, "kept"), 0);
	assert_int_equal(buf_read_fd(&b, -1), LEPTON_EIO);
	assert_buf_str(&b, "kept");
	buf_release(&b);
}

static void test_read_file(void **state)
{
	char dir[] = "/tmp/lepton-test-buf-XXXXXX";
	char path[256], missing[256];
	struct buf b = BUF_INIT;
	int fd;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	snprintf(missing, sizeof(missing), "%s/no-such-file", dir);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "one\0two\n", 8), 8);
	close(fd);

	assert_int_equal(buf_addch(&b, '>'), 0);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_buf_equal(&b, ">one\0two\n", 9);

	/* missing: LEPTON_ENOTFOUND, the message names the file, contents kept */
	assert_int_equal(buf_read_file(&b, missing), LEPTON_ENOTFOUND);
	assert_non_null(strstr(lepton_error_last(), "no-such-file"));
	assert_buf_equal(&b, ">one\0two\n", 9);
	buf_release(&b);

	/* limits apply to files too */
	buf_init_limit(&b, 8);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_buf_equal(&b, "one\0two\n", 8);
	buf_release(&b);
	buf_init_limit(&b, 7);
	assert_int_equal(buf_read_file(&b, path), LEPTON_EINVALID);
	assert_buf_ok(&b);
	buf_release(&b);

	/* an empty file */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	close(fd);
	b.limit = 0;
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_buf_equal(&b, "", 0);
	buf_release(&b);

	/* a directory is not a file: an error, not a crash */
	assert_true(buf_read_file(&b, dir) < 0);
	buf_release(&b);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_write_all_read_full(void **state)
{
	enum { TOTAL = 500000 };
	unsigned char *data = malloc(TOTAL), *back = malloc(TOTAL + 10);
	char path[] = "/tmp/lepton-test-buf-XXXXXX";
	int fd;
	(void)state;

	assert_non_null(data);
	assert_non_null(back);
	for (size_t i = 0; i < TOTAL; i++)
		data[i] = pattern_byte(i * 3);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write_all(fd, data, TOTAL), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	/* asking for more than there is gives what there is */
	assert_int_equal(read_full(fd, back, TOTAL + 10), TOTAL);
	assert_memory_equal(back, data, TOTAL);
	assert_int_equal(read_full(fd, back, 10), 0);
	close(fd);

	assert_int_equal(write_all(-1, data, 1), LEPTON_EIO);
	assert_int_equal(read_full(-1, back, 1), LEPTON_EIO);
	free(data);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_static),
		cmocka_unit_test(test_init_hint),
		cmocka_unit_test(test_release_reuse),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_grow_keeps_len),
		cmocka_unit_test(test_grow_overflow),
		cmocka_unit_test(test_setlen_reset),
		cmocka_unit_test(test_addf),
		cmocka_unit_test(test_addf_long),
		cmocka_unit_test(test_vaddf_long),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_limit_addf_long),
		cmocka_unit_test(test_rtrim),
		cmocka_unit_test(test_read_fd_pipe),
		cmocka_unit_test(test_read_fd_limit),
		cmocka_unit_test(test_read_fd_bad),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_write_all_read_full),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
