#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "run.h"
#include "banned.h"

int run_command(const char *const *argv, struct buf *out)
{
	return run_command_opt(argv, NULL, out);
}

/* The bytes as a file to read from the start: an unlinked temporary file,
 * so a child reading slowly (or not at all) never blocks us. */
static int stdin_from_bytes(const char *data, size_t len)
{
	FILE *f = tmpfile();
	int fd = -1;

	if (!f)
		return lepton_error_errno(LEPTON_EIO, "cannot create a temporary file");
	if (!write_all(fileno(f), data, len) && lseek(fileno(f), 0, SEEK_SET) == 0)
		fd = fcntl(fileno(f), F_DUPFD_CLOEXEC, 0);
	fclose(f);
	if (fd < 0)
		return lepton_error_errno(LEPTON_EIO, "cannot write a temporary file");
	return fd;
}

int run_command_opt(const char *const *argv, const struct run_opts *opts, struct buf *out)
{
	int pipefd[2] = { -1, -1 }, status, err = 0, in = -1;
	pid_t pid;

	if (opts && opts->stdin_path) {
		in = open(opts->stdin_path, O_RDONLY | O_CLOEXEC);
		if (in < 0)
			return lepton_error_errno(LEPTON_EIO, "cannot open '%s'", opts->stdin_path);
	} else if (opts && opts->stdin_data) {
		in = stdin_from_bytes(opts->stdin_data, opts->stdin_len);
		if (in < 0)
			return in;
	}
	if (out && pipe(pipefd) < 0) {
		if (in >= 0)
			close(in);
		return lepton_error_errno(LEPTON_EIO, "cannot create a pipe");
	}
	pid = fork();
	if (pid < 0) {
		err = lepton_error_errno(LEPTON_ERR, "cannot run '%s'", argv[0]);
		goto done;
	}
	if (pid == 0) {
		if (in >= 0)
			dup2(in, 0);
		if (out) {
			dup2(pipefd[1], 1);
			close(pipefd[0]);
			close(pipefd[1]);
		} else if (opts && opts->stdout_to_stderr) {
			dup2(2, 1);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (out) {
		close(pipefd[1]);
		pipefd[1] = -1;
		err = buf_read_fd(out, pipefd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return lepton_error_errno(LEPTON_ERR, "cannot wait for '%s'", argv[0]);
	if (!err)
		err = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
done:
	if (in >= 0)
		close(in);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return err;
}

static int run_git_va(const struct run_opts *opts, struct buf *out, va_list ap)
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = "git";
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	argv[n] = NULL;
	return run_command_opt(argv, opts, out);
}

int run_git_opt(const struct run_opts *opts, struct buf *out, ...)
{
	va_list ap;
	int ret;
	va_start(ap, out);
	ret = run_git_va(opts, out, ap);
	va_end(ap);
	return ret;
}

int run_git(struct buf *out, ...)
{
	va_list ap;
	int ret;
	va_start(ap, out);
	ret = run_git_va(NULL, out, ap);
	va_end(ap);
	return ret;
}
