#ifndef LEPTON_HTTP_H
#define LEPTON_HTTP_H

#include <stdint.h>
#include <stddef.h>

#include "backend.h"
#include "buf.h"

/*
 * The HTTP layer under the S3 and WebDAV stores: libcurl, a pool of
 * connections that threads share, and one call that performs a request to
 * the end, retrying what can be retried.
 *
 * A request is retried on a connection failure, a cut or timed-out
 * transfer, and replies 429, 500, 502, 503 and 504, up to retries more
 * times, waiting an exponentially growing, jittered delay or what the
 * server's Retry-After asks (up to HTTP_MAX_WAIT_S).  A streamed body cut
 * in the middle resumes with a Range from where it stopped; bytes already
 * handed to the sink are not handed over again.
 */

#define HTTP_MAX_WAIT_S 60

struct http_client;

struct http_options {
	int verify;           /* TLS peer and host verification (http.sslVerify) */
	char *ca_info;        /* CA bundle (http.sslCAInfo), or NULL */
	unsigned retries;     /* attempts after the first (lepton.retries) */
	long retry_ms;        /* first backoff step */
	long low_speed_limit; /* bytes/s below which... */
	long low_speed_time;  /* ...for this many seconds a transfer is cut */
	long connect_timeout; /* seconds */
	int verbose;          /* GIT_CURL_VERBOSE: libcurl traces to stderr */
};

/* Defaults, then git's settings: http.sslVerify, http.sslCAInfo,
 * http.lowSpeedLimit, http.lowSpeedTime, lepton.retries and the variables
 * GIT_SSL_NO_VERIFY, GIT_SSL_CAINFO, GIT_HTTP_LOW_SPEED_LIMIT/TIME and
 * GIT_CURL_VERBOSE, as git reads them. */
void http_options_init(struct http_options *opt);
void http_options_release(struct http_options *opt);

/* name is the store's redacted URL, for messages; opt is copied. */
struct http_client *http_client_new(const char *name, const struct http_options *opt);
void http_client_free(struct http_client *c);

struct http_request {
	const char *method; /* "GET", "PUT", "PROPFIND", ... */
	const char *url;    /* whole and already percent-encoded */
	/* "Name: value" lines sent as they are (NULL-terminated; may be NULL) */
	const char *const *headers;

	/* credentials: at most one kind */
	const char *aws_sigv4; /* "aws:amz:REGION:s3" with userpwd "KEY:SECRET" */
	const char *userpwd;   /* basic auth (or the SigV4 key pair) */
	const char *bearer;    /* a bearer token */

	/* the request body: from memory, or len bytes of fd from offset */
	const void *body;
	size_t body_len;
	int body_fd; /* -1 (http_request_init) when the body is not a file */
	uint64_t body_offset;
	uint64_t body_file_len;

	/* a byte range of the object (range_len 0: to the end) */
	int has_range;
	uint64_t range_offset;
	uint64_t range_len;

	/* where a 2xx body goes: appended to out (its limit applies), handed
	 * to sink in pieces, or dropped when both are NULL */
	struct buf *out;
	backend_sink_fn sink;
	void *sink_data;

	/* no retry on a reply (a conditional PUT's failure must be seen);
	 * connection failures before anything was sent are still retried */
	int no_retry_status;
};

void http_request_init(struct http_request *req);

struct http_response {
	long status;
	struct buf etag;       /* the ETag header, quotes and all ("" if none) */
	struct buf error_body; /* the first 64 KiB of a non-2xx body */
	struct buf headers;    /* the final reply's header lines (64 KiB at most) */
	unsigned attempts;     /* how many times it was sent */
};

void http_response_init(struct http_response *res);
void http_response_release(struct http_response *res);
/* The value of header name (any case) of the final reply into out: 1 when
 * it was there, else 0 and out empty. */
int http_response_header(const struct http_response *res, const char *name, struct buf *out);

/*
 * Perform req and fill res.  Returns 0 when the server answered (whatever
 * the status: the caller reads res->status), or a negative error with a
 * message when it could not be reached or the transfer failed for good
 * (LEPTON_EIO), or the sink stopped it (the sink's value).
 */
int http_perform(struct http_client *c, const struct http_request *req, struct http_response *res);

/* Percent-encode s per RFC 3986 (unreserved characters kept; '/' kept
 * when keep_slash) and append to out. */
void http_encode(struct buf *out, const char *s, int keep_slash);

/* A git config value as `git config --get` finds it (so -c, includes and
 * the GIT_CONFIG_* variables count; all settings are read once a
 * process): 1 and out set when found, 0 when not. */
int http_git_config(const char *key, struct buf *out);
/* lepton.<remote>.<var> for the remote backend_set_remote() named. */
int http_remote_config(const char *var, struct buf *out);
/* A git boolean ("true", "yes", "on", "1" / "false", ..., ""), else def. */
int http_parse_bool(const char *v, int def);

#endif
