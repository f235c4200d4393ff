/*
 * herald serve: the delivery daemon.
 *
 * Wires the pieces together: the configuration and catalog (as a routing
 * snapshot the API reads and SIGHUP replaces), the store, the metrics, the
 * provider, the delivery engine (which runs on the main thread) and the
 * HTTP API (on libmicrohttpd's threads). Signals are blocked in every
 * thread and taken by one small thread with sigwait(), which sets a flag
 * and wakes the engine's loop: SIGTERM and SIGINT drain and exit, SIGHUP
 * reloads the routing. systemd hears of each state (READY, RELOADING,
 * STOPPING) through daemon/sd_notify.h. docs/delivery.md describes the
 * behaviour.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api.h"
#include "cli/cli.h"
#include "cli/cmd_help.h"
#include "daemon/engine.h"
#include "daemon/httpd.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/pruner.h"
#include "delivery/provider.h"
#include "daemon/sd_notify.h"
#include "daemon/store.h"
#include "daemon/summary_job.h"
#include "core/summary.h"
#include "lib/clock.h"

#define LOOP_WAIT_MS 1000
#define DRAIN_WAIT_MS 50

const char cmd_serve_help[] =
"usage: herald serve [--listen HOST:PORT] [--database PATH]\n"
"\n"
"Runs the delivery daemon: the HTTP API on HERALD_LISTEN (default\n"
"127.0.0.1:8080), the durable outbox in HERALD_DATABASE (default herald.db),\n"
"and delivery to the configured provider: one queue per destination, in\n"
"order, paced to the platform's rate limits, retried with backoff, and one\n"
"message per story (later events of a deploy edit its message).\n"
"\n"
"Without NOTIFICATIONS_PROVIDER nothing is sent: each notification is\n"
"printed to standard output as one JSON line {notification_id, destination,\n"
"body} and counts as delivered.\n"
"\n"
"  --listen HOST:PORT  where the HTTP API listens ([ipv6]:port too);\n"
"                      overrides HERALD_LISTEN\n"
"  --database PATH     the SQLite file of the outbox; overrides\n"
"                      HERALD_DATABASE\n"
"\n"
"The configuration is checked as `herald config` checks it: any problem\n"
"and herald serve does not start; warnings are printed at the start.\n"
"\n"
"Signals: SIGTERM or SIGINT stops accepting events, lets requests in flight\n"
"finish within HERALD_SHUTDOWN_GRACE and exits 0; what is not delivered\n"
"stays queued for the next start. SIGHUP reloads the channel mapping, the\n"
"default channel and the catalog (HERALD_CATALOG); a bad configuration is\n"
"logged and the old one kept.\n"
"\n"
"See docs/api.md (the HTTP API), docs/delivery.md (queues, pacing,\n"
"retries) and docs/configuration.md (every variable).\n"
"\n"
"Exit status: 0 after a clean shutdown; 1 when the database or the listen\n"
"address cannot be opened; 2 usage or configuration error.\n";

static atomic_int got_term;
static atomic_int got_hup;

struct signals {
	sigset_t set;
	pthread_t thread;
	struct engine *engine;
	int started;
};

static void *signal_thread(void *arg)
{
	struct signals *s = arg;

	pthread_setname_np(pthread_self(), "herald-signal");
	for (;;) {
		int sig;

		if (sigwait(&s->set, &sig))
			continue;
		if (sig == SIGHUP)
			atomic_store(&got_hup, 1);
		else if (sig == SIGTERM || sig == SIGINT)
			atomic_store(&got_term, 1);
		else
			continue;
		engine_wakeup(s->engine);
	}
	return NULL;
}

/*
 * Loads a routing snapshot: the configuration from the environment and the
 * catalog it names. Every problem goes to problems; returns NULL then.
 */
static struct api_snapshot *load_routing(struct errlist *problems,
					 struct errlist *warnings)
{
	struct config cfg;
	struct catalog cat = CATALOG_INIT;
	struct api_snapshot *snap = NULL;

	/* Checked as every command checks it (cli_config_load()). */
	if (!cli_config_load(&cfg, &cat, NULL, problems, warnings))
		snap = api_snapshot_new(&cfg, cfg.catalog_path ? &cat : NULL);
	catalog_release(&cat);
	config_release(&cfg);
	return snap;
}

/*
 * Tells systemd (Type=notify, $NOTIFY_SOCKET) the daemon's state; a failure
 * is logged once and changes nothing else.
 */
