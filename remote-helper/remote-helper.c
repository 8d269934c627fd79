/*
 * git-remote-lepton: git's remote helper protocol (gitremote-helpers(7))
 * over a git-lepton store.  git runs `git-remote-lepton <remote> <url>` for
 * a `lepton::<url>` remote and talks on our stdin and stdout; stdout
 * carries nothing but the protocol.
 *
 * A store holds the whole repository: model content (as the local store
 * keeps it), git history as git packs under git/packs/, and the refs in
 * one manifest (git/refs) that lists the packs too.  A push sends content,
 * then a pack of the commits the store lacks, then swaps the manifest in
 * with a compare-and-swap; a fetch downloads the packs it has not seen.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "filter.h"
#include "maintenance.h"
#include "manifest.h"
#include "oidset.h"
#include "remote.h"
#include "repo.h"
#include "run.h"
#include "testpoint.h"
#include "transfer.h"
#include "banned.h"

#define CAS_ATTEMPTS 200

struct helper {
	const char *remote_name, *url;
	int have_repo; /* `git ls-remote` runs helpers outside any repository */
	struct lepton_repo repo;
	struct backend *b; /* for the refs, which need no local store */
	struct lepton_store *local;
	struct remote_store *rs;
	int verbosity, progress, dry_run, atomic, followtags, cloning;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(128);
}

static int quiet(const struct helper *h)
{
	return !h->progress || h->verbosity < 1;
}

/* Open the store; with create a missing one is made (first push). */
static int open_store(struct helper *h, int create)
{
	int err;
	if (h->rs)
		return 0;
	if (!h->local && (err = repo_open_store(&h->repo, &h->local)))
		return err;
	if ((err = remote_store_open(&h->rs, h->local, h->url, create)))
		return err;
	remote_store_configure(h->rs, &h->repo);
	return 0;
}

static int read_manifest(struct helper *h, struct manifest *m, struct buf *etag)
{
	return manifest_read(m, h->rs ? remote_store_backend(h->rs) : h->b, etag);
}

/* Outside a repository only the refs can be read: the store must exist. */
static int open_refs_only(struct helper *h)
{
	int has;
	if (!h->b && backend_open(&h->b, h->url))
		return LEPTON_EINVALID;
	has = backend_exists(h->b, "lepton-store");
	if (has < 0)
		return has;
	return has ? 0 : lepton_error_set(LEPTON_ENOTFOUND, "store '%s' does not exist", h->url);
}

/* ---- list ------------------------------------------------------------------ */

static void cmd_list(struct helper *h, int for_push)
{
	struct manifest m;
	struct buf etag = BUF_INIT, out = BUF_INIT;
	int err = h->have_repo ? open_store(h, 0) : open_refs_only(h);

	manifest_init(&m);
	if (err == LEPTON_ENOTFOUND && for_push) {
		/* the first push creates the store */
		lepton_error_clear();
		err = 0;
	} else if (!err) {
		err = read_manifest(h, &m, &etag);
	}
	if (err)
		die("%s", lepton_error_last());
	for (size_t i = 0; i < m.nr_refs; i++)
		buf_addf(&out, "%s %s\n", m.refs[i].oid, m.refs[i].name);
	if (m.head && manifest_get(&m, m.head))
		buf_addf(&out, "@%s HEAD\n", m.head);
	buf_addch(&out, '\n');
	fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	manifest_release(&m);
	buf_release(&etag);
	buf_release(&out);
}

/* ---- fetch ----------------------------------------------------------------- */

static int have_object(struct helper *h, const char *hex)
{
	git_oid id;
	git_odb *odb = NULL;
	int ret = 0;
	if (git_oid_fromstr(&id, hex) == 0 && git_repository_odb(&odb, h->repo.git) == 0)
		ret = git_odb_exists(odb, &id);
	git_odb_free(odb);
	return ret;
}

/* The list of git packs already fetched from this store. */
static void fetched_list_path(struct helper *h, struct buf *path)
{
	buf_addf(path, "%slepton/remotes/%016llx/git-packs", h->repo.commondir,
		 (unsigned long long)xxh3_64(h->url, strlen(h->url)));
}

