/* Metrics and the classification report against a hand-checked confusion
 * matrix and against sklearn's text for k = 2, 3 and 7 classes; ROC AUC and
 * average precision by hand and against sklearn run at test time; the
 * TensorBoard writer against an independent decoder, hand-made protobuf
 * bytes and corrupted files. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report/metrics.h"
#include "report/tfevents.h"
#include "report/tfevents_read.h"
#include "test.h"

static char tmpdir[512];

/* The hand-checked matrix (rows true, columns predicted):
 *
 *            normal DoS Probe R2L U2R | support
 *   normal      5    1    0    0   0  |   6
 *   DoS         1    3    0    0   0  |   4
 *   Probe       0    0    2    1   0  |   3
 *   R2L         1    0    0    1   0  |   2
 *   U2R         0    0    0    0   0  |   0
 *   predicted   7    4    2    2   0     15, correct 5+3+2+1 = 11
 *
 *   normal  P = 5/7 = 0.714286  R = 5/6 = 0.833333  F1 = 2*5/(7+6) = 10/13 = 0.769231
 *   DoS     P = 3/4 = 0.75      R = 3/4 = 0.75      F1 = 6/8 = 0.75
 *   Probe   P = 2/2 = 1         R = 2/3 = 0.666667  F1 = 4/5 = 0.8
 *   R2L     P = 1/2 = 0.5       R = 1/2 = 0.5       F1 = 2/4 = 0.5
 *   U2R     nothing predicted, no support: 0, 0, 0 (zero_division=0)
 *   accuracy 11/15 = 0.733333
 *   macro    P = (5/7 + .75 + 1 + .5 + 0)/5 = 0.592857
 *            R = (5/6 + .75 + 2/3 + .5 + 0)/5 = 0.55
 *            F1 = (10/13 + .75 + .8 + .5 + 0)/5 = 0.563846
 *   weighted P = (5/7*6 + .75*4 + 1*3 + .5*2)/15 = 0.752381
 *            R = 11/15 = 0.733333
 *            F1 = (10/13*6 + .75*4 + .8*3 + .5*2)/15 = 0.734359 */
static void hand_matrix(sf_confusion_t *cm) {
        static const int m[5][5] = {
                {5, 1, 0, 0, 0}, {1, 3, 0, 0, 0}, {0, 0, 2, 1, 0}, {1, 0, 0, 1, 0}, {0, 0, 0, 0, 0},
        };
        char err[256];
        CHECK(sf_confusion_init(cm, 5, err, sizeof(err)) == 0);
        for (int t = 0; t < 5; t++)
                for (int p = 0; p < 5; p++)
                        for (int k = 0; k < m[t][p]; k++) sf_confusion_add(cm, t, p);
}

/* sklearn's layout for that matrix, digits=4: width = max(len("normal"),
 * len("weighted avg"), 4) = 12; head "{:>12s} " + " {:>9}" * 4; rows
 * "{:>12s} " + " {:>9.4f}" * 3 + " {:>9}"; the accuracy row leaves the
 * precision and recall columns blank. */
static const char *expected_report = "              precision    recall  f1-score   support\n"
                                     "\n"
                                     "      normal     0.7143    0.8333    0.7692         6\n"
                                     "         DoS     0.7500    0.7500    0.7500         4\n"
                                     "       Probe     1.0000    0.6667    0.8000         3\n"
                                     "         R2L     0.5000    0.5000    0.5000         2\n"
                                     "         U2R     0.0000    0.0000    0.0000         0\n"
                                     "\n"
                                     "    accuracy                         0.7333        15\n"
                                     "   macro avg     0.5929    0.5500    0.5638        15\n"
                                     "weighted avg     0.7524    0.7333    0.7344        15\n";

static void test_confusion_add(void) {
        sf_confusion_t cm;
        char err[256];
        CHECK(sf_confusion_init(&cm, 5, err, sizeof(err)) == 0);
        CHECK(sf_confusion_add(&cm, 0, 4) == 0);
        CHECK(sf_confusion_add(&cm, 5, 0) == -1);
        CHECK(sf_confusion_add(&cm, 0, -1) == -1);
        CHECK(sf_confusion_add(&cm, -1, 0) == -1);
        int64_t total = 0;
        for (int t = 0; t < 5; t++)
                for (int p = 0; p < 5; p++) total += sf_confusion_count(&cm, t, p);
        CHECK_INT(total, 1);
        CHECK_INT(sf_confusion_count(&cm, 0, 4), 1);
        CHECK_INT(sf_confusion_count(&cm, 0, 5), 0);
        CHECK(sf_confusion_add_scored(&cm, 0, 0, 0.5f) == -1); /* scores need two classes */
        sf_confusion_destroy(&cm);
        sf_confusion_destroy(&cm); /* twice is harmless */
        /* the number of classes is checked */
        CHECK(sf_confusion_init(&cm, 1, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "1 classes, expected 2 to 1000") != NULL, "%s", err);
        CHECK(sf_confusion_init(&cm, SF_METRICS_MAX_CLASSES + 1, err, sizeof(err)) == -1);
        CHECK(sf_confusion_init(&cm, SF_METRICS_MAX_CLASSES, err, sizeof(err)) == 0);
        CHECK(sf_confusion_add(&cm, 999, 998) == 0);
        CHECK(sf_confusion_add(&cm, 1000, 0) == -1);
        CHECK_INT(sf_confusion_count(&cm, 999, 998), 1);
        sf_confusion_destroy(&cm);
}

