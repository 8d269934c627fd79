#ifndef LEPTON_HASH_H
#define LEPTON_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Identity and integrity.  SHA-256 names content (whole files and chunks);
 * it comes from OpenSSL's libcrypto, which uses the CPU's SHA instructions.
 * XXH3-64 guards stored bytes against corruption; it is not an identity.
 */

#define OID_RAWSZ 32
#define OID_HEXSZ 64

struct lepton_oid {
	unsigned char hash[OID_RAWSZ];
};

/* SHA-256 of the empty input, the oid of an empty file. */
extern const struct lepton_oid empty_oid;

struct sha256_ctx {
	void *md; /* EVP_MD_CTX */
};

/* init allocates; final writes the digest and frees, so a context is used
 * once.  sha256_release() frees a context that was never finalised. */
void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(struct lepton_oid *out, struct sha256_ctx *ctx);
void sha256_release(struct sha256_ctx *ctx);
void sha256_buffer(struct lepton_oid *out, const void *data, size_t len);

/* Writes 64 lowercase hex digits and a NUL: out must hold OID_HEXSZ + 1. */
char *oid_to_hex(char *out, const struct lepton_oid *oid);
/* The value of one hex digit (either case), or -1. */
int hex_digit(int c);
/* Parses exactly 64 hex digits (either case); 0 or LEPTON_EINVALID. */
int oid_from_hex(struct lepton_oid *out, const char *hex);
int oid_cmp(const struct lepton_oid *a, const struct lepton_oid *b);

uint64_t xxh3_64(const void *data, size_t len);

/* Little-endian integer encoding of the on-disk formats. */
static inline void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get_le32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static inline uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#endif
