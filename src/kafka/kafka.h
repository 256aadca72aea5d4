/* The Kafka layer every pipeline command uses: kcat-style options (-b, -X,
 * -F), an idempotent producer with counted delivery reports, an
 * at-least-once group consumer, SIGINT/SIGTERM handling, and the in-memory
 * development cluster behind `streamflow broker`.
 *
 * A command wires it up like this (error handling shortened; the option
 * table sf_kafka_options and sf_cmd_kafka_next, which does the same in one
 * call, are the command layer's: src/cmd/kafka_opt.h):
 *
 *   static const sf_cmd_spec_t spec = {"score", NULL, "...", {options, sf_kafka_options, NULL}};
 *   sf_kafka_conf_t *kconf = sf_kafka_conf_new();
 *   while ((c = sf_opt_next(&p, &arg)) >= 0) {
 *           if (sf_kafka_is_opt(c)) {
 *                   int r = sf_kafka_conf_opt(kconf, c, arg, stdout, errstr, sizeof(errstr));
 *                   if (r == SF_KAFKA_OPT_LISTED) { rc = 0; goto out; }
 *                   if (r == SF_KAFKA_OPT_USAGE) { sf_opt_usage(&spec, "%s", errstr); rc = 2; goto out; }
 *                   continue;
 *           }
 *           switch (c) { ... the command's own options ... }
 *   }
 *   sf_kafka_install_signals();
 *   sf_producer_t *prod = sf_producer_new(kconf, on_delivery, ctx, errstr, sizeof(errstr));
 *   if (!prod) { fprintf(stderr, "streamflow score: %s\n", errstr); rc = 1; goto out; }
 *   while (sf_kafka_running()) { ... sf_producer_send(...) ... }
 *   if (sf_producer_flush(prod, 10000) > 0) rc = 1;
 *   sf_producer_destroy(prod);
 *   sf_kafka_conf_destroy(kconf);
 *
 * Diagnostics (failed deliveries, fatal errors, skipped offsets, broker
 * errors) go through the log hook of the conf (sf_kafka_conf_set_log); the
 * default hook writes one line to stderr. Nothing here writes to stdout
 * except `-X list`, to the stream the command passes. Configuration values
 * are never echoed in messages, so secrets (sasl.password, ssl.key.password,
 * ...) cannot leak through them.
 *
 * Threads: all callbacks (delivery, rebalance, log) run in the thread that
 * calls sf_producer_send/poll/flush or sf_consumer_poll/close. */
#ifndef SF_KAFKA_H
#define SF_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Used when neither -b nor $STREAMFLOW_BROKERS is given. 127.0.0.1 rather
 * than "localhost": localhost may resolve to ::1 first, and a refused IPv6
 * attempt would be logged as an error before the IPv4 one succeeds. */
#define SF_KAFKA_DEFAULT_BROKERS "127.0.0.1:9092"
/* Environment variable that overrides the default brokers (not -b). */
#define SF_KAFKA_BROKERS_ENV "STREAMFLOW_BROKERS"
/* How long sf_producer_new/sf_consumer_new wait for a first answer from
 * the cluster before giving up with "cannot reach Kafka at ...". */
#define SF_KAFKA_CONNECT_TIMEOUT_MS 5000

/* The longest sf_consumer_close waits for the group to let it go. */
#define SF_KAFKA_CLOSE_TIMEOUT_MS 15000

/* The longest a producer or consumer waits for librdkafka to tear its
 * handle down once the work is done (see sf_kafka_destroy_bounded). */
#define SF_KAFKA_DESTROY_TIMEOUT_MS 5000

/* The topics StreamFlow uses; `streamflow broker` creates them at start. */
#define SF_TOPIC_YT          "topic_yt"
#define SF_TOPIC_CONNECTIONS "connections"
#define SF_TOPIC_PREDICTIONS "predictions"
#define SF_TOPIC_DLQ         "connections.dlq"

/* ---------------------------------------------------------------- options */

/* Keys of the shared options: -b BROKERS, -X PROP=VALUE, -F FILE. */
enum { SF_KAFKA_OPT_BROKERS = 'b', SF_KAFKA_OPT_PROP = 'X', SF_KAFKA_OPT_FILE = 'F' };

/* The longest line a -F properties file may have, without its newline. */
#define SF_KAFKA_MAX_LINE 65536

/* True when the property's name says its value is a secret (it contains
 * password, secret, key, token, jaas, credential or oauthbearer): such a
 * value never appears in a message, and commands wipe it from argv. */
