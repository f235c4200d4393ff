/*
 * httpd: libmicrohttpd behind a request → response function.
 *
 * herald binds the listen socket itself (so an error names the address,
 * and port 0 reports the port it got) and hands it to microhttpd, which
 * reads requests on a few polling threads (epoll). A complete request is
 * handed to a pool of handler threads (grown on demand up to
 * options.threads) and its connection suspended meanwhile: a handler may
 * block, e.g. on the store's group commit, without holding up any other
 * connection, and the requests of different connections then share one
 * commit; an open connection costs no thread, only its buffers.
 *
 * Bodies are collected into a capped strbuf that grows as data arrives.
 * A Content-Length over the cap is answered (413, by the handler) before a
 * byte of the body is read; a chunked body that outgrows the cap is
 * discarded up to DISCARD_MAX and the connection dropped beyond that.
 *
 * Deadlines, against clients that hold connections (slowloris): a request
 * head must arrive within HEADER_TIMEOUT_S of the connection opening (or
 * of the previous answer, on a kept-alive connection), and its body within
 * BODY_TIMEOUT_S of the head (both options); microhttpd's own timeout only counts
 * inactivity, so one byte every few seconds would keep a connection
 * forever. The watchdog thread checks every WATCHDOG_S and shuts such
 * connections down. When the connections reach 7/8 of the limit, it also
 * closes the ones that have waited longest for a request head (idle and
 * slow ones) until 3/4 remain, so a burst of idle connections cannot lock
 * out a client with a request to make. A connection running its handler
 * is never closed by either.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/httpd.h"
#include "daemon/log.h"
#include "lib/clock.h"
#include "lib/strbuf.h"

#define DISCARD_MAX (16u * 1024 * 1024)
/* Touched pages only count; JSON nesting is capped before parsing. */
#define THREAD_STACK_SIZE (1024u * 1024)
#define HEADER_TIMEOUT_S 10.0
#define BODY_TIMEOUT_S 60.0
/* How often the watchdog looks; at most a fifth of the deadlines. */
#define WATCHDOG_S 0.5
#define DEFAULT_WORKERS 64
#define DEFAULT_CONNECTION_LIMIT 4096
#define DEFAULT_PER_IP_LIMIT 256
/* Files the process keeps for itself besides connections. */
#define RESERVED_FDS 64
/* microhttpd's buffer per connection: request heads are bounded by it. */
#define CONNECTION_MEMORY (16u * 1024)

/* Where a connection is, for the deadlines. */
enum sock_phase {
	SOCK_HEAD,		/* waiting for (the rest of) a request head */
	SOCK_BODY,		/* reading a body */
	SOCK_BUSY,		/* in the handler, or sending the answer */
};

/* An open connection (microhttpd's socket context), on h->socks. */
struct sock {
	struct sock *prev, *next;	/* oldest phase change first */
	int fd;
	enum sock_phase phase;
	double since;			/* when the phase began */
	int closing;			/* shut down by the watchdog */
};

struct httpd {
	struct MHD_Daemon *daemon;
	httpd_handler_fn *handler;
	void *arg;
	size_t max_body;
	size_t (*max_body_for)(const char *path);
	int port;
	pthread_mutex_t lock;		/* quiesced and the warnings */
	int quiesced;
	double warn_since;
	long warns, warns_suppressed;

	/* The open connections and the watchdog (under socks_lock). */
	pthread_mutex_t socks_lock;
	pthread_cond_t socks_cond;
	struct sock *oldest, *newest;
	size_t socks_nr, socks_closing;
	size_t limit;
	double header_timeout, body_timeout, watch_every;
	int stopping;
	pthread_t watchdog;
	int watchdog_started;

	/* The handler threads and their queue (under jobs_lock). */
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	struct conn *jobs, **jobs_tail;
	pthread_t *workers;
	unsigned workers_nr, workers_max, workers_idle;
	int workers_quit;
};

