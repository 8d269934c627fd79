#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend-impl.h"
#include "dav-xml.h"
#include "error.h"
#include "http.h"
#include "run.h"
#include "testpoint.h"
#include "banned.h"

/*
 * The WebDAV backend: objects are resources under the store's URL.
 *
 * Every put is a PUT to tmp/<unique name> and a MOVE (Overwrite: T) into
 * place, so a reader sees the whole object or none of it; collections
 * leading to a key are made with MKCOL when the server answers 409 (nginx
 * needs them unless create_full_put_path is on).  Listing and sweeping
 * read PROPFIND (Depth: 1) replies.
 *
 * The compare-and-swap takes a WebDAV write lock on the key itself
 * (exclusive, Depth 0, a short Timeout), reads the object, compares the
 * etag and MOVEs the new object in with the lock token in a tagged If
 * header, then UNLOCKs.  nginx ignores If-Match on PUT, which is why locks
 * are used; a lock left by a killed pusher expires with its timeout.  A
 * LOCK of a key that does not exist makes an empty resource (RFC 4918's
 * "lock-null" became an empty one): the objects updated with put_if are
 * never empty, so an empty one reads as absent.
 *
 * The etag is a hash of the bytes, as the directory backend has: nginx's
 * ETag is the modification second and size, and two refs manifests of the
 * same size written within a second would look the same.
 *
 * Credentials come from the URL (https://user:password@host/) or, on a
 * 401, from `git credential fill`; they are approved after the first
 * success and rejected when the server refuses them.
 */

#define LOCK_WAIT_MS   20000 /* how long put_if waits for another's lock */
#define LOCK_TIMEOUT_S 60    /* the lock asked for; the server may cut it */
#define LIST_MAX       (256u << 20)

struct http_backend {
	struct backend base;
	struct http_client *client;
	char *base_url;  /* scheme://host[:port]/path, no credentials, no '/' at the end */
	char *base_path; /* /path, decoded, no '/' at the end ("" for the root) */
	char *protocol, *host, *cred_path;
	char *url_user; /* a user name in the URL without a password, or NULL */
	int bearer;     /* send the password as a bearer token */

	pthread_mutex_t cred_lock;
	char *user, *password; /* the credentials in use, or NULL */
	int from_helper;       /* they came from git credential fill */
	int approved;
	unsigned generation; /* changes whenever the credentials do */

	pthread_mutex_t dirs_lock;
	char **dirs; /* collections known to exist */
	size_t nr_dirs, alloc_dirs;
	atomic_ulong counter;
};

static const struct backend_ops http_ops;

static struct http_backend *http_of(const struct backend *b)
{
	return (struct http_backend *)b;
}

/* ---- URLs ---------------------------------------------------------------- */

static void object_url(const struct http_backend *h, const char *key, struct buf *out)
{
	buf_reset(out);
	buf_addstr(out, h->base_url);
	buf_addch(out, '/');
	http_encode(out, key, 1);
}

static int config_says_bearer(void)
{
	struct buf v = BUF_INIT;
	int bearer = 0;

	if (!http_remote_config("httpauth", &v) || !v.len)
		http_git_config("lepton.httpauth", &v);
	bearer = v.len && !strcasecmp(v.data, "bearer");
	buf_release(&v);
	return bearer;
}

