#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "banned.h"

const struct lepton_oid empty_oid = { {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
} };

void sha256_init(struct sha256_ctx *ctx)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "fatal: cannot initialise SHA-256\n");
		abort();
	}
	ctx->md = md;
}

void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
	EVP_DigestUpdate(ctx->md, data, len);
}

void sha256_final(struct lepton_oid *out, struct sha256_ctx *ctx)
{
	unsigned int len = OID_RAWSZ;
	EVP_DigestFinal_ex(ctx->md, out->hash, &len);
	sha256_release(ctx);
}

void sha256_release(struct sha256_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->md);
	ctx->md = NULL;
}

void sha256_buffer(struct lepton_oid *out, const void *data, size_t len)
{
	unsigned int n = OID_RAWSZ;
	EVP_Digest(data, len, out->hash, &n, EVP_sha256(), NULL);
}

char *oid_to_hex(char *out, const struct lepton_oid *oid)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < OID_RAWSZ; i++) {
		out[2 * i] = hex[oid->hash[i] >> 4];
		out[2 * i + 1] = hex[oid->hash[i] & 15];
	}
	out[OID_HEXSZ] = '\0';
	return out;
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int oid_from_hex(struct lepton_oid *out, const char *hex)
{
	for (int i = 0; i < OID_RAWSZ; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hi < 0 ? -1 : hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return lepton_error_set(LEPTON_EINVALID, "not a SHA-256 in hex");
		out->hash[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int oid_cmp(const struct lepton_oid *a, const struct lepton_oid *b)
{
	return memcmp(a->hash, b->hash, OID_RAWSZ);
}

uint64_t xxh3_64(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}
