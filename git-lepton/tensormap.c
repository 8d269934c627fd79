/* The tensor map section of a recipe: see tensormap.h. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "tensormap.h"
#include "banned.h"

#define ENTRY_FIXED 16 /* kind, ndim, dtype length, reserved, slice, n_tensors, name length */

void tensor_map_init(struct tensor_map *m)
{
	memset(m, 0, sizeof(*m));
}

void tensor_map_release(struct tensor_map *m)
{
	for (size_t i = 0; i < m->nr; i++)
		free(m->entries[i].name);
	free(m->entries);
	tensor_map_init(m);
}

void tensor_map_add(struct tensor_map *m, const struct tensor_map_entry *e)
{
	struct tensor_map_entry *n;
	const char *name = e->name ? e->name : "";
	size_t len = strlen(name);

	if (m->nr == m->alloc) {
		m->alloc = m->alloc ? 2 * m->alloc : 64;
		m->entries = xrealloc(m->entries, m->alloc * sizeof(*m->entries));
	}
	n = &m->entries[m->nr++];
	*n = *e;
	if (len > TENSOR_MAP_MAX_NAME)
		len = TENSOR_MAP_MAX_NAME;
	n->name = xmalloc(len + 1);
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->dtype[TENSOR_MAP_MAX_DTYPE] = '\0';
	if (n->ndim > MODEL_MAX_DIMS)
		n->ndim = MODEL_MAX_DIMS;
}

void tensor_map_encode(struct buf *out, const struct tensor_map *m)
{
	unsigned char b[ENTRY_FIXED];

	put_le32(b, TENSOR_MAP_VERSION);
	put_le32(b + 4, (uint32_t)m->nr);
	buf_add(out, b, 8);
	for (size_t i = 0; i < m->nr; i++) {
		const struct tensor_map_entry *e = &m->entries[i];
		size_t dlen = strlen(e->dtype), nlen = strlen(e->name);
		b[0] = (unsigned char)e->kind;
		b[1] = (unsigned char)e->ndim;
		b[2] = (unsigned char)dlen;
		b[3] = 0;
		put_le32(b + 4, e->slice);
		put_le32(b + 8, e->n_tensors);
		put_le32(b + 12, (uint32_t)nlen);
		buf_add(out, b, ENTRY_FIXED);
		for (unsigned d = 0; d < e->ndim; d++) {
			unsigned char dim[8];
			put_le64(dim, e->shape[d]);
			buf_add(out, dim, 8);
		}
		buf_add(out, e->dtype, dlen);
		buf_add(out, e->name, nlen);
	}
}

int tensor_map_parse(struct tensor_map *m, const unsigned char *data, size_t len)
{
	size_t pos = 8;
	uint32_t nr;
	int err = 0;

	tensor_map_init(m);
	if (len < 8)
		goto bad;
	if (get_le32(data) != TENSOR_MAP_VERSION)
		return lepton_error_set(LEPTON_EINVALID, "tensor map version %u is not supported",
					get_le32(data));
	nr = get_le32(data + 4);
	if (nr > (len - 8) / ENTRY_FIXED)
		goto bad;
	for (uint32_t i = 0; i < nr; i++) {
		struct tensor_map_entry e;
		size_t dlen, nlen;
		char *name;
		if (len - pos < ENTRY_FIXED)
			goto bad;
		memset(&e, 0, sizeof(e));
		e.kind = data[pos];
		e.ndim = data[pos + 1];
		dlen = data[pos + 2];
		e.slice = get_le32(data + pos + 4);
		e.n_tensors = get_le32(data + pos + 8);
		nlen = get_le32(data + pos + 12);
		pos += ENTRY_FIXED;
		if (e.kind > TMAP_GROUP || e.ndim > MODEL_MAX_DIMS || dlen > TENSOR_MAP_MAX_DTYPE ||
		    nlen > TENSOR_MAP_MAX_NAME || data[pos - ENTRY_FIXED + 3] ||
		    len - pos < e.ndim * 8 + dlen + nlen)
			goto bad;
		for (unsigned d = 0; d < e.ndim; d++, pos += 8)
			e.shape[d] = get_le64(data + pos);
		memcpy(e.dtype, data + pos, dlen);
		pos += dlen;
		if (memchr(data + pos, '\0', nlen) || memchr(e.dtype, '\0', dlen))
			goto bad;
		name = xmalloc(nlen + 1);
		memcpy(name, data + pos, nlen);
		name[nlen] = '\0';
		pos += nlen;
		e.name = name;
		tensor_map_add(m, &e);
		free(name);
	}
	if (pos != len)
		goto bad;
	goto done;
bad:
	tensor_map_release(m);
	err = lepton_error_set(LEPTON_ECORRUPT, "tensor map is malformed");
done:
	return err;
}

uint64_t tensor_map_key(const struct tensor_map_entry *e)
{
	struct buf k = BUF_INIT;
	uint64_t h;

	if (e->kind != TMAP_TENSOR && e->kind != TMAP_GROUP)
		return 0;
	buf_addf(&k, "%d/%s/%s/%u/%u/%u", (int)e->kind, e->name, e->dtype, e->slice, e->n_tensors,
		 e->ndim);
	for (unsigned d = 0; d < e->ndim; d++)
		buf_addf(&k, "/%llu", (unsigned long long)e->shape[d]);
	h = xxh3_64(k.data, k.len);
	buf_release(&k);
	return h ? h : 1;
}

int tensor_map_same(const struct tensor_map_entry *a, const struct tensor_map_entry *b)
{
	if (a->kind != b->kind || a->slice != b->slice || a->n_tensors != b->n_tensors ||
	    a->ndim != b->ndim || strcmp(a->dtype, b->dtype) || strcmp(a->name, b->name))
		return 0;
	for (unsigned d = 0; d < a->ndim; d++)
		if (a->shape[d] != b->shape[d])
			return 0;
	return 1;
}
