/* log: the versions of model paths, newest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "error.h"
#include "versions.h"
#include "banned.h"

struct path_list {
	char **items;
	char **from; /* the branch a path was found on (--all), or NULL: HEAD */
	size_t nr, alloc;
};

static int path_list_has(const struct path_list *l, const char *path)
{
	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->items[i], path))
			return 1;
	return 0;
}

static void path_list_add(struct path_list *l, const char *path, const char *from)
{
	if (path_list_has(l, path))
		return;
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->items = xrealloc(l->items, l->alloc * sizeof(*l->items));
		l->from = xrealloc(l->from, l->alloc * sizeof(*l->from));
	}
	l->items[l->nr] = xstrdup(path);
	l->from[l->nr++] = from ? xstrdup(from) : NULL;
}

static void path_list_release(struct path_list *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->items[i]);
		free(l->from[i]);
	}
	free(l->items);
	free(l->from);
	memset(l, 0, sizeof(*l));
}

struct collect {
	git_repository *repo;
	struct path_list *paths;
	const char *from;
};

static int collect_cb(const char *root, const git_tree_entry *entry, void *data)
{
	struct collect *c = data;
	struct lepton_pointer p;
	struct buf path = BUF_INIT;

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
	    blob_is_empty(git_tree_entry_id(entry)))
		return 0;
	if (version_blob_pointer(&p, c->repo, git_tree_entry_id(entry)) == 1) {
		buf_addf(&path, "%s%s", root, git_tree_entry_name(entry));
		path_list_add(c->paths, path.data, c->from);
	}
	buf_release(&path);
	return 0;
}

/* The model paths (pointer blobs) of a commit's tree. */
static int collect_paths(struct path_list *out, git_repository *repo, const git_oid *commit,
			 const char *from)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	struct collect st = { repo, out, from };
	int ret = 0;

	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0)
		ret =
		    lepton_error_set(LEPTON_EGIT, "cannot read a commit: %s", git_error_message());
	else
		git_tree_walk(tree, GIT_TREEWALK_PRE, collect_cb, &st);
	git_tree_free(tree);
	git_commit_free(c);
	return ret;
}

/* One version as the table shows it. */
struct row {
	const struct version *v;
	git_commit *commit;
	int local, have_delta, have_tensors;
	struct recipe_delta delta;
	uint64_t tensors_changed, tensors;
};

static void format_date(char *out, size_t size, const git_signature *sig, int iso)
{
	time_t t = (time_t)(sig->when.time + (git_time_t)sig->when.offset * 60);
	struct tm tm;
	int off = sig->when.offset;
	char sign = off < 0 ? '-' : '+';

	gmtime_r(&t, &tm);
	if (off < 0)
		off = -off;
	if (iso) {
		size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out + n, size - n, "%c%02d:%02d", sign, off / 60, off % 60);
	} else {
		strftime(out, size, "%Y-%m-%d %H:%M", &tm);
	}
}

/* Recipe comparison of every version with the one before, when both are local. */
static void compute_deltas(struct row *rows, const struct version_list *l,
			   struct lepton_store *store)
{
	struct recipe prev = RECIPE_INIT, cur = RECIPE_INIT;
	int have_prev = 0;

	for (size_t i = 0; i < l->nr; i++) {
		int have_cur = store && l->v[i].is_pointer &&
			       !version_read_recipe(&cur, store, &l->v[i].pointer.oid);
		rows[i].local = have_cur;
		if (have_cur && (i == 0 || have_prev)) {
			recipe_compare(&rows[i].delta, i ? &prev : NULL, &cur);
			rows[i].have_delta = 1;
			rows[i].have_tensors =
			    !recipe_tensor_changes(&rows[i].tensors_changed, &rows[i].tensors,
						   store, i ? &prev : NULL, &cur);
		}
		if (have_prev)
			recipe_release(&prev);
		prev = cur;
		have_prev = have_cur;
		memset(&cur, 0, sizeof(cur));
	}
	if (have_prev)
		recipe_release(&prev);
	lepton_error_clear();
}

#define LOG_COLUMNS 9

/* Print cells row by row, each column as wide as its widest cell (the last
 * one not padded), and free them. */
static void table_print(char **cells, size_t nr)
{
	size_t width[LOG_COLUMNS] = { 0 };
	for (size_t i = 0; i < nr; i++) {
		size_t w = strlen(cells[i]);
		if (w > width[i % LOG_COLUMNS])
			width[i % LOG_COLUMNS] = w;
	}
	for (size_t i = 0; i < nr; i++) {
		size_t col = i % LOG_COLUMNS;
		if (col + 1 == LOG_COLUMNS)
			printf("%s\n", cells[i]);
		else
			printf("%-*s  ", (int)width[col], cells[i]);
		free(cells[i]);
	}
}

