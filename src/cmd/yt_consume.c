/* streamflow yt-consume: running like totals per video from topic_yt.
 *
 * State across crashes: the totals are rebuilt from the topic itself. At
 * start a group-less reader reads every partition of topic_yt from its
 * first offset to its end; then the consumer joins its group (analytics)
 * and goes on from the group's committed offsets. Replaying a message is
 * harmless because a total is the sum of each distinct comment's latest
 * like count, so whatever was applied before a SIGKILL, the restarted
 * process ends with the same exact totals. The price is one read of the
 * topic per start, and the topic's retention must keep what is counted. */
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/kafka_opt.h"
#include "cmd/opt.h"
#include "kafka/kafka.h"
#include "service/http.h"
#include "service/page.h"
#include "util/util.h"
#include "youtube/agg.h"

enum { OPT_IDLE = SF_OPT_LONG, OPT_JSON, OPT_METRICS };

static const sf_option_t options[] = {
        {"topic", 't', "TOPIC", "topic to read (default topic_yt)"},
        {"group", 'G', "GROUP", "consumer group (default analytics)"},
        {NULL, 'e', NULL, "exit once caught up with the end of every partition"},
        {"idle", OPT_IDLE, "SECONDS", "exit after SECONDS without a message"},
        {"json", OPT_JSON, NULL, "JSON lines: one per change, then the summary"},
        {NULL, 'q', NULL, "no running output, only the summary"},
        {"metrics", OPT_METRICS, "HOST:PORT",
         "serve /metrics (Prometheus), /healthz and /readyz over HTTP (port 0: any free port)"},
        {0},
};

static const sf_cmd_spec_t spec = {
        "yt-consume",
        NULL,
        "Reads topic_yt and keeps running totals per video: likes (the sum of each distinct comment's\n"
        "latest like count), comments and status, shown as a live table on a terminal, one line per\n"
        "change otherwise. Ends on SIGINT/SIGTERM, -e or --idle, commits, and prints the summary.\n"
        "Totals are rebuilt from the topic at start, so a crash or SIGKILL never loses or doubles them.\n"
        "Live output also shows each video's change in likes and comments over the last minute and\n"
        "since the start (after the rebuild).",
        {options, sf_kafka_options, NULL}};

typedef enum { OUT_LINES, OUT_TABLE, OUT_JSON, OUT_QUIET } out_mode_t;

typedef struct consume {
        sf_yt_agg_t *agg;
        const char *topic;
        out_mode_t mode;
        unsigned char *dirty; /* per video index: changed since the last output */
        size_t dirty_cap;
        uint64_t bad;
        uint64_t read;
        double assigned_at;  /* when the group last gave us partitions, 0 before */
        int64_t *rebuilt_to; /* per partition: next offset after those the rebuild applied */
        int32_t nrebuilt;
        /* --metrics */
        sf_page_t *page;
        sf_svc_t *svc;
        rd_kafka_t *rk; /* the group consumer, for the lag */
        int assigned, rebalancing;
        double published_at;
} consume_t;

/* --metrics: renders the page and publishes it with the readiness. */
static void publish(consume_t *cs) {
        if (!cs->page) return;
        sf_expo_t e;
        sf_expo_init(&e);
        sf_expo_family(&e, "streamflow_yt_messages_total", "counter", "Messages read from the topic.");
        sf_expo_u64(&e, "streamflow_yt_messages_total", NULL, cs->read);
        sf_expo_family(&e, "streamflow_yt_malformed_messages_total", "counter",
                       "Messages skipped as malformed.");
        sf_expo_u64(&e, "streamflow_yt_malformed_messages_total", NULL, cs->bad);
        size_t n = sf_yt_agg_count(cs->agg);
        sf_expo_family(&e, "streamflow_yt_videos", "gauge", "Videos with a running total.");
        sf_expo_u64(&e, "streamflow_yt_videos", NULL, n);
        sf_expo_family(&e, "streamflow_yt_video_likes", "gauge",
                       "Likes of a video: the sum of each distinct comment's latest like count.");
        for (size_t i = 0; i < n; i++) {
                const sf_yt_agg_video_t *v = sf_yt_agg_video(cs->agg, i);
                const char *labels[] = {"video_id", v->id, NULL};
                sf_expo_double(&e, "streamflow_yt_video_likes", labels, (double)v->likes);
        }
        sf_expo_family(&e, "streamflow_yt_video_comments", "gauge", "Distinct comments seen on a video.");
        for (size_t i = 0; i < n; i++) {
                const sf_yt_agg_video_t *v = sf_yt_agg_video(cs->agg, i);
                const char *labels[] = {"video_id", v->id, NULL};
                sf_expo_double(&e, "streamflow_yt_video_comments", labels, (double)v->comments);
        }
        sf_page_lag(&e, "streamflow_yt_consumer_lag",
                    "Messages in the partition after the consumer's position.", cs->rk, cs->topic);
        sf_expo_family(&e, "streamflow_yt_assigned_partitions", "gauge", "Partitions of the topic assigned.");
        sf_expo_u64(&e, "streamflow_yt_assigned_partitions", NULL, (uint64_t)cs->assigned);
        const char *why = !cs->rk             ? "rebuilding the totals from the topic, or stopping"
                          : cs->rebalancing   ? "rebalance in progress: partitions revoked"
                          : cs->assigned <= 0 ? "no partition assigned yet"
                                              : "";
        sf_page_publish(cs->page, &e, *why == '\0', why);
        cs->published_at = sf_now_s();
}

