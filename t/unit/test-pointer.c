/*
 * Unit tests of the Git LFS v1 pointer (git-lepton/pointer.h): the one
 * canonical encoding, the permissive reading git-lfs does (reported as not
 * canonical), ordinary content (LEPTON_ENOTFOUND) and every malformed
 * pointer we could think of (LEPTON_EINVALID).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "pointer.h"

#define V1        "version https://git-lfs.github.com/spec/v1\n"
#define HEX       "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
#define HEX_UPPER "4D7A214614AB2935C943F9E0FF69D22EADBB8F32B1258DAAA5E2CA24D17E2393"
#define OID       "oid sha256:" HEX "\n"
#define SIZE      "size 12345\n"
#define CANONICAL V1 OID SIZE

static const char empty_hex[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static struct lepton_oid oid_of(const char *hex)
{
	struct lepton_oid oid;
	assert_int_equal(oid_from_hex(&oid, hex), 0);
	return oid;
}

static int parse_len(struct lepton_pointer *p, int *canonical, const char *s, size_t len)
{
	memset(p, 0xa5, sizeof(*p));
	if (canonical)
		*canonical = 42;
	return pointer_parse(p, canonical, s, len);
}

static void expect_pointer(const char *s, size_t len, const char *hex, uint64_t size, int canonical)
{
	struct lepton_pointer p;
	struct lepton_oid want = oid_of(hex);
	int canon, ret = parse_len(&p, &canon, s, len);
	if (ret != 0)
		fail_msg("parse of \"%.*s\" returned %d (%s), expected 0", (int)len, s, ret,
			 lepton_error_last());
	assert_memory_equal(p.oid.hash, want.hash, OID_RAWSZ);
	assert_int_equal(p.size, size);
	if (canon != canonical)
		fail_msg("parse of \"%.*s\": canonical %d, expected %d", (int)len, s, canon,
			 canonical);
	/* canonical_out may be NULL */
	assert_int_equal(parse_len(&p, NULL, s, len), 0);
	assert_memory_equal(p.oid.hash, want.hash, OID_RAWSZ);
	assert_int_equal(p.size, size);
}

#define PERMISSIVE(s) expect_pointer((s), sizeof(s) - 1, HEX, 12345, 0)

static void expect_error(const char *s, size_t len, int code)
{
	struct lepton_pointer p;
	int canon, ret;
	lepton_error_clear();
	ret = parse_len(&p, &canon, s, len);
	if (ret != code)
		fail_msg("parse of \"%.*s\" (%zu bytes) returned %d, expected %d", (int)len, s, len,
			 ret, code);
	if (code == LEPTON_EINVALID)
		/* the message says what is wrong */
		assert_string_not_equal(lepton_error_last(), "unknown error");
}

#define INVALID(s)       expect_error((s), sizeof(s) - 1, LEPTON_EINVALID)
#define NOT_A_POINTER(s) expect_error((s), sizeof(s) - 1, LEPTON_ENOTFOUND)

static void test_format_exact(void **state)
{
	struct lepton_pointer p = { .oid = oid_of(HEX), .size = 12345 };
	struct buf b = BUF_INIT;
	(void)state;
	pointer_format(&b, &p);
	assert_string_equal(b.data, CANONICAL);
	assert_int_equal(b.len, strlen(CANONICAL));
	/* it appends */
	buf_reset(&b);
	assert_int_equal(buf_addstr(&b, "before|"), 0);
	pointer_format(&b, &p);
	assert_string_equal(b.data, "before|" CANONICAL);
	buf_release(&b);
}

