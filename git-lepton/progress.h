#ifndef LEPTON_PROGRESS_H
#define LEPTON_PROGRESS_H

#include <stdint.h>

/*
 * Progress on standard error in git's style, redrawn at most a few times a
 * second:
 *
 *   Uploading model content:  45% (9/20), 1.2 GiB | 310 MiB/s
 *
 * and finished with ", done." on the last line.  A progress that is not
 * enabled prints nothing; progress_enabled() tells whether standard error
 * is a terminal, which is git's default.
 */
struct progress {
	const char *title;
	uint64_t total, done, bytes;
	double start, last_draw;
	int enabled, drawn;
};

int progress_enabled(void);
void progress_start(struct progress *p, const char *title, uint64_t total, int enabled);
/* Count n more items of bytes more bytes. */
void progress_add(struct progress *p, uint64_t n, uint64_t bytes);
/* The final line (when anything was drawn or there was work to show). */
void progress_stop(struct progress *p);

#endif
