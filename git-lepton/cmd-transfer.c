/* fetch, pull, push: moving model content explicitly; and the pre-push
 * hook's upload for code that lives on an ordinary git server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "maintenance.h"
#include "manifest.h"
#include "pointer.h"
#include "remote.h"
#include "run.h"
#include "banned.h"

#define PUSH_ROUNDS 10 /* content rounds while the store's manifest keeps changing */

struct transfer_opts {
	const char *remote; /* NULL: the repository's default store */
	const char **revs;
	size_t nr_revs;
	int all, quiet, dry_run;
	const char *include, *exclude;
};

static int is_remote_name(struct lepton_repo *repo, const char *name)
{
	/* by its configured URL: libgit2's remote lookup leaks a regex buffer */
	struct buf key = BUF_INIT, url = BUF_INIT;
	int found;

	buf_addf(&key, "remote.%s.url", name);
	found = repo_config_string(repo, key.data, &url);
	buf_release(&key);
	buf_release(&url);
	return found || !strncmp(name, "lepton::", 8);
}

static int parse_transfer_args(struct transfer_opts *o, int argc, const char **argv,
			       struct lepton_repo *repo, int takes_filters)
{
	int i = 1;

	memset(o, 0, sizeof(*o));
	o->revs = xcalloc(argc + 1, sizeof(*o->revs));
	o->quiet = !progress_enabled();
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--all"))
			o->all = 1;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			o->quiet = 1;
		else if (!strcmp(a, "--progress"))
			o->quiet = 0;
		else if (!strcmp(a, "--dry-run") || !strcmp(a, "-n"))
			o->dry_run = 1;
		else if (takes_filters && (!strcmp(a, "--include") || !strcmp(a, "-I")) &&
			 i + 1 < argc)
			o->include = argv[++i];
		else if (takes_filters && (!strcmp(a, "--exclude") || !strcmp(a, "-X")) &&
			 i + 1 < argc)
			o->exclude = argv[++i];
		else if (takes_filters && !strncmp(a, "--include=", 10))
			o->include = a + 10;
		else if (takes_filters && !strncmp(a, "--exclude=", 10))
			o->exclude = a + 10;
		else if (!strcmp(a, "--"))
			continue;
		else if (a[0] == '-')
			return usage_error(argv[0], "unknown option '%s'", a);
		else if (!o->remote && !o->nr_revs && is_remote_name(repo, a))
			o->remote = a;
		else
			o->revs[o->nr_revs++] = a;
	}
	if (o->all && o->nr_revs)
		return usage_error(argv[0], "--all and revisions do not go together");
	return 0;
}

static void report_stats(const char *verb, const struct transfer_stats *st, int quiet)
{
	char size[32];
	if (quiet)
		return;
	fprintf(stderr, "%s %llu of %llu files (%llu were there already), %s in %llu chunks\n",
		verb, (unsigned long long)(st->files - st->files_present),
		(unsigned long long)st->files, (unsigned long long)st->files_present,
		human_size(size, sizeof(size), st->bytes), (unsigned long long)st->chunks);
}

/* The pointers of what was asked: trees of the revisions (HEAD by default),
 * or with --all every version in the history of every ref. */
static int select_pointers(struct pointer_list *out, struct lepton_repo *repo,
			   const struct transfer_opts *o, int walk_history)
{
	const char *head[] = { "HEAD" }, *all[] = { "--all" };
	struct buf include = BUF_INIT, exclude = BUF_INIT;
	int err;

	/* the options, else lepton.fetchInclude / lepton.fetchExclude */
	if (o->include)
		buf_addstr(&include, o->include);
	else
		repo_config_string(repo, "lepton.fetchinclude", &include);
	if (o->exclude)
		buf_addstr(&exclude, o->exclude);
	else
		repo_config_string(repo, "lepton.fetchexclude", &exclude);
	if (o->all)
		err = pointers_reachable(out, repo, all, 1, 0, include.len ? include.data : NULL,
					 exclude.len ? exclude.data : NULL);
	else
		err = pointers_reachable(out, repo, o->nr_revs ? o->revs : head,
					 o->nr_revs ? o->nr_revs : 1, !walk_history,
					 include.len ? include.data : NULL,
					 exclude.len ? exclude.data : NULL);
	buf_release(&include);
	buf_release(&exclude);
	return err;
}

static int do_fetch(struct lepton_repo *repo, const struct transfer_opts *o)
{
	struct lepton_store *s = NULL;
	struct remote_store *rs = NULL;
	struct pointer_list pointers = { 0 };
	struct transfer_stats st;
	struct lepton_oid *oids = NULL;
	int err;

	if ((err = repo_open_store(repo, &s)) || (err = select_pointers(&pointers, repo, o, 0)) ||
	    (err = remote_open_for(&rs, repo, s, o->remote, 0)))
		goto done;
	oids = pointer_list_oids(&pointers);
	if (!(err = transfer_fetch(rs, s, oids, pointers.nr, o->quiet, &st)))
		report_stats("fetched", &st, o->quiet);
done:
	free(oids);
	pointer_list_release(&pointers);
	remote_store_free(rs);
	store_free(s);
	return err;
}