static void tell_manager(const char *state, int reloading)
{
	static int warned;
	struct errbuf err;
	int ret = reloading ? sd_notify_reloading(state, &err) :
		sd_notify_send(state, &err);

	if (ret < 0 && !warned) {
		warned = 1;
		log_event(LOG_WARN, "cannot notify the service manager",
			  "error", err.msg, NULL);
	}
}

/* Returns 0, or -1 when the new configuration was refused. */
static int reload(struct api_routing *routing)
{
	struct errlist problems = ERRLIST_INIT, warnings = ERRLIST_INIT;
	struct api_snapshot *snap = load_routing(&problems, &warnings);
	struct log_line l;
	int ret = 0;

	for (size_t i = 0; i < warnings.nr; i++)
		log_event(LOG_WARN, "configuration warning", "problem",
			  warnings.items[i], NULL);
	if (!snap) {
		for (size_t i = 0; i < problems.nr; i++)
			log_event(LOG_ERROR, "reload failed", "problem",
				  problems.items[i], NULL);
		log_event(LOG_ERROR, "reload failed: keeping the configuration "
			  "in use", NULL);
		ret = -1;
		goto out;
	}
	/* A webhook key set or changed since the start is kept inside too. */
	config_register_secrets(&snap->cfg);
	log_begin(&l, LOG_INFO, "reloaded");
	log_int(&l, "channel_mappings", (long long)snap->cfg.mapping_nr);
	log_int(&l, "catalog_services", (long long)snap->cat.nr);
	log_str(&l, "default_channel", snap->cfg.default_channel);
	log_end(&l);
	api_routing_swap(routing, snap);
out:
	errlist_release(&problems);
	errlist_release(&warnings);
	return ret;
}

static void print_problems(const struct errlist *problems, const char *prefix)
{
	for (size_t i = 0; i < problems->nr; i++)
		fprintf(stderr, "herald: %s%s\n", prefix, problems->items[i]);
}

struct serve {
	struct config cfg;
	struct store *store;
	struct metrics metrics;
	int metrics_ready;
	struct provider *provider;
	struct engine *engine;
	struct pruner *pruner;
	struct api_routing routing;
	int routing_ready;
	struct api_context api;
	struct httpd *httpd;
	struct signals sig;
	struct summary_job *summary;
};

