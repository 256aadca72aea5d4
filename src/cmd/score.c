/* streamflow score: classify connection records from Kafka in real time
 * (src/score/scorer.c), and `--report`: the classification report of a
 * predictions topic. */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/kafka_opt.h"
#include "cmd/opt.h"
#include "kafka/kafka.h"
#include "model/model.h"
#include "nn/nn.h"
#include "report/metrics.h"
#include "score/instance.h"
#include "score/pool.h"
#include "score/prom.h"
#include "score/reload.h"
#include "score/scorer.h"
#include "service/http.h"
#include "util/util.h"

#define DEFAULT_MODEL "model.safetensors"
#define DEFAULT_GROUP "scorer"

enum {
        OPT_OUTPUT = SF_OPT_LONG,
        OPT_DLQ,
        OPT_MODEL,
        OPT_BATCH,
        OPT_LINGER,
        OPT_EOS,
        OPT_STATS,
        OPT_STATS_JSON,
        OPT_REPORT,
        OPT_INSTANCE,
        OPT_METRICS,
        OPT_MODEL_WATCH,
        OPT_FORMAT,
        OPT_SCHEMA,
        OPT_PER_MESSAGE,
        OPT_PREDICTIONS,
        OPT_THREADS,
};

static const sf_option_t options[] = {
        {"topic", 't', "TOPIC", "topic to score (default " SF_TOPIC_CONNECTIONS ")"},
        {"output", OPT_OUTPUT, "TOPIC", "topic for predictions (default " SF_TOPIC_PREDICTIONS ")"},
        {"dlq", OPT_DLQ, "TOPIC", "topic for records that cannot be scored (default " SF_TOPIC_DLQ ")"},
        {"group", 'G', "GROUP",
         "consumer group; scorers in one group share the partitions (default " DEFAULT_GROUP ")"},
        {"instance-id", OPT_INSTANCE, "NAME",
         "this scorer's identity across restarts (static group member, transactional id; default "
         "HOST-N, N the lowest number free on this host)"},
        {"model", OPT_MODEL, "FILE", "model written by 'streamflow train' (default " DEFAULT_MODEL ")"},
        {"model-watch", OPT_MODEL_WATCH, NULL,
         "reload the model when its file is replaced (SIGHUP always reloads it)"},
        {"format", OPT_FORMAT, "FORMAT",
         "message values are csv (one CSV record), json (one JSON object) or auto (default: '{' first "
         "means JSON)"},
        {"records-per-message", OPT_PER_MESSAGE, "one|many",
         "one record per message (default), or many: records one per line (CSV records, a quoted "
         "field may span lines; JSON objects one per line), each scored, traced (\"index\") and "
         "dead-lettered alone; at most 10000 per message"},
        {"schema", OPT_SCHEMA, "FILE",
         "the fitted schema of an ONNX --model trained elsewhere ('schema fit')"},
        {"batch", OPT_BATCH, "N",
         "records per micro-batch (default 1024); a message's records are never split across two "
         "batches: a batch ends before a message that does not fit, a bigger message is a batch alone"},
        {"linger-ms", OPT_LINGER, "MS", "wait at most MS to fill a micro-batch (default 5)"},
        {"predictions-per-message", OPT_PREDICTIONS, "one|batch",
         "one message per prediction (default) or per batch and source partition (JSON lines)"},
        {"threads", OPT_THREADS, "N",
         "N scorers in this process, each its own group member, consumer and producer (default 1)"},
        {"exactly-once", OPT_EOS, NULL,
         "one Kafka transaction per batch, input offsets included (real clusters only)"},
        {NULL, 'e', NULL, "exit once every assigned partition is read to its end"},
        {"count", 'c', "N", "exit after N input records (after the message that reaches N)"},
        {"stats", OPT_STATS, "SECONDS", "a status line on stderr every SECONDS (default 0: none)"},
        {"stats-json", OPT_STATS_JSON, "FILE", "the status as JSON lines to FILE ('-': stdout)"},
        {"metrics", OPT_METRICS, "HOST:PORT",
         "serve /metrics (Prometheus), /healthz and /readyz over HTTP (port 0: any free port)"},
        {"report", OPT_REPORT, NULL,
         "read the predictions topic to its end and print the classification report"},
        {"quiet", 'q', NULL, "no totals at the end"},
        {0}};