static void test_metrics_hand_checked(void) {
        sf_confusion_t cm;
        sf_metrics_t m;
        hand_matrix(&cm);
        CHECK(sf_metrics_compute(&cm, &m) == 0);
        CHECK_NEAR(m.precision[0], 5.0 / 7, 1e-12);
        CHECK_NEAR(m.recall[0], 5.0 / 6, 1e-12);
        CHECK_NEAR(m.f1[0], 10.0 / 13, 1e-12);
        CHECK_NEAR(m.precision[1], 0.75, 1e-12);
        CHECK_NEAR(m.f1[1], 0.75, 1e-12);
        CHECK_NEAR(m.precision[2], 1.0, 1e-12);
        CHECK_NEAR(m.recall[2], 2.0 / 3, 1e-12);
        CHECK_NEAR(m.f1[2], 0.8, 1e-12);
        CHECK_NEAR(m.f1[3], 0.5, 1e-12);
        CHECK_NEAR(m.precision[4], 0, 0);
        CHECK_NEAR(m.recall[4], 0, 0);
        CHECK_NEAR(m.f1[4], 0, 0);
        CHECK_INT(m.support[0], 6);
        CHECK_INT(m.support[4], 0);
        CHECK_INT(m.total, 15);
        CHECK_NEAR(m.accuracy, 11.0 / 15, 1e-12);
        CHECK_NEAR(m.macro_precision, 0.5928571428571429, 1e-12);
        CHECK_NEAR(m.macro_recall, 0.55, 1e-12);
        CHECK_NEAR(m.macro_f1, 0.5638461538461538, 1e-12);
        CHECK_NEAR(m.weighted_precision, 0.7523809523809523, 1e-12);
        CHECK_NEAR(m.weighted_recall, 11.0 / 15, 1e-12);
        CHECK_NEAR(m.weighted_f1, 0.7343589743589743, 1e-12);

        CHECK(!m.has_binary);
        sf_metrics_destroy(&m);
        sf_confusion_destroy(&cm);

        /* an empty matrix: all zeros, no division by zero */
        char err[256];
        CHECK(sf_confusion_init(&cm, 5, err, sizeof(err)) == 0);
        CHECK(sf_metrics_compute(&cm, &m) == 0);
        CHECK_NEAR(m.accuracy, 0, 0);
        CHECK_NEAR(m.weighted_f1, 0, 0);
        CHECK_NEAR(m.macro_precision, 0, 0);
        sf_metrics_destroy(&m);
        sf_confusion_destroy(&cm);
}

static const char *const kdd_names[5] = {"normal", "DoS", "Probe", "R2L", "U2R"};

static void test_report_text(void) {
        sf_confusion_t cm;
        hand_matrix(&cm);
        char buf[4096];
        size_t n = sf_report_format(buf, sizeof(buf), &cm, kdd_names, 4);
        CHECK_INT(n, strlen(expected_report));
        CHECK_MSG(strcmp(buf, expected_report) == 0, "report differs:\n%s---expected:\n%s", buf,
                  expected_report);

        /* the FILE* form writes the same bytes */
        FILE *fp = tmpfile();
        CHECK(fp != NULL);
        if (fp) {
                CHECK(sf_report_write(fp, &cm, kdd_names, 4) == 0);
                rewind(fp);
                char back[4096];
                size_t got = fread(back, 1, sizeof(back) - 1, fp);
                back[got] = '\0';
                CHECK_STR(back, expected_report);
                fclose(fp);
        }
        /* truncation behaves like snprintf */
        char small[40];
        CHECK_INT(sf_report_format(small, sizeof(small), &cm, kdd_names, 4), strlen(expected_report));
        CHECK_INT(strlen(small), sizeof(small) - 1);
        CHECK(strncmp(small, expected_report, sizeof(small) - 1) == 0);
        CHECK_INT(sf_report_format(NULL, 0, &cm, kdd_names, 4), strlen(expected_report));

        /* digits=2 and a long name widen the columns the way sklearn does
         * (width = 15); expected text from Python's str.format with
         * sklearn's format strings */
        static const char *names[5] = {"benign-traffic!", "b", "c", "d", "e"};
        sf_report_format(buf, sizeof(buf), &cm, names, 2);
        CHECK_MSG(strcmp(buf, "                 precision    recall  f1-score   support\n"
                              "\n"
                              "benign-traffic!       0.71      0.83      0.77         6\n"
                              "              b       0.75      0.75      0.75         4\n"
                              "              c       1.00      0.67      0.80         3\n"
                              "              d       0.50      0.50      0.50         2\n"
                              "              e       0.00      0.00      0.00         0\n"
                              "\n"
                              "       accuracy                           0.73        15\n"
                              "      macro avg       0.59      0.55      0.56        15\n"
                              "   weighted avg       0.75      0.73      0.73        15\n") == 0,
                  "got:\n%s", buf);
        sf_confusion_destroy(&cm);
}

