/*
 * Unit tests of remote_store_fsck() (git-lepton/transfer.h): a remote
 * store on a local directory, filled frame by frame (packs written with
 * the pack writer straight into <remote>/packs, recipes into
 * <remote>/recipes), so that each case controls the exact bytes of every
 * frame: a sound store, a delta whose payload decodes to other bytes, a
 * flipped byte, a missing delta base, a loop of deltas, a depth that does
 * not follow its base's, a damaged index, a truncated and a deleted pack.
 *
 * Every report is collected and each case names all of them: kind, oid
 * and words of the message, and their number.
 *
 * Each test gets a fresh directory from mkdtemp() and removes it after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "codec.h"
#include "error.h"
#include "frame.h"
#include "hash.h"
#include "pack.h"
#include "recipe.h"
#include "store.h"
#include "transfer.h"
#include "unit-lib.h"

/* A chunk length of bf16 data with an odd tail; small, so tests are quick. */
#define CL ((size_t)(64u << 10) + 6)

struct fixture {
	char dir[64];     /* from mkdtemp */
	char local[128];  /* dir/local: the local store (the remote's index cache) */
	char remote[128]; /* dir/remote: the remote store */
	struct lepton_store *s;
	struct remote_store *rs;
	int runs; /* fsck runs so far, for a fresh scratch directory each */
};

/* ---- helpers ------------------------------------------------------------ */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char packs[256];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lepton-test-remote-fsck-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	snprintf(f->local, sizeof(f->local), "%s/local", f->dir);
	snprintf(f->remote, sizeof(f->remote), "%s/remote", f->dir);
	if (store_open(&f->s, f->local, 1)) {
		fprintf(stderr, "store_open: %s\n", lepton_error_last());
		return -1;
	}
	if (remote_store_open(&f->rs, f->s, f->remote, 1)) {
		fprintf(stderr, "remote_store_open: %s\n", lepton_error_last());
		return -1;
	}
	/* what a push makes: packs and tmp next to the marker */
	snprintf(packs, sizeof(packs), "%s/packs", f->remote);
	if (mkdir(packs, 0777) < 0)
		return -1;
	snprintf(packs, sizeof(packs), "%s/tmp", f->remote);
	if (mkdir(packs, 0777) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	remote_store_free(f->rs);
	store_free(f->s);
	remove_tree(f->dir);
	free(f);
	return 0;
}

static char *hex_of(char *out, const struct lepton_oid *oid)
{
	return oid_to_hex(out, oid);
}

/* ---- chunks and frames -------------------------------------------------- */

/* One chunk of content: CL bytes and their SHA-256. */
struct chunk {
	unsigned char *data;
	struct lepton_oid id;
	char hex[OID_HEXSZ + 1];
};

static void chunk_set(struct chunk *c, unsigned char *data)
{
	c->data = data;
	sha256_buffer(&c->id, data, CL);
	hex_of(c->hex, &c->id);
}

/* bf16-looking bytes: a high byte of few values, a noisy low byte */
static void chunk_new(struct chunk *c, uint64_t seed)
{
	unsigned char *p = make_data(CL, seed);
	for (size_t i = 1; i < CL; i += 2)
		p[i] = (unsigned char)(0x3c + (p[i] % 8 == 0 ? p[i] % 3 : 0));
	chunk_set(c, p);
}

/* A copy of prev with about one element in 64 nudged: a delta on prev is
 * far smaller than a full frame. */
static void chunk_nudged(struct chunk *c, const struct chunk *prev, uint64_t seed)
{
	unsigned char *p = malloc(CL);
	unsigned char *noise = make_data(CL / 2, seed + 1000);
	assert_non_null(p);
	memcpy(p, prev->data, CL);
	for (size_t e = 0; e < CL / 2; e++)
		if (noise[e] % 64 == 0)
			p[2 * e] ^= 1;
	free(noise);
	chunk_set(c, p);
}

static void chunk_free(struct chunk *c)
{
	free(c->data);
	c->data = NULL;
}

