/*
 * Replay inputs through a fuzz target without libFuzzer: built with the
 * normal compiler and flags as fuzz/build/replay-<target>, and run by
 * t/t0090-fuzz-corpus.sh over the committed corpus.
 *
 *   replay-<target> <file>...
 *
 * Each file is read whole into a buffer of exactly its size (so that the
 * sanitizer sees a read past its end) and passed to
 * LLVMFuzzerTestOneInput(); a bad
 * input crashes the program (or the sanitizer stops it), so the exit code
 * says whether every file went through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "fuzz.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct buf input = BUF_INIT;
		unsigned char *exact;
		size_t len;

		if (buf_read_file(&input, argv[i])) {
			fprintf(stderr, "error: cannot read '%s': %s\n", argv[i],
				lepton_error_last());
			return 1;
		}
		len = input.len;
		exact = xmalloc(len);
		memcpy(exact, input.data, len);
		buf_release(&input);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}
