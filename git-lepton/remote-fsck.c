/*
 * fsck of a remote store where it lies (a directory, S3, WebDAV): each
 * pack index is downloaded and verified, each pack is read once as a
 * stream with every frame checked as it passes (header, chunk id, length,
 * XXH3; a full frame is decoded, and with full hashed), delta chains are
 * checked against the frames seen (each base whole, each depth one above
 * its base's), and every recipe is read and matched
 * against the indexes.  With full, the delta frames are then decoded by a
 * walk of each chain tree from its full frame, every frame read once more
 * by range with its base's bytes at hand.  Memory holds a few frames (one
 * per level of a chain) and local disk the indexes, whatever the store's
 * size.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "frame.h"
#include "oidset.h"
#include "pack.h"
#include "progress.h"
#include "recipe.h"
#include "testpoint.h"
#include "transfer.h"
#include "banned.h"

/*
 * full: frames are read again by range through a few windows of
 * FSCK_WINDOW bytes, so the frames of a version, which lie side by side
 * in its pack, come in a handful of requests.
 */
#define FSCK_WINDOWS 8
#define FSCK_WINDOW  (4u << 20)

/* A frame of the pack being read. */
struct fsck_frame {
	struct lepton_oid oid;
	uint64_t offset, len;
};

/* A delta frame that checked out: its base must be whole too. */
struct fsck_delta {
	struct lepton_oid oid, base;
	unsigned depth;
};

struct remote_fsck {
	struct remote_store *rs;
	struct backend *b;
	const char *scratch;
	int full;
	store_fsck_fn report;
	void *data;
	struct oidset *files; /* gets every file whose recipe is there, or NULL */
	int problems;
	struct pack *packs;
	uint64_t *pack_ends; /* where each pack's last frame ends */
	size_t nr_packs, alloc_packs;
	struct oidset good, bad;
	struct fsck_delta *deltas;
	size_t nr_deltas, alloc_deltas;
	/* the pack being read */
	struct fsck_frame *order;
	size_t nr, next;
	uint64_t pos;
	struct buf frame, decoded, scratch_buf;
	struct buf level[CODEC_MAX_CHAIN + 1]; /* full: the chain being walked, decoded */
	struct oidset walked;
	struct window {
		const struct pack *p; /* NULL: empty */
		uint64_t start;
		struct buf bytes;
		unsigned long used; /* last use, for replacing the oldest */
	} windows[FSCK_WINDOWS];
	unsigned long clock;
	struct progress progress;
};

static void problem(struct remote_fsck *f, const char *kind, const struct lepton_oid *oid,
		    const char *what)
{
	f->problems++;
	f->report(f->data, kind, oid, what);
}

static void bad_chunk(struct remote_fsck *f, const struct lepton_oid *oid, const char *what)
{
	oidset_insert(&f->bad, oid);
	problem(f, "chunk", oid, what);
}

/* Damage (a corrupt, missing or invalid object) is reported as the
 * chunk's and the check goes on: 0; other errors stop it. */
static int damaged(struct remote_fsck *f, const struct lepton_oid *oid, int err)
{
	if (err != LEPTON_ECORRUPT && err != LEPTON_ENOTFOUND && err != LEPTON_EINVALID)
		return err;
	bad_chunk(f, oid, lepton_error_last());
	lepton_error_clear();
	return 0;
}

/* Decoded bytes against the chunk id they must hash to. */
static int matches(const struct buf *decoded, const struct lepton_oid *oid)
{
	struct lepton_oid got;

	sha256_buffer(&got, decoded->data, decoded->len);
	return oid_cmp(&got, oid)
		   ? lepton_error_set(LEPTON_ECORRUPT, "content does not match its SHA-256")
		   : 0;
}

static const struct pack *find(const struct remote_fsck *f, const struct lepton_oid *oid,
			       uint64_t *offset, uint64_t *len)
{
	for (size_t i = f->nr_packs; i-- > 0;)
		if (pack_find(&f->packs[i], oid, offset, len))
			return &f->packs[i];
	return NULL;
}

