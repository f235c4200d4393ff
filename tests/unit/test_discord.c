/*
 * Unit tests for the Discord provider's pure half: the requests it builds
 * (URL, method, headers, where the token goes, nonce, enforce_nonce and
 * allowed_mentions in the body), how it classifies every answer (each JSON
 * error code of the reference, 401/403/429/5xx, non-JSON bodies, transport
 * failures), and the rate-limit headers and 429 bodies it reads.
 * Resolution that needs no network (IDs, cached names, email) is tested
 * too; the rest runs against the fake in tests/integration/send-discord.t.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "delivery/provider.h"

#define TOKEN "MTE4MDAwMDAwMDAwMDAwMDAwMQ.unit-test.secret-part"
#define CHANNEL "1180000000000000201"
#define MESSAGE "1180000000000009999"

struct fixture {
	struct config cfg;
	struct provider *p;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct errbuf err;

	config_init(&f->cfg);
	f->cfg.provider = PROVIDER_DISCORD;
	f->cfg.token = xstrdup(TOKEN);
	free(f->cfg.discord_api_url);
	f->cfg.discord_api_url = xstrdup("https://discord.example/api/v10/");
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

static const char *header(const struct http_request *req, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < req->headers_nr; i++)
		if (!strncasecmp(req->headers[i], name, len) &&
		    req->headers[i][len] == ':')
			return req->headers[i] + len + 2;
	return NULL;
}

/* What render_discord() builds: content, one embed, allowed_mentions. */
static json_t *sample_body(void)
{
	return json_pack("{s:s, s:[{s:s, s:s, s:i}], s:{s:[]}}",
			 "content", "deploy of api succeeded",
			 "embeds", "title", "api 1.2.3", "description",
			 "@everyone look", "color", 3066993,
			 "allowed_mentions", "parse");
}

static void assert_token_only_in_auth(const struct http_request *req)
{
	size_t in_headers = 0;

	assert_null(strstr(req->url, TOKEN));
	if (req->body)
		assert_null(strstr(req->body, TOKEN));
	for (size_t i = 0; i < req->headers_nr; i++)
		in_headers += count(req->headers[i], TOKEN);
	assert_int_equal(in_headers, 1);
	assert_string_equal(header(req, "Authorization"), "Bot " TOKEN);
}

static void test_post_request(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct errbuf err;
	json_t *body = sample_body(), *sent, *am;

	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->post_request(f->p, CHANNEL, body,
						 "h0123456789abcdef01234567",
						 &req, &err), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, "https://discord.example/api/v10/channels/"
			    CHANNEL "/messages");
	assert_string_equal(header(&req, "User-Agent"),
			    "DiscordBot (" HERALD_URL ", " HERALD_VERSION ")");
	assert_string_equal(header(&req, "Content-Type"), "application/json");
	assert_token_only_in_auth(&req);

	sent = json_loadb(req.body, req.body_len, 0, NULL);
	assert_non_null(sent);
	assert_string_equal(json_string_value(json_object_get(sent, "content")),
			    "deploy of api succeeded");
	assert_int_equal(json_array_size(json_object_get(sent, "embeds")), 1);
	assert_string_equal(json_string_value(json_object_get(sent, "nonce")),
			    "h0123456789abcdef01234567");
	assert_true(json_is_true(json_object_get(sent, "enforce_nonce")));
	am = json_object_get(sent, "allowed_mentions");
	assert_true(json_is_array(json_object_get(am, "parse")));
	assert_int_equal(json_array_size(json_object_get(am, "parse")), 0);
	assert_int_equal(json_object_size(am), 1);
	json_decref(sent);
	json_decref(body);
	http_request_release(&req);
}

