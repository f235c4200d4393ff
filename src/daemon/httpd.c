/*
 * httpd: libmicrohttpd behind a request → response function.
 *
 * herald binds the listen socket itself (so an error names the address,
 * and port 0 reports the port it got) and hands it to microhttpd, which
 * by default runs a thread per connection (up to the connection limit,
 * with small stacks): a handler may block, e.g. on the store's group
 * commit, without holding up any other connection, and the requests of
 * different connections then share one commit. With options.threads set it
 * runs that many polling threads instead, each serving its connections one
 * request at a time. Bodies are collected into a capped strbuf.
 * A Content-Length over the cap is answered (413, by the handler) before a
 * byte of the body is read; a chunked body that outgrows the cap is
 * discarded up to DISCARD_MAX and the connection dropped beyond that.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/httpd.h"
#include "daemon/log.h"
#include "lib/strbuf.h"

#define DISCARD_MAX (16u * 1024 * 1024)
/* Touched pages only count; JSON nesting is capped before parsing. */
#define THREAD_STACK_SIZE (1024u * 1024)

struct httpd {
	struct MHD_Daemon *daemon;
	httpd_handler_fn *handler;
	void *arg;
	size_t max_body;
	size_t (*max_body_for)(const char *path);
	int port;
	pthread_mutex_t lock;
	int quiesced;
};

/* Per-request state, from the first call of the access handler on. */
struct conn {
	struct strbuf body;
	size_t discarded;
	int too_large;
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
		ret = errbuf_set(err, HERALD_EIO, "HERALD_LISTEN \"%s\": cannot "
				 "where there: %s%s", where, strerror(saved),
				 saved == EADDRINUSE ? " (another process has the "
				 "port: pick another or stop it)" : "");
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

/* Runs the handler on the finished request and queues its answer. */
static enum MHD_Result answer(struct httpd *h, struct MHD_Connection *c,
			      const char *url, const char *method,
			      struct conn *cs)
{
	struct httpd_request req;
	struct httpd_response resp;
	struct kv_vec headers, query;
	struct MHD_Response *r;
	char remote[INET6_ADDRSTRLEN];
	enum MHD_Result ret;

	collect_all(c, MHD_HEADER_KIND, &headers);
	collect_all(c, MHD_GET_ARGUMENT_KIND, &query);
	peer_address(c, remote, sizeof(remote));
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.headers = headers.items;
	req.headers_nr = headers.nr;
	req.query = query.items;
	req.query_nr = query.nr;
	req.body = cs->too_large ? "" : cs->body.buf;
	req.body_len = cs->too_large ? 0 : cs->body.len;
	req.body_too_large = cs->too_large;
	req.remote = remote;

	httpd_response_init(&resp);
	h->handler(h->arg, &req, &resp);
	if (!resp.status)
		httpd_response_set(&resp, 500, "application/json",
				   xstrdup(internal_error), strlen(internal_error));

	if (resp.body_len) {
		r = MHD_create_response_from_buffer_with_free_callback(
			resp.body_len, resp.body, free);
		resp.body = NULL;	/* microhttpd frees it now */
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"",
						    MHD_RESPMEM_PERSISTENT);
	}
	ret = MHD_NO;
	if (!r)
		goto out;
	if (resp.content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp.content_type);
	for (size_t i = 0; i < resp.headers_nr; i++)
		MHD_add_response_header(r, resp.headers[i].name,
					resp.headers[i].value);
	ret = MHD_queue_response(c, (unsigned)resp.status, r);
	MHD_destroy_response(r);
out:
	httpd_response_release(&resp);
	free(headers.items);
	free(query.items);
	return ret;
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
			return answer(h, c, url, method, cs);
		}
		if (cl)		/* the body in one allocation */
			strbuf_grow(&cs->body, (size_t)n);
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
	return answer(h, c, url, method, cs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *cs = *con_cls;

	if (!cs)
		return;
	strbuf_release(&cs->body);
	free(cs);
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0)))
static void on_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_event(LOG_WARN, "http server", "error", buf, NULL);
}

int httpd_start(struct httpd **out, const struct httpd_options *opt,
		httpd_handler_fn *handler, void *arg, struct errbuf *err)
{
	struct httpd *h;
	struct MHD_OptionItem pool[2];
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

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
		MHD_USE_ERROR_LOG;
	if (!opt->threads)
		flags |= MHD_USE_THREAD_PER_CONNECTION;
	if (v6)
		flags |= MHD_USE_IPv6;
	/*
	 * The pool size only with a pool: microhttpd warns about a size given
	 * with a thread per connection.
	 */
	pool[0] = (struct MHD_OptionItem){ opt->threads ?
		MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, opt->threads, NULL };
	pool[1] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_log, h,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_ARRAY, pool,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK_SIZE,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(opt->connection_limit ? opt->connection_limit : 512),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)(opt->per_ip_limit ? opt->per_ip_limit : 128),
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(opt->timeout_s ? opt->timeout_s : 10),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_END);
	if (!h->daemon) {
		close(fd);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return errbuf_set(err, HERALD_EIO, "HERALD_LISTEN \"%s\": the HTTP "
				  "server did not start (see the log above)",
				  opt->listen);
	}
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
	MHD_stop_daemon(h->daemon);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
