/*
 * Write the seed corpora of the fuzz targets, with the project's own
 * encoders where there is one:
 *
 *   make-corpus <dir>        writes <dir>/<target>/<name> for every seed
 *
 * `make fuzz-corpus` runs it into fuzz/corpus/.  The seeds are small valid
 * inputs and a few broken ones next to them (truncated, bad checksum,
 * unknown version), so that every fuzzer starts past the magic numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "codec-base.h"
#include "error.h"
#include "frame.h"
#include "hash.h"
#include "pack.h"
#include "pktline.h"
#include "pointer.h"
#include "recipe.h"
#include "banned.h"

static const char *out_dir;

static void die(const char *what)
{
	fprintf(stderr, "fatal: %s: %s\n", what, lepton_error_last());
	exit(1);
}

static void seed(const char *target, const char *name, const void *data, size_t len)
{
	struct buf path = BUF_INIT;
	FILE *f;

	buf_addf(&path, "%s/%s", out_dir, target);
	mkdir(path.data, 0777);
	buf_addf(&path, "/%s", name);
	f = fopen(path.data, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		die(path.data);
	buf_release(&path);
}

static void seed_str(const char *target, const char *name, const char *s)
{
	seed(target, name, s, strlen(s));
}

/* A seed that is a valid input cut short. */
static void seed_truncated(const char *target, const char *name, const struct buf *b, size_t len)
{
	seed(target, name, b->data, len < b->len ? len : b->len);
}

/* A seed with one byte flipped (a checksum that no longer matches). */
static void seed_flipped(const char *target, const char *name, const struct buf *b, size_t at)
{
	struct buf copy = BUF_INIT;

	buf_add(&copy, b->data, b->len);
	copy.data[at] ^= 0x20;
	seed(target, name, copy.data, copy.len);
	buf_release(&copy);
}

/* Replace the last 8 bytes with the XXH3 of everything before them. */
static void fix_trailer(struct buf *b)
{
	put_le64((unsigned char *)b->data + b->len - 8, xxh3_64(b->data, b->len - 8));
}

static void pointer_seeds(void)
{
	const char *target = "pointer";
	struct lepton_pointer p;
	struct buf b = BUF_INIT;

	sha256_buffer(&p.oid, "hello\n", 6);
	p.size = 6;
	pointer_format(&b, &p);
	seed(target, "canonical", b.data, b.len);
	seed_truncated(target, "truncated", &b, 60);
	seed_truncated(target, "no-final-newline", &b, b.len - 1);
	seed_str(target, "crlf",
		 "version https://git-lfs.github.com/spec/v1\r\n"
		 "oid sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\r\n"
		 "size 6\r\n");
	seed_str(target, "hawser-uppercase",
		 "version https://hawser.github.com/spec/v1\n"
		 "oid sha256:5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03 \n"
		 "size 6\t\n");
	seed_str(
	    target, "ext-line",
	    "version https://git-lfs.github.com/spec/v1\n"
	    "ext-0-foo sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\n"
	    "oid sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\n"
	    "size 6\n");
	seed_str(target, "out-of-order",
		 "version https://git-lfs.github.com/spec/v1\n"
		 "size 6\n"
		 "oid sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\n");
	seed_str(target, "size-overflow",
		 "version https://git-lfs.github.com/spec/v1\n"
		 "oid sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\n"
		 "size 18446744073709551616\n");
	seed_str(target, "newer-version", "version https://git-lfs.github.com/spec/v2\n");
	seed(target, "content", "safetensors\0\0\0\n", 15);
	seed(target, "empty", "", 0);
	buf_release(&b);
}

