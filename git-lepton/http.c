#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "backend.h"
#include "error.h"
#include "run.h"
#include "banned.h"

#define DEFAULT_RETRIES  5
#define DEFAULT_RETRY_MS 250
#define MAX_BACKOFF_MS   10000
#define ERROR_BODY_MAX   (64 << 10)

struct http_client {
	char *name;
	struct http_options opt;
	pthread_mutex_t lock;
	CURL **idle; /* handles not in use: their connections stay open */
	size_t nr_idle, alloc_idle;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status;

static void global_init(void)
{
	global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Git's settings as `git config --list -z` gives them ("key\nvalue\0"),
 * read once: a store asks for a dozen keys and a fork each cost more than
 * the request they configure. */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static struct buf config_list = BUF_INIT;

static void config_load(void)
{
	if (run_git(&config_list, "config", "--list", "-z", (char *)NULL) != 0)
		buf_reset(&config_list);
}

/* Git compares section and variable names without case, subsections as
 * they are: "lepton.Origin.partSize" is not "lepton.origin.partsize". */
static int config_key_is(const char *have, size_t len, const char *want)
{
	const char *h_first = memchr(have, '.', len), *w_first = strchr(want, '.');
	const char *h_last = have + len, *w_last = strrchr(want, '.');
	size_t section, middle;

	if (!h_first || !w_first || strlen(want) != len)
		return 0;
	while (h_last[-1] != '.')
		h_last--;
	h_last--;
	section = h_first - have;
	middle = h_last - h_first;
	return section == (size_t)(w_first - want) && middle == (size_t)(w_last - w_first) &&
	       !strncasecmp(have, want, section) && !memcmp(h_first, w_first, middle) &&
	       !strncasecmp(h_last, w_last, len - (h_last - have));
}

int http_git_config(const char *key, struct buf *out)
{
	const char *p, *end, *found = NULL;
	size_t found_len = 0;

	pthread_once(&config_once, config_load);
	p = config_list.data;
	end = p ? p + config_list.len : NULL;
	while (p && p < end) {
		const char *entry_end = memchr(p, '\0', end - p);
		const char *nl;
		if (!entry_end)
			break;
		nl = memchr(p, '\n', entry_end - p);
		if (config_key_is(p, (nl ? nl : entry_end) - p, key)) {
			/* the last one wins, as with git config --get */
			found = nl ? nl + 1 : entry_end;
			found_len = entry_end - found;
		}
		p = entry_end + 1;
	}
	if (!found)
		return 0;
	buf_reset(out);
	buf_add(out, found, found_len);
	return 1;
}

int http_remote_config(const char *var, struct buf *out)
{
	struct buf key = BUF_INIT;
	int found = 0;

	if (backend_remote()) {
		buf_addf(&key, "lepton.%s.%s", backend_remote(), var);
		found = http_git_config(key.data, out);
	}
	buf_release(&key);
	return found;
}

int http_parse_bool(const char *v, int def)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1"))
		return 1;
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
	    !strcmp(v, "0") || !*v)
		return 0;
	return def;
}

static long env_or_config_long(const char *env, const char *key, long def)
{
	struct buf v = BUF_INIT;
	const char *e = getenv(env);
	long n = def;

	if (e && *e)
		n = strtol(e, NULL, 10);
	else if (key && http_git_config(key, &v))
		n = strtol(v.data, NULL, 10);
	buf_release(&v);
	return n;
}

void http_options_init(struct http_options *opt)
{
	struct buf v = BUF_INIT;
	const char *e;

	memset(opt, 0, sizeof(*opt));
	opt->verify = 1;
	if (http_git_config("http.sslverify", &v))
		opt->verify = http_parse_bool(v.data, 1);
	if ((e = getenv("GIT_SSL_NO_VERIFY")) && *e)
		opt->verify = 0;
	if ((e = getenv("GIT_SSL_CAINFO")) && *e)
		opt->ca_info = xstrdup(e);
	else if (http_git_config("http.sslcainfo", &v) && v.len)
		opt->ca_info = buf_detach(&v, NULL);
	opt->retries =
	    (unsigned)env_or_config_long("GIT_LEPTON_RETRIES", "lepton.retries", DEFAULT_RETRIES);
	opt->retry_ms = env_or_config_long("GIT_LEPTON_TEST_RETRY_MS", NULL, DEFAULT_RETRY_MS);
	opt->low_speed_limit =
	    env_or_config_long("GIT_HTTP_LOW_SPEED_LIMIT", "http.lowspeedlimit", 1);
	opt->low_speed_time =
	    env_or_config_long("GIT_HTTP_LOW_SPEED_TIME", "http.lowspeedtime", 60);
	opt->connect_timeout = 30;
	opt->verbose = (e = getenv("GIT_CURL_VERBOSE")) && http_parse_bool(e, 1);
	buf_release(&v);
}