/* Records that the rebuild applied topic[partition] up to offset. */
static int note_rebuilt(consume_t *cs, int32_t partition, int64_t offset) {
        if (partition < 0 || partition > 100000) return 0;
        if (partition >= cs->nrebuilt) {
                int32_t n = partition + 1;
                int64_t *p = realloc(cs->rebuilt_to, (size_t)n * sizeof(*p));
                if (!p) return -1;
                for (int32_t i = cs->nrebuilt; i < n; i++) p[i] = 0;
                cs->rebuilt_to = p;
                cs->nrebuilt = n;
        }
        if (offset + 1 > cs->rebuilt_to[partition]) cs->rebuilt_to[partition] = offset + 1;
        return 0;
}

/* True when the rebuild already applied this message. */
static int already_applied(const consume_t *cs, const rd_kafka_message_t *m) {
        return m->partition >= 0 && m->partition < cs->nrebuilt && m->offset < cs->rebuilt_to[m->partition];
}

/* --idle counts from the first assignment: joining a group takes seconds
 * and is not "no messages". */
static void on_rebalance(void *ctx, sf_consumer_t *c, rd_kafka_resp_err_t err,
                         const rd_kafka_topic_partition_list_t *parts) {
        consume_t *cs = ctx;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && parts->cnt > 0) cs->assigned_at = sf_now_s();
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                cs->assigned += parts->cnt;
                cs->rebalancing = 0;
        } else {
                cs->assigned = cs->assigned > parts->cnt ? cs->assigned - parts->cnt : 0;
                cs->rebalancing = 1;
        }
        publish(cs);
}

static int mark_dirty(consume_t *cs, int idx) {
        if ((size_t)idx >= cs->dirty_cap) {
                size_t cap = cs->dirty_cap ? cs->dirty_cap : 16;
                while (cap <= (size_t)idx) cap *= 2;
                unsigned char *p = realloc(cs->dirty, cap);
                if (!p) return -1;
                memset(p + cs->dirty_cap, 0, cap - cs->dirty_cap);
                cs->dirty = p;
                cs->dirty_cap = cap;
        }
        cs->dirty[idx] = 1;
        return 0;
}

/* Applies one message; reports a malformed one with its coordinates.
 * Returns -1 only when out of memory. */
static int apply(consume_t *cs, const rd_kafka_message_t *m) {
        char err[512];
        int changed = 0;
        cs->read++;
        int idx =
                sf_yt_agg_apply(cs->agg, m->key, m->key_len, m->payload, m->len, &changed, err, sizeof(err));
        if (idx < 0) {
                if (strcmp(err, "out of memory") == 0) return -1;
                cs->bad++;
                fprintf(stderr, "streamflow yt-consume: %s [%d] offset %lld: skipped: %s\n",
                        rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset, err);
                return 0;
        }
        if (changed && mark_dirty(cs, idx) != 0) return -1;
        return 0;
}

static int title_width(const sf_yt_agg_t *agg) {
        int w = 5;
        for (size_t i = 0; i < sf_yt_agg_count(agg); i++) {
                int t = sf_yt_display_width(sf_yt_agg_video(agg, i)->title);
                if (t > w) w = t;
        }
        return w > 48 ? 48 : w;
}

