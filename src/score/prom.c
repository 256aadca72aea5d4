#include "score/prom.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score/record.h"
#include "util/util.h"

#define NREJECT   SF_REJECT_COUNT
#define MAX_PARTS 256
/* In-flight outputs whose input timestamp is kept for the latency: an open
 * addressing table of 2^15 entries (512 kB), several times what the
 * producer queue holds (4 MB of ~350-byte predictions); an output finds a
 * free entry among PROBE neighbours, or takes the first one, whose output
 * then goes without a latency observation. */
#define RING_BITS 15
#define PROBE     8

static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10,   30};
static const double batch_bounds[] = {1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536};
static const double batch_seconds_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                              0.01,   0.025,   0.05,   0.1,   0.25,   1};

/* The counters by label, one block of n_counts: [classes] predictions by
 * class, [NREJECT] DLQ records by reason, [n_cat] unseen values by
 * categorical column, [n_num + n_cat] missing values by feature column. */
typedef uint64_t count_t;

typedef struct lag {
        int32_t partition;
        int64_t lag;
} lag_t;

/* What the HTTP thread sees. */
typedef struct snap {
        uint64_t records, delivered, failed, batches, aborted, rebalances;
        uint64_t reloads, reload_failures;
        count_t *c; /* (n_counts), not copied with the rest */
        sf_expo_hist_t latency, batch_size, batch_seconds;
        int assigned, rebalancing, attached, nlag;
        lag_t lag[MAX_PARTS];
} snap_t;

typedef struct pending {
        uint64_t key;
        int64_t ts_ms;
} pending_t;

struct sf_score_prom {
        char topic[256];
        /* what streamflow_model_info says: under mu */
        char model_id[64], model_format[64], schema_name[128];
        double *train_share; /* (classes) the training rows' class shares, under mu */
        int has_train;       /* the model recorded them */
        /* copies: a reloaded model replaces the one they came from (the
         * same columns and classes: src/score/reload.h) */
        sf_schema_t *schema;
        sf_encoder_t *enc;
        int n_counts, at_dlq, at_unseen, at_missing; /* where each block of counters starts */
        /* live: the scorer's thread only */
        snap_t live;
        count_t *batch; /* the current batch's outputs */
        pending_t *ring;
        double lag_at;
        /* published: under mu */
        pthread_mutex_t mu;
        snap_t pub;
        /* the consumer, for the lag (scorer's thread) and the probe (under probe_mu) */
        pthread_mutex_t probe_mu;
        rd_kafka_t *rk;
        int64_t probe_at_ms; /* last probe, under probe_mu */
        int probe_ok;
        char probe_err[160];
        /* the collectors of the process's scorer threads (sf_score_prom_thread),
         * a list linked and walked under the head's mu */
        sf_score_prom_t *next;
};

sf_score_prom_t *sf_score_prom_new(const char *model_id, const char *model_format, const char *topic,
                                   const sf_schema_t *schema, const sf_encoder_t *enc) {
        sf_score_prom_t *p = calloc(1, sizeof(*p));
        if (!p) return NULL;
        char err[256];
        json_t *sj = sf_schema_to_json(schema), *ej = sj ? sf_encoder_to_json(enc, schema) : NULL;
        p->schema = ej ? sf_schema_from_json(sj, "the model's schema", err, sizeof(err)) : NULL;
        p->enc = p->schema ? sf_encoder_from_json(ej, p->schema, "the model's encoder", err, sizeof(err))
                           : NULL;
        json_decref(sj);
        json_decref(ej);
        if (!p->enc) {
                sf_schema_destroy(p->schema);
                free(p);
                return NULL;
        }
        p->at_dlq = schema->n_classes;
        p->at_unseen = p->at_dlq + NREJECT;
        p->at_missing = p->at_unseen + enc->n_cat;
        p->n_counts = p->at_missing + enc->n_num + enc->n_cat;
        size_t nc = (size_t)p->n_counts;
        p->ring = calloc((size_t)1 << RING_BITS, sizeof(*p->ring));
        p->batch = calloc(nc, sizeof(count_t));
        p->live.c = calloc(nc, sizeof(count_t));
        p->pub.c = calloc(nc, sizeof(count_t));
        p->train_share = calloc((size_t)schema->n_classes, sizeof(double));
        if (!p->ring || !p->batch || !p->live.c || !p->pub.c || !p->train_share) {
                free(p->train_share);
                free(p->ring);
                free(p->batch);
                free(p->live.c);
                free(p->pub.c);
                sf_encoder_destroy(p->enc);
                sf_schema_destroy(p->schema);
                free(p);
                return NULL;
        }
        snprintf(p->model_id, sizeof(p->model_id), "%s", model_id);
        snprintf(p->model_format, sizeof(p->model_format), "%s", model_format);
        snprintf(p->schema_name, sizeof(p->schema_name), "%s", schema->name);
        snprintf(p->topic, sizeof(p->topic), "%s", topic);
        sf_expo_hist_init(&p->live.latency, latency_bounds, (int)SF_ARRAY_SIZE(latency_bounds));
        sf_expo_hist_init(&p->live.batch_size, batch_bounds, (int)SF_ARRAY_SIZE(batch_bounds));
        sf_expo_hist_init(&p->live.batch_seconds, batch_seconds_bounds,
                          (int)SF_ARRAY_SIZE(batch_seconds_bounds));
        count_t *pub_c = p->pub.c;
        p->pub = p->live;
        p->pub.c = pub_c;
        pthread_mutex_init(&p->mu, NULL);
        pthread_mutex_init(&p->probe_mu, NULL);
        return p;
}

