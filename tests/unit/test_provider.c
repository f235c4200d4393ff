/*
 * Unit tests for what the providers share and for http_client: outcome
 * names, nonces, backoff bounds, the resolution cache and its expiry,
 * classified texts that stay valid UTF-8, URL policy, and provider_deliver's
 * retry loop and http_client's transfers (headers kept, answers capped,
 * timeouts, keep-alive) against a tiny HTTP server on loopback run by the
 * test itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery/provider.h"

#define TOKEN "xoxb-9999-provider-test-secret"

static void test_outcome_names(void **state)
{
	assert_string_equal(delivery_outcome_name(DELIVERY_OK), "ok");
	assert_string_equal(delivery_outcome_name(DELIVERY_RETRY), "retry");
	assert_string_equal(delivery_outcome_name(DELIVERY_PERMANENT), "permanent");
	assert_string_equal(delivery_outcome_name(DELIVERY_AUTH), "auth");
	assert_int_equal(delivery_outcome_errcode(DELIVERY_OK), 0);
	assert_int_equal(delivery_outcome_errcode(DELIVERY_RETRY), HERALD_ERETRY);
	assert_int_equal(delivery_outcome_errcode(DELIVERY_PERMANENT), HERALD_EPERM);
	assert_int_equal(delivery_outcome_errcode(DELIVERY_AUTH), HERALD_EAUTH);
}

static void test_nonce(void **state)
{
	char a[26], b[26], c[26], e[26];

	provider_nonce("deploy-api-production-42", a);
	provider_nonce("deploy-api-production-42", b);
	provider_nonce("deploy-api-production-43", c);
	provider_nonce(NULL, e);
	assert_int_equal(strlen(a), 25);
	assert_int_equal(strlen(e), 25);
	assert_string_equal(a, b);	/* deterministic */
	assert_string_not_equal(a, c);
	assert_int_equal(a[0], 'h');
	for (int i = 1; i < 25; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
}

static void test_backoff_bounds(void **state)
{
	for (int attempt = 1; attempt <= 12; attempt++) {
		double ceiling = 1.0, max = 0, min = 1e9;

		for (int i = 1; i < attempt; i++)
			ceiling *= 2;
		if (ceiling > 30)
			ceiling = 30;
		for (int i = 0; i < 2000; i++) {
			double b = provider_backoff(attempt, 1.0, 30.0);

			assert_true(b >= 0 && b <= ceiling);
			if (b > max)
				max = b;
			if (b < min)
				min = b;
		}
		/* Full jitter spreads over the whole range. */
		assert_true(max > ceiling * 0.5);
		assert_true(min < ceiling * 0.5);
	}
	assert_true(provider_backoff(0, 1.0, 30.0) <= 1.0);
	assert_true(provider_backoff(1000, 0.5, 4.0) <= 4.0);
}

static void test_monotonic(void **state)
{
	double a = monotonic_now(), b = monotonic_now();

	assert_true(a > 0);
	assert_true(b >= a);
}

static struct provider *slack_provider(const char *api_url)
{
	struct config cfg;
	struct provider *p;
	struct errbuf err;

	config_init(&cfg);
	cfg.provider = PROVIDER_SLACK;
	cfg.token = xstrdup(TOKEN);
	if (api_url) {
		free(cfg.slack_api_url);
		cfg.slack_api_url = xstrdup(api_url);
	}
	assert_int_equal(provider_new(&p, &cfg, &err), 0);
	config_release(&cfg);
	return p;
}

static void test_provider_new(void **state)
{
	struct config cfg;
	struct provider *p = NULL;
	struct errbuf err;

	config_init(&cfg);
	assert_int_equal(provider_new(&p, &cfg, &err), HERALD_EINVAL);
	assert_null(p);
	assert_non_null(strstr(err.msg, "NOTIFICATIONS_PROVIDER"));
	cfg.provider = PROVIDER_SLACK;
	assert_int_equal(provider_new(&p, &cfg, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "NOTIFICATIONS_TOKEN"));
	config_release(&cfg);

	p = slack_provider("https://slack.example/api//");
	assert_string_equal(p->ops->name, "slack");
	assert_int_equal(p->ops->kind, PROVIDER_SLACK);
	assert_string_equal(p->api_url, "https://slack.example/api");
	assert_string_equal(p->token, TOKEN);
	provider_free(p);
	provider_free(NULL);
}

