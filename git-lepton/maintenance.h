#ifndef LEPTON_MAINTENANCE_H
#define LEPTON_MAINTENANCE_H

#include "backend.h"
#include "buf.h"
#include "manifest.h"

/*
 * The maintenance mark of a remote store: a `maintenance <time> <token>`
 * line in its refs manifest while a prune or gc --remote rewrites the
 * content (drops chunks and recipes, retires packs).  Pushes refuse to
 * start while a fresh mark is there, and their compare-and-swap of the refs
 * (against the manifest they read before sending content) fails when a
 * mark came and went meanwhile, so they check their content again before
 * naming it: a pushed ref never names content a prune dropped.
 *
 * The owner refreshes the mark's time between long steps; a mark older
 * than MAINTENANCE_STALE seconds, or one whose owner ran on this host and
 * is gone, belongs to a killed process and the next prune or gc takes it
 * over.  Pushes wait for neither: a mark blocks them until it is stale.
 *
 * The token is `<16 hex>.<pid>@<host>` (any word to a reader).
 */

#define MAINTENANCE_STALE   3600 /* seconds after which a mark's owner is taken for dead */
#define MAINTENANCE_REFRESH 300  /* seconds between refreshes of a live mark */

struct maintenance {
	struct backend *b;
	char *token;
	long long since;       /* the time written in the mark */
	struct buf etag;       /* the manifest's version after our last write */
	char *taken_from;      /* begin(): the token of a dead owner's mark, or NULL */
	long long taken_since; /* and its time */
};

/*
 * 0 when m has no fresh mark (none, or stale); else LEPTON_EBUSY with a
 * message for people: "store '...' is being pruned or repacked since ...;
 * try again later".
 */
int maintenance_check(const struct manifest *m, const char *store_name);

/*
 * Set the mark on b's manifest with a compare-and-swap; out (initialised
 * here, released with maintenance_end() or maintenance_release()) then
 * owns it, and manifest (may be NULL) gets the manifest with the mark, to
 * decide from.  A fresh mark of another process: LEPTON_EBUSY.  A stale
 * one or a dead owner's is replaced; out->taken_from says whose, for a
 * warning.
 */
int maintenance_begin(struct maintenance *out, struct manifest *manifest, struct backend *b);

/*
 * Make sure the mark is still ours and nothing changed the manifest since
 * we wrote it (no push got in while the mark looked stale, nobody took it
 * over); with force or when the mark is older than MAINTENANCE_REFRESH,
 * write the mark again with the time now.  LEPTON_EBUSY with a message on
 * either: the caller stops before deleting anything.
 */
int maintenance_refresh(struct maintenance *mt, int force);

/* The manifest changed by our own hand (a gc's swap of history packs):
 * take its current version as ours.  Checks the token. */
int maintenance_resync(struct maintenance *mt);

/*
 * Remove the mark (when it is still ours: a mark someone took over is left
 * alone) and release mt.  Safe on a released or never begun mt.
 */
int maintenance_end(struct maintenance *mt);
void maintenance_release(struct maintenance *mt);

/* A checkpoint for remote_store_set_checkpoint(): data is the
 * struct maintenance; force for the last check before deleting. */
int maintenance_checkpoint(void *data, int force);

#endif
