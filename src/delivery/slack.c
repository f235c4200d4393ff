/*
 * slack: the Slack provider (Web API).
 *
 * Posts with chat.postMessage and edits with chat.update (JSON bodies,
 * "Authorization: Bearer"), classifies every answer by its "ok" and
 * "error" (never by the HTTP status alone, except 429 and 5xx), and turns
 * people into direct-message channels: @U… directly, @email through
 * users.lookupByEmail, @name through users.list (all pages, kept for ten
 * minutes), then conversations.open. Channel names go to chat.postMessage
 * as they are; the channel ID in its answer is what later edits use.
 */
#include "delivery/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/json_out.h"

#define USERS_TTL_S 600.0	/* users.list is Tier 2: cache it */
#define USERS_PAGE 200
#define USERS_PAGES_MAX 500
#define DM_TTL_S (24 * 3600)	/* a user's DM channel never changes */
#define LOOKUP_TTL_S 3600	/* a name or an email could move */
#define AMBIGUOUS_LISTED 5

struct slack_user {
	char *id;
	char *name;
	char *display_name;
	char *real_name;
};

struct slack_provider {
	struct provider base;
	struct slack_user *users;	/* users.list, deleted users left out */
	size_t users_nr;
	size_t users_alloc;
	int users_valid;
	double users_fetched;		/* monotonic_now() of the fetch */
};