bool sf_kafka_prop_is_secret(const char *name);

/* Results of sf_kafka_conf_opt(). */
typedef enum {
        SF_KAFKA_OPT_OK = 0,     /* option applied; keep parsing */
        SF_KAFKA_OPT_LISTED = 1, /* `-X list` printed the properties: the command exits 0 */
        SF_KAFKA_OPT_USAGE = 2,  /* bad property/value/file: errstr says which; exit 2 */
} sf_kafka_opt_result_t;

/* Client configuration: brokers, librdkafka properties and the log hook.
 * One conf can create any number of producers and consumers (each copies it). */
typedef struct sf_kafka_conf sf_kafka_conf_t;

/* Diagnostic hook. level is a syslog level (3 error, 4 warning, 6 info);
 * msg is one line without a trailing newline, naming topic/partition/offset
 * where there is one. */
typedef void (*sf_kafka_log_fn)(void *ctx, int level, const char *msg);

/* A new conf with StreamFlow's defaults; brokers from $STREAMFLOW_BROKERS
 * or SF_KAFKA_DEFAULT_BROKERS. Returns NULL only when out of memory.
 * The caller destroys it with sf_kafka_conf_destroy. */
sf_kafka_conf_t *sf_kafka_conf_new(void);

/* A copy of conf (brokers, properties, log hook, connect timeout), for a
 * client whose settings differ (a scorer thread's group.instance.id).
 * Returns NULL only when out of memory; the caller destroys it. */
sf_kafka_conf_t *sf_kafka_conf_dup(const sf_kafka_conf_t *conf);

/* Frees conf; NULL is a no-op. */
void sf_kafka_conf_destroy(sf_kafka_conf_t *conf);

/* True when key is one of the shared options (b, X, F). */
bool sf_kafka_is_opt(int key);

/* Applies one shared option in command-line order: -b sets the brokers,
 * -X sets a librdkafka property (`-X list` prints all properties to `out`
 * and returns SF_KAFKA_OPT_LISTED), -F reads a properties file (`key=value`
 * lines, `#` comments, blank lines, at most SF_KAFKA_MAX_LINE bytes) and
 * applies each line like -X. An unknown property, a bad value, a missing
 * '=', an over-long line or an unreadable file returns SF_KAFKA_OPT_USAGE
 * with errstr naming the property (or file:line), never a value. */
sf_kafka_opt_result_t sf_kafka_conf_opt(sf_kafka_conf_t *conf, int key, const char *arg, FILE *out,
                                        char *errstr, size_t errstr_size);

/* Sets one librdkafka property ("bootstrap.servers" included) as -X does.
 * Returns 0, or -1 with errstr naming the property (never its value). */
int sf_kafka_conf_set(sf_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                      size_t errstr_size);

/* Sets a default: a property the caller tunes unless the user set it (-X,
 * -F or sf_kafka_conf_set, before or after this call). It is applied before
 * every other property, so a user's setting of an alias of it (linger.ms is
 * queue.buffering.max.ms, compression.type is compression.codec) wins too.
 * Returns 0, or -1 with errstr. */
int sf_kafka_conf_set_default(sf_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                              size_t errstr_size);

/* Sets the brokers (a comma-separated host:port list). */
void sf_kafka_conf_set_brokers(sf_kafka_conf_t *conf, const char *brokers);

/* The brokers currently configured (owned by conf). */
const char *sf_kafka_conf_brokers(const sf_kafka_conf_t *conf);

/* Routes diagnostics of every client later created from conf to fn(ctx,..);
 * fn NULL restores the default (one line on stderr, "streamflow: kafka: ..."). */
void sf_kafka_conf_set_log(sf_kafka_conf_t *conf, sf_kafka_log_fn fn, void *ctx);

/* Time allowed for the first contact with the cluster (default
 * SF_KAFKA_CONNECT_TIMEOUT_MS); 0 skips the check. */
void sf_kafka_conf_set_connect_timeout(sf_kafka_conf_t *conf, int timeout_ms);

/* ---------------------------------------------------------------- signals */

/* Installs SIGINT/SIGTERM handlers that clear the run flag (a second signal
 * restores the default action, so a third Ctrl-C kills a stuck process). */
void sf_kafka_install_signals(void);

/* True until a signal arrives, sf_kafka_stop() is called, or a client hits
 * a fatal error. Loops test it each iteration. */
bool sf_kafka_running(void);

/* Clears the run flag (async-signal-safe). */
void sf_kafka_stop(void);