static void test_round_trip(void **state)
{
	static const uint64_t sizes[] = { 0,
					  1,
					  9,
					  10,
					  1023,
					  4194304,
					  1234567890123ull,
					  9999999999999999999ull,
					  UINT64_MAX - 1,
					  UINT64_MAX };
	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		struct lepton_pointer p, q;
		struct buf b = BUF_INIT;
		int canon = 42;
		char num[32];
		/* a different oid each time, with every byte value somewhere */
		for (int k = 0; k < OID_RAWSZ; k++)
			p.oid.hash[k] =
			    (unsigned char)(i * 37 + (size_t)k * 8 + (k & 1 ? 0xf0 : 0));
		p.size = sizes[i];
		pointer_format(&b, &p);
		assert_true(b.len < POINTER_MAX_SIZE);
		snprintf(num, sizeof(num), "size %llu\n", (unsigned long long)sizes[i]);
		assert_non_null(strstr(b.data, num));
		assert_int_equal(parse_len(&q, &canon, b.data, b.len), 0);
		assert_int_equal(canon, 1);
		assert_memory_equal(q.oid.hash, p.oid.hash, OID_RAWSZ);
		assert_int_equal(q.size, p.size);
		assert_true(pointer_looks_like(b.data, b.len));
		buf_release(&b);
	}
}

static void test_empty_content(void **state)
{
	struct lepton_pointer p = { .oid = empty_oid, .size = 0 };
	struct lepton_oid sha;
	struct buf b = BUF_INIT;
	char hex[OID_HEXSZ + 1];
	(void)state;

	sha256_buffer(&sha, "", 0);
	assert_memory_equal(sha.hash, empty_oid.hash, OID_RAWSZ);
	assert_string_equal(oid_to_hex(hex, &empty_oid), empty_hex);

	pointer_format(&b, &p);
	assert_string_equal(b.data,
			    V1 "oid sha256:"
			       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
			       "\nsize 0\n");
	expect_pointer(b.data, b.len, empty_hex, 0, 1);
	buf_release(&b);
}

static void test_size_limits(void **state)
{
	(void)state;
	expect_pointer(V1 OID "size 0\n", sizeof(V1 OID "size 0\n") - 1, HEX, 0, 1);
	expect_pointer(V1 OID "size 18446744073709551615\n",
		       sizeof(V1 OID "size 18446744073709551615\n") - 1, HEX, UINT64_MAX, 1);
	expect_pointer(V1 OID "size 18446744073709551614\n",
		       sizeof(V1 OID "size 18446744073709551614\n") - 1, HEX, UINT64_MAX - 1, 1);
	/* one more than UINT64_MAX, and larger */
	INVALID(V1 OID "size 18446744073709551616\n");
	INVALID(V1 OID "size 18446744073709551620\n");
	INVALID(V1 OID "size 18446744073709551625\n");
	INVALID(V1 OID "size 19000000000000000000\n");
	INVALID(V1 OID "size 99999999999999999999\n");
	INVALID(V1 OID "size 100000000000000000000\n");
	INVALID(V1 OID "size 184467440737095516150\n");
	INVALID(V1 OID "size 123456789012345678901234567890\n");
}

static void test_permissive(void **state)
{
	(void)state;
	/* CRLF line ends, on every line or on one */
	PERMISSIVE("version https://git-lfs.github.com/spec/v1\r\n"
		   "oid sha256:" HEX "\r\n"
		   "size 12345\r\n");
	PERMISSIVE(V1 "oid sha256:" HEX "\r\n" SIZE);
	/* no final newline */
	PERMISSIVE(V1 OID "size 12345");
	PERMISSIVE("version https://git-lfs.github.com/spec/v1\r\n"
		   "oid sha256:" HEX "\r\n"
		   "size 12345");
	/* trailing blanks */
	PERMISSIVE("version https://git-lfs.github.com/spec/v1  \n" OID SIZE);
	PERMISSIVE(V1 "oid sha256:" HEX " \n" SIZE);
	PERMISSIVE(V1 OID "size 12345   \n");
	PERMISSIVE(V1 OID "size 12345\t\n");
	PERMISSIVE(V1 OID "size 12345 ");
	/* uppercase and mixed-case hex */
	PERMISSIVE(V1 "oid sha256:" HEX_UPPER "\n" SIZE);
	PERMISSIVE(
	    V1
	    "oid sha256:4d7A214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n" SIZE);
	/* the older name of the same format */
	PERMISSIVE("version https://hawser.github.com/spec/v1\n" OID SIZE);
	/* everything at once */
	PERMISSIVE("version https://hawser.github.com/spec/v1 \r\n"
		   "oid sha256:" HEX_UPPER "\r\n"
		   "size 12345 \r");
}

