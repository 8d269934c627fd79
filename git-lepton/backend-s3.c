#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <openssl/evp.h>

#include "backend-impl.h"
#include "backend-s3.h"
#include "error.h"
#include "hash.h"
#include "http.h"
#include "testpoint.h"
#include "banned.h"

/*
 * The S3 store: s3://bucket/prefix, objects under prefix/ in the bucket,
 * requests signed with libcurl's SigV4.
 *
 * libcurl 7.88 (Debian 12) signs what it is given and no more: the
 * payload's hash goes in x-amz-content-sha256 (we send it: the SHA-256 of
 * a body in memory, UNSIGNED-PAYLOAD for a file's bytes, which carry a
 * Content-MD5 instead), query parameters are written sorted and encoded
 * as the canonical request wants them, and valueless ones as "name=".
 *
 * Every PUT of S3 is atomic.  Large files go up as multipart uploads whose
 * parts are sent by lepton.concurrency threads; an upload that a killed
 * push left behind is found again by key and its parts that are already
 * there, with the right MD5, are not sent again.  The refs manifest's
 * compare-and-swap is S3's conditional write (If-Match, If-None-Match).
 */

#define EMPTY_SHA256    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define REPLY_MAX       (16 << 20) /* a listing page or an error, at most */
#define DEFAULT_REGION  "us-east-1"
#define DEFAULT_THREADS 4
#define PROBE_KEY       "tmp/conditional-write-probe"

struct s3_backend {
	struct backend base;
	struct http_client *http;
	char *bucket;
	char *prefix;   /* "" or "dir/sub" (no slash at either end) */
	char *endpoint; /* scheme://host[:port] */
	int path_style;
	char *region;
	char *key_id; /* NULL: unsigned (anonymous) requests */
	char *sigv4;  /* "aws:amz:REGION:s3" */
	char *userpwd;
	char *token_header; /* "x-amz-security-token: ..." or NULL */
	char *cred_source;  /* where the key came from, for messages */
	unsigned threads;
	uint64_t min_part;
	int unsafe_writes;
	pthread_mutex_t lock;
	int cas_checked; /* 1 ok, -1 the service ignores conditions */
};

static const struct backend_ops s3_ops;

static struct s3_backend *s3_of(const struct backend *b)
{
	return (struct s3_backend *)b;
}

/* --- pure helpers (backend-s3.h) --- */

void s3_url(struct buf *out, const char *endpoint, int path_style, const char *bucket,
	    const char *key, const char *query)
{
	const char *host = strstr(endpoint, "://");

	if (path_style || !host) {
		buf_addstr(out, endpoint);
		buf_addch(out, '/');
		http_encode(out, bucket, 0);
		if (*key)
			buf_addch(out, '/');
	} else {
		buf_add(out, endpoint, host + 3 - endpoint);
		buf_addstr(out, bucket);
		buf_addch(out, '.');
		buf_addstr(out, host + 3);
		buf_addch(out, '/');
	}
	http_encode(out, key, 1);
	if (query && *query) {
		buf_addch(out, '?');
		buf_addstr(out, query);
	}
}

void s3_query_add(struct buf *q, const char *name, const char *value)
{
	if (q->len)
		buf_addch(q, '&');
	http_encode(q, name, 0);
	buf_addch(q, '=');
	http_encode(q, value, 0);
}

uint64_t s3_parse_size(const char *text)
{
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	int shift = 0;

	if (end == text)
		return 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || n > (UINT64_MAX >> shift))
		return 0;
	return (uint64_t)n << shift;
}

uint64_t s3_part_size(uint64_t size, uint64_t min_part)
{
	uint64_t part = min_part < S3_MIN_PART ? S3_MIN_PART : min_part;
	uint64_t need = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;

	if (need > part)
		part = need;
	part = (part + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
	return part > S3_MAX_PART ? 0 : part;
}

static void xml_unescape(struct buf *out, const char *s, size_t len)
{
	static const struct {
		const char *ent;
		char ch;
	} ents[] = { { "&amp;", '&' },   { "&lt;", '<' },  { "&gt;", '>' },  { "&quot;", '"' },
		     { "&apos;", '\'' }, { "&#34;", '"' }, { "&#39;", '\'' } };

	for (size_t i = 0; i < len; i++) {
		size_t k;
		if (s[i] != '&') {
			buf_addch(out, s[i]);
			continue;
		}
		for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
			size_t n = strlen(ents[k].ent);
			if (len - i >= n && !memcmp(s + i, ents[k].ent, n)) {
				buf_addch(out, ents[k].ch);
				i += n - 1;
				break;
			}
		}
		if (k == sizeof(ents) / sizeof(ents[0]))
			buf_addch(out, '&');
	}
}

static const char *find_mem(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (hay[i] == needle[0] && !memcmp(hay + i, needle, n))
			return hay + i;
	return NULL;
}

int s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag, struct buf *out)
{
	struct buf open = BUF_INIT, close = BUF_INIT;
	const char *start, *end;
	int found = 0;

	buf_addf(&open, "<%s>", tag);
	buf_addf(&close, "</%s>", tag);
	if (*pos > len)
		goto done;
	start = find_mem(xml + *pos, len - *pos, open.data);
	if (!start)
		goto done;
	start += open.len;
	end = find_mem(start, xml + len - start, close.data);
	if (!end)
		goto done;
	xml_unescape(out, start, end - start);
	*pos = (end - xml) + close.len;
	found = 1;
done:
	buf_release(&open);
	buf_release(&close);
	return found;
}

