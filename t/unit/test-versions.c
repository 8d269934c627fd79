/*
 * Unit tests of the pure parts of the version commands: "vN" parsing,
 * recipe comparison (versions.h), JSON strings, and the tensor comparison
 * (tensordiff.h) on small safetensors files written here by hand, where
 * every expected number can be worked out on paper.
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

#include <math.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "model.h"
#include "recipe.h"
#include "tensordiff.h"
#include "versions.h"

static void test_version_number(void **state)
{
	unsigned long n = 99;
	(void)state;
	assert_int_equal(version_number_parse(&n, "v3"), 1);
	assert_int_equal(n, 3);
	assert_int_equal(version_number_parse(&n, "v0"), 1);
	assert_int_equal(n, 0);
	assert_int_equal(version_number_parse(&n, "v12345"), 1);
	assert_int_equal(n, 12345);
	assert_int_equal(version_number_parse(&n, "v"), 0);
	assert_int_equal(version_number_parse(&n, "v-1"), 0);
	assert_int_equal(version_number_parse(&n, "v+1"), 0);
	assert_int_equal(version_number_parse(&n, "v1a"), 0);
	assert_int_equal(version_number_parse(&n, "V1"), 0);
	assert_int_equal(version_number_parse(&n, "1"), 0);
	assert_int_equal(version_number_parse(&n, "v99999999999999999999999"), 0);
	assert_int_equal(version_number_parse(&n, "HEAD"), 0);
}

static struct lepton_oid chunk_id(int i)
{
	struct lepton_oid oid;
	sha256_buffer(&oid, &i, sizeof(i));
	return oid;
}

static void add_chunks(struct recipe *r, const int *ids, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		struct lepton_oid oid = chunk_id(ids[i]);
		recipe_add(r, &oid, 100 + (uint64_t)ids[i]);
	}
}

static void test_recipe_compare(void **state)
{
	struct recipe old = RECIPE_INIT, new = RECIPE_INIT;
	struct recipe_delta d;
	static const int a[] = { 1, 2, 3, 4 }, b[] = { 1, 5, 3, 5, 6 };
	(void)state;

	add_chunks(&old, a, 4);
	add_chunks(&new, b, 5);
	recipe_compare(&d, &old, &new);
	assert_int_equal(d.chunks, 5);
	assert_int_equal(d.shared, 2);  /* 1 and 3 */
	assert_int_equal(d.changed, 2); /* 5 (once) and 6 */
	assert_int_equal(d.changed_bytes, 105 + 106);
	assert_int_equal(d.removed, 2); /* 2 and 4 */

	recipe_compare(&d, NULL, &new);
	assert_int_equal(d.changed, 4); /* 1, 5, 3, 6 */
	assert_int_equal(d.changed_bytes, 101 + 105 + 103 + 106);
	assert_int_equal(d.removed, 0);

	recipe_compare(&d, &new, &new);
	assert_int_equal(d.changed, 0);
	assert_int_equal(d.shared, 5);
	recipe_release(&old);
	recipe_release(&new);
}

static void test_json_string(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	json_add_string(&b, "a\"b\\c\nd\te\x01");
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
	buf_release(&b);
}

/* A safetensors file: header JSON, then the data. */
static void write_model(const char *path, const char *json, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	unsigned char n[8];
	put_le64(n, strlen(json));
	assert_non_null(f);
	assert_int_equal(fwrite(n, 1, 8, f), 8);
	assert_int_equal(fwrite(json, 1, strlen(json), f), strlen(json));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

struct pair {
	char dir[64], old_path[96], new_path[96];
	struct model_info old, new;
	struct tensor_source a, b;
	struct tensor_diff d;
};

static void diff_models(struct pair *p, const char *old_json, const void *old_data, size_t old_len,
			const char *new_json, const void *new_data, size_t new_len)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/test-versions-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->old_path, sizeof(p->old_path), "%s/old", p->dir);
	snprintf(p->new_path, sizeof(p->new_path), "%s/new", p->dir);
	write_model(p->old_path, old_json, old_data, old_len);
	write_model(p->new_path, new_json, new_data, new_len);
	assert_int_equal(model_parse_file(&p->old, p->old_path), 0);
	assert_int_equal(model_parse_file(&p->new, p->new_path), 0);
	memset(&p->a, 0, sizeof(p->a));
	memset(&p->b, 0, sizeof(p->b));
	p->a.file = p->old_path;
	p->b.file = p->new_path;
	assert_int_equal(tensor_diff_compute(&p->d, &p->old, &p->new, &p->a, &p->b), 0);
}

static void pair_release(struct pair *p)
{
	tensor_diff_release(&p->d);
	model_info_release(&p->old);
	model_info_release(&p->new);
	unlink(p->old_path);
	unlink(p->new_path);
	rmdir(p->dir);
}

static const struct tensor_change *change_of(const struct tensor_diff *d, const char *name)
{
	for (size_t i = 0; i < d->nr; i++) {
		const struct model_tensor *t =
		    d->changes[i].new ? d->changes[i].new : d->changes[i].old;
		if (!strcmp(t->name, name))
			return &d->changes[i];
	}
	return NULL;
}

