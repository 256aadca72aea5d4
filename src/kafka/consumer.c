/* The consumer: at-least-once (offsets stored by the caller after
 * processing, committed by auto-commit, on revoke and on close), loud about
 * out-of-range offsets, and end-of-partition tracking for -e. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka/kafka_int.h"

typedef struct part_state {
        char *topic;
        int32_t partition;
        bool eof;
} part_state_t;

struct sf_consumer {
        sf_kafka_client_t cl; /* first: the rd_kafka opaque */
        sf_consumer_opts_t opts;
        char *group;
        bool cooperative;
        part_state_t *parts; /* assigned partitions */
        size_t nparts;
        int64_t skipped;
};

static void parts_clear(sf_consumer_t *c) {
        for (size_t i = 0; i < c->nparts; i++) free(c->parts[i].topic);
        c->nparts = 0;
}

/* Frees c itself, once its handle is gone. */
static void consumer_free(sf_consumer_t *c) {
        parts_clear(c);
        free(c->parts);
        free(c->group);
        free(c);
}

static part_state_t *parts_find(sf_consumer_t *c, const char *topic, int32_t partition) {
        for (size_t i = 0; i < c->nparts; i++)
                if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
                        return &c->parts[i];
        return NULL;
}

static void parts_add(sf_consumer_t *c, const rd_kafka_topic_partition_list_t *list) {
        for (int i = 0; i < list->cnt; i++) {
                if (parts_find(c, list->elems[i].topic, list->elems[i].partition)) continue;
                part_state_t *np = realloc(c->parts, (c->nparts + 1) * sizeof(*np));
                if (!np) return; /* only -e tracking suffers; the partition is still consumed */
                c->parts = np;
                char *t = strdup(list->elems[i].topic);
                if (!t) return;
                np[c->nparts++] = (part_state_t){t, list->elems[i].partition, false};
        }
}

static void parts_remove(sf_consumer_t *c, const rd_kafka_topic_partition_list_t *list) {
        for (int i = 0; i < list->cnt; i++) {
                part_state_t *ps = parts_find(c, list->elems[i].topic, list->elems[i].partition);
                if (!ps) continue;
                free(ps->topic);
                *ps = c->parts[--c->nparts];
        }
}

/* Decides where each newly assigned partition starts, instead of letting
 * auto.offset.reset decide quietly: the committed offset when it is still
 * in the log; the log start or end (opts.start) for a partition the group
 * never committed; the log start, loudly and counted, when the committed
 * offset is out of range (deleted by retention, or past the end of a log
 * that was recreated). */
static void resolve_start(sf_consumer_t *c, rd_kafka_topic_partition_list_t *parts) {
        rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
        if (!committed) return;
        rd_kafka_resp_err_t err = rd_kafka_committed(c->cl.rk, committed, 10000);
        if (err) {
                /* Leave the offsets unset: librdkafka fetches them itself,
                 * and the OFFSET log (on_offset_reset) still reports resets. */
                sf_kafka_client_log(&c->cl, 4, "cannot read the committed offsets of group '%s': %s",
                                    c->group, rd_kafka_err2str(err));
                rd_kafka_topic_partition_list_destroy(committed);
                return;
        }
        for (int i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                rd_kafka_topic_partition_t *ct =
                        rd_kafka_topic_partition_list_find(committed, tp->topic, tp->partition);
                int64_t off = ct && !ct->err ? ct->offset : RD_KAFKA_OFFSET_INVALID;
                int64_t lo, hi;
                char e[512];
                if (sf_kafka_watermarks(c->cl.rk, tp->topic, tp->partition, &lo, &hi, 10000, e, sizeof(e)) <
                    0) {
                        sf_kafka_client_log(&c->cl, 4, "%s", e);
                        continue; /* auto.offset.reset=earliest, reported by the OFFSET log */
                }
                if (off < 0) {
                        tp->offset = c->opts.start == SF_KAFKA_START_END ? hi : lo;
                } else if (off < lo) {
                        c->skipped += lo - off;
                        sf_kafka_client_log(
                                &c->cl, 3,
                                "%s [%d]: offsets %lld..%lld (%lld message(s)) were deleted by the "
                                "broker before group '%s' read them; SKIPPED them, resuming at offset %lld",
                                tp->topic, (int)tp->partition, (long long)off, (long long)(lo - 1),
                                (long long)(lo - off), c->group, (long long)lo);
                        tp->offset = lo;
                } else if (off > hi) {
                        sf_kafka_client_log(
                                &c->cl, 3,
                                "%s [%d]: committed offset %lld is beyond the end of the log (%lld): the "
                                "topic was recreated or truncated; reading it again from offset %lld",
                                tp->topic, (int)tp->partition, (long long)off, (long long)hi, (long long)lo);
                        tp->offset = lo;
                } else {
                        tp->offset = off;
                }
        }
        rd_kafka_topic_partition_list_destroy(committed);
}

