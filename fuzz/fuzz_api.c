/*
 * Fuzz target for the HTTP request path: api_handle(), the function httpd
 * hands every request to, against a real SQLite store (in $TMPDIR, else
 * /dev/shm or /tmp) and a routing snapshot, the way tests/unit/test_api.c
 * calls it. The input is one to four requests separated by a line "%%%%":
 *
 *   OPTIONS                   letters, each one turns a setting on:
 *                             t  HERALD_API_TOKEN is fuzz_api_token
 *                             f  HERALD_FLUX_HMAC_KEY is set
 *                             g  HERALD_GITHUB_WEBHOOK_SECRET is set
 *                             b  listening beyond loopback
 *                             c  no catalog       m  no default channel
 *                             d  discord          l  the log provider
 *                             s  shutting down    n  provider not ready
 *                             x  body over the server's cap
 *                             v  logs at level debug, in JSON
 *   METHOD TARGET             TARGET may have ?name=value&... (both
 *                             %-decoded, like microhttpd does)
 *   Name: value               headers (a value "@sign" becomes the right
 *   ...                       signature of the body for the hook's key)
 *                             an empty line, then the body
 *
 * The store is kept from one input to the next (and started afresh every
 * 500 inputs) so that reads find what earlier posts stored; an input with
 * several requests reproduces on its own.
 *
 * Every answer must be one of the API's statuses (never 500); a JSON answer
 * must be ASCII JSON ending in a newline, an error an object with an
 * "error" sentence; 401 carries WWW-Authenticate, 405 Allow, 503 (but
 * /readyz's) Retry-After; no answer header holds a control character;
 * without the right bearer token every endpoint under /api/ but the hooks
 * is 401; while shutting down nothing is accepted; every notification a
 * 202 names can be read back; no log line and no answer (but the accept
 * answer, which echoes the sender's own event ids) carries a secret.
 * Aborts otherwise. FUZZ_API_VERBOSE=1 prints each request's answer.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "core/catalog.h"
#include "core/config.h"
#include "daemon/api.h"
#include "daemon/httpd.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/store.h"
#include "lib/redact.h"
#include "lib/sha2.h"
#include "lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_api.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

#define MAX_REQUESTS 4
#define MAX_PARAMS 64
#define RESET_EVERY 500

static const char api_token[] = "fuzz_api_token_5b1c";
static const char flux_key[] = "fuzz_flux_key_8d2e";
static const char github_secret[] = "fuzz_github_secret_a7f3";

static const char catalog_yaml[] =
	"services:\n"
	"  - name: api\n"
	"    owner: backend\n"
	"    ownerIm: \"#backend\"\n"
	"  - name: web\n"
	"    owner: jane\n"
	"    ownerIm: \"@jane\"\n"
	"  - name: podinfo\n"
	"    owner: platform\n";

static struct {
	char dir[256];
	char path[300];
	struct store *store;
	struct metrics metrics;
	struct api_routing routing;
	int log_fd;
	unsigned runs;
} S;

static void remove_store_files(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[320];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		snprintf(p, sizeof(p), "%s%s", S.path, suffixes[i]);
		unlink(p);
	}
}

static void open_store(void)
{
	struct errbuf err;

	remove_store_files();
	if (store_open(&S.store, S.path, &err)) {
		fprintf(stderr, "fuzz_api: store_open %s: %s\n", S.path,
			err.msg);
		abort();
	}
}

static void at_exit(void)
{
	if (S.store)
		store_close(S.store);
	S.store = NULL;
	remove_store_files();
	rmdir(S.dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(S.dir, sizeof(S.dir), "%s/herald-fuzz-api-XXXXXX", tmp);
	CHECK(mkdtemp(S.dir));
	snprintf(S.path, sizeof(S.path), "%s/herald.db", S.dir);
	open_store();
	metrics_init(&S.metrics, "fuzz");
	api_routing_init(&S.routing, NULL);
	S.log_fd = memfd_create("fuzz_api_log", MFD_CLOEXEC);
	CHECK(S.log_fd >= 0);
	log_set_fd(S.log_fd);
	redact_add_secret(api_token);
	redact_add_secret(flux_key);
	redact_add_secret(github_secret);
	atexit(at_exit);
}

static int has(const char *opts, char c)
{
	return strchr(opts, c) != NULL;
}

static struct api_snapshot *snapshot(const char *opts)
{
	struct config cfg;
	struct catalog cat = CATALOG_INIT;
	struct errbuf err;

	config_init(&cfg);
	cfg.provider = has(opts, 'l') ? PROVIDER_LOG :
		       has(opts, 'd') ? PROVIDER_DISCORD : PROVIDER_SLACK;
	if (!has(opts, 'm'))
		cfg.default_channel = xstrdup(cfg.provider == PROVIDER_DISCORD ?
					      "deploys" : "#deploys");
	CHECK(config_parse_mapping(&cfg, "production=#prod,staging=@ops",
				   NULL) == 0);
	if (has(opts, 'f'))
		cfg.flux_hmac_key = xstrdup(flux_key);
	if (has(opts, 'g'))
		cfg.github_secret = xstrdup(github_secret);
	if (has(opts, 't'))
		cfg.api_token = xstrdup(api_token);
	if (has(opts, 'c'))
		return api_snapshot_new(&cfg, NULL);
	CHECK(catalog_parse(&cat, catalog_yaml, strlen(catalog_yaml),
			    "catalog.yaml", NULL, &err) == 0);
	return api_snapshot_new(&cfg, &cat);
}

/* ---- the engine's and the provider's stand-ins -------------------------- */