/* What each error code means and what to do about it. */
static const struct slack_error {
	const char *code;
	enum delivery_outcome outcome;
	const char *hint;
} slack_errors[] = {
	{ "ratelimited", DELIVERY_RETRY,
	  "Slack is rate-limiting herald: wait as long as Retry-After says, "
	  "then retry" },
	/*
	 * "posted too many messages": a limit on the app's own posting rate,
	 * not a property of the message, so waiting helps: retryable.
	 */
	{ "rate_limited", DELIVERY_RETRY,
	  "the app posted too many messages in a short time: back off and "
	  "retry, and send fewer notifications to this channel" },
	{ "internal_error", DELIVERY_RETRY,
	  "a temporary Slack failure: retry later" },
	{ "fatal_error", DELIVERY_RETRY,
	  "Slack failed while handling the request: retry later" },
	{ "service_unavailable", DELIVERY_RETRY,
	  "Slack is temporarily unavailable: retry later" },
	{ "request_timeout", DELIVERY_RETRY,
	  "Slack timed out handling the request: retry later" },
	{ "invalid_auth", DELIVERY_AUTH,
	  "the token is not valid: check that NOTIFICATIONS_TOKEN holds the "
	  "app's Bot User OAuth Token (xoxb-…) for this workspace" },
	{ "not_authed", DELIVERY_AUTH,
	  "no token reached Slack: set NOTIFICATIONS_TOKEN to the app's bot "
	  "token (xoxb-…)" },
	{ "account_inactive", DELIVERY_AUTH,
	  "the token belongs to a deactivated user or an uninstalled app: "
	  "reinstall the app and update NOTIFICATIONS_TOKEN" },
	{ "token_revoked", DELIVERY_AUTH,
	  "the token was revoked: reinstall the app (OAuth & Permissions) and "
	  "put the new bot token into NOTIFICATIONS_TOKEN" },
	{ "token_expired", DELIVERY_AUTH,
	  "the token expired (token rotation is on for this app): give herald "
	  "a long-lived bot token in NOTIFICATIONS_TOKEN" },
	{ "not_allowed_token_type", DELIVERY_AUTH,
	  "this kind of token cannot post: NOTIFICATIONS_TOKEN must be a bot "
	  "token (xoxb-…)" },
	{ "missing_scope", DELIVERY_PERMANENT,
	  "the token lacks a scope this needs: add it under OAuth & "
	  "Permissions, reinstall the app and update NOTIFICATIONS_TOKEN" },
	{ "channel_not_found", DELIVERY_PERMANENT,
	  "the channel does not exist or the app cannot see it; invite the app "
	  "(private channels) or fix the channel in "
	  "NOTIFICATIONS_DEFAULT_CHANNEL, NOTIFICATIONS_CHANNEL_MAPPING, the "
	  "catalog's ownerIm or the event" },
	{ "not_in_channel", DELIVERY_PERMANENT,
	  "the app is not a member of the channel: run /invite @yourbot in it "
	  "(or add the chat:write.public scope for public channels)" },
	{ "is_archived", DELIVERY_PERMANENT,
	  "the channel is archived: unarchive it or route these notifications "
	  "to another channel" },
	{ "invalid_blocks", DELIVERY_PERMANENT,
	  "Slack rejected the message's blocks; this is a herald bug, please "
	  "report it with the event" },
	{ "invalid_blocks_format", DELIVERY_PERMANENT,
	  "the blocks are not a JSON array of blocks; this is a herald bug, "
	  "please report it with the event" },
	{ "msg_too_long", DELIVERY_PERMANENT,
	  "the message text is too long for Slack: shorten the event's title "
	  "or description" },
	{ "msg_blocks_too_long", DELIVERY_PERMANENT,
	  "the message's blocks are too long in total: shorten the event's "
	  "description" },
	{ "no_text", DELIVERY_PERMANENT,
	  "the message had no text; this is a herald bug, please report it "
	  "with the event" },
	{ "user_not_found", DELIVERY_PERMANENT,
	  "there is no such user in this workspace: check the person (the "
	  "catalog's ownerIm or the event's channel)" },
	{ "users_not_found", DELIVERY_PERMANENT,
	  "no user of this workspace has that email address: check it or use "
	  "the user ID (@U…); looking people up by email needs the "
	  "users:read.email scope" },
	{ "user_disabled", DELIVERY_PERMANENT,
	  "the user's account is deactivated: send these notifications to "
	  "someone else" },
	{ "cannot_dm_bot", DELIVERY_PERMANENT,
	  "the person is a bot user, which cannot get direct messages" },
	{ "message_not_found", DELIVERY_PERMANENT,
	  "the message to edit no longer exists (deleted?); post a new one" },
	{ "cant_update_message", DELIVERY_PERMANENT,
	  "the message was not posted by this app, so it cannot edit it" },
	{ "edit_window_closed", DELIVERY_PERMANENT,
	  "the message is too old to be edited; post a new one" },
	{ "restricted_action", DELIVERY_PERMANENT,
	  "a workspace setting does not let the app post there: ask a Slack "
	  "admin" },
	{ "team_access_not_granted", DELIVERY_PERMANENT,
	  "the app has no access to this workspace or channel (Enterprise "
	  "Grid): grant it access" },
	{ "ekm_access_denied", DELIVERY_PERMANENT,
	  "administrators have suspended posting for this app" },
	{ "invalid_arguments", DELIVERY_PERMANENT,
	  "Slack refused the request's arguments; this is a herald bug, please "
	  "report it" },
	{ "unknown_method", DELIVERY_PERMANENT,
	  "the API does not know this method: check HERALD_SLACK_API_URL" },
};

static const struct slack_error *find_error(const char *code)
{
	for (size_t i = 0; i < sizeof(slack_errors) / sizeof(slack_errors[0]); i++)
		if (!strcmp(slack_errors[i].code, code))
			return &slack_errors[i];
	return NULL;
}

static const char *json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void method_url(const struct provider *p, const char *method,
		       struct strbuf *url)
{
	strbuf_addf(url, "%s/%s", p->api_url, method);
}

static void add_auth(const struct provider *p, struct http_request *req)
{
	http_request_add_header(req, "Authorization: Bearer %s", p->token);
}

/* A JSON POST of args to method. */
static int json_request(const struct provider *p, const char *method,
			const json_t *args, struct http_request *req,
			struct errbuf *err)
{
	struct strbuf url = STRBUF_INIT, body = STRBUF_INIT;
	size_t len;
	char *text;