/* Per-request state, from the first call of the access handler on. */
struct conn {
	struct strbuf body;
	size_t discarded;
	int too_large;
	int answered;			/* resp holds the handler's answer */
	struct MHD_Connection *mc;
	const char *url, *method;	/* microhttpd's, valid for the request */
	struct httpd_response resp;
	struct conn *next_job;
};

const char *httpd_request_header(const struct httpd_request *req,
				 const char *name)
{
	for (size_t i = 0; i < req->headers_nr; i++) {
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	}
	return NULL;
}

const char *httpd_request_query(const struct httpd_request *req,
				const char *name)
{
	for (size_t i = 0; i < req->query_nr; i++) {
		if (!strcmp(req->query[i].name, name))
			return req->query[i].value;
	}
	return NULL;
}

void httpd_response_init(struct httpd_response *resp)
{
	memset(resp, 0, sizeof(*resp));
}

void httpd_response_set(struct httpd_response *resp, int status,
			const char *content_type, char *body, size_t body_len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = content_type;
	resp->body = body;
	resp->body_len = body ? body_len : 0;
}

void httpd_response_add_header(struct httpd_response *resp, const char *name,
			       const char *value)
{
	struct httpd_header *h;

	if (resp->headers_nr == HTTPD_MAX_HEADERS)
		return;
	h = &resp->headers[resp->headers_nr++];
	h->name = xstrdup(name);
	h->value = xstrdup(value);
}

const char *httpd_response_header(const struct httpd_response *resp,
				  const char *name)
{
	for (size_t i = 0; i < resp->headers_nr; i++) {
		if (!strcasecmp(resp->headers[i].name, name))
			return resp->headers[i].value;
	}
	return NULL;
}

void httpd_response_release(struct httpd_response *resp)
{
	free(resp->body);
	for (size_t i = 0; i < resp->headers_nr; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	memset(resp, 0, sizeof(*resp));
}

/*
 * Splits "host:port" or "[v6]:port" into host and port (strings into
 * host_buf and port_buf).
 */
static int split_listen(const char *where, char *host, size_t host_size,
			char *port, size_t port_size, struct errbuf *err)
{
	const char *colon, *h = where, *he;
	long n;

	if (!where || !*where)
		return errbuf_set(err, HERALD_EINVAL, "HERALD_LISTEN is empty: "
				  "use host:port, e.g. 127.0.0.1:8080");
	if (*where == '[') {
		he = strchr(where, ']');
		if (!he || he[1] != ':')
			return errbuf_set(err, HERALD_EINVAL, "HERALD_LISTEN \"%s\" "
					  "is not [address]:port, e.g. [::1]:8080",
					  where);
		h = where + 1;
		colon = he + 1;
	} else {
		colon = strrchr(where, ':');
		if (!colon)
			return errbuf_set(err, HERALD_EINVAL, "HERALD_LISTEN \"%s\" "
					  "has no port: use host:port, e.g. "
					  "127.0.0.1:8080", where);
		he = colon;
	}
	if (he == h || (size_t)(he - h) >= host_size)
		return errbuf_set(err, HERALD_EINVAL, "HERALD_LISTEN \"%s\" has no "
				  "usable host: use host:port, e.g. 127.0.0.1:8080",
				  where);
	if (parse_long(colon + 1, 0, 65535, &n) ||
	    strlen(colon + 1) >= port_size)
		return errbuf_set(err, HERALD_EINVAL, "HERALD_LISTEN \"%s\" has a "
				  "bad port: use a port from 0 to 65535", where);
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	snprintf(port, port_size, "%ld", n);
	return 0;
}

static int resolve(const char *where, struct addrinfo **res,
		   struct errbuf *err)
{
	char host[256], port[8];
	struct addrinfo hints;
	int rc;

	if (split_listen(where, host, sizeof(host), port, sizeof(port), err))
		return HERALD_EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, res);
	if (rc)
		return errbuf_set(err, HERALD_EINVAL, "HERALD_LISTEN \"%s\": cannot "
				  "resolve \"%s\": %s", where, host,
				  gai_strerror(rc));
	return 0;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const unsigned char *b = in6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 1;
		/* ::ffff:127.x.y.z */
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
	}
	return 0;
}

