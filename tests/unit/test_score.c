/* The scorer's building blocks: offset tracking for at-least-once commits,
 * the latency histogram, record checks (DLQ reasons) and prediction JSON. */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "score/hist.h"
#include "score/instance.h"
#include "score/offsets.h"
#include "score/record.h"
#include "test.h"
#include "utf8_cases.h"
#include "util/lines.h"
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
 * added again) does too; late acknowledgements are then ignored. */
static void test_offsets_reset_rewind(void) {
        sf_score_offsets_t *t = sf_score_offsets_new();
        if (!t) return;
        for (int o = 0; o < 5; o++) sf_score_offsets_add(t, 1, o);
        sf_score_offsets_ack(t, 1, 0);
        sf_score_offsets_reset(t, 1);
        CHECK_INT(sf_score_offsets_inflight(t, 1), 0);
        CHECK_INT(sf_score_offsets_commit_pos(t, 1), -1);
        CHECK_INT(sf_score_offsets_ack(t, 1, 1), 0);
        for (int o = 3; o < 6; o++) sf_score_offsets_add(t, 1, o);
        sf_score_offsets_add(t, 1, 4); /* rewound to 4 */
        CHECK_INT(sf_score_offsets_inflight(t, 1), 1);
        CHECK_INT(sf_score_offsets_ack(t, 1, 3), 0);
        CHECK_INT(sf_score_offsets_ack(t, 1, 4), 1);
        CHECK_INT(sf_score_offsets_commit_pos(t, 1), 5);
        CHECK_INT(sf_score_offsets_add(t, -1, 0), -1);
        sf_score_offsets_destroy(t);
        sf_score_offsets_destroy(NULL);
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

/* One table row: a record, the reason expected, a word its message holds. */
typedef struct {
        const char *name;
        const char *value;
        size_t len; /* 0: strlen */
        sf_score_reject_t reason;
        const char *says;
} reject_case_t;

static void test_parse_rejects(void) {
        char buf[8192];
        static char nul[300];
        snprintf(nul, sizeof(nul), "%s,normal", ROW);
        nul[5] = '\0';
        reject_case_t cases[] = {
                {"empty", "", 0, SF_REJECT_EMPTY, "empty"},
                {"only newline", "\r\n", 2, SF_REJECT_EMPTY, "empty"},
                {"one field", "hello", 0, SF_REJECT_FIELD_COUNT, "1 fields"},
                {"NUL byte", nul, strlen(ROW) + 7, SF_REJECT_BINARY, "0x00"},
                {"bad utf-8", "\xff\xfe,tcp", 0, SF_REJECT_BINARY, "0xff"},
                {"control byte", "0,tcp\x01,http", 0, SF_REJECT_BINARY, "0x01"},
                {"text in a number", NULL, 0, SF_REJECT_NON_NUMERIC, "src_bytes"},
                {"nan", NULL, 0, SF_REJECT_NON_FINITE, "field 1 \\(duration\\)"},
                {"inf", NULL, 0, SF_REJECT_NON_FINITE, "dst_bytes"},
                {"float overflow", NULL, 0, SF_REJECT_NON_FINITE, "duration"},
                {"44 fields", NULL, 0, SF_REJECT_FIELD_COUNT, "44 fields"},
                {"bad difficulty", NULL, 0, SF_REJECT_NON_NUMERIC, "difficulty"},
                {"empty numeric", NULL, 0, SF_REJECT_NON_NUMERIC, "duration"},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                reject_case_t *c = &cases[i];
                if (!c->value) {
                        const char *row2 = ROW + 1; /* ROW without its first field's value */
                        if (strcmp(c->name, "text in a number") == 0)
                                snprintf(buf, sizeof(buf), "0,tcp,http,SF,abc,45076%s",
                                         strstr(ROW, ",0,0,0,0,0,1"));
                        else if (strcmp(c->name, "nan") == 0)
                                snprintf(buf, sizeof(buf), "nan%s,normal", row2);
                        else if (strcmp(c->name, "inf") == 0)
                                snprintf(buf, sizeof(buf), "0,tcp,http,SF,215,inf%s",
                                         strstr(ROW, ",0,0,0,0,0,1"));
                        else if (strcmp(c->name, "float overflow") == 0)
                                snprintf(buf, sizeof(buf), "1e300%s", row2);
                        else if (strcmp(c->name, "44 fields") == 0)
                                snprintf(buf, sizeof(buf), "%s,normal,21,x", ROW);
                        else if (strcmp(c->name, "bad difficulty") == 0)
                                snprintf(buf, sizeof(buf), "%s,normal,hard", ROW);
                        else
                                snprintf(buf, sizeof(buf), "%s", row2);
                        c->value = buf;
                }
                size_t len = c->len ? c->len : strlen(c->value);
                sf_kdd_row_t row;
                int unknown = 0;
                char err[256] = "";
                sf_score_reject_t r = sf_score_parse(c->value, len, &row, &unknown, err, sizeof(err));
                CHECK_MSG(r == c->reason, "%s: reason %s, expected %s (%s)", c->name, sf_score_reject_str(r),
                          sf_score_reject_str(c->reason), err);
                /* the message names the field: a plain substring check after removing regex escapes */
                char plain[128];
                size_t k = 0;
                for (const char *s = c->says; *s && k + 1 < sizeof(plain); s++)
                        if (*s != '\\') plain[k++] = *s;
                plain[k] = '\0';
                CHECK_MSG(strstr(err, plain) != NULL, "%s: message '%s' lacks '%s'", c->name, err, plain);
        }
        /* Too long: one byte over the limit. */
        size_t n = SF_KDD_MAX_LINE + 1;
        char *big = malloc(n);
        if (big) {
                memset(big, '1', n);
                sf_kdd_row_t row;
                int unknown;
                char err[256];
                CHECK_INT(sf_score_parse(big, n, &row, &unknown, err, sizeof(err)), SF_REJECT_TOO_LONG);
                free(big);
        }
}

/* A record whose label is each entry of the UTF-8 table: an invalid one
 * goes to the DLQ as binary, naming the byte's position; a valid one is
 * scored (as an unknown label) and its prediction is valid JSON that gives
 * the label back. The record's labels of bad-inputs/invalid_utf8_label.csv
 * are in the table. */
static void test_parse_utf8_labels(void) {
        for (size_t i = 0; i < SF_ARRAY_SIZE(utf8_cases); i++) {
                const utf8_case_t *c = &utf8_cases[i];
                char rec[1024], err[256] = "", json[512];
                int n = snprintf(rec, sizeof(rec), "%s,%s,21", ROW, c->text);
                size_t label_at = strlen(ROW) + 1;
                sf_kdd_row_t row;
                int unknown = 0;
                sf_score_reject_t r = sf_score_parse(rec, (size_t)n, &row, &unknown, err, sizeof(err));
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
                sf_score_source_t src = {"connections", 0, 7};
                CHECK(sf_score_format(json, sizeof(json), probs, &row, 0, unknown, &src) > 0);
                json_error_t jerr;
                json_t *j = json_loads(json, 0, &jerr); /* jansson refuses invalid UTF-8 */
                CHECK_MSG(j != NULL, "%s: not JSON: %s (%s)", c->name, json, jerr.text);
                if (j) CHECK_STR(json_string_value(json_object_get(j, "attack")), c->text);
                json_decref(j);
        }
}

/* bad-inputs/overflow_to_inf.csv: every row parses (each number fits a
 * float), rows 1 and 2 overflow once scaled and are rejected as
 * non_finite naming the column, row 3 is scored. */
static void test_non_finite_after_scaling(void) {
        const char *proto[] = {"tcp"}, *service[] = {"private"}, *flag[] = {"REJ"};
        float mean[SF_KDD_NNUMERIC], std[SF_KDD_NNUMERIC];
        for (int j = 0; j < SF_KDD_NNUMERIC; j++) mean[j] = 0, std[j] = 1;
        std[0] = 0.5f;  /* duration */
        std[21] = 0.1f; /* serror_rate */
        char err[256] = "", path[1024], line[4096];
        sf_kdd_encoder_t *e = sf_kdd_encoder_new(1, proto, 1, service, 1, flag, mean, std, err, sizeof(err));
        CHECK_MSG(e != NULL, "%s", err);
        const char *root = getenv("SF_ROOT");
        snprintf(path, sizeof(path), "%s/tests/data/bad-inputs/overflow_to_inf.csv", root ? root : ".");
        FILE *fp = fopen(path, "r");
        CHECK_MSG(fp != NULL, "cannot open %s", path);
        if (!fp || !e) goto out;
        static const char *const says[] = {"field 1 (duration)", "field 25 (serror_rate)", NULL};
        int n = 0;
        while (fgets(line, sizeof(line), fp) && n < 3) {
                sf_kdd_row_t row;
                int unknown = 0;
                sf_score_reject_t r = sf_score_parse(line, strlen(line), &row, &unknown, err, sizeof(err));
                CHECK_MSG(r == SF_REJECT_NONE, "row %d: %s (%s)", n + 1, sf_score_reject_str(r), err);
                float num[SF_KDD_NNUMERIC];
                int32_t hot[3];
                sf_kdd_encode_sparse(e, &row, num, hot);
                err[0] = '\0';
                r = sf_score_check_encoded(&row, num, err, sizeof(err));
                if (says[n])
                        CHECK_MSG(r == SF_REJECT_NON_FINITE && strstr(err, says[n]), "row %d: %s '%s'", n + 1,
                                  sf_score_reject_str(r), err);
                else
                        CHECK_MSG(r == SF_REJECT_NONE, "row %d: %s '%s'", n + 1, sf_score_reject_str(r), err);
                n++;
        }
        CHECK_INT(n, 3);
out:
        if (fp) fclose(fp);
        sf_kdd_encoder_destroy(e);
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
                sf_score_reject_t r = sf_score_check_probs(cases[i].p, err, sizeof(err));
                CHECK_MSG(r == cases[i].want, "case %zu: %s", i, sf_score_reject_str(r));
                if (cases[i].want) CHECK_MSG(strstr(err, "not finite") != NULL, "case %zu: '%s'", i, err);
        }
        CHECK_STR(sf_score_reject_str(SF_REJECT_NON_FINITE), "non_finite");
}

