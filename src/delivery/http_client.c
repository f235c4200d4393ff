/*
 * http_client: HTTP(S) requests to the chat platforms over libcurl's multi
 * interface, the only place in herald that includes <curl/curl.h>.
 *
 * One multi handle per client owns the connection cache, so connections to
 * a platform stay alive between requests; finished easy handles go back to
 * a pool (as many as connections) for the next request. A request's URL is
 * checked once per origin. At most MAX_CONNECTIONS connections
 * are open at once (and kept for reuse): transfers beyond that wait in
 * curl's queue, which bounds memory however many destinations are busy.
 *
 * The multi handle is driven with curl_multi_socket_action() on an epoll
 * set: curl says which sockets to watch and when its next timeout is, and
 * a poll only touches the transfers whose sockets are ready, not every
 * running one. An eventfd in the set makes http_client_wakeup() work. Every transfer verifies TLS, speaks
 * only http and https, follows no redirects, caps the answer at
 * HTTP_RESPONSE_MAX and keeps the rate-limit headers. A request libcurl
 * sends again on a fresh connection (a reused one died before answering)
 * is counted: CURLOPT_PREREQFUNCTION runs before every send of it, so more
 * than one call means a re-send. Transport errors are scrubbed of the
 * Authorization header's value before anyone sees them, and URLs in
 * errors lose their password (lib/redact.h).
 */
#include "delivery/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/redact.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_REQUEST_TIMEOUT_MS 15000L
#define POOL_MAX 256		/* one easy handle per connection */
#define MAX_CONNECTIONS 256L
#define EVENTS_MAX 64
#define SECRETS_MAX 4

struct transfer {
	struct http_client *client;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	size_t body_len;
	char *where;		/* "POST https://host/path", no query or
				   password */
	char *secrets[SECRETS_MAX];	/* Authorization values to scrub */
	struct http_response resp;
	int too_large;
	int sends;		/* CURLOPT_PREREQFUNCTION calls */
	http_done_fn done;
	void *arg;
	struct transfer *prev, *next;
	char curl_error[CURL_ERROR_SIZE];
};

struct http_client {
	CURLM *multi;
	struct http_client_options opts;
	char *user_agent;
	struct transfer *running;
	size_t running_nr;
	CURL *pool[POOL_MAX];
	size_t pool_nr;
	int epfd;		/* the sockets curl asked for, and wakefd */
	int wakefd;		/* an eventfd: http_client_wakeup() */
	long timer_ms;		/* curl's timeout; -1: none */
	char *checked;		/* "scheme://host:port/" last let through */
	double timer_set_at;	/* monotonic seconds when it was given */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;

static void global_init(void)
{
	global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_request_init(struct http_request *req, const char *method,
		       const char *url)
{
	memset(req, 0, sizeof(*req));
	req->method = xstrdup(method);
	req->url = xstrdup(url);
}

void http_request_take_body(struct http_request *req, char *body, size_t len)
{
	free(req->body);
	req->body = body;
	req->body_len = len;
}

void http_request_set_body(struct http_request *req, const char *body,
			   size_t len)
{
	free(req->body);
	req->body = xmalloc(len + 1);
	memcpy(req->body, body, len);
	req->body[len] = '\0';
	req->body_len = len;
}

void http_request_add_header(struct http_request *req, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (req->headers_nr >= HTTP_HEADERS_MAX)
		abort();	/* a programming error: the set is fixed */
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	req->headers[req->headers_nr++] = strbuf_detach(&sb, NULL);
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	memset(s, 0, strlen(s));
	free(s);
}

void http_request_release(struct http_request *req)
{
	free(req->method);
	free(req->url);
	for (size_t i = 0; i < req->headers_nr; i++)
		wipe_free(req->headers[i]);
	free(req->body);
	memset(req, 0, sizeof(*req));
}

void http_url_encode(struct strbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			strbuf_addch(out, (char)c);
		} else {
			strbuf_addch(out, '%');
			strbuf_addch(out, hex[c >> 4]);
			strbuf_addch(out, hex[c & 15]);
		}
	}
}

void http_response_init(struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	strbuf_init(&resp->body, HTTP_RESPONSE_MAX);
}

