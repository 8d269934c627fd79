/*
 * Unit tests of the model header readers (git-lepton/model.h): valid
 * safetensors and GGUF v2/v3 files built here byte by byte, and one test
 * for each way a hostile header can be wrong, asserting that the message
 * names the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "model.h"

/* ---- safetensors ---- */

/* 8-byte length, the JSON, then data_len bytes of data */
static void st_build(struct buf *out, const char *json, size_t data_len)
{
	unsigned char len[8];
	buf_reset(out);
	put_le64(len, strlen(json));
	buf_add(out, len, 8);
	buf_addstr(out, json);
	for (size_t i = 0; i < data_len; i++)
		buf_addch(out, (int)(i * 7 & 0xff));
}

static void expect_invalid(const struct buf *file, const char *needle)
{
	struct model_info m;
	int ret = model_parse(&m, file->data, file->len, file->len);
	if (ret != LEPTON_EINVALID || !strstr(lepton_error_last(), needle))
		fail_msg("expected an error with '%s', got %d: %s", needle, ret,
			 ret ? lepton_error_last() : "(none)");
	assert_int_equal(m.format, MODEL_OPAQUE);
	assert_int_equal(m.n_tensors, 0);
	model_info_release(&m);
}

static void expect_st_invalid(const char *json, size_t data_len, const char *needle)
{
	struct buf file = BUF_INIT;
	st_build(&file, json, data_len);
	expect_invalid(&file, needle);
	buf_release(&file);
}

#define T(name, dtype, shape, b, e)                                                              \
	"\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e \
	"]}"

static void test_st_valid(void **state)
{
	struct buf file = BUF_INIT;
	struct model_info m;
	/* listed out of order: the data region order is what counts */
	const char *json =
	    "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\\u00e9 \\ud83d\\ude00\"}," T(
		"b", "F16", "[3,4]", 16, 40) "," T("a", "F32", "[2,2]", 0,
						   16) "," T("empty", "BF16", "[0,5]", 40,
							     40) "," T("s", "I8", "[]", 40,
								       41) "}   ";

	st_build(&file, json, 41);
	assert_int_equal(model_parse(&m, file.data, file.len, file.len), 0);
	assert_int_equal(m.format, MODEL_SAFETENSORS);
	assert_int_equal(m.header_size, 8 + strlen(json));
	assert_int_equal(m.data_size, 41);
	assert_int_equal(m.n_tensors, 4);
	assert_string_equal(m.tensors[0].name, "a");
	assert_string_equal(m.tensors[0].dtype, "F32");
	assert_int_equal(m.tensors[0].elem_width, 4);
	assert_true(m.tensors[0].is_float);
	assert_int_equal(m.tensors[0].offset, m.header_size);
	assert_string_equal(m.tensors[1].name, "b");
	assert_int_equal(m.tensors[1].ndim, 2);
	assert_int_equal(m.tensors[1].shape[1], 4);
	assert_int_equal(m.tensors[1].size, 24);
	assert_int_equal(m.tensors[1].offset, m.header_size + 16);
	assert_int_equal(m.tensors[2].size, 0);
	assert_string_equal(m.tensors[3].name, "s");
	assert_int_equal(m.tensors[3].ndim, 0);
	assert_false(m.tensors[3].is_float);
	assert_int_equal(m.n_meta, 2);
	assert_string_equal(m.meta[1].value, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	model_info_release(&m);
	buf_release(&file);
}

static void test_st_empty(void **state)
{
	struct buf file = BUF_INIT;
	struct model_info m;
	st_build(&file, "{}", 0);
	assert_int_equal(model_parse(&m, file.data, file.len, file.len), 0);
	assert_int_equal(m.format, MODEL_SAFETENSORS);
	assert_int_equal(m.n_tensors, 0);
	assert_int_equal(m.data_size, 0);
	model_info_release(&m);
	buf_release(&file);
}

static void test_st_header_beyond_file(void **state)
{
	struct buf file = BUF_INIT;
	st_build(&file, "{" T("a", "F32", "[1]", 0, 4) "}", 4);
	file.data[0] += 100; /* the length says 100 more bytes than there are */
	expect_invalid(&file, "goes beyond the end of the file");
	buf_release(&file);
}

static void test_st_header_too_large(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t need;
	enum model_format f;
	st_build(&file, "{}", 0);
	put_le64((unsigned char *)file.data, MODEL_SAFETENSORS_MAX_HEADER + 1);
	expect_invalid(&file, "over the limit");
	assert_int_equal(model_header_need(&need, &f, file.data, file.len), LEPTON_EINVALID);
	buf_release(&file);
}

static void test_st_malformed_json(void **state)
{
	expect_st_invalid("{\"a\":{\"dtype\":\"F32\",", 0, "safetensors header");
	expect_st_invalid("{\"a\" {}}", 0, "expected ':'");
	expect_st_invalid("{" T("a", "F32", "[1]", 0, 4), 4, "expected '}'");
	expect_st_invalid("{\"a\":{\"dtype\":\"F\x01\"}}", 0, "control character");
	expect_st_invalid("{\"a\":{\"dtype\":\"\\q\"}}", 0, "bad escape");
	expect_st_invalid("{\"a\\ud800\":{}}", 0, "surrogate");
	expect_st_invalid("{\"a\\u0000\":{}}", 0, "NUL");
}

static void test_st_not_utf8(void **state)
{
	expect_st_invalid("{\"a\xff\":{}}", 0, "invalid UTF-8");
	expect_st_invalid("{\"a\xc0\xaf\":{}}", 0, "invalid UTF-8");
}

static void test_st_overlap(void **state)
{
	expect_st_invalid("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 4, 12) "}", 12,
			  "tensor 'b': data_offsets overlap 'a'");
}