void sf_score_prom_destroy(sf_score_prom_t *p) {
        if (!p) return;
        sf_score_prom_destroy(p->next);
        pthread_mutex_destroy(&p->mu);
        pthread_mutex_destroy(&p->probe_mu);
        free(p->ring);
        free(p->batch);
        free(p->live.c);
        free(p->pub.c);
        free(p->train_share);
        sf_encoder_destroy(p->enc);
        sf_schema_destroy(p->schema);
        free(p);
}

sf_score_prom_t *sf_score_prom_thread(sf_score_prom_t *head) {
        sf_score_prom_t *t =
                sf_score_prom_new(head->model_id, head->model_format, head->topic, head->schema, head->enc);
        if (!t) return NULL;
        pthread_mutex_lock(&head->mu);
        sf_score_prom_t **end = &head->next;
        while (*end) end = &(*end)->next;
        *end = t;
        pthread_mutex_unlock(&head->mu);
        return t;
}

void sf_score_prom_attach(sf_score_prom_t *p, rd_kafka_t *consumer) {
        pthread_mutex_lock(&p->probe_mu);
        p->rk = consumer;
        p->probe_at_ms = 0;
        pthread_mutex_unlock(&p->probe_mu);
        pthread_mutex_lock(&p->mu);
        p->pub.attached = p->live.attached = consumer != NULL;
        pthread_mutex_unlock(&p->mu);
}

static size_t slot_of(uint64_t key) {
        return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> (64 - RING_BITS));
}

/* The unseen and missing values of a scored row. */
static void count_values(sf_score_prom_t *p, const sf_row_t *row, const uint8_t *status) {
        const sf_encoder_t *enc = p->enc;
        count_t *unseen = p->batch + p->at_unseen, *missing = p->batch + p->at_missing;
        for (int j = 0; j < enc->n_num; j++) missing[j] += row->v[enc->num_col[j]].kind == SF_VAL_MISSING;
        for (int k = 0; k < enc->n_cat; k++) {
                unseen[k] += status[k] == SF_ENC_UNSEEN;
                missing[enc->n_num + k] += status[k] == SF_ENC_MISSING;
        }
}

void sf_score_prom_output(sf_score_prom_t *p, int reject, int cls, const sf_row_t *row, const uint8_t *status,
                          uint64_t key, int64_t input_ts_ms) {
        if (reject > 0 && reject < NREJECT) {
                p->batch[p->at_dlq + reject]++;
                return;
        }
        if (cls >= 0 && cls < p->schema->n_classes) p->batch[cls]++;
        if (row && status) count_values(p, row, status);
        if (input_ts_ms > 0) {
                size_t mask = ((size_t)1 << RING_BITS) - 1, h = slot_of(key);
                pending_t *e = &p->ring[h];
                for (int i = 0; i < PROBE; i++)
                        if (p->ring[(h + (size_t)i) & mask].ts_ms == 0) {
                                e = &p->ring[(h + (size_t)i) & mask];
                                break;
                        }
                e->key = key;
                e->ts_ms = input_ts_ms;
        }
}