static void print_human(const struct version_list *l, struct row *rows, const char *from)
{
	static const char *const head[LOG_COLUMNS] = {
		"version",        "commit",          "date",   "author", "size", "added",
		"chunks changed", "tensors changed", "subject"
	};
	char **cells = xmalloc((l->nr + 1) * LOG_COLUMNS * sizeof(*cells));
	size_t n = 0;

	printf("%s: %zu version%s%s%s\n", l->path, l->nr, l->nr == 1 ? "" : "s", from ? " on " : "",
	       from ? from : "");
	for (size_t i = 0; i < LOG_COLUMNS; i++)
		cells[n++] = xstrdup(head[i]);
	for (size_t i = l->nr; i-- > 0;) {
		const struct row *r = &rows[i];
		const git_signature *a = git_commit_author(r->commit);
		char buf[64], hex[GIT_OID_HEXSZ + 1];
		struct buf cell = BUF_INIT;

		snprintf(buf, sizeof(buf), "v%u", r->v->n);
		cells[n++] = xstrdup(buf);
		git_oid_tostr(hex, 8, &r->v->commit);
		cells[n++] = xstrdup(hex);
		format_date(buf, sizeof(buf), a, 0);
		cells[n++] = xstrdup(buf);
		cells[n++] = xstrdup(a->name ? a->name : "");
		human_size(buf, sizeof(buf), r->v->pointer.size);
		cells[n++] = xstrdup(r->v->is_pointer ? buf : "(raw)");
		if (r->have_delta)
			human_size(buf, sizeof(buf), r->delta.changed_bytes);
		cells[n++] = xstrdup(r->have_delta ? buf : "?");
		if (r->have_delta)
			buf_addf(&cell, "%llu/%llu", (unsigned long long)r->delta.changed,
				 (unsigned long long)r->delta.chunks);
		cells[n++] = xstrdup(r->have_delta ? cell.data : "?");
		buf_reset(&cell);
		if (r->have_tensors)
			buf_addf(&cell, "%llu/%llu", (unsigned long long)r->tensors_changed,
				 (unsigned long long)r->tensors);
		/* "-": not a parsed model, or stored before tensor maps */
		cells[n++] = xstrdup(r->have_tensors ? cell.data : r->have_delta ? "-" : "?");
		cells[n++] =
		    xstrdup(git_commit_summary(r->commit) ? git_commit_summary(r->commit) : "");
		buf_release(&cell);
	}
	table_print(cells, n);
	free(cells);
}

static void print_json(struct buf *out, const struct version_list *l, struct row *rows,
		       const char *from)
{
	buf_addstr(out, "{\"path\":");
	json_add_string(out, l->path);
	buf_addstr(out, ",\"branch\":");
	if (from)
		json_add_string(out, from);
	else
		buf_addstr(out, "null");
	buf_addf(out, ",\"count\":%zu,\"versions\":[", l->nr);
	for (size_t i = l->nr; i-- > 0;) {
		const struct row *r = &rows[i];
		const git_signature *a = git_commit_author(r->commit);
		char date[64], hex[GIT_OID_HEXSZ + 1], oid[OID_HEXSZ + 1];

		format_date(date, sizeof(date), a, 1);
		git_oid_tostr(hex, sizeof(hex), &r->v->commit);
		buf_addf(out,
			 "%s{\"version\":%u,\"commit\":\"%s\",\"short\":\"%.7s\",\"date\":\"%s\"",
			 i + 1 == l->nr ? "" : ",", r->v->n, hex, hex, date);
		buf_addstr(out, ",\"author\":");
		json_add_string(out, a->name ? a->name : "");
		buf_addstr(out, ",\"email\":");
		json_add_string(out, a->email ? a->email : "");
		buf_addstr(out, ",\"subject\":");
		json_add_string(out,
				git_commit_summary(r->commit) ? git_commit_summary(r->commit) : "");
		buf_addf(out, ",\"size\":%llu,\"pointer\":%s",
			 (unsigned long long)r->v->pointer.size,
			 r->v->is_pointer ? "true" : "false");
		if (r->v->is_pointer)
			buf_addf(out, ",\"oid\":\"%s\"", oid_to_hex(oid, &r->v->pointer.oid));
		if (r->have_delta)
			buf_addf(out,
				 ",\"local\":true,\"added_bytes\":%llu,\"chunks\":%llu,"
				 "\"chunks_changed\":%llu",
				 (unsigned long long)r->delta.changed_bytes,
				 (unsigned long long)r->delta.chunks,
				 (unsigned long long)r->delta.changed);
		else
			buf_addf(out,
				 ",\"local\":%s,\"added_bytes\":null,\"chunks\":null,"
				 "\"chunks_changed\":null",
				 r->local ? "true" : "false");
		if (r->have_tensors)
			buf_addf(out, ",\"tensors\":%llu,\"tensors_changed\":%llu}",
				 (unsigned long long)r->tensors,
				 (unsigned long long)r->tensors_changed);
		else
			buf_addstr(out, ",\"tensors\":null,\"tensors_changed\":null}");
	}
	buf_addstr(out, "]}");
}

