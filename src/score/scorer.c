#include "score/scorer.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "score/hist.h"
#include "score/instance.h"
#include "score/offsets.h"
#include "score/pool.h"
#include "score/record.h"
#include "util/util.h"

/* One consumed record of the current micro-batch. */
typedef struct slot {
        rd_kafka_message_t *msg; /* its message, shared by the message's records */
        int owner;               /* this slot destroys msg once the batch is produced */
        const char *value;       /* the record: msg's value, or one record of it (many) */
        size_t len;
        int index;            /* its 0-based index in a message of many; -1: the whole value */
        int reject;           /* sf_score_reject_t */
        int unseen;           /* categorical values unseen in training */
        sf_score_info_t info; /* unknown label, the column at fault, missing or unseen values */
        int xrow;             /* its row in x, -1 when rejected */
        sf_row_t row;
        uint8_t *status; /* (n_cat) SF_ENC_* per categorical column */
        char err[320];
} slot_t;

/* --predictions-per-message batch: one message of a source partition's
 * predictions, from byte start of scorer.out; offset is that of its first
 * record (its delivery report says which range it covers). */
typedef struct piece {
        size_t start;
        int64_t offset;
} piece_t;

typedef struct scorer {
        const sf_scorer_opts_t *o;
        sf_model_t *model;
        sf_score_decoder_t dec;
        int classes;
        const char *model_id;

        sf_consumer_t *cons;
        sf_producer_t *prod;
        sf_score_offsets_t *offsets;

        slot_t *slots;   /* (cap) */
        int cap;         /* slots, and rows of x, hot, status and probs: o->batch, or more for a
                          * message of more records */
        int n;           /* records in the batch */
        float *x;        /* (batch, n_dense) scaled numbers and "was missing" inputs, the first nx rows */
        int32_t *hot;    /* (batch, n_cat) their one-hot input indices */
        uint8_t *status; /* (batch, n_cat) what the encoder found per categorical column */
        int nx;
        float *probs;  /* (batch, classes) */
        sf_nn_ws_t ws; /* the model's scratch space, this scorer's own */
        char *json;    /* a prediction, json_cap bytes: grown for an unusually long one */
        size_t json_cap;

        /* --records-per-message many: the records of the last message split
         * (SF_SCORE_MAX_RECORDS_PER_MESSAGE + 1 spans), and a message
         * consumed whose records did not fit in the batch: the next batch
         * starts with it. */
        sf_score_span_t *spans;
        size_t nspans;
        rd_kafka_message_t *pending;

        /* Partitions of o->topic to read again from an offset (records
         * fetched there were not scored), or NULL. Sought back; until a
         * seek succeeds (librdkafka drops a seek in flight when a
         * rebalance starts) or the partition is revoked, every message of
         * it is dropped: nothing after that offset is scored or committed
         * before the records at it are. */
        rd_kafka_topic_partition_list_t *rewind;

        /* --predictions-per-message batch: the slots chained by source
         * partition, and one partition's prediction lines at a time cut into
         * messages; all grown, never shrunk. */
        int *next;  /* (cap) the next slot of the same partition, or -1 */
        int *heads; /* (cap) the first slot of each partition, in order of appearance */
        int *tail;  /* (ntail) by partition number: its last slot chained so far, or -1 */
        int32_t ntail;
        piece_t *pieces; /* (cap) */
        char *out;       /* out_cap bytes */
        size_t out_cap;
        size_t max_bytes; /* the producer's message.max.bytes */

        /* Per partition of the input topic (npos of them): where its
         * committed position was last known to be, from the assignment
         * (the committed offset) and from each offset stored for commit;
         * -1 unknown. The lag of a partition nothing was read from since
         * its assignment is counted from here. */
        int64_t *committed_pos;
        int32_t npos;

        sf_score_instance_t instance;

        sf_scorer_totals_t t;
        sf_score_hist_t hist_all, hist_iv;
        /* the current stats interval */
        double iv_start, first_record;
        uint64_t iv_in, iv_out, iv_batches, iv_batch_records;
        /* when an acknowledgement was last seen (outputs_acked) */
        double last_ack;
        uint64_t acked_seen;

        int failed; /* a fatal problem: stop and report error */
        char error[512];
} scorer_t;

static void fail(scorer_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(scorer_t *s, const char *fmt, ...) {
        if (!s->failed) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(s->error, sizeof(s->error), fmt, ap);
                va_end(ap);
        }
        s->failed = 1;
        sf_kafka_stop();
}

/* The source of an output rides in the message opaque: partition in the
 * top 16 bits, offset in the low 48 (2^48 offsets is 9 years at 1 M/s). */
static void *pack(int32_t partition, int64_t offset) {
        return (void *)(uintptr_t)(((uint64_t)partition << 48) | ((uint64_t)offset & ((1ull << 48) - 1)));
}
static void unpack(void *opaque, int32_t *partition, int64_t *offset) {
        uint64_t v = (uint64_t)(uintptr_t)opaque;
        *partition = (int32_t)(v >> 48);
        *offset = (int64_t)(v & ((1ull << 48) - 1));
}

/* Whether msg went to the predictions topic (else to the DLQ). */
static bool is_prediction(const scorer_t *s, const rd_kafka_message_t *msg) {
        return msg->rkt && strcmp(rd_kafka_topic_name(msg->rkt), s->o->output) == 0;
}

/* The predictions a message carries: 1, or with --predictions-per-message
 * batch, its lines when it went to the predictions topic (pred). */
static uint64_t predictions_in(const scorer_t *s, const rd_kafka_message_t *msg, bool pred) {
        if (!s->o->predictions_batch || !pred) return 1;
        uint64_t n = 0;
        const char *p = msg->payload, *end = p + msg->len;
        while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                n++;
                p++;
        }
        return n;
}

/* --metrics: the delivery report of msg. Only a prediction was timed (its
 * key is its source's, which a DLQ copy of a record of the same message
 * shares). */
static void prom_delivered(scorer_t *s, const rd_kafka_message_t *msg, void *opaque, uint64_t n, bool pred) {
        if (pred)
                sf_score_prom_delivered_many(s->o->prom, (uint64_t)(uintptr_t)opaque, !msg->err, n);
        else
                sf_score_prom_delivered_untimed(s->o->prom, !msg->err, n);
}

static void on_delivery(void *ctx, const rd_kafka_message_t *msg, void *opaque) {
        scorer_t *s = ctx;
        int32_t part;
        int64_t off;
        unpack(opaque, &part, &off);
        /* only asked (a string compare) where it matters */
        bool pred = (s->o->predictions_batch || s->o->prom) && is_prediction(s, msg);
        uint64_t n = predictions_in(s, msg, pred);
        /* An aborted transaction's outputs still queued or in flight: the
         * batch was rewound and is scored again. */
        if (s->o->exactly_once &&
            (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT))
                return;
        if (msg->err) {
                s->t.failed += n;
                if (s->o->prom) prom_delivered(s, msg, opaque, n, pred);
                if (s->o->predictions_batch && n > 0 && pred) {
                        fail(s,
                             "the %llu predictions of %s [%d] from offset %lld were not delivered to %s: %s; "
                             "those offsets and the ones after them stay uncommitted and are scored again "
                             "on restart",
                             (unsigned long long)n, s->o->topic, (int)part, (long long)off, s->o->output,
                             rd_kafka_err2str(msg->err));
                        return;
                }
                fail(s,
                     "the output for %s [%d] offset %lld was not delivered to %s: %s; that offset and the "
                     "ones after it stay uncommitted and are scored again on restart",
                     s->o->topic, (int)part, (long long)off, rd_kafka_topic_name(msg->rkt),
                     rd_kafka_err2str(msg->err));
                return;
        }
        s->t.delivered += n;
        s->iv_out += n;
        if (s->o->prom) prom_delivered(s, msg, opaque, n, pred);
        if (!s->o->exactly_once) sf_score_offsets_ack(s->offsets, part, off);
}

