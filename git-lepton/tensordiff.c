/* tensordiff: tensor-by-tensor comparison of two versions of a model. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "tensordiff.h"
#include "banned.h"

#define BLOCK (1u << 20)

/* A forward-only reader of one version's bytes that can start again. */
struct cursor {
	const struct tensor_source *src;
	struct store_reader *r;
	int fd;
	uint64_t pos;
};

static int cursor_open(struct cursor *c, const struct tensor_source *src)
{
	c->src = src;
	c->r = NULL;
	c->fd = -1;
	c->pos = 0;
	if (src->file) {
		c->fd = open(src->file, O_RDONLY | O_CLOEXEC);
		if (c->fd < 0)
			return lepton_error_errno(LEPTON_EIO, "cannot open '%s'", src->file);
		return 0;
	}
	return store_reader_open(&c->r, src->store, &src->pointer);
}

static void cursor_close(struct cursor *c)
{
	if (c->fd >= 0)
		close(c->fd);
	store_reader_free(c->r);
	c->fd = -1;
	c->r = NULL;
}

/* Exactly len bytes (a short file is damaged: the header said otherwise). */
static int cursor_read(struct cursor *c, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = c->r ? store_reader_read(c->r, (char *)buf + got, len - got)
				 : read(c->fd, (char *)buf + got, len - got);
		if (n < 0)
			return c->r ? (int)n
				    : lepton_error_errno(LEPTON_EIO, "cannot read a model");
		if (n == 0)
			return lepton_error_set(LEPTON_ECORRUPT,
						"the model ends before its tensors do");
		got += (size_t)n;
	}
	c->pos += len;
	return 0;
}

static int cursor_seek(struct cursor *c, uint64_t off, unsigned char *scratch)
{
	int err;
	if (off < c->pos) {
		cursor_close(c);
		if ((err = cursor_open(c, c->src)))
			return err;
	}
	if (c->fd >= 0) {
		if (lseek(c->fd, (off_t)off, SEEK_SET) < 0)
			return lepton_error_errno(LEPTON_EIO, "cannot read a model");
		c->pos = off;
		return 0;
	}
	while (c->pos < off) {
		uint64_t n = off - c->pos < BLOCK ? off - c->pos : BLOCK;
		if ((err = cursor_read(c, scratch, (size_t)n)))
			return err;
	}
	return 0;
}

static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
	float f;
	if (exp == 0) {
		f = (float)mant * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	if (exp == 31) {
		uint32_t bits = sign | 0x7f800000u | (mant << 13);
		memcpy(&f, &bits, 4);
		return f;
	}
	{
		uint32_t bits = sign | ((exp + 112) << 23) | (mant << 13);
		memcpy(&f, &bits, 4);
	}
	return f;
}

static double element(const unsigned char *p, const char *dtype, unsigned width)
{
	if (width == 2 && !strcmp(dtype, "BF16")) {
		uint32_t bits = (uint32_t)(p[0] | p[1] << 8) << 16;
		float f;
		memcpy(&f, &bits, 4);
		return f;
	}
	if (width == 2)
		return half_to_float((uint16_t)(p[0] | p[1] << 8));
	if (width == 4) {
		uint32_t bits = (uint32_t)get_le32(p);
		float f;
		memcpy(&f, &bits, 4);
		return f;
	}
	{
		uint64_t bits = get_le64(p);
		double d;
		memcpy(&d, &bits, 8);
		return d;
	}
}

static int is_compared_float(const struct model_tensor *t)
{
	return !strcmp(t->dtype, "F32") || !strcmp(t->dtype, "F16") || !strcmp(t->dtype, "BF16") ||
	       !strcmp(t->dtype, "F64");
}

