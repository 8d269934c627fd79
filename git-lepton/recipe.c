#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "recipe.h"
#include "banned.h"

void recipe_add(struct recipe *r, const struct lepton_oid *chunk, uint64_t len)
{
	if (r->nr == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 64;
		r->chunks = xrealloc(r->chunks, r->alloc * sizeof(*r->chunks));
	}
	r->chunks[r->nr].oid = *chunk;
	r->chunks[r->nr].len = len;
	r->nr++;
}

void recipe_release(struct recipe *r)
{
	free(r->chunks);
	r->chunks = NULL;
	r->nr = r->alloc = 0;
	for (size_t i = 0; i < r->nr_sections; i++)
		free(r->sections[i].data);
	free(r->sections);
	r->sections = NULL;
	r->nr_sections = 0;
}

void recipe_add_section(struct recipe *r, uint32_t type, const void *data, size_t len)
{
	struct recipe_section *sec;

	r->sections = xrealloc(r->sections, (r->nr_sections + 1) * sizeof(*r->sections));
	sec = &r->sections[r->nr_sections++];
	sec->type = type;
	sec->len = len;
	sec->data = xmalloc(len ? len : 1);
	if (len)
		memcpy(sec->data, data, len);
}

const struct recipe_section *recipe_find_section(const struct recipe *r, uint32_t type)
{
	for (size_t i = 0; i < r->nr_sections; i++)
		if (r->sections[i].type == type)
			return &r->sections[i];
	return NULL;
}

void recipe_encode(struct buf *out, const struct recipe *r)
{
	unsigned char header[RECIPE_HEADER_SIZE], entry[RECIPE_ENTRY_SIZE], tail[8];
	size_t start = out->len;

	memcpy(header, RECIPE_MAGIC, 4);
	put_le32(header + 4, RECIPE_VERSION);
	memcpy(header + 8, r->file.hash, OID_RAWSZ);
	put_le64(header + 40, r->size);
	put_le32(header + 48, (uint32_t)r->nr);
	put_le32(header + 52, 0); /* flags */
	buf_add(out, header, sizeof(header));
	for (size_t i = 0; i < r->nr; i++) {
		memcpy(entry, r->chunks[i].oid.hash, OID_RAWSZ);
		put_le64(entry + OID_RAWSZ, r->chunks[i].len);
		buf_add(out, entry, sizeof(entry));
	}
	for (size_t i = 0; i < r->nr_sections; i++) {
		put_le32(tail, r->sections[i].type);
		put_le32(tail + 4, (uint32_t)r->sections[i].len);
		buf_add(out, tail, 8);
		buf_add(out, r->sections[i].data, r->sections[i].len);
	}
	/* the terminating section, type 0 length 0 */
	memset(tail, 0, sizeof(tail));
	buf_add(out, tail, 8);
	put_le64(tail, xxh3_64(out->data + start, out->len - start));
	buf_add(out, tail, 8);
}

int recipe_parse(struct recipe *r, const unsigned char *data, size_t len)
{
	uint32_t nr;
	uint64_t sum = 0;
	size_t pos;

	memset(r, 0, sizeof(*r));
	if (len < RECIPE_HEADER_SIZE + 16 || memcmp(data, RECIPE_MAGIC, 4))
		return lepton_error_set(LEPTON_ECORRUPT, "not a recipe");
	if (xxh3_64(data, len - 8) != get_le64(data + len - 8))
		return lepton_error_set(LEPTON_ECORRUPT, "recipe checksum mismatch");
	if (get_le32(data + 4) != RECIPE_VERSION)
		return lepton_error_set(LEPTON_ECORRUPT, "recipe version %u is not supported",
					get_le32(data + 4));
	memcpy(r->file.hash, data + 8, OID_RAWSZ);
	r->size = get_le64(data + 40);
	nr = get_le32(data + 48);
	if (nr > RECIPE_MAX_CHUNKS ||
	    (size_t)nr * RECIPE_ENTRY_SIZE > len - RECIPE_HEADER_SIZE - 16)
		return lepton_error_set(LEPTON_ECORRUPT, "recipe chunk count is out of range");
	pos = RECIPE_HEADER_SIZE;
	r->chunks = xmalloc((nr ? nr : 1) * sizeof(*r->chunks));
	r->alloc = nr;
	for (uint32_t i = 0; i < nr; i++, pos += RECIPE_ENTRY_SIZE) {
		memcpy(r->chunks[i].oid.hash, data + pos, OID_RAWSZ);
		r->chunks[i].len = get_le64(data + pos + OID_RAWSZ);
		if (!r->chunks[i].len || r->chunks[i].len > (1ull << 40) ||
		    sum + r->chunks[i].len < sum)
			goto bad_lengths;
		sum += r->chunks[i].len;
	}
	r->nr = nr;
	if (sum != r->size)
		goto bad_lengths;
	/* extension sections: skip to the terminator, checking bounds */
	for (;;) {
		uint32_t type, slen;
		if (pos + 8 > len - 8)
			goto bad_sections;
		type = get_le32(data + pos);
		slen = get_le32(data + pos + 4);
		pos += 8;
		if (!type)
			break;
		if (slen > len - 8 - pos || slen > RECIPE_MAX_SECTION)
			goto bad_sections;
		recipe_add_section(r, type, data + pos, slen);
		pos += slen;
	}
	if (pos != len - 8)
		goto bad_sections;
	return 0;

bad_lengths:
	recipe_release(r);
	return lepton_error_set(LEPTON_ECORRUPT, "recipe chunk lengths do not add up to its size");
bad_sections:
	recipe_release(r);
	return lepton_error_set(LEPTON_ECORRUPT, "recipe sections are malformed");
}
