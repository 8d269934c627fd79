/*
 * The engine wired into the store: the tensor map section of a recipe,
 * the writer's tensor-aligned cuts, and XOR deltas against a previous
 * version, decoded back.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
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
#include "frame.h"
#include "hash.h"
#include "recipe.h"
#include "store.h"
#include "tensormap.h"

#define MIB (1u << 20)

struct fixture {
	char dir[64];
	struct lepton_store *s;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lepton-test-engine-XXXXXX");
	if (!mkdtemp(f->dir) || store_open(&f->s, f->dir, 1)) {
		free(f);
		return -1;
	}
	store_set_options(f->s, 0, STORE_DEFAULT_LEVEL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->s);
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- a small safetensors file in memory ------------------------------- */

struct tensor_spec {
	const char *name, *dtype;
	uint64_t rows, cols;
	unsigned width;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* bf16/f32-like values: small exponents (compressible), random mantissas */
static void fill_floats(unsigned char *p, uint64_t n, unsigned width)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = rng();
		if (width == 2) {
			p[2 * i] = (unsigned char)r;
			p[2 * i + 1] = (unsigned char)(0x3c + (r >> 8) % 3) | (r >> 16 & 0x80);
		} else {
			p[4 * i] = (unsigned char)r;
			p[4 * i + 1] = (unsigned char)(r >> 8);
			p[4 * i + 2] = (unsigned char)(r >> 16);
			p[4 * i + 3] = (unsigned char)(0x3c + (r >> 24) % 3) | (r >> 32 & 0x80);
		}
	}
}

/* Build a model of the tensors in spec (in that order) into out; the
 * header is padded to 8 bytes. */
static void make_model(struct buf *out, const struct tensor_spec *spec, size_t n, uint64_t seed)
{
	struct buf json = BUF_INIT;
	uint64_t at = 0;
	unsigned char len[8];

	buf_reset(out);
	buf_addstr(&json, "{");
	for (size_t i = 0; i < n; i++) {
		uint64_t bytes = spec[i].rows * spec[i].cols * spec[i].width;
		buf_addf(&json,
			 "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu,%llu],"
			 "\"data_offsets\":[%llu,%llu]}",
			 i ? "," : "", spec[i].name, spec[i].dtype,
			 (unsigned long long)spec[i].rows, (unsigned long long)spec[i].cols,
			 (unsigned long long)at, (unsigned long long)(at + bytes));
		at += bytes;
	}
	buf_addstr(&json, "}");
	while (json.len % 8)
		buf_addstr(&json, " ");
	put_le64(len, json.len);
	buf_add(out, len, 8);
	buf_add(out, json.data, json.len);
	buf_grow(out, out->len + at);
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t elems = spec[i].rows * spec[i].cols;
		fill_floats((unsigned char *)out->data + out->len, elems, spec[i].width);
		buf_setlen(out, out->len + elems * spec[i].width);
	}
	buf_release(&json);
}

static const struct tensor_spec model_spec[] = {
	{ "embed", "BF16", 1024, 2560, 2 }, /* 5 MiB: two slices */
	{ "norm.a", "F32", 1, 64, 4 },      /* small ones: grouped */
	{ "norm.b", "F32", 1, 64, 4 },
	{ "proj", "F32", 512, 1024, 4 }, /* 2 MiB */
};
#define MODEL_TENSORS (sizeof(model_spec) / sizeof(*model_spec))

static void store_bytes(struct lepton_store *s, const struct lepton_pointer *prev, const void *data,
			size_t len, struct lepton_pointer *p, struct store_write_stats *st)
{
	struct store_writer *w = NULL;
	const unsigned char *at = data;

	assert_int_equal(store_writer_new(&w, s), 0);
	if (prev)
		assert_int_equal(store_writer_set_previous(w, prev), 0);
	/* odd pieces, so the header arrives in several writes */
	while (len) {
		size_t n = len < 100003 ? len : 100003;
		assert_int_equal(store_writer_write(w, at, n), 0);
		at += n;
		len -= n;
	}
	assert_int_equal(store_writer_finish(w, p, st), 0);
}

static void read_back(struct lepton_store *s, const struct lepton_pointer *p,
		      const struct buf *want)
{
	struct store_reader *r = NULL;
	struct buf got = BUF_INIT;
	char tmp[65536];
	ssize_t n;

	assert_int_equal(store_reader_open(&r, s, p), 0);
	while ((n = store_reader_read(r, tmp, sizeof(tmp))) > 0)
		buf_add(&got, tmp, (size_t)n);
	assert_int_equal(n, 0);
	assert_int_equal(got.len, want->len);
	assert_memory_equal(got.data, want->data, want->len);
	store_reader_free(r);
	buf_release(&got);
}

static void load_map(struct lepton_store *s, const struct lepton_pointer *p, struct recipe *r,
		     struct tensor_map *m)
{
	const struct recipe_section *sec;

