#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "frame.h"
#include "pack.h"
#include "recipe.h"
#include "store-prune.h"
#include "testpoint.h"
#include "banned.h"

int store_chunks_needed(struct oidset *out, struct lepton_store *s, const struct lepton_oid *files,
			size_t nr)
{
	struct lepton_oid *queue = NULL;
	size_t qnr = 0, qalloc = 0;
	char hex[OID_HEXSZ + 1];
	int err = 0;

	for (size_t i = 0; i < nr && !err; i++) {
		struct recipe r;
		if (!store_has_file(s, &files[i]))
			continue;
		if ((err = store_read_recipe(s, &files[i], &r, NULL))) {
			err = lepton_error_wrap(LEPTON_ECORRUPT,
						"cannot tell what content '%s' needs; run 'git "
						"lepton fsck --repair'",
						oid_to_hex(hex, &files[i]));
			break;
		}
		for (size_t c = 0; c < r.nr; c++) {
			if (!oidset_insert(out, &r.chunks[c].oid))
				continue;
			if (qnr == qalloc) {
				qalloc = qalloc ? 2 * qalloc : 64;
				queue = xrealloc(queue, qalloc * sizeof(*queue));
			}
			queue[qnr++] = r.chunks[c].oid;
		}
		recipe_release(&r);
	}
	/* delta bases, as they turn up (the queue grows) */
	for (size_t i = 0; i < qnr && !err; i++) {
		struct frame_header h;
		int ret = store_read_frame_header(s, &queue[i], &h);
		if (ret == LEPTON_ENOTFOUND) {
			lepton_error_clear();
			continue; /* not here: nothing here to keep for it */
		}
		if (ret) {
			err =
			    lepton_error_wrap(ret,
					      "cannot tell what chunk '%s' needs; run 'git lepton "
					      "fsck --repair'",
					      oid_to_hex(hex, &queue[i]));
			break;
		}
		if (!(h.flags & FRAME_HAS_BASE) || !oidset_insert(out, &h.base))
			continue;
		if (qnr == qalloc) {
			qalloc = qalloc ? 2 * qalloc : 64;
			queue = xrealloc(queue, qalloc * sizeof(*queue));
		}
		queue[qnr++] = h.base;
	}
	free(queue);
	return err;
}