static int log_path(struct buf *json, struct lepton_repo *repo, struct lepton_store *store,
		    const char *path, const git_oid *tip, const char *from, int first)
{
	struct version_list l = VERSION_LIST_INIT;
	struct row *rows = NULL;
	int ret;

	if ((ret = versions_of_path(&l, repo->git, path, tip)))
		goto done;
	if (!l.nr) {
		ret = lepton_error_set(LEPTON_ENOTFOUND,
				       "'%s' has no versions in the history of %s; is the path "
				       "right?",
				       path, from ? from : "HEAD");
		goto done;
	}
	rows = xcalloc(l.nr, sizeof(*rows));
	for (size_t i = 0; i < l.nr; i++) {
		rows[i].v = &l.v[i];
		if (git_commit_lookup(&rows[i].commit, repo->git, &l.v[i].commit) < 0) {
			ret = lepton_error_set(LEPTON_EGIT, "cannot read a commit: %s",
					       git_error_message());
			goto done;
		}
	}
	compute_deltas(rows, &l, store);
	if (json) {
		if (!first)
			buf_addch(json, ',');
		print_json(json, &l, rows, from);
	} else {
		if (!first)
			putchar('\n');
		print_human(&l, rows, from);
	}
done:
	for (size_t i = 0; rows && i < l.nr; i++)
		git_commit_free(rows[i].commit);
	free(rows);
	version_list_release(&l);
	return ret;
}

/* --all: model paths of every local branch not already in HEAD's tree. */
static int collect_branches(struct path_list *paths, git_repository *repo)
{
	git_branch_iterator *it = NULL;
	git_reference *ref = NULL;
	git_branch_t type;
	int ret = 0;

	if (git_branch_iterator_new(&it, repo, GIT_BRANCH_LOCAL) < 0)
		return lepton_error_set(LEPTON_EGIT, "cannot list branches: %s",
					git_error_message());
	while (!ret && git_branch_next(&ref, &type, it) == 0) {
		git_object *obj = NULL;
		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0)
			ret = collect_paths(paths, repo, git_object_id(obj),
					    git_reference_shorthand(ref));
		git_object_free(obj);
		git_reference_free(ref);
		ref = NULL;
	}
	git_branch_iterator_free(it);
	return ret;
}

int cmd_log(int argc, const char **argv, struct lepton_repo *repo)
{
	struct path_list paths = { 0 };
	struct lepton_store *store = NULL;
	struct buf json = BUF_INIT;
	const char *rev = NULL;
	int all = 0, as_json = 0, dashdash = 0, ret = 0, failed = 0;
	git_oid tip;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	for (int i = 1; i < argc; i++) {
		if (dashdash && i == dashdash)
			continue;
		if (!dashdash || i < dashdash) {
			if (!strcmp(argv[i], "--all")) {
				all = 1;
				continue;
			}
			if (!strcmp(argv[i], "--json")) {
				as_json = 1;
				continue;
			}
			if (argv[i][0] == '-') {
				ret = usage_error(argv[0], "unknown option '%s'", argv[i]);
				goto done;
			}
			if (dashdash) {
				if (rev) {
					ret = usage_error(argv[0], "more than one revision");
					goto done;
				}
				rev = argv[i];
				continue;
			}
		}
		path_list_add(&paths, argv[i], NULL);
	}
	if (all && rev) {
		ret = usage_error(argv[0], "--all walks every branch; it takes no revision");
		goto done;
	}
	if (rev) {
		if ((ret = version_resolve(&tip, NULL, repo->git, rev, NULL))) {
			ret = report_error(ret);
			goto done;
		}
	} else if (git_reference_name_to_id(&tip, repo->git, "HEAD") < 0) {
		ret = error("there is no commit yet; 'git lepton log' shows committed versions");
		goto done;
	}
	if (!paths.nr) {
		if ((ret = collect_paths(&paths, repo->git, &tip, NULL)) ||
		    (all && (ret = collect_branches(&paths, repo->git)))) {
			ret = report_error(ret);
			goto done;
		}
	}
	store_open(&store, repo->store_path, 0); /* no store: nothing is local */
	lepton_error_clear();
	for (size_t i = 0; i < paths.nr; i++) {
		git_oid from_tip = tip;
		int err;
		if (paths.from[i]) {
			char ref[1024];
			snprintf(ref, sizeof(ref), "refs/heads/%s", paths.from[i]);
			if (git_reference_name_to_id(&from_tip, repo->git, ref) < 0)
				continue;
		}
		err = log_path(as_json ? &json : NULL, repo, store, paths.items[i], &from_tip,
			       paths.from[i], i == 0 || (as_json && !json.len));
		if (err) {
			ret = report_error(err);
			failed = 1;
		}
	}
	if (as_json)
		printf("[%s]\n", json.data);
	if (failed && !ret)
		ret = EXIT_FAIL;
done:
	buf_release(&json);
	store_free(store);
	path_list_release(&paths);
	return ret;
}
