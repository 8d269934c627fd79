/*
 * test-codec: measure the chunk codec on a file (docs/NOTES.md has the
 * figures it gave).
 *
 *   test-codec FILE [--width W] [--level L] [--base OLDFILE] [--chunk-kib K]
 *
 * A safetensors FILE is measured from its tensor data on (the header is
 * skipped); it is cut into chunks of K KiB (4096), and each chunk is
 * compressed plain, byte-grouped in one zstd frame, byte-grouped with one
 * zstd frame per stream, and through codec_encode() (with the chunk at the
 * same place in OLDFILE as a delta base when given).  Prints the sizes and
 * the encode and decode throughput of codec_encode()/codec_decode().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "buf.h"
#include "codec.h"
#include "error.h"
#include "hash.h"
#include "banned.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "fatal: %s: %s\n", what, lepton_error_last());
	exit(1);
}

/* The file's tensor data: after the 8-byte length and the JSON header. */
static size_t data_start(const struct buf *b)
{
	uint64_t n;
	if (b->len < 8)
		return 0;
	n = get_le64((const unsigned char *)b->data);
	return n < b->len - 8 && b->data[8] == '{' ? (size_t)(8 + n) : 0;
}

static size_t zsize(const void *src, size_t len, int level)
{
	size_t bound = ZSTD_compressBound(len), got;
	void *dst = xmalloc(bound);
	got = ZSTD_compress(dst, bound, src, len, level);
	free(dst);
	return ZSTD_isError(got) ? len : got;
}

int main(int argc, char **argv)
{
	struct buf file = BUF_INIT, old = BUF_INIT, frame = BUF_INIT, back = BUF_INIT;
	struct buf scratch = BUF_INIT, dscratch = BUF_INIT;
	unsigned width = 2, chunk_kib = 4096;
	int level = 3;
	const char *base_path = NULL;
	size_t plain = 0, grouped = 0, streams = 0, coded = 0, total = 0, at, chunk;
	size_t kinds[4] = { 0 };
	double t_enc = 0, t_dec = 0, t;
	unsigned char *tmp;

	if (argc < 2) {
		fprintf(stderr, "usage: test-codec FILE [--width W] [--level L] [--base OLD]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--width"))
			width = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--level"))
			level = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--base"))
			base_path = argv[i + 1];
		else if (!strcmp(argv[i], "--chunk-kib"))
			chunk_kib = (unsigned)strtoul(argv[i + 1], NULL, 10);
	}
	if (buf_read_file(&file, argv[1]))
		die(argv[1]);
	if (base_path && buf_read_file(&old, base_path))
		die(base_path);
	chunk = (size_t)chunk_kib << 10;
	tmp = xmalloc(chunk);
	for (at = data_start(&file); at < file.len; at += chunk) {
		const unsigned char *p = (unsigned char *)file.data + at;
		size_t len = file.len - at < chunk ? file.len - at : chunk, n = len / width;
		struct lepton_oid id;
		struct codec_base base;
		struct codec_hint hint = { .level = level, .width = width };
		enum codec_kind kind;

		total += len;
		plain += zsize(p, len, level);
		codec_group(tmp, p, len, width);
		grouped += zsize(tmp, len, level);
		for (unsigned s = 0; s < width; s++)
			streams += zsize(tmp + s * n, n, level);
		streams += len - n * width;

		sha256_buffer(&id, p, len);
		if (base_path && at + len <= old.len) {
			base.data = old.data + at;
			base.len = len;
			base.depth = 0;
			sha256_buffer(&base.id, base.data, len);
			hint.base = &base;
		}
		buf_reset(&frame);
		t = now();
		if (codec_encode_scratch(&frame, &scratch, &kind, &id, p, len, &hint))
			die("codec_encode");
		t_enc += now() - t;
		kinds[kind]++;
		coded += frame.len;
		buf_reset(&back);
		t = now();
		if (codec_decode_scratch(&back, &dscratch, (unsigned char *)frame.data, frame.len,
					 &id, hint.base ? base.data : NULL,
					 hint.base ? base.len : 0))
			die("codec_decode");
		t_dec += now() - t;
		if (back.len != len || memcmp(back.data, p, len))
			die("round trip");
	}
	printf("bytes %zu width %u level %d\n", total, width, level);
	printf("zstd            %10zu  %.3f\n", plain, (double)plain / (double)total);
	printf("grouped 1 frame %10zu  %.3f\n", grouped, (double)grouped / (double)total);
	printf("grouped streams %10zu  %.3f\n", streams, (double)streams / (double)total);
	printf("codec_encode    %10zu  %.3f  raw %zu zstd %zu grouped %zu delta %zu\n", coded,
	       (double)coded / (double)total, kinds[0], kinds[1], kinds[2], kinds[3]);
	printf("encode %.0f MB/s, decode %.0f MB/s\n", (double)total / t_enc / 1e6,
	       (double)total / t_dec / 1e6);
	free(tmp);
	buf_release(&file);
	buf_release(&old);
	buf_release(&frame);
	buf_release(&back);
	buf_release(&scratch);
	buf_release(&dscratch);
	return 0;
}