static void test_report_json(void) {
        sf_confusion_t cm;
        hand_matrix(&cm);
        json_t *j = sf_report_json(&cm, kdd_names);
        CHECK(j != NULL);
        if (!j) {
                sf_confusion_destroy(&cm);
                return;
        }
        json_t *normal = json_object_get(j, "normal");
        CHECK_NEAR(json_real_value(json_object_get(normal, "precision")), 5.0 / 7, 1e-12);
        CHECK_NEAR(json_real_value(json_object_get(normal, "recall")), 5.0 / 6, 1e-12);
        CHECK_NEAR(json_real_value(json_object_get(normal, "f1-score")), 10.0 / 13, 1e-12);
        CHECK_INT(json_integer_value(json_object_get(normal, "support")), 6);
        CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "U2R"), "support")), 0);
        CHECK_NEAR(json_real_value(json_object_get(j, "accuracy")), 11.0 / 15, 1e-12);
        CHECK_NEAR(json_real_value(json_object_get(json_object_get(j, "macro avg"), "f1-score")),
                   0.5638461538461538, 1e-12);
        CHECK_NEAR(json_real_value(json_object_get(json_object_get(j, "weighted avg"), "precision")),
                   0.7523809523809523, 1e-12);
        CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "weighted avg"), "support")), 15);
        json_t *conf = json_object_get(j, "confusion_matrix");
        json_t *labels = json_object_get(conf, "labels"), *matrix = json_object_get(conf, "matrix");
        CHECK_INT(json_array_size(labels), 5);
        CHECK_STR(json_string_value(json_array_get(labels, 3)), "R2L");
        CHECK_INT(json_array_size(matrix), 5);
        CHECK_INT(json_integer_value(json_array_get(json_array_get(matrix, 2), 3)), 1); /* Probe -> R2L */
        CHECK_INT(json_integer_value(json_array_get(json_array_get(matrix, 3), 0)), 1); /* R2L -> normal */
        CHECK_INT(json_integer_value(json_array_get(json_array_get(matrix, 0), 0)), 5);
        CHECK_INT(json_object_size(j), 9); /* 5 classes, accuracy, 2 averages, matrix */
        json_decref(j);
        sf_confusion_destroy(&cm);
}

static void test_confusion_text(void) {
        sf_confusion_t cm;
        hand_matrix(&cm);
        cm.m[1 * cm.k + 1] = 123456789; /* a wide count widens every column */
        FILE *fp = tmpfile();
        CHECK(fp != NULL);
        if (fp) CHECK(sf_confusion_write(fp, &cm, kdd_names) == 0);
        sf_confusion_destroy(&cm);
        if (!fp) return;
        rewind(fp);
        char buf[2048];
        size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        const char *expected = "true \\ pred     normal        DoS      Probe        R2L        U2R\n"
                               "normal               5          1          0          0          0\n"
                               "DoS                  1  123456789          0          0          0\n"
                               "Probe                0          0          2          1          0\n"
                               "R2L                  1          0          0          1          0\n"
                               "U2R                  0          0          0          0          0\n";
        CHECK_MSG(strcmp(buf, expected) == 0, "got:\n%s", buf);
}

/* Tables of y_true, y_pred and class names for k = 2, 3 and 7, with the
 * text of sklearn 1.2.1's
 *   classification_report(y_true, y_pred, labels=range(k),
 *                         target_names=names, digits=4, zero_division=0)
 * pasted as it printed it. The k = 2 table also has p1 (probability of
 * class 1, ties included): roc_auc_score gives 0.8402777777777777 and
 * average_precision_score 0.7327380952380952 for it. */
static const char *const k2_names[] = {"Fully Paid", "Charged Off"};
static const int k2_true[] = {0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0,
                              0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1};
static const int k2_pred[] = {0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1,
                              0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1};
static const float k2_p1[] = {0.375f,  0.75f,  0.9375f, 0.125f,  0.625f,  0.125f,  0.375f, 0.625f,
                              0.75f,   0.125f, 0.625f,  0.9375f, 0.4375f, 0.125f,  0.75f,  0.125f,
                              0.9375f, 0.125f, 0.625f,  0.25f,   0.625f,  0.4375f, 0.625f, 0.25f,
                              0.125f,  0.25f,  0.375f,  0.9375f, 0.25f,   0.625f};
static const char k2_report[] = "              precision    recall  f1-score   support\n"
                                "\n"
                                "  Fully Paid     0.9375    0.8333    0.8824        18\n"
                                " Charged Off     0.7857    0.9167    0.8462        12\n"
                                "\n"
                                "    accuracy                         0.8667        30\n"
                                "   macro avg     0.8616    0.8750    0.8643        30\n"
                                "weighted avg     0.8768    0.8667    0.8679        30\n";

static const char *const k2long_names[] = {"no", "customer-churned-within-90-days"};
static const int k2long_true[] = {1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0};
static const int k2long_pred[] = {1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1};
static const char k2long_report[] =
        "                                 precision    recall  f1-score   support\n"
        "\n"
        "                             no     0.8000    0.7273    0.7619        11\n"
        "customer-churned-within-90-days     0.8000    0.8571    0.8276        14\n"
        "\n"
        "                       accuracy                         0.8000        25\n"
        "                      macro avg     0.8000    0.7922    0.7947        25\n"
        "                   weighted avg     0.8000    0.8000    0.7987        25\n";

static const char *const k3_names[] = {"Adelie", "Chinstrap", "Gentoo"};
static const int k3_true[] = {2, 2, 2, 0, 2, 0, 2, 2, 1, 1, 1, 2, 1, 1, 0, 2, 1, 0,
                              0, 1, 2, 1, 2, 1, 2, 0, 0, 1, 2, 2, 2, 0, 1, 2, 1, 0};
static const int k3_pred[] = {2, 2, 2, 0, 0, 0, 1, 2, 2, 1, 1, 2, 2, 1, 2, 2, 2, 0,
                              1, 1, 1, 0, 2, 1, 1, 0, 0, 1, 2, 2, 1, 0, 1, 0, 1, 0};
static const char k3_report[] = "              precision    recall  f1-score   support\n"
                                "\n"
                                "      Adelie     0.7000    0.7778    0.7368         9\n"
                                "   Chinstrap     0.6154    0.6667    0.6400        12\n"
                                "      Gentoo     0.6923    0.6000    0.6429        15\n"
                                "\n"
                                "    accuracy                         0.6667        36\n"
                                "   macro avg     0.6692    0.6815    0.6732        36\n"
                                "weighted avg     0.6686    0.6667    0.6654        36\n";