int backend_http_open(struct backend **out, const char *url)
{
	const char *scheme_end = strstr(url, "://"), *auth, *auth_end, *at = NULL, *path;
	struct http_backend *h;
	struct http_options opt;
	struct buf b = BUF_INIT;
	size_t path_len;

	*out = NULL;
	auth = scheme_end + 3;
	auth_end = auth + strcspn(auth, "/?#");
	if (*auth_end == '?' || *auth_end == '#' || strpbrk(auth_end, "?#")) {
		char *shown = backend_redact_url(url);
		int err = lepton_error_set(
		    LEPTON_EINVALID, "'%s': a WebDAV store URL has no query or fragment", shown);
		free(shown);
		return err;
	}
	for (const char *p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if ((at ? at + 1 : auth) == auth_end) {
		char *shown = backend_redact_url(url);
		int err = lepton_error_set(LEPTON_EINVALID, "'%s': no host in the URL", shown);
		free(shown);
		return err;
	}
	path = auth_end;
	path_len = strlen(path);
	while (path_len && path[path_len - 1] == '/')
		path_len--;

	h = xcalloc(1, sizeof(*h));
	h->base.ops = &http_ops;
	h->base.name = backend_redact_url(url);
	h->protocol = dav_url_decode(url, scheme_end - url);
	for (char *p = h->protocol; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	h->host = dav_url_decode(at ? at + 1 : auth, auth_end - (at ? at + 1 : auth));
	if (at) {
		const char *colon = memchr(auth, ':', at - auth);
		if (colon) {
			h->user = dav_url_decode(auth, colon - auth);
			h->password = dav_url_decode(colon + 1, at - colon - 1);
		} else {
			h->url_user = dav_url_decode(auth, at - auth);
		}
	}
	buf_addf(&b, "%s://%.*s%.*s", h->protocol, (int)(auth_end - (at ? at + 1 : auth)),
		 at ? at + 1 : auth, (int)path_len, path);
	h->base_url = buf_detach(&b, NULL);
	h->base_path = dav_url_decode(path, path_len);
	h->cred_path = dav_url_decode(path_len ? path + 1 : path, path_len ? path_len - 1 : 0);
	h->bearer = config_says_bearer();
	pthread_mutex_init(&h->cred_lock, NULL);
	pthread_mutex_init(&h->dirs_lock, NULL);

	http_options_init(&opt);
	h->client = http_client_new(h->base.name, &opt);
	http_options_release(&opt);
	*out = &h->base;
	return 0;
}

static void http_free(struct backend *b)
{
	struct http_backend *h = http_of(b);

	http_client_free(h->client);
	free(h->base_url);
	free(h->base_path);
	free(h->protocol);
	free(h->host);
	free(h->cred_path);
	free(h->url_user);
	free(h->user);
	if (h->password) {
		memset(h->password, 0, strlen(h->password));
		free(h->password);
	}
	for (size_t i = 0; i < h->nr_dirs; i++)
		free(h->dirs[i]);
	free(h->dirs);
	pthread_mutex_destroy(&h->cred_lock);
	pthread_mutex_destroy(&h->dirs_lock);
}

/* ---- credentials ---------------------------------------------------------- */

/* git credential ACTION (fill, approve, reject) with what we know;
 * with out, its answer. */
static int run_credential(struct http_backend *h, const char *action, struct buf *out)
{
	const char *argv[] = { "git", "credential", action, NULL };
	struct buf in = BUF_INIT;
	struct run_opts opts = { .stdout_to_stderr = 1 };
	struct buf ignored = BUF_INIT;
	int rc;

	buf_addf(&in, "protocol=%s\nhost=%s\n", h->protocol, h->host);
	if (*h->cred_path)
		buf_addf(&in, "path=%s\n", h->cred_path);
	if (h->user)
		buf_addf(&in, "username=%s\n", h->user);
	else if (h->url_user)
		buf_addf(&in, "username=%s\n", h->url_user);
	if (h->password)
		buf_addf(&in, "password=%s\n", h->password);
	buf_addch(&in, '\n');
	opts.stdin_data = in.data;
	opts.stdin_len = in.len;
	/* approve and reject answer nothing; their output never reaches ours,
	 * which may be a remote helper's protocol */
	rc = run_command_opt(argv, &opts, out ? out : &ignored);
	memset(in.data, 0, in.len);
	buf_release(&in);
	buf_release(&ignored);
	return rc;
}

static char *credential_field(const struct buf *answer, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = answer->data; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > n && !strncmp(line, name, n) && line[n] == '=') {
			struct buf v = BUF_INIT;
			buf_add(&v, line + n + 1, len - n - 1);
			return buf_detach(&v, NULL);
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

/*
 * The server answered 401 to the credentials of generation gen: unless
 * another thread changed them meanwhile, reject the ones that failed and
 * ask git's credential helpers, once.
 */
static int new_credentials(struct http_backend *h, unsigned gen)
{
	struct buf answer = BUF_INIT;
	int err = 0;

	pthread_mutex_lock(&h->cred_lock);
	if (gen != h->generation)
		goto done; /* another request got new ones */
	if (h->password) {
		if (h->from_helper) {
			run_credential(h, "reject", NULL);
			err =
			    lepton_error_set(LEPTON_EINVALID,
					     "store '%s' refused the credentials git's credential "
					     "helpers gave (HTTP 401); they were rejected: check "
					     "the user name and password and try again",
					     h->base.name);
		} else {
			err =
			    lepton_error_set(LEPTON_EINVALID,
					     "store '%s' refused the user and password in its URL "
					     "(HTTP 401); correct them in the remote's URL",
					     h->base.name);
		}
		goto done;
	}
	if (run_credential(h, "fill", &answer) != 0) {
		err = lepton_error_set(LEPTON_EINVALID,
				       "store '%s' asks for credentials (HTTP 401) and git's "
				       "credential helpers gave none; configure credential.helper",
				       h->base.name);
		goto done;
	}
	free(h->user);
	h->user = credential_field(&answer, "username");
	h->password = credential_field(&answer, "password");
	if (!h->password) {
		err = lepton_error_set(LEPTON_EINVALID,
				       "store '%s' asks for credentials (HTTP 401) and git's "
				       "credential helpers gave no password; configure "
				       "credential.helper",
				       h->base.name);
		free(h->user);
		h->user = NULL;
		goto done;
	}
	if (!h->user)
		h->user = xstrdup("");
	h->from_helper = 1;
	h->approved = 0;
	h->generation++;
done:
	pthread_mutex_unlock(&h->cred_lock);
	memset(answer.data, 0, answer.len);
	buf_release(&answer);
	return err;
}

/* The first success with the helpers' credentials: tell them to keep them. */
static void approve_credentials(struct http_backend *h, unsigned gen)
{
	pthread_mutex_lock(&h->cred_lock);
	if (gen == h->generation && h->from_helper && !h->approved) {
		h->approved = 1;
		run_credential(h, "approve", NULL);
	}
	pthread_mutex_unlock(&h->cred_lock);
}

/*
 * Perform req with the store's credentials; on a 401, get credentials from
 * git's helpers and send it again.  0 when the server answered anything
 * but 401 (the caller reads res->status).
 */
static int dav_perform(struct http_backend *h, struct http_request *req, struct http_response *res)
{
	int err;

	for (int round = 0;; round++) {
		struct buf userpwd = BUF_INIT;
		unsigned gen;
		size_t out_len = req->out ? req->out->len : 0;

		pthread_mutex_lock(&h->cred_lock);
		gen = h->generation;
		req->userpwd = req->bearer = NULL;
		if (h->password && h->bearer) {
			buf_addstr(&userpwd, h->password);
			req->bearer = userpwd.data;
		} else if (h->password) {
			buf_addf(&userpwd, "%s:%s", h->user ? h->user : "", h->password);
			req->userpwd = userpwd.data;
		}
		pthread_mutex_unlock(&h->cred_lock);

		http_response_release(res);
		http_response_init(res);
		err = http_perform(h->client, req, res);
		memset(userpwd.data, 0, userpwd.len);
		buf_release(&userpwd);
		req->userpwd = req->bearer = NULL;
		if (err && strstr(lepton_error_last(), "certificate")) {
			char *msg = xstrdup(lepton_error_last());
			err = lepton_error_set(err,
					       "%s; if you trust the server's certificate, name "
					       "its CA with http.sslCAInfo",
					       msg);
			free(msg);
		}
		if (err)
			return err;
		if (res->status != 401) {
			if (res->status >= 200 && res->status <= 299)
				approve_credentials(h, gen);
			return 0;
		}
		if (req->out)
			buf_setlen(req->out, out_len);
		if (round >= 3)
			return lepton_error_set(
			    LEPTON_EINVALID, "store '%s' keeps refusing the credentials (HTTP 401)",
			    h->base.name);
		if ((err = new_credentials(h, gen)))
			return err;
	}
}

/* ---- requests ------------------------------------------------------------- */

static int status_error(const struct http_backend *h, const char *method, const char *key,
			const struct http_response *res)
{
	long s = res->status;

	if (s == 404)
		return lepton_error_set(LEPTON_ENOTFOUND, "'%s' is not in store '%s'", key,
					h->base.name);
	if (s == 403)
		return lepton_error_set(LEPTON_EINVALID,
					"store '%s' forbids %s of '%s' (HTTP 403); check the "
					"server's permissions",
					h->base.name, method, key);
	if (s == 405 || s == 501)
		return lepton_error_set(LEPTON_EINVALID,
					"store '%s' does not allow %s (HTTP %ld); the server "
					"must offer WebDAV (PUT, MKCOL, MOVE, DELETE, PROPFIND, "
					"LOCK, UNLOCK)",
					h->base.name, method, s);
	if (s == 507)
		return lepton_error_set(LEPTON_EIO, "store '%s' is full (HTTP 507)", h->base.name);
	return lepton_error_set(LEPTON_EIO, "store '%s': %s of '%s' failed with HTTP %ld",
				h->base.name, method, key, s);
}

static int ok(long status)
{
	return status >= 200 && status <= 299;
}

/* One request of method to key (a collection when it ends with '/'). */
static int simple(struct http_backend *h, const char *method, const char *key,
		  const char *const *headers, struct http_response *res)
{
	struct http_request req;
	struct buf url = BUF_INIT;
	int err;

	object_url(h, key, &url);
	http_request_init(&req);
	req.method = method;
	req.url = url.data;
	req.headers = headers;
	err = dav_perform(h, &req, res);
	buf_release(&url);
	return err;
}

static int known_dir(struct http_backend *h, const char *dir, size_t len)
{
	int known = 0;
	pthread_mutex_lock(&h->dirs_lock);
	for (size_t i = 0; i < h->nr_dirs && !known; i++)
		known = strlen(h->dirs[i]) == len && !memcmp(h->dirs[i], dir, len);
	pthread_mutex_unlock(&h->dirs_lock);
	return known;
}

static void add_known_dir(struct http_backend *h, const char *dir, size_t len)
{
	struct buf d = BUF_INIT;
	buf_add(&d, dir, len);
	pthread_mutex_lock(&h->dirs_lock);
	if (h->nr_dirs == h->alloc_dirs) {
		h->alloc_dirs = h->alloc_dirs ? 2 * h->alloc_dirs : 32;
		h->dirs = xrealloc(h->dirs, h->alloc_dirs * sizeof(*h->dirs));
	}
	h->dirs[h->nr_dirs++] = buf_detach(&d, NULL);
	pthread_mutex_unlock(&h->dirs_lock);
}

/* Collections may have been removed behind our back: check them again. */
static int forget_dirs(struct http_backend *h)
{
	pthread_mutex_lock(&h->dirs_lock);
	for (size_t i = 0; i < h->nr_dirs; i++)
		free(h->dirs[i]);
	h->nr_dirs = 0;
	pthread_mutex_unlock(&h->dirs_lock);
	return 0;
}

/* MKCOL the collections leading to key under the store's root, which must
 * exist: a store that vanished in the middle of a push is not made again
 * piece by piece (backend_create() makes the root). */
static int make_leading_dirs(struct http_backend *h, const char *key)
{
	struct http_response res;
	struct buf dir = BUF_INIT;
	int err = 0;

	http_response_init(&res);
	for (const char *slash = strchr(key, '/'); slash && !err; slash = strchr(slash + 1, '/')) {
		size_t len = slash - key + 1;
		if (known_dir(h, key, len))
			continue;
		buf_reset(&dir);
		buf_add(&dir, key, len);
		if ((err = simple(h, "MKCOL", dir.data, NULL, &res)))
			break;
		if (ok(res.status) || res.status == 405 /* exists */)
			add_known_dir(h, key, len);
		else if (res.status == 409)
			err = lepton_error_set(LEPTON_ENOTFOUND,
					       "store '%s' is gone (MKCOL of '%s' found no parent)",
					       h->base.name, dir.data);
		else
			err = status_error(h, "MKCOL", dir.data, &res);
	}
	http_response_release(&res);
	buf_release(&dir);
	return err;
}

static int http_create(struct backend *b)
{
	struct http_backend *h = http_of(b);
	struct http_response res;
	struct buf path = BUF_INIT, url = BUF_INIT;
	struct http_request req;
	const char *p = h->base_url + strlen(h->protocol) + 3;
	int err = 0;

	/* every collection of the path, from the top: 405 is one that exists */
	p += strcspn(p, "/");
	http_response_init(&res);
	for (const char *slash = p; *slash && !err;) {
		const char *next = strchr(slash + 1, '/');
		size_t len = next ? (size_t)(next - h->base_url) : strlen(h->base_url);
		buf_reset(&url);
		buf_add(&url, h->base_url, len);
		buf_addch(&url, '/');
		http_request_init(&req);
		req.method = "MKCOL";
		req.url = url.data;
		if ((err = dav_perform(h, &req, &res)))
			break;
		if (!ok(res.status) && res.status != 405 && !next)
			err = status_error(h, "MKCOL", "", &res);
		if (!next)
			break;
		slash = next;
	}
	http_response_release(&res);
	buf_release(&path);
	buf_release(&url);
	return err;
}

/* GET key (a range when len) into out or a sink. */
static int get(struct http_backend *h, const char *key, int has_range, uint64_t offset,
	       uint64_t len, struct buf *out, backend_sink_fn fn, void *data)
{
	struct http_request req;
	struct http_response res;
	struct buf url = BUF_INIT;
	int err;

	object_url(h, key, &url);
	http_request_init(&req);
	http_response_init(&res);
	req.method = "GET";
	req.url = url.data;
	req.out = out;
	req.sink = fn;
	req.sink_data = data;
	req.has_range = has_range;
	req.range_offset = offset;
	req.range_len = len;
	err = dav_perform(h, &req, &res);
	if (!err && res.status == 416)
		err =
		    lepton_error_set(LEPTON_ECORRUPT, "'%s' of store '%s' is shorter than expected",
				     key, h->base.name);
	else if (!err && !ok(res.status))
		err = status_error(h, "GET", key, &res);
	http_response_release(&res);
	buf_release(&url);
	return err;
}

static int http_get_range_stream(struct backend *b, const char *key, uint64_t offset, uint64_t len,
				 backend_sink_fn fn, void *data)
{
	return get(http_of(b), key, 1, offset, len, NULL, fn, data);
}

static int http_get_stream(struct backend *b, const char *key, backend_sink_fn fn, void *data)
{
	return get(http_of(b), key, 0, 0, 0, NULL, fn, data);
}

static int http_exists(struct backend *b, const char *key)
{
	struct http_backend *h = http_of(b);
	struct http_response res;
	int ret;

	http_response_init(&res);
	ret = simple(h, "HEAD", key, NULL, &res);
	if (!ret)
		ret = ok(res.status)      ? 1
		      : res.status == 404 ? 0
					  : status_error(h, "HEAD", key, &res);
	http_response_release(&res);
	return ret;
}

static int http_delete(struct backend *b, const char *key)
{
	struct http_backend *h = http_of(b);
	struct http_response res;
	int err;

	http_response_init(&res);
	err = simple(h, "DELETE", key, NULL, &res);
	if (!err && !ok(res.status) && res.status != 404)
		err = status_error(h, "DELETE", key, &res);
	http_response_release(&res);
	return err;
}

/* Remove a temporary object after a failure, keeping that failure's
 * message: a leftover is swept later. */
static void discard_tmp(struct http_backend *h, const char *tmp)
{
	char *msg = xstrdup(lepton_error_last());

	http_delete(&h->base, tmp);
	lepton_error_set(LEPTON_ERR, "%s", msg);
	free(msg);
}

/* A name under tmp/ no other writer picks. */
static void tmp_key(struct http_backend *h, struct buf *out)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	buf_reset(out);
	buf_addf(out, "tmp/put-%ld-%lu-%016llx", (long)getpid(),
		 (unsigned long)atomic_fetch_add(&h->counter, 1), (unsigned long long)r);
}

/* PUT the body to tmp/, making tmp/ when it is missing. */
static int put_tmp(struct http_backend *h, struct http_request *req, const char *tmp)
{
	struct http_response res;
	struct buf url = BUF_INIT;
	int err;

	/* nginx answers a PUT into a missing collection with 500, which looks
	 * like a failure to retry: make tmp/ first (once per process) */
	if ((err = make_leading_dirs(h, tmp)))
		return err;
	object_url(h, tmp, &url);
	req->method = "PUT";
	req->url = url.data;
	http_response_init(&res);
	for (int round = 0;; round++) {
		if ((err = dav_perform(h, req, &res)))
			break;
		if (ok(res.status))
			break;
		if (res.status == 409 && !round) {
			/* tmp/ went away meanwhile */
			if ((err = forget_dirs(h), make_leading_dirs(h, tmp)))
				break;
			continue;
		}
		err = status_error(h, "PUT", tmp, &res);
		break;
	}
	http_response_release(&res);
	buf_release(&url);
	return err;
}

/* MOVE tmp over key, making the collections leading to key when the server
 * wants them; if_header (or NULL) goes with it. */
static int move_into_place(struct http_backend *h, const char *tmp, const char *key,
			   const char *if_header, struct http_response *res)
{
	struct buf dest = BUF_INIT, dest_header = BUF_INIT;
	const char *headers[4];
	size_t n = 0;
	int err;

	object_url(h, key, &dest);
	buf_addf(&dest_header, "Destination: %s", dest.data);
	headers[n++] = dest_header.data;
	headers[n++] = "Overwrite: T";
	if (if_header)
		headers[n++] = if_header;
	headers[n] = NULL;
	for (int round = 0;; round++) {
		if ((err = simple(h, "MOVE", tmp, headers, res)))
			break;
		if (res->status == 409 && !round) {
			if ((err = forget_dirs(h), make_leading_dirs(h, key)))
				break;
			continue;
		}
		break;
	}
	buf_release(&dest);
	buf_release(&dest_header);
	return err;
}

/*
 * A MOVE sent again (its first reply was lost) finds its source gone: 404.
 * Did the first one land?  Yes when key now holds data, or,
 * without data (an immutable object), when key exists.
 */
static int moved_anyway(struct http_backend *h, const char *key, const struct http_response *res,
			const void *data, size_t len)
{
	struct buf bytes;
	int landed = 0;

	if (res->status != 404 || res->attempts < 2)
		return 0;
	if (!data) {
		landed = http_exists(&h->base, key) == 1;
	} else {
		buf_init_limit(&bytes, len + 1);
		if (!get(h, key, 0, 0, 0, &bytes, NULL, NULL))
			landed = bytes.len == len && !memcmp(bytes.data, data, len);
		buf_release(&bytes);
	}
	lepton_error_clear();
	return landed;
}

static int put_request(struct http_backend *h, const char *key, struct http_request *req)
{
	struct http_response res;
	struct buf tmp = BUF_INIT;
	int err;

	tmp_key(h, &tmp);
	http_response_init(&res);
	if ((err = put_tmp(h, req, tmp.data)))
		goto done;
	err = move_into_place(h, tmp.data, key, NULL, &res);
	if (!err && !ok(res.status) && !moved_anyway(h, key, &res, NULL, 0))
		err = status_error(h, "MOVE", key, &res);
	if (err)
		discard_tmp(h, tmp.data);
done:
	http_response_release(&res);
	buf_release(&tmp);
	return err;
}

static int http_put(struct backend *b, const char *key, const void *data, size_t len)
{
	struct http_request req;

	http_request_init(&req);
	req.body = data ? data : "";
	req.body_len = len;
	return put_request(http_of(b), key, &req);
}

static int http_put_file(struct backend *b, const char *key, const char *path)
{
	struct http_request req;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return lepton_error_errno(LEPTON_EIO, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot read '%s'", path);
		close(fd);
		return err;
	}
	http_request_init(&req);
	req.body_fd = fd;
	req.body_offset = 0;
	req.body_file_len = (uint64_t)st.st_size;
	err = put_request(http_of(b), key, &req);
	close(fd);
	return err;
}

/* ---- PROPFIND -------------------------------------------------------------- */

struct dav_entry {
	const char *name; /* the last path segment */
	int collection;
	time_t modified; /* 0 when not given */
};

struct propfind_state {
	struct http_backend *h;
	const char *self; /* the collection listed: not one of its members */
	int (*fn)(struct http_backend *h, void *data, const struct dav_entry *e);
	void *data;
};

static int propfind_member(void *data, const struct dav_member *m)
{
	struct propfind_state *pf = data;
	const char *slash = strrchr(m->path, '/');
	struct dav_entry e = { slash ? slash + 1 : m->path, m->collection, m->modified };

	if (!strcmp(m->path, pf->self) || !*e.name)
		return 0;
	return pf->fn(pf->h, pf->data, &e);
}

/* PROPFIND (Depth: 1) of the collection prefix; fn gets each member.  A
 * missing collection has no members. */
static int propfind(struct http_backend *h, const char *prefix,
		    int (*fn)(struct http_backend *h, void *data, const struct dav_entry *e),
		    void *data)
{
	static const char body[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
				   "<D:propfind xmlns:D=\"DAV:\"><D:prop>"
				   "<D:resourcetype/><D:getlastmodified/>"
				   "</D:prop></D:propfind>\n";
	static const char *const headers[] = { "Depth: 1",
					       "Content-Type: application/xml; charset=utf-8",
					       NULL };
	struct http_request req;
	struct http_response res;
	struct buf url = BUF_INIT, reply, self = BUF_INIT;
	struct propfind_state pf;
	int err;

	buf_init_limit(&reply, LIST_MAX);
	buf_addstr(&url, h->base_url);
	buf_addch(&url, '/');
	http_encode(&url, prefix, 1);
	if (url.data[url.len - 1] != '/')
		buf_addch(&url, '/');
	buf_addf(&self, "%s/%s", h->base_path, prefix);
	while (self.len && self.data[self.len - 1] == '/')
		buf_setlen(&self, self.len - 1);

	http_request_init(&req);
	http_response_init(&res);
	req.method = "PROPFIND";
	req.url = url.data;
	req.headers = headers;
	req.body = body;
	req.body_len = sizeof(body) - 1;
	req.out = &reply;
	if ((err = dav_perform(h, &req, &res)))
		goto done;
	if (res.status == 404)
		goto done;
	if (res.status != 207) {
		err = status_error(h, "PROPFIND", *prefix ? prefix : "/", &res);
		goto done;
	}
	pf.h = h;
	pf.self = self.data;
	pf.fn = fn;
	pf.data = data;
	err = dav_multistatus(reply.data, reply.len, propfind_member, &pf);
done:
	http_response_release(&res);
	buf_release(&url);
	buf_release(&reply);
	buf_release(&self);
	return err;
}

struct list_state {
	int (*fn)(void *data, const char *name);
	void *data;
};

static int list_one(struct http_backend *h, void *data, const struct dav_entry *e)
{
	struct list_state *s = data;
	(void)h;
	return s->fn(s->data, e->name);
}

static int http_list(struct backend *b, const char *prefix, int (*fn)(void *data, const char *name),
		     void *data)
{
	struct list_state s = { fn, data };
	return propfind(http_of(b), prefix, list_one, &s);
}

struct sweep_state {
	long long age;
	time_t now;
	int removed;
	struct buf key;
};

static int sweep_one(struct http_backend *h, void *data, const struct dav_entry *e)
{
	struct sweep_state *s = data;

	if (e->collection || !e->modified || s->now - e->modified < s->age)
		return 0;
	buf_reset(&s->key);
	buf_addf(&s->key, "tmp/%s", e->name);
	if (http_delete(&h->base, s->key.data) == 0)
		s->removed++;
	else
		lepton_error_clear();
	return 0;
}

static int http_sweep(struct backend *b, long long age)
{
	struct sweep_state s = { age, time(NULL), 0, BUF_INIT };
	int err = propfind(http_of(b), "tmp", sweep_one, &s);
	buf_release(&s.key);
	return err < 0 ? err : s.removed;
}

/* ---- compare-and-swap ------------------------------------------------------ */

static int http_get_versioned(struct backend *b, const char *key, struct buf *out, struct buf *etag)
{
	/* not the server's ETag: nginx's is the second of the change and the
	 * size; and an empty object is what a LOCK of a missing key leaves */
	return backend_get_content_versioned(b, key, out, etag, 1);
}

static long lock_wait_ms(void)
{
	/* the test suite shortens the wait for a lock that never goes */
	const char *v = getenv("GIT_LEPTON_TEST_LOCK_WAIT_MS");
	return v && *v ? strtol(v, NULL, 10) : LOCK_WAIT_MS;
}

/* An exclusive write lock on key; its token ("urn:...") in token. */
static int take_lock(struct http_backend *h, const char *key, struct buf *token)
{
	static const char body[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
				   "<D:lockinfo xmlns:D=\"DAV:\">"
				   "<D:lockscope><D:exclusive/></D:lockscope>"
				   "<D:locktype><D:write/></D:locktype>"
				   "<D:owner>git-lepton</D:owner></D:lockinfo>\n";
	char timeout[64];
	const char *headers[] = { timeout, "Depth: 0",
				  "Content-Type: application/xml; charset=utf-8", NULL };
	struct http_request req;
	struct http_response res;
	struct buf url = BUF_INIT, reply;
	long waited = 0, step = 5, limit = lock_wait_ms();
	int err = 0, made_dirs = 0;

	snprintf(timeout, sizeof(timeout), "Timeout: Second-%d", LOCK_TIMEOUT_S);
	buf_init_limit(&reply, 1 << 20);
	object_url(h, key, &url);
	http_response_init(&res);
	for (;;) {
		http_request_init(&req);
		req.method = "LOCK";
		req.url = url.data;
		req.headers = headers;
		req.body = body;
		req.body_len = sizeof(body) - 1;
		req.out = &reply;
		req.no_retry_status = 1;
		buf_reset(&reply);
		if ((err = dav_perform(h, &req, &res)))
			break;
		if (ok(res.status)) {
			char *t = dav_lock_token(reply.data, reply.len);
			if (!t || !*t)
				err = lepton_error_set(LEPTON_EIO,
						       "store '%s' granted a lock on '%s' without "
						       "a lock token",
						       h->base.name, key);
			else
				buf_addstr(token, t);
			free(t);
			break;
		}
		if (res.status == 409 && !made_dirs) {
			made_dirs = 1;
			if ((err = make_leading_dirs(h, key)))
				break;
			continue;
		}
		if (res.status == 405 || res.status == 501 || res.status == 400) {
			err =
			    lepton_error_set(LEPTON_EINVALID,
					     "store '%s' does not support WebDAV locks (LOCK "
					     "answered HTTP %ld); git-lepton needs them to update "
					     "'%s' without losing a concurrent push: enable them "
					     "on the server (nginx: dav_ext_lock)",
					     h->base.name, res.status, key);
			break;
		}
		if (res.status != 423) {
			err = status_error(h, "LOCK", key, &res);
			break;
		}
		if (waited >= limit) {
			err = lepton_error_set(LEPTON_ERR,
					       "cannot lock '%s' of store '%s': another push has "
					       "held it for %ld s; a lock left by a killed push "
					       "expires by itself (after at most %d s here, or the "
					       "server's own limit): try again later",
					       key, h->base.name, waited / 1000, LOCK_TIMEOUT_S);
			break;
		}
		/* pushers hold the lock for a few requests: back off a little,
		 * with some spread so they do not wake together */
		sleep_ms(step + rand() % (step + 1));
		waited += step;
		if (step < 200)
			step *= 2;
	}
	http_response_release(&res);
	buf_release(&url);
	buf_release(&reply);
	return err;
}

static void drop_lock(struct http_backend *h, const char *key, const char *token)
{
	struct http_response res;
	struct buf header = BUF_INIT;
	const char *headers[2];

	buf_addf(&header, "Lock-Token: <%s>", token);
	headers[0] = header.data;
	headers[1] = NULL;
	char *msg = xstrdup(lepton_error_last());

	http_response_init(&res);
	/* a failure leaves a lock that expires with its timeout; the message
	 * of what failed before stays */
	simple(h, "UNLOCK", key, headers, &res);
	lepton_error_set(LEPTON_ERR, "%s", msg);
	free(msg);
	http_response_release(&res);
	buf_release(&header);
}

static int http_put_if(struct backend *b, const char *key, const void *data, size_t len,
		       const char *etag)
{
	struct http_backend *h = http_of(b);
	struct buf token = BUF_INIT, current = BUF_INIT, now = BUF_INIT, tmp = BUF_INIT,
		   url = BUF_INIT, if_header = BUF_INIT;
	struct http_request req;
	struct http_response res;
	int err;

	http_response_init(&res);
	if ((err = take_lock(h, key, &token)))
		goto done;
	if ((err = http_get_versioned(b, key, &current, &now)))
		goto unlock;
	if (strcmp(now.data, etag ? etag : "")) {
		err = lepton_error_set(LEPTON_ECONFLICT, "'%s' of store '%s' changed meanwhile",
				       key, b->name);
		goto unlock;
	}
	test_point("push-refs-locked");
	http_request_init(&req);
	req.body = data ? data : "";
	req.body_len = len;
	tmp_key(h, &tmp);
	if ((err = put_tmp(h, &req, tmp.data)))
		goto unlock;
	object_url(h, key, &url);
	/* tagged: the condition is on key's lock, not on the tmp/ source */
	buf_addf(&if_header, "If: <%s> (<%s>)", url.data, token.data);
	err = move_into_place(h, tmp.data, key, if_header.data, &res);
	if (!err && (res.status == 423 || res.status == 412))
		err = lepton_error_set(LEPTON_ECONFLICT,
				       "the lock on '%s' of store '%s' was lost (it expired?); "
				       "nothing was written",
				       key, b->name);
	else if (!err && !ok(res.status) && !moved_anyway(h, key, &res, data ? data : "", len))
		err = status_error(h, "MOVE", key, &res);
	if (err)
		discard_tmp(h, tmp.data);
	test_point("push-refs-written");
unlock:
	drop_lock(h, key, token.data);
done:
	http_response_release(&res);
	buf_release(&token);
	buf_release(&current);
	buf_release(&now);
	buf_release(&tmp);
	buf_release(&url);
	buf_release(&if_header);
	return err;
}

static const struct backend_ops http_ops = {
	.kind = "webdav",
	.free = http_free,
	.create = http_create,
	.get_range_stream = http_get_range_stream,
	.get_stream = http_get_stream,
	.exists = http_exists,
	.put = http_put,
	.put_file = http_put_file,
	.list = http_list,
	.sweep = http_sweep,
	.delete = http_delete,
	.get_versioned = http_get_versioned,
	.put_if = http_put_if,
};