static const sf_cmd_spec_t spec = {
        "score",
        NULL,
        "Consumes rows of the model's schema from Kafka (one CSV record or JSON object per message,\n"
        "or with --records-per-message many, any number of them one per line), scores them in\n"
        "micro-batches and produces one JSON prediction per record (key = the input's key; with\n"
        "--predictions-per-message batch, one message of newline-delimited predictions per batch and\n"
        "source partition, key = that partition's number). Records that cannot be scored go unchanged\n"
        "to the dead-letter topic with the reason, the source and the column in their headers. Input\n"
        "offsets are committed only after the outputs of all their records are acknowledged\n"
        "(at-least-once). Several scorers in one group (-G) share\n"
        "the partitions. SIGINT/SIGTERM finish the current batch, commit and exit 0. SIGHUP (and, with\n"
        "--model-watch, a new model file renamed over the old) loads the model file again between two\n"
        "batches; a file that is bad or reads another input is refused and the model in service kept.\n"
        "With --report, reads the predictions topic instead and prints the classification report.",
        {options, sf_kafka_options, NULL}};

/* ------------------------------------------------------------- --report */

/* Where a prediction's record came from: its source topic (a number
 * from 1 given to each name in turn; 0 marks an empty slot), partition,
 * offset and index in its message (-1 for a message of one). */
typedef struct place {
        int64_t offset, index;
        int32_t topic, partition;
} place_t;

/* Open-addressing set of places, compared whole: a prediction scored
 * twice (at-least-once) counts once, and no two records ever share a key. */
typedef struct seen {
        place_t *slots;
        size_t cap, n;
        json_t *topics; /* name -> its number */
} seen_t;