/* class f has no support but one prediction, class g is never predicted */
static const char *const k7_names[] = {"a", "bb", "class-with-a-rather-long-name", "d", "e", "f", "g"};
static const int k7_true[] = {1, 0, 3, 2, 2, 1, 0, 4, 4, 0, 2, 2, 4, 2, 3, 4, 3, 6, 2, 0, 4, 0, 0, 1, 0,
                              1, 1, 6, 2, 3, 0, 6, 4, 0, 4, 1, 0, 3, 1, 1, 2, 1, 1, 6, 0, 6, 0, 1, 0, 4};
static const int k7_pred[] = {1, 0, 3, 2, 2, 1, 0, 4, 4, 0, 2, 3, 4, 1, 3, 4, 3, 3, 4, 0, 4, 0, 3, 1, 0,
                              1, 1, 4, 2, 3, 0, 3, 4, 3, 4, 1, 3, 3, 1, 1, 5, 3, 1, 4, 0, 0, 0, 1, 0, 4};
static const char k7_report[] = "                               precision    recall  f1-score   support\n"
                                "\n"
                                "                            a     0.9091    0.7692    0.8333        13\n"
                                "                           bb     0.9091    0.9091    0.9091        11\n"
                                "class-with-a-rather-long-name     1.0000    0.5000    0.6667         8\n"
                                "                            d     0.4167    1.0000    0.5882         5\n"
                                "                            e     0.7273    1.0000    0.8421         8\n"
                                "                            f     0.0000    0.0000    0.0000         0\n"
                                "                            g     0.0000    0.0000    0.0000         5\n"
                                "\n"
                                "                     accuracy                         0.7400        50\n"
                                "                    macro avg     0.5660    0.5969    0.5485        50\n"
                                "                 weighted avg     0.7544    0.7400    0.7169        50\n";

typedef struct report_case {
        const char *what;
        int k;
        const char *const *names;
        size_t n;
        const int *truth, *pred;
        const float *p1; /* NULL: no probabilities */
        const char *expected;
} report_case_t;