/* librdkafka reset an offset that went out of range while we were reading
 * (the broker deleted data we had not read yet): it resumes at the log
 * start (auto.offset.reset=earliest); we say so, and count what was lost.
 * The only trace librdkafka 2.0.2 gives of this is its OFFSET warning:
 * "TOPIC [P]: offset reset (at offset N, broker B) to ...". */
static void on_offset_reset(sf_kafka_client_t *cl, const char *line) {
        sf_consumer_t *c = (sf_consumer_t *)cl;
        /* librdkafka prefixes the thread: "[thrd:main]: TOPIC [P]: ..." */
        if (strncmp(line, "[thrd:", 6) == 0 && strstr(line, "]: ")) line = strstr(line, "]: ") + 3;
        const char *bracket = strstr(line, " [");
        const char *at = strstr(line, "offset reset (at offset ");
        char topic[256];
        int partition;
        long long off;
        if (!bracket || !at || (size_t)(bracket - line) >= sizeof(topic) ||
            sscanf(bracket, " [%d]", &partition) != 1 ||
            sscanf(at, "offset reset (at offset %lld", &off) != 1) {
                sf_kafka_client_log(cl, 3, "%s", line);
                return;
        }
        memcpy(topic, line, (size_t)(bracket - line));
        topic[bracket - line] = '\0';
        int64_t lo, hi;
        char e[512];
        if (sf_kafka_watermarks(cl->rk, topic, partition, &lo, &hi, 5000, e, sizeof(e)) < 0) {
                sf_kafka_client_log(
                        cl, 3,
                        "%s [%d]: offset %lld was out of range; resuming at the log start, and %s, so "
                        "how many offsets were skipped is unknown",
                        topic, partition, off, e);
                return;
        }
        if (off >= lo) {
                /* Past the end: the log was recreated or truncated. */
                sf_kafka_client_log(
                        cl, 3,
                        "%s [%d]: offset %lld is beyond the end of the log (%lld); reading it again from "
                        "offset %lld",
                        topic, partition, off, (long long)hi, (long long)lo);
                return;
        }
        c->skipped += lo - off;
        sf_kafka_client_log(
                cl, 3,
                "%s [%d]: offsets %lld..%lld (%lld message(s)) were deleted by the broker before they "
                "were read; SKIPPED them, resuming at offset %lld",
                topic, partition, off, (long long)(lo - 1), (long long)(lo - off), (long long)lo);
}

/* Commits the stored offsets, waiting at most timeout_ms for the answer:
 * rd_kafka_commit() in sync mode has no timeout, and a coordinator that
 * never answers must not hang a revoke or a shutdown. When offsets is not
 * NULL, *offsets receives a copy of what the commit carried, each
 * partition with its own result (NULL when the answer had none); the
 * caller destroys it. */
static rd_kafka_resp_err_t commit_bounded(rd_kafka_t *rk, int timeout_ms,
                                          rd_kafka_topic_partition_list_t **offsets) {
        if (offsets) *offsets = NULL;
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        if (!q) return RD_KAFKA_RESP_ERR__FAIL;
        rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk, NULL, q, NULL, NULL);
        if (!err) {
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms);
                if (!ev) {
                        err = RD_KAFKA_RESP_ERR__TIMED_OUT;
                } else {
                        err = rd_kafka_event_error(ev);
                        const rd_kafka_topic_partition_list_t *list = rd_kafka_event_topic_partition_list(ev);
                        if (offsets && list) *offsets = rd_kafka_topic_partition_list_copy(list);
                        rd_kafka_event_destroy(ev);
                }
        }
        rd_kafka_queue_destroy(q);
        return err;
}

/* The coordinator's refusals of a commit from a member that is not part of
 * the group's current generation: a rebalance is under way, the generation
 * moved on, or the member was dropped. The offsets stay where they were
 * last committed, and whoever is given the partition next reads on from
 * there: records are read again, none is lost. */
