/* streamflow yt-produce: fetch titles and comment like counts of up to five
 * YouTube videos and publish them to topic_yt, one record per top-level
 * comment and one summary record per video, keyed by video ID. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/kafka_opt.h"
#include "cmd/opt.h"
#include "kafka/kafka.h"
#include "util/util.h"
#include "youtube/agg.h"
#include "youtube/auth.h"
#include "youtube/youtube.h"

enum { OPT_API_KEY = SF_OPT_LONG, OPT_CREDENTIALS, OPT_API_BASE, OPT_TIMEOUT, OPT_TRIES, OPT_RETRY_WAIT };

static const sf_option_t options[] = {
        {"topic", 't', "TOPIC", "topic to publish to (default topic_yt)"},
        {"api-key", OPT_API_KEY, "KEY",
         "YouTube Data API key (default $YOUTUBE_API_KEY; prefer the variable: ps shows arguments)"},
        {"credentials", OPT_CREDENTIALS, "FILE",
         "service-account JSON key file (default $GOOGLE_APPLICATION_CREDENTIALS)"},
        {"api-base", OPT_API_BASE, "URL", "API base URL (default " SF_YT_DEFAULT_API_BASE ")"},
        {"timeout", OPT_TIMEOUT, "SECONDS", "per-request timeout (default 30)"},
        {"tries", OPT_TRIES, "N", "tries per API call before a video fails (default 5)"},
        {"retry-wait", OPT_RETRY_WAIT, "MS",
         "first backoff, doubled on each retry, with jitter (default 500)"},
        {NULL, 'q', NULL, "no per-video lines, only errors and the totals"},
        {0},
};

static const sf_cmd_spec_t spec = {
        "yt-produce",
        "[VIDEO...]",
        "Fetches the title, like count and every top-level comment's like count of up to 5 YouTube\n"
        "videos (IDs or URLs) and publishes them to Kafka, keyed by video ID. With no VIDEO it asks\n"
        "for them on a terminal (one per line, empty line to finish) or reads them from a pipe.\n"
        "Authorise with an API key (Google's recommendation for public data) or a service account.",
        {options, sf_kafka_options, NULL}};

typedef struct produce {
        sf_producer_t *prod;
        const char *topic;
        int quiet;
        uint64_t send_failed;
        char first_send_error[512];
} produce_t;

static int send_record(produce_t *pr, const sf_yt_video_t *v, char *value) {
        char errstr[512];
        if (!value) {
                pr->send_failed++;
                snprintf(pr->first_send_error, sizeof(pr->first_send_error),
                         "out of memory building a record");
                return -1;
        }
        int rc = sf_producer_send(pr->prod, pr->topic, -1, v->id, strlen(v->id), value, strlen(value), NULL,
                                  NULL, errstr, sizeof(errstr));
        free(value);
        if (rc != 0) {
                if (!pr->send_failed++)
                        snprintf(pr->first_send_error, sizeof(pr->first_send_error), "%s", errstr);
                fprintf(stderr, "streamflow yt-produce: %s: record not sent: %s\n", v->id, errstr);
                return -1;
        }
        sf_producer_poll(pr->prod, 0);
        return 0;
}

static int on_comment(void *opaque, const sf_yt_video_t *v, const char *comment_id, int64_t likes) {
        char now[40];
        sf_yt_now_rfc3339(now, sizeof(now));
        /* A failed send is data lost: stop rather than fetch more of it. */
        return send_record(opaque, v, sf_yt_comment_record(v, comment_id, likes, now)) != 0;
}