void sf_score_prom_delivered(sf_score_prom_t *p, uint64_t key, int ok) {
        sf_score_prom_delivered_many(p, key, ok, 1);
}

void sf_score_prom_delivered_untimed(sf_score_prom_t *p, int ok, uint64_t n) {
        if (ok)
                p->live.delivered += n;
        else
                p->live.failed += n;
}

void sf_score_prom_delivered_many(sf_score_prom_t *p, uint64_t key, int ok, uint64_t n) {
        sf_score_prom_delivered_untimed(p, ok, n);
        size_t mask = ((size_t)1 << RING_BITS) - 1, h = slot_of(key);
        for (int i = 0; i < PROBE; i++) {
                pending_t *e = &p->ring[(h + (size_t)i) & mask];
                if (e->ts_ms > 0 && e->key == key) {
                        if (ok)
                                sf_expo_hist_observe(&p->live.latency,
                                                     (double)(sf_wall_ms() - e->ts_ms) / 1000.0);
                        e->ts_ms = 0;
                        return;
                }
        }
}

void sf_score_prom_batch(sf_score_prom_t *p, int n, double seconds, int aborted) {
        if (aborted) {
                p->live.aborted++;
        } else {
                for (int i = 0; i < p->n_counts; i++) p->live.c[i] += p->batch[i];
        }
        memset(p->batch, 0, (size_t)p->n_counts * sizeof(count_t));
        p->live.batches++;
        sf_expo_hist_observe(&p->live.batch_size, n);
        sf_expo_hist_observe(&p->live.batch_seconds, seconds);
}

/* Copies the live side into the published one; the caller holds mu. */
static void copy_out(sf_score_prom_t *p) {
        size_t n = offsetof(snap_t, lag) + (size_t)p->live.nlag * sizeof(lag_t);
        count_t *pub_c = p->pub.c;
        memcpy(&p->pub, &p->live, n);
        p->pub.c = pub_c;
        memcpy(pub_c, p->live.c, (size_t)p->n_counts * sizeof(count_t));
}

void sf_score_prom_rebalance(sf_score_prom_t *p, int assign, int count) {
        p->live.rebalances++;
        if (assign) {
                p->live.assigned += count;
                p->live.rebalancing = 0;
        } else {
                p->live.assigned -= count;
                if (p->live.assigned < 0) p->live.assigned = 0;
                p->live.rebalancing = 1;
        }
        p->lag_at = 0; /* the set of partitions changed */
        pthread_mutex_lock(&p->mu);
        copy_out(p);
        pthread_mutex_unlock(&p->mu);
}

void sf_score_prom_model(sf_score_prom_t *p, const char *model_id, const char *model_format,
                         const char *schema, const int64_t *class_rows) {
        int k = p->schema->n_classes;
        int64_t total = 0;
        for (int i = 0; class_rows && i < k; i++) total += class_rows[i];
        pthread_mutex_lock(&p->mu);
        p->has_train = total > 0;
        for (int i = 0; p->has_train && i < k; i++) p->train_share[i] = (double)class_rows[i] / (double)total;
        snprintf(p->model_id, sizeof(p->model_id), "%s", model_id);
        snprintf(p->model_format, sizeof(p->model_format), "%s", model_format);
        snprintf(p->schema_name, sizeof(p->schema_name), "%s", schema);
        pthread_mutex_unlock(&p->mu);
}

void sf_score_prom_reload(sf_score_prom_t *p, int ok) {
        p->live.reloads++;
        if (!ok) p->live.reload_failures++;
        pthread_mutex_lock(&p->mu);
        copy_out(p);
        pthread_mutex_unlock(&p->mu);
}

/* high watermark - position for each assigned partition of the topic, from
 * the consumer's cached watermarks (no request to the cluster). */
