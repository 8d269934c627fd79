#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "manifest.h"
#include "run.h"
#include "banned.h"

#define MANIFEST_FIRST_LINE "lepton refs 1"
/* with a maintenance or maintained line, which readers of 1 do not know:
 * they refuse the store rather than race a prune (docs/FORMAT.md) */
#define MANIFEST_FIRST_LINE_2 "lepton refs 2"

void manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void manifest_release(struct manifest *m)
{
	free(m->head);
	free(m->maintenance_token);
	free(m->maintained_token);
	for (size_t i = 0; i < m->nr_refs; i++) {
		free(m->refs[i].name);
		free(m->refs[i].oid);
	}
	free(m->refs);
	for (size_t i = 0; i < m->nr_packs; i++)
		free(m->packs[i].name);
	free(m->packs);
	manifest_init(m);
}

static int valid_word(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static int valid_hex(const char *s)
{
	size_t n = strlen(s);
	if (n != 40 && n != 64)
		return 0;
	for (; *s; s++)
		if (!strchr("0123456789abcdef", *s))
			return 0;
	return 1;
}

static int valid_time(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && n < 19 && !s[n] && atoll(s) > 0;
}

static void add_pack(struct manifest *m, const char *name, long long retired)
{
	if (m->nr_packs == m->alloc_packs) {
		m->alloc_packs = m->alloc_packs ? 2 * m->alloc_packs : 8;
		m->packs = xrealloc(m->packs, m->alloc_packs * sizeof(*m->packs));
	}
	m->packs[m->nr_packs].name = xstrdup(name);
	m->packs[m->nr_packs++].retired = retired;
}

int manifest_parse(struct manifest *m, const char *text, size_t len)
{
	char *copy = xmalloc(len + 1), *line, *next;
	size_t lineno = 0;
	int err = 0;

	manifest_init(m);
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; *line && !err; line = next) {
		char *a, *b, *c, *save = NULL;
		next = strchr(line, '\n');
		if (!next) {
			err = lepton_error_set(LEPTON_ECORRUPT, "refs manifest is truncated");
			break;
		}
		*next++ = '\0';
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, MANIFEST_FIRST_LINE) &&
			    strcmp(line, MANIFEST_FIRST_LINE_2))
				err = lepton_error_set(LEPTON_ECORRUPT,
						       "refs manifest has format '%.40s'; this "
						       "git-lepton reads '%s' and '%s'",
						       line, MANIFEST_FIRST_LINE,
						       MANIFEST_FIRST_LINE_2);
			continue;
		}
		a = strtok_r(line, " ", &save);
		b = a ? strtok_r(NULL, " ", &save) : NULL;
		c = b ? strtok_r(NULL, " ", &save) : NULL;
		if (a && !strcmp(a, "head") && b && !c && valid_word(b)) {
			free(m->head);
			m->head = xstrdup(b);
		} else if (a && !strcmp(a, "maintenance") && b && c && valid_word(c) &&
			   !m->maintenance_token && valid_time(b) && !strtok_r(NULL, " ", &save)) {
			manifest_set_maintenance(m, atoll(b), c);
		} else if (a && !strcmp(a, "maintained") && b && c && valid_word(c) &&
			   !m->maintained_token && valid_time(b) && !strtok_r(NULL, " ", &save)) {
			manifest_set_maintained(m, atoll(b), c);
		} else if (a && !strcmp(a, "pack") && b && !c && valid_word(b)) {
			add_pack(m, b, 0);
		} else if (a && !strcmp(a, "retired") && b && c && valid_word(b)) {
			add_pack(m, b, atoll(c) > 0 ? atoll(c) : 1);
		} else if (a && !strcmp(a, "ref") && b && c && valid_hex(b) && valid_word(c) &&
			   !strtok_r(NULL, " ", &save)) {
			manifest_set(m, c, b);
		} else {
			err = lepton_error_set(LEPTON_ECORRUPT,
					       "refs manifest line %zu is malformed", lineno);
		}
	}
	if (!err && lineno == 0)
		err = lepton_error_set(LEPTON_ECORRUPT, "refs manifest is empty");
	free(copy);
	if (err)
		manifest_release(m);
	return err;
}

void manifest_format(struct buf *out, const struct manifest *m)
{
	if (m->maintenance_token || m->maintained_token)
		buf_addstr(out, MANIFEST_FIRST_LINE_2 "\n");
	else
		buf_addstr(out, MANIFEST_FIRST_LINE "\n");
	if (m->maintenance_token)
		buf_addf(out, "maintenance %lld %s\n", m->maintenance_since, m->maintenance_token);
	if (m->maintained_token)
		buf_addf(out, "maintained %lld %s\n", m->maintained_at, m->maintained_token);
	if (m->head)
		buf_addf(out, "head %s\n", m->head);
	for (size_t i = 0; i < m->nr_packs; i++)
		if (m->packs[i].retired)
			buf_addf(out, "retired %s %lld\n", m->packs[i].name, m->packs[i].retired);
		else
			buf_addf(out, "pack %s\n", m->packs[i].name);
	for (size_t i = 0; i < m->nr_refs; i++)
		buf_addf(out, "ref %s %s\n", m->refs[i].oid, m->refs[i].name);
}