static bool refused_by_group(rd_kafka_resp_err_t err) {
        return err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
               err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
}

/* Commits the stored offsets before the partitions go to another member
 * (what: "final commit" on close, "commit on revoke" when the group takes
 * them away). Returns 0 when they were committed, when nothing was stored,
 * or when the group refused them for one of the reasons of
 * refused_by_group: at-least-once still holds, so that is a warning through
 * the log hook, one line per partition refused. Any other failure returns
 * -1 with errstr. */
static int commit_leaving(sf_consumer_t *c, const char *what, char *errstr, size_t errstr_size) {
        rd_kafka_topic_partition_list_t *offsets = NULL;
        rd_kafka_resp_err_t err = commit_bounded(c->cl.rk, 10000, &offsets);
        if (!err || err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
                if (offsets) rd_kafka_topic_partition_list_destroy(offsets);
                return 0;
        }
        /* The answer's result, or each partition's own when it has one. */
        rd_kafka_resp_err_t fail = refused_by_group(err) ? RD_KAFKA_RESP_ERR_NO_ERROR : err;
        for (int i = 0; offsets && !fail && i < offsets->cnt; i++)
                if (offsets->elems[i].err && !refused_by_group(offsets->elems[i].err))
                        fail = offsets->elems[i].err;
        if (fail) {
                snprintf(errstr, errstr_size, "the %s of group '%s' failed: %s", what, c->group,
                         rd_kafka_err2str(fail));
                if (offsets) rd_kafka_topic_partition_list_destroy(offsets);
                return -1;
        }
        /* When some partitions carry their own refusal, the others were
         * committed; otherwise the whole commit was refused. */
        bool per_partition = false;
        for (int i = 0; offsets && i < offsets->cnt; i++)
                if (offsets->elems[i].err) per_partition = true;
        int warned = 0;
        for (int i = 0; offsets && i < offsets->cnt; i++) {
                const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
                if (tp->offset < 0 || (per_partition && !tp->err)) continue;
                sf_kafka_client_log(&c->cl, 4,
                                    "the %s of %s [%d] offset %lld was refused: %s; the next owner of the "
                                    "partition reads from the last committed offset, records after it may "
                                    "be processed twice",
                                    what, tp->topic, (int)tp->partition, (long long)tp->offset,
                                    rd_kafka_err2str(tp->err ? tp->err : err));
                warned++;
        }
        if (!warned)
                sf_kafka_client_log(&c->cl, 4,
                                    "the %s of group '%s' was refused: %s; the next owner of each partition "
                                    "reads from the last committed offset, records after it may be "
                                    "processed twice",
                                    what, c->group, rd_kafka_err2str(err));
        if (offsets) rd_kafka_topic_partition_list_destroy(offsets);
        return 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
        sf_consumer_t *c = opaque;
        rd_kafka_error_t *error = NULL;
        rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
        /* Known for sure only once the group has chosen an assignor. */
        const char *proto = rd_kafka_rebalance_protocol(rk);
        c->cooperative = proto && strcmp(proto, "COOPERATIVE") == 0;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                resolve_start(c, parts);
                if (c->opts.rebalance) c->opts.rebalance(c->opts.rebalance_ctx, c, err, parts);
                if (c->cooperative)
                        error = rd_kafka_incremental_assign(rk, parts);
                else
                        aerr = rd_kafka_assign(rk, parts);
                parts_add(c, parts);
        } else {
                /* Let the caller finish or abandon its work on these
                 * partitions and store what it completed, then commit that
                 * before someone else is given them. */
                if (c->opts.rebalance) c->opts.rebalance(c->opts.rebalance_ctx, c, err, parts);
                char cerr[512];
                if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk) &&
                    commit_leaving(c, "commit on revoke", cerr, sizeof(cerr)) < 0)
                        sf_kafka_client_log(&c->cl, 3, "%s", cerr);
                if (c->cooperative)
                        error = rd_kafka_incremental_unassign(rk, parts);
                else
                        aerr = rd_kafka_assign(rk, NULL);
                if (c->cooperative)
                        parts_remove(c, parts);
                else
                        parts_clear(c);
        }
        if (error) {
                sf_kafka_client_log(&c->cl, 3, "rebalance: %s", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        } else if (aerr) {
                sf_kafka_client_log(&c->cl, 3, "rebalance: %s", rd_kafka_err2str(aerr));
        }
}

