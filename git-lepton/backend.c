#include <stdlib.h>
#include <string.h>

#include "backend-impl.h"
#include "error.h"
#include "hash.h"
#include "banned.h"

/*
 * The store behind a lepton:: URL, by scheme: s3:// is an S3 bucket (AWS
 * or any S3-compatible service), http:// and https:// a WebDAV server,
 * file:// or a plain path a directory.  Each implementation lives in
 * backend-<kind>.c; this file picks one and supplies the optional calls.
 */

static char *remote_name;

void backend_set_remote(const char *remote)
{
	free(remote_name);
	remote_name = remote ? xstrdup(remote) : NULL;
}

const char *backend_remote(void)
{
	return remote_name;
}

static int has_scheme(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return !strncasecmp(url, scheme, n) && !strncmp(url + n, "://", 3);
}

int backend_open(struct backend **out, const char *url)
{
	*out = NULL;
	if (has_scheme(url, "s3"))
		return backend_s3_open(out, url);
	if (has_scheme(url, "http") || has_scheme(url, "https"))
		return backend_http_open(out, url);
	if (strstr(url, "://") && !has_scheme(url, "file")) {
		char *shown = backend_redact_url(url);
		int err = lepton_error_set(LEPTON_EINVALID,
					   "'%s': unknown kind of store (use a path, file://, "
					   "s3://bucket/prefix or https://host/path)",
					   shown);
		free(shown);
		return err;
	}
	return backend_dir_open(out, url);
}

char *backend_redact_url(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *host, *at, *slash;
	struct buf out = BUF_INIT;

	if (!scheme)
		return xstrdup(url);
	host = scheme + 3;
	slash = strchr(host, '/');
	at = memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
	if (!at)
		return xstrdup(url);
	buf_add(&out, url, host - url);
	buf_addstr(&out, at + 1);
	return buf_detach(&out, NULL);
}

void backend_free(struct backend *b)
{
	if (!b)
		return;
	b->ops->free(b);
	free(b->name);
	free(b);
}

const char *backend_name(const struct backend *b)
{
	return b->name;
}

const char *backend_local_path(const struct backend *b)
{
	return b->ops->local_path ? b->ops->local_path(b) : NULL;
}

int backend_create(struct backend *b)
{
	return b->ops->create(b);
}

/*
 * Keys name objects inside the store: relative, '/'-separated, with no
 * empty, "." or ".." part and no control bytes.  Names read from a store
 * (listings, the refs manifest) become keys, so a hostile store could
 * otherwise reach files outside a directory store or another prefix.
 */
static int key_ok(const struct backend *b, const char *key, int empty_ok)
{
	const char *part = key;

	if (!*key && empty_ok)
		return 0;
	for (const char *p = key;; p++) {
		if (*p == '/' || !*p) {
			size_t n = (size_t)(p - part);
			if (!n || (n == 1 && part[0] == '.') ||
			    (n == 2 && part[0] == '.' && part[1] == '.'))
				break;
			if (!*p)
				return 0;
			part = p + 1;
		} else if ((unsigned char)*p < ' ' || *p == 0x7f) {
			break;
		}
	}
	return lepton_error_set(LEPTON_EINVALID, "store '%s': '%s' is not a key inside the store",
				b->name, key);
}

static int sink_buf(void *data, const void *bytes, size_t len)
{
	return buf_add(data, bytes, len);
}

int backend_get(struct backend *b, const char *key, struct buf *out)
{
	return key_ok(b, key, 0) ? LEPTON_EINVALID : b->ops->get_stream(b, key, sink_buf, out);
}

int backend_get_range(struct backend *b, const char *key, uint64_t offset, uint64_t len,
		      struct buf *out)
{
	return backend_get_range_stream(b, key, offset, len, sink_buf, out);
}

int backend_get_range_stream(struct backend *b, const char *key, uint64_t offset, uint64_t len,
			     backend_sink_fn fn, void *data)
{
	if (key_ok(b, key, 0))
		return LEPTON_EINVALID;
	if (!len)
		return 0;
	return b->ops->get_range_stream(b, key, offset, len, fn, data);
}

int backend_get_stream(struct backend *b, const char *key, backend_sink_fn fn, void *data)
{
	return key_ok(b, key, 0) ? LEPTON_EINVALID : b->ops->get_stream(b, key, fn, data);
}

int backend_sink_fd(void *data, const void *bytes, size_t len)
{
	return write_all(*(int *)data, bytes, len);
}

int backend_exists(struct backend *b, const char *key)
{
	return key_ok(b, key, 0) ? LEPTON_EINVALID : b->ops->exists(b, key);
}

int backend_put(struct backend *b, const char *key, const void *data, size_t len)
{
	return key_ok(b, key, 0) ? LEPTON_EINVALID : b->ops->put(b, key, data, len);
}

int backend_put_file(struct backend *b, const char *key, const char *path)
{
	return key_ok(b, key, 0) ? LEPTON_EINVALID : b->ops->put_file(b, key, path);
}

int backend_put_link(struct backend *b, const char *key, const char *path)
{
	if (key_ok(b, key, 0))
		return LEPTON_EINVALID;
	return b->ops->put_link ? b->ops->put_link(b, key, path) : 1;
}

int backend_list(struct backend *b, const char *prefix, int (*fn)(void *data, const char *name),
		 void *data)
{
	return key_ok(b, prefix, 1) ? LEPTON_EINVALID : b->ops->list(b, prefix, fn, data);
}

int backend_sweep(struct backend *b, long long age)
{
	return b->ops->sweep ? b->ops->sweep(b, age) : 0;
}

int backend_delete(struct backend *b, const char *key)
{
	return key_ok(b, key, 0) ? LEPTON_EINVALID : b->ops->delete (b, key);
}

int backend_get_versioned(struct backend *b, const char *key, struct buf *out, struct buf *etag)
{
	return key_ok(b, key, 0) ? LEPTON_EINVALID : b->ops->get_versioned(b, key, out, etag);
}

int backend_put_if(struct backend *b, const char *key, const void *data, size_t len,
		   const char *etag)
{
	return key_ok(b, key, 0) ? LEPTON_EINVALID : b->ops->put_if(b, key, data, len, etag);
}

int backend_get_content_versioned(struct backend *b, const char *key, struct buf *out,
				  struct buf *etag, int empty_is_none)
{
	struct buf bytes;
	int err;

	buf_init_limit(&bytes, out->limit);
	buf_reset(etag);
	err = backend_get(b, key, &bytes);
	if (err == LEPTON_ENOTFOUND) {
		lepton_error_clear();
		err = 0;
	} else if (!err && (bytes.len || !empty_is_none)) {
		buf_addf(etag, "%016llx-%zu", (unsigned long long)xxh3_64(bytes.data, bytes.len),
			 bytes.len);
		err = buf_add(out, bytes.data, bytes.len);
	}
	buf_release(&bytes);
	return err;
}