static void test_st_gap(void **state)
{
	expect_st_invalid("{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[1]", 8, 12) "}", 12,
			  "tensor 'b': data_offsets leave a gap of 4 bytes after 'a'");
	expect_st_invalid("{" T("a", "F32", "[1]", 4, 8) "}", 8, "at the start of the data");
}

static void test_st_end_before_begin(void **state)
{
	expect_st_invalid("{" T("a", "F32", "[0]", 8, 0) "}", 8, "end before they begin");
}

static void test_st_out_of_range(void **state)
{
	/* data_offsets past the end of the file */
	expect_st_invalid("{" T("a", "F32", "[4]", 0, 16) "}", 8, "tensor 'a': data at");
}

static void test_st_trailing_bytes(void **state)
{
	expect_st_invalid("{" T("a", "F32", "[1]", 0, 4) "}", 5, "1 trailing bytes");
}

static void test_st_shape_overflow(void **state)
{
	expect_st_invalid("{" T("a", "F32", "[4294967296,4294967296]", 0, 0) "}", 0,
			  "tensor 'a': shape product overflows");
	expect_st_invalid("{" T("a", "F32", "[4611686018427387904]", 0, 0) "}", 0,
			  "tensor 'a': byte size overflows");
	expect_st_invalid("{" T("a", "F32", "[18446744073709551616]", 0, 0) "}", 0,
			  "overflows 64 bits");
}

static void test_st_size_mismatch(void **state)
{
	expect_st_invalid("{" T("a", "F16", "[3]", 0, 8) "}", 8,
			  "tensor 'a': data_offsets hold 8 bytes, shape [3] of F16 needs 6");
}

static void test_st_unknown_dtype(void **state)
{
	expect_st_invalid("{" T("a", "F7", "[1]", 0, 1) "}", 1, "tensor 'a': unknown dtype 'F7'");
	/* a GGUF-only type is no safetensors dtype */
	expect_st_invalid("{" T("a", "Q4_0", "[32]", 0, 18) "}", 18, "unknown dtype 'Q4_0'");
}