/* At-least-once: offsets are stored by the caller after processing and
 * committed in the background. Where to start is decided by
 * resolve_start, so auto.offset.reset only applies to an offset that goes
 * out of range while reading, which on_offset_reset reports. */
static const char *const consumer_defaults[] = {
        "enable.auto.commit",
        "true",
        "enable.auto.offset.store",
        "false",
        "auto.offset.reset",
        "earliest",
        "log_level",
        "4",
        /* Kafka's classic 10 s rather than librdkafka 2.0's 45 s: a
         * restarted member is back sooner (the development broker holds a
         * group whose last member left for this long minus 1 s). */
        "session.timeout.ms",
        "10000",
        NULL,
};

sf_consumer_t *sf_consumer_new(const sf_kafka_conf_t *conf, const char *const *topics, size_t ntopics,
                               const sf_consumer_opts_t *opts, char *errstr, size_t errstr_size) {
        sf_consumer_t *c = calloc(1, sizeof(*c));
        rd_kafka_conf_t *kc = NULL;
        rd_kafka_topic_partition_list_t *list = NULL;
        char rkerr[512];
        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (opts) c->opts = *opts;
        if (ntopics == 0) {
                snprintf(errstr, errstr_size, "no topic to consume");
                goto fail;
        }
        if (c->opts.group) {
                c->group = strdup(c->opts.group);
                if (!c->group) goto oom;
                c->opts.group = c->group;
        }
        c->cl.on_offset_reset = on_offset_reset;
        kc = sf_kafka_client_conf(conf, &c->cl, consumer_defaults, errstr, errstr_size);
        if (!kc) goto fail;
        if (c->group &&
            rd_kafka_conf_set(kc, "group.id", c->group, rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "group '%s': %s", c->group, rkerr);
                goto fail;
        }
        if (!c->group) {
                /* librdkafka 2.0.2 refuses assign() without a group.id; this
                 * one never joins (no subscribe) and never commits. */
                char anon[64];
                snprintf(anon, sizeof(anon), "streamflow-anonymous-%ld", (long)getpid());
                if (rd_kafka_conf_set(kc, "group.id", anon, rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK ||
                    rd_kafka_conf_set(kc, "enable.auto.commit", "false", rkerr, sizeof(rkerr)) !=
                            RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size, "group.id: %s", rkerr);
                        goto fail;
                }
        }
        if (c->opts.exit_at_end &&
            rd_kafka_conf_set(kc, "enable.partition.eof", "true", rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "enable.partition.eof: %s", rkerr);
                goto fail;
        }
        if (c->group) rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
        c->cl.rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, rkerr, sizeof(rkerr));
        if (!c->cl.rk) {
                snprintf(errstr, errstr_size, "cannot create a Kafka consumer: %s", rkerr);
                goto fail;
        }
        kc = NULL; /* owned by rk */
        if (sf_kafka_client_connect(&c->cl, conf->connect_timeout_ms, errstr, errstr_size) < 0) goto fail;
        rd_kafka_poll_set_consumer(c->cl.rk);

        list = rd_kafka_topic_partition_list_new((int)ntopics);
        if (!list) goto oom;
        if (c->group) {
                for (size_t i = 0; i < ntopics; i++)
                        rd_kafka_topic_partition_list_add(list, topics[i], RD_KAFKA_PARTITION_UA);
                rd_kafka_resp_err_t err = rd_kafka_subscribe(c->cl.rk, list);
                if (err) {
                        snprintf(errstr, errstr_size, "cannot subscribe to %s%s: %s", topics[0],
                                 ntopics > 1 ? ",..." : "", rd_kafka_err2str(err));
                        goto fail;
                }
        } else {
                /* No group: every partition, from the start position. */
                int timeout =
                        conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : SF_KAFKA_CONNECT_TIMEOUT_MS;
                for (size_t i = 0; i < ntopics; i++) {
                        int n = sf_kafka_partition_count(c->cl.rk, topics[i], timeout, errstr, errstr_size);
                        if (n < 0) goto fail;
                        for (int part = 0; part < n; part++)
                                rd_kafka_topic_partition_list_add(list, topics[i], part)->offset =
                                        c->opts.start == SF_KAFKA_START_END ? RD_KAFKA_OFFSET_END
                                                                            : RD_KAFKA_OFFSET_BEGINNING;
                }
                rd_kafka_resp_err_t err = rd_kafka_assign(c->cl.rk, list);
                if (err) {
                        snprintf(errstr, errstr_size, "cannot assign the partitions of %s: %s", topics[0],
                                 rd_kafka_err2str(err));
                        goto fail;
                }
                parts_add(c, list);
        }
        rd_kafka_topic_partition_list_destroy(list);
        return c;