/* Non-canonical forms the header leaves open: if accepted, they must be
 * reported as not canonical, so that a caller rewrites them. */
static void expect_invalid_or_noncanonical(const char *s, size_t len)
{
	struct lepton_pointer p;
	int canon = 42, ret = parse_len(&p, &canon, s, len);
	if (ret == 0) {
		if (canon != 0)
			fail_msg("\"%.*s\" accepted as canonical", (int)len, s);
	} else if (ret != LEPTON_EINVALID) {
		fail_msg("parse of \"%.*s\" returned %d", (int)len, s, ret);
	}
}

#define INVALID_OR_NONCANONICAL(s) expect_invalid_or_noncanonical((s), sizeof(s) - 1)

static void test_noncanonical_open(void **state)
{
	(void)state;
	INVALID_OR_NONCANONICAL(V1 OID "size 012345\n");
	INVALID_OR_NONCANONICAL(V1 OID "size 00\n");
	INVALID_OR_NONCANONICAL(V1 OID "size 00000000000000000001\n");
	INVALID_OR_NONCANONICAL(CANONICAL "\n");
	INVALID_OR_NONCANONICAL(CANONICAL "\r\n");
	INVALID_OR_NONCANONICAL(CANONICAL " ");
	INVALID_OR_NONCANONICAL(CANONICAL "\n\n\n");
}

static void test_not_a_pointer(void **state)
{
	static const unsigned char binary[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
						0,    0,   0,   13,  'I',  'H',  'D',  'R' };
	struct lepton_pointer p;
	(void)state;
	NOT_A_POINTER("hello");
	NOT_A_POINTER("hello\n" CANONICAL);
	NOT_A_POINTER("version 2");
	NOT_A_POINTER("version 2\n" OID SIZE);
	NOT_A_POINTER("version");
	NOT_A_POINTER("versio");
	NOT_A_POINTER("versionhttps://git-lfs.github.com/spec/v1\n" OID SIZE);
	NOT_A_POINTER("Version https://git-lfs.github.com/spec/v1\n" OID SIZE);
	NOT_A_POINTER(" version https://git-lfs.github.com/spec/v1\n" OID SIZE);
	NOT_A_POINTER("\xef\xbb\xbfversion https://git-lfs.github.com/spec/v1\n" OID SIZE);
	NOT_A_POINTER(OID V1 SIZE);
	NOT_A_POINTER("{\"__metadata__\": {}}");
	NOT_A_POINTER("\0\0\0\0\0\0\0\0");
	expect_error((const char *)binary, sizeof(binary), LEPTON_ENOTFOUND);
	/* empty data is content, not a pointer (callers handle it first) */
	expect_error("", 0, LEPTON_ENOTFOUND);
	assert_int_equal(pointer_parse(&p, NULL, "", 0), LEPTON_ENOTFOUND);

	assert_false(pointer_looks_like("", 0));
	assert_false(pointer_looks_like("hello", 5));
	assert_false(pointer_looks_like("version 2", 9));
	assert_false(pointer_looks_like((const char *)binary, sizeof(binary)));
}

static void test_looks_like(void **state)
{
	(void)state;
	assert_true(pointer_looks_like(CANONICAL, strlen(CANONICAL)));
	assert_true(pointer_looks_like(V1, strlen(V1)));
	assert_true(pointer_looks_like("version https://hawser.github.com/spec/v1\n", 42));
	/* a pointer that fails to parse still looks like one */
	assert_true(pointer_looks_like(V1 "oid sha256:zz\n", strlen(V1 "oid sha256:zz\n")));
	assert_true(pointer_looks_like(V1 "\0\0\0", strlen(V1) + 3));
	/* the length given is respected: the rest of the string is not read */
	assert_false(pointer_looks_like("versio", 6));
}

