/* Classification metrics over k classes (2 <= k <= SF_METRICS_MAX_CLASSES):
 * a confusion matrix, the numbers of sklearn's classification_report,
 * printers for them (text in exactly sklearn's layout, and JSON), and for
 * two classes the ROC AUC and average precision of the positive class.
 *
 * The report is the one sklearn prints for
 *   classification_report(y_true, y_pred, labels=range(k),
 *                         target_names=names, digits=4, zero_division=0)
 * so every class has a row even when it has no support or no prediction. */
#ifndef SF_REPORT_METRICS_H
#define SF_REPORT_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define SF_METRICS_MAX_CLASSES 1000

/* Counts m[true * k + predicted], and for k == 2 the positive-class
 * probabilities of the rows added with sf_confusion_add_scored. Set up with
 * sf_confusion_init, release with sf_confusion_destroy. */
typedef struct sf_confusion {
        int k;
        int64_t *m;
        float *p1; /* n_scored probabilities of class 1 ... */
        int *y;    /* ... and the true classes of those rows */
        size_t n_scored, cap_scored;
} sf_confusion_t;

/* An all-zero k x k matrix. Returns 0, or -1 with a message in errstr when
 * k is outside 2..SF_METRICS_MAX_CLASSES or memory runs out. */
int sf_confusion_init(sf_confusion_t *cm, int k, char *errstr, size_t errstr_size);

/* Frees what init and add allocated; cm can be destroyed twice. */
void sf_confusion_destroy(sf_confusion_t *cm);

/* The count of rows of class truth predicted as pred (0 when out of range). */
int64_t sf_confusion_count(const sf_confusion_t *cm, int truth, int pred);

/* Counts one prediction. Returns 0, or -1 (nothing counted) when truth or
 * pred is outside 0..k-1. */
int sf_confusion_add(sf_confusion_t *cm, int truth, int pred);

/* Counts one prediction of a two-class matrix and keeps p1, the predicted
 * probability of class 1, for the ROC AUC and average precision of the
 * report. Returns 0; -1 (nothing counted) when k != 2, truth or pred is not
 * 0 or 1, or p1 is not finite; -2 (nothing counted) when out of memory.
 * The binary metrics cover only the rows added this way. */
int sf_confusion_add_scored(sf_confusion_t *cm, int truth, int pred, float p1);

/* The numbers of the report, computed with zero_division=0. The arrays
 * have k entries; release them with sf_metrics_destroy. */
typedef struct sf_metrics {
        int k;
        double *precision, *recall, *f1;
        int64_t *support; /* true rows per class */
        int64_t total;    /* all rows */
        double accuracy;  /* 0 when total is 0 */
        double macro_precision, macro_recall, macro_f1;
        double weighted_precision, weighted_recall, weighted_f1;
        /* two classes with scored rows: has_binary = 1; binary_defined = 1
         * when both classes occur among them (then the two numbers are set) */
        int has_binary, binary_defined;
        double roc_auc, average_precision;
} sf_metrics_t;

/* Fills out from cm. Returns 0, or -1 when out of memory (out is then
 * empty and safe to destroy). */
int sf_metrics_compute(const sf_confusion_t *cm, sf_metrics_t *out);

void sf_metrics_destroy(sf_metrics_t *m);

/* ROC AUC and average precision of n rows with true classes y (0 or 1) and
 * predicted probabilities p1 of class 1, exactly sklearn's
 *   roc_auc_score(y, p1)            area under the ROC curve by the
 *                                   trapezoidal rule, rows of equal score
 *                                   forming one point (= the Mann-Whitney U
 *                                   statistic / (P N), ties counting half);
 *   average_precision_score(y, p1)  sum over thresholds of
 *                                   (R_n - R_{n-1}) P_n, rows of equal score
 *                                   forming one threshold (not interpolated,
 *                                   not the trapezoidal PR AUC).
 * Returns 0, or -1 when they are undefined: n == 0, only one class present
 * (sklearn raises for the ROC AUC; its average precision would be 0 without
 * positives and 1 without negatives), a y outside 0..1 or a non-finite p1;
 * -2 when out of memory. */
int sf_metrics_binary(const float *p1, const int *y, size_t n, double *roc_auc, double *avg_precision);

/* Writes the classification report to fp in sklearn's text layout with
 * `digits` decimals (4 for digits=4). names are the k class names; NULL
 * names the classes "0", "1", ... as sklearn does without target_names.
 * When cm holds scored rows (two classes) two lines follow the table:
 *   ROC AUC: 0.8123
 *   average precision: 0.7011
 * ("undefined" when only one class occurs). Returns 0, or -1 on a write
 * error or when out of memory. */
int sf_report_write(FILE *fp, const sf_confusion_t *cm, const char *const *names, int digits);

/* The same text into buf (always NUL-terminated when size > 0). Returns the
 * length the full text needs, like snprintf; >= size means truncated; 0
 * when out of memory. */
size_t sf_report_format(char *buf, size_t size, const sf_confusion_t *cm, const char *const *names,
                        int digits);

/* Writes the confusion matrix with labelled rows (true class) and columns
 * (predicted class):
 *   true \ pred   normal      DoS ...
 *   normal          9443       23 ...
 * names as above. Returns 0, or -1 on a write error. */
int sf_confusion_write(FILE *fp, const sf_confusion_t *cm, const char *const *names);

/* The report as a new JSON object (caller json_decref's it), or NULL when
 * out of memory. The keys are those of sklearn's output_dict=True, plus the
 * confusion matrix (rows true classes, columns predicted):
 *   {"normal": {"precision", "recall", "f1-score", "support"}, ... one per class,
 *    "accuracy": x, "macro avg": {...}, "weighted avg": {...},
 *    "confusion_matrix": {"labels": [...], "matrix": [[...], ...]}}
 * and, when cm holds scored rows, "roc_auc" and "average_precision"
 * (null when undefined). */
json_t *sf_report_json(const sf_confusion_t *cm, const char *const *names);

/* Index of the largest of p[0..k), the first one on ties (like numpy's
 * argmax). k > 0. */
int sf_metrics_argmax(const float *p, int k);

/* Mean sparse categorical cross-entropy over n rows of probabilities probs
 * (n, k) with true classes labels[n], clipping p to [1e-7, 1 - 1e-7] as
 * Keras does. Rows with a label outside 0..k-1 are skipped. 0 when n is 0. */
double sf_metrics_log_loss(const float *probs, const int *labels, size_t n, int k);

#endif