oom:
        snprintf(errstr, errstr_size, "out of memory");
fail:
        if (list) rd_kafka_topic_partition_list_destroy(list);
        if (kc) rd_kafka_conf_destroy(kc);
        if (c->cl.rk) rd_kafka_destroy(c->cl.rk);
        consumer_free(c);
        return NULL;
}

/* One message per call. rd_kafka_consume_batch_queue would take the queue
 * lock once per batch, but in librdkafka 2.0 (Debian 12) it can return
 * messages of partitions revoked while it ran (fixed in 2.1). */
rd_kafka_message_t *sf_consumer_poll(sf_consumer_t *c, int timeout_ms) {
        /* A poll that does not wait reads no clock: under load that is every
         * call (the scorer tries one before it waits). */
        /* At the end (exit_at_end) it does not wait, but still serves
         * what is queued: a rebalance (a consumer that waits at its end
         * for others of its group must take part in it) or new records. */
        if (sf_consumer_at_end(c)) timeout_ms = 0;
        int64_t deadline = timeout_ms > 0 ? sf_now_ns() + (int64_t)timeout_ms * 1000000 : 0;
        for (;;) {
                if (c->cl.fatal[0]) return NULL;
                int64_t left = 0;
                if (timeout_ms > 0) {
                        left = (deadline - sf_now_ns()) / 1000000;
                        if (left < 0) left = 0;
                }
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c->cl.rk, (int)left);
                if (!m) return NULL;
                if (!m->err) {
                        /* Only -e tracks end-of-partition state. */
                        part_state_t *ps = c->opts.exit_at_end && m->rkt
                                                   ? parts_find(c, rd_kafka_topic_name(m->rkt), m->partition)
                                                   : NULL;
                        if (ps) ps->eof = false;
                        return m;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        part_state_t *ps =
                                m->rkt ? parts_find(c, rd_kafka_topic_name(m->rkt), m->partition) : NULL;
                        if (ps) ps->eof = true;
                } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                        /* on_error has recorded it; make sure of it here too */
                        if (!c->cl.fatal[0]) {
                                char why[400];
                                rd_kafka_resp_err_t orig = rd_kafka_fatal_error(c->cl.rk, why, sizeof(why));
                                snprintf(c->cl.fatal, sizeof(c->cl.fatal), "fatal Kafka error (%s): %s",
                                         rd_kafka_err2name(orig), orig ? why : rd_kafka_message_errstr(m));
                        }
                        sf_kafka_stop();
                } else if (m->rkt) {
                        sf_kafka_client_log(&c->cl, 3, "%s [%d] at offset %lld: %s",
                                            rd_kafka_topic_name(m->rkt), (int)m->partition,
                                            (long long)m->offset, rd_kafka_message_errstr(m));
                } else {
                        sf_kafka_client_log(&c->cl, 3, "consumer: %s", rd_kafka_message_errstr(m));
                }
                rd_kafka_message_destroy(m);
                if (timeout_ms <= 0 || sf_now_ns() >= deadline) return NULL;
        }
}