static void test_cache(void **state)
{
	struct provider *p = slack_provider(NULL);
	time_t now = 1000000;
	char key[32], id[32];

	assert_null(provider_cache_get(p, "@jane", now));
	provider_cache_put(p, "@jane", "D0000000001", now + 60);
	assert_string_equal(provider_cache_get(p, "@jane", now), "D0000000001");
	assert_string_equal(provider_cache_get(p, "@jane", now + 59),
			    "D0000000001");
	/* Expired at the expiry time. */
	assert_null(provider_cache_get(p, "@jane", now + 60));
	assert_null(provider_cache_get(p, "@jane", now + 3600));
	/* Replacing refreshes both the value and the expiry. */
	provider_cache_put(p, "@jane", "D0000000002", now + 7200);
	assert_string_equal(provider_cache_get(p, "@jane", now + 3600),
			    "D0000000002");
	assert_null(provider_cache_get(p, "@john", now));

	/* Many entries: the cache stays bounded and keeps the newest. */
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "@user%d", i);
		snprintf(id, sizeof(id), "D%09d", i);
		provider_cache_put(p, key, id, time(NULL) + 1000 + i);
	}
	assert_string_equal(provider_cache_get(p, "@user9999", time(NULL)),
			    "D000009999");
	assert_null(provider_cache_get(p, "@user0", time(NULL)));
	provider_free(p);
}

static void test_result_set(void **state)
{
	struct delivery_result r;
	struct strbuf long_msg = STRBUF_INIT;
	json_t *s;

	delivery_result_clear(&r);
	delivery_result_set(&r, DELIVERY_PERMANENT, "bad code\x01\xff",
			    "line1\nline2\x1b[31m %s", "\xff\xfe");
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_string_equal(r.code, "bad?code??");
	assert_null(strchr(r.message, '\n'));
	assert_null(strchr(r.message, '\x1b'));
	s = json_string(r.message);
	assert_non_null(s);
	json_decref(s);

	/* Cut at a character boundary, never inside "é". */
	for (int i = 0; i < 600; i++)
		strbuf_addstr(&long_msg, "\xc3\xa9");
	delivery_result_set(&r, DELIVERY_RETRY, "x", "a%s", long_msg.buf);
	assert_true(strlen(r.message) < sizeof(r.message));
	s = json_string(r.message);
	assert_non_null(s);
	json_decref(s);
	assert_int_equal(strlen(r.message) % 2, 1);
	strbuf_release(&long_msg);
}

static void test_check_url(void **state)
{
	struct http_client_options opts = { 0 };
	struct http_client *c;
	struct errbuf err;

	assert_int_equal(http_client_new(&c, &opts, &err), 0);
	assert_int_equal(http_client_check_url(c, "https://slack.com/api", &err), 0);
	assert_int_equal(http_client_check_url(c, "http://127.0.0.1:8080/x", &err), 0);
	assert_int_equal(http_client_check_url(c, "http://127.1.2.3/x", &err), 0);
	assert_int_equal(http_client_check_url(c, "http://localhost:1/x", &err), 0);
	assert_int_equal(http_client_check_url(c, "http://[::1]:9/x", &err), 0);
	assert_int_equal(http_client_check_url(c, "http://slack.com/api", &err),
			 HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "unencrypted"));
	assert_int_equal(http_client_check_url(c, "http://128.0.0.1/api", &err),
			 HERALD_EINVAL);
	assert_int_equal(http_client_check_url(c, "http://localhost.evil.com/",
					       &err), HERALD_EINVAL);
	assert_int_equal(http_client_check_url(c, "ftp://slack.com/api", &err),
			 HERALD_EINVAL);
	assert_int_equal(http_client_check_url(c, "file:///etc/passwd", &err),
			 HERALD_EINVAL);
	assert_int_equal(http_client_check_url(c, "not a url", &err),
			 HERALD_EINVAL);
	/* Submitting checks too, also after another origin was let through. */
	{
		struct http_request req;

		http_request_init(&req, "GET", "http://127.0.0.1:1/a");
		assert_int_equal(http_client_submit(c, &req, NULL, NULL, &err), 0);
		http_request_release(&req);
		http_request_init(&req, "GET", "http://127.0.0.1:1/b");
		assert_int_equal(http_client_submit(c, &req, NULL, NULL, &err), 0);
		http_request_release(&req);
		http_request_init(&req, "GET", "http://127.0.0.1:1@slack.com/b");
		assert_int_equal(http_client_submit(c, &req, NULL, NULL, &err),
				 HERALD_EINVAL);
		http_request_release(&req);
		http_request_init(&req, "GET", "http://slack.com/api");
		assert_int_equal(http_client_submit(c, &req, NULL, NULL, &err),
				 HERALD_EINVAL);
		assert_non_null(strstr(err.msg, "unencrypted"));
		http_request_release(&req);
	}
	http_client_free(c);

	opts.allow_insecure_http = 1;
	assert_int_equal(http_client_new(&c, &opts, &err), 0);
	assert_int_equal(http_client_check_url(c, "http://proxy.internal/api",
					       &err), 0);
	assert_int_equal(http_client_check_url(c, "gopher://x/", &err),
			 HERALD_EINVAL);
	http_client_free(c);
}