static void pktline_seeds(void)
{
	const char *target = "pktline";
	struct buf b = BUF_INIT;

	/* git's side of the long-running filter handshake, then one clean */
	seed_str(target, "handshake",
		 "0016git-filter-client\n"
		 "0011version=2\n"
		 "0000"
		 "0015capability=clean\n"
		 "0017capability=smudge\n"
		 "0016capability=delay\n"
		 "0000");
	seed_str(target, "clean-command",
		 "0012command=clean\n"
		 "001bpathname=model.bin\n"
		 "0000"
		 "000bhello"
		 "0000");
	seed_str(target, "uppercase-hex", "000Ahello0000");
	seed_str(target, "bad-hex", "00zzhello");
	seed_str(target, "short-length", "0002");
	seed_str(target, "delimiter", "00010000");
	seed_str(target, "truncated-header", "00");
	seed_str(target, "truncated-payload", "0010short");
	seed_str(target, "too-long", "fff5");

	/* one packet of the largest size and a few behind it, so that the
	 * buffered reader with a one-packet buffer has to move its data */
	buf_addf(&b, "%04x", PKT_MAX_SIZE);
	for (int i = 0; i < PKT_MAX_DATA; i++)
		buf_addch(&b, 'a' + i % 26);
	buf_addstr(&b, "0009last\n0000");
	seed(target, "largest-packet", b.data, b.len);
	buf_release(&b);
}

static void recipe_seeds(void)
{
	const char *target = "recipe";
	struct recipe r = RECIPE_INIT;
	struct lepton_oid chunk;
	struct buf b = BUF_INIT;
	unsigned char section[8 + 5 + 8];

	sha256_buffer(&r.file, "", 0);
	recipe_encode(&b, &r);
	seed(target, "empty-file", b.data, b.len);

	sha256_buffer(&r.file, "a model", 7);
	for (int i = 0; i < 3; i++) {
		unsigned char c = (unsigned char)i;
		sha256_buffer(&chunk, &c, 1);
		recipe_add(&r, &chunk, i == 2 ? 1000 : 4u << 20);
		r.size += r.chunks[i].len;
	}
	buf_reset(&b);
	recipe_encode(&b, &r);
	seed(target, "three-chunks", b.data, b.len);
	seed_truncated(target, "truncated", &b, b.len - 20);
	seed_flipped(target, "bad-checksum", &b, 60);

	/* an extension section of an unknown type before the terminator */
	memset(section, 0, sizeof(section));
	put_le32(section, 7);
	put_le32(section + 4, 5);
	memcpy(section + 8, "tense", 5);
	buf_setlen(&b, b.len - 16);
	buf_add(&b, section, sizeof(section));
	buf_add(&b, "trailer!", 8);
	fix_trailer(&b);
	seed(target, "extension-section", b.data, b.len);

	put_le32((unsigned char *)b.data + 4, 2);
	fix_trailer(&b);
	seed(target, "version-2", b.data, b.len);
	recipe_release(&r);
	buf_release(&b);
}