void http_options_release(struct http_options *opt)
{
	free(opt->ca_info);
	opt->ca_info = NULL;
}

struct http_client *http_client_new(const char *name, const struct http_options *opt)
{
	struct http_client *c = xcalloc(1, sizeof(*c));

	pthread_once(&global_once, global_init);
	c->name = xstrdup(name);
	c->opt = *opt;
	c->opt.ca_info = opt->ca_info ? xstrdup(opt->ca_info) : NULL;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nr_idle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	pthread_mutex_destroy(&c->lock);
	http_options_release(&c->opt);
	free(c->name);
	free(c);
}

static CURL *take_handle(struct http_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->nr_idle)
		h = c->idle[--c->nr_idle];
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_reset(h); /* keeps the open connections */
	else
		h = curl_easy_init();
	return h;
}

static void give_handle(struct http_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->nr_idle == c->alloc_idle) {
		c->alloc_idle = c->alloc_idle ? 2 * c->alloc_idle : 8;
		c->idle = xrealloc(c->idle, c->alloc_idle * sizeof(*c->idle));
	}
	c->idle[c->nr_idle++] = h;
	pthread_mutex_unlock(&c->lock);
}

static int header_is(const char *line, size_t len, const char *name, const char **value,
		     size_t *vlen);

void http_request_init(struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	req->body_fd = -1;
}

void http_response_init(struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->etag, 0);
	buf_init(&res->error_body, 0);
	buf_init_limit(&res->headers, ERROR_BODY_MAX);
}

void http_response_release(struct http_response *res)
{
	buf_release(&res->etag);
	buf_release(&res->error_body);
	buf_release(&res->headers);
}

int http_response_header(const struct http_response *res, const char *name, struct buf *out)
{
	const char *line = res->headers.data, *v;
	size_t vlen;

	buf_reset(out);
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		if (header_is(line, len, name, &v, &vlen)) {
			buf_add(out, v, vlen);
			return 1;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

void http_encode(struct buf *out, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
		    (keep_slash && ch == '/')) {
			buf_addch(out, ch);
		} else {
			buf_addch(out, '%');
			buf_addch(out, hex[ch >> 4]);
			buf_addch(out, hex[ch & 15]);
		}
	}
}

/* One attempt's state, seen by the callbacks. */
struct attempt {
	const struct http_request *req;
	struct http_response *res;
	long status;
	long retry_after;              /* seconds, -1 if none */
	uint64_t body_start;           /* absolute offset of the body's first byte */
	uint64_t pos;                  /* absolute offset of the next body byte */
	uint64_t want_start, want_end; /* what to deliver; want_end 0: all */
	uint64_t *delivered;           /* bytes handed over, over all attempts */
	int sink_err;
	uint64_t upload_pos;
};

static int header_is(const char *line, size_t len, const char *name, const char **value,
		     size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return 0;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	*value = line;
	*vlen = len;
	return 1;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *data)
{
	struct attempt *a = data;
	size_t len = size * nmemb, vlen;
	const char *v;

	if (len <= 5 || strncmp(line, "HTTP/", 5))
		buf_add(&a->res->headers, line, len); /* past the limit: dropped */

	if (len > 5 && !strncmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', len);
		a->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		a->retry_after = -1;
		a->body_start = 0;
		buf_reset(&a->res->etag);
		buf_reset(&a->res->headers);
	} else if (header_is(line, len, "etag", &v, &vlen)) {
		buf_reset(&a->res->etag);
		buf_add(&a->res->etag, v, vlen);
	} else if (header_is(line, len, "content-range", &v, &vlen)) {
		/* "bytes START-END/TOTAL" */
		if (vlen > 6 && !strncasecmp(v, "bytes ", 6))
			a->body_start = strtoull(v + 6, NULL, 10);
	} else if (header_is(line, len, "retry-after", &v, &vlen)) {
		if (vlen && v[0] >= '0' && v[0] <= '9') {
			a->retry_after = strtol(v, NULL, 10);
		} else {
			char date[128];
			snprintf(date, sizeof(date), "%.*s", (int)vlen, v);
			time_t when = curl_getdate(date, NULL);
			if (when > 0)
				a->retry_after = when > time(NULL) ? (long)(when - time(NULL)) : 0;
		}
	}
	return len;
}

