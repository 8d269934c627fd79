#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "testpoint.h"
#include "banned.h"

#define PAUSE_LIMIT_MS 60000
#define PAUSE_POLL_MS  20

static void pause_here(const char *path)
{
	struct buf reached = BUF_INIT;
	struct timespec poll = { 0, PAUSE_POLL_MS * 1000000L };
	int fd;

	buf_addf(&reached, "%s.reached", path);
	fd = open(reached.data, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	for (int waited = 0; waited < PAUSE_LIMIT_MS && access(path, F_OK) < 0;
	     waited += PAUSE_POLL_MS)
		nanosleep(&poll, NULL);
	buf_release(&reached);
}

void test_point(const char *name)
{
	const char *at = getenv("GIT_LEPTON_TEST_DIE_AT");
	const char *pause = getenv("GIT_LEPTON_TEST_PAUSE_AT");
	const char *file = getenv("GIT_LEPTON_TEST_PAUSE_FILE");

	if (at && !strcmp(at, name))
		raise(SIGKILL);
	if (pause && file && *file && !strcmp(pause, name))
		pause_here(file);
}