static void test_float_stats(void **state)
{
	/* a: F32 [4]; h: F16 [2]; b: BF16 [2]; all little-endian */
	static const char json[] =
	    "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
	    "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
	    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[20,24]}}";
	float fa[4] = { 1, 2, 3, 4 }, fb[4] = { 1, 2, 3.5f, 4 };
	unsigned char old[24], new[24];
	const struct tensor_change *c;
	struct pair p;
	(void)state;

	memcpy(old, fa, 16);
	memcpy(new, fb, 16);
	/* F16 1.0 = 0x3c00, 2.0 = 0x4000; -> 1.0 and 4.0 (0x4400) */
	old[16] = 0x00, old[17] = 0x3c, old[18] = 0x00, old[19] = 0x40;
	new[16] = 0x00, new[17] = 0x3c, new[18] = 0x00, new[19] = 0x44;
	/* BF16 1.0 = 0x3f80, -1.0 = 0xbf80: both change sign */
	old[20] = 0x80, old[21] = 0x3f, old[22] = 0x80, old[23] = 0xbf;
	new[20] = 0x80, new[21] = 0xbf, new[22] = 0x80, new[23] = 0x3f;
	diff_models(&p, json, old, 24, json, new, 24);

	assert_int_equal(p.d.nr, 3);
	assert_int_equal(p.d.unchanged, 0);
	c = change_of(&p.d, "a");
	assert_non_null(c);
	assert_int_equal(c->kind, TENSOR_CHANGED);
	assert_int_equal(c->units, 4);
	assert_int_equal(c->changed_units, 1);
	assert_true(c->have_float_stats);
	assert_true(fabs(c->max_abs_diff - 0.5) < 1e-12);
	assert_true(fabs(c->rel_l2 - 0.5 / sqrt(30.0)) < 1e-12);

	c = change_of(&p.d, "h");
	assert_non_null(c);
	assert_int_equal(c->changed_units, 1);
	assert_true(fabs(c->max_abs_diff - 2.0) < 1e-12);
	assert_true(fabs(c->rel_l2 - 2.0 / sqrt(5.0)) < 1e-12);

	c = change_of(&p.d, "b");
	assert_non_null(c);
	assert_int_equal(c->changed_units, 2);
	assert_true(fabs(c->max_abs_diff - 2.0) < 1e-12);
	assert_true(fabs(c->rel_l2 - 2.0) < 1e-12);
	pair_release(&p);
}

static void test_added_removed_renamed_retyped(void **state)
{
	static const char old_json[] =
	    "{\"__metadata__\":{\"k\":\"1\",\"gone\":\"x\"},"
	    "\"keep\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
	    "\"old_name\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[2,4]},"
	    "\"dropped\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[4,6]},"
	    "\"shape\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[6,8]}}";
	static const char new_json[] =
	    "{\"__metadata__\":{\"k\":\"2\",\"new\":\"y\"},"
	    "\"keep\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
	    "\"new_name\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[2,4]},"
	    "\"fresh\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[4,6]},"
	    "\"shape\":{\"dtype\":\"I8\",\"shape\":[1,2],\"data_offsets\":[6,8]}}";
	static const unsigned char old[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const unsigned char new[8] = { 1, 2, 3, 4, 9, 9, 7, 8 };
	const struct tensor_change *c;
	struct pair p;
	int seen_k = 0, seen_gone = 0, seen_new = 0;
	(void)state;

	diff_models(&p, old_json, old, 8, new_json, new, 8);
	assert_int_equal(p.d.unchanged, 1);
	assert_int_equal(p.d.nr, 4);
	c = change_of(&p.d, "new_name");
	assert_non_null(c);
	assert_int_equal(c->kind, TENSOR_RENAMED);
	assert_string_equal(c->old->name, "old_name");
	assert_int_equal(change_of(&p.d, "fresh")->kind, TENSOR_ADDED);
	assert_int_equal(change_of(&p.d, "dropped")->kind, TENSOR_REMOVED);
	assert_int_equal(change_of(&p.d, "shape")->kind, TENSOR_RETYPED);
	/* grouped: added, removed, renamed, retyped */
	assert_int_equal(p.d.changes[0].kind, TENSOR_ADDED);
	assert_int_equal(p.d.changes[3].kind, TENSOR_RETYPED);

	assert_int_equal(p.d.meta_nr, 3);
	for (size_t i = 0; i < p.d.meta_nr; i++) {
		const struct meta_change *m = &p.d.meta[i];
		if (!strcmp(m->key, "k")) {
			assert_string_equal(m->old_value, "1");
			assert_string_equal(m->new_value, "2");
			seen_k = 1;
		} else if (!strcmp(m->key, "gone")) {
			assert_null(m->new_value);
			seen_gone = 1;
		} else if (!strcmp(m->key, "new")) {
			assert_null(m->old_value);
			seen_new = 1;
		}
	}
	assert_true(seen_k && seen_gone && seen_new);
	pair_release(&p);
}

static void test_out_of_order(void **state)
{
	/* the same tensors in the other order in the file: still compared right */
	static const char old_json[] =
	    "{\"x\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
	    "\"y\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[3,6]}}";
	static const char new_json[] =
	    "{\"y\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
	    "\"x\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[3,6]}}";
	static const unsigned char old[6] = { 1, 2, 3, 4, 5, 6 };
	static const unsigned char new[6] = { 4, 5, 6, 1, 2, 9 };
	const struct tensor_change *c;
	struct pair p;
	(void)state;

	diff_models(&p, old_json, old, 6, new_json, new, 6);
	assert_int_equal(p.d.unchanged, 1);
	assert_int_equal(p.d.nr, 1);
	c = change_of(&p.d, "x");
	assert_non_null(c);
	assert_int_equal(c->kind, TENSOR_CHANGED);
	assert_int_equal(c->changed_units, 1);
	assert_false(c->have_float_stats);
	pair_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_number),
		cmocka_unit_test(test_recipe_compare),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_float_stats),
		cmocka_unit_test(test_added_removed_renamed_retyped),
		cmocka_unit_test(test_out_of_order),
	};
	return cmocka_run_group_tests_name("versions", tests, NULL, NULL);
}
