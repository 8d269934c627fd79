/*
 * The safetensors reader: an 8-byte little-endian length N, N bytes of a
 * JSON object, then the data region.  The checks are those of the
 * reference `safetensors` crate (Metadata::validate): N at most 100 MB, the
 * header valid UTF-8 starting with '{', every dtype known, the tensors'
 * data_offsets (relative to the data region) sorted cover it exactly with
 * no gap and no overlap, and end - begin = product(shape) * dtype size with
 * no overflow.  Beyond the crate: duplicate names are refused (serde keeps
 * the last one silently), and so are more than MODEL_MAX_DIMS dimensions.
 *
 * The JSON reader is small and strict: objects, arrays, strings with all
 * escapes, non-negative integers where the format wants them; any other
 * value (number, true, false, null) only where it is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "model.h"
#include "banned.h"

#define JSON_MAX_DEPTH 64

struct json {
	const unsigned char *start, *p, *end;
};

static int json_error(const struct json *j, const char *what)
{
	return lepton_error_set(LEPTON_EINVALID, "safetensors header: %s at byte %zu", what,
				(size_t)(j->p - j->start));
}

static void skip_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int expect(struct json *j, char c)
{
	skip_ws(j);
	if (j->p >= j->end || *j->p != (unsigned char)c) {
		char what[32];
		snprintf(what, sizeof(what), "expected '%c'", c);
		return json_error(j, what);
	}
	j->p++;
	return 0;
}

/* 1 and consumes c if it is next (after white space), else 0 */
static int accept(struct json *j, char c)
{
	skip_ws(j);
	if (j->p < j->end && *j->p == (unsigned char)c) {
		j->p++;
		return 1;
	}
	return 0;
}

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static void add_utf8(struct buf *out, unsigned cp)
{
	char s[4];
	size_t n;
	if (cp < 0x80) {
		s[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char)(0xc0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char)(0xe0 | cp >> 12);
		s[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		s[0] = (char)(0xf0 | cp >> 18);
		s[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		s[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(out, s, n);
}

/* A JSON string into out (decoded); out is reset first.  NUL characters
 * are refused: names and values are C strings here. */
static int parse_string(struct json *j, struct buf *out)
{
	buf_reset(out);
	if (expect(j, '"'))
		return LEPTON_EINVALID;
	while (j->p < j->end && *j->p != '"') {
		unsigned c = *j->p;
		if (c < 0x20)
			return json_error(j, "control character in a string");
		if (c != '\\') {
			buf_addch(out, (int)c);
			j->p++;
			continue;
		}
		if (j->end - j->p < 2)
			break;
		j->p++;
		switch (*j->p) {
		case '"':
		case '\\':
		case '/':
			buf_addch(out, *j->p);
			break;
		case 'b':
			buf_addch(out, '\b');
			break;
		case 'f':
			buf_addch(out, '\f');
			break;
		case 'n':
			buf_addch(out, '\n');
			break;
		case 'r':
			buf_addch(out, '\r');
			break;
		case 't':
			buf_addch(out, '\t');
			break;
		case 'u': {
			unsigned cp, lo;
			if (j->end - j->p < 5 || hex4(j->p + 1, &cp))
				return json_error(j, "bad \\u escape");
			j->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (j->end - j->p < 7 || j->p[1] != '\\' || j->p[2] != 'u' ||
				    hex4(j->p + 3, &lo) || lo < 0xdc00 || lo >= 0xe000)
					return json_error(j, "unpaired surrogate in a \\u escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				j->p += 6;
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				return json_error(j, "unpaired surrogate in a \\u escape");
			}
			if (cp == 0)
				return json_error(j, "NUL character in a string");
			add_utf8(out, cp);
			break;
		}
		default:
			return json_error(j, "bad escape in a string");
		}
		j->p++;
	}
	if (j->p >= j->end)
		return json_error(j, "unterminated string");
	j->p++;
	return 0;
}

static int parse_uint(struct json *j, uint64_t *out, const char *what)
{
	uint64_t v = 0;
	const unsigned char *digits;

	skip_ws(j);
	digits = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		unsigned d = *j->p - '0';
		if (v > (UINT64_MAX - d) / 10) {
			char msg[96];
			snprintf(msg, sizeof(msg), "%s overflows 64 bits", what);
			return json_error(j, msg);
		}
		v = v * 10 + d;
		j->p++;
	}
	if (j->p == digits || (j->p - digits > 1 && *digits == '0') ||
	    (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s must be a non-negative integer", what);
		return json_error(j, msg);
	}
	*out = v;
	return 0;
}

static int skip_value(struct json *j, int depth)
{
	struct buf s = BUF_INIT;
	int ret = 0;

	if (depth > JSON_MAX_DEPTH)
		return json_error(j, "values nested too deeply");
	skip_ws(j);
	if (j->p >= j->end)
		return json_error(j, "value expected");
	switch (*j->p) {
	case '"':
		ret = parse_string(j, &s);
		break;
	case '{':
		j->p++;
		if (accept(j, '}'))
			break;
		do {
			if ((ret = parse_string(j, &s)) || (ret = expect(j, ':')) ||
			    (ret = skip_value(j, depth + 1)))
				break;
		} while (accept(j, ','));
		if (!ret)
			ret = expect(j, '}');
		break;
	case '[':
		j->p++;
		if (accept(j, ']'))
			break;
		do {
			if ((ret = skip_value(j, depth + 1)))
				break;
		} while (accept(j, ','));
		if (!ret)
			ret = expect(j, ']');
		break;
	default: {
		/* number, true, false, null: the characters they are made of */
		const unsigned char *from = j->p;
		while (j->p < j->end && strchr("0123456789+-.eEtrufalsn", *j->p) && *j->p)
			j->p++;
		if (j->p == from)
			ret = json_error(j, "value expected");
	}
	}
	buf_release(&s);
	return ret;
}

static int valid_utf8(const unsigned char *p, size_t len, size_t *bad)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i], n, cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			goto fail;
		if (len - i <= n)
			goto fail;
		for (unsigned k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto fail;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp < 0xe000))
			goto fail;
		i += n + 1;
	}
	return 1;
fail:
	*bad = i;
	return 0;
}

