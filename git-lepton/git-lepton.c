/*
 * git-lepton: version control for AI models inside plain git.  This file
 * holds the table of commands and the dispatch; each command lives in its
 * own cmd-*.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "cmd.h"
#include "versions.h"
#include "error.h"
#include "pointer.h"
#include "banned.h"

static int cmd_help(int argc, const char **argv, struct lepton_repo *repo);

static const struct lepton_cmd commands[] = {
	{ "install", cmd_install, 0, "configure the filter (and hooks, in a repository)",
	  "git lepton install [--global | --local | --system] [--skip-repo]" },
	{ "uninstall", cmd_uninstall, 0, "remove the filter configuration and hooks",
	  "git lepton uninstall [--global | --local | --system] [--skip-repo]" },
	{ "track", cmd_track, CMD_NEEDS_WORKTREE, "store files matching patterns in git-lepton",
	  "git lepton track [PATTERN...]" },
	{ "untrack", cmd_untrack, CMD_NEEDS_WORKTREE, "stop tracking patterns",
	  "git lepton untrack PATTERN..." },
	{ "ls-files", cmd_ls_files, CMD_NEEDS_REPO, "list the model files of a commit",
	  "git lepton ls-files [--long] [--size] [REV]" },
	{ "status", cmd_status, CMD_NEEDS_WORKTREE,
	  "show staged model files and whether their content is present", "git lepton status" },
	{ "env", cmd_env, 0, "show the resolved configuration and paths", "git lepton env" },
	{ "version", cmd_version, 0, "show the version", "git lepton version" },
	{ "pointer", cmd_pointer, 0, "build a pointer for a file, or check one",
	  "git lepton pointer (--file FILE | --check FILE | --check --stdin)" },
	{ "clean", cmd_clean, CMD_NEEDS_REPO, "store standard input, print its pointer",
	  "git lepton clean [-- PATH]" },
	{ "smudge", cmd_smudge, CMD_NEEDS_REPO,
	  "print the content of the pointer on standard input", "git lepton smudge [-- PATH]" },
	{ "filter-process", cmd_filter_process, CMD_NEEDS_REPO,
	  "git's long-running filter (filter.lepton.process)", "git lepton filter-process" },
	{ "textconv", cmd_textconv, 0,
	  "describe a pointer file for git diff (diff.lepton.textconv)",
	  "git lepton textconv FILE" },
	{ "inspect", cmd_inspect, 0, "show a model file's format, metadata and tensors",
	  "git lepton inspect [--json] (FILE | REV:PATH)" },
	{ "stats", cmd_stats, CMD_NEEDS_REPO,
	  "what each model version costs in the store: dedup, compression, delta",
	  "git lepton stats [--json] [REV | --all]" },
	{ "merge-driver", cmd_merge_driver, 0,
	  "merge two versions of a model (merge.lepton.driver)",
	  "git lepton merge-driver BASE OURS THEIRS [PATH]" },
	{ "fsck", cmd_fsck, CMD_NEEDS_REPO, "verify the local store and the pointers in history",
	  "git lepton fsck [--remote NAME] [--full] [--repair]" },
	{ "fetch", cmd_fetch, CMD_NEEDS_REPO, "download model content from a remote store",
	  "git lepton fetch [REMOTE] [--all | REV...] [--include GLOBS] [--exclude GLOBS] [-q]" },
	{ "pull", cmd_pull, CMD_NEEDS_WORKTREE,
	  "fetch HEAD's model content and check out files that are still pointers",
	  "git lepton pull [REMOTE] [--include GLOBS] [--exclude GLOBS] [-q]" },
	{ "push", cmd_push, CMD_NEEDS_REPO, "upload model content to a remote store",
	  "git lepton push REMOTE [--all | REV...] [--dry-run] [-q]" },
	{ "gc", cmd_gc, CMD_NEEDS_REPO, "consolidate the local store's packs, or a remote store's",
	  "git lepton gc [--remote NAME] [--grace=SECONDS] [-q]" },
	{ "prune", cmd_prune, CMD_NEEDS_REPO,
	  "drop local (or a remote store's) content of old model versions",
	  "git lepton prune (--keep K | --older-than DATE)... [--dry-run] [--remote NAME "
	  "[--grace=SECONDS]] [-q]" },
	{ "hook", cmd_hook, CMD_NEEDS_REPO, "run a hook's checks (called by the installed hooks)",
	  "git lepton hook (pre-commit | validate | pre-push | post-checkout) [ARGS...]" },
	{ "log", cmd_log, CMD_NEEDS_REPO, "list the versions of model files",
	  "git lepton log [--all] [--json] [REV --] [PATH...]" },
	{ "diff", cmd_diff, CMD_NEEDS_REPO, "compare two versions of model files",
	  "git lepton diff [--json] [A [B]] [--] [PATH...]" },
	{ "restore", cmd_restore, CMD_NEEDS_WORKTREE, "bring back a version of model files",
	  "git lepton restore [--version N | --source REV] [--staged] [--worktree] [--] PATH..." },
	{ "export", cmd_export, CMD_NEEDS_REPO,
	  "write a version of a model file elsewhere, work tree untouched",
	  "git lepton export REV PATH DEST" },
	{ "help", cmd_help, 0, "show help for git-lepton or one command",
	  "git lepton help [COMMAND]" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(*commands))

static const struct lepton_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int usage_error(const char *name, const char *fmt, ...)
{
	const struct lepton_cmd *c = find_command(name);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vreport("error: ", fmt, ap);
		va_end(ap);
	}
	if (c)
		fprintf(stderr, "usage: %s\n", c->usage);
	return EXIT_USAGE;
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("error: ", fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

int report_error(int err)
{
	if (err == LEPTON_EGIT) {
		fprintf(stderr, "fatal: %s\n", lepton_error_last());
		return EXIT_GIT;
	}
	if (err == LEPTON_EUSAGE) {
		fprintf(stderr, "error: %s\n", lepton_error_last());
		return EXIT_USAGE;
	}
	fprintf(stderr, "error: %s\n", lepton_error_last());
	return EXIT_FAIL;
}

const char *human_size(char *out, size_t size, unsigned long long bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(*units)) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(out, size, "%llu B", bytes);
	else
		snprintf(out, size, "%.1f %s", v, units[u]);
	return out;
}

int blob_pointer(git_repository *repo, const git_oid *oid, struct lepton_pointer *out)
{
	/* an empty blob is an empty file's own pointer to the version walk;
	 * to the commands it is no pointer at all */
	if (blob_is_empty(oid))
		return 0;
	return version_blob_pointer(out, repo, oid);
}

