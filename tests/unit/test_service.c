/* The Prometheus exposition writer, the HTTP endpoint (/metrics, /healthz,
 * /readyz) on loopback, the health rule on an injected clock, and the
 * scorer's collector. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "score/prom.h"
#include "score/record.h"
#include "service/expo.h"
#include "service/http.h"
#include "service/page.h"
#include "small_model.h"
#include "test.h"

static void test_expo_escaping(void) {
        sf_expo_t e;
        sf_expo_init(&e);
        sf_expo_family(&e, "x_total", "counter", "A \"quoted\" \\ help\nline.");
        const char *labels[] = {"a", "back\\slash \"quote\"\nnewline", "b", "plain", NULL};
        sf_expo_u64(&e, "x_total", labels, 18446744073709551615ULL);
        CHECK(!e.oom);
        CHECK_STR(e.buf,
                  "# HELP x_total A \"quoted\" \\\\ help\\nline.\n"
                  "# TYPE x_total counter\n"
                  "x_total{a=\"back\\\\slash \\\"quote\\\"\\nnewline\",b=\"plain\"} 18446744073709551615\n");
        sf_expo_free(&e);
}

static void test_expo_values(void) {
        sf_expo_t e;
        sf_expo_init(&e);
        sf_expo_double(&e, "g", NULL, 0.25);
        sf_expo_double(&e, "g", NULL, 1.0 / 0.0);
        sf_expo_double(&e, "g", NULL, -1.0 / 0.0);
        sf_expo_double(&e, "g", NULL, 0.0 / 0.0);
        sf_expo_double(&e, "g", NULL, 3);
        sf_expo_double(&e, "g", NULL, 1e-9);
        const char *empty[] = {NULL};
        sf_expo_u64(&e, "g", empty, 0);
        CHECK_STR(e.buf, "g 0.25\ng +Inf\ng -Inf\ng NaN\ng 3\ng 1e-09\ng 0\n");
        sf_expo_free(&e);
}

static void test_expo_histogram(void) {
        static const double bounds[] = {0.1, 0.5, 1};
        sf_expo_hist_t h;
        sf_expo_hist_init(&h, bounds, 3);
        /* 0.1 sits in le="0.1": a bucket counts values up to and including its bound */
        double v[] = {0.05, 0.1, 0.3, 2, 7};
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) sf_expo_hist_observe(&h, v[i]);
        sf_expo_hist_observe(&h, 0.0 / 0.0); /* ignored */
        sf_expo_t e;
        sf_expo_init(&e);
        sf_expo_family(&e, "lat_seconds", "histogram", "Latency.");
        const char *labels[] = {"topic", "in", NULL};
        sf_expo_hist(&e, "lat_seconds", labels, &h);
        CHECK_STR(e.buf, "# HELP lat_seconds Latency.\n"
                         "# TYPE lat_seconds histogram\n"
                         "lat_seconds_bucket{topic=\"in\",le=\"0.1\"} 2\n"
                         "lat_seconds_bucket{topic=\"in\",le=\"0.5\"} 3\n"
                         "lat_seconds_bucket{topic=\"in\",le=\"1\"} 3\n"
                         "lat_seconds_bucket{topic=\"in\",le=\"+Inf\"} 5\n"
                         "lat_seconds_sum{topic=\"in\"} 9.45\n"
                         "lat_seconds_count{topic=\"in\"} 5\n");
        sf_expo_free(&e);
        /* no labels, nothing observed */
        sf_expo_hist_init(&h, bounds, 1);
        sf_expo_init(&e);
        sf_expo_hist(&e, "b", NULL, &h);
        CHECK_STR(e.buf, "b_bucket{le=\"0.1\"} 0\nb_bucket{le=\"+Inf\"} 0\nb_sum 0\nb_count 0\n");
        sf_expo_free(&e);
}

static void test_expo_long_text(void) {
        sf_expo_t e;
        sf_expo_init(&e);
        char big[10000];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        const char *labels[] = {"l", big, NULL};
        for (int i = 0; i < 3; i++) sf_expo_u64(&e, "m", labels, (uint64_t)i);
        CHECK(!e.oom);
        CHECK_INT(e.len, 3 * (strlen("m{l=\"\"} 0\n") + strlen(big)));
        CHECK_INT(strlen(e.buf), e.len);
        sf_expo_free(&e);
}

