/*
 * Unit tests of run_command_opt() (git-lepton/run.h): a child's standard
 * input from bytes in memory, larger than a pipe holds, and its output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "run.h"

static void stdin_from_bytes(void **state)
{
	const char *argv[] = { "cat", NULL };
	struct run_opts opts = { .stdin_data = "protocol=https\nhost=example\n", .stdin_len = 28 };
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(run_command_opt(argv, &opts, &out), 0);
	assert_int_equal(out.len, 28);
	assert_memory_equal(out.data, "protocol=https\nhost=example\n", 28);
	buf_release(&out);
}

static void stdin_larger_than_a_pipe(void **state)
{
	const char *argv[] = { "wc", "-c", NULL };
	size_t len = 1 << 20;
	char *data = xmalloc(len);
	struct run_opts opts = { .stdin_data = data, .stdin_len = len };
	struct buf out = BUF_INIT;

	(void)state;
	memset(data, 'x', len);
	assert_int_equal(run_command_opt(argv, &opts, &out), 0);
	assert_int_equal(strtoul(out.data, NULL, 10), len);
	buf_release(&out);
	free(data);
}

static void empty_stdin(void **state)
{
	const char *argv[] = { "wc", "-c", NULL };
	struct run_opts opts = { .stdin_data = "", .stdin_len = 0 };
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(run_command_opt(argv, &opts, &out), 0);
	assert_int_equal(strtoul(out.data, NULL, 10), 0);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stdin_from_bytes),
		cmocka_unit_test(stdin_larger_than_a_pipe),
		cmocka_unit_test(empty_stdin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