/* Download one git pack and index it into the repository. */
static int fetch_git_pack(struct helper *h, const char *name)
{
	struct buf tmp = BUF_INIT;
	int fd, err;

	buf_addf(&tmp, "%slepton/tmp/fetch-XXXXXX", h->repo.commondir);
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", tmp.data);
	} else {
		close(fd);
		err = manifest_index_pack(remote_store_backend(h->rs), name, NULL, tmp.data);
	}
	buf_release(&tmp);
	return err;
}

static void need_repo(struct helper *h)
{
	if (!h->have_repo)
		die("not a git repository: fetching or pushing needs one");
}

static int is_relative_path(const char *url)
{
	return *url != '/' && !strstr(url, "://");
}

/*
 * A clone names the store as typed; a relative path was meant from where
 * the clone ran, while filters and later commands run at the top of the
 * new work tree.  Record the absolute path, as git does for local clones.
 */
static void absolutise_url(struct helper *h)
{
	struct buf key = BUF_INIT, url = BUF_INIT, value = BUF_INIT, out = BUF_INIT;

	if (!backend_local_path(remote_store_backend(h->rs)))
		return; /* an s3:// or http(s):// URL is absolute already */
	buf_addf(&key, "remote.%s.url", h->remote_name);
	buf_addf(&url, "lepton::%s", h->url);
	if (repo_config_string(&h->repo, key.data, &value) && !strcmp(value.data, url.data)) {
		char *abs = realpath(backend_local_path(remote_store_backend(h->rs)), NULL);
		buf_reset(&url);
		buf_addf(&url, "lepton::%s",
			 abs ? abs : backend_local_path(remote_store_backend(h->rs)));
		run_git(&out, "config", key.data, url.data, (char *)NULL);
		free(abs);
	}
	buf_release(&key);
	buf_release(&url);
	buf_release(&value);
	buf_release(&out);
}

/*
 * During a clone, the model content of the branch to be checked out comes
 * down here, several files at once and with git's progress setting (the
 * checkout's filter has no -q to obey); the checkout then finds it local.
 * A failure only warns: the checkout fetches what is missing and reports.
 */
static void prefetch_checkout(struct helper *h, const struct manifest *m, char **wants, size_t nr)
{
	const char *tip = m->head ? manifest_get(m, m->head) : NULL;
	struct pointer_list pointers = { 0 };
	struct transfer_stats st;
	struct lepton_oid *oids = NULL;
	int wanted = 0;

	if (filter_skip_smudge())
		return;
	for (size_t i = 0; tip && i < nr; i++)
		wanted |= !strcmp(wants[i], tip);
	if (!wanted)
		return;
	if (pointers_reachable(&pointers, &h->repo, &tip, 1, 1, NULL, NULL) == 0 && pointers.nr) {
		oids = pointer_list_oids(&pointers);
		if (transfer_fetch(h->rs, h->local, oids, pointers.nr, quiet(h), &st))
			fprintf(stderr, "warning: %s\n", lepton_error_last());
	}
	lepton_error_clear();
	free(oids);
	pointer_list_release(&pointers);
}

static void prepare_clone(struct helper *h, const struct manifest *m, char **wants, size_t nr)
{
	if (is_relative_path(h->url) && strncmp(h->url, "file:", 5))
		absolutise_url(h);
	prefetch_checkout(h, m, wants, nr);
}