static int same_layout(const struct model_tensor *a, const struct model_tensor *b)
{
	if (strcmp(a->dtype, b->dtype) || a->ndim != b->ndim || a->size != b->size)
		return 0;
	for (unsigned i = 0; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			return 0;
	return 1;
}

static struct tensor_change *add_change(struct tensor_diff *d, enum tensor_change_kind kind,
					const struct model_tensor *old,
					const struct model_tensor *new)
{
	struct tensor_change *c;
	if (d->nr == d->alloc) {
		d->alloc = d->alloc ? 2 * d->alloc : 32;
		d->changes = xrealloc(d->changes, d->alloc * sizeof(*d->changes));
	}
	c = &d->changes[d->nr++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->old = old;
	c->new = new;
	return c;
}

static int by_name(const void *a, const void *b)
{
	const struct model_tensor *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* The tensor of that name in a by-name index, or NULL. */
static const struct model_tensor *find(const struct model_tensor **index, size_t n,
				       const char *name)
{
	struct model_tensor key = { .name = (char *)name };
	const struct model_tensor *k = &key, **hit;
	hit = bsearch(&k, index, n, sizeof(*index), by_name);
	return hit ? *hit : NULL;
}

/* Compare one tensor present in both with the same layout. */
static int compare_values(struct tensor_diff *d, struct cursor *ca, struct cursor *cb,
			  const struct model_tensor *o, const struct model_tensor *t,
			  unsigned char *ba, unsigned char *bb)
{
	int is_float = is_compared_float(t);
	unsigned width = t->elem_width ? t->elem_width : 1;
	uint64_t left = t->size, units = 0, changed = 0;
	double max_abs = 0, sum_diff = 0, sum_old = 0;
	int err;

	if ((err = cursor_seek(ca, o->offset, ba)) || (err = cursor_seek(cb, t->offset, bb)))
		return err;
	while (left) {
		size_t n = left < BLOCK ? (size_t)left : BLOCK;
		if ((err = cursor_read(ca, ba, n)) || (err = cursor_read(cb, bb, n)))
			return err;
		if (!memcmp(ba, bb, n)) {
			units += n / width;
			if (is_float)
				for (size_t i = 0; i + width <= n; i += width) {
					double x = element(ba + i, t->dtype, width);
					if (!isnan(x))
						sum_old += x * x;
				}
		} else {
			for (size_t i = 0; i + width <= n; i += width) {
				int differs = memcmp(ba + i, bb + i, width) != 0;
				units++;
				changed += differs;
				if (is_float) {
					double x = element(ba + i, t->dtype, width);
					double y = element(bb + i, t->dtype, width);
					if (!isnan(x))
						sum_old += x * x;
					if (differs && !isnan(x) && !isnan(y)) {
						double delta = fabs(y - x);
						if (delta > max_abs)
							max_abs = delta;
						sum_diff += delta * delta;
					}
				}
			}
		}
		left -= n;
	}
	if (!changed) {
		d->unchanged++;
		return 0;
	}
	{
		struct tensor_change *c = add_change(d, TENSOR_CHANGED, o, t);
		c->units = units;
		c->changed_units = changed;
		c->units_are_bytes = !t->elem_width;
		if (is_float) {
			c->have_float_stats = 1;
			c->max_abs_diff = max_abs;
			c->rel_l2 = sum_old > 0 ? sqrt(sum_diff) / sqrt(sum_old) : -1;
		}
	}
	return 0;
}

/* SHA-256 of the tensors whose flag is set, in offset order. */
static int hash_tensors(struct lepton_oid *out, const struct model_info *m, const char *want,
			const struct tensor_source *src, unsigned char *buf)
{
	struct cursor c;
	int err;

	if ((err = cursor_open(&c, src)))
		return err;
	for (size_t i = 0; i < m->n_tensors && !err; i++) {
		const struct model_tensor *t = &m->tensors[i];
		struct sha256_ctx ctx;
		uint64_t left = t->size;
		if (!want[i])
			continue;
		if ((err = cursor_seek(&c, t->offset, buf)))
			break;
		sha256_init(&ctx);
		while (left && !err) {
			size_t n = left < BLOCK ? (size_t)left : BLOCK;
			if (!(err = cursor_read(&c, buf, n)))
				sha256_update(&ctx, buf, n);
			left -= n;
		}
		if (err)
			sha256_release(&ctx);
		else
			sha256_final(&out[i], &ctx);
	}
	cursor_close(&c);
	return err;
}

/* Added and removed tensors with the same bytes, dtype and shape: renamed. */
static int find_renames(struct tensor_diff *d, const struct model_info *old,
			const struct model_info *new, const struct tensor_source *a,
			const struct tensor_source *b, unsigned char *buf)
{
	char *want_old = xcalloc(old->n_tensors + 1, 1), *want_new = xcalloc(new->n_tensors + 1, 1);
	struct lepton_oid *hold = xcalloc(old->n_tensors + 1, sizeof(*hold));
	struct lepton_oid *hnew = xcalloc(new->n_tensors + 1, sizeof(*hnew));
	size_t added = 0, removed = 0;
	int err = 0;

	for (size_t i = 0; i < d->nr; i++) {
		const struct tensor_change *c = &d->changes[i];
		if (c->kind == TENSOR_ADDED) {
			want_new[c->new - new->tensors] = 1;
			added++;
		} else if (c->kind == TENSOR_REMOVED) {
			want_old[c->old - old->tensors] = 1;
			removed++;
		}
	}
	if (!added || !removed)
		goto done;
	if ((err = hash_tensors(hold, old, want_old, a, buf)) ||
	    (err = hash_tensors(hnew, new, want_new, b, buf)))
		goto done;
	for (size_t i = 0; i < d->nr; i++) {
		struct tensor_change *c = &d->changes[i];
		size_t ni;
		if (c->kind != TENSOR_ADDED)
			continue;
		ni = (size_t)(c->new - new->tensors);
		for (size_t j = 0; j < d->nr; j++) {
			struct tensor_change *r = &d->changes[j];
			size_t oi;
			if (r->kind != TENSOR_REMOVED)
				continue;
			oi = (size_t)(r->old - old->tensors);
			if (same_layout(r->old, c->new) && !oid_cmp(&hold[oi], &hnew[ni])) {
				c->kind = TENSOR_RENAMED;
				c->old = r->old;
				r->kind = TENSOR_RENAMED;
				r->new = NULL; /* dropped below */
				break;
			}
		}
	}
	/* drop the removed half of each rename */
	{
		size_t w = 0;
		for (size_t i = 0; i < d->nr; i++)
			if (!(d->changes[i].kind == TENSOR_RENAMED && !d->changes[i].new))
				d->changes[w++] = d->changes[i];
		d->nr = w;
	}
done:
	free(want_old);
	free(want_new);
	free(hold);
	free(hnew);
	return err;
}

static int by_kind(const void *a, const void *b)
{
	const struct tensor_change *x = a, *y = b;
	const struct model_tensor *tx = x->new ? x->new : x->old, *ty = y->new ? y->new : y->old;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	/* keep each group in file order: offsets in one file, removed in the old */
	return tx->offset < ty->offset ? -1 : tx->offset > ty->offset;
}

static void add_meta(struct tensor_diff *d, const char *key, const char *old, const char *new)
{
	if (d->meta_nr == d->meta_alloc) {
		d->meta_alloc = d->meta_alloc ? 2 * d->meta_alloc : 16;
		d->meta = xrealloc(d->meta, d->meta_alloc * sizeof(*d->meta));
	}
	d->meta[d->meta_nr].key = key;
	d->meta[d->meta_nr].old_value = old;
	d->meta[d->meta_nr++].new_value = new;
}

static void diff_meta(struct tensor_diff *d, const struct model_info *old,
		      const struct model_info *new)
{
	for (size_t i = 0; i < old->n_meta; i++) {
		const char *nv = NULL;
		for (size_t j = 0; j < new->n_meta && !nv; j++)
			if (!strcmp(old->meta[i].key, new->meta[j].key))
				nv = new->meta[j].value;
		if (!nv || strcmp(nv, old->meta[i].value))
			add_meta(d, old->meta[i].key, old->meta[i].value, nv);
	}
	for (size_t j = 0; j < new->n_meta; j++) {
		int found = 0;
		for (size_t i = 0; i < old->n_meta && !found; i++)
			found = !strcmp(old->meta[i].key, new->meta[j].key);
		if (!found)
			add_meta(d, new->meta[j].key, NULL, new->meta[j].value);
	}
}

int tensor_diff_compute(struct tensor_diff *out, const struct model_info *old,
			const struct model_info *new, const struct tensor_source *a,
			const struct tensor_source *b)
{
	const struct model_tensor **old_index = xcalloc(old->n_tensors + 1, sizeof(*old_index));
	const struct model_tensor **new_index = xcalloc(new->n_tensors + 1, sizeof(*new_index));
	unsigned char *ba = xmalloc(BLOCK), *bb = xmalloc(BLOCK);
	struct cursor ca = { .fd = -1 }, cb = { .fd = -1 };
	int opened = 0, err = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < old->n_tensors; i++)
		old_index[i] = &old->tensors[i];
	for (size_t i = 0; i < new->n_tensors; i++)
		new_index[i] = &new->tensors[i];
	qsort(old_index, old->n_tensors, sizeof(*old_index), by_name);
	qsort(new_index, new->n_tensors, sizeof(*new_index), by_name);

	for (size_t i = 0; i < new->n_tensors && !err; i++) {
		const struct model_tensor *t = &new->tensors[i];
		const struct model_tensor *o = find(old_index, old->n_tensors, t->name);
		if (!o)
			add_change(out, TENSOR_ADDED, NULL, t);
		else if (!same_layout(o, t))
			add_change(out, TENSOR_RETYPED, o, t);
		else {
			if (!opened) {
				if ((err = cursor_open(&ca, a)) || (err = cursor_open(&cb, b)))
					break;
				opened = 1;
			}
			err = compare_values(out, &ca, &cb, o, t, ba, bb);
		}
	}
	for (size_t i = 0; i < old->n_tensors && !err; i++)
		if (!find(new_index, new->n_tensors, old->tensors[i].name))
			add_change(out, TENSOR_REMOVED, &old->tensors[i], NULL);
	cursor_close(&ca);
	cursor_close(&cb);
	if (!err)
		err = find_renames(out, old, new, a, b, ba);
	if (!err) {
		if (out->nr)
			qsort(out->changes, out->nr, sizeof(*out->changes), by_kind);
		diff_meta(out, old, new);
	}
	free(old_index);
	free(new_index);
	free(ba);
	free(bb);
	if (err)
		tensor_diff_release(out);
	return err;
}

int tensor_hash_all(struct lepton_oid *out, const struct model_info *m,
		    const struct tensor_source *src)
{
	char *want = xmalloc(m->n_tensors + 1);
	unsigned char *buf = xmalloc(BLOCK);
	int err;

	memset(want, 1, m->n_tensors + 1);
	err = hash_tensors(out, m, want, src, buf);
	free(want);
	free(buf);
	return err;
}

void tensor_diff_release(struct tensor_diff *d)
{
	free(d->changes);
	free(d->meta);
	memset(d, 0, sizeof(*d));
}

void tensor_shape_format(struct buf *out, const struct model_tensor *t)
{
	buf_addch(out, '[');
	for (unsigned i = 0; i < t->ndim; i++)
		buf_addf(out, "%s%llu", i ? ", " : "", (unsigned long long)t->shape[i]);
	buf_addch(out, ']');
}
