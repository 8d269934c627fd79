#ifndef LEPTON_CMD_H
#define LEPTON_CMD_H

#include "repo.h"

/*
 * The command layer: one file a command (cmd-*.c), registered in the table
 * of git-lepton.c.  Only here do errors become messages and exit codes:
 * 0 success, 1 failure, 128 a git error or no repository, 129 bad usage.
 */

#define EXIT_FAIL  1
#define EXIT_GIT   128
#define EXIT_USAGE 129

#define CMD_NEEDS_REPO     0x1 /* repo is opened before the call; 128 without one */
#define CMD_NEEDS_WORKTREE 0x2 /* ... and must have a work tree */

struct lepton_cmd {
	const char *name;
	int (*fn)(int argc, const char **argv, struct lepton_repo *repo);
	unsigned flags;
	const char *summary; /* one line for `git lepton help` */
	const char *usage;   /* printed by --help and on bad usage */
};

/* Print "usage: ..." of the named command to stderr; returns EXIT_USAGE. */
int usage_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "error: <message>" to stderr; returns EXIT_FAIL. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last library error as "error: ..." (or "fatal: ..." with EXIT_GIT for
 * LEPTON_EGIT); returns the exit code for err. */
int report_error(int err);
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* prune/gc --remote: warn that the maintenance mark of a killed prune or
 * gc was taken over (nothing when there was none). */
struct maintenance;
void warn_taken_over(const struct maintenance *mt, const char *store);

/* Human size: "1.2 GiB", "512 B". */
const char *human_size(char *out, size_t size, unsigned long long bytes);

/* Blob contents when it is a pointer: 1 and the pointer; 0 when it is not
 * one; LEPTON_EINVALID with the message set when it is malformed. */
int blob_pointer(git_repository *repo, const git_oid *blob, struct lepton_pointer *out);

/* The blob of an empty file, which stays empty: it is its own pointer. */
int blob_is_empty(const git_oid *blob);

/* Does .gitattributes give path filter=lepton?  from is where git reads the
 * attributes first: GIT_ATTR_CHECK_INDEX_THEN_FILE for what is being
 * committed, GIT_ATTR_CHECK_FILE_THEN_INDEX for the work tree. */
int path_is_tracked(git_repository *repo, const char *path, uint32_t from);

int cmd_install(int argc, const char **argv, struct lepton_repo *repo);
int cmd_uninstall(int argc, const char **argv, struct lepton_repo *repo);
int cmd_track(int argc, const char **argv, struct lepton_repo *repo);
int cmd_untrack(int argc, const char **argv, struct lepton_repo *repo);
int cmd_ls_files(int argc, const char **argv, struct lepton_repo *repo);
int cmd_status(int argc, const char **argv, struct lepton_repo *repo);
int cmd_env(int argc, const char **argv, struct lepton_repo *repo);
int cmd_version(int argc, const char **argv, struct lepton_repo *repo);
int cmd_pointer(int argc, const char **argv, struct lepton_repo *repo);
int cmd_clean(int argc, const char **argv, struct lepton_repo *repo);
int cmd_smudge(int argc, const char **argv, struct lepton_repo *repo);
int cmd_filter_process(int argc, const char **argv, struct lepton_repo *repo);
int cmd_textconv(int argc, const char **argv, struct lepton_repo *repo);
int cmd_fsck(int argc, const char **argv, struct lepton_repo *repo);
int cmd_merge_driver(int argc, const char **argv, struct lepton_repo *repo);
int cmd_hook(int argc, const char **argv, struct lepton_repo *repo);
int cmd_fetch(int argc, const char **argv, struct lepton_repo *repo);
int cmd_pull(int argc, const char **argv, struct lepton_repo *repo);
int cmd_push(int argc, const char **argv, struct lepton_repo *repo);
int cmd_gc(int argc, const char **argv, struct lepton_repo *repo);
int cmd_prune(int argc, const char **argv, struct lepton_repo *repo);
int hook_pre_push(int argc, const char **argv, struct lepton_repo *repo);
int cmd_inspect(int argc, const char **argv, struct lepton_repo *repo);
int cmd_stats(int argc, const char **argv, struct lepton_repo *repo);
/* the version commands: cmd-log.c, cmd-diff.c, cmd-export.c */
int cmd_log(int argc, const char **argv, struct lepton_repo *repo);
int cmd_diff(int argc, const char **argv, struct lepton_repo *repo);
int cmd_restore(int argc, const char **argv, struct lepton_repo *repo);
int cmd_export(int argc, const char **argv, struct lepton_repo *repo);

#endif