/* A full frame of c (grouped: bf16 data compresses so). */
static void encode_full(struct buf *out, const struct chunk *c)
{
	struct codec_hint hint = { .level = 3, .width = 2, .base = NULL };
	enum codec_kind kind;

	buf_reset(out);
	assert_int_equal(codec_encode(out, &kind, &c->id, c->data, CL, &hint), 0);
	assert_int_equal(kind, CODEC_GROUPED);
}

/* A delta frame of c whose header names base_id with depth base_depth + 1,
 * its payload taken against the bytes base_data. */
static void encode_delta(struct buf *out, const struct chunk *c, const struct lepton_oid *base_id,
			 const unsigned char *base_data, unsigned base_depth)
{
	struct codec_base base = {
		.id = *base_id, .data = base_data, .len = CL, .depth = base_depth
	};
	struct codec_hint hint = { .level = 3, .width = 2, .base = &base };
	struct frame_header h;
	enum codec_kind kind;

	buf_reset(out);
	assert_int_equal(codec_encode(out, &kind, &c->id, c->data, CL, &hint), 0);
	assert_int_equal(kind, CODEC_DELTA);
	assert_int_equal(frame_header_parse(&h, (unsigned char *)out->data, out->len), 0);
	assert_int_equal(h.depth, base_depth + 1);
	assert_int_equal(h.header_len, FRAME_HEADER_SIZE + FRAME_BASE2_SIZE);
	assert_memory_equal(h.base.hash, base_id->hash, OID_RAWSZ);
}

/* Write the XXH3 trailer of a frame whose bytes were changed. */
static void reseal(struct buf *frame)
{
	put_le64((unsigned char *)frame->data + frame->len - FRAME_TRAILER_SIZE,
		 xxh3_64(frame->data, frame->len - FRAME_TRAILER_SIZE));
}

/* ---- packs and recipes on the remote ------------------------------------- */

struct packer {
	struct pack_writer w;
	char name[80]; /* "pack-<64 hex>", once committed */
};

static void pack_begin(struct fixture *f, struct packer *p)
{
	char tmp[256];
	path_in(tmp, sizeof(tmp), f->remote, "tmp");
	assert_int_equal(pack_writer_open(&p->w, tmp), 0);
}

/* Add a frame under id; returns its offset in the pack. */
static uint64_t pack_put(struct packer *p, const struct lepton_oid *id, const struct buf *frame)
{
	uint64_t at = p->w.offset;
	assert_int_equal(pack_writer_add(&p->w, id, frame->data, frame->len), 0);
	return at;
}

static void pack_end(struct fixture *f, struct packer *p)
{
	struct buf name = BUF_INIT;
	char tmp[256], packs[256];

	path_in(tmp, sizeof(tmp), f->remote, "tmp");
	path_in(packs, sizeof(packs), f->remote, "packs");
	if (pack_writer_commit(&p->w, tmp, packs, 0, &name))
		fail_msg("pack_writer_commit: %s", lepton_error_last());
	assert_true(name.len < sizeof(p->name));
	memcpy(p->name, name.data, name.len + 1);
	buf_release(&name);
}

/* The path of the pack's file with extension ext ("pack" or "idx"). */
static void pack_path(const struct fixture *f, const struct packer *p, const char *ext, char *out,
		      size_t size)
{
	int n = snprintf(out, size, "%s/packs/%s.%s", f->remote, p->name, ext);
	assert_true(n > 0 && (size_t)n < size);
}

/* A one-pack remote of the frames given, in that order. */
static void pack_of(struct fixture *f, struct packer *p, const struct lepton_oid *const *ids,
		    struct buf *const *frames, size_t n, uint64_t *offsets)
{
	pack_begin(f, p);
	for (size_t i = 0; i < n; i++) {
		uint64_t at = pack_put(p, ids[i], frames[i]);
		if (offsets)
			offsets[i] = at;
	}
	pack_end(f, p);
}