static void test_post_request_adds_mentions_and_owns_nonce(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct errbuf err;
	json_t *body, *sent;

	/* No allowed_mentions in the body: herald adds {"parse": []}. */
	body = json_pack("{s:s, s:s, s:b}", "content", "hi", "nonce", "theirs",
			 "enforce_nonce", 0);
	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->post_request(f->p, CHANNEL, body, "mine",
						 &req, &err), 0);
	sent = json_loadb(req.body, req.body_len, 0, NULL);
	assert_non_null(sent);
	assert_int_equal(json_array_size(json_object_get(json_object_get(sent,
			 "allowed_mentions"), "parse")), 0);
	assert_non_null(json_object_get(json_object_get(sent, "allowed_mentions"),
					"parse"));
	/* The caller's nonce wins over one in the body. */
	assert_string_equal(json_string_value(json_object_get(sent, "nonce")),
			    "mine");
	assert_true(json_is_true(json_object_get(sent, "enforce_nonce")));
	json_decref(sent);
	http_request_release(&req);

	/* No nonce from the caller: none sent, and no enforce_nonce. */
	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->post_request(f->p, CHANNEL, body, NULL,
						 &req, &err), 0);
	sent = json_loadb(req.body, req.body_len, 0, NULL);
	assert_null(json_object_get(sent, "nonce"));
	assert_null(json_object_get(sent, "enforce_nonce"));
	assert_non_null(json_object_get(sent, "allowed_mentions"));
	json_decref(sent);
	http_request_release(&req);
	json_decref(body);

	/* allowed_mentions that is not an object is replaced. */
	body = json_pack("{s:s, s:s}", "content", "hi", "allowed_mentions", "all");
	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->post_request(f->p, CHANNEL, body, NULL,
						 &req, &err), 0);
	assert_non_null(strstr(req.body, "\"allowed_mentions\":{\"parse\":[]}"));
	http_request_release(&req);
	json_decref(body);
}

static void test_post_request_errors(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct errbuf err;
	json_t *body = sample_body(), *arr = json_array();

	memset(&req, 0, sizeof(req));
	/* A name that was not resolved is not a channel ID. */
	assert_int_equal(f->p->ops->post_request(f->p, "#deploys", body, NULL,
						 &req, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "not a channel ID"));
	assert_int_equal(f->p->ops->post_request(f->p, "", body, NULL, &req,
						 &err), HERALD_EINVAL);
	assert_int_equal(f->p->ops->post_request(f->p, "123456789012345678901",
						 body, NULL, &req, &err),
			 HERALD_EINVAL);
	assert_int_equal(f->p->ops->post_request(f->p, CHANNEL, arr, NULL, &req,
						 &err), HERALD_EINVAL);
	/* Discord takes nonces of at most 25 characters. */
	assert_int_equal(f->p->ops->post_request(f->p, CHANNEL, body,
						 "12345678901234567890123456",
						 &req, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "25"));
	json_decref(arr);
	json_decref(body);
}

static void test_provider_nonce_fits(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct errbuf err;
	json_t *body = sample_body();
	char nonce[26];

	provider_nonce("a notification with a long identity string", nonce);
	assert_true(strlen(nonce) <= 25);
	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->post_request(f->p, CHANNEL, body, nonce,
						 &req, &err), 0);
	assert_non_null(strstr(req.body, nonce));
	http_request_release(&req);
	json_decref(body);
}

