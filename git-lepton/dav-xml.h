#ifndef LEPTON_DAV_XML_H
#define LEPTON_DAV_XML_H

#include <stddef.h>
#include <time.h>

/*
 * The parts of WebDAV replies the WebDAV store reads, without an XML
 * library: elements are matched by local name whatever their namespace
 * prefix ("D:href", "d:href", "lp1:getlastmodified", "href"), the five
 * predefined entities are decoded, and nothing else of XML is needed.
 */

/* One <response> of a multistatus reply. */
struct dav_member {
	const char *path; /* the href's path, percent-decoded, no '/' at the end */
	int collection;   /* its resourcetype holds <collection/> */
	time_t modified;  /* getlastmodified, or 0 when not given */
};

/* Call fn for each <response> of the multistatus reply in xml[0..len);
 * fn returning non-zero stops with that value.  Responses without an
 * href are skipped. */
int dav_multistatus(const char *xml, size_t len, int (*fn)(void *data, const struct dav_member *m),
		    void *data);

/* The lock token (the href in <locktoken>) of a LOCK reply, malloc'd, or
 * NULL when there is none. */
char *dav_lock_token(const char *xml, size_t len);

/* s[0..len) with %XX sequences decoded; malloc'd. */
char *dav_url_decode(const char *s, size_t len);

#endif