struct st_tensor {
	const struct model_dtype *dtype;
	uint64_t begin, end;
};

static int parse_metadata(struct json *j, struct model_info *m)
{
	struct buf key = BUF_INIT, value = BUF_INIT;
	size_t alloc = 0;
	int ret = 0;

	skip_ws(j);
	if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
		j->p += 4;
		return 0;
	}
	if ((ret = expect(j, '{')))
		goto done;
	if (accept(j, '}'))
		goto done;
	do {
		if ((ret = parse_string(j, &key)) || (ret = expect(j, ':')))
			goto done;
		skip_ws(j);
		if (j->p >= j->end || *j->p != '"') {
			ret = json_error(j, "__metadata__ values must be strings");
			goto done;
		}
		if ((ret = parse_string(j, &value)))
			goto done;
		if (m->n_meta == alloc) {
			alloc = alloc ? 2 * alloc : 8;
			m->meta = xrealloc(m->meta, alloc * sizeof(*m->meta));
		}
		m->meta[m->n_meta].key = xstrdup(key.data);
		m->meta[m->n_meta].value = xstrdup(value.data);
		m->n_meta++;
	} while (accept(j, ','));
	ret = expect(j, '}');
done:
	buf_release(&key);
	buf_release(&value);
	return ret;
}

static int tensor_error(const char *name, const char *what)
{
	return lepton_error_set(LEPTON_EINVALID, "tensor '%s': %s", name, what);
}