/* The recipe of the file made of the chunks given, in order, written where
 * a push writes it; returns the file's id. */
static struct lepton_oid put_recipe(struct fixture *f, const struct chunk *const *chunks, size_t n)
{
	struct recipe r = RECIPE_INIT;
	struct buf enc = BUF_INIT, rel = BUF_INIT, content = BUF_INIT;
	struct lepton_oid file;
	char path[512], tmp[256];

	for (size_t i = 0; i < n; i++) {
		buf_add(&content, chunks[i]->data, CL);
		recipe_add(&r, &chunks[i]->id, CL);
	}
	sha256_buffer(&file, content.data, content.len);
	r.file = file;
	r.size = content.len;
	recipe_encode(&enc, &r);
	store_recipe_path(&rel, &file); /* recipes/ab/<62 hex> */
	path_in(path, sizeof(path), f->remote, "recipes");
	mkdir(path, 0777);
	path_in(path, sizeof(path), f->remote, rel.data);
	*strrchr(path, '/') = '\0';
	mkdir(path, 0777);
	path_in(path, sizeof(path), f->remote, rel.data);
	path_in(tmp, sizeof(tmp), f->remote, "tmp");
	assert_int_equal(write_file_atomic(tmp, path, enc.data, enc.len, 0), 0);
	buf_release(&enc);
	buf_release(&rel);
	buf_release(&content);
	recipe_release(&r);
	return file;
}

/* ---- what fsck reports ---------------------------------------------------- */

struct report {
	char kind[16];
	int has_oid;
	struct lepton_oid oid;
	char what[1200];
	int matched;
};

struct reports {
	struct report *r;
	size_t nr, alloc;
	const char *scratch; /* of the run: no message may name it */
};

static void collect_report(void *data, const char *kind, const struct lepton_oid *oid,
			   const char *what)
{
	struct reports *reps = data;
	struct report *r;

	assert_non_null(kind);
	assert_non_null(what);
	assert_true(strlen(what) > 0);
	assert_true(!strcmp(kind, "chunk") || !strcmp(kind, "recipe") || !strcmp(kind, "pack") ||
		    !strcmp(kind, "index"));
	/* a pack or an index has no oid, a chunk or a recipe has one */
	assert_int_equal(oid != NULL, !strcmp(kind, "chunk") || !strcmp(kind, "recipe"));
	assert_null(strstr(what, reps->scratch));
	if (reps->nr == reps->alloc) {
		reps->alloc = reps->alloc ? 2 * reps->alloc : 16;
		reps->r = realloc(reps->r, reps->alloc * sizeof(*reps->r));
		assert_non_null(reps->r);
	}
	r = &reps->r[reps->nr++];
	memset(r, 0, sizeof(*r));
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	if (oid) {
		r->has_oid = 1;
		r->oid = *oid;
	}
	snprintf(r->what, sizeof(r->what), "%s", what);
}

static void print_reports(const struct reports *reps)
{
	char hex[OID_HEXSZ + 1];
	for (size_t i = 0; i < reps->nr; i++)
		print_message("  %s %s: %s\n", reps->r[i].kind,
			      reps->r[i].has_oid ? hex_of(hex, &reps->r[i].oid) : "-",
			      reps->r[i].what);
}

static void reports_release(struct reports *reps)
{
	free(reps->r);
	memset(reps, 0, sizeof(*reps));
}

/* Run the fsck with a fresh scratch directory; the reports go to reps
 * (emptied first).  Returns the number of problems, which must be the
 * number of reports. */
static int run_fsck(struct fixture *f, int full, struct reports *reps)
{
	char scratch[256];
	int ret;

	reports_release(reps);
	snprintf(scratch, sizeof(scratch), "%s/scratch-%d", f->dir, f->runs++);
	assert_int_equal(mkdir(scratch, 0777), 0);
	reps->scratch = scratch;
	ret = remote_store_fsck(f->rs, full, scratch, collect_report, reps, NULL);
	if (ret < 0)
		fail_msg("remote_store_fsck (full %d) failed: %d: %s", full, ret,
			 lepton_error_last());
	if ((size_t)ret != reps->nr) {
		print_reports(reps);
		fail_msg("remote_store_fsck gave %d problems and %zu reports", ret, reps->nr);
	}
	remove_tree(scratch);
	reps->scratch = NULL;
	return ret;
}