static uint64_t mix(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

static size_t place_hash(const place_t *p) {
        uint64_t h = mix(((uint64_t)(uint32_t)p->topic << 32) ^ (uint32_t)p->partition);
        h = mix(h ^ (uint64_t)p->offset);
        return (size_t)mix(h ^ (uint64_t)p->index);
}

static int place_eq(const place_t *a, const place_t *b) {
        return a->topic == b->topic && a->partition == b->partition && a->offset == b->offset &&
               a->index == b->index;
}

/* The number of topic name, given on first sight; 0 when out of memory. */
static int32_t seen_topic(seen_t *s, const char *name) {
        if (!s->topics && !(s->topics = json_object())) return 0;
        json_t *id = json_object_get(s->topics, name);
        if (id) return (int32_t)json_integer_value(id);
        int32_t n = (int32_t)json_object_size(s->topics) + 1;
        return json_object_set_new(s->topics, name, json_integer(n)) == 0 ? n : 0;
}

/* Returns 1 when p was new, 0 when already there, -1 when out of memory. */
static int seen_add(seen_t *s, const place_t *p) {
        if ((s->n + 1) * 2 > s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 1 << 16;
                place_t *slots = calloc(cap, sizeof(*slots));
                if (!slots) return -1;
                for (size_t i = 0; i < s->cap; i++) {
                        if (!s->slots[i].topic) continue;
                        size_t j = place_hash(&s->slots[i]) & (cap - 1);
                        while (slots[j].topic) j = (j + 1) & (cap - 1);
                        slots[j] = s->slots[i];
                }
                free(s->slots);
                s->slots = slots;
                s->cap = cap;
        }
        size_t j = place_hash(p) & (s->cap - 1);
        while (s->slots[j].topic) {
                if (place_eq(&s->slots[j], p)) return 0;
                j = (j + 1) & (s->cap - 1);
        }
        s->slots[j] = *p;
        s->n++;
        return 1;
}

/* What --report has read so far. The classes are those of the first
 * prediction, in the order of its "probabilities"; a prediction with other
 * classes (from another model) is not counted. */
typedef struct report {
        int k; /* 0 until the first prediction */
        char **names;
        sf_confusion_t cm;
        seen_t seen;
        uint64_t read, dups, unlabeled, bad;
} report_t;

static void report_free(report_t *r) {
        for (int i = 0; i < r->k; i++) free(r->names[i]);
        free(r->names);
        free(r->seen.slots);
        json_decref(r->seen.topics);
        sf_confusion_destroy(&r->cm);
}

/* Takes the classes of the first prediction. Returns 0, or -1 (errstr). */
static int report_classes(report_t *r, json_t *probs, char *errstr, size_t errstr_size) {
        int k = (int)json_object_size(probs);
        if (sf_confusion_init(&r->cm, k, errstr, errstr_size) != 0) return -1;
        if (!(r->names = calloc((size_t)k, sizeof(char *)))) goto oom;
        const char *name;
        json_t *v;
        json_object_foreach(probs, name, v) {
                if (!(r->names[r->k] = strdup(name))) goto oom;
                r->k++;
        }
        return 0;
oom:
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}

/* Whether j is a prediction over the report's classes (and its p1 for two). */
static int same_classes(const report_t *r, json_t *probs, float *p1) {
        if ((int)json_object_size(probs) != r->k) return 0;
        for (int i = 0; i < r->k; i++)
                if (!json_is_number(json_object_get(probs, r->names[i]))) return 0;
        *p1 = r->k == 2 ? (float)json_number_value(json_object_get(probs, r->names[1])) : 0;
        return 1;
}

/* Counts one prediction (value, len bytes) of message m of the predictions
 * topic. Returns 0, or -1 (fatal, errstr). */
static int report_add(report_t *r, const rd_kafka_message_t *m, const char *value, size_t len,
                      const char *topic, char *errstr, size_t errstr_size) {
        json_error_t jerr;
        r->read++;
        json_t *j = value ? json_loadb(value, len, 0, &jerr) : NULL;
        json_t *cls = json_object_get(j, "class_index"), *lab = json_object_get(j, "label_index");
        json_t *src = json_object_get(j, "topic"), *probs = json_object_get(j, "probabilities");
        int ok = j && json_is_integer(cls) && json_is_string(src) && json_is_object(probs), rc = 0;
        float p1 = 0;
        if (ok && r->k == 0 && json_object_size(probs) >= 2)
                rc = report_classes(r, probs, errstr, errstr_size);
        if (rc == 0 && (!ok || r->k == 0 || !same_classes(r, probs, &p1))) {
                if (r->bad++ < 5)
                        fprintf(stderr, "streamflow score: %s [%d] offset %lld: not a prediction%s\n", topic,
                                (int)m->partition, (long long)m->offset,
                                ok && r->k ? " of the classes of the first one" : "");
        } else if (rc == 0 && !json_is_integer(lab)) {
                r->unlabeled++;
        } else if (rc == 0) {
                /* "index": one of the records of a message of many */
                json_t *index = json_object_get(j, "index");
                place_t at = {json_integer_value(json_object_get(j, "offset")),
                              index ? json_integer_value(index) : -1,
                              seen_topic(&r->seen, json_string_value(src)),
                              (int32_t)json_integer_value(json_object_get(j, "partition"))};
                int t = (int)json_integer_value(lab), pred = (int)json_integer_value(cls);
                int n = at.topic ? seen_add(&r->seen, &at) : -1;
                if (n < 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        rc = -1;
                } else if (n == 0) {
                        r->dups++;
                } else {
                        int a = r->k == 2 ? sf_confusion_add_scored(&r->cm, t, pred, p1)
                                          : sf_confusion_add(&r->cm, t, pred);
                        if (a == -2) {
                                snprintf(errstr, errstr_size, "out of memory");
                                rc = -1;
                        } else if (a != 0) {
                                r->bad++;
                        }
                }
        }
        json_decref(j);
        return rc;
}

/* Counts the predictions of message m: one, or one per line of a message
 * of --predictions-per-message batch (each line ends with a newline).
 * Returns 0, or -1 (fatal, errstr). */
static int report_lines(report_t *r, const rd_kafka_message_t *m, const char *topic, char *errstr,
                        size_t errstr_size) {
        const char *p = m->payload, *end = p ? p + m->len : NULL;
        const char *nl = p ? memchr(p, '\n', m->len) : NULL;
        if (!nl || nl + 1 == end) return report_add(r, m, p, p ? m->len : 0, topic, errstr, errstr_size);
        while (p < end) {
                nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                if (report_add(r, m, p, len, topic, errstr, errstr_size) != 0) return -1;
                p += len + 1;
        }
        return 0;
}

static int run_report(sf_kafka_conf_t *kconf, const char *topic) {
        char errstr[512];
        sf_consumer_opts_t copts = {0};
        copts.group = NULL;
        copts.start = SF_KAFKA_START_BEGINNING;
        copts.exit_at_end = true;
        const char *topics[] = {topic};
        report_t r = {0};
        int rc = 1;
        sf_kafka_install_signals();
        sf_consumer_t *c = sf_consumer_new(kconf, topics, 1, &copts, errstr, sizeof(errstr));
        if (!c) {
                fprintf(stderr, "streamflow score: %s\n", errstr);
                return 1;
        }
        while (sf_kafka_running()) {
                rd_kafka_message_t *m = sf_consumer_poll(c, 200);
                if (!m) {
                        if (sf_consumer_at_end(c)) break;
                        continue;
                }
                int ar = report_lines(&r, m, topic, errstr, sizeof(errstr));
                rd_kafka_message_destroy(m);
                if (ar != 0) {
                        fprintf(stderr, "streamflow score: %s\n", errstr);
                        goto out;
                }
        }
        if ((r.read == 0 || r.k == 0) && sf_kafka_running()) {
                fprintf(stderr,
                        "streamflow score: no predictions on topic %s yet: is a scorer running "
                        "('streamflow score'), and has it joined its group and scored the records? A new "
                        "scorer takes a few seconds to join; run --report again once it has\n",
                        topic);
                goto out;
        }
        if (r.k > 0 && sf_report_write(stdout, &r.cm, (const char *const *)r.names, 4) != 0) {
                fprintf(stderr, "streamflow score: cannot write the report\n");
                goto out;
        }
        fprintf(stderr,
                "report: %llu records read from %s, %llu scored with a label, %llu duplicates ignored, "
                "%llu without a label, %llu not predictions\n",
                (unsigned long long)r.read, topic, (unsigned long long)r.seen.n, (unsigned long long)r.dups,
                (unsigned long long)r.unlabeled, (unsigned long long)r.bad);
        rc = r.bad ? 1 : 0;
out:
        if (sf_consumer_close(c, errstr, sizeof(errstr)) != 0)
                fprintf(stderr, "streamflow score: %s\n", errstr);
        report_free(&r);
        return rc;
}

/* ------------------------------------------------------------- scoring */

/* The command line, read by parse_args. */
typedef struct score_opts {
        sf_kafka_conf_t *kconf;
        sf_scorer_opts_t o;
        const char *model_path, *fitted_path, *stats_json, *metrics;
        int report, quiet, watch, threads;
} score_opts_t;

/* Applies one of the command's own options to so. Returns 0, or 2 after a
 * usage error (printed). */
static int parse_option(score_opts_t *so, int c, const char *arg) {
        char errstr[512];
        sf_scorer_opts_t *o = &so->o;
        long long v;
        switch (c) {
        case 't':
                o->topic = arg;
                break;
        case OPT_OUTPUT:
                o->output = arg;
                break;
        case OPT_DLQ:
                o->dlq = arg;
                break;
        case 'G':
                o->group = arg;
                break;
        case OPT_MODEL:
                so->model_path = arg;
                break;
        case OPT_MODEL_WATCH:
                so->watch = 1;
                break;
        case OPT_SCHEMA:
                so->fitted_path = arg;
                break;
        case OPT_INSTANCE: {
                sf_score_instance_t named;
                if (sf_score_instance_named(arg, &named, errstr, sizeof(errstr)) != 0) {
                        sf_opt_usage(&spec, "--instance-id: %s", errstr);
                        return 2;
                }
                o->instance_id = arg;
                break;
        }
        case OPT_BATCH:
                if (sf_opt_long(&spec, "--batch", arg, 1, 65536, &v) != 0) return 2;
                o->batch = (int)v;
                break;
        case OPT_LINGER:
                if (sf_opt_long(&spec, "--linger-ms", arg, 0, 60000, &v) != 0) return 2;
                o->linger_ms = (int)v;
                break;
        case OPT_THREADS:
                if (sf_opt_long(&spec, "--threads", arg, 1, SF_SCORE_POOL_MAX, &v) != 0) return 2;
                so->threads = (int)v;
                break;
        case OPT_EOS:
                o->exactly_once = true;
                break;
        case OPT_PREDICTIONS:
                if (strcmp(arg, "one") != 0 && strcmp(arg, "batch") != 0) {
                        sf_opt_usage(&spec, "--predictions-per-message: '%s' is not one or batch", arg);
                        return 2;
                }
                o->predictions_batch = strcmp(arg, "batch") == 0;
                break;
        case 'e':
                o->exit_at_end = true;
                break;
        case 'c':
                if (sf_opt_long(&spec, "-c", arg, 1, INT64_MAX, &v) != 0) return 2;
                o->max_records = v;
                break;
        case OPT_STATS:
                return sf_opt_double(&spec, "--stats", arg, 0, 86400, &o->stats_s) != 0 ? 2 : 0;
        case OPT_STATS_JSON:
                so->stats_json = arg;
                break;
        case OPT_METRICS:
                so->metrics = arg;
                break;
        case OPT_FORMAT:
                if (sf_score_format_parse(arg, &o->format) != 0) {
                        sf_opt_usage(&spec, "--format: '%s' is not csv, json or auto", arg);
                        return 2;
                }
                break;
        case OPT_PER_MESSAGE:
                if (strcmp(arg, "one") != 0 && strcmp(arg, "many") != 0) {
                        sf_opt_usage(&spec, "--records-per-message: '%s' is not one or many", arg);
                        return 2;
                }
                o->many = strcmp(arg, "many") == 0;
                break;
        case OPT_REPORT:
                so->report = 1;
                break;
        case 'q':
                so->quiet = 1;
                break;
        }
        return 0;
}

/* Reads the command line into so: STREAMFLOW_<OPTION> variables too, and a
 * secret -X value is wiped from argv. Returns -1 when the command goes on,
 * or the exit code (after --help or `-X list`, or an error that was
 * printed). */
static int parse_args(score_opts_t *so, int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c, rc;
        sf_opt_init(&p, &spec, argc, argv);
        p.env = 1;
        while ((c = sf_cmd_kafka_next(&p, so->kconf, &arg)) >= 0)
                if ((rc = parse_option(so, c, arg)) != 0) return rc;
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (p.nops > 0) {
                sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]);
                return 2;
        }
        const sf_scorer_opts_t *o = &so->o;
        if (!*o->topic || !*o->output || !*o->dlq || !*o->group) {
                sf_opt_usage(&spec, "topic and group names cannot be empty");
                return 2;
        }
        if (o->predictions_batch && strcmp(o->output, o->dlq) == 0) {
                sf_opt_usage(&spec,
                             "--predictions-per-message batch writes messages of predictions to --output: "
                             "give --dlq another topic ('%s' is both)",
                             o->output);
                return 2;
        }
        if (so->threads > 1 && o->max_records > 0) {
                sf_opt_usage(&spec, "-c counts the records of one scorer: not with --threads above 1");
                return 2;
        }
        return -1;
}

