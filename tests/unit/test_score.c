/* The scorer's building blocks: offset tracking for at-least-once commits,
 * the latency histogram, decoding records of a schema (DLQ reasons), the
 * prediction JSON and CSV rows as JSON objects. */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "score/hist.h"
#include "score/instance.h"
#include "score/offsets.h"
#include "score/record.h"
#include "test.h"
#include "utf8_cases.h"
#include "util/rng.h"
#include "util/util.h"

static const char *ROW = "0,tcp,http,SF,215,45076,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,0.00,0.00,"
                         "1.00,0.00,0.00,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00";

static void test_offsets_in_order(void) {
        sf_score_offsets_t *t = sf_score_offsets_new();
        CHECK(t != NULL);
        if (!t) return;
        for (int64_t o = 10; o < 15; o++) CHECK_INT(sf_score_offsets_add(t, 2, o), 0);
        CHECK_INT(sf_score_offsets_commit_pos(t, 2), -1);
        CHECK_INT(sf_score_offsets_inflight(t, 2), 5);
        CHECK_INT(sf_score_offsets_ack(t, 2, 10), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 2), 11);
        sf_score_offsets_committed(t, 2, 11);
        CHECK_INT(sf_score_offsets_commit_pos(t, 2), -1);
        CHECK_INT(sf_score_offsets_ack(t, 2, 10), 0); /* twice: ignored */
        CHECK_INT(sf_score_offsets_inflight(t, -1), 4);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), -1);
        CHECK_INT(sf_score_offsets_npartitions(t), 3);
        sf_score_offsets_destroy(t);
}

/* A gap (an unacknowledged offset) holds the commit position back until it
 * is acknowledged, whatever order the later ones arrive in. */
static void test_offsets_out_of_order(void) {
        sf_score_offsets_t *t = sf_score_offsets_new();
        if (!t) return;
        static const int64_t offs[] = {0, 1, 2, 5, 7, 8}; /* gaps: compaction, txn markers */
        for (size_t i = 0; i < 6; i++) sf_score_offsets_add(t, 0, offs[i]);
        CHECK_INT(sf_score_offsets_ack(t, 0, 5), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 8), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 1), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), -1); /* 0 still in flight */
        CHECK_INT(sf_score_offsets_ack(t, 0, 3), 0);      /* never added */
        CHECK_INT(sf_score_offsets_ack(t, 0, 0), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 2);
        CHECK_INT(sf_score_offsets_ack(t, 0, 2), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 6); /* 0,1,2,5 done; 7 pending */
        CHECK_INT(sf_score_offsets_ack(t, 0, 7), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 9);
        CHECK_INT(sf_score_offsets_inflight(t, 0), 0);
        sf_score_offsets_destroy(t);
}

/* An offset of a message with many records is done only once every one of
 * its outputs is acknowledged, in any order; later offsets acknowledged
 * meanwhile wait for it. */
static void test_offsets_many_outputs(void) {
        sf_score_offsets_t *t = sf_score_offsets_new();
        if (!t) return;
        CHECK_INT(sf_score_offsets_add_n(t, 0, 7, 0), -1); /* an offset makes at least one output */
        CHECK_INT(sf_score_offsets_add_n(t, 0, 7, 3), 0);
        CHECK_INT(sf_score_offsets_add_n(t, 0, 8, 1), 0);
        CHECK_INT(sf_score_offsets_add_n(t, 0, 9, 2), 0);
        CHECK_INT(sf_score_offsets_ack(t, 0, 8), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 7), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 7), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), -1); /* one output of 7 still out */
        CHECK_INT(sf_score_offsets_inflight(t, 0), 3);
        CHECK_INT(sf_score_offsets_ack(t, 0, 9), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 7), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 9); /* 7 and 8 done, 9 half */
        CHECK_INT(sf_score_offsets_ack(t, 0, 7), 0);     /* a fourth: ignored */
        CHECK_INT(sf_score_offsets_ack(t, 0, 9), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 10);
        CHECK_INT(sf_score_offsets_inflight(t, 0), 0);
        sf_score_offsets_destroy(t);
}

/* Many partitions, random acknowledgement order, ring growth: the commit
 * position of each partition always equals one past the longest fully
 * acknowledged prefix, computed the slow way. */
static void test_offsets_random(void) {
        enum { NP = 4, N = 3000 };
        sf_score_offsets_t *t = sf_score_offsets_new();
        static unsigned char acked[NP][N];
        size_t *order = malloc(NP * N * sizeof(size_t));
        if (!t || !order) goto out;
        memset(acked, 0, sizeof(acked));
        for (int p = 0; p < NP; p++)
                for (int o = 0; o < N; o++) CHECK(sf_score_offsets_add(t, p, 100 + o) == 0);
        for (size_t i = 0; i < NP * N; i++) order[i] = i;
        sf_rng_t rng;
        sf_rng_seed(&rng, 7);
        sf_rng_shuffle(&rng, order, NP * N);
        int bad = 0;
        int64_t last[NP] = {-1, -1, -1, -1};
        for (size_t i = 0; i < NP * N; i++) {
                int p = (int)(order[i] / N), o = (int)(order[i] % N);
                if (sf_score_offsets_ack(t, p, 100 + o) != 1) bad++;
                acked[p][o] = 1;
                int k = 0;
                while (k < N && acked[p][k]) k++;
                int64_t want = k ? 100 + k : -1;
                int64_t got = sf_score_offsets_commit_pos(t, p);
                if (got == -1) got = last[p];
                if (got != want) bad++;
                if (got >= 0 && got != last[p]) {
                        sf_score_offsets_committed(t, p, got);
                        last[p] = got;
                }
        }
        CHECK_INT(bad, 0);
        for (int p = 0; p < NP; p++) CHECK_INT(last[p], 100 + N);
        CHECK_INT(sf_score_offsets_inflight(t, -1), 0);
out:
        free(order);
        sf_score_offsets_destroy(t);
}

/* A revoked partition forgets its in-flight outputs; a rewind (an offset
 * added again) does too. The late acknowledgements of those outputs count
 * for them, not for the outputs sent again for the same offsets. */