static int ready_flag;

static int on_ready(void *arg, struct strbuf *why)
{
	if (ready_flag)
		return 1;
	strbuf_addstr(why, "slack rejected the token: invalid_auth");
	return 0;
}

/* The engine takes what it is handed; each once, each whole. */
static void on_queued(void *arg, struct api_queued *q, size_t nr)
{
	CHECK(nr > 0);
	for (size_t i = 0; i < nr; i++) {
		CHECK(q[i].id > 0);
		CHECK(q[i].ev);
		CHECK(q[i].destination && *q[i].destination);
		api_queued_release(&q[i]);
	}
}

/* ---- building a request ------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %-decodes s in place (and '+' in a query), as microhttpd does. */
static void unescape(char *s, int query)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else if (query && *s == '+') {
			*o++ = ' ';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

struct request {
	struct httpd_request req;
	struct httpd_kv headers[MAX_PARAMS];
	struct httpd_kv query[MAX_PARAMS];
	char sig[2 * SHA2_MAX_LEN + 16];
};

/* The next line of text[*at..len), NUL-terminated in place, or NULL. */
static char *next_line(char *text, size_t len, size_t *at)
{
	char *line = text + *at, *nl;

	if (*at >= len)
		return NULL;
	nl = memchr(line, '\n', len - *at);
	if (!nl) {
		*at = len;
		return line;
	}
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	*at = (size_t)(nl - text) + 1;
	return line;
}

/* Parses one request out of text[0..len) (NUL-terminated at len). */
static void parse_request(struct request *r, char *text, size_t len,
			  const char *opts)
{
	size_t at = 0;
	char *line, *target, *q, *sp;
	const char *key = NULL;

	memset(r, 0, sizeof(*r));
	r->req.headers = r->headers;
	r->req.query = r->query;
	r->req.remote = "127.0.0.1";
	line = next_line(text, len, &at);
	if (!line)
		line = text + len;
	sp = strchr(line, ' ');
	if (sp) {
		*sp = '\0';
		target = sp + 1;
		sp = strchr(target, ' ');	/* " HTTP/1.1" */
		if (sp)
			*sp = '\0';
	} else {
		target = line + strlen(line);
	}
	r->req.method = line;
	q = strchr(target, '?');
	if (q) {
		char *next;

		*q++ = '\0';
		for (; q && *q && r->req.query_nr < MAX_PARAMS; q = next) {
			char *eq;

			next = strchr(q, '&');
			if (next)
				*next++ = '\0';
			eq = strchr(q, '=');
			if (eq)
				*eq++ = '\0';
			unescape(q, 1);
			if (eq)
				unescape(eq, 1);
			r->query[r->req.query_nr].name = q;
			r->query[r->req.query_nr].value = eq ? eq : "";
			r->req.query_nr++;
		}
	}
	unescape(target, 0);
	r->req.path = target;
	while ((line = next_line(text, len, &at)) && *line) {
		char *colon = strchr(line, ':');
		char *value = colon ? colon + 1 : line + strlen(line);

		if (colon)
			*colon = '\0';
		while (*value == ' ' || *value == '\t')
			value++;
		if (r->req.headers_nr == MAX_PARAMS)
			continue;
		r->headers[r->req.headers_nr].name = line;
		r->headers[r->req.headers_nr].value = value;
		r->req.headers_nr++;
	}
	r->req.body = text + at;
	r->req.body_len = at < len ? len - at : 0;
	if (at > len)
		r->req.body = text + len;
	if (has(opts, 'x')) {
		r->req.body = "";
		r->req.body_len = 0;
		r->req.body_too_large = 1;
	}

	/* "@sign": the signature the hook's key makes of the body. */
	if (strstr(r->req.path, "flux"))
		key = flux_key;
	else if (strstr(r->req.path, "github"))
		key = github_secret;
	for (size_t i = 0; key && i < r->req.headers_nr; i++) {
		uint8_t mac[SHA2_MAX_LEN];

		if (strcmp(r->headers[i].value, "@sign"))
			continue;
		hmac_sha2(SHA2_256, key, strlen(key), r->req.body,
			  r->req.body_len, mac);
		memcpy(r->sig, "sha256=", 7);
		hex_encode(mac, sha2_len(SHA2_256), r->sig + 7);
		r->headers[i].value = r->sig;
	}
}

/* ---- checking the answer ------------------------------------------------ */

static int is_hook_path(const char *path)
{
	return !strcmp(path, "/api/v1/hooks/flux") ||
	       !strcmp(path, "/api/flux-events") ||
	       !strcmp(path, "/api/v1/hooks/alertmanager") ||
	       !strcmp(path, "/api/v1/hooks/github");
}

/* Whether req carries the bearer token as dispatch() wants it. */
static int has_token(const struct httpd_request *req)
{
	const char *h = httpd_request_header(req, "Authorization");
	struct strview tok;

	if (!h || strncasecmp(h, "Bearer ", 7))
		return 0;
	tok = strview_trim((struct strview){ h + 7, strlen(h + 7) });
	return tok.len == strlen(api_token) &&
	       !memcmp(tok.ptr, api_token, tok.len);
}

static void check_no_secret(const char *what, const char *s, size_t len)
{
	static const char *const secrets[] = {
		api_token, flux_key, github_secret,
	};

	for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++) {
		if (memmem(s, len, secrets[i], strlen(secrets[i]))) {
			fprintf(stderr, "fuzz_api.c: %s holds %s: %.*s\n", what,
				secrets[i], (int)(len > 2000 ? 2000 : len), s);
			abort();
		}
	}
}

