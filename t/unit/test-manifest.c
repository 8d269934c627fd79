/*
 * Unit tests of the refs manifest text (git-lepton/manifest.h): version 1
 * as before, the maintenance lines of version 2 and the version marker
 * that goes with them, and what a reader refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "manifest.h"

#define OID1 "1111111111111111111111111111111111111111"

static void round_trip(const char *text)
{
	struct manifest m;
	struct buf out = BUF_INIT;

	assert_int_equal(manifest_parse(&m, text, strlen(text)), 0);
	manifest_format(&out, &m);
	assert_string_equal(out.data, text);
	manifest_release(&m);
	buf_release(&out);
}

static void test_version_1(void **state)
{
	(void)state;
	round_trip("lepton refs 1\n"
		   "head refs/heads/main\n"
		   "pack pack-abc\n"
		   "retired pack-def 1700000000\n"
		   "ref " OID1 " refs/heads/main\n");
}

static void test_maintenance_lines(void **state)
{
	const char *text = "lepton refs 2\n"
			   "maintenance 1700000000 0123456789abcdef.42@host\n"
			   "maintained 1690000000 fedcba9876543210.7@other\n"
			   "head refs/heads/main\n"
			   "ref " OID1 " refs/heads/main\n";
	struct manifest m;

	(void)state;
	round_trip(text);
	assert_int_equal(manifest_parse(&m, text, strlen(text)), 0);
	assert_string_equal(m.maintenance_token, "0123456789abcdef.42@host");
	assert_int_equal(m.maintenance_since, 1700000000);
	assert_string_equal(m.maintained_token, "fedcba9876543210.7@other");
	assert_int_equal(m.maintained_at, 1690000000);
	assert_string_equal(manifest_get(&m, "refs/heads/main"), OID1);
	manifest_release(&m);
}

static void assert_format(const struct manifest *m, const char *expect)
{
	struct buf out = BUF_INIT;

	manifest_format(&out, m);
	assert_string_equal(out.data, expect);
	buf_release(&out);
}

/* The marker says 2 exactly while a version-2 line is there. */
static void test_version_marker(void **state)
{
	struct manifest m;

	(void)state;
	manifest_init(&m);
	manifest_set(&m, "refs/heads/main", OID1);
	assert_format(&m, "lepton refs 1\nref " OID1 " refs/heads/main\n");
	manifest_set_maintenance(&m, 1700000000, "tok");
	assert_format(&m,
		      "lepton refs 2\nmaintenance 1700000000 tok\nref " OID1 " refs/heads/main\n");
	manifest_set_maintenance(&m, 0, NULL);
	manifest_set_maintained(&m, 1700000001, "tok");
	assert_format(&m,
		      "lepton refs 2\nmaintained 1700000001 tok\nref " OID1 " refs/heads/main\n");
	manifest_set_maintained(&m, 0, NULL);
	assert_format(&m, "lepton refs 1\nref " OID1 " refs/heads/main\n");
	manifest_release(&m);
}

static void refused(const char *text)
{
	struct manifest m;
	assert_int_equal(manifest_parse(&m, text, strlen(text)), LEPTON_ECORRUPT);
	lepton_error_clear();
}

static void test_refused(void **state)
{
	(void)state;
	refused("lepton refs 3\n");
	refused("lepton refs 2\nmaintenance\n");
	refused("lepton refs 2\nmaintenance 1700000000\n");
	refused("lepton refs 2\nmaintenance soon tok\n");
	refused("lepton refs 2\nmaintenance 0 tok\n");
	refused("lepton refs 2\nmaintenance -5 tok\n");
	refused("lepton refs 2\nmaintenance 1700000000 tok extra\n");
	refused("lepton refs 2\nmaintenance 99999999999999999999 tok\n");
	refused("lepton refs 2\nmaintenance 1 a\nmaintenance 2 b\n");
	refused("lepton refs 2\nmaintained 1 a\nmaintained 2 b\n");
	refused("lepton refs 2\nmaintained 1700000000 tok");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_1),
		cmocka_unit_test(test_maintenance_lines),
		cmocka_unit_test(test_version_marker),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