static void test_update_request(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct errbuf err;
	json_t *body, *sent;

	body = json_pack("{s:s, s:[{s:s}], s:s, s:b, s:b}", "content", "edited",
			 "embeds", "title", "api 1.2.4", "nonce", "x",
			 "enforce_nonce", 1, "tts", 0);
	memset(&req, 0, sizeof(req));
	assert_int_equal(f->p->ops->update_request(f->p, CHANNEL, MESSAGE, body,
						   &req, &err), 0);
	assert_string_equal(req.method, "PATCH");
	assert_string_equal(req.url, "https://discord.example/api/v10/channels/"
			    CHANNEL "/messages/" MESSAGE);
	assert_string_equal(header(&req, "User-Agent"),
			    "DiscordBot (" HERALD_URL ", " HERALD_VERSION ")");
	assert_string_equal(header(&req, "Content-Type"), "application/json");
	assert_token_only_in_auth(&req);
	sent = json_loadb(req.body, req.body_len, 0, NULL);
	assert_non_null(sent);
	assert_string_equal(json_string_value(json_object_get(sent, "content")),
			    "edited");
	assert_int_equal(json_array_size(json_object_get(sent, "embeds")), 1);
	/* allowed_mentions again on every edit; no nonce, no create-only keys. */
	assert_int_equal(json_array_size(json_object_get(json_object_get(sent,
			 "allowed_mentions"), "parse")), 0);
	assert_non_null(json_object_get(json_object_get(sent, "allowed_mentions"),
					"parse"));
	assert_null(json_object_get(sent, "nonce"));
	assert_null(json_object_get(sent, "enforce_nonce"));
	assert_null(json_object_get(sent, "tts"));
	json_decref(sent);
	http_request_release(&req);

	assert_int_equal(f->p->ops->update_request(f->p, "#deploys", MESSAGE, body,
						   &req, &err), HERALD_EINVAL);
	assert_int_equal(f->p->ops->update_request(f->p, CHANNEL, "1764150000.1",
						   body, &req, &err),
			 HERALD_EINVAL);
	assert_int_equal(f->p->ops->update_request(f->p, CHANNEL, NULL, body,
						   &req, &err), HERALD_EINVAL);
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

static void parse_resp(struct fixture *f, struct http_response *r,
		       struct delivery_result *out)
{
	memset(out, 0x55, sizeof(*out));	/* everything must be set */
	f->p->ops->parse_response(f->p, r, "#deploys", out);
	http_response_release(r);
}

static void parse(struct fixture *f, long status, const char *body,
		  const char *retry_after, struct delivery_result *out)
{
	struct http_response r;

	make_resp(&r, status, body, retry_after);
	parse_resp(f, &r, out);
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
	for (const char *c = r->message; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static const char message_ok[] =
	"{\"id\":\"" MESSAGE "\",\"type\":0,\"channel_id\":\"" CHANNEL "\","
	"\"author\":{\"id\":\"1180000000000000001\",\"username\":\"herald\"},"
	"\"content\":\"hi\",\"embeds\":[],\"nonce\":\"h01\"}";

static void test_parse_ok(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	parse(f, 200, message_ok, NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_OK);
	assert_string_equal(r.channel_id, CHANNEL);
	assert_string_equal(r.message_id, MESSAGE);
	assert_int_equal(r.http_status, 200);
	assert_true(r.retry_after_s == 0);
	assert_int_equal(r.rl.known, 0);

	/* 2xx without a message object: not Discord, or a broken proxy. */
	parse(f, 200, "<html>ok</html>", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_string_equal(r.code, "http_200");
	assert_non_null(strstr(r.message, "HERALD_DISCORD_API_URL"));
	parse(f, 200, "[]", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	parse(f, 200, "{\"id\":7}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	parse(f, 204, "", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
}

static const struct {
	long status;
	const char *body;
	enum delivery_outcome outcome;
	const char *code;
	const char *hint;	/* a piece of the advice */
} cases[] = {
	/* Credentials. */
	{ 401, "{\"message\":\"401: Unauthorized\",\"code\":0}", DELIVERY_AUTH,
	  "http_401", "NOTIFICATIONS_TOKEN" },
	{ 401, "{\"message\":\"401: Unauthorized\",\"code\":0}", DELIVERY_AUTH,
	  "http_401", "10,000 invalid requests" },
	{ 403, "{\"message\":\"401: Unauthorized\",\"code\":0}", DELIVERY_AUTH,
	  "http_403", "NOTIFICATIONS_TOKEN" },
	{ 403, "{\"message\":\"Unauthorized\",\"code\":40001}", DELIVERY_AUTH,
	  "40001", "10,000" },
	{ 401, "Unauthorized", DELIVERY_AUTH, "http_401", "NOTIFICATIONS_TOKEN" },
	/* The reference's codes. */
	{ 404, "{\"message\":\"Unknown Channel\",\"code\":10003}",
	  DELIVERY_PERMANENT, "10003",
	  "the channel ID does not exist or the bot cannot see it" },
	{ 404, "{\"message\":\"Unknown Message\",\"code\":10008}",
	  DELIVERY_PERMANENT, "10008", "no longer exists" },
	{ 403, "{\"message\":\"Missing Access\",\"code\":50001}",
	  DELIVERY_PERMANENT, "50001",
	  "give the bot View Channel and Send Messages in #deploys" },
	{ 403, "{\"message\":\"Missing Permissions\",\"code\":50013}",
	  DELIVERY_PERMANENT, "50013", "Embed Links" },
	{ 403, "{\"message\":\"Cannot send messages to this user\","
	  "\"code\":50007}", DELIVERY_PERMANENT, "50007",
	  "the user has DMs closed or shares no server with the bot" },
	{ 400, "{\"message\":\"Cannot send an empty message\",\"code\":50006}",
	  DELIVERY_PERMANENT, "50006", "herald bug" },
	{ 400, "{\"message\":\"Invalid Form Body\",\"code\":50035}",
	  DELIVERY_PERMANENT, "50035", "herald bug" },
	{ 400, "{\"message\":\"You are opening direct messages too fast.\","
	  "\"code\":40003}", DELIVERY_RETRY, "40003", "too fast" },
	{ 429, "{\"message\":\"You are opening direct messages too fast.\","
	  "\"code\":40003,\"retry_after\":1.0,\"global\":false}",
	  DELIVERY_RETRY, "40003", "opens direct messages" },
	{ 400, "{\"message\":\"Cannot send messages in a non-text channel\","
	  "\"code\":50008}", DELIVERY_PERMANENT, "50008", "text or announcement" },
	{ 404, "{\"message\":\"Unknown Guild\",\"code\":10004}",
	  DELIVERY_PERMANENT, "10004", "NOTIFICATIONS_DISCORD_GUILD" },
	{ 404, "{\"message\":\"Unknown User\",\"code\":10013}",
	  DELIVERY_PERMANENT, "10013", "user ID" },
	{ 403, "{\"message\":\"internal network error\",\"code\":40333}",
	  DELIVERY_PERMANENT, "40333", "User-Agent" },
	{ 400, "{\"message\":\"Some new thing\",\"code\":40060}",
	  DELIVERY_PERMANENT, "40060", "opcodes-and-status-codes" },
	/* Server errors: retryable, whatever the body. */
	{ 500, "{\"message\":\"500: Internal Server Error\",\"code\":0}",
	  DELIVERY_RETRY, "http_500", "retry later" },
	{ 502, "<html><body>502 Bad Gateway</body></html>", DELIVERY_RETRY,
	  "http_502", "retry later" },
	{ 503, "", DELIVERY_RETRY, "http_503", "retry later" },
	{ 504, "upstream timed out", DELIVERY_RETRY, "http_504", "retry later" },
	{ 503, "{\"message\":\"Service Unavailable\",\"code\":130000}",
	  DELIVERY_RETRY, "130000", "" },
	/* Non-JSON and code-0 answers by status. */
	{ 404, "<html>Not Found</html>", DELIVERY_PERMANENT, "http_404",
	  "HERALD_DISCORD_API_URL" },
	{ 404, "{\"message\":\"404: Not Found\",\"code\":0}", DELIVERY_PERMANENT,
	  "http_404", "HERALD_DISCORD_API_URL" },
	{ 405, "{\"message\":\"405: Method Not Allowed\",\"code\":0}",
	  DELIVERY_PERMANENT, "http_405", "HERALD_DISCORD_API_URL" },
	{ 403, "<!DOCTYPE html><title>Access denied | Cloudflare</title>",
	  DELIVERY_PERMANENT, "http_403", "Cloudflare" },
	{ 400, "{\"message\":\"400: Bad Request\",\"code\":0}",
	  DELIVERY_PERMANENT, "http_400", "herald bug" },
	{ 413, "<html>Request Entity Too Large</html>", DELIVERY_PERMANENT,
	  "http_413", "too large" },
	{ 301, "", DELIVERY_PERMANENT, "http_301", "HERALD_DISCORD_API_URL" },
	{ 429, "<html>slow down</html>", DELIVERY_RETRY, "rate_limited",
	  "rate-limiting" },
};

static void test_classification(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(f, cases[i].status, cases[i].body, NULL, &r);
		if (r.outcome != cases[i].outcome ||
		    strcmp(r.code, cases[i].code) ||
		    !strstr(r.message, cases[i].hint))
			print_message("case %zu: HTTP %ld %s -> %s %s: %s\n", i,
				      cases[i].status, cases[i].body,
				      delivery_outcome_name(r.outcome), r.code,
				      r.message);
		assert_int_equal(r.outcome, cases[i].outcome);
		assert_string_equal(r.code, cases[i].code);
		assert_non_null(strstr(r.message, cases[i].hint));
		assert_int_equal(r.http_status, cases[i].status);
		assert_int_equal(strncmp(r.message, "Discord: ", 9), 0);
		assert_valid_texts(&r);
		assert_null(strstr(r.message, "<html>"));
		assert_int_equal(r.channel_id[0], '\0');
		assert_int_equal(r.message_id[0], '\0');
	}
}

static void test_message_names_code_and_destination(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	parse(f, 404, "{\"message\":\"Unknown Channel\",\"code\":10003}", NULL,
	      &r);
	assert_string_equal(r.message, "Discord: 10003 Unknown Channel for "
			    "\"#deploys\": the channel ID does not exist or the "
			    "bot cannot see it: check the ID (Developer Mode, "
			    "right-click the channel, Copy Channel ID) and that "
			    "the bot is in that server");
	/* Without Discord's message, the code's name stands in. */
	parse(f, 403, "{\"code\":50001}", NULL, &r);
	assert_non_null(strstr(r.message, "50001 Missing Access for"));
}

static void test_invalid_form_body_path(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;

	parse(f, 400, "{\"message\":\"Invalid Form Body\",\"code\":50035,"
	      "\"errors\":{\"embeds\":{\"0\":{\"fields\":{\"1\":{\"value\":"
	      "{\"_errors\":[{\"code\":\"BASE_TYPE_REQUIRED\",\"message\":"
	      "\"This field is required\"}]}}}}},\"content\":{\"_errors\":"
	      "[{\"code\":\"BASE_TYPE_MAX_LENGTH\",\"message\":\"Must be 2000 "
	      "or fewer in length.\"}]}}}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_string_equal(r.code, "50035");
	assert_non_null(strstr(r.message, "embeds.0.fields.1.value: This field "
			       "is required (BASE_TYPE_REQUIRED)"));
	/* Only the first. */
	assert_null(strstr(r.message, "BASE_TYPE_MAX_LENGTH"));

	/* An error of the whole body. */
	parse(f, 400, "{\"message\":\"Invalid Form Body\",\"code\":50035,"
	      "\"errors\":{\"_errors\":[{\"code\":\"CONTENT_TYPE_INVALID\","
	      "\"message\":\"Expected application/json\"}]}}", NULL, &r);
	assert_non_null(strstr(r.message, "(the body): Expected "
			       "application/json (CONTENT_TYPE_INVALID)"));

	/* Odd shapes are survived. */
	parse(f, 400, "{\"code\":50035,\"errors\":{\"a\":{\"_errors\":[]},"
	      "\"b\":[1],\"c\":{\"_errors\":\"x\"}}}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_valid_texts(&r);
}

static void test_ratelimit_headers(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;
	struct http_response resp;

	/* Read from every answer: a success... */
	make_resp(&resp, 200, message_ok, NULL);
	resp.ratelimit_remaining = xstrdup("4");
	resp.ratelimit_reset_after = xstrdup("4.987");
	resp.ratelimit_bucket = xstrdup("4426f71665b17ca2031bc8fdf3db9b80");
	parse_resp(f, &resp, &r);
	assert_int_equal(r.outcome, DELIVERY_OK);
	assert_int_equal(r.rl.known, 1);
	assert_int_equal(r.rl.remaining, 4);
	assert_true(r.rl.reset_after_s > 4.986 && r.rl.reset_after_s < 4.988);
	assert_string_equal(r.rl.bucket, "4426f71665b17ca2031bc8fdf3db9b80");
	assert_int_equal(r.rl.global, 0);

	/* ...and a failure. */
	make_resp(&resp, 404, "{\"message\":\"Unknown Channel\",\"code\":10003}",
		  NULL);
	resp.ratelimit_remaining = xstrdup("0");
	resp.ratelimit_reset_after = xstrdup("0.25");
	parse_resp(f, &resp, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_int_equal(r.rl.known, 1);
	assert_int_equal(r.rl.remaining, 0);
	assert_true(r.rl.reset_after_s == 0.25);
	assert_string_equal(r.rl.bucket, "");

	/* Garbage is ignored, and a hostile bucket is kept printable. */
	make_resp(&resp, 200, message_ok, NULL);
	resp.ratelimit_remaining = xstrdup("-1");
	resp.ratelimit_reset_after = xstrdup("soon");
	parse_resp(f, &resp, &r);
	assert_int_equal(r.rl.known, 0);
	make_resp(&resp, 200, message_ok, NULL);
	resp.ratelimit_bucket = xstrdup("a\x01" "b c\xc3\xa9"
					"0123456789012345678901234567890123456789"
					"0123456789012345678901234567890123456789");
	parse_resp(f, &resp, &r);
	assert_int_equal(r.rl.known, 1);
	assert_int_equal(strncmp(r.rl.bucket, "a?b?c??012", 10), 0);
	assert_int_equal(strlen(r.rl.bucket), sizeof(r.rl.bucket) - 1);
}

static void test_429(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;
	struct http_response resp;

	/* The body's fractional retry_after wins over the rounded header. */
	make_resp(&resp, 429, "{\"message\":\"You are being rate limited.\","
		  "\"retry_after\":2.517,\"global\":false}", "3");
	resp.ratelimit_scope = xstrdup("user");
	resp.ratelimit_remaining = xstrdup("0");
	resp.ratelimit_reset_after = xstrdup("2.517");
	resp.ratelimit_bucket = xstrdup("abcd");
	parse_resp(f, &resp, &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_string_equal(r.code, "rate_limited");
	assert_true(r.retry_after_s == 2.517);
	assert_int_equal(r.http_status, 429);
	assert_int_equal(r.rl.global, 0);
	assert_int_equal(r.rl.remaining, 0);
	assert_string_equal(r.rl.bucket, "abcd");
	assert_non_null(strstr(r.message, "scope user"));
	assert_non_null(strstr(r.message, "2.52 s"));
	assert_non_null(strstr(r.message, "10,000"));
	assert_valid_texts(&r);

	/* The global limit, from the body or the header. */
	parse(f, 429, "{\"message\":\"You are being rate limited.\","
	      "\"retry_after\":64.57,\"global\":true}", NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_true(r.retry_after_s == 64.57);
	assert_int_equal(r.rl.global, 1);
	assert_non_null(strstr(r.message, "global"));
	make_resp(&resp, 429, "{\"retry_after\":0.5}", NULL);
	resp.ratelimit_global = xstrdup("true");
	resp.ratelimit_scope = xstrdup("global");
	parse_resp(f, &resp, &r);
	assert_int_equal(r.rl.global, 1);
	assert_true(r.retry_after_s == 0.5);

	/* No usable body: the Retry-After header. */
	parse(f, 429, "", "7", &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_true(r.retry_after_s == 7.0);
	parse(f, 429, "{\"retry_after\":\"soon\"}", "1.5", &r);
	assert_true(r.retry_after_s == 1.5);
	parse(f, 429, "{\"retry_after\":-4}", "2", &r);
	assert_true(r.retry_after_s == 2.0);
	/* Nothing usable at all: unsaid. */
	parse(f, 429, "{}", "later", &r);
	assert_int_equal(r.outcome, DELIVERY_RETRY);
	assert_true(r.retry_after_s == 0);
	/* Absurd waits are capped. */
	parse(f, 429, "{\"retry_after\":1e300}", NULL, &r);
	assert_true(r.retry_after_s == 86400.0);
}

static void test_transport_errors(void **state)
{
	static const struct {
		enum http_transport t;
		enum delivery_outcome outcome;
		const char *code;
	} tcases[] = {
		{ HTTP_ERR_TIMEOUT, DELIVERY_RETRY, "timeout" },
		{ HTTP_ERR_CONNECT, DELIVERY_RETRY, "network" },
		{ HTTP_ERR_OTHER, DELIVERY_RETRY, "network" },
		{ HTTP_ERR_TLS, DELIVERY_RETRY, "tls" },
		{ HTTP_ERR_TOO_LARGE, DELIVERY_PERMANENT, "response_too_large" },
	};
	struct fixture *f = *state;
	struct delivery_result r;
	struct http_response resp;

	for (size_t i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
		http_response_init(&resp);
		resp.transport = tcases[i].t;
		snprintf(resp.error, sizeof(resp.error),
			 "POST https://discord.example/api/v10/x: boom");
		f->p->ops->parse_response(f->p, &resp, "#deploys", &r);
		assert_int_equal(r.outcome, tcases[i].outcome);
		assert_string_equal(r.code, tcases[i].code);
		assert_int_equal(r.http_status, 0);
		assert_int_equal(r.rl.known, 0);
		assert_non_null(strstr(r.message, "boom"));
		http_response_release(&resp);
	}
}

static void test_hostile_message(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;
	struct strbuf body = STRBUF_INIT;

	/* Control characters, invalid UTF-8 and a very long message. */
	strbuf_addstr(&body, "{\"code\":50013,\"message\":\"bad \\u001b[31m\\\"x");
	for (int i = 0; i < 600; i++)
		strbuf_addstr(&body, "\xc3\xa9");
	strbuf_addstr(&body, "\"}");
	parse(f, 403, body.buf, NULL, &r);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_string_equal(r.code, "50013");
	assert_valid_texts(&r);
	assert_null(strchr(r.message, '\x1b'));
	strbuf_release(&body);

	/* A server that echoes the token: not even part of it is kept. */
	parse(f, 404, "{\"code\":10003,\"message\":\"bad " TOKEN "\"}", NULL, &r);
	assert_string_equal(r.code, "10003");
	assert_non_null(strstr(r.message, "bad …"));
	assert_valid_texts(&r);
	strbuf_addstr(&body, "{\"code\":0,\"message\":\"");
	for (int i = 0; i < 190; i++)
		strbuf_addch(&body, 'x');
	strbuf_addstr(&body, TOKEN "\"}");
	parse(f, 400, body.buf, NULL, &r);
	assert_null(strstr(r.message, "MTE4MDAw"));
	assert_non_null(strstr(r.message, "xx…"));
	strbuf_release(&body);
	parse(f, 400, "{\"code\":50035,\"errors\":{\"" TOKEN "\":{\"_errors\":"
	      "[{\"code\":\"X\",\"message\":\"" TOKEN "\"}]}}}", NULL, &r);
	assert_valid_texts(&r);
	assert_non_null(strstr(r.message, "…: … (X)"));

	/* A code that is not an integer, or out of range: by status. */
	parse(f, 403, "{\"code\":\"50013\",\"message\":\"x\"}", NULL, &r);
	assert_string_equal(r.code, "http_403");
	parse(f, 400, "{\"code\":-5}", NULL, &r);
	assert_string_equal(r.code, "http_400");
	parse(f, 400, "{\"code\":99999999999}", NULL, &r);
	assert_string_equal(r.code, "http_400");
}

static void test_resolve_without_network(void **state)
{
	struct fixture *f = *state;
	struct delivery_result r;
	struct strbuf ch = STRBUF_INIT;
	struct destination d;
	struct errbuf err;

	/* Channel IDs pass through: no client, no request. */
	assert_int_equal(destination_parse(&d, CHANNEL, PROVIDER_DISCORD, &err),
			 0);
	assert_int_equal(d.kind, DEST_CHANNEL_ID);
	assert_int_equal(f->p->ops->resolve(f->p, NULL, &d, &ch, &r), 0);
	assert_string_equal(ch.buf, CHANNEL);
	assert_int_equal(r.outcome, DELIVERY_OK);
	destination_release(&d);

	/* Names and people already resolved come from the cache. */
	strbuf_reset(&ch);
	provider_cache_put(f->p, "#deploys", CHANNEL, time(NULL) + 60);
	assert_int_equal(destination_parse(&d, "#deploys", PROVIDER_DISCORD,
					   &err), 0);
	assert_int_equal(f->p->ops->resolve(f->p, NULL, &d, &ch, &r), 0);
	assert_string_equal(ch.buf, CHANNEL);
	destination_release(&d);

	strbuf_reset(&ch);
	provider_cache_put(f->p, "@jane", "1180000000000000777", time(NULL) + 60);
	assert_int_equal(destination_parse(&d, "@jane", PROVIDER_DISCORD, &err),
			 0);
	assert_int_equal(f->p->ops->resolve(f->p, NULL, &d, &ch, &r), 0);
	assert_string_equal(ch.buf, "1180000000000000777");
	destination_release(&d);

	/* Discord has no lookup by email (parse refuses it too). */
	strbuf_reset(&ch);
	d.kind = DEST_USER_EMAIL;
	d.raw = xstrdup("@jane@example.com");
	d.target = xstrdup("jane@example.com");
	assert_int_equal(f->p->ops->resolve(f->p, NULL, &d, &ch, &r),
			 HERALD_EPERM);
	assert_int_equal(r.outcome, DELIVERY_PERMANENT);
	assert_non_null(strstr(r.message, "Discord cannot message by email"));
	assert_int_equal(ch.len, 0);
	destination_release(&d);
	strbuf_release(&ch);
}

static void test_bad_tokens(void **state)
{
	struct config cfg;
	struct provider *p = NULL;
	struct errbuf err;

	(void)state;
	config_init(&cfg);
	cfg.provider = PROVIDER_DISCORD;
	cfg.token = xstrdup("Bot " TOKEN);
	assert_int_equal(provider_new(&p, &cfg, &err), HERALD_EINVAL);
	assert_null(p);
	assert_non_null(strstr(err.msg, "\"Bot \""));
	assert_null(strstr(err.msg, TOKEN));
	free(cfg.token);
	cfg.token = xstrdup(TOKEN "\n");
	assert_int_equal(provider_new(&p, &cfg, &err), HERALD_EINVAL);
	assert_null(strstr(err.msg, TOKEN));
	assert_non_null(strstr(err.msg, "NOTIFICATIONS_TOKEN"));
	config_release(&cfg);

	/* The default API URL, and the guild kept. */
	config_init(&cfg);
	cfg.provider = PROVIDER_DISCORD;
	cfg.token = xstrdup(TOKEN);
	cfg.discord_guild = xstrdup("1180000000000000100");
	assert_int_equal(provider_new(&p, &cfg, &err), 0);
	assert_string_equal(p->api_url, "https://discord.com/api/v10");
	assert_string_equal(p->guild, "1180000000000000100");
	assert_string_equal(p->ops->name, "discord");
	assert_int_equal(p->ops->kind, PROVIDER_DISCORD);
	provider_free(p);
	config_release(&cfg);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_post_request),
		T(test_post_request_adds_mentions_and_owns_nonce),
		T(test_post_request_errors),
		T(test_provider_nonce_fits),
		T(test_update_request),
		T(test_parse_ok),
		T(test_classification),
		T(test_message_names_code_and_destination),
		T(test_invalid_form_body_path),
		T(test_ratelimit_headers),
		T(test_429),
		T(test_transport_errors),
		T(test_hostile_message),
		T(test_resolve_without_network),
		cmocka_unit_test(test_bad_tokens),
	};

	return cmocka_run_group_tests_name("discord", tests, NULL, NULL);
}