/* Sets the run flag again (for tests that run several loops). */
void sf_kafka_reset_running(void);

/* ---------------------------------------------------------------- producer */

typedef struct sf_producer sf_producer_t;

/* Called once per message when its fate is known: msg->err is 0 when the
 * cluster acknowledged it (msg->partition and msg->offset are then final).
 * msg_opaque is what was passed to sf_producer_send. Failures are also
 * counted and reported through the log hook; this callback is optional. */
typedef void (*sf_producer_dr_fn)(void *ctx, const rd_kafka_message_t *msg, void *msg_opaque);

/* Per-producer counters. */
typedef struct sf_producer_stats {
        uint64_t sent;      /* accepted by sf_producer_send */
        uint64_t delivered; /* acknowledged by the cluster */
        uint64_t failed;    /* reported failed by the delivery callback */
} sf_producer_stats_t;

/* A producer: enable.idempotence=true, acks=all, linger.ms=5 unless the
 * conf overrides them. It checks that the cluster answers within the
 * connect timeout; if not, returns NULL with errstr "cannot reach Kafka at
 * BROKERS (...): start one with 'streamflow broker' or point -b at your
 * cluster". dr may be NULL. conf is not consumed. */
sf_producer_t *sf_producer_new(const sf_kafka_conf_t *conf, sf_producer_dr_fn dr, void *dr_ctx, char *errstr,
                               size_t errstr_size);

/* Queues one message (key and value are copied). partition -1 lets the
 * partitioner choose from the key. On success the producer takes ownership
 * of headers (may be NULL); on failure the caller keeps it. QUEUE_FULL is
 * handled by serving delivery reports and retrying while sf_kafka_running().
 * Delivery reports are also served every 256 sends; call sf_producer_poll()
 * regularly (or sf_producer_flush()) to have the rest reported promptly.
 * Returns 0, or -1 with errstr (topic, reason) when the message was not
 * queued (fatal producer error, message too large, interrupted while the
 * queue stayed full, ...). */
int sf_producer_send(sf_producer_t *p, const char *topic, int32_t partition, const void *key, size_t key_len,
                     const void *value, size_t value_len, rd_kafka_headers_t *headers, void *msg_opaque,
                     char *errstr, size_t errstr_size);

/* Queues msgs[0..n) to topic in one call, each placed by the partitioner
 * from its key (payload/len, key/key_len and _private as the opaque are
 * read; key and value are copied; no headers). Cheaper per message than
 * sf_producer_send: one topic lock and one clock read for the batch.
 * QUEUE_FULL is handled as by sf_producer_send, keeping the order. Returns 0,
 * or -1 with errstr when msgs[*nqueued] and the ones after it were not
 * queued (*nqueued is set either way). */
int sf_producer_send_batch(sf_producer_t *p, const char *topic, rd_kafka_message_t *msgs, int n, int *nqueued,
                           char *errstr, size_t errstr_size);

/* Serves delivery reports and errors for up to timeout_ms. Returns the
 * number of events served. */
int sf_producer_poll(sf_producer_t *p, int timeout_ms);

/* Waits up to timeout_ms for everything queued to be acknowledged.
 * Returns how many messages were not delivered: failed ones plus those
 * still queued at the timeout (0 means every message sent was delivered). */
uint64_t sf_producer_flush(sf_producer_t *p, int timeout_ms);

/* Current counters. */
sf_producer_stats_t sf_producer_stats(const sf_producer_t *p);

/* The fatal error that stopped the producer (e.g. idempotence broken), or
 * NULL. After a fatal error every send fails and the run flag is cleared. */
const char *sf_producer_fatal(const sf_producer_t *p);

/* The librdkafka handle, for what this layer does not wrap. Owned by p. */
rd_kafka_t *sf_producer_handle(sf_producer_t *p);

/* Destroys p without flushing (call sf_producer_flush first); NULL is a
 * no-op. Waits at most SF_KAFKA_DESTROY_TIMEOUT_MS for librdkafka, then
 * says so through the log hook and returns, leaving the handle behind. */
void sf_producer_destroy(sf_producer_t *p);

/* ---------------------------------------------------------------- consumer */

typedef struct sf_consumer sf_consumer_t;

/* Called on a group rebalance before the layer applies it. On
 * RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS the callee finishes or abandons its
 * work for `parts` and stores the offsets it completed
 * (sf_consumer_store*); the layer then commits them synchronously and
 * unassigns. On RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS it is informational. */
