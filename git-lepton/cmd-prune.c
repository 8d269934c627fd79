/* prune: drop the local (or a remote store's) content of old model versions,
 * never what the work trees, the index, a stash or unpushed commits need,
 * and never the only copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "error.h"
#include "maintenance.h"
#include "manifest.h"
#include "oidset.h"
#include "recipe.h"
#include "remote.h"
#include "run.h"
#include "store-prune.h"
#include "versions.h"
#include "banned.h"

#define DEFAULT_GRACE 3600

struct prune_opts {
	long keep;       /* newest versions kept per path; -1: no count limit */
	long long older; /* with --older-than: only versions older than this drop; 0: none */
	int dry_run, quiet;
	long long grace;
};

/* A file with what it is known as: "model.safetensors v3". */
struct named_file {
	struct lepton_oid oid;
	char *path;
	unsigned n; /* 0: not a numbered version */
};

struct file_list {
	struct named_file *items;
	size_t nr, alloc;
	struct oidset set;
};

static void file_list_add(struct file_list *l, const struct lepton_oid *oid, const char *path,
			  unsigned n)
{
	if (!oidset_insert(&l->set, oid))
		return;
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 32;
		l->items = xrealloc(l->items, l->alloc * sizeof(*l->items));
	}
	l->items[l->nr].oid = *oid;
	l->items[l->nr].path = path ? xstrdup(path) : NULL;
	l->items[l->nr++].n = n;
}

static void file_list_release(struct file_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->items[i].path);
	free(l->items);
	oidset_release(&l->set);
	memset(l, 0, sizeof(*l));
}

static const struct named_file *file_list_find(const struct file_list *l,
					       const struct lepton_oid *oid)
{
	if (!oidset_has(&l->set, oid))
		return NULL;
	for (size_t i = 0; i < l->nr; i++)
		if (!oid_cmp(&l->items[i].oid, oid))
			return &l->items[i];
	return NULL;
}

static void describe(struct buf *out, const struct file_list *names, const struct lepton_oid *oid)
{
	const struct named_file *f = file_list_find(names, oid);
	char hex[OID_HEXSZ + 1];

	oid_to_hex(hex, oid);
	if (f && f->n)
		buf_addf(out, "'%s' v%u (%.12s)", f->path, f->n, hex);
	else if (f && f->path)
		buf_addf(out, "'%s' (%.12s, not a numbered version)", f->path, hex);
	else
		buf_addf(out, "content %.12s (in no version)", hex);
}

/* A date as git reads an expiry date (what `git gc --prune=` takes): its
 * careful parser refuses what is not a date, where --since= would take
 * garbage as "now" and drop everything. */
static int parse_date(long long *out, const char *date)
{
	struct buf arg = BUF_INIT, res = BUF_INIT;
	char *end = NULL;
	int err = 0;

	buf_addf(&arg, "lepton.pruneolderthan=%s", date);
	if (run_git(&res, "-c", arg.data, "config", "--type=expiry-date", "lepton.pruneolderthan",
		    (char *)NULL) ||
	    !res.len || (*out = strtoll(res.data, &end, 10)) <= 0 || (*end && *end != '\n'))
		err = lepton_error_set(LEPTON_EINVALID,
				       "'%s' is not a date git understands; try '2.weeks.ago' or "
				       "'2026-01-31'",
				       date);
	buf_release(&arg);
	buf_release(&res);
	return err;
}

/* Each line of a git command's output. */
static void split_lines(struct buf *text, void (*fn)(void *data, char *line), void *data)
{
	char *line, *next;
	if (!text->len)
		return;
	for (line = text->data; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line)
			fn(data, line);
	}
}

struct str_list {
	char **v;
	size_t nr, alloc;
};