	strbuf_grow(&body, 2048);
	if (json_out(&body, args, 0) < 0) {	/* also when body overflowed */
		const char *why = strbuf_overflowed(&body) ?
				  "is too large to send" :
				  "cannot be encoded as JSON";

		strbuf_release(&body);
		return errbuf_set(err, HERALD_EINVAL, "%s: the message %s", method,
				  why);
	}
	method_url(p, method, &url);
	http_request_init(req, "POST", url.buf);
	add_auth(p, req);
	http_request_add_header(req, "Content-Type: application/json; "
				"charset=utf-8");
	text = strbuf_detach(&body, &len);
	http_request_take_body(req, text, len);
	strbuf_release(&url);
	return 0;
}

/* Whether id looks like a conversation ID: C…, D… or G… and 8+ of A-Z0-9. */
static int is_conversation_id(const char *id)
{
	size_t len = strlen(id);

	if (len < 9 || len > 32 || !strchr("CDG", id[0]))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9')))
			return 0;
	return 1;
}

/* args = {first keys…} then the body's members, minus the skipped ones. */
static json_t *merge_args(json_t *args, const json_t *body,
			  const char *const *skip)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v) {
		int skipped = json_object_get(args, key) != NULL;

		for (size_t i = 0; skip && skip[i] && !skipped; i++)
			skipped = !strcmp(key, skip[i]);
		if (!skipped)
			json_object_set(args, key, v);
	}
	return args;
}

static int slack_post_request(struct provider *p, const char *channel_id,
			      const json_t *body, const char *nonce,
			      struct http_request *req, struct errbuf *err)
{
	json_t *args, *ch;
	int ret;

	if (!json_is_object(body))
		return errbuf_set(err, HERALD_EINVAL, "chat.postMessage: the "
				  "message body is not a JSON object");
	ch = channel_id && *channel_id ? json_string(channel_id) : NULL;
	if (!ch)
		return errbuf_set(err, HERALD_EINVAL, "chat.postMessage: no "
				  "channel to post into");
	args = json_object();
	json_object_set_new(args, "channel", ch);
	merge_args(args, body, NULL);
	ret = json_request(p, "chat.postMessage", args, req, err);
	json_decref(args);
	return ret;
}

static int slack_update_request(struct provider *p, const char *channel_id,
				const char *message_id, const json_t *body,
				struct http_request *req, struct errbuf *err)
{
	/* Arguments of a post that chat.update does not take. */
	static const char *const post_only[] = {
		"unfurl_links", "unfurl_media", "thread_ts", "reply_broadcast",
		"username", "icon_emoji", "icon_url", NULL,
	};
	json_t *args, *ts;
	int ret;

	if (!json_is_object(body))
		return errbuf_set(err, HERALD_EINVAL, "chat.update: the message "
				  "body is not a JSON object");
	if (!channel_id || !is_conversation_id(channel_id))
		return errbuf_set(err, HERALD_EINVAL, "chat.update: \"%s\" is not "
				  "a channel ID; an edit needs the C…/D… ID "
				  "chat.postMessage returned",
				  channel_id ? channel_id : "");
	ts = message_id && *message_id ? json_string(message_id) : NULL;
	if (!ts)
		return errbuf_set(err, HERALD_EINVAL, "chat.update: no message "
				  "ts to edit");
	args = json_object();
	json_object_set_new(args, "channel", json_string(channel_id));
	json_object_set_new(args, "ts", ts);
	merge_args(args, body, post_only);
	ret = json_request(p, "chat.update", args, req, err);
	json_decref(args);
	return ret;
}

/* "; "-joined lines of response_metadata.messages (why blocks failed). */
static void add_details(struct strbuf *sb, const json_t *root)
{
	json_t *msgs = json_object_get(json_object_get(root, "response_metadata"),
				       "messages");
	size_t i;
	json_t *m;

	json_array_foreach(msgs, i, m) {
		if (!json_is_string(m) || i >= 3)
			continue;
		strbuf_addstr(sb, i ? "; " : " (Slack says: ");
		strbuf_add(sb, json_string_value(m), json_string_length(m) > 200 ?
			   200 : json_string_length(m));
	}
	if (json_array_size(msgs))
		strbuf_addch(sb, ')');
}