static void test_health_rule(void) {
        char why[128];
        CHECK_INT(sf_svc_healthy(0, 5000, 5000, why, sizeof(why)), 0);
        CHECK(strstr(why, "not started") != NULL);
        CHECK_INT(sf_svc_healthy(1000, 1000, 5000, why, sizeof(why)), 1);
        CHECK_INT(sf_svc_healthy(1000, 6000, 5000, why, sizeof(why)), 1);
        CHECK_INT(sf_svc_healthy(1000, 6001, 5000, why, sizeof(why)), 0);
        CHECK(strstr(why, "5001 ms") != NULL);
}

/* ------------------------------------------------------- HTTP on loopback */

typedef struct fake {
        int ready;
} fake_t;

static void fake_metrics(void *ctx, sf_expo_t *e) {
        (void)ctx;
        sf_expo_family(e, "fake_total", "counter", "Fake.");
        sf_expo_u64(e, "fake_total", NULL, 42);
}

static int fake_ready(void *ctx, char *reason, size_t reason_size) {
        fake_t *f = ctx;
        if (!f->ready) snprintf(reason, reason_size, "not yet: waiting");
        return f->ready;
}

/* GET path from 127.0.0.1:port; returns the status, the body in body. */
static int get(int port, const char *path, char *body, size_t size) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        body[0] = '\0';
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
                if (fd >= 0) close(fd);
                return -1;
        }
        char req[256], resp[8192];
        int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
        if (write(fd, req, (size_t)n) != n) {
                close(fd);
                return -1;
        }
        size_t got = 0;
        ssize_t r;
        while (got < sizeof(resp) - 1 && (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
                got += (size_t)r;
        resp[got] = '\0';
        close(fd);
        int status = 0;
        if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) return -1;
        const char *b = strstr(resp, "\r\n\r\n");
        snprintf(body, size, "%s", b ? b + 4 : "");
        return status;
}

static void test_http_endpoints(void) {
        char err[256], body[4096];
        fake_t f = {0};
        sf_svc_opts_t o = {fake_metrics, fake_ready, &f, 60000};
        sf_svc_t *svc = sf_svc_start("127.0.0.1:0", &o, err, sizeof(err));
        CHECK_MSG(svc != NULL, "%s", err);
        if (!svc) return;
        int port = sf_svc_port(svc);
        CHECK(port > 0);
        char where[64];
        snprintf(where, sizeof(where), "127.0.0.1:%d", port);
        CHECK_STR(sf_svc_where(svc), where);
        CHECK_INT(get(port, "/metrics", body, sizeof(body)), 200);
        CHECK_STR(body, "# HELP fake_total Fake.\n# TYPE fake_total counter\nfake_total 42\n");
        CHECK_INT(get(port, "/healthz", body, sizeof(body)), 503);
        sf_svc_beat(svc);
        CHECK_INT(get(port, "/healthz", body, sizeof(body)), 200);
        CHECK_INT(get(port, "/readyz", body, sizeof(body)), 503);
        CHECK_STR(body, "not yet: waiting\n");
        f.ready = 1;
        CHECK_INT(get(port, "/readyz", body, sizeof(body)), 200);
        CHECK_INT(get(port, "/nothing", body, sizeof(body)), 404);
        /* the port is taken: a second server cannot have it */
        sf_svc_t *again = sf_svc_start(where, &o, err, sizeof(err));
        CHECK(again == NULL);
        CHECK(strstr(err, where) != NULL);
        sf_svc_stop(again);
        sf_svc_stop(svc);
        CHECK_INT(get(port, "/metrics", body, sizeof(body)), -1);
}

static void test_http_bad_address(void) {
        char err[256];
        sf_svc_opts_t o = {fake_metrics, fake_ready, NULL, 0};
        const char *bad[] = {"9464",        "127.0.0.1:", "127.0.0.1:70000",
                             "127.0.0.1:x", ":9464",      "no.such.host.invalid:1"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                sf_svc_t *svc = sf_svc_start(bad[i], &o, err, sizeof(err));
                CHECK_MSG(svc == NULL, "%s was accepted", bad[i]);
                CHECK_MSG(err[0] != '\0', "%s: no error", bad[i]);
                sf_svc_stop(svc);
        }
}