/* Everything up to a running daemon; returns 0 or an exit status. */
static int start(struct serve *s)
{
	struct errlist problems = ERRLIST_INIT, warnings = ERRLIST_INIT;
	struct api_snapshot *snap;
	struct engine_options eo;
	struct httpd_options ho;
	struct pruner_options po;
	struct log_line l;
	struct errbuf err;
	uint64_t counts[STORE_STATE_NR], pending;
	size_t recovered = 0, loaded = 0;
	int beyond_loopback = 0, ret = EXIT_USAGE;

	config_init(&s->cfg);
	if (config_load(&s->cfg, &config_source_process, &problems) < 0) {
		print_problems(&problems, "");
		goto out;
	}
	snap = load_routing(&problems, &warnings);
	print_problems(&warnings, "warning: ");
	if (!snap) {
		print_problems(&problems, "");
		goto out;
	}
	api_routing_init(&s->routing, snap);
	s->routing_ready = 1;
	if (api_check_listen(&s->cfg, &beyond_loopback, &err) < 0) {
		fprintf(stderr, "herald: %s\n", err.msg);
		goto out;
	}
	if (log_init(s->cfg.log_format, s->cfg.log_level, &err) < 0) {
		fprintf(stderr, "herald: %s\n", err.msg);
		goto out;
	}
	config_register_secrets(&s->cfg);
	if (s->cfg.provider != PROVIDER_LOG &&
	    provider_new(&s->provider, &s->cfg, &err) < 0) {
		fprintf(stderr, "herald: %s\n", err.msg);
		goto out;
	}
	ret = store_open(&s->store, s->cfg.database, &err);
	if (ret < 0) {
		fprintf(stderr, "herald: HERALD_DATABASE: %s\n", err.msg);
		ret = ret == HERALD_EINVAL ? EXIT_USAGE : EXIT_FAILURE_PERM;
		goto out;
	}
	ret = EXIT_USAGE;
	metrics_init(&s->metrics, HERALD_VERSION);
	s->metrics_ready = 1;
	memset(&eo, 0, sizeof(eo));
	eo.store = s->store;
	eo.routing = &s->routing;
	eo.metrics = &s->metrics;
	eo.provider = s->provider;
	eo.cfg = &s->cfg;
	if (engine_new(&s->engine, &eo, &err) < 0) {
		fprintf(stderr, "herald: %s: %s\n", s->cfg.provider ==
			PROVIDER_DISCORD ? "HERALD_DISCORD_API_URL" :
			"HERALD_SLACK_API_URL", err.msg);
		goto out;
	}
	if (store_counts(s->store, counts, &err) < 0) {
		fprintf(stderr, "herald: HERALD_DATABASE: %s\n", err.msg);
		ret = EXIT_FAILURE_PERM;
		goto out;
	}
	pending = counts[STORE_QUEUED] + counts[STORE_SENDING] +
		counts[STORE_RETRYING];
	s->sig.engine = s->engine;
	if (pthread_create(&s->sig.thread, NULL, signal_thread, &s->sig)) {
		fprintf(stderr, "herald: cannot start the signal thread\n");
		ret = EXIT_FAILURE_PERM;
		goto out;
	}
	s->sig.started = 1;

	api_context_init(&s->api);
	s->api.store = s->store;
	s->api.routing = &s->routing;
	s->api.wake = engine_api_wake;
	s->api.wake_arg = s->engine;
	s->api.queued = engine_api_queued;
	s->api.queued_arg = s->engine;
	s->api.ready = engine_api_ready;
	s->api.ready_arg = s->engine;
	s->api.silences = engine_api_silences;
	s->api.silences_arg = s->engine;
	s->api.metrics = &s->metrics;
	s->api.api_token = s->cfg.api_token && *s->cfg.api_token ?
		s->cfg.api_token : NULL;
	s->api.beyond_loopback = beyond_loopback;
	memset(&ho, 0, sizeof(ho));
	ho.max_body_for = api_max_body;
	ho.connection_limit = (unsigned)s->cfg.max_connections;
	ho.per_ip_limit = (unsigned)s->cfg.max_connections_per_address;
	ho.listen = s->cfg.listen ? s->cfg.listen : CONFIG_DEFAULT_LISTEN;
	ret = httpd_start(&s->httpd, &ho, api_handle, &s->api, &err);
	if (ret < 0) {
		fprintf(stderr, "herald: HERALD_LISTEN: %s\n", err.msg);
		ret = ret == HERALD_EINVAL ? EXIT_USAGE : EXIT_FAILURE_PERM;
		goto out;
	}
	memset(&po, 0, sizeof(po));
	po.store = s->store;
	po.metrics = &s->metrics;
	po.retention_s = s->cfg.retention_s;
	po.story_window_s = s->cfg.story_window_s;
	/*
	 * The weekly summary reads the events of the week it sums up and of
	 * the week before, up to 22 days back when it is posted late in the
	 * following week (docs/summary.md).
	 */
	if (summary_schedule_of(&s->cfg).enabled)
		po.keep_at_least_s = SUMMARY_KEEP_S;
	if (pruner_start(&s->pruner, &po, &err) < 0) {
		fprintf(stderr, "herald: HERALD_RETENTION: %s\n", err.msg);
		ret = EXIT_FAILURE_PERM;
		goto out;
	}
	ret = 0;

	log_begin(&l, LOG_INFO, "herald started");
	log_str(&l, "version", HERALD_VERSION);
	{
		char listen[300];
		const char *colon = strrchr(ho.listen, ':');
		int hostlen = colon ? (int)(colon - ho.listen) :
			(int)strlen(ho.listen);

		snprintf(listen, sizeof(listen), "%.*s:%d", hostlen, ho.listen,
			 httpd_port(s->httpd));
		log_str(&l, "listen", listen);
	}
	log_str(&l, "provider", provider_kind_name(s->cfg.provider));
	log_str(&l, "database", s->cfg.database);
	if (s->cfg.retention_s)
		log_int(&l, "retention_s", s->cfg.retention_s);
	else
		log_str(&l, "retention", "off");
	log_int(&l, "pending", (long long)pending);
	if (counts[STORE_SENDING])
		log_int(&l, "interrupted", (long long)counts[STORE_SENDING]);
	log_end(&l);
	if (s->cfg.provider == PROVIDER_LOG)
		log_event(LOG_WARN, "NOTIFICATIONS_PROVIDER is not set: "
			  "notifications are printed to standard output, not "
			  "delivered (set it to slack or discord)", NULL);
	/*
	 * The queues are loaded after the API is up: events accepted
	 * meanwhile wait in the engine's inbox and go after the backlog.
	 */
	if (engine_load(s->engine, &recovered, &loaded, &err) < 0) {
		fprintf(stderr, "herald: HERALD_DATABASE: %s\n", err.msg);
		ret = EXIT_FAILURE_PERM;
		goto out;
	} else if (loaded) {
		log_begin(&l, LOG_INFO, "queues loaded");
		log_int(&l, "pending", (long long)loaded);
		log_int(&l, "interrupted_requeued", (long long)recovered);
		log_end(&l);
	}
	{
		struct summary_job_options so = {
			s->store, &s->routing, &s->metrics, engine_api_wake,
			s->engine, NULL
		};

		if (summary_job_start(&s->summary, &so, &err) < 0) {
			fprintf(stderr, "herald: %s\n", err.msg);
			ret = EXIT_FAILURE_PERM;
		}
	}
out:
	errlist_release(&problems);
	errlist_release(&warnings);
	return ret;
}