static size_t on_body(char *bytes, size_t size, size_t nmemb, void *data)
{
	struct attempt *a = data;
	size_t len = size * nmemb, skip = 0, take;
	const struct http_request *req = a->req;

	if (a->status < 200 || a->status > 299) {
		size_t room = ERROR_BODY_MAX > a->res->error_body.len
				  ? ERROR_BODY_MAX - a->res->error_body.len
				  : 0;
		buf_add(&a->res->error_body, bytes, len < room ? len : room);
		return len;
	}
	if (a->pos == 0 && a->body_start)
		a->pos = a->body_start;
	if (a->pos < a->want_start)
		skip = a->want_start - a->pos > len ? len : a->want_start - a->pos;
	take = len - skip;
	if (a->want_end && a->pos + skip + take > a->want_end)
		take = a->pos + skip >= a->want_end ? 0 : a->want_end - (a->pos + skip);
	a->pos += len;
	if (take) {
		int err = 0;
		if (req->out)
			err = buf_add(req->out, bytes + skip, take);
		else if (req->sink)
			err = req->sink(req->sink_data, bytes + skip, take);
		if (err) {
			a->sink_err = err;
			return CURL_WRITEFUNC_ERROR;
		}
		*a->delivered += take;
		a->want_start += take;
	}
	return len;
}

static size_t on_upload(char *dest, size_t size, size_t nmemb, void *data)
{
	struct attempt *a = data;
	const struct http_request *req = a->req;
	size_t room = size * nmemb;
	uint64_t total = req->body_fd >= 0 ? req->body_file_len : req->body_len;
	size_t n = total - a->upload_pos < room ? (size_t)(total - a->upload_pos) : room;

	if (!n)
		return 0;
	if (req->body_fd >= 0) {
		ssize_t got = pread(req->body_fd, dest, n, req->body_offset + a->upload_pos);
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		n = (size_t)got;
	} else {
		memcpy(dest, (const char *)req->body + a->upload_pos, n);
	}
	a->upload_pos += n;
	return n;
}

