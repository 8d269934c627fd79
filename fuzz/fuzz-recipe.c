/*
 * Fuzz recipe_parse(): any bytes are parsed without crashing or leaking,
 * and a recipe that parses encodes to bytes that parse to the same recipe.
 * Each input is tried twice: as it is, and with its XXH3 trailer made
 * right, so that the fuzzer gets past the checksum to the fields.
 */
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "recipe.h"
#include "fuzz.h"

static void check_round_trip(const struct recipe *r)
{
	struct recipe again;
	struct buf encoded = BUF_INIT;

	recipe_encode(&encoded, r);
	if (recipe_parse(&again, (const unsigned char *)encoded.data, encoded.len))
		fuzz_fail("an encoded recipe does not parse");
	if (memcmp(again.file.hash, r->file.hash, OID_RAWSZ) || again.size != r->size ||
	    again.nr != r->nr)
		fuzz_fail("an encoded recipe parses to another file");
	for (size_t i = 0; i < r->nr; i++)
		if (memcmp(again.chunks[i].oid.hash, r->chunks[i].oid.hash, OID_RAWSZ) ||
		    again.chunks[i].len != r->chunks[i].len)
			fuzz_fail("an encoded recipe parses to other chunks");
	recipe_release(&again);
	buf_release(&encoded);
}

static void parse(const unsigned char *data, size_t size)
{
	struct recipe r;

	if (recipe_parse(&r, data, size)) {
		if (r.chunks || r.nr)
			fuzz_fail("a failed recipe_parse left something to free");
		return;
	}
	check_round_trip(&r);
	recipe_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *fixed;

	/* an exact-size heap copy, so that the sanitizer sees any overread */
	fixed = xmalloc(size);
	memcpy(fixed, data, size);
	parse(fixed, size);
	if (size >= 8) {
		fix_trailer(fixed, size);
		parse(fixed, size);
	}
	free(fixed);
	return 0;
}