int httpd_listen_is_loopback(const char *where, int *loopback,
			     struct errbuf *err)
{
	struct addrinfo *res = NULL;
	int all = 1;

	if (resolve(where, &res, err))
		return HERALD_EINVAL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (!is_loopback(ai->ai_addr))
			all = 0;
	}
	freeaddrinfo(res);
	*loopback = all;
	return 0;
}

static int bind_socket(const char *where, int *fd_out, int *port_out,
		       int *v6_out, struct errbuf *err)
{
	struct addrinfo *res = NULL;
	int fd = -1, saved = 0, ret;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	ret = resolve(where, &res, err);
	if (ret)
		goto out;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 128))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		ret = errbuf_set(err, HERALD_EIO, "cannot listen on %s: %s%s",
				 where, strerror(saved), saved == EADDRINUSE ?
				 ": another process has that port; stop it, or "
				 "pick another port (HERALD_LISTEN or --listen)" :
				 "");
		goto out;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len)) {
		ret = errbuf_set(err, HERALD_EIO, "HERALD_LISTEN \"%s\": %s",
				 where, strerror(errno));
		close(fd);
		goto out;
	}
	if (ss.ss_family == AF_INET6) {
		*port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		*v6_out = 1;
	} else {
		*port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		*v6_out = 0;
	}
	*fd_out = fd;
out:
	if (res)
		freeaddrinfo(res);
	return ret;
}

struct kv_vec {
	struct httpd_kv *items;
	size_t nr;
	size_t alloc;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind,
			       const char *key, const char *value)
{
	struct kv_vec *v = cls;

	if (v->nr == v->alloc)
		return MHD_NO;
	v->items[v->nr].name = key ? key : "";
	v->items[v->nr].value = value ? value : "";
	v->nr++;
	return MHD_YES;
}

static void collect_all(struct MHD_Connection *c, enum MHD_ValueKind kind,
			struct kv_vec *v)
{
	int n = MHD_get_connection_values(c, kind, NULL, NULL);

	v->alloc = n > 0 ? (size_t)n : 0;
	v->items = xcalloc(v->alloc ? v->alloc : 1, sizeof(*v->items));
	v->nr = 0;
	if (v->alloc)
		MHD_get_connection_values(c, kind, collect, v);
}

static void peer_address(struct MHD_Connection *c, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *info;
	const struct sockaddr *sa;

	buf[0] = '\0';
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!info || !info->client_addr)
		return;
	sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  buf, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
			  buf, (socklen_t)size);
}

static const char internal_error[] =
	"{\"error\": \"internal error: the request handler gave no answer\"}\n";

/* ---- connections and deadlines --------------------------------------- */

static struct sock *sock_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

static void sock_unlink(struct httpd *h, struct sock *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		h->oldest = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		h->newest = k->prev;
	k->prev = k->next = NULL;
}

static void sock_append(struct httpd *h, struct sock *k)
{
	k->prev = h->newest;
	k->next = NULL;
	if (h->newest)
		h->newest->next = k;
	else
		h->oldest = k;
	h->newest = k;
}

/* Moves the connection to phase, as its newest change. */
static void sock_phase(struct httpd *h, struct MHD_Connection *c,
		       enum sock_phase phase)
{
	struct sock *k = sock_of(c);

	if (!k)
		return;
	pthread_mutex_lock(&h->socks_lock);
	k->phase = phase;
	k->since = monotonic_now();
	sock_unlink(h, k);
	sock_append(h, k);
	pthread_mutex_unlock(&h->socks_lock);
}