int cmd_fetch(int argc, const char **argv, struct lepton_repo *repo)
{
	struct transfer_opts o;
	int ret = parse_transfer_args(&o, argc, argv, repo, 1), err;
	if (ret)
		goto done;
	if ((err = do_fetch(repo, &o)))
		ret = report_error(err);
done:
	free(o.revs);
	return ret;
}

/* Work tree files of HEAD that still hold a pointer (a clone with
 * GIT_LEPTON_SKIP_SMUDGE=1, or content that was missing): check them out
 * again now that the content is here. */
static int materialise(struct lepton_repo *repo, const struct pointer_list *fetched, int quiet)
{
	const char **argv = xcalloc(fetched->nr + 4, sizeof(*argv));
	struct buf path = BUF_INIT, head = BUF_INIT;
	size_t n = 0;
	int err = 0;

	argv[n++] = "git";
	argv[n++] = "checkout";
	argv[n++] = "--";
	for (size_t i = 0; i < fetched->nr; i++) {
		struct lepton_pointer p;
		buf_reset(&path);
		buf_reset(&head);
		buf_addf(&path, "%s%s", repo->workdir, fetched->items[i].path);
		head.limit = POINTER_MAX_SIZE;
		if (buf_read_file(&head, path.data) == 0 &&
		    pointer_looks_like(head.data, head.len) &&
		    !pointer_parse(&p, NULL, head.data, head.len) &&
		    !oid_cmp(&p.oid, &fetched->items[i].oid)) {
			/* git leaves a file whose stat matches the index alone:
			 * remove the pointer (nothing else is lost) so it is
			 * written again through the filter */
			if (unlink(path.data) == 0)
				argv[n++] = fetched->items[i].path;
		}
		head.limit = 0;
		lepton_error_clear();
	}
	if (n > 3) {
		int code = run_command(argv, NULL);
		if (code)
			err = code < 0
				  ? code
				  : lepton_error_set(LEPTON_EGIT,
						     "git checkout failed (exit code %d)", code);
		else if (!quiet)
			fprintf(stderr, "checked out %zu model files\n", n - 3);
	}
	buf_release(&path);
	buf_release(&head);
	free(argv);
	return err;
}

int cmd_pull(int argc, const char **argv, struct lepton_repo *repo)
{
	struct transfer_opts o;
	struct pointer_list pointers = { 0 };
	int ret = parse_transfer_args(&o, argc, argv, repo, 1), err;

	if (ret)
		goto done;
	if (o.all || o.nr_revs) {
		ret = usage_error(argv[0], "pull works on HEAD; use 'git lepton fetch' for others");
		goto done;
	}
	if ((err = do_fetch(repo, &o)) || (err = select_pointers(&pointers, repo, &o, 0)) ||
	    (err = materialise(repo, &pointers, o.quiet)))
		ret = report_error(err);
done:
	pointer_list_release(&pointers);
	free(o.revs);
	return ret;
}

/*
 * Content only (no refs to swap): refuse while a prune or gc rewrites the
 * store; when the store's manifest changed while the content went up (a
 * prune or gc may have come and gone, maintenance.h), check it all again,
 * frames of files already there included, until a round sees no change.
 */
static int push_checked(struct remote_store *rs, struct lepton_store *s,
			const struct lepton_oid *oids, size_t nr, int quiet,
			struct transfer_stats *st)
{
	struct backend *b = remote_store_backend(rs);
	struct buf before = BUF_INIT, after = BUF_INIT;
	struct manifest m;
	int err;

	if ((err = manifest_read(&m, b, &before)))
		goto done;
	err = maintenance_check(&m, remote_store_name(rs));
	manifest_release(&m);
	for (int round = 0; !err; round++) {
		struct transfer_stats more;
		if (round == PUSH_ROUNDS) {
			err = lepton_error_set(
			    LEPTON_ECONFLICT,
			    "store '%s' changed %d times while uploading; try again",
			    remote_store_name(rs), PUSH_ROUNDS);
			break;
		}
		if (!round)
			err = transfer_push(rs, s, oids, nr, quiet, 0, st);
		else if (!(err = transfer_push(rs, s, oids, nr, quiet, 0, &more)))
			st->chunks += more.chunks, st->bytes += more.bytes;
		if (err)
			break;
		buf_reset(&after);
		if ((err = manifest_read(&m, b, &after)))
			break;
		err = maintenance_check(&m, remote_store_name(rs));
		manifest_release(&m);
		if (err || !strcmp(before.data, after.data))
			break;
		buf_reset(&before);
		buf_addstr(&before, after.data);
	}
done:
	buf_release(&before);
	buf_release(&after);
	return err;
}