/* ---- indexes ---------------------------------------------------------- */

/* backend_list() callback: download, verify and keep one pack index. */
static int load_index(void *data, const char *name)
{
	struct remote_fsck *f = data;
	size_t len = strlen(name);
	struct buf key = BUF_INIT, path = BUF_INIT, idx, msg = BUF_INIT;
	char *base;
	struct pack p;
	int err;

	if (len < 5 || strcmp(name + len - 4, ".idx") || !pack_name_ok(name, len - 4))
		return 0;
	base = xstrdup(name);
	base[len - 4] = '\0';
	buf_init_limit(&idx, TRANSFER_IDX_LIMIT);
	buf_addf(&key, "packs/%s", name);
	buf_addf(&path, "%s/%s", f->scratch, name);
	err = backend_get(f->b, key.data, &idx);
	if (err == LEPTON_ENOTFOUND) {
		lepton_error_clear(); /* a gc retired it since the listing */
		err = 0;
		goto done;
	}
	if (err == LEPTON_EINVALID) { /* larger than any index */
		buf_addf(&msg, "'%s': %s", key.data, lepton_error_last());
		lepton_error_clear();
		problem(f, "index", NULL, msg.data);
		err = 0;
		goto done;
	}
	if (err || (err = write_file_atomic(f->scratch, path.data, idx.data, idx.len, 0)))
		goto done;
	if (pack_open(&p, f->scratch, base)) {
		/* the message names the key, not the copy here */
		const char *text = lepton_error_last(), *at;
		while ((at = strstr(text, path.data))) {
			buf_add(&msg, text, at - text);
			buf_addstr(&msg, key.data);
			text = at + path.len;
		}
		buf_addstr(&msg, text);
		lepton_error_clear();
		problem(f, "index", NULL, msg.data);
		goto done;
	}
	if (f->nr_packs == f->alloc_packs) {
		f->alloc_packs = f->alloc_packs ? 2 * f->alloc_packs : 16;
		f->packs = xrealloc(f->packs, f->alloc_packs * sizeof(*f->packs));
		f->pack_ends = xrealloc(f->pack_ends, f->alloc_packs * sizeof(*f->pack_ends));
	}
	f->pack_ends[f->nr_packs] = 0;
	for (uint32_t i = 0; i < p.count; i++) {
		struct lepton_oid oid;
		uint64_t off, n;
		pack_entry(&p, i, &oid, &off, &n);
		if (off + n > f->pack_ends[f->nr_packs])
			f->pack_ends[f->nr_packs] = off + n;
	}
	f->packs[f->nr_packs++] = p;
done:
	free(base);
	buf_release(&key);
	buf_release(&path);
	buf_release(&idx);
	buf_release(&msg);
	return err;
}

/* ---- frames ----------------------------------------------------------- */

/* The window holding [off, off + len) of pack i, read if need be. */
static int window_for(struct remote_fsck *f, size_t i, uint64_t off, uint64_t len,
		      struct window **out)
{
	const struct pack *p = &f->packs[i];
	struct window *w = &f->windows[0];
	struct buf key = BUF_INIT;
	uint64_t want = len;
	int err;

	for (int k = 0; k < FSCK_WINDOWS; k++) {
		struct window *c = &f->windows[k];
		if (c->p == p && off >= c->start && off + len <= c->start + c->bytes.len) {
			c->used = ++f->clock;
			*out = c;
			return 0;
		}
		if (c->used < w->used)
			w = c;
	}
	if (want < FSCK_WINDOW)
		want = f->pack_ends[i] - off < FSCK_WINDOW ? f->pack_ends[i] - off : FSCK_WINDOW;
	if (want < len)
		want = len;
	w->p = NULL;
	buf_reset(&w->bytes);
	buf_addf(&key, "packs/%s.pack", p->name);
	err = backend_get_range(f->b, key.data, off, want, &w->bytes);
	if (err == LEPTON_ECORRUPT && want > len) {
		/* a pack shorter than its index: the frame alone may be whole */
		lepton_error_clear();
		buf_reset(&w->bytes);
		err = backend_get_range(f->b, key.data, off, len, &w->bytes);
	}
	buf_release(&key);
	if (err)
		return err;
	w->p = p;
	w->start = off;
	w->used = ++f->clock;
	*out = w;
	return 0;
}

