#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "run.h"
#include "banned.h"

int run_command(const char *const *argv, struct buf *out)
{
	int pipefd[2] = { -1, -1 }, status, err = 0;
	pid_t pid;

	if (out && pipe(pipefd) < 0)
		return lepton_error_errno(LEPTON_EIO, "cannot create a pipe");
	pid = fork();
	if (pid < 0) {
		err = lepton_error_errno(LEPTON_ERR, "cannot run '%s'", argv[0]);
		goto done;
	}
	if (pid == 0) {
		if (out) {
			dup2(pipefd[1], 1);
			close(pipefd[0]);
			close(pipefd[1]);
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
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return err;
}

int run_git(struct buf *out, ...)
{
	const char *argv[32];
	size_t n = 0;
	va_list ap;

	argv[n++] = "git";
	va_start(ap, out);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run_command(argv, out);
}