/* One report not matched yet, of kind, about oid (NULL: none), whose
 * message holds the formatted words: it is matched now. */
static void expect(struct reports *reps, const char *kind, const struct lepton_oid *oid,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void expect(struct reports *reps, const char *kind, const struct lepton_oid *oid,
		   const char *fmt, ...)
{
	char words[512], hex[OID_HEXSZ + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(words, sizeof(words), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < reps->nr; i++) {
		struct report *r = &reps->r[i];
		if (r->matched || strcmp(r->kind, kind) || r->has_oid != (oid != NULL) ||
		    (oid && oid_cmp(&r->oid, oid)) || !strstr(r->what, words))
			continue;
		r->matched = 1;
		return;
	}
	print_reports(reps);
	fail_msg("no report of kind '%s' about %s saying '%s'", kind,
		 oid ? hex_of(hex, oid) : "nothing", words);
}

/* The run gave exactly n reports, and every one was expected. */
static void expect_all(struct reports *reps, size_t n)
{
	for (size_t i = 0; i < reps->nr; i++)
		if (!reps->r[i].matched) {
			print_reports(reps);
			fail_msg("unexpected report: %s: %s", reps->r[i].kind, reps->r[i].what);
		}
	if (reps->nr != n) {
		print_reports(reps);
		fail_msg("%zu reports, expected %zu", reps->nr, n);
	}
}

/* ---- the stores --------------------------------------------------------- */

/* A full frame a, a delta b on a (depth 1), a delta c on b (depth 2). */
struct chain {
	struct chunk a, b, c;
	struct buf fa, fb, fc;
};

static void chain_make(struct chain *ch, uint64_t seed)
{
	chunk_new(&ch->a, seed);
	chunk_nudged(&ch->b, &ch->a, seed + 1);
	chunk_nudged(&ch->c, &ch->b, seed + 2);
	buf_init(&ch->fa, 0);
	buf_init(&ch->fb, 0);
	buf_init(&ch->fc, 0);
	encode_full(&ch->fa, &ch->a);
	encode_delta(&ch->fb, &ch->b, &ch->a.id, ch->a.data, 0);
	encode_delta(&ch->fc, &ch->c, &ch->b.id, ch->b.data, 1);
}

static void chain_release(struct chain *ch)
{
	chunk_free(&ch->a);
	chunk_free(&ch->b);
	chunk_free(&ch->c);
	buf_release(&ch->fa);
	buf_release(&ch->fb);
	buf_release(&ch->fc);
}

/* The chain's frames in one pack (a, b, c in that order); offsets[3]. */
static void chain_pack(struct fixture *f, struct chain *ch, struct packer *p, uint64_t *offsets)
{
	const struct lepton_oid *ids[] = { &ch->a.id, &ch->b.id, &ch->c.id };
	struct buf *frames[] = { &ch->fa, &ch->fb, &ch->fc };
	pack_of(f, p, ids, frames, 3, offsets);
}

/* The recipe of the file a, b, c. */
static struct lepton_oid chain_recipe(struct fixture *f, const struct chain *ch)
{
	const struct chunk *chunks[] = { &ch->a, &ch->b, &ch->c };
	return put_recipe(f, chunks, 3);
}

/* ---- 1. sound stores ------------------------------------------------------ */

static void test_sound_store(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct packer p;
	struct chain ch;

	chain_make(&ch, 1);
	chain_pack(f, &ch, &p, NULL);
	chain_recipe(f, &ch);
	assert_int_equal(run_fsck(f, 0, &reps), 0);
	assert_int_equal(run_fsck(f, 1, &reps), 0);
	/* and again: the cache of the first runs changes nothing */
	assert_int_equal(run_fsck(f, 1, &reps), 0);
	reports_release(&reps);
	chain_release(&ch);
}

/* The base in one pack, the deltas in two others, listed in any order. */
static void test_sound_store_across_packs(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct packer p1, p2, p3;
	struct chain ch;

	chain_make(&ch, 2);
	pack_of(f, &p3, (const struct lepton_oid *[]){ &ch.c.id }, (struct buf *[]){ &ch.fc }, 1,
		NULL);
	pack_of(f, &p1, (const struct lepton_oid *[]){ &ch.a.id }, (struct buf *[]){ &ch.fa }, 1,
		NULL);
	pack_of(f, &p2, (const struct lepton_oid *[]){ &ch.b.id }, (struct buf *[]){ &ch.fb }, 1,
		NULL);
	chain_recipe(f, &ch);
	assert_int_equal(run_fsck(f, 0, &reps), 0);
	assert_int_equal(run_fsck(f, 1, &reps), 0);
	reports_release(&reps);
	chain_release(&ch);
}

/* ---- 2. a delta whose payload decodes to other bytes ----------------------- */

/*
 * b's frame keeps a valid header and XXH3 but its payload is not b's: its
 * trailer was written again after the change.  Without full, delta frames
 * are checked as frames (header, id, length, XXH3), never decoded (that
 * needs their base's bytes), so nothing is reported.  With full, the walk
 * from a decodes b, which fails; c, which sits on b, is damaged with it,
 * and the recipe names both.
 */
static void check_bad_delta_payload(struct fixture *f, struct chain *ch, const char *words)
{
	struct reports reps = { 0 };
	struct lepton_oid file;
	struct packer p;

	chain_pack(f, ch, &p, NULL);
	file = chain_recipe(f, ch);

	assert_int_equal(run_fsck(f, 0, &reps), 0);

	assert_int_equal(run_fsck(f, 1, &reps), 4);
	expect(&reps, "chunk", &ch->b.id, "%s", words);
	expect(&reps, "chunk", &ch->c.id, "its delta base '%s' is missing or damaged", ch->b.hex);
	expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch->b.hex);
	expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch->c.hex);
	expect_all(&reps, 4);
	reports_release(&reps);
}

