/* gc: consolidate the local store's packs into one; gc --remote: a remote
 * store's packs, content and history, without breaking clones and fetches
 * that run at the same time. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "maintenance.h"
#include "manifest.h"
#include "pack.h"
#include "remote.h"
#include "run.h"
#include "store-prune.h"
#include "banned.h"

#define DEFAULT_GRACE 3600  /* seconds a retired pack stays for readers that listed it */
#define TMP_AGE       86400 /* a store's temporary file this old belongs to no live push */

/* The one pack a repack left in <gitdir>/objects/pack. */
static int find_pack(const char *gitdir, struct buf *name)
{
	struct buf dir = BUF_INIT;
	struct dirent *e;
	DIR *d;
	int found = 0;

	buf_addf(&dir, "%s/objects/pack", gitdir);
	d = opendir(dir.data);
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len > 5 && !strcmp(e->d_name + len - 5, ".pack")) {
			buf_reset(name);
			buf_add(name, e->d_name, len - 5);
			found++;
		}
	}
	if (d)
		closedir(d);
	buf_release(&dir);
	return found == 1
		   ? 0
		   : lepton_error_set(LEPTON_EGIT, "repack left %d packs instead of one", found);
}

struct history_swap {
	struct backend *b;
	const struct manifest *before;
	const char *new_pack;
	long long grace, now;
	int *deleted;
};

static int swap_history_in(struct manifest *m, const char *etag, void *data)
{
	struct history_swap *hs = data;
	struct buf key = BUF_INIT;

	(void)etag;
	if (hs->new_pack) {
		for (size_t i = 0; i < hs->before->nr_packs; i++)
			if (!hs->before->packs[i].retired &&
			    strcmp(hs->before->packs[i].name, hs->new_pack))
				manifest_retire_pack(m, hs->before->packs[i].name, hs->now);
		manifest_add_pack(m, hs->new_pack);
	}
	for (size_t i = 0; i < m->nr_packs;) {
		if (m->packs[i].retired && hs->now - m->packs[i].retired >= hs->grace) {
			buf_reset(&key);
			buf_addf(&key, "git/packs/%s.pack", m->packs[i].name);
			if (backend_delete(hs->b, key.data) == 0)
				(*hs->deleted)++;
			free(m->packs[i].name);
			m->packs[i] = m->packs[--m->nr_packs];
		} else {
			i++;
		}
	}
	buf_release(&key);
	return 0;
}

/* Swap in a manifest whose live packs are the new one plus any a push added
 * meanwhile, with the consolidated ones retired and the expired dropped. */
static int swap_history(struct backend *b, const struct manifest *before, const char *new_pack,
			long long grace, int *deleted)
{
	struct history_swap hs = { b, before, new_pack, grace, (long long)time(NULL), deleted };
	return manifest_update(b, 100, swap_history_in, &hs);
}

static int repack_history(struct lepton_repo *repo, struct backend *b, long long grace, int quiet)
{
	struct manifest m;
	struct buf gitdir = BUF_INIT, file = BUF_INIT, name = BUF_INIT;
	struct buf refs = BUF_INIT, path = BUF_INIT, arg = BUF_INIT;
	size_t live = 0;
	int err, deleted = 0;

	if ((err = manifest_read(&m, b, NULL)))
		goto done;
	if (!m.nr_refs && !m.nr_packs)
		goto done; /* nothing pushed yet */
	for (size_t i = 0; i < m.nr_packs; i++)
		live += !m.packs[i].retired;
	if (live < 2) {
		err = swap_history(b, &m, NULL, grace, &deleted);
		goto report;
	}
	buf_addf(&gitdir, "%slepton/tmp/gc-XXXXXX", repo->commondir);
	if (!mkdtemp(gitdir.data)) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", gitdir.data);
		goto done;
	}
	if (run_git(&arg, "init", "-q", "--bare", gitdir.data, (char *)NULL)) {
		err = lepton_error_set(LEPTON_EGIT, "cannot create a scratch repository");
		goto cleanup;
	}
	buf_addf(&file, "%s/incoming.pack", gitdir.data);
	for (size_t i = 0; i < m.nr_packs && !err; i++)
		if (!m.packs[i].retired)
			err = manifest_index_pack(b, m.packs[i].name, gitdir.data, file.data);
	unlink(file.data);
	if (err)
		goto cleanup;
	/* the refs the new pack must keep reachable */
	buf_addstr(&refs, "# pack-refs with: peeled fully-peeled sorted \n");
	for (size_t i = 0; i < m.nr_refs; i++)
		buf_addf(&refs, "%s %s\n", m.refs[i].oid, m.refs[i].name);
	buf_addf(&path, "%s/packed-refs", gitdir.data);
	if ((err = write_file_atomic(gitdir.data, path.data, refs.data, refs.len, 0)))
		goto cleanup;
	buf_reset(&arg);
	buf_addf(&arg, "--git-dir=%s", gitdir.data);
	if (run_git(NULL, arg.data, "repack", "-a", "-d", "-q", (char *)NULL) ||
	    (err = find_pack(gitdir.data, &name))) {
		err = err ? err : lepton_error_set(LEPTON_EGIT, "git repack failed");
		goto cleanup;
	}
	buf_reset(&path);
	buf_addf(&path, "%s/objects/pack/%s.pack", gitdir.data, name.data);
	buf_reset(&file);
	buf_addf(&file, "git/packs/%s.pack", name.data);
	if ((err = backend_put_file(b, file.data, path.data)))
		goto cleanup;
	err = swap_history(b, &m, name.data, grace, &deleted);
