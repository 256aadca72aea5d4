/* Classification metrics over the five NSL-KDD classes: a confusion matrix,
 * the numbers of sklearn's classification_report, and printers for them
 * (text in exactly sklearn's layout, and JSON).
 *
 * The report is the one sklearn prints for
 *   classification_report(y_true, y_pred, labels=[0, 1, 2, 3, 4],
 *                         target_names=names, digits=4, zero_division=0)
 * so every class has a row even when it has no support or no prediction. */
#ifndef SF_REPORT_METRICS_H
#define SF_REPORT_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define SF_METRICS_NCLASSES 5

/* Counts: m[true][predicted]. Zero it with sf_confusion_init. */
typedef struct sf_confusion {
        int64_t m[SF_METRICS_NCLASSES][SF_METRICS_NCLASSES];
} sf_confusion_t;

void sf_confusion_init(sf_confusion_t *cm);

/* Counts one prediction. Returns 0, or -1 (nothing counted) when truth or
 * pred is outside 0..4. */
int sf_confusion_add(sf_confusion_t *cm, int truth, int pred);

/* The numbers of the report, computed with zero_division=0. */
typedef struct sf_metrics {
        double precision[SF_METRICS_NCLASSES], recall[SF_METRICS_NCLASSES], f1[SF_METRICS_NCLASSES];
        int64_t support[SF_METRICS_NCLASSES]; /* true rows per class */
        int64_t total;                        /* all rows */
        double accuracy;                      /* 0 when total is 0 */
        double macro_precision, macro_recall, macro_f1;
        double weighted_precision, weighted_recall, weighted_f1;
} sf_metrics_t;

/* Fills out from cm. */
void sf_metrics_compute(const sf_confusion_t *cm, sf_metrics_t *out);

/* Writes the classification report to fp in sklearn's text layout with
 * `digits` decimals (4 for digits=4). names are the 5 class names; NULL uses
 * sf_kdd_class_name. Returns 0, or -1 on a write error. */
int sf_report_write(FILE *fp, const sf_confusion_t *cm, const char *const *names, int digits);

/* The same text into buf (always NUL-terminated when size > 0). Returns the
 * length the full text needs, like snprintf; >= size means truncated. */
size_t sf_report_format(char *buf, size_t size, const sf_confusion_t *cm, const char *const *names,
                        int digits);

/* Writes the confusion matrix with labelled rows (true class) and columns
 * (predicted class):
 *         pred:  normal     DoS   Probe     R2L     U2R
 *   true normal    9443      23 ...
 * names as above. Returns 0, or -1 on a write error. */
int sf_confusion_write(FILE *fp, const sf_confusion_t *cm, const char *const *names);

/* The report as a new JSON object (caller json_decref's it), or NULL when
 * out of memory. The keys are those of sklearn's output_dict=True, plus the
 * confusion matrix (rows true classes, columns predicted):
 *   {"normal": {"precision", "recall", "f1-score", "support"}, ... one per class,
 *    "accuracy": x, "macro avg": {...}, "weighted avg": {...},
 *    "confusion_matrix": {"labels": [...], "matrix": [[...], ...]}} */
json_t *sf_report_json(const sf_confusion_t *cm, const char *const *names);

/* Index of the largest of p[0..k), the first one on ties (like numpy's
 * argmax). k > 0. */
int sf_metrics_argmax(const float *p, int k);

/* Mean sparse categorical cross-entropy over n rows of probabilities probs
 * (n, k) with true classes labels[n], clipping p to [1e-7, 1 - 1e-7] as
 * Keras does. Rows with a label outside 0..k-1 are skipped. 0 when n is 0. */
double sf_metrics_log_loss(const float *probs, const int *labels, size_t n, int k);

#endif