static void test_st_duplicate_name(void **state)
{
	expect_st_invalid("{" T("a", "F32", "[1]", 0, 4) "," T("a", "F32", "[1]", 4, 8) "}", 8,
			  "tensor 'a' is named twice");
	expect_st_invalid("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "given twice");
}

static void test_st_bad_fields(void **state)
{
	expect_st_invalid("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "no 'shape'");
	expect_st_invalid("{" T("a", "F32", "[-1]", 0, 4) "}", 4, "non-negative integer");
	expect_st_invalid("{" T("a", "F32", "[1.5]", 0, 4) "}", 4, "non-negative integer");
	expect_st_invalid("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,5]}}", 4,
			  "data_offsets must be [begin, end]");
	expect_st_invalid("{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4,
			  "more than 8 dimensions");
	expect_st_invalid("{\"__metadata__\":{\"k\":1}}", 0, "must be strings");
	expect_st_invalid("{} x", 0, "bytes after the JSON object");
}

static void test_st_skips_unknown_fields(void **state)
{
	struct buf file = BUF_INIT, json = BUF_INIT;
	struct model_info m;

	buf_addstr(&json, "{\"a\":{\"x\":[true,null,{\"y\":-1.5e3}],\"dtype\":\"U8\",\"shape\":[2],"
			  "\"data_offsets\":[0,2]}}");
	st_build(&file, json.data, 2);
	assert_int_equal(model_parse(&m, file.data, file.len, file.len), 0);
	assert_int_equal(m.n_tensors, 1);
	model_info_release(&m);

	/* but not without a bound on nesting */
	buf_reset(&json);
	buf_addstr(&json, "{\"a\":{\"x\":");
	for (int i = 0; i < 100; i++)
		buf_addch(&json, '[');
	expect_st_invalid(json.data, 0, "nested too deeply");
	buf_release(&json);
	buf_release(&file);
}

static void test_opaque(void **state)
{
	struct model_info m;
	uint64_t need;
	enum model_format f;
	const char text[] = "hello, this is not a model at all\n";
	assert_int_equal(model_parse(&m, text, sizeof(text) - 1, sizeof(text) - 1), 0);
	assert_int_equal(m.format, MODEL_OPAQUE);
	model_info_release(&m);
	assert_int_equal(model_header_need(&need, &f, text, sizeof(text) - 1), 0);
	assert_int_equal(f, MODEL_OPAQUE);
	assert_int_equal(need, 0);
	/* too short to tell */
	assert_int_equal(model_header_need(&need, &f, "GG", 2), 0);
	assert_true(need > 2);
	assert_int_equal(model_parse(&m, "GG", 2, 2), 0);
	assert_int_equal(m.format, MODEL_OPAQUE);
}

/* ---- GGUF ---- */

static void gg_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24 };
	buf_add(b, x, 4);
}

static void gg_u64(struct buf *b, uint64_t v)
{
	unsigned char x[8];
	put_le64(x, v);
	buf_add(b, x, 8);
}

static void gg_str(struct buf *b, const char *s)
{
	gg_u64(b, strlen(s));
	buf_addstr(b, s);
}

static void gg_head(struct buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	buf_reset(b);
	buf_addstr(b, "GGUF");
	gg_u32(b, version);
	gg_u64(b, n_tensors);
	gg_u64(b, n_kv);
}

static void gg_tensor(struct buf *b, const char *name, uint32_t ndim, const uint64_t *dims,
		      uint32_t type, uint64_t offset)
{
	gg_str(b, name);
	gg_u32(b, ndim);
	for (uint32_t i = 0; i < ndim; i++)
		gg_u64(b, dims[i]);
	gg_u32(b, type);
	gg_u64(b, offset);
}

static void gg_pad(struct buf *b, size_t alignment, size_t data)
{
	while (b->len % alignment)
		buf_addch(b, 0);
	for (size_t i = 0; i < data; i++)
		buf_addch(b, (int)(i & 0xff));
}

/* A small valid file: 6 key/values (alignment 64), three tensors. */
static void gg_valid(struct buf *b, uint32_t version)
{
	uint64_t d1[2] = { 4, 2 }, d2[1] = { 64 }, d3[3] = { 2, 1, 3 };

	gg_head(b, version, 3, 6);
	gg_str(b, "general.architecture");
	gg_u32(b, 8);
	gg_str(b, "llama");
	gg_str(b, "general.alignment");
	gg_u32(b, 4);
	gg_u32(b, 64);
	gg_str(b, "tokenizer.ggml.tokens");
	gg_u32(b, 9);
	gg_u32(b, 8);
	gg_u64(b, 3);
	gg_str(b, "a");
	gg_str(b, "bb");
	gg_str(b, "");
	gg_str(b, "llama.rope.scale");
	gg_u32(b, 6);
	gg_u32(b, 0x3fc00000); /* 1.5f */
	gg_str(b, "general.file_type");
	gg_u32(b, 11);
	gg_u64(b, (uint64_t)-7);
	gg_str(b, "scores");
	gg_u32(b, 9);
	gg_u32(b, 6);
	gg_u64(b, 2);
	gg_u64(b, 0);
	/* F32 [4,2] = 32 bytes at 0; Q4_0 [64] = 2 blocks = 36 bytes at 64 (after
	 * padding); F16 [2,1,3] = 12 bytes at 128 */
	gg_tensor(b, "w", 2, d1, 0, 0);
	gg_tensor(b, "q", 1, d2, 2, 64);
	gg_tensor(b, "h", 3, d3, 1, 128);
	gg_pad(b, 64, 140);
}

