/*
 * The GGUF reader (versions 2 and 3; all little-endian):
 *
 *   "GGUF" u32 version, u64 tensor count, u64 key/value count
 *   key/values: string key, u32 type, value
 *   tensor infos: string name, u32 n_dims, u64 dims[n_dims], u32 type,
 *                 u64 offset (relative to the data section, aligned)
 *   padding to general.alignment (default 32), then the data section
 *
 * A string is a u64 length and that many bytes.  The checks follow ggml's
 * gguf reader (gguf.cpp): known value and tensor types, no nested arrays,
 * unique keys and tensor names, at most 4 dimensions, element counts and
 * byte sizes that do not overflow, rows a whole number of quantization
 * blocks, the alignment a power of two and every offset a multiple of it,
 * tensor data that does not overlap and lies inside the file.  Counts are
 * checked against the bytes that could hold them before anything is
 * allocated, so a header of a few bytes cannot ask for gigabytes.
 *
 * Streaming: the reader walks the bytes it was given; when it runs out it
 * says how many it needs (gguf_parse()'s *need) so that a caller can read
 * more and start again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "model.h"
#include "banned.h"

enum gguf_type {
	GGUF_UINT8 = 0,
	GGUF_INT8 = 1,
	GGUF_UINT16 = 2,
	GGUF_INT16 = 3,
	GGUF_UINT32 = 4,
	GGUF_INT32 = 5,
	GGUF_FLOAT32 = 6,
	GGUF_BOOL = 7,
	GGUF_STRING = 8,
	GGUF_ARRAY = 9,
	GGUF_UINT64 = 10,
	GGUF_INT64 = 11,
	GGUF_FLOAT64 = 12,
	GGUF_TYPE_COUNT
};

static const char *const type_names[] = { "u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
					  "bool", "string", "array", "u64", "i64", "f64" };
static const unsigned type_sizes[] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

struct reader {
	const unsigned char *p;
	size_t len, pos;
	uint64_t limit;    /* the header cannot go past this many bytes */
	uint64_t need;     /* set when the bytes ran out: how many are needed */
	int file_complete; /* len is the whole file: running out is an error */
};

#define TRUNCATED 1 /* internal: ran out of bytes; not an error yet */

/* Make sure n more bytes are there; TRUNCATED, or an error past the limit. */
static int want(struct reader *r, uint64_t n, const char *what)
{
	if (n > r->limit || r->pos > r->limit - n) {
		if (r->file_complete || r->limit < MODEL_GGUF_MAX_HEADER)
			return lepton_error_set(LEPTON_EINVALID,
						"gguf header: %s at byte %zu goes beyond the end "
						"of the file",
						what, r->pos);
		return lepton_error_set(LEPTON_EINVALID,
					"gguf header: %s at byte %zu goes past the limit of "
					"%llu header bytes",
					what, r->pos, (unsigned long long)MODEL_GGUF_MAX_HEADER);
	}
	if (r->pos + n > r->len) {
		if (r->file_complete)
			return lepton_error_set(LEPTON_EINVALID,
						"gguf header: %s at byte %zu is cut short", what,
						r->pos);
		r->need = r->pos + n;
		return TRUNCATED;
	}
	return 0;
}

static int read_u32(struct reader *r, uint32_t *out, const char *what)
{
	int ret = want(r, 4, what);
	if (ret)
		return ret;
	*out = get_le32(r->p + r->pos);
	r->pos += 4;
	return 0;
}

static int read_u64(struct reader *r, uint64_t *out, const char *what)
{
	int ret = want(r, 8, what);
	if (ret)
		return ret;
	*out = get_le64(r->p + r->pos);
	r->pos += 8;
	return 0;
}

/* A string: its bytes stay in the input; *s and *n point at them. */
static int read_string(struct reader *r, const unsigned char **s, uint64_t *n, const char *what)
{
	int ret = read_u64(r, n, what);
	if (ret)
		return ret;
	if ((ret = want(r, *n, what)))
		return ret;
	*s = r->p + r->pos;
	r->pos += (size_t)*n;
	return 0;
}

/* A string as a C string; NUL bytes inside are refused. */
static int read_cstring(struct reader *r, char **out, const char *what)
{
	const unsigned char *s;
	uint64_t n;
	int ret = read_string(r, &s, &n, what);
	if (ret)
		return ret;
	if (memchr(s, 0, (size_t)n))
		return lepton_error_set(LEPTON_EINVALID, "gguf header: %s at byte %zu holds a NUL",
					what, r->pos - (size_t)n);
	*out = xmalloc((size_t)n + 1);
	memcpy(*out, s, (size_t)n);
	(*out)[n] = 0;
	return 0;
}