static void test_page(void) {
        sf_page_t *page = sf_page_new();
        char why[64];
        CHECK_INT(sf_page_ready(page, why, sizeof(why)), 0);
        CHECK_STR(why, "starting");
        sf_expo_t e, out;
        sf_expo_init(&e);
        sf_expo_u64(&e, "a", NULL, 1);
        sf_page_publish(page, &e, 1, "");
        CHECK(e.buf == NULL);
        CHECK_INT(sf_page_ready(page, why, sizeof(why)), 1);
        sf_expo_init(&out);
        sf_page_metrics(page, &out);
        CHECK_STR(out.buf, "a 1\n");
        sf_expo_free(&out);
        sf_page_destroy(page);
}

/* ------------------------------------------------------ scorer collector */

static int has_line(const char *page, const char *line) {
        size_t n = strlen(line);
        for (const char *p = page; (p = strstr(p, line)) != NULL; p++)
                if ((p == page || p[-1] == '\n') && p[n] == '\n') return 1;
        return 0;
}

/* The schema and encoder of small_model.h, for the collectors below. */
static sf_schema_t *prom_schema;
static sf_encoder_t *prom_enc;

static sf_score_prom_t *new_prom(const char *id, const char *topic) {
        if (!prom_schema) prom_schema = small_schema();
        if (prom_schema && !prom_enc) prom_enc = small_encoder(prom_schema, 4, 3, 0, 0);
        CHECK(prom_schema && prom_enc);
        return prom_schema && prom_enc ? sf_score_prom_new(id, "safetensors", topic, prom_schema, prom_enc)
                                       : NULL;
}

static void test_score_prom(void) {
        sf_score_prom_t *p = new_prom("0123abcd", "conn\"s");
        sf_row_t row = {0};
        if (!p || sf_row_init(&row, prom_schema)) goto out;
        sf_expo_t e;
        /* a row whose n5 is missing; the others numbers */
        for (int i = 0; i < SMALL_NNUM; i++) row.v[i].kind = i == 5 ? SF_VAL_MISSING : SF_VAL_NUMBER;
        const uint8_t unseen_service[3] = {SF_ENC_KNOWN, SF_ENC_UNSEEN, SF_ENC_MISSING};
        /* batch 1: two DoS, one Probe with an unseen service, a missing n5
         * and flag, one DLQ copy */
        sf_score_prom_output(p, 0, 1, NULL, NULL, 1, 0);
        sf_score_prom_output(p, 0, 1, NULL, NULL, 2, 0);
        sf_score_prom_output(p, 0, 2, &row, unseen_service, 3, 0);
        sf_score_prom_output(p, SF_REJECT_FIELD_COUNT, -1, &row, unseen_service, 4, 0);
        sf_score_prom_batch(p, 4, 0.002, 0);
        /* batch 2: aborted, its outputs do not count */
        sf_score_prom_output(p, 0, 0, &row, unseen_service, 5, 0);
        sf_score_prom_batch(p, 1, 0.001, 1);
        sf_score_prom_delivered(p, 1, 1);
        sf_score_prom_delivered(p, 2, 0);
        sf_score_prom_rebalance(p, 1, 3);
        sf_score_prom_publish(p, 5, 1);
        sf_expo_init(&e);
        sf_score_prom_metrics(p, &e);
        CHECK(!e.oom);
        CHECK(has_line(e.buf, "streamflow_records_total 5"));
        CHECK(has_line(e.buf, "streamflow_predictions_total{class=\"DoS\"} 2"));
        CHECK(has_line(e.buf, "streamflow_predictions_total{class=\"Probe\"} 1"));
        CHECK(has_line(e.buf, "streamflow_predictions_total{class=\"normal\"} 0"));
        CHECK(has_line(e.buf, "streamflow_dlq_records_total{reason=\"field_count\"} 1"));
        CHECK(has_line(e.buf, "streamflow_unseen_values_total{column=\"service\"} 1"));
        CHECK(has_line(e.buf, "streamflow_unseen_values_total{column=\"flag\"} 0"));
        CHECK(has_line(e.buf, "streamflow_missing_values_total{column=\"n5\"} 1"));
        CHECK(has_line(e.buf, "streamflow_missing_values_total{column=\"n6\"} 0"));
        CHECK(has_line(e.buf, "streamflow_missing_values_total{column=\"flag\"} 1"));
        CHECK(has_line(e.buf, "streamflow_missing_values_total{column=\"service\"} 0"));
        CHECK(has_line(e.buf, "streamflow_dlq_records_total{reason=\"wrong_type\"} 0"));
        CHECK(has_line(e.buf, "streamflow_predictions_total{class=\"U2R\"} 0"));
        CHECK(has_line(e.buf, "streamflow_delivered_total 1"));
        CHECK(has_line(e.buf, "streamflow_delivery_failures_total 1"));
        CHECK(has_line(e.buf, "streamflow_batches_total 2"));
        CHECK(has_line(e.buf, "streamflow_aborted_transactions_total 1"));
        CHECK(has_line(e.buf, "streamflow_assigned_partitions 3"));
        CHECK(has_line(e.buf, "streamflow_batch_size_records_count 2"));
        CHECK(has_line(e.buf, "streamflow_batch_size_records_bucket{le=\"1\"} 1"));
        CHECK(has_line(
                e.buf,
                "streamflow_model_info{model_id=\"0123abcd\",format=\"safetensors\",schema=\"small\"} 1"));
        sf_expo_free(&e);
        /* not attached to a consumer: not ready, and why */
        char why[200];
        CHECK_INT(sf_score_prom_ready(p, why, sizeof(why)), 0);
        CHECK(strstr(why, "not connected") != NULL);
out:
        sf_row_free(&row);
        sf_score_prom_destroy(p);
}

