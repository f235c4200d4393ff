/*
 * herald send: delivers events now, for CI pipelines and scripts.
 *
 * Events come from a file or standard input (as for `herald route`) or are
 * built from flags, one flag per event field, into the same JSON form so
 * that validation is identical. Each event is routed, rendered and posted
 * synchronously with provider_deliver(), retrying temporary failures until
 * one shared --timeout. With the log provider nothing is sent: the body
 * that would be is printed.
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

#define DEFAULT_TIMEOUT_S 60.0
#define OPT_EVENT_BASE 256

const char cmd_send_help[] =
"usage: herald send [options] [FILE|-]\n"
"       herald send --type TYPE [--status STATUS] [event flags] [options]\n"
"\n"
"Delivers events now, for CI pipelines and scripts. Reads one event or a\n"
"JSON array of events from FILE (or standard input), or builds one event\n"
"from flags; routes each the way `herald route` shows, and posts it to\n"
"Slack or Discord, retrying temporary failures (rate limits, 5xx answers,\n"
"network errors) until --timeout.\n"
"\n"
"Event flags (instead of FILE; each sets the event field of the same name):\n"
"  --type TYPE                deploy, rollback, delete, gitops, alert, message\n"
"  --status STATUS            started, succeeded, failed, progressing,\n"
"                             applied, healthy, unhealthy, firing, resolved\n"
"  --app NAME                 --env NAME              --actor NAME\n"
"  --repository OWNER/NAME    --sha SHA               --version VERSION\n"
"  --url URL                  --gitops-repository OWNER/NAME\n"
"  --gitops-sha SHA           --title TEXT            --description TEXT\n"
"  --alert-name NAME          --alert-object OBJECT   --alert-url URL\n"
"  --channel DESTINATION      send here instead of routing: #channel, a\n"
"                             channel ID, @person, @U…, @name@example.com\n"
"  --id ID                    --correlation KEY       --timestamp RFC3339\n"
"\n"
"Options:\n"
"  --timeout SECONDS  stop retrying after this long, for all events together\n"
"                     (default 60)\n"
"  --json             one JSON object a line per event: destination,\n"
"                     channel_id, ts (Slack) or message_id (Discord),\n"
"                     attempts, error (null or {code, message})\n"
"\n"
"Without NOTIFICATIONS_PROVIDER nothing is sent: each event's destination\n"
"and body (Slack's, the one herald serve prints then) are printed as one\n"
"JSON line.\n"
"\n"
"Exit status: 0 all events delivered; 1 an event is invalid, unrouted or\n"
"refused for good (the platform's error is shown); 2 usage or configuration\n"
"error; 3 gave up after --timeout on temporary failures only.\n";

/* Each event field's flag, JSON key, and the object holding it. */
static const struct event_flag {
	const char *flag;
	const char *key;
	const char *parent;	/* "alert" or NULL */
} event_flags[] = {
	{ "type", "type", NULL },
	{ "status", "status", NULL },
	{ "app", "app", NULL },
	{ "env", "env", NULL },
	{ "actor", "actor", NULL },
	{ "repository", "repository", NULL },
	{ "sha", "sha", NULL },
	{ "version", "version", NULL },
	{ "url", "url", NULL },
	{ "gitops-repository", "gitops_repository", NULL },
	{ "gitops-sha", "gitops_sha", NULL },
	{ "title", "title", NULL },
	{ "description", "description", NULL },
	{ "alert-name", "name", "alert" },
	{ "alert-object", "object", "alert" },
	{ "alert-url", "url", "alert" },
	{ "channel", "channel", NULL },
	{ "id", "id", NULL },
	{ "correlation", "correlation", NULL },
	{ "timestamp", "timestamp", NULL },
};

#define EVENT_FLAGS_NR (sizeof(event_flags) / sizeof(event_flags[0]))

struct send_opts {
	double timeout_s;
	int json;
	const char *path;
	json_t *flags_event;	/* built from flags, or NULL */
};