/* The smallest number of bytes an element of the type takes. */
static uint64_t min_size(uint32_t type)
{
	return type == GGUF_STRING ? 8 : type_sizes[type];
}

static void render_scalar(struct buf *out, uint32_t type, const unsigned char *p)
{
	union {
		uint32_t u;
		float f;
	} f32;
	union {
		uint64_t u;
		double d;
	} f64;

	switch (type) {
	case GGUF_UINT8:
		buf_addf(out, "%u", p[0]);
		break;
	case GGUF_INT8:
		buf_addf(out, "%d", (int8_t)p[0]);
		break;
	case GGUF_UINT16:
		buf_addf(out, "%u", (unsigned)(p[0] | p[1] << 8));
		break;
	case GGUF_INT16:
		buf_addf(out, "%d", (int16_t)(p[0] | p[1] << 8));
		break;
	case GGUF_UINT32:
		buf_addf(out, "%" PRIu32, get_le32(p));
		break;
	case GGUF_INT32:
		buf_addf(out, "%" PRId32, (int32_t)get_le32(p));
		break;
	case GGUF_FLOAT32:
		f32.u = get_le32(p);
		buf_addf(out, "%g", (double)f32.f);
		break;
	case GGUF_BOOL:
		buf_addstr(out, p[0] ? "true" : "false");
		break;
	case GGUF_UINT64:
		buf_addf(out, "%" PRIu64, get_le64(p));
		break;
	case GGUF_INT64:
		buf_addf(out, "%" PRId64, (int64_t)get_le64(p));
		break;
	case GGUF_FLOAT64:
		f64.u = get_le64(p);
		buf_addf(out, "%g", f64.d);
		break;
	}
}

/* One value of the given type (not an array), rendered into out. */
static int read_value(struct reader *r, uint32_t type, struct buf *out, const char *key)
{
	const unsigned char *s;
	uint64_t n;
	int ret;

	if (type == GGUF_STRING) {
		if ((ret = read_string(r, &s, &n, "a string value")))
			return ret;
		if (out)
			buf_add(out, s, (size_t)n);
		return 0;
	}
	if ((ret = want(r, type_sizes[type], "a value")))
		return ret;
	if (out)
		render_scalar(out, type, r->p + r->pos);
	r->pos += type_sizes[type];
	return 0;
}

static int read_kv(struct reader *r, struct model_meta *kv, uint64_t *alignment)
{
	struct buf value = BUF_INIT;
	uint32_t type, elem;
	uint64_t count;
	int ret;

	if ((ret = read_cstring(r, &kv->key, "a key")) ||
	    (ret = read_u32(r, &type, "a value type")))
		goto done;
	if (type >= GGUF_TYPE_COUNT) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "gguf key '%s': unknown value type %" PRIu32, kv->key, type);
		goto done;
	}
	if (type != GGUF_ARRAY) {
		size_t at = r->pos;
		if ((ret = read_value(r, type, &value, kv->key)))
			goto done;
		if (!strcmp(kv->key, "general.alignment")) {
			uint32_t a;
			if (type != GGUF_UINT32) {
				ret =
				    lepton_error_set(LEPTON_EINVALID,
						     "gguf key 'general.alignment' must be a u32, "
						     "not %s",
						     type_names[type]);
				goto done;
			}
			a = get_le32(r->p + at);
			if (!a || (a & (a - 1))) {
				ret = lepton_error_set(
				    LEPTON_EINVALID,
				    "gguf alignment %" PRIu32 " is not a power of two", a);
				goto done;
			}
			*alignment = a;
		}
		goto done;
	}
	if ((ret = read_u32(r, &elem, "an array type")) ||
	    (ret = read_u64(r, &count, "an array length")))
		goto done;
	if (elem == GGUF_ARRAY) {
		ret = lepton_error_set(LEPTON_EINVALID, "gguf key '%s': nested arrays", kv->key);
		goto done;
	}
	if (elem >= GGUF_TYPE_COUNT) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "gguf key '%s': unknown array element type %" PRIu32,
				       kv->key, elem);
		goto done;
	}
	if (count > (r->limit - r->pos) / min_size(elem)) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "gguf key '%s': array of %" PRIu64
				       " %s elements cannot fit in the file",
				       kv->key, count, type_names[elem]);
		goto done;
	}
	if (elem == GGUF_STRING) {
		for (uint64_t i = 0; i < count; i++)
			if ((ret = read_value(r, elem, NULL, kv->key)))
				goto done;
	} else {
		if ((ret = want(r, count * type_sizes[elem], "an array")))
			goto done;
		r->pos += (size_t)(count * type_sizes[elem]);
	}
	buf_addf(&value, "[%s x %" PRIu64 "]", type_names[elem], count);