/* Records that partition's committed position is (at least) pos; pos -1
 * forgets it. */
static void note_committed(scorer_t *s, int32_t partition, int64_t pos) {
        if (partition < 0) return;
        if (partition >= s->npos) {
                if (pos < 0) return;
                int32_t n = partition + 1;
                int64_t *np = realloc(s->committed_pos, (size_t)n * sizeof(*np));
                if (!np) return; /* the lag of that partition is then counted from the log start */
                for (int32_t i = s->npos; i < n; i++) np[i] = -1;
                s->committed_pos = np;
                s->npos = n;
        }
        if (pos < 0 || pos > s->committed_pos[partition]) s->committed_pos[partition] = pos;
}

/* Stores, for commit by the consumer, every partition's new position. */
static void store_offsets(scorer_t *s, sf_consumer_t *c) {
        if (s->o->exactly_once) return;
        int32_t np = sf_score_offsets_npartitions(s->offsets);
        for (int32_t p = 0; p < np; p++) {
                int64_t pos = sf_score_offsets_commit_pos(s->offsets, p);
                if (pos < 0) continue;
                char err[256];
                /* A failure means the partition was revoked meanwhile: its
                 * records are redelivered to the new owner. */
                if (sf_consumer_store_offset(c, s->o->topic, p, pos, err, sizeof(err)) == 0) {
                        sf_score_offsets_committed(s->offsets, p, pos);
                        note_committed(s, p, pos);
                }
        }
}

/* A new slot of the batch for the record value[0..len) of msg. */
static slot_t *new_slot(scorer_t *s, rd_kafka_message_t *msg, const char *value, size_t len, int index) {
        slot_t *sl = &s->slots[s->n++];
        sl->msg = msg;
        sl->owner = index <= 0;
        sl->value = value;
        sl->len = len;
        sl->index = index;
        sl->unseen = 0;
        sl->xrow = -1;
        sl->status = s->status;
        s->t.records++;
        s->iv_in++;
        return sl;
}

/* Parses and encodes one record of msg straight into the batch: the whole
 * message (index -1), or its record index, split from it in format. */
static void add_record(scorer_t *s, rd_kafka_message_t *msg, sf_score_format_t format, const char *value,
                       size_t len, int index) {
        slot_t *sl = new_slot(s, msg, value, len, index);
        sl->reject = index < 0 ? sf_score_decode(&s->dec, value, len, &sl->row, &sl->info, sl->err,
                                                 sizeof(sl->err))
                               : sf_score_decode_as(&s->dec, format, value, len, &sl->row, &sl->info, sl->err,
                                                    sizeof(sl->err));
        if (sl->reject == SF_REJECT_NONE) {
                int n_cat = s->dec.enc->n_cat;
                sl->status = s->status + (size_t)s->nx * (size_t)n_cat;
                sl->reject = sf_score_encode(&s->dec, &sl->row, s->x + (size_t)s->nx * (size_t)s->dec.n_dense,
                                             s->hot + (size_t)s->nx * (size_t)n_cat, sl->status, &sl->info,
                                             sl->err, sizeof(sl->err));
                for (int k = 0; sl->info.odd && k < n_cat; k++) sl->unseen += sl->status[k] == SF_ENC_UNSEEN;
                if (sl->reject == SF_REJECT_NONE) sl->xrow = s->nx++;
        }
}

static int grow_batch(scorer_t *s, int cap);

/* The records of msg (one, or with many those sf_score_split finds) into
 * the batch, tracked for commit as one offset with that many outputs.
 * Returns 0, or 1 when they do not fit in this batch: msg is then pending,
 * the first of the next batch. */
static int add_message(scorer_t *s, rd_kafka_message_t *msg) {
        const char *value = msg->payload ? msg->payload : "";
        size_t len = msg->payload ? msg->len : 0, max = SF_SCORE_MAX_RECORDS_PER_MESSAGE;
        int n = 1;
        if (s->o->many && msg != s->pending)
                s->nspans = sf_score_split(s->o->format, value, len, s->spans, max);
        if (s->o->many && s->nspans > 0 && s->nspans <= max) n = (int)s->nspans;
        if (s->n > 0 && s->n + n > s->o->batch) {
                s->pending = msg;
                return 1;
        }
        s->pending = NULL;
        /* With predictions_batch, produce_partition tracks the batch's
         * offsets of each partition as one range. */
        if ((n > s->cap && grow_batch(s, n) != 0) ||
            (!s->o->exactly_once && !s->o->predictions_batch &&
             sf_score_offsets_add_n(s->offsets, msg->partition, msg->offset, (uint32_t)n) != 0)) {
                fail(s, "out of memory for a message of %d records (%s [%d] offset %lld)", n, s->o->topic,
                     (int)msg->partition, (long long)msg->offset);
                rd_kafka_message_destroy(msg);
                return 0;
        }
        s->t.messages++;
        if (s->first_record == 0) s->first_record = sf_now_s();
        if (!s->o->many) {
                add_record(s, msg, s->o->format, value, len, -1);
        } else if (s->nspans == 0) { /* "empty" */
                add_record(s, msg, s->o->format, value, len, -1);
                snprintf(s->slots[s->n - 1].err, sizeof(s->slots[0].err),
                         "no record in the message (only blank lines)");
        } else if (s->nspans > max) { /* sent whole to the DLQ */
                slot_t *sl = new_slot(s, msg, value, len, -1);
                sl->reject = SF_REJECT_TOO_MANY;
                sl->info = (sf_score_info_t){0, -1, 0};
                snprintf(sl->err, sizeof(sl->err),
                         "more than %zu records in one message (the limit); none of them is scored: send "
                         "fewer records per message",
                         max);
        } else {
                /* every record as the message was split: a CSV line in a JSON message is not JSON */
                sf_score_format_t format = sf_score_message_format(s->o->format, value, len);
                for (size_t i = 0; i < s->nspans; i++)
                        add_record(s, msg, format, value + s->spans[i].off, s->spans[i].len, (int)i);
        }
        return 0;
}

/* After a poll or a flush: notes the time if outputs were acknowledged
 * since the last call (once per call, not a clock read per message). */
static void outputs_acked(scorer_t *s) {
        if (s->t.delivered == s->acked_seen) return;
        s->acked_seen = s->t.delivered;
        s->last_ack = sf_now_s();
}

/* --metrics: the output of sl, queued, counted by class or DLQ reason. */
static void prom_output(scorer_t *s, const slot_t *sl, int64_t input_ts_ms) {
        int cls = -1;
        if (sl->reject == SF_REJECT_NONE) {
                const float *p = s->probs + (size_t)sl->xrow * (size_t)s->classes;
                cls = 0;
                for (int k = 1; k < s->classes; k++)
                        if (p[k] > p[cls]) cls = k;
        }
        /* A row with nothing missing or unseen adds to no column's count. */
        const sf_row_t *row = sl->reject || !sl->info.odd ? NULL : &sl->row;
        sf_score_prom_output(s->o->prom, sl->reject, cls, row, sl->status,
                             (uint64_t)(uintptr_t)pack(sl->msg->partition, sl->msg->offset), input_ts_ms);
}

