/*
 * httpd: the daemon's HTTP server, a thin layer over libmicrohttpd.
 *
 * httpd.c is the only file that includes <microhttpd.h>. It accepts
 * connections, reads a request with its body (up to a cap, and within
 * deadlines for the head and the body), and hands a plain struct
 * httpd_request to one handler function, on a pool of handler threads,
 * which fills a struct httpd_response. Handlers therefore never see the
 * library and can be tested by building requests by hand.
 */
#ifndef HERALD_HTTPD_H
#define HERALD_HTTPD_H

#include <stddef.h>

#include "lib/errbuf.h"

#define HTTPD_MAX_BODY (1024u * 1024)
#define HTTPD_MAX_HEADERS 8

/* A request header or query parameter; the strings belong to httpd. */
struct httpd_kv {
	const char *name;
	const char *value;
};

/* A response header; owned by the response. */
struct httpd_header {
	char *name;
	char *value;
};

/*
 * A complete request. All pointers stay valid for the handler call only.
 * body is NUL-terminated (body[body_len] == '\0'); body_too_large is set
 * when the body was over the server's cap, in which case body is empty and
 * the rest of it was not read.
 */
struct httpd_request {
	const char *method;		/* "GET", "POST", … */
	const char *path;		/* decoded, without the query string */
	const struct httpd_kv *headers;
	size_t headers_nr;
	const struct httpd_kv *query;	/* decoded query parameters */
	size_t query_nr;
	const char *body;
	size_t body_len;
	int body_too_large;
	const char *remote;		/* the peer's address, or "" */
};

/* The first header called name (case-insensitive), or NULL. */
const char *httpd_request_header(const struct httpd_request *req,
				 const char *name);
/* The first query parameter called name, or NULL. */
const char *httpd_request_query(const struct httpd_request *req,
				const char *name);

/* What the handler answers. The response owns its body and headers. */
struct httpd_response {
	int status;
	const char *content_type;	/* a static string */
	char *body;			/* malloc'ed, or NULL */
	size_t body_len;
	struct httpd_header headers[HTTPD_MAX_HEADERS];
	size_t headers_nr;
};

void httpd_response_init(struct httpd_response *resp);
/* Sets status, content type and body (taking ownership of body). */
void httpd_response_set(struct httpd_response *resp, int status,
			const char *content_type, char *body, size_t body_len);
/* Adds an extra header (copied); past HTTPD_MAX_HEADERS it is dropped. */
void httpd_response_add_header(struct httpd_response *resp, const char *name,
			       const char *value);
const char *httpd_response_header(const struct httpd_response *resp,
				  const char *name);
void httpd_response_release(struct httpd_response *resp);

/*
 * Called on a server thread, several at once: arg is what httpd_start()
 * was given. resp arrives initialized; a handler that leaves status at 0
 * produces a 500.
 */
typedef void httpd_handler_fn(void *arg, const struct httpd_request *req,
			      struct httpd_response *resp);

struct httpd_options {
	const char *listen;		/* "host:port", "[::1]:port"; port 0: any */
	size_t max_body;		/* 0: HTTPD_MAX_BODY */
	/*
	 * The cap for one path (without the query), when it differs by
	 * path; NULL: max_body for all. Decided from Content-Length before
	 * any of the body is read.
	 */
	size_t (*max_body_for)(const char *path);
	unsigned threads;		/* handler threads at most; 0: 64 */
	unsigned io_threads;		/* polling threads; 0: 2 */
	/*
	 * Open connections at most; 0: 4096. The soft limit on open files
	 * is raised to fit, as far as the hard limit allows.
	 */
	unsigned connection_limit;
	unsigned per_ip_limit;		/* from one address; 0: 256 */
	unsigned timeout_s;		/* idle connection timeout; 0: 10 */
	/*
	 * Deadlines: for a request head from the connection's opening (or
	 * the previous answer), and for the body from the head; 0: 10 and
	 * 60 s.
	 */
	double header_timeout_s, body_timeout_s;
};

struct httpd;

/*
 * Binds and starts serving. Returns 0, or HERALD_EINVAL for a bad listen
 * address and HERALD_EIO when it cannot be bound, with err saying which
 * address and why.
 */
int httpd_start(struct httpd **out, const struct httpd_options *opt,
		httpd_handler_fn *handler, void *arg, struct errbuf *err);
/* The port actually bound (useful with port 0). */
int httpd_port(const struct httpd *h);
/*
 * Stops accepting connections; requests on open connections are still
 * answered. Safe to call more than once.
 */
void httpd_quiesce(struct httpd *h);
/* Stops serving (after the running handlers return) and frees h. */
void httpd_stop(struct httpd *h);
/* The connections open now. */
size_t httpd_connections(struct httpd *h);

/*
 * Whether every address listen ("host:port") stands for is a loopback
 * address (127.0.0.0/8, ::1). Returns 0 and sets *loopback, or
 * HERALD_EINVAL when listen is malformed or the host does not resolve.
 */
int httpd_listen_is_loopback(const char *listen, int *loopback,
			     struct errbuf *err);

#endif