static void check_text_header(const char *s)
{
	CHECK(s);
	for (; *s; s++)
		CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
}

/* Reads back every notification a 202 (or 200) of an accept names. */
static void check_accepted(struct api_context *ctx, const json_t *body)
{
	const json_t *acc = json_object_get(body, "accepted"), *a;
	size_t i;

	CHECK(json_is_array(acc));
	json_array_foreach(acc, i, a) {
		json_int_t id = json_integer_value(json_object_get(a,
							 "notification_id"));
		struct store_record rec;
		struct errbuf err;

		CHECK(id > 0);
		CHECK(json_is_string(json_object_get(a, "state")));
		memset(&rec, 0, sizeof(rec));
		CHECK(store_get(ctx->store, id, &rec, &err) == 0);
		CHECK(rec.id == id);
		store_record_release(&rec);
	}
}

static void check_answer(struct api_context *ctx,
			 const struct httpd_request *req,
			 const struct httpd_response *resp, const char *opts)
{
	const char *path = req->path;
	json_t *j = NULL;
	int accept_answer;

	switch (resp->status) {
	case 200: case 201: case 202: case 400: case 401: case 403: case 404:
	case 405: case 409: case 413: case 415: case 503:
		break;
	default:
		fprintf(stderr, "fuzz_api.c: status %d: %.*s\n", resp->status,
			(int)resp->body_len, resp->body ? resp->body : "");
		abort();
	}
	for (size_t i = 0; i < resp->headers_nr; i++) {
		check_text_header(resp->headers[i].name);
		check_text_header(resp->headers[i].value);
	}
	if (resp->status == 401)
		CHECK(httpd_response_header(resp, "WWW-Authenticate"));
	if (resp->status == 405)
		CHECK(httpd_response_header(resp, "Allow"));
	if (resp->status == 503 && strcmp(path, "/readyz"))
		CHECK(httpd_response_header(resp, "Retry-After"));
	if (has(opts, 't') && !strncmp(path, "/api/", 5) &&
	    !is_hook_path(path))
		CHECK((resp->status == 401) == !has_token(req));
	if (has(opts, 's'))
		CHECK(resp->status != 202 && resp->status != 201);

	CHECK(resp->content_type);
	if (strcmp(resp->content_type, "application/json"))
		return;
	CHECK(resp->body && resp->body_len && resp->body[resp->body_len - 1] == '\n');
	for (size_t i = 0; i < resp->body_len; i++)
		CHECK((unsigned char)resp->body[i] < 0x80 && resp->body[i]);
	j = json_loadb(resp->body, resp->body_len, 0, NULL);
	if (!j) {
		fprintf(stderr, "fuzz_api.c: not JSON: %.*s\n",
			(int)resp->body_len, resp->body);
		abort();
	}
	CHECK(json_is_object(j));
	if (resp->status >= 400) {
		const char *e = json_string_value(json_object_get(j, "error"));

		CHECK(e && *e);
	}
	accept_answer = !strcmp(req->method, "POST") &&
			(resp->status == 200 || resp->status == 202) &&
			json_object_get(j, "accepted");
	if (accept_answer)
		check_accepted(ctx, j);
	else
		check_no_secret("the answer", resp->body, resp->body_len);
	json_decref(j);
}