done:
	if (!ret)
		kv->value = buf_detach(&value, NULL);
	buf_release(&value);
	return ret;
}

static int read_tensor_info(struct reader *r, struct model_tensor *t, uint64_t *rel)
{
	uint32_t n_dims, type;
	const struct model_dtype *dt;
	uint64_t elems = 1, blocks;
	int ret;

	if ((ret = read_cstring(r, &t->name, "a tensor name")) ||
	    (ret = read_u32(r, &n_dims, "a tensor's dimension count")))
		return ret;
	if (n_dims > MODEL_GGUF_MAX_DIMS)
		return lepton_error_set(LEPTON_EINVALID,
					"tensor '%s': %" PRIu32 " dimensions, at most %d allowed",
					t->name, n_dims, MODEL_GGUF_MAX_DIMS);
	for (uint32_t d = 0; d < n_dims; d++)
		if ((ret = read_u64(r, &t->shape[d], "a tensor dimension")))
			return ret;
	t->ndim = n_dims;
	if ((ret = read_u32(r, &type, "a tensor type")) ||
	    (ret = read_u64(r, rel, "a tensor offset")))
		return ret;
	dt = model_dtype_by_ggml(type);
	if (!dt)
		return lepton_error_set(LEPTON_EINVALID,
					"tensor '%s': unknown tensor type %" PRIu32, t->name, type);
	for (uint32_t d = 0; d < n_dims; d++) {
		if (t->shape[d] > INT64_MAX)
			return lepton_error_set(LEPTON_EINVALID,
						"tensor '%s': dimension %" PRIu32 " is negative",
						t->name, d);
		if (t->shape[d] && elems > INT64_MAX / t->shape[d])
			return lepton_error_set(LEPTON_EINVALID,
						"tensor '%s': shape product overflows 64 bits",
						t->name);
		elems *= t->shape[d];
	}
	if (n_dims && t->shape[0] % dt->block_elems)
		return lepton_error_set(LEPTON_EINVALID,
					"tensor '%s': row of %" PRIu64
					" elements is not a multiple of the block size %u of %s",
					t->name, t->shape[0], dt->block_elems, dt->name);
	if (!n_dims && dt->block_elems > 1)
		return lepton_error_set(LEPTON_EINVALID,
					"tensor '%s': a scalar cannot be of block type %s", t->name,
					dt->name);
	blocks = elems / dt->block_elems;
	if (blocks > UINT64_MAX / dt->block_bytes)
		return lepton_error_set(LEPTON_EINVALID, "tensor '%s': byte size overflows 64 bits",
					t->name);
	t->size = blocks * dt->block_bytes;
	t->dtype = dt->name;
	t->elem_width = dt->elem_width;
	t->is_float = dt->is_float;
	return 0;
}