static void set_failure(struct delivery_result *out, enum delivery_outcome o,
			const char *code, const char *dest_raw, const char *what)
{
	if (dest_raw)
		delivery_result_set(out, o, code, "Slack: %s for \"%s\": %s", code,
				    dest_raw, what);
	else
		delivery_result_set(out, o, code, "Slack: %s: %s", code, what);
}

/* Retry-After: integer seconds (Slack); fractions tolerated. */
static double parse_retry_after(const char *v)
{
	double d;

	if (!v || parse_double(v, 0, 86400, &d) < 0)
		return 0;
	return d;
}

/*
 * Classifies an answer into out; on success *answer (when not NULL) gets
 * the decoded body.
 */
static void classify(const struct http_response *resp, const char *dest_raw,
		     struct delivery_result *out, json_t **answer)
{
	struct strbuf what = STRBUF_INIT;
	const struct slack_error *e;
	json_t *root = NULL, *ok;
	const char *code, *s;
	long status = resp->status;

	delivery_result_clear(out);
	if (answer)
		*answer = NULL;
	out->http_status = resp->transport == HTTP_OK ? status : 0;
	if (resp->transport != HTTP_OK) {
		delivery_result_transport(out, resp, "Slack", "HERALD_SLACK_API_URL",
					  dest_raw);
		goto out;
	}
	out->retry_after_s = parse_retry_after(resp->retry_after);
	if (resp->body.len)
		root = json_loadb(resp->body.buf, resp->body.len, 0, NULL);
	ok = json_object_get(root, "ok");
	if (!json_is_object(root) || !json_is_boolean(ok)) {
		char code_buf[32];

		snprintf(code_buf, sizeof(code_buf), "http_%ld", status);
		if (status == 429) {
			strbuf_addf(&what, "Slack is rate-limiting herald (HTTP 429, "
				    "Retry-After %g s): retry after that",
				    out->retry_after_s);
			set_failure(out, DELIVERY_RETRY, "ratelimited", dest_raw,
				    what.buf);
		} else if (status >= 500) {
			strbuf_addf(&what, "HTTP %ld without a Slack API answer: a "
				    "temporary Slack or proxy failure: retry "
				    "later", status);
			set_failure(out, DELIVERY_RETRY, code_buf, dest_raw, what.buf);
		} else {
			strbuf_addf(&what, "HTTP %ld without a Slack API answer: "
				    "check HERALD_SLACK_API_URL (expected "
				    "https://slack.com/api)", status);
			set_failure(out, DELIVERY_PERMANENT, code_buf, dest_raw,
				    what.buf);
		}
		goto out;
	}
	if (json_is_true(ok)) {
		out->outcome = DELIVERY_OK;
		if ((s = json_str(root, "channel")))
			snprintf(out->channel_id, sizeof(out->channel_id), "%s", s);
		if ((s = json_str(root, "ts")))
			snprintf(out->message_id, sizeof(out->message_id), "%s", s);
		if (answer) {
			*answer = root;
			root = NULL;
		}
		goto out;
	}
	code = json_str(root, "error");
	if (!code || !*code)
		code = "unknown_error";
	e = find_error(code);
	if (!strcmp(code, "missing_scope")) {
		const char *needed = json_str(root, "needed");
		const char *provided = json_str(root, "provided");

		strbuf_addf(&what, "the token lacks the %s scope: add it under "
			    "OAuth & Permissions, reinstall the app and update "
			    "NOTIFICATIONS_TOKEN", needed ? needed : "needed");
		if (provided)
			strbuf_addf(&what, " (it has: %.200s)", provided);
	} else if (e) {
		strbuf_addstr(&what, e->hint);
	} else {
		strbuf_addstr(&what, "Slack refused the request and retrying "
			      "cannot help; look the error up at "
			      "https://api.slack.com/methods");
	}
	add_details(&what, root);
	if (status == 429 || !strcmp(code, "ratelimited")) {
		struct strbuf rl = STRBUF_INIT;

		strbuf_addf(&rl, "Slack is rate-limiting herald (HTTP %ld, "
			    "Retry-After %g s): retry after that",
			    status, out->retry_after_s);
		set_failure(out, DELIVERY_RETRY, code, dest_raw, rl.buf);
		strbuf_release(&rl);
	} else if (status >= 500) {
		set_failure(out, DELIVERY_RETRY, code, dest_raw, what.buf);
	} else {
		set_failure(out, e ? e->outcome : DELIVERY_PERMANENT, code,
			    dest_raw, what.buf);
	}
out:
	json_decref(root);
	strbuf_release(&what);
}

