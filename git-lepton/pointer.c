#include <string.h>

#include "error.h"
#include "pointer.h"
#include "banned.h"

static const char *const version_urls[] = {
	POINTER_VERSION_URL,
	"https://hawser.github.com/spec/v1", /* pre-release name of the same format */
};

/* Any version line of these families marks a pointer, known version or
 * not: a pointer of a newer spec must be refused, never stored as content. */
static const char *const version_families[] = {
	"version https://git-lfs.github.com/spec/",
	"version https://hawser.github.com/spec/",
	"version http://git-lfs.github.com/spec/",
	"version http://git-media.io/v/",
};

int pointer_looks_like(const char *data, size_t len)
{
	for (size_t i = 0; i < sizeof(version_families) / sizeof(*version_families); i++) {
		size_t n = strlen(version_families[i]);
		if (len >= n && !memcmp(data, version_families[i], n))
			return 1;
	}
	return 0;
}

/* One "key value" line, with its terminator stripped. */
struct line {
	const char *key, *value;
	size_t key_len, value_len;
};

static int known_version(const char *value, size_t len)
{
	for (size_t i = 0; i < sizeof(version_urls) / sizeof(*version_urls); i++)
		if (strlen(version_urls[i]) == len && !memcmp(version_urls[i], value, len))
			return 1;
	return 0;
}

static int key_is(const struct line *l, const char *key)
{
	return l->key_len == strlen(key) && !memcmp(l->key, key, l->key_len);
}

static int parse_size(uint64_t *out, const char *s, size_t len)
{
	uint64_t v = 0;
	if (!len || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int pointer_parse(struct lepton_pointer *out, int *canonical_out, const char *data, size_t len)
{
	struct line lines[3];
	size_t nlines = 0, pos = 0;
	int have_oid = 0, have_size = 0;
	struct buf canon = BUF_INIT;
	int canonical;

	if (!pointer_looks_like(data, len))
		return lepton_error_set(LEPTON_ENOTFOUND, "not a pointer");
	if (len >= POINTER_MAX_SIZE)
		return lepton_error_set(LEPTON_EINVALID, "pointer is %zu bytes, the limit is %d",
					len, POINTER_MAX_SIZE - 1);
	if (memchr(data, '\0', len))
		return lepton_error_set(LEPTON_EINVALID, "pointer contains a NUL byte");

	while (pos < len) {
		const char *start = data + pos, *nl = memchr(start, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - start) : len - pos;
		const char *space;
		struct line *l;

		pos += line_len + (nl ? 1 : 0);
		while (line_len && (start[line_len - 1] == '\r' || start[line_len - 1] == ' ' ||
				    start[line_len - 1] == '\t'))
			line_len--;
		if (!line_len) {
			if (pos < len)
				return lepton_error_set(LEPTON_EINVALID,
							"empty line inside pointer");
			continue;
		}
		if (nlines == 3)
			return lepton_error_set(
			    LEPTON_EINVALID, "pointer has more than version, oid and size lines");
		space = memchr(start, ' ', line_len);
		if (!space || space == start)
			return lepton_error_set(LEPTON_EINVALID,
						"pointer line %zu is not 'key value'", nlines + 1);
		l = &lines[nlines++];
		l->key = start;
		l->key_len = (size_t)(space - start);
		l->value = space + 1;
		l->value_len = line_len - l->key_len - 1;
		for (size_t i = 0; i < l->key_len; i++) {
			char c = l->key[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			      c == '-'))
				return lepton_error_set(LEPTON_EINVALID,
							"invalid key in pointer line %zu", nlines);
		}
	}

	if (!nlines || !key_is(&lines[0], "version") ||
	    !known_version(lines[0].value, lines[0].value_len))
		return lepton_error_set(LEPTON_EINVALID, "unknown pointer version");
	for (size_t i = 1; i < nlines; i++) {
		const struct line *l = &lines[i];
		if (key_is(l, "oid")) {
			static const char prefix[] = "sha256:";
			if (have_oid || have_size)
				return lepton_error_set(
				    LEPTON_EINVALID, "pointer keys out of order: 'oid' must come "
						     "once, before 'size'");
			if (l->value_len != sizeof(prefix) - 1 + OID_HEXSZ ||
			    memcmp(l->value, prefix, sizeof(prefix) - 1) ||
			    oid_from_hex(&out->oid, l->value + sizeof(prefix) - 1))
				return lepton_error_set(
				    LEPTON_EINVALID,
				    "pointer oid is not 'sha256:' and 64 hex digits");
			have_oid = 1;
		} else if (key_is(l, "size")) {
			if (have_size)
				return lepton_error_set(LEPTON_EINVALID,
							"pointer has two 'size' lines");
			if (parse_size(&out->size, l->value, l->value_len))
				return lepton_error_set(LEPTON_EINVALID,
							"pointer size is not a decimal number");
			have_size = 1;
		} else if (l->key_len > 4 && !memcmp(l->key, "ext-", 4)) {
			return lepton_error_set(LEPTON_EINVALID,
						"pointer extensions ('%.*s') are not supported",
						(int)l->key_len, l->key);
		} else {
			return lepton_error_set(LEPTON_EINVALID, "unknown key '%.*s' in pointer",
						(int)l->key_len, l->key);
		}
	}
	if (!have_oid)
		return lepton_error_set(LEPTON_EINVALID, "pointer has no 'oid' line");
	if (!have_size)
		return lepton_error_set(LEPTON_EINVALID, "pointer has no 'size' line");

	pointer_format(&canon, out);
	canonical = canon.len == len && !memcmp(canon.data, data, len);
	buf_release(&canon);
	if (canonical_out)
		*canonical_out = canonical;
	return 0;
}

void pointer_format(struct buf *out, const struct lepton_pointer *p)
{
	char hex[OID_HEXSZ + 1];
	buf_addf(out, "version %s\noid sha256:%s\nsize %llu\n", POINTER_VERSION_URL,
		 oid_to_hex(hex, &p->oid), (unsigned long long)p->size);
}
