#ifndef LEPTON_BACKEND_S3_H
#define LEPTON_BACKEND_S3_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * The pure pieces of the S3 store (backend-s3.c), apart so the unit tests
 * can reach them: how a request's URL is made, the part size of a
 * multipart upload, the reading of S3's XML replies and of the AWS
 * configuration files.
 */

#define S3_MIN_PART     (5ULL << 20) /* S3's smallest part (but the last) */
#define S3_MAX_PART     (5ULL << 30) /* and largest */
#define S3_MAX_PARTS    10000
#define S3_DEFAULT_PART (16ULL << 20)

/*
 * The URL of key (unencoded, "" for the bucket itself) in bucket, appended
 * to out.  endpoint is "scheme://host[:port]" without a trailing slash;
 * path_style puts the bucket in the path (endpoint/bucket/key), else in
 * the host name (scheme://bucket.host[:port]/key).  query, when not NULL
 * or empty, is appended after a '?' as it is: already encoded, parameters
 * sorted by name, a valueless one written "name=" (what SigV4 signs).
 */
void s3_url(struct buf *out, const char *endpoint, int path_style, const char *bucket,
	    const char *key, const char *query);

/* Append "&name=value" (no '&' when q is empty) with value percent-encoded,
 * '/' included; callers add parameters in order of name. */
void s3_query_add(struct buf *q, const char *name, const char *value);

/* The part size for a file of size bytes: at least min_part (and S3's 5
 * MiB), large enough that no more than 10,000 parts are needed, a whole
 * number of MiB; 0 when the file is too large for S3 (over 5 GiB parts). */
/* A size as git writes it ("16m", "1g", "5242880"); 0 when malformed. */
uint64_t s3_parse_size(const char *text);
uint64_t s3_part_size(uint64_t size, uint64_t min_part);

/*
 * The text of the first <tag>...</tag> at or after *pos in xml[0..len),
 * XML entities decoded, appended to out; *pos moves past it.  1 when
 * found, 0 when not.  S3's replies have no attributes on the elements we
 * read and no CDATA; that is all this reads.
 */
int s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag, struct buf *out);

/*
 * A value from an INI file of the AWS tools (~/.aws/credentials,
 * ~/.aws/config): key in [section] of text.  1 and out set when found.
 */
int s3_ini_get(const char *text, const char *section, const char *key, struct buf *out);

#endif