static int add_header(rd_kafka_headers_t *h, const char *name, const char *value) {
        return rd_kafka_header_add(h, name, -1, value, -1) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* The prediction JSON of sl at (*buf)[at], *buf grown (doubled) when its
 * *cap bytes are too few. Returns its length (a NUL follows it), or 0 when
 * out of memory. */
static size_t format_at(scorer_t *s, const slot_t *sl, char **buf, size_t *cap, size_t at) {
        const rd_kafka_message_t *m = sl->msg;
        sf_score_source_t src = {s->o->topic, m->partition, m->offset, NULL, 0, 0, 0};
        if (sl->index >= 0) src.indexed = 1, src.index = (uint32_t)sl->index;
        const float *p = s->probs + (size_t)sl->xrow * (size_t)s->classes;
        for (;;) {
                size_t room = *cap - at;
                size_t n =
                        sf_score_format(&s->dec, *buf + at, room, p, &sl->row, sl->status, &sl->info, &src);
                if (n < room) return n;
                size_t c = *cap * 2;
                while (c < at + n + 1) c *= 2;
                char *b = realloc(*buf, c);
                if (!b) return 0;
                *buf = b;
                *cap = c;
        }
}

/* The headers of a DLQ copy: why, where from, and the column at fault.
 * Returns 0, or -1 when out of memory. */
static int dlq_headers(scorer_t *s, const slot_t *sl, rd_kafka_headers_t *h) {
        const rd_kafka_message_t *m = sl->msg;
        char num[32], msg[512], rec[32] = "";
        if (sl->index >= 0) snprintf(rec, sizeof(rec), " record %d", sl->index);
        if (sl->info.col >= 0)
                snprintf(msg, sizeof(msg), "%s [%d] offset %lld%s: column %d (%s): %s", s->o->topic,
                         (int)m->partition, (long long)m->offset, rec, sl->info.col + 1,
                         s->dec.schema->cols[sl->info.col].name, sl->err);
        else
                snprintf(msg, sizeof(msg), "%s [%d] offset %lld%s: %s", s->o->topic, (int)m->partition,
                         (long long)m->offset, rec, sl->err);
        int hr = add_header(h, "error", sf_score_reject_str(sl->reject));
        hr |= add_header(h, "error_message", msg);
        hr |= add_header(h, "source_topic", s->o->topic);
        snprintf(num, sizeof(num), "%d", (int)m->partition);
        hr |= add_header(h, "source_partition", num);
        snprintf(num, sizeof(num), "%lld", (long long)m->offset);
        hr |= add_header(h, "source_offset", num);
        if (sl->index >= 0) {
                snprintf(num, sizeof(num), "%d", sl->index);
                hr |= add_header(h, "source_index", num);
        }
        if (sl->info.col >= 0) hr |= add_header(h, "column", s->dec.schema->cols[sl->info.col].name);
        if (sl->len > SF_SCORE_DLQ_MAX) {
                snprintf(num, sizeof(num), "%zu", sl->len);
                hr |= add_header(h, "original_size", num);
        }
        /* The first few on stderr too, so a wrong --format or schema shows at once. */
        if (s->o->events && s->t.dlq < 5) {
                fprintf(s->o->events, "score: dead-letter %s: %s%s\n", sf_score_reject_str(sl->reject), msg,
                        s->t.dlq == 4 ? " (further dead-letter records are not logged here)" : "");
                fflush(s->o->events);
        }
        return hr;
}

static void queued(scorer_t *s, const slot_t *sl, int64_t now_us, int keyed);

/* Queues the prediction or the DLQ copy of one record. Returns 0 or -1. */
static int produce_one(scorer_t *s, slot_t *sl, int64_t now_us) {
        rd_kafka_message_t *m = sl->msg;
        char err[512];
        const char *topic;
        const void *value;
        size_t len;
        rd_kafka_headers_t *h = rd_kafka_headers_new(sl->reject ? 9 : 1);
        if (!h) {
                fail(s, "out of memory");
                return -1;
        }
        int hr = add_header(h, "model_id", s->model_id);
        if (sl->reject == SF_REJECT_NONE) {
                len = format_at(s, sl, &s->json, &s->json_cap, 0);
                hr |= len == 0;
                value = s->json;
                topic = s->o->output;
                s->t.predictions++;
                if (sl->unseen) s->t.unseen++;
                if (sl->info.unknown_label) s->t.unknown_label++;
        } else {
                hr |= dlq_headers(s, sl, h);
                value = sl->value; /* the record alone */
                /* Kafka's default limit is 1 MB per message: a copy that big
                 * could not be delivered, and scoring would stall on it. Keep
                 * the head; original_size says how big it was. */
                len = sl->len > SF_SCORE_DLQ_MAX ? SF_SCORE_DLQ_MAX : sl->len;
                topic = s->o->dlq;
                s->t.dlq++;
        }
        if (hr != 0) {
                rd_kafka_headers_destroy(h);
                fail(s, "cannot add Kafka headers or format a prediction (out of memory)");
                return -1;
        }
        if (sf_producer_send(s->prod, topic, -1, m->key, m->key_len, value, len, h,
                             pack(m->partition, m->offset), err, sizeof(err)) != 0) {
                rd_kafka_headers_destroy(h);
                /* The offset stays in flight, unacknowledged: nothing at or
                 * after it is committed, so it is scored again on restart. */
                fail(s, "%s [%d] offset %lld: %s", s->o->topic, (int)m->partition, (long long)m->offset, err);
                return -1;
        }
        queued(s, sl, now_us, 1);
        return 0;
}

/* The output of sl is queued: its latency (input record's timestamp ->
 * output queued) and, with --metrics, its count; keyed: its delivery
 * report will bring its key (else another output's brings the latency). */
static void queued(scorer_t *s, const slot_t *sl, int64_t now_us, int keyed) {
        rd_kafka_timestamp_type_t tstype;
        int64_t ts = rd_kafka_message_timestamp(sl->msg, &tstype);
        if (ts > 0) {
                int64_t us = now_us - ts * 1000;
                sf_score_hist_add(&s->hist_all, us);
                sf_score_hist_add(&s->hist_iv, us);
        }
        if (s->o->prom) prom_output(s, sl, keyed ? ts : 0);
}

/* --predictions-per-message batch: chains the slots of the batch by source
 * partition (s->next), the first slot of each in s->heads in order of
 * appearance. Returns how many partitions, or -1 when out of memory. */
static int chain_partitions(scorer_t *s) {
        int nh = 0;
        for (int i = 0; i < s->n; i++) {
                int32_t p = s->slots[i].msg->partition;
                if (p >= s->ntail) {
                        int *t = realloc(s->tail, (size_t)(p + 1) * sizeof(*t));
                        if (!t) {
                                for (int h = 0; h < nh; h++)
                                        s->tail[s->slots[s->heads[h]].msg->partition] = -1;
                                return -1;
                        }
                        for (int32_t k = s->ntail; k <= p; k++) t[k] = -1;
                        s->tail = t;
                        s->ntail = p + 1;
                }
                s->next[i] = -1;
                if (s->tail[p] < 0)
                        s->heads[nh++] = i;
                else
                        s->next[s->tail[p]] = i;
                s->tail[p] = i;
        }
        for (int h = 0; h < nh; h++) s->tail[s->slots[s->heads[h]].msg->partition] = -1;
        return nh;
}

/* Appends the prediction of sl and a newline to s->out at *len (s->out
 * grown when too small). Returns 0, or -1 when out of memory. */
static int append_prediction(scorer_t *s, const slot_t *sl, size_t *len) {
        size_t n = format_at(s, sl, &s->out, &s->out_cap, *len);
        if (n == 0) return -1;
        s->out[*len + n] = '\n'; /* over the NUL */
        *len += n + 1;
        return 0;
}

/* Queues one message of partition part's predictions (value, len bytes),
 * keyed by the partition's number. Returns 0 or -1. */
static int send_predictions(scorer_t *s, int32_t part, const piece_t *pc, const char *value, size_t len) {
        char key[16], err[512];
        snprintf(key, sizeof(key), "%d", (int)part);
        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
        if (!h || add_header(h, "model_id", s->model_id) != 0) {
                if (h) rd_kafka_headers_destroy(h);
                fail(s, "cannot add Kafka headers (out of memory)");
                return -1;
        }
        if (sf_producer_send(s->prod, s->o->output, -1, key, strlen(key), value, len, h,
                             pack(part, pc->offset), err, sizeof(err)) != 0) {
                rd_kafka_headers_destroy(h);
                fail(s, "%s [%d] predictions from offset %lld: %s", s->o->topic, (int)part,
                     (long long)pc->offset, err);
                return -1;
        }
        return 0;
}

/* The most bytes of prediction lines in one message: what message.max.bytes
 * leaves once the key, the model_id header and the record's framing are
 * counted (at least 1: a longer line goes alone). */
static size_t max_value(const scorer_t *s) {
        size_t overhead = 16 + 32 + strlen(s->model_id) + 128;
        return s->max_bytes > overhead ? s->max_bytes - overhead : 1;
}

/* --predictions-per-message batch: queues the outputs of one source
 * partition of the batch (head: its first slot): its predictions as lines
 * in offset order, in as few messages as max_value allows, and a DLQ copy
 * of each record that cannot be scored. Its offsets are one range, done
 * when every one of those outputs is acknowledged. Returns 0 or -1. */
static int produce_partition(scorer_t *s, int head, int64_t now_us) {
        int32_t part = s->slots[head].msg->partition;
        int64_t lo = INT64_MAX, hi = -1;
        size_t len = 0, limit = max_value(s);
        int npieces = 0;
        uint32_t outputs = 0;
        for (int i = head; i >= 0; i = s->next[i]) {
                slot_t *sl = &s->slots[i];
                int64_t off = sl->msg->offset;
                lo = off < lo ? off : lo;
                hi = off > hi ? off : hi;
                if (sl->reject) {
                        outputs++;
                        continue;
                }
                size_t start = len;
                if (append_prediction(s, sl, &len) != 0) {
                        fail(s, "out of memory formatting the predictions of a batch");
                        return -1;
                }
                int first = npieces == 0 || (len - s->pieces[npieces - 1].start > limit &&
                                             start > s->pieces[npieces - 1].start);
                if (first) {
                        s->pieces[npieces++] = (piece_t){start, off};
                        outputs++;
                }
                s->t.predictions++;
                if (sl->unseen) s->t.unseen++;
                if (sl->info.unknown_label) s->t.unknown_label++;
                queued(s, sl, now_us, first);
        }
        if (!s->o->exactly_once && sf_score_offsets_add_range(s->offsets, part, lo, hi, outputs) != 0) {
                fail(s, "out of memory tracking offsets");
                return -1;
        }
        for (int i = head; i >= 0; i = s->next[i])
                if (s->slots[i].reject && produce_one(s, &s->slots[i], now_us) != 0) return -1;
        for (int k = 0; k < npieces; k++) {
                size_t end = k + 1 < npieces ? s->pieces[k + 1].start : len;
                if (send_predictions(s, part, &s->pieces[k], s->out + s->pieces[k].start,
                                     end - s->pieces[k].start) != 0)
                        return -1;
        }
        return 0;
}

/* Queues every output of the batch: one message per record, or
 * (predictions_batch) per source partition. */
static void produce_batch(scorer_t *s, int64_t now_us) {
        if (!s->o->predictions_batch) {
                for (int i = 0; i < s->n; i++)
                        if (produce_one(s, &s->slots[i], now_us) != 0) return;
                return;
        }
        int nh = chain_partitions(s);
        if (nh < 0) fail(s, "out of memory grouping a batch by partition");
        for (int h = 0; h < nh; h++)
                if (produce_partition(s, s->heads[h], now_us) != 0) return;
}

static int txn_error(scorer_t *s, rd_kafka_error_t *error, const char *what);

/* Notes that partition is to be read again from offset (the lowest such
 * offset wins). Returns 0, or -1 out of memory (s failed). */
static int rewind_later(scorer_t *s, int32_t partition, int64_t offset) {
        if (!s->rewind && !(s->rewind = rd_kafka_topic_partition_list_new(4))) {
                fail(s, "out of memory");
                return -1;
        }
        rd_kafka_topic_partition_t *tp =
                rd_kafka_topic_partition_list_find(s->rewind, s->o->topic, partition);
        if (!tp)
                rd_kafka_topic_partition_list_add(s->rewind, s->o->topic, partition)->offset = offset;
        else if (offset < tp->offset)
                tp->offset = offset;
        return 0;
}

/* Whether any partition is still to be sought back. */
static bool rewinds_pending(const scorer_t *s) {
        return s->rewind && s->rewind->cnt > 0;
}

/* Whether msg is of a partition still to be sought back (it is dropped:
 * it is read again after the seek). */
static bool rewinding(const scorer_t *s, const rd_kafka_message_t *msg) {
        return rewinds_pending(s) &&
               rd_kafka_topic_partition_list_find(s->rewind, s->o->topic, msg->partition);
}

/* Seeks back the partitions of s->rewind; those sought, or no longer
 * assigned (their next owner starts from the committed offset), leave the
 * list, the others are tried again on the next call. */
static void rewind_now(scorer_t *s) {
        if (!rewinds_pending(s)) return;
        char err[512];
        if (sf_consumer_seek(s->cons, s->rewind, 5000, err, sizeof(err)) != 0)
                return; /* the whole list stays */
        for (int i = s->rewind->cnt - 1; i >= 0; i--) {
                rd_kafka_resp_err_t e = s->rewind->elems[i].err;
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                    e == RD_KAFKA_RESP_ERR__STATE)
                        rd_kafka_topic_partition_list_del_by_idx(s->rewind, i);
        }
}