static int parse_tensor(struct json *j, struct model_tensor *t, struct st_tensor *st)
{
	struct buf key = BUF_INIT, s = BUF_INIT;
	int have_dtype = 0, have_shape = 0, have_offsets = 0, ret = 0;

	if ((ret = expect(j, '{')))
		goto done;
	if (accept(j, '}'))
		goto check;
	do {
		if ((ret = parse_string(j, &key)) || (ret = expect(j, ':')))
			goto done;
		if (!strcmp(key.data, "dtype")) {
			if (have_dtype++) {
				ret = tensor_error(t->name, "'dtype' given twice");
				goto done;
			}
			if ((ret = parse_string(j, &s)))
				goto done;
			st->dtype = model_dtype_by_name(s.data, s.len);
			if (!st->dtype) {
				ret = lepton_error_set(LEPTON_EINVALID,
						       "tensor '%s': unknown dtype '%s'", t->name,
						       s.data);
				goto done;
			}
		} else if (!strcmp(key.data, "shape")) {
			if (have_shape++) {
				ret = tensor_error(t->name, "'shape' given twice");
				goto done;
			}
			if ((ret = expect(j, '[')))
				goto done;
			if (accept(j, ']'))
				continue;
			do {
				uint64_t dim;
				if ((ret = parse_uint(j, &dim, "a shape dimension")))
					goto done;
				if (t->ndim == MODEL_MAX_DIMS) {
					ret = lepton_error_set(
					    LEPTON_EINVALID,
					    "tensor '%s': more than %d dimensions in its shape",
					    t->name, MODEL_MAX_DIMS);
					goto done;
				}
				t->shape[t->ndim++] = dim;
			} while (accept(j, ','));
			if ((ret = expect(j, ']')))
				goto done;
		} else if (!strcmp(key.data, "data_offsets")) {
			if (have_offsets++) {
				ret = tensor_error(t->name, "'data_offsets' given twice");
				goto done;
			}
			if ((ret = expect(j, '[')) ||
			    (ret = parse_uint(j, &st->begin, "a data offset")) ||
			    (ret = expect(j, ',')) ||
			    (ret = parse_uint(j, &st->end, "a data offset")))
				goto done;
			if (!accept(j, ']')) {
				ret = tensor_error(t->name, "data_offsets must be [begin, end]");
				goto done;
			}
		} else if ((ret = skip_value(j, 1))) {
			goto done;
		}
	} while (accept(j, ','));
	if ((ret = expect(j, '}')))
		goto done;
check:
	if (!have_dtype || !have_shape || !have_offsets)
		ret = lepton_error_set(LEPTON_EINVALID, "tensor '%s': no '%s'", t->name,
				       !have_dtype   ? "dtype"
				       : !have_shape ? "shape"
						     : "data_offsets");
done:
	buf_release(&key);
	buf_release(&s);
	return ret;
}

struct st_pair {
	struct model_tensor t;
	struct st_tensor st;
};

static int cmp_offsets(const void *a, const void *b)
{
	const struct st_pair *x = a, *y = b;
	if (x->st.begin != y->st.begin)
		return x->st.begin < y->st.begin ? -1 : 1;
	if (x->st.end != y->st.end)
		return x->st.end < y->st.end ? -1 : 1;
	return 0;
}

/* The crate's validate(): sorted by offsets, each tensor begins where the
 * previous ended and holds exactly product(shape) * size bytes. */
static int validate(struct model_info *m, struct st_pair *pairs, size_t n)
{
	uint64_t expected = 0;
	char shape[256];

	if (n > 1)
		qsort(pairs, n, sizeof(*pairs), cmp_offsets);
	for (size_t i = 0; i < n; i++) {
		struct model_tensor *t = &pairs[i].t;
		const struct st_tensor *st = &pairs[i].st;
		uint64_t elems = 1, bytes;
		size_t sl = 0;

		if (st->end < st->begin)
			return lepton_error_set(LEPTON_EINVALID,
						"tensor '%s': data_offsets [%llu, %llu] end before "
						"they begin",
						t->name, (unsigned long long)st->begin,
						(unsigned long long)st->end);
		if (st->begin < expected)
			return lepton_error_set(LEPTON_EINVALID,
						"tensor '%s': data_offsets overlap '%s'", t->name,
						pairs[i - 1].t.name);
		if (st->begin > expected)
			return lepton_error_set(
			    LEPTON_EINVALID,
			    "tensor '%s': data_offsets leave a gap of %llu bytes %s%s%s", t->name,
			    (unsigned long long)(st->begin - expected), i ? "after '" : "",
			    i ? pairs[i - 1].t.name : "at the start of the data", i ? "'" : "");
		shape[0] = 0;
		for (unsigned d = 0; d < t->ndim; d++) {
			if (sl < sizeof(shape))
				sl += (size_t)snprintf(shape + sl, sizeof(shape) - sl, "%s%llu",
						       d ? ", " : "",
						       (unsigned long long)t->shape[d]);
			if (t->shape[d] && elems > UINT64_MAX / t->shape[d])
				return tensor_error(t->name, "shape product overflows 64 bits");
			elems *= t->shape[d];
		}
		if (elems > UINT64_MAX / st->dtype->elem_width)
			return tensor_error(t->name, "byte size overflows 64 bits");
		bytes = elems * st->dtype->elem_width;
		if (st->end - st->begin != bytes)
			return lepton_error_set(
			    LEPTON_EINVALID,
			    "tensor '%s': data_offsets hold %llu bytes, shape [%s] "
			    "of %s needs %llu",
			    t->name, (unsigned long long)(st->end - st->begin), shape,
			    st->dtype->name, (unsigned long long)bytes);
		if (st->begin > UINT64_MAX - m->header_size ||
		    st->end > UINT64_MAX - m->header_size)
			return tensor_error(t->name, "data_offsets out of range");
		t->dtype = st->dtype->name;
		t->elem_width = st->dtype->elem_width;
		t->is_float = st->dtype->is_float;
		t->offset = m->header_size + st->begin;
		t->size = bytes;
		expected = st->end;
	}
	m->data_size = expected;
	return 0;
}