/* The scorer's resources, released by stop_scoring. */
typedef struct scoring {
        FILE *json_fp;
        sf_score_prom_t *prom;
        sf_svc_t *svc;
        sf_score_reload_t *reload;
        sf_model_t *model; /* until the reloader owns it */
} scoring_t;

/* Opens --stats-json and starts --metrics into s, and sets the outputs in
 * so->o. Returns 0, or 1 after an error (printed). */
static int start_outputs(scoring_t *s, score_opts_t *so, const sf_model_t *model) {
        char errstr[512];
        sf_scorer_opts_t *o = &so->o;
        if (so->stats_json) {
                s->json_fp = strcmp(so->stats_json, "-") == 0 ? stdout : fopen(so->stats_json, "w");
                if (!s->json_fp) {
                        fprintf(stderr, "streamflow score: %s: cannot open for writing\n", so->stats_json);
                        return 1;
                }
                if (o->stats_s <= 0) o->stats_s = 1;
        }
        o->stats_text = o->stats_s > 0 ? stderr : NULL;
        o->stats_json = s->json_fp;
        o->events = so->quiet ? NULL : stderr;
        if (!so->metrics) return 0;
        s->prom = sf_score_prom_new(sf_model_id(model), "safetensors", o->topic, sf_model_schema(model),
                                    sf_model_encoder(model));
        sf_svc_opts_t svo = {sf_score_prom_metrics, sf_score_prom_ready, s->prom, 0};
        s->svc = s->prom ? sf_svc_start(so->metrics, &svo, errstr, sizeof(errstr)) : NULL;
        if (!s->svc) {
                fprintf(stderr, "streamflow score: --metrics %s: %s\n", so->metrics,
                        s->prom ? errstr : "out of memory");
                return 1;
        }
        fprintf(stderr, "score: metrics on http://%s/metrics\n", sf_svc_where(s->svc));
        o->prom = s->prom;
        o->svc = s->svc;
        return 0;
}