static void slack_parse_response(struct provider *p,
				 const struct http_response *resp,
				 const char *dest_raw,
				 struct delivery_result *out)
{
	classify(resp, dest_raw, out, NULL);
}

/*
 * A synchronous call of method: a GET with query (already encoded) when
 * args is NULL, else a JSON POST. Returns 0 with *answer the decoded body,
 * or the outcome's error code with out classified.
 */
static int call(struct provider *p, struct http_client *c, const char *method,
		const char *query, const json_t *args, const char *dest_raw,
		json_t **answer, struct delivery_result *out)
{
	struct http_request req;
	struct http_response resp;
	struct errbuf err;
	int ret;

	*answer = NULL;
	if (args) {
		ret = json_request(p, method, args, &req, &err);
		if (ret < 0) {
			set_failure(out, DELIVERY_PERMANENT, "invalid_request",
				    dest_raw, err.msg);
			return HERALD_EPERM;
		}
	} else {
		struct strbuf url = STRBUF_INIT;

		method_url(p, method, &url);
		if (query && *query)
			strbuf_addf(&url, "?%s", query);
		http_request_init(&req, "GET", url.buf);
		add_auth(p, &req);
		strbuf_release(&url);
	}
	if (http_client_perform(c, &req, &resp, &err) < 0) {
		delivery_result_clear(out);
		delivery_result_set(out, DELIVERY_PERMANENT, "invalid_url",
				    "Slack: HERALD_SLACK_API_URL: %s", err.msg);
	} else {
		classify(&resp, dest_raw, out, answer);
	}
	http_response_release(&resp);
	http_request_release(&req);
	return delivery_outcome_errcode(out->outcome);
}

static void users_clear(struct slack_provider *sp)
{
	for (size_t i = 0; i < sp->users_nr; i++) {
		free(sp->users[i].id);
		free(sp->users[i].name);
		free(sp->users[i].display_name);
		free(sp->users[i].real_name);
	}
	free(sp->users);
	sp->users = NULL;
	sp->users_nr = sp->users_alloc = 0;
	sp->users_valid = 0;
}

static void users_add(struct slack_provider *sp, const json_t *m)
{
	const json_t *profile = json_object_get(m, "profile");
	const char *id = json_str(m, "id");
	const char *real = json_str(m, "real_name");
	struct slack_user *u;

	if (!id || json_is_true(json_object_get(m, "deleted")))
		return;
	if (!real)
		real = json_str(profile, "real_name");
	if (sp->users_nr == sp->users_alloc) {
		sp->users_alloc = sp->users_alloc ? sp->users_alloc * 2 : 256;
		sp->users = xrealloc(sp->users, sp->users_alloc * sizeof(*sp->users));
	}
	u = &sp->users[sp->users_nr++];
	u->id = xstrdup(id);
	u->name = xstrdup(json_str(m, "name"));
	u->display_name = xstrdup(json_str(profile, "display_name"));
	u->real_name = xstrdup(real);
}

