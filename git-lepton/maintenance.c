#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "maintenance.h"
#include "testpoint.h"
#include "banned.h"

#define BEGIN_ATTEMPTS 100

static void host_name(char *out, size_t size)
{
	if (gethostname(out, size) < 0)
		snprintf(out, size, "unknown");
	out[size - 1] = '\0';
	for (char *p = out; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			*p = '_';
	if (!*out)
		snprintf(out, size, "unknown");
}

static char *make_token(void)
{
	struct buf token = BUF_INIT;
	unsigned long long r;
	char host[128];

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
	host_name(host, sizeof(host));
	buf_addf(&token, "%016llx.%ld@%s", r, (long)getpid(), host);
	return buf_detach(&token, NULL);
}

/* A token of a process on this host that no longer runs. */
static int owner_dead(const char *token)
{
	const char *dot = strchr(token, '.'), *at = strchr(token, '@');
	char host[128], *end;
	long pid;

	if (!dot || !at || at < dot)
		return 0;
	pid = strtol(dot + 1, &end, 10);
	if (end != at || pid <= 0)
		return 0;
	host_name(host, sizeof(host));
	return !strcmp(at + 1, host) && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static const char *format_time(char *out, size_t size, long long when)
{
	time_t t = (time_t)when;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, size, "%lld", when);
	return out;
}

/* Fresh: younger than the stale limit (a time ahead of ours counts as
 * fresh: another host's clock). */
static int mark_fresh(long long since, long long now)
{
	return now - since < MAINTENANCE_STALE;
}

int maintenance_check(const struct manifest *m, const char *store_name)
{
	char when[64];
	const char *host;

	if (!m->maintenance_token || !mark_fresh(m->maintenance_since, (long long)time(NULL)))
		return 0;
	host = strchr(m->maintenance_token, '@');
	format_time(when, sizeof(when), m->maintenance_since);
	if (host && host[1])
		return lepton_error_set(
		    LEPTON_EBUSY,
		    "store '%s' is being pruned or repacked since %s; try again "
		    "later (if that prune or gc was killed, 'git lepton gc "
		    "--remote' clears its mark: at once on host '%s', on any "
		    "other an hour after it was set)",
		    store_name, when, host + 1);
	return lepton_error_set(LEPTON_EBUSY,
				"store '%s' is being pruned or repacked since %s; try again later "
				"(if that prune or gc was killed, 'git lepton gc --remote' clears "
				"its mark an hour after it was set)",
				store_name, when);
}

static int is_ours(const struct maintenance *mt, const struct manifest *m)
{
	return m->maintenance_token && !strcmp(m->maintenance_token, mt->token);
}

/* After our write: take the manifest's version as ours and check that the
 * mark there is ours; after (may be NULL) gets the manifest. */
static int read_back(struct maintenance *mt, struct manifest *after)
{
	struct manifest back;
	int err;

	buf_reset(&mt->etag);
	if ((err = manifest_read(&back, mt->b, &mt->etag)))
		return err;
	if (!is_ours(mt, &back))
		err = lepton_error_set(LEPTON_EBUSY,
				       "another prune or gc took over store '%s'; try again later",
				       backend_name(mt->b));
	if (!err && after) {
		manifest_release(after);
		*after = back;
	} else {
		manifest_release(&back);
	}
	return err;
}

/* Write m with our mark, time now, if the manifest is still at etag. */
static int write_mark(struct maintenance *mt, struct manifest *m, const char *etag)
{
	struct buf text = BUF_INIT;
	long long now = (long long)time(NULL);
	int err;

	manifest_set_maintenance(m, now, mt->token);
	manifest_format(&text, m);
	err = backend_put_if(mt->b, MANIFEST_KEY, text.data, text.len, etag);
	buf_release(&text);
	if (err)
		return err;
	mt->since = now;
	return read_back(mt, NULL);
}

/* manifest_update(): set our mark unless another process's is fresh. */
static int take_mark(struct manifest *m, const char *etag, void *data)
{
	struct maintenance *mt = data;

	(void)etag;
	if (m->maintenance_token) {
		if (mark_fresh(m->maintenance_since, (long long)time(NULL)) &&
		    !owner_dead(m->maintenance_token)) {
			int err = maintenance_check(m, backend_name(mt->b));
			/* a time ahead of ours, but not fresh: cannot be */
			return err ? err
				   : lepton_error_set(LEPTON_EBUSY, "store '%s' is busy",
						      backend_name(mt->b));
		}
		free(mt->taken_from);
		mt->taken_from = xstrdup(m->maintenance_token);
		mt->taken_since = m->maintenance_since;
	}
	mt->since = (long long)time(NULL);
	manifest_set_maintenance(m, mt->since, mt->token);
	return 0;
}

int maintenance_begin(struct maintenance *out, struct manifest *manifest, struct backend *b)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->b = b;
	out->token = make_token();
	buf_init(&out->etag, 0);
	if (manifest)
		manifest_init(manifest);
	if ((err = manifest_update(b, BEGIN_ATTEMPTS, take_mark, out)) ||
	    (err = read_back(out, manifest))) {
		maintenance_release(out);
		if (manifest)
			manifest_release(manifest);
		return err;
	}
	test_point("maintenance-set");
	return 0;
}