static void test_gguf_valid(void **state)
{
	struct buf file = BUF_INIT;
	struct model_info m;

	for (uint32_t version = 2; version <= 3; version++) {
		gg_valid(&file, version);
		assert_int_equal(model_parse(&m, file.data, file.len, file.len), 0);
		assert_int_equal(m.format, MODEL_GGUF);
		assert_int_equal(m.version, version);
		assert_int_equal(m.alignment, 64);
		assert_int_equal(m.header_size % 64, 0);
		assert_int_equal(m.header_size + 140, file.len);
		assert_int_equal(m.data_size, 140);
		assert_int_equal(m.n_meta, 6);
		assert_string_equal(m.meta[0].value, "llama");
		assert_string_equal(m.meta[1].value, "64");
		assert_string_equal(m.meta[2].value, "[string x 3]");
		assert_string_equal(m.meta[3].value, "1.5");
		assert_string_equal(m.meta[4].value, "-7");
		assert_string_equal(m.meta[5].value, "[f32 x 2]");
		assert_int_equal(m.n_tensors, 3);
		assert_string_equal(m.tensors[0].name, "w");
		assert_string_equal(m.tensors[0].dtype, "F32");
		assert_int_equal(m.tensors[0].size, 32);
		assert_int_equal(m.tensors[0].offset, m.header_size);
		assert_string_equal(m.tensors[1].dtype, "Q4_0");
		assert_int_equal(m.tensors[1].elem_width, 0);
		assert_int_equal(m.tensors[1].size, 36);
		assert_int_equal(m.tensors[1].offset, m.header_size + 64);
		assert_string_equal(m.tensors[2].dtype, "F16");
		assert_int_equal(m.tensors[2].ndim, 3);
		assert_int_equal(m.tensors[2].size, 12);
		model_info_release(&m);
	}
	buf_release(&file);
}

static void test_gguf_need(void **state)
{
	struct buf file = BUF_INIT;
	struct model_info m;
	uint64_t need = 0, header;
	enum model_format f;
	size_t len = 4, calls = 0;

	gg_valid(&file, 3);
	assert_int_equal(model_parse(&m, file.data, file.len, file.len), 0);
	header = m.header_size;
	model_info_release(&m);
	/* a caller that reads what it is told needs few rounds */
	for (;;) {
		assert_int_equal(model_header_need(&need, &f, file.data, len), 0);
		assert_int_equal(f, MODEL_GGUF);
		calls++;
		if (need <= len)
			break;
		assert_true(need >= 2 * len || need == header);
		len = need < file.len ? need : file.len;
	}
	assert_int_equal(need, header);
	assert_true(calls < 10);
	/* a prefix with the header parses with the size unknown, then checks */
	assert_int_equal(model_parse(&m, file.data, (size_t)header, UINT64_MAX), 0);
	assert_int_equal(model_check_size(&m, file.len), 0);
	assert_int_equal(model_check_size(&m, file.len - 1), LEPTON_EINVALID);
	assert_non_null(strstr(lepton_error_last(), "outside the file"));
	model_info_release(&m);
	buf_release(&file);
}

static void test_gguf_bad_magic(void **state)
{
	struct buf file = BUF_INIT;
	struct model_info m;
	uint64_t need;
	gg_valid(&file, 3);
	file.data[3] = 'X';
	assert_int_equal(gguf_parse(&m, &need, (unsigned char *)file.data, file.len, file.len),
			 LEPTON_EINVALID);
	assert_non_null(strstr(lepton_error_last(), "bad gguf magic"));
	/* through model_parse it is just not a model */
	assert_int_equal(model_parse(&m, file.data, file.len, file.len), 0);
	assert_int_equal(m.format, MODEL_OPAQUE);
	buf_release(&file);
}

static void test_gguf_version(void **state)
{
	struct buf file = BUF_INIT;
	gg_valid(&file, 1);
	expect_invalid(&file, "gguf version 1 is not supported");
	gg_valid(&file, 4);
	expect_invalid(&file, "gguf version 4 is not supported");
	buf_release(&file);
}

static void test_gguf_absurd_counts(void **state)
{
	struct buf file = BUF_INIT;
	gg_head(&file, 3, 0, 1ull << 40);
	gg_pad(&file, 32, 64);
	expect_invalid(&file, "key/value count 1099511627776 cannot fit");
	gg_head(&file, 3, UINT64_MAX, 0);
	gg_pad(&file, 32, 64);
	expect_invalid(&file, "tensor count");
	/* an array longer than the file */
	gg_head(&file, 3, 0, 1);
	gg_str(&file, "big");
	gg_u32(&file, 9);
	gg_u32(&file, 4);
	gg_u64(&file, 1ull << 33);
	expect_invalid(&file, "gguf key 'big': array of 8589934592 u32 elements cannot fit");
	buf_release(&file);
}

