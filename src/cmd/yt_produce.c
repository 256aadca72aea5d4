/* streamflow yt-produce: fetch titles and comment like counts of up to five
 * YouTube videos and publish them to topic_yt, one record per top-level
 * comment and one summary record per video, keyed by video ID. */
#include <errno.h>
#include <inttypes.h>
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
#include "youtube/quota.h"
#include "youtube/youtube.h"

enum {
        OPT_API_KEY = SF_OPT_LONG,
        OPT_CREDENTIALS,
        OPT_API_BASE,
        OPT_TIMEOUT,
        OPT_TRIES,
        OPT_RETRY_WAIT,
        OPT_FOLLOW,
        OPT_INTERVAL,
        OPT_QUOTA,
        OPT_ORDER,
};

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
        {"follow", OPT_FOLLOW, NULL,
         "keep polling: one round after another, publishing only what changed; ends on SIGINT/SIGTERM"},
        {"interval", OPT_INTERVAL, "DURATION",
         "with --follow: time between round starts (30s, 5m, 1h or seconds; default from the quota)"},
        {"quota-per-day", OPT_QUOTA, "UNITS",
         "with --follow: daily API quota to keep within (default 10000); sets the interval"},
        {"order", OPT_ORDER, "time",
         "with --follow: after the first round, read each video's comment pages (newest first) only "
         "until one holds a comment already seen"},
        {NULL, 'q', NULL, "no per-video lines, only errors and the totals"},
        {0},
};

static const sf_cmd_spec_t spec = {
        "yt-produce",
        "[VIDEO...]",
        "Fetches the title, like count and every top-level comment's like count of up to 5 YouTube\n"
        "videos (IDs or URLs) and publishes them to Kafka, keyed by video ID. With no VIDEO it asks\n"
        "for them on a terminal (one per line, empty line to finish) or reads them from a pipe.\n"
        "Authorise with an API key (Google's recommendation for public data) or a service account.\n"
        "With --follow it polls the videos in rounds (videos.list once for all, then every comment\n"
        "page) and publishes new comments and changed counts; on quotaExceeded it pauses until the\n"
        "quota resets at midnight Pacific time.",
        {options, sf_kafka_options, NULL}};

/* What was last published about a video in follow mode. */
typedef struct last_video {
        char id[SF_YT_ID_LEN + 1];
        int sent;
        char title[512];
        sf_yt_status_t status;
        int64_t comments, likes, video_likes, rejected;
        char reason[256];
} last_video_t;