/* Fetches every page of users.list, unless a fetch is fresh enough. */
static int load_users(struct slack_provider *sp, struct http_client *c,
		      const char *dest_raw, struct delivery_result *out)
{
	struct strbuf query = STRBUF_INIT, cursor = STRBUF_INIT;
	int ret = 0;

	if (sp->users_valid && monotonic_now() - sp->users_fetched < USERS_TTL_S)
		return 0;
	users_clear(sp);
	for (int page = 0; page < USERS_PAGES_MAX; page++) {
		json_t *answer, *m;
		const char *next;
		size_t i;

		strbuf_reset(&query);
		strbuf_addf(&query, "limit=%d", USERS_PAGE);
		if (cursor.len) {
			strbuf_addstr(&query, "&cursor=");
			http_url_encode(&query, cursor.buf);
		}
		ret = call(&sp->base, c, "users.list", query.buf, NULL, dest_raw,
			   &answer, out);
		if (ret) {
			users_clear(sp);
			goto out;
		}
		json_array_foreach(json_object_get(answer, "members"), i, m)
			users_add(sp, m);
		next = json_str(json_object_get(answer, "response_metadata"),
				"next_cursor");
		strbuf_reset(&cursor);
		if (next)
			strbuf_addstr(&cursor, next);
		json_decref(answer);
		if (!cursor.len)
			break;
	}
	sp->users_valid = 1;
	sp->users_fetched = monotonic_now();
out:
	strbuf_release(&query);
	strbuf_release(&cursor);
	return ret;
}

static int name_matches(const struct slack_user *u, const char *name)
{
	return (u->name && !strcasecmp(u->name, name)) ||
	       (u->display_name && !strcasecmp(u->display_name, name)) ||
	       (u->real_name && !strcasecmp(u->real_name, name));
}

static int find_by_name(struct slack_provider *sp, struct http_client *c,
			const struct destination *d, struct strbuf *user,
			struct delivery_result *out)
{
	struct strbuf ids = STRBUF_INIT;
	size_t matches = 0, first = 0;
	int ret;

	ret = load_users(sp, c, d->raw, out);
	if (ret)
		return ret;
	for (size_t i = 0; i < sp->users_nr; i++) {
		if (!name_matches(&sp->users[i], d->target))
			continue;
		if (!matches++)
			first = i;
		if (matches <= AMBIGUOUS_LISTED)
			strbuf_addf(&ids, "%s%s (%s)", matches > 1 ? ", " : "",
				    sp->users[i].id,
				    sp->users[i].name ? sp->users[i].name : "?");
	}
	if (!matches) {
		delivery_result_set(out, DELIVERY_PERMANENT, "user_not_found",
				    "Slack: no user named \"%s\" for \"%s\": "
				    "searched the name, display name and real "
				    "name of %zu users, ignoring case; check the "
				    "spelling, or use the user ID (@U…) or email "
				    "(@name@example.com)", d->target, d->raw,
				    sp->users_nr);
		ret = HERALD_EPERM;
	} else if (matches > 1) {
		if (matches > AMBIGUOUS_LISTED)
			strbuf_addf(&ids, " and %zu more",
				    matches - AMBIGUOUS_LISTED);
		delivery_result_set(out, DELIVERY_PERMANENT, "ambiguous_user",
				    "Slack: \"%s\" is ambiguous: %zu users match "
				    "(%s); use the user ID (@U…) or the email "
				    "address to pick one", d->raw, matches,
				    ids.buf);
		ret = HERALD_EPERM;
	} else {
		strbuf_addstr(user, sp->users[first].id);
	}
	strbuf_release(&ids);
	return ret;
}

static int find_by_email(struct provider *p, struct http_client *c,
			 const struct destination *d, struct strbuf *user,
			 struct delivery_result *out)
{
	struct strbuf query = STRBUF_INIT;
	json_t *answer;
	const char *id;
	int ret;

	strbuf_addstr(&query, "email=");
	http_url_encode(&query, d->target);
	ret = call(p, c, "users.lookupByEmail", query.buf, NULL, d->raw,
		   &answer, out);
	strbuf_release(&query);
	if (ret)
		return ret;
	id = json_str(json_object_get(answer, "user"), "id");
	if (id && *id) {
		strbuf_addstr(user, id);
	} else {
		set_failure(out, DELIVERY_PERMANENT, "invalid_response", d->raw,
			    "users.lookupByEmail answered without a user ID");
		ret = HERALD_EPERM;
	}
	json_decref(answer);
	return ret;
}

