#ifndef LEPTON_POINTER_H
#define LEPTON_POINTER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

/*
 * The Git LFS v1 pointer, the only thing git-lepton puts in git:
 *
 *   version https://git-lfs.github.com/spec/v1
 *   oid sha256:<64 lowercase hex>
 *   size <decimal, no leading zeros>
 *
 * Canonical form: exactly those three lines, each ending in "\n".  Every
 * pointer git-lepton writes is canonical.  Reading is permissive in the
 * ways git-lfs is (CRLF line ends, trailing blanks, a missing final
 * newline, uppercase hex, the older "hawser" version URL) and reports
 * whether the input was canonical, so a caller can normalise it.
 *
 * An empty file is the pointer of an empty file, by the LFS spec; callers
 * check for that before parsing.
 */

#define POINTER_MAX_SIZE    1024 /* a pointer is strictly shorter than this */
#define POINTER_VERSION_URL "https://git-lfs.github.com/spec/v1"

struct lepton_pointer {
	struct lepton_oid oid;
	uint64_t size;
};

/*
 * Parse data[0..len).  Returns:
 *   0                  a pointer; *canonical_out (if not NULL) says whether
 *                      the bytes are exactly pointer_format()'s output
 *   LEPTON_ENOTFOUND   not a pointer at all (does not start with a version
 *                      line): the bytes are ordinary content
 *   LEPTON_EINVALID    looks like a pointer but is malformed; the error
 *                      message says what is wrong
 */
int pointer_parse(struct lepton_pointer *out, int *canonical_out, const char *data, size_t len);

/* Append the canonical encoding to out. */
void pointer_format(struct buf *out, const struct lepton_pointer *p);

/* True when data starts like a pointer (a known version line prefix), so
 * that bytes which fail pointer_parse() must be reported, not stored. */
int pointer_looks_like(const char *data, size_t len);

#endif