/* Seeks every partition of the batch back to its first offset (after an
 * aborted transaction the records are consumed and scored again). */
static void rewind_batch(scorer_t *s) {
        /* A pending message is read again too. */
        for (int i = s->pending ? -1 : 0; i < s->n; i++) {
                rd_kafka_message_t *m = i < 0 ? s->pending : s->slots[i].msg;
                if (rewind_later(s, m->partition, m->offset) != 0) break;
        }
        rewind_now(s);
        if (s->pending) rd_kafka_message_destroy(s->pending);
        s->pending = NULL;
}

/* Commits the batch's transaction with its input offsets. Returns 0, 1
 * when the transaction was aborted (the batch is to be scored again), -1 on
 * a fatal error. */
static int commit_txn(scorer_t *s) {
        rd_kafka_t *prk = sf_producer_handle(s->prod), *crk = sf_consumer_handle(s->cons);
        rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(8);
        if (!offsets) {
                fail(s, "out of memory");
                return -1;
        }
        for (int i = 0; i < s->n; i++) {
                rd_kafka_message_t *m = s->slots[i].msg;
                rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
                        offsets, rd_kafka_topic_name(m->rkt), m->partition);
                if (!tp)
                        tp = rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(m->rkt),
                                                               m->partition);
                if (m->offset + 1 > tp->offset) tp->offset = m->offset + 1;
        }
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(crk);
        int rc = 0;
        rd_kafka_error_t *error = rd_kafka_send_offsets_to_transaction(prk, offsets, cgmd, -1);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        rd_kafka_topic_partition_list_destroy(offsets);
        if (error) {
                rc = txn_error(s, error, "send_offsets_to_transaction");
                if (rc != 0) return rc;
        }
        for (;;) {
                error = rd_kafka_commit_transaction(prk, -1);
                if (!error) return 0;
                if (rd_kafka_error_is_retriable(error) && sf_kafka_running()) {
                        rd_kafka_error_destroy(error);
                        continue;
                }
                return txn_error(s, error, "commit_transaction");
        }
}