static void test_invalid_oid(void **state)
{
	(void)state;
	/* 63 and 65 hex digits */
	INVALID(
	    V1 "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e239\n" SIZE);
	INVALID(V1 "oid sha256:" HEX "3\n" SIZE);
	INVALID(V1 "oid sha256:" HEX HEX "\n" SIZE);
	INVALID(V1 "oid sha256:\n" SIZE);
	INVALID(V1 "oid sha256:" SIZE);
	INVALID(V1 "oid \n" SIZE);
	INVALID(V1 "oid\n" SIZE);
	/* non-hex digits, at the start, the middle and the end */
	INVALID(
	    V1
	    "oid sha256:gd7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n" SIZE);
	INVALID(
	    V1
	    "oid sha256:4d7a214614ab2935c943f9e0ff69d22ezdbb8f32b1258daaa5e2ca24d17e2393\n" SIZE);
	INVALID(
	    V1
	    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e239g\n" SIZE);
	INVALID(
	    V1
	    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e239 \n" SIZE);
	INVALID(
	    V1
	    "oid sha256:4d7a214614ab2935c943f9e0ff69d22e dbb8f32b1258daaa5e2ca24d17e2393\n" SIZE);
	INVALID(
	    V1
	    "oid sha256:4d7a214614ab2935c943f9e0ff69d22e-dbb8f32b1258daaa5e2ca24d17e2393\n" SIZE);
	INVALID(
	    V1
	    "oid sha256:0x7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n" SIZE);
	/* other algorithms and prefixes */
	INVALID(V1 "oid sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709\n" SIZE);
	INVALID(V1 "oid sha1:" HEX "\n" SIZE);
	INVALID(V1 "oid sha512:" HEX "\n" SIZE);
	INVALID(V1 "oid " HEX "\n" SIZE);
	INVALID(V1 "oid sha256 " HEX "\n" SIZE);
	INVALID(V1 "oid sha256::" HEX "\n" SIZE);
	INVALID(V1 "oid :" HEX "\n" SIZE);
	/* two spaces after the key */
	INVALID(V1 "oid  sha256:" HEX "\n" SIZE);
	/* a tab instead of the space */
	INVALID(V1 "oid\tsha256:" HEX "\n" SIZE);
	/* a leading space makes an empty key */
	INVALID(V1 " oid sha256:" HEX "\n" SIZE);
}

static void test_invalid_size(void **state)
{
	(void)state;
	INVALID(V1 OID "size +12345\n");
	INVALID(V1 OID "size -12345\n");
	INVALID(V1 OID "size -0\n");
	INVALID(V1 OID "size  12345\n");
	INVALID(V1 OID "size 123 45\n");
	INVALID(V1 OID "size 12345x\n");
	INVALID(V1 OID "size x12345\n");
	INVALID(V1 OID "size 0x3039\n");
	INVALID(V1 OID "size 1e5\n");
	INVALID(V1 OID "size 12345.0\n");
	INVALID(V1 OID "size 1_000\n");
	INVALID(V1 OID "size \xd9\xa1\n"); /* ARABIC-INDIC DIGIT ONE */
	INVALID(V1 OID "size \n");
	INVALID(V1 OID "size\n");
	INVALID(V1 OID "size");
}

static void test_invalid_structure(void **state)
{
	(void)state;
	/* keys out of order */
	INVALID(V1 SIZE OID);
	/* duplicates */
	INVALID(V1 OID OID SIZE);
	INVALID(V1 OID SIZE SIZE);
	INVALID(V1 OID "oid sha256:" HEX_UPPER "\n" SIZE);
	INVALID(V1 V1 OID SIZE);
	INVALID(V1 OID V1 SIZE);
	/* missing lines */
	INVALID(V1 SIZE);
	INVALID(V1 OID);
	INVALID(V1);
	INVALID("version https://git-lfs.github.com/spec/v1");
	INVALID(V1 "\n");
	/* unknown keys, in every position */
	INVALID(V1 "foo bar\n" OID SIZE);
	INVALID(V1 OID "foo bar\n" SIZE);
	INVALID(V1 OID SIZE "foo bar\n");
	INVALID(V1 OID "foo bar\n");
	INVALID(V1 OID "sizes 12345\n");
	INVALID(V1 OID "siz 12345\n");
	INVALID(V1 "oidx sha256:" HEX "\n" SIZE);
	/* extensions are not supported */
	INVALID(V1 "ext-0-foo sha256:" HEX "\n" OID SIZE);
	INVALID(V1 OID "ext-0-foo sha256:" HEX "\n" SIZE);
	INVALID(V1 "ext-0-foo sha256:" HEX "\n" OID);
	/* keys with uppercase letters */
	INVALID(V1 "OID sha256:" HEX "\n" SIZE);
	INVALID(V1 "Oid sha256:" HEX "\n" SIZE);
	INVALID(V1 OID "Size 12345\n");
	INVALID(V1 OID "SIZE 12345\n");
	/* an empty line in the middle, plain or CRLF or blank */
	INVALID(V1 "\n" OID SIZE);
	INVALID(V1 OID "\n" SIZE);
	INVALID(V1 OID "\r\n" SIZE);
	INVALID(V1 OID "   \n" SIZE);
	/* more than 3 lines */
	INVALID(V1 OID SIZE "x y\n");
	INVALID(V1 OID SIZE "size 12345\n");
	INVALID(V1 OID SIZE V1 OID SIZE);
	/* a line that is not "key value" */
	INVALID(V1 OID "size12345\n");
	INVALID(V1 "garbage\n" OID SIZE);
	/* bare CR is not a line end */
	INVALID("version https://git-lfs.github.com/spec/v1\r"
		"oid sha256:" HEX "\r"
		"size 12345\r");
}

static void test_invalid_version(void **state)
{
	(void)state;
	/* starts with a version line, of a version we do not know */
	INVALID("version https://git-lfs.github.com/spec/v2\n" OID SIZE);
	INVALID("version https://git-lfs.github.com/spec/v10\n" OID SIZE);
	INVALID("version https://git-lfs.github.com/spec/v1x\n" OID SIZE);
	INVALID("version https://git-lfs.github.com/spec/v1/\n" OID SIZE);
	INVALID("version https://git-lfs.github.com/spec/v1 v2\n" OID SIZE);
	INVALID("version https://git-lfs.github.com/spec/\n" OID SIZE);
	INVALID("version https://hawser.github.com/spec/v2\n" OID SIZE);
	INVALID("version http://git-lfs.github.com/spec/v1\n" OID SIZE);
}

static void test_nul_byte(void **state)
{
	static const char nul_in_size[] = V1 OID "size 123\0"
						 "45\n";
	static const char nul_at_end[] = CANONICAL "\0";
	static const char nul_in_oid[] = V1 "oid sha256:\0" HEX "\n" SIZE;
	static const char nul_in_version[] =
	    "version https://git-lfs.github.com/spec/v1\0\n" OID SIZE;
	static const char nul_after_size[] = V1 OID "size 12345\0\n";
	(void)state;
	expect_error(nul_in_size, sizeof(nul_in_size) - 1, LEPTON_EINVALID);
	expect_error(nul_at_end, sizeof(nul_at_end) - 1, LEPTON_EINVALID);
	expect_error(nul_in_oid, sizeof(nul_in_oid) - 1, LEPTON_EINVALID);
	expect_error(nul_in_version, sizeof(nul_in_version) - 1, LEPTON_EINVALID);
	expect_error(nul_after_size, sizeof(nul_after_size) - 1, LEPTON_EINVALID);
}

/* A valid pointer with the size line padded by blanks to total bytes. */
static char *padded_pointer(size_t total)
{
	size_t base = strlen(V1 OID "size 12345");
	char *p = malloc(total + 1);
	assert_non_null(p);
	assert_true(total > base + 1);
	memcpy(p, V1 OID "size 12345", base);
	memset(p + base, ' ', total - base - 1);
	p[total - 1] = '\n';
	p[total] = '\0';
	return p;
}

static void test_too_long(void **state)
{
	char *p;
	(void)state;
	/* strictly shorter than POINTER_MAX_SIZE: 1023 bytes parse, not canonical */
	p = padded_pointer(POINTER_MAX_SIZE - 1);
	expect_pointer(p, POINTER_MAX_SIZE - 1, HEX, 12345, 0);
	free(p);
	/* 1024 bytes and more do not */
	p = padded_pointer(POINTER_MAX_SIZE);
	expect_error(p, POINTER_MAX_SIZE, LEPTON_EINVALID);
	free(p);
	p = padded_pointer(POINTER_MAX_SIZE + 1);
	expect_error(p, POINTER_MAX_SIZE + 1, LEPTON_EINVALID);
	free(p);
	p = padded_pointer(1 << 20);
	expect_error(p, 1 << 20, LEPTON_EINVALID);
	free(p);
	/* padding elsewhere: a long version line */
	p = malloc(2048);
	assert_non_null(p);
	memset(p, 'v', 2048);
	memcpy(p, V1, strlen(V1) - 1);
	expect_error(p, 2048, LEPTON_EINVALID);
	free(p);
}

static void test_length_is_respected(void **state)
{
	/* the bytes after len must not be looked at */
	static const char text[] = CANONICAL "garbage that would make it invalid\n";
	struct lepton_pointer p;
	int canon = 42;
	(void)state;
	assert_int_equal(parse_len(&p, &canon, text, strlen(CANONICAL)), 0);
	assert_int_equal(canon, 1);
	assert_int_equal(p.size, 12345);
	/* cut short inside the size: a different, valid pointer, not canonical */
	assert_int_equal(parse_len(&p, &canon, text, strlen(CANONICAL) - 3), 0);
	assert_int_equal(p.size, 123);
	assert_int_equal(canon, 0);
	/* cut short inside the oid */
	assert_int_equal(parse_len(&p, &canon, text, strlen(V1) + 20), LEPTON_EINVALID);
}

static void test_heap_exact(void **state)
{
	/* parse from a heap copy with no terminator, so a read past the end
	 * shows under the address sanitizer */
	static const char *const inputs[] = {
		CANONICAL,
		V1 OID "size 12345",
		V1 OID "size 1234",
		V1 "oid sha256:" HEX,
		V1 "oid sha256:4d7a",
		V1 "oid",
		"version https://git-lfs.github.com/spec/v",
		"version ",
		"v",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		size_t len = strlen(inputs[i]);
		char *copy = malloc(len);
		struct lepton_pointer p;
		int canon, ret;
		assert_non_null(copy);
		memcpy(copy, inputs[i], len);
		ret = parse_len(&p, &canon, copy, len);
		assert_true(ret == 0 || ret == LEPTON_EINVALID || ret == LEPTON_ENOTFOUND);
		(void)pointer_looks_like(copy, len);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_exact),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_content),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_permissive),
		cmocka_unit_test(test_noncanonical_open),
		cmocka_unit_test(test_not_a_pointer),
		cmocka_unit_test(test_looks_like),
		cmocka_unit_test(test_invalid_oid),
		cmocka_unit_test(test_invalid_size),
		cmocka_unit_test(test_invalid_structure),
		cmocka_unit_test(test_invalid_version),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_length_is_respected),
		cmocka_unit_test(test_heap_exact),
	};
	return cmocka_run_group_tests_name("pointer", tests, NULL, NULL);
}