/* A frame of the store read whole, by range, and checked. */
static int read_frame(struct remote_fsck *f, const struct lepton_oid *oid, struct buf *out,
		      struct frame_header *h)
{
	uint64_t off, len;
	const struct pack *p = find(f, oid, &off, &len);
	char hex[OID_HEXSZ + 1];
	struct window *w;
	int err;

	if (!p)
		return lepton_error_set(LEPTON_ENOTFOUND, "chunk '%s' is missing",
					oid_to_hex(hex, oid));
	if (len > FRAME_READ_LIMIT)
		return lepton_error_set(LEPTON_ECORRUPT, "chunk '%s' has an impossible length",
					oid_to_hex(hex, oid));
	err = window_for(f, (size_t)(p - f->packs), off, len, &w);
	if (err == LEPTON_ECORRUPT || err == LEPTON_ENOTFOUND || err == LEPTON_EINVALID)
		return lepton_error_wrap(err, "frame of chunk '%s'", oid_to_hex(hex, oid));
	if (err)
		return err;
	buf_reset(out);
	if ((err = buf_add(out, w->bytes.data + (off - w->start), len)))
		return err;
	return transfer_check_frame(h, (unsigned char *)out->data, out->len, oid);
}

/* One whole frame of the pack being read: damage is reported, not returned. */
static int check_frame_seen(struct remote_fsck *f, const struct fsck_frame *e)
{
	const unsigned char *frame = (unsigned char *)f->frame.data;
	struct frame_header h;
	int err = transfer_check_frame(&h, frame, f->frame.len, &e->oid);

	/* a delta decodes with its base: the walk of its tree does it */
	buf_reset(&f->decoded);
	if (!err && h.encoding != FRAME_DELTA)
		err = codec_decode_scratch(&f->decoded, &f->scratch_buf, frame, f->frame.len,
					   &e->oid, NULL, 0);
	if (!err && f->full && h.encoding != FRAME_DELTA)
		err = matches(&f->decoded, &e->oid);
	if (err)
		return damaged(f, &e->oid, err);
	oidset_insert(&f->good, &e->oid);
	if (h.encoding == FRAME_DELTA) {
		if (f->nr_deltas == f->alloc_deltas) {
			f->alloc_deltas = f->alloc_deltas ? 2 * f->alloc_deltas : 64;
			f->deltas = xrealloc(f->deltas, f->alloc_deltas * sizeof(*f->deltas));
		}
		f->deltas[f->nr_deltas].oid = e->oid;
		f->deltas[f->nr_deltas].base = h.base;
		f->deltas[f->nr_deltas++].depth = h.depth;
	}
	return 0;
}

/* backend_get_stream() sink: the bytes between frames are skipped, each
 * frame is gathered and checked as soon as it is whole. */