static void test_offsets_reset_rewind(void) {
        sf_score_offsets_t *t = sf_score_offsets_new();
        if (!t) return;
        for (int o = 0; o < 5; o++) sf_score_offsets_add(t, 1, o);
        sf_score_offsets_ack(t, 1, 0);
        sf_score_offsets_reset(t, 1); /* 1..4 still out */
        CHECK_INT(sf_score_offsets_inflight(t, 1), 0);
        CHECK_INT(sf_score_offsets_commit_pos(t, 1), -1);
        CHECK_INT(sf_score_offsets_ack(t, 1, 1), 0); /* a late one: ignored */
        for (int o = 3; o < 6; o++) sf_score_offsets_add(t, 1, o);
        sf_score_offsets_add(t, 1, 4); /* rewound to 4: 3, 4, 5 out too */
        CHECK_INT(sf_score_offsets_inflight(t, 1), 1);
        CHECK_INT(sf_score_offsets_ack(t, 1, 4), 0); /* the first 4 */
        CHECK_INT(sf_score_offsets_commit_pos(t, 1), -1);
        CHECK_INT(sf_score_offsets_ack(t, 1, 4), 0); /* the second */
        CHECK_INT(sf_score_offsets_commit_pos(t, 1), -1);
        CHECK_INT(sf_score_offsets_ack(t, 1, 4), 1); /* the one in flight now */
        CHECK_INT(sf_score_offsets_commit_pos(t, 1), 5);
        CHECK_INT(sf_score_offsets_add(t, -1, 0), -1);
        sf_score_offsets_destroy(t);
        sf_score_offsets_destroy(NULL);
}

/* Batches of ranges 100..199 and 200..299 in flight when the partition is
 * revoked and assigned again; scoring goes on from 100 as one range
 * 100..299. The late acknowledgement of the first old batch (named by its
 * offset 100) must not complete the new range: 200..299 would be committed
 * with no output of theirs acknowledged. */
static void test_offsets_late_ack_after_reset(void) {
        sf_score_offsets_t *t = sf_score_offsets_new();
        if (!t) return;
        CHECK_INT(sf_score_offsets_add_range(t, 0, 100, 199, 1), 0);
        CHECK_INT(sf_score_offsets_add_range(t, 0, 200, 299, 1), 0);
        sf_score_offsets_reset(t, 0);
        CHECK_INT(sf_score_offsets_add_range(t, 0, 100, 299, 1), 0);
        CHECK_INT(sf_score_offsets_ack(t, 0, 100), 0); /* the old batch's */
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), -1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 200), 0); /* the other old one */
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), -1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 100), 1); /* the new batch's */
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 300);
        CHECK_INT(sf_score_offsets_inflight(t, 0), 0);
        sf_score_offsets_destroy(t);
}

/* A range of offsets covered by several outputs (a message of many
 * predictions and the DLQ copies between them) is done only when every one
 * of its outputs is acknowledged, whichever of its offsets each names; a
 * later range done first holds nothing back of it. */
static void test_offsets_ranges(void) {
        sf_score_offsets_t *t = sf_score_offsets_new();
        if (!t) return;
        CHECK_INT(sf_score_offsets_add_range(t, 0, 10, 14, 3), 0);
        CHECK_INT(sf_score_offsets_add_range(t, 0, 17, 20, 2), 0); /* 15, 16: a gap */
        CHECK_INT(sf_score_offsets_inflight(t, 0), 5);
        CHECK_INT(sf_score_offsets_ack(t, 0, 17), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 20), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), -1); /* 10..14 still in flight */
        CHECK_INT(sf_score_offsets_ack(t, 0, 15), 0);     /* in no range */
        CHECK_INT(sf_score_offsets_ack(t, 0, 10), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 13), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), -1); /* one output of 10..14 left */
        CHECK_INT(sf_score_offsets_inflight(t, 0), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 10), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 21);
        CHECK_INT(sf_score_offsets_inflight(t, 0), 0);
        CHECK_INT(sf_score_offsets_ack(t, 0, 12), 0); /* all acknowledged: ignored */
        /* A range done while an earlier one is not: the commit stops there. */
        CHECK_INT(sf_score_offsets_add_range(t, 0, 21, 30, 2), 0);
        CHECK_INT(sf_score_offsets_add_range(t, 0, 31, 31, 1), 0);
        CHECK_INT(sf_score_offsets_ack(t, 0, 31), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 25), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 21);
        CHECK_INT(sf_score_offsets_ack(t, 0, 21), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 32);
        /* Rewound: a range starting at or below the last one added. */
        CHECK_INT(sf_score_offsets_add_range(t, 0, 40, 49, 2), 0);
        CHECK_INT(sf_score_offsets_add_range(t, 0, 45, 50, 1), 0);
        CHECK_INT(sf_score_offsets_inflight(t, 0), 1);
        CHECK_INT(sf_score_offsets_ack(t, 0, 40), 0);
        CHECK_INT(sf_score_offsets_ack(t, 0, 50), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 0), 51);
        CHECK_INT(sf_score_offsets_add_range(t, 0, 60, 59, 1), -1);
        CHECK_INT(sf_score_offsets_add_range(t, 0, 60, 61, 0), -1);
        CHECK_INT(sf_score_offsets_add_range(t, -1, 60, 61, 1), -1);
        sf_score_offsets_destroy(t);
}

/* Ranges of random lengths and output counts over several partitions,
 * their outputs acknowledged in random order (each by a random offset of
 * its range): the commit position is always one past the last range that
 * is done together with every earlier one, computed the slow way. */
