/*
 * Helpers the unit tests share: scratch trees and deterministic data.
 * Include after <cmocka.h> (the helpers assert).
 */
#ifndef LEPTON_UNIT_LIB_H
#define LEPTON_UNIT_LIB_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int unit_remove_entry(const char *path, const struct stat *st, int flag,
				    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700); /* stored objects are read-only */
	return remove(path);
}

/* Remove a scratch tree from mkdtemp(), read-only files included. */
static inline void remove_tree(const char *path)
{
	nftw(path, unit_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Deterministic incompressible bytes; different seeds never share a chunk. */
static inline unsigned char *make_data(size_t len, uint64_t seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
	return p;
}

/* root/rel into out, which must hold it. */
static inline void path_in(char *out, size_t size, const char *root, const char *rel)
{
	int n = snprintf(out, size, "%s/%s", root, rel);
	assert_true(n > 0 && (size_t)n < size);
}

/* Flip some bits of the byte at offset, read-only files included. */
static inline void flip_byte(const char *path, off_t offset)
{
	unsigned char c;
	int fd;
	chmod(path, 0644);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, offset), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, offset), 1);
	close(fd);
}

static inline off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

#endif