/* Sets a flag's field in the event object; returns -1 after a usage error. */
static int set_flag(json_t *ev, const struct event_flag *f, const char *value)
{
	json_t *obj = ev, *v;

	if (f->parent) {
		obj = json_object_get(ev, f->parent);
		if (!obj) {
			obj = json_object();
			json_object_set_new(ev, f->parent, obj);
		}
	}
	if (json_object_get(obj, f->key)) {
		cli_usage_error("send", "--%s is given twice", f->flag);
		return -1;
	}
	v = json_string(value);
	if (!v) {
		cli_usage_error("send", "--%s is not valid UTF-8", f->flag);
		return -1;
	}
	json_object_set_new(obj, f->key, v);
	return 0;
}

static int parse_args(int argc, char **argv, struct send_opts *o)
{
	struct option options[EVENT_FLAGS_NR + 4];
	size_t n = 0;
	int c;

	for (size_t i = 0; i < EVENT_FLAGS_NR; i++)
		options[n++] = (struct option){ event_flags[i].flag,
			required_argument, NULL, OPT_EVENT_BASE + (int)i };
	options[n++] = (struct option){ "timeout", required_argument, NULL, 't' };
	options[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	options[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	options[n] = (struct option){ NULL, 0, NULL, 0 };

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:t:jh", options, NULL)) != -1) {
		if (c >= OPT_EVENT_BASE &&
		    c < OPT_EVENT_BASE + (int)EVENT_FLAGS_NR) {
			if (!o->flags_event)
				o->flags_event = json_object();
			if (set_flag(o->flags_event,
				     &event_flags[c - OPT_EVENT_BASE], optarg))
				return EXIT_USAGE;
			continue;
		}
		switch (c) {
		case 't':
			if (parse_double(optarg, 0.001, 86400, &o->timeout_s) < 0)
				return cli_usage_error("send", "--timeout \"%s\" is not "
						       "a number of seconds from "
						       "0.001 to 86400", optarg);
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			cli_help("send", stdout);
			return -1;
		case ':':
			return cli_usage_error("send", "%s needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("send", "unknown option \"%s\"",
					       argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("send", "takes one FILE, got %d",
				       argc - optind);
	if (argc - optind == 1)
		o->path = argv[optind];
	if (o->path && o->flags_event)
		return cli_usage_error("send", "give either a FILE or event flags "
				       "(--type …), not both");
	if (!o->path && !o->flags_event && isatty(STDIN_FILENO))
		return cli_usage_error("send", "give a FILE with events, \"-\" to "
				       "read them from standard input, or build "
				       "one with --type and the other event flags");
	return 0;
}

/* event_from_json's "/gitops_sha: …" becomes "--gitops-sha: …". */
static void print_flag_error(const char *msg)
{
	char pointer[64];

	for (size_t i = 0; i < EVENT_FLAGS_NR; i++) {
		const struct event_flag *f = &event_flags[i];
		size_t len;

		snprintf(pointer, sizeof(pointer), "%s%s/%s", f->parent ? "/" : "",
			 f->parent ? f->parent : "", f->key);
		len = strlen(pointer);
		if (!strncmp(msg, pointer, len) &&
		    (msg[len] == ':' || msg[len] == ' ')) {
			cli_usage_error("send", "--%s%s", f->flag, msg + len);
			return;
		}
	}
	cli_usage_error("send", "the event built from flags is invalid: %s", msg);
}

static int load_events(struct send_opts *o, struct event **events, size_t *nr)
{
	struct errbuf err;

	if (!o->flags_event)
		return cli_read_events(o->path, events, nr);
	*events = xcalloc(1, sizeof(**events));
	if (event_from_json(&(*events)[0], o->flags_event, "", &err) < 0) {
		free(*events);
		*events = NULL;
		print_flag_error(err.msg);
		return EXIT_USAGE;
	}
	*nr = 1;
	return 0;
}

/*
 * Where messages about event i start: "herald: " for a lone event,
 * "herald: event 2 (deploy succeeded app=api env=production): " in a batch.
 */
static void describe(struct strbuf *sb, const struct event *ev, size_t i,
		     size_t nr)
{
	strbuf_addstr(sb, "herald: ");
	if (nr < 2)
		return;
	strbuf_addf(sb, "event %zu (%s", i, event_type_name(ev->type));
	if (ev->status != EVENT_STATUS_NONE)
		strbuf_addf(sb, " %s", event_status_name(ev->status));
	if (ev->app)
		strbuf_addf(sb, " app=%s", ev->app);
	if (ev->env)
		strbuf_addf(sb, " env=%s", ev->env);
	strbuf_addstr(sb, "): ");
}

static void print_json_line(json_t *line)
{
	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);

	printf("%s\n", text);
	free(text);
	fflush(stdout);
}

static void print_result_json(enum provider_kind kind, const char *dest,
			      const struct delivery_result *r, int attempts,
			      int ok, const char *code, const char *message)
{
	json_t *line = json_object();
	int slack = kind == PROVIDER_SLACK;

	json_object_set_new(line, "destination",
			    dest ? json_string(dest) : json_null());
	json_object_set_new(line, "channel_id", ok && r->channel_id[0] ?
			    json_string(r->channel_id) : json_null());
	json_object_set_new(line, slack ? "ts" : "message_id",
			    ok && r->message_id[0] ? json_string(r->message_id) :
			    json_null());
	json_object_set_new(line, "attempts", json_integer(attempts));
	if (ok)
		json_object_set_new(line, "error", json_null());
	else
		json_object_set_new(line, "error", json_pack("{s:s, s:s}",
				    "code", code, "message", message));
	print_json_line(line);
	json_decref(line);
}

/* The Discord nonce: from the event's ID, else from all of the event. */
static void event_nonce(const struct event *ev, char nonce[26])
{
	json_t *j;
	char *text;

	if (ev->id) {
		provider_nonce(ev->id, nonce);
		return;
	}
	j = event_to_json(ev);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	provider_nonce(text, nonce);
	free(text);
	json_decref(j);
}

struct sender {
	struct cli_env *env;
	struct send_opts *o;
	struct provider *p;		/* NULL for the log provider */
	struct http_client *c;
	double deadline;
	int failed;			/* an event failed for good */
	int gave_up;			/* an event ran out of time */
};

/* The log provider: print what would be sent. */
static void print_log_line(struct sender *s, const struct route *r,
			   const json_t *body)
{
	json_t *line = json_object();

	json_object_set_new(line, "destination", json_string(r->dest.raw));
	json_object_set_new(line, "kind",
			    json_string(destination_kind_word(&r->dest)));
	json_object_set_new(line, "reason", json_string(r->reason));
	json_object_set_new(line, "provider", json_string("log"));
	json_object_set(line, "payload", (json_t *)body);
	print_json_line(line);
	json_decref(line);
}

static void send_one(struct sender *s, const struct event *ev, size_t i,
		     size_t nr)
{
	struct cli_env *env = s->env;
	struct route r = ROUTE_INIT;
	struct strbuf what = STRBUF_INIT;
	struct delivery_result res;
	struct render_ctx ctx = {
		.commit_url = env->cfg.commit_url,
		.service = ev->app ? catalog_lookup(&env->cat, ev->app) : NULL,
	};
	struct errbuf err;
	json_t *body = NULL;
	char nonce[26];
	int attempts = 0, ret;

	delivery_result_clear(&res);
	describe(&what, ev, i, nr);
	if (route_event(&r, ev, &env->cfg, &env->cat, &err) < 0) {
		fprintf(stderr, "%snot sent: %s\n", what.buf, err.msg);
		if (s->o->json)
			print_result_json(env->cfg.provider, NULL, &res, 0, 0,
					  "invalid_destination", err.msg);
		s->failed = 1;
		goto out;
	}
	if (r.source == ROUTE_UNROUTED) {
		/* The reason starts with "unrouted: ". */
		fprintf(stderr, "%snot sent: %s\n", what.buf, r.reason);
		if (s->o->json)
			print_result_json(env->cfg.provider, NULL, &res, 0, 0,
					  "unrouted", r.reason);
		s->failed = 1;
		goto out;
	}
	body = render_for(cli_render_kind(env->cfg.provider), ev, &ctx);
	if (!s->p) {
		print_log_line(s, &r, body);
		goto out;
	}
	event_nonce(ev, nonce);
	ret = provider_deliver(s->p, s->c, &r.dest, body, nonce, NULL, NULL,
			       s->deadline, &res, &attempts);
	if (s->o->json)
		print_result_json(env->cfg.provider, r.dest.raw, &res, attempts,
				  ret == 0, res.code, res.message);
	if (ret == 0) {
		if (!s->o->json)
			printf("delivered to %s (channel %s, %s %s)\n", r.dest.raw,
			       res.channel_id, env->cfg.provider == PROVIDER_SLACK ?
			       "ts" : "message", res.message_id);
	} else if (ret == HERALD_ERETRY) {
		fprintf(stderr, "%sgave up on %s after %d attempt%s "
			"(--timeout %g s): %s\n", what.buf, r.dest.raw, attempts,
			attempts == 1 ? "" : "s", s->o->timeout_s, res.message);
		s->gave_up = 1;
	} else {
		fprintf(stderr, "%snot delivered to %s: %s\n", what.buf,
			r.dest.raw, res.message);
		s->failed = 1;
	}
out:
	json_decref(body);
	route_release(&r);
	strbuf_release(&what);
}

/* Sets up the provider and its HTTP client; returns 0 or EXIT_USAGE. */
static int sender_connect(struct sender *s)
{
	const struct config *cfg = &s->env->cfg;
	struct http_client_options opts = {
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.request_timeout_ms = cfg->request_timeout_ms,
		.allow_insecure_http = cfg->allow_insecure_http,
	};
	struct errbuf err;

	if (provider_new(&s->p, cfg, &err) < 0 ||
	    http_client_new(&s->c, &opts, &err) < 0) {
		fprintf(stderr, "herald: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if (http_client_check_url(s->c, s->p->api_url, &err) < 0) {
		fprintf(stderr, "herald: %s: %s\n", cfg->provider == PROVIDER_SLACK ?
			"HERALD_SLACK_API_URL" : "HERALD_DISCORD_API_URL", err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_send(int argc, char **argv)
{
	struct send_opts o = { DEFAULT_TIMEOUT_S, 0, NULL, NULL };
	struct cli_env env;
	struct sender s;
	struct event *events = NULL;
	size_t nr = 0;
	int ret;

	memset(&env, 0, sizeof(env));
	memset(&s, 0, sizeof(s));
	ret = parse_args(argc, argv, &o);
	if (ret) {
		json_decref(o.flags_event);
		return ret < 0 ? EXIT_OK : ret;
	}
	ret = cli_env_load(&env, 0);
	if (ret)
		goto out;
	ret = load_events(&o, &events, &nr);
	if (ret)
		goto out;
	s.env = &env;
	s.o = &o;
	if (env.cfg.provider != PROVIDER_LOG) {
		ret = sender_connect(&s);
		if (ret)
			goto out;
	}
	s.deadline = monotonic_now() + o.timeout_s;
	for (size_t i = 0; i < nr; i++)
		send_one(&s, &events[i], i, nr);
	ret = s.failed ? EXIT_FAILURE_PERM : s.gave_up ? EXIT_GAVE_UP : EXIT_OK;
out:
	http_client_free(s.c);
	provider_free(s.p);
	event_array_free(events, nr);
	cli_env_release(&env);
	json_decref(o.flags_event);
	return ret;
}