/* Loads the model, opens the outputs and the reloader into s. Returns 0,
 * or 1 after an error (printed). */
static int start_scoring(scoring_t *s, score_opts_t *so) {
        char errstr[512];
        /* One BLAS thread: at these sizes more threads only spin
         * (sched_yield) against librdkafka's threads for the two cores. */
        sf_nn_set_threads(1);
        s->model = sf_model_load_with(so->model_path, so->fitted_path, errstr, sizeof(errstr));
        if (!s->model) {
                fprintf(stderr, "streamflow score: %s\n", errstr);
                return 1;
        }
        if (start_outputs(s, so, s->model) != 0) return 1;
        sf_score_reload_opts_t ro = {so->model_path, so->fitted_path, so->watch, stderr, s->prom};
        s->reload = sf_score_reload_new(&ro, s->model, errstr, sizeof(errstr));
        s->model = NULL;
        if (!s->reload) {
                fprintf(stderr, "streamflow score: %s\n", errstr);
                return 1;
        }
        return 0;
}

/* Scores until the end, a signal or an error, and prints the totals.
 * Returns the exit code. */
static int run(const scoring_t *s, score_opts_t *so) {
        char errstr[512];
        const sf_scorer_opts_t *o = &so->o;
        sf_kafka_install_signals();
        sf_score_reload_install_signal();
        sf_scorer_totals_t t;
        sf_score_pool_opts_t po = {so->threads, so->kconf, o, s->reload, s->prom, s->svc};
        int r = sf_score_pool_run(&po, &t, errstr, sizeof(errstr));
        /* Totals of a run that read nothing (Kafka unreachable) say nothing:
         * then the error alone. */
        char messages[48] = "";
        if (o->many)
                snprintf(messages, sizeof(messages), " in %llu messages", (unsigned long long)t.messages);
        if (!so->quiet && (r == 0 || t.records > 0))
                fprintf(stderr,
                        "score: %llu records%s, %llu predictions, %llu to %s, %llu delivered, %llu unseen "
                        "values, "
                        "%llu unknown labels, %llu batches, %.2f s, %.0f records/s, latency p50 %.1f ms p99 "
                        "%.1f ms, "
                        "model %s\n",
                        (unsigned long long)t.records, messages, (unsigned long long)t.predictions,
                        (unsigned long long)t.dlq, o->dlq, (unsigned long long)t.delivered,
                        (unsigned long long)t.unseen, (unsigned long long)t.unknown_label,
                        (unsigned long long)t.batches, t.seconds, t.seconds > 0 ? t.records / t.seconds : 0.0,
                        t.p50_us / 1000.0, t.p99_us / 1000.0, sf_model_id(sf_score_reload_model(s->reload)));
        if (r != 0) {
                fprintf(stderr, "streamflow score: %s\n", errstr);
                return 1;
        }
        return 0;
}