static void measure_lag(sf_score_prom_t *p) {
        rd_kafka_topic_partition_list_t *parts = NULL;
        p->live.nlag = 0;
        if (!p->rk || rd_kafka_assignment(p->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts) return;
        rd_kafka_position(p->rk, parts);
        for (int i = 0; i < parts->cnt && p->live.nlag < MAX_PARTS; i++) {
                int64_t lo, hi;
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                if (strcmp(tp->topic, p->topic) != 0) continue;
                if (rd_kafka_get_watermark_offsets(p->rk, tp->topic, tp->partition, &lo, &hi) != 0 || hi < 0)
                        continue;
                int64_t pos = tp->offset >= 0 ? tp->offset : lo;
                lag_t *l = &p->live.lag[p->live.nlag++];
                l->partition = tp->partition;
                l->lag = hi > pos ? hi - pos : 0;
        }
        rd_kafka_topic_partition_list_destroy(parts);
}

void sf_score_prom_publish(sf_score_prom_t *p, uint64_t records, int final) {
        double now = sf_now_s();
        if (final || now - p->lag_at >= 0.2) {
                measure_lag(p);
                p->lag_at = now;
        }
        p->live.records = records;
        pthread_mutex_lock(&p->mu);
        copy_out(p);
        pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------------ HTTP thread */

static void family_u64(sf_expo_t *e, const char *name, const char *type, const char *help, uint64_t v) {
        sf_expo_family(e, name, type, help);
        sf_expo_u64(e, name, NULL, v);
}

static void write_counts(sf_expo_t *e, const sf_score_prom_t *p, const count_t *c) {
        const sf_schema_t *sch = p->schema;
        const sf_encoder_t *enc = p->enc;
        sf_expo_family(e, "streamflow_predictions_total", "counter",
                       "Predictions produced, by predicted class.");
        for (int i = 0; i < sch->n_classes; i++) {
                const char *l[] = {"class", sch->classes[i], NULL};
                sf_expo_u64(e, "streamflow_predictions_total", l, c[i]);
        }
        sf_expo_family(e, "streamflow_dlq_records_total", "counter",
                       "Records sent to the dead-letter topic, by reason.");
        for (int i = 1; i < NREJECT; i++) {
                const char *l[] = {"reason", sf_score_reject_str((sf_score_reject_t)i), NULL};
                sf_expo_u64(e, "streamflow_dlq_records_total", l, c[p->at_dlq + i]);
        }
        sf_expo_family(e, "streamflow_unseen_values_total", "counter",
                       "Scored rows whose categorical value was never seen in training, by column.");
        for (int k = 0; k < enc->n_cat; k++) {
                const char *l[] = {"column", sch->cols[enc->cat[k].col].name, NULL};
                sf_expo_u64(e, "streamflow_unseen_values_total", l, c[p->at_unseen + k]);
        }
        sf_expo_family(e, "streamflow_missing_values_total", "counter",
                       "Scored rows without a value in a feature column, by column.");
        for (int j = 0; j < enc->n_num + enc->n_cat; j++) {
                int col = j < enc->n_num ? enc->num_col[j] : enc->cat[j - enc->n_num].col;
                const char *l[] = {"column", sch->cols[col].name, NULL};
                sf_expo_u64(e, "streamflow_missing_values_total", l, c[p->at_missing + j]);
        }
}

/* The first drift signal: each class's share of the predictions so far
 * beside its share of the training rows, and the total variation distance
 * between the two (half the sum of the differences: 0 same, 1 disjoint). */
static void write_shares(sf_expo_t *e, const sf_score_prom_t *p, const count_t *c, const double *train,
                         int has_train) {
        const sf_schema_t *sch = p->schema;
        uint64_t total = 0;
        for (int i = 0; i < sch->n_classes; i++) total += c[i];
        double tvd = 0;
        if (total > 0) {
                sf_expo_family(e, "streamflow_prediction_class_share", "gauge",
                               "Share of the predictions so far that are of each class.");
                for (int i = 0; i < sch->n_classes; i++) {
                        const char *l[] = {"class", sch->classes[i], NULL};
                        double share = (double)c[i] / (double)total;
                        sf_expo_double(e, "streamflow_prediction_class_share", l, share);
                        if (has_train) tvd += fabs(share - train[i]) / 2;
                }
        }
        if (!has_train) return;
        sf_expo_family(e, "streamflow_training_class_share", "gauge",
                       "Share of the model's training rows that are of each class.");
        for (int i = 0; i < sch->n_classes; i++) {
                const char *l[] = {"class", sch->classes[i], NULL};
                sf_expo_double(e, "streamflow_training_class_share", l, train[i]);
        }
        if (total == 0) return;
        sf_expo_family(e, "streamflow_class_share_drift", "gauge",
                       "Total variation distance between the predictions' class shares and the training "
                       "rows' (0: the same, 1: disjoint).");
        sf_expo_double(e, "streamflow_class_share_drift", NULL, tvd);
}

static void write_kafka(sf_expo_t *e, const snap_t *s, const char *topic) {
        sf_expo_family(e, "streamflow_consumer_lag", "gauge",
                       "Records in the partition after the scorer's position (high watermark - position).");
        for (int i = 0; i < s->nlag; i++) {
                char part[16];
                snprintf(part, sizeof(part), "%d", (int)s->lag[i].partition);
                const char *l[] = {"topic", topic, "partition", part, NULL};
                sf_expo_u64(e, "streamflow_consumer_lag", l, (uint64_t)s->lag[i].lag);
        }
        family_u64(e, "streamflow_assigned_partitions", "gauge", "Partitions of the input topic assigned.",
                   (uint64_t)s->assigned);
        family_u64(e, "streamflow_rebalances_total", "counter",
                   "Rebalance events (assignments and revocations) seen by the consumer.", s->rebalances);
}

static void add_hist(sf_expo_hist_t *to, const sf_expo_hist_t *from) {
        for (int i = 0; i <= to->n; i++) to->counts[i] += from->counts[i];
        to->sum += from->sum;
}

/* Adds a scorer thread's published snapshot (and its counters, into c) to
 * s; the caller holds the thread's mu. */
static void add_snap(snap_t *s, count_t *c, const snap_t *t, int n_counts) {
        s->records += t->records;
        s->delivered += t->delivered;
        s->failed += t->failed;
        s->batches += t->batches;
        s->aborted += t->aborted;
        s->rebalances += t->rebalances;
        s->reloads += t->reloads;
        s->reload_failures += t->reload_failures;
        for (int i = 0; i < n_counts; i++) c[i] += t->c[i];
        add_hist(&s->latency, &t->latency);
        add_hist(&s->batch_size, &t->batch_size);
        add_hist(&s->batch_seconds, &t->batch_seconds);
        s->assigned += t->assigned;
        for (int i = 0; i < t->nlag && s->nlag < MAX_PARTS; i++) s->lag[s->nlag++] = t->lag[i];
}

void sf_score_prom_metrics(void *ctx, sf_expo_t *e) {
        sf_score_prom_t *p = ctx;
        snap_t *s = malloc(sizeof(*s));
        count_t *c = malloc((size_t)p->n_counts * sizeof(count_t));
        double *train = malloc((size_t)p->schema->n_classes * sizeof(double));
        if (!s || !c || !train) {
                free(s);
                free(c);
                free(train);
                e->oom = 1;
                return;
        }
        char id[sizeof(p->model_id)], format[sizeof(p->model_format)], schema[sizeof(p->schema_name)];
        pthread_mutex_lock(&p->mu);
        memcpy(s, &p->pub, offsetof(snap_t, lag) + (size_t)p->pub.nlag * sizeof(lag_t));
        memcpy(c, p->pub.c, (size_t)p->n_counts * sizeof(count_t));
        memcpy(id, p->model_id, sizeof(id));
        memcpy(format, p->model_format, sizeof(format));
        memcpy(schema, p->schema_name, sizeof(schema));
        memcpy(train, p->train_share, (size_t)p->schema->n_classes * sizeof(double));
        int has_train = p->has_train;
        for (sf_score_prom_t *t = p->next; t; t = t->next) {
                pthread_mutex_lock(&t->mu);
                add_snap(s, c, &t->pub, p->n_counts);
                pthread_mutex_unlock(&t->mu);
        }
        pthread_mutex_unlock(&p->mu);

        sf_expo_family(e, "streamflow_model_info", "gauge", "The model being served (value 1).");
        const char *ml[] = {"model_id", id, "format", format, "schema", schema, NULL};
        sf_expo_u64(e, "streamflow_model_info", ml, 1);
        family_u64(e, "streamflow_model_reloads_total", "counter",
                   "Model reloads tried (SIGHUP, or the model file replaced under --model-watch).",
                   s->reloads);
        family_u64(e, "streamflow_model_reload_failures_total", "counter",
                   "Model reloads refused (a bad file, or one that reads another input); the model in "
                   "service was kept.",
                   s->reload_failures);
        family_u64(e, "streamflow_records_total", "counter", "Input records consumed.", s->records);
        write_counts(e, p, c);
        write_shares(e, p, c, train, has_train);
        family_u64(e, "streamflow_delivered_total", "counter",
                   "Outputs (predictions and dead-letter copies) acknowledged by the cluster.", s->delivered);
        family_u64(e, "streamflow_delivery_failures_total", "counter", "Outputs the cluster refused.",
                   s->failed);
        family_u64(e, "streamflow_batches_total", "counter", "Micro-batches scored.", s->batches);
        family_u64(e, "streamflow_aborted_transactions_total", "counter",
                   "Transactions aborted (--exactly-once); their batches are scored again.", s->aborted);
        write_kafka(e, s, p->topic);
        sf_expo_family(e, "streamflow_end_to_end_latency_seconds", "histogram",
                       "From the input record's timestamp to its prediction acknowledged by the cluster.");
        sf_expo_hist(e, "streamflow_end_to_end_latency_seconds", NULL, &s->latency);
        sf_expo_family(e, "streamflow_batch_size_records", "histogram", "Records per micro-batch.");
        sf_expo_hist(e, "streamflow_batch_size_records", NULL, &s->batch_size);
        sf_expo_family(e, "streamflow_batch_processing_seconds", "histogram",
                       "Time to score a micro-batch and queue its outputs (and commit its transaction).");
        sf_expo_hist(e, "streamflow_batch_processing_seconds", NULL, &s->batch_seconds);
        free(c);
        free(train);
        free(s);
}

/* Whether the cluster answers a metadata request; asked at most once a
 * second. The caller holds probe_mu. */
static int probe(sf_score_prom_t *p, char *reason, size_t reason_size) {
        int64_t now = sf_wall_ms();
        if (p->probe_at_ms == 0 || now - p->probe_at_ms >= 1000) {
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, NULL, &md, 1000);
                p->probe_ok = err == RD_KAFKA_RESP_ERR_NO_ERROR;
                if (md) rd_kafka_metadata_destroy(md);
                snprintf(p->probe_err, sizeof(p->probe_err), "%s", rd_kafka_err2str(err));
                p->probe_at_ms = sf_wall_ms();
        }
        if (!p->probe_ok)
                snprintf(reason, reason_size, "the Kafka cluster does not answer: %s", p->probe_err);
        return p->probe_ok;
}

int sf_score_prom_ready(void *ctx, char *reason, size_t reason_size) {
        sf_score_prom_t *p = ctx, *asked = p;
        pthread_mutex_lock(&p->mu);
        int attached = p->pub.attached, rebalancing = p->pub.rebalancing, assigned = p->pub.assigned;
        /* Scorer threads: each one's consumer, the partitions of them all,
         * and the first one's consumer asks the cluster. */
        if (p->next) {
                asked = p->next;
                attached = 1;
                assigned = rebalancing = 0;
        }
        for (sf_score_prom_t *t = p->next; t; t = t->next) {
                pthread_mutex_lock(&t->mu);
                attached &= t->pub.attached;
                rebalancing |= t->pub.rebalancing;
                assigned += t->pub.assigned;
                pthread_mutex_unlock(&t->mu);
        }
        pthread_mutex_unlock(&p->mu);
        if (!attached) {
                snprintf(reason, reason_size,
                         p->next && p->next->next
                                 ? "a scorer thread is not connected to the Kafka cluster (starting or "
                                   "stopping)"
                                 : "not connected to the Kafka cluster (starting or stopping)");
                return 0;
        }
        if (rebalancing) {
                snprintf(reason, reason_size,
                         "rebalance in progress: partitions revoked, waiting for the new assignment");
                return 0;
        }
        if (assigned <= 0) {
                snprintf(reason, reason_size, "no partition of %s assigned yet", p->topic);
                return 0;
        }
        pthread_mutex_lock(&asked->probe_mu);
        int ok = asked->rk ? probe(asked, reason, reason_size) : 0;
        if (!asked->rk) snprintf(reason, reason_size, "stopping");
        pthread_mutex_unlock(&asked->probe_mu);
        return ok;
}