static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;
	struct sock *k = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(c,
				MHD_CONNECTION_INFO_CONNECTION_FD);

		k = xcalloc(1, sizeof(*k));
		k->fd = info ? info->connect_fd : -1;
		k->phase = SOCK_HEAD;
		k->since = monotonic_now();
		pthread_mutex_lock(&h->socks_lock);
		sock_append(h, k);
		h->socks_nr++;
		pthread_mutex_unlock(&h->socks_lock);
		*socket_context = k;
		return;
	}
	if (!k)
		return;
	/* microhttpd closes the socket after this returns. */
	pthread_mutex_lock(&h->socks_lock);
	sock_unlink(h, k);
	h->socks_nr--;
	if (k->closing)
		h->socks_closing--;
	pthread_mutex_unlock(&h->socks_lock);
	free(k);
	*socket_context = NULL;
}

/* With socks_lock held: makes microhttpd close k's connection soon. */
static void sock_close(struct httpd *h, struct sock *k)
{
	if (k->closing || k->fd < 0)
		return;
	shutdown(k->fd, SHUT_RDWR);
	k->closing = 1;
	h->socks_closing++;
}

/* One round of the watchdog, with socks_lock held. */
static void watch(struct httpd *h, double now)
{
	size_t high = h->limit - h->limit / 8, low = h->limit - h->limit / 4;
	size_t late = 0, evicted = 0;

	for (struct sock *k = h->oldest; k; k = k->next) {
		if (k->closing || k->phase == SOCK_BUSY)
			continue;
		if (now - k->since > (k->phase == SOCK_HEAD ? h->header_timeout :
				      h->body_timeout)) {
			sock_close(h, k);
			late++;
		}
	}
	if (h->socks_nr - h->socks_closing >= high) {
		for (struct sock *k = h->oldest;
		     k && h->socks_nr - h->socks_closing > low; k = k->next) {
			if (!k->closing && k->phase == SOCK_HEAD) {
				sock_close(h, k);
				evicted++;
			}
		}
	}
	if (late || evicted) {
		struct log_line l;

		log_begin(&l, LOG_DEBUG, "connections closed");
		log_int(&l, "past_deadline", (long long)late);
		log_int(&l, "idle_for_room", (long long)evicted);
		log_int(&l, "open", (long long)h->socks_nr);
		log_end(&l);
	}
}

static void *watchdog_main(void *arg)
{
	struct httpd *h = arg;
	struct timespec ts;

	pthread_setname_np(pthread_self(), "herald-httpwd");
	pthread_mutex_lock(&h->socks_lock);
	while (!h->stopping) {
		watch(h, monotonic_now());
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(h->watch_every * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->socks_cond, &h->socks_lock, &ts);
	}
	pthread_mutex_unlock(&h->socks_lock);
	return NULL;
}

/* ---- handlers ---------------------------------------------------------- */

/* Runs the handler on the finished request; the answer goes to cs->resp. */
static void run_handler(struct httpd *h, struct conn *cs)
{
	struct MHD_Connection *c = cs->mc;
	struct httpd_request req;
	struct kv_vec headers, query;
	char remote[INET6_ADDRSTRLEN];

	collect_all(c, MHD_HEADER_KIND, &headers);
	collect_all(c, MHD_GET_ARGUMENT_KIND, &query);
	peer_address(c, remote, sizeof(remote));
	memset(&req, 0, sizeof(req));
	req.method = cs->method;
	req.path = cs->url;
	req.headers = headers.items;
	req.headers_nr = headers.nr;
	req.query = query.items;
	req.query_nr = query.nr;
	req.body = cs->too_large || !cs->body.buf ? "" : cs->body.buf;
	req.body_len = cs->too_large ? 0 : cs->body.len;
	req.body_too_large = cs->too_large;
	req.remote = remote;

	httpd_response_init(&cs->resp);
	h->handler(h->arg, &req, &cs->resp);
	if (!cs->resp.status)
		httpd_response_set(&cs->resp, 500, "application/json",
				   xstrdup(internal_error), strlen(internal_error));
	cs->answered = 1;
	free(headers.items);
	free(query.items);
}