static void check_log(void)
{
	off_t len = lseek(S.log_fd, 0, SEEK_CUR);
	char *buf;

	if (len <= 0)
		return;
	buf = xmalloc((size_t)len);
	CHECK(pread(S.log_fd, buf, (size_t)len, 0) == len);
	check_no_secret("the log", buf, (size_t)len);
	free(buf);
	CHECK(ftruncate(S.log_fd, 0) == 0);
	CHECK(lseek(S.log_fd, 0, SEEK_SET) == 0);
}

/* ---- the target --------------------------------------------------------- */

static void one_request(struct api_context *ctx, char *text, size_t len,
			const char *opts)
{
	struct request r;
	struct httpd_response resp;

	parse_request(&r, text, len, opts);
	httpd_response_init(&resp);
	api_handle(ctx, &r.req, &resp);
	if (getenv("FUZZ_API_VERBOSE"))	/* to see what a seed does */
		fprintf(stderr, "%s %s: %d %.*s\n", r.req.method, r.req.path,
			resp.status, (int)(resp.body_len > 300 ? 300 :
					   resp.body_len),
			resp.body ? resp.body : "");
	check_answer(ctx, &r.req, &resp, opts);
	httpd_response_release(&resp);
	log_flush();
	check_log();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n%%%%\n";
	struct api_context ctx;
	struct errbuf err;
	char *copy, *opts, *p, *end, *nl;
	int n = 0;

	if (!S.store)
		setup();
	if (++S.runs % RESET_EVERY == 0) {
		store_close(S.store);
		S.store = NULL;
		open_store();
	}
	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = copy + size;
	nl = strchr(copy, '\n');
	if (!nl) {
		free(copy);
		return 0;
	}
	*nl = '\0';
	opts = copy;
	p = nl + 1;

	log_init(has(opts, 'v') ? "json" : "logfmt",
		 has(opts, 'v') ? "debug" : "info", &err);
	api_routing_swap(&S.routing, snapshot(opts));
	api_context_init(&ctx);
	ctx.store = S.store;
	ctx.routing = &S.routing;
	ctx.queued = on_queued;
	ctx.ready = on_ready;
	ready_flag = !has(opts, 'n');
	ctx.metrics = &S.metrics;
	ctx.api_token = has(opts, 't') ? api_token : NULL;
	ctx.beyond_loopback = has(opts, 'b');
	if (has(opts, 's'))
		api_set_shutting_down(&ctx);

	while (p <= end && n++ < MAX_REQUESTS) {
		char *next = memmem(p, (size_t)(end - p), sep, strlen(sep));
		size_t len = next ? (size_t)(next - p) : (size_t)(end - p);

		if (next)
			*next = '\0';
		one_request(&ctx, p, len, opts);
		if (!next)
			break;
		p = next + strlen(sep);
	}
	free(copy);
	return 0;
}