static void str_list_add(struct str_list *l, const char *s)
{
	if (l->nr + 1 >= l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	l->v[l->nr++] = xstrdup(s);
	l->v[l->nr] = NULL;
}

static void str_list_release(struct str_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void add_word(void *data, char *line)
{
	str_list_add(data, line);
}

/* "worktree <path>" and "HEAD <oid>" lines of git worktree list --porcelain */
struct worktrees {
	struct str_list paths, heads;
};

static void add_worktree_line(void *data, char *line)
{
	struct worktrees *w = data;
	if (!strncmp(line, "worktree ", 9))
		str_list_add(&w->paths, line + 9);
	else if (!strncmp(line, "HEAD ", 5) && strspn(line + 5, "0123456789abcdef") >= 40)
		str_list_add(&w->heads, line + 5);
}

struct index_walk {
	struct lepton_repo *repo;
	struct file_list *out;
};

/* "<mode> <oid> <stage>\t<path>" of git ls-files -s */
static void add_index_line(void *data, char *line)
{
	struct index_walk *iw = data;
	char *tab = strchr(line, '\t');
	struct lepton_pointer p;
	git_oid blob;

	if (!tab || strlen(line) < 7 + GIT_OID_HEXSZ || line[6] != ' ')
		return;
	line[7 + GIT_OID_HEXSZ] = '\0';
	if (git_oid_fromstr(&blob, line + 7) < 0)
		return;
	if (blob_pointer(iw->repo->git, &blob, &p) == 1)
		file_list_add(iw->out, &p.oid, tab + 1, 0);
	lepton_error_clear();
}

static int add_pointers(struct file_list *out, struct lepton_repo *repo, struct str_list *revs,
			int no_walk)
{
	struct pointer_list l = { 0 };
	int err;

	if (!revs->nr)
		return 0;
	if ((err = pointers_reachable(&l, repo, (const char *const *)revs->v, revs->nr, no_walk,
				      NULL, NULL)))
		return err;
	for (size_t i = 0; i < l.nr; i++)
		file_list_add(out, &l.items[i].oid, l.items[i].path, 0);
	pointer_list_release(&l);
	return 0;
}

/*
 * What local prune never drops: the trees of every worktree's HEAD, every
 * worktree's index, each stash entry (its commit and parents: work tree,
 * index, untracked files), and everything reachable from the local
 * branches and HEADs but not from a remote-tracking ref (unpushed).
 */
static int protected_files(struct file_list *out, struct lepton_repo *repo)
{
	struct worktrees wt;
	struct str_list tips = { 0 }, walk = { 0 };
	struct buf text = BUF_INIT;
	int err = 0;

	memset(&wt, 0, sizeof(wt));
	if (!run_git(&text, "worktree", "list", "--porcelain", (char *)NULL))
		split_lines(&text, add_worktree_line, &wt);
	for (size_t i = 0; i < wt.heads.nr; i++)
		str_list_add(&tips, wt.heads.v[i]);
	/* stash entries and their parents */
	buf_reset(&text);
	if (!run_git(&text, "rev-parse", "-q", "--verify", "refs/stash", (char *)NULL)) {
		buf_reset(&text);
		if (!run_git(&text, "log", "-g", "--format=%H%n%P", "refs/stash", (char *)NULL)) {
			/* one id a line: turn the parents' spaces into line ends */
			for (size_t k = 0; k < text.len; k++)
				if (text.data[k] == ' ')
					text.data[k] = '\n';
			split_lines(&text, add_word, &tips);
		}
	}
	if ((err = add_pointers(out, repo, &tips, 1)))
		goto done;
	/* each worktree's index */
	for (size_t i = 0; i < wt.paths.nr; i++) {
		struct index_walk iw = { repo, out };
		buf_reset(&text);
		if (run_git(&text, "-C", wt.paths.v[i], "ls-files", "-s", (char *)NULL)) {
			err = lepton_error_set(LEPTON_EGIT,
					       "cannot read the index of worktree '%s'; run 'git "
					       "worktree prune' if it is gone",
					       wt.paths.v[i]);
			goto done;
		}
		split_lines(&text, add_index_line, &iw);
	}
	/* unpushed history: the branches and HEADs, less what remote-tracking
	 * refs reach (rev-list --stdin takes no --branches: the ids are listed) */
	buf_reset(&text);
	if (!run_git(&text, "for-each-ref", "--format=%(objectname)", "refs/heads", (char *)NULL))
		split_lines(&text, add_word, &walk);
	for (size_t i = 0; i < wt.heads.nr; i++)
		str_list_add(&walk, wt.heads.v[i]);
	buf_reset(&text);
	if (!run_git(&text, "for-each-ref", "--format=^%(objectname)", "refs/remotes",
		     (char *)NULL))
		split_lines(&text, add_word, &walk);
	err = add_pointers(out, repo, &walk, 0);
done:
	str_list_release(&wt.paths);
	str_list_release(&wt.heads);
	str_list_release(&tips);
	str_list_release(&walk);
	buf_release(&text);
	return err;
}

static long long commit_time(git_repository *git, const git_oid *id)
{
	git_commit *c;
	long long t = 0;
	if (git_commit_lookup(&c, git, id) == 0) {
		t = (long long)git_commit_time(c);
		git_commit_free(c);
	}
	return t;
}

/*
 * Along each tip's first-parent history, per path: the newest K versions
 * (and, with --older-than, those not older than the date) go to kept, the
 * others to old.  A file kept through any tip or path is kept.
 */
static int classify_versions(struct file_list *kept, struct file_list *old,
			     struct lepton_repo *repo, struct str_list *tips,
			     const struct prune_opts *o)
{
	struct str_list all = { 0 };
	struct pointer_list l = { 0 };
	struct str_list paths = { 0 };
	int err = 0;

	for (size_t i = 0; i < tips->nr; i++)
		str_list_add(&all, tips->v[i]);
	if (all.nr &&
	    (err = pointers_reachable(&l, repo, (const char *const *)all.v, all.nr, 0, NULL, NULL)))
		goto done;
	for (size_t i = 0; i < l.nr; i++) {
		int seen = 0;
		for (size_t k = 0; k < paths.nr && !seen; k++)
			seen = !strcmp(paths.v[k], l.items[i].path);
		if (!seen)
			str_list_add(&paths, l.items[i].path);
	}
	for (size_t t = 0; t < tips->nr && !err; t++) {
		git_oid tip;
		if (git_oid_fromstr(&tip, tips->v[t]) < 0)
			continue;
		for (size_t k = 0; k < paths.nr && !err; k++) {
			struct version_list vl = VERSION_LIST_INIT;
			if ((err = versions_of_path(&vl, repo->git, paths.v[k], &tip))) {
				version_list_release(&vl);
				break;
			}
			for (size_t v = 0; v < vl.nr; v++) {
				const struct version *ver = &vl.v[v];
				int keep = o->keep >= 0 && vl.nr - v <= (size_t)o->keep;
				if (!ver->is_pointer)
					continue;
				if (o->older && commit_time(repo->git, &ver->commit) >= o->older)
					keep = 1;
				if (o->keep < 0 && !o->older)
					keep = 1;
				file_list_add(keep ? kept : old, &ver->pointer.oid, vl.path,
					      ver->n);
			}
			version_list_release(&vl);
		}
	}
done:
	pointer_list_release(&l);
	str_list_release(&all);
	str_list_release(&paths);
	return err;
}

struct collect {
	struct file_list *list;
};

static int collect_file(void *data, const struct lepton_oid *oid)
{
	file_list_add(((struct collect *)data)->list, oid, NULL, 0);
	return 0;
}

static void print_files(const char *verb, const struct file_list *names,
			const struct lepton_oid *oids, size_t nr)
{
	struct buf line = BUF_INIT;
	for (size_t i = 0; i < nr; i++) {
		buf_reset(&line);
		describe(&line, names, &oids[i]);
		printf("%s %s\n", verb, line.data);
	}
	buf_release(&line);
}

static int prune_local(struct lepton_repo *repo, const struct prune_opts *o)
{
	struct lepton_store *s = NULL;
	struct remote_store *rs = NULL;
	struct file_list kept = { 0 }, old = { 0 }, prot = { 0 }, local = { 0 };
	struct str_list tips = { 0 };
	struct lepton_oid *cand = NULL, *drop = NULL, *rest = NULL, *lost = NULL;
	size_t nr_cand = 0, nr_drop = 0, nr_rest = 0, nr_lost = 0;
	unsigned char *ok = NULL;
	struct oidset keep = OIDSET_INIT;
	struct store_repack_opts ro = { 0 };
	struct store_repack_stats st;
	struct collect c = { &local };
	struct buf text = BUF_INIT, name = BUF_INIT;
	char size1[32];
	char *remote_name = NULL;
	int err, ret = 0;

	if ((err = repo_open_store(repo, &s)) || (err = repo_lock_store(repo, s, 1)))
		goto fail;
	if (!run_git(&text, "for-each-ref", "--format=%(objectname)", "refs/heads", "refs/remotes",
		     (char *)NULL))
		split_lines(&text, add_word, &tips);
	buf_reset(&text);
	if (!run_git(&text, "rev-parse", "-q", "--verify", "HEAD", (char *)NULL))
		split_lines(&text, add_word, &tips);
	if ((err = classify_versions(&kept, &old, repo, &tips, o)) ||
	    (err = protected_files(&prot, repo)) ||
	    (err = store_for_each_file(s, collect_file, &c)) < 0)
		goto fail;
	err = 0;
	cand = xcalloc(local.nr + 1, sizeof(*cand));
	rest = xcalloc(local.nr + 1, sizeof(*rest));
	for (size_t i = 0; i < local.nr; i++) {
		const struct lepton_oid *f = &local.items[i].oid;
		if (oidset_has(&kept.set, f) || oidset_has(&prot.set, f) ||
		    (o->older && !oidset_has(&old.set, f)))
			rest[nr_rest++] = *f;
		else
			cand[nr_cand++] = *f;
	}
	/* names for messages: the versions, then any path history gives */
	for (size_t i = 0; i < prot.nr; i++)
		file_list_add(&old, &prot.items[i].oid, prot.items[i].path, 0);
	if (!nr_cand) {
		if (!o->quiet)
			printf("nothing to prune: every local file is kept\n");
		goto done;
	}
	/* never the only copy: each file must be whole in the remote store */
	/* asked of git, so that `git -c lepton.pruneRemote=...` counts */
	if (!run_git(&name, "config", "--get", "lepton.pruneRemote", (char *)NULL) && name.len) {
		name.data[strcspn(name.data, "\n")] = '\0';
		remote_name = xstrdup(name.data);
	}
	if ((err = remote_open_for(&rs, repo, s, remote_name, 0))) {
		err = lepton_error_wrap(err, "no remote store to check that old versions are kept "
					     "there; nothing was pruned (set lepton.pruneRemote)");
		goto fail;
	}
	ok = xcalloc(nr_cand, 1);
	if ((err = remote_store_check_files(rs, cand, nr_cand, ok, NULL)))
		goto fail;
	drop = xcalloc(nr_cand, sizeof(*drop));
	lost = xcalloc(nr_cand, sizeof(*lost));
	for (size_t i = 0; i < nr_cand; i++)
		if (ok[i])
			drop[nr_drop++] = cand[i];
		else
			lost[nr_lost++] = cand[i], rest[nr_rest++] = cand[i];
	if (nr_lost) {
		if (!o->quiet)
			print_files("keep (not whole in the remote store):", &old, lost, nr_lost);
		warning("%zu old file%s kept: remote store '%s' does not have %s whole; push "
			"them or repair that store",
			nr_lost, nr_lost == 1 ? " is" : "s are", remote_store_name(rs),
			nr_lost == 1 ? "it" : "them");
	}
	if ((err = store_chunks_needed(&keep, s, rest, nr_rest)))
		goto fail;
	ro.keep = &keep;
	ro.drop = drop;
	ro.nr_drop = nr_drop;
	ro.dry_run = o->dry_run;
	if (!nr_drop) {
		if (!o->quiet)
			printf("nothing pruned\n");
		goto done;
	}
	if ((err = store_repack(s, &ro, &st)))
		goto fail;
	if (!o->quiet)
		print_files(o->dry_run ? "would drop" : "dropped", &old, drop, nr_drop);
	if (!o->quiet)
		printf("%s %zu file%s, %llu chunks, %s%s (remote store '%s' has them)\n",
		       o->dry_run ? "would free" : "freed", nr_drop, nr_drop == 1 ? "" : "s",
		       (unsigned long long)st.chunks_dropped,
		       human_size(
			   size1, sizeof(size1),
			   st.bytes_before > st.bytes_after ? st.bytes_before - st.bytes_after : 0),
		       o->dry_run ? "" : " locally", remote_store_name(rs));
	if (st.chunks_damaged)
		warning("%llu damaged frames were left out; run 'git lepton fsck --repair'",
			(unsigned long long)st.chunks_damaged);
	goto done;
fail:
	ret = report_error(err);
done:
	free(remote_name);
	free(cand);
	free(drop);
	free(rest);
	free(lost);
	free(ok);
	oidset_release(&keep);
	file_list_release(&kept);
	file_list_release(&old);
	file_list_release(&prot);
	file_list_release(&local);
	str_list_release(&tips);
	buf_release(&text);
	buf_release(&name);
	remote_store_free(rs);
	store_free(s);
	return ret;
}

/* A mark its owner left (killed, or gone for longer than the stale limit)
 * was replaced: say so, since that prune or gc did not finish. */
void warn_taken_over(const struct maintenance *mt, const char *store)
{
	time_t t = (time_t)mt->taken_since;
	struct tm tm;
	char when[64] = "";

	if (!mt->taken_from)
		return;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	warning("store '%s' was marked as being pruned or repacked since %s by '%s', which "
		"is gone; taking over its mark",
		store, when, mt->taken_from);
}

/*
 * prune --remote: along the history of every ref of the store (the local
 * repository must have it), a file is dropped when it is a version of some
 * path but among the newest K of no path in the history of any ref, and in
 * no ref's tip tree.
 */
static int prune_remote(struct lepton_repo *repo, const char *remote, const struct prune_opts *o)
{
	struct lepton_store *s = NULL;
	struct remote_store *rs = NULL;
	struct manifest m;
	struct str_list tips = { 0 };
	struct file_list kept = { 0 }, old = { 0 }, prot = { 0 }, all = { 0 };
	struct collect c = { &all };
	struct lepton_oid *drop = NULL, *rest = NULL;
	size_t nr_drop = 0, nr_rest = 0, nr_broken = 0;
	unsigned char *ok = NULL;
	struct oidset keep = OIDSET_INIT;
	struct repack_stats st;
	struct maintenance mt = { 0 };
	char size[32];
	int err, ret = 0;

	manifest_init(&m);
	if ((err = repo_open_store(repo, &s)) || (err = remote_open_for(&rs, repo, s, remote, 0)))
		goto fail;
	/* the mark first: pushes that overlap what is read from here on check
	 * their content again after the prune (maintenance.h) */
	if (o->dry_run)
		err = manifest_read(&m, remote_store_backend(rs), NULL);
	else if (!(err = maintenance_begin(&mt, &m, remote_store_backend(rs))))
		warn_taken_over(&mt, remote_store_name(rs));
	if (err)
		goto fail;
	remote_store_set_checkpoint(rs, maintenance_checkpoint, &mt);
	for (size_t i = 0; i < m.nr_refs; i++) {
		git_object *obj = NULL, *commit = NULL;
		char hex[GIT_OID_HEXSZ + 1];
		git_oid id;
		if (git_oid_fromstr(&id, m.refs[i].oid) < 0 ||
		    git_object_lookup(&obj, repo->git, &id, GIT_OBJECT_ANY) < 0) {
			err = lepton_error_set(LEPTON_ENOTFOUND,
					       "the history of '%s' in store '%s' is not in this "
					       "repository; fetch it first (git fetch %s)",
					       m.refs[i].name, remote_store_name(rs), remote);
			goto fail;
		}
		if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) == 0) {
			git_oid_tostr(hex, sizeof(hex), git_object_id(commit));
			str_list_add(&tips, hex);
		}
		git_object_free(commit);
		git_object_free(obj);
	}
	if ((err = classify_versions(&kept, &old, repo, &tips, o)) ||
	    (err = add_pointers(&prot, repo, &tips, 1)) || (err = maintenance_refresh(&mt, 0)) ||
	    (err = remote_store_for_each_file(rs, collect_file, &c)) < 0)
		goto fail;
	err = 0;
	drop = xcalloc(all.nr + 1, sizeof(*drop));
	rest = xcalloc(all.nr + 1, sizeof(*rest));
	for (size_t i = 0; i < all.nr; i++) {
		const struct lepton_oid *f = &all.items[i].oid;
		if (oidset_has(&old.set, f) && !oidset_has(&kept.set, f) &&
		    !oidset_has(&prot.set, f))
			drop[nr_drop++] = *f;
		else
			rest[nr_rest++] = *f;
	}
	if (!nr_drop) {
		if (!o->quiet)
			printf("nothing to prune in store '%s'\n", remote_store_name(rs));
		goto done;
	}
	/* every chunk the remaining files need, delta bases included */
	ok = xcalloc(nr_rest + 1, 1);
	if ((err = maintenance_refresh(&mt, 0)) ||
	    (err = remote_store_check_files(rs, rest, nr_rest, ok, &keep)))
		goto fail;
	for (size_t i = 0; i < nr_rest; i++)
		nr_broken += !ok[i];
	if (nr_broken)
		warning(
		    "%zu kept file%s not whole in store '%s'; run 'git lepton fsck --remote %s'",
		    nr_broken, nr_broken == 1 ? " is" : "s are", remote_store_name(rs), remote);
	if (!o->quiet)
		print_files(o->dry_run ? "would drop" : "dropped", &old, drop, nr_drop);
	if ((err = remote_store_prune(rs, &keep, drop, nr_drop, o->grace, o->dry_run, &st)))
		goto fail;
	if (!o->dry_run) {
		size_t late = 0;
		if ((err = remote_store_drop_partial(rs, &all.set, &late)))
			goto fail;
		if (late && !o->quiet)
			printf("dropped %zu file%s a push sent meanwhile (it sends %s again)\n",
			       late, late == 1 ? "" : "s", late == 1 ? "it" : "them");
	}
	if (!o->quiet)
		printf("%s %zu file%s, %llu chunks, %s in store '%s'%s\n",
		       o->dry_run ? "would free" : "freed", nr_drop, nr_drop == 1 ? "" : "s",
		       (unsigned long long)st.chunks_dropped,
		       human_size(size, sizeof(size), st.bytes_dropped), remote_store_name(rs),
		       !o->dry_run && o->grace > 0
			   ? " (the old packs are deleted when the grace period is over)"
			   : "");
	goto done;
fail:
	ret = report_error(err);
done:
	if (rs)
		remote_store_set_checkpoint(rs, NULL, NULL);
	if ((err = maintenance_end(&mt)) && !ret)
		ret = report_error(err);
	else if (err)
		warning("%s", lepton_error_last());
	free(drop);
	free(rest);
	free(ok);
	oidset_release(&keep);
	file_list_release(&kept);
	file_list_release(&old);
	file_list_release(&prot);
	file_list_release(&all);
	str_list_release(&tips);
	manifest_release(&m);
	remote_store_free(rs);
	store_free(s);
	return ret;
}