/* Queues cs->resp on the connection (on a polling thread). */
static enum MHD_Result queue_answer(struct conn *cs)
{
	struct httpd_response *resp = &cs->resp;
	struct MHD_Response *r;
	enum MHD_Result ret = MHD_NO;

	if (resp->body_len) {
		r = MHD_create_response_from_buffer_with_free_callback(
			resp->body_len, resp->body, free);
		resp->body = NULL;	/* microhttpd frees it now */
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"",
						    MHD_RESPMEM_PERSISTENT);
	}
	if (!r)
		goto out;
	if (resp->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp->content_type);
	for (size_t i = 0; i < resp->headers_nr; i++)
		MHD_add_response_header(r, resp->headers[i].name,
					resp->headers[i].value);
	ret = MHD_queue_response(cs->mc, (unsigned)resp->status, r);
	MHD_destroy_response(r);
out:
	httpd_response_release(resp);
	return ret;
}

static void *worker_main(void *arg)
{
	struct httpd *h = arg;
	struct conn *cs;

	pthread_setname_np(pthread_self(), "herald-http");
	pthread_mutex_lock(&h->jobs_lock);
	for (;;) {
		while (!h->jobs && !h->workers_quit)
			pthread_cond_wait(&h->jobs_cond, &h->jobs_lock);
		cs = h->jobs;
		if (!cs)
			break;		/* quit, and the queue is empty */
		h->jobs = cs->next_job;
		if (!h->jobs)
			h->jobs_tail = &h->jobs;
		h->workers_idle--;
		pthread_mutex_unlock(&h->jobs_lock);

		run_handler(h, cs);
		/* cs belongs to microhttpd again from here on. */
		MHD_resume_connection(cs->mc);

		pthread_mutex_lock(&h->jobs_lock);
		h->workers_idle++;
	}
	pthread_mutex_unlock(&h->jobs_lock);
	return NULL;
}

/*
 * Hands the finished request to a handler thread and suspends its
 * connection; returns 0, or -1 when the threads have stopped (at shutdown:
 * the caller then runs the handler itself).
 */
static int hand_over(struct httpd *h, struct conn *cs)
{
	pthread_mutex_lock(&h->jobs_lock);
	if (h->workers_quit) {
		pthread_mutex_unlock(&h->jobs_lock);
		return -1;
	}
	MHD_suspend_connection(cs->mc);
	cs->next_job = NULL;
	*h->jobs_tail = cs;
	h->jobs_tail = &cs->next_job;
	if (!h->workers_idle && h->workers_nr < h->workers_max &&
	    !pthread_create(&h->workers[h->workers_nr], NULL, worker_main, h)) {
		h->workers_nr++;
		h->workers_idle++;
	}
	pthread_cond_signal(&h->jobs_cond);
	pthread_mutex_unlock(&h->jobs_lock);
	return 0;
}

static enum MHD_Result finish(struct httpd *h, struct MHD_Connection *c,
			      struct conn *cs)
{
	if (cs->answered)
		return queue_answer(cs);
	sock_phase(h, c, SOCK_BUSY);
	if (!hand_over(h, cs))
		return MHD_YES;
	run_handler(h, cs);
	return queue_answer(cs);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct conn *cs = *con_cls;

	if (!cs) {
		const char *cl;
		long n;

		size_t cap = h->max_body_for ? h->max_body_for(url) :
			     h->max_body;

		cs = xcalloc(1, sizeof(*cs));
		strbuf_init(&cs->body, cap);
		cs->mc = c;
		cs->url = url;
		cs->method = method;
		*con_cls = cs;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && (parse_long(cl, 0, LONG_MAX, &n) ||
			   (unsigned long)n > cap)) {
			/*
			 * Answered now: microhttpd then reads none of the
			 * body and closes the connection after the answer.
			 */
			cs->too_large = 1;
			run_handler(h, cs);
			return queue_answer(cs);
		}
		sock_phase(h, c, SOCK_BODY);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (!cs->too_large && strbuf_add(&cs->body, upload_data, n)) {
			cs->too_large = 1;
			strbuf_release(&cs->body);
		}
		if (cs->too_large) {
			cs->discarded += n;
			if (cs->discarded > DISCARD_MAX)
				return MHD_NO;
		}
		return MHD_YES;
	}
	return finish(h, c, cs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct conn *cs = *con_cls;

	/* A kept-alive connection waits for its next request head. */
	sock_phase(h, c, SOCK_HEAD);
	if (!cs)
		return;
	strbuf_release(&cs->body);
	httpd_response_release(&cs->resp);
	free(cs);
	*con_cls = NULL;
}

