/*
 * herald check: is the configuration good, and does it work?
 *
 * Loads the configuration like every command, then goes online: checks the
 * token (Slack auth.test, Discord GET /users/@me) and resolves every
 * destination the configuration names (the default channel, each channel
 * mapping, each catalog ownerIm), once each. --send-test also posts a short
 * test message to each. Slack has no way to check a channel name with the
 * scopes herald asks for short of posting, so those are reported as such.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "inputs/event_json.h"
#include "cli/cmd_help.h"
#include "delivery/provider.h"
#include "core/render.h"
#include "lib/clock.h"

#define DEFAULT_TIMEOUT_S 30.0

const char cmd_check_help[] =
"usage: herald check [--send-test] [--json] [--timeout SECONDS]\n"
"\n"
"Checks the configuration, then goes online: verifies the token (Slack\n"
"auth.test, Discord GET /users/@me: who the bot is, in which workspace)\n"
"and resolves every destination the configuration names, once each: the\n"
"default channel, each NOTIFICATIONS_CHANNEL_MAPPING channel and each\n"
"catalog ownerIm. People are looked up and their direct-message channel\n"
"opened. Slack channel names cannot be checked without posting (herald's\n"
"scopes cannot read channels): they are reported as not verified; use\n"
"--send-test for them.\n"
"\n"
"  --send-test        also post a short test message to each destination\n"
"  --json             print the report as one JSON object\n"
"  --timeout SECONDS  how long --send-test retries temporary failures, for\n"
"                     all destinations together (default 30)\n"
"\n"
"Without NOTIFICATIONS_PROVIDER there is nothing to check online.\n"
"\n"
"Exit status: 0 the token and every destination work; 1 the token or a\n"
"destination failed; 2 usage or configuration error.\n";

struct check_opts {
	int send_test;
	int json;
	double timeout_s;
};

/* One distinct destination and what was found out about it. */
struct dest {
	char *key;		/* for deduplication */
	char *raw;
	struct destination d;
	int invalid;
	json_t *sources;	/* ["default channel", "env production", …] */
	const char *status;	/* "ok", "unverified", "failed", "invalid",
				   "unchecked" */
	int verified;		/* checked online, not just accepted */
	char channel_id[64];
	struct strbuf detail;	/* the human-readable outcome */
	struct delivery_result res;	/* a failure */
	int tested;
	int test_ret;
	struct delivery_result test;
};

struct dest_list {
	struct dest *items;
	size_t nr;
	size_t alloc;
};

