/*
 * Fuzz the GGUF reader (model_parse() and model_header_need()): any bytes
 * are refused or accepted without crashing, leaking, reading out of bounds
 * or allocating more than the input justifies, and what is accepted keeps
 * the promises of model.h (see fuzz-model.h).  Each input is tried as it
 * is and with a valid magic and version, so that the fuzzer gets past them.
 */
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "model.h"
#include "fuzz.h"
#include "fuzz-model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *fixed = xmalloc(size ? size : 1);

	memcpy(fixed, data, size);
	fuzz_model(fixed, size);
	if (size >= 8) {
		memcpy(fixed, "GGUF", 4);
		fixed[4] = (fixed[4] & 1) ? 2 : 3;
		fixed[5] = fixed[6] = fixed[7] = 0;
		fuzz_model(fixed, size);
	}
	free(fixed);
	return 0;
}