/* The payload is a delta of other bytes on a: it decodes, to the wrong
 * chunk. */
static void test_delta_payload_other_bytes(void **state)
{
	struct fixture *f = *state;
	struct chunk other;
	struct chain ch;

	chain_make(&ch, 3);
	chunk_nudged(&other, &ch.a, 99);
	encode_delta(&ch.fb, &other, &ch.a.id, ch.a.data, 0);
	/* named as b's frame: its header's chunk id is b's */
	memcpy(ch.fb.data + 24, ch.b.id.hash, OID_RAWSZ);
	reseal(&ch.fb);
	check_bad_delta_payload(f, &ch, "content does not match its SHA-256");
	chunk_free(&other);
	chain_release(&ch);
}

/* A byte of the payload's zstd frame is changed: it does not decode. */
static void test_delta_payload_garbled(void **state)
{
	struct fixture *f = *state;
	struct chain ch;

	chain_make(&ch, 4);
	/* the first byte of the zstd magic, right after the base section */
	ch.fb.data[FRAME_HEADER_SIZE + FRAME_BASE2_SIZE] ^= 0x01;
	reseal(&ch.fb);
	check_bad_delta_payload(f, &ch, "cannot decompress");
	chain_release(&ch);
}

/* ---- 3. a flipped byte --------------------------------------------------- */

/* A byte of a's payload flipped in the pack, its trailer left as it was:
 * the XXH3 catches it without full, and every delta above a is damaged. */