static void print_row(FILE *out, const sf_yt_agg_video_t *v, int tw) {
        char title[512];
        sf_yt_fit(title, sizeof(title), v->title, tw);
        printf("%s  %-11s  %10lld  %8lld  %s\n", title, v->id, (long long)v->likes, (long long)v->comments,
               sf_yt_agg_status_str(v->status));
        (void)out;
}

/* A row of the live table: the totals and how they moved. */
static void print_live_row(const sf_yt_agg_t *agg, size_t i, int tw, double now) {
        const sf_yt_agg_video_t *v = sf_yt_agg_video(agg, i);
        sf_yt_agg_change_t c;
        char title[512];
        sf_yt_agg_change(agg, i, now, &c);
        sf_yt_fit(title, sizeof(title), v->title, tw);
        printf("%s  %-11s  %10lld  %+9lld  %+11lld  %8lld  %+12lld  %+11lld  %s\n", title, v->id,
               (long long)v->likes, (long long)c.likes_per_min, (long long)c.likes_since_start,
               (long long)v->comments, (long long)c.comments_per_min, (long long)c.comments_since_start,
               sf_yt_agg_status_str(v->status));
}

/* The summary's table, or with live set the running one with changes. */
static void print_table(const sf_yt_agg_t *agg, int live) {
        int tw = title_width(agg);
        char head[128];
        double now = sf_now_s();
        sf_yt_fit(head, sizeof(head), "TITLE", tw);
        if (live) {
                printf("%s  %-11s  %10s  %9s  %11s  %8s  %12s  %11s  %s\n", head, "VIDEO ID", "LIKES",
                       "LIKES/MIN", "SINCE START", "COMMENTS", "COMMENTS/MIN", "SINCE START", "STATUS");
                for (size_t i = 0; i < sf_yt_agg_count(agg); i++) print_live_row(agg, i, tw, now);
                return;
        }
        printf("%s  %-11s  %10s  %8s  %s\n", head, "VIDEO ID", "LIKES", "COMMENTS", "STATUS");
        for (size_t i = 0; i < sf_yt_agg_count(agg); i++) print_row(stdout, sf_yt_agg_video(agg, i), tw);
}

static void print_json_video(const char *type, const sf_yt_agg_video_t *v) {
        char *s = sf_yt_agg_video_json(v);
        if (!s) return;
        printf("{\"type\":\"%s\",%s\n", type, s + 1);
        free(s);
}

/* Shows what changed since the last call; with redraw, the table even when
 * nothing did (its per-minute changes move with time). */
static void flush_changes(consume_t *cs, int redraw) {
        size_t n = sf_yt_agg_count(cs->agg);
        double now = sf_now_s();
        int any = 0;
        for (size_t i = 0; i < n && i < cs->dirty_cap; i++) any |= cs->dirty[i];
        if (redraw && cs->mode == OUT_TABLE && n > 0) any = 1;
        if (!any) return;
        if (cs->mode == OUT_TABLE) {
                printf("\033[H\033[2J%s: %llu messages\n\n", cs->topic, (unsigned long long)cs->read);
                print_table(cs->agg, 1);
        } else if (cs->mode != OUT_QUIET) {
                int tw = title_width(cs->agg);
                for (size_t i = 0; i < n && i < cs->dirty_cap; i++) {
                        if (!cs->dirty[i]) continue;
                        const sf_yt_agg_video_t *v = sf_yt_agg_video(cs->agg, i);
                        sf_yt_agg_change_t c;
                        sf_yt_agg_change(cs->agg, i, now, &c);
                        if (cs->mode == OUT_JSON) {
                                char *s = sf_yt_agg_video_json_live(cs->agg, i, now);
                                if (s) printf("{\"type\":\"update\",%s\n", s + 1);
                                free(s);
                        } else {
                                char title[512];
                                sf_yt_fit(title, sizeof(title), v->title, tw);
                                printf("update  %s  %s  likes %lld  comments %lld  status %s  likes "
                                       "%+lld/min "
                                       "%+lld since start  comments %+lld/min %+lld since start\n",
                                       v->id, title, (long long)v->likes, (long long)v->comments,
                                       sf_yt_agg_status_str(v->status), (long long)c.likes_per_min,
                                       (long long)c.likes_since_start, (long long)c.comments_per_min,
                                       (long long)c.comments_since_start);
                        }
                }
        }
        memset(cs->dirty, 0, cs->dirty_cap);
        fflush(stdout);
}