/* score --threads: two threads' collectors under one head; the head's
 * page sums them, the reloads stay the head's, readiness needs both. */
static void test_score_prom_threads(void) {
        sf_score_prom_t *head = new_prom("0123abcd", "t");
        if (!head) return;
        sf_score_prom_t *t0 = sf_score_prom_thread(head), *t1 = sf_score_prom_thread(head);
        CHECK(t0 && t1);
        if (!t0 || !t1) goto out;
        sf_score_prom_output(t0, 0, 1, NULL, NULL, 1, 0);
        sf_score_prom_output(t0, SF_REJECT_FIELD_COUNT, -1, NULL, NULL, 2, 0);
        sf_score_prom_batch(t0, 2, 0.001, 0);
        sf_score_prom_delivered(t0, 1, 1);
        sf_score_prom_rebalance(t0, 1, 2);
        sf_score_prom_publish(t0, 2, 1);
        for (int i = 0; i < 3; i++) sf_score_prom_output(t1, 0, 1, NULL, NULL, 10 + (uint64_t)i, 0);
        sf_score_prom_batch(t1, 3, 0.001, 0);
        for (int i = 0; i < 3; i++) sf_score_prom_delivered(t1, 10 + (uint64_t)i, 1);
        sf_score_prom_rebalance(t1, 1, 1);
        sf_score_prom_publish(t1, 3, 1);
        sf_score_prom_reload(head, 1);
        sf_expo_t e;
        sf_expo_init(&e);
        sf_score_prom_metrics(head, &e);
        CHECK(!e.oom);
        CHECK(has_line(e.buf, "streamflow_records_total 5"));
        CHECK(has_line(e.buf, "streamflow_predictions_total{class=\"DoS\"} 4"));
        CHECK(has_line(e.buf, "streamflow_dlq_records_total{reason=\"field_count\"} 1"));
        CHECK(has_line(e.buf, "streamflow_delivered_total 4"));
        CHECK(has_line(e.buf, "streamflow_batches_total 2"));
        CHECK(has_line(e.buf, "streamflow_batch_size_records_count 2"));
        CHECK(has_line(e.buf, "streamflow_assigned_partitions 3"));
        CHECK(has_line(e.buf, "streamflow_rebalances_total 2"));
        CHECK(has_line(e.buf, "streamflow_model_reloads_total 1"));
        sf_expo_free(&e);
        char why[200];
        CHECK_INT(sf_score_prom_ready(head, why, sizeof(why)), 0);
        CHECK_MSG(strstr(why, "a scorer thread is not connected") != NULL, "%s", why);
out:
        sf_score_prom_destroy(head); /* and the threads' collectors */
}

