/*
 * Unit tests of the pure parts of the S3 store (git-lepton/backend-s3.h):
 * the URL forms (path-style, virtual-hosted), query encoding as SigV4
 * signs it, the part size of multipart uploads within S3's limits, the
 * reading of S3's XML replies and of the AWS tools' INI files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend-s3.h"
#include "buf.h"

#define MiB (1ULL << 20)

static void test_url_path_style(void **state)
{
	struct buf u = BUF_INIT;
	(void)state;

	s3_url(&u, "http://127.0.0.1:9000", 1, "bkt", "models/one/git/refs", NULL);
	assert_string_equal(u.data, "http://127.0.0.1:9000/bkt/models/one/git/refs");
	buf_reset(&u);
	s3_url(&u, "http://127.0.0.1:9000", 1, "bkt", "", "list-type=2");
	assert_string_equal(u.data, "http://127.0.0.1:9000/bkt?list-type=2");
	buf_reset(&u);
	/* a key's '/' stays, everything else is encoded */
	s3_url(&u, "https://h", 1, "bkt", "a b/c+d", NULL);
	assert_string_equal(u.data, "https://h/bkt/a%20b/c%2Bd");
	buf_release(&u);
}

static void test_url_virtual_hosted(void **state)
{
	struct buf u = BUF_INIT;
	(void)state;

	s3_url(&u, "https://s3.eu-west-1.amazonaws.com", 0, "bkt", "p/k", "uploads=");
	assert_string_equal(u.data, "https://bkt.s3.eu-west-1.amazonaws.com/p/k?uploads=");
	buf_reset(&u);
	s3_url(&u, "https://s3.us-east-1.amazonaws.com", 0, "bkt", "", NULL);
	assert_string_equal(u.data, "https://bkt.s3.us-east-1.amazonaws.com/");
	buf_release(&u);
}

static void test_query(void **state)
{
	struct buf q = BUF_INIT;
	(void)state;

	s3_query_add(&q, "delimiter", "/");
	s3_query_add(&q, "list-type", "2");
	s3_query_add(&q, "prefix", "store/packs/");
	assert_string_equal(q.data, "delimiter=%2F&list-type=2&prefix=store%2Fpacks%2F");
	buf_reset(&q);
	s3_query_add(&q, "prefix", "k");
	s3_query_add(&q, "uploads", "");
	assert_string_equal(q.data, "prefix=k&uploads=");
	buf_reset(&q);
	s3_query_add(&q, "continuation-token", "1+a/b=");
	assert_string_equal(q.data, "continuation-token=1%2Ba%2Fb%3D");
	buf_release(&q);
}

static void test_part_size(void **state)
{
	(void)state;

	assert_int_equal(s3_part_size(1, 16 * MiB), 16 * MiB);
	assert_int_equal(s3_part_size(100 * MiB, 16 * MiB), 16 * MiB);
	/* never below S3's 5 MiB */
	assert_int_equal(s3_part_size(100 * MiB, 1), 5 * MiB);
	/* 10,000 parts at most, whole MiB */
	uint64_t big = 1000ULL * 1024 * MiB; /* 1000 GiB */
	uint64_t p = s3_part_size(big, 16 * MiB);
	assert_true(p % MiB == 0);
	assert_true((big + p - 1) / p <= 10000);
	assert_true(p < 16 * MiB * 8);
	/* over 10,000 parts of 5 GiB: too large */
	assert_int_equal(s3_part_size(10000ULL * (5ULL << 30) + 1, 16 * MiB), 0);
	assert_true(s3_part_size(10000ULL * (5ULL << 30), 16 * MiB) != 0);
}

static void test_parse_size(void **state)
{
	(void)state;
	assert_int_equal(s3_parse_size("5242880"), 5 * MiB);
	assert_int_equal(s3_parse_size("16m"), 16 * MiB);
	assert_int_equal(s3_parse_size("64M"), 64 * MiB);
	assert_int_equal(s3_parse_size("1g"), 1024 * MiB);
	assert_int_equal(s3_parse_size("512k"), MiB / 2);
	assert_int_equal(s3_parse_size(""), 0);
	assert_int_equal(s3_parse_size("m"), 0);
	assert_int_equal(s3_parse_size("16mb"), 0);
	assert_int_equal(s3_parse_size("16 m"), 0);
	assert_int_equal(s3_parse_size("99999999999999999999g"), 0);
}

static void test_xml(void **state)
{
	static const char xml[] =
	    "<ListBucketResult><Prefix>p/</Prefix><Contents><Key>p/a&amp;b</Key></Contents>"
	    "<Contents><Key>p/c</Key></Contents><CommonPrefixes><Prefix>p/d/</Prefix>"
	    "</CommonPrefixes><IsTruncated>false</IsTruncated></ListBucketResult>";
	struct buf v = BUF_INIT;
	size_t pos = 0;
	(void)state;

	assert_int_equal(s3_xml_next(xml, strlen(xml), &pos, "Key", &v), 1);
	assert_string_equal(v.data, "p/a&b");
	buf_reset(&v);
	assert_int_equal(s3_xml_next(xml, strlen(xml), &pos, "Key", &v), 1);
	assert_string_equal(v.data, "p/c");
	buf_reset(&v);
	assert_int_equal(s3_xml_next(xml, strlen(xml), &pos, "Key", &v), 0);
	assert_string_equal(v.data, "");
	pos = 0;
	assert_int_equal(s3_xml_next(xml, strlen(xml), &pos, "IsTruncated", &v), 1);
	assert_string_equal(v.data, "false");
	buf_reset(&v);
	/* an unterminated element is not read */
	pos = 0;
	assert_int_equal(s3_xml_next("<Key>abc", 8, &pos, "Key", &v), 0);
	pos = 100;
	assert_int_equal(s3_xml_next(xml, strlen(xml), &pos, "Key", &v), 0);
	buf_release(&v);
}

static void test_ini(void **state)
{
	static const char text[] = "# comment\n"
				   "[default]\n"
				   "aws_access_key_id = AKIADEFAULT\n"
				   "region=eu-west-1\r\n"
				   "\n"
				   "[profile team]\n"
				   "  Region =  us-west-2  \n"
				   "; aws_access_key_id = NOPE\n"
				   "[team]\n"
				   "aws_access_key_id=AKIATEAM\n";
	struct buf v = BUF_INIT;
	(void)state;

	assert_int_equal(s3_ini_get(text, "default", "aws_access_key_id", &v), 1);
	assert_string_equal(v.data, "AKIADEFAULT");
	assert_int_equal(s3_ini_get(text, "default", "region", &v), 1);
	assert_string_equal(v.data, "eu-west-1");
	assert_int_equal(s3_ini_get(text, "profile team", "region", &v), 1);
	assert_string_equal(v.data, "us-west-2");
	assert_int_equal(s3_ini_get(text, "team", "aws_access_key_id", &v), 1);
	assert_string_equal(v.data, "AKIATEAM");
	assert_int_equal(s3_ini_get(text, "profile team", "aws_access_key_id", &v), 0);
	assert_int_equal(s3_ini_get(text, "other", "region", &v), 0);
	assert_int_equal(s3_ini_get("", "default", "region", &v), 0);
	buf_release(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_path_style),
		cmocka_unit_test(test_url_virtual_hosted),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_part_size),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_ini),
	};
	return cmocka_run_group_tests_name("s3", tests, NULL, NULL);
}