static void test_parse_good(void) {
        char buf[1024];
        sf_kdd_row_t row;
        int unknown = 1;
        char err[256] = "";
        CHECK_INT(sf_score_parse(ROW, strlen(ROW), &row, &unknown, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(row.label, -1);
        CHECK_INT(unknown, 0);
        CHECK_NEAR(row.num[1], 215, 0); /* src_bytes: numeric column 1 */
        CHECK_STR(row.service, "http");

        snprintf(buf, sizeof(buf), "%s,neptune,21\r\n", ROW);
        CHECK_INT(sf_score_parse(buf, strlen(buf), &row, &unknown, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(row.label, SF_CLASS_DOS);
        CHECK_STR(row.label_name, "neptune");
        CHECK_INT(row.difficulty, 21);

        /* An unknown label: scored without a label, and flagged. */
        snprintf(buf, sizeof(buf), "%s,zeroday", ROW);
        CHECK_INT(sf_score_parse(buf, strlen(buf), &row, &unknown, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_INT(row.label, -1);
        CHECK_INT(unknown, 1);
        CHECK_STR(row.label_name, "zeroday");

        /* An unseen service parses; encoding reports it, not parsing. */
        snprintf(buf, sizeof(buf), "0,tcp,gopher9,SF%s", strstr(ROW, ",215"));
        CHECK_INT(sf_score_parse(buf, strlen(buf), &row, &unknown, err, sizeof(err)), SF_REJECT_NONE);
        CHECK_STR(row.service, "gopher9");
}

/* One value through sf_score_parse and sf_score_parse_full: 1 when both
 * give the same verdict, message, row and unknown-label flag. */
static int same_parse(const char *text, size_t n, int *accepted) {
        sf_kdd_row_t a, b;
        char ea[256] = "", eb[256] = "";
        int ua = 7, ub = 7;
        memset(&a, 0x55, sizeof(a));
        memset(&b, 0x55, sizeof(b));
        sf_score_reject_t ra = sf_score_parse(text, n, &a, &ua, ea, sizeof(ea));
        sf_score_reject_t rb = sf_score_parse_full(text, n, &b, &ub, eb, sizeof(eb));
        int same = ra == rb && ua == ub && (ra == SF_REJECT_NONE || strcmp(ea, eb) == 0);
        if (same && ra == SF_REJECT_NONE)
                same = memcmp(a.num, b.num, sizeof(a.num)) == 0 && !strcmp(a.proto, b.proto) &&
                       !strcmp(a.service, b.service) && !strcmp(a.flag, b.flag) && a.label == b.label &&
                       !strcmp(a.label_name, b.label_name) && a.difficulty == b.difficulty;
        if (!same)
                printf("#   \"%.*s\": %s \"%s\" unknown %d, full parser %s \"%s\" unknown %d\n",
                       (int)(n > 200 ? 200 : n), text, sf_score_reject_str(ra), ea, ua,
                       sf_score_reject_str(rb), eb, ub);
        *accepted += ra == SF_REJECT_NONE;
        return same;
}

/* The one-pass fast path gives what the full checks give: on shipped rows,
 * on label and difficulty forms at its edges, and on 100,000 damaged
 * copies. */
static void test_parse_fast_matches_full(void) {
        const char *root = getenv("SF_ROOT");
        char path[1024], err[256], buf[1024], *out = malloc(65536);
        snprintf(path, sizeof(path), "%s/data/nsl-kdd/KDDTest+.txt.gz", root ? root : ".");
        sf_lines_t *lr = sf_lines_open(path, 0, err, sizeof(err));
        CHECK_MSG(lr != NULL, "%s", err);
        if (!lr || !out) {
                free(out);
                sf_lines_close(lr);
                return;
        }
        static const char *const tails[] = {"",           ",normal",         ",zeroday",        ",normal,0",
                                            ",normal,21", ",normal,1000000", ",normal,1000001", ",normal,+5",
                                            ",normal, 5", ",normal,5 ",      ",normal,",        ",,5",
                                            ",zeroday,7", ",normal,5,",      ",nórmal,5",       ",normal,05"};
        int differ = 0, accepted = 0, rows = 0;
        for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
                snprintf(buf, sizeof(buf), "%s%s", ROW, tails[i]);
                differ += !same_parse(buf, strlen(buf), &accepted);
        }
        CHECK_INT(accepted, 11); /* all but 1000001, "5 ", the empty ones and a 44th field */
        uint64_t state = 7;
        const char *line;
        size_t len;
        uint64_t lineno;
        while (rows < 1000 && sf_lines_next(lr, &line, &len, &lineno, err, sizeof(err)) == SF_LINES_OK) {
                rows++;
                differ += !same_parse(line, len, &accepted);
                for (int m = 0; m < 100; m++) {
                        size_t n = fuzz_mutate(&state, line, len, out, 65536);
                        differ += !same_parse(out, n, &accepted);
                }
        }
        sf_lines_close(lr);
        free(out);
        CHECK_INT(differ, 0);
        CHECK_MSG(rows == 1000 && accepted > 20000, "%d rows, %d accepted", rows, accepted);
}

static void test_format(void) {
        sf_kdd_row_t row;
        memset(&row, 0, sizeof(row));
        row.label = SF_CLASS_DOS;
        snprintf(row.label_name, sizeof(row.label_name), "neptune");
        float probs[5] = {0.01f, 0.9f, 0.05f, 0.0399999f, 1e-9f};
        sf_score_source_t src = {"connections", 3, 123456789012LL};
        char buf[512];
        size_t n = sf_score_format(buf, sizeof(buf), probs, &row, SF_KDD_UNSEEN_SERVICE | SF_KDD_UNSEEN_FLAG,
                                   0, &src);
        CHECK(n > 0 && n == strlen(buf));
        json_error_t jerr;
        json_t *j = json_loads(buf, 0, &jerr);
        CHECK_MSG(j != NULL, "not JSON: %s (%s)", buf, jerr.text);
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
                CHECK_STR(json_string_value(json_object_get(j, "attack")), "neptune");
                json_t *u = json_object_get(j, "unseen");
                CHECK_INT(json_array_size(u), 2);
                CHECK_STR(json_string_value(json_array_get(u, 0)), "service");
                CHECK_STR(json_string_value(json_array_get(u, 1)), "flag");
                CHECK(json_object_get(j, "unknown_label") == NULL);
                json_decref(j);
        }
        /* Unknown label with characters JSON must escape; no label fields. */
        row.label = -1;
        snprintf(row.label_name, sizeof(row.label_name), "a\"b\\c\td");
        float tie[5] = {0.2f, 0.2f, 0.2f, 0.2f, 0.2f};
        n = sf_score_format(buf, sizeof(buf), tie, &row, 0, 1, &src);
        j = json_loads(buf, 0, &jerr);
        CHECK_MSG(j != NULL, "not JSON: %s", buf);
        if (j) {
                CHECK_STR(json_string_value(json_object_get(j, "attack")), "a\"b\\c\td");
                CHECK(json_is_true(json_object_get(j, "unknown_label")));
                CHECK(json_object_get(j, "label") == NULL);
                CHECK_STR(json_string_value(json_object_get(j, "class")), "normal"); /* first on ties */
                CHECK(json_object_get(j, "unseen") == NULL);
                json_decref(j);
        }
        CHECK_INT(sf_score_format(buf, 100, tie, &row, 0, 1, &src), 0);
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
        RUN(test_offsets_reset_rewind);
        RUN(test_hist);
        RUN(test_parse_rejects);
        RUN(test_parse_utf8_labels);
        RUN(test_non_finite_after_scaling);
        RUN(test_non_finite_probs);
        RUN(test_parse_good);
        RUN(test_parse_fast_matches_full);
        RUN(test_format);
        RUN(test_instance_ids);
        return TEST_DONE();
}