#define CASE(w, k, pre, p1)                                                                                  \
        { w, k, pre##_names, sizeof(pre##_true) / sizeof(int), pre##_true, pre##_pred, p1, pre##_report }

static const report_case_t report_cases[] = {
        CASE("k=2", 2, k2, NULL),
        CASE("k=2, long name", 2, k2long, NULL),
        CASE("k=3", 3, k3, NULL),
        CASE("k=7, long name", 7, k7, NULL),
};

/* The report of one table, or NULL (with a failed check) when it cannot be built. */
static char *case_report(const report_case_t *rc, sf_confusion_t *cm) {
        char err[256];
        CHECK_MSG(sf_confusion_init(cm, rc->k, err, sizeof(err)) == 0, "%s", err);
        for (size_t i = 0; i < rc->n; i++)
                CHECK(rc->p1 ? sf_confusion_add_scored(cm, rc->truth[i], rc->pred[i], rc->p1[i]) == 0
                             : sf_confusion_add(cm, rc->truth[i], rc->pred[i]) == 0);
        size_t need = sf_report_format(NULL, 0, cm, rc->names, 4);
        char *text = malloc(need + 1);
        CHECK(text != NULL);
        if (text) CHECK_INT(sf_report_format(text, need + 1, cm, rc->names, 4), need);
        return text;
}

static void test_report_k_classes(void) {
        for (size_t i = 0; i < sizeof(report_cases) / sizeof(report_cases[0]); i++) {
                const report_case_t *rc = &report_cases[i];
                sf_confusion_t cm;
                char *text = case_report(rc, &cm);
                CHECK_MSG(text && strcmp(text, rc->expected) == 0, "%s: got:\n%s---expected:\n%s", rc->what,
                          text ? text : "(null)", rc->expected);
                json_t *j = sf_report_json(&cm, rc->names);
                CHECK_INT(json_object_size(j), rc->k + 4); /* no binary metrics without p1 */
                json_t *avg = json_object_get(j, "weighted avg");
                CHECK_INT(json_integer_value(json_object_get(avg, "support")), rc->n);
                CHECK(json_object_get(j, rc->names[rc->k - 1]) != NULL);
                json_decref(j);
                free(text);
                sf_confusion_destroy(&cm);
        }
}

/* With p1 the two-class report adds the ROC AUC and average precision
 * (sklearn's numbers, see above), in the text and in the JSON. */
static void test_report_binary(void) {
        const report_case_t rc = CASE("k=2 scored", 2, k2, k2_p1);
        sf_confusion_t cm;
        char *text = case_report(&rc, &cm), want[2048];
        snprintf(want, sizeof(want), "%s\nROC AUC: 0.8403\naverage precision: 0.7327\n", k2_report);
        CHECK_MSG(text && strcmp(text, want) == 0, "got:\n%s---expected:\n%s", text ? text : "(null)", want);
        free(text);
        json_t *j = sf_report_json(&cm, k2_names);
        CHECK_INT(json_object_size(j), 2 + 6);
        CHECK_NEAR(json_real_value(json_object_get(j, "roc_auc")), 0.8402777777777777, 1e-15);
        CHECK_NEAR(json_real_value(json_object_get(j, "average_precision")), 0.7327380952380952, 1e-15);
        json_decref(j);
        sf_confusion_destroy(&cm);

        /* one class only: undefined, printed as such and null in JSON */
        char err[256];
        CHECK(sf_confusion_init(&cm, 2, err, sizeof(err)) == 0);
        CHECK(sf_confusion_add_scored(&cm, 1, 1, 0.75f) == 0);
        CHECK(sf_confusion_add_scored(&cm, 1, 0, 0.25f) == 0);
        CHECK(sf_confusion_add_scored(&cm, 0, 0, NAN) == -1);
        CHECK(sf_confusion_add_scored(&cm, 2, 0, 0.5f) == -1);
        char buf[2048];
        sf_report_format(buf, sizeof(buf), &cm, NULL, 4);
        CHECK_MSG(strstr(buf, "\n           0     0.0000    0.0000    0.0000         0\n") &&
                          strstr(buf, "\n\nROC AUC: undefined\naverage precision: undefined\n"),
                  "got:\n%s", buf);
        j = sf_report_json(&cm, NULL);
        CHECK(json_is_null(json_object_get(j, "roc_auc")) &&
              json_is_null(json_object_get(j, "average_precision")));
        CHECK(json_object_get(j, "1") != NULL);
        json_decref(j);
        sf_confusion_destroy(&cm);
}

/* Hand-checked values. Scores 0.1 0.4 0.35 0.8 for classes 0 0 1 1
 * (sklearn's docstring example): 3 of the 4 (positive, negative) pairs
 * ordered right, ROC AUC 0.75; AP = (1/2)(1/1) + (1/2)(2/3) = 0.8333.
 * With 0.35 raised to 0.4 the tied pair counts half: AUC 3.5/4 = 0.875;
 * AP: 0.8 gives recall 1/2 at precision 1, the tied pair one threshold
 * with recall 1 at precision 2/3: 0.8333 again. */
static void test_binary_hand(void) {
        const float p[] = {0.1f, 0.4f, 0.35f, 0.8f}, q[] = {0.1f, 0.4f, 0.4f, 0.8f};
        const int y[] = {0, 0, 1, 1}, bad[] = {0, 2, 1, 1}, ones[] = {1, 1, 1, 1};
        double auc = -1, ap = -1;
        CHECK(sf_metrics_binary(p, y, 4, &auc, &ap) == 0);
        CHECK_NEAR(auc, 0.75, 1e-15);
        CHECK_NEAR(ap, 0.8333333333333333, 1e-15);
        CHECK(sf_metrics_binary(q, y, 4, &auc, &ap) == 0);
        CHECK_NEAR(auc, 0.875, 1e-15);
        CHECK_NEAR(ap, 0.8333333333333333, 1e-15);
        CHECK(sf_metrics_binary(p, ones, 4, &auc, &ap) == -1);
        CHECK(sf_metrics_binary(p, bad, 4, &auc, &ap) == -1);
        CHECK(sf_metrics_binary(p, y, 0, &auc, &ap) == -1);
        const float inf[] = {0.1f, INFINITY, 0.3f, 0.4f};
        CHECK(sf_metrics_binary(inf, y, 4, &auc, &ap) == -1);
}

/* Random two-class data sets (seeded) against sklearn at test time. */
static uint64_t rng_state;
static double rnd(void) {
        rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (double)(rng_state >> 11) / 9007199254740992.0;
}

enum { RANDOM, QUANTIZED, ALL_EQUAL, SEPARATED, REVERSED, RARE, EXTREMES, NSETS };

/* One data set: n rows, kind as above. */
static size_t make_set(int kind, float *p, int *y, size_t cap) {
        size_t n = kind == RARE ? cap : kind == ALL_EQUAL ? 101 : kind == SEPARATED ? 57 : cap / 2;
        for (size_t i = 0; i < n; i++) {
                y[i] = i < 2 ? (int)i : kind == RARE ? i % 997 == 3 : rnd() < 0.4; /* both classes present */
                double s = 0.6 * rnd() + 0.3 * y[i], apart = 0.5 * y[i] + 0.4 * rnd();
                if (kind == QUANTIZED) s = floor(s * 20) / 20;
                if (kind == ALL_EQUAL) s = 0.5;
                if (kind == SEPARATED) s = apart;
                if (kind == REVERSED) s = 1 - apart;
                if (kind == EXTREMES) s = rnd() < 0.5 ? (double)y[i] : rnd() < 0.5;
                p[i] = (float)s;
        }
        return n;
}

static const char sklearn_script[] =
        "import sys\n"
        "import numpy as np\n"
        "from sklearn.metrics import roc_auc_score, average_precision_score\n"
        "for path in sys.argv[1:]:\n"
        "    y, p = [], []\n"
        "    for line in open(path):\n"
        "        a, b = line.split()\n"
        "        y.append(int(a))\n"
        "        p.append(float.fromhex(b))\n"
        "    p = np.array(p, dtype=np.float64)\n"
        "    print(repr(roc_auc_score(y, p)), repr(average_precision_score(y, p)))\n";

static int write_set(const char *path, const float *p, const int *y, size_t n) {
        FILE *fp = fopen(path, "w");
        if (!fp) return -1;
        for (size_t i = 0; i < n; i++) fprintf(fp, "%d %a\n", y[i], (double)p[i]);
        return fclose(fp);
}

static int close_rel(double a, double b) {
        return fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b));
}

static void test_binary_vs_sklearn(void) {
        if (system("/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1") != 0) {
                SKIP("/usr/bin/python3 with sklearn is not installed (python3-sklearn)");
                return;
        }
        enum { CAP = 20000 };
        float *p = malloc(CAP * sizeof(float));
        int *y = malloc(CAP * sizeof(int));
        double auc[NSETS], ap[NSETS];
        char cmd[8192], path[700];
        snprintf(path, sizeof(path), "%s/auc.py", tmpdir);
        FILE *fp = fopen(path, "w");
        CHECK(p && y && fp && fputs(sklearn_script, fp) >= 0);
        if (fp) fclose(fp);
        int len = snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s", path);
        rng_state = 20261202;
        for (int s = 0; s < NSETS && p && y; s++) {
                size_t n = make_set(s, p, y, CAP);
                CHECK(sf_metrics_binary(p, y, n, &auc[s], &ap[s]) == 0);
                snprintf(path, sizeof(path), "%s/auc%d.txt", tmpdir, s);
                CHECK(write_set(path, p, y, n) == 0);
                len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " %s", path);
        }
        FILE *py = popen(cmd, "r");
        CHECK(py != NULL);
        for (int s = 0; s < NSETS && py; s++) {
                double a = NAN, b = NAN;
                CHECK_MSG(fscanf(py, "%lf %lf", &a, &b) == 2, "set %d: no line from sklearn", s);
                CHECK_MSG(close_rel(auc[s], a), "set %d: ROC AUC %.17g, sklearn %.17g", s, auc[s], a);
                CHECK_MSG(close_rel(ap[s], b), "set %d: average precision %.17g, sklearn %.17g", s, ap[s], b);
        }
        if (py) CHECK(pclose(py) == 0);
        /* the degenerate sets: all scores equal, separated, reversed */
        CHECK_NEAR(auc[ALL_EQUAL], 0.5, 1e-15);
        CHECK_NEAR(auc[SEPARATED], 1, 0);
        CHECK_NEAR(ap[SEPARATED], 1, 1e-12);
        CHECK_NEAR(auc[REVERSED], 0, 0);
        free(p);
        free(y);
}

