/*
 * herald route: the dry run. Reads events (herald's own JSON, or with
 * --from a webhook body of Flux, Alertmanager or GitHub, converted as the
 * daemon's hooks convert it), routes and renders each, and prints where it
 * would go, why, and the exact body that would be sent; and whether an
 * active silence of HERALD_DATABASE (read-only) would hold it back.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_help.h"
#include "core/render.h"
#include "core/silence.h"
#include "daemon/store.h"
#include "inputs/input.h"
#include "lib/rfc3339.h"
#include "lib/strbuf.h"

/* At most this many --query and --header options. */
#define PARAMS_MAX 32

const char cmd_route_help[] =
"usage: herald route [--provider slack|discord] [--json] [FILE...|-]\n"
"       herald route --from SOURCE [--env ENV] [--app APP]\n"
"                    [--query NAME=VALUE]... [--header 'NAME: VALUE']...\n"
"                    [--provider slack|discord] [--json] [FILE...|-]\n"
"\n"
"Reads one event or a JSON array of events from each FILE in turn (or from\n"
"standard input) and prints, for each, where it would go, why, and the\n"
"exact JSON body that would be sent. Nothing is sent. Without\n"
"NOTIFICATIONS_PROVIDER (or --provider) the body is Slack's, the one\n"
"herald serve prints then.\n"
"\n"
"With --from, FILE is a webhook body of Flux, Alertmanager or GitHub,\n"
"converted as herald serve's hooks convert it (docs/inputs.md): each\n"
"resulting event is printed with the converted event, then what was\n"
"ignored and why.\n"
"\n"
"  --provider NAME  render for slack or discord instead of the configured\n"
"                   provider\n"
"  --json           one JSON object a line per event: destination, kind,\n"
"                   reason, provider, payload (and event, with --from);\n"
"                   {\"ignored\": ...} a line per ignored item\n"
"  --from SOURCE    flux, alertmanager or github\n"
"  --env, --app     the hook's ?env= and ?app=\n"
"  --query N=V      another query parameter (alertmanager: group=true,\n"
"                   min_severity=warning; flux: repo=owner/name)\n"
"  --header 'N: V'  a request header (github: X-GitHub-Event, default\n"
"                   deployment_status by the body's shape)\n"
"\n"
"When HERALD_DATABASE exists, an event an active silence matches says so\n"
"(\"silenced: by silence 3 ...\"; --json: \"silence\"): herald serve would\n"
"not post it as a new message (edits of a message already posted still\n"
"go). The database is only read.\n"
"\n"
"Exit status: 0 all events valid; 1 an event is invalid (the error names\n"
"the field) or the body is not the source's payload; 2 usage or\n"
"configuration error.\n";

/*
 * The body as it would be posted: Slack's chat.postMessage carries the
 * channel in the body (people get their D… channel at delivery, so a direct
 * message shows none); Discord's channel is in the URL.
 */
static json_t *body_for(enum provider_kind provider, const struct event *ev,
			const struct route *r, const struct cli_env *env)
{
	struct render_ctx ctx = {
		.commit_url = env->cfg.commit_url,
		.service = ev->app ? catalog_lookup(&env->cat, ev->app) : NULL,
	};
	json_t *body = render_for(cli_render_kind(provider), ev, &ctx);

	if (provider == PROVIDER_SLACK && r->source != ROUTE_UNROUTED &&
	    !destination_is_dm(&r->dest))
		json_object_set_new(body, "channel",
				    json_string(r->dest.kind == DEST_CHANNEL_ID ?
						r->dest.target : r->dest.raw));
	return body;
}

/* The active silences of HERALD_DATABASE, read once per run. */
struct silences {
	struct silence *set;
	size_t nr;
	double now;
};

/* Reads them; a database that does not exist (yet) has none. */
static void silences_read(struct silences *sl, const struct config *cfg)
{
	struct errbuf err;
	int ret;

	sl->now = (double)time(NULL);
	ret = store_silence_peek(cfg->database ? cfg->database :
				 CONFIG_DEFAULT_DATABASE, sl->now, &sl->set,
				 &sl->nr, &err);
	if (ret < 0 && ret != HERALD_ENOENT)
		fprintf(stderr, "herald: warning: HERALD_DATABASE: cannot read "
			"the silences: %s\n", err.msg);
}

/* The active silence that holds ev back, or NULL. */
static const struct silence *silenced_by(const struct silences *sl,
					 const struct event *ev,
					 const struct route *r)
{
	struct silence_subject subj;

	if (!sl->nr || r->source == ROUTE_UNROUTED)
		return NULL;
	silence_subject_of(&subj, ev, r->dest.raw);
	return silence_find(sl->set, sl->nr, &subj, sl->now);
}

static void print_silenced(const struct silence *s)
{
	char until[RFC3339_BUF] = "?";

	rfc3339_format(s->ends_at, until);
	printf("  silenced:    by silence %lld until %s (\"%s\"): not posted "
	       "as a new message; edits of a message already posted still "
	       "go\n", (long long)s->id, until, s->comment ? s->comment : "");
}

