#ifndef LEPTON_FUZZ_H
#define LEPTON_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hash.h"

/*
 * The fuzz targets: each fuzz-<target>.c defines the libFuzzer entry point,
 * which must return 0 and must not crash, leak or read out of bounds on
 * any input.  A broken property (a round trip that does not come back)
 * calls fuzz_fail(), which aborts so that libFuzzer and the replay driver
 * (fuzz/replay.c, run by t/t0090-fuzz-corpus.sh) report it as a crash.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_fail(what)                                                                         \
	do {                                                                                    \
		fprintf(stderr, "%s:%d: fuzz property broken: %s\n", __FILE__, __LINE__, what); \
		abort();                                                                        \
	} while (0)

/*
 * Recompute the 8-byte XXH3 trailer that ends frames, recipes and pack
 * indexes, so the fuzzer's inputs get past the checksum to the fields.
 */
static inline void fix_trailer(unsigned char *data, size_t size)
{
	if (size >= 8)
		put_le64(data + size - 8, xxh3_64(data, size - 8));
}

#endif