static const char *skip_space(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

int s3_ini_get(const char *text, const char *section, const char *key, struct buf *out)
{
	size_t sec_len = strlen(section), key_len = strlen(key);
	int in_section = 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		const char *s = skip_space(line, end), *e = end;

		while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (s < e && *s == '[') {
			const char *name = skip_space(s + 1, e), *close = memchr(s, ']', e - s);
			const char *ne = close ? close : e;
			while (ne > name && (ne[-1] == ' ' || ne[-1] == '\t'))
				ne--;
			in_section =
			    (size_t)(ne - name) == sec_len && !memcmp(name, section, sec_len);
		} else if (in_section && s < e && *s != '#' && *s != ';') {
			const char *eq = memchr(s, '=', e - s), *ke;
			if (eq) {
				ke = eq;
				while (ke > s && (ke[-1] == ' ' || ke[-1] == '\t'))
					ke--;
				if ((size_t)(ke - s) == key_len && !strncasecmp(s, key, key_len)) {
					const char *v = skip_space(eq + 1, e);
					buf_reset(out);
					buf_add(out, v, e - v);
					return 1;
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* --- configuration --- */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static void read_aws_file(struct buf *out, const char *env_name, const char *base)
{
	const char *path = env(env_name), *home = env("HOME");
	struct buf p = BUF_INIT;

	if (path)
		buf_addstr(&p, path);
	else if (home)
		buf_addf(&p, "%s/.aws/%s", home, base);
	if (p.len && buf_read_file(out, p.data))
		lepton_error_clear(); /* a missing file holds nothing */
	buf_release(&p);
}

/* Region, endpoint and credentials as the AWS tools find them, then the
 * remote's own lepton.<remote>.* settings over them. */
static int configure(struct s3_backend *s)
{
	struct buf creds = BUF_INIT, conf = BUF_INIT, v = BUF_INIT, sec = BUF_INIT;
	struct buf secret = BUF_INIT, token = BUF_INIT, key_id = BUF_INIT;
	const char *profile = env("AWS_PROFILE");
	int endpoint_set = 0, err = 0;

	if (!profile)
		profile = "default";
	read_aws_file(&creds, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
	read_aws_file(&conf, "AWS_CONFIG_FILE", "config");
	if (strcmp(profile, "default"))
		buf_addf(&sec, "profile %s", profile);
	else
		buf_addstr(&sec, "default");

	if (http_remote_config("region", &v) && v.len)
		s->region = xstrdup(v.data);
	else if (env("AWS_REGION"))
		s->region = xstrdup(env("AWS_REGION"));
	else if (env("AWS_DEFAULT_REGION"))
		s->region = xstrdup(env("AWS_DEFAULT_REGION"));
	else if (s3_ini_get(conf.data, sec.data, "region", &v) && v.len)
		s->region = xstrdup(v.data);
	else
		s->region = xstrdup(DEFAULT_REGION);

	if (http_remote_config("endpoint", &v) && v.len)
		endpoint_set = 1;
	else if (env("AWS_ENDPOINT_URL_S3"))
		endpoint_set = !buf_addstr(&v, env("AWS_ENDPOINT_URL_S3"));
	else if (env("AWS_ENDPOINT_URL"))
		endpoint_set = !buf_addstr(&v, env("AWS_ENDPOINT_URL"));
	else if (s3_ini_get(conf.data, sec.data, "endpoint_url", &v) && v.len)
		endpoint_set = 1;
	else
		buf_addf(&v, "https://s3.%s.amazonaws.com", s->region);
	while (v.len && v.data[v.len - 1] == '/')
		buf_setlen(&v, v.len - 1);
	if (!strstr(v.data, "://")) {
		err = lepton_error_set(LEPTON_EINVALID,
				       "S3 endpoint '%s' has no scheme; write it "
				       "http://host:port or https://host",
				       v.data);
		goto done;
	}
	s->endpoint = xstrdup(v.data);
	buf_reset(&v);
	/* a bucket with dots cannot be a host name under TLS */
	s->path_style = endpoint_set || strchr(s->bucket, '.');
	if (http_remote_config("pathstyle", &v))
		s->path_style = http_parse_bool(v.data, 0);
	if (http_remote_config("unsafewrites", &v))
		s->unsafe_writes = http_parse_bool(v.data, 0);

	if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
		buf_addstr(&key_id, env("AWS_ACCESS_KEY_ID"));
		buf_addstr(&secret, env("AWS_SECRET_ACCESS_KEY"));
		if (env("AWS_SESSION_TOKEN"))
			buf_addstr(&token, env("AWS_SESSION_TOKEN"));
		s->cred_source = xstrdup("AWS_ACCESS_KEY_ID");
	} else if (s3_ini_get(creds.data, profile, "aws_access_key_id", &key_id) &&
		   s3_ini_get(creds.data, profile, "aws_secret_access_key", &secret)) {
		s3_ini_get(creds.data, profile, "aws_session_token", &token);
		buf_reset(&v);
		buf_addf(&v, "profile '%s' of the credentials file", profile);
		s->cred_source = buf_detach(&v, NULL);
	} else if (s3_ini_get(conf.data, sec.data, "aws_access_key_id", &key_id) &&
		   s3_ini_get(conf.data, sec.data, "aws_secret_access_key", &secret)) {
		s3_ini_get(conf.data, sec.data, "aws_session_token", &token);
		buf_reset(&v);
		buf_addf(&v, "profile '%s' of the config file", profile);
		s->cred_source = buf_detach(&v, NULL);
	}
	if (key_id.len && secret.len) {
		s->key_id = xstrdup(key_id.data);
		buf_reset(&v);
		buf_addf(&v, "aws:amz:%s:s3", s->region);
		s->sigv4 = buf_detach(&v, NULL);
		buf_addf(&v, "%s:%s", key_id.data, secret.data);
		s->userpwd = buf_detach(&v, NULL);
		if (token.len) {
			buf_addf(&v, "x-amz-security-token: %s", token.data);
			s->token_header = buf_detach(&v, NULL);
		}
	}

	s->threads = DEFAULT_THREADS;
	if (http_git_config("lepton.concurrency", &v)) {
		long n = strtol(v.data, NULL, 10);
		s->threads = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
	}
	s->min_part = S3_DEFAULT_PART;
	if (http_remote_config("partsize", &v) || http_git_config("lepton.partsize", &v)) {
		/* a service whose multipart is slow (moto) or whose single PUTs
		 * are fast takes larger parts: a file no larger goes in one PUT */
		uint64_t n = s3_parse_size(v.data);
		if (!n || n > S3_MAX_PART) {
			err = lepton_error_set(LEPTON_EINVALID,
					       "part size '%s' of store '%s': give 5m to 5g "
					       "(a number with k, m or g)",
					       v.data, s->base.name);
			goto done;
		}
		s->min_part = n < S3_MIN_PART ? S3_MIN_PART : n;
	}
	if (env("GIT_LEPTON_TEST_S3_PART_SIZE")) {
		/* the test suite makes multipart uploads of small files */
		s->min_part = strtoull(env("GIT_LEPTON_TEST_S3_PART_SIZE"), NULL, 10);
		if (s->min_part < S3_MIN_PART)
			s->min_part = S3_MIN_PART;
	}
done:
	/* the secret is wiped from what goes back to the allocator */
	if (secret.len)
		memset(secret.data, 0, secret.len);
	if (token.len)
		memset(token.data, 0, token.len);
	buf_release(&creds);
	buf_release(&conf);
	buf_release(&v);
	buf_release(&sec);
	buf_release(&secret);
	buf_release(&token);
	buf_release(&key_id);
	return err;
}

int backend_s3_open(struct backend **out, const char *url)
{
	struct s3_backend *s;
	struct http_options opt;
	const char *bucket = url + 5, *slash;
	struct buf prefix = BUF_INIT;
	int err;

	*out = NULL;
	slash = strchr(bucket, '/');
	if (memchr(bucket, '@', slash ? (size_t)(slash - bucket) : strlen(bucket)) ||
	    strchr(bucket, '?'))
		return lepton_error_set(LEPTON_EINVALID,
					"'s3://...': write s3://bucket/prefix; credentials "
					"come from the AWS variables or files, never the URL");
	if (bucket == slash || !*bucket)
		return lepton_error_set(LEPTON_EINVALID,
					"'%s': no bucket (write s3://bucket/prefix)", url);
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &s3_ops;
	s->base.name = xstrdup(url);
	buf_add(&prefix, bucket, slash ? (size_t)(slash - bucket) : strlen(bucket));
	s->bucket = buf_detach(&prefix, NULL);
	if (slash) {
		const char *p = slash;
		while (*p == '/')
			p++;
		buf_addstr(&prefix, p);
		while (prefix.len && prefix.data[prefix.len - 1] == '/')
			buf_setlen(&prefix, prefix.len - 1);
	}
	s->prefix = buf_detach(&prefix, NULL);
	pthread_mutex_init(&s->lock, NULL);
	/* the handle is complete enough for backend_free from here on */
	*out = &s->base;
	if ((err = configure(s))) {
		backend_free(*out);
		*out = NULL;
		return err;
	}
	http_options_init(&opt);
	s->http = http_client_new(url, &opt);
	http_options_release(&opt);
	return 0;
}

static void s3_free(struct backend *b)
{
	struct s3_backend *s = s3_of(b);

	http_client_free(s->http);
	free(s->bucket);
	free(s->prefix);
	free(s->endpoint);
	free(s->region);
	free(s->key_id);
	free(s->sigv4);
	if (s->userpwd)
		memset(s->userpwd, 0, strlen(s->userpwd));
	free(s->userpwd);
	if (s->token_header)
		memset(s->token_header, 0, strlen(s->token_header));
	free(s->token_header);
	free(s->cred_source);
	pthread_mutex_destroy(&s->lock);
}

/* --- requests --- */

/* The bucket's key of a store key. */
static void full_key(struct buf *out, const struct s3_backend *s, const char *key)
{
	buf_addstr(out, s->prefix);
	if (*s->prefix && *key)
		buf_addch(out, '/');
	buf_addstr(out, key);
}

struct s3_call {
	struct http_request req;
	struct http_response res;
	struct buf url;
	const char *headers[8];
	size_t nr_headers;
	struct buf sha_header;
	struct buf extra[3];
};

/* A request for the object key of the store ("" is the bucket; an exact
 * bucket key when raw), with query, the body's hash from the body in memory. */
static void call_init(struct s3_call *c, const struct s3_backend *s, const char *method,
		      const char *key, int raw, const char *query)
{
	struct buf k = BUF_INIT;

	memset(c, 0, sizeof(*c));
	http_request_init(&c->req);
	http_response_init(&c->res);
	buf_init(&c->url, 0);
	buf_init(&c->sha_header, 0);
	for (size_t i = 0; i < 3; i++)
		buf_init(&c->extra[i], 0);
	if (raw)
		buf_addstr(&k, key);
	else
		full_key(&k, s, key);
	s3_url(&c->url, s->endpoint, s->path_style, s->bucket, k.data, query);
	buf_release(&k);
	c->req.method = method;
	c->req.url = c->url.data;
	if (s->sigv4) {
		c->req.aws_sigv4 = s->sigv4;
		c->req.userpwd = s->userpwd;
	}
	c->req.headers = c->headers;
}

static void call_header(struct s3_call *c, const char *line)
{
	if (c->nr_headers + 1 < sizeof(c->headers) / sizeof(c->headers[0]))
		c->headers[c->nr_headers++] = line;
}

static void call_release(struct s3_call *c)
{
	http_response_release(&c->res);
	buf_release(&c->url);
	buf_release(&c->sha_header);
	for (size_t i = 0; i < 3; i++)
		buf_release(&c->extra[i]);
}

static int call_perform(struct s3_call *c, const struct s3_backend *s)
{
	if (!c->sha_header.len) {
		if (c->req.body_fd >= 0) {
			buf_addstr(&c->sha_header, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
		} else if (c->req.body_len) {
			struct lepton_oid oid;
			char hex[OID_HEXSZ + 1];
			sha256_buffer(&oid, c->req.body, c->req.body_len);
			buf_addf(&c->sha_header, "x-amz-content-sha256: %s", oid_to_hex(hex, &oid));
		} else {
			buf_addstr(&c->sha_header, "x-amz-content-sha256: " EMPTY_SHA256);
		}
		call_header(c, c->sha_header.data);
		if (s->token_header)
			call_header(c, s->token_header);
	}
	c->headers[c->nr_headers] = NULL;
	return http_perform(s->http, &c->req, &c->res);
}

static int ok(const struct s3_call *c)
{
	return c->res.status >= 200 && c->res.status <= 299;
}

/* The <Code> of an error reply, or "". */
static void error_code(struct buf *code, const struct s3_call *c, const char *tag)
{
	size_t pos = 0;
	buf_reset(code);
	s3_xml_next(c->res.error_body.data, c->res.error_body.len, &pos, tag, code);
}

/* An S3 error reply turned into a message that says what to do. */
static int reply_error(const struct s3_backend *s, const struct s3_call *c, const char *what,
		       const char *key)
{
	struct buf code = BUF_INIT, msg = BUF_INIT, region = BUF_INIT;
	const char *name = s->base.name;
	long st = c->res.status;
	int err;

	error_code(&code, c, "Code");
	error_code(&msg, c, "Message");
	while (msg.len && msg.data[msg.len - 1] == '.')
		buf_setlen(&msg, msg.len - 1);
	http_response_header(&c->res, "x-amz-bucket-region", &region);
	if (!region.len)
		error_code(&region, c, "Region");
	if (st == 404 && (!strcmp(code.data, "NoSuchBucket") || !*key))
		err = lepton_error_set(LEPTON_ENOTFOUND,
				       "store '%s': bucket '%s' does not exist at '%s'; create it "
				       "or check the URL and lepton.<remote>.endpoint",
				       name, s->bucket, s->endpoint);
	else if (st == 404)
		err = lepton_error_set(LEPTON_ENOTFOUND, "'%s' is not in store '%s'", key, name);
	else if (!strcmp(code.data, "RequestTimeTooSkewed"))
		err = lepton_error_set(LEPTON_ERR,
				       "store '%s': this machine's clock is too far from the "
				       "server's (RequestTimeTooSkewed); set the clock right "
				       "(NTP) and try again",
				       name);
	else if (st == 301 || st == 307 || !strcmp(code.data, "PermanentRedirect") ||
		 !strcmp(code.data, "AuthorizationHeaderMalformed") ||
		 !strcmp(code.data, "IllegalLocationConstraintException"))
		err = lepton_error_set(LEPTON_ERR,
				       "store '%s': bucket '%s' is in region '%s', not '%s'; set "
				       "AWS_REGION or lepton.<remote>.region to it",
				       name, s->bucket, region.len ? region.data : "(unknown)",
				       s->region);
	else if (st == 403 && !s->key_id)
		err = lepton_error_set(LEPTON_ERR,
				       "store '%s': access denied and no AWS credentials were "
				       "found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
				       "or AWS_PROFILE",
				       name);
	else if (st == 403)
		err =
		    lepton_error_set(LEPTON_ERR,
				     "store '%s': access denied to key id '%s' (from %s): %s%s%s; "
				     "check the key, its secret and its rights on bucket '%s'",
				     name, s->key_id, s->cred_source, code.len ? code.data : "403",
				     msg.len ? ": " : "", msg.data, s->bucket);
	else
		err = lepton_error_set(
		    LEPTON_ERR, "store '%s': %s '%s' failed: HTTP %ld%s%s%s%s%s", name, what, key,
		    st, code.len ? " " : "", code.len ? code.data : "", msg.len ? ": " : "",
		    msg.len ? msg.data : "", c->res.attempts > 1 ? " (after retries)" : "");
	buf_release(&code);
	buf_release(&msg);
	buf_release(&region);
	return err;
}

/* --- reading --- */

static int s3_get_into(struct backend *b, const char *key, struct buf *out, int has_range,
		       uint64_t offset, uint64_t len, backend_sink_fn fn, void *data,
		       struct buf *etag)
{
	struct s3_backend *s = s3_of(b);
	struct s3_call c;
	int err;

	call_init(&c, s, "GET", key, 0, NULL);
	c.req.out = out;
	c.req.sink = fn;
	c.req.sink_data = data;
	c.req.has_range = has_range;
	c.req.range_offset = offset;
	c.req.range_len = len;
	if ((err = call_perform(&c, s)))
		goto done;
	if (ok(&c)) {
		if (etag) {
			buf_reset(etag);
			buf_add(etag, c.res.etag.data, c.res.etag.len);
		}
	} else if (c.res.status == 416) {
		err = lepton_error_set(LEPTON_ECORRUPT,
				       "'%s' of store '%s' is shorter than expected", key, b->name);
	} else {
		err = reply_error(s, &c, "GET", key);
	}
done:
	call_release(&c);
	return err;
}

static int s3_get_range_stream(struct backend *b, const char *key, uint64_t offset, uint64_t len,
			       backend_sink_fn fn, void *data)
{
	return s3_get_into(b, key, NULL, 1, offset, len, fn, data, NULL);
}

static int s3_get_stream(struct backend *b, const char *key, backend_sink_fn fn, void *data)
{
	return s3_get_into(b, key, NULL, 0, 0, 0, fn, data, NULL);
}

static int s3_exists(struct backend *b, const char *key)
{
	struct s3_backend *s = s3_of(b);
	struct s3_call c;
	int ret;

	call_init(&c, s, "HEAD", key, 0, NULL);
	if ((ret = call_perform(&c, s)))
		goto done;
	if (ok(&c)) {
		ret = 1;
	} else if (c.res.status == 404) {
		ret = 0;
	} else {
		/* a HEAD's error has no body to say why: ask with a GET */
		struct buf byte;
		buf_init_limit(&byte, 16);
		ret = s3_get_into(b, key, &byte, 1, 0, 1, NULL, NULL, NULL);
		if (ret >= 0)
			ret = reply_error(s, &c, "HEAD", key);
		buf_release(&byte);
	}
done:
	call_release(&c);
	return ret;
}

/* The bucket must exist: nothing else to make. */
static int s3_create(struct backend *b)
{
	struct s3_backend *s = s3_of(b);
	struct s3_call c;
	int err;

	/* a listing, not a HEAD: its error says why */
	call_init(&c, s, "GET", "", 1, "list-type=2&max-keys=1");
	if (!(err = call_perform(&c, s)) && !ok(&c))
		err = reply_error(s, &c, "list", "");
	call_release(&c);
	return err;
}

struct list_state {
	int (*fn)(void *data, const char *name);
	void *data;
	size_t strip; /* length of the listed prefix */
};

static int s3_list(struct backend *b, const char *prefix, int (*fn)(void *data, const char *name),
		   void *data)
{
	struct s3_backend *s = s3_of(b);
	struct buf p = BUF_INIT, token = BUF_INIT, q = BUF_INIT, reply, item = BUF_INIT;
	int err = 0, more = 1;

	buf_init_limit(&reply, REPLY_MAX);
	full_key(&p, s, prefix);
	if (p.len)
		buf_addch(&p, '/');
	while (more && !err) {
		struct s3_call c;
		size_t pos = 0;

		buf_reset(&q);
		buf_reset(&reply);
		if (token.len)
			s3_query_add(&q, "continuation-token", token.data);
		s3_query_add(&q, "delimiter", "/");
		s3_query_add(&q, "list-type", "2");
		s3_query_add(&q, "prefix", p.data);
		call_init(&c, s, "GET", "", 1, q.data);
		c.req.out = &reply;
		err = call_perform(&c, s);
		if (!err && !ok(&c))
			err = reply_error(s, &c, "list", prefix);
		call_release(&c);
		if (err)
			break;
		/* objects (<Contents><Key>) and "directories" (<CommonPrefixes><Prefix>) */
		for (;;) {
			size_t kpos = pos, ppos = pos, next;
			int has_key, has_prefix;
			struct buf k = BUF_INIT, pr = BUF_INIT;

			has_key = s3_xml_next(reply.data, reply.len, &kpos, "Key", &k);
			has_prefix = s3_xml_next(reply.data, reply.len, &ppos, "Prefix", &pr);
			if (has_prefix && pr.len == p.len && !strcmp(pr.data, p.data) &&
			    (!has_key || ppos < kpos)) {
				/* the <Prefix> echoing the request */
				pos = ppos;
				buf_release(&k);
				buf_release(&pr);
				continue;
			}
			if (!has_key && !has_prefix) {
				buf_release(&k);
				buf_release(&pr);
				break;
			}
			buf_reset(&item);
			if (has_key && (!has_prefix || kpos < ppos)) {
				buf_addstr(&item, k.data);
				next = kpos;
			} else {
				buf_addstr(&item, pr.data);
				while (item.len && item.data[item.len - 1] == '/')
					buf_setlen(&item, item.len - 1);
				next = ppos;
			}
			buf_release(&k);
			buf_release(&pr);
			pos = next;
			if (item.len > p.len && !strncmp(item.data, p.data, p.len) &&
			    !strchr(item.data + p.len, '/'))
				if ((err = fn(data, item.data + p.len)))
					break;
		}
		if (err)
			break;
		pos = 0;
		buf_reset(&item);
		more = s3_xml_next(reply.data, reply.len, &pos, "IsTruncated", &item) &&
		       !strcmp(item.data, "true");
		pos = 0;
		buf_reset(&token);
		if (more &&
		    !s3_xml_next(reply.data, reply.len, &pos, "NextContinuationToken", &token))
			more = 0;
	}
	buf_release(&p);
	buf_release(&token);
	buf_release(&q);
	buf_release(&reply);
	buf_release(&item);
	return err;
}

static int s3_delete_raw(struct s3_backend *s, const char *key, int raw, const char *query)
{
	struct s3_call c;
	int err;

	call_init(&c, s, "DELETE", key, raw, query);
	if (!(err = call_perform(&c, s)) && !ok(&c) && c.res.status != 404)
		err = reply_error(s, &c, "DELETE", key);
	call_release(&c);
	return err;
}

static int s3_delete(struct backend *b, const char *key)
{
	return s3_delete_raw(s3_of(b), key, 0, NULL);
}

/* --- writing --- */

/* A conditional PUT is sent once by http.c (its reply must be seen), so
 * a busy service's 429 or 5xx is retried here. */
#define COND_RETRIES 4

static int busy_status(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* PUT data as key; with a condition ("If-Match: ..."), status and
 * attempts tell how it went (412, 409 and 501 are not errors then) and
 * attempts counts every time the request was sent. */
static int put_mem(struct s3_backend *s, const char *key, const void *data, size_t len,
		   const char *condition, long *status, unsigned *attempts)
{
	struct s3_call c;
	unsigned sent = 0;
	int err;

	for (unsigned round = 0;; round++) {
		call_init(&c, s, "PUT", key, 0, NULL);
		c.req.body = data ? data : "";
		c.req.body_len = len;
		if (condition) {
			call_header(&c, condition);
			c.req.no_retry_status = 1;
		}
		err = call_perform(&c, s);
		sent += c.res.attempts;
		if (err || !condition || !busy_status(c.res.status) || round == COND_RETRIES)
			break;
		call_release(&c);
		sleep_ms(250L << round);
	}
	if (!err && status) {
		*status = c.res.status;
		*attempts = sent;
	}
	if (!err && !ok(&c) &&
	    !(status && (c.res.status == 412 || c.res.status == 409 || c.res.status == 501)))
		err = reply_error(s, &c, "PUT", key);
	call_release(&c);
	return err;
}

static int s3_put(struct backend *b, const char *key, const void *data, size_t len)
{
	return put_mem(s3_of(b), key, data, len, NULL, NULL, NULL);
}

static void md5_hex(char out[33], int fd, uint64_t offset, uint64_t len, int *err)
{
	static const size_t piece = 1 << 20;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *bytes = xmalloc(piece);

	*err = 0;
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	while (len) {
		size_t want = len < piece ? (size_t)len : piece;
		ssize_t n = pread(fd, bytes, want, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = LEPTON_EIO;
			break;
		}
		EVP_DigestUpdate(ctx, bytes, n);
		offset += n;
		len -= n;
	}
	EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	free(bytes);
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void md5_base64(char out[25], const char *hex)
{
	unsigned char raw[16];
	for (int i = 0; i < 16; i++) {
		unsigned v = 0;
		sscanf(hex + 2 * i, "%2x", &v);
		raw[i] = (unsigned char)v;
	}
	EVP_EncodeBlock((unsigned char *)out, raw, 16);
}

/* "\"abc\"" and "abc" are the same ETag. */
static int etag_is(const char *etag, const char *hex)
{
	size_t n = strlen(hex);
	if (*etag == '"')
		etag++;
	return !strncasecmp(etag, hex, n) && (etag[n] == '"' || !etag[n]);
}

struct upload {
	struct s3_backend *s;
	const char *key;
	const char *path;
	struct buf upload_id;
	int fd;
	uint64_t size, part_size;
	unsigned nr_parts;
	char (*md5)[33];  /* of each part, once sent or found */
	char **have_etag; /* ETags of parts already there (resumed), or NULL */
	atomic_uint next;
	pthread_mutex_t lock;
	int err;
	char *msg;
	unsigned sent;
};

static void upload_fail(struct upload *u, int err)
{
	pthread_mutex_lock(&u->lock);
	if (!u->err) {
		u->err = err;
		u->msg = xstrdup(lepton_error_last());
	}
	pthread_mutex_unlock(&u->lock);
}

static int send_part(struct upload *u, unsigned i)
{
	struct s3_backend *s = u->s;
	uint64_t off = (uint64_t)i * u->part_size;
	uint64_t len = u->size - off < u->part_size ? u->size - off : u->part_size;
	struct buf q = BUF_INIT, num = BUF_INIT;
	char b64[25];
	struct s3_call c;
	int err;

	md5_hex(u->md5[i], u->fd, off, len, &err);
	if (err)
		return lepton_error_errno(LEPTON_EIO, "cannot read '%s'", u->path);
	if (u->have_etag && u->have_etag[i] && etag_is(u->have_etag[i], u->md5[i]))
		return 0; /* sent by an earlier, interrupted push */
	buf_addf(&num, "%u", i + 1);
	s3_query_add(&q, "partNumber", num.data);
	s3_query_add(&q, "uploadId", u->upload_id.data);
	call_init(&c, s, "PUT", u->key, 0, q.data);
	c.req.body_fd = u->fd;
	c.req.body_offset = off;
	c.req.body_file_len = len;
	md5_base64(b64, u->md5[i]);
	buf_addf(&c.extra[0], "Content-MD5: %s", b64);
	call_header(&c, c.extra[0].data);
	err = call_perform(&c, s);
	if (!err && !ok(&c))
		err = reply_error(s, &c, "PUT part of", u->key);
	else if (!err && c.res.etag.len && !etag_is(c.res.etag.data, u->md5[i]))
		err = lepton_error_set(LEPTON_ECORRUPT,
				       "store '%s': part %u of '%s' arrived damaged (ETag %s, "
				       "MD5 %s); push again",
				       s->base.name, i + 1, u->key, c.res.etag.data, u->md5[i]);
	call_release(&c);
	buf_release(&q);
	buf_release(&num);
	if (!err) {
		pthread_mutex_lock(&u->lock);
		u->sent++;
		pthread_mutex_unlock(&u->lock);
		test_point("s3-part-sent");
	}
	return err;
}

static void *part_worker(void *data)
{
	struct upload *u = data;

	for (;;) {
		unsigned i = atomic_fetch_add(&u->next, 1);
		int err;
		if (i >= u->nr_parts)
			break;
		pthread_mutex_lock(&u->lock);
		err = u->err;
		pthread_mutex_unlock(&u->lock);
		if (err)
			break;
		if ((err = send_part(u, i)))
			upload_fail(u, err);
	}
	return NULL;
}

/* An unfinished upload of key that an earlier push left: its id, or "". */
static int find_upload(struct upload *u, const char *bucket_key)
{
	struct s3_backend *s = u->s;
	struct buf q = BUF_INIT, reply, block = BUF_INIT, k = BUF_INIT, id = BUF_INIT;
	struct s3_call c;
	size_t pos = 0;
	int err;

	buf_init_limit(&reply, REPLY_MAX);
	s3_query_add(&q, "prefix", bucket_key);
	s3_query_add(&q, "uploads", "");
	call_init(&c, s, "GET", "", 1, q.data);
	c.req.out = &reply;
	err = call_perform(&c, s);
	if (!err && c.res.status == 501)
		buf_reset(&reply); /* a service without the listing: no resuming */
	else if (!err && !ok(&c))
		err = reply_error(s, &c, "list uploads of", u->key);
	call_release(&c);
	while (!err && s3_xml_next(reply.data, reply.len, &pos, "Upload", &block)) {
		size_t p = 0;
		buf_reset(&k);
		buf_reset(&id);
		if (s3_xml_next(block.data, block.len, &p, "Key", &k) &&
		    !strcmp(k.data, bucket_key) &&
		    (p = 0, s3_xml_next(block.data, block.len, &p, "UploadId", &id))) {
			buf_reset(&u->upload_id);
			buf_addstr(&u->upload_id, id.data); /* the last one started */
		}
		buf_reset(&block);
	}
	buf_release(&q);
	buf_release(&reply);
	buf_release(&block);
	buf_release(&k);
	buf_release(&id);
	return err;
}

/* The parts of u->upload_id already there, into u->have_etag; an upload
 * that went meanwhile (aborted by a sweep) is 1: start a new one. */
static int list_parts(struct upload *u)
{
	struct s3_backend *s = u->s;
	struct buf q = BUF_INIT, reply, block = BUF_INIT, v = BUF_INIT, marker = BUF_INIT;
	int err = 0, more = 1;

	buf_init_limit(&reply, REPLY_MAX);
	u->have_etag = xcalloc(u->nr_parts, sizeof(*u->have_etag));
	while (more && !err) {
		struct s3_call c;
		size_t pos = 0;

		buf_reset(&q);
		buf_reset(&reply);
		if (marker.len)
			s3_query_add(&q, "part-number-marker", marker.data);
		s3_query_add(&q, "uploadId", u->upload_id.data);
		call_init(&c, s, "GET", u->key, 0, q.data);
		c.req.out = &reply;
		err = call_perform(&c, s);
		if (!err && c.res.status == 404)
			err = 1;
		else if (!err && !ok(&c))
			err = reply_error(s, &c, "list parts of", u->key);
		call_release(&c);
		while (err == 0 && s3_xml_next(reply.data, reply.len, &pos, "Part", &block)) {
			size_t p = 0;
			unsigned long n = 0;
			uint64_t size = 0;
			buf_reset(&v);
			if (s3_xml_next(block.data, block.len, &p, "PartNumber", &v))
				n = strtoul(v.data, NULL, 10);
			p = 0;
			buf_reset(&v);
			if (s3_xml_next(block.data, block.len, &p, "Size", &v))
				size = strtoull(v.data, NULL, 10);
			p = 0;
			buf_reset(&v);
			if (n >= 1 && n <= u->nr_parts &&
			    s3_xml_next(block.data, block.len, &p, "ETag", &v)) {
				uint64_t off = (uint64_t)(n - 1) * u->part_size;
				uint64_t want =
				    u->size - off < u->part_size ? u->size - off : u->part_size;
				if (size == want) {
					free(u->have_etag[n - 1]);
					u->have_etag[n - 1] = xstrdup(v.data);
				}
			}
			buf_reset(&block);
		}
		pos = 0;
		buf_reset(&v);
		more = !err && s3_xml_next(reply.data, reply.len, &pos, "IsTruncated", &v) &&
		       !strcmp(v.data, "true");
		pos = 0;
		buf_reset(&marker);
		if (more &&
		    !s3_xml_next(reply.data, reply.len, &pos, "NextPartNumberMarker", &marker))
			more = 0;
	}
	buf_release(&q);
	buf_release(&reply);
	buf_release(&block);
	buf_release(&v);
	buf_release(&marker);
	return err;
}

static int start_upload(struct upload *u)
{
	struct s3_backend *s = u->s;
	struct buf reply;
	struct s3_call c;
	size_t pos = 0;
	int err;

	buf_init_limit(&reply, REPLY_MAX);
	call_init(&c, s, "POST", u->key, 0, "uploads=");
	c.req.out = &reply;
	err = call_perform(&c, s);
	if (!err && !ok(&c))
		err = reply_error(s, &c, "start upload of", u->key);
	call_release(&c);
	buf_reset(&u->upload_id);
	if (!err && !s3_xml_next(reply.data, reply.len, &pos, "UploadId", &u->upload_id))
		err = lepton_error_set(LEPTON_ERR,
				       "store '%s': no UploadId in the reply to start "
				       "uploading '%s'",
				       s->base.name, u->key);
	buf_release(&reply);
	return err;
}

static int complete_upload(struct upload *u)
{
	struct s3_backend *s = u->s;
	struct buf body = BUF_INIT, q = BUF_INIT, reply, code = BUF_INIT;
	struct s3_call c;
	size_t pos = 0;
	int err;

	buf_init_limit(&reply, REPLY_MAX);
	buf_addstr(&body, "<CompleteMultipartUpload>");
	for (unsigned i = 0; i < u->nr_parts; i++)
		buf_addf(&body, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
			 i + 1, u->md5[i]);
	buf_addstr(&body, "</CompleteMultipartUpload>");
	s3_query_add(&q, "uploadId", u->upload_id.data);
	call_init(&c, s, "POST", u->key, 0, q.data);
	c.req.body = body.data;
	c.req.body_len = body.len;
	c.req.out = &reply;
	err = call_perform(&c, s);
	if (!err && c.res.status == 404 && s3_exists(&s->base, u->key) == 1)
		lepton_error_clear(); /* completed by an attempt whose reply was lost, or
				       * by another push of the same pack (names are hashes) */
	else if (!err && !ok(&c))
		err = reply_error(s, &c, "complete upload of", u->key);
	/* a 200 can still carry an <Error> */
	else if (!err && s3_xml_next(reply.data, reply.len, &pos, "Error", &code))
		err = lepton_error_set(LEPTON_ERR,
				       "store '%s': completing the upload of '%s' failed: %s",
				       s->base.name, u->key, code.data);
	call_release(&c);
	buf_release(&body);
	buf_release(&q);
	buf_release(&reply);
	buf_release(&code);
	return err;
}

static int s3_put_file(struct backend *b, const char *key, const char *path)
{
	struct s3_backend *s = s3_of(b);
	struct upload u;
	struct buf bucket_key = BUF_INIT;
	pthread_t *tids = NULL;
	unsigned nr_threads = 0;
	struct stat st;
	int err = 0;

	memset(&u, 0, sizeof(u));
	u.s = s;
	u.key = key;
	u.path = path;
	buf_init(&u.upload_id, 0);
	pthread_mutex_init(&u.lock, NULL);
	u.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (u.fd < 0 || fstat(u.fd, &st) < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot open '%s'", path);
		goto done;
	}
	u.size = (uint64_t)st.st_size;
	u.part_size = s3_part_size(u.size, s->min_part);
	if (!u.part_size) {
		err = lepton_error_set(LEPTON_EINVALID, "'%s' is too large for S3 (over 48.8 TiB)",
				       path);
		goto done;
	}
	if (u.size <= u.part_size) {
		/* one PUT */
		struct s3_call c;
		call_init(&c, s, "PUT", key, 0, NULL);
		c.req.body_fd = u.fd;
		c.req.body_file_len = u.size;
		if (!(err = call_perform(&c, s)) && !ok(&c))
			err = reply_error(s, &c, "PUT", key);
		call_release(&c);
		goto done;
	}
	u.nr_parts = (unsigned)((u.size + u.part_size - 1) / u.part_size);
	u.md5 = xcalloc(u.nr_parts, sizeof(*u.md5));
	full_key(&bucket_key, s, key);
	if ((err = find_upload(&u, bucket_key.data)))
		goto done;
	if (u.upload_id.len && (err = list_parts(&u)) == 1) {
		err = 0;
		buf_reset(&u.upload_id);
	}
	if (err)
		goto done;
	if (!u.upload_id.len && (err = start_upload(&u)))
		goto done;

	nr_threads = s->threads < u.nr_parts ? s->threads : u.nr_parts;
	tids = xcalloc(nr_threads, sizeof(*tids));
	for (unsigned i = 0; i < nr_threads; i++)
		if (pthread_create(&tids[i], NULL, part_worker, &u)) {
			nr_threads = i;
			break;
		}
	if (!nr_threads)
		part_worker(&u);
	for (unsigned i = 0; i < nr_threads; i++)
		pthread_join(tids[i], NULL);
	if (u.err) {
		err = lepton_error_set(u.err, "%s", u.msg);
		goto done;
	}
	err = complete_upload(&u);
	/* what failed stays for the next push to resume, or for gc to sweep */
done:
	if (u.have_etag)
		for (unsigned i = 0; i < u.nr_parts; i++)
			free(u.have_etag[i]);
	free(u.have_etag);
	free(u.md5);
	free(u.msg);
	free(tids);
	if (u.fd >= 0)
		close(u.fd);
	pthread_mutex_destroy(&u.lock);
	buf_release(&u.upload_id);
	buf_release(&bucket_key);
	return err;
}

/* Unfinished multipart uploads under the store older than age seconds are
 * aborted (a killed push's parts cost storage until then). */
static int s3_sweep(struct backend *b, long long age)
{
	struct s3_backend *s = s3_of(b);
	struct buf p = BUF_INIT, q = BUF_INIT, reply, block = BUF_INIT, k = BUF_INIT;
	struct buf id = BUF_INIT, when = BUF_INIT, key_marker = BUF_INIT, id_marker = BUF_INIT;
	time_t now = time(NULL);
	int err = 0, more = 1, removed = 0;

	buf_init_limit(&reply, REPLY_MAX);
	full_key(&p, s, "");
	if (p.len)
		buf_addch(&p, '/');
	while (more && !err) {
		struct s3_call c;
		size_t pos = 0;

		buf_reset(&q);
		buf_reset(&reply);
		if (key_marker.len)
			s3_query_add(&q, "key-marker", key_marker.data);
		s3_query_add(&q, "prefix", p.data);
		if (id_marker.len)
			s3_query_add(&q, "upload-id-marker", id_marker.data);
		s3_query_add(&q, "uploads", "");
		call_init(&c, s, "GET", "", 1, q.data);
		c.req.out = &reply;
		err = call_perform(&c, s);
		if (!err && c.res.status == 501)
			more = 0, buf_reset(&reply); /* nothing to sweep that it can list */
		else if (!err && !ok(&c))
			err = reply_error(s, &c, "list uploads of", "");
		call_release(&c);
		while (!err && s3_xml_next(reply.data, reply.len, &pos, "Upload", &block)) {
			size_t bp = 0;
			struct tm tm;
			buf_reset(&k);
			buf_reset(&id);
			buf_reset(&when);
			memset(&tm, 0, sizeof(tm));
			if (s3_xml_next(block.data, block.len, &bp, "Key", &k) &&
			    (bp = 0, s3_xml_next(block.data, block.len, &bp, "UploadId", &id)) &&
			    (bp = 0, s3_xml_next(block.data, block.len, &bp, "Initiated", &when)) &&
			    sscanf(when.data, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon,
				   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6 &&
			    (tm.tm_year -= 1900, tm.tm_mon -= 1, 1) &&
			    (long long)(now - timegm(&tm)) >= age) {
				buf_reset(&q);
				s3_query_add(&q, "uploadId", id.data);
				if (!s3_delete_raw(s, k.data, 1, q.data))
					removed++;
				else
					lepton_error_clear(); /* the next sweep tries again */
			}
			buf_reset(&block);
		}
		pos = 0;
		buf_reset(&block);
		more = !err && s3_xml_next(reply.data, reply.len, &pos, "IsTruncated", &block) &&
		       !strcmp(block.data, "true");
		buf_reset(&key_marker);
		buf_reset(&id_marker);
		pos = 0;
		if (more && !s3_xml_next(reply.data, reply.len, &pos, "NextKeyMarker", &key_marker))
			more = 0;
		pos = 0;
		if (more)
			s3_xml_next(reply.data, reply.len, &pos, "NextUploadIdMarker", &id_marker);
	}
	buf_release(&p);
	buf_release(&q);
	buf_release(&reply);
	buf_release(&block);
	buf_release(&k);
	buf_release(&id);
	buf_release(&when);
	buf_release(&key_marker);
	buf_release(&id_marker);
	return err ? err : removed;
}

/* --- compare-and-swap --- */

static int s3_get_versioned(struct backend *b, const char *key, struct buf *out, struct buf *etag)
{
	struct buf bytes;
	int err;

	buf_init_limit(&bytes, out->limit);
	buf_reset(etag);
	err = s3_get_into(b, key, &bytes, 0, 0, 0, NULL, NULL, etag);
	if (err == LEPTON_ENOTFOUND) {
		lepton_error_clear();
		buf_reset(etag);
		err = 0;
	} else if (!err) {
		if (!etag->len)
			err = lepton_error_set(LEPTON_ERR,
					       "store '%s' gave no ETag for '%s': it cannot update "
					       "refs safely",
					       b->name, key);
		else
			err = buf_add(out, bytes.data, bytes.len);
	}
	buf_release(&bytes);
	return err;
}

/*
 * Whether the service honours If-None-Match on PUT (some S3-compatible
 * ones ignore it, and a lost update would go unseen): the probe object is
 * written twice on condition that it does not exist; the second write
 * must be refused.  Once per store handle.
 */
static int check_conditional_writes(struct s3_backend *s)
{
	static const char probe[] = "lepton conditional write probe\n";
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (s->cas_checked)
		goto done;
	for (int i = 0; i < 2 && !err; i++) {
		long status = 0;
		unsigned attempts = 0;
		err = put_mem(s, PROBE_KEY, probe, sizeof(probe) - 1, "If-None-Match: *", &status,
			      &attempts);
		if (!err && status == 501)
			s->cas_checked = -1; /* conditions refused outright */
		else if (!err && i == 1)
			s->cas_checked = status == 412 || status == 409 ? 1 : -1;
		if (s->cas_checked)
			break;
	}
done:
	if (!err && s->cas_checked < 0 && !s->unsafe_writes)
		err = lepton_error_set(
		    LEPTON_ERR,
		    "store '%s' does not honour conditional writes (If-None-Match), so "
		    "two pushes at once could lose refs; if only one push at "
		    "a time can happen, set lepton.<remote>.unsafeWrites true",
		    s->base.name);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* The test suite makes two pushers race for sure: each one that reaches
 * its conditional write (having read the refs) waits, up to 10 s, until
 * two processes have arrived in dir. */
static void test_barrier(const char *dir)
{
	struct buf path = BUF_INIT;
	int fd;

	buf_addf(&path, "%s/%ld", dir, (long)getpid());
	fd = open(path.data, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 1000; i++) {
		DIR *d = opendir(dir);
		struct dirent *e;
		int n = 0;
		while (d && (e = readdir(d)))
			n += e->d_name[0] != '.';
		if (d)
			closedir(d);
		if (n >= 2)
			break;
		sleep_ms(10);
	}
	buf_release(&path);
}

static int s3_put_if(struct backend *b, const char *key, const void *data, size_t len,
		     const char *etag)
{
	struct s3_backend *s = s3_of(b);
	struct buf cond = BUF_INIT, now = BUF_INIT, now_etag = BUF_INIT;
	long status = 0;
	unsigned attempts = 0;
	int err;

	if ((err = check_conditional_writes(s)))
		goto done;
	if (s->cas_checked < 0) {
		/* unsafeWrites: compare, then write; a race can still lose */
		if ((err = s3_get_versioned(b, key, &now, &now_etag)))
			goto done;
		if (strcmp(now_etag.data, etag ? etag : "")) {
			err = lepton_error_set(
			    LEPTON_ECONFLICT, "'%s' of store '%s' changed meanwhile", key, b->name);
			goto done;
		}
		err = put_mem(s, key, data, len, NULL, NULL, NULL);
		goto done;
	}
	if (env("GIT_LEPTON_TEST_PUT_IF_BARRIER"))
		test_barrier(env("GIT_LEPTON_TEST_PUT_IF_BARRIER"));
	if (etag && *etag)
		buf_addf(&cond, "If-Match: %s", etag);
	else
		buf_addstr(&cond, "If-None-Match: *");
	if ((err = put_mem(s, key, data, len, cond.data, &status, &attempts)))
		goto done;
	if (status == 501) {
		err = lepton_error_set(LEPTON_ERR, "store '%s' refused a conditional write of '%s'",
				       b->name, key);
		goto done;
	}
	if (status != 412 && status != 409)
		goto done;
	if (attempts > 1) {
		/* an earlier attempt may have written it and its reply was lost */
		if ((err = s3_get_versioned(b, key, &now, &now_etag)))
			goto done;
		if (now.len == len && !memcmp(now.data, data, len))
			goto done;
	}
	err = lepton_error_set(LEPTON_ECONFLICT, "'%s' of store '%s' changed meanwhile", key,
			       b->name);
done:
	buf_release(&cond);
	buf_release(&now);
	buf_release(&now_etag);
	return err;
}

static const struct backend_ops s3_ops = {
	.kind = "s3",
	.free = s3_free,
	.create = s3_create,
	.get_range_stream = s3_get_range_stream,
	.get_stream = s3_get_stream,
	.exists = s3_exists,
	.put = s3_put,
	.put_file = s3_put_file,
	.list = s3_list,
	.sweep = s3_sweep,
	.delete = s3_delete,
	.get_versioned = s3_get_versioned,
	.put_if = s3_put_if,
};