static void test_offsets_ranges_random(void) {
        enum { NP = 3, NR = 700, MAXOUT = 4 };
        sf_score_offsets_t *t = sf_score_offsets_new();
        static int64_t first[NP][NR], last[NP][NR];
        static int left[NP][NR];
        size_t *acks = malloc((size_t)NP * NR * MAXOUT * sizeof(size_t));
        if (!t || !acks) goto out;
        sf_rng_t rng;
        sf_rng_seed(&rng, 11);
        size_t nacks = 0;
        for (int p = 0; p < NP; p++) {
                int64_t next = 5;
                for (int r = 0; r < NR; r++) {
                        first[p][r] = next + (int64_t)sf_rng_below(&rng, 2); /* sometimes a gap */
                        last[p][r] = first[p][r] + (int64_t)sf_rng_below(&rng, 40);
                        left[p][r] = 1 + (int)sf_rng_below(&rng, MAXOUT);
                        next = last[p][r] + 1;
                        CHECK_INT(sf_score_offsets_add_range(t, p, first[p][r], last[p][r],
                                                             (uint32_t)left[p][r]),
                                  0);
                        for (int k = 0; k < left[p][r]; k++) acks[nacks++] = (size_t)p * NR + (size_t)r;
                }
        }
        sf_rng_shuffle(&rng, acks, nacks);
        int bad = 0;
        int64_t committed[NP] = {-1, -1, -1};
        for (size_t i = 0; i < nacks; i++) {
                int p = (int)(acks[i] / NR), r = (int)(acks[i] % NR);
                int64_t off =
                        first[p][r] + (int64_t)sf_rng_below(&rng, (uint64_t)(last[p][r] - first[p][r] + 1));
                if (sf_score_offsets_ack(t, p, off) != 1) bad++;
                left[p][r]--;
                int k = 0;
                while (k < NR && left[p][k] == 0) k++;
                int64_t want = k ? last[p][k - 1] + 1 : -1;
                int64_t got = sf_score_offsets_commit_pos(t, p);
                if (got == -1) got = committed[p];
                if (got != want) bad++;
                if (got >= 0 && got != committed[p]) {
                        sf_score_offsets_committed(t, p, got);
                        committed[p] = got;
                }
        }
        CHECK_INT(bad, 0);
        for (int p = 0; p < NP; p++) CHECK(committed[p] == last[p][NR - 1] + 1);
        CHECK_INT(sf_score_offsets_inflight(t, -1), 0);
out:
        free(acks);
        sf_score_offsets_destroy(t);
}

static void test_hist(void) {
        sf_score_hist_t h;
        sf_score_hist_reset(&h);
        CHECK_INT(sf_score_hist_percentile(&h, 50), 0);
        for (int v = 1; v <= 10000; v++) sf_score_hist_add(&h, v);
        CHECK_INT(h.n, 10000);
        /* within one sub-bucket (1/16) above the exact value */
        int64_t p50 = sf_score_hist_percentile(&h, 50), p99 = sf_score_hist_percentile(&h, 99);
        CHECK_MSG(p50 >= 5000 && p50 <= 5000 + 5000 / 16 + 1, "p50 = %lld", (long long)p50);
        CHECK_MSG(p99 >= 9900 && p99 <= 10000, "p99 = %lld", (long long)p99);
        CHECK_INT(sf_score_hist_percentile(&h, 100), 10000);
        CHECK_INT(sf_score_hist_percentile(&h, 0), 1);
        sf_score_hist_t small;
        sf_score_hist_reset(&small);
        for (int v = 0; v < 16; v++) sf_score_hist_add(&small, v); /* exact below 16 */
        sf_score_hist_add(&small, -5);                             /* counts as 0 */
        CHECK_INT(sf_score_hist_percentile(&small, 50), 7);
        sf_score_hist_add(&small, INT64_MAX); /* the top bucket, no overflow */
        CHECK_INT(sf_score_hist_percentile(&small, 100), INT64_MAX);
        sf_score_hist_merge(&h, &small);
        CHECK_INT(h.n, 10018);
}

/* The NSL-KDD schema and an encoder over it: every numeric column mean 0,
 * std 1 (duration 0.5, serror_rate 0.1, so 3.4e38 and 3e38 overflow once
 * scaled), one known value per categorical column (tcp, private, REJ). */
static sf_schema_t *kdd_schema(void) {
        const char *root = getenv("SF_ROOT");
        char path[1024], err[512];
        snprintf(path, sizeof(path), "%s/data/nsl-kdd/schema.json", root ? root : ".");
        sf_schema_t *s = sf_schema_load(path, err, sizeof(err));
        CHECK_MSG(s != NULL, "%s", err);
        return s;
}

static sf_encoder_t *kdd_encoder(const sf_schema_t *s) {
        json_t *num = json_array(), *cat = json_array();
        for (int j = 0; j < s->n_numeric; j++) {
                const char *name = s->cols[s->numeric_cols[j]].name;
                double std = strcmp(name, "duration") == 0 ? 0.5 : strcmp(name, "serror_rate") == 0 ? 0.1 : 1;
                json_array_append_new(num, json_pack("{s:s,s:f,s:f,s:b}", "column", name, "mean", 0.0, "std",
                                                     std, "missing_flag", 0));
        }
        static const char *const vocab[] = {"tcp", "private", "REJ"};
        for (int k = 0; k < s->n_categorical; k++)
                json_array_append_new(cat,
                                      json_pack("{s:s,s:[s]}", "column", s->cols[s->categorical_cols[k]].name,
                                                "vocabulary", vocab[k]));
        json_t *root = json_pack("{s:i,s:o,s:o}", "inputs", s->n_numeric + s->n_categorical, "numeric", num,
                                 "categorical", cat);
        char err[512];
        sf_encoder_t *e = sf_encoder_from_json(root, s, "test", err, sizeof(err));
        CHECK_MSG(e != NULL, "%s", err);
        json_decref(root);
        return e;
}

/* One table row: a record, the reason expected, the column at fault (-1
 * none), a word its message holds. */
typedef struct {
        const char *name;
        const char *value;
        size_t len; /* 0: strlen */
        sf_score_reject_t reason;
        int col;
        const char *says;
} reject_case_t;

static void check_reject(const sf_score_decoder_t *d, sf_row_t *row, const reject_case_t *c) {
        size_t len = c->len ? c->len : strlen(c->value);
        char err[512] = "";
        sf_score_info_t info;
        sf_score_reject_t r = sf_score_decode(d, c->value, len, row, &info, err, sizeof(err));
        CHECK_MSG(r == c->reason, "%s: reason %s, expected %s (%s)", c->name, sf_score_reject_str(r),
                  sf_score_reject_str(c->reason), err);
        CHECK_MSG(info.col == c->col, "%s: column %d, expected %d (%s)", c->name, info.col, c->col, err);
        CHECK_MSG(strstr(err, c->says) != NULL, "%s: message '%s' lacks '%s'", c->name, err, c->says);
}

/* The JSON object of ROW with field `name` set to `value` (raw JSON text),
 * or left out when value is NULL. */