static void cmd_fetch(struct helper *h, char **wants, size_t nr)
{
	struct manifest m;
	struct buf etag = BUF_INIT, listpath = BUF_INIT, fetched = BUF_INIT;
	int missing = 0, err;
	FILE *f;

	need_repo(h);
	for (size_t i = 0; i < nr; i++)
		if (!have_object(h, wants[i]))
			missing = 1;
	if (!missing)
		goto reply;
	if ((err = open_store(h, 0)) || (err = read_manifest(h, &m, &etag)))
		die("%s", lepton_error_last());
	fetched_list_path(h, &listpath);
	buf_read_file(&fetched, listpath.data);
	for (size_t i = 0; i < m.nr_packs; i++) {
		struct buf line = BUF_INIT;
		if (m.packs[i].retired)
			continue;
		buf_addf(&line, "%s\n", m.packs[i].name);
		if (strstr(fetched.data, line.data)) {
			buf_release(&line);
			continue;
		}
		if (!quiet(h))
			fprintf(stderr, "Fetching history %s\n", m.packs[i].name);
		if ((err = fetch_git_pack(h, m.packs[i].name)))
			die("%s", lepton_error_last());
		/* remembered, so a local gc does not make us fetch it again */
		f = fopen(listpath.data, "a");
		if (f) {
			fputs(line.data, f);
			fclose(f);
		}
		buf_release(&line);
	}
	for (size_t i = 0; i < nr; i++)
		if (!have_object(h, wants[i])) {
			/* the list may be stale after a gc of this repository */
			(void)unlink(listpath.data);
			die("store '%s' lacks object %s; its history is damaged (git lepton fsck "
			    "--remote)",
			    h->url, wants[i]);
		}
	if (h->cloning)
		prepare_clone(h, &m, wants, nr);
	manifest_release(&m);
reply:
	buf_release(&etag);
	buf_release(&listpath);
	buf_release(&fetched);
	fputs("\n", stdout);
	fflush(stdout);
}

/* ---- push ------------------------------------------------------------------ */

struct push_ref {
	char *src, *dst; /* src empty: delete */
	int force;
	char new_oid[GIT_OID_HEXSZ + 1];
	const char *status; /* NULL: ok, else git's reason */
	int refused;        /* refused before anything was sent */
};

static int resolve(struct helper *h, const char *rev, char *hex)
{
	git_object *obj = NULL;
	if (git_revparse_single(&obj, h->repo.git, rev) < 0)
		return lepton_error_set(LEPTON_EGIT, "src refspec '%s' does not match any", rev);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, git_object_id(obj));
	git_object_free(obj);
	return 0;
}

/* Is the commit old an ancestor of new (both peeled to commits)? */
static int fast_forward(struct helper *h, const char *old_hex, const char *new_hex)
{
	git_oid old_id, new_id;
	git_object *o = NULL, *n = NULL, *oc = NULL, *nc = NULL;
	int ret = 0;

	if (git_oid_fromstr(&old_id, old_hex) || git_oid_fromstr(&new_id, new_hex))
		return 0;
	if (git_object_lookup(&o, h->repo.git, &old_id, GIT_OBJECT_ANY) == 0 &&
	    git_object_lookup(&n, h->repo.git, &new_id, GIT_OBJECT_ANY) == 0 &&
	    git_object_peel(&oc, o, GIT_OBJECT_COMMIT) == 0 &&
	    git_object_peel(&nc, n, GIT_OBJECT_COMMIT) == 0)
		ret =
		    git_oid_equal(git_object_id(oc), git_object_id(nc)) ||
		    git_graph_descendant_of(h->repo.git, git_object_id(nc), git_object_id(oc)) == 1;
	git_object_free(o);
	git_object_free(n);
	git_object_free(oc);
	git_object_free(nc);
	return ret;
}

/* Decide one ref against the store's current value, as a bare repository
 * would: NULL to accept, or git's reason. */
static const char *check_ref(struct helper *h, const struct push_ref *p, const char *current)
{
	if (!*p->src)
		return NULL; /* deleting: git already checked it exists */
	if (!current || p->force || !strcmp(current, p->new_oid))
		return NULL;
	if (!strncmp(p->dst, "refs/tags/", 10))
		return "already exists";
	if (!have_object(h, current))
		return "fetch first";
	if (!fast_forward(h, current, p->new_oid))
		return "non-fast-forward";
	return NULL;
}

/* Send the history the store lacks: a git pack of what the pushed refs
 * reach minus what the store's refs reach.  name gets the pack's name, or
 * stays empty when there is nothing to send. */
