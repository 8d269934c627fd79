#ifndef LEPTON_FUZZ_CODEC_BASE_H
#define LEPTON_FUZZ_CODEC_BASE_H

#include <stddef.h>

/*
 * The base chunk fuzz-codec decodes every delta against, and its seeds were
 * encoded against: FUZZ_BASE_LEN bytes that look like bf16 weights (a high
 * byte of few values, a noisy low byte).  Its first n bytes serve as the
 * base of a shorter chunk.
 */
#define FUZZ_BASE_LEN 4096

static inline void fuzz_codec_base(unsigned char *out, size_t len)
{
	unsigned x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		out[i] =
		    i % 2 ? (unsigned char)(0x3c + ((x >> 16) % 4 == 0)) : (unsigned char)(x >> 16);
	}
}

#endif
