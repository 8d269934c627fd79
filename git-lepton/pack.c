#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "pack.h"
#include "banned.h"

static const unsigned char *entry_at(const struct pack *p, uint32_t i)
{
	return p->map + IDX_HEADER_SIZE + IDX_FANOUT_SIZE + (size_t)i * IDX_ENTRY_SIZE;
}

int pack_name_ok(const char *name, size_t len)
{
	if (len != 5 + OID_HEXSZ || strncmp(name, "pack-", 5))
		return 0;
	for (size_t i = 5; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

int pack_open(struct pack *p, const char *dir, const char *name)
{
	struct buf path = BUF_INIT;
	struct stat st;
	int fd = -1, err = 0;
	size_t need;
	const unsigned char *m;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	buf_addf(&path, "%s/%s.idx", dir, name);
	fd = open(path.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot open pack index '%s'", path.data);
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot stat '%s'", path.data);
		goto done;
	}
	if ((size_t)st.st_size < IDX_HEADER_SIZE + IDX_FANOUT_SIZE + 8) {
		err = lepton_error_set(LEPTON_ECORRUPT, "pack index '%s' is truncated", path.data);
		goto done;
	}
	p->map_size = (size_t)st.st_size;
	p->map = mmap(NULL, p->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		err = lepton_error_errno(LEPTON_EIO, "cannot map '%s'", path.data);
		goto done;
	}
	m = p->map;
	if (memcmp(m, IDX_MAGIC, 4) || get_le32(m + 4) != IDX_VERSION) {
		err = lepton_error_set(LEPTON_ECORRUPT, "'%s' is not a pack index", path.data);
		goto done;
	}
	p->count = get_le32(m + 8);
	need = IDX_HEADER_SIZE + IDX_FANOUT_SIZE + (size_t)p->count * IDX_ENTRY_SIZE + 8;
	if (need != p->map_size || xxh3_64(m, p->map_size - 8) != get_le64(m + p->map_size - 8) ||
	    get_le32(m + IDX_HEADER_SIZE + 255 * 4) != p->count) {
		err = lepton_error_set(LEPTON_ECORRUPT, "pack index '%s' is corrupt", path.data);
		goto done;
	}
	/* fan-out never decreasing and ids strictly increasing: a lookup in a
	 * damaged index must not miss what is there or find what is not */
	for (int i = 1; i < 256 && !err; i++)
		if (get_le32(m + IDX_HEADER_SIZE + i * 4) <
		    get_le32(m + IDX_HEADER_SIZE + (i - 1) * 4))
			err = 1;
	for (uint32_t i = 1; i < p->count && !err; i++)
		if (memcmp(entry_at(p, i - 1), entry_at(p, i), OID_RAWSZ) >= 0)
			err = 1;
	for (uint32_t i = 0; i < p->count && !err; i++)
		if (get_le32(m + IDX_HEADER_SIZE + entry_at(p, i)[0] * 4) <= i ||
		    (entry_at(p, i)[0] &&
		     get_le32(m + IDX_HEADER_SIZE + (entry_at(p, i)[0] - 1) * 4) > i))
			err = 1;
	if (err) {
		err =
		    lepton_error_set(LEPTON_ECORRUPT, "pack index '%s' is out of order", path.data);
		goto done;
	}
	p->name = xstrdup(name);
	buf_reset(&path);
	buf_addf(&path, "%s/%s.pack", dir, name);
	p->path = buf_detach(&path, NULL);
done:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	if (err)
		pack_close(p);
	return err;
}

void pack_close(struct pack *p)
{
	if (p->map)
		munmap((void *)p->map, p->map_size);
	if (p->fd >= 0)
		close(p->fd);
	free(p->name);
	free(p->path);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

void pack_entry(const struct pack *p, uint32_t i, struct lepton_oid *oid, uint64_t *offset,
		uint64_t *len)
{
	const unsigned char *e = entry_at(p, i);
	memcpy(oid->hash, e, OID_RAWSZ);
	*offset = get_le64(e + 32);
	*len = get_le64(e + 40);
}

int pack_find(const struct pack *p, const struct lepton_oid *oid, uint64_t *offset, uint64_t *len)
{
	const unsigned char *fanout = p->map + IDX_HEADER_SIZE;
	unsigned first = oid->hash[0];
	uint32_t lo = first ? get_le32(fanout + (first - 1) * 4) : 0;
	uint32_t hi = get_le32(fanout + first * 4);

	if (hi > p->count || lo > hi)
		return 0; /* a damaged fan-out finds nothing rather than reading out of bounds */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const unsigned char *e = entry_at(p, mid);
		int c = memcmp(oid->hash, e, OID_RAWSZ);
		if (!c) {
			*offset = get_le64(e + 32);
			*len = get_le64(e + 40);
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* A store reader's workers read frames of one pack at once: the pack's
 * file is opened once, under this lock. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

int pack_read_frame(struct pack *p, uint64_t offset, uint64_t len, struct buf *out)
{
	ssize_t n;
	int err, fd, open_errno = 0;

	pthread_mutex_lock(&open_lock);
	if (p->fd < 0) {
		p->fd = open(p->path, O_RDONLY | O_CLOEXEC);
		open_errno = errno;
	}
	fd = p->fd;
	pthread_mutex_unlock(&open_lock);
	if (fd < 0) {
		errno = open_errno;
		return lepton_error_errno(errno == ENOENT ? LEPTON_ENOTFOUND : LEPTON_EIO,
					  "cannot open pack '%s'", p->path);
	}
	if (len > (1ull << 40))
		return lepton_error_set(LEPTON_ECORRUPT, "pack '%s': frame length out of range",
					p->path);
	buf_reset(out);
	if ((err = buf_grow(out, (size_t)len)))
		return err;
	for (size_t done = 0; done < len;) {
		n = pread(fd, out->data + done, (size_t)len - done, (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lepton_error_errno(LEPTON_EIO, "cannot read pack '%s'", p->path);
		if (n == 0)
			return lepton_error_set(LEPTON_ECORRUPT, "pack '%s' is truncated", p->path);
		done += (size_t)n;
	}
	buf_setlen(out, (size_t)len);
	return 0;
}

int pack_writer_open(struct pack_writer *w, const char *tmpdir)
{
	struct buf path = BUF_INIT;
	unsigned char header[PACK_HEADER_SIZE];

	memset(w, 0, sizeof(*w));
	buf_addf(&path, "%s/pack-XXXXXX", tmpdir);
	w->fd = mkstemp(path.data);
	if (w->fd < 0) {
		int err = lepton_error_errno(LEPTON_EIO, "cannot create a pack in '%s'", tmpdir);
		buf_release(&path);
		return err;
	}
	w->tmp_path = buf_detach(&path, NULL);
	memset(header, 0, sizeof(header));
	memcpy(header, PACK_MAGIC, 4);
	put_le32(header + 4, PACK_VERSION);
	w->offset = PACK_HEADER_SIZE;
	return write_all(w->fd, header, sizeof(header));
}

int pack_writer_add(struct pack_writer *w, const struct lepton_oid *oid, const void *frame,
		    size_t len)
{
	int err = write_all(w->fd, frame, len);
	if (err)
		return lepton_error_wrap(err, "cannot write pack '%s'", w->tmp_path);
	if (w->nr == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 64;
		w->entries = xrealloc(w->entries, w->alloc * sizeof(*w->entries));
	}
	w->entries[w->nr].oid = *oid;
	w->entries[w->nr].offset = w->offset;
	w->entries[w->nr].len = len;
	w->nr++;
	w->offset += len;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return oid_cmp(a, b);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lepton_error_errno(LEPTON_EIO, "cannot open '%s'", dir);
	fsync(fd);
	close(fd);
	return 0;
}

int write_file_atomic(const char *tmpdir, const char *path, const void *data, size_t len,
		      int do_fsync)
{
	struct buf tmp = BUF_INIT;
	int fd, err = 0;

	buf_addf(&tmp, "%s/obj-XXXXXX", tmpdir);
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create a file in '%s'", tmpdir);
		goto done;
	}
	err = write_all(fd, data, len);
	if (!err && do_fsync && fsync(fd) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot fsync '%s'", tmp.data);
	if (close(fd) < 0 && !err)
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", tmp.data);
	if (!err && fchmodat(AT_FDCWD, tmp.data, 0444, 0) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot chmod '%s'", tmp.data);
	if (!err && rename(tmp.data, path) < 0)
		err = lepton_error_errno(LEPTON_EIO, "cannot rename into '%s'", path);
	if (err)
		unlink(tmp.data);
done:
	buf_release(&tmp);
	return err;
}

int pack_writer_commit(struct pack_writer *w, const char *tmpdir, const char *packdir, int do_fsync,
		       struct buf *name_out)
{
	struct buf idx = BUF_INIT, path = BUF_INIT;
	struct sha256_ctx ctx;
	struct lepton_oid name_oid;
	unsigned char header[IDX_HEADER_SIZE], word[8], entry[IDX_ENTRY_SIZE];
	uint32_t fanout[256] = { 0 };
	char hex[OID_HEXSZ + 1];
	int err = 0;

	qsort(w->entries, w->nr, sizeof(*w->entries), cmp_entry);
	memcpy(header, IDX_MAGIC, 4);
	put_le32(header + 4, IDX_VERSION);
	put_le32(header + 8, (uint32_t)w->nr);
	put_le32(header + 12, 0);
	buf_add(&idx, header, sizeof(header));
	for (size_t i = 0; i < w->nr; i++)
		fanout[w->entries[i].oid.hash[0]]++;
	for (int i = 1; i < 256; i++)
		fanout[i] += fanout[i - 1];
	for (int i = 0; i < 256; i++) {
		put_le32(word, fanout[i]);
		buf_add(&idx, word, 4);
	}
	/* the pack is named by the ids it holds, so identical packs coincide */
	sha256_init(&ctx);
	for (size_t i = 0; i < w->nr; i++) {
		memcpy(entry, w->entries[i].oid.hash, OID_RAWSZ);
		put_le64(entry + 32, w->entries[i].offset);
		put_le64(entry + 40, w->entries[i].len);
		buf_add(&idx, entry, sizeof(entry));
		sha256_update(&ctx, w->entries[i].oid.hash, OID_RAWSZ);
	}
	sha256_final(&name_oid, &ctx);
	put_le64(word, xxh3_64(idx.data, idx.len));
	buf_add(&idx, word, 8);

	if (do_fsync && fsync(w->fd) < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot fsync '%s'", w->tmp_path);
		goto done;
	}
	if (close(w->fd) < 0) {
		w->fd = -1;
		err = lepton_error_errno(LEPTON_EIO, "cannot write '%s'", w->tmp_path);
		goto done;
	}
	w->fd = -1;
	buf_addf(name_out, "pack-%s", oid_to_hex(hex, &name_oid));
	buf_addf(&path, "%s/%s.pack", packdir, name_out->data);
	chmod(w->tmp_path, 0444);
	if (rename(w->tmp_path, path.data) < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot rename pack into '%s'", path.data);
		goto done;
	}
	free(w->tmp_path);
	w->tmp_path = NULL;
	buf_reset(&path);
	buf_addf(&path, "%s/%s.idx", packdir, name_out->data);
	err = write_file_atomic(tmpdir, path.data, idx.data, idx.len, do_fsync);
	if (!err && do_fsync)
		err = fsync_dir(packdir);
done:
	buf_release(&idx);
	buf_release(&path);
	pack_writer_abort(w);
	return err;
}

void pack_writer_abort(struct pack_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_path)
		unlink(w->tmp_path);
	free(w->tmp_path);
	free(w->entries);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}