static void kdd_json(const sf_schema_t *s, char *buf, size_t size, const char *name, const char *value) {
        sf_csv_field_t f[64];
        char scratch[1024];
        int nf, bad;
        const char *why;
        sf_csv_split(ROW, strlen(ROW), f, 64, &nf, scratch, &bad, &why);
        size_t o = (size_t)snprintf(buf, size, "{");
        for (int i = 0; i < s->n_cols; i++) {
                const char *col = s->cols[i].name;
                int numeric = s->cols[i].type == SF_COL_NUMERIC;
                if (strcmp(col, name) == 0 ? !value : i >= nf) continue;
                if (strcmp(col, name) == 0)
                        o += (size_t)snprintf(buf + o, size - o, "%s\"%s\":%s", o > 1 ? "," : "", col, value);
                else
                        o += (size_t)snprintf(buf + o, size - o,
                                              numeric ? "%s\"%s\":%.*s" : "%s\"%s\":\"%.*s\"",
                                              o > 1 ? "," : "", col, (int)f[i].len, f[i].s);
        }
        snprintf(buf + o, size - o, "}");
}

static void test_decode_rejects(void) {
        sf_schema_t *s = kdd_schema();
        sf_encoder_t *e = s ? kdd_encoder(s) : NULL;
        sf_score_decoder_t d;
        sf_row_t row = {0};
        if (!e || sf_score_decoder_init(&d, s, e, SF_SCORE_AUTO) || sf_row_init(&row, s)) goto out;
        static char nul[300], text_num[600], ovf[600], fields44[600], quote[600];
        static char j_str[2048], j_missing[2048], j_label[2048], j_obj[2048];
        snprintf(nul, sizeof(nul), "%s,normal", ROW);
        nul[5] = '\0';
        snprintf(text_num, sizeof(text_num), "0,tcp,http,SF,abc,45076%s", strstr(ROW, ",0,0,0,0,0,1"));
        snprintf(ovf, sizeof(ovf), "1e300%s", ROW + 1);
        snprintf(fields44, sizeof(fields44), "%s,normal,21,x", ROW);
        snprintf(quote, sizeof(quote), "0,\"tcp,http,SF%s", strstr(ROW, ",215"));
        kdd_json(s, j_str, sizeof(j_str), "src_bytes", "\"215\"");
        kdd_json(s, j_missing, sizeof(j_missing), "flag", NULL);
        kdd_json(s, j_label, sizeof(j_label), "label", "7");
        kdd_json(s, j_obj, sizeof(j_obj), "service", "{\"a\":1}");
        reject_case_t cases[] = {
                {"empty", "", 0, SF_REJECT_EMPTY, -1, "empty"},
                {"only newline", "\r\n", 2, SF_REJECT_EMPTY, -1, "empty"},
                {"one field", "hello", 0, SF_REJECT_FIELD_COUNT, 1, "1 field, expected 41 to 43"},
                {"44 fields", fields44, 0, SF_REJECT_FIELD_COUNT, -1, "44 fields"},
                {"NUL byte", nul, strlen(ROW) + 7, SF_REJECT_BINARY, 1, "0x00"}, /* in protocol_type */
                {"bad utf-8", "\xff\xfe,tcp", 0, SF_REJECT_BINARY, -1, "0xff"},
                {"text in a number", text_num, 0, SF_REJECT_NOT_A_NUMBER, 4, "abc"},
                {"float overflow", ovf, 0, SF_REJECT_NON_FINITE, 0, "out of range"},
                {"bad quote", quote, 0, SF_REJECT_BAD_QUOTE, 1, ""},
                {"not JSON", "{\"duration\": ", 0, SF_REJECT_NOT_JSON, -1, "not JSON"},
                {"JSON array", "[1,2]", 0, SF_REJECT_FIELD_COUNT, 2, "2 fields"},
                {"JSON string for a number", j_str, 0, SF_REJECT_WRONG_TYPE, 4, "src_bytes"},
                {"JSON object for a string", j_obj, 0, SF_REJECT_WRONG_TYPE, 2, "found an object"},
                {"JSON number for the label", j_label, 0, SF_REJECT_WRONG_TYPE, 41, "label"},
                {"JSON missing field", j_missing, 0, SF_REJECT_MISSING_FIELD, 3, "flag"},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) check_reject(&d, &row, &cases[i]);
        /* --format json: a CSV record is not JSON; --format csv: a JSON object has one field */
        d.format = SF_SCORE_JSON;
        check_reject(&d, &row, &(reject_case_t){"csv as json", ROW, 0, SF_REJECT_NOT_JSON, -1, "not JSON"});
        d.format = SF_SCORE_CSV;
        check_reject(&d, &row, &(reject_case_t){"json as csv", j_missing, 0, SF_REJECT_BAD_QUOTE, 0, ""});
        /* Too long: one byte over the limit. */
        size_t n = SF_CSV_MAX_RECORD + 1;
        char *big = malloc(n);
        if (big) {
                memset(big, '1', n);
                check_reject(&d, &row, &(reject_case_t){"too long", big, n, SF_REJECT_TOO_LONG, -1, "limit"});
                free(big);
        }
        sf_score_decoder_free(&d);
out:
        sf_row_free(&row);
        sf_encoder_destroy(e);
        sf_schema_destroy(s);
}

/* A record whose label is each entry of the UTF-8 table: an invalid one
 * goes to the DLQ as binary, naming the byte's position; a valid one is
 * scored (as an unknown label) and its prediction is valid JSON that gives
 * the label back. The record's labels of bad-inputs/invalid_utf8_label.csv
 * are in the table. */