typedef struct produce {
        sf_producer_t *prod;
        const char *topic;
        int quiet;
        int follow;
        int order_time;    /* stop paging a video at a comment already seen */
        sf_yt_agg_t *seen; /* follow: each comment's last published like count */
        last_video_t last[SF_YT_MAX_VIDEOS];
        long round_units; /* commentThreads.list pages of this round's videos */
        long round_comments, round_videos;
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

/* The seen aggregate's record of video id, or NULL. */
static const sf_yt_agg_video_t *seen_video(const produce_t *pr, const char *id) {
        for (size_t i = 0; pr->seen && i < sf_yt_agg_count(pr->seen); i++)
                if (strcmp(sf_yt_agg_video(pr->seen, i)->id, id) == 0) return sf_yt_agg_video(pr->seen, i);
        return NULL;
}

static int on_comment(void *opaque, const sf_yt_video_t *v, const char *comment_id, int64_t likes) {
        produce_t *pr = opaque;
        int known = 0; /* the comment was seen in an earlier round */
        char now[40];
        sf_yt_now_rfc3339(now, sizeof(now));
        char *rec = sf_yt_comment_record(v, comment_id, likes, now);
        if (rec && pr->follow) {
                /* Only a new comment or a changed like count goes out (a new
                 * title goes out with the video's summary): the record is
                 * compared without its title. */
                sf_yt_video_t bare = *v;
                bare.title = NULL;
                char err[256], *cmp = sf_yt_comment_record(&bare, comment_id, likes, now);
                int changed = 0;
                const sf_yt_agg_video_t *sv = seen_video(pr, v->id);
                int64_t before = sv ? sv->comments : 0;
                int r = cmp ? sf_yt_agg_apply(pr->seen, v->id, strlen(v->id), cmp, strlen(cmp), &changed, err,
                                              sizeof(err))
                            : -1;
                free(cmp);
                sv = seen_video(pr, v->id);
                known = r >= 0 && sv && sv->comments == before;
                if (r >= 0 && !changed) {
                        free(rec);
                        return pr->order_time && known ? SF_YT_LAST_PAGE : 0;
                }
                pr->round_comments++;
        }
        /* A failed send is data lost: stop rather than fetch more of it. */
        if (send_record(pr, v, rec) != 0) return 1;
        return pr->order_time && known ? SF_YT_LAST_PAGE : 0;
}

/* Follow mode: 1 when v's summary differs from the last one published
 * (and records it as published). */
static int video_changed(produce_t *pr, const sf_yt_video_t *v) {
        last_video_t *l = NULL;
        for (int i = 0; i < SF_YT_MAX_VIDEOS && !l; i++)
                if (!pr->last[i].id[0] || strcmp(pr->last[i].id, v->id) == 0) l = &pr->last[i];
        if (!l) return 1;
        const char *t = v->title ? v->title : "";
        if (l->sent && strncmp(l->title, t, sizeof(l->title) - 1) == 0 && l->status == v->status &&
            l->comments == v->comments && l->likes == v->likes && l->video_likes == v->video_likes &&
            l->rejected == v->rejected && strcmp(l->reason, v->reason) == 0)
                return 0;
        snprintf(l->id, sizeof(l->id), "%s", v->id);
        snprintf(l->title, sizeof(l->title), "%s", t);
        snprintf(l->reason, sizeof(l->reason), "%s", v->reason);
        l->status = v->status;
        l->comments = v->comments;
        l->likes = v->likes;
        l->video_likes = v->video_likes;
        l->rejected = v->rejected;
        l->sent = 1;
        return 1;
}

static int on_video(void *opaque, const sf_yt_video_t *in) {
        produce_t *pr = opaque;
        char now[40];
        sf_yt_video_t copy = *in;
        const sf_yt_video_t *v = in;
        const sf_yt_agg_video_t *sv = seen_video(pr, in->id);
        if (pr->order_time && sv) {
                /* Only the newest pages were read: the totals are those of
                 * every comment seen so far. */
                copy.comments = sv->comments;
                copy.likes = sv->likes;
                v = &copy;
        }
        if (pr->follow) {
                /* A round cut short says nothing new about the videos it did not finish. */
                if (v->stopped) return 0;
                pr->round_units += v->pages > 0 ? v->pages : v->status != SF_YT_STATUS_PRIVATE_OR_DELETED;
                if (!video_changed(pr, v)) return 0;
                pr->round_videos++;
        }
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

/* Serves delivery reports until sf_now_s() reaches until or a signal. */
static void wait_until(produce_t *pr, double until) {
        while (sf_kafka_running()) {
                double left = until - sf_now_s();
                if (left <= 0) break;
                sf_producer_poll(pr->prod, left < 0.1 ? (int)(left * 1000) + 1 : 100);
        }
}

/* Seconds to pause after quotaExceeded: until the quota resets at midnight
 * Pacific time, plus a minute for clocks that differ. For tests only,
 * STREAMFLOW_TEST_QUOTA_RESET_S (a duration) replaces the wait. */
static double quota_pause_s(void) {
        const char *t = getenv("STREAMFLOW_TEST_QUOTA_RESET_S");
        double s;
        char err[160];
        if (t && *t && sf_yt_parse_duration(t, &s, err, sizeof(err)) == 0) return s;
        time_t now = time(NULL);
        return (double)(sf_yt_quota_reset(now) - now) + 60;
}

/* Pauses after quotaExceeded, saying until when. */
static void quota_pause(produce_t *pr, const char *why) {
        double pause = quota_pause_s();
        time_t until = time(NULL) + (time_t)(pause + 0.5);
        struct tm tm;
        char when[64] = "?";
        if (gmtime_r(&until, &tm)) strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        fprintf(stderr, "yt-produce: %s; pausing until %s, then going on\n", why, when);
        wait_until(pr, sf_now_s() + pause);
        if (sf_kafka_running()) fprintf(stderr, "yt-produce: resuming after the quota reset\n");
}

typedef struct follow_conf {
        double interval; /* seconds between round starts; from the quota when !fixed */
        int fixed;       /* --interval given */
        long quota;      /* units a day */
} follow_conf_t;

/* After a round of units: the interval from the quota, or a warning when
 * the fixed one would spend more than the quota. */
static void pace(follow_conf_t *fc, int nids, long units) {
        const char *s = nids == 1 ? "" : "s";
        if (!fc->fixed) {
                fc->interval = sf_yt_interval_for_quota(units, fc->quota);
                fprintf(stderr,
                        "yt-produce: following %d video%s, a round costs %ld units: one round every %.1f s "
                        "keeps within %ld units a day\n",
                        nids, s, units, fc->interval, fc->quota);
                return;
        }
        long per_day = sf_yt_units_per_day(units, fc->interval);
        fprintf(stderr,
                "yt-produce: following %d video%s, a round costs %ld units: one round every %.1f s spends "
                "%ld units a day\n",
                nids, s, units, fc->interval, per_day);
        if (per_day > fc->quota)
                fprintf(stderr,
                        "yt-produce: warning: that is over the quota of %ld units a day; one round every "
                        "%.1f s would keep within it (when the quota runs out, polling pauses until it "
                        "resets at midnight Pacific time)\n",
                        fc->quota, sf_yt_interval_for_quota(units, fc->quota));
}

static void add_stats(sf_yt_fetch_stats_t *tot, const sf_yt_fetch_stats_t *st) {
        tot->quota_units += st->quota_units;
        tot->videos_calls += st->videos_calls;
        tot->comment_calls += st->comment_calls;
        tot->retries += st->retries;
}

/* Rounds until a signal. Returns 0, or -1 with errstr set after a fatal
 * error other than the quota, or a record that could not be sent. */
static int follow(produce_t *pr, const char *const *idp, int nids, const sf_yt_fetch_conf_t *fconf,
                  sf_yt_auth_t *auth, follow_conf_t *fc, sf_yt_fetch_stats_t *tot, char *errstr,
                  size_t errstr_size) {
        sf_yt_events_t ev = {pr, on_comment, on_video, on_note, should_stop};
        long units_seen = 0;
        memset(tot, 0, sizeof(*tot));
        for (int round = 1; sf_kafka_running(); round++) {
                double t0 = sf_now_s();
                sf_yt_fetch_stats_t st;
                pr->round_units = 1; /* the one videos.list call */
                pr->round_comments = pr->round_videos = 0;
                int frc = sf_yt_fetch(idp, nids, fconf, auth, &ev, &st, errstr, errstr_size);
                add_stats(tot, &st);
                sf_producer_poll(pr->prod, 0);
                if (frc != 0 && st.quota_exceeded) {
                        round--; /* the round did not happen: it is tried again */
                        quota_pause(pr, errstr);
                        continue;
                }
                if (frc != 0) {
                        tot->fatal = st.fatal;
                        return st.stopped && !pr->send_failed ? 0 : -1;
                }
                if (!pr->quiet) {
                        printf("round %d: %ld comment record%s and %ld video summar%s published, %ld units\n",
                               round, pr->round_comments, pr->round_comments == 1 ? "" : "s",
                               pr->round_videos, pr->round_videos == 1 ? "y" : "ies", st.quota_units);
                        fflush(stdout);
                }
                if (pr->round_units != units_seen) {
                        units_seen = pr->round_units;
                        pace(fc, nids, units_seen);
                }
                wait_until(pr, t0 + fc->interval);
        }
        return 0;
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

/* The command line, read by parse_args. */
typedef struct produce_opts {
        sf_kafka_conf_t *kconf;
        const char *topic, *api_key, *creds, *api_base;
        char *key_copy; /* owns --api-key's value, wiped from argv */
        double timeout_s;
        long long tries, retry_wait, quota;
        int follow, quota_given, order_time, quiet;
        follow_conf_t fc;
        char ids[SF_YT_MAX_VIDEOS][SF_YT_ID_LEN + 1];
        int nids;
} produce_opts_t;

/* Applies one of the command's own options to o. Returns 0, or the exit
 * code after an error (printed). */
static int parse_option(produce_opts_t *o, int c, const char *arg) {
        char errstr[512];
        switch (c) {
        case 't':
                o->topic = arg;
                break;
        case OPT_API_KEY:
                /* Keep a copy and blank the argument: ps shows argv. */
                free_secret(o->key_copy);
                if (!(o->key_copy = strdup(arg))) {
                        fprintf(stderr, "streamflow yt-produce: out of memory\n");
                        return 1;
                }
                sf_opt_wipe(arg);
                o->api_key = o->key_copy;
                break;
        case OPT_CREDENTIALS:
                o->creds = arg;
                break;
        case OPT_API_BASE:
                o->api_base = arg;
                break;
        case OPT_TIMEOUT:
                return sf_opt_double(&spec, "--timeout", arg, 0.05, 3600, &o->timeout_s) != 0 ? 2 : 0;
        case OPT_TRIES:
                return sf_opt_long(&spec, "--tries", arg, 1, 100, &o->tries) != 0 ? 2 : 0;
        case OPT_RETRY_WAIT:
                return sf_opt_long(&spec, "--retry-wait", arg, 1, 600000, &o->retry_wait) != 0 ? 2 : 0;
        case OPT_FOLLOW:
                o->follow = 1;
                break;
        case OPT_INTERVAL:
                if (sf_yt_parse_duration(arg, &o->fc.interval, errstr, sizeof(errstr)) != 0) {
                        sf_opt_usage(&spec, "--interval: %s", errstr);
                        return 2;
                }
                o->fc.fixed = 1;
                break;
        case OPT_ORDER:
                if (strcmp(arg, "time") != 0) {
                        sf_opt_usage(&spec, "--order takes 'time' (the only order it changes)");
                        return 2;
                }
                o->order_time = 1;
                break;
        case OPT_QUOTA:
                if (sf_opt_long(&spec, "--quota-per-day", arg, 1, 1000000000, &o->quota) != 0) return 2;
                o->quota_given = 1;
                break;
        case 'q':
                o->quiet = 1;
                break;
        }
        return 0;
}

/* Checks that the options go together. Returns 0, or SF_OPT_USAGE after a
 * usage error. */
static int check_options(const produce_opts_t *o) {
        if (!*o->topic) return sf_opt_usage(&spec, "-t needs a topic name");
        if (o->api_base && strncmp(o->api_base, "https://", 8) != 0 &&
            strncmp(o->api_base, "http://", 7) != 0)
                return sf_opt_usage(&spec, "--api-base must be an http(s) URL");
        if (o->api_key && o->creds) return sf_opt_usage(&spec, "give --api-key or --credentials, not both");
        if (!o->follow && (o->fc.fixed || o->quota_given || o->order_time)) {
                return sf_opt_usage(&spec, "%s needs --follow",
                                    o->fc.fixed      ? "--interval"
                                    : o->quota_given ? "--quota-per-day"
                                                     : "--order");
        }
        if (o->fc.fixed && o->quota_given)
                return sf_opt_usage(&spec, "give --interval or --quota-per-day, not both");
        if (o->fc.fixed && o->fc.interval < SF_YT_MIN_INTERVAL_S)
                return sf_opt_usage(&spec, "--interval must be at least %g s", SF_YT_MIN_INTERVAL_S);
        return 0;
}

/* The videos: the nops operands in argv[1..nops], or else those read from
 * standard input. Returns 0, or 2 after a usage error. */
static int collect_videos(produce_opts_t *o, char **argv, int nops) {
        for (int i = 1; i <= nops; i++) {
                char where[32];
                snprintf(where, sizeof(where), "argument %d", i);
                if (add_video(argv[i], where, o->ids, &o->nids, 0) != 0) return 2;
        }
        if (o->nids > 0) return 0;
        if (read_videos(o->ids, &o->nids) != 0) return 2;
        if (o->nids == 0) {
                sf_opt_usage(&spec,
                             "no video given (pass up to %d IDs or URLs as arguments, or one per line on "
                             "standard input)",
                             SF_YT_MAX_VIDEOS);
                return 2;
        }
        return 0;
}

/* Reads the command line into o. Returns -1 when the command goes on, or
 * the exit code (after --help, or an error that was printed). */
static int parse_args(produce_opts_t *o, int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c, rc;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_cmd_kafka_next(&p, o->kconf, &arg)) >= 0)
                if ((rc = parse_option(o, c, arg)) != 0) return rc;
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (check_options(o) != 0) return 2;
        o->fc.quota = (long)o->quota;
        return collect_videos(o, argv, p.nops) != 0 ? 2 : -1;
}

/* Creates the producer (and in follow mode the seen aggregate) in pr.
 * Returns 0, or 1 after an error (printed). */
static int start_producer(produce_t *pr, const produce_opts_t *o) {
        char errstr[512];
        sf_kafka_install_signals();
        pr->prod = sf_producer_new(o->kconf, NULL, NULL, errstr, sizeof(errstr));
        if (!pr->prod) {
                fprintf(stderr, "streamflow yt-produce: %s\n", errstr);
                return 1;
        }
        pr->topic = o->topic;
        pr->quiet = o->quiet;
        pr->follow = o->follow;
        pr->order_time = o->order_time;
        if (o->follow && !(pr->seen = sf_yt_agg_new())) {
                fprintf(stderr, "streamflow yt-produce: out of memory\n");
                return 1;
        }
        return 0;
}

static sf_yt_fetch_conf_t fetch_conf(const produce_opts_t *o) {
        long timeout_ms = (long)(o->timeout_s * 1000);
        sf_yt_fetch_conf_t fconf = {
                .api_base = o->api_base,
                .timeout_ms = timeout_ms,
                .connect_timeout_ms = timeout_ms < 10000 ? timeout_ms : 10000,
                .max_tries = (int)o->tries,
                .backoff_base_ms = (long)o->retry_wait,
                .backoff_max_ms = 30000,
                .batch_videos = o->follow,
                .order_time = o->order_time,
        };
        return fconf;
}

/* After the fetch (frc its result, errstr its error): says why it stopped,
 * flushes, prints the totals and returns the exit code. */
static int finish(produce_t *pr, sf_yt_auth_t *auth, int frc, const sf_yt_fetch_stats_t *st,
                  const char *errstr) {
        if (frc != 0 && !st->fatal && pr->send_failed)
                fprintf(stderr, "streamflow yt-produce: stopped: a record could not be sent to %s: %s\n",
                        pr->topic, pr->first_send_error);
        else if (frc != 0)
                fprintf(stderr, "streamflow yt-produce: stopped: %s\n", errstr);

        uint64_t undelivered = sf_producer_flush(pr->prod, 30000);
        uint64_t lost = undelivered + pr->send_failed;
        sf_producer_stats_t ps = sf_producer_stats(pr->prod);
        printf("quota units used: %ld (videos.list %ld, commentThreads.list %ld), retries %ld\n",
               st->quota_units, st->videos_calls, st->comment_calls, st->retries);
        if (sf_yt_auth_is_bearer(auth)) printf("access tokens obtained: %d\n", sf_yt_auth_token_count(auth));
        printf("messages: %llu sent to %s, %llu delivered, %llu not delivered\n", (unsigned long long)ps.sent,
               pr->topic, (unsigned long long)ps.delivered, (unsigned long long)lost);
        if (lost)
                fprintf(stderr, "streamflow yt-produce: %llu message(s) could not be delivered to %s\n",
                        (unsigned long long)lost, pr->topic);
        return (frc != 0 || undelivered || pr->send_failed || sf_producer_fatal(pr->prod)) ? 1 : 0;
}

/* Fetches once, or rounds until a signal with --follow, then finishes.
 * Returns the exit code. */
static int run(produce_t *pr, const produce_opts_t *o, sf_yt_auth_t *auth) {
        char errstr[512];
        const char *idp[SF_YT_MAX_VIDEOS];
        for (int i = 0; i < o->nids; i++) idp[i] = o->ids[i];
        sf_yt_fetch_conf_t fconf = fetch_conf(o);
        sf_yt_events_t ev = {pr, on_comment, on_video, on_note, should_stop};
        sf_yt_fetch_stats_t st;
        follow_conf_t fc = o->fc;
        if (!o->quiet)
                printf("%s %d video%s with %s into %s\n", o->follow ? "following" : "fetching", o->nids,
                       o->nids == 1 ? "" : "s",
                       sf_yt_auth_is_bearer(auth) ? "a service account" : "an API key", o->topic);
        fflush(stdout);
        int frc = o->follow ? follow(pr, idp, o->nids, &fconf, auth, &fc, &st, errstr, sizeof(errstr))
                            : sf_yt_fetch(idp, o->nids, &fconf, auth, &ev, &st, errstr, sizeof(errstr));
        return finish(pr, auth, frc, &st, errstr);
}

int cmd_yt_produce(int argc, char **argv) {
        produce_opts_t o = {.topic = SF_TOPIC_YT,
                            .timeout_s = 30,
                            .tries = 5,
                            .retry_wait = 500,
                            .quota = SF_YT_DEFAULT_QUOTA};
        sf_yt_auth_t *auth = NULL;
        produce_t pr = {0};
        int rc;

        if (!(o.kconf = sf_kafka_conf_new())) {
                fprintf(stderr, "streamflow yt-produce: out of memory\n");
                return 1;
        }
        if ((rc = parse_args(&o, argc, argv)) >= 0) goto out;
        if ((rc = open_auth(o.api_key, o.creds, &auth)) != 0) goto out;
        sf_yt_auth_set_http(auth, (long)(o.timeout_s * 1000), (int)o.tries, (long)o.retry_wait);
        if ((rc = start_producer(&pr, &o)) != 0) goto out;
        rc = run(&pr, &o, auth);
out:
        if (pr.prod) sf_producer_destroy(pr.prod);
        sf_yt_auth_destroy(auth);
        sf_yt_agg_destroy(pr.seen);
        sf_kafka_conf_destroy(o.kconf);
        free_secret(o.key_copy);
        return rc;
}
