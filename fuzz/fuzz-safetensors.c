/*
 * Fuzz the safetensors reader (model_parse() and model_header_need()):
 * any bytes are refused or accepted without crashing, leaking or reading
 * out of bounds, and what is accepted keeps the promises of model.h:
 * tensors sorted, inside the file, covering the data region exactly; the
 * chunker then tiles the file with chunks of at most CHUNK_MAX.  Each input
 * is tried as it is and with its length prefix made to end at its last '}',
 * so that the fuzzer gets past the length to the JSON.
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
	if (size > 9) {
		size_t end = size;
		while (end > 8 && fixed[end - 1] != '}')
			end--;
		if (end > 8) {
			put_le64(fixed, end - 8);
			fuzz_model(fixed, size);
		}
	}
	free(fixed);
	return 0;
}