int maintenance_refresh(struct maintenance *mt, int force)
{
	struct manifest m;
	struct buf etag = BUF_INIT;
	int err;

	if (!mt->token)
		return 0;
	if (!force && (long long)time(NULL) - mt->since < MAINTENANCE_REFRESH)
		return 0;
	if ((err = manifest_read(&m, mt->b, &etag)))
		goto done;
	if (!is_ours(mt, &m)) {
		err = lepton_error_set(LEPTON_EBUSY,
				       "another prune or gc took over store '%s' (its mark went "
				       "stale); this one stopped before deleting more",
				       backend_name(mt->b));
	} else if (strcmp(etag.data, mt->etag.data)) {
		err =
		    lepton_error_set(LEPTON_EBUSY,
				     "the refs of store '%s' changed while it was being pruned or "
				     "repacked; stopped before deleting more, run it again",
				     backend_name(mt->b));
	} else {
		err = write_mark(mt, &m, etag.data);
		if (err == LEPTON_ECONFLICT)
			err = lepton_error_set(
			    LEPTON_EBUSY,
			    "the refs of store '%s' changed while it was being "
			    "pruned or repacked; stopped before deleting more, run "
			    "it again",
			    backend_name(mt->b));
	}
	manifest_release(&m);
done:
	buf_release(&etag);
	return err;
}

int maintenance_resync(struct maintenance *mt)
{
	struct manifest m;
	struct buf etag = BUF_INIT;
	int err;

	if (!mt->token)
		return 0;
	if (!(err = manifest_read(&m, mt->b, &etag))) {
		if (!is_ours(mt, &m))
			err = lepton_error_set(LEPTON_EBUSY,
					       "another prune or gc took over store '%s'",
					       backend_name(mt->b));
		else {
			struct buf t = mt->etag;
			mt->etag = etag;
			etag = t;
		}
		manifest_release(&m);
	}
	buf_release(&etag);
	return err;
}

int maintenance_checkpoint(void *data, int force)
{
	return maintenance_refresh(data, force);
}

static int clear_mark(struct manifest *m, const char *etag, void *data)
{
	const struct maintenance *mt = data;

	(void)etag;
	if (!is_ours(mt, m))
		return MANIFEST_KEEP;
	/* the record makes the manifest differ from what it was before the
	 * mark: a push's swap against that fails */
	manifest_set_maintenance(m, 0, NULL);
	manifest_set_maintained(m, (long long)time(NULL), mt->token);
	return 0;
}

int maintenance_end(struct maintenance *mt)
{
	int err = 0;

	if (mt->token && (err = manifest_update(mt->b, BEGIN_ATTEMPTS, clear_mark, mt)))
		err = lepton_error_wrap(err,
					"cannot remove the maintenance mark of store '%s'; "
					"pushes wait for it (run 'git lepton gc --remote')",
					backend_name(mt->b));
	maintenance_release(mt);
	return err;
}

void maintenance_release(struct maintenance *mt)
{
	free(mt->token);
	free(mt->taken_from);
	buf_release(&mt->etag);
	memset(mt, 0, sizeof(*mt));
}