static size_t find_ref(const struct manifest *m, const char *name, int *found)
{
	size_t lo = 0, hi = m->nr_refs;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->refs[mid].name, name);
		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *manifest_get(const struct manifest *m, const char *name)
{
	int found;
	size_t i = find_ref(m, name, &found);
	return found ? m->refs[i].oid : NULL;
}

void manifest_set(struct manifest *m, const char *name, const char *oid)
{
	int found;
	size_t i = find_ref(m, name, &found);

	if (found && oid) {
		free(m->refs[i].oid);
		m->refs[i].oid = xstrdup(oid);
	} else if (found) {
		free(m->refs[i].name);
		free(m->refs[i].oid);
		memmove(m->refs + i, m->refs + i + 1, (m->nr_refs - i - 1) * sizeof(*m->refs));
		m->nr_refs--;
	} else if (oid) {
		if (m->nr_refs == m->alloc_refs) {
			m->alloc_refs = m->alloc_refs ? 2 * m->alloc_refs : 16;
			m->refs = xrealloc(m->refs, m->alloc_refs * sizeof(*m->refs));
		}
		memmove(m->refs + i + 1, m->refs + i, (m->nr_refs - i) * sizeof(*m->refs));
		m->refs[i].name = xstrdup(name);
		m->refs[i].oid = xstrdup(oid);
		m->nr_refs++;
	}
}

void manifest_set_head(struct manifest *m, const char *name)
{
	free(m->head);
	m->head = name ? xstrdup(name) : NULL;
}

void manifest_set_maintenance(struct manifest *m, long long since, const char *token)
{
	free(m->maintenance_token);
	m->maintenance_token = token ? xstrdup(token) : NULL;
	m->maintenance_since = token ? since : 0;
}

void manifest_set_maintained(struct manifest *m, long long at, const char *token)
{
	free(m->maintained_token);
	m->maintained_token = token ? xstrdup(token) : NULL;
	m->maintained_at = token ? at : 0;
}

void manifest_add_pack(struct manifest *m, const char *name)
{
	for (size_t i = 0; i < m->nr_packs; i++)
		if (!strcmp(m->packs[i].name, name)) {
			m->packs[i].retired = 0;
			return;
		}
	add_pack(m, name, 0);
}

void manifest_retire_pack(struct manifest *m, const char *name, long long when)
{
	for (size_t i = 0; i < m->nr_packs; i++)
		if (!strcmp(m->packs[i].name, name) && !m->packs[i].retired)
			m->packs[i].retired = when > 0 ? when : 1;
}

int manifest_read(struct manifest *m, struct backend *b, struct buf *etag)
{
	struct buf text, local = BUF_INIT;
	int err;

	manifest_init(m);
	buf_init_limit(&text, MANIFEST_LIMIT);
	err = backend_get_versioned(b, MANIFEST_KEY, &text, etag ? etag : &local);
	if (!err && text.len)
		err = manifest_parse(m, text.data, text.len);
	if (err)
		err = lepton_error_wrap(err, "store '%s'", backend_name(b));
	buf_release(&text);
	buf_release(&local);
	return err;
}

int manifest_update(struct backend *b, int attempts, manifest_update_fn *fn, void *data)
{
	for (int attempt = 0; attempt < attempts; attempt++) {
		struct manifest m;
		struct buf etag = BUF_INIT, text = BUF_INIT;
		int err;

		if ((err = manifest_read(&m, b, &etag))) {
			buf_release(&etag);
			return err;
		}
		err = fn(&m, etag.data, data);
		if (!err) {
			manifest_format(&text, &m);
			err = backend_put_if(b, MANIFEST_KEY, text.data, text.len, etag.data);
		} else if (err == MANIFEST_KEEP) {
			err = 0;
		}
		manifest_release(&m);
		buf_release(&etag);
		buf_release(&text);
		if (err != LEPTON_ECONFLICT)
			return err;
		lepton_error_clear();
	}
	return lepton_error_set(LEPTON_ECONFLICT,
				"the refs of store '%s' changed %d times; try again",
				backend_name(b), attempts);
}

int manifest_index_pack(struct backend *b, const char *name, const char *git_dir,
			const char *tmp_path)
{
	struct buf key = BUF_INIT, out = BUF_INIT, arg = BUF_INIT;
	struct run_opts opts = { .stdin_path = tmp_path, .stdout_to_stderr = 1 };
	int fd, err, code;

	buf_addf(&key, "git/packs/%s.pack", name);
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = lepton_error_errno(LEPTON_EIO, "cannot create '%s'", tmp_path);
		goto done;
	}
	err = backend_get_stream(b, key.data, backend_sink_fd, &fd);
	close(fd);
	if (err)
		goto done;
	if (git_dir)
		buf_addf(&arg, "--git-dir=%s", git_dir);
	code = git_dir ? run_git_opt(&opts, &out, arg.data, "index-pack", "--stdin", (char *)NULL)
		       : run_git_opt(&opts, &out, "index-pack", "--stdin", (char *)NULL);
	if (code)
		err = lepton_error_set(LEPTON_EGIT,
				       "history pack '%s' of store '%s' does not index (git "
				       "index-pack exit code %d)",
				       name, backend_name(b), code);
done:
	unlink(tmp_path);
	buf_release(&key);
	buf_release(&out);
	buf_release(&arg);
	return err;
}