static void test_flipped_byte(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct lepton_oid file;
	uint64_t offsets[3];
	char path[512];
	struct packer p;
	struct chain ch;

	chain_make(&ch, 5);
	chain_pack(f, &ch, &p, offsets);
	file = chain_recipe(f, &ch);
	pack_path(f, &p, "pack", path, sizeof(path));
	flip_byte(path, (off_t)(offsets[0] + FRAME_HEADER_SIZE + 100));

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 6);
		expect(&reps, "chunk", &ch.a.id, "frame of chunk '%s': checksum mismatch",
		       ch.a.hex);
		expect(&reps, "chunk", &ch.b.id, "its delta base '%s' is missing or damaged",
		       ch.a.hex);
		expect(&reps, "chunk", &ch.c.id, "its delta base '%s' is missing or damaged",
		       ch.b.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch.a.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch.b.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch.c.hex);
		expect_all(&reps, 6);
	}
	reports_release(&reps);
	chain_release(&ch);
}

/* The same in a leaf (c's chunk id in its header): c alone is damaged. */
static void test_flipped_header_byte(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct lepton_oid file;
	uint64_t offsets[3];
	char path[512];
	struct packer p;
	struct chain ch;

	chain_make(&ch, 6);
	chain_pack(f, &ch, &p, offsets);
	file = chain_recipe(f, &ch);
	pack_path(f, &p, "pack", path, sizeof(path));
	flip_byte(path, (off_t)(offsets[2] + 24 + 5));

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 2);
		expect(&reps, "chunk", &ch.c.id, "frame of chunk '%s': holds another chunk",
		       ch.c.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch.c.hex);
		expect_all(&reps, 2);
	}
	reports_release(&reps);
	chain_release(&ch);
}

/* ---- 4. a delta base in no pack -------------------------------------------- */

static void test_delta_base_missing(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct chunk x, d, y;
	struct buf fd = BUF_INIT, fy = BUF_INIT;
	struct lepton_oid file_d, file_x;
	struct packer p;

	chunk_new(&x, 7);
	chunk_nudged(&d, &x, 8);
	chunk_new(&y, 9);
	encode_delta(&fd, &d, &x.id, x.data, 0);
	encode_full(&fy, &y);
	/* x is in no pack; y, a sound full frame, is next to d */
	pack_of(f, &p, (const struct lepton_oid *[]){ &y.id, &d.id }, (struct buf *[]){ &fy, &fd },
		2, NULL);
	file_d = put_recipe(f, (const struct chunk *[]){ &d }, 1);
	file_x = put_recipe(f, (const struct chunk *[]){ &x }, 1);
	put_recipe(f, (const struct chunk *[]){ &y }, 1); /* whole: no report */

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 3);
		expect(&reps, "chunk", &d.id, "its delta base '%s' is missing or damaged", x.hex);
		expect(&reps, "recipe", &file_d, "chunk '%s' is damaged", d.hex);
		expect(&reps, "recipe", &file_x, "chunk '%s' is missing", x.hex);
		expect_all(&reps, 3);
	}
	reports_release(&reps);
	chunk_free(&x);
	chunk_free(&d);
	chunk_free(&y);
	buf_release(&fd);
	buf_release(&fy);
}

/* ---- 5. a loop of deltas --------------------------------------------------- */

/*
 * p names q as its base and q names p, each at depth 1 with valid headers
 * and trailers: no chain reaches a full frame.  The depths in the headers,
 * which no loop can keep consistent, give it away without reading more,
 * with or without full; the sound chain next to them is not reported.
 */
