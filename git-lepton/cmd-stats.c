/* stats: what each version of each model path costs in the store, and how. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "error.h"
#include "frame.h"
#include "oidset.h"
#include "recipe.h"
#include "banned.h"

struct version_stats {
	struct lepton_oid oid;
	char commit[GIT_OID_HEXSZ + 1];
	uint64_t raw;         /* the file's size */
	uint64_t added;       /* stored bytes of the frames it was first to use */
	uint64_t dedup;       /* raw bytes of chunks an earlier version (or itself) already had */
	uint64_t compression; /* raw bytes saved by zstd and grouped frames */
	uint64_t delta;       /* raw bytes saved by delta frames */
	uint64_t chunks, new_chunks, delta_chunks;
	int local; /* its recipe is in the local store */
};

struct path_stats {
	char *path;
	size_t nr, alloc;
	struct version_stats *versions;
};

struct stats_state {
	struct lepton_repo *repo;
	struct lepton_store *store;
	struct oidset counted; /* chunks some version already paid for */
	size_t nr, alloc;
	struct path_stats *paths;
	const git_oid *commit;
	int error;
};

static struct path_stats *find_path(struct stats_state *st, const char *path)
{
	struct path_stats *p;

	for (size_t i = 0; i < st->nr; i++)
		if (!strcmp(st->paths[i].path, path))
			return &st->paths[i];
	if (st->nr == st->alloc) {
		st->alloc = st->alloc ? 2 * st->alloc : 8;
		st->paths = xrealloc(st->paths, st->alloc * sizeof(*st->paths));
	}
	p = &st->paths[st->nr++];
	memset(p, 0, sizeof(*p));
	p->path = xstrdup(path);
	return p;
}

/* What the chunks of v's recipe cost, counting each chunk once over all
 * versions in the order they are seen. */
static int account(struct stats_state *st, struct version_stats *v)
{
	struct recipe r = RECIPE_INIT;
	int err = st->store ? store_read_recipe(st->store, &v->oid, &r, NULL) : LEPTON_ENOTFOUND;

	if (err == LEPTON_ENOTFOUND) {
		lepton_error_clear();
		return 0;
	}
	if (err)
		return err;
	v->local = 1;
	for (size_t i = 0; i < r.nr && !err; i++) {
		struct frame_header h;
		v->chunks++;
		if (!oidset_insert(&st->counted, &r.chunks[i].oid)) {
			v->dedup += r.chunks[i].len;
			continue;
		}
		if ((err = store_read_frame_header(st->store, &r.chunks[i].oid, &h)))
			break;
		v->new_chunks++;
		v->added += frame_total_size(&h);
		if (h.payload_len < h.raw_len) {
			if (h.encoding == FRAME_DELTA)
				v->delta += h.raw_len - h.payload_len;
			else
				v->compression += h.raw_len - h.payload_len;
		}
		v->delta_chunks += h.encoding == FRAME_DELTA;
	}
	recipe_release(&r);
	return err;
}

static int tree_cb(const char *root, const git_tree_entry *entry, void *data)
{
	struct stats_state *st = data;
	struct lepton_pointer p;
	struct buf path = BUF_INIT;
	struct path_stats *ps;
	struct version_stats *v;
	int err;

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
	    blob_pointer(st->repo->git, git_tree_entry_id(entry), &p) != 1)
		return 0;
	lepton_error_clear();
	buf_addf(&path, "%s%s", root, git_tree_entry_name(entry));
	ps = find_path(st, path.data);
	buf_release(&path);
	for (size_t i = 0; i < ps->nr; i++)
		if (!oid_cmp(&ps->versions[i].oid, &p.oid))
			return 0; /* a version seen before */
	if (ps->nr == ps->alloc) {
		ps->alloc = ps->alloc ? 2 * ps->alloc : 4;
		ps->versions = xrealloc(ps->versions, ps->alloc * sizeof(*ps->versions));
	}
	v = &ps->versions[ps->nr++];
	memset(v, 0, sizeof(*v));
	v->oid = p.oid;
	v->raw = p.size;
	git_oid_tostr(v->commit, sizeof(v->commit), st->commit);
	if ((err = account(st, v))) {
		st->error = err;
		return -1;
	}
	return 0;
}