static int take(void *data, const void *bytes, size_t len)
{
	struct remote_fsck *f = data;
	const unsigned char *p = bytes;

	while (len && f->next < f->nr) {
		const struct fsck_frame *e = &f->order[f->next];
		size_t n;
		int err;

		if (f->pos < e->offset) {
			n = e->offset - f->pos < len ? (size_t)(e->offset - f->pos) : len;
		} else {
			n = e->offset + e->len - f->pos < len
				? (size_t)(e->offset + e->len - f->pos)
				: len;
			if ((err = buf_add(&f->frame, p, n)))
				return err;
		}
		p += n;
		len -= n;
		f->pos += n;
		if (f->pos < e->offset + e->len)
			continue;
		if ((err = check_frame_seen(f, e)))
			return err;
		progress_add(&f->progress, 1, e->len);
		buf_reset(&f->frame);
		f->next++;
	}
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct fsck_frame *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int check_pack(struct remote_fsck *f, const struct pack *p)
{
	struct buf key = BUF_INIT, msg = BUF_INIT;
	uint64_t end = PACK_HEADER_SIZE;
	size_t kept = 0;
	int err;

	f->order = xrealloc(f->order, (p->count ? p->count : 1) * sizeof(*f->order));
	for (uint32_t i = 0; i < p->count; i++)
		pack_entry(p, i, &f->order[i].oid, &f->order[i].offset, &f->order[i].len);
	qsort(f->order, p->count, sizeof(*f->order), by_offset);
	/* places no frame can have: damaged without reading */
	for (uint32_t i = 0; i < p->count; i++) {
		const struct fsck_frame *e = &f->order[i];
		if (e->offset < end || e->len > FRAME_READ_LIMIT ||
		    e->len < FRAME_HEADER_SIZE + FRAME_TRAILER_SIZE) {
			buf_reset(&msg);
			buf_addf(&msg, "index '%s' gives it an impossible place", p->name);
			bad_chunk(f, &e->oid, msg.data);
			progress_add(&f->progress, 1, 0);
			continue;
		}
		end = e->offset + e->len;
		f->order[kept++] = *e;
	}
	f->nr = kept;
	f->next = 0;
	f->pos = 0;
	buf_reset(&f->frame);
	buf_addf(&key, "packs/%s.pack", p->name);
	err = backend_get_stream(f->b, key.data, take, f);
	buf_reset(&msg);
	if (err == LEPTON_ENOTFOUND) {
		lepton_error_clear();
		err = 0;
		buf_addf(&msg, "'%s' is missing (its index names %zu chunks)", p->name, f->nr);
	} else if (!err && f->next < f->nr) {
		buf_addf(&msg, "'%s' is truncated at %llu bytes: %zu of its frames are cut off",
			 p->name, (unsigned long long)f->pos, f->nr - f->next);
	}
	if (msg.len) {
		problem(f, "pack", NULL, msg.data);
		for (size_t i = f->next; i < f->nr; i++)
			oidset_insert(&f->bad, &f->order[i].oid);
		progress_add(&f->progress, f->nr - f->next, 0);
	}
	buf_release(&key);
	buf_release(&msg);
	return err;
}

static int by_oid(const void *a, const void *b)
{
	const struct fsck_delta *x = a, *y = b;
	return oid_cmp(&x->oid, &y->oid);
}

/* The depth of a frame that checked out: a delta's from its header, 0 for
 * a full frame. */
static unsigned depth_of(const struct fsck_delta *sorted, size_t nr, const struct lepton_oid *oid)
{
	struct fsck_delta key = { 0 };
	const struct fsck_delta *d;

	key.oid = *oid;
	d = nr ? bsearch(&key, sorted, nr, sizeof(*sorted), by_oid) : NULL;
	return d ? d->depth : 0;
}

/*
 * Without reading anything more: a delta must sit one level above its
 * base (which also rules out loops, whose depths cannot agree), and a
 * delta whose base is missing or damaged is damaged too, all the way up
 * its chain.
 */
static void check_chains(struct remote_fsck *f)
{
	struct fsck_delta *sorted = xcalloc(f->nr_deltas ? f->nr_deltas : 1, sizeof(*sorted));
	char hex[OID_HEXSZ + 1];
	struct buf msg = BUF_INIT;

	if (f->nr_deltas) {
		memcpy(sorted, f->deltas, f->nr_deltas * sizeof(*sorted));
		qsort(sorted, f->nr_deltas, sizeof(*sorted), by_oid);
	}
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < f->nr_deltas; i++) {
			const struct fsck_delta *d = &f->deltas[i];
			unsigned below;
			if (oidset_has(&f->bad, &d->oid))
				continue;
			buf_reset(&msg);
			if (!oidset_has(&f->good, &d->base) || oidset_has(&f->bad, &d->base)) {
				buf_addf(&msg, "its delta base '%s' is missing or damaged",
					 oid_to_hex(hex, &d->base));
			} else if ((below = depth_of(sorted, f->nr_deltas, &d->base)) + 1 !=
				   d->depth) {
				buf_addf(
				    &msg,
				    "its delta chain is broken at base '%s' (depth %u on depth "
				    "%u)",
				    oid_to_hex(hex, &d->base), d->depth, below);
			} else {
				continue;
			}
			bad_chunk(f, &d->oid, msg.data);
			changed = 1;
		}
	}
	free(sorted);
	buf_release(&msg);
}