static void test_score_prom_latency(void) {
        sf_score_prom_t *p = new_prom("id", "t");
        if (!p) return;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        /* 3000 outputs in flight at once, 0.2 s old: each delivery report
         * finds its input timestamp */
        for (uint64_t k = 0; k < 3000; k++)
                sf_score_prom_output(p, 0, 0, NULL, NULL, (7ull << 48) | k, now_ms - 200);
        sf_score_prom_batch(p, 3000, 0.01, 0);
        for (uint64_t k = 0; k < 3000; k++) sf_score_prom_delivered(p, (7ull << 48) | k, 1);
        sf_score_prom_delivered(p, 99, 1); /* unknown: no observation */
        /* a DLQ copy shares the key of an output in flight: it takes no
         * latency, and the output's own report still does */
        sf_score_prom_output(p, 0, 0, NULL, NULL, 5, now_ms - 200);
        sf_score_prom_delivered_untimed(p, 1, 1);
        sf_score_prom_batch(p, 1, 0.01, 0);
        sf_score_prom_publish(p, 3001, 0);
        sf_expo_t e0;
        sf_expo_init(&e0);
        sf_score_prom_metrics(p, &e0);
        CHECK(has_line(e0.buf, "streamflow_end_to_end_latency_seconds_count 3000"));
        sf_expo_free(&e0);
        sf_score_prom_delivered(p, 5, 1);
        sf_score_prom_publish(p, 3001, 1);
        sf_expo_t e;
        sf_expo_init(&e);
        sf_score_prom_metrics(p, &e);
        CHECK(has_line(e.buf, "streamflow_end_to_end_latency_seconds_count 3001"));
        CHECK(has_line(e.buf, "streamflow_end_to_end_latency_seconds_bucket{le=\"0.1\"} 0"));
        CHECK(has_line(e.buf, "streamflow_end_to_end_latency_seconds_bucket{le=\"1\"} 3001"));
        sf_expo_free(&e);
        sf_score_prom_destroy(p);
}

/* The scorer's side publishing while the HTTP thread scrapes: what a
 * -fsanitize=thread build checks (the page is only ever read from the
 * snapshot, under its mutex). */
static void *score_loop(void *arg) {
        sf_score_prom_t *p = arg;
        for (int b = 0; b < 3000; b++) {
                for (int i = 0; i < 10; i++)
                        sf_score_prom_output(p, 0, i % 5, NULL, NULL, (uint64_t)(b * 10 + i), 0);
                sf_score_prom_batch(p, 10, 0.001, 0);
                if (b % 500 == 0) sf_score_prom_rebalance(p, b % 1000 == 0 ? 0 : 1, 1);
                sf_score_prom_publish(p, (uint64_t)(b + 1) * 10, 0);
        }
        return NULL;
}

static void test_concurrent_scrape(void) {
        char err[256], body[8192];
        sf_score_prom_t *p = new_prom("id", "t");
        if (!p) return;
        sf_svc_opts_t o = {sf_score_prom_metrics, sf_score_prom_ready, p, 0};
        sf_svc_t *svc = sf_svc_start("127.0.0.1:0", &o, err, sizeof(err));
        CHECK_MSG(svc != NULL, "%s", err);
        if (!svc) {
                sf_score_prom_destroy(p);
                return;
        }
        pthread_t th;
        pthread_create(&th, NULL, score_loop, p);
        int ok = 0;
        for (int i = 0; i < 40; i++) {
                ok += get(sf_svc_port(svc), "/metrics", body, sizeof(body)) == 200;
                get(sf_svc_port(svc), "/readyz", body, sizeof(body));
        }
        pthread_join(th, NULL);
        CHECK_INT(ok, 40);
        CHECK_INT(get(sf_svc_port(svc), "/metrics", body, sizeof(body)), 200);
        CHECK(has_line(body, "streamflow_records_total 30000"));
        CHECK(has_line(body, "streamflow_predictions_total{class=\"U2R\"} 6000"));
        sf_svc_stop(svc);
        sf_score_prom_destroy(p);
}

int main(void) {
        RUN(test_expo_escaping);
        RUN(test_expo_values);
        RUN(test_expo_histogram);
        RUN(test_expo_long_text);
        RUN(test_health_rule);
        RUN(test_http_endpoints);
        RUN(test_http_bad_address);
        RUN(test_page);
        RUN(test_score_prom);
        RUN(test_score_prom_threads);
        RUN(test_score_prom_latency);
        RUN(test_concurrent_scrape);
        sf_encoder_destroy(prom_enc);
        sf_schema_destroy(prom_schema);
        return TEST_DONE();
}
