/*
 * github: GitHub's deployment_status webhook (a repository's or an
 * organization's webhook, content type application/json) turned into one
 * deploy or rollback event. GitHub sends one such delivery each time a
 * deployment's status is set, by a workflow's environment, GitHub Pages,
 * an app or the REST API; deployment.id ties them into one story, so the
 * "in_progress" message is edited into "success" or "failure".
 *
 * Mapping, in brief (the first present value wins; "›" is "else"):
 *
 *   X-GitHub-Event  deployment_status: converted; ping: nothing, a note;
 *                   any other: nothing, a note; absent: by the body's
 *                   shape (a deployment_status object), else EINVAL
 *   type            rollback when deployment.task starts with "rollback",
 *                   else deploy
 *   status          deployment_status.state: pending, queued, waiting,
 *                   in_progress → started; success → succeeded; failure,
 *                   error → failed; inactive (or unknown) → nothing, a note
 *   app             deployment.payload.app › ?app= › repository.name
 *   env             deployment_status.environment › deployment.environment
 *                   › production (GitHub's default environment)
 *   actor           deployment.creator.login › deployment_status.creator
 *                   .login › sender.login, people before bots
 *   repository      repository.full_name
 *   sha             deployment.sha
 *   version         deployment.payload.version (a string or a number)
 *   url             deployment_status.log_url › target_url › environment_url
 *   description     deployment_status.description (waiting: a default one)
 *   timestamp       deployment_status.updated_at › created_at
 *   correlation     "github:" repository.full_name "#" deployment.id
 *   id              "github:" X-GitHub-Delivery (a redelivery repeats it,
 *                   so it is a duplicate) › "github:" SHA-256 of the body
 *
 * deployment.payload is free-form: an object, a string holding a JSON
 * object (both read), anything else (not read). A form-encoded body (the
 * webhook's content type left at application/x-www-form-urlencoded) is
 * EINVAL with a message saying what to change. The signature
 * (X-Hub-Signature-256) is the daemon's job, with inputs/signature.h.
 */
#include "inputs/github.h"
#include "core/event.h"
#include "inputs/event_json.h"
#include "lib/sha2.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"

#include <string.h>
#include <strings.h>

#define QUOTE_MAX 64
#define ID_PREFIX "github"
/* GitHub's default when a deployment is created without an environment. */
#define DEFAULT_ENV "production"

static const char not_shape[] = "not a GitHub deployment_status payload";
static const char expected_shape[] =
	"expected the body GitHub sends for the \"Deployment statuses\" event";

/* Whether s has a character other than white space and controls. */
static int has_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s)
		return 0;
	for (; *p; p++) {
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p++;
		else if (*p > ' ' && *p != 0x7f)
			return 1;
	}
	return 0;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/*
 * Appends s (len bytes) for a message: printable ASCII as is, every other
 * byte as "?", cut to max bytes with "...".
 */
