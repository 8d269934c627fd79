#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "banned.h"

#define REDRAW_SECONDS 0.5

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int progress_enabled(void)
{
	return isatty(2);
}

void progress_start(struct progress *p, const char *title, uint64_t total, int enabled)
{
	p->title = title;
	p->total = total;
	p->done = p->bytes = 0;
	p->start = p->last_draw = now();
	p->enabled = enabled;
	p->drawn = 0;
}

static void scaled(char *out, size_t size, double v, const char *unit)
{
	static const char *const prefix[] = { "", "Ki", "Mi", "Gi", "Ti" };
	unsigned i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, size, "%.0f %s%s", v, prefix[i], unit);
	else
		snprintf(out, size, "%.2f %s%s", v, prefix[i], unit);
}

static void draw(struct progress *p, const char *end)
{
	char amount[32], rate[32];
	double elapsed = now() - p->start;
	unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 100;

	scaled(amount, sizeof(amount), (double)p->bytes, "B");
	scaled(rate, sizeof(rate), elapsed > 0 ? p->bytes / elapsed : 0, "B/s");
	fprintf(stderr, "\r%s: %3u%% (%llu/%llu), %s | %s%s", p->title, pct,
		(unsigned long long)p->done, (unsigned long long)p->total, amount, rate, end);
	fflush(stderr);
	p->drawn = 1;
}

void progress_add(struct progress *p, uint64_t n, uint64_t bytes)
{
	double t;
	p->done += n;
	p->bytes += bytes;
	if (!p->enabled)
		return;
	t = now();
	if (t - p->last_draw < REDRAW_SECONDS)
		return;
	p->last_draw = t;
	draw(p, "");
}

void progress_stop(struct progress *p)
{
	if (p->enabled && (p->drawn || p->total))
		draw(p, ", done.\n");
	p->enabled = 0;
}