/* Handles a transactional API error: abort and rewind when the transaction
 * can be aborted (returns 1), else a fatal error (returns -1). Consumes error. */
static int txn_error(scorer_t *s, rd_kafka_error_t *error, const char *what) {
        rd_kafka_t *prk = sf_producer_handle(s->prod);
        if (rd_kafka_error_txn_requires_abort(error)) {
                rd_kafka_error_destroy(error);
                rd_kafka_error_t *aerr = rd_kafka_abort_transaction(prk, -1);
                if (aerr) {
                        fail(s, "abort_transaction: %s", rd_kafka_error_string(aerr));
                        rd_kafka_error_destroy(aerr);
                        return -1;
                }
                s->t.aborted++;
                rewind_batch(s);
                return 1;
        }
        if (rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__FENCED)
                fail(s,
                     "exactly-once: %s: %s: a newer scorer runs with transactional.id "
                     "streamflow-score-%s-%s (instance '%s'); give each scorer its own --instance-id",
                     what, rd_kafka_error_string(error), s->o->group, s->instance.id, s->instance.id);
        else
                fail(s, "exactly-once: %s: %s", what, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return -1;
}

static void release_batch(scorer_t *s) {
        for (int i = 0; i < s->n; i++)
                if (s->slots[i].owner) rd_kafka_message_destroy(s->slots[i].msg);
        s->n = s->nx = 0;
}

/* A reloaded model serves from the next batch on (nothing is in the batch):
 * its decoder, and inputs as wide as its encoder makes them. It reads the
 * same columns and classes as the old one (score/reload.h), so the rows,
 * the one-hot and status columns and the outputs keep their sizes.
 * Returns 0, or -1 and fails the run (out of memory). */
static int use_model(scorer_t *s, sf_model_t *model) {
        sf_score_decoder_t dec;
        if (sf_score_decoder_init(&dec, sf_model_schema(model), sf_model_encoder(model), s->o->format) != 0) {
                fail(s, "out of memory switching to the reloaded model");
                return -1;
        }
        float *x = realloc(s->x, (size_t)s->cap * ((size_t)dec.n_dense + 1) * sizeof(float));
        if (!x) {
                sf_score_decoder_free(&dec);
                fail(s, "out of memory switching to the reloaded model");
                return -1;
        }
        s->x = x;
        sf_nn_ws_free(&s->ws); /* sized for the old model's layers */
        sf_score_decoder_free(&s->dec);
        s->dec = dec;
        s->model = model;
        s->model_id = sf_model_id(model);
        return 0;
}

/* Runs the model on the batch and produces every output. */
static void score_batch(scorer_t *s) {
        if (s->n == 0) return;
        if (s->failed) {
                release_batch(s);
                return;
        }
        if (s->nx > 0 &&
            sf_model_predict_sparse_ws(s->model, &s->ws, s->x, s->hot, (size_t)s->nx, s->probs) != 0) {
                fail(s, "out of memory running the model");
                release_batch(s);
                return;
        }
        for (int i = 0; i < s->n; i++) { /* a non-finite output goes to the DLQ, not out as a prediction */
                slot_t *sl = &s->slots[i];
                if (sl->xrow >= 0)
                        sl->reject = sf_score_check_probs(s->probs + (size_t)sl->xrow * (size_t)s->classes,
                                                          s->classes, sl->err, sizeof(sl->err));
        }
        if (s->o->exactly_once) {
                rd_kafka_error_t *error = rd_kafka_begin_transaction(sf_producer_handle(s->prod));
                if (error) {
                        fail(s, "begin_transaction: %s", rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                        release_batch(s);
                        return;
                }
        }
        /* What an aborted batch takes back (it is scored again); its
         * records count as consumed each time they are. */
        uint64_t before[4] = {s->t.predictions, s->t.dlq, s->t.unseen, s->t.unknown_label};
        double t0 = s->o->prom ? sf_now_s() : 0;
        int aborted = 0;
        /* One clock read for the batch: its records are queued within
         * microseconds of each other. */
        int64_t now_us = sf_wall_ms() * 1000;
        produce_batch(s, now_us);
        if (s->o->exactly_once && !s->failed && commit_txn(s) == 1) {
                aborted = 1;
                /* aborted: those outputs do not count */
                s->t.predictions = before[0];
                s->t.dlq = before[1];
                s->t.unseen = before[2];
                s->t.unknown_label = before[3];
        }
        s->t.batches++;
        s->iv_batches++;
        s->iv_batch_records += (uint64_t)s->n;
        if (s->o->prom) sf_score_prom_batch(s->o->prom, s->n, sf_now_s() - t0, aborted);
        release_batch(s);
}

/* Sum over the assignment of (high watermark - position), from the
 * consumer's cached watermarks (no request to the cluster). A partition
 * nothing was read from since its assignment has no position yet: its
 * committed offset stands for it (the log start only when that is
 * unknown). */
static int64_t consumer_lag(scorer_t *s) {
        rd_kafka_t *crk = sf_consumer_handle(s->cons);
        rd_kafka_topic_partition_list_t *parts = NULL;
        int64_t lag = 0;
        if (rd_kafka_assignment(crk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts) return -1;
        rd_kafka_position(crk, parts);
        for (int i = 0; i < parts->cnt; i++) {
                int64_t lo, hi;
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                if (rd_kafka_get_watermark_offsets(crk, tp->topic, tp->partition, &lo, &hi) != 0 || hi < 0)
                        continue;
                int64_t pos = tp->offset;
                if (strcmp(tp->topic, s->o->topic) == 0 && tp->partition < s->npos &&
                    s->committed_pos[tp->partition] > pos)
                        pos = s->committed_pos[tp->partition];
                if (pos < 0) pos = lo;
                if (hi > pos) lag += hi - pos;
        }
        rd_kafka_topic_partition_list_destroy(parts);
        return lag;
}

static void stats(scorer_t *s, int final) {
        double now = sf_now_s();
        double dt = now - s->iv_start;
        if (s->o->stats_s <= 0 || (!final && dt < s->o->stats_s) || dt <= 0) return;
        double in = s->iv_in / dt, out = s->iv_out / dt;
        double batch = s->iv_batches ? (double)s->iv_batch_records / s->iv_batches : 0;
        int64_t lag = consumer_lag(s);
        double p50 = sf_score_hist_percentile(&s->hist_iv, 50) / 1000.0;
        double p99 = sf_score_hist_percentile(&s->hist_iv, 99) / 1000.0;
        if (s->o->stats_text) {
                fprintf(s->o->stats_text,
                        "score: %.0f in/s, %.0f out/s, lag %lld, batch %.0f, latency p50 %.1f ms p99 %.1f "
                        "ms, "
                        "dlq %llu, records %llu%s\n",
                        in, out, (long long)lag, batch, p50, p99, (unsigned long long)s->t.dlq,
                        (unsigned long long)s->t.records, s->o->label ? s->o->label : "");
                fflush(s->o->stats_text);
        }
        if (s->o->stats_json) {
                char thread[32] = "";
                if (s->o->label) snprintf(thread, sizeof(thread), "\"thread\":%d,", s->o->thread);
                fprintf(s->o->stats_json,
                        "{%s\"time_ms\":%lld,\"in_per_s\":%.1f,\"out_per_s\":%.1f,\"lag\":%lld,\"batch_avg\":"
                        "%."
                        "1f,"
                        "\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,\"dlq\":%llu,\"records\":%llu,"
                        "\"messages\":%llu,\"predictions\":%llu,\"delivered\":%llu,\"final\":%s}\n",
                        thread, (long long)sf_wall_ms(), in, out, (long long)lag, batch, p50, p99,
                        (unsigned long long)s->t.dlq, (unsigned long long)s->t.records,
                        (unsigned long long)s->t.messages, (unsigned long long)s->t.predictions,
                        (unsigned long long)s->t.delivered, final ? "true" : "false");
                fflush(s->o->stats_json);
        }
        s->iv_start = now;
        s->iv_in = s->iv_out = s->iv_batches = s->iv_batch_records = 0;
        sf_score_hist_reset(&s->hist_iv);
}

/* Revoke: finish the batch (it may hold records of the revoked
 * partitions), wait for the outputs, store what is acknowledged (the layer
 * commits it), and forget the rest: those records go to the new owner. */
static void on_rebalance(void *ctx, sf_consumer_t *c, rd_kafka_resp_err_t err,
                         const rd_kafka_topic_partition_list_t *parts) {
        scorer_t *s = ctx;
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
                score_batch(s);
                if (!s->o->exactly_once && s->prod) {
                        sf_producer_flush(s->prod, 10000);
                        store_offsets(s, c);
                }
        }
        int mine = 0;
        for (int i = 0; i < parts->cnt; i++) {
                const rd_kafka_topic_partition_t *tp = &parts->elems[i];
                if (strcmp(tp->topic, s->o->topic) != 0) continue;
                if (s->pending && s->pending->partition == tp->partition) {
                        /* its new owner reads it */
                        rd_kafka_message_destroy(s->pending);
                        s->pending = NULL;
                }
                sf_score_offsets_reset(s->offsets, tp->partition);
                /* revoked: the new owner starts from the committed offset;
                 * assigned: so does this scorer */
                if (s->rewind) rd_kafka_topic_partition_list_del(s->rewind, tp->topic, tp->partition);
                mine++;
                /* On assignment the layer has set each offset to where the
                 * partition starts: its committed offset when there is one. */
                note_committed(s, tp->partition, -1);
                if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) note_committed(s, tp->partition, tp->offset);
        }
        if (s->o->prom)
                sf_score_prom_rebalance(s->o->prom, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, mine);
        if (s->o->pool)
                sf_score_pool_rebalance(s->o->pool, s->o->thread, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS,
                                        mine);
        /* Who scores what, as Kafka consumers log it: after a rebalance an
         * operator (or a script waiting to send data) can see it. */
        if (s->o->events && parts->cnt > 0) { /* one write: other scorer threads log too */
                char line[2048];
                size_t n = (size_t)snprintf(
                        line, sizeof(line), "score: %s %s [",
                        err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assigned" : "revoked", s->o->topic);
                for (int i = 0; i < parts->cnt && n < sizeof(line); i++)
                        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%d", i ? " " : "",
                                              (int)parts->elems[i].partition);
                fprintf(s->o->events, "%.1900s]%s\n", line, s->o->label ? s->o->label : "");
                fflush(s->o->events);
        }
}

/* Defaults tuned for throughput with a bounded footprint. The consumer
 * prefetches at most 3 MB of records. librdkafka 2.0 stops fetching when
 * that queue is full and its broker thread then sleeps until something
 * wakes it, a second at worst (fetch.error.backoff.ms plays no part;
 * fetch.queue.backoff.ms only exists from 2.1): alone, 4 MB gave 40-50 k
 * records/s and 12 MB 175-205 k at 62 MB RSS. A metadata refresh every
 * 100 ms is a request on a broker connection, whose reply wakes that
 * thread to fetch again: 4 MB then scored a backlog as fast as 16 MB did.
 * 3 MB, and a producer buffer of 4 MB instead of 8, keep the same speed in
 * bench_stream (210-213 k records/s over 9 alternating rounds) at 2 MB less
 * peak RSS (40 MB median against 42).
 * metadata.max.age.ms keeps the cache lifetime it had (it defaults to
 * three refresh intervals). The producer sends big batches.
 *
 * With many records a message the scorer reads records 2-3 times as fast,
 * and 3 MB of prefetch lasts it less than the 100 ms between wake-ups: the
 * broker thread slept while the scorer waited. 12 MB and a refresh every
 * 50 ms: 465 k records/s against 367 k, measured by hand on the setup of
 * bench_stream's many-records case (200,000 records on a filled topic,
 * medians of 5 alternating rounds), at 5 MB more RSS; either alone gave
 * about half of that. */
static const char *const tuned[][2] = {
        {"queued.max.messages.kbytes", "3072"},
        {"topic.metadata.refresh.interval.ms", "100"},
        {"metadata.max.age.ms", "900000"},
        {"fetch.max.bytes", "2097152"},
        {"max.partition.fetch.bytes", "1048576"},
        {"fetch.wait.max.ms", "10"},
        {"queue.buffering.max.kbytes", "4096"},
        {"batch.num.messages", "10000"},
        {"linger.ms", "5"},
        {"compression.type", "lz4"},
        /* A scorer killed with -9 hands its partitions over after 6 s, not 45. */
        {"session.timeout.ms", "6000"},
        {"heartbeat.interval.ms", "1000"},
};

static const char *const tuned_many[][2] = {
        {"queued.max.messages.kbytes", "12288"},
        {"topic.metadata.refresh.interval.ms", "50"},
};

int sf_scorer_conf_defaults(sf_kafka_conf_t *conf, bool many, char *errstr, size_t errstr_size) {
        /* A default is skipped where the property is set: the many-records
         * values go first, and the general ones fill what is left. */
        for (size_t i = 0; many && i < SF_ARRAY_SIZE(tuned_many); i++)
                if (sf_kafka_conf_set_default(conf, tuned_many[i][0], tuned_many[i][1], errstr,
                                              errstr_size) != 0)
                        return -1;
        for (size_t i = 0; i < SF_ARRAY_SIZE(tuned); i++)
                if (sf_kafka_conf_set_default(conf, tuned[i][0], tuned[i][1], errstr, errstr_size) != 0)
                        return -1;
        return 0;
}

/* The scorer's identity: a stable group.instance.id (static membership: a
 * restart within the session timeout gets its partitions back without a
 * rebalance) and, with exactly_once, a transactional.id built from it, so
 * that a restarted scorer fences its dead predecessor's transactions at
 * once instead of leaving read_committed consumers blocked until they time
 * out. Fencing a live scorer that lost its partitions in a rebalance is
 * done by the group metadata sent with the offsets (KIP-447). */
static int set_identity(scorer_t *s, sf_kafka_conf_t *conf, char *errstr, size_t errstr_size) {
        const sf_scorer_opts_t *o = s->o;
        if ((o->instance_id ? sf_score_instance_named(o->instance_id, &s->instance, errstr, errstr_size)
                            : sf_score_instance_acquire(o->group, &s->instance, errstr, errstr_size)) != 0)
                return -1;
        if (sf_kafka_conf_set(conf, "group.instance.id", s->instance.id, errstr, errstr_size) != 0) return -1;
        if (o->exactly_once) {
                char tid[512];
                snprintf(tid, sizeof(tid), "streamflow-score-%s-%s", o->group, s->instance.id);
                if (sf_kafka_conf_set(conf, "transactional.id", tid, errstr, errstr_size) != 0) return -1;
        }
        if (o->events) {
                fprintf(o->events, "score: instance %s of group %s\n", s->instance.id, o->group);
                fflush(o->events);
        }
        return 0;
}

/* A fatal error of either client; with the instance id when it says this
 * scorer was fenced (another process runs with the same id). */
static void fatal_error(scorer_t *s, const char *who, const char *fatal, char *errstr, size_t errstr_size) {
        if (strcasestr(fatal, "fenced"))
                snprintf(errstr, errstr_size,
                         "%s: %s: another scorer of group '%s' runs as instance '%s'; give each scorer its "
                         "own --instance-id",
                         who, fatal, s->o->group, s->instance.id);
        else
                snprintf(errstr, errstr_size, "%s: %s", who, fatal);
}

/* Room for cap records in the batch (empty: nothing points into its
 * arrays): the slots and their rows, the inputs, the outputs. Returns 0 or
 * -1 (out of memory; what was grown stays usable). */
static int grow_batch(scorer_t *s, int cap) {
        size_t n = (size_t)cap, n_cat = (size_t)s->dec.enc->n_cat;
        /* The arrays first: s->cap never counts more rows than they hold. */
        float *x = realloc(s->x, n * ((size_t)s->dec.n_dense + 1) * sizeof(float));
        if (!x) return -1;
        s->x = x;
        int32_t *hot = realloc(s->hot, n * (n_cat + 1) * sizeof(int32_t));
        if (!hot) return -1;
        s->hot = hot;
        uint8_t *status = realloc(s->status, n * (n_cat + 1));
        if (!status) return -1;
        memset(status, 0, n * (n_cat + 1));
        s->status = status;
        float *probs = realloc(s->probs, n * (size_t)s->classes * sizeof(float));
        if (!probs) return -1;
        s->probs = probs;
        slot_t *slots = realloc(s->slots, n * sizeof(*slots));
        if (!slots) return -1;
        s->slots = slots;
        if (s->o->predictions_batch) {
                int *next = realloc(s->next, n * sizeof(*next));
                if (!next) return -1;
                s->next = next;
                int *heads = realloc(s->heads, n * sizeof(*heads));
                if (!heads) return -1;
                s->heads = heads;
                piece_t *pieces = realloc(s->pieces, n * sizeof(*pieces));
                if (!pieces) return -1;
                s->pieces = pieces;
        }
        for (; s->cap < cap; s->cap++) {
                memset(&slots[s->cap], 0, sizeof(*slots));
                if (sf_row_init(&slots[s->cap].row, s->dec.schema) != 0) return -1;
        }
        return 0;
}

/* Everything a batch needs, allocated once for the model's sizes. Returns
 * 0 or -1. */
static int alloc_batch(scorer_t *s) {
        if (sf_score_decoder_init(&s->dec, sf_model_schema(s->model), sf_model_encoder(s->model),
                                  s->o->format) != 0)
                return -1;
        s->classes = sf_model_classes(s->model);
        s->json_cap = 4096;
        s->json = malloc(s->json_cap);
        s->offsets = sf_score_offsets_new();
        if (s->o->many) s->spans = malloc((SF_SCORE_MAX_RECORDS_PER_MESSAGE + 1) * sizeof(*s->spans));
        if (s->o->predictions_batch) {
                s->out_cap = 65536;
                s->out = malloc(s->out_cap);
        }
        if (!s->json || !s->offsets || (s->o->many && !s->spans) || (s->o->predictions_batch && !s->out))
                return -1;
        return grow_batch(s, s->o->batch);
}

static void free_batch(scorer_t *s) {
        for (int i = 0; s->slots && i < s->cap; i++) sf_row_free(&s->slots[i].row);
        free(s->spans);
        free(s->slots);
        free(s->x);
        free(s->hot);
        free(s->status);
        free(s->probs);
        free(s->json);
        free(s->next);
        free(s->heads);
        free(s->tail);
        free(s->pieces);
        free(s->out);
        sf_nn_ws_free(&s->ws);
        sf_score_decoder_free(&s->dec);
}

/* Creates the consumer and the producer of s (starting transactions with
 * --exactly-once). Returns 0, or -1 (errstr). */
static int start_clients(scorer_t *s, sf_kafka_conf_t *conf, char *errstr, size_t errstr_size) {
        const sf_scorer_opts_t *o = s->o;
        sf_consumer_opts_t copts = {0};
        copts.group = o->group;
        copts.start = SF_KAFKA_START_BEGINNING;
        copts.exit_at_end = o->exit_at_end;
        copts.rebalance = on_rebalance;
        copts.rebalance_ctx = s;
        const char *topics[] = {o->topic};
        if (set_identity(s, conf, errstr, errstr_size) != 0) return -1;
        s->cons = sf_consumer_new(conf, topics, 1, &copts, errstr, errstr_size);
        if (!s->cons) return -1;
        if (o->prom) sf_score_prom_attach(o->prom, sf_consumer_handle(s->cons));
        s->prod = sf_producer_new(conf, on_delivery, s, errstr, errstr_size);
        if (!s->prod) return -1;
        char mmb[32];
        size_t mmb_size = sizeof(mmb);
        s->max_bytes = 1000000; /* librdkafka's default */
        if (rd_kafka_conf_get(rd_kafka_conf(sf_producer_handle(s->prod)), "message.max.bytes", mmb,
                              &mmb_size) == RD_KAFKA_CONF_OK)
                s->max_bytes = (size_t)strtoull(mmb, NULL, 10);
        if (o->exactly_once) {
                rd_kafka_error_t *error = rd_kafka_init_transactions(sf_producer_handle(s->prod), 30000);
                if (error) {
                        snprintf(errstr, errstr_size, "--exactly-once: cannot start transactions: %s",
                                 rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                        return -1;
                }
        }
        return 0;
}

/* Fills a batch: up to o->batch records (whole messages: the pending
 * one first), or o->linger_ms after its first record. */
static void fill_batch(scorer_t *s) {
        const sf_scorer_opts_t *o = s->o;
        double deadline = 0;
        int added = 0;
        if (s->pending) {
                deadline = sf_now_s() + o->linger_ms / 1000.0;
                add_message(s, s->pending);
                added++;
        }
        while (s->n < o->batch && sf_kafka_running()) {
                if (o->max_records > 0 && s->t.records >= (uint64_t)o->max_records) break;
                /* What is already fetched is taken without a wait
                 * (and without reading the clock). */
                if (added > 0 && (added & 63) == 0 && sf_now_s() >= deadline) break;
                rd_kafka_message_t *msg = sf_consumer_poll(s->cons, 0);
                if (!msg) {
                        int timeout = 100;
                        if (s->n > 0) {
                                double left = deadline - sf_now_s();
                                if (left <= 0) break;
                                timeout = (int)(left * 1000) + 1;
                        }
                        msg = sf_consumer_poll(s->cons, timeout);
                }
                if (!msg) {
                        if (s->n == 0 || (o->exit_at_end && sf_consumer_at_end(s->cons))) break;
                        continue;
                }
                if (msg->err || rewinding(s, msg)) { /* an error is not expected from the layer */
                        rd_kafka_message_destroy(msg);
                        continue;
                }
                if (s->n == 0) deadline = sf_now_s() + o->linger_ms / 1000.0;
                if (add_message(s, msg) != 0) break; /* the next batch starts with it */
                added++;
        }
}

/* In a pool whose threads have not all had their first assignment:
 * takes part in the rebalance that is coming, but scores nothing yet (a
 * record fetched meanwhile is read again once the pool has settled), so
 * that no partition is scored by a thread that is about to lose it. */
static void beat(scorer_t *s);
static void wait_settled(scorer_t *s) {
        rd_kafka_message_t *msg = sf_consumer_poll(s->cons, 100);
        beat(s);
        if (!msg) return;
        if (!msg->err) rewind_later(s, msg->partition, msg->offset);
        rd_kafka_message_destroy(msg);
}

/* The loop is alive: to the pool, or to --metrics' /healthz. */
static void beat(scorer_t *s) {
        if (s->o->pool)
                sf_score_pool_beat(s->o->pool, s->o->thread);
        else
                sf_svc_beat(s->o->svc);
}

/* -e: whether to stop, every assigned partition read to its end (in a
 * pool: every thread's). */
static bool at_end(scorer_t *s) {
        bool mine = sf_consumer_at_end(s->cons) && !rewinds_pending(s);
        return s->o->pool ? sf_score_pool_at_end(s->o->pool, s->o->thread, mine) : mine;
}

/* Scores batch after batch until a signal, a failure, -c or (-e) the end. */
static void serve(scorer_t *s) {
        const sf_scorer_opts_t *o = s->o;
        /* Every thread of a pool joins the group before any takes records:
         * one rebalance, not one per thread joining late. */
        if (o->pool) sf_score_pool_joined(o->pool, o->thread);
        s->iv_start = sf_now_s();
        beat(s);
        while (sf_kafka_running() && !s->failed) {
                if (o->max_records > 0 && s->t.records >= (uint64_t)o->max_records) break;
                /* No record is encoded yet: a reloaded model takes over here. */
                sf_model_t *next = o->pool ? sf_score_pool_model(o->pool, o->thread) : NULL;
                if (next) {
                        if (use_model(s, next) != 0) break;
                        sf_score_pool_switched(o->pool, o->thread);
                }
                if (o->pool && !sf_score_pool_settled(o->pool, o->thread)) {
                        wait_settled(s);
                        continue;
                }
                rewind_now(s);
                fill_batch(s);
                int took = s->n > 0;
                score_batch(s);
                sf_producer_poll(s->prod, 0);
                outputs_acked(s);
                store_offsets(s, s->cons);
                stats(s, 0);
                if (o->prom) sf_score_prom_publish(o->prom, s->t.records, 0);
                beat(s);
                if (o->exit_at_end && o->pool && (took || s->pending))
                        sf_score_pool_busy(o->pool, o->thread);
                else if (o->exit_at_end && !s->pending && at_end(s))
                        break;
        }
}

/* Finishes what was consumed, waits for the cluster, commits and closes
 * the consumer. Returns 0, or -1 (errstr) after a failure of the run. */
static int finish(scorer_t *s, char *errstr, size_t errstr_size) {
        const sf_scorer_opts_t *o = s->o;
        score_batch(s);
        /* A message kept for the next batch is not scored: nothing after it
         * in its partition was read, its offset is not committed, and it is
         * read again on the next start. */
        if (s->pending) rd_kafka_message_destroy(s->pending);
        s->pending = NULL;
        uint64_t undelivered = sf_producer_flush(s->prod, 30000);
        outputs_acked(s);
        /* Throughput from the first record to the last acknowledged output:
         * neither the wait for the first record nor the idle time before a
         * SIGINT, nor leaving the group, is scoring. */
        s->t.seconds =
                s->first_record > 0 && s->last_ack > s->first_record ? s->last_ack - s->first_record : 0;
        s->t.started = s->first_record;
        s->t.ended = s->last_ack;
        store_offsets(s, s->cons);
        stats(s, 1);
        if (o->prom) {
                sf_score_prom_publish(o->prom, s->t.records, 1);
                sf_score_prom_attach(o->prom, NULL);
        }
        char cerr[512], cfatal[512] = "";
        sf_consumer_t *cons = s->cons;
        if (sf_consumer_fatal(cons)) snprintf(cfatal, sizeof(cfatal), "%s", sf_consumer_fatal(cons));
        int crc = sf_consumer_close(cons, cerr, sizeof(cerr));
        s->cons = NULL;
        const char *fatal = sf_producer_fatal(s->prod);
        if (s->failed) {
                snprintf(errstr, errstr_size, "%s", s->error);
        } else if (fatal) {
                fatal_error(s, "producer", fatal, errstr, errstr_size);
        } else if (cfatal[0]) {
                fatal_error(s, "consumer", cfatal, errstr, errstr_size);
        } else if (undelivered) {
                snprintf(errstr, errstr_size,
                         "%llu outputs were not acknowledged by the cluster in 30 s; their input offsets "
                         "were not "
                         "committed and will be scored again",
                         (unsigned long long)undelivered);
        } else if (crc != 0) {
                snprintf(errstr, errstr_size, "closing the consumer: %s", cerr);
        } else {
                return 0;
        }
        return -1;
}

/* Releases s and everything it holds, after setting *totals. */
static void destroy(scorer_t *s, sf_scorer_totals_t *totals) {
        const sf_scorer_opts_t *o = s->o;
        if (o->prom) sf_score_prom_attach(o->prom, NULL);
        if (s->cons) {
                char ignored[512];
                sf_consumer_close(s->cons, ignored, sizeof(ignored));
                s->cons = NULL;
        }
        if (s->slots) release_batch(s);
        if (s->pending) rd_kafka_message_destroy(s->pending);
        if (s->rewind) rd_kafka_topic_partition_list_destroy(s->rewind);
        s->t.p50_us = sf_score_hist_percentile(&s->hist_all, 50);
        s->t.p99_us = sf_score_hist_percentile(&s->hist_all, 99);
        s->t.latency = s->hist_all;
        *totals = s->t;
        sf_producer_destroy(s->prod);
        sf_score_instance_release(&s->instance);
        sf_score_offsets_destroy(s->offsets);
        free(s->committed_pos);
        free_batch(s);
        free(s);
}

int sf_scorer_run(sf_kafka_conf_t *conf, sf_model_t *model, const sf_scorer_opts_t *o,
                  sf_scorer_totals_t *totals, char *errstr, size_t errstr_size) {
        scorer_t *s = calloc(1, sizeof(*s));
        int rc = -1;
        memset(totals, 0, sizeof(*totals));
        if (!s) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        s->o = o;
        s->instance.lock_fd = -1;
        s->model = model;
        s->model_id = sf_model_id(model);
        if (alloc_batch(s) != 0) {
                snprintf(errstr, errstr_size, "out of memory for a batch of %d records", o->batch);
        } else if (start_clients(s, conf, errstr, errstr_size) == 0) {
                serve(s);
                rc = finish(s, errstr, errstr_size);
        }
        destroy(s, totals);
        return rc;
}