static void clear_rate_headers(struct http_response *resp)
{
	char **fields[] = {
		&resp->retry_after, &resp->ratelimit_remaining,
		&resp->ratelimit_reset_after, &resp->ratelimit_bucket,
		&resp->ratelimit_global, &resp->ratelimit_scope,
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

void http_response_release(struct http_response *resp)
{
	strbuf_release(&resp->body);
	clear_rate_headers(resp);
	memset(resp, 0, sizeof(*resp));
	strbuf_init(&resp->body, HTTP_RESPONSE_MAX);
}

/* CURLMOPT_SOCKETFUNCTION: keeps the epoll set as curl wants it. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
		     void *socketp)
{
	struct http_client *c = arg;
	struct epoll_event ev = { 0 };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	ev.data.fd = fd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: remembers when curl wants to be called. */
static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct http_client *c = arg;

	c->timer_ms = timeout_ms;
	c->timer_set_at = monotonic_now();
	return 0;
}

/* Milliseconds until curl's timeout (0: due), or -1 when it set none. */
static long timer_left(const struct http_client *c)
{
	double left;

	if (c->timer_ms < 0)
		return -1;
	left = (double)c->timer_ms - (monotonic_now() - c->timer_set_at) * 1000;
	return left <= 0 ? 0 : (long)left + 1;
}

/* Runs curl's timeout handling when it is due. */
static void run_timer(struct http_client *c)
{
	int still;

	if (timer_left(c) == 0) {
		c->timer_ms = -1;
		curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still);
	}
}

int http_client_new(struct http_client **out,
		    const struct http_client_options *opts, struct errbuf *err)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct http_client *c;

	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_result != CURLE_OK)
		return errbuf_set(err, HERALD_EIO, "cannot initialise libcurl: %s",
				  curl_easy_strerror(global_result));
	c = xcalloc(1, sizeof(*c));
	if (opts)
		c->opts = *opts;
	if (c->opts.connect_timeout_ms <= 0)
		c->opts.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (c->opts.request_timeout_ms <= 0)
		c->opts.request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	c->user_agent = xstrdup(c->opts.user_agent ? c->opts.user_agent :
				"herald/" HERALD_VERSION);
	c->opts.user_agent = c->user_agent;
	c->timer_ms = -1;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.data.fd = c->wakefd;
	if (c->epfd < 0 || c->wakefd < 0 ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wakefd, &ev)) {
		int e = errno;

		if (c->epfd >= 0)
			close(c->epfd);
		if (c->wakefd >= 0)
			close(c->wakefd);
		free(c->user_agent);
		free(c);
		return errbuf_set(err, HERALD_EIO, "cannot set up the HTTP client's "
				  "event loop: %s", strerror(e));
	}
	c->multi = curl_multi_init();
	if (!c->multi) {
		close(c->epfd);
		close(c->wakefd);
		free(c->user_agent);
		free(c);
		return errbuf_set(err, HERALD_EIO, "cannot initialise libcurl: "
				  "curl_multi_init failed");
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, MAX_CONNECTIONS);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, MAX_CONNECTIONS);
	*out = c;
	return 0;
}

static void transfer_free(struct transfer *t)
{
	for (struct curl_slist *l = t->headers; l; l = l->next)
		memset(l->data, 0, strlen(l->data));	/* the token */
	curl_slist_free_all(t->headers);
	free(t->body);
	free(t->where);
	for (size_t i = 0; i < SECRETS_MAX; i++)
		wipe_free(t->secrets[i]);
	http_response_release(&t->resp);
	free(t);
}

static void unlink_transfer(struct http_client *c, struct transfer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		c->running = t->next;
	if (t->next)
		t->next->prev = t->prev;
	c->running_nr--;
}

/* Returns the easy handle to the pool, or frees it when the pool is full. */
static void release_easy(struct http_client *c, CURL *easy)
{
	if (c->pool_nr < POOL_MAX) {
		curl_easy_reset(easy);
		c->pool[c->pool_nr++] = easy;
	} else {
		curl_easy_cleanup(easy);
	}
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	while (c->running) {
		struct transfer *t = c->running;

		curl_multi_remove_handle(c->multi, t->easy);
		curl_easy_cleanup(t->easy);
		unlink_transfer(c, t);
		transfer_free(t);
	}
	for (size_t i = 0; i < c->pool_nr; i++)
		curl_easy_cleanup(c->pool[i]);
	curl_multi_cleanup(c->multi);
	close(c->epfd);
	close(c->wakefd);
	free(c->user_agent);
	free(c->checked);
	free(c);
}