/* ---- full: the delta trees --------------------------------------------- */

static int by_base(const void *a, const void *b)
{
	const struct fsck_delta *x = a, *y = b;
	return oid_cmp(&x->base, &y->base);
}

/* The deltas on base: f->deltas[*lo .. return value), sorted by base. */
static size_t deltas_on(const struct remote_fsck *f, const struct lepton_oid *base, size_t *lo)
{
	size_t a = 0, b = f->nr_deltas;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (oid_cmp(&f->deltas[mid].base, base) < 0)
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a;
	while (b < f->nr_deltas && !oid_cmp(&f->deltas[b].base, base))
		b++;
	return b;
}

/*
 * Decode the deltas on base, whose bytes are f->level[depth], each to its
 * chunk's SHA-256, then the deltas on each of those, depth first.  What
 * sits on a frame that fails is left for check_chains() to report.
 */
static int walk(struct remote_fsck *f, const struct lepton_oid *base, unsigned depth)
{
	size_t lo, hi = deltas_on(f, base, &lo);
	char hex[OID_HEXSZ + 1];

	for (size_t i = lo; i < hi; i++) {
		const struct fsck_delta *d = &f->deltas[i];
		struct buf *into = &f->level[depth + 1 <= CODEC_MAX_CHAIN ? depth + 1 : 0];
		struct frame_header h;
		int err;

		if (oidset_has(&f->bad, &d->oid) || !oidset_insert(&f->walked, &d->oid))
			continue;
		if (d->depth != depth + 1 || depth + 1 > CODEC_MAX_CHAIN) {
			err = lepton_error_set(LEPTON_ECORRUPT,
					       "its delta chain is broken at base '%s' (depth %u "
					       "on depth %u)",
					       oid_to_hex(hex, base), d->depth, depth);
		} else if (!(err = read_frame(f, &d->oid, &f->frame, &h))) {
			buf_reset(into);
			err = codec_decode_scratch(
			    into, &f->scratch_buf, (unsigned char *)f->frame.data, f->frame.len,
			    &d->oid, f->level[depth].data, f->level[depth].len);
		}
		if (!err)
			err = matches(into, &d->oid);
		progress_add(&f->progress, 1, f->frame.len);
		if (err) {
			if ((err = damaged(f, &d->oid, err)))
				return err;
			continue;
		}
		if ((err = walk(f, &d->oid, depth + 1)))
			return err;
	}
	return 0;
}

/* A full frame a delta sits on, and where it lies. */
struct fsck_root {
	struct lepton_oid oid;
	size_t pack;
	uint64_t offset;
};

