#include <string.h>

#include <zstd.h>

#include "codec.h"
#include "error.h"
#include "frame.h"
#include "banned.h"

void frame_header_write(unsigned char *out, struct frame_header *h)
{
	h->version = h->encoding >= FRAME_GROUPED ? FRAME_VERSION : FRAME_VERSION_1;
	memcpy(out, FRAME_MAGIC, 4);
	out[4] = (unsigned char)h->version;
	out[5] = (unsigned char)h->encoding;
	out[6] = (unsigned char)h->width;
	out[7] = (unsigned char)h->flags;
	put_le64(out + 8, h->raw_len);
	put_le64(out + 16, h->payload_len);
	memcpy(out + 24, h->chunk.hash, OID_RAWSZ);
	h->header_len = FRAME_HEADER_SIZE;
	if (h->flags & FRAME_HAS_BASE) {
		unsigned char *b = out + FRAME_HEADER_SIZE;
		memcpy(b, h->base.hash, OID_RAWSZ);
		h->header_len += FRAME_BASE_SIZE;
		if (h->version >= FRAME_VERSION) {
			memset(b + OID_RAWSZ, 0, FRAME_BASE2_SIZE - OID_RAWSZ);
			b[OID_RAWSZ] = (unsigned char)h->depth;
			h->header_len = FRAME_HEADER_SIZE + FRAME_BASE2_SIZE;
		}
	}
}

/* What version 2 adds: widths and depths the encoding allows. */
static int check_version2(const struct frame_header *h, const unsigned char *base_section)
{
	int has_base = !!(h->flags & FRAME_HAS_BASE);

	for (size_t i = OID_RAWSZ + 1; i < FRAME_BASE2_SIZE && has_base; i++)
		if (base_section[i])
			return lepton_error_set(LEPTON_ECORRUPT, "frame has reserved bytes set");
	if (has_base != (h->encoding == FRAME_DELTA))
		return lepton_error_set(LEPTON_ECORRUPT, "frame of encoding %u %s a base",
					h->encoding, has_base ? "has" : "lacks");
	switch (h->encoding) {
	case FRAME_RAW:
	case FRAME_ZSTD:
		if (h->width)
			return lepton_error_set(LEPTON_ECORRUPT,
						"frame has a width and no grouping");
		break;
	case FRAME_GROUPED:
		if (h->width != 2 && h->width != 4 && h->width != 8)
			return lepton_error_set(LEPTON_ECORRUPT, "grouped frame has width %u",
						h->width);
		break;
	case FRAME_DELTA:
		if (h->width != 1 && h->width != 2 && h->width != 4 && h->width != 8)
			return lepton_error_set(LEPTON_ECORRUPT, "delta frame has width %u",
						h->width);
		if (!h->depth)
			return lepton_error_set(LEPTON_ECORRUPT, "delta frame has depth 0");
		break;
	default:
		break; /* decoding names the unknown encoding */
	}
	return 0;
}

int frame_header_parse(struct frame_header *out, const unsigned char *p, size_t len)
{
	if (len < FRAME_HEADER_SIZE || memcmp(p, FRAME_MAGIC, 4))
		return lepton_error_set(LEPTON_ECORRUPT, "not a frame (bad magic)");
	if (p[4] != FRAME_VERSION_1 && p[4] != FRAME_VERSION)
		return lepton_error_set(
		    LEPTON_ECORRUPT, "frame version %u is not supported; upgrade git-lepton", p[4]);
	memset(out, 0, sizeof(*out));
	out->version = p[4];
	out->encoding = p[5];
	out->width = p[6];
	out->flags = p[7];
	out->raw_len = get_le64(p + 8);
	out->payload_len = get_le64(p + 16);
	memcpy(out->chunk.hash, p + 24, OID_RAWSZ);
	out->header_len = FRAME_HEADER_SIZE;
	if (out->flags & ~FRAME_HAS_BASE)
		return lepton_error_set(LEPTON_ECORRUPT, "frame has unknown flags 0x%x",
					out->flags);
	if (out->flags & FRAME_HAS_BASE) {
		size_t base_size =
		    out->version == FRAME_VERSION_1 ? FRAME_BASE_SIZE : FRAME_BASE2_SIZE;
		if (len < FRAME_HEADER_SIZE + base_size)
			return lepton_error_set(LEPTON_ECORRUPT, "frame header is truncated");
		memcpy(out->base.hash, p + FRAME_HEADER_SIZE, OID_RAWSZ);
		if (out->version >= FRAME_VERSION)
			out->depth = p[FRAME_HEADER_SIZE + OID_RAWSZ];
		out->header_len += base_size;
	}
	if (out->version == FRAME_VERSION_1 && out->encoding >= FRAME_GROUPED &&
	    out->encoding <= FRAME_DELTA)
		return lepton_error_set(LEPTON_ECORRUPT, "encoding %u needs frame version 2",
					out->encoding);
	if (out->version >= FRAME_VERSION) {
		int err = check_version2(out, p + FRAME_HEADER_SIZE);
		if (err)
			return err;
	}
	/* bounds that keep every size computation far from overflow */
	if (out->raw_len > (1ull << 40) || out->payload_len > (1ull << 40))
		return lepton_error_set(LEPTON_ECORRUPT, "frame sizes are out of range");
	if (out->encoding == FRAME_RAW && out->payload_len != out->raw_len)
		return lepton_error_set(LEPTON_ECORRUPT, "raw frame sizes disagree");
	return 0;
}

int frame_decode(struct buf *out, const unsigned char *frame, size_t len,
		 const struct lepton_oid *expect)
{
	return codec_decode(out, frame, len, expect, NULL, 0);
}

int frame_encode(struct buf *out, const struct lepton_oid *chunk, const void *data, size_t len,
		 int level)
{
	struct codec_hint hint = { .level = level };
	return codec_encode(out, NULL, chunk, data, len, &hint);
}
