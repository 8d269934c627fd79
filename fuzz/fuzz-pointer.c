/*
 * Fuzz pointer_parse(): any bytes are parsed without crashing, and a
 * pointer that parses formats to a canonical pointer that parses back to
 * the same oid and size.  A canonical input is exactly its own format.
 */
#include <string.h>

#include "buf.h"
#include "pointer.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lepton_pointer p, again;
	struct buf formatted = BUF_INIT;
	int canonical = -1, canonical_again = -1;
	int err = pointer_parse(&p, &canonical, (const char *)data, size);

	if (!err && !pointer_looks_like((const char *)data, size))
		fuzz_fail("a pointer that does not look like one parsed");
	if (err)
		goto done;
	if (canonical != 0 && canonical != 1)
		fuzz_fail("canonical is not 0 or 1");

	pointer_format(&formatted, &p);
	if (formatted.len >= POINTER_MAX_SIZE)
		fuzz_fail("formatted pointer is too long");
	if (canonical && (formatted.len != size || memcmp(formatted.data, data, size)))
		fuzz_fail("a canonical pointer is not its own format");
	if (pointer_parse(&again, &canonical_again, formatted.data, formatted.len))
		fuzz_fail("a formatted pointer does not parse");
	if (!canonical_again)
		fuzz_fail("a formatted pointer is not canonical");
	if (memcmp(again.oid.hash, p.oid.hash, sizeof(p.oid.hash)) || again.size != p.size)
		fuzz_fail("a formatted pointer parses to another pointer");
done:
	buf_release(&formatted);
	return 0;
}
