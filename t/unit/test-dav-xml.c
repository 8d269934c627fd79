/*
 * Unit tests of the WebDAV reply reader (git-lepton/dav-xml.h): nginx's
 * multistatus, the dialects of other servers (absolute URLs in href, other
 * or no namespace prefixes, entities, attributes), lock tokens, and
 * replies that are cut or are not XML at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "dav-xml.h"

struct seen {
	struct buf text; /* "path collection modified\n" per member */
	int stop_after;  /* members before fn stops (0: never) */
	int count;
};

static int collect(void *data, const struct dav_member *m)
{
	struct seen *s = data;
	buf_addf(&s->text, "%s %d %lld\n", m->path, m->collection, (long long)m->modified);
	s->count++;
	return s->stop_after && s->count >= s->stop_after ? 7 : 0;
}

static void check(const char *xml, const char *expect)
{
	struct seen s = { BUF_INIT, 0, 0 };
	assert_int_equal(dav_multistatus(xml, strlen(xml), collect, &s), 0);
	assert_string_equal(s.text.data, expect);
	buf_release(&s.text);
}

static void nginx_reply(void **state)
{
	(void)state;
	check("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
	      "<D:multistatus xmlns:D=\"DAV:\">\n"
	      "<D:response>\n<D:href>/s/tmp/</D:href>\n<D:propstat>\n<D:prop>\n"
	      "<D:resourcetype><D:collection/></D:resourcetype>\n"
	      "<D:getlastmodified>Fri, 04 Dec 2026 19:34:26 GMT</D:getlastmodified>\n"
	      "</D:prop>\n<D:status>HTTP/1.1 200 OK</D:status>\n</D:propstat>\n"
	      "</D:response>\n"
	      "<D:response>\n<D:href>/s/tmp/put-1%20x</D:href>\n<D:propstat>\n<D:prop>\n"
	      "<D:resourcetype></D:resourcetype>\n"
	      "<D:getlastmodified>Thu, 01 Jan 1970 00:01:40 GMT</D:getlastmodified>\n"
	      "</D:prop>\n<D:status>HTTP/1.1 200 OK</D:status>\n</D:propstat>\n"
	      "</D:response>\n</D:multistatus>\n",
	      "/s/tmp 1 1796412866\n/s/tmp/put-1 x 0 100\n");
}

static void other_dialects(void **state)
{
	(void)state;
	/* Apache: absolute URLs, lp1 prefix for live properties */
	check("<D:multistatus xmlns:D=\"DAV:\" xmlns:lp1=\"DAV:\">"
	      "<D:response><D:href>http://h:8080/a/b/</D:href><D:propstat><D:prop>"
	      "<lp1:resourcetype><D:collection/></lp1:resourcetype>"
	      "</D:prop></D:propstat></D:response>"
	      "<D:response xmlns:g0=\"DAV:\"><D:href>https://h/a/b/c&amp;d</D:href>"
	      "<D:propstat><D:prop><lp1:getlastmodified>Thu, 01 Jan 1970 00:00:10 GMT"
	      "</lp1:getlastmodified></D:prop></D:propstat></D:response>"
	      "</D:multistatus>",
	      "/a/b 1 0\n/a/b/c&d 0 10\n");
	/* a default namespace, lower-case prefixes, whitespace in href */
	check("<multistatus xmlns=\"DAV:\"><response><href>\n  /x/y  \n</href>"
	      "<propstat><prop><resourcetype/></prop></propstat></response>"
	      "<d:response><d:href>/x/z%2Fw</d:href></d:response></multistatus>",
	      "/x/y 0 0\n/x/z/w 0 0\n");
	/* elements whose names only start like the ones read */
	check("<D:multistatus xmlns:D=\"DAV:\"><D:responsedescription>no</D:responsedescription>"
	      "<D:response><D:hrefs>/bad</D:hrefs><D:href>/good</D:href>"
	      "<D:collections/></D:response></D:multistatus>",
	      "/good 0 0\n");
}

static void stops_and_damage(void **state)
{
	const char *two = "<D:response><D:href>/a</D:href></D:response>"
			  "<D:response><D:href>/b</D:href></D:response>";
	struct seen s = { BUF_INIT, 1, 0 };

	(void)state;
	assert_int_equal(dav_multistatus(two, strlen(two), collect, &s), 7);
	assert_string_equal(s.text.data, "/a 0 0\n");
	buf_release(&s.text);
	/* cut in the middle, a response without href, not XML, nothing */
	check("<D:response><D:href>/a</D:href></D:response><D:response><D:href>/b", "/a 0 0\n");
	check("<D:response><D:status>HTTP/1.1 200 OK</D:status></D:response>", "");
	check("<html><body>502 Bad Gateway</body></html>", "");
	check("<D:response><D:href>/a</D:href", "");
	check("", "");
	check("<<<>>><D:response/><", "");
}

static void lock_tokens(void **state)
{
	const char *nginx = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
			    "<D:prop xmlns:D=\"DAV:\">\n<D:lockdiscovery>\n<D:activelock>\n"
			    "<D:locktype><D:write/></D:locktype>\n"
			    "<D:lockroot><D:href>/refs</D:href></D:lockroot>\n"
			    "<D:locktoken><D:href>urn:2ad944be</D:href></D:locktoken>\n"
			    "</D:activelock>\n</D:lockdiscovery>\n</D:prop>\n";
	const char *none = "<D:prop><D:lockroot><D:href>/refs</D:href></D:lockroot></D:prop>";
	const char *empty = "<D:locktoken><D:href></D:href></D:locktoken>";
	char *t;

	(void)state;
	t = dav_lock_token(nginx, strlen(nginx));
	assert_non_null(t);
	assert_string_equal(t, "urn:2ad944be");
	free(t);
	assert_null(dav_lock_token(none, strlen(none)));
	assert_null(dav_lock_token(empty, strlen(empty)));
	assert_null(dav_lock_token("", 0));
}

static void url_decode(void **state)
{
	char *s;
	(void)state;
	s = dav_url_decode("a%20b%2fc%zz%4", 14);
	assert_string_equal(s, "a b/c%zz%4");
	free(s);
	s = dav_url_decode("%41%42", 3); /* only the first 3 bytes */
	assert_string_equal(s, "A");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nginx_reply),      cmocka_unit_test(other_dialects),
		cmocka_unit_test(stops_and_damage), cmocka_unit_test(lock_tokens),
		cmocka_unit_test(url_decode),
	};
	return cmocka_run_group_tests_name("dav-xml", tests, NULL, NULL);
}
