/*
 * Unit tests for the Slack provider's pure half: the requests it builds
 * (URL, headers, body, where the token goes) and how it classifies every
 * answer: each error code of the reference, 429 with Retry-After, HTML
 * error pages and transport failures. Resolution of channels and cached
 * people, which needs no network, is tested too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "delivery/provider.h"
#include "lib/redact.h"

#define TOKEN "xoxb-1234-unit-test-secret"

struct fixture {
	struct config cfg;
	struct provider *p;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct errbuf err;

	config_init(&f->cfg);
	f->cfg.provider = PROVIDER_SLACK;
	f->cfg.token = xstrdup(TOKEN);
	free(f->cfg.slack_api_url);
	f->cfg.slack_api_url = xstrdup("https://slack.example/api/");
	assert_int_equal(provider_new(&f->p, &f->cfg, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	provider_free(f->p);
	config_release(&f->cfg);
	free(f);
	return 0;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static json_t *sample_body(void)
{
	return json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}], s:b}",
			 "text", "deploy of api succeeded",
			 "blocks", "type", "section", "text", "type", "mrkdwn",
			 "text", "*api* is live",
			 "unfurl_links", 0);
}

static const char *header(const struct http_request *req, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < req->headers_nr; i++)
		if (!strncasecmp(req->headers[i], name, len) &&
		    req->headers[i][len] == ':')
			return req->headers[i] + len + 2;
	return NULL;
}

static void test_post_request(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct errbuf err;
	json_t *body = sample_body(), *sent;
	size_t in_headers = 0;

	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->post_request(f->p, "#deploys", body, NULL,
						 &req, &err), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, "https://slack.example/api/chat.postMessage");
	assert_string_equal(header(&req, "Authorization"), "Bearer " TOKEN);
	assert_string_equal(header(&req, "Content-Type"),
			    "application/json; charset=utf-8");
	sent = json_loadb(req.body, req.body_len, 0, NULL);
	assert_non_null(sent);
	assert_string_equal(json_string_value(json_object_get(sent, "channel")),
			    "#deploys");
	assert_string_equal(json_string_value(json_object_get(sent, "text")),
			    "deploy of api succeeded");
	assert_int_equal(json_array_size(json_object_get(sent, "blocks")), 1);
	assert_true(json_is_false(json_object_get(sent, "unfurl_links")));
	/* The channel comes first, for whoever reads a request log. */
	assert_memory_equal(req.body, "{\"channel\":", 11);
	/* The token is in the Authorization header and nowhere else. */
	assert_null(strstr(req.url, TOKEN));
	assert_null(strstr(req.body, TOKEN));
	for (size_t i = 0; i < req.headers_nr; i++)
		in_headers += count(req.headers[i], TOKEN);
	assert_int_equal(in_headers, 1);
	json_decref(sent);
	json_decref(body);
	http_request_release(&req);
}

static void test_post_request_errors(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct errbuf err;
	json_t *arr = json_array(), *body = sample_body();

	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->post_request(f->p, "#deploys", arr, NULL,
						 &req, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "not a JSON object"));
	assert_int_equal(f->p->ops->post_request(f->p, "", body, NULL, &req,
						 &err), HERALD_EINVAL);
	assert_null(req.url);
	json_decref(arr);
	json_decref(body);
}

static void test_update_request(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct errbuf err;
	json_t *body = sample_body(), *sent;

	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->update_request(f->p, "C0000000001",
						   "1764150000.000100", body,
						   &req, &err), 0);
	assert_string_equal(req.url, "https://slack.example/api/chat.update");
	assert_string_equal(header(&req, "Authorization"), "Bearer " TOKEN);
	sent = json_loadb(req.body, req.body_len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(sent, "channel")),
			    "C0000000001");
	assert_string_equal(json_string_value(json_object_get(sent, "ts")),
			    "1764150000.000100");
	assert_non_null(json_object_get(sent, "blocks"));
	assert_null(json_object_get(sent, "unfurl_links"));
	assert_null(strstr(req.body, TOKEN));
	json_decref(sent);
	http_request_release(&req);

	/* An edit needs the channel ID, not a name. */
	assert_int_equal(f->p->ops->update_request(f->p, "#deploys",
						   "1764150000.000100", body,
						   &req, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "C…/D…"));
	assert_int_equal(f->p->ops->update_request(f->p, "C0000000001", "",
						   body, &req, &err),
			 HERALD_EINVAL);
	json_decref(body);
}