static void frame_seeds(void)
{
	const char *target = "frame";
	struct lepton_oid chunk;
	struct frame_header h;
	struct buf b = BUF_INIT, data = BUF_INIT;
	unsigned char header[FRAME_MAX_HEADER];

	buf_addstr(&data, "a small chunk of a model");
	sha256_buffer(&chunk, data.data, data.len);
	if (frame_encode(&b, &chunk, data.data, data.len, 0))
		die("frame_encode");
	seed(target, "raw", b.data, b.len);
	seed_truncated(target, "truncated", &b, FRAME_HEADER_SIZE + 4);
	seed_flipped(target, "bad-checksum", &b, FRAME_HEADER_SIZE + 1);

	/* 0x3f80 is 1.0f as bfloat16: compressible like real weights */
	buf_reset(&data);
	for (int i = 0; i < 2048; i++)
		buf_add(&data, i % 3 ? "\x80\x3f" : "\x00\x40", 2);
	sha256_buffer(&chunk, data.data, data.len);
	buf_reset(&b);
	if (frame_encode(&b, &chunk, data.data, data.len, 3))
		die("frame_encode");
	if (b.data[5] != FRAME_ZSTD)
		die("the zstd seed did not compress");
	seed(target, "zstd", b.data, b.len);
	seed_flipped(target, "zstd-bad-checksum", &b, b.len - 12);

	/* a raw frame with a base chunk id, which this version never writes */
	memset(&h, 0, sizeof(h));
	h.encoding = FRAME_RAW;
	h.flags = FRAME_HAS_BASE;
	h.raw_len = h.payload_len = 5;
	sha256_buffer(&h.chunk, "delta", 5);
	sha256_buffer(&h.base, "base", 4);
	frame_header_write(header, &h);
	buf_reset(&b);
	buf_add(&b, header, h.header_len);
	buf_add(&b, "delta", 5);
	buf_add(&b, "trailer!", 8);
	fix_trailer(&b);
	seed(target, "with-base", b.data, b.len);

	/* a zstd frame with no payload that claims a 1 TiB chunk: frame_decode()
	 * once allocated the raw length before decompressing */
	memset(&h, 0, sizeof(h));
	h.encoding = FRAME_ZSTD;
	h.raw_len = 1ull << 40;
	frame_header_write(header, &h);
	buf_reset(&b);
	buf_add(&b, header, h.header_len);
	buf_add(&b, "trailer!", 8);
	fix_trailer(&b);
	seed(target, "zstd-huge-raw-len", b.data, b.len);

	/* an encoding from the future */
	buf_reset(&b);
	h.encoding = 9;
	h.raw_len = 0;
	frame_header_write(header, &h);
	buf_add(&b, header, h.header_len);
	buf_add(&b, "trailer!", 8);
	fix_trailer(&b);
	seed(target, "unknown-encoding", b.data, b.len);
	buf_release(&b);
	buf_release(&data);
}

/* The index pack_writer_commit() writes for frames of the given chunks. */
static void write_index(struct buf *out, const char *tmp, int chunks)
{
	struct pack_writer w;
	struct buf name = BUF_INIT, path = BUF_INIT, frame = BUF_INIT;

	if (pack_writer_open(&w, tmp))
		die("pack_writer_open");
	for (int i = 0; i < chunks; i++) {
		struct lepton_oid chunk;
		unsigned char c = (unsigned char)(i * 85);
		sha256_buffer(&chunk, &c, 1);
		buf_reset(&frame);
		if (frame_encode(&frame, &chunk, &c, 1, 0) ||
		    pack_writer_add(&w, &chunk, frame.data, frame.len))
			die("pack_writer_add");
	}
	if (pack_writer_commit(&w, tmp, tmp, 0, &name))
		die("pack_writer_commit");
	buf_addf(&path, "%s/%s.idx", tmp, name.data);
	buf_reset(out);
	if (buf_read_file(out, path.data))
		die(path.data);
	unlink(path.data);
	buf_reset(&path);
	buf_addf(&path, "%s/%s.pack", tmp, name.data);
	unlink(path.data);
	buf_release(&name);
	buf_release(&path);
	buf_release(&frame);
}

/* A codec seed: data encoded with the hint, against the first len bytes of
 * the fuzz base when delta; names the kind it must have given. */
static void codec_seed(const char *name, const unsigned char *data, size_t len, unsigned width,
		       int delta, enum codec_kind want, struct buf *b)
{
	static unsigned char base[FUZZ_BASE_LEN];
	struct codec_base cb = { .data = base, .len = len, .depth = 2 };
	struct codec_hint hint = { .level = 3, .width = width, .base = delta ? &cb : NULL };
	struct lepton_oid chunk;
	enum codec_kind kind;

	fuzz_codec_base(base, sizeof(base));
	sha256_buffer(&cb.id, base, len);
	sha256_buffer(&chunk, data, len);
	buf_reset(b);
	if (codec_encode(b, &kind, &chunk, data, len, &hint))
		die("codec_encode");
	if (kind != want)
		die(name);
	seed("codec", name, b->data, b->len);
}