cleanup : {
	const char *rm[] = { "rm", "-rf", gitdir.data, NULL };
	run_command(rm, NULL);
}
report:
	if (!err && !quiet)
		fprintf(stderr, "history: %zu packs -> %zu, %d retired packs deleted\n", live,
			live < 2 ? live : (size_t)1, deleted);
done:
	manifest_release(&m);
	buf_release(&gitdir);
	buf_release(&file);
	buf_release(&name);
	buf_release(&refs);
	buf_release(&path);
	buf_release(&arg);
	return err;
}

/* Every frame of the local store in one pack; nothing is dropped. */
static int gc_local(struct lepton_repo *repo, int quiet)
{
	struct store_repack_opts o = { 0 };
	struct store_repack_stats st;
	struct lepton_store *s = NULL;
	char before[32], after[32];
	int err;

	if ((err = repo_open_store(repo, &s)) || (err = repo_lock_store(repo, s, 1)) ||
	    (err = store_repack(s, &o, &st))) {
		store_free(s);
		return report_error(err);
	}
	if (!quiet)
		fprintf(stderr, "local: %llu packs -> %llu (%llu chunks), %s -> %s%s\n",
			(unsigned long long)st.packs_before, (unsigned long long)st.packs_after,
			(unsigned long long)st.chunks_kept,
			human_size(before, sizeof(before), st.bytes_before),
			human_size(after, sizeof(after), st.bytes_after),
			st.chunks_damaged ? "; damaged frames were left out: run 'git lepton fsck "
					    "--repair'"
					  : "");
	store_free(s);
	return 0;
}

int cmd_gc(int argc, const char **argv, struct lepton_repo *repo)
{
	const char *remote = NULL;
	long long grace = DEFAULT_GRACE;
	int quiet = 0, err, ret = 0, n;
	struct lepton_store *s = NULL;
	struct remote_store *rs = NULL;
	struct repack_stats st;
	struct maintenance mt = { 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--remote") && i + 1 < argc)
			remote = argv[++i];
		else if (!strncmp(argv[i], "--remote=", 9))
			remote = argv[i] + 9;
		else if (!strncmp(argv[i], "--grace=", 8)) {
			char *end;
			grace = strtoll(argv[i] + 8, &end, 10);
			if (*end || grace < 0)
				return usage_error(argv[0], "--grace takes seconds");
		} else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			quiet = 1;
		else
			return usage_error(argv[0], "unknown argument '%s'", argv[i]);
	}
	if (!remote)
		return gc_local(repo, quiet);
	if ((err = repo_open_store(repo, &s)) || (err = remote_open_for(&rs, repo, s, remote, 0)))
		goto fail;
	/* the mark before anything is read: pushes that overlap check their
	 * content again afterwards (maintenance.h) */
	if ((err = maintenance_begin(&mt, NULL, remote_store_backend(rs))))
		goto fail;
	warn_taken_over(&mt, remote_store_name(rs));
	remote_store_set_checkpoint(rs, maintenance_checkpoint, &mt);
	err = remote_store_repack(rs, grace, &st);
	remote_store_set_checkpoint(rs, NULL, NULL);
	if (err || (err = maintenance_refresh(&mt, 0)))
		goto fail;
	if (!quiet)
		fprintf(stderr,
			"content: %llu packs -> %llu (%llu chunks), %llu retired packs deleted\n",
			(unsigned long long)st.packs_before, (unsigned long long)st.packs_after,
			(unsigned long long)st.chunks, (unsigned long long)st.deleted);
	if ((err = repack_history(repo, remote_store_backend(rs), grace, quiet)))
		goto fail;
	/* what killed pushes left in the store's tmp/: never read, and a day
	 * old is older than any push that is still writing */
	n = backend_sweep(remote_store_backend(rs), grace > TMP_AGE ? grace : TMP_AGE);
	if (n > 0 && !quiet)
		fprintf(stderr, "removed %d temporary files that killed pushes left\n", n);
	goto done;
fail:
	ret = report_error(err);
done:
	/* every path: a mark left behind blocks pushes for an hour */
	if ((err = maintenance_end(&mt)) && !ret)
		ret = report_error(err);
	else if (err)
		warning("%s", lepton_error_last());
	remote_store_free(rs);
	store_free(s);
	return ret;
}
