#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "backend-impl.h"
#include "error.h"
#include "testpoint.h"
#include "banned.h"

/*
 * The directory backend.  Objects are files under the root; every put goes
 * to tmp/ and is renamed into place.  The compare-and-swap takes
 * `<key>.lock` (created exclusively, as git takes index.lock), compares the
 * etag (XXH3 and size of the current bytes) and renames the new object over
 * the old one before dropping the lock: two processes never interleave, and
 * a loser sees LEPTON_ECONFLICT.
 */

#define LOCK_WAIT_MS 20000 /* how long a writer waits for another's lock */

struct dir_backend {
	struct backend base;
	char *root; /* absolute directory */
};

static const struct backend_ops dir_ops;

static struct dir_backend *dir_of(const struct backend *b)
{
	return (struct dir_backend *)b;
}

static int is_file_url(const char *url)
{
	return !strncmp(url, "file://", 7);
}

int backend_dir_open(struct backend **out, const char *url)
{
	struct dir_backend *d;
	struct buf root = BUF_INIT;
	const char *path = url;

	*out = NULL;
	if (is_file_url(url)) {
		path = url + 7;
		if (*path != '/')
			return lepton_error_set(LEPTON_EINVALID,
						"'%s': a file URL needs an absolute path "
						"(file:///path)",
						url);
	}
	if (!*path)
		return lepton_error_set(LEPTON_EINVALID, "empty store path");
	if (*path != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return lepton_error_errno(LEPTON_EIO, "cannot resolve '%s'", url);
		buf_addf(&root, "%s/", cwd);
	}
	buf_addstr(&root, path);
	while (root.len > 1 && root.data[root.len - 1] == '/')
		buf_setlen(&root, root.len - 1);

	d = xcalloc(1, sizeof(*d));
	d->base.ops = &dir_ops;
	d->base.name = xstrdup(url);
	d->root = buf_detach(&root, NULL);
	*out = &d->base;
	return 0;
}

static void dir_free(struct backend *b)
{
	free(dir_of(b)->root);
}

static const char *dir_local_path(const struct backend *b)
{
	return dir_of(b)->root;
}

static char *object_path(const struct backend *b, const char *key)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s", dir_of(b)->root, key);
	return buf_detach(&p, NULL);
}

/* Create the directories leading to path (not path itself) below the
 * store's root, which must exist: a store that vanished in the middle of a
 * push is not made again piece by piece (backend_create() makes a root). */
static int make_leading_dirs(const struct backend *b, const char *path)
{
	size_t root_len = strlen(dir_of(b)->root);
	struct stat st;
	char *copy;
	int err = 0;

	if (stat(dir_of(b)->root, &st) < 0)
		return lepton_error_errno(LEPTON_ENOTFOUND, "store '%s' is gone", b->name);
	if (!S_ISDIR(st.st_mode))
		return lepton_error_set(LEPTON_EINVALID, "store '%s' is not a directory", b->name);
	copy = xstrdup(path);
	for (char *slash = strchr(copy + root_len + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(copy, 0777) < 0 && errno != EEXIST) {
			err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", copy);
			break;
		}
		*slash = '/';
	}
	free(copy);
	return err;
}

static int dir_create(struct backend *b)
{
	int err = make_dirs(dir_of(b)->root);
	if (err)
		err = lepton_error_wrap(err, "cannot create store '%s'", b->name);
	return err;
}

static int open_object(const struct backend *b, const char *key, int *fd)
{
	char *path = object_path(b, key);
	int err = 0;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		err = errno == ENOENT ? lepton_error_set(LEPTON_ENOTFOUND,
							 "'%s' is not in store '%s'", key, b->name)
				      : lepton_error_errno(LEPTON_EIO, "cannot open '%s'", path);
	free(path);
	return err;
}

/* Stream len bytes of key from offset to fn (to the end when whole, where
 * a short object is no error). */