int blob_is_empty(const git_oid *blob)
{
	return !git_oid_streq(blob, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

int path_is_tracked(git_repository *repo, const char *path, uint32_t from)
{
	const char *filter = NULL;
	return git_attr_get(&filter, repo, from, path, "filter") == 0 && filter &&
	       !strcmp(filter, "lepton");
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: git lepton <command> [<args>]\n\ncommands:\n");
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "   %-15s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'git lepton help <command>' or 'git lepton <command> --help' "
		   "shows one command.\n");
}

static int cmd_help(int argc, const char **argv, struct lepton_repo *repo)
{
	const struct lepton_cmd *c;
	if (argc < 2) {
		print_usage(stdout);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c)
		return error("'%s' is not a git-lepton command; see 'git lepton help'", argv[1]);
	printf("usage: %s\n\n%s\n", c->usage, c->summary);
	return 0;
}

int main(int argc, const char **argv)
{
	const struct lepton_cmd *c;
	struct lepton_repo repo = { 0 };
	int ret, err;

	/* "git-lepton x" and "git lepton x" both arrive here with argv[1] == x */
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_FAIL;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(1, argv + 1, NULL);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1, NULL);
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr,
			"git-lepton: '%s' is not a git-lepton command. See 'git lepton help'.\n",
			argv[1]);
		return EXIT_FAIL;
	}
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: %s\n\n%s\n", c->usage, c->summary);
			return 0;
		}
	git_libgit2_init();
	if (c->flags & (CMD_NEEDS_REPO | CMD_NEEDS_WORKTREE)) {
		if ((err = repo_open(&repo))) {
			fprintf(stderr, "fatal: %s\n", lepton_error_last());
			git_libgit2_shutdown();
			return EXIT_GIT;
		}
		if ((c->flags & CMD_NEEDS_WORKTREE) && !repo.workdir) {
			fprintf(stderr, "fatal: this operation must be run in a work tree\n");
			repo_release(&repo);
			git_libgit2_shutdown();
			return EXIT_GIT;
		}
		ret = c->fn(argc - 1, argv + 1, &repo);
	} else {
		/* the command may use a repository when there is one */
		int have = repo_open(&repo) == 0;
		ret = c->fn(argc - 1, argv + 1, have ? &repo : NULL);
	}
	repo_release(&repo);
	git_libgit2_shutdown();
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "error: cannot write to standard output\n");
		return EXIT_FAIL;
	}
	return ret;
}