static void test_gguf_truncated_string(void **state)
{
	struct buf file = BUF_INIT;
	struct model_info m;
	gg_head(&file, 3, 0, 1);
	gg_u64(&file, 1000); /* a key of 1000 bytes, 5 there */
	buf_addstr(&file, "hello");
	expect_invalid(&file, "a key at byte 32 goes beyond the end of the file");
	/* size unknown: the bytes given are all there is */
	assert_int_equal(model_parse(&m, file.data, file.len, UINT64_MAX), LEPTON_EINVALID);
	assert_non_null(strstr(lepton_error_last(), "cut short"));
	buf_release(&file);
}

static void test_gguf_unknown_value_type(void **state)
{
	struct buf file = BUF_INIT;
	gg_head(&file, 3, 0, 1);
	gg_str(&file, "k");
	gg_u32(&file, 13);
	gg_u32(&file, 0);
	gg_pad(&file, 32, 0);
	expect_invalid(&file, "gguf key 'k': unknown value type 13");
	gg_head(&file, 3, 0, 1);
	gg_str(&file, "k");
	gg_u32(&file, 9);
	gg_u32(&file, 9);
	gg_u64(&file, 0);
	gg_pad(&file, 32, 0);
	expect_invalid(&file, "gguf key 'k': nested arrays");
	buf_release(&file);
}

static void one_tensor(struct buf *b, uint32_t ndim, const uint64_t *dims, uint32_t type,
		       uint64_t offset, size_t data)
{
	gg_head(b, 3, 1, 0);
	gg_tensor(b, "t", ndim, dims, type, offset);
	gg_pad(b, 32, data);
}

static void test_gguf_unknown_tensor_type(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t d[1] = { 32 };
	one_tensor(&file, 1, d, 4, 0, 64); /* 4 was Q4_2, removed from ggml */
	expect_invalid(&file, "tensor 't': unknown tensor type 4");
	one_tensor(&file, 1, d, 1000, 0, 64);
	expect_invalid(&file, "unknown tensor type 1000");
	buf_release(&file);
}

static void test_gguf_too_many_dims(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t d[5] = { 1, 1, 1, 1, 1 };
	one_tensor(&file, 5, d, 0, 0, 32);
	expect_invalid(&file, "tensor 't': 5 dimensions, at most 4");
	buf_release(&file);
}

static void test_gguf_alignment(void **state)
{
	struct buf file = BUF_INIT;
	gg_head(&file, 3, 0, 1);
	gg_str(&file, "general.alignment");
	gg_u32(&file, 4);
	gg_u32(&file, 48);
	gg_pad(&file, 32, 0);
	expect_invalid(&file, "alignment 48 is not a power of two");
	gg_head(&file, 3, 0, 1);
	gg_str(&file, "general.alignment");
	gg_u32(&file, 4);
	gg_u32(&file, 0);
	gg_pad(&file, 32, 0);
	expect_invalid(&file, "alignment 0 is not a power of two");
	gg_head(&file, 3, 0, 1);
	gg_str(&file, "general.alignment");
	gg_u32(&file, 10);
	gg_u64(&file, 32);
	gg_pad(&file, 32, 0);
	expect_invalid(&file, "must be a u32");
	buf_release(&file);
}

static void test_gguf_unaligned_offset(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t d[1] = { 4 };
	one_tensor(&file, 1, d, 0, 8, 64);
	expect_invalid(&file, "tensor 't': offset 8 is not a multiple of the alignment 32");
	buf_release(&file);
}

static void test_gguf_outside_file(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t d[1] = { 64 };
	one_tensor(&file, 1, d, 0, 0, 100); /* 256 bytes of data, 100 there */
	expect_invalid(&file, "tensor 't': data at");
	assert_non_null(strstr(lepton_error_last(), "is outside the file"));
	one_tensor(&file, 1, d, 0, UINT64_MAX - 31, 0);
	expect_invalid(&file, "offset out of range");
	buf_release(&file);
}

static void test_gguf_overlap(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t d[1] = { 16 };
	gg_head(&file, 3, 2, 0);
	gg_tensor(&file, "a", 1, d, 0, 0);
	gg_tensor(&file, "b", 1, d, 0, 32);
	gg_pad(&file, 32, 128);
	expect_invalid(&file, "tensor 'b': data overlaps 'a'");
	buf_release(&file);
}