static int open_dm(struct provider *p, struct http_client *c,
		   const char *user, const char *dest_raw,
		   struct strbuf *channel_id, struct delivery_result *out)
{
	json_t *args = json_pack("{s:s}", "users", user);
	json_t *answer;
	const char *id;
	int ret;

	if (!args) {
		set_failure(out, DELIVERY_PERMANENT, "invalid_request", dest_raw,
			    "the user ID is not valid UTF-8");
		return HERALD_EPERM;
	}
	ret = call(p, c, "conversations.open", NULL, args, dest_raw, &answer,
		   out);
	json_decref(args);
	if (ret)
		return ret;
	id = json_str(json_object_get(answer, "channel"), "id");
	if (id && *id) {
		strbuf_addstr(channel_id, id);
	} else {
		set_failure(out, DELIVERY_PERMANENT, "invalid_response", dest_raw,
			    "conversations.open answered without a channel ID");
		ret = HERALD_EPERM;
	}
	json_decref(answer);
	return ret;
}

static int slack_resolve(struct provider *p, struct http_client *c,
			 const struct destination *d, struct strbuf *channel_id,
			 struct delivery_result *out)
{
	struct slack_provider *sp = (struct slack_provider *)p;
	struct strbuf user = STRBUF_INIT;
	const char *cached;
	time_t now = time(NULL), ttl = LOOKUP_TTL_S;
	int ret = 0;

	delivery_result_clear(out);
	switch (d->kind) {
	case DEST_CHANNEL_ID:
		strbuf_addstr(channel_id, d->target);
		return 0;
	case DEST_CHANNEL_NAME:
		strbuf_addf(channel_id, "#%s", d->target);
		return 0;
	case DEST_USER_ID:
		strbuf_addstr(&user, d->target);
		ttl = DM_TTL_S;
		break;
	case DEST_USER_EMAIL:
	case DEST_USER_NAME:
		break;
	}
	cached = provider_cache_get(p, d->raw, now);
	if (cached) {
		strbuf_addstr(channel_id, cached);
		goto out;
	}
	if (d->kind == DEST_USER_EMAIL)
		ret = find_by_email(p, c, d, &user, out);
	else if (d->kind == DEST_USER_NAME)
		ret = find_by_name(sp, c, d, &user, out);
	if (ret)
		goto out;
	ret = open_dm(p, c, user.buf, d->raw, channel_id, out);
	if (ret)
		goto out;
	provider_cache_put(p, d->raw, channel_id->buf, now + ttl);
	delivery_result_clear(out);
out:
	strbuf_release(&user);
	return ret;
}

static int slack_identify(struct provider *p, struct http_client *c,
			  struct strbuf *who, struct delivery_result *out)
{
	json_t *answer;
	const char *user, *team;
	int ret;

	ret = call(p, c, "auth.test", NULL, NULL, NULL, &answer, out);
	if (ret)
		return ret;
	user = json_str(answer, "user");
	team = json_str(answer, "team");
	strbuf_addf(who, "bot @%s in workspace %s", user ? user : "?",
		    team ? team : "?");
	json_decref(answer);
	delivery_result_clear(out);
	return 0;
}

static void slack_free(struct provider *p)
{
	struct slack_provider *sp = (struct slack_provider *)p;

	users_clear(sp);
	free(sp);
}

static const struct provider_ops slack_ops = {
	.kind = PROVIDER_SLACK,
	.name = "slack",
	.post_request = slack_post_request,
	.update_request = slack_update_request,
	.parse_response = slack_parse_response,
	.resolve = slack_resolve,
	.identify = slack_identify,
	.free = slack_free,
};

int slack_provider_new(struct provider **out, const struct config *cfg,
		       struct errbuf *err)
{
	struct slack_provider *sp = xcalloc(1, sizeof(*sp));

	provider_init(&sp->base, &slack_ops, cfg,
		      cfg->slack_api_url ? cfg->slack_api_url :
		      CONFIG_DEFAULT_SLACK_API_URL);
	*out = &sp->base;
	return 0;
}