typedef void (*sf_consumer_rebalance_fn)(void *ctx, sf_consumer_t *c, rd_kafka_resp_err_t err,
                                         const rd_kafka_topic_partition_list_t *parts);

typedef enum {
        SF_KAFKA_START_BEGINNING = 0, /* no committed offset: from the oldest message (default) */
        SF_KAFKA_START_END = 1,       /* no committed offset: only new messages */
} sf_kafka_start_t;

typedef struct sf_consumer_opts {
        /* NULL: no group; every partition of the topics is assigned
         * directly from `start`, and offsets are neither stored nor committed. */
        const char *group;
        sf_kafka_start_t start;
        /* Stop at the end of every assigned partition (kcat -e):
         * sf_consumer_at_end() becomes true once each has been reached. */
        bool exit_at_end;
        sf_consumer_rebalance_fn rebalance; /* optional */
        void *rebalance_ctx;
} sf_consumer_opts_t;

/* A consumer subscribed to topics[0..ntopics). At-least-once: offsets are
 * committed only after the caller stores them (sf_consumer_store*), by the
 * periodic auto-commit, on revoke, and in sf_consumer_close. An offset
 * that is out of range (data deleted before it was read, or beyond the end
 * of the log) is never reset silently: the layer logs topic, partition,
 * the offset, where it resumes and how many offsets were skipped, counts
 * them (sf_consumer_skipped) and resumes at the log start. Checks that the
 * cluster answers like sf_producer_new. conf and opts are not consumed. */
sf_consumer_t *sf_consumer_new(const sf_kafka_conf_t *conf, const char *const *topics, size_t ntopics,
                               const sf_consumer_opts_t *opts, char *errstr, size_t errstr_size);

/* Waits up to timeout_ms for the next message. Returns it (the caller
 * destroys it with rd_kafka_message_destroy), or NULL when none arrived,
 * or after a fatal error. When every partition is at its end
 * (exit_at_end) it does not wait: it serves what is already queued (a
 * rebalance, or a record produced since) and returns. Partition-EOF events and transient errors are handled
 * inside (the latter reported through the log hook); they are never returned. */
rd_kafka_message_t *sf_consumer_poll(sf_consumer_t *c, int timeout_ms);

/* Marks msg as processed: its offset + 1 will be committed. Returns 0, or
 * -1 with errstr (e.g. the partition was revoked meanwhile). */
int sf_consumer_store(sf_consumer_t *c, const rd_kafka_message_t *msg, char *errstr, size_t errstr_size);

/* Same by coordinates: `next_offset` is the next offset to read, i.e. the
 * last processed offset + 1. */
int sf_consumer_store_offset(sf_consumer_t *c, const char *topic, int32_t partition, int64_t next_offset,
                             char *errstr, size_t errstr_size);

/* Commits the stored offsets now and waits for the answer. Returns 0
 * (also when nothing was stored), or -1 with errstr for any failure,
 * a refusal during a rebalance included (unlike sf_consumer_close). */
int sf_consumer_commit(sf_consumer_t *c, char *errstr, size_t errstr_size);

/* Seeks each partition of parts to its offset (rd_kafka_seek_partitions:
 * each element's err says how its seek went) and, for -e, counts those
 * sought as not at their end. Returns 0, or -1 (errstr) when the seeks did
 * not all finish within timeout_ms: librdkafka 2.0 drops a seek in flight
 * when a rebalance starts (no reply ever comes), so try again later. */
int sf_consumer_seek(sf_consumer_t *c, rd_kafka_topic_partition_list_t *parts, int timeout_ms, char *errstr,
                     size_t errstr_size);

/* True when exit_at_end was asked and every assigned partition is at its
 * end (at least one partition assigned). */
bool sf_consumer_at_end(const sf_consumer_t *c);

/* Offsets skipped because they were out of range, over the consumer's life. */
int64_t sf_consumer_skipped(const sf_consumer_t *c);

/* The fatal error that stopped the consumer, or NULL. A fatal error also
 * clears the run flag. */
const char *sf_consumer_fatal(const sf_consumer_t *c);

/* The librdkafka handle. Owned by c. */
rd_kafka_t *sf_consumer_handle(sf_consumer_t *c);