static int is_loopback_host(const char *host)
{
	unsigned char addr[16];
	char buf[64];
	size_t len = strlen(host);

	if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost."))
		return 1;
	if (inet_pton(AF_INET, host, addr) == 1)
		return addr[0] == 127;
	if (host[0] == '[' && len > 2 && len < sizeof(buf) && host[len - 1] == ']') {
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) == 1)
			return !memcmp(addr, &in6addr_loopback, sizeof(addr));
	}
	return 0;
}

int http_client_check_url(const struct http_client *c, const char *url,
			  struct errbuf *err)
{
	CURLU *u = curl_url();
	struct strbuf shown = STRBUF_INIT;
	char *scheme = NULL, *host = NULL;
	int ret = 0;

	if (!u)
		abort();
	redact(&shown, url, strlen(url), NULL);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		ret = errbuf_set(err, HERALD_EINVAL, "\"%s\" is not a valid URL; "
				 "expected https://host/path", shown.buf);
		goto out;
	}
	if (strcasecmp(scheme, "https") && strcasecmp(scheme, "http")) {
		ret = errbuf_set(err, HERALD_EINVAL, "\"%s\" is not an http:// or "
				 "https:// URL", shown.buf);
		goto out;
	}
	if (!strcasecmp(scheme, "http") && !c->opts.allow_insecure_http &&
	    !is_loopback_host(host))
		ret = errbuf_set(err, HERALD_EINVAL, "\"%s\" uses plain http:// to a "
				 "host that is not loopback, which would send the "
				 "token unencrypted; use https:// (or set "
				 "HERALD_ALLOW_INSECURE_HTTP=1 for a trusted proxy)",
				 shown.buf);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	strbuf_release(&shown);
	return ret;
}

static int on_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip,
		     int conn_primary_port, int conn_local_port)
{
	struct transfer *t = arg;

	t->sends++;
	return CURL_PREREQFUNC_OK;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	if (strbuf_add(&t->resp.body, data, n) < 0) {
		t->too_large = 1;
		return 0;	/* aborts the transfer */
	}
	return n;
}

static void trim_view(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && strchr(" \t\r\n", (*s)[*len - 1]))
		(*len)--;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	static const struct {
		const char *name;
		size_t offset;
	} kept[] = {
		{ "retry-after", offsetof(struct http_response, retry_after) },
		{ "x-ratelimit-remaining",
		  offsetof(struct http_response, ratelimit_remaining) },
		{ "x-ratelimit-reset-after",
		  offsetof(struct http_response, ratelimit_reset_after) },
		{ "x-ratelimit-bucket",
		  offsetof(struct http_response, ratelimit_bucket) },
		{ "x-ratelimit-global",
		  offsetof(struct http_response, ratelimit_global) },
		{ "x-ratelimit-scope",
		  offsetof(struct http_response, ratelimit_scope) },
	};
	struct transfer *t = arg;
	size_t n = size * nmemb, name_len, value_len;
	const char *colon, *value;

	/* A new header block (after 1xx): forget what the last one said. */
	if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
		clear_rate_headers(&t->resp);
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon)
		return n;
	name_len = (size_t)(colon - data);
	value = colon + 1;
	value_len = n - name_len - 1;
	trim_view(&value, &value_len);
	if (value_len > 256)
		return n;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		char **field = (char **)((char *)&t->resp + kept[i].offset);

		if (strlen(kept[i].name) != name_len ||
		    strncasecmp(kept[i].name, data, name_len))
			continue;
		free(*field);
		*field = xstrndup(value, value_len);
		break;
	}
	return n;
}

/* Redacts every secret of the request (and any URL password) in s. */
static void scrub(char *s, size_t size, char *const *secrets)
{
	redact_inplace(s, size, NULL);
	for (size_t i = 0; i < SECRETS_MAX && secrets[i]; i++)
		redact_inplace(s, size, secrets[i]);
}

/* Remembers the value of an Authorization header (and its credential). */
static void note_secret(struct transfer *t, const char *line)
{
	const char *v = strchr(line, ':');
	const char *space;
	size_t n = 0;

	if (!v)
		return;
	for (v++; *v == ' '; v++)
		;
	while (n < SECRETS_MAX && t->secrets[n])
		n++;
	if (n < SECRETS_MAX && *v)
		t->secrets[n++] = xstrdup(v);
	space = strchr(v, ' ');
	if (n < SECRETS_MAX && space && space[1])
		t->secrets[n] = xstrdup(space + 1);
}