/* A whole title for a line of text: as it is, control characters as '?'. */
static const char *clean(const char *title, char *buf, size_t size) {
        sf_yt_fit(buf, size, title, sf_yt_display_width(title));
        return buf;
}

static void print_summary(consume_t *cs, const char *group) {
        char tb[1024];
        size_t n = sf_yt_agg_count(cs->agg);
        size_t best[64];
        size_t nbest = sf_yt_agg_most_liked(cs->agg, best, SF_ARRAY_SIZE(best));
        if (cs->mode == OUT_JSON) {
                printf("{\"type\":\"summary\",\"topic\":\"%s\",\"messages\":%llu,\"malformed\":%llu,"
                       "\"videos\":%zu,"
                       "\"most_liked\":[",
                       cs->topic, (unsigned long long)cs->read, (unsigned long long)cs->bad, n);
                for (size_t i = 0; i < nbest; i++)
                        printf("%s\"%s\"", i ? "," : "", sf_yt_agg_video(cs->agg, best[i])->id);
                printf("]}\n");
                for (size_t i = 0; i < n; i++) print_json_video("total", sf_yt_agg_video(cs->agg, i));
                fflush(stdout);
                return;
        }
        if (cs->mode == OUT_TABLE)
                printf("\033[H\033[2J");
        else
                printf("\n");
        if (n == 0) {
                printf("summary: %s has no YouTube records%s (run 'streamflow yt-produce' to fetch some)\n",
                       cs->topic, cs->read ? " that could be read" : ": the topic is empty");
                if (cs->bad) printf("%llu malformed message(s) skipped\n", (unsigned long long)cs->bad);
                fflush(stdout);
                return;
        }
        printf("summary: %zu video%s from %llu message%s on %s (group %s)\n", n, n == 1 ? "" : "s",
               (unsigned long long)cs->read, cs->read == 1 ? "" : "s", cs->topic, group);
        print_table(cs->agg, 0);
        const sf_yt_agg_video_t *top = sf_yt_agg_video(cs->agg, best[0]);
        if (nbest == 1) {
                printf("most liked: \"%s\" (%s) with %lld likes\n", clean(top->title, tb, sizeof(tb)),
                       top->id, (long long)top->likes);
        } else {
                printf("most liked: a tie of %zu videos with %lld likes each:", nbest, (long long)top->likes);
                for (size_t i = 0; i < nbest; i++) {
                        const sf_yt_agg_video_t *v = sf_yt_agg_video(cs->agg, best[i]);
                        printf("%s \"%s\" (%s)", i ? "," : "", clean(v->title, tb, sizeof(tb)), v->id);
                }
                printf("\n");
        }
        if (cs->bad)
                printf("%llu malformed message(s) skipped (reported above)\n", (unsigned long long)cs->bad);
        fflush(stdout);
}

/* Column widths need wcwidth to know UTF-8; the bytes printed are the same
 * whatever the locale. */
static void utf8_locale(void) {
        const char *l = setlocale(LC_CTYPE, "");
        if (l && strcmp(nl_langinfo(CODESET), "UTF-8") == 0) return;
        if (!setlocale(LC_CTYPE, "C.UTF-8")) setlocale(LC_CTYPE, "C.utf8");
}

/* The command line, read by parse_args. */
typedef struct consume_opts {
        sf_kafka_conf_t *kconf;
        const char *topic, *group, *metrics;
        int exit_at_end, json, quiet;
        double idle;
} consume_opts_t;

/* Reads the command line into o. Returns -1 when the command goes on, or
 * the exit code (after --help, or a usage error that was printed). */