	assert_int_equal(store_read_recipe(s, &p->oid, r, NULL), 0);
	sec = recipe_find_section(r, RECIPE_SECTION_TENSOR_MAP);
	assert_non_null(sec);
	assert_int_equal(tensor_map_parse(m, sec->data, sec->len), 0);
	assert_int_equal(m->nr, r->nr);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_tensor_map_round_trip(void **state)
{
	struct tensor_map m = TENSOR_MAP_INIT, back = TENSOR_MAP_INIT;
	struct tensor_map_entry e;
	struct buf enc = BUF_INIT;
	struct recipe r = RECIPE_INIT, parsed;
	struct lepton_oid id;
	const struct recipe_section *sec;
	(void)state;

	memset(&e, 0, sizeof(e));
	e.kind = TMAP_HEADER;
	tensor_map_add(&m, &e);
	e.kind = TMAP_TENSOR;
	e.name = "model.layers.0.mlp.up_proj.weight";
	snprintf(e.dtype, sizeof(e.dtype), "BF16");
	e.ndim = 2;
	e.shape[0] = 11008;
	e.shape[1] = 4096;
	e.slice = 3;
	e.n_tensors = 1;
	tensor_map_add(&m, &e);
	e.kind = TMAP_GROUP;
	e.name = "norm";
	e.n_tensors = 5;
	e.slice = 0;
	tensor_map_add(&m, &e);
	tensor_map_encode(&enc, &m);

	assert_int_equal(tensor_map_parse(&back, (unsigned char *)enc.data, enc.len), 0);
	assert_int_equal(back.nr, 3);
	for (size_t i = 0; i < 3; i++)
		assert_true(tensor_map_same(&m.entries[i], &back.entries[i]));
	assert_int_equal(back.entries[1].shape[0], 11008);
	assert_string_equal(back.entries[1].name, "model.layers.0.mlp.up_proj.weight");
	assert_int_equal(tensor_map_key(&back.entries[0]), 0);
	assert_true(tensor_map_key(&back.entries[1]) != tensor_map_key(&back.entries[2]));
	tensor_map_release(&back);

	/* damaged payloads are refused, never read past */
	for (size_t cut = 0; cut < enc.len; cut++) {
		int err = tensor_map_parse(&back, (unsigned char *)enc.data, cut);
		assert_true(err < 0);
		assert_int_equal(back.nr, 0);
	}
	enc.data[0] = 9; /* a version this reader does not know */
	assert_int_equal(tensor_map_parse(&back, (unsigned char *)enc.data, enc.len),
			 LEPTON_EINVALID);
	enc.data[0] = TENSOR_MAP_VERSION;

	/* in a recipe: the section survives encoding, unknown ones are kept */
	sha256_buffer(&id, "x", 1);
	recipe_add(&r, &id, 1);
	r.size = 1;
	recipe_add_section(&r, 77, "??", 2);
	recipe_add_section(&r, RECIPE_SECTION_TENSOR_MAP, enc.data, enc.len);
	buf_reset(&enc);
	recipe_encode(&enc, &r);
	assert_int_equal(recipe_parse(&parsed, (unsigned char *)enc.data, enc.len), 0);
	assert_int_equal(parsed.nr_sections, 2);
	sec = recipe_find_section(&parsed, RECIPE_SECTION_TENSOR_MAP);
	assert_non_null(sec);
	assert_int_equal(tensor_map_parse(&back, sec->data, sec->len), 0);
	assert_int_equal(back.nr, 3);
	recipe_release(&parsed);
	/* a section length past the end is refused */
	put_le32((unsigned char *)enc.data + RECIPE_HEADER_SIZE + RECIPE_ENTRY_SIZE + 4, 1u << 20);
	put_le64((unsigned char *)enc.data + enc.len - 8, xxh3_64(enc.data, enc.len - 8));
	assert_int_equal(recipe_parse(&parsed, (unsigned char *)enc.data, enc.len),
			 LEPTON_ECORRUPT);
	tensor_map_release(&back);
	tensor_map_release(&m);
	recipe_release(&r);
	buf_release(&enc);
}

static void test_cuts_follow_tensors(void **state)
{
	struct fixture *f = *state;
	struct buf model = BUF_INIT;
	struct lepton_pointer p;
	struct store_write_stats st;
	struct recipe r;
	struct tensor_map m;
	uint64_t header;

	make_model(&model, model_spec, MODEL_TENSORS, 1);
	header = 8 + get_le64((unsigned char *)model.data);
	store_bytes(f->s, NULL, model.data, model.len, &p, &st);
	load_map(f->s, &p, &r, &m);

	/* header, embed in 4 MiB + 1 MiB from its own start, the two norms
	 * together, proj whole */
	assert_int_equal(r.nr, 5);
	assert_int_equal(r.chunks[0].len, header);
	assert_int_equal(m.entries[0].kind, TMAP_HEADER);
	assert_int_equal(r.chunks[1].len, 4 * MIB);
	assert_int_equal(r.chunks[2].len, 1 * MIB);
	assert_int_equal(m.entries[1].kind, TMAP_TENSOR);
	assert_string_equal(m.entries[1].name, "embed");
	assert_string_equal(m.entries[1].dtype, "BF16");
	assert_int_equal(m.entries[1].slice, 0);
	assert_int_equal(m.entries[2].slice, 1);
	assert_int_equal(m.entries[2].shape[1], 2560);
	assert_int_equal(r.chunks[3].len, 2 * 64 * 4);
	assert_int_equal(m.entries[3].kind, TMAP_GROUP);
	assert_int_equal(m.entries[3].n_tensors, 2);
	assert_int_equal(r.chunks[4].len, 2 * MIB);
	assert_string_equal(m.entries[4].name, "proj");
	/* float data compresses once byte-grouped */
	assert_true(st.stored_bytes < model.len * 95 / 100);
	assert_int_equal(st.delta_chunks, 0);
	read_back(f->s, &p, &model);
	recipe_release(&r);
	tensor_map_release(&m);

	/* a damaged model (header says more data than there is) gets no map */
	buf_setlen(&model, model.len - 1000);
	store_bytes(f->s, NULL, model.data, model.len, &p, &st);
	assert_int_equal(store_read_recipe(f->s, &p.oid, &r, NULL), 0);
	assert_null(recipe_find_section(&r, RECIPE_SECTION_TENSOR_MAP));
	read_back(f->s, &p, &model);
	recipe_release(&r);
	buf_release(&model);
}

static void test_delta_against_previous(void **state)
{
	struct fixture *f = *state;
	struct buf v1 = BUF_INIT, v2 = BUF_INIT, chunk = BUF_INIT;
	struct lepton_pointer p1, p2, p3;
	struct store_write_stats st;
	struct recipe r;
	struct tensor_map m;
	uint64_t header;
	unsigned depth = 99;

	make_model(&v1, model_spec, MODEL_TENSORS, 2);
	header = 8 + get_le64((unsigned char *)v1.data);
	/* v2: a fine-tune nudges the low mantissa bits of every element */
	buf_add(&v2, v1.data, v1.len);
	for (uint64_t i = header; i < v2.len; i += 2)
		if (rng() % 3 == 0)
			v2.data[i] ^= 1;
	store_bytes(f->s, NULL, v1.data, v1.len, &p1, &st);
	store_bytes(f->s, &p1, v2.data, v2.len, &p2, &st);
	/* every large slice became a delta (the group too), the header did not change */
	assert_int_equal(st.new_chunks, 4);
	assert_int_equal(st.delta_chunks, 4);
	assert_true(st.stored_bytes < (v2.len - header) / 4);
	read_back(f->s, &p2, &v2);

	load_map(f->s, &p2, &r, &m);
	assert_int_equal(store_read_chunk(f->s, &r.chunks[1].oid, &chunk, &depth), 0);
	assert_int_equal(depth, 1);
	assert_memory_equal(chunk.data, v2.data + header, 4 * MIB);
	recipe_release(&r);
	tensor_map_release(&m);

	/* without a previous version: no deltas */
	for (uint64_t i = header + 1; i < v2.len; i += 4096)
		v2.data[i] ^= 0x40;
	store_bytes(f->s, NULL, v2.data, v2.len, &p3, &st);
	assert_int_equal(st.delta_chunks, 0);
	read_back(f->s, &p3, &v2);

	/* deltas off: none either */
	store_set_deltas(f->s, 0);
	for (uint64_t i = header + 3; i < v2.len; i += 4096)
		v2.data[i] ^= 0x01;
	store_bytes(f->s, &p2, v2.data, v2.len, &p3, &st);
	assert_int_equal(st.delta_chunks, 0);
	store_set_deltas(f->s, 1);
	read_back(f->s, &p3, &v2);
	buf_release(&v1);
	buf_release(&v2);
	buf_release(&chunk);
}

static void test_not_a_model(void **state)
{
	struct fixture *f = *state;
	struct buf data = BUF_INIT;
	struct lepton_pointer p;
	struct store_write_stats st;
	struct recipe r;

	/* starts like safetensors, then is not: stored as opaque bytes */
	buf_addstr(&data, "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":not json}  ");
	buf_grow(&data, 3 * MIB);
	rng_state = 7;
	while (data.len < 3 * MIB) {
		uint64_t x = rng();
		buf_add(&data, &x, 8);
	}
	store_bytes(f->s, NULL, data.data, data.len, &p, &st);
	assert_int_equal(store_read_recipe(f->s, &p.oid, &r, NULL), 0);
	assert_null(recipe_find_section(&r, RECIPE_SECTION_TENSOR_MAP));
	assert_true(r.nr > 1); /* FastCDC: about 1 MiB chunks */
	read_back(f->s, &p, &data);
	recipe_release(&r);
	buf_release(&data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tensor_map_round_trip),
		cmocka_unit_test_setup_teardown(test_cuts_follow_tensors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_against_previous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_model, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