static void test_url_encode(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	http_url_encode(&sb, "jane+ops@example.com");
	assert_string_equal(sb.buf, "jane%2Bops%40example.com");
	strbuf_reset(&sb);
	http_url_encode(&sb, "a b&c=d/é~_.-");
	assert_string_equal(sb.buf, "a%20b%26c%3Dd%2F%C3%A9~_.-");
	strbuf_release(&sb);
}

/* A one-connection-at-a-time HTTP server answering from a script. */
#define SCRIPT_MAX 8

struct server {
	int fd;
	int port;
	pthread_t thread;
	pthread_mutex_t lock;
	const char *script[SCRIPT_MAX];	/* raw answers; NULL: never answer */
	size_t script_nr;
	size_t next;
	int connections;
	int requests;
	char last_request[4096];
};

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one request (headers and Content-Length body); -1 at EOF. */
static int read_request(int fd, char *buf, size_t size)
{
	size_t len = 0;
	char *end = NULL;
	long body = 0;

	while (!end) {
		ssize_t n = recv(fd, buf + len, size - 1 - len, 0);

		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end && len == size - 1)
			return -1;
	}
	for (char *line = strstr(buf, "\r\n"); line && line < end;
	     line = strstr(line + 2, "\r\n"))
		if (!strncasecmp(line + 2, "Content-Length:", 15))
			body = strtol(line + 17, NULL, 10);
	body -= (long)(len - (size_t)(end + 4 - buf));
	while (body > 0) {
		char tmp[1024];
		ssize_t n = recv(fd, tmp, sizeof(tmp), 0);

		if (n <= 0)
			return -1;
		body -= n;
	}
	return 0;
}

static void *serve(void *arg)
{
	struct server *s = arg;
	char buf[4096];

	for (;;) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		pthread_mutex_lock(&s->lock);
		s->connections++;
		pthread_mutex_unlock(&s->lock);
		while (read_request(c, buf, sizeof(buf)) == 0) {
			const char *answer;

			pthread_mutex_lock(&s->lock);
			s->requests++;
			snprintf(s->last_request, sizeof(s->last_request), "%s", buf);
			answer = s->script[s->next < s->script_nr ? s->next++ :
					   s->script_nr - 1];
			pthread_mutex_unlock(&s->lock);
			if (!answer) {
				while (recv(c, buf, sizeof(buf), 0) > 0)
					;	/* until the client gives up */
				break;
			}
			if (send_all(c, answer, strlen(answer)))
				break;
		}
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, const char *const *script,
			 size_t nr)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < nr; i++)
		s->script[i] = script[i];
	s->script_nr = nr;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&addr, &len), 0);
	s->port = ntohs(addr.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
}

static struct http_client *client(long timeout_ms)
{
	struct http_client_options opts = { 0 };
	struct http_client *c;
	struct errbuf err;

	opts.request_timeout_ms = timeout_ms;
	assert_int_equal(http_client_new(&c, &opts, &err), 0);
	return c;
}

static void get(struct http_client *c, int port, const char *path,
		struct http_response *resp)
{
	struct http_request req;
	struct errbuf err;
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	http_request_init(&req, "GET", url);
	http_request_add_header(&req, "Authorization: Bearer %s", TOKEN);
	assert_int_equal(http_client_perform(c, &req, resp, &err), 0);
	http_request_release(&req);
}