static int parse_args(consume_opts_t *o, int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        p.env = 1;
        while ((c = sf_cmd_kafka_next(&p, o->kconf, &arg)) >= 0) {
                switch (c) {
                case 't':
                        o->topic = arg;
                        break;
                case 'G':
                        o->group = arg;
                        break;
                case 'e':
                        o->exit_at_end = 1;
                        break;
                case OPT_IDLE:
                        if (sf_opt_double(&spec, "--idle", arg, 0.1, 1e7, &o->idle) != 0) return 2;
                        break;
                case OPT_JSON:
                        o->json = 1;
                        break;
                case 'q':
                        o->quiet = 1;
                        break;
                case OPT_METRICS:
                        o->metrics = arg;
                        break;
                }
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (p.nops > 0) {
                sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]);
                return 2;
        }
        if (!*o->topic || !*o->group) {
                sf_opt_usage(&spec, "%s needs a name", !*o->topic ? "-t" : "-G");
                return 2;
        }
        return -1;
}

/* --metrics: serves the page on where. Returns 0, or 1 after an error
 * (printed). */
static int start_metrics(consume_t *cs, const char *where) {
        char errstr[512];
        cs->page = sf_page_new();
        sf_svc_opts_t so = {sf_page_metrics, sf_page_ready, cs->page, 0};
        cs->svc = cs->page ? sf_svc_start(where, &so, errstr, sizeof(errstr)) : NULL;
        if (!cs->svc) {
                fprintf(stderr, "streamflow yt-consume: --metrics %s: %s\n", where,
                        cs->page ? errstr : "out of memory");
                return 1;
        }
        fprintf(stderr, "yt-consume: metrics on http://%s/metrics\n", sf_svc_where(cs->svc));
        publish(cs);
        return 0;
}

/* 1. Rebuilds the totals from the whole topic with a reader of no group,
 * from the first offset of every partition to its end. Returns 0, or 1
 * after an error (printed). */
static int rebuild(consume_t *cs, const sf_kafka_conf_t *kconf) {
        char errstr[512];
        const char *topics[] = {cs->topic};
        sf_consumer_opts_t ropts = {.group = NULL, .start = SF_KAFKA_START_BEGINNING, .exit_at_end = true};
        sf_consumer_t *reader = sf_consumer_new(kconf, topics, 1, &ropts, errstr, sizeof(errstr));
        if (!reader) {
                fprintf(stderr, "streamflow yt-consume: %s\n", errstr);
                return 1;
        }
        int rc = 0;
        while (sf_kafka_running()) {
                rd_kafka_message_t *m = sf_consumer_poll(reader, 200);
                if (!m) {
                        if (sf_consumer_at_end(reader) || sf_consumer_fatal(reader)) break;
                        continue;
                }
                int r = apply(cs, m);
                if (r == 0) r = note_rebuilt(cs, m->partition, m->offset);
                rd_kafka_message_destroy(m);
                sf_svc_beat(cs->svc);
                if (cs->page && sf_now_s() - cs->published_at >= 1) publish(cs);
                if (r != 0) {
                        fprintf(stderr, "streamflow yt-consume: out of memory\n");
                        rc = 1;
                        break;
                }
        }
        if (rc == 0 && sf_consumer_fatal(reader)) {
                fprintf(stderr, "streamflow yt-consume: %s\n", sf_consumer_fatal(reader));
                rc = 1;
        }
        sf_consumer_close(reader, errstr, sizeof(errstr));
        if (rc != 0) return rc;
        if (cs->mode == OUT_LINES || cs->mode == OUT_QUIET)
                fprintf(stderr, "yt-consume: %llu message(s) already on %s read back to rebuild the totals\n",
                        (unsigned long long)cs->read, cs->topic);
        /* Changes are counted from here: the rebuilt totals are the start. */
        sf_yt_agg_mark_start(cs->agg, sf_now_s());
        flush_changes(cs, 0);
        return 0;
}

/* Applies a message of the group consumer and marks it done. Returns 0, or
 * -1 when out of memory (printed). */
static int take_message(consume_t *cs, sf_consumer_t *cons, rd_kafka_message_t *m) {
        char errstr[512];
        /* Already applied by the rebuild: applying it again would briefly
         * bring back older like counts. */
        int r = already_applied(cs, m) ? 0 : apply(cs, m);
        if (r == 0 && sf_consumer_store(cons, m, errstr, sizeof(errstr)) != 0)
                fprintf(stderr, "streamflow yt-consume: %s\n", errstr);
        rd_kafka_message_destroy(m);
        if (r != 0) fprintf(stderr, "streamflow yt-consume: out of memory\n");
        return r;
}

/* After a poll that brought nothing: true when the loop ends (a fatal
 * error, -e at the end, or --idle seconds since the last message). */