static void test_argmax_and_loss(void) {
        const float p[] = {0.2f, 0.4f, 0.4f};
        CHECK_INT(sf_metrics_argmax(p, 3), 1); /* first of a tie, like numpy */
        CHECK_INT(sf_metrics_argmax(p, 1), 0);
        const float q[] = {0.1f, 0.0f, 0.9f};
        CHECK_INT(sf_metrics_argmax(q, 3), 2);
        /* -ln(0.7) = 0.356675; p = 1 clips to 1 - 1e-7: 1e-7; p = 0 clips to
         * 1e-7: 16.118096; the row labelled -1 is skipped. Mean 5.491590. */
        const float probs[] = {
                0.7f, 0.1f, 0.1f, 0.05f, 0.05f, /* label 0 */
                0,    1,    0,    0,     0,     /* label 1 */
                1,    0,    0,    0,     0,     /* label 2 */
                1,    0,    0,    0,     0,     /* label -1 */
        };
        const int labels[] = {0, 1, 2, -1};
        CHECK_NEAR(sf_metrics_log_loss(probs, labels, 4, 5), 5.491590231632352, 1e-6);
        CHECK_NEAR(sf_metrics_log_loss(probs, labels, 1, 5), 0.35667494393873245, 1e-6);
        CHECK_NEAR(sf_metrics_log_loss(probs, labels, 0, 5), 0, 0);
}