/* Releases s; rc is the exit code so far. Returns the exit code: 1 when
 * the --stats-json file could not be written. */
static int stop_scoring(scoring_t *s, const score_opts_t *so, int rc) {
        sf_svc_stop(s->svc);
        sf_score_prom_destroy(s->prom);
        if (s->json_fp && s->json_fp != stdout && fclose(s->json_fp) != 0 && rc == 0) {
                fprintf(stderr, "streamflow score: %s: write error\n", so->stats_json);
                rc = 1;
        }
        sf_score_reload_destroy(s->reload);
        sf_model_destroy(s->model);
        return rc;
}

int cmd_score(int argc, char **argv) {
        char errstr[512];
        score_opts_t so = {.model_path = DEFAULT_MODEL,
                           .o = {.topic = SF_TOPIC_CONNECTIONS,
                                 .output = SF_TOPIC_PREDICTIONS,
                                 .dlq = SF_TOPIC_DLQ,
                                 .group = DEFAULT_GROUP,
                                 .batch = 1024,
                                 .linger_ms = 5},
                           .threads = 1};
        scoring_t s = {0};
        int rc = 1;
        /* Two malloc arenas, not one per librdkafka thread: each arena keeps
         * its own free memory, and with one per thread the scorer's peak RSS
         * spread 42-50 MB over runs of bench_stream, 44-46 MB with two, at
         * the same throughput. Set before any thread starts. */
        mallopt(M_ARENA_MAX, 2);
        if (!(so.kconf = sf_kafka_conf_new())) {
                fprintf(stderr, "streamflow score: out of memory\n");
                return 1;
        }
        if ((rc = parse_args(&so, argc, argv)) >= 0) goto out;
        rc = 1;
        if (sf_scorer_conf_defaults(so.kconf, so.o.many, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "streamflow score: %s\n", errstr);
                goto out;
        }
        if (so.report) {
                rc = run_report(so.kconf, so.o.output);
                goto out;
        }
        if (strcmp(so.o.topic, so.o.output) == 0 || strcmp(so.o.topic, so.o.dlq) == 0) {
                sf_opt_usage(&spec, "the input topic '%s' cannot also be the output or the DLQ topic",
                             so.o.topic);
                rc = 2;
                goto out;
        }
        rc = start_scoring(&s, &so) != 0 ? 1 : run(&s, &so);
out:
        rc = stop_scoring(&s, &so, rc);
        sf_kafka_conf_destroy(so.kconf);
        return rc;
}