int sf_consumer_store_offset(sf_consumer_t *c, const char *topic, int32_t partition, int64_t next_offset,
                             char *errstr, size_t errstr_size) {
        if (!c->group) return 0;
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        if (!list) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rd_kafka_topic_partition_list_add(list, topic, partition)->offset = next_offset;
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->cl.rk, list);
        if (!err) err = list->elems[0].err;
        rd_kafka_topic_partition_list_destroy(list);
        if (err) {
                snprintf(errstr, errstr_size, "cannot store offset %lld of %s [%d]: %s",
                         (long long)next_offset, topic, (int)partition, rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

int sf_consumer_store(sf_consumer_t *c, const rd_kafka_message_t *msg, char *errstr, size_t errstr_size) {
        return sf_consumer_store_offset(c, rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset + 1,
                                        errstr, errstr_size);
}

int sf_consumer_commit(sf_consumer_t *c, char *errstr, size_t errstr_size) {
        if (!c->group) return 0;
        rd_kafka_resp_err_t err = commit_bounded(c->cl.rk, 10000, NULL);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
                snprintf(errstr, errstr_size, "commit of group '%s' failed: %s", c->group,
                         rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

int sf_consumer_seek(sf_consumer_t *c, rd_kafka_topic_partition_list_t *parts, int timeout_ms, char *errstr,
                     size_t errstr_size) {
        rd_kafka_error_t *error = rd_kafka_seek_partitions(c->cl.rk, parts, timeout_ms);
        if (error) {
                snprintf(errstr, errstr_size, "seeking back %d partition(s): %s", parts->cnt,
                         rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                return -1;
        }
        for (int i = 0; i < parts->cnt; i++) {
                part_state_t *ps = parts->elems[i].err
                                           ? NULL
                                           : parts_find(c, parts->elems[i].topic, parts->elems[i].partition);
                if (ps) ps->eof = false; /* its end is to be reached again */
        }
        return 0;
}

bool sf_consumer_at_end(const sf_consumer_t *c) {
        if (!c->opts.exit_at_end || c->nparts == 0) return false;
        for (size_t i = 0; i < c->nparts; i++)
                if (!c->parts[i].eof) return false;
        return true;
}

int64_t sf_consumer_skipped(const sf_consumer_t *c) {
        return c->skipped;
}

const char *sf_consumer_fatal(const sf_consumer_t *c) {
        return c->cl.fatal[0] ? c->cl.fatal : NULL;
}

rd_kafka_t *sf_consumer_handle(sf_consumer_t *c) {
        return c->cl.rk;
}

int sf_consumer_close(sf_consumer_t *c, char *errstr, size_t errstr_size) {
        if (!c) return 0;
        int rc = 0;
        char err[512] = "";
        if (!c->cl.fatal[0] && c->group && commit_leaving(c, "final commit", err, sizeof(err)) < 0) rc = -1;
        /* rd_kafka_consumer_close() has no timeout: close through a queue
         * we serve ourselves (rebalance events included) and give up after
         * SF_KAFKA_CLOSE_TIMEOUT_MS rather than hang a shutdown. */
        int closed = 0;
        rd_kafka_queue_t *q = rd_kafka_queue_new(c->cl.rk);
        rd_kafka_error_t *cerr = q ? rd_kafka_consumer_close_queue(c->cl.rk, q) : NULL;
        if (q && !cerr) {
                int64_t deadline = sf_now_ns() + (int64_t)SF_KAFKA_CLOSE_TIMEOUT_MS * 1000000;
                while (!(closed = rd_kafka_consumer_closed(c->cl.rk)) && sf_now_ns() < deadline) {
                        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
                        if (!ev) continue;
                        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
                                rd_kafka_topic_partition_list_t *parts =
                                        rd_kafka_event_topic_partition_list(ev);
                                if (c->group && parts)
                                        on_rebalance(c->cl.rk, rd_kafka_event_error(ev), parts, c);
                        }
                        rd_kafka_event_destroy(ev);
                }
                if (!closed && rc == 0) {
                        snprintf(err, sizeof(err),
                                 "the consumer did not close within %d ms (group '%s'); gave up, its "
                                 "partitions "
                                 "move to other members after session.timeout.ms",
                                 SF_KAFKA_CLOSE_TIMEOUT_MS, c->group ? c->group : "-");
                        rc = -1;
                }
        } else if (rc == 0) {
                snprintf(err, sizeof(err), "closing the consumer: %s",
                         cerr ? rd_kafka_error_string(cerr) : "out of memory");
                rc = -1;
        }
        if (cerr) rd_kafka_error_destroy(cerr);
        if (q) rd_kafka_queue_destroy(q);
        if (rc < 0) snprintf(errstr, errstr_size, "%s", err);
        /* Closed (or given up on) above: destroy only tears down, with no
         * callback of ours left to run, and within a bound. */
        if (sf_kafka_destroy_bounded(c->cl.rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE,
                                     SF_KAFKA_DESTROY_TIMEOUT_MS) != 0) {
                sf_kafka_client_log(&c->cl, 4,
                                    "the consumer of group '%s' did not shut down within %d ms (a librdkafka "
                                    "2.0 hang after a broker restart, fixed in 2.1); its offsets are "
                                    "committed, so it is left behind",
                                    c->group ? c->group : "-", SF_KAFKA_DESTROY_TIMEOUT_MS);
                return rc; /* c stays allocated: it is the opaque of the handle still in use */
        }
        consumer_free(c);
        return rc;
}
