/*
 * api_hooks: the webhooks of Flux, Alertmanager and GitHub
 * (docs/inputs.md).
 *
 * A hook checks its sender (any one of: the API's bearer token, the same
 * token as ?access_token=, the source's own signature where it has one),
 * hands the body with its headers and query to the source's adapter in
 * inputs/, and ends like POST /api/v1/events (api__accept()), with what the
 * adapter ignored in the answer. A valid payload of the source is never a
 * 400: the adapter drops or shortens what herald cannot use. 400 means not
 * JSON or not the source's shape, 413 over API_HOOK_MAX_BODY, 503 when the
 * store could not take it (the sender retries).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/event.h"
#include "daemon/api_internal.h"
#include "inputs/input.h"
#include "inputs/signature.h"
#include "lib/strbuf.h"

/* The headers and query parameters an adapter is shown, at most. */
#define PARAMS_MAX 64

/* How a source proves who sent it, besides the API token. */
struct hook_auth {
	const char *header;		/* the signature's header, or NULL */
	const char *secret_var;		/* the variable that holds its key */
	int required_off_loopback;	/* the key must be set off loopback */
};

static const struct hook_auth hook_auths[INPUT_SOURCE_NR] = {
	[INPUT_FLUX] = { "X-Signature", "HERALD_FLUX_HMAC_KEY", 0 },
	[INPUT_ALERTMANAGER] = { NULL, NULL, 0 },
	[INPUT_GITHUB] = { "X-Hub-Signature-256",
			   "HERALD_GITHUB_WEBHOOK_SECRET", 1 },
};

static const char *hook_key(enum input_source source,
			    const struct config *cfg)
{
	if (!cfg)
		return NULL;
	if (source == INPUT_FLUX)
		return cfg->flux_hmac_key;
	if (source == INPUT_GITHUB)
		return cfg->github_secret;
	return NULL;
}

/*
 * A 401 of a hook, with the challenge every 401 must carry (RFC 9110
 * 11.6.1), as the rest of the API sends it: the token is a way in for every
 * hook. wrong_token: a token was sent and is wrong (error="invalid_token";
 * not for a wrong signature, which is no bearer token).
 */
static void hook_unauthorized(struct httpd_response *resp, int wrong_token)
{
	httpd_response_add_header(resp, "WWW-Authenticate", wrong_token ?
		"Bearer realm=\"herald\", error=\"invalid_token\"" :
		"Bearer realm=\"herald\"");
}

/*
 * Whether the request may use the hook; when not, answers 401 or 403 and
 * returns 0. Any one right credential lets it in, but every one sent must
 * be right: a wrong token or signature is a 401 even beside a right one. A
 * non-Bearer Authorization header is ignored (Flux lets users add any
 * headers).
 */
static int hook_authorized(struct api_context *ctx,
			   const struct httpd_request *req,
			   enum input_source source, const char *key,
			   struct httpd_response *resp)
{
	const struct hook_auth *a = &hook_auths[source];
	const char *auth = httpd_request_header(req, "Authorization");
	const char *qtoken = httpd_request_query(req, "access_token");
	const char *sig = a->header ? httpd_request_header(req, a->header) :
			  NULL;
	struct errbuf err;
	int passed = 0;

	if (a->required_off_loopback && !key && ctx->beyond_loopback) {
		api__reply_error(resp, 403, NULL, "%s is not set: herald takes "
				 "%s webhooks off loopback only when they are "
				 "signed; set it to the webhook's secret",
				 a->secret_var, input_source_name(source));
		return 0;
	}
	/* Every credential sent must be right; any one right one will do. */
	if (key && sig) {
		if (signature_verify(sig, key, strlen(key), req->body,
				     req->body_len, &err) < 0) {
			api__reply_error(resp, 401, NULL, "%s: %s", a->header,
					 err.msg);
			hook_unauthorized(resp, 0);
			return 0;
		}
		passed = 1;
	}
	if (auth && !strncasecmp(auth, "Bearer ", 7) && ctx->api_token) {
		struct strview tok = strview_trim(STRVIEW(auth + 7));

		if (!tok.len || !api__token_matches(tok.ptr, tok.len,
						    ctx->api_token)) {
			api__reply_error(resp, 401, NULL, "the bearer token is "
					 "not HERALD_API_TOKEN");
			hook_unauthorized(resp, 1);
			return 0;
		}
		passed = 1;
	}
	if (qtoken && ctx->api_token) {
		if (!*qtoken || !api__token_matches(qtoken, strlen(qtoken),
						    ctx->api_token)) {
			api__reply_error(resp, 401, NULL, "access_token is not "
					 "HERALD_API_TOKEN");
			hook_unauthorized(resp, 1);
			return 0;
		}
		passed = 1;
	}
	if (passed)
		return 1;
	if (key && a->header) {
		api__reply_error(resp, 401, NULL, "%s is missing: herald checks "
				 "the signature with %s (or send the API token)",
				 a->header, a->secret_var);
		hook_unauthorized(resp, 0);
		return 0;
	}
	if (ctx->api_token) {
		api__reply_error(resp, 401, NULL, "this hook needs "
				 "HERALD_API_TOKEN, as Authorization: Bearer "
				 "or ?access_token=");
		hook_unauthorized(resp, 0);
		return 0;
	}
	return 1;
}