static void print_human(const struct event *ev, const struct route *r,
			enum provider_kind provider, json_t *body, int converted,
			const struct silences *sl)
{
	const struct silence *silence = silenced_by(sl, ev, r);
	char *text = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	printf("%s", event_type_name(ev->type));
	if (ev->status != EVENT_STATUS_NONE)
		printf(" %s", event_status_name(ev->status));
	if (ev->app)
		printf(" app=%s", ev->app);
	if (ev->env)
		printf(" env=%s", ev->env);
	printf("\n");
	if (r->source == ROUTE_UNROUTED)
		printf("  destination: none (unrouted)\n");
	else
		printf("  destination: %s (%s)\n", r->dest.raw,
		       destination_is_dm(&r->dest) ? "direct message" : "channel");
	printf("  reason:      %s\n", r->reason);
	if (silence)
		print_silenced(silence);
	printf("  provider:    %s\n", provider_kind_name(provider));
	if (converted) {
		json_t *evj = event_to_json(ev);
		char *evtext = json_dumps(evj, JSON_COMPACT | JSON_PRESERVE_ORDER);

		printf("  event:       %s\n", evtext);
		free(evtext);
		json_decref(evj);
	}
	printf("  payload:\n%s\n\n", text);
	free(text);
}

static void print_json(const struct event *ev, const struct route *r,
		       enum provider_kind provider, json_t *body, int converted,
		       const struct silences *sl)
{
	const struct silence *silence = silenced_by(sl, ev, r);
	json_t *line = json_object();
	char *text;
	int routed = r->source != ROUTE_UNROUTED;

	json_object_set_new(line, "destination",
			    routed ? json_string(r->dest.raw) : json_null());
	json_object_set_new(line, "kind", routed ?
			    json_string(destination_kind_word(&r->dest)) :
			    json_null());
	json_object_set_new(line, "reason", json_string(r->reason));
	if (silence)
		json_object_set_new(line, "silence",
				    silence_to_json(silence, sl->now));
	json_object_set_new(line, "provider",
			    json_string(provider_kind_name(provider)));
	json_object_set(line, "payload", body);
	if (converted)
		json_object_set_new(line, "event", event_to_json(ev));
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(line);
}

static int known_app(void *ctx, const char *app)
{
	return catalog_lookup(ctx, app) != NULL;
}

/* "NAME=VALUE" (query) or "NAME: VALUE" (header) into p. */
static int split_param(const char *arg, char sep, struct input_param *p,
		       char **owned)
{
	const char *at = strchr(arg, sep);
	const char *value;

	if (!at || at == arg)
		return -1;
	value = at + 1;
	while (sep == ':' && *value == ' ')
		value++;
	*owned = xstrndup(arg, (size_t)(at - arg));
	p->name = *owned;
	p->value = value;
	return 0;
}

/*
 * Reads path and converts it with adapter a into *events; prints the
 * adapter's error and returns EXIT_FAILURE_PERM when it is not the
 * source's payload.
 */
static int read_converted(const char *path, const struct input_adapter *a,
			  struct input_request *req, struct cli_env *env,
			  struct input_result *res, struct event **events,
			  size_t *nr)
{
	struct strbuf text = STRBUF_INIT;
	struct errbuf err;
	const char *name = (!path || !strcmp(path, "-")) ? "<stdin>" : path;
	const char *labels[INPUT_LABELS_MAX];
	char *labels_copy = xstrdup(env->cfg.alert_app_labels);
	int ret = 0;

	if (cli_read_file(path, CLI_INPUT_MAX, &text, &err) < 0) {
		fprintf(stderr, "herald: %s\n", err.msg);
		ret = EXIT_USAGE;
		goto out;
	}
	req->body = text.buf;
	req->len = text.len;
	req->now = time(NULL);
	input_set_labels(req, labels_copy, labels);
	req->known_app = known_app;
	req->known_app_ctx = &env->cat;
	if (input_convert(a, req, res, events, nr, &err) < 0) {
		fprintf(stderr, "herald: %s: %s\n", name, err.msg);
		ret = EXIT_FAILURE_PERM;
	}
out:
	req->body = NULL;
	req->app_labels = NULL;
	req->app_labels_nr = 0;
	free(labels_copy);
	strbuf_release(&text);
	return ret;
}

static void print_ignored(const struct errlist *ignored, int json)
{
	for (size_t i = 0; i < ignored->nr; i++) {
		if (json) {
			json_t *line = json_pack("{s:s}", "ignored",
						 ignored->items[i]);
			char *text = json_dumps(line, JSON_COMPACT);

			printf("%s\n", text);
			free(text);
			json_decref(line);
		} else {
			if (!i)
				printf("ignored:\n");
			printf("  %s\n", ignored->items[i]);
		}
	}
}

/*
 * Routes and prints the events of one file (NULL: standard input), or
 * with from the events its webhook body converts to; returns an exit
 * status.
 */