static void codec_seeds(void)
{
	unsigned char data[FUZZ_BASE_LEN];
	struct buf b = BUF_INIT;

	/* the base nudged in one element out of 16: what a fine-tune does */
	fuzz_codec_base(data, sizeof(data));
	for (size_t i = 0; i < sizeof(data); i += 32)
		data[i] ^= 1;
	codec_seed("delta", data, sizeof(data), 2, 1, CODEC_DELTA, &b);
	seed_truncated("codec", "delta-truncated", &b, FRAME_HEADER_SIZE + FRAME_BASE2_SIZE + 6);
	seed_flipped("codec", "delta-bad-checksum", &b, b.len - 12);
	/* one past the chain bound */
	b.data[FRAME_HEADER_SIZE + OID_RAWSZ] = CODEC_MAX_CHAIN + 1;
	fix_trailer(&b);
	seed("codec", "delta-too-deep", b.data, b.len);
	codec_seed("delta-odd-tail", data, sizeof(data) - 3, 8, 1, CODEC_DELTA, &b);
	codec_seed("delta-ungrouped", data, sizeof(data) - 1, 0, 1, CODEC_DELTA, &b);
	codec_seed("grouped", data, sizeof(data), 2, 0, CODEC_GROUPED, &b);
	seed("frame", "grouped", b.data, b.len);
	/* width 3 is no width */
	b.data[6] = 3;
	fix_trailer(&b);
	seed("codec", "grouped-bad-width", b.data, b.len);
	codec_seed("grouped-f32-tail", data, sizeof(data) - 2, 4, 0, CODEC_GROUPED, &b);
	buf_release(&b);
}

