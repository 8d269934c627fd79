/* export and restore: a version's bytes, to a file or back into the work tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "run.h"
#include "versions.h"
#include "banned.h"

/* The blob of path in commit; LEPTON_ENOTFOUND when the commit has none. */
static int blob_at(git_oid *out, git_repository *repo, const git_oid *commit, const char *path)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int ret = 0;

	git_oid_tostr(hex, 8, commit);
	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0)
		ret = lepton_error_set(LEPTON_EGIT, "cannot read commit '%s': %s", hex,
				       git_error_message());
	else if (git_tree_entry_bypath(&e, tree, path) < 0 ||
		 git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		ret = lepton_error_set(LEPTON_ENOTFOUND,
				       "'%s' does not exist in commit '%s'; see 'git lepton log "
				       "\"%s\"' for its versions",
				       path, hex, path);
	else
		git_oid_cpy(out, git_tree_entry_id(e));
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(c);
	return ret;
}

/* Copy the verified content of p into fd. */
static int copy_content(int fd, struct lepton_store *store, const struct lepton_pointer *p,
			const char *path, const git_oid *commit)
{
	struct store_reader *r = NULL;
	char hex[OID_HEXSZ + 1], chex[GIT_OID_HEXSZ + 1];
	const void *data;
	ssize_t n;
	int err;

	if (!store || !store_has_file(store, &p->oid)) {
		git_oid_tostr(chex, 8, commit);
		return lepton_error_set(LEPTON_ENOTFOUND,
					"content '%s' of '%s' in commit '%s' is not in the local "
					"store; run 'git lepton fetch' to get it",
					oid_to_hex(hex, &p->oid), path, chex);
	}
	if ((err = store_reader_open(&r, store, p)))
		return err;
	while ((n = store_reader_next(r, &data, 1u << 20)) > 0)
		if ((err = write_all(fd, data, (size_t)n)))
			break;
	if (n < 0)
		err = (int)n;
	store_reader_free(r);
	return err;
}