static int dir_read(struct backend *b, const char *key, uint64_t offset, uint64_t len, int whole,
		    backend_sink_fn fn, void *data)
{
	static const size_t piece = 1 << 20;
	char *bytes = xmalloc(piece);
	int fd, err = open_object(b, key, &fd);

	while (!err && (whole || len)) {
		ssize_t n = pread(fd, bytes, whole || len > piece ? piece : len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = lepton_error_errno(LEPTON_EIO, "cannot read '%s' of store '%s'", key,
						 b->name);
		else if (!n && whole)
			break;
		else if (!n)
			err = lepton_error_set(LEPTON_ECORRUPT,
					       "'%s' of store '%s' is shorter than expected", key,
					       b->name);
		else if (!(err = fn(data, bytes, n))) {
			offset += n;
			len -= whole ? 0 : (uint64_t)n;
		}
	}
	if (fd >= 0)
		close(fd);
	free(bytes);
	return err;
}

static int dir_get_range_stream(struct backend *b, const char *key, uint64_t offset, uint64_t len,
				backend_sink_fn fn, void *data)
{
	return dir_read(b, key, offset, len, 0, fn, data);
}

static int dir_get_stream(struct backend *b, const char *key, backend_sink_fn fn, void *data)
{
	return dir_read(b, key, 0, 0, 1, fn, data);
}

static int dir_exists(struct backend *b, const char *key)
{
	char *path = object_path(b, key);
	struct stat st;
	int ret = 1;

	if (stat(path, &st) < 0)
		ret = errno == ENOENT || errno == ENOTDIR
			  ? 0
			  : lepton_error_errno(LEPTON_EIO, "cannot look at '%s'", path);
	free(path);
	return ret;
}

static mode_t current_umask(void)
{
	static mode_t mask = (mode_t)-1;
	if (mask == (mode_t)-1) {
		mask = umask(022);
		umask(mask);
	}
	return mask;
}

/* A new temporary file under <root>/tmp. */
static int open_tmp(const struct backend *b, struct buf *tmp_path, int *fd)
{
	buf_addf(tmp_path, "%s/tmp/put-XXXXXX", dir_of(b)->root);
	int err = make_leading_dirs(b, tmp_path->data);
	if (err)
		return err;
	*fd = mkstemp(tmp_path->data);
	if (*fd < 0)
		return lepton_error_errno(LEPTON_EIO, "cannot write to store '%s'", b->name);
	/* mkstemp makes 0600 files; a store shared by a team is read by all,
	 * as far as the umask allows, and its objects are never written again */
	fchmod(*fd, 0444 & ~current_umask());
	return 0;
}

/* fsync and rename the temporary file into place. */
static int commit_tmp(const struct backend *b, int fd, const char *tmp, const char *key)
{
	char *path = object_path(b, key);
	int err = 0;

	if (fsync(fd) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot write to store '%s'", b->name);
	if (close(fd) < 0 && !err)
		err = lepton_error_errno(LEPTON_EIO, "cannot write to store '%s'", b->name);
	if (!err)
		err = make_leading_dirs(b, path);
	if (!err && rename(tmp, path) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", path);
	if (err)
		unlink(tmp);
	free(path);
	return err;
}

static int dir_put(struct backend *b, const char *key, const void *data, size_t len)
{
	struct buf tmp = BUF_INIT;
	int fd, err = open_tmp(b, &tmp, &fd);

	if (!err && (err = write_all(fd, data, len))) {
		close(fd);
		unlink(tmp.data);
		err = lepton_error_wrap(err, "cannot write to store '%s'", b->name);
	} else if (!err) {
		err = commit_tmp(b, fd, tmp.data, key);
	}
	buf_release(&tmp);
	return err;
}

static int dir_put_file(struct backend *b, const char *key, const char *path)
{
	static const size_t piece = 1 << 20;
	struct buf tmp = BUF_INIT;
	char *bytes = NULL;
	int in = -1, fd = -1, err;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return lepton_error_errno(LEPTON_EIO, "cannot open '%s'", path);
	if ((err = open_tmp(b, &tmp, &fd)))
		goto done;
	bytes = xmalloc(piece);
	for (;;) {
		ssize_t n = read_full(in, bytes, piece);
		if (n < 0) {
			err = lepton_error_errno(LEPTON_EIO, "cannot read '%s'", path);
			break;
		}
		if (!n)
			break;
		if ((err = write_all(fd, bytes, n))) {
			err = lepton_error_wrap(err, "cannot write to store '%s'", b->name);
			break;
		}
	}
	if (err) {
		close(fd);
		unlink(tmp.data);
	} else {
		err = commit_tmp(b, fd, tmp.data, key);
	}
done:
	free(bytes);
	close(in);
	buf_release(&tmp);
	return err;
}

static int dir_put_link(struct backend *b, const char *key, const char *path)
{
	struct buf tmp = BUF_INIT;
	char *dest = object_path(b, key);
	int err = 0;

	buf_addf(&tmp, "%s/tmp/link-%ld-%lx", dir_of(b)->root, (long)getpid(),
		 (unsigned long)rand());
	if ((err = make_leading_dirs(b, tmp.data)) || (err = make_leading_dirs(b, dest))) {
		/* the message says why */
	} else if (link(path, tmp.data) < 0) {
		err = 1; /* another file system, or links refused: the caller copies */
	} else if (rename(tmp.data, dest) < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", dest);
		unlink(tmp.data);
	}
	buf_release(&tmp);
	free(dest);
	return err;
}

static int dir_list(struct backend *b, const char *prefix, int (*fn)(void *data, const char *name),
		    void *data)
{
	char *path = object_path(b, prefix);
	DIR *d = opendir(path);
	struct dirent *e;
	int err = 0;

	if (!d) {
		if (errno != ENOENT)
			err = lepton_error_errno(LEPTON_EIO, "cannot list '%s'", path);
		free(path);
		return err;
	}
	while (!err && (e = readdir(d)))
		if (e->d_name[0] != '.')
			err = fn(data, e->d_name);
	closedir(d);
	free(path);
	return err;
}

static int dir_sweep(struct backend *b, long long age)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	time_t now = time(NULL);
	struct dirent *e;
	DIR *d;
	int removed = 0;

	buf_addf(&dir, "%s/tmp", dir_of(b)->root);
	d = opendir(dir.data);
	while (d && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.data, e->d_name);
		if (lstat(path.data, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= age &&
		    unlink(path.data) == 0)
			removed++;
	}
	if (d)
		closedir(d);
	buf_release(&dir);
	buf_release(&path);
	return removed;
}

static int dir_delete(struct backend *b, const char *key)
{
	char *path = object_path(b, key);
	int err = 0;
	if (unlink(path) < 0 && errno != ENOENT)
		err = lepton_error_errno(LEPTON_EIO, "cannot remove '%s'", path);
	free(path);
	return err;
}

static int dir_get_versioned(struct backend *b, const char *key, struct buf *out, struct buf *etag)
{
	return backend_get_content_versioned(b, key, out, etag, 0);
}

/*
 * A lock whose holder is gone: it names a process of this host that no
 * longer runs, and is older than any live holder keeps one (they hold it
 * for milliseconds).  Locks of other hosts are never broken: their holder
 * cannot be asked, and the message tells what to do.
 */
static int lock_is_stale(const char *lock)
{
	char text[256], host[128];
	long pid = 0;
	struct stat st;
	int fd = open(lock, O_RDONLY | O_CLOEXEC), stale = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	if (n > 0 && fstat(fd, &st) == 0 && time(NULL) - st.st_mtime >= 2) {
		char theirs[128];
		text[n] = '\0';
		if (gethostname(host, sizeof(host)) == 0 &&
		    sscanf(text, "%ld %127s", &pid, theirs) == 2 && pid > 0 &&
		    !strcmp(theirs, host) && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			stale = 1;
	}
	close(fd);
	return stale;
}

static long lock_wait_ms(void)
{
	/* the test suite shortens the wait for a lock that never goes */
	const char *v = getenv("GIT_LEPTON_TEST_LOCK_WAIT_MS");
	return v && *v ? strtol(v, NULL, 10) : LOCK_WAIT_MS;
}

static int take_lock(const struct backend *b, const char *lock)
{
	long waited = 0, step = 2, limit = lock_wait_ms();
	char host[128] = "unknown", text[200];

	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(text, sizeof(text), "%ld %s\n", (long)getpid(), host);
	int err = make_leading_dirs(b, lock);
	if (err)
		return err;
	for (;;) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0) {
			err = write_all(fd, text, strlen(text));
			close(fd);
			if (err)
				unlink(lock);
			return err;
		}
		if (errno != EEXIST)
			return lepton_error_errno(LEPTON_EIO, "cannot create '%s'", lock);
		if (lock_is_stale(lock)) {
			unlink(lock); /* its holder was killed while holding it */
			continue;
		}
		if (waited >= limit)
			return lepton_error_set(LEPTON_ERR,
						"cannot lock '%s': another push has held it for "
						"%ld s; if no push is running, remove that file",
						lock, waited / 1000);
		/* concurrent pushers hold the lock for milliseconds: back off a little,
		 * with some spread so they do not wake together */
		sleep_ms(step + rand() % (step + 1));
		waited += step;
		if (step < 100)
			step *= 2;
	}
}

static int dir_put_if(struct backend *b, const char *key, const void *data, size_t len,
		      const char *etag)
{
	char *path = object_path(b, key);
	struct buf lock = BUF_INIT, current = BUF_INIT, now = BUF_INIT, tmp = BUF_INIT;
	int fd, err;

	buf_addf(&lock, "%s.lock", path);
	if ((err = take_lock(b, lock.data)))
		goto done;
	if ((err = dir_get_versioned(b, key, &current, &now)))
		goto unlock;
	if (strcmp(now.data ? now.data : "", etag ? etag : "")) {
		err = lepton_error_set(LEPTON_ECONFLICT, "'%s' of store '%s' changed meanwhile",
				       key, b->name);
		goto unlock;
	}
	test_point("push-refs-locked");
	if ((err = open_tmp(b, &tmp, &fd)))
		goto unlock;
	if ((err = write_all(fd, data, len))) {
		close(fd);
		unlink(tmp.data);
		goto unlock;
	}
	err = commit_tmp(b, fd, tmp.data, key);
	test_point("push-refs-written");
unlock:
	unlink(lock.data);
done:
	buf_release(&lock);
	buf_release(&current);
	buf_release(&now);
	buf_release(&tmp);
	free(path);
	return err;
}

static const struct backend_ops dir_ops = {
	.kind = "directory",
	.free = dir_free,
	.local_path = dir_local_path,
	.create = dir_create,
	.get_range_stream = dir_get_range_stream,
	.get_stream = dir_get_stream,
	.exists = dir_exists,
	.put = dir_put,
	.put_file = dir_put_file,
	.put_link = dir_put_link,
	.list = dir_list,
	.sweep = dir_sweep,
	.delete = dir_delete,
	.get_versioned = dir_get_versioned,
	.put_if = dir_put_if,
};
