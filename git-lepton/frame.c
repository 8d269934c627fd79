#include <string.h>

#include <zstd.h>

#include "error.h"
#include "frame.h"
#include "banned.h"

void frame_header_write(unsigned char *out, struct frame_header *h)
{
	memcpy(out, FRAME_MAGIC, 4);
	out[4] = FRAME_VERSION;
	out[5] = (unsigned char)h->encoding;
	out[6] = (unsigned char)h->width;
	out[7] = (unsigned char)h->flags;
	put_le64(out + 8, h->raw_len);
	put_le64(out + 16, h->payload_len);
	memcpy(out + 24, h->chunk.hash, OID_RAWSZ);
	h->header_len = FRAME_HEADER_SIZE;
	if (h->flags & FRAME_HAS_BASE) {
		memcpy(out + FRAME_HEADER_SIZE, h->base.hash, OID_RAWSZ);
		h->header_len += FRAME_BASE_SIZE;
	}
}

int frame_header_parse(struct frame_header *out, const unsigned char *p, size_t len)
{
	if (len < FRAME_HEADER_SIZE || memcmp(p, FRAME_MAGIC, 4))
		return lepton_error_set(LEPTON_ECORRUPT, "not a frame (bad magic)");
	if (p[4] != FRAME_VERSION)
		return lepton_error_set(LEPTON_ECORRUPT, "frame version %u is not supported", p[4]);
	memset(out, 0, sizeof(*out));
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
		if (len < FRAME_HEADER_SIZE + FRAME_BASE_SIZE)
			return lepton_error_set(LEPTON_ECORRUPT, "frame header is truncated");
		memcpy(out->base.hash, p + FRAME_HEADER_SIZE, OID_RAWSZ);
		out->header_len += FRAME_BASE_SIZE;
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
	struct frame_header h;
	char hex[OID_HEXSZ + 1];
	const unsigned char *payload;
	int err = frame_header_parse(&h, frame, len);

	if (err)
		return err;
	if (expect && oid_cmp(&h.chunk, expect))
		return lepton_error_set(LEPTON_ECORRUPT, "frame of chunk '%s' holds another chunk",
					oid_to_hex(hex, expect));
	if (frame_total_size(&h) != len)
		return lepton_error_set(LEPTON_ECORRUPT, "frame length mismatch");
	if (xxh3_64(frame, len - FRAME_TRAILER_SIZE) != get_le64(frame + len - FRAME_TRAILER_SIZE))
		return lepton_error_set(LEPTON_ECORRUPT, "checksum mismatch");
	payload = frame + h.header_len;

	switch (h.encoding) {
	case FRAME_RAW:
		return buf_add(out, payload, h.payload_len);
	case FRAME_ZSTD: {
		size_t got;
		/* a zstd block gives at most ZSTD_BLOCKSIZE_MAX bytes and takes at
		 * least 4: refuse a raw length the payload cannot hold before
		 * allocating it (a 64-byte frame could ask for 1 TiB) */
		if (h.raw_len / ZSTD_BLOCKSIZE_MAX > h.payload_len / 4 + 1)
			return lepton_error_set(LEPTON_ECORRUPT,
						"frame raw length is out of range for its payload");
		if ((err = buf_grow(out, h.raw_len)))
			return err;
		got = ZSTD_decompress(out->data + out->len, h.raw_len, payload, h.payload_len);
		if (ZSTD_isError(got) || got != h.raw_len)
			return lepton_error_set(LEPTON_ECORRUPT, "cannot decompress: %s",
						ZSTD_isError(got) ? ZSTD_getErrorName(got)
								  : "wrong length");
		buf_setlen(out, out->len + got);
		return 0;
	}
	default:
		return lepton_error_set(LEPTON_ECORRUPT,
					"encoding %u is not supported by this version; "
					"upgrade git-lepton",
					h.encoding);
	}
}

int frame_encode(struct buf *out, const struct lepton_oid *chunk, const void *data, size_t len,
		 int level)
{
	struct frame_header h = { .encoding = FRAME_RAW, .raw_len = len, .payload_len = len };
	size_t start = out->len, header_at;
	unsigned char header[FRAME_HEADER_SIZE + FRAME_BASE_SIZE];
	unsigned char trailer[FRAME_TRAILER_SIZE];
	int err;

	h.chunk = *chunk;
	frame_header_write(header, &h);
	if ((err = buf_add(out, header, h.header_len)))
		return err;
	header_at = start;
	if (level > 0 && len >= 64) {
		size_t bound = ZSTD_compressBound(len), got;
		if ((err = buf_grow(out, bound)))
			return err;
		got = ZSTD_compress(out->data + out->len, bound, data, len, level);
		if (!ZSTD_isError(got) && got < len - len / 32) {
			h.encoding = FRAME_ZSTD;
			h.payload_len = got;
			buf_setlen(out, out->len + got);
			frame_header_write((unsigned char *)out->data + header_at, &h);
			goto trailer;
		}
	}
	if ((err = buf_add(out, data, len)))
		return err;
trailer:
	put_le64(trailer, xxh3_64(out->data + start, out->len - start));
	return buf_add(out, trailer, sizeof(trailer));
}