static void set_where(struct transfer *t, const char *method, const char *url)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, method);
	strbuf_addch(&sb, ' ');
	redact(&sb, url, strcspn(url, "?#"), NULL);
	t->where = strbuf_detach(&sb, NULL);
}

static void add_header(struct transfer *t, const char *line)
{
	struct curl_slist *l = curl_slist_append(t->headers, line);

	if (!l)
		abort();	/* out of memory */
	t->headers = l;
}

static CURL *get_easy(struct http_client *c)
{
	if (c->pool_nr)
		return c->pool[--c->pool_nr];
	return curl_easy_init();
}

static int setup(struct http_client *c, struct transfer *t,
		 const struct http_request *req, struct errbuf *err)
{
	CURL *e = t->easy;
	const char *method = req->method ? req->method : "GET";
	long timeout = req->timeout_ms > 0 &&
		       req->timeout_ms < c->opts.request_timeout_ms ?
		       req->timeout_ms : c->opts.request_timeout_ms;
	CURLcode rc = CURLE_OK;

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, timeout);
	SET(CURLOPT_USERAGENT, c->user_agent);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_PREREQFUNCTION, on_prereq);
	SET(CURLOPT_PREREQDATA, t);
	SET(CURLOPT_HEADERDATA, t);
	SET(CURLOPT_ERRORBUFFER, t->curl_error);
	SET(CURLOPT_PRIVATE, t);
	if (!strcmp(method, "GET")) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		if (!strcmp(method, "POST"))
			SET(CURLOPT_POST, 1L);
		else
			SET(CURLOPT_CUSTOMREQUEST, method);
		if (t->body || !strcmp(method, "POST")) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
			SET(CURLOPT_POSTFIELDS, t->body ? t->body : "");
		}
	}
	SET(CURLOPT_HTTPHEADER, t->headers);
#undef SET
	if (rc != CURLE_OK)
		return errbuf_set(err, HERALD_EIO, "%s: cannot set up the request: %s",
				  t->where, curl_easy_strerror(rc));
	return 0;
}

/* The "scheme://authority/" part of url, or 0 when it has none. */
static size_t origin_len(const char *url)
{
	const char *p = strstr(url, "://"), *slash;

	if (!p)
		return 0;
	slash = strchr(p + 3, '/');
	return slash ? (size_t)(slash - url) + 1 : 0;
}

/*
 * http_client_check_url(), once per origin: the requests of a provider all
 * go to one, and parsing each URL again costs more than the rest of a
 * submit.
 */
static int check_origin(struct http_client *c, const char *url,
			struct errbuf *err)
{
	size_t n = origin_len(url);
	int ret;

	if (n && c->checked && strlen(c->checked) == n &&
	    !strncmp(url, c->checked, n))
		return 0;
	ret = http_client_check_url(c, url, err);
	if (!ret && n) {
		free(c->checked);
		c->checked = xstrndup(url, n);
	}
	return ret;
}

int http_client_submit(struct http_client *c, const struct http_request *req,
		       http_done_fn done, void *arg, struct errbuf *err)
{
	struct transfer *t;
	int ret;

	if (!req->url)
		return errbuf_set(err, HERALD_EINVAL, "a request without a URL");
	ret = check_origin(c, req->url, err);
	if (ret)
		return ret;
	t = xcalloc(1, sizeof(*t));
	t->client = c;
	t->done = done;
	t->arg = arg;
	http_response_init(&t->resp);
	set_where(t, req->method ? req->method : "GET", req->url);
	for (size_t i = 0; i < req->headers_nr; i++) {
		add_header(t, req->headers[i]);
		if (!strncasecmp(req->headers[i], "Authorization:", 14))
			note_secret(t, req->headers[i]);
	}
	/* No "Expect: 100-continue" round trip for small JSON bodies. */
	add_header(t, "Expect:");
	if (req->body) {
		t->body = xmalloc(req->body_len + 1);
		memcpy(t->body, req->body, req->body_len);
		t->body[req->body_len] = '\0';
		t->body_len = req->body_len;
	}
	t->easy = get_easy(c);
	if (!t->easy) {
		ret = errbuf_set(err, HERALD_EIO, "%s: curl_easy_init failed",
				 t->where);
		goto fail;
	}
	ret = setup(c, t, req, err);
	if (ret)
		goto fail;
	if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK) {
		ret = errbuf_set(err, HERALD_EIO, "%s: cannot start the transfer",
				 t->where);
		goto fail;
	}
	t->next = c->running;
	if (c->running)
		c->running->prev = t;
	c->running = t;
	c->running_nr++;
	return 0;