static void index_seeds(void)
{
	const char *target = "index";
	struct buf tmp = BUF_INIT, b = BUF_INIT;

	buf_addf(&tmp, "%s/make-corpus-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp.data))
		die("mkdtemp");

	write_index(&b, tmp.data, 0);
	seed(target, "empty", b.data, b.len);
	write_index(&b, tmp.data, 3);
	seed(target, "three-entries", b.data, b.len);
	seed_truncated(target, "truncated", &b, b.len - 48);
	seed_flipped(target, "bad-checksum", &b, IDX_HEADER_SIZE + IDX_FANOUT_SIZE + 40);

	/* a fan-out that points past the entries, checksum made right */
	put_le32((unsigned char *)b.data + IDX_HEADER_SIZE + 100 * 4, 0xffffffffu);
	fix_trailer(&b);
	seed(target, "bad-fanout", b.data, b.len);

	rmdir(tmp.data);
	buf_release(&tmp);
	buf_release(&b);
}

/* A safetensors file: the length, the JSON, data_len bytes of data. */
static void safetensors_file(struct buf *out, const char *json, size_t data_len)
{
	unsigned char len[8];

	buf_reset(out);
	put_le64(len, strlen(json));
	buf_add(out, len, 8);
	buf_addstr(out, json);
	for (size_t i = 0; i < data_len; i++)
		buf_addch(out, (int)(i * 13 & 0xff));
}

static void safetensors_seeds(void)
{
	const char *target = "safetensors";
	struct buf b = BUF_INIT;

	safetensors_file(&b,
			 "{\"__metadata__\":{\"format\":\"pt\"},"
			 "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
			 "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[16,22]},"
			 "\"c\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[22,23]}}  ",
			 23);
	seed(target, "three-tensors", b.data, b.len);
	seed_truncated(target, "truncated", &b, 40);
	buf_addstr(&b, "xx");
	seed(target, "trailing-bytes", b.data, b.len);
	safetensors_file(&b, "{}", 0);
	seed(target, "empty", b.data, b.len);
	safetensors_file(&b,
			 "{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
			 "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[4,12]}}",
			 12);
	seed(target, "overlap", b.data, b.len);
	safetensors_file(&b, "{\"a\":{\"dtype\":\"X9\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
	seed(target, "unknown-dtype", b.data, b.len);
	safetensors_file(
	    &b,
	    "{\"a\":{\"dtype\":\"U8\",\"shape\":[18446744073709551615,2],"
	    "\"data_offsets\":[0,0]},\"x\\u00e9\\ud83d\\ude00\":{\"extra\":[1,{\"y\":null}],"
	    "\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
	    0);
	seed(target, "overflow-escapes", b.data, b.len);
	buf_release(&b);
}

static void gg_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4];
	put_le32(x, v);
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

/* A GGUF file with a key/value of every type and three tensors. */
static void gguf_file(struct buf *b, uint32_t version, uint32_t alignment, uint64_t q_offset)
{
	buf_reset(b);
	buf_addstr(b, "GGUF");
	gg_u32(b, version);
	gg_u64(b, 3);
	gg_u64(b, 8);
	gg_str(b, "general.architecture");
	gg_u32(b, 8);
	gg_str(b, "llama");
	gg_str(b, "general.alignment");
	gg_u32(b, 4);
	gg_u32(b, alignment);
	gg_str(b, "tokenizer.ggml.tokens");
	gg_u32(b, 9);
	gg_u32(b, 8);
	gg_u64(b, 2);
	gg_str(b, "<s>");
	gg_str(b, "</s>");
	gg_str(b, "tokenizer.ggml.scores");
	gg_u32(b, 9);
	gg_u32(b, 6);
	gg_u64(b, 2);
	gg_u64(b, 0);
	gg_str(b, "u8");
	gg_u32(b, 0);
	buf_addch(b, 7);
	gg_str(b, "i16");
	gg_u32(b, 3);
	buf_add(b, "\xff\xff", 2);
	gg_str(b, "b");
	gg_u32(b, 7);
	buf_addch(b, 1);
	gg_str(b, "f64");
	gg_u32(b, 12);
	gg_u64(b, 0x3ff8000000000000ull);
	/* F32 [4, 2] at 0, Q4_0 [32] at q_offset, F16 [8] after it */
	gg_str(b, "w");
	gg_u32(b, 2);
	gg_u64(b, 4);
	gg_u64(b, 2);
	gg_u32(b, 0);
	gg_u64(b, 0);
	gg_str(b, "q");
	gg_u32(b, 1);
	gg_u64(b, 32);
	gg_u32(b, 2);
	gg_u64(b, q_offset);
	gg_str(b, "h");
	gg_u32(b, 1);
	gg_u64(b, 8);
	gg_u32(b, 1);
	gg_u64(b, 2 * (uint64_t)alignment);
	while (b->len % alignment)
		buf_addch(b, 0);
	for (uint32_t i = 0; i < 2 * alignment + 16; i++)
		buf_addch(b, (int)(i & 0xff));
}

static void gguf_seeds(void)
{
	const char *target = "gguf";
	struct buf b = BUF_INIT;

	gguf_file(&b, 3, 32, 32);
	seed(target, "v3", b.data, b.len);
	seed_truncated(target, "truncated", &b, 100);
	gguf_file(&b, 2, 64, 64);
	seed(target, "v2-align-64", b.data, b.len);
	gguf_file(&b, 1, 32, 32);
	seed(target, "version-1", b.data, b.len);
	gguf_file(&b, 3, 32, 8);
	seed(target, "unaligned-offset", b.data, b.len);
	gguf_file(&b, 3, 24, 24);
	seed(target, "alignment-24", b.data, b.len);
	buf_release(&b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-corpus <dir>\n");
		return 1;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0777);
	pointer_seeds();
	pktline_seeds();
	recipe_seeds();
	frame_seeds();
	codec_seeds();
	index_seeds();
	safetensors_seeds();
	gguf_seeds();
	return 0;
}