static void add_clean(struct strbuf *sb, const char *s, size_t len,
		      size_t max)
{
	size_t n = len > max ? max : len;

	for (size_t i = 0; i < n; i++)
		strbuf_addch(sb, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
	if (n < len)
		strbuf_addstr(sb, "...");
}

/* The same in double quotes, a double quote in it turned into '. */
static void add_quoted(struct strbuf *sb, const char *s, size_t len)
{
	size_t start;

	strbuf_addch(sb, '"');
	start = sb->len;
	add_clean(sb, s, len, QUOTE_MAX);
	for (size_t i = start; i < sb->len; i++)
		if (sb->buf[i] == '"')
			sb->buf[i] = '\'';
	strbuf_addch(sb, '"');
}

/* The login of a user object, or NULL. */
static const char *login(const json_t *user)
{
	return json_is_object(user) ? input_str(user, "login") : NULL;
}

/* Whether s is printable ASCII without spaces: fit for an id as it is. */
static int id_safe(const char *s)
{
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

/* Whether s (valid UTF-8) is one line: no C0, DEL or C1 control. */
static int one_line(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return 0;
	return 1;
}

/*
 * A form-encoded body: payload=<JSON>. (A JSON body that came with a form
 * Content-Type, as curl -d sends it, is taken as JSON.)
 */
static int is_form(const struct input_request *req)
{
	return req->body && req->len >= 8 && !memcmp(req->body, "payload=", 8);
}

static void note_event(struct input_result *out, const char *event)
{
	struct strbuf sb = STRBUF_INIT;

	add_quoted(&sb, event, strlen(event));
	errlist_add(&out->ignored, "X-GitHub-Event %s is not handled: herald "
		    "reads deployment_status (subscribe the webhook to "
		    "\"Deployment statuses\" only)", sb.buf);
	strbuf_release(&sb);
}

static int bad_json(const json_error_t *jerr, struct errbuf *err)
{
	struct strbuf text = STRBUF_INIT;
	int ret;

	add_clean(&text, jerr->text, strlen(jerr->text), 2 * QUOTE_MAX);
	ret = errbuf_set(err, HERALD_EINVAL, "the body is not JSON (line %d, "
			 "column %d: %s); expected a GitHub webhook payload "
			 "(content type application/json)", jerr->line,
			 jerr->column, text.buf);
	strbuf_release(&text);
	return ret;
}

/*
 * deployment.payload as an object (a new reference), or NULL. GitHub keeps
 * whatever the deployment's creator gave: an object, or a string, which
 * may hold JSON.
 */
static json_t *payload_object(const json_t *dep, struct input_result *out)
{
	json_t *p = json_object_get(dep, "payload"), *parsed;
	const char *s;

	if (!p || json_is_null(p))
		return NULL;
	if (json_is_object(p))
		return json_incref(p);
	if (!json_is_string(p)) {
		errlist_add(&out->ignored, "/deployment/payload: %s, not an "
			    "object: app and version not read from it",
			    json_kind(p));
		return NULL;
	}
	s = json_string_value(p);
	if (!has_text(s))
		return NULL;	/* "", GitHub's default */
	parsed = json_loadb(s, json_string_length(p), 0, NULL);
	if (json_is_object(parsed))
		return parsed;
	json_decref(parsed);
	errlist_add(&out->ignored, "/deployment/payload: a string that is not "
		    "a JSON object: app and version not read from it");
	return NULL;
}

/* A string member of the payload, noting a value of another type. */
static const char *payload_str(const json_t *payload, const char *name,
			       struct input_result *out)
{
	const json_t *v = json_object_get(payload, name);

	if (v && !json_is_null(v) && !json_is_string(v))
		errlist_add(&out->ignored, "/deployment/payload/%s: %s, not a "
			    "string: not used", name, json_kind(v));
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void set_version(json_t *ev, const json_t *payload,
			struct input_result *out)
{
	const json_t *v = json_object_get(payload, "version");
	struct strbuf sb = STRBUF_INIT;

	if (json_is_integer(v))
		strbuf_addf(&sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		strbuf_addf(&sb, "%.15g", json_real_value(v));
	if (sb.len)
		input_set_line(ev, "version", sb.buf, out,
			       "/deployment/payload/version");
	else if (v && !json_is_null(v) && !json_is_string(v))
		errlist_add(&out->ignored, "/deployment/payload/version: %s, "
			    "not a string or a number: not used", json_kind(v));
	else if (has_text(json_string_value(v)))
		input_set_line(ev, "version", json_string_value(v), out,
			       "/deployment/payload/version");
	strbuf_release(&sb);
}

/* The app: the payload's, the query's, the repository's name. */
static int set_app(json_t *ev, const struct input_request *req,
		   const json_t *payload, const json_t *repo,
		   struct input_result *out)
{
	const char *app = payload ? payload_str(payload, "app", out) : NULL;
	const char *query = input_query(req, "app");

	if (has_text(app)) {
		input_set_line(ev, "app", app, out, "/deployment/payload/app");
		return 0;
	}
	if (query && !utf8_valid(query, strlen(query))) {
		errlist_add(&out->ignored, "?app=: not valid UTF-8: not used");
	} else if (has_text(query)) {
		input_set_line(ev, "app", query, out, "?app=");
		return 0;
	}
	app = input_str(repo, "name");
	if (has_text(app)) {
		input_set_line(ev, "app", app, out, "/repository/name");
		return 0;
	}
	errlist_add(&out->ignored, "no app: the payload has no repository "
		    "name; give deployment.payload.app or ?app= in the webhook "
		    "URL: nothing to report");
	return -1;
}

static void set_env(json_t *ev, const json_t *ds, const json_t *dep,
		    struct input_result *out)
{
	const char *env = input_str(ds, "environment");

	if (has_text(env)) {
		input_set_line(ev, "env", env, out,
			       "/deployment_status/environment");
		return;
	}
	env = input_str(dep, "environment");
	if (has_text(env)) {
		input_set_line(ev, "env", env, out, "/deployment/environment");
		return;
	}
	errlist_add(&out->ignored, "/deployment/environment: missing: "
		    "GitHub's default, " DEFAULT_ENV ", used");
	json_object_set_new(ev, "env", json_string(DEFAULT_ENV));
}

/* Whether user is an app's bot account ("type": "Bot", "x[bot]"). */
static int is_bot(const json_t *user)
{
	const char *type = input_str(user, "type"), *name = login(user);
	size_t len = name ? strlen(name) : 0;

	return (type && !strcmp(type, "Bot")) ||
	       (len >= 5 && !strcmp(name + len - 5, "[bot]"));
}

/*
 * The first person of the deployment's creator, the status's creator and
 * the sender; a bot (github-actions[bot], github-pages[bot]) only when
 * none is a person.
 */
static void set_actor(json_t *ev, const json_t *root, const json_t *ds,
		      const json_t *dep, struct input_result *out)
{
	static const char *const pointers[] = {
		"/deployment/creator/login",
		"/deployment_status/creator/login",
		"/sender/login",
	};
	const json_t *users[] = {
		json_object_get(dep, "creator"),
		json_object_get(ds, "creator"),
		json_object_get(root, "sender"),
	};
	size_t nr = sizeof(users) / sizeof(*users);

	for (int bots = 0; bots < 2; bots++) {
		for (size_t i = 0; i < nr; i++) {
			if (has_text(login(users[i])) &&
			    is_bot(users[i]) == bots) {
				input_set_line(ev, "actor", login(users[i]),
					       out, pointers[i]);
				return;
			}
		}
	}
}

/* The first of log_url, target_url and environment_url that is http(s). */
static void set_url(json_t *ev, const json_t *ds, struct input_result *out)
{
	static const char *const keys[] = {
		"log_url", "target_url", "environment_url",
	};
	const char *tried[sizeof(keys) / sizeof(*keys)] = { NULL };
	struct strbuf pointer = STRBUF_INIT;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		const char *url = input_str(ds, keys[i]);
		int seen = 0;

		if (!url || !*url)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= tried[j] && !strcmp(tried[j], url);
		tried[i] = url;
		if (seen)
			continue;	/* log_url sets target_url too */
		strbuf_reset(&pointer);
		strbuf_addf(&pointer, "/deployment_status/%s", keys[i]);
		if (!event_url_valid(url, strlen(url))) {
			errlist_add(&out->ignored, "%s: not an absolute http(s) "
				    "URL with a host: left out", pointer.buf);
			continue;
		}
		input_set_url(ev, "url", url, out, pointer.buf);
		if (json_object_get(ev, "url"))
			break;
	}
	strbuf_release(&pointer);
}

static void set_timestamp(json_t *ev, const json_t *ds,
			  struct input_result *out)
{
	static const char *const keys[] = { "updated_at", "created_at" };
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		const char *ts = input_str(ds, keys[i]);

		if (!has_text(ts))
			continue;
		if (event_timestamp_valid(ts)) {
			json_object_set_new(ev, "timestamp", json_string(ts));
		} else {
			add_quoted(&sb, ts, strlen(ts));
			errlist_add(&out->ignored, "/deployment_status/%s: %s is "
				    "not an RFC 3339 time: left out", keys[i],
				    sb.buf);
		}
		break;
	}
	strbuf_release(&sb);
}

/*
 * Sets obj[name] to key when it fits (one line, printable ASCII without
 * spaces too when ascii, at most max bytes), else to prefix ":" and the
 * SHA-256 of key in hex, which does; the same key gives the same value.
 */
static void set_key(json_t *obj, const char *name, const char *key,
		    size_t max, int ascii)
{
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	struct strbuf sb = STRBUF_INIT;

	if (strlen(key) <= max && (ascii ? id_safe(key) : one_line(key))) {
		json_object_set_new(obj, name, json_string(key));
		return;
	}
	sha2(SHA2_256, key, strlen(key), digest);
	hex_encode(digest, sizeof(digest), hex);
	strbuf_addf(&sb, ID_PREFIX ":%s", hex);
	json_object_set_new(obj, name, json_stringn(sb.buf, sb.len));
	strbuf_release(&sb);
}

/* "github:acme/api#145988746": one story per GitHub deployment. */
static void set_correlation(json_t *ev, const json_t *dep, const json_t *repo)
{
	const json_t *id = json_object_get(dep, "id");
	const char *full_name = input_str(repo, "full_name");
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, ID_PREFIX ":%s#", full_name ? full_name : "");
	if (json_is_integer(id))
		strbuf_addf(&sb, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
	else if (json_is_string(id) && has_text(json_string_value(id)))
		strbuf_addstr(&sb, json_string_value(id));
	else
		goto out;	/* the derived key (app, env, sha) serves */
	set_key(ev, "correlation", sb.buf, EVENT_CORRELATION_MAX, 0);
out:
	strbuf_release(&sb);
}

/* "github:<delivery GUID>", so that a redelivery is a duplicate. */
static void set_id(json_t *ev, const struct input_request *req)
{
	const char *delivery = input_header(req, "X-GitHub-Delivery");
	struct strbuf sb = STRBUF_INIT;

	if (delivery && *delivery) {
		strbuf_addf(&sb, ID_PREFIX ":%s", delivery);
		set_key(ev, "id", sb.buf, EVENT_ID_MAX, 1);
	} else {
		input_set_id(ev, ID_PREFIX, req->body ? req->body : "",
			     req->body ? req->len : 0);
	}
	strbuf_release(&sb);
}

/*
 * Maps state to a status (0), or notes why there is nothing to report
 * (-1).
 */
static int map_state(const json_t *ds, const char *env, const char **status,
		     struct input_result *out)
{
	static const struct {
		const char *state, *status;
	} map[] = {
		{ "pending", "started" },
		{ "queued", "started" },
		{ "waiting", "started" },
		{ "in_progress", "started" },
		{ "success", "succeeded" },
		{ "failure", "failed" },
		{ "error", "failed" },
	};
	const json_t *v = json_object_get(ds, "state");
	const char *state = json_string_value(v);
	struct strbuf sb = STRBUF_INIT;

	if (!json_is_string(v)) {
		errlist_add(&out->ignored, "/deployment_status/state: %s; "
			    "expected a state such as in_progress or success: "
			    "nothing to report", v ? json_kind(v) : "missing");
		return -1;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
		if (!strcmp(state, map[i].state)) {
			*status = map[i].status;
			return 0;
		}
	}
	if (!strcmp(state, "inactive")) {
		add_quoted(&sb, env, strlen(env));
		errlist_add(&out->ignored, "/deployment_status/state: inactive "
			    "(a later deployment to %s replaced this one, or "
			    "the environment was removed): no message", sb.buf);
	} else {
		add_quoted(&sb, state, json_string_length(v));
		errlist_add(&out->ignored, "/deployment_status/state: %s is not "
			    "a state herald knows; expected pending, queued, "
			    "waiting, in_progress, success, failure, error or "
			    "inactive: no message", sb.buf);
	}
	strbuf_release(&sb);
	return -1;
}

static int is_rollback(const json_t *dep)
{
	const char *task = input_str(dep, "task");

	return task && !strncasecmp(task, "rollback", 8);
}

static int convert(const struct input_request *req, const json_t *root,
		   int by_header, struct input_result *out,
		   struct errbuf *err)
{
	const json_t *ds, *dep, *repo;
	const char *action, *status = NULL;
	json_t *ev, *payload;

	if (!json_is_object(root))
		return errbuf_set(err, HERALD_EINVAL, "%s: the body is %s, not "
				  "an object; %s", not_shape, json_kind(root),
				  expected_shape);
	ds = json_object_get(root, "deployment_status");
	dep = json_object_get(root, "deployment");
	if (!by_header && !ds && json_object_get(root, "zen") &&
	    json_object_get(root, "hook_id")) {
		errlist_add(&out->ignored, "ping: the webhook is set up");
		return 0;
	}
	if (!json_is_object(ds))
		return errbuf_set(err, HERALD_EINVAL, "%s: %s%s; %s", not_shape,
				  ds ? "\"deployment_status\" is " :
				  "no \"deployment_status\" object",
				  ds ? json_kind(ds) : "", expected_shape);
	if (!json_is_object(dep))
		return errbuf_set(err, HERALD_EINVAL, "%s: %s%s; %s", not_shape,
				  dep ? "\"deployment\" is " :
				  "no \"deployment\" object",
				  dep ? json_kind(dep) : "", expected_shape);
	repo = json_object_get(root, "repository");
	if (!json_is_object(repo))
		repo = NULL;

	action = input_str(root, "action");
	if (action && strcmp(action, "created")) {
		struct strbuf sb = STRBUF_INIT;

		add_quoted(&sb, action, strlen(action));
		errlist_add(&out->ignored, "/action: %s is not handled: herald "
			    "reads created", sb.buf);
		strbuf_release(&sb);
		return 0;
	}

	ev = json_object();
	set_env(ev, ds, dep, out);
	if (map_state(ds, json_string_value(json_object_get(ev, "env")),
		      &status, out)) {
		json_decref(ev);
		return 0;
	}
	payload = payload_object(dep, out);
	if (set_app(ev, req, payload, repo, out)) {
		json_decref(payload);
		json_decref(ev);
		return 0;
	}
	json_object_set_new(ev, "type", json_string(is_rollback(dep) ?
						     "rollback" : "deploy"));
	json_object_set_new(ev, "status", json_string(status));
	set_actor(ev, root, ds, dep, out);
	input_set_line(ev, "repository", input_str(repo, "full_name"), out,
		       "/repository/full_name");
	input_set_line(ev, "sha", input_str(dep, "sha"), out, "/deployment/sha");
	if (payload)
		set_version(ev, payload, out);
	set_url(ev, ds, out);
	if (has_text(input_str(ds, "description")))
		input_set_text(ev, "description", input_str(ds, "description"),
			       out, "/deployment_status/description");
	else if (!strcmp(json_string_value(json_object_get(ds, "state")),
			 "waiting"))
		json_object_set_new(ev, "description", json_string(
			"Waiting for the environment's protection rules (a "
			"required review or a wait timer)"));
	set_timestamp(ev, ds, out);
	set_correlation(ev, dep, repo);
	set_id(ev, req);
	json_decref(payload);
	input_add_event(out, ev);
	return 0;
}

int github_convert(const struct input_request *req, struct input_result *out,
		   struct errbuf *err)
{
	const char *event = input_header(req, "X-GitHub-Event");
	json_error_t jerr;
	json_t *root;
	int ret;

	if (is_form(req))
		return errbuf_set(err, HERALD_EINVAL, "the GitHub webhook sends "
				  "form data: set its Content type to "
				  "application/json");
	if (event && !*event)
		event = NULL;
	if (event && strcmp(event, "deployment_status")) {
		if (!strcmp(event, "ping"))
			errlist_add(&out->ignored, "ping: the webhook is set up");
		else
			note_event(out, event);
		return 0;
	}
	root = json_loadb(req->body ? req->body : "", req->body ? req->len : 0,
			  JSON_DECODE_ANY, &jerr);
	if (!root)
		return bad_json(&jerr, err);
	ret = convert(req, root, event != NULL, out, err);
	json_decref(root);
	return ret;
}