fail:
	if (t->easy)
		curl_easy_cleanup(t->easy);
	transfer_free(t);
	return ret;
}

/* Writes the transport error, cut to fit. */
static void set_error(struct http_response *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct http_response *resp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(resp->error, sizeof(resp->error), fmt, ap);
	va_end(ap);
}

static enum http_transport transport_of(CURLcode rc, int too_large)
{
	switch (rc) {
	case CURLE_OK:
		return HTTP_OK;
	case CURLE_WRITE_ERROR:
		return too_large ? HTTP_ERR_TOO_LARGE : HTTP_ERR_OTHER;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ERR_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return HTTP_ERR_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return HTTP_ERR_TLS;
	default:
		return HTTP_ERR_OTHER;
	}
}

static void finish(struct http_client *c, struct transfer *t, CURLcode rc)
{
	struct http_response *resp = &t->resp;
	double total = 0;

	curl_multi_remove_handle(c->multi, t->easy);
	unlink_transfer(c, t);
	resp->transport = transport_of(rc, t->too_large);
	if (resp->transport == HTTP_OK) {
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	} else if (resp->transport == HTTP_ERR_TOO_LARGE) {
		set_error(resp, "%s: the answer is larger than %u bytes",
			  t->where, HTTP_RESPONSE_MAX);
	} else {
		set_error(resp, "%s: %s", t->where,
			  t->curl_error[0] ? t->curl_error : curl_easy_strerror(rc));
		scrub(resp->error, sizeof(resp->error), t->secrets);
	}
	if (resp->transport != HTTP_OK)
		strbuf_reset(&resp->body);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &total);
	resp->elapsed_s = total;
	resp->resent = t->sends > 1 ? t->sends - 1 : 0;
	release_easy(c, t->easy);
	t->easy = NULL;
	if (t->done)
		t->done(t->arg, resp);
	transfer_free(t);
}

/* Completes the finished transfers; returns how many there were. */
static int reap(struct http_client *c)
{
	CURLMsg *msg;
	int left, n = 0;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct transfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (!t)
			continue;
		finish(c, t, msg->data.result);
		n++;
	}
	return n;
}

int http_client_poll(struct http_client *c, int max_wait_ms)
{
	struct epoll_event evs[EVENTS_MAX];
	long wait = max_wait_ms < 0 ? 0 : max_wait_ms, left;
	int n, still;

	run_timer(c);
	if (reap(c))
		return (int)c->running_nr;
	left = timer_left(c);
	if (left >= 0 && left < wait)
		wait = left;
	n = epoll_wait(c->epfd, evs, EVENTS_MAX, (int)wait);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd, mask = 0;

		if (fd == c->wakefd) {
			uint64_t v;
			/* Resets the counter; EAGAIN: nothing to reset. */
			ssize_t r = read(c->wakefd, &v, sizeof(v));

			(void)r;
			continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLHUP))
			mask |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (evs[i].events & EPOLLERR)
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(c->multi, fd, mask, &still);
	}
	run_timer(c);
	reap(c);
	return (int)c->running_nr;
}

void http_client_wakeup(struct http_client *c)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is full, so a wakeup is pending anyway. */
	if (write(c->wakefd, &one, sizeof(one)) < 0)
		return;
}

size_t http_client_running(const struct http_client *c)
{
	return c->running_nr;
}

struct perform_state {
	struct http_response *out;
	int done;
};

static void perform_done(void *arg, struct http_response *resp)
{
	struct perform_state *st = arg;

	*st->out = *resp;	/* move: the transfer's copy is left empty */
	http_response_init(resp);
	st->done = 1;
}

int http_client_perform(struct http_client *c, const struct http_request *req,
			struct http_response *resp, struct errbuf *err)
{
	struct perform_state st = { resp, 0 };
	struct errbuf local;
	int ret;

	if (!err)
		err = &local;
	http_response_init(resp);
	ret = http_client_submit(c, req, perform_done, &st, err);
	if (ret) {
		resp->transport = HTTP_ERR_OTHER;
		set_error(resp, "%s", err->msg);
		return ret;
	}
	while (!st.done)
		http_client_poll(c, 1000);
	return 0;
}