static int push_history(struct helper *h, struct push_ref *refs, size_t nr,
			const struct manifest *m, struct buf *name)
{
	struct buf revs = BUF_INIT, base = BUF_INIT, out = BUF_INIT, path = BUF_INIT;
	struct buf key = BUF_INIT, header = BUF_INIT, revs_path = BUF_INIT;
	struct run_opts opts = { .stdout_to_stderr = 1 };
	int fd = -1, err = 0, code, tips = 0;

	for (size_t i = 0; i < nr; i++)
		if (!refs[i].status && *refs[i].src) {
			buf_addf(&revs, "%s\n", refs[i].new_oid);
			tips = 1;
		}
	if (!tips)
		goto done;
	for (size_t i = 0; i < m->nr_refs; i++)
		if (have_object(h, m->refs[i].oid))
			buf_addf(&revs, "^%s\n", m->refs[i].oid);
	buf_addf(&revs_path, "%slepton/tmp/revs-XXXXXX", h->repo.commondir);
	fd = mkstemp(revs_path.data);
	if (fd < 0 || write_all(fd, revs.data, revs.len)) {
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", revs_path.data);
		goto done;
	}
	buf_addf(&base, "%slepton/tmp/push-%ld", h->repo.commondir, (long)getpid());
	opts.stdin_path = revs_path.data;
	code = run_git_opt(&opts, &out, "pack-objects", "--revs", "-q", base.data, (char *)NULL);
	if (code) {
		err = lepton_error_set(LEPTON_EGIT, "git pack-objects failed (exit code %d)", code);
		goto done;
	}
	buf_rtrim(&out);
	buf_addf(name, "pack-%s", out.data);
	buf_reset(&path);
	buf_addf(&path, "%s-%s.pack", base.data, out.data);
	/* an empty pack (the store has it all) is not worth a request */
	if (buf_read_file(&header, path.data) == 0 && header.len >= 12 &&
	    get_le32((unsigned char *)header.data + 8) == 0) {
		buf_reset(name);
	} else {
		buf_addf(&key, "git/packs/%s.pack", name->data);
		err = backend_put_file(remote_store_backend(h->rs), key.data, path.data);
		test_point("push-history");
	}
	unlink(path.data);
	buf_reset(&path);
	buf_addf(&path, "%s-%s.idx", base.data, out.data);
	unlink(path.data);
done:
	if (fd >= 0) {
		close(fd);
		unlink(revs_path.data);
	}
	buf_release(&revs);
	buf_release(&base);
	buf_release(&out);
	buf_release(&path);
	buf_release(&key);
	buf_release(&header);
	buf_release(&revs_path);
	return err;
}

/*
 * Send the model content the pushed commits refer to and the store lacks:
 * what they reach and the refs of base (the store's manifest the push
 * began with) do not; and the files of the pushed tips' trees that are in
 * no tip tree of now (the store's manifest at this instant), whatever its
 * history reaches: a prune keeps the tips' trees but may have dropped an
 * old version that a new ref names again.
 */
