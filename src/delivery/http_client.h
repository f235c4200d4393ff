/*
 * http_client: HTTPS requests to the chat platforms, over libcurl's multi
 * interface. The only file that includes <curl/curl.h> is http_client.c.
 *
 * A client keeps connections alive between requests. Requests are either
 * run to completion (http_client_perform, for the one-shot commands) or
 * submitted and driven by http_client_poll() with a completion callback, so
 * the daemon runs many transfers at once on one thread.
 *
 * TLS verification is always on. Plain http:// is refused unless the host is
 * a loopback address or allow_insecure_http is set, so a token never crosses
 * a network unencrypted by accident.
 */
#ifndef HERALD_HTTP_CLIENT_H
#define HERALD_HTTP_CLIENT_H

#include <stddef.h>

#include "lib/errbuf.h"
#include "lib/strbuf.h"

#define HTTP_RESPONSE_MAX (1024u * 1024)
#define HTTP_HEADERS_MAX 32

struct http_client_options {
	long connect_timeout_ms;	/* 0: 5000 */
	long request_timeout_ms;	/* 0: 15000 */
	int allow_insecure_http;
	const char *user_agent;		/* NULL: "herald/<version>" */
};

/* A request; every field is owned by the request (http_request_release). */
struct http_request {
	char *method;		/* "GET", "POST", "PATCH" */
	char *url;
	char *headers[HTTP_HEADERS_MAX];	/* "Name: value" lines */
	size_t headers_nr;
	char *body;		/* NULL for none */
	size_t body_len;
	long timeout_ms;	/* whole request, at most the client's
				   request_timeout_ms; 0: that default */
};

/* Zeroes req and sets its method and URL (copied). */
void http_request_init(struct http_request *req, const char *method,
		       const char *url);
/* Sets the body to body[0..len), which the request takes (and frees). */
void http_request_take_body(struct http_request *req, char *body, size_t len);
/* Sets the body (copied); a request with a body needs a Content-Type. */
void http_request_set_body(struct http_request *req, const char *body,
			   size_t len);

/*
 * Appends s percent-encoded for a query string or path segment: everything
 * but A-Z a-z 0-9 - . _ ~ becomes %XX.
 */
void http_url_encode(struct strbuf *out, const char *s);

/*
 * Adds a header line. Headers that carry secrets (Authorization) are never
 * logged or copied into errors by this module.
 */
void http_request_add_header(struct http_request *req, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void http_request_release(struct http_request *req);

enum http_transport {
	HTTP_OK,		/* an HTTP answer arrived (any status) */
	HTTP_ERR_CONNECT,	/* could not connect / resolve */
	HTTP_ERR_TIMEOUT,
	HTTP_ERR_TOO_LARGE,	/* body over HTTP_RESPONSE_MAX */
	HTTP_ERR_TLS,
	HTTP_ERR_OTHER,		/* dropped connection, protocol error */
};

/* Response headers kept: those the platforms use for rate limiting. */
struct http_response {
	enum http_transport transport;
	long status;			/* 0 unless transport == HTTP_OK */
	struct strbuf body;
	char *retry_after;		/* "Retry-After" or NULL */
	char *ratelimit_remaining;	/* X-RateLimit-Remaining */
	char *ratelimit_reset_after;	/* X-RateLimit-Reset-After */
	char *ratelimit_bucket;		/* X-RateLimit-Bucket */
	char *ratelimit_global;		/* X-RateLimit-Global */
	char *ratelimit_scope;		/* X-RateLimit-Scope */
	char error[256];		/* transport error detail (no secrets) */
	double elapsed_s;
	/*
	 * How many times libcurl sent the request again, on a new
	 * connection, because the kept-alive one it reused closed before
	 * any answer (0 nearly always). The first send may have reached
	 * the platform: a POST sent again may be posted twice.
	 */
	int resent;
};

void http_response_init(struct http_response *resp);
void http_response_release(struct http_response *resp);

struct http_client;

int http_client_new(struct http_client **out,
		    const struct http_client_options *opts, struct errbuf *err);
void http_client_free(struct http_client *c);

/*
 * Checks that url may be used given the options: http(s) only, http only to
 * loopback unless allowed. Errors name the variable-free problem; the caller
 * adds which setting the URL came from.
 */
int http_client_check_url(const struct http_client *c, const char *url,
			  struct errbuf *err);

/*
 * Runs req to completion and fills resp (initialized by this call, so it
 * always needs http_response_release()). Returns 0 when resp holds the
 * outcome, an answer or a transport error (check resp->transport), or a
 * negative code with err set when the request could not be made at all (a
 * URL http_client_check_url() refuses); resp->transport is then
 * HTTP_ERR_OTHER with the same text in resp->error.
 */
int http_client_perform(struct http_client *c, const struct http_request *req,
			struct http_response *resp, struct errbuf *err);

/*
 * Asynchronous use. submit copies req; done is called from
 * http_client_poll() with the finished response, which is released after
 * done returns.
 */
typedef void (*http_done_fn)(void *arg, struct http_response *resp);
int http_client_submit(struct http_client *c, const struct http_request *req,
		       http_done_fn done, void *arg, struct errbuf *err);
/*
 * Drives transfers, waiting up to max_wait_ms for activity (or for
 * http_client_wakeup from another thread). Returns the number of transfers
 * still running.
 */
int http_client_poll(struct http_client *c, int max_wait_ms);
/* Makes a concurrent http_client_poll() return early. Thread-safe. */
void http_client_wakeup(struct http_client *c);
size_t http_client_running(const struct http_client *c);

#endif
