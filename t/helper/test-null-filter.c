/*
 * test-null-filter: the least work a smudge filter can do, for the bench.
 *
 *   git -c filter.lepton.process=test-null-filter checkout ...
 *   with NULL_FILTER_FILE=<file>
 *
 * Speaks git's long-running filter protocol (version 2, clean and smudge)
 * and answers every smudge with the bytes of NULL_FILTER_FILE, read from
 * the page cache and sent as they are: no store, no decoding, no check.
 * A clean answers with its input's pointer unchanged (git only cleans here
 * when it refreshes the index).  What a checkout through it costs is git's
 * own share of any filter-based tool's checkout: git reads the filter's
 * whole output into one buffer, then writes the file.  bench.sh clones
 * through it beside git-lepton and git-lfs to show that floor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PKT_MAX  65520
#define DATA_MAX (PKT_MAX - 4)

static void die(const char *what)
{
	fprintf(stderr, "test-null-filter: %s%s%s\n", what, errno ? ": " : "",
		errno ? strerror(errno) : "");
	exit(1);
}

static int read_full(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void write_full(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("cannot write to git");
		p += w;
		n -= (size_t)w;
	}
}

/* One packet into line (NUL-terminated, newline kept): its payload's
 * length, 0 for a flush packet, -1 at the end of input. */
static int read_pkt(char *line)
{
	char head[5] = { 0 };
	long n;

	if (read_full(0, head, 4))
		return -1;
	n = strtol(head, NULL, 16);
	if (n == 0)
		return 0;
	if (n < 4 || n > PKT_MAX || read_full(0, line, (size_t)n - 4))
		die("bad packet from git");
	line[n - 4] = 0;
	return (int)n - 4;
}

/* the packets up to the next flush; with keep, their payloads into out */
static int read_until_flush(char *line, char *out, size_t cap)
{
	size_t used = 0;
	int n;

	while ((n = read_pkt(line)) > 0)
		if (out && used + (size_t)n < cap) {
			memcpy(out + used, line, (size_t)n);
			used += (size_t)n;
		}
	if (out)
		out[used] = 0;
	return n;
}

/* a packet's length header: four hex digits, the header included */
static void pkt_head(char *head, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	len += 4;
	for (int i = 3; i >= 0; i--, len >>= 4)
		head[i] = hex[len & 15];
}

static void write_pkt(const char *data, size_t len)
{
	char head[4];

	pkt_head(head, len);
	write_full(1, head, 4);
	write_full(1, data, len);
}

static void write_text(const char *s)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", s);
	write_pkt(line, (size_t)n);
}

static void write_flush(void)
{
	write_full(1, "0000", 4);
}

static void send_file(const char *path)
{
	static char pkt[PKT_MAX];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die(path);
	while ((n = read(fd, pkt + 4, DATA_MAX)) > 0) {
		pkt_head(pkt, (size_t)n);
		write_full(1, pkt, (size_t)n + 4);
	}
	if (n < 0)
		die(path);
	close(fd);
}

int main(void)
{
	static char line[PKT_MAX], content[PKT_MAX];
	const char *file = getenv("NULL_FILTER_FILE");

	if (!file)
		die("NULL_FILTER_FILE is not set");
	if (read_until_flush(line, NULL, 0) < 0)
		die("no greeting from git");
	write_text("git-filter-server");
	write_text("version=2");
	write_flush();
	if (read_until_flush(line, NULL, 0) < 0)
		die("no capabilities from git");
	write_text("capability=clean");
	write_text("capability=smudge");
	write_flush();
	for (;;) {
		int clean;
		if (read_pkt(line) < 0)
			return 0;
		clean = !strncmp(line, "command=clean", 13);
		if (read_until_flush(line, NULL, 0) < 0 ||
		    read_until_flush(line, content, sizeof(content)) < 0)
			die("git hung up in a request");
		write_text("status=success");
		write_flush();
		if (clean)
			write_pkt(content, strlen(content));
		else
			send_file(file);
		write_flush();
		write_flush();
	}
}
