#ifndef LEPTON_RUN_H
#define LEPTON_RUN_H

#include "buf.h"

/*
 * Run a command (argv[0] looked up in PATH) and wait for it.  With out, its
 * standard output is appended there; otherwise it goes to ours.  Standard
 * error is always ours.  Returns the exit code (128 + signal when killed),
 * or a negative error if it could not be started.
 */
int run_command(const char *const *argv, struct buf *out);

/* Where the child's standard input comes from (a file, or stdin_len bytes
 * of stdin_data; neither: ours), and whether its standard output goes to
 * our standard error when out is NULL (a remote helper's standard output
 * belongs to the protocol). */
struct run_opts {
	const char *stdin_path;
	int stdout_to_stderr;
	const char *stdin_data;
	size_t stdin_len;
};
int run_command_opt(const char *const *argv, const struct run_opts *opts, struct buf *out);
int run_git_opt(const struct run_opts *opts, struct buf *out, ...) __attribute__((sentinel));

/* run_command() of `git ARGS...`, quiet stdout, NULL-terminated list. */
int run_git(struct buf *out, ...) __attribute__((sentinel));

#endif