/* Commits the stored offsets, leaves the group (as rd_kafka_consumer_close,
 * but giving up after SF_KAFKA_CLOSE_TIMEOUT_MS) and destroys c, waiting
 * at most SF_KAFKA_DESTROY_TIMEOUT_MS for that (a handle that does not go
 * away in time is left behind and reported through the log hook; the
 * result is unchanged). A final commit the coordinator refuses because the
 * group is rebalancing or has moved on without this member
 * (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) loses
 * nothing, as the partition's next owner reads on from the last committed
 * offset: it is a warning through the log hook, naming topic, partition
 * and offset, not a failure. Returns 0, or -1 with errstr when the final
 * commit failed for any other reason or the close failed. NULL is a no-op
 * returning 0. */
int sf_consumer_close(sf_consumer_t *c, char *errstr, size_t errstr_size);

/* ---------------------------------------------------------------- helpers */

/* Low and high watermarks of topic[partition], asking the leader. Returns
 * 0, or -1 with errstr naming topic and partition. */
int sf_kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t *low, int64_t *high,
                        int timeout_ms, char *errstr, size_t errstr_size);

/* Number of partitions of topic, from metadata; -1 with errstr if the
 * topic does not exist or the cluster did not answer. */
int sf_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size);

/* Destroys rk (rd_kafka_destroy_flags(rk, flags)) and waits at most
 * timeout_ms for it. librdkafka 2.0.2 can leak a reference to a partition
 * when a restarted broker briefly reports a topic with no partitions
 * (fixed in 2.1.0): destroy then joins a broker thread that never ends.
 * The destroy runs in a detached thread, so the caller is not held by it;
 * call this only once the handle's work is done (flushed, committed,
 * closed). Returns 0 when the handle was destroyed in time, -1 when it was
 * not: the thread stays blocked with rk and everything rk's callbacks use
 * (the caller must keep its opaque alive, or let the process exit). */
int sf_kafka_destroy_bounded(rd_kafka_t *rk, int flags, int timeout_ms);

/* True when name is a legal Kafka topic name (1..249 of [a-zA-Z0-9._-],
 * not "." or ".."). */
bool sf_kafka_topic_valid(const char *name);

/* ------------------------------------------------- development cluster */

/* An in-memory Kafka cluster in this process (librdkafka's mock cluster),
 * reachable on 127.0.0.1 by any client. */
typedef struct sf_kafka_mock sf_kafka_mock_t;

/* Starts a cluster of `brokers` brokers (ids 1..brokers) whose
 * auto-created topics get `partitions` partitions. Returns NULL with errstr
 * on failure. The caller destroys it. */
sf_kafka_mock_t *sf_kafka_mock_new(int brokers, int partitions, char *errstr, size_t errstr_size);

/* The cluster's own bootstrap list ("127.0.0.1:P1,127.0.0.1:P2,...";
 * ephemeral ports). Owned by m. */
const char *sf_kafka_mock_bootstraps(const sf_kafka_mock_t *m);

/* The librdkafka mock cluster, for fault injection
 * (rd_kafka_mock_broker_set_down, rd_kafka_mock_push_request_errors, ...). */
rd_kafka_mock_cluster_t *sf_kafka_mock_cluster(sf_kafka_mock_t *m);

/* Creates topic with `partitions` partitions (0: the cluster default).
 * Returns 0 or -1 with errstr. */
int sf_kafka_mock_topic(sf_kafka_mock_t *m, const char *topic, int partitions, char *errstr,
                        size_t errstr_size);

/* Applies one control command to the cluster and writes a one-line answer
 * to reply ("ok ..." or "error ..."). Commands:
 *   down BROKER|all           disconnect a broker and refuse connections
 *   up BROKER|all             accept connections again
 *   leader TOPIC PARTITION BROKER   move a partition's leader
 *   error APIKEY ERR [COUNT]  the next COUNT (1) requests of APIKEY (a
 *                             number or Produce/Fetch/Metadata/...) fail
 *                             with ERR (a number or a name such as
 *                             NOT_LEADER_FOR_PARTITION; TRANSPORT disconnects)
 *   topic-error TOPIC ERR     every request for TOPIC fails with ERR (0 clears)
 *   disconnect [BROKER|all]   drop the clients' connections once (down then up)
 *   rtt BROKER MS             add MS milliseconds of round-trip delay
 *   create TOPIC PARTITIONS   create a topic
 *   ping                      answers "ok pong"
 * Returns 0 when the command was applied, -1 otherwise. */
int sf_kafka_mock_control(sf_kafka_mock_t *m, const char *line, char *reply, size_t reply_size);

/* Stops the cluster; NULL is a no-op. */
void sf_kafka_mock_destroy(sf_kafka_mock_t *m);

#endif