static int push_content(struct helper *h, struct push_ref *refs, size_t nr,
			const struct manifest *base, const struct manifest *now)
{
	const char **revs = xcalloc(nr + base->nr_refs + 1, sizeof(*revs));
	const char **store_revs = xcalloc(now->nr_refs + 1, sizeof(*store_revs));
	struct buf *excl = xcalloc(base->nr_refs + 1, sizeof(*excl));
	struct pointer_list pointers = { 0 }, tips = { 0 }, store_tips = { 0 };
	struct transfer_stats stats;
	struct oidset seen = OIDSET_INIT, in_store_tips = OIDSET_INIT;
	struct lepton_oid *oids = NULL;
	size_t n = 0, nr_store = 0, nr_oids = 0;
	int err;

	for (size_t i = 0; i < nr; i++)
		if (!refs[i].status && *refs[i].src)
			revs[n++] = refs[i].new_oid;
	if (!n) {
		err = 0;
		goto done;
	}
	for (size_t i = 0; i < now->nr_refs; i++)
		if (have_object(h, now->refs[i].oid))
			store_revs[nr_store++] = now->refs[i].oid;
	if ((err = pointers_reachable(&tips, &h->repo, revs, n, 1, NULL, NULL)) ||
	    (nr_store && (err = pointers_reachable(&store_tips, &h->repo, store_revs, nr_store, 1,
						   NULL, NULL))))
		goto done;
	for (size_t i = 0; i < store_tips.nr; i++)
		oidset_insert(&in_store_tips, &store_tips.items[i].oid);
	for (size_t i = 0; i < base->nr_refs; i++)
		if (have_object(h, base->refs[i].oid)) {
			buf_addf(&excl[i], "^%s", base->refs[i].oid);
			revs[n++] = excl[i].data;
		}
	if ((err = pointers_reachable(&pointers, &h->repo, revs, n, 0, NULL, NULL)))
		goto done;
	oids = xcalloc(pointers.nr + tips.nr + 1, sizeof(*oids));
	for (size_t i = 0; i < pointers.nr; i++)
		if (oidset_insert(&seen, &pointers.items[i].oid))
			oids[nr_oids++] = pointers.items[i].oid;
	for (size_t i = 0; i < tips.nr; i++)
		if (!oidset_has(&in_store_tips, &tips.items[i].oid) &&
		    oidset_insert(&seen, &tips.items[i].oid))
			oids[nr_oids++] = tips.items[i].oid;
	err = transfer_push(h->rs, h->local, oids, nr_oids, quiet(h), h->dry_run, &stats);
	if (!err && h->verbosity > 1)
		fprintf(stderr,
			"lepton: %llu of %llu files already in the store, sent %llu chunks\n",
			(unsigned long long)stats.files_present, (unsigned long long)stats.files,
			(unsigned long long)stats.chunks);
done:
	pointer_list_release(&pointers);
	pointer_list_release(&tips);
	pointer_list_release(&store_tips);
	oidset_release(&seen);
	oidset_release(&in_store_tips);
	for (size_t i = 0; i < base->nr_refs; i++)
		buf_release(&excl[i]);
	free(excl);
	free(revs);
	free(store_revs);
	free(oids);
	return err;
}

static const char *default_head(struct push_ref *refs, size_t nr)
{
	static const char *const preferred[] = { "refs/heads/main", "refs/heads/master" };
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < nr; i++)
			if (!refs[i].status && *refs[i].src && !strcmp(refs[i].dst, preferred[k]))
				return refs[i].dst;
	for (size_t i = 0; i < nr; i++)
		if (!refs[i].status && *refs[i].src && !strncmp(refs[i].dst, "refs/heads/", 11))
			return refs[i].dst;
	return NULL;
}

struct ref_swap {
	struct helper *h;
	struct push_ref *refs;
	size_t nr;
	const char *pack;
	const struct manifest *sent;
	struct buf checked; /* the version the content was last checked against */
};

static int swap_refs_in(struct manifest *m, const char *etag, void *data)
{
	struct ref_swap *rs = data;
	struct push_ref *refs = rs->refs;
	size_t nr = rs->nr;
	int accepted = 0, rejected = 0, err;

	if (strcmp(etag, rs->checked.data)) {
		test_point("push-refs-changed");
		/* every ref not refused at the start, decided again below */
		for (size_t i = 0; i < nr; i++)
			if (!refs[i].refused)
				refs[i].status = NULL;
		if ((err = maintenance_check(m, rs->h->url)) ||
		    (err = push_content(rs->h, refs, nr, rs->sent, m)))
			return err;
		buf_reset(&rs->checked);
		buf_addstr(&rs->checked, etag);
	}
	for (size_t i = 0; i < nr; i++) {
		if (refs[i].refused) {
			rejected++;
			continue;
		}
		refs[i].status = check_ref(rs->h, &refs[i], manifest_get(m, refs[i].dst));
		if (refs[i].status)
			rejected++;
		else
			accepted++;
	}
	if (rs->h->atomic && rejected) {
		for (size_t i = 0; i < nr; i++)
			if (!refs[i].status)
				refs[i].status = "atomic push failed";
		accepted = 0;
	}
	if (!accepted)
		return MANIFEST_KEEP;
	for (size_t i = 0; i < nr; i++)
		if (!refs[i].status)
			manifest_set(m, refs[i].dst, *refs[i].src ? refs[i].new_oid : NULL);
	if (rs->pack && *rs->pack)
		manifest_add_pack(m, rs->pack);
	if (!m->head || !manifest_get(m, m->head)) {
		const char *head = default_head(refs, nr);
		if (head)
			manifest_set_head(m, head);
	}
	return 0;
}