static void test_decode_utf8_labels(void) {
        sf_schema_t *s = kdd_schema();
        sf_encoder_t *e = s ? kdd_encoder(s) : NULL;
        sf_score_decoder_t d;
        sf_row_t row = {0};
        if (!e || sf_score_decoder_init(&d, s, e, SF_SCORE_AUTO) || sf_row_init(&row, s)) goto out;
        for (size_t i = 0; i < SF_ARRAY_SIZE(utf8_cases); i++) {
                const utf8_case_t *c = &utf8_cases[i];
                char rec[1024], err[256] = "", json[2048];
                int n = snprintf(rec, sizeof(rec), "%s,%s,21", ROW, c->text);
                size_t label_at = strlen(ROW) + 1;
                sf_score_info_t info;
                sf_score_reject_t r = sf_score_decode(&d, rec, (size_t)n, &row, &info, err, sizeof(err));
                if (c->valid < strlen(c->text)) {
                        char want[64];
                        snprintf(want, sizeof(want), "at position %zu (not valid UTF-8)",
                                 label_at + c->valid);
                        CHECK_MSG(r == SF_REJECT_BINARY && strstr(err, want),
                                  "%s: %s '%s', expected binary '%s'", c->name, sf_score_reject_str(r), err,
                                  want);
                        continue;
                }
                CHECK_MSG(r == SF_REJECT_NONE, "%s: %s (%s)", c->name, sf_score_reject_str(r), err);
                if (r != SF_REJECT_NONE) continue;
                float probs[5] = {0.2f, 0.2f, 0.2f, 0.2f, 0.2f};
                uint8_t status[3] = {0, 0, 0};
                sf_score_source_t src = {"connections", 0, 7, NULL, 0, 0, 0};
                CHECK(sf_score_format(&d, json, sizeof(json), probs, &row, status, &info, &src) <
                      sizeof(json));
                json_error_t jerr;
                json_t *j = json_loads(json, 0, &jerr); /* jansson refuses invalid UTF-8 */
                CHECK_MSG(j != NULL, "%s: not JSON: %s (%s)", c->name, json, jerr.text);
                if (j && c->text[0]) CHECK_STR(json_string_value(json_object_get(j, "label_value")), c->text);
                json_decref(j);
        }
        sf_score_decoder_free(&d);
out:
        sf_row_free(&row);
        sf_encoder_destroy(e);
        sf_schema_destroy(s);
}

/* bad-inputs/overflow_to_inf.csv: every row decodes (each number fits a
 * float), rows 1 and 2 overflow once scaled and are rejected as
 * non_finite naming the column, row 3 is scored. */
static void test_non_finite_after_scaling(void) {
        char err[256] = "", path[1024], line[4096];
        sf_schema_t *s = kdd_schema();
        sf_encoder_t *e = s ? kdd_encoder(s) : NULL;
        sf_score_decoder_t d;
        sf_row_t row = {0};
        FILE *fp = NULL;
        if (!e || sf_score_decoder_init(&d, s, e, SF_SCORE_CSV) || sf_row_init(&row, s)) goto out;
        const char *root = getenv("SF_ROOT");
        snprintf(path, sizeof(path), "%s/tests/data/bad-inputs/overflow_to_inf.csv", root ? root : ".");
        fp = fopen(path, "r");
        CHECK_MSG(fp != NULL, "cannot open %s", path);
        static const int cols[] = {0, 24, -1}; /* duration, serror_rate */
        int n = 0;
        while (fp && fgets(line, sizeof(line), fp) && n < 3) {
                sf_score_info_t info;
                sf_score_reject_t r = sf_score_decode(&d, line, strlen(line), &row, &info, err, sizeof(err));
                CHECK_MSG(r == SF_REJECT_NONE, "row %d: %s (%s)", n + 1, sf_score_reject_str(r), err);
                float dense[64];
                int32_t hot[3];
                uint8_t status[3];
                err[0] = '\0';
                r = sf_score_encode(&d, &row, dense, hot, status, &info, err, sizeof(err));
                int col = info.col;
                CHECK_MSG(r == (cols[n] >= 0 ? SF_REJECT_NON_FINITE : SF_REJECT_NONE) && col == cols[n],
                          "row %d: %s column %d '%s'", n + 1, sf_score_reject_str(r), col, err);
                if (cols[n] >= 0) CHECK_MSG(strncmp(err, "column", 6) != 0, "row %d: '%s'", n + 1, err);
                n++;
        }
        CHECK_INT(n, 3);
        sf_score_decoder_free(&d);
out:
        if (fp) fclose(fp);
        sf_row_free(&row);
        sf_encoder_destroy(e);
        sf_schema_destroy(s);
}

/* A model output that is NaN or infinite never becomes a prediction. */
static void test_non_finite_probs(void) {
        struct {
                float p[5];
                sf_score_reject_t want;
        } cases[] = {
                {{0.2f, 0.2f, 0.2f, 0.2f, 0.2f}, SF_REJECT_NONE},
                {{1, 0, 0, 0, 0}, SF_REJECT_NONE},
                {{NAN, 0, 0, 0, 0}, SF_REJECT_NON_FINITE},
                {{0, 0, 0, 0, NAN}, SF_REJECT_NON_FINITE},
                {{0, INFINITY, 0, 0, 0}, SF_REJECT_NON_FINITE},
                {{0, 0, -INFINITY, 0, 0}, SF_REJECT_NON_FINITE},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                char err[256] = "";
                sf_score_reject_t r = sf_score_check_probs(cases[i].p, 5, err, sizeof(err));
                CHECK_MSG(r == cases[i].want, "case %zu: %s", i, sf_score_reject_str(r));
                if (cases[i].want) CHECK_MSG(strstr(err, "not finite") != NULL, "case %zu: '%s'", i, err);
        }
        float two[2] = {0.5f, NAN};
        char err[256];
        CHECK_INT(sf_score_check_probs(two, 1, err, sizeof(err)), SF_REJECT_NONE); /* only `classes` read */
        CHECK_INT(sf_score_check_probs(two, 2, err, sizeof(err)), SF_REJECT_NON_FINITE);
        CHECK_STR(sf_score_reject_str(SF_REJECT_NON_FINITE), "non_finite");
        CHECK_STR(sf_score_reject_str(SF_REJECT_MISSING_FIELD), "missing_field");
        CHECK_STR(sf_score_reject_str(SF_REJECT_WRONG_TYPE), "wrong_type");
}