static int by_place(const void *a, const void *b)
{
	const struct fsck_root *x = a, *y = b;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* full: every delta decoded from the full frame at the root of its tree;
 * each frame is read once more, by range. */
static int walk_trees(struct remote_fsck *f)
{
	struct oidset is_delta = OIDSET_INIT;
	struct fsck_root *roots = NULL;
	size_t nr_roots = 0, alloc_roots = 0;
	struct buf msg = BUF_INIT;
	char hex[OID_HEXSZ + 1];
	int err = 0;

	if (f->nr_deltas)
		qsort(f->deltas, f->nr_deltas, sizeof(*f->deltas), by_base);
	for (size_t i = 0; i < f->nr_deltas; i++)
		oidset_insert(&is_delta, &f->deltas[i].oid);
	/* the full frames deltas sit on, in the order they lie in their packs */
	for (size_t i = 0; i < f->nr_deltas; i++) {
		const struct lepton_oid *root = &f->deltas[i].base;
		uint64_t off, len;
		const struct pack *p;
		if ((i && !oid_cmp(root, &f->deltas[i - 1].base)) || oidset_has(&is_delta, root) ||
		    oidset_has(&f->bad, root) || !oidset_has(&f->good, root) ||
		    !(p = find(f, root, &off, &len)))
			continue; /* not a root, or a damaged one check_chains() names */
		if (nr_roots == alloc_roots) {
			alloc_roots = alloc_roots ? 2 * alloc_roots : 64;
			roots = xrealloc(roots, alloc_roots * sizeof(*roots));
		}
		roots[nr_roots].oid = *root;
		roots[nr_roots].pack = (size_t)(p - f->packs);
		roots[nr_roots++].offset = off;
	}
	if (nr_roots)
		qsort(roots, nr_roots, sizeof(*roots), by_place);
	progress_start(&f->progress, "Decoding deltas", f->nr_deltas, progress_enabled());
	for (size_t i = 0; i < nr_roots && !err; i++) {
		const struct lepton_oid *root = &roots[i].oid;
		struct frame_header h;
		err = read_frame(f, root, &f->frame, &h);
		if (!err) {
			buf_reset(&f->level[0]);
			err = codec_decode_scratch(&f->level[0], &f->scratch_buf,
						   (unsigned char *)f->frame.data, f->frame.len,
						   root, NULL, 0);
		}
		if (err)
			err = damaged(f, root, err);
		else
			err = walk(f, root, 0);
	}
	progress_stop(&f->progress);
	if (!err)
		check_chains(f);
	/* a chain that never reaches a full frame: a loop, which the depths
	 * check_chains() compares already give away; kept as a guard */
	for (size_t i = 0; i < f->nr_deltas && !err; i++) {
		const struct fsck_delta *d = &f->deltas[i];
		if (oidset_has(&f->bad, &d->oid) || oidset_has(&f->walked, &d->oid))
			continue;
		buf_reset(&msg);
		buf_addf(&msg, "its delta chain through '%s' never reaches a full frame",
			 oid_to_hex(hex, &d->base));
		bad_chunk(f, &d->oid, msg.data);
	}
	oidset_release(&is_delta);
	free(roots);
	buf_release(&msg);
	return err;
}

/* ---- recipes ---------------------------------------------------------- */

struct recipe_checks {
	struct remote_fsck *f;
	struct lepton_oid *ids;
	size_t nr, alloc;
	struct buf *problems; /* per recipe: messages, one per line */
	unsigned char *gone;  /* per recipe: deleted since the listing */
};

static int collect_recipe(void *data, const struct lepton_oid *oid)
{
	struct recipe_checks *rc = data;
	if (rc->nr == rc->alloc) {
		rc->alloc = rc->alloc ? 2 * rc->alloc : 64;
		rc->ids = xrealloc(rc->ids, rc->alloc * sizeof(*rc->ids));
	}
	rc->ids[rc->nr++] = *oid;
	return 0;
}

/* On several threads: read one recipe, note what is wrong with it. */
static int check_recipe(void *data, size_t i)
{
	struct recipe_checks *rc = data;
	struct buf *out = &rc->problems[i];
	struct recipe r;
	char hex[OID_HEXSZ + 1];
	uint64_t off, len;
	int err = remote_store_read_recipe(rc->f->rs, &rc->ids[i], &r, NULL);

	if (err == LEPTON_ENOTFOUND) {
		lepton_error_clear(); /* a prune dropped it since the listing */
		rc->gone[i] = 1;
		return 0;
	}
	if (err == LEPTON_ECORRUPT || err == LEPTON_EINVALID) {
		buf_addf(out, "%s\n", lepton_error_last());
		lepton_error_clear();
		return 0;
	}
	if (err)
		return err;
	for (size_t c = 0; c < r.nr; c++) {
		const struct lepton_oid *chunk = &r.chunks[c].oid;
		if (!find(rc->f, chunk, &off, &len))
			buf_addf(out, "chunk '%s' is missing\n", oid_to_hex(hex, chunk));
		else if (oidset_has(&rc->f->bad, chunk))
			buf_addf(out, "chunk '%s' is damaged\n", oid_to_hex(hex, chunk));
	}
	recipe_release(&r);
	return 0;
}

static int check_recipes(struct remote_fsck *f)
{
	struct recipe_checks rc = { .f = f };
	int err = remote_store_for_each_file(f->rs, collect_recipe, &rc);

	if (err < 0)
		goto done;
	rc.problems = xcalloc(rc.nr ? rc.nr : 1, sizeof(*rc.problems));
	rc.gone = xcalloc(rc.nr ? rc.nr : 1, 1);
	for (size_t i = 0; i < rc.nr; i++)
		buf_init(&rc.problems[i], 0);
	if ((err = remote_store_parallel(f->rs, rc.nr, check_recipe, &rc)))
		goto done;
	for (size_t i = 0; i < rc.nr; i++) {
		char *line = rc.problems[i].data;
		if (f->files && !rc.gone[i])
			oidset_insert(f->files, &rc.ids[i]);
		for (char *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			problem(f, "recipe", &rc.ids[i], line);
		}
	}
done:
	for (size_t i = 0; rc.problems && i < rc.nr; i++)
		buf_release(&rc.problems[i]);
	free(rc.problems);
	free(rc.gone);
	free(rc.ids);
	return err < 0 ? err : 0;
}

int remote_store_fsck(struct remote_store *rs, int full, const char *scratch, store_fsck_fn report,
		      void *data, struct oidset *files)
{
	struct remote_fsck f = { .rs = rs,
				 .b = remote_store_backend(rs),
				 .scratch = scratch,
				 .full = full,
				 .report = report,
				 .data = data,
				 .files = files,
				 .good = OIDSET_INIT,
				 .bad = OIDSET_INIT,
				 .walked = OIDSET_INIT };
	uint64_t total = 0;
	int err;

	buf_init_limit(&f.frame, FRAME_READ_LIMIT);
	buf_init(&f.decoded, 0);
	buf_init(&f.scratch_buf, 0);
	for (int i = 0; i <= CODEC_MAX_CHAIN; i++)
		buf_init(&f.level[i], 0);
	for (int i = 0; i < FSCK_WINDOWS; i++)
		buf_init(&f.windows[i].bytes, 0);
	if ((err = backend_list(f.b, "packs", load_index, &f)))
		goto done;
	for (size_t i = 0; i < f.nr_packs; i++)
		total += f.packs[i].count;
	test_point("fsck-remote-packs");
	progress_start(&f.progress, "Checking model content", total, progress_enabled());
	for (size_t i = 0; i < f.nr_packs && !err; i++)
		err = check_pack(&f, &f.packs[i]);
	progress_stop(&f.progress);
	if (err)
		goto done;
	check_chains(&f);
	if (full && (err = walk_trees(&f)))
		goto done;
	err = check_recipes(&f);
done:
	for (size_t i = 0; i < f.nr_packs; i++)
		pack_close(&f.packs[i]);
	free(f.packs);
	free(f.order);
	free(f.deltas);
	oidset_release(&f.good);
	oidset_release(&f.bad);
	buf_release(&f.frame);
	buf_release(&f.decoded);
	buf_release(&f.scratch_buf);
	for (int i = 0; i <= CODEC_MAX_CHAIN; i++)
		buf_release(&f.level[i]);
	for (int i = 0; i < FSCK_WINDOWS; i++)
		buf_release(&f.windows[i].bytes);
	free(f.pack_ends);
	oidset_release(&f.walked);
	return err < 0 ? err : f.problems;
}
