/*
 * Fuzz pack_open() on pack index files: the bytes are written as
 * "pack-x.idx" in a temporary directory (made once), opened, and when the
 * index opens, looked up with pack_find() and walked with pack_entry().
 * Nothing may read outside the index: the mapped index is swapped for an
 * exact-size heap copy while it is used, so that the sanitizer sees every
 * byte read past its end.  Each input is tried as it is and with its
 * entry count, last fan-out entry and XXH3 trailer made right, so that
 * the fuzzer gets past those checks to the lookups.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "hash.h"
#include "pack.h"
#include "fuzz.h"

#define IDX_MIN_SIZE (IDX_HEADER_SIZE + IDX_FANOUT_SIZE + 8)
#define MAX_LOOKUPS  64

static char *tmp_dir, *idx_path;

static void remove_tmp_dir(void)
{
	unlink(idx_path);
	rmdir(tmp_dir);
}

static void make_tmp_dir(void)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	const char *tmp = getenv("TMPDIR");

	buf_addf(&dir, "%s/fuzz-index-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir.data))
		fuzz_fail("cannot create a temporary directory");
	buf_addf(&path, "%s/pack-x.idx", dir.data);
	tmp_dir = buf_detach(&dir, NULL);
	idx_path = buf_detach(&path, NULL);
	atexit(remove_tmp_dir);
}

static void write_index(const unsigned char *data, size_t size)
{
	int fd = open(idx_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write_all(fd, data, size) || close(fd) < 0)
		fuzz_fail("cannot write the index file");
}

/* pack_find() may miss in a damaged index; what it finds must be there. */
static void lookup(const struct pack *p, const struct lepton_oid *oid)
{
	uint64_t offset, len, entry_offset, entry_len;
	struct lepton_oid entry;

	if (!pack_find(p, oid, &offset, &len))
		return;
	for (uint32_t i = 0; i < p->count; i++) {
		pack_entry(p, i, &entry, &entry_offset, &entry_len);
		if (!memcmp(entry.hash, oid->hash, OID_RAWSZ) && entry_offset == offset &&
		    entry_len == len)
			return;
	}
	fuzz_fail("pack_find found an entry that is not in the index");
}

static void use_index(struct pack *p)
{
	const unsigned char *map = p->map;
	unsigned char *copy = xmalloc(p->map_size);
	struct lepton_oid oid;
	uint64_t offset, len;

	memcpy(copy, map, p->map_size);
	p->map = copy;

	memset(oid.hash, 0, OID_RAWSZ);
	lookup(p, &oid);
	memset(oid.hash, 0xff, OID_RAWSZ);
	lookup(p, &oid);
	for (uint32_t i = 0; i < p->count; i++) {
		pack_entry(p, i, &oid, &offset, &len);
		if (i < MAX_LOOKUPS) {
			lookup(p, &oid);
			oid.hash[OID_RAWSZ - 1] ^= 1;
			lookup(p, &oid);
		}
	}

	p->map = map;
	free(copy);
}

static void open_index(const unsigned char *data, size_t size)
{
	struct pack p;

	write_index(data, size);
	if (pack_open(&p, tmp_dir, "pack-x")) {
		if (p.map || p.name || p.path)
			fuzz_fail("a failed pack_open left something to free");
		return;
	}
	if (p.map_size != size)
		fuzz_fail("pack_open mapped the wrong size");
	use_index(&p);
	pack_close(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *fixed;

	if (!tmp_dir)
		make_tmp_dir();
	open_index(data, size);
	if (size < IDX_MIN_SIZE)
		return 0;

	fixed = xmalloc(size);
	memcpy(fixed, data, size);
	if ((size - IDX_MIN_SIZE) % IDX_ENTRY_SIZE == 0) {
		uint32_t count = (uint32_t)((size - IDX_MIN_SIZE) / IDX_ENTRY_SIZE);
		put_le32(fixed + 8, count);
		put_le32(fixed + IDX_HEADER_SIZE + 255 * 4, count);
	}
	fix_trailer(fixed, size);
	open_index(fixed, size);
	free(fixed);
	return 0;
}