static void test_crc32c(void) {
        CHECK_INT(sf_crc32c("123456789", 9), 0xE3069283u);
        uint8_t zeros[32] = {0}, ones[32];
        memset(ones, 0xff, sizeof(ones));
        CHECK_INT(sf_crc32c(zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
        CHECK_INT(sf_crc32c(ones, 32), 0x62A8AB43u);
        CHECK_INT(sf_crc32c("", 0), 0);
        CHECK_INT(sf_tfrecord_mask(0), 0xa282ead8u);
        CHECK_INT(sf_tfrecord_mask(0x12345678u), (((0x12345678u >> 15) | (0x12345678u << 17)) + 0xa282ead8u));
        uint8_t rec[32];
        CHECK_INT(sf_tfrecord_frame(rec, "abc", 3), 19);
        CHECK(rec[0] == 3 && rec[1] == 0 && rec[7] == 0);
        CHECK(memcmp(rec + 12, "abc", 3) == 0);
}

/* An Event written byte by byte from event.proto / summary.proto:
 * wall_time = 1 (fixed64 double), step = 2 (varint), summary = 5 (message);
 * Summary.value = 1 (repeated message); Value.tag = 1 (string),
 * Value.simple_value = 2 (fixed32 float). */
static const uint8_t hand_event[] = {
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, /* wall_time 1.5 */
        0x10, 0x07,                                           /* step 7 */
        0x2a, 0x0d,                                           /* summary, 13 bytes */
        0x0a, 0x0b,                                           /*   value, 11 bytes */
        0x0a, 0x04, 'l',  'o',  's',  's',                    /*     tag "loss" */
        0x15, 0x00, 0x00, 0x80, 0x3e,                         /*     simple_value 0.25f */
};

static void test_event_decode(void) {
        sf_tfevent_t ev;
        char err[256];
        CHECK_MSG(sf_tfevent_decode(hand_event, sizeof(hand_event), &ev, err, sizeof(err)) == 0, "%s", err);
        CHECK(ev.has_wall_time && ev.wall_time == 1.5);
        CHECK(ev.has_step && ev.step == 7);
        CHECK(ev.has_summary && !ev.has_file_version);
        CHECK_INT(ev.n_values, 1);
        CHECK_STR(ev.values[0].tag, "loss");
        CHECK(ev.values[0].has_simple_value && ev.values[0].simple_value == 0.25f);
        /* every strict prefix is rejected or decodes to less, never read past the end */
        for (size_t n = 1; n < sizeof(hand_event); n++) {
                uint8_t *cut = malloc(n);
                if (!cut) break;
                memcpy(cut, hand_event, n);
                int rc = sf_tfevent_decode(cut, n, &ev, err, sizeof(err));
                CHECK_MSG(rc == -1 || n == 9 || n == 11, "prefix of %zu bytes accepted", n);
                free(cut);
        }
        /* unknown fields are skipped (4: graph_def bytes; 8: varint) */
        const uint8_t extra[] = {0x22, 0x02, 0xaa, 0xbb, 0x40, 0x96, 0x01, 0x10, 0x03};
        CHECK(sf_tfevent_decode(extra, sizeof(extra), &ev, err, sizeof(err)) == 0);
        CHECK(ev.has_step && ev.step == 3);
        /* a wrong wire type for a known field */
        const uint8_t badwire[] = {0x08, 0x01}; /* wall_time as a varint */
        CHECK(sf_tfevent_decode(badwire, sizeof(badwire), &ev, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "wire type") != NULL, "%s", err);
        const uint8_t badlen[] = {0x1a, 0x7f, 'b'}; /* file_version claims 127 bytes */
        CHECK(sf_tfevent_decode(badlen, sizeof(badlen), &ev, err, sizeof(err)) == -1);
}

static int write_run(const char *dir, char *path, size_t size, double *t0, double *t1) {
        char err[512];
        *t0 = (double)time(NULL);
        sf_tfevents_t *w = sf_tfevents_open(dir, err, sizeof(err));
        if (!w) {
                printf("# %s\n", err);
                return -1;
        }
        snprintf(path, size, "%s", sf_tfevents_path(w));
        int rc = 0;
        for (int epoch = 0; epoch < 5 && rc == 0; epoch++) {
                rc |= sf_tfevents_scalar(w, "epoch_loss", epoch, 1.0f / (float)(epoch + 1), err, sizeof(err));
                rc |= sf_tfevents_scalar(w, "epoch_accuracy", epoch, 0.5f + 0.1f * (float)epoch, err,
                                         sizeof(err));
                rc |= sf_tfevents_flush(w, err, sizeof(err));
        }
        rc |= sf_tfevents_close(w, err, sizeof(err));
        *t1 = (double)time(NULL) + 1;
        if (rc) printf("# %s\n", err);
        return rc;
}

static void test_tfevents_round_trip(void) {
        char dir[700], path[1024], err[512];
        double t0 = 0, t1 = 0;
        snprintf(dir, sizeof(dir), "%s/logs/fit/20260101-000000/train", tmpdir);
        CHECK(write_run(dir, path, sizeof(path), &t0, &t1) == 0);

        /* events.out.tfevents.<10-digit time>.<host>.<pid>.<n>.v2 */
        const char *base = strrchr(path, '/') + 1;
        char host[256] = "", want[512];
        gethostname(host, sizeof(host) - 1);
        CHECK_MSG(strncmp(base, "events.out.tfevents.", 20) == 0, "%s", base);
        snprintf(want, sizeof(want), ".%s.%ld.", host, (long)getpid());
        CHECK_MSG(strstr(base, want) != NULL, "%s lacks %s", base, want);
        CHECK(strlen(base) > 3 && strcmp(base + strlen(base) - 3, ".v2") == 0);
        CHECK(strspn(base + 20, "0123456789") == 10);

        sf_tfevent_t *ev = NULL;
        size_t n = 0;
        CHECK_MSG(sf_tfevents_read_file(path, &ev, &n, err, sizeof(err)) == 0, "%s", err);
        CHECK_INT(n, 11);
        if (n == 11) {
                CHECK(ev[0].has_file_version);
                CHECK_STR(ev[0].file_version, "brain.Event:2");
                CHECK(!ev[0].has_summary);
                for (size_t i = 0; i < n; i++)
                        CHECK_MSG(ev[i].has_wall_time && ev[i].wall_time >= t0 && ev[i].wall_time <= t1,
                                  "event %zu wall_time %f", i, ev[i].wall_time);
                for (int epoch = 0; epoch < 5; epoch++) {
                        const sf_tfevent_t *l = &ev[1 + 2 * epoch], *a = &ev[2 + 2 * epoch];
                        CHECK(l->has_summary && l->n_values == 1 && a->n_values == 1);
                        CHECK_INT(l->step, epoch);
                        CHECK_INT(a->step, epoch);
                        CHECK_STR(l->values[0].tag, "epoch_loss");
                        CHECK_STR(a->values[0].tag, "epoch_accuracy");
                        CHECK(l->values[0].has_simple_value && a->values[0].has_simple_value);
                        CHECK(l->values[0].simple_value == 1.0f / (float)(epoch + 1));
                        CHECK(a->values[0].simple_value == 0.5f + 0.1f * (float)epoch);
                }
        }
        free(ev);

        /* the bytes of a scalar event are the hand-made ones (bar the time) */
        FILE *fp = fopen(path, "rb");
        uint8_t file[4096];
        size_t size = fp ? fread(file, 1, sizeof(file), fp) : 0;
        if (fp) fclose(fp);
        uint64_t first = 0;
        for (int i = 0; i < 8; i++) first |= (uint64_t)file[i] << (8 * i);
        size_t off = 12 + (size_t)first + 4; /* the second record: epoch_loss, step 0 */
        uint64_t len = 0;
        for (int i = 0; i < 8; i++) len |= (uint64_t)file[off + i] << (8 * i);
        const uint8_t *body = file + off + 12;
        /* wall_time, then (step 0 left out as proto3 does) summary { value { tag, simple_value } } */
        const uint8_t tail[] = {0x2a, 0x13, 0x0a, 0x11, 0x0a, 0x0a, 'e',  'p',  'o',  'c', 'h',
                                '_',  'l',  'o',  's',  's',  0x15, 0x00, 0x00, 0x80, 0x3f};
        CHECK(size > off + 12 + len);
        CHECK_INT(len, 9 + sizeof(tail));
        CHECK(body[0] == 0x09);
        CHECK(memcmp(body + 9, tail, sizeof(tail)) == 0);

        /* flipping any single byte of the file is caught */
        int missed = 0;
        for (size_t i = 0; i < size; i++) {
                file[i] ^= 0x20;
                char bad[1024];
                snprintf(bad, sizeof(bad), "%s/corrupt.tfevents", tmpdir);
                FILE *out = fopen(bad, "wb");
                if (!out) break;
                fwrite(file, 1, size, out);
                fclose(out);
                sf_tfevent_t *e2 = NULL;
                size_t n2 = 0;
                if (sf_tfevents_read_file(bad, &e2, &n2, err, sizeof(err)) == 0)
                        missed++;
                else if (i == 0)
                        CHECK_MSG(strstr(err, "record 0 at byte 0: length CRC mismatch"), "%s", err);
                else if (i == 12)
                        CHECK_MSG(strstr(err, "record 0 at byte 0: data CRC mismatch"), "%s", err);
                free(e2);
                file[i] ^= 0x20;
        }
        CHECK_INT(missed, 0);
        /* a file cut short */
        char cut[1024];
        snprintf(cut, sizeof(cut), "%s/cut.tfevents", tmpdir);
        fp = fopen(cut, "wb");
        if (fp) {
                fwrite(file, 1, size - 3, fp);
                fclose(fp);
        }
        ev = NULL;
        CHECK(sf_tfevents_read_file(cut, &ev, &n, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "record 10") && strstr(err, "truncated"), "%s", err);
        CHECK(ev == NULL);
}

/* The tags `streamflow train` adds: epoch_learning_rate (train) and one
 * epoch_recall/<class> per class (validation), a slash in the tag as
 * TensorBoard groups them. Read back in order with their values. */
static void test_tfevents_train_tags(void) {
        static const char *const tags[] = {"epoch_learning_rate", "epoch_recall/normal", "epoch_recall/DoS",
                                           "epoch_recall/Probe",  "epoch_recall/R2L",    "epoch_recall/U2R"};
        char dir[700], path[1024], err[512];
        snprintf(dir, sizeof(dir), "%s/logs/fit/20260101-000001/validation", tmpdir);
        sf_tfevents_t *w = sf_tfevents_open(dir, err, sizeof(err));
        CHECK_MSG(w != NULL, "%s", err);
        if (!w) return;
        snprintf(path, sizeof(path), "%s", sf_tfevents_path(w));
        for (int epoch = 0; epoch < 3; epoch++)
                for (int t = 0; t < 6; t++)
                        CHECK(sf_tfevents_scalar(w, tags[t], epoch, 0.001f * (float)(t + 1) + (float)epoch,
                                                 err, sizeof(err)) == 0);
        CHECK(sf_tfevents_close(w, err, sizeof(err)) == 0);
        sf_tfevent_t *ev = NULL;
        size_t n = 0;
        CHECK_MSG(sf_tfevents_read_file(path, &ev, &n, err, sizeof(err)) == 0, "%s", err);
        CHECK_INT(n, 1 + 3 * 6);
        for (size_t i = 1; i < n && n == 19; i++) {
                int epoch = (int)(i - 1) / 6, t = (int)(i - 1) % 6;
                CHECK(ev[i].has_summary && ev[i].n_values == 1 && ev[i].values[0].has_simple_value);
                CHECK_STR(ev[i].values[0].tag, tags[t]);
                CHECK_INT(ev[i].step, epoch);
                CHECK(ev[i].values[0].simple_value == 0.001f * (float)(t + 1) + (float)epoch);
        }
        free(ev);
}

static void test_tfevents_errors(void) {
        char err[512], path[1024];
        /* two writers in one directory get two files */
        char dir[700];
        snprintf(dir, sizeof(dir), "%s/two", tmpdir);
        sf_tfevents_t *a = sf_tfevents_open(dir, err, sizeof(err));
        sf_tfevents_t *b = sf_tfevents_open(dir, err, sizeof(err));
        CHECK(a && b);
        if (a && b) CHECK(strcmp(sf_tfevents_path(a), sf_tfevents_path(b)) != 0);
        CHECK(sf_tfevents_scalar(a, "", 0, 1, err, sizeof(err)) == -1);
        CHECK(sf_tfevents_close(a, err, sizeof(err)) == 0);
        CHECK(sf_tfevents_close(b, err, sizeof(err)) == 0);
        CHECK(sf_tfevents_close(NULL, err, sizeof(err)) == 0);
        /* a log directory under a regular file */
        snprintf(path, sizeof(path), "%s/plainfile", tmpdir);
        FILE *fp = fopen(path, "w");
        if (fp) fclose(fp);
        snprintf(dir, sizeof(dir), "%s/plainfile/train", tmpdir);
        CHECK(sf_tfevents_open(dir, err, sizeof(err)) == NULL);
        CHECK_MSG(strstr(err, "plainfile") != NULL, "%s", err);
        /* reading a missing file */
        sf_tfevent_t *ev;
        size_t n;
        snprintf(path, sizeof(path), "%s/none.tfevents", tmpdir);
        CHECK(sf_tfevents_read_file(path, &ev, &n, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "No such file") != NULL, "%s", err);
        /* an empty file holds no events and is not an error */
        fp = fopen(path, "w");
        if (fp) fclose(fp);
        CHECK(sf_tfevents_read_file(path, &ev, &n, err, sizeof(err)) == 0);
        CHECK_INT(n, 0);
        free(ev);
}

int main(void) {
        const char *tmp = getenv("SF_TMP");
        if (tmp) {
                snprintf(tmpdir, sizeof(tmpdir), "%s", tmp);
        } else {
                snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf-test-report.XXXXXX");
                if (!mkdtemp(tmpdir)) return 1;
        }
        RUN(test_confusion_add);
        RUN(test_metrics_hand_checked);
        RUN(test_report_text);
        RUN(test_report_json);
        RUN(test_confusion_text);
        RUN(test_report_k_classes);
        RUN(test_report_binary);
        RUN(test_binary_hand);
        RUN(test_binary_vs_sklearn);
        RUN(test_argmax_and_loss);
        RUN(test_crc32c);
        RUN(test_event_decode);
        RUN(test_tfevents_round_trip);
        RUN(test_tfevents_train_tags);
        RUN(test_tfevents_errors);
        return TEST_DONE();
}