int gguf_parse(struct model_info *out, uint64_t *need, const unsigned char *head, size_t len,
	       uint64_t file_size)
{
	struct reader r = { .p = head, .len = len };
	uint64_t n_tensors, n_kv, alignment = MODEL_GGUF_DEFAULT_ALIGNMENT, *rel = NULL, end = 0;
	char **names = NULL;
	size_t meta_alloc = 0, tensor_alloc = 0;
	const char *dup;
	uint32_t magic, version;
	int ret;

	model_info_init(out);
	out->format = MODEL_GGUF;
	*need = 0;
	r.limit = MODEL_GGUF_MAX_HEADER;
	if (file_size != UINT64_MAX) {
		if (file_size < r.limit)
			r.limit = file_size;
		r.file_complete = len >= file_size;
	}
	if ((ret = read_u32(&r, &magic, "the magic")) ||
	    (ret = read_u32(&r, &version, "the version")))
		goto done;
	if (magic != 0x46554747) {
		ret = lepton_error_set(LEPTON_EINVALID, "bad gguf magic");
		goto done;
	}
	if (version != 2 && version != 3) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "gguf version %" PRIu32 " is not supported (only 2 and 3)",
				       version);
		goto done;
	}
	out->version = version;
	if ((ret = read_u64(&r, &n_tensors, "the tensor count")) ||
	    (ret = read_u64(&r, &n_kv, "the key/value count")))
		goto done;
	/* a key/value takes at least 13 bytes, a tensor info 24 */
	if (n_kv > (r.limit - r.pos) / 13) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "gguf key/value count %" PRIu64 " cannot fit in the file",
				       n_kv);
		goto done;
	}
	if (n_tensors > (r.limit - r.pos) / 24) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "gguf tensor count %" PRIu64 " cannot fit in the file",
				       n_tensors);
		goto done;
	}
	/* the arrays grow with what is read, not with what the counts claim:
	 * a stream's first bytes can claim millions */
	for (uint64_t i = 0; i < n_kv; i++) {
		if (out->n_meta == meta_alloc) {
			meta_alloc = meta_alloc ? 2 * meta_alloc : 16;
			out->meta = xrealloc(out->meta, meta_alloc * sizeof(*out->meta));
		}
		memset(&out->meta[i], 0, sizeof(out->meta[i]));
		out->n_meta++;
		if ((ret = read_kv(&r, &out->meta[i], &alignment)))
			goto done;
	}
	for (uint64_t i = 0; i < n_tensors; i++) {
		if (out->n_tensors == tensor_alloc) {
			tensor_alloc = tensor_alloc ? 2 * tensor_alloc : 16;
			out->tensors = xrealloc(out->tensors, tensor_alloc * sizeof(*out->tensors));
			rel = xrealloc(rel, tensor_alloc * sizeof(*rel));
		}
		memset(&out->tensors[i], 0, sizeof(out->tensors[i]));
		out->n_tensors++;
		if ((ret = read_tensor_info(&r, &out->tensors[i], &rel[i])))
			goto done;
	}
	out->alignment = alignment;
	out->header_size = (r.pos + alignment - 1) / alignment * alignment;
	if (out->header_size > len && !r.file_complete) {
		r.need = out->header_size;
		ret = TRUNCATED;
		goto done;
	}
	names = xmalloc((n_kv ? n_kv : 1) * sizeof(*names));
	for (uint64_t i = 0; i < n_kv; i++)
		names[i] = out->meta[i].key;
	if ((dup = model_find_duplicate(names, (size_t)n_kv))) {
		ret = lepton_error_set(LEPTON_EINVALID, "gguf key '%s' is given twice", dup);
		goto done;
	}
	free(names);
	names = xmalloc((n_tensors ? n_tensors : 1) * sizeof(*names));
	for (uint64_t i = 0; i < n_tensors; i++)
		names[i] = out->tensors[i].name;
	if ((dup = model_find_duplicate(names, (size_t)n_tensors))) {
		ret = lepton_error_set(LEPTON_EINVALID, "tensor '%s' is named twice", dup);
		goto done;
	}
	for (uint64_t i = 0; i < n_tensors; i++) {
		struct model_tensor *t = &out->tensors[i];
		if (rel[i] % alignment) {
			ret = lepton_error_set(LEPTON_EINVALID,
					       "tensor '%s': offset %" PRIu64
					       " is not a multiple of the alignment %" PRIu64,
					       t->name, rel[i], alignment);
			goto done;
		}
		if (rel[i] > UINT64_MAX - out->header_size ||
		    t->size > UINT64_MAX - out->header_size - rel[i]) {
			ret = lepton_error_set(LEPTON_EINVALID, "tensor '%s': offset out of range",
					       t->name);
			goto done;
		}
		t->offset = out->header_size + rel[i];
	}
	model_sort_tensors(out);
	for (size_t i = 0; i < out->n_tensors; i++) {
		const struct model_tensor *t = &out->tensors[i];
		if (i && t->offset < end) {
			ret = lepton_error_set(LEPTON_EINVALID, "tensor '%s': data overlaps '%s'",
					       t->name, out->tensors[i - 1].name);
			goto done;
		}
		if (t->offset + t->size > end)
			end = t->offset + t->size;
	}
	out->data_size = end > out->header_size ? end - out->header_size : 0;
	if (file_size != UINT64_MAX)
		ret = model_check_size(out, file_size);
done:
	free(names);
	free(rel);
	if (ret == TRUNCATED) {
		/* not an error: the caller reads more (at least twice as much) */
		*need = r.need;
		if (*need < 2 * (uint64_t)len)
			*need = 2 * (uint64_t)len;
		if (*need > r.limit && r.limit >= r.need)
			*need = r.limit;
		ret = LEPTON_EINVALID;
		lepton_error_set(ret, "gguf header is cut short at byte %zu", len);
	}
	if (ret) {
		model_info_release(out);
		out->format = MODEL_OPAQUE;
	}
	return ret;
}