/*
 * What microhttpd says about a client's doing (a connection closed or
 * reset, a malformed request, headers over the buffer): debug, so that a
 * hostile client cannot flood the log.
 */
static const char *const client_messages[] = {
	"remote", "socket is closed", "Failed to send",
	"Error processing request",
	"Content-Length", "chunk", "out of memory", "malformed",
};
#define CLIENT_MESSAGES_NR \
	(sizeof(client_messages) / sizeof(client_messages[0]))
/* Other messages: at most WARN_BURST per WARN_WINDOW_S seconds. */
#define WARN_BURST 5
#define WARN_WINDOW_S 60.0

static int log_allowed(struct httpd *h, long *suppressed)
{
	double now = monotonic_now();
	int ok;

	pthread_mutex_lock(&h->lock);
	if (now - h->warn_since > WARN_WINDOW_S) {
		h->warn_since = now;
		h->warns = 0;
	}
	ok = h->warns++ < WARN_BURST;
	*suppressed = 0;
	if (ok) {
		*suppressed = h->warns_suppressed;
		h->warns_suppressed = 0;
	} else {
		h->warns_suppressed++;
	}
	pthread_mutex_unlock(&h->lock);
	return ok;
}

__attribute__((format(printf, 2, 0)))
static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	enum log_level level = LOG_WARN;
	struct log_line l;
	char buf[512];
	long suppressed = 0;
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	for (size_t i = 0; i < CLIENT_MESSAGES_NR; i++)
		if (strstr(buf, client_messages[i]))
			level = LOG_DEBUG;
	if (level == LOG_WARN && !log_allowed(h, &suppressed))
		return;
	log_begin(&l, level, "http server");
	log_str(&l, "error", buf);
	if (suppressed)
		log_int(&l, "suppressed_before", suppressed);
	log_end(&l);
}

/*
 * The connection limit: the one asked for (or the default), and as many
 * open files as that needs, raising the soft limit up to the hard one;
 * if the hard limit is lower, the limit shrinks to fit it.
 */
static size_t connection_limit(const struct httpd_options *opt)
{
	size_t want = opt->connection_limit ? opt->connection_limit :
		      DEFAULT_CONNECTION_LIMIT;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return want;
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < want + RESERVED_FDS) {
		rlim_t need = want + RESERVED_FDS;

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
			      rl.rlim_max > need ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < want + RESERVED_FDS) {
		struct log_line l;
		size_t fit = rl.rlim_cur > 2 * RESERVED_FDS ?
			     rl.rlim_cur - RESERVED_FDS : RESERVED_FDS;

		log_begin(&l, LOG_WARN, "fewer connections than asked");
		log_int(&l, "asked", (long long)want);
		log_int(&l, "limit", (long long)fit);
		log_str(&l, "why", "the open files limit (ulimit -n) is too low: raise it");
		log_end(&l);
		want = fit;
	}
	return want;
}

static void httpd_free(struct httpd *h)
{
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->socks_lock);
	pthread_cond_destroy(&h->socks_cond);
	pthread_mutex_destroy(&h->jobs_lock);
	pthread_cond_destroy(&h->jobs_cond);
	free(h->workers);
	free(h);
}