/* Bytes of the regular files under dir, depth levels down. */
static uint64_t dir_bytes(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct buf path = BUF_INIT;
	uint64_t total = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, e->d_name);
		if (lstat(path.data, &sb) < 0)
			continue;
		if (S_ISREG(sb.st_mode))
			total += (uint64_t)sb.st_size;
		else if (S_ISDIR(sb.st_mode) && depth > 0)
			total += dir_bytes(path.data, depth - 1);
	}
	closedir(d);
	buf_release(&path);
	return total;
}

/* Bytes of the store's packs, indexes and recipes (not tmp/). */
static uint64_t store_bytes(struct lepton_store *s)
{
	struct buf path = BUF_INIT;
	uint64_t total;

	if (!s)
		return 0;
	buf_addf(&path, "%s/packs", store_root(s));
	total = dir_bytes(path.data, 0);
	buf_reset(&path);
	buf_addf(&path, "%s/recipes", store_root(s));
	total += dir_bytes(path.data, 1);
	buf_release(&path);
	return total;
}

static void json_string(const char *str)
{
	putchar('"');
	for (const unsigned char *s = (const unsigned char *)str; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct stats_state *st, uint64_t raw, uint64_t added, uint64_t on_disk)
{
	char hex[OID_HEXSZ + 1];

	printf("{\"paths\":[");
	for (size_t i = 0; i < st->nr; i++) {
		const struct path_stats *ps = &st->paths[i];
		printf("%s{\"path\":", i ? "," : "");
		json_string(ps->path);
		printf(",\"versions\":[");
		for (size_t j = 0; j < ps->nr; j++) {
			const struct version_stats *v = &ps->versions[j];
			printf("%s{\"version\":%zu,\"commit\":\"%s\",\"oid\":\"%s\",\"local\":%s,"
			       "\"raw\":%llu,\"added\":%llu,\"dedup\":%llu,\"compression\":%llu,"
			       "\"delta\":%llu,\"chunks\":%llu,\"new_chunks\":%llu,"
			       "\"delta_chunks\":%llu}",
			       j ? "," : "", j + 1, v->commit, oid_to_hex(hex, &v->oid),
			       v->local ? "true" : "false", (unsigned long long)v->raw,
			       (unsigned long long)v->added, (unsigned long long)v->dedup,
			       (unsigned long long)v->compression, (unsigned long long)v->delta,
			       (unsigned long long)v->chunks, (unsigned long long)v->new_chunks,
			       (unsigned long long)v->delta_chunks);
		}
		printf("]}");
	}
	printf("],\"raw\":%llu,\"added\":%llu,\"store\":%llu}\n", (unsigned long long)raw,
	       (unsigned long long)added, (unsigned long long)on_disk);
}

static void print_text(const struct stats_state *st, uint64_t raw, uint64_t added, uint64_t on_disk,
		       size_t versions)
{
	char a[32], b[32], c[32], d[32], e[32];

	for (size_t i = 0; i < st->nr; i++) {
		const struct path_stats *ps = &st->paths[i];
		printf("%s\n", ps->path);
		printf("  %-4s %-10s %11s %11s %11s %11s %11s\n", "ver", "commit", "raw", "added",
		       "dedup", "compression", "delta");
		for (size_t j = 0; j < ps->nr; j++) {
			const struct version_stats *v = &ps->versions[j];
			if (!v->local) {
				printf("  v%-3zu %-10.10s %11s  not in the local store\n", j + 1,
				       v->commit, human_size(a, sizeof(a), v->raw));
				continue;
			}
			printf("  v%-3zu %-10.10s %11s %11s %11s %11s %11s\n", j + 1, v->commit,
			       human_size(a, sizeof(a), v->raw), human_size(b, sizeof(b), v->added),
			       human_size(c, sizeof(c), v->dedup),
			       human_size(d, sizeof(d), v->compression),
			       human_size(e, sizeof(e), v->delta));
		}
	}
	printf("total: %zu version%s, %s raw, %s added to the store (%.2fx)", versions,
	       versions == 1 ? "" : "s", human_size(a, sizeof(a), raw),
	       human_size(b, sizeof(b), added), raw ? (double)added / (double)raw : 0.0);
	printf("; store on disk %s\n", human_size(c, sizeof(c), on_disk));
}

int cmd_stats(int argc, const char **argv, struct lepton_repo *repo)
{
	struct stats_state st = { .repo = repo, .counted = OIDSET_INIT };
	git_revwalk *walk = NULL;
	const char *rev = NULL;
	int all = 0, json = 0, ret = 0, err;
	uint64_t raw = 0, added = 0;
	size_t versions = 0;
	git_oid id;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--all"))
			all = 1;
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-')
			return usage_error(argv[0], "unknown option '%s'", argv[i]);
		else if (!rev)
			rev = argv[i];
		else
			return usage_error(argv[0], "too many revisions");
	}
	if (all && rev)
		return usage_error(argv[0], "give a revision or --all, not both");
	if ((err = store_open(&st.store, repo->store_path, 0))) {
		if (err != LEPTON_ENOTFOUND) {
			ret = report_error(err);
			goto done;
		}
		lepton_error_clear(); /* no store yet: no version is local */
	}
	if (git_revwalk_new(&walk, repo->git) < 0)
		goto git_failed;
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	if (all) {
		if (git_revwalk_push_glob(walk, "*") < 0)
			goto git_failed;
		git_revwalk_push_head(walk); /* a detached HEAD too; unborn: nothing */
		git_error_clear();
	} else {
		git_object *obj = NULL;
		if (git_revparse_single(&obj, repo->git, rev ? rev : "HEAD") < 0) {
			if (!rev && git_repository_head_unborn(repo->git) == 1)
				goto print; /* no commit yet: nothing to count */
			fprintf(stderr, "fatal: '%s' is not a valid revision: %s\n",
				rev ? rev : "HEAD", git_error_message());
			ret = EXIT_GIT;
			goto done;
		}
		err = git_revwalk_push(walk, git_object_id(obj));
		git_object_free(obj);
		if (err < 0)
			goto git_failed;
	}
	while (git_revwalk_next(&id, walk) == 0) {
		git_commit *commit = NULL;
		git_tree *tree = NULL;
		if (git_commit_lookup(&commit, repo->git, &id) < 0 ||
		    git_commit_tree(&tree, commit) < 0) {
			git_commit_free(commit);
			goto git_failed;
		}
		st.commit = &id;
		git_tree_walk(tree, GIT_TREEWALK_PRE, tree_cb, &st);
		git_tree_free(tree);
		git_commit_free(commit);
		if (st.error) {
			ret = report_error(st.error);
			goto done;
		}
	}
print:
	for (size_t i = 0; i < st.nr; i++) {
		for (size_t j = 0; j < st.paths[i].nr; j++) {
			raw += st.paths[i].versions[j].raw;
			added += st.paths[i].versions[j].added;
			versions++;
		}
	}
	if (json)
		print_json(&st, raw, added, store_bytes(st.store));
	else
		print_text(&st, raw, added, store_bytes(st.store), versions);
	goto done;
git_failed:
	fprintf(stderr, "fatal: cannot walk the history: %s\n", git_error_message());
	ret = EXIT_GIT;
done:
	git_revwalk_free(walk);
	for (size_t i = 0; i < st.nr; i++) {
		free(st.paths[i].path);
		free(st.paths[i].versions);
	}
	free(st.paths);
	oidset_release(&st.counted);
	store_free(st.store);
	return ret;
}