static void test_http_headers_and_keepalive(void **state)
{
	static const char *const script[] = {
		"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n"
		"retry-after: 3\r\nX-RATELIMIT-REMAINING: 0\r\n"
		"X-RateLimit-Reset-After: 2.5\r\nX-RateLimit-Bucket: abc\r\n"
		"X-RateLimit-Global: true\r\nX-RateLimit-Scope:   shared  \r\n"
		"\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
		"Content-Type: application/json\r\n\r\n{\"ok\":true}",
	};
	struct server s;
	struct http_client *c;
	struct http_response resp;

	server_start(&s, script, 2);
	c = client(10000);
	get(c, s.port, "/a", &resp);
	assert_int_equal(resp.transport, HTTP_OK);
	assert_int_equal(resp.status, 429);
	assert_string_equal(resp.retry_after, "3");
	assert_string_equal(resp.ratelimit_remaining, "0");
	assert_string_equal(resp.ratelimit_reset_after, "2.5");
	assert_string_equal(resp.ratelimit_bucket, "abc");
	assert_string_equal(resp.ratelimit_global, "true");
	assert_string_equal(resp.ratelimit_scope, "shared");
	assert_string_equal(resp.body.buf, "{}");
	http_response_release(&resp);

	get(c, s.port, "/b", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.buf, "{\"ok\":true}");
	assert_null(resp.retry_after);
	http_response_release(&resp);

	pthread_mutex_lock(&s.lock);
	assert_int_equal(s.requests, 2);
	assert_int_equal(s.connections, 1);	/* kept alive */
	assert_non_null(strstr(s.last_request, "GET /b HTTP/1.1"));
	assert_non_null(strstr(s.last_request, "Authorization: Bearer " TOKEN));
	assert_non_null(strstr(s.last_request, "User-Agent: herald/"));
	pthread_mutex_unlock(&s.lock);
	http_client_free(c);
	server_stop(&s);
}

static void test_http_too_large(void **state)
{
	struct strbuf big = STRBUF_INIT;
	const char *script[1];
	struct server s;
	struct http_client *c;
	struct http_response resp;
	size_t n = HTTP_RESPONSE_MAX + 4096;

	strbuf_addf(&big, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
	for (size_t i = 0; i < n; i++)
		strbuf_addch(&big, 'x');
	script[0] = big.buf;
	server_start(&s, script, 1);
	c = client(10000);
	get(c, s.port, "/big", &resp);
	assert_int_equal(resp.transport, HTTP_ERR_TOO_LARGE);
	assert_int_equal(resp.body.len, 0);
	assert_non_null(strstr(resp.error, "larger than"));
	http_response_release(&resp);
	http_client_free(c);
	server_stop(&s);
	strbuf_release(&big);
}

static void test_http_timeout(void **state)
{
	const char *script[1] = { NULL };
	struct server s;
	struct http_client *c;
	struct http_response resp;

	server_start(&s, script, 1);
	c = client(300);
	get(c, s.port, "/slow", &resp);
	assert_int_equal(resp.transport, HTTP_ERR_TIMEOUT);
	assert_int_equal(resp.status, 0);
	assert_null(strstr(resp.error, TOKEN));
	assert_non_null(strstr(resp.error, "GET http://127.0.0.1:"));
	http_response_release(&resp);
	http_client_free(c);
	server_stop(&s);
}

static void test_http_wakeup(void **state)
{
	struct http_client *c = client(5000);
	double start;

	assert_int_equal(http_client_running(c), 0);
	/* A wakeup before the poll is kept: the poll returns early. */
	http_client_wakeup(c);
	start = monotonic_now();
	assert_int_equal(http_client_poll(c, 120000), 0);
	assert_true(monotonic_now() - start < 60);
	http_client_free(c);
}

/* A loopback port that refuses connections: bound, never listening. */
static int refusing_port(int *fd)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(*fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&addr, &len), 0);
	return ntohs(addr.sin_port);
}

static void test_http_refused(void **state)
{
	struct http_client *c = client(5000);
	struct http_response resp;
	struct http_request req;
	struct errbuf err;
	int fd, port = refusing_port(&fd);

	get(c, port, "/x?email=a%40b", &resp);
	assert_int_equal(resp.transport, HTTP_ERR_CONNECT);
	assert_null(strstr(resp.error, TOKEN));
	assert_null(strstr(resp.error, "email="));	/* no query in errors */
	http_response_release(&resp);

	/* A refused URL is an error of the call, and resp says so too. */
	http_request_init(&req, "GET", "http://example.com/api");
	assert_int_equal(http_client_perform(c, &req, &resp, &err), HERALD_EINVAL);
	assert_int_equal(resp.transport, HTTP_ERR_OTHER);
	assert_non_null(strstr(resp.error, "unencrypted"));
	http_response_release(&resp);
	http_request_release(&req);
	http_client_free(c);
	close(fd);
}

