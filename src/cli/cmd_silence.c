/*
 * cmd_silence: herald silence add, list and end, as a client of a running
 * herald serve (HERALD_URL, else http:// and HERALD_LISTEN; the bearer
 * token HERALD_API_TOKEN), through /api/v1/silences. Matchers are checked
 * here first (core/silence.h), so a typo is a usage error before any
 * request; the daemon checks everything again.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cmd_help.h"
#include "core/silence.h"
#include "delivery/http_client.h"
#include "lib/strbuf.h"

const char cmd_silence_help[] =
"usage: herald silence add NAME=VALUE... [--from TIME]\n"
"                          (--for DURATION | --until TIME)\n"
"                          --comment TEXT [--by NAME] [--json]\n"
"       herald silence list [--active | --pending | --expired] [--json]\n"
"       herald silence end ID... [--json]\n"
"\n"
"Silences the new messages of matching notifications for a while, on the\n"
"running herald serve (docs/silences.md). A matching notification is kept\n"
"in the delivery log as silenced, not posted; edits of messages already\n"
"posted still go, so a resolution or a success lands.\n"
"\n"
"add: NAME is app, env, type, status, alert (the alert's name), object\n"
"(the alert's object) or destination (#deploys); VALUE is exact or a glob\n"
"(* any characters, ? one; quote it for the shell). Prints the new\n"
"silence's ID.\n"
"  --from TIME      when it starts (default now): RFC 3339, at most 30d\n"
"                   away; until then it is pending\n"
"  --for DURATION   how long: 90s, 30m, 2h, 1d, 1h30m (at most 30d)\n"
"  --until TIME     or until when: RFC 3339, e.g. 2026-12-06T18:00:00Z\n"
"  --comment TEXT   why (required)\n"
"  --by NAME        who (default: $USER)\n"
"\n"
"list: the active and pending silences and those ended within 24 hours,\n"
"newest first, with how many notifications each held back.\n"
"  --active, --pending, --expired   only those\n"
"\n"
"end: ends each silence now; notifications it held back are not sent.\n"
"Ending one that has already ended changes nothing.\n"
"\n"
"  --json           print the daemon's JSON answers, one a line\n"
"\n"
"The daemon: HERALD_URL (default http:// and HERALD_LISTEN), with\n"
"HERALD_API_TOKEN as the bearer token.\n"
"\n"
"Exit status: 0 done; 1 the daemon refused it (an invalid silence, an\n"
"unknown ID); 2 usage or configuration error; 3 the daemon cannot be\n"
"reached or is not ready.\n";

/* The daemon to talk to, and how. */
struct client {
	struct http_client *c;
	struct strbuf base;		/* "http://127.0.0.1:8080" */
	const char *token;		/* NULL: none */
	int json;
};

/* http:// and HERALD_LISTEN, a wildcard address made loopback. */
static void default_url(const char *listen, struct strbuf *out)
{
	const char *colon = strrchr(listen, ':');

	strbuf_addstr(out, "http://");
	if (colon && !strncmp(listen, "0.0.0.0:", 8))
		strbuf_addf(out, "127.0.0.1%s", colon);
	else if (colon && !strncmp(listen, "[::]:", 5))
		strbuf_addf(out, "[::1]%s", colon);
	else
		strbuf_addstr(out, listen);
}

