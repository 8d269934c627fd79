#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "oidset.h"
#include "pointer.h"
#include "remote.h"
#include "backend.h"
#include "run.h"
#include "banned.h"

#define LEPTON_PREFIX "lepton::"

/* The committed .leptonconfig's bytes: the index's, else HEAD's (a clone
 * checks files out before .leptonconfig is in the work tree). */
static int leptonconfig_blob(struct lepton_repo *r, struct buf *out)
{
	git_index *index = NULL;
	git_object *head = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	const git_index_entry *ie;
	const git_oid *id = NULL;

	if (git_repository_index(&index, r->git) == 0 &&
	    (ie = git_index_get_bypath(index, ".leptonconfig", 0)))
		id = &ie->id;
	if (!id && git_revparse_single(&head, r->git, "HEAD^{tree}") == 0 &&
	    git_tree_entry_bypath(&entry, (git_tree *)head, ".leptonconfig") == 0)
		id = git_tree_entry_id(entry);
	if (id && git_blob_lookup(&blob, r->git, id) == 0)
		buf_add(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_object_free(head);
	git_index_free(index);
	return blob != NULL;
}

/* lepton.url of a committed .leptonconfig, work tree first. */
static int leptonconfig_url(struct lepton_repo *r, struct buf *url)
{
	struct buf path = BUF_INIT, bytes = BUF_INIT;
	int found = 0, fd = -1;

	if (r->workdir) {
		buf_addf(&path, "%s.leptonconfig", r->workdir);
		if (access(path.data, R_OK) < 0)
			buf_reset(&path);
	}
	if (!path.len && leptonconfig_blob(r, &bytes)) {
		buf_addf(&path, "%slepton/tmp/leptonconfig-XXXXXX", r->commondir);
		fd = mkstemp(path.data);
		if (fd < 0 || write_all(fd, bytes.data, bytes.len))
			buf_reset(&path);
	}
	if (path.len &&
	    run_git(url, "config", "--file", path.data, "--get", "lepton.url", (char *)NULL) == 0)
		found = 1;
	if (fd >= 0) {
		close(fd);
		unlink(path.data);
	}
	if (!found)
		buf_reset(url);
	buf_rtrim(url);
	buf_release(&path);
	buf_release(&bytes);
	return found && url->len;
}

static int lepton_url_of_remote(struct lepton_repo *r, const char *name, struct buf *url)
{
	struct buf key = BUF_INIT, value = BUF_INIT;
	int found = 0;

	buf_addf(&key, "remote.%s.url", name);
	if (repo_config_string(r, key.data, &value) && !strncmp(value.data, LEPTON_PREFIX, 8)) {
		buf_addstr(url, value.data + 8);
		found = 1;
	}
	buf_release(&key);
	buf_release(&value);
	return found;
}

static int upstream_remote(struct lepton_repo *r, struct buf *name)
{
	git_reference *head = NULL;
	int found = 0;

	if (git_repository_head(&head, r->git) == 0 && git_reference_is_branch(head)) {
		struct buf key = BUF_INIT;
		buf_addf(&key, "branch.%s.remote", git_reference_shorthand(head));
		found = repo_config_string(r, key.data, name);
		buf_release(&key);
	}
	git_reference_free(head);
	return found;
}

/* The name of the repository's only remote, if it has exactly one.  (Read
 * from the configuration by hand: libgit2's remote list leaks a regex match
 * buffer each call.) */
static int only_remote(struct lepton_repo *r, struct buf *name)
{
	git_config *cfg = repo_config(r);
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int count = 0;

	buf_reset(name);
	if (!cfg || git_config_iterator_new(&it, cfg) < 0)
		return 0;
	while (git_config_next(&e, it) == 0) {
		size_t len = strlen(e->name);
		if (strncmp(e->name, "remote.", 7) || len < 12 || strcmp(e->name + len - 4, ".url"))
			continue;
		if (count == 0 || strncmp(name->data, e->name + 7, len - 11) ||
		    name->len != len - 11) {
			count++;
			buf_reset(name);
			buf_add(name, e->name + 7, len - 11);
		}
	}
	git_config_iterator_free(it);
	return count == 1;
}

int remote_store_url(struct lepton_repo *r, const char *remote_name, struct buf *url)
{
	struct buf name = BUF_INIT;
	int err = 0;

	buf_reset(url);
	backend_set_remote(NULL);
	if (remote_name && lepton_url_of_remote(r, remote_name, url)) {
		backend_set_remote(remote_name);
		goto done;
	}
	if (remote_name && !strncmp(remote_name, LEPTON_PREFIX, 8)) {
		buf_addstr(url, remote_name + 8);
		goto done;
	}
	if (repo_config_string(r, "lepton.url", url) || leptonconfig_url(r, url))
		goto done;
	if (remote_name) {
		err =
		    lepton_error_set(LEPTON_ENOTFOUND,
				     "remote '%s' is not a lepton:: remote and no store is named; "
				     "set lepton.url or commit a .leptonconfig with "
				     "'[lepton] url = <store>'",
				     remote_name);
		goto done;
	}
	if (upstream_remote(r, &name) && lepton_url_of_remote(r, name.data, url)) {
		backend_set_remote(name.data);
		goto done;
	}
	if (lepton_url_of_remote(r, "origin", url)) {
		backend_set_remote("origin");
		goto done;
	}
	if (only_remote(r, &name) && lepton_url_of_remote(r, name.data, url)) {
		backend_set_remote(name.data);
		goto done;
	}
	err = lepton_error_set(LEPTON_ENOTFOUND,
			       "no remote store: add a lepton:: remote, set lepton.url, or commit "
			       "a .leptonconfig with '[lepton] url = <store>'");
done:
	buf_release(&name);
	/* a relative store path in .leptonconfig or config means the top of the
	 * work tree, where git runs filters and hooks */
	if (!err && url->len && url->data[0] != '/' && !strstr(url->data, "://") && r->workdir) {
		struct buf abs = BUF_INIT;
		buf_addf(&abs, "%s%s", r->workdir, url->data);
		buf_reset(url);
		buf_addstr(url, abs.data);
		buf_release(&abs);
	}
	return err;
}

void remote_store_configure(struct remote_store *rs, struct lepton_repo *r)
{
	remote_store_set_options(
	    rs, (unsigned)repo_config_int(r, "lepton.concurrency", TRANSFER_DEFAULT_THREADS),
	    repo_config_bool(r, "lepton.hardlinks", 1));
}

int remote_open_for(struct remote_store **out, struct lepton_repo *r, struct lepton_store *local,
		    const char *remote_name, int create)
{
	struct buf url = BUF_INIT;
	int err = remote_store_url(r, remote_name, &url);
	if (!err)
		err = remote_store_open(out, local, url.data, create);
	if (!err)
		remote_store_configure(*out, r);
	buf_release(&url);
	return err;
}

/* ---- fetching on demand ----------------------------------------------- */

struct remote_fetch_hook {
	struct lepton_repo *repo;
	struct remote_store *rs;
	int tried; /* opening failed once: do not try for every file */
	int open_err;
	char *open_msg;
};

static int fetch_missing(void *data, struct lepton_store *s, const struct lepton_pointer *p,
			 size_t nr)
{
	struct remote_fetch_hook *h = data;
	struct transfer_stats stats;
	struct lepton_oid *oids;
	char hex[OID_HEXSZ + 1];
	int err;

	oid_to_hex(hex, &p[0].oid);
	if (!h->tried) {
		h->tried = 1;
		h->open_err = remote_open_for(&h->rs, h->repo, s, NULL, 0);
		if (h->open_err)
			h->open_msg = xstrdup(lepton_error_last());
	}
	if (h->open_err)
		return lepton_error_set(h->open_err,
					"content '%s' is not in the local store, and %s", hex,
					h->open_msg);
	oids = xcalloc(nr, sizeof(*oids));
	for (size_t i = 0; i < nr; i++)
		oids[i] = p[i].oid;
	err = transfer_fetch(h->rs, s, oids, nr, !progress_enabled(), &stats);
	free(oids);
	if (err && nr == 1)
		return lepton_error_wrap(err, "cannot fetch '%s'", hex);
	return err;
}

struct remote_fetch_hook *remote_fetch_hook_install(struct lepton_repo *r, struct lepton_store *s)
{
	struct remote_fetch_hook *h = xcalloc(1, sizeof(*h));
	h->repo = r;
	store_set_fetch(s, fetch_missing, h);
	return h;
}

void remote_fetch_hook_free(struct remote_fetch_hook *h)
{
	if (!h)
		return;
	remote_store_free(h->rs);
	free(h->open_msg);
	free(h);
}

/* ---- pointers in history ------------------------------------------------ */

void pointer_list_release(struct pointer_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->items[i].path);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

struct lepton_oid *pointer_list_oids(const struct pointer_list *l)
{
	struct lepton_oid *oids = xcalloc(l->nr ? l->nr : 1, sizeof(*oids));
	for (size_t i = 0; i < l->nr; i++)
		oids[i] = l->items[i].oid;
	return oids;
}

static int glob_list_match(const char *list, const char *path)
{
	const char *base = strrchr(path, '/');
	char *copy = xstrdup(list), *save = NULL;
	int match = 0;

	base = base ? base + 1 : path;
	for (char *g = strtok_r(copy, ",", &save); g && !match; g = strtok_r(NULL, ",", &save)) {
		while (*g == ' ')
			g++;
		if (!*g)
			continue;
		if (!fnmatch(g, path, 0) || (!strchr(g, '/') && !fnmatch(g, base, 0)))
			match = 1;
		else if (g[strlen(g) - 1] == '/' && !strncmp(path, g, strlen(g)))
			match = 1; /* a directory */
	}
	free(copy);
	return match;
}

int pointers_reachable(struct pointer_list *out, struct lepton_repo *r, const char *const *revs,
		       size_t nr, int no_walk, const char *include, const char *exclude)
{
	struct buf input = BUF_INIT, tmp = BUF_INIT, objects = BUF_INIT;
	struct run_opts opts = { .stdin_path = NULL };
	struct oidset seen = { 0 };
	git_odb *odb = NULL;
	const char **argv = NULL;
	size_t argc = 0;
	char *line, *next;
	int fd = -1, err = 0, code;

	memset(out, 0, sizeof(*out));
	/* revisions go on standard input (there may be many); options such as
	 * --all on the command line, since git before 2.42 refuses them there */
	argv = xcalloc(nr + 8, sizeof(*argv));
	argv[argc++] = "git";
	argv[argc++] = "rev-list";
	argv[argc++] = "--objects";
	if (no_walk)
		argv[argc++] = "--no-walk";
	for (size_t i = 0; i < nr; i++)
		if (!strncmp(revs[i], "--", 2))
			argv[argc++] = revs[i];
		else
			buf_addf(&input, "%s\n", revs[i]);
	argv[argc++] = "--stdin";
	buf_addf(&tmp, "%slepton/tmp/revs-XXXXXX", r->commondir);
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", tmp.data);
		goto done;
	}
	if ((err = write_all(fd, input.data, input.len)))
		goto done;
	opts.stdin_path = tmp.data;
	code = run_command_opt(argv, &opts, &objects);
	if (code) {
		err = code < 0 ? code
			       : lepton_error_set(LEPTON_EGIT, "git rev-list failed (exit code %d)",
						  code);
		goto done;
	}
	if (git_repository_odb(&odb, r->git) < 0) {
		err = lepton_error_set(LEPTON_EGIT, "cannot open the object database: %s",
				       git_error_message());
		goto done;
	}
	for (line = objects.data; *line; line = next) {
		git_oid id;
		size_t size;
		git_object_t type;
		const char *path;
		git_odb_object *obj = NULL;
		struct lepton_pointer p;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		/* "<oid> <path>" for blobs and trees, "<oid>" for commits */
		if (strlen(line) < GIT_OID_HEXSZ + 2 || line[GIT_OID_HEXSZ] != ' ')
			continue;
		path = line + GIT_OID_HEXSZ + 1;
		line[GIT_OID_HEXSZ] = '\0';
		if (git_oid_fromstr(&id, line) < 0)
			continue;
		if (git_odb_read_header(&size, &type, odb, &id) < 0 || type != GIT_OBJECT_BLOB ||
		    size >= POINTER_MAX_SIZE || size == 0)
			continue;
		if ((include && !glob_list_match(include, path)) ||
		    (exclude && glob_list_match(exclude, path)))
			continue;
		if (git_odb_read(&obj, odb, &id) < 0)
			continue;
		if (pointer_looks_like(git_odb_object_data(obj), git_odb_object_size(obj)) &&
		    !pointer_parse(&p, NULL, git_odb_object_data(obj), git_odb_object_size(obj)) &&
		    !oidset_has(&seen, &p.oid)) {
			oidset_insert(&seen, &p.oid);
			if (out->nr == out->alloc) {
				out->alloc = out->alloc ? 2 * out->alloc : 16;
				out->items = xrealloc(out->items, out->alloc * sizeof(*out->items));
			}
			out->items[out->nr].oid = p.oid;
			out->items[out->nr].size = p.size;
			out->items[out->nr++].path = xstrdup(path);
		}
		git_odb_object_free(obj);
	}
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp.data);
	}
	git_odb_free(odb);
	free(argv);
	oidset_release(&seen);
	buf_release(&input);
	buf_release(&tmp);
	buf_release(&objects);
	if (err)
		pointer_list_release(out);
	return err;
}