static void deliver(int port, double seconds, struct delivery_result *r,
		    int *attempts, int *ret)
{
	struct strbuf url = STRBUF_INIT;
	struct http_client *c = client(5000);
	struct destination d;
	struct provider *p;
	struct errbuf err;
	json_t *body = json_pack("{s:s}", "text", "hello");

	strbuf_addf(&url, "http://127.0.0.1:%d/api", port);
	p = slack_provider(url.buf);
	assert_int_equal(destination_parse(&d, "#deploys", PROVIDER_SLACK, &err), 0);
	*ret = provider_deliver(p, c, &d, body, NULL, NULL, NULL,
				monotonic_now() + seconds, r, attempts);
	assert_null(strstr(r->message, TOKEN));
	destination_release(&d);
	json_decref(body);
	provider_free(p);
	http_client_free(c);
	strbuf_release(&url);
}

/* An HTTP answer with body (owned by the caller). */
static char *answer(const char *status, const char *headers, const char *body)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n\r\n%s",
		    status, headers, strlen(body), body);
	return strbuf_detach(&sb, NULL);
}

static void test_deliver_retries_then_succeeds(void **state)
{
	char *script[2] = {
		answer("502 Bad Gateway", "Content-Type: text/html\r\n",
		       "<h1>bad gateway</h1>"),
		answer("200 OK", "", "{\"ok\":true,\"channel\":\"C0000000001\","
		       "\"ts\":\"1764150000.000100\"}"),
	};
	struct delivery_result r;
	struct server s;
	int attempts = 0, ret;

	server_start(&s, (const char *const *)script, 2);
	deliver(s.port, 120, &r, &attempts, &ret);
	assert_int_equal(ret, 0);
	assert_int_equal(attempts, 2);
	assert_int_equal(r.outcome, DELIVERY_OK);
	assert_string_equal(r.channel_id, "C0000000001");
	assert_string_equal(r.message_id, "1764150000.000100");
	pthread_mutex_lock(&s.lock);
	assert_non_null(strstr(s.last_request, "POST /api/chat.postMessage"));
	pthread_mutex_unlock(&s.lock);
	server_stop(&s);
	free(script[0]);
	free(script[1]);
}

static void test_deliver_gives_up_and_fails(void **state)
{
	char *limited = answer("429 Too Many Requests", "Retry-After: 600\r\n",
			       "{\"ok\":false,\"error\":\"ratelimited\"}");
	char *not_found = answer("200 OK", "",
				 "{\"ok\":false,\"error\":\"channel_not_found\"}");
	char *bad_token = answer("200 OK", "",
				 "{\"ok\":false,\"error\":\"invalid_auth\"}");
	struct delivery_result r;
	struct server s;
	int attempts = 0, ret, fd, port;

	/* Retry-After beyond the deadline: give up now, not after waiting. */
	server_start(&s, (const char *const *)&limited, 1);
	deliver(s.port, 30, &r, &attempts, &ret);
	assert_int_equal(ret, HERALD_ERETRY);
	assert_int_equal(attempts, 1);
	assert_string_equal(r.code, "ratelimited");
	assert_true(r.retry_after_s == 600);
	server_stop(&s);

	server_start(&s, (const char *const *)&not_found, 1);
	deliver(s.port, 30, &r, &attempts, &ret);
	assert_int_equal(ret, HERALD_EPERM);
	assert_int_equal(attempts, 1);
	assert_string_equal(r.code, "channel_not_found");
	assert_non_null(strstr(r.message, "\"#deploys\""));
	server_stop(&s);

	server_start(&s, (const char *const *)&bad_token, 1);
	deliver(s.port, 30, &r, &attempts, &ret);
	assert_int_equal(ret, HERALD_EAUTH);
	assert_int_equal(r.outcome, DELIVERY_AUTH);
	server_stop(&s);

	/* Nobody listening and the deadline already here: one try. */
	port = refusing_port(&fd);
	deliver(port, 0, &r, &attempts, &ret);
	assert_int_equal(ret, HERALD_ERETRY);
	assert_int_equal(attempts, 1);
	assert_string_equal(r.code, "network");
	close(fd);
	free(limited);
	free(not_found);
	free(bad_token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_names),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_provider_new),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_result_set),
		cmocka_unit_test(test_check_url),
		cmocka_unit_test(test_url_encode),
		cmocka_unit_test(test_http_headers_and_keepalive),
		cmocka_unit_test(test_http_too_large),
		cmocka_unit_test(test_http_timeout),
		cmocka_unit_test(test_http_refused),
		cmocka_unit_test(test_http_wakeup),
		cmocka_unit_test(test_deliver_retries_then_succeeds),
		cmocka_unit_test(test_deliver_gives_up_and_fails),
	};

	return cmocka_run_group_tests_name("provider", tests, NULL, NULL);
}