static void test_delta_loop(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct chunk seed, p, q;
	struct buf fp = BUF_INIT, fq = BUF_INIT;
	struct lepton_oid file_loop;
	struct packer pk, pk2;
	struct chain ch;

	chain_make(&ch, 10);
	chain_pack(f, &ch, &pk2, NULL);
	chain_recipe(f, &ch);
	chunk_new(&seed, 11);
	chunk_nudged(&p, &seed, 12);
	chunk_nudged(&q, &p, 13);
	encode_delta(&fp, &p, &q.id, q.data, 0);
	encode_delta(&fq, &q, &p.id, p.data, 0);
	pack_of(f, &pk, (const struct lepton_oid *[]){ &p.id, &q.id }, (struct buf *[]){ &fp, &fq },
		2, NULL);
	file_loop = put_recipe(f, (const struct chunk *[]){ &p, &q }, 2);

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 4);
		expect(&reps, "chunk", &p.id,
		       "its delta chain is broken at base '%s' (depth 1 on depth 1)", q.hex);
		expect(&reps, "chunk", &q.id, "its delta base '%s' is missing or damaged", p.hex);
		expect(&reps, "recipe", &file_loop, "chunk '%s' is damaged", p.hex);
		expect(&reps, "recipe", &file_loop, "chunk '%s' is damaged", q.hex);
		expect_all(&reps, 4);
	}

	reports_release(&reps);
	chain_release(&ch);
	chunk_free(&seed);
	chunk_free(&p);
	chunk_free(&q);
	buf_release(&fp);
	buf_release(&fq);
}

/* A delta that names itself as its base. */
static void test_delta_on_itself(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct chunk seed, p;
	struct buf fp = BUF_INIT;
	struct lepton_oid file;
	struct packer pk;

	chunk_new(&seed, 14);
	chunk_nudged(&p, &seed, 15);
	encode_delta(&fp, &p, &p.id, seed.data, 0);
	pack_of(f, &pk, (const struct lepton_oid *[]){ &p.id }, (struct buf *[]){ &fp }, 1, NULL);
	file = put_recipe(f, (const struct chunk *[]){ &p }, 1);

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 2);
		expect(&reps, "chunk", &p.id,
		       "its delta chain is broken at base '%s' (depth 1 on depth 1)", p.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", p.hex);
		expect_all(&reps, 2);
	}
	reports_release(&reps);
	chunk_free(&seed);
	chunk_free(&p);
	buf_release(&fp);
}

/* ---- 6. a depth that does not follow the base's ----------------------------- */

/*
 * e sits on the full frame a but its header says depth 3; g sits on e at
 * depth 4: e is broken and g with it, with or without full.
 */
static void test_delta_wrong_depth(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct chunk a, e, g;
	struct buf fa = BUF_INIT, fe = BUF_INIT, fg = BUF_INIT;
	struct lepton_oid file;
	struct packer p;

	chunk_new(&a, 16);
	chunk_nudged(&e, &a, 17);
	chunk_nudged(&g, &e, 18);
	encode_full(&fa, &a);
	encode_delta(&fe, &e, &a.id, a.data, 2);
	encode_delta(&fg, &g, &e.id, e.data, 3);
	pack_of(f, &p, (const struct lepton_oid *[]){ &a.id, &e.id, &g.id },
		(struct buf *[]){ &fa, &fe, &fg }, 3, NULL);
	file = put_recipe(f, (const struct chunk *[]){ &a, &e, &g }, 3);

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 4);
		expect(&reps, "chunk", &e.id,
		       "its delta chain is broken at base '%s' (depth 3 on depth 0)", a.hex);
		expect(&reps, "chunk", &g.id, "its delta base '%s' is missing or damaged", e.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", e.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", g.hex);
		expect_all(&reps, 4);
	}

	reports_release(&reps);
	chunk_free(&a);
	chunk_free(&e);
	chunk_free(&g);
	buf_release(&fa);
	buf_release(&fe);
	buf_release(&fg);
}

/* ---- 7. a damaged index ---------------------------------------------------- */

/* The chain's index has a flipped byte: it is reported (by its key on the
 * store, not the copy under scratch), the chain's chunks are missing from
 * every index, and the other pack stays readable. */