static int route_file(const char *path, const struct input_adapter *from,
		      struct input_request *req, struct cli_env *env, int json,
		      const struct silences *sl)
{
	enum provider_kind provider = env->cfg.provider;
	struct event *events = NULL;
	struct input_result res;
	size_t nr = 0;
	int ret;

	input_result_init(&res);
	if (from)
		ret = read_converted(path, from, req, env, &res, &events, &nr);
	else
		ret = cli_read_events(path, &events, &nr);
	if (ret)
		goto out;

	for (size_t i = 0; i < nr; i++) {
		struct route r = ROUTE_INIT;
		struct errbuf err;
		json_t *body;

		if (route_event(&r, &events[i], &env->cfg, &env->cat,
				&err) < 0) {
			if (nr > 1)
				fprintf(stderr, "herald: %s: /%zu: %s\n",
					path ? path : "<stdin>", i, err.msg);
			else
				fprintf(stderr, "herald: %s: %s\n",
					path ? path : "<stdin>", err.msg);
			route_release(&r);
			ret = EXIT_FAILURE_PERM;
			continue;
		}
		body = body_for(provider, &events[i], &r, env);
		if (json)
			print_json(&events[i], &r, provider, body, from != NULL,
				   sl);
		else
			print_human(&events[i], &r, provider, body, from != NULL,
				    sl);
		json_decref(body);
		route_release(&r);
	}
	print_ignored(&res.ignored, json);
	if (from && !nr && !res.ignored.nr && !json)
		printf("no events\n");
out:
	event_array_free(events, nr);
	input_result_release(&res);
	return ret;
}

int cmd_route(int argc, char **argv)
{
	static const struct option options[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "from", required_argument, NULL, 'f' },
		{ "env", required_argument, NULL, 'e' },
		{ "app", required_argument, NULL, 'a' },
		{ "query", required_argument, NULL, 'q' },
		{ "header", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_env env;
	const char *path = NULL;
	const char *provider_name = NULL;
	enum provider_kind provider;
	const struct input_adapter *from = NULL;
	struct input_param query[PARAMS_MAX], headers[PARAMS_MAX];
	char *owned[2 * PARAMS_MAX];
	size_t owned_nr = 0;
	struct input_request req = { 0 };
	struct silences sl = { NULL, 0, 0 };
	int json = 0, env_loaded = 0, c, ret;

	req.query = query;
	req.headers = headers;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:jf:e:a:q:H:h", options,
				NULL)) != -1) {
		switch (c) {
		case 'f':
			from = input_adapter_find(optarg);
			if (!from || !from->convert) {
				ret = cli_usage_error("route", "--from \"%s\" is "
						      "not a webhook source; "
						      "expected %s", optarg,
						      input_adapter_names());
				goto out;
			}
			break;
		case 'e':
		case 'a':
			if (req.query_nr == PARAMS_MAX)
				goto too_many;
			query[req.query_nr].name = c == 'e' ? "env" : "app";
			query[req.query_nr++].value = optarg;
			break;
		case 'q':
		case 'H':
			if (req.query_nr == PARAMS_MAX ||
			    req.headers_nr == PARAMS_MAX)
				goto too_many;
			if (split_param(optarg, c == 'q' ? '=' : ':',
					c == 'q' ? &query[req.query_nr] :
					&headers[req.headers_nr],
					&owned[owned_nr]) < 0) {
				ret = cli_usage_error("route", "--%s \"%s\": "
						      "expected %s", c == 'q' ?
						      "query" : "header", optarg,
						      c == 'q' ? "NAME=VALUE" :
						      "NAME: VALUE");
				goto out;
			}
			owned_nr++;
			if (c == 'q')
				req.query_nr++;
			else
				req.headers_nr++;
			break;
		case 'p':
			provider_name = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			ret = cli_help("route", stdout);
			goto out;
		default:
			ret = cli_usage_error("route", "unknown option \"%s\"",
					      argv[optind - 1]);
			goto out;
		}
	}
	if (!from && (req.query_nr || req.headers_nr)) {
		ret = cli_usage_error("route", "--env, --app, --query and "
				      "--header go with --from");
		goto out;
	}
	if (argc - optind >= 1)
		path = argv[optind];
	if (!path && isatty(STDIN_FILENO)) {
		ret = cli_usage_error("route", "give a FILE with events, or "
				      "\"-\" to read them from standard input");
		goto out;
	}

	ret = cli_env_load(&env, provider_name != NULL);
	env_loaded = 1;
	if (ret)
		goto out;
	provider = env.cfg.provider;
	if (provider_name && provider_kind_parse(provider_name, &provider) < 0) {
		ret = cli_usage_error("route", "--provider \"%s\" is not a "
				      "provider; expected slack or discord",
				      provider_name);
		goto out;
	}
	env.cfg.provider = provider;
	silences_read(&sl, &env.cfg);
	if (optind == argc) {
		ret = route_file(NULL, from, &req, &env, json, &sl);
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		int r = route_file(argv[i], from, &req, &env, json, &sl);

		if (r > ret)
			ret = r;
	}
	goto out;
too_many:
	ret = cli_usage_error("route", "at most %d --query and --header "
			      "options", PARAMS_MAX);
out:
	silence_array_free(sl.set, sl.nr);
	if (env_loaded)
		cli_env_release(&env);
	for (size_t i = 0; i < owned_nr; i++)
		free(owned[i]);
	return ret;
}