static void run(struct serve *s)
{
	struct engine_stats before, after;
	double deadline;

	while (!atomic_load(&got_term)) {
		if (atomic_exchange(&got_hup, 0)) {
			tell_manager("reloading the catalog and the channel "
				     "mapping", 1);
			tell_manager(reload(&s->routing) < 0 ? "READY=1\n"
				     "STATUS=serving; the last reload failed, "
				     "see the log" : "READY=1\nSTATUS=serving; "
				     "reloaded", 0);
		}
		engine_run_once(s->engine, LOOP_WAIT_MS);
	}
	log_event(LOG_INFO, "shutting down: finishing requests in flight",
		  NULL);
	tell_manager("STOPPING=1\nSTATUS=shutting down: finishing requests "
		     "in flight", 0);
	api_set_shutting_down(&s->api);
	httpd_quiesce(s->httpd);
	engine_stats(s->engine, &before);
	engine_drain(s->engine);
	deadline = monotonic_now() + (double)s->cfg.shutdown_grace_ms / 1000.0;
	for (;;) {
		engine_run_once(s->engine, DRAIN_WAIT_MS);
		engine_stats(s->engine, &after);
		if (!after.in_flight || monotonic_now() >= deadline)
			break;
	}
	{
		struct log_line l;

		log_begin(&l, LOG_INFO, "stopped");
		log_int(&l, "delivered_during_drain",
			(long long)(after.delivered - before.delivered));
		log_int(&l, "in_flight_abandoned", (long long)after.in_flight);
		log_int(&l, "queued_for_next_start", (long long)after.pending);
		log_end(&l);
	}
}

static void finish(struct serve *s)
{
	summary_job_stop(s->summary);
	if (s->httpd)
		httpd_stop(s->httpd);
	if (s->sig.started) {
		pthread_cancel(s->sig.thread);
		pthread_join(s->sig.thread, NULL);
	}
	pruner_stop(s->pruner);
	engine_free(s->engine);
	store_close(s->store);
	provider_free(s->provider);
	if (s->metrics_ready)
		metrics_release(&s->metrics);
	if (s->routing_ready)
		api_routing_release(&s->routing);
	config_release(&s->cfg);
}

/* --listen and --database: they override the environment's variables. */
static int serve_args(int argc, char **argv)
{
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "database", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:l:d:h", options, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 'd':
			ret = cli_override("serve", c == 'l' ? "--listen" :
					   "--database", c == 'l' ?
					   "HERALD_LISTEN" : "HERALD_DATABASE",
					   optarg);
			if (ret)
				return ret;
			break;
		case 'h':
			cli_help("serve", stdout);
			return -1;
		case ':':
			return cli_usage_error("serve", "%s needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("serve", "unknown option \"%s\"",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("serve", "takes no arguments, got \"%s\"",
				       argv[optind]);
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve s;
	int ret;

	ret = serve_args(argc, argv);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	memset(&s, 0, sizeof(s));
	sigemptyset(&s.sig.set);
	sigaddset(&s.sig.set, SIGTERM);
	sigaddset(&s.sig.set, SIGINT);
	sigaddset(&s.sig.set, SIGHUP);
	sigaddset(&s.sig.set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s.sig.set, NULL);
	ret = start(&s);
	if (!ret) {
		char ready[64];

		snprintf(ready, sizeof(ready), "READY=1\nSTATUS=serving on "
			 "port %d", httpd_port(s.httpd));
		tell_manager(ready, 0);
		run(&s);
	}
	finish(&s);
	return ret;
}