static int on_video(void *opaque, const sf_yt_video_t *v) {
        produce_t *pr = opaque;
        char now[40];
        sf_yt_now_rfc3339(now, sizeof(now));
        int rc = send_record(pr, v, sf_yt_video_record(v, now));
        if (!pr->quiet) {
                char vlikes[32] = "hidden", rejected[48] = "";
                if (v->video_likes >= 0) snprintf(vlikes, sizeof(vlikes), "%lld", (long long)v->video_likes);
                if (v->rejected)
                        snprintf(rejected, sizeof(rejected), "  rejected %lld", (long long)v->rejected);
                /* as it is, but no terminal control characters */
                char title[1024];
                const char *t = v->title ? v->title : "";
                sf_yt_fit(title, sizeof(title), t, sf_yt_display_width(t));
                printf("%s  %-18s %6lld comments %8lld likes  video likes %s  pages %d  retries %d%s  "
                       "\"%s\"\n",
                       v->id, sf_yt_status_str(v->status), (long long)v->comments, (long long)v->likes,
                       vlikes, v->pages, v->retries, rejected, title);
                if (v->reason[0]) printf("%s  reason: %s\n", v->id, v->reason);
                fflush(stdout);
        }
        return rc != 0;
}

static void on_note(void *opaque, const sf_yt_video_t *v, const char *msg) {
        fprintf(stderr, "streamflow yt-produce: %s: %s\n", v->id, msg);
}

static int should_stop(void *opaque) {
        return !sf_kafka_running();
}

static void free_secret(char *s) {
        if (!s) return;
        explicit_bzero(s, strlen(s));
        free(s);
}

/* Adds ref to ids[] (validated, no duplicates, at most 5). where names it
 * ("argument 2", "line 3"): a rejected ref is quoted only when it cannot be
 * a key pasted in the wrong place. Returns 0, or -1 after printing why. */
static int add_video(const char *ref, const char *where, char ids[][SF_YT_ID_LEN + 1], int *n,
                     int interactive) {
        char id[SF_YT_ID_LEN + 1], err[320], shown[128];
        if (sf_yt_parse_video_ref(ref, id, err, sizeof(err)) != 0) {
                if (interactive)
                        fprintf(stderr, "  %s; try again\n", err);
                else
                        sf_opt_usage(&spec, "%s: %s", where, err);
                return -1;
        }
        sf_yt_ref_display(ref, shown, sizeof(shown));
        for (int i = 0; i < *n; i++) {
                if (strcmp(ids[i], id) == 0) {
                        if (interactive)
                                fprintf(stderr, "  %s is already in the list\n", id);
                        else
                                sf_opt_usage(&spec, "video %s is given twice (%s: %s)", id, where, shown);
                        return -1;
                }
        }
        if (*n >= SF_YT_MAX_VIDEOS) {
                if (!interactive)
                        sf_opt_usage(&spec, "at most %d videos per run (%s, %s, is one too many)",
                                     SF_YT_MAX_VIDEOS, where, shown);
                return -1;
        }
        memcpy(ids[(*n)++], id, sizeof(id));
        return 0;
}

/* Reads IDs from stdin: prompting on a terminal, plainly from a pipe.
 * Returns 0 or -1 (usage error printed). */
static int read_videos(char ids[][SF_YT_ID_LEN + 1], int *n) {
        int tty = isatty(STDIN_FILENO);
        char line[4096], where[32];
        int lineno = 0;
        if (tty)
                fprintf(stderr, "Video IDs or URLs, one per line (up to %d; an empty line finishes):\n",
                        SF_YT_MAX_VIDEOS);
        for (;;) {
                if (tty) {
                        if (*n >= SF_YT_MAX_VIDEOS) break;
                        fprintf(stderr, "video %d> ", *n + 1);
                        fflush(stderr);
                }
                if (!fgets(line, sizeof(line), stdin)) break;
                lineno++;
                size_t len = strlen(line);
                if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
                        sf_opt_usage(&spec, "an input line is longer than %zu bytes", sizeof(line) - 2);
                        return -1;
                }
                while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
                        line[--len] = '\0';
                char *s = line;
                while (*s == ' ' || *s == '\t') s++;
                if (!*s) {
                        if (tty) break;
                        continue;
                }
                snprintf(where, sizeof(where), "standard input line %d", lineno);
                if (add_video(s, where, ids, n, tty) != 0 && !tty) return -1;
        }
        return 0;
}

/* The credentials: the flags first, then the environment. Returns 0 with
 * *auth set, 2 after a usage error, 1 after another error (both printed). */
