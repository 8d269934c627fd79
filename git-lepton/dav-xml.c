#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "dav-xml.h"
#include "hash.h"
#include "banned.h"

char *dav_url_decode(const char *s, size_t len)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0) {
			buf_addch(&out, hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
			i += 2;
		} else {
			buf_addch(&out, s[i]);
		}
	}
	return buf_detach(&out, NULL);
}

/* The next tag at or after p (before end) with local name name: opening
 * when closing is 0. Returns where it starts, and *after where it ends. */
static const char *find_tag(const char *p, const char *end, const char *name, int closing,
			    const char **after)
{
	size_t n = strlen(name);
	while (p < end && (p = memchr(p, '<', end - p))) {
		const char *t = p + 1, *q;
		int is_closing = t < end && *t == '/';
		if (is_closing)
			t++;
		q = t;
		while (q < end && *q != '>' && *q != ' ' && *q != '/' && *q != '\t' && *q != '\n' &&
		       *q != '\r')
			q++;
		const char *colon = memchr(t, ':', q - t);
		const char *local = colon ? colon + 1 : t;
		const char *gt = memchr(q, '>', end - q);
		if (!gt)
			return NULL;
		if (is_closing == closing && (size_t)(q - local) == n && !memcmp(local, name, n)) {
			*after = gt + 1;
			return p;
		}
		p = gt + 1;
	}
	return NULL;
}

/* The text of the first element name within [p, end), decoded, or NULL. */
static char *element_text(const char *p, const char *end, const char *name)
{
	const char *start, *stop, *after, *ignored;
	struct buf text = BUF_INIT;

	if (!(start = find_tag(p, end, name, 0, &after)))
		return NULL;
	if (after[-2] == '/')
		return xstrdup(""); /* <name/> */
	if (!(stop = find_tag(after, end, name, 1, &ignored)))
		return NULL;
	for (const char *c = after; c < stop; c++) {
		static const struct {
			const char *entity;
			char ch;
		} entities[] = { { "&amp;", '&' },
				 { "&lt;", '<' },
				 { "&gt;", '>' },
				 { "&quot;", '"' },
				 { "&apos;", '\'' } };
		size_t i;
		for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
			size_t n = strlen(entities[i].entity);
			if ((size_t)(stop - c) >= n && !memcmp(c, entities[i].entity, n)) {
				buf_addch(&text, entities[i].ch);
				c += n - 1;
				break;
			}
		}
		if (i == sizeof(entities) / sizeof(entities[0]))
			buf_addch(&text, *c);
	}
	buf_rtrim(&text);
	start = text.data;
	while (*start == ' ' || *start == '\n' || *start == '\t' || *start == '\r')
		start++;
	char *out = xstrdup(start);
	buf_release(&text);
	return out;
}

int dav_multistatus(const char *xml, size_t len, int (*fn)(void *data, const struct dav_member *m),
		    void *data)
{
	const char *p = xml, *end = xml + len, *after, *ignored;
	int ret = 0;

	while (!ret && (p = find_tag(p, end, "response", 0, &after))) {
		const char *stop = find_tag(after, end, "response", 1, &p);
		char *href, *path, *modified;
		struct dav_member m = { 0 };
		size_t n;

		if (!stop)
			break;
		if (!(href = element_text(after, stop, "href")))
			continue;
		/* an absolute URL or an absolute path */
		path = href;
		if (strstr(path, "://")) {
			path = strstr(path, "://") + 3;
			path += strcspn(path, "/");
		}
		path = dav_url_decode(path, strlen(path));
		n = strlen(path);
		while (n && path[n - 1] == '/')
			path[--n] = '\0';
		m.path = path;
		m.collection = find_tag(after, stop, "collection", 0, &ignored) != NULL;
		modified = element_text(after, stop, "getlastmodified");
		if (modified && *modified) {
			time_t t = curl_getdate(modified, NULL);
			m.modified = t > 0 ? t : 0;
		}
		ret = fn(data, &m);
		free(modified);
		free(path);
		free(href);
	}
	return ret;
}

char *dav_lock_token(const char *xml, size_t len)
{
	const char *after, *end = xml + len;
	char *token;

	if (!find_tag(xml, end, "locktoken", 0, &after))
		return NULL;
	token = element_text(after, end, "href");
	if (token && !*token) {
		free(token);
		token = NULL;
	}
	return token;
}