int safetensors_parse(struct model_info *out, const unsigned char *head, size_t len,
		      uint64_t file_size)
{
	struct json j;
	struct buf name = BUF_INIT;
	struct st_pair *pairs = NULL;
	char **names = NULL;
	size_t n = 0, alloc = 0, bad;
	uint64_t hlen;
	int ret = 0, seen_meta = 0;
	const char *dup;

	model_info_init(out);
	out->format = MODEL_SAFETENSORS;
	if (len < 8)
		return lepton_error_set(LEPTON_EINVALID, "safetensors file shorter than 8 bytes");
	hlen = get_le64(head);
	if (hlen > MODEL_SAFETENSORS_MAX_HEADER) {
		ret = lepton_error_set(
		    LEPTON_EINVALID,
		    "safetensors header length %llu is over the limit of %llu bytes",
		    (unsigned long long)hlen, (unsigned long long)MODEL_SAFETENSORS_MAX_HEADER);
		goto done;
	}
	if (file_size != UINT64_MAX && 8 + hlen > file_size) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "safetensors header length %llu goes beyond the end of the "
				       "file (%llu bytes)",
				       (unsigned long long)hlen, (unsigned long long)file_size);
		goto done;
	}
	if (8 + hlen > len) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "safetensors header of %llu bytes is cut short at %zu",
				       (unsigned long long)hlen, len > 8 ? len - 8 : 0);
		goto done;
	}
	out->header_size = 8 + hlen;
	if (!valid_utf8(head + 8, (size_t)hlen, &bad)) {
		ret = lepton_error_set(LEPTON_EINVALID,
				       "safetensors header: invalid UTF-8 at byte %zu", bad);
		goto done;
	}
	j.start = j.p = head + 8;
	j.end = head + 8 + hlen;
	if (j.p >= j.end || *j.p != '{') {
		ret = json_error(&j, "the header must start with '{'");
		goto done;
	}
	j.p++;
	if (accept(&j, '}'))
		goto end;
	do {
		struct st_pair *pr;
		if ((ret = parse_string(&j, &name)) || (ret = expect(&j, ':')))
			goto done;
		if (!strcmp(name.data, "__metadata__")) {
			if (seen_meta++) {
				ret = json_error(&j, "'__metadata__' given twice");
				goto done;
			}
			if ((ret = parse_metadata(&j, out)))
				goto done;
			continue;
		}
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			pairs = xrealloc(pairs, alloc * sizeof(*pairs));
		}
		pr = &pairs[n++];
		memset(pr, 0, sizeof(*pr));
		pr->t.name = xstrdup(name.data);
		if ((ret = parse_tensor(&j, &pr->t, &pr->st)))
			goto done;
	} while (accept(&j, ','));
	if ((ret = expect(&j, '}')))
		goto done;
end:
	skip_ws(&j);
	if (j.p != j.end) {
		ret = json_error(&j, "bytes after the JSON object");
		goto done;
	}
	names = xmalloc((n ? n : 1) * sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = pairs[i].t.name;
	dup = model_find_duplicate(names, n);
	if (dup) {
		ret = lepton_error_set(LEPTON_EINVALID, "tensor '%s' is named twice", dup);
		goto done;
	}
	if ((ret = validate(out, pairs, n)))
		goto done;
	out->tensors = xcalloc(n ? n : 1, sizeof(*out->tensors));
	for (size_t i = 0; i < n; i++) {
		out->tensors[i] = pairs[i].t;
		pairs[i].t.name = NULL;
	}
	out->n_tensors = n;
	if (file_size != UINT64_MAX)
		ret = model_check_size(out, file_size);
done:
	for (size_t i = 0; i < n; i++)
		free(pairs[i].t.name);
	free(pairs);
	free(names);
	buf_release(&name);
	if (ret) {
		model_info_release(out);
		out->format = MODEL_OPAQUE;
	}
	return ret;
}