static void make_resp(struct http_response *r, long status, const char *body,
		      const char *retry_after)
{
	http_response_init(r);
	r->transport = HTTP_OK;
	r->status = status;
	if (body)
		strbuf_addstr(&r->body, body);
	r->retry_after = xstrdup(retry_after);
}

static void parse(struct fixture *f, long status, const char *body,
		  const char *retry_after, struct delivery_result *out)
{
	struct http_response r;

	make_resp(&r, status, body, retry_after);
	memset(out, 0x55, sizeof(*out));	/* everything must be set */
	f->p->ops->parse_response(f->p, &r, "#deploys", out);
	http_response_release(&r);
}

static void assert_valid_texts(const struct delivery_result *r)
{
	json_t *s = json_string(r->message);

	assert_non_null(s);	/* valid UTF-8 */
	json_decref(s);
	s = json_string(r->code);
	assert_non_null(s);
	json_decref(s);
	assert_null(strstr(r->message, TOKEN));
}

static void test_parse_ok(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	parse(f, 200, "{\"ok\":true,\"channel\":\"C0000000001\","
	      "\"ts\":\"1764150000.000100\",\"message\":{\"text\":\"x\"},"
	      "\"warning\":\"missing_charset\"}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_OK);
	assert_string_equal(r.channel_id, "C0000000001");
	assert_string_equal(r.message_id, "1764150000.000100");
	assert_int_equal(r.http_status, 200);
	assert_true(r.retry_after_s == 0);
	/* Success is ok:true, whatever the status says. */
	parse(f, 201, "{\"ok\":true,\"channel\":\"D0000000001\",\"ts\":\"1.2\"}",
	      NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_OK);
	assert_string_equal(r.channel_id, "D0000000001");
}

static const struct {
	const char *code;
	enum delivery_outcome outcome;
	const char *hint;	/* a piece of the advice */
} codes[] = {
	/* Retryable (the reference's list, and rate_limited). */
	{ "internal_error", DELIVERY_RETRY, "retry later" },
	{ "fatal_error", DELIVERY_RETRY, "retry later" },
	{ "service_unavailable", DELIVERY_RETRY, "temporarily unavailable" },
	{ "request_timeout", DELIVERY_RETRY, "timed out" },
	{ "rate_limited", DELIVERY_RETRY, "too many messages" },
	/* Credentials. */
	{ "invalid_auth", DELIVERY_AUTH, "NOTIFICATIONS_TOKEN" },
	{ "not_authed", DELIVERY_AUTH, "set NOTIFICATIONS_TOKEN" },
	{ "account_inactive", DELIVERY_AUTH, "reinstall the app" },
	{ "token_revoked", DELIVERY_AUTH, "revoked" },
	{ "token_expired", DELIVERY_AUTH, "expired" },
	{ "not_allowed_token_type", DELIVERY_AUTH, "bot token" },
	/* Permanent. */
	{ "missing_scope", DELIVERY_PERMANENT, "OAuth & Permissions" },
	{ "channel_not_found", DELIVERY_PERMANENT, "invite the app" },
	{ "not_in_channel", DELIVERY_PERMANENT, "/invite @yourbot" },
	{ "is_archived", DELIVERY_PERMANENT, "unarchive" },
	{ "invalid_blocks", DELIVERY_PERMANENT, "herald bug" },
	{ "invalid_blocks_format", DELIVERY_PERMANENT, "herald bug" },
	{ "msg_too_long", DELIVERY_PERMANENT, "too long" },
	{ "msg_blocks_too_long", DELIVERY_PERMANENT, "too long" },
	{ "no_text", DELIVERY_PERMANENT, "no text" },
	{ "user_not_found", DELIVERY_PERMANENT, "no such user" },
	{ "users_not_found", DELIVERY_PERMANENT, "email address" },
	{ "user_disabled", DELIVERY_PERMANENT, "deactivated" },
	{ "cannot_dm_bot", DELIVERY_PERMANENT, "bot user" },
	{ "message_not_found", DELIVERY_PERMANENT, "no longer exists" },
	{ "cant_update_message", DELIVERY_PERMANENT, "not posted by this app" },
	{ "edit_window_closed", DELIVERY_PERMANENT, "too old" },
	{ "restricted_action", DELIVERY_PERMANENT, "Slack admin" },
	{ "team_access_not_granted", DELIVERY_PERMANENT, "grant it access" },
	{ "invalid_arguments", DELIVERY_PERMANENT, "herald bug" },
	{ "unknown_method", DELIVERY_PERMANENT, "HERALD_SLACK_API_URL" },
	{ "some_future_error", DELIVERY_PERMANENT, "api.slack.com/methods" },
};

static void test_parse_error_codes(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;
	char body[256], prefix[128];

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(body, sizeof(body), "{\"ok\":false,\"error\":\"%s\"}",
			 codes[i].code);
		snprintf(prefix, sizeof(prefix), "Slack: %s for \"#deploys\": ",
			 codes[i].code);
		parse(f, 200, body, NULL, &r);
		assert_int_equal(r.outcome, codes[i].outcome);
		assert_string_equal(r.code, codes[i].code);
		assert_int_equal(strncmp(r.message, prefix, strlen(prefix)), 0);
		assert_non_null(strstr(r.message, codes[i].hint));
		assert_int_equal(r.http_status, 200);
		assert_valid_texts(&r);
	}
}