static int parse_args(int argc, char **argv, struct check_opts *o)
{
	static const struct option options[] = {
		{ "send-test", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:sjt:h", options, NULL)) != -1) {
		switch (c) {
		case 's':
			o->send_test = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 't':
			if (parse_double(optarg, 0.001, 86400, &o->timeout_s) < 0)
				return cli_usage_error("check", "--timeout \"%s\" is "
						       "not a number of seconds "
						       "from 0.001 to 86400", optarg);
			break;
		case 'h':
			cli_help("check", stdout);
			return -1;
		case ':':
			return cli_usage_error("check", "%s needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("check", "unknown option \"%s\"",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("check", "takes no arguments, got \"%s\"",
				       argv[optind]);
	return 0;
}

static void add_dest(struct dest_list *l, const char *raw, const char *source,
		     enum provider_kind provider)
{
	struct destination d;
	struct errbuf err;
	struct strbuf key = STRBUF_INIT;
	struct dest *x;
	int bad = destination_parse(&d, raw, provider, &err) < 0;

	if (bad)
		strbuf_addf(&key, "invalid:%s", raw);
	else if (d.kind == DEST_CHANNEL_NAME)
		strbuf_addf(&key, "#%s", d.target);
	else
		strbuf_addstr(&key, d.raw);
	for (size_t i = 0; i < l->nr; i++) {
		if (!strcmp(l->items[i].key, key.buf)) {
			json_array_append_new(l->items[i].sources,
					      json_string(source));
			if (!bad)
				destination_release(&d);
			strbuf_release(&key);
			return;
		}
	}
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->items = xrealloc(l->items, l->alloc * sizeof(*l->items));
	}
	x = &l->items[l->nr++];
	memset(x, 0, sizeof(*x));
	x->key = strbuf_detach(&key, NULL);
	x->raw = xstrdup(raw);
	x->sources = json_array();
	json_array_append_new(x->sources, json_string(source));
	strbuf_init(&x->detail, 4096);
	x->status = "unchecked";
	if (bad) {
		x->invalid = 1;
		x->status = "invalid";
		strbuf_addstr(&x->detail, err.msg);
	} else {
		x->d = d;
	}
}

static void collect(struct dest_list *l, const struct cli_env *env)
{
	const struct config *cfg = &env->cfg;
	struct strbuf source = STRBUF_INIT;

	if (cfg->default_channel)
		add_dest(l, cfg->default_channel, "default channel", cfg->provider);
	for (size_t i = 0; i < cfg->mapping_nr; i++) {
		strbuf_reset(&source);
		strbuf_addf(&source, "env %s", cfg->mapping[i].env);
		add_dest(l, cfg->mapping[i].channel, source.buf, cfg->provider);
	}
	for (size_t i = 0; i < env->cat.nr; i++) {
		const struct catalog_service *svc = &env->cat.services[i];

		if (!svc->owner_im)
			continue;
		strbuf_reset(&source);
		strbuf_addf(&source, "owner IM of %s", svc->name);
		add_dest(l, svc->owner_im, source.buf, cfg->provider);
	}
	strbuf_release(&source);
}

static void dest_list_release(struct dest_list *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		struct dest *x = &l->items[i];

		free(x->key);
		free(x->raw);
		if (!x->invalid)
			destination_release(&x->d);
		json_decref(x->sources);
		strbuf_release(&x->detail);
	}
	free(l->items);
}

static void sources_text(struct strbuf *sb, const json_t *sources)
{
	size_t i;
	json_t *s;

	json_array_foreach(sources, i, s)
		strbuf_addf(sb, "%s%s", i ? ", " : "", json_string_value(s));
}

static void resolve_one(struct provider *p, struct http_client *c,
			struct dest *x)
{
	struct strbuf chan = STRBUF_INIT;
	int slack_channel = p->ops->kind == PROVIDER_SLACK &&
			    !destination_is_dm(&x->d);

	if (p->ops->resolve(p, c, &x->d, &chan, &x->res) < 0) {
		x->status = "failed";
		strbuf_addstr(&x->detail, x->res.message);
		goto out;
	}
	x->status = "ok";
	if (slack_channel) {
		x->status = "unverified";
		strbuf_addstr(&x->detail, "Slack channels can be checked only "
			      "by posting: use --send-test");
		goto out;
	}
	x->verified = 1;
	snprintf(x->channel_id, sizeof(x->channel_id), "%s", chan.buf);
	strbuf_addf(&x->detail, "%s %s", destination_is_dm(&x->d) ?
		    "direct message channel" : "channel", chan.buf);
out:
	strbuf_release(&chan);
}

static json_t *test_body(enum provider_kind kind, const struct cli_env *env)
{
	char host[256];
	struct strbuf title = STRBUF_INIT;
	struct render_ctx ctx = { .commit_url = env->cfg.commit_url };
	struct event ev;
	struct errbuf err;
	json_t *obj, *body = NULL;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "an unnamed host");
	host[sizeof(host) - 1] = '\0';
	strbuf_addstr(&title, "herald check: test message from ");
	for (const char *h = host; *h; h++)	/* plain ASCII, valid JSON */
		strbuf_addch(&title, *h > ' ' && *h < 0x7f ? *h : '?');
	obj = json_pack("{s:s, s:s, s:s}", "type", "message",
			"title", title.buf,
			"description", "Sent by `herald check --send-test` to "
			"check that herald can post here. You can delete it.");
	if (obj && event_from_json(&ev, obj, "", &err) == 0) {
		body = render_for(kind, &ev, &ctx);
		event_release(&ev);
	}
	json_decref(obj);
	strbuf_release(&title);
	return body;
}

static void send_test(struct provider *p, struct http_client *c,
		      struct dest *x, const json_t *body, double deadline)
{
	char nonce[26];
	struct strbuf identity = STRBUF_INIT;
	int attempts = 0;

	strbuf_addf(&identity, "check:%s:%.0f", x->raw, monotonic_now());
	provider_nonce(identity.buf, nonce);
	x->tested = 1;
	x->test_ret = provider_deliver(p, c, &x->d, body, nonce, NULL, NULL,
				       deadline, &x->test, &attempts);
	strbuf_reset(&x->detail);
	if (x->test_ret == 0) {
		x->verified = 1;
		if (!x->channel_id[0])
			snprintf(x->channel_id, sizeof(x->channel_id), "%s",
				 x->test.channel_id);
		strbuf_addf(&x->detail, "test message sent (channel %s, %s %s)",
			    x->test.channel_id, p->ops->kind == PROVIDER_SLACK ?
			    "ts" : "message", x->test.message_id);
	} else {
		x->status = "failed";
		x->res = x->test;
		strbuf_addf(&x->detail, "%stest message not sent: %s",
			    x->test_ret == HERALD_ERETRY ? "gave up: " : "",
			    x->test.message);
	}
	strbuf_release(&identity);
}

static json_t *error_json(const struct delivery_result *r)
{
	return json_pack("{s:s, s:s}", "code", r->code, "message", r->message);
}

static void print_report_json(const char *provider, const char *identity,
			      const struct delivery_result *token_err,
			      const struct dest_list *l, int ok)
{
	json_t *report = json_object(), *dests = json_array();
	char *text;

	json_object_set_new(report, "provider", json_string(provider));
	json_object_set_new(report, "ok", json_boolean(ok));
	json_object_set_new(report, "identity",
			    identity ? json_string(identity) : json_null());
	json_object_set_new(report, "token_error", token_err ?
			    error_json(token_err) : json_null());
	for (size_t i = 0; i < l->nr; i++) {
		const struct dest *x = &l->items[i];
		json_t *d = json_object();
		int failed = !strcmp(x->status, "failed");

		json_object_set_new(d, "destination", json_string(x->raw));
		json_object_set(d, "sources", x->sources);
		json_object_set_new(d, "kind", x->invalid ? json_null() :
				    json_string(destination_kind_word(&x->d)));
		json_object_set_new(d, "status", json_string(x->status));
		json_object_set_new(d, "verified", json_boolean(x->verified));
		json_object_set_new(d, "channel_id", x->channel_id[0] ?
				    json_string(x->channel_id) : json_null());
		json_object_set_new(d, "detail", json_string(x->detail.buf));
		json_object_set_new(d, "error", failed ? error_json(&x->res) :
				    json_null());
		json_object_set_new(d, "test_message", !x->tested ? json_null() :
			x->test_ret == 0 ?
			json_pack("{s:s, s:s}", "channel_id", x->test.channel_id,
				  "message_id", x->test.message_id) :
			json_pack("{s:o}", "error", error_json(&x->test)));
		json_array_append_new(dests, d);
	}
	json_object_set_new(report, "destinations", dests);
	text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(report);
}

static void print_dests_human(const struct dest_list *l)
{
	struct strbuf src = STRBUF_INIT;

	if (!l->nr)
		printf("destinations: none configured (events need a \"channel\", "
		       "or set NOTIFICATIONS_DEFAULT_CHANNEL, "
		       "NOTIFICATIONS_CHANNEL_MAPPING or catalog ownerIm)\n");
	for (size_t i = 0; i < l->nr; i++) {
		const struct dest *x = &l->items[i];

		strbuf_reset(&src);
		sources_text(&src, x->sources);
		if (!strcmp(x->status, "ok") && x->tested)
			printf("%s (%s): ok: %s\n", x->raw, src.buf, x->detail.buf);
		else if (!strcmp(x->status, "ok"))
			printf("%s (%s): ok (%s)\n", x->raw, src.buf, x->detail.buf);
		else if (!strcmp(x->status, "unchecked") && !x->detail.len)
			printf("%s (%s): not checked online\n", x->raw, src.buf);
		else if (!strcmp(x->status, "unverified"))
			printf("%s (%s): not verified (%s)\n", x->raw, src.buf,
			       x->detail.buf);
		else
			printf("%s (%s): %s: %s\n", x->raw, src.buf, x->status,
			       x->detail.buf);
	}
	strbuf_release(&src);
}

/*
 * What the token's shape says when the platform refused it (the loading
 * already refused a token of the other platform's shape).
 */
static const char *token_hint(const struct config *cfg)
{
	const char *t = cfg->token;

	if (!t || cfg->provider != PROVIDER_SLACK || !strncmp(t, "xoxb-", 5))
		return NULL;
	if (!strncmp(t, "xoxp-", 5))
		return "NOTIFICATIONS_TOKEN is a Slack user token (xoxp-…): use "
		       "the app's Bot User OAuth Token (xoxb-…, OAuth & "
		       "Permissions)";
	return "NOTIFICATIONS_TOKEN does not start with xoxb-, as a Slack bot "
	       "token does: use the app's Bot User OAuth Token (OAuth & "
	       "Permissions)";
}

/* The provider and its HTTP client; returns 0 or EXIT_USAGE. */
static int connect_provider(const struct config *cfg, struct provider **p,
			    struct http_client **c)
{
	struct http_client_options opts = {
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.request_timeout_ms = cfg->request_timeout_ms,
		.allow_insecure_http = cfg->allow_insecure_http,
	};
	struct errbuf err;

	if (provider_new(p, cfg, &err) < 0 ||
	    http_client_new(c, &opts, &err) < 0) {
		fprintf(stderr, "herald: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if (http_client_check_url(*c, (*p)->api_url, &err) < 0) {
		fprintf(stderr, "herald: %s: %s\n", cfg->provider == PROVIDER_SLACK ?
			"HERALD_SLACK_API_URL" : "HERALD_DISCORD_API_URL", err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	struct check_opts o = { 0, 0, DEFAULT_TIMEOUT_S };
	struct cli_env env;
	struct dest_list l = { NULL, 0, 0 };
	struct provider *p = NULL;
	struct http_client *c = NULL;
	struct strbuf who = STRBUF_INIT;
	struct delivery_result token_res;
	const char *provider_name;
	json_t *body = NULL;
	int ret, invalid = 0, failed = 0, token_ok = 0;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	ret = cli_env_load(&env, 1);
	if (ret)
		goto out;
	provider_name = provider_kind_name(env.cfg.provider);
	collect(&l, &env);
	for (size_t i = 0; i < l.nr; i++)
		invalid |= l.items[i].invalid;

	if (env.cfg.provider == PROVIDER_LOG) {
		if (o.json) {
			print_report_json(provider_name, NULL, NULL, &l, !invalid);
		} else {
			printf("configuration: %s (provider log)\n",
			       invalid ? "invalid destinations" : "ok");
			printf("provider: NOTIFICATIONS_PROVIDER is not set: nothing "
			       "to check online (notifications are printed, not "
			       "delivered; set it to slack or discord)\n");
			print_dests_human(&l);
		}
		ret = invalid ? EXIT_USAGE : EXIT_OK;
		goto out;
	}
	ret = connect_provider(&env.cfg, &p, &c);
	if (ret)
		goto out;
	if (!o.json)
		printf("configuration: %s (provider %s)\n",
		       invalid ? "invalid destinations" : "ok", provider_name);

	delivery_result_clear(&token_res);
	token_ok = p->ops->identify(p, c, &who, &token_res) == 0;
	if (!o.json) {
		if (token_ok)
			printf("token: ok (%s)\n", who.buf);
		else {
			printf("token: failed: %s\n", token_res.message);
			if (token_hint(&env.cfg))
				printf("token: %s\n", token_hint(&env.cfg));
		}
	}
	if (token_ok) {
		double deadline = monotonic_now() + o.timeout_s;

		if (o.send_test)
			body = test_body(env.cfg.provider, &env);
		for (size_t i = 0; i < l.nr; i++) {
			struct dest *x = &l.items[i];

			if (x->invalid)
				continue;
			resolve_one(p, c, x);
			if (body && (!strcmp(x->status, "ok") ||
				     !strcmp(x->status, "unverified"))) {
				x->status = "ok";
				send_test(p, c, x, body, deadline);
			}
			failed |= !strcmp(x->status, "failed");
		}
	} else {
		for (size_t i = 0; i < l.nr; i++)
			if (!l.items[i].invalid)
				strbuf_addstr(&l.items[i].detail, "not checked: the "
					      "token does not work");
	}
	if (o.json)
		print_report_json(provider_name, token_ok ? who.buf : NULL,
				  token_ok ? NULL : &token_res, &l,
				  token_ok && !failed && !invalid);
	else
		print_dests_human(&l);
	ret = invalid ? EXIT_USAGE : (!token_ok || failed) ?
	      EXIT_FAILURE_PERM : EXIT_OK;
out:
	json_decref(body);
	http_client_free(c);
	provider_free(p);
	strbuf_release(&who);
	dest_list_release(&l);
	cli_env_release(&env);
	return ret;
}
