/*
 * api_page: serves the delivery page's embedded files (api_page_files[],
 * generated from src/daemon/page/ by page/embed.py) with their security
 * headers. Everything the page shows comes from /api/v1/ and /readyz,
 * fetched by its script; nothing here reads the store.
 */
#include <string.h>

#include "daemon/api_page.h"
#include "daemon/api_internal.h"
#include "lib/strbuf.h"

const struct api_page_file *api_page_find(const char *path)
{
	if (!path)
		return NULL;
	for (size_t i = 0; i < api_page_files_nr; i++) {
		if (!strcmp(api_page_files[i].path, path))
			return &api_page_files[i];
	}
	return NULL;
}

void api_page_handle(struct api_context *ctx, const struct httpd_request *req,
		     int64_t id, struct httpd_response *resp)
{
	const struct api_page_file *f = api_page_find(req->path);
	char *body;

	if (!f) {
		api__reply_error(resp, 404, NULL, "no such file of the page: "
				 "%.200s", req->path ? req->path : "");
		return;
	}
	body = xmalloc(f->len + 1);
	memcpy(body, f->data, f->len + 1);
	httpd_response_set(resp, 200, f->content_type, body, f->len);
	httpd_response_add_header(resp, "Content-Security-Policy",
				  API_PAGE_CSP);
	httpd_response_add_header(resp, "X-Content-Type-Options", "nosniff");
	httpd_response_add_header(resp, "Referrer-Policy", "no-referrer");
	httpd_response_add_header(resp, "Cache-Control", "no-cache");
}