static int done_waiting(const consume_t *cs, sf_consumer_t *cons, const consume_opts_t *o, double now,
                        double last_msg) {
        if (sf_consumer_fatal(cons)) return 1;
        if (o->exit_at_end && sf_consumer_at_end(cons)) return 1;
        if (o->idle > 0 && cs->assigned_at > 0) {
                double since = last_msg > cs->assigned_at ? last_msg : cs->assigned_at;
                if (now - since >= o->idle) return 1;
        }
        return 0;
}

/* Reads as the group until a signal, -e, --idle or an error, showing the
 * changes as they come. */
static void consume_loop(consume_t *cs, sf_consumer_t *cons, const consume_opts_t *o) {
        double last_msg = sf_now_s(), last_out = 0, last_redraw = 0;
        while (sf_kafka_running()) {
                rd_kafka_message_t *m = sf_consumer_poll(cons, 100);
                double now = sf_now_s();
                sf_svc_beat(cs->svc);
                if (cs->page && now - cs->published_at >= 1) publish(cs);
                sf_yt_agg_tick(cs->agg, now);
                if (m) {
                        if (take_message(cs, cons, m) != 0) break;
                        last_msg = now;
                }
                if (!m || now - last_out >= (cs->mode == OUT_TABLE ? 0.25 : 0.1)) {
                        int redraw = now - last_redraw >= 1.0;
                        flush_changes(cs, redraw);
                        last_out = now;
                        if (redraw) last_redraw = now;
                }
                if (!m && done_waiting(cs, cons, o, now, last_msg)) break;
        }
}

/* 2. Follows the topic as the group, from its committed offsets (messages
 * the rebuild applied are only marked done), then commits and prints the
 * summary. Returns the exit code. */
static int follow_group(consume_t *cs, const consume_opts_t *o) {
        char errstr[512];
        sf_consumer_t *cons = NULL;
        int rc = 0;
        if (sf_kafka_running()) {
                const char *topics[] = {cs->topic};
                sf_consumer_opts_t copts = {.group = o->group,
                                            .start = SF_KAFKA_START_BEGINNING,
                                            .exit_at_end = o->exit_at_end,
                                            .rebalance = on_rebalance,
                                            .rebalance_ctx = cs};
                cons = sf_consumer_new(o->kconf, topics, 1, &copts, errstr, sizeof(errstr));
                if (!cons) {
                        fprintf(stderr, "streamflow yt-consume: %s\n", errstr);
                        return 1;
                }
                cs->rk = sf_consumer_handle(cons);
                consume_loop(cs, cons, o);
        }
        flush_changes(cs, 0);
        publish(cs);
        cs->rk = NULL;
        publish(cs);
        if (cons && sf_consumer_fatal(cons)) {
                fprintf(stderr, "streamflow yt-consume: %s\n", sf_consumer_fatal(cons));
                rc = 1;
        }
        if (cons && sf_consumer_close(cons, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "streamflow yt-consume: %s\n", errstr);
                rc = 1;
        }
        print_summary(cs, o->group);
        return rc;
}

int cmd_yt_consume(int argc, char **argv) {
        consume_opts_t o = {.topic = SF_TOPIC_YT, .group = "analytics"};
        consume_t cs = {0};
        int rc;

        if (!(o.kconf = sf_kafka_conf_new())) {
                fprintf(stderr, "streamflow yt-consume: out of memory\n");
                return 1;
        }
        if ((rc = parse_args(&o, argc, argv)) >= 0) goto out;
        rc = 1;
        utf8_locale();
        cs.topic = o.topic;
        cs.mode = o.json ? OUT_JSON : o.quiet ? OUT_QUIET : isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_LINES;
        if (!(cs.agg = sf_yt_agg_new())) {
                fprintf(stderr, "streamflow yt-consume: out of memory\n");
                goto out;
        }
        if (o.metrics && start_metrics(&cs, o.metrics) != 0) goto out;
        sf_kafka_install_signals();
        if (rebuild(&cs, o.kconf) == 0) rc = follow_group(&cs, &o);
out:
        sf_svc_stop(cs.svc);
        sf_page_destroy(cs.page);
        sf_yt_agg_destroy(cs.agg);
        free(cs.dirty);
        free(cs.rebuilt_to);
        sf_kafka_conf_destroy(o.kconf);
        return rc;
}