/*
 * Swap the new refs in, against the manifest's version read before the
 * content went up (checked_etag): when it changed meanwhile, a prune or gc
 * may have run while the content was sent, so the content is checked
 * again (unless a prune or gc runs now: then the push stops) and the swap
 * is against the version read before that check.  On a lost race the
 * decisions are taken again against what the other pusher wrote, as a
 * server would; refs refused before anything was sent stay refused.
 * sent: the store's manifest the content was chosen against.
 */
static int update_refs(struct helper *h, struct push_ref *refs, size_t nr, const char *pack,
		       const struct manifest *sent, const char *checked_etag)
{
	struct ref_swap rs = { h, refs, nr, pack, sent, BUF_INIT };
	int err;

	buf_addstr(&rs.checked, checked_etag);
	err = manifest_update(remote_store_backend(h->rs), CAS_ATTEMPTS, swap_refs_in, &rs);
	buf_release(&rs.checked);
	return err;
}

static void cmd_push(struct helper *h, char **specs, size_t nr)
{
	struct push_ref *refs = xcalloc(nr, sizeof(*refs));
	struct manifest m;
	struct buf etag = BUF_INIT, pack = BUF_INIT, out = BUF_INIT;
	int err, any = 0;

	need_repo(h);
	manifest_init(&m);
	for (size_t i = 0; i < nr; i++) {
		char *spec = specs[i], *colon;
		if (*spec == '+') {
			refs[i].force = 1;
			spec++;
		}
		colon = strchr(spec, ':');
		if (!colon)
			die("malformed push refspec '%s' from git", specs[i]);
		*colon = '\0';
		refs[i].src = spec;
		refs[i].dst = colon + 1;
		if (*refs[i].src && resolve(h, refs[i].src, refs[i].new_oid))
			die("%s", lepton_error_last());
	}
	err = open_store(h, !h->dry_run);
	if (err == LEPTON_ENOTFOUND && h->dry_run) {
		lepton_error_clear();
		err = 0; /* a dry run against a store not made yet: all would be new */
	} else if (!err) {
		err = read_manifest(h, &m, &etag);
	}
	/* no content goes up while a prune or gc rewrites the store */
	if (!err && !h->dry_run)
		err = maintenance_check(&m, h->url);
	if (err)
		goto fail;
	for (size_t i = 0; i < nr; i++) {
		refs[i].status = check_ref(h, &refs[i], manifest_get(&m, refs[i].dst));
		refs[i].refused = refs[i].status != NULL;
		if (!refs[i].status)
			any = 1;
	}
	if (h->atomic)
		for (size_t i = 0; i < nr; i++)
			if (refs[i].status)
				any = 0;
	if (any && !h->dry_run) {
		/* content first, then history, then refs: a ref never names a
		 * commit whose history or content the store lacks */
		if ((err = push_content(h, refs, nr, &m, &m)) ||
		    (err = push_history(h, refs, nr, &m, &pack)) ||
		    (err = update_refs(h, refs, nr, pack.data, &m, etag.data)))
			goto fail;
	} else if (h->atomic && !any) {
		for (size_t i = 0; i < nr; i++)
			if (!refs[i].status)
				refs[i].status = "atomic push failed";
	}
	for (size_t i = 0; i < nr; i++)
		if (refs[i].status)
			buf_addf(&out, "error %s %s\n", refs[i].dst, refs[i].status);
		else
			buf_addf(&out, "ok %s\n", refs[i].dst);
	buf_addch(&out, '\n');
	fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	manifest_release(&m);
	buf_release(&etag);
	buf_release(&pack);
	buf_release(&out);
	free(refs);
	return;
fail:
	die("%s", lepton_error_last());
}

/* ---- the protocol loop ------------------------------------------------------- */