static int open_auth(const char *api_key, const char *creds, sf_yt_auth_t **auth) {
        char errstr[512];
        if (!api_key && !creds) {
                const char *k = getenv("YOUTUBE_API_KEY"), *f = getenv("GOOGLE_APPLICATION_CREDENTIALS");
                if (k && *k)
                        api_key = k;
                else if (f && *f)
                        creds = f;
        }
        if (!api_key && !creds) {
                sf_opt_usage(&spec,
                             "no credentials: set YOUTUBE_API_KEY (or --api-key; Google recommends an API "
                             "key for public data) or GOOGLE_APPLICATION_CREDENTIALS (or --credentials) to a "
                             "service-account key file");
                return 2;
        }
        if (api_key) {
                /* A key no API hands out is a usage error, like any bad argument. */
                if (!(*auth = sf_yt_auth_new_key(api_key, errstr, sizeof(errstr)))) {
                        sf_opt_usage(&spec, "%s", errstr);
                        return 2;
                }
        } else if (!(*auth = sf_yt_auth_new_service_account(creds, errstr, sizeof(errstr)))) {
                fprintf(stderr, "streamflow yt-produce: %s\n", errstr);
                return 1;
        }
        return 0;
}

int cmd_yt_produce(int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c, rc = 1, quiet = 0;
        char errstr[512];
        const char *topic = SF_TOPIC_YT, *api_key = NULL, *creds = NULL, *api_base = NULL;
        char *key_copy = NULL;
        double timeout_s = 30;
        long long tries = 5, retry_wait = 500;
        char ids[SF_YT_MAX_VIDEOS][SF_YT_ID_LEN + 1];
        const char *idp[SF_YT_MAX_VIDEOS];
        int nids = 0;
        sf_kafka_conf_t *kconf = sf_kafka_conf_new();
        sf_yt_auth_t *auth = NULL;
        produce_t pr = {0};

        if (!kconf) {
                fprintf(stderr, "streamflow yt-produce: out of memory\n");
                return 1;
        }
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (sf_kafka_is_opt(c)) {
                        int kr = sf_cmd_kafka_opt(&spec, kconf, c, arg);
                        if (kr == SF_OPT_EXIT) {
                                rc = 0;
                                goto out;
                        }
                        if (kr == SF_OPT_USAGE) {
                                rc = 2;
                                goto out;
                        }
                        continue;
                }
                switch (c) {
                case 't':
                        topic = arg;
                        break;
                case OPT_API_KEY:
                        /* Keep a copy and blank the argument: ps shows argv. */
                        free_secret(key_copy);
                        if (!(key_copy = strdup(arg))) {
                                fprintf(stderr, "streamflow yt-produce: out of memory\n");
                                goto out;
                        }
                        sf_opt_wipe(arg);
                        api_key = key_copy;
                        break;
                case OPT_CREDENTIALS:
                        creds = arg;
                        break;
                case OPT_API_BASE:
                        api_base = arg;
                        break;
                case OPT_TIMEOUT:
                        if (sf_opt_double(&spec, "--timeout", arg, 0.05, 3600, &timeout_s) != 0) goto usage;
                        break;
                case OPT_TRIES:
                        if (sf_opt_long(&spec, "--tries", arg, 1, 100, &tries) != 0) goto usage;
                        break;
                case OPT_RETRY_WAIT:
                        if (sf_opt_long(&spec, "--retry-wait", arg, 1, 600000, &retry_wait) != 0) goto usage;
                        break;
                case 'q':
                        quiet = 1;
                        break;
                }
        }
        if (c == SF_OPT_EXIT) {
                rc = 0;
                goto out;
        }
        if (c == SF_OPT_USAGE) goto usage;
        if (!*topic) {
                sf_opt_usage(&spec, "-t needs a topic name");
                goto usage;
        }
        if (api_base && strncmp(api_base, "https://", 8) != 0 && strncmp(api_base, "http://", 7) != 0) {
                sf_opt_usage(&spec, "--api-base must be an http(s) URL");
                goto usage;
        }
        if (api_key && creds) {
                sf_opt_usage(&spec, "give --api-key or --credentials, not both");
                goto usage;
        }
        for (int i = 1; i <= p.nops; i++) {
                char where[32];
                snprintf(where, sizeof(where), "argument %d", i);
                if (add_video(argv[i], where, ids, &nids, 0) != 0) goto usage;
        }
        if (nids == 0) {
                if (read_videos(ids, &nids) != 0) goto usage;
                if (nids == 0) {
                        sf_opt_usage(&spec,
                                     "no video given (pass up to %d IDs or URLs as arguments, or one per "
                                     "line on standard input)",
                                     SF_YT_MAX_VIDEOS);
                        goto usage;
                }
        }

        int arc = open_auth(api_key, creds, &auth);
        if (arc == 2) goto usage;
        if (arc != 0) goto out;
        sf_yt_auth_set_http(auth, (long)(timeout_s * 1000), (int)tries, (long)retry_wait);

        sf_kafka_install_signals();
        pr.prod = sf_producer_new(kconf, NULL, NULL, errstr, sizeof(errstr));
        if (!pr.prod) {
                fprintf(stderr, "streamflow yt-produce: %s\n", errstr);
                goto out;
        }
        pr.topic = topic;
        pr.quiet = quiet;
        for (int i = 0; i < nids; i++) idp[i] = ids[i];
        sf_yt_fetch_conf_t fconf = {
                .api_base = api_base,
                .timeout_ms = (long)(timeout_s * 1000),
                .connect_timeout_ms = (long)(timeout_s * 1000) < 10000 ? (long)(timeout_s * 1000) : 10000,
                .max_tries = (int)tries,
                .backoff_base_ms = (long)retry_wait,
                .backoff_max_ms = 30000,
        };
        sf_yt_events_t ev = {&pr, on_comment, on_video, on_note, should_stop};
        sf_yt_fetch_stats_t st;
        if (!quiet)
                printf("fetching %d video%s with %s into %s\n", nids, nids == 1 ? "" : "s",
                       sf_yt_auth_is_bearer(auth) ? "a service account" : "an API key", topic);
        fflush(stdout);
        int frc = sf_yt_fetch(idp, nids, &fconf, auth, &ev, &st, errstr, sizeof(errstr));
        if (frc != 0 && st.fatal)
                fprintf(stderr, "streamflow yt-produce: stopped: %s\n", errstr);
        else if (frc != 0 && pr.send_failed)
                fprintf(stderr, "streamflow yt-produce: stopped: a record could not be sent to %s: %s\n",
                        topic, pr.first_send_error);
        else if (frc != 0)
                fprintf(stderr, "streamflow yt-produce: stopped: %s\n", errstr);

        uint64_t undelivered = sf_producer_flush(pr.prod, 30000);
        sf_producer_stats_t ps = sf_producer_stats(pr.prod);
        printf("quota units used: %ld (videos.list %ld, commentThreads.list %ld), retries %ld\n",
               st.quota_units, st.videos_calls, st.comment_calls, st.retries);
        if (sf_yt_auth_is_bearer(auth)) printf("access tokens obtained: %d\n", sf_yt_auth_token_count(auth));
        printf("messages: %llu sent to %s, %llu delivered, %llu not delivered\n", (unsigned long long)ps.sent,
               topic, (unsigned long long)ps.delivered, (unsigned long long)(undelivered + pr.send_failed));
        if (undelivered + pr.send_failed)
                fprintf(stderr, "streamflow yt-produce: %llu message(s) could not be delivered to %s\n",
                        (unsigned long long)(undelivered + pr.send_failed), topic);
        rc = (frc != 0 || undelivered || pr.send_failed || sf_producer_fatal(pr.prod)) ? 1 : 0;
        goto out;
usage:
        rc = 2;
out:
        if (pr.prod) sf_producer_destroy(pr.prod);
        sf_yt_auth_destroy(auth);
        sf_kafka_conf_destroy(kconf);
        free_secret(key_copy);
        return rc;
}