static int do_push(struct lepton_repo *repo, const char *remote, const char *const *revs, size_t nr,
		   int quiet, int dry_run)
{
	struct lepton_store *s = NULL;
	struct remote_store *rs = NULL;
	struct pointer_list pointers = { 0 };
	struct transfer_stats st;
	struct lepton_oid *oids = NULL;
	int err;

	if ((err = repo_open_store(repo, &s)) ||
	    (err = pointers_reachable(&pointers, repo, revs, nr, 0, NULL, NULL)))
		goto done;
	if (!pointers.nr)
		goto done;
	if ((err = remote_open_for(&rs, repo, s, remote, !dry_run)))
		goto done;
	oids = pointer_list_oids(&pointers);
	if (dry_run)
		err = transfer_push(rs, s, oids, pointers.nr, quiet, dry_run, &st);
	else
		err = push_checked(rs, s, oids, pointers.nr, quiet, &st);
	if (!err)
		report_stats(dry_run ? "would upload" : "uploaded", &st, quiet);
done:
	free(oids);
	pointer_list_release(&pointers);
	remote_store_free(rs);
	store_free(s);
	return err;
}

int cmd_push(int argc, const char **argv, struct lepton_repo *repo)
{
	struct transfer_opts o;
	const char *head[] = { "HEAD" }, *all[] = { "--all" };
	int ret = parse_transfer_args(&o, argc, argv, repo, 0), err;

	if (ret)
		goto done;
	if (!o.remote) {
		ret = usage_error(argv[0], "name the remote to push to");
		goto done;
	}
	err = o.all ? do_push(repo, o.remote, all, 1, o.quiet, o.dry_run)
		    : do_push(repo, o.remote, o.nr_revs ? o.revs : head, o.nr_revs ? o.nr_revs : 1,
			      o.quiet, o.dry_run);
	if (err)
		ret = report_error(err);
done:
	free(o.revs);
	return ret;
}

/*
 * pre-push: git passes the remote's name and URL, and on standard input one
 * line per ref: "<local ref> <local oid> <remote ref> <remote oid>".  For a
 * lepton:: remote the helper sends the content itself; for any other, the
 * content of the commits being pushed goes to the store that lepton.url or
 * .leptonconfig names, before git sends anything, and a failed upload
 * refuses the push.
 */
int hook_pre_push(int argc, const char **argv, struct lepton_repo *repo)
{
	static const char zero[] = "0000000000000000000000000000000000000000";
	struct buf input = BUF_INIT, url = BUF_INIT;
	const char **revs = NULL;
	const char *remote = argc > 2 ? argv[2] : NULL, *remote_url = argc > 3 ? argv[3] : "";
	size_t nr = 0, lines = 0;
	int err = 0, ret = 0;
	char *line, *next;

	buf_read_fd(&input, 0);
	if (!strncmp(remote_url, "lepton::", 8))
		goto done;
	if (remote_store_url(repo, NULL, &url)) {
		lepton_error_clear();
		goto done; /* no store named: nothing of ours to send */
	}
	for (size_t i = 0; i < input.len; i++)
		lines += input.data[i] == '\n';
	revs = xcalloc(2 * lines + 1, sizeof(*revs));
	for (line = input.data; *line; line = next) {
		char local_ref[1024], local_oid[128], remote_ref[1024], remote_oid[128];
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, "%1023s %127s %1023s %127s", local_ref, local_oid, remote_ref,
			   remote_oid) != 4)
			continue;
		if (!strncmp(local_oid, zero, strlen(local_oid)))
			continue; /* a delete sends nothing */
		revs[nr++] = xstrdup(local_oid);
		if (strncmp(remote_oid, zero, strlen(remote_oid))) {
			git_oid id;
			git_odb *odb = NULL;
			if (git_oid_fromstr(&id, remote_oid) == 0 &&
			    git_repository_odb(&odb, repo->git) == 0 && git_odb_exists(odb, &id)) {
				struct buf not = BUF_INIT;
				buf_addf(&not, "^%s", remote_oid);
				revs[nr++] = buf_detach(&not, NULL);
			}
			git_odb_free(odb);
		}
	}
	if (nr && (err = do_push(repo, NULL, revs, nr, !progress_enabled(), 0))) {
		fprintf(stderr, "error: cannot upload model content to '%s': %s\n", url.data,
			lepton_error_last());
		fprintf(stderr,
			"error: push to '%s' refused so that it does not publish commits "
			"whose content nobody can fetch\n",
			remote ? remote : remote_url);
		ret = EXIT_FAIL;
	}
done:
	for (size_t i = 0; i < nr; i++)
		free((char *)revs[i]);
	free(revs);
	buf_release(&input);
	buf_release(&url);
	return ret;
}