static int set_option(struct helper *h, const char *name, const char *value)
{
	int on = !strcmp(value, "true");
	if (!strcmp(name, "verbosity"))
		h->verbosity = (int)strtol(value, NULL, 10);
	else if (!strcmp(name, "progress"))
		h->progress = on;
	else if (!strcmp(name, "dry-run"))
		h->dry_run = on;
	else if (!strcmp(name, "atomic"))
		h->atomic = on;
	else if (!strcmp(name, "followtags"))
		h->followtags = on;
	else if (!strcmp(name, "cloning"))
		h->cloning = on;
	else
		return 0;
	return 1;
}

static char *read_line(FILE *in)
{
	struct buf line = BUF_INIT;
	int c;
	while ((c = getc(in)) != EOF && c != '\n')
		buf_addch(&line, c);
	if (c == EOF && !line.len) {
		buf_release(&line);
		return NULL;
	}
	return buf_detach(&line, NULL);
}

/* Lines "<cmd> ..." up to a blank line, starting with first. */
static char **read_batch(FILE *in, char *first, const char *cmd, size_t *nr)
{
	size_t len = strlen(cmd), alloc = 8;
	char **items = xmalloc(alloc * sizeof(*items));
	char *line = first;

	*nr = 0;
	while (line && *line) {
		if (strncmp(line, cmd, len) || line[len] != ' ')
			die("unexpected '%s' in a %s batch", line, cmd);
		if (*nr == alloc)
			items = xrealloc(items, (alloc *= 2) * sizeof(*items));
		items[(*nr)++] = line;
		line = read_line(in);
	}
	free(line);
	return items;
}

int main(int argc, const char **argv)
{
	struct helper h = { 0 };
	char *line;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: git-remote-lepton <remote> [<url>]\n"
				"(git runs it for lepton::<store> remotes)\n");
		return 129;
	}
	h.remote_name = argv[1];
	h.url = argc == 3 ? argv[2] : argv[1];
	/* `git push lepton::URL` names no remote: argv[1] is the URL itself */
	backend_set_remote(argc == 3 && strcmp(argv[1], argv[2]) ? argv[1] : NULL);
	if (!strncmp(h.url, "lepton::", 8))
		h.url += 8;
	h.verbosity = 1;
	h.progress = isatty(2);
	srand((unsigned)(time(NULL) ^ getpid()));
	h.have_repo = repo_open(&h.repo) == 0;
	lepton_error_clear();

	while ((line = read_line(stdin))) {
		if (!strcmp(line, "capabilities")) {
			fputs("option\nfetch\npush\n\n", stdout);
			fflush(stdout);
		} else if (!strcmp(line, "list") || !strcmp(line, "list for-push")) {
			cmd_list(&h, !strcmp(line, "list for-push"));
		} else if (!strncmp(line, "option ", 7)) {
			char *name = line + 7, *value = strchr(name, ' ');
			if (value)
				*value++ = '\0';
			fputs(value && set_option(&h, name, value) ? "ok\n" : "unsupported\n",
			      stdout);
			fflush(stdout);
		} else if (!strncmp(line, "fetch ", 6)) {
			size_t nr;
			char **batch = read_batch(stdin, line, "fetch", &nr);
			char **wants = xcalloc(nr ? nr : 1, sizeof(*wants));
			for (size_t i = 0; i < nr; i++) {
				wants[i] = batch[i] + 6;
				wants[i][strcspn(wants[i], " ")] = '\0';
			}
			cmd_fetch(&h, wants, nr);
			for (size_t i = 0; i < nr; i++)
				free(batch[i]);
			free(batch);
			free(wants);
			continue; /* line was freed with the batch */
		} else if (!strncmp(line, "push ", 5)) {
			size_t nr;
			char **batch = read_batch(stdin, line, "push", &nr);
			char **specs = xcalloc(nr ? nr : 1, sizeof(*specs));
			for (size_t i = 0; i < nr; i++)
				specs[i] = batch[i] + 5;
			cmd_push(&h, specs, nr);
			for (size_t i = 0; i < nr; i++)
				free(batch[i]);
			free(batch);
			free(specs);
			continue;
		} else if (!*line) {
			free(line);
			break;
		} else {
			die("unknown command '%s' from git", line);
		}
		free(line);
	}
	remote_store_free(h.rs);
	backend_free(h.b);
	store_free(h.local);
	if (h.have_repo)
		repo_release(&h.repo);
	return 0;
}