static void test_decode_good(void) {
        char buf[4096], err[256] = "";
        sf_schema_t *s = kdd_schema();
        sf_encoder_t *e = s ? kdd_encoder(s) : NULL;
        sf_score_decoder_t d;
        sf_row_t row = {0};
        sf_score_info_t info;
        if (!e || sf_score_decoder_init(&d, s, e, SF_SCORE_AUTO) || sf_row_init(&row, s)) goto out;
        CHECK_INT(sf_score_decode(&d, ROW, strlen(ROW), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(row.label, -1);
        CHECK_INT(info.unknown_label, 0);
        CHECK_NEAR(row.v[4].num, 215, 0); /* src_bytes */

        snprintf(buf, sizeof(buf), "%s,neptune,21\r\n", ROW);
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(row.label, 1); /* DoS */
        CHECK(row.v[41].len == 7 && memcmp(row.v[41].str, "neptune", 7) == 0);

        /* An unknown label: scored without a label, and flagged. */
        snprintf(buf, sizeof(buf), "%s,zeroday,3", ROW);
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(row.label, -1);
        CHECK_INT(info.unknown_label, 1);
        CHECK(row.v[41].len == 7 && memcmp(row.v[41].str, "zeroday", 7) == 0);

        /* Records of 41, 42 and 43 fields in any order (the last count is tried first). */
        static const char *const ends[] = {"", ",smurf,3", ",smurf", "", ",smurf", ",smurf,3", ",x,y,z"};
        for (int t = 0; t < 7; t++) {
                snprintf(buf, sizeof(buf), "%s%s", ROW, ends[t]);
                sf_score_reject_t r = sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err));
                CHECK_MSG(r == (t < 6 ? SF_REJECT_NONE : SF_REJECT_FIELD_COUNT), "record %d: %s", t, err);
                if (t < 6) CHECK_INT(row.label, ends[t][0] ? 1 : -1);
                if (t < 6) CHECK(row.v[41].kind == (ends[t][0] ? SF_VAL_STRING : SF_VAL_MISSING));
        }
        CHECK_MSG(strstr(err, "44 fields, expected 41 to 43") != NULL, "%s", err);
        /* Quoted fields: 41, 42 and 43 of them. */
        static const char *const tails[] = {"", ",\"neptune\"", ",neptune,\"21\""};
        for (int t = 0; t < 3; t++) {
                snprintf(buf, sizeof(buf), "0,\"tcp\",http,SF%s%s", strstr(ROW, ",215"), tails[t]);
                CHECK_MSG(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)) ==
                                  SF_REJECT_NONE,
                          "%d fields: %s", 41 + t, err);
                CHECK_INT(row.label, t ? 1 : -1);
                CHECK(row.v[1].kind == SF_VAL_STRING && row.v[1].len == 3);
        }
        snprintf(buf, sizeof(buf), "0,\"tcp\",http,SF%s,a,b,c", strstr(ROW, ",215"));
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)),
                  SF_REJECT_FIELD_COUNT);
        snprintf(buf, sizeof(buf), "0,\"tcp\",http,SF%s", strstr(ROW, ",0,0,0,0,0,1"));
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)),
                  SF_REJECT_FIELD_COUNT);

        /* The same row as JSON (leading blanks, a trailing newline), label absent or null. */
        char js[2048];
        kdd_json(s, js, sizeof(js), "label", "\"smurf\"");
        snprintf(buf, sizeof(buf), "  %s\n", js);
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(row.label, 1);
        CHECK_NEAR(row.v[4].num, 215, 0);
        kdd_json(s, js, sizeof(js), "label", "null");
        CHECK_INT(sf_score_decode(&d, js, strlen(js), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(row.label, -1);
        kdd_json(s, js, sizeof(js), "label", "\"zeroday\"");
        CHECK_INT(sf_score_decode(&d, js, strlen(js), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(info.unknown_label, 1);

        /* An unseen service decodes; encoding reports it. */
        snprintf(buf, sizeof(buf), "0,tcp,gopher9,REJ%s", strstr(ROW, ",215"));
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        float dense[64];
        int32_t hot[3];
        uint8_t status[3];
        CHECK_INT(sf_score_encode(&d, &row, dense, hot, status, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK(status[0] == SF_ENC_KNOWN && status[1] == SF_ENC_UNSEEN && status[2] == SF_ENC_KNOWN);
        CHECK(hot[1] == -1 && hot[0] >= 0);
        CHECK_INT(info.odd, 1);
        snprintf(buf, sizeof(buf), "0,tcp,private,REJ%s", strstr(ROW, ",215"));
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(sf_score_encode(&d, &row, dense, hot, status, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(info.odd, 0);
        sf_score_decoder_free(&d);
out:
        sf_row_free(&row);
        sf_encoder_destroy(e);
        sf_schema_destroy(s);
}

static json_t *format_json(const sf_score_decoder_t *d, const float *probs, const sf_row_t *row,
                           const uint8_t *status, int unknown, const sf_score_source_t *src) {
        sf_score_info_t info = {unknown, -1, 1};
        char buf[4096];
        size_t n = sf_score_format(d, buf, sizeof(buf), probs, row, status, &info, src);
        CHECK(n < sizeof(buf) && n == strlen(buf));
        json_error_t jerr;
        json_t *j = json_loads(buf, 0, &jerr);
        CHECK_MSG(j != NULL, "not JSON: %s (%s)", buf, jerr.text);
        /* too small: the size needed, nothing usable */
        CHECK(sf_score_format(d, buf, 100, probs, row, status, &info, src) >= 100);
        return j;
}

static void test_format(void) {
        sf_schema_t *s = kdd_schema();
        sf_encoder_t *e = s ? kdd_encoder(s) : NULL;
        sf_score_decoder_t d;
        sf_row_t row = {0};
        sf_score_info_t info;
        char err[256], buf[1024];
        if (!e || sf_score_decoder_init(&d, s, e, SF_SCORE_AUTO) || sf_row_init(&row, s)) goto out;
        snprintf(buf, sizeof(buf), "0,tcp,gopher,SF%s,neptune,21", strstr(ROW, ",215"));
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        float probs[5] = {0.01f, 0.9f, 0.05f, 0.0399999f, 1e-9f};
        uint8_t status[3] = {SF_ENC_KNOWN, SF_ENC_UNSEEN, SF_ENC_UNSEEN};
        sf_score_source_t src = {"connections", 3, 123456789012LL, NULL, 0, 0, 0};
        json_t *j = format_json(&d, probs, &row, status, 0, &src);
        if (j) {
                CHECK_STR(json_string_value(json_object_get(j, "class")), "DoS");
                CHECK_INT(json_integer_value(json_object_get(j, "class_index")), 1);
                CHECK_NEAR(json_real_value(json_object_get(j, "confidence")), 0.9, 1e-6);
                json_t *p = json_object_get(j, "probabilities");
                CHECK_NEAR(json_real_value(json_object_get(p, "R2L")), 0.04, 1e-6);
                CHECK_NEAR(json_real_value(json_object_get(p, "U2R")), 0.0, 1e-9);
                CHECK_STR(json_string_value(json_object_get(j, "topic")), "connections");
                CHECK_INT(json_integer_value(json_object_get(j, "partition")), 3);
                CHECK_INT(json_integer_value(json_object_get(j, "offset")), 123456789012LL);
                CHECK_STR(json_string_value(json_object_get(j, "label")), "DoS");
                CHECK_INT(json_integer_value(json_object_get(j, "label_index")), 1);
                CHECK_STR(json_string_value(json_object_get(j, "label_value")), "neptune");
                json_t *u = json_object_get(j, "unseen");
                CHECK_INT(json_array_size(u), 2);
                CHECK_STR(json_string_value(json_array_get(u, 0)), "service");
                CHECK_STR(json_string_value(json_array_get(u, 1)), "flag");
                CHECK(json_object_get(j, "unknown_label") == NULL);
                CHECK(json_object_get(j, "missing") == NULL);
                CHECK(json_object_get(j, "file") == NULL);
                CHECK(json_object_get(j, "index") == NULL);
        }
        json_decref(j);
        /* A record of a message of many: its index follows the offset. */
        src.indexed = 1, src.index = 4;
        j = format_json(&d, probs, &row, status, 0, &src);
        CHECK_INT(json_integer_value(json_object_get(j, "index")), 4);
        CHECK_INT(json_integer_value(json_object_get(j, "offset")), 123456789012LL);
        json_decref(j);
        /* An unknown label with characters JSON must escape, a missing
         * number and a missing category; a file source. */
        snprintf(buf, sizeof(buf), ",,gopher,SF%s,\"a\"\"b\\c\td\",21", strstr(ROW, ",215"));
        CHECK_INT(sf_score_decode(&d, buf, strlen(buf), &row, &info, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(info.unknown_label, 1);
        float tie[5] = {0.2f, 0.2f, 0.2f, 0.2f, 0.2f};
        uint8_t st2[3] = {SF_ENC_MISSING, SF_ENC_UNSEEN, SF_ENC_KNOWN};
        sf_score_source_t file = {NULL, 0, 0, "rows \"1\".csv", 17, 0, 0};
        j = format_json(&d, tie, &row, st2, 1, &file);
        if (j) {
                CHECK_STR(json_string_value(json_object_get(j, "label_value")), "a\"b\\c\td");
                CHECK(json_is_true(json_object_get(j, "unknown_label")));
                CHECK(json_object_get(j, "label") == NULL);
                CHECK_STR(json_string_value(json_object_get(j, "class")), "normal"); /* first on ties */
                CHECK_STR(json_string_value(json_object_get(j, "file")), "rows \"1\".csv");
                CHECK_INT(json_integer_value(json_object_get(j, "line")), 17);
                CHECK(json_object_get(j, "topic") == NULL);
                json_t *m = json_object_get(j, "missing");
                CHECK_INT(json_array_size(m), 2);
                CHECK_STR(json_string_value(json_array_get(m, 0)), "duration");
                CHECK_STR(json_string_value(json_array_get(m, 1)), "protocol_type");
                CHECK_INT(json_array_size(json_object_get(j, "unseen")), 1);
        }
        json_decref(j);
        sf_score_decoder_free(&d);
out:
        sf_row_free(&row);
        sf_encoder_destroy(e);
        sf_schema_destroy(s);
}

/* A message value of many records: CSV records (a quoted line break
 * stays in its record), JSON lines, blank lines and line ends that are not
 * records, and a message of more records than the limit. */
static void test_split(void) {
        static const struct {
                sf_score_format_t format;
                const char *in;
                const char *recs[5];
        } cases[] = {
                {SF_SCORE_CSV, "1,a\n2,b\n3,c\n", {"1,a", "2,b", "3,c"}},
                {SF_SCORE_CSV, "1,\"a\nb\",x\r\n\r\n  \n2,b", {"1,\"a\nb\",x", "2,b"}},
                {SF_SCORE_CSV, "\n\n", {NULL}},
                {SF_SCORE_CSV, "", {NULL}},
                {SF_SCORE_CSV, "1,a\"b\n2,c", {"1,a\"b", "2,c"}},
                {SF_SCORE_JSON, "{\"a\":1}\n\n{\"a\":\"x,\\\"y\"}\r\n", {"{\"a\":1}", "{\"a\":\"x,\\\"y\"}"}},
                {SF_SCORE_AUTO, " \n{\"a\":\"\\\"\"}\n{\"b\":2}", {"{\"a\":\"\\\"\"}", "{\"b\":2}"}},
                {SF_SCORE_AUTO, "1,\"{\n}\"\n2", {"1,\"{\n}\"", "2"}},
                {SF_SCORE_JSON, "{\"a\":\"\n\"}", {"{\"a\":\"", "\"}"}}, /* a raw line break ends a line */
        };
        sf_score_span_t spans[6];
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                const char *in = cases[c].in;
                size_t n = sf_score_split(cases[c].format, in, strlen(in), spans, 5), want = 0;
                while (want < 5 && cases[c].recs[want]) want++;
                CHECK_MSG(n == want, "case %zu: %zu records, expected %zu", c, n, want);
                for (size_t i = 0; i < n && i < want; i++)
                        CHECK_MSG(spans[i].len == strlen(cases[c].recs[i]) &&
                                          memcmp(in + spans[i].off, cases[c].recs[i], spans[i].len) == 0,
                                  "case %zu record %zu: \"%.*s\"", c, i, (int)spans[i].len,
                                  in + spans[i].off);
        }
        /* More than max: counted to max + 1, no further. */
        const char *seven = "1\n2\n3\n4\n5\n6\n7\n";
        CHECK_INT(sf_score_split(SF_SCORE_CSV, seven, strlen(seven), spans, 5), 6);
        CHECK_INT(sf_score_split(SF_SCORE_CSV, seven, 10, spans, 5), 5);
}

/* A CSV record as a JSON object decodes to the same row as the record;
 * quoted commas, line breaks and quotes survive; empty fields are null. */
static void test_csv_to_json(void) {
        static const char *schema_text =
                "{\"header\": true, \"columns\": [{\"name\": \"a\", \"type\": \"numeric\"},"
                "{\"name\": \"b \\\"q\\\"\", \"type\": \"categorical\"}, {\"name\": \"y\", \"type\": "
                "\"label\","
                "\"classes\": [\"no\", \"yes\"]}, {\"name\": \"z\", \"type\": \"ignore\"}]}";
        static const struct {
                const char *csv, *json;
        } cases[] = {
                {"1.5,x,yes,3", "{\"a\":1.5,\"b \\\"q\\\"\":\"x\",\"y\":\"yes\",\"z\":3}"},
                {",\"\",,", "{\"a\":null,\"b \\\"q\\\"\":\"\",\"y\":null,\"z\":null}"},
                {".5,\"x, \"\"y\"\"\nz\",no,w",
                 "{\"a\":0.5,\"b \\\"q\\\"\":\"x, \\\"y\\\"\\nz\",\"y\":\"no\",\"z\":\"w\"}"},
                {"abc,x,no,-0", "{\"a\":\"abc\",\"b \\\"q\\\"\":\"x\",\"y\":\"no\",\"z\":-0}"},
                {"\"2e3\",caf\xc3\xa9,no,1e",
                 "{\"a\":2e3,\"b \\\"q\\\"\":\"caf\xc3\xa9\",\"y\":\"no\",\"z\":\"1e\"}"},
        };
        char err[512], json[1024], scratch[256];
        sf_schema_t *s = sf_schema_parse(schema_text, strlen(schema_text), "test", err, sizeof(err));
        CHECK_MSG(s != NULL, "%s", err);
        sf_score_decoder_t d;
        sf_row_t a = {0}, b = {0};
        if (!s || sf_score_decoder_init(&d, s, NULL, SF_SCORE_AUTO) || sf_row_init(&a, s) ||
            sf_row_init(&b, s))
                goto out;
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                sf_csv_field_t f[8];
                int nf, bad;
                const char *why;
                CHECK(sf_csv_split(cases[i].csv, strlen(cases[i].csv), f, 8, &nf, scratch, &bad, &why) ==
                      SF_CSV_OK);
                size_t n = sf_score_csv_to_json(&d, f, nf, json, sizeof(json));
                CHECK_MSG(n < sizeof(json) && strcmp(json, cases[i].json) == 0, "case %zu: %s", i, json);
                CHECK(sf_score_csv_to_json(&d, f, nf, json, 10) >= 10);
                sf_row_error_t ea, eb;
                int ra = sf_row_from_csv_text(s, cases[i].csv, strlen(cases[i].csv), &a, &ea);
                int rb = sf_row_from_json(s, json, n, &b, &eb);
                if (i == 3) { /* text in a number: refused both ways */
                        CHECK(ra != 0 && rb != 0 && eb.reason == SF_ROW_WRONG_TYPE);
                        continue;
                }
                CHECK_MSG(ra == 0 && rb == 0, "case %zu: %s / %s", i, ea.msg, eb.msg);
                CHECK(a.label == b.label);
                for (int c = 0; ra == 0 && rb == 0 && c < 3; c++) {
                        CHECK(a.v[c].kind == b.v[c].kind && a.v[c].num == b.v[c].num &&
                              a.v[c].len == b.v[c].len);
                        if (a.v[c].kind == SF_VAL_STRING)
                                CHECK(memcmp(a.v[c].str, b.v[c].str, a.v[c].len) == 0);
                }
        }
        sf_score_decoder_free(&d);
out:
        sf_row_free(&a);
        sf_row_free(&b);
        sf_schema_destroy(s);
}

/* Default instance ids: distinct for scorers of one group on one host,
 * the freed one reused by the next (a restart after a crash), per group. */
static void test_instance_ids(void) {
        char dir[] = "/tmp/sf-test-instance-XXXXXX", err[512], host[128] = "", want[300];
        CHECK(mkdtemp(dir) != NULL);
        const char *old = getenv("TMPDIR");
        char *saved = old ? strdup(old) : NULL;
        setenv("TMPDIR", dir, 1);
        gethostname(host, sizeof(host) - 1);
        sf_score_instance_t a, b, c, d;
        CHECK_MSG(sf_score_instance_acquire("g", &a, err, sizeof(err)) == 0, "%s", err);
        CHECK_MSG(sf_score_instance_acquire("g", &b, err, sizeof(err)) == 0, "%s", err);
        snprintf(want, sizeof(want), "%s-0", host);
        CHECK_STR(a.id, want);
        snprintf(want, sizeof(want), "%s-1", host);
        CHECK_STR(b.id, want);
        sf_score_instance_release(&a); /* a dies: the next one takes its id */
        CHECK_MSG(sf_score_instance_acquire("g", &c, err, sizeof(err)) == 0, "%s", err);
        snprintf(want, sizeof(want), "%s-0", host);
        CHECK_STR(c.id, want);
        CHECK_MSG(sf_score_instance_acquire("other/group", &d, err, sizeof(err)) == 0, "%s", err);
        CHECK_STR(d.id, want); /* another group has slots of its own */
        sf_score_instance_release(&b);
        sf_score_instance_release(&c);
        sf_score_instance_release(&d);
        sf_score_instance_release(&d); /* twice is harmless */

        CHECK(sf_score_instance_named("scorer-a", &a, err, sizeof(err)) == 0);
        CHECK_STR(a.id, "scorer-a");
        CHECK_INT(a.lock_fd, -1);
        CHECK(sf_score_instance_named("", &a, err, sizeof(err)) < 0);
        CHECK(sf_score_instance_named("two words", &a, err, sizeof(err)) < 0);
        CHECK(sf_score_instance_named("tab\there", &a, err, sizeof(err)) < 0);

        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
        if (saved)
                setenv("TMPDIR", saved, 1);
        else
                unsetenv("TMPDIR");
        free(saved);
}

int main(void) {
        RUN(test_offsets_in_order);
        RUN(test_offsets_out_of_order);
        RUN(test_offsets_random);
        RUN(test_offsets_many_outputs);
        RUN(test_offsets_reset_rewind);
        RUN(test_offsets_late_ack_after_reset);
        RUN(test_offsets_ranges);
        RUN(test_offsets_ranges_random);
        RUN(test_hist);
        RUN(test_decode_rejects);
        RUN(test_decode_utf8_labels);
        RUN(test_non_finite_after_scaling);
        RUN(test_non_finite_probs);
        RUN(test_decode_good);
        RUN(test_format);
        RUN(test_csv_to_json);
        RUN(test_split);
        RUN(test_instance_ids);
        return TEST_DONE();
}