/* A frame checked on its own: header, chunk id, length and XXH3. */
static int frame_ok(const struct buf *frame, const struct lepton_oid *chunk)
{
	struct frame_header h;
	const unsigned char *p = (const unsigned char *)frame->data;

	if (frame->len < FRAME_HEADER_SIZE + FRAME_TRAILER_SIZE ||
	    frame_header_parse(&h, p, frame->len))
		return 0;
	return !oid_cmp(&h.chunk, chunk) && frame_total_size(&h) == frame->len &&
	       xxh3_64(p, frame->len - FRAME_TRAILER_SIZE) ==
		   get_le64(p + frame->len - FRAME_TRAILER_SIZE);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t pack_files_size(struct lepton_store *s, const struct pack *p)
{
	struct buf idx = BUF_INIT;
	uint64_t n;
	buf_addf(&idx, "%s/%s.idx", store_packdir(s), p->name);
	n = file_size(p->path) + file_size(idx.data);
	buf_release(&idx);
	return n;
}

static int cmp_oid(const void *a, const void *b)
{
	return oid_cmp(a, b);
}

/* The name pack_writer_commit() will give: SHA-256 of the sorted ids. */
static void pack_name_of(struct buf *out, const struct pack_writer *w)
{
	struct lepton_oid *ids = xcalloc(w->nr ? w->nr : 1, sizeof(*ids));
	struct sha256_ctx ctx;
	struct lepton_oid name;
	char hex[OID_HEXSZ + 1];

	for (size_t i = 0; i < w->nr; i++)
		ids[i] = w->entries[i].oid;
	qsort(ids, w->nr, sizeof(*ids), cmp_oid);
	sha256_init(&ctx);
	for (size_t i = 0; i < w->nr; i++)
		sha256_update(&ctx, ids[i].hash, OID_RAWSZ);
	sha256_final(&name, &ctx);
	buf_addf(out, "pack-%s", oid_to_hex(hex, &name));
	free(ids);
}

struct old_pack {
	char *name;
	int damaged; /* a frame of it failed its check */
};

/* Copy the frames of one pack into w, the first good copy of each chunk. */
static int copy_pack(struct pack *p, const struct store_repack_opts *o, struct pack_writer *w,
		     struct oidset *written, struct oidset *dropped, struct buf *frame,
		     struct store_repack_stats *st, int *damaged, uint64_t *bytes)
{
	for (uint32_t e = 0; e < p->count; e++) {
		struct lepton_oid oid;
		uint64_t off, len;
		int err;
		pack_entry(p, e, &oid, &off, &len);
		if (oidset_has(written, &oid))
			continue;
		if (o->keep && !oidset_has(o->keep, &oid)) {
			if (oidset_insert(dropped, &oid))
				st->chunks_dropped++;
			continue;
		}
		if (!o->dry_run) {
			err = pack_read_frame(p, off, len, frame);
			/* a failing disk is no reason to drop a frame: stop */
			if (err && err != LEPTON_ECORRUPT && err != LEPTON_ENOTFOUND)
				return err;
			if (err || !frame_ok(frame, &oid)) {
				lepton_error_clear();
				st->chunks_damaged++;
				*damaged = 1;
				continue; /* another pack may hold a good copy */
			}
			if ((err = pack_writer_add(w, &oid, frame->data, frame->len)))
				return err;
		}
		oidset_insert(written, &oid);
		st->chunks_kept++;
		*bytes += len;
	}
	return 0;
}

int store_repack(struct lepton_store *s, const struct store_repack_opts *o,
		 struct store_repack_stats *st)
{
	struct pack_writer w;
	struct oidset written = OIDSET_INIT, dropped = OIDSET_INIT;
	struct buf frame = BUF_INIT, name = BUF_INIT, raw = BUF_INIT;
	struct old_pack *old = NULL;
	size_t nr_old = 0;
	uint64_t bytes = 0;
	int open = 0, any_damaged = 0, err;

	memset(st, 0, sizeof(*st));
	memset(&w, 0, sizeof(w));
	w.fd = -1;
	if ((err = store_reload(s)))
		goto done;
	nr_old = store_pack_count(s);
	old = xcalloc(nr_old ? nr_old : 1, sizeof(*old));
	st->packs_before = nr_old;
	if (!o->dry_run && nr_old + (o->extra ? 1 : 0) > 0) {
		if ((err = store_add_frames_begin(s, &w)))
			goto done;
		open = 1;
	}
	/* newest packs are searched first by readers: copy in that order */
	for (size_t i = nr_old; i-- > 0;) {
		struct pack *p = store_pack_at(s, i);
		old[i].name = xstrdup(p->name);
		st->bytes_before += pack_files_size(s, p);
		if ((err = copy_pack(p, o, &w, &written, &dropped, &frame, st, &old[i].damaged,
				     &bytes)))
			goto done;
		any_damaged |= old[i].damaged;
	}
	if (o->extra) {
		struct store_repack_opts extra_opts = *o;
		uint64_t before = st->chunks_kept;
		int dummy = 0;
		store_reload(o->extra);
		extra_opts.keep = NULL;
		for (size_t i = store_pack_count(o->extra); i-- > 0;)
			if ((err = copy_pack(store_pack_at(o->extra, i), &extra_opts, &w, &written,
					     &dropped, &frame, st, &dummy, &bytes)))
				goto done;
		st->chunks_taken = st->chunks_kept - before;
	}
	/* dropped but also kept through another copy: not dropped */
	st->bytes_after = written.nr
			      ? PACK_HEADER_SIZE + bytes + IDX_HEADER_SIZE + IDX_FANOUT_SIZE +
				    (uint64_t)IDX_ENTRY_SIZE * written.nr + 8
			      : 0;
	st->packs_after = written.nr ? 1 : 0;
	st->files_dropped = o->nr_drop;
	st->files_taken = o->nr_take;
	if (o->dry_run)
		goto done;

	if (nr_old == 1 && !st->chunks_dropped && !any_damaged && !st->chunks_taken) {
		/* one pack that would only be copied: keep it */
		pack_writer_abort(&w);
		open = 0;
		st->bytes_after = st->bytes_before;
		free(old[0].name);
		old[0].name = NULL;
	} else if (written.nr) {
		pack_name_of(&name, &w);
		for (size_t i = 0; i < nr_old; i++) {
			if (!old[i].name || strcmp(old[i].name, name.data))
				continue;
			if (!old[i].damaged) {
				/* that pack holds exactly these chunks, all good */
				pack_writer_abort(&w);
				open = 0;
				free(old[i].name);
				old[i].name = NULL;
			} else if ((err = store_drop_pack(s, old[i].name))) {
				goto done; /* replaced below under the same name */
			}
		}
		if (open) {
			open = 0;
			if ((err = store_add_frames_commit(s, &w)))
				goto done;
		}
	} else {
		pack_writer_abort(&w);
		open = 0;
	}
	/* the kept frames are in a visible pack: recipes change now, old
	 * packs go last */
	test_point("prune-pack-written");
	for (size_t i = 0; i < o->nr_take; i++) {
		struct recipe r;
		buf_reset(&raw);
		if ((err = store_read_recipe(o->extra, &o->take[i], &r, &raw)))
			goto done;
		recipe_release(&r);
		if ((err = store_put_recipe(s, &o->take[i], raw.data, raw.len)))
			goto done;
	}
	for (size_t i = 0; i < o->nr_drop; i++)
		if ((err = store_delete_recipe(s, &o->drop[i])))
			goto done;
	test_point("prune-recipes-deleted");
	for (size_t i = 0; i < nr_old; i++) {
		if (!old[i].name || (name.len && !strcmp(old[i].name, name.data)))
			continue;
		if ((err = store_drop_pack(s, old[i].name)))
			goto done;
		test_point("prune-pack-deleted");
	}
	st->packs_after = store_pack_count(s);
done:
	if (open)
		pack_writer_abort(&w);
	for (size_t i = 0; i < nr_old; i++)
		free(old[i].name);
	free(old);
	oidset_release(&written);
	oidset_release(&dropped);
	buf_release(&frame);
	buf_release(&name);
	buf_release(&raw);
	return err;
}

int store_drop_damaged_packs(struct lepton_store *s, void (*fn)(void *data, const char *name),
			     void *data)
{
	DIR *d = opendir(store_packdir(s));
	struct dirent *e;
	char **names = NULL;
	size_t nr = 0;
	int err = 0, dropped = 0;

	if (!d)
		return lepton_error_errno(LEPTON_EIO, "cannot read '%s'", store_packdir(s));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct pack p;
		if (len < 5 || strcmp(e->d_name + len - 4, ".idx"))
			continue;
		names = xrealloc(names, (nr + 1) * sizeof(*names));
		names[nr] = xstrdup(e->d_name);
		names[nr][len - 4] = '\0';
		if (pack_open(&p, store_packdir(s), names[nr]) == 0) {
			pack_close(&p);
			free(names[nr]);
			continue;
		}
		lepton_error_clear();
		nr++;
	}
	closedir(d);
	for (size_t i = 0; i < nr; i++) {
		if (!err && !(err = store_drop_pack(s, names[i]))) {
			dropped++;
			if (fn)
				fn(data, names[i]);
		}
		free(names[i]);
	}
	free(names);
	return err ? err : dropped;
}