static void test_damaged_index(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct lepton_oid file;
	struct packer p, pz;
	struct buf fz = BUF_INIT;
	char path[512];
	struct chunk z;
	struct chain ch;

	chain_make(&ch, 20);
	chain_pack(f, &ch, &p, NULL);
	file = chain_recipe(f, &ch);
	chunk_new(&z, 21);
	encode_full(&fz, &z);
	pack_of(f, &pz, (const struct lepton_oid *[]){ &z.id }, (struct buf *[]){ &fz }, 1, NULL);
	put_recipe(f, (const struct chunk *[]){ &z }, 1); /* whole: no report */
	pack_path(f, &p, "idx", path, sizeof(path));
	flip_byte(path, IDX_HEADER_SIZE + IDX_FANOUT_SIZE + 5);

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 4);
		expect(&reps, "index", NULL, "'packs/%s.idx'", p.name);
		expect(&reps, "recipe", &file, "chunk '%s' is missing", ch.a.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is missing", ch.b.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is missing", ch.c.hex);
		expect_all(&reps, 4);
	}
	reports_release(&reps);
	chain_release(&ch);
	chunk_free(&z);
	buf_release(&fz);
}

/* ---- 8. a truncated pack ---------------------------------------------------- */

/*
 * a, b (on a), c (on b) and a full frame d; the pack is cut in the middle
 * of c: c and d are cut off, a and b are whole.  With full, a and b are
 * read again by range from a pack shorter than its index says (the read
 * of a whole window fails, the frame alone is read): were that read to
 * fail, a would be reported and b with it.
 */
static void test_truncated_pack(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct buf fd = BUF_INIT;
	struct lepton_oid file;
	uint64_t offsets[4];
	off_t cut;
	char path[512], words[256];
	struct packer p;
	struct chunk d;
	struct chain ch;

	chain_make(&ch, 30);
	chunk_new(&d, 31);
	encode_full(&fd, &d);
	pack_of(f, &p, (const struct lepton_oid *[]){ &ch.a.id, &ch.b.id, &ch.c.id, &d.id },
		(struct buf *[]){ &ch.fa, &ch.fb, &ch.fc, &fd }, 4, offsets);
	file = put_recipe(f, (const struct chunk *[]){ &ch.a, &ch.b, &ch.c, &d }, 4);
	pack_path(f, &p, "pack", path, sizeof(path));
	assert_int_equal(file_size(path), offsets[3] + fd.len);
	cut = (off_t)(offsets[2] + ch.fc.len / 2);
	chmod(path, 0644);
	assert_int_equal(truncate(path, cut), 0);
	snprintf(words, sizeof(words),
		 "'%s' is truncated at %lld bytes: 2 of its frames are cut off", p.name,
		 (long long)cut);

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 3);
		expect(&reps, "pack", NULL, "%s", words);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch.c.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", d.hex);
		expect_all(&reps, 3);
	}
	reports_release(&reps);
	chain_release(&ch);
	chunk_free(&d);
	buf_release(&fd);
}

/* ---- 9. a deleted pack -------------------------------------------------------- */

static void test_deleted_pack(void **state)
{
	struct fixture *f = *state;
	struct reports reps = { 0 };
	struct lepton_oid file;
	char path[512];
	struct packer p;
	struct chain ch;

	chain_make(&ch, 40);
	chain_pack(f, &ch, &p, NULL);
	file = chain_recipe(f, &ch);
	pack_path(f, &p, "pack", path, sizeof(path));
	assert_int_equal(unlink(path), 0);

	for (int full = 0; full <= 1; full++) {
		assert_int_equal(run_fsck(f, full, &reps), 4);
		expect(&reps, "pack", NULL, "'%s' is missing (its index names 3 chunks)", p.name);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch.a.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch.b.hex);
		expect(&reps, "recipe", &file, "chunk '%s' is damaged", ch.c.hex);
		expect_all(&reps, 4);
	}
	reports_release(&reps);
	chain_release(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sound_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sound_store_across_packs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_payload_other_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_payload_garbled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_header_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_base_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_on_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_wrong_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_pack, setup, teardown),
	};
	return cmocka_run_group_tests_name("remote-fsck", tests, NULL, NULL);
}