int cmd_prune(int argc, const char **argv, struct lepton_repo *repo)
{
	struct prune_opts o = { .keep = -1, .grace = DEFAULT_GRACE };
	const char *remote = NULL, *date = NULL;
	int err;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char *end;
		if ((!strcmp(arg, "--keep") && i + 1 < argc) || !strncmp(arg, "--keep=", 7)) {
			const char *v = arg[6] == '=' ? arg + 7 : argv[++i];
			o.keep = strtol(v, &end, 10);
			if (!*v || *end || o.keep < 0)
				return usage_error(argv[0], "--keep takes a number of versions");
		} else if (!strcmp(arg, "--older-than") && i + 1 < argc) {
			date = argv[++i];
		} else if (!strncmp(arg, "--older-than=", 13)) {
			date = arg + 13;
		} else if (!strcmp(arg, "--remote") && i + 1 < argc) {
			remote = argv[++i];
		} else if (!strncmp(arg, "--remote=", 9)) {
			remote = arg + 9;
		} else if (!strncmp(arg, "--grace=", 8)) {
			o.grace = strtoll(arg + 8, &end, 10);
			if (!arg[8] || *end || o.grace < 0)
				return usage_error(argv[0], "--grace takes seconds");
		} else if (!strcmp(arg, "--dry-run") || !strcmp(arg, "-n")) {
			o.dry_run = 1;
		} else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
			o.quiet = 1;
		} else {
			return usage_error(argv[0], "unknown argument '%s'", arg);
		}
	}
	if (o.keep < 0 && !date)
		return usage_error(argv[0], "say what to keep: --keep K and/or --older-than DATE");
	if (date && (err = parse_date(&o.older, date)))
		return report_error(err);
	return remote ? prune_remote(repo, remote, &o) : prune_local(repo, &o);
}