static int on_seek(void *data, curl_off_t offset, int origin)
{
	struct attempt *a = data;
	if (origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	a->upload_pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int retriable_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static int retriable_status(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static long backoff_ms(const struct http_client *c, unsigned attempt, long retry_after)
{
	long d = c->opt.retry_ms;

	if (retry_after >= 0)
		return (retry_after > HTTP_MAX_WAIT_S ? HTTP_MAX_WAIT_S : retry_after) * 1000L;
	for (unsigned i = 1; i < attempt && d < MAX_BACKOFF_MS; i++)
		d *= 2;
	if (d > MAX_BACKOFF_MS)
		d = MAX_BACKOFF_MS;
	/* full jitter over the upper half: clients that failed together spread out */
	return d / 2 + (d > 1 ? rand() % (d / 2 + 1) : 0);
}

static struct curl_slist *build_headers(const struct http_request *req, const struct attempt *a)
{
	struct curl_slist *list = NULL;
	char range[80];

	for (const char *const *h = req->headers; h && *h; h++)
		list = curl_slist_append(list, *h);
	/* no "Expect: 100-continue" round trip before a body; but not under
	 * SigV4: libcurl 7.88 signs the empty "expect:" it does not send, and
	 * S3 answers 100 Continue at once (and refuses early what it would
	 * refuse after gigabytes) */
	if (!req->aws_sigv4)
		list = curl_slist_append(list, "Expect:");
	if (a->want_start || req->has_range) {
		if (a->want_end)
			snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64,
				 a->want_start, a->want_end - 1);
		else
			snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", a->want_start);
		list = curl_slist_append(list, range);
	}
	return list;
}

/* Header lines whose values are secrets (a password in base64, a signature,
 * a session token): traces show their names only, as git's GIT_TRACE_CURL. */
static const char *const secret_headers[] = { "authorization", "proxy-authorization",
					      "x-amz-security-token", "cookie", "set-cookie" };

static void trace_lines(const char *prefix, const char *data, size_t size)
{
	while (size) {
		const char *nl = memchr(data, '\n', size);
		size_t len = nl ? (size_t)(nl - data) + 1 : size, shown = len;
		const char *colon = memchr(data, ':', len);

		for (size_t i = 0; colon && i < sizeof(secret_headers) / sizeof(*secret_headers);
		     i++)
			if ((size_t)(colon - data) == strlen(secret_headers[i]) &&
			    !strncasecmp(data, secret_headers[i], colon - data))
				shown = colon - data + 1;
		while (shown && (data[shown - 1] == '\n' || data[shown - 1] == '\r'))
			shown--;
		if (shown || len > 2)
			fprintf(stderr, "%s%.*s%s\n", prefix, (int)shown, data,
				shown < len && colon && shown == (size_t)(colon - data) + 1
				    ? " <redacted>"
				    : "");
		data += len;
		size -= len;
	}
}

static int on_trace(CURL *h, curl_infotype type, char *data, size_t size, void *unused)
{
	(void)h;
	(void)unused;
	switch (type) {
	case CURLINFO_TEXT:
		trace_lines("* ", data, size);
		break;
	case CURLINFO_HEADER_OUT:
		trace_lines("> ", data, size);
		break;
	case CURLINFO_HEADER_IN:
		trace_lines("< ", data, size);
		break;
	default: /* bodies and TLS records are not traced */
		break;
	}
	return 0;
}

static void setup(struct http_client *c, CURL *h, const struct http_request *req, struct attempt *a,
		  struct curl_slist *headers, char *errbuf)
{
	int upload = req->body || req->body_fd >= 0 || !strcmp(req->method, "PUT") ||
		     !strcmp(req->method, "POST");

	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->opt.connect_timeout);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, c->opt.low_speed_limit);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->opt.low_speed_time);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->opt.verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->opt.verify ? 2L : 0L);
	if (c->opt.ca_info)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->opt.ca_info);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "git-lepton");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->opt.verbose) {
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_trace);
	}

	if (req->aws_sigv4) {
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		curl_easy_setopt(h, CURLOPT_USERPWD, req->userpwd);
	} else if (req->bearer) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, req->bearer);
	} else if (req->userpwd) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, req->userpwd);
	}

	if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (upload) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(h, CURLOPT_READDATA, a);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, a);
		curl_easy_setopt(
		    h, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)(req->body_fd >= 0 ? req->body_file_len : req->body_len));
		if (strcmp(req->method, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	} else if (strcmp(req->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
}

int http_perform(struct http_client *c, const struct http_request *req, struct http_response *res)
{
	char errbuf[CURL_ERROR_SIZE];
	uint64_t delivered = 0;
	CURL *h;
	int err = 0;

	if (global_status != CURLE_OK)
		return lepton_error_set(LEPTON_EIO, "cannot start libcurl: %s",
					curl_easy_strerror(global_status));
	h = take_handle(c);
	if (!h)
		return lepton_error_set(LEPTON_ERR, "cannot start libcurl");
	for (unsigned attempt = 1;; attempt++) {
		struct attempt a = { .req = req, .res = res, .retry_after = -1 };
		struct curl_slist *headers;
		CURLcode rc;

		a.delivered = &delivered;
		a.want_start = (req->has_range ? req->range_offset : 0) + delivered;
		a.want_end =
		    req->has_range && req->range_len ? req->range_offset + req->range_len : 0;
		a.pos = 0;
		buf_reset(&res->error_body);
		headers = build_headers(req, &a);
		curl_easy_reset(h);
		errbuf[0] = '\0';
		setup(c, h, req, &a, headers, errbuf);
		rc = curl_easy_perform(h);
		curl_slist_free_all(headers);
		res->attempts = attempt;
		res->status = a.status;
		if (a.sink_err) {
			err = a.sink_err;
			break;
		}
		if (rc == CURLE_OK && a.status >= 200 && a.status <= 299) {
			if (a.want_end && a.want_start < a.want_end)
				err = lepton_error_set(LEPTON_ECORRUPT,
						       "store '%s': the reply to %s was shorter "
						       "than asked",
						       c->name, req->method);
			break;
		}
		if (rc == CURLE_OK && (req->no_retry_status || !retriable_status(a.status)))
			break;
		if (rc != CURLE_OK && !retriable_code(rc)) {
			err =
			    lepton_error_set(LEPTON_EIO, "store '%s': %s %s", c->name, req->method,
					     *errbuf ? errbuf : curl_easy_strerror(rc));
			break;
		}
		if (attempt > c->opt.retries) {
			if (rc == CURLE_OK)
				break; /* the caller tells what the last status means */
			err = lepton_error_set(LEPTON_EIO, "store '%s': %s failed %u times: %s",
					       c->name, req->method, attempt,
					       *errbuf ? errbuf : curl_easy_strerror(rc));
			break;
		}
		sleep_ms(backoff_ms(c, attempt, a.retry_after));
	}
	give_handle(c, h);
	return err;
}
