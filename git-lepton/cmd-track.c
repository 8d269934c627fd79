/* track and untrack: the patterns of .gitattributes that use the filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "pack.h"
#include "banned.h"

#define ATTRIBUTES "filter=lepton diff=lepton merge=lepton -text"

/* A pattern as .gitattributes spells it: spaces become [[:space:]], as
 * git-lfs writes them; patterns given in a subdirectory get its prefix. */
static void attr_pattern(struct buf *out, const char *prefix, const char *pattern)
{
	if (prefix && *prefix && pattern[0] != '/')
		buf_addstr(out, prefix);
	for (const char *p = pattern[0] == '/' ? pattern + 1 : pattern; *p; p++) {
		if (*p == ' ')
			buf_addstr(out, "[[:space:]]");
		else
			buf_addch(out, *p);
	}
}

/* The line's pattern when it uses the lepton filter. */
static int line_pattern(const char *line, size_t len, struct buf *pattern)
{
	size_t n = 0;
	buf_reset(pattern);
	while (n < len && line[n] != ' ' && line[n] != '\t')
		n++;
	if (!n || line[0] == '#')
		return 0;
	buf_add(pattern, line, n);
	for (const char *p = line + n; p < line + len; p++)
		if (!strncmp(p, "filter=lepton", 13) &&
		    (p + 13 == line + len || p[13] == ' ' || p[13] == '\t'))
			return 1;
	return 0;
}

static int read_attributes(struct lepton_repo *repo, struct buf *text, struct buf *path)
{
	int err;
	buf_addf(path, "%s.gitattributes", repo->workdir);
	err = buf_read_file(text, path->data);
	if (err && err != LEPTON_ENOTFOUND)
		return report_error(err);
	return 0;
}

static int write_attributes(struct lepton_repo *repo, const struct buf *path,
			    const struct buf *text)
{
	/* the temporary file goes under .git, out of the user's sight */
	int err = write_file_atomic(repo->gitdir, path->data, text->data, text->len, 0);
	if (err)
		return report_error(err);
	/* write_file_atomic makes objects read-only; this is the user's file */
	chmod(path->data, 0644);
	return 0;
}

static int list_patterns(const struct buf *text)
{
	struct buf pattern = BUF_INIT;
	const char *p = text->data, *end = text->data + text->len;
	printf("Listing tracked patterns\n");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (line_pattern(p, len, &pattern))
			printf("    %s (.gitattributes)\n", pattern.data);
		p += len + 1;
	}
	buf_release(&pattern);
	return 0;
}

static int has_pattern(const struct buf *text, const char *want)
{
	struct buf pattern = BUF_INIT;
	const char *p = text->data, *end = text->data + text->len;
	int found = 0;
	while (p < end && !found) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		found = line_pattern(p, len, &pattern) && !strcmp(pattern.data, want);
		p += len + 1;
	}
	buf_release(&pattern);
	return found;
}

/* Warn about files the new patterns match that are committed as raw bytes. */
static void warn_raw_files(struct lepton_repo *repo)
{
	git_index *index;
	size_t n;

	git_attr_cache_flush(repo->git);
	if (git_repository_index(&index, repo->git) < 0)
		return;
	n = git_index_entrycount(index);
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		struct lepton_pointer p;
		if (!blob_is_empty(&e->id) &&
		    path_is_tracked(repo->git, e->path, GIT_ATTR_CHECK_FILE_THEN_INDEX) &&
		    blob_pointer(repo->git, &e->id, &p) == 0)
			warning(
			    "'%s' is already committed as raw bytes; run 'git add --renormalize "
			    "%s' to store it in git-lepton",
			    e->path, e->path);
	}
	git_index_free(index);
}

static const char *prefix_of(struct lepton_repo *repo, struct buf *prefix)
{
	char cwd[4096];
	size_t top = strlen(repo->workdir);
	if (!getcwd(cwd, sizeof(cwd)))
		return "";
	buf_addstr(prefix, cwd);
	buf_addch(prefix, '/');
	if (prefix->len > top && !strncmp(prefix->data, repo->workdir, top))
		return prefix->data + top;
	return "";
}

int cmd_track(int argc, const char **argv, struct lepton_repo *repo)
{
	struct buf text = BUF_INIT, path = BUF_INIT, pattern = BUF_INIT, prefix = BUF_INIT;
	const char *pre;
	int ret, added = 0;

	if ((ret = read_attributes(repo, &text, &path)))
		goto done;
	if (argc < 2) {
		ret = list_patterns(&text);
		goto done;
	}
	pre = prefix_of(repo, &prefix);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && strcmp(argv[i], "-")) {
			ret = usage_error(argv[0], "unknown option '%s'", argv[i]);
			goto done;
		}
		if (!argv[i][0]) {
			ret = usage_error(argv[0], "empty pattern");
			goto done;
		}
		buf_reset(&pattern);
		attr_pattern(&pattern, pre, argv[i]);
		if (has_pattern(&text, pattern.data)) {
			printf("\"%s\" already tracked\n", pattern.data);
			continue;
		}
		if (text.len && text.data[text.len - 1] != '\n')
			buf_addch(&text, '\n');
		buf_addf(&text, "%s %s\n", pattern.data, ATTRIBUTES);
		printf("Tracking \"%s\"\n", pattern.data);
		added = 1;
	}
	if (added && !(ret = write_attributes(repo, &path, &text)))
		warn_raw_files(repo);
done:
	buf_release(&text);
	buf_release(&path);
	buf_release(&pattern);
	buf_release(&prefix);
	return ret;
}

int cmd_untrack(int argc, const char **argv, struct lepton_repo *repo)
{
	struct buf text = BUF_INIT, path = BUF_INIT, pattern = BUF_INIT, want = BUF_INIT,
		   kept = BUF_INIT, prefix = BUF_INIT;
	const char *pre;
	int ret, removed = 0;

	if (argc < 2)
		return usage_error(argv[0], "no pattern given");
	if ((ret = read_attributes(repo, &text, &path)))
		goto done;
	pre = prefix_of(repo, &prefix);
	for (int i = 1; i < argc; i++) {
		const char *p = text.data, *end = text.data + text.len;
		int found = 0;
		buf_reset(&want);
		attr_pattern(&want, pre, argv[i]);
		buf_reset(&kept);
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (line_pattern(p, len, &pattern) && !strcmp(pattern.data, want.data))
				found = 1;
			else
				buf_add(&kept, p, len + (nl ? 1 : 0));
			p += len + 1;
		}
		if (found) {
			printf("Untracking \"%s\"\n", want.data);
			buf_reset(&text);
			buf_add(&text, kept.data, kept.len);
			removed = 1;
		} else {
			warning("\"%s\" is not tracked", want.data);
		}
	}
	if (removed)
		ret = write_attributes(repo, &path, &text);
done:
	buf_release(&text);
	buf_release(&path);
	buf_release(&pattern);
	buf_release(&want);
	buf_release(&kept);
	buf_release(&prefix);
	return ret;
}