/*
 * A form-encoded body (GitHub's default: payload=<JSON>). A JSON body
 * sent with a form type (curl -d) is taken as JSON.
 */
static int is_form(const char *ct, const char *body, size_t len)
{
	size_t i = 0;

	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded",
			       strlen("application/x-www-form-urlencoded")))
		return 0;
	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
			   body[i] == '\r' || body[i] == '\n'))
		i++;
	return i == len || body[i] != '{';
}

static int known_app(void *ctx, const char *app)
{
	return catalog_lookup(ctx, app) != NULL;
}

static void copy_params(const struct httpd_kv *from, size_t nr,
			struct input_param *to, size_t *to_nr)
{
	*to_nr = nr < PARAMS_MAX ? nr : PARAMS_MAX;
	for (size_t i = 0; i < *to_nr; i++) {
		to[i].name = from[i].name;
		to[i].value = from[i].value;
	}
}

static void hook(struct api_context *ctx, const struct httpd_request *req,
		 enum input_source source, struct httpd_response *resp)
{
	const struct input_adapter *a = input_adapter_get(source);
	struct api_snapshot *snap = api_routing_current(ctx->routing);
	const struct config *cfg = snap ? &snap->cfg : NULL;
	struct input_param query[PARAMS_MAX], headers[PARAMS_MAX];
	struct input_request in = { 0 };
	struct input_result res;
	struct api_accept o = { .array = 1, .source = a->name };
	const char *labels[INPUT_LABELS_MAX];
	char *labels_copy = NULL;
	struct event *evs = NULL;
	size_t nr = 0;
	struct errbuf err;

	input_result_init(&res);
	if (req->body_too_large || req->body_len > API_HOOK_MAX_BODY) {
		api__reply_error(resp, 413, NULL, "the request body is over %u "
				 "bytes (4 MiB): send fewer alerts per "
				 "notification (Alertmanager: max_alerts)",
				 API_HOOK_MAX_BODY);
		goto out;
	}
	if (!hook_authorized(ctx, req, source, hook_key(source, cfg), resp))
		goto out;
	if (is_form(httpd_request_header(req, "Content-Type"), req->body,
		    req->body_len)) {
		api__reply_error(resp, 415, NULL, "the %s webhook sends form "
				 "data: set its content type to "
				 "application/json", a->name);
		goto out;
	}

	in.body = req->body;
	in.len = req->body_len;
	copy_params(req->query, req->query_nr, query, &in.query_nr);
	copy_params(req->headers, req->headers_nr, headers, &in.headers_nr);
	in.query = query;
	in.headers = headers;
	in.now = time(NULL);
	if (cfg) {
		labels_copy = xstrdup(cfg->alert_app_labels);
		input_set_labels(&in, labels_copy, labels);
	}
	if (snap && snap->has_catalog) {
		in.known_app = known_app;
		in.known_app_ctx = &snap->cat;
	}
	if (input_convert(a, &in, &res, &evs, &nr, &err) < 0) {
		api__reply_error(resp, 400, NULL, "%s", err.msg);
		goto out;
	}
	o.ignored = &res.ignored;
	api__accept(ctx, evs, nr, &o, resp);
out:
	event_array_free(evs, nr);
	input_result_release(&res);
	free(labels_copy);
	api_snapshot_put(snap);
}

void api__hook_flux(struct api_context *ctx, const struct httpd_request *req,
		    int64_t id, struct httpd_response *resp)
{
	hook(ctx, req, INPUT_FLUX, resp);
}

void api__hook_alertmanager(struct api_context *ctx,
			    const struct httpd_request *req, int64_t id,
			    struct httpd_response *resp)
{
	hook(ctx, req, INPUT_ALERTMANAGER, resp);
}

void api__hook_github(struct api_context *ctx,
		      const struct httpd_request *req, int64_t id,
		      struct httpd_response *resp)
{
	hook(ctx, req, INPUT_GITHUB, resp);
}

size_t api_max_body(const char *path)
{
	if (path && (!strncmp(path, "/api/v1/hooks/", 14) ||
		     !strcmp(path, "/api/flux-events")))
		return API_HOOK_MAX_BODY;
	return API_MAX_BODY;
}
