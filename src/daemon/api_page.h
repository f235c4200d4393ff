/*
 * api_page: the delivery page herald serve shows at "/": one HTML file,
 * its script (/app.js) and its style sheet (/app.css), kept in
 * src/daemon/page/ and embedded in the binary at build time
 * (page/embed.py writes api_page_files[]). The page holds no data: its
 * script reads the delivery log through /api/v1/ with the API's bearer
 * token, so the files themselves need none. Each answer carries a strict
 * Content-Security-Policy (no inline script or style, requests to this
 * origin only), nosniff, no referrer and no-cache. docs/page.md
 * describes the page.
 */
#ifndef HERALD_API_PAGE_H
#define HERALD_API_PAGE_H

#include <stddef.h>

#include "daemon/api.h"

/* The Content-Security-Policy of every file of the page. */
#define API_PAGE_CSP "default-src 'none'; script-src 'self'; " \
	"style-src 'self'; connect-src 'self'; img-src 'self'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* One file of the page, as embedded. */
struct api_page_file {
	const char *path;		/* where it is served: "/", "/app.js" */
	const char *content_type;	/* with its charset */
	const unsigned char *data;	/* NUL-terminated */
	size_t len;			/* without the NUL */
};

/* The generated table (page/embed.py). */
extern const struct api_page_file api_page_files[];
extern const size_t api_page_files_nr;

/* The file served at path, or NULL. */
const struct api_page_file *api_page_find(const char *path);

/*
 * The handler of GET / and of the page's files: 200 with the file at
 * req->path and the page's security headers (404 when there is none,
 * which api_endpoints[] never lets happen).
 */
void api_page_handle(struct api_context *ctx, const struct httpd_request *req,
		     int64_t id, struct httpd_response *resp);

#endif