static void test_missing_scope_names_scope(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	parse(f, 200, "{\"ok\":false,\"error\":\"missing_scope\","
	      "\"needed\":\"im:write\",\"provided\":\"chat:write,users:read\"}",
	      NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_non_null(strstr(r.message, "lacks the im:write scope"));
	assert_non_null(strstr(r.message, "chat:write,users:read"));
}

static void test_invalid_blocks_details(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	parse(f, 200, "{\"ok\":false,\"error\":\"invalid_blocks\","
	      "\"response_metadata\":{\"messages\":[\"[ERROR] must be less than "
	      "151 characters [json-pointer:/blocks/0/text]\"]}}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_non_null(strstr(r.message, "json-pointer:/blocks/0/text"));
}

static void test_rate_limited_429(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	parse(f, 429, "{\"ok\":false,\"error\":\"ratelimited\"}", "30", &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_string_equal(r.code, "ratelimited");
	assert_true(r.retry_after_s == 30.0);
	assert_int_equal(r.http_status, 429);
	assert_non_null(strstr(r.message, "Retry-After 30 s"));

	/* A 429 is retryable whatever its body says, or without one. */
	parse(f, 429, "Too Many Requests", "7", &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_string_equal(r.code, "ratelimited");
	assert_true(r.retry_after_s == 7.0);
	parse(f, 429, "{\"ok\":false,\"error\":\"channel_not_found\"}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_true(r.retry_after_s == 0);

	/* Unparseable Retry-After values count as unsaid. */
	parse(f, 429, "", "soon", &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_true(r.retry_after_s == 0);
	parse(f, 429, "", "-5", &r);
	assert_true(r.retry_after_s == 0);
	parse(f, 429, "", "1.5", &r);
	assert_true(r.retry_after_s == 1.5);
}

static void test_http_errors_without_json(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	parse(f, 502, "<html><head><title>502 Bad Gateway</title></head>"
	      "<body><h1>502 Bad Gateway</h1></body></html>", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_string_equal(r.code, "http_502");
	assert_int_equal(r.http_status, 502);
	assert_null(strstr(r.message, "<html>"));
	assert_valid_texts(&r);

	parse(f, 503, "", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_string_equal(r.code, "http_503");

	/* JSON errors with a 5xx status are retryable too. */
	parse(f, 500, "{\"ok\":false,\"error\":\"internal_error\"}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_string_equal(r.code, "internal_error");

	parse(f, 404, "<html>Not Found</html>", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_string_equal(r.code, "http_404");
	assert_non_null(strstr(r.message, "HERALD_SLACK_API_URL"));

	parse(f, 200, "{\"ok\":\"yes\"}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	parse(f, 200, "[true]", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);

	/* ok:false without an error code. */
	parse(f, 200, "{\"ok\":false}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_string_equal(r.code, "unknown_error");
}

static void test_transport_errors(void **state)
{
	static const struct {
		enum http_transport t;
		enum delivery_outcome outcome;
		const char *code;
	} cases[] = {
		{ HTTP_ERR_TIMEOUT, DELIVERY_RETRY, "timeout" },
		{ HTTP_ERR_CONNECT, DELIVERY_RETRY, "network" },
		{ HTTP_ERR_OTHER, DELIVERY_RETRY, "network" },
		{ HTTP_ERR_TLS, DELIVERY_RETRY, "tls" },
		{ HTTP_ERR_TOO_LARGE, DELIVERY_PERMANENT, "response_too_large" },
	};
	struct fixture *f = *state;
	struct delivery_result r;
	struct http_response resp;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http_response_init(&resp);
		resp.transport = cases[i].t;
		snprintf(resp.error, sizeof(resp.error),
			 "POST https://slack.example/api/chat.postMessage: boom");
		f->p->ops->parse_response(f->p, &resp, "#deploys", &r);
		assert_int_equal(r.outcome, cases[i].outcome);
		assert_string_equal(r.code, cases[i].code);
		assert_int_equal(r.http_status, 0);
		assert_non_null(strstr(r.message, "boom"));
		http_response_release(&resp);
	}
}

static void test_hostile_error_code(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;
	struct strbuf body = STRBUF_INIT;

	/* Control characters, quotes and a very long code. */
	strbuf_addstr(&body, "{\"ok\":false,\"error\":\"bad \\u001b[31m\\\"x");
	for (int i = 0; i < 300; i++)
		strbuf_addstr(&body, "\xc3\xa9");
	strbuf_addstr(&body, "\"}");
	parse(f, 200, body.buf, NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_valid_texts(&r);
	assert_null(strchr(r.message, '\x1b'));
	assert_null(strchr(r.code, ' '));
	assert_true(strlen(r.code) < sizeof(r.code));
	strbuf_release(&body);
}

/*
 * A registered token the platform echoes as its error code is redacted
 * before the code is cut: not even its first 63 characters stay.
 */
static void test_echoed_token_code(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;
	struct strbuf token = STRBUF_INIT, body = STRBUF_INIT;

	strbuf_addstr(&token, "xoxe.xoxb-1-");
	for (int i = 0; i < 120; i++)
		strbuf_addch(&token, 'A' + i % 26);
	redact_add_secret(token.buf);
	strbuf_addf(&body, "{\"ok\":false,\"error\":\"%s\"}", token.buf);
	parse(f, 200, body.buf, NULL, &r);
	assert_string_equal(r.code, "\xe2\x80\xa6");
	assert_null(strstr(r.message, "xoxe.xoxb-1-ABC"));
	assert_non_null(strstr(r.message, "Slack: \xe2\x80\xa6 for"));
	assert_valid_texts(&r);
	redact_clear_secrets();
	strbuf_release(&token);
	strbuf_release(&body);
}

static void test_resolve_without_network(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;
	struct strbuf ch = STRBUF_INIT;
	struct destination d;
	struct errbuf err;

	/* Names pass through to chat.postMessage; IDs are used as they are. */
	assert_int_equal(destination_parse(&d, "deploys", PROVIDER_SLACK, &err), 0);
	assert_int_equal(f->p->ops->resolve(f->p, NULL, &d, &ch, &r), 0);
	assert_string_equal(ch.buf, "#deploys");
	destination_release(&d);
	strbuf_reset(&ch);
	assert_int_equal(destination_parse(&d, "C0000000004", PROVIDER_SLACK,
					   &err), 0);
	assert_int_equal(f->p->ops->resolve(f->p, NULL, &d, &ch, &r), 0);
	assert_string_equal(ch.buf, "C0000000004");
	destination_release(&d);

	/* A person already resolved comes from the cache, with no request. */
	strbuf_reset(&ch);
	provider_cache_put(f->p, "@jane@example.com", "D0000000001",
			   time(NULL) + 60);
	assert_int_equal(destination_parse(&d, "@jane@example.com",
					   PROVIDER_SLACK, &err), 0);
	assert_int_equal(f->p->ops->resolve(f->p, NULL, &d, &ch, &r), 0);
	assert_string_equal(ch.buf, "D0000000001");
	assert_int_equal(r.outcome, DELIVERY_OK);
	destination_release(&d);
	strbuf_release(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_post_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_request_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_update_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_error_codes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_scope_names_scope,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_blocks_details, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited_429, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_errors_without_json,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile_error_code, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_echoed_token_code, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resolve_without_network,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("slack", tests, NULL, NULL);
}
