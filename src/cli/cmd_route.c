/*
 * herald route: the dry run. Reads events, routes and renders each, and
 * prints where it would go, why, and the exact body that would be sent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/render.h"

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
	json_t *body = render_for(provider, ev, &ctx);

	if (provider == PROVIDER_SLACK && r->source != ROUTE_UNROUTED &&
	    !destination_is_dm(&r->dest))
		json_object_set_new(body, "channel",
				    json_string(r->dest.kind == DEST_CHANNEL_ID ?
						r->dest.target : r->dest.raw));
	return body;
}

static void print_human(const struct event *ev, const struct route *r,
			enum provider_kind provider, json_t *body)
{
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
	printf("  provider:    %s\n", provider_kind_name(provider));
	printf("  payload:\n%s\n\n", text);
	free(text);
}

static void print_json(const struct route *r, enum provider_kind provider,
		       json_t *body)
{
	json_t *line = json_object();
	char *text;
	int routed = r->source != ROUTE_UNROUTED;

	json_object_set_new(line, "destination",
			    routed ? json_string(r->dest.raw) : json_null());
	json_object_set_new(line, "kind", routed ?
			    json_string(destination_kind_word(&r->dest)) :
			    json_null());
	json_object_set_new(line, "reason", json_string(r->reason));
	json_object_set_new(line, "provider",
			    json_string(provider_kind_name(provider)));
	json_object_set(line, "payload", body);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(line);
}

int cmd_route(int argc, char **argv)
{
	static const struct option options[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_env env;
	struct event *events = NULL;
	size_t nr = 0;
	const char *path = NULL;
	const char *provider_name = NULL;
	enum provider_kind provider;
	int json = 0, c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:jh", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			provider_name = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return cli_help("route", stdout);
		default:
			return cli_usage_error("route", "unknown option \"%s\"",
					       argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("route", "takes one FILE, got %d",
				       argc - optind);
	if (argc - optind == 1)
		path = argv[optind];
	if (!path && isatty(STDIN_FILENO))
		return cli_usage_error("route", "give a FILE with events, or "
				       "\"-\" to read them from standard input");

	ret = cli_env_load(&env, provider_name != NULL);
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
	ret = cli_read_events(path, &events, &nr);
	if (ret)
		goto out;

	for (size_t i = 0; i < nr; i++) {
		struct route r = ROUTE_INIT;
		struct errbuf err;
		json_t *body;

		if (route_event(&r, &events[i], &env.cfg, &env.cat, &err) < 0) {
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
		body = body_for(provider, &events[i], &r, &env);
		if (json)
			print_json(&r, provider, body);
		else
			print_human(&events[i], &r, provider, body);
		json_decref(body);
		route_release(&r);
	}
out:
	event_array_free(events, nr);
	cli_env_release(&env);
	return ret;
}