static void test_gguf_duplicates(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t d[1] = { 8 };
	gg_head(&file, 3, 2, 0);
	gg_tensor(&file, "a", 1, d, 0, 0);
	gg_tensor(&file, "a", 1, d, 0, 32);
	gg_pad(&file, 32, 64);
	expect_invalid(&file, "tensor 'a' is named twice");
	gg_head(&file, 3, 0, 2);
	gg_str(&file, "k");
	gg_u32(&file, 0);
	buf_addch(&file, 1);
	gg_str(&file, "k");
	gg_u32(&file, 0);
	buf_addch(&file, 2);
	gg_pad(&file, 32, 0);
	expect_invalid(&file, "gguf key 'k' is given twice");
	buf_release(&file);
}

static void test_gguf_block_size(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t d[2] = { 48, 2 };
	one_tensor(&file, 2, d, 2, 0, 64);
	expect_invalid(&file, "row of 48 elements is not a multiple of the block size 32 of Q4_0");
	buf_release(&file);
}

static void test_gguf_shape_overflow(void **state)
{
	struct buf file = BUF_INIT;
	uint64_t d[3] = { 1ull << 32, 1ull << 32, 1 };
	one_tensor(&file, 3, d, 0, 0, 0);
	expect_invalid(&file, "shape product overflows");
	d[0] = UINT64_MAX;
	one_tensor(&file, 1, d, 0, 0, 0);
	expect_invalid(&file, "is negative");
	buf_release(&file);
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/lepton-test-model-XXXXXX";
	struct buf file = BUF_INIT;
	struct model_info m;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	gg_valid(&file, 2);
	assert_int_equal(write_all(fd, file.data, file.len), 0);
	close(fd);
	assert_int_equal(model_parse_file(&m, path), 0);
	assert_int_equal(m.format, MODEL_GGUF);
	assert_int_equal(m.n_tensors, 3);
	model_info_release(&m);
	/* cut the last data byte off: the file no longer holds tensor 'h' */
	assert_int_equal(truncate(path, (off_t)file.len - 1), 0);
	assert_int_equal(model_parse_file(&m, path), LEPTON_EINVALID);
	assert_non_null(strstr(lepton_error_last(), "tensor 'h'"));
	unlink(path);
	assert_int_equal(model_parse_file(&m, path), LEPTON_EIO);
	buf_release(&file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_st_valid),
		cmocka_unit_test(test_st_empty),
		cmocka_unit_test(test_st_header_beyond_file),
		cmocka_unit_test(test_st_header_too_large),
		cmocka_unit_test(test_st_malformed_json),
		cmocka_unit_test(test_st_not_utf8),
		cmocka_unit_test(test_st_overlap),
		cmocka_unit_test(test_st_gap),
		cmocka_unit_test(test_st_end_before_begin),
		cmocka_unit_test(test_st_out_of_range),
		cmocka_unit_test(test_st_trailing_bytes),
		cmocka_unit_test(test_st_shape_overflow),
		cmocka_unit_test(test_st_size_mismatch),
		cmocka_unit_test(test_st_unknown_dtype),
		cmocka_unit_test(test_st_duplicate_name),
		cmocka_unit_test(test_st_bad_fields),
		cmocka_unit_test(test_st_skips_unknown_fields),
		cmocka_unit_test(test_opaque),
		cmocka_unit_test(test_gguf_valid),
		cmocka_unit_test(test_gguf_need),
		cmocka_unit_test(test_gguf_bad_magic),
		cmocka_unit_test(test_gguf_version),
		cmocka_unit_test(test_gguf_absurd_counts),
		cmocka_unit_test(test_gguf_truncated_string),
		cmocka_unit_test(test_gguf_unknown_value_type),
		cmocka_unit_test(test_gguf_unknown_tensor_type),
		cmocka_unit_test(test_gguf_too_many_dims),
		cmocka_unit_test(test_gguf_alignment),
		cmocka_unit_test(test_gguf_unaligned_offset),
		cmocka_unit_test(test_gguf_outside_file),
		cmocka_unit_test(test_gguf_overlap),
		cmocka_unit_test(test_gguf_duplicates),
		cmocka_unit_test(test_gguf_block_size),
		cmocka_unit_test(test_gguf_shape_overflow),
		cmocka_unit_test(test_parse_file),
	};
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