/* Stops the handler threads once the requests handed over are answered. */
static void stop_workers(struct httpd *h)
{
	pthread_mutex_lock(&h->jobs_lock);
	h->workers_quit = 1;
	pthread_cond_broadcast(&h->jobs_cond);
	pthread_mutex_unlock(&h->jobs_lock);
	for (unsigned i = 0; i < h->workers_nr; i++)
		pthread_join(h->workers[i], NULL);
	h->workers_nr = 0;
}

static void stop_watchdog(struct httpd *h)
{
	pthread_mutex_lock(&h->socks_lock);
	h->stopping = 1;
	pthread_cond_signal(&h->socks_cond);
	pthread_mutex_unlock(&h->socks_lock);
	if (h->watchdog_started)
		pthread_join(h->watchdog, NULL);
	h->watchdog_started = 0;
}

int httpd_start(struct httpd **out, const struct httpd_options *opt,
		httpd_handler_fn *handler, void *arg, struct errbuf *err)
{
	struct httpd *h;
	int fd = -1, port = 0, v6 = 0, ret;
	unsigned flags;

	*out = NULL;
	ret = bind_socket(opt->listen, &fd, &port, &v6, err);
	if (ret)
		return ret;
	h = xcalloc(1, sizeof(*h));
	h->handler = handler;
	h->arg = arg;
	h->max_body = opt->max_body ? opt->max_body : HTTPD_MAX_BODY;
	h->max_body_for = opt->max_body_for;
	h->port = port;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->socks_lock, NULL);
	pthread_cond_init(&h->socks_cond, NULL);
	pthread_mutex_init(&h->jobs_lock, NULL);
	pthread_cond_init(&h->jobs_cond, NULL);
	h->jobs_tail = &h->jobs;
	h->workers_max = opt->threads ? opt->threads : DEFAULT_WORKERS;
	h->workers = xcalloc(h->workers_max, sizeof(*h->workers));
	h->limit = connection_limit(opt);
	h->header_timeout = opt->header_timeout_s > 0 ? opt->header_timeout_s :
			    HEADER_TIMEOUT_S;
	h->body_timeout = opt->body_timeout_s > 0 ? opt->body_timeout_s :
			  BODY_TIMEOUT_S;
	h->watch_every = h->header_timeout / 5 < WATCHDOG_S ?
			 h->header_timeout / 5 : WATCHDOG_S;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_log, h,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned)(opt->io_threads ? opt->io_threads : 2),
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK_SIZE,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)(opt->per_ip_limit ? opt->per_ip_limit :
			   DEFAULT_PER_IP_LIMIT),
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(opt->timeout_s ? opt->timeout_s : 10),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_END);
	if (!h->daemon) {
		close(fd);
		httpd_free(h);
		return errbuf_set(err, HERALD_EIO, "HERALD_LISTEN \"%s\": the HTTP "
				  "server did not start (see the log above)",
				  opt->listen);
	}
	if (!pthread_create(&h->watchdog, NULL, watchdog_main, h))
		h->watchdog_started = 1;
	*out = h;
	return 0;
}

int httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_quiesce(struct httpd *h)
{
	MHD_socket fd;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	if (!h->quiesced) {
		fd = MHD_quiesce_daemon(h->daemon);
		/*
		 * The polling thread may still be inside poll() on fd (it is
		 * woken, but not waited for), which keeps a closed socket
		 * listening; shutdown() stops it at once.
		 */
		if (fd != MHD_INVALID_SOCKET) {
			shutdown(fd, SHUT_RDWR);
			close(fd);
		}
		h->quiesced = 1;
	}
	pthread_mutex_unlock(&h->lock);
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	/* No connection may stay suspended into MHD_stop_daemon(). */
	stop_workers(h);
	stop_watchdog(h);
	MHD_stop_daemon(h->daemon);
	httpd_free(h);
}

size_t httpd_connections(struct httpd *h)
{
	size_t n;

	pthread_mutex_lock(&h->socks_lock);
	n = h->socks_nr;
	pthread_mutex_unlock(&h->socks_lock);
	return n;
}