/* Raw bytes (a path committed before it was tracked): straight from git. */
static int copy_blob(int fd, git_repository *repo, const git_oid *blob)
{
	git_blob *b = NULL;
	int err;
	if (git_blob_lookup(&b, repo, blob) < 0)
		return lepton_error_set(LEPTON_EGIT, "cannot read a blob: %s", git_error_message());
	err = write_all(fd, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	git_blob_free(b);
	return err;
}

static int export_version(struct lepton_repo *repo, const git_oid *commit, const char *path,
			  const char *dest_arg)
{
	struct lepton_store *store = NULL;
	struct lepton_pointer p;
	struct buf dest = BUF_INIT, tmp = BUF_INIT;
	struct stat st;
	git_oid blob;
	int fd = -1, kind, err;

	if ((err = blob_at(&blob, repo->git, commit, path)))
		goto done;
	buf_addstr(&dest, dest_arg);
	if (stat(dest_arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		const char *base = strrchr(path, '/');
		buf_addf(&dest, "%s%s", dest.len && dest.data[dest.len - 1] == '/' ? "" : "/",
			 base ? base + 1 : path);
	}
	buf_addf(&tmp, "%s.lepton-tmp-XXXXXX", dest.data);
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create a file beside '%s'", dest.data);
		goto done;
	}
	kind = version_blob_pointer(&p, repo->git, &blob);
	if (kind < 0 && kind != LEPTON_EINVALID) {
		err = kind;
		goto done;
	}
	if (kind == LEPTON_EINVALID) {
		err = lepton_error_set(LEPTON_EINVALID, "'%s' holds a malformed pointer there: %s",
				       path, lepton_error_last());
		goto done;
	}
	if (kind == 1) {
		store_open(&store, repo->store_path, 0);
		if (!store || !(err = repo_lock_store(repo, store, 0)))
			err = copy_content(fd, store, &p, path, commit);
	} else
		err = copy_blob(fd, repo->git, &blob);
	if (err)
		goto done;
	if (fchmod(fd, 0644) < 0 || close(fd) < 0) {
		fd = -1;
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", tmp.data);
		goto done;
	}
	fd = -1;
	if (rename(tmp.data, dest.data) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot rename '%s' to '%s'", tmp.data,
					 dest.data);
done:
	if (fd >= 0)
		close(fd);
	if (err && tmp.len)
		unlink(tmp.data);
	store_free(store);
	buf_release(&tmp);
	buf_release(&dest);
	return err;
}

int cmd_export(int argc, const char **argv, struct lepton_repo *repo)
{
	git_oid commit;
	char *named = NULL;
	const char *path;
	int err;

	if (argc != 4)
		return usage_error(argv[0], argc < 4 ? "REV, PATH and DEST are needed"
						     : "too many arguments");
	path = argv[2];
	if ((err = version_resolve(&commit, &named, repo->git, argv[1], path)))
		return report_error(err);
	if (named && strcmp(named, path)) {
		free(named);
		return error("'%s' names another path than '%s'; give the version as '%s@vN' or "
			     "'vN'",
			     argv[1], path, path);
	}
	free(named);
	if ((err = export_version(repo, &commit, path, argv[3])))
		return report_error(err);
	return 0;
}

/* Is the content of path in commit present locally (or not a pointer)? */
static int check_local(struct lepton_repo *repo, const git_oid *commit, const char *path)
{
	struct lepton_store *store = NULL;
	struct lepton_pointer p;
	char hex[OID_HEXSZ + 1], chex[GIT_OID_HEXSZ + 1];
	git_oid blob;
	int err;

	if ((err = blob_at(&blob, repo->git, commit, path)))
		return err;
	if (version_blob_pointer(&p, repo->git, &blob) != 1 || !p.size)
		return 0;
	store_open(&store, repo->store_path, 0);
	if (!store || !store_has_file(store, &p.oid)) {
		git_oid_tostr(chex, 8, commit);
		err = lepton_error_set(LEPTON_ENOTFOUND,
				       "content '%s' of '%s' in commit '%s' is not in the local "
				       "store; run 'git lepton fetch' to get it",
				       oid_to_hex(hex, &p.oid), path, chex);
	}
	store_free(store);
	return err;
}

int cmd_restore(int argc, const char **argv, struct lepton_repo *repo)
{
	const char *source = NULL, *version = NULL;
	const char **paths = xcalloc((size_t)argc + 1, sizeof(*paths));
	int staged = 0, worktree = 0, nr = 0, ret = 0, only_paths = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_paths || a[0] != '-')
			paths[nr++] = a;
		else if (!strcmp(a, "--"))
			only_paths = 1;
		else if (!strcmp(a, "--staged") || !strcmp(a, "-S"))
			staged = 1;
		else if (!strcmp(a, "--worktree") || !strcmp(a, "-W"))
			worktree = 1;
		else if ((!strcmp(a, "--version") || !strcmp(a, "--source") || !strcmp(a, "-s")) &&
			 i + 1 < argc)
			*(a[2] == 'v' ? &version : &source) = argv[++i];
		else if (!strncmp(a, "--version=", 10))
			version = a + 10;
		else if (!strncmp(a, "--source=", 9))
			source = a + 9;
		else {
			ret = usage_error(argv[0], "unknown option '%s'", a);
			goto done;
		}
	}
	if (!nr) {
		ret = usage_error(argv[0], "no path given");
		goto done;
	}
	if (source && version) {
		ret = usage_error(argv[0], "--version and --source cannot be used together");
		goto done;
	}
	if (version) {
		unsigned long n;
		struct buf v = BUF_INIT;
		buf_addf(&v, "%s%s", version[0] == 'v' ? "" : "v", version);
		if (!version_number_parse(&n, v.data)) {
			buf_release(&v);
			ret = usage_error(argv[0], "--version takes a number, such as 3 or v3");
			goto done;
		}
		buf_release(&v);
	}
	if (!staged)
		worktree = 1; /* as git restore: the work tree unless --staged */
	for (int i = 0; i < nr; i++) {
		struct buf spec = BUF_INIT, src = BUF_INIT;
		char hex[GIT_OID_HEXSZ + 1];
		git_oid commit;
		int err, code;

		if (version)
			buf_addf(&spec, "%s@%s%s", paths[i], version[0] == 'v' ? "" : "v", version);
		else
			buf_addstr(&spec, source ? source : "HEAD");
		err = version_resolve(&commit, NULL, repo->git, spec.data, paths[i]);
		if (!err)
			err = check_local(repo, &commit, paths[i]);
		buf_release(&spec);
		if (err) {
			ret = report_error(err);
			continue;
		}
		git_oid_tostr(hex, sizeof(hex), &commit);
		buf_addf(&src, "--source=%s", hex);
		{
			const char *cmd[8];
			int n = 0;
			cmd[n++] = "git";
			cmd[n++] = "restore";
			cmd[n++] = src.data;
			if (staged)
				cmd[n++] = "--staged";
			if (worktree)
				cmd[n++] = "--worktree";
			cmd[n++] = "--";
			cmd[n++] = paths[i];
			cmd[n] = NULL;
			code = run_command(cmd, NULL);
		}
		buf_release(&src);
		if (code) {
			ret = error("'git restore' of '%s' failed", paths[i]);
			continue;
		}
	}
done:
	free(paths);
	return ret;
}