static int client_init(struct client *cl, const struct config *cfg, int json)
{
	struct http_client_options opts = {
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.request_timeout_ms = cfg->request_timeout_ms,
		.allow_insecure_http = cfg->allow_insecure_http,
	};
	struct errbuf err;

	memset(cl, 0, sizeof(*cl));
	strbuf_init(&cl->base, 4096);
	cl->json = json;
	cl->token = cfg->api_token && *cfg->api_token ? cfg->api_token : NULL;
	if (cfg->url)
		strbuf_addstr(&cl->base, cfg->url);
	else
		default_url(cfg->listen ? cfg->listen : CONFIG_DEFAULT_LISTEN,
			    &cl->base);
	if (http_client_new(&cl->c, &opts, &err) < 0) {
		fprintf(stderr, "herald: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if (http_client_check_url(cl->c, cl->base.buf, &err) < 0) {
		fprintf(stderr, "herald: %s %s: %s\n", cfg->url ? "HERALD_URL" :
			"the daemon's address from HERALD_LISTEN", cl->base.buf,
			err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

static void client_release(struct client *cl)
{
	http_client_free(cl->c);
	strbuf_release(&cl->base);
}

/*
 * One request to the API; *answer is its JSON body (or NULL; caller
 * frees). Returns 0 for a 2xx; else prints the daemon's error and returns
 * EXIT_FAILURE_PERM for a refusal (4xx), EXIT_GAVE_UP when the daemon
 * cannot be reached, answers 5xx, or is not herald.
 */
static int call(struct client *cl, const char *method, const char *path,
		const char *body, json_t **answer, long *status)
{
	struct http_request req;
	struct http_response resp;
	struct errbuf err;
	struct strbuf url = STRBUF_INIT;
	const char *msg;
	int ret = 0;

	*answer = NULL;
	*status = 0;
	strbuf_addf(&url, "%s%s", cl->base.buf, path);
	http_request_init(&req, method, url.buf);
	http_request_add_header(&req, "Accept: application/json");
	if (cl->token)
		http_request_add_header(&req, "Authorization: Bearer %s",
					cl->token);
	if (body) {
		http_request_add_header(&req, "Content-Type: application/json");
		http_request_set_body(&req, body, strlen(body));
	}
	if (http_client_perform(cl->c, &req, &resp, &err) < 0 ||
	    resp.transport != HTTP_OK) {
		fprintf(stderr, "herald: cannot reach herald serve at %s: %s: "
			"is it running? (set HERALD_URL to its address)\n",
			cl->base.buf, resp.error[0] ? resp.error : err.msg);
		ret = EXIT_GAVE_UP;
		goto out;
	}
	*status = resp.status;
	*answer = json_loadb(resp.body.buf ? resp.body.buf : "", resp.body.len,
			     0, NULL);
	if (resp.status >= 200 && resp.status < 300) {
		if (!*answer) {
			fprintf(stderr, "herald: %s answered %s %s with "
				"something other than JSON: is HERALD_URL "
				"herald serve?\n", cl->base.buf, method, path);
			ret = EXIT_GAVE_UP;
		}
		goto out;
	}
	msg = json_string_value(json_object_get(*answer, "error"));
	if (resp.status == 401)
		fprintf(stderr, "herald: %s: set HERALD_API_TOKEN to herald "
			"serve's API token\n", msg ? msg : "unauthorized");
	else
		fprintf(stderr, "herald: %s\n", msg ? msg :
			"herald serve answered without an error message");
	ret = resp.status >= 500 || (resp.status == 404 && !msg) ?
	      EXIT_GAVE_UP : EXIT_FAILURE_PERM;
out:
	http_request_release(&req);
	http_response_release(&resp);
	strbuf_release(&url);
	return ret;
}

static void print_json(const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	printf("%s\n", text ? text : "null");
	free(text);
}

/* "2026-12-06T11:00:00Z" from the API's "2026-12-06T11:00:00.000Z". */
static void add_time(struct strbuf *sb, const json_t *t)
{
	const char *s = json_string_value(t);
	const char *dot = s ? strchr(s, '.') : NULL;

	if (!s)
		strbuf_addch(sb, '-');
	else if (dot)
		strbuf_addf(sb, "%.*sZ", (int)(dot - s), s);
	else
		strbuf_addstr(sb, s);
}

static void add_matchers(struct strbuf *sb, const json_t *match)
{
	const char *key;
	json_t *v;
	int first = 1;

	/* In silence_field_names[] order, as the API's object may differ. */
	for (int i = 0; i < SILENCE_FIELD_NR; i++) {
		const char *value;

		key = silence_field_names[i];
		v = json_object_get(match, key);
		value = json_string_value(v);
		if (!value)
			continue;
		if (!first)
			strbuf_addch(sb, ' ');
		first = 0;
		if (strpbrk(value, " \t\"'"))
			strbuf_addf(sb, "%s=\"%s\"", key, value);
		else
			strbuf_addf(sb, "%s=%s", key, value);
	}
}

/* ---- add ------------------------------------------------------------- */

static int silence_add(struct client *cl, int argc, char **argv,
		       const char *from, const char *dur, const char *until,
		       const char *comment, const char *by)
{
	struct silence s = SILENCE_INIT;
	struct errbuf err;
	json_t *body = NULL, *match, *answer = NULL;
	char *text = NULL;
	long secs, status;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (silence_set_matcher(&s, argv[i], &err) < 0) {
			ret = cli_usage_error("silence", "%s", err.msg);
			goto out;
		}
	}
	if (!argc) {
		ret = cli_usage_error("silence", "add needs at least one "
				      "matcher NAME=VALUE (NAME: %s)",
				      silence_fields_expected);
		goto out;
	}
	if (!dur == !until) {
		ret = cli_usage_error("silence", "add needs --for DURATION or "
				      "--until TIME (one of them)");
		goto out;
	}
	if (dur && silence_parse_duration(dur, &secs, &err) < 0) {
		ret = cli_usage_error("silence", "--for: %s", err.msg);
		goto out;
	}
	if (!comment || !*comment) {
		ret = cli_usage_error("silence", "add needs --comment TEXT: say "
				      "why (a ticket, \"maintenance\")");
		goto out;
	}
	match = json_object();
	for (int i = 0; i < SILENCE_FIELD_NR; i++)
		if (s.match[i])
			json_object_set_new(match, silence_field_names[i],
					    json_string(s.match[i]));
	body = json_pack("{s:o,s:s,s:s}", "match", match,
			 dur ? "duration" : "ends_at", dur ? dur : until,
			 "comment", comment);
	if (!body) {
		ret = cli_usage_error("silence", "--comment and the values must "
				      "be UTF-8 text");
		goto out;
	}
	if (by && *by)
		json_object_set_new(body, "created_by", json_string(by));
	if (from)
		json_object_set_new(body, "starts_at", json_string(from));
	text = json_dumps(body, JSON_COMPACT);
	ret = call(cl, "POST", "/api/v1/silences", text, &answer, &status);
	if (ret)
		goto out;
	if (cl->json)
		print_json(answer);
	else
		printf("%lld\n", (long long)json_integer_value(
			json_object_get(answer, "id")));
out:
	free(text);
	json_decref(body);
	json_decref(answer);
	silence_release(&s);
	return ret;
}

/* ---- list ------------------------------------------------------------ */

struct column {
	const char *title;
	int width;
};

static int silence_list(struct client *cl, const char *state)
{
	enum { C_ID, C_STATE, C_STARTS, C_ENDS, C_BY, C_HELD, C_MATCH, C_NR };
	struct column cols[C_NR] = {
		{ "ID", 2 }, { "STATE", 5 }, { "STARTS", 6 }, { "ENDS", 4 },
		{ "BY", 2 },
		{ "SILENCED", 8 }, { "MATCHERS", 8 },
	};
	struct strbuf path = STRBUF_INIT, (*cells)[C_NR] = NULL;
	json_t *answer = NULL, *list, *s;
	size_t i, n;
	long status;
	int ret;

	strbuf_addf(&path, "/api/v1/silences?state=%s", state);
	ret = call(cl, "GET", path.buf, NULL, &answer, &status);
	if (ret)
		goto out;
	list = json_object_get(answer, "silences");
	if (cl->json) {
		json_array_foreach(list, i, s)
			print_json(s);
		goto out;
	}
	n = json_array_size(list);
	if (!n) {
		printf("no %s%ssilences\n", strcmp(state, "all") ? state : "",
		       strcmp(state, "all") ? " " : "");
		goto out;
	}
	cells = xcalloc(n, sizeof(*cells));
	json_array_foreach(list, i, s) {
		const char *by = json_string_value(json_object_get(s,
							"created_by"));

		for (int c = 0; c < C_NR; c++)
			strbuf_init(&cells[i][c], 4096);
		strbuf_addf(&cells[i][C_ID], "%lld", (long long)
			    json_integer_value(json_object_get(s, "id")));
		strbuf_addstr(&cells[i][C_STATE], json_is_string(
			json_object_get(s, "state")) ? json_string_value(
			json_object_get(s, "state")) : "?");
		add_time(&cells[i][C_STARTS], json_object_get(s, "starts_at"));
		add_time(&cells[i][C_ENDS], json_object_get(s,
			json_is_string(json_object_get(s, "ended_at")) ?
			"ended_at" : "ends_at"));
		strbuf_addstr(&cells[i][C_BY], by ? by : "-");
		strbuf_addf(&cells[i][C_HELD], "%lld", (long long)
			    json_integer_value(json_object_get(s, "silenced")));
		add_matchers(&cells[i][C_MATCH], json_object_get(s, "match"));
		for (int c = 0; c < C_NR; c++)
			if ((int)cells[i][c].len > cols[c].width)
				cols[c].width = (int)cells[i][c].len;
	}
	for (int c = 0; c < C_NR; c++)
		printf("%-*s  ", cols[c].width, cols[c].title);
	printf("COMMENT\n");
	json_array_foreach(list, i, s) {
		const char *comment = json_string_value(json_object_get(s,
							"comment"));
		struct strbuf line = STRBUF_INIT;

		for (int c = 0; c < C_NR; c++)
			strbuf_addf(&line, "%-*s  ", cols[c].width,
				    cells[i][c].buf);
		/* One line each: a comment's line breaks become spaces. */
		for (const char *p = comment ? comment : ""; *p; p++)
			strbuf_addch(&line, *p == '\n' || *p == '\t' ? ' ' : *p);
		printf("%s\n", line.buf);
		strbuf_release(&line);
	}
out:
	if (cells) {
		for (i = 0; i < json_array_size(json_object_get(answer,
							"silences")); i++)
			for (int c = 0; c < C_NR; c++)
				strbuf_release(&cells[i][c]);
		free(cells);
	}
	json_decref(answer);
	strbuf_release(&path);
	return ret;
}

/* ---- end ------------------------------------------------------------- */

static int silence_end(struct client *cl, int argc, char **argv)
{
	int ret = 0;

	if (!argc)
		return cli_usage_error("silence", "end needs the ID of a "
				       "silence (herald silence list shows "
				       "them)");
	for (int i = 0; i < argc; i++) {
		long id;

		if (parse_long(argv[i], 1, 9007199254740991L, &id) < 0)
			return cli_usage_error("silence", "\"%s\" is not a "
					       "silence ID (a positive integer)",
					       argv[i]);
	}
	for (int i = 0; i < argc; i++) {
		struct strbuf path = STRBUF_INIT;
		json_t *answer = NULL;
		long status;
		int r;

		strbuf_addf(&path, "/api/v1/silences/%s", argv[i]);
		r = call(cl, "DELETE", path.buf, NULL, &answer, &status);
		if (!r && cl->json) {
			print_json(answer);
		} else if (!r) {
			struct strbuf when = STRBUF_INIT;

			add_time(&when, json_object_get(answer, "ended_at"));
			if (json_is_string(json_object_get(answer, "ended_at")))
				printf("silence %s ended at %s\n", argv[i],
				       when.buf);
			else
				printf("silence %s had already run out\n",
				       argv[i]);
			strbuf_release(&when);
		}
		if (r > ret)
			ret = r;
		json_decref(answer);
		strbuf_release(&path);
	}
	return ret;
}

int cmd_silence(int argc, char **argv)
{
	static const struct option options[] = {
		{ "from", required_argument, NULL, 'F' },
		{ "for", required_argument, NULL, 'f' },
		{ "until", required_argument, NULL, 'u' },
		{ "comment", required_argument, NULL, 'c' },
		{ "by", required_argument, NULL, 'b' },
		{ "active", no_argument, NULL, 'A' },
		{ "pending", no_argument, NULL, 'P' },
		{ "expired", no_argument, NULL, 'E' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dur = NULL, *until = NULL, *comment = NULL, *by = NULL;
	const char *from = NULL;
	const char *state = "all", *verb;
	struct cli_env env;
	struct client cl;
	int json = 0, env_loaded = 0, client_made = 0, c, ret;

	by = getenv("USER");
	if (!by || !*by)
		by = getenv("LOGNAME");
	opterr = 0;
	/* Options may follow the verb and the matchers ("add app=api --for 2h"). */
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'F': from = optarg; break;
		case 'f': dur = optarg; break;
		case 'u': until = optarg; break;
		case 'c': comment = optarg; break;
		case 'b': by = optarg; break;
		case 'A': state = "active"; break;
		case 'P': state = "pending"; break;
		case 'E': state = "expired"; break;
		case 'j': json = 1; break;
		case 'h':
			return cli_help("silence", stdout);
		default:
			return cli_usage_error("silence", "unknown option \"%s\"",
					       argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("silence", "say what to do: add, list "
				       "or end");
	verb = argv[optind++];
	if (strcmp(verb, "add") && strcmp(verb, "list") && strcmp(verb, "end"))
		return cli_usage_error("silence", "\"%s\" is not add, list or "
				       "end", verb);
	if (strcmp(verb, "add") && (from || dur || until || comment))
		return cli_usage_error("silence", "--from, --for, --until and "
				       "--comment go with add");
	if (strcmp(verb, "list") && strcmp(state, "all"))
		return cli_usage_error("silence", "--active, --pending and "
				       "--expired go with list");
	if (!strcmp(verb, "list") && optind < argc)
		return cli_usage_error("silence", "list takes no arguments, not "
				       "\"%s\"", argv[optind]);

	ret = cli_env_load(&env, 1);
	env_loaded = 1;
	if (ret)
		goto out;
	ret = client_init(&cl, &env.cfg, json);
	client_made = 1;
	if (ret)
		goto out;
	if (!strcmp(verb, "add"))
		ret = silence_add(&cl, argc - optind, argv + optind, from, dur,
				  until, comment, by);
	else if (!strcmp(verb, "list"))
		ret = silence_list(&cl, state);
	else
		ret = silence_end(&cl, argc - optind, argv + optind);
out:
	if (client_made)
		client_release(&cl);
	if (env_loaded)
		cli_env_release(&env);
	return ret;
}
