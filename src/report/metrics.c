#include "report/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int sf_confusion_init(sf_confusion_t *cm, int k, char *errstr, size_t errstr_size) {
        memset(cm, 0, sizeof(*cm));
        if (k < 2 || k > SF_METRICS_MAX_CLASSES) {
                snprintf(errstr, errstr_size, "confusion matrix: %d classes, expected 2 to %d", k,
                         SF_METRICS_MAX_CLASSES);
                return -1;
        }
        cm->m = calloc((size_t)k * (size_t)k, sizeof(*cm->m));
        if (!cm->m) {
                snprintf(errstr, errstr_size, "confusion matrix: out of memory for %d classes", k);
                return -1;
        }
        cm->k = k;
        return 0;
}

void sf_confusion_destroy(sf_confusion_t *cm) {
        free(cm->m);
        free(cm->p1);
        free(cm->y);
        memset(cm, 0, sizeof(*cm));
}

static int in_range(const sf_confusion_t *cm, int c) {
        return c >= 0 && c < cm->k;
}

int64_t sf_confusion_count(const sf_confusion_t *cm, int truth, int pred) {
        if (!in_range(cm, truth) || !in_range(cm, pred)) return 0;
        return cm->m[(size_t)truth * (size_t)cm->k + (size_t)pred];
}

int sf_confusion_add(sf_confusion_t *cm, int truth, int pred) {
        if (!in_range(cm, truth) || !in_range(cm, pred)) return -1;
        cm->m[(size_t)truth * (size_t)cm->k + (size_t)pred]++;
        return 0;
}

int sf_confusion_add_scored(sf_confusion_t *cm, int truth, int pred, float p1) {
        if (cm->k != 2 || !in_range(cm, truth) || !in_range(cm, pred) || !isfinite(p1)) return -1;
        if (cm->n_scored == cm->cap_scored) {
                size_t cap = cm->cap_scored ? 2 * cm->cap_scored : 1024;
                float *p = realloc(cm->p1, cap * sizeof(*p));
                if (p) cm->p1 = p;
                int *y = p ? realloc(cm->y, cap * sizeof(*y)) : NULL;
                if (!y) return -2;
                cm->y = y;
                cm->cap_scored = cap;
        }
        cm->p1[cm->n_scored] = p1;
        cm->y[cm->n_scored++] = truth;
        return sf_confusion_add(cm, truth, pred);
}

/* zero_division=0: a 0/0 ratio is 0. */
static double ratio(double num, double den) {
        return den > 0 ? num / den : 0.0;
}

void sf_metrics_destroy(sf_metrics_t *m) {
        free(m->precision);
        free(m->support);
        memset(m, 0, sizeof(*m));
}

/* Per-class precision, recall, F1 and support. */
static void class_scores(const sf_confusion_t *cm, sf_metrics_t *out, int64_t *tp_sum) {
        int k = cm->k;
        for (int c = 0; c < k; c++) {
                int64_t tp = sf_confusion_count(cm, c, c), support = 0, predicted = 0;
                for (int j = 0; j < k; j++) {
                        support += sf_confusion_count(cm, c, j);
                        predicted += sf_confusion_count(cm, j, c);
                }
                out->support[c] = support;
                out->total += support;
                *tp_sum += tp;
                out->precision[c] = ratio((double)tp, (double)predicted);
                out->recall[c] = ratio((double)tp, (double)support);
                /* sklearn computes F1 from the counts, 2tp / (2tp + fp + fn),
                 * not from the rounded precision and recall. */
                out->f1[c] = ratio(2.0 * (double)tp, (double)(predicted + support));
        }
}

static void averages(sf_metrics_t *out) {
        int k = out->k;
        /* sum, then divide, in class order: numpy's mean */
        for (int c = 0; c < k; c++) {
                out->macro_precision += out->precision[c];
                out->macro_recall += out->recall[c];
                out->macro_f1 += out->f1[c];
        }
        out->macro_precision /= k;
        out->macro_recall /= k;
        out->macro_f1 /= k;
        if (out->total == 0) return;
        double wp = 0, wr = 0, wf = 0;
        for (int c = 0; c < k; c++) {
                wp += out->precision[c] * (double)out->support[c];
                wr += out->recall[c] * (double)out->support[c];
                wf += out->f1[c] * (double)out->support[c];
        }
        out->weighted_precision = wp / (double)out->total;
        out->weighted_recall = wr / (double)out->total;
        out->weighted_f1 = wf / (double)out->total;
}

int sf_metrics_compute(const sf_confusion_t *cm, sf_metrics_t *out) {
        memset(out, 0, sizeof(*out));
        size_t k = (size_t)cm->k;
        double *d = calloc(3 * k + 1, sizeof(double));
        int64_t *s = calloc(k + 1, sizeof(int64_t));
        if (!d || !s) {
                free(d);
                free(s);
                return -1;
        }
        out->k = cm->k;
        out->precision = d;
        out->recall = d + k;
        out->f1 = d + 2 * k;
        out->support = s;
        int64_t tp_sum = 0;
        class_scores(cm, out, &tp_sum);
        out->accuracy = ratio((double)tp_sum, (double)out->total);
        averages(out);
        if (cm->k == 2 && cm->n_scored > 0) {
                out->has_binary = 1;
                int rc = sf_metrics_binary(cm->p1, cm->y, cm->n_scored, &out->roc_auc,
                                           &out->average_precision);
                if (rc == -2) {
                        sf_metrics_destroy(out);
                        return -1;
                }
                out->binary_defined = rc == 0;
        }
        return 0;
}

typedef struct scored {
        float p;
        int y;
} scored_t;

/* Descending by score; the order within equal scores does not matter as
 * they form one threshold. */
static int by_score_desc(const void *a, const void *b) {
        float x = ((const scored_t *)a)->p, y = ((const scored_t *)b)->p;
        return (x < y) - (x > y);
}

/* Walks the thresholds from the highest score down, each group of equal
 * scores being one point of the curves (sklearn's _binary_clf_curve). */
static void binary_sweep(const scored_t *s, size_t n, double pos, double neg, double *roc_auc, double *ap) {
        double tps = 0, fps = 0, area2 = 0, ap_sum = 0;
        for (size_t i = 0; i < n;) {
                double tp = 0, fp = 0;
                size_t j = i;
                for (; j < n && s[j].p == s[i].p; j++) {
                        if (s[j].y)
                                tp++;
                        else
                                fp++;
                }
                /* trapezoid between (fps, tps) and (fps + fp, tps + tp), times 2 */
                area2 += fp * (2 * tps + tp);
                tps += tp;
                fps += fp;
                /* (R_n - R_{n-1}) P_n */
                ap_sum += (tp / pos) * (tps / (tps + fps));
                i = j;
        }
        *roc_auc = area2 / (2 * pos * neg);
        *ap = ap_sum;
}

int sf_metrics_binary(const float *p1, const int *y, size_t n, double *roc_auc, double *avg_precision) {
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
                if ((y[i] != 0 && y[i] != 1) || !isfinite(p1[i])) return -1;
                pos += (size_t)y[i];
        }
        if (pos == 0 || pos == n) return -1;
        scored_t *s = malloc(n * sizeof(*s));
        if (!s) return -2;
        for (size_t i = 0; i < n; i++) s[i] = (scored_t){p1[i], y[i]};
        qsort(s, n, sizeof(*s), by_score_desc);
        binary_sweep(s, n, (double)pos, (double)(n - pos), roc_auc, avg_precision);
        free(s);
        return 0;
}

/* An snprintf that appends at *len and keeps counting past the end of buf. */
static void put(char *buf, size_t size, size_t *len, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *at = *len < size ? buf + *len : NULL;
        int n = vsnprintf(at, at ? size - *len : 0, fmt, ap);
        va_end(ap);
        if (n > 0) *len += (size_t)n;
}

/* The name of class c: names[c], or its number when names is NULL. */
static const char *class_label(const char *const *names, int c, char tmp[16]) {
        if (!names) {
                snprintf(tmp, 16, "%d", c);
                return tmp;
        }
        return names[c] ? names[c] : "";
}

static void put_binary(char *buf, size_t size, size_t *len, const sf_metrics_t *m, int digits) {
        if (!m->has_binary) return;
        if (!m->binary_defined) {
                put(buf, size, len, "\nROC AUC: undefined\naverage precision: undefined\n");
                return;
        }
        put(buf, size, len, "\nROC AUC: %.*f\naverage precision: %.*f\n", digits, m->roc_auc, digits,
            m->average_precision);
}

static void put_table(char *buf, size_t size, size_t *len, const sf_metrics_t *m, const char *const *names,
                      int digits) {
        char tmp[16];
        /* sklearn: width = max(len of the longest name, len("weighted avg"), digits) */
        int width = (int)strlen("weighted avg");
        for (int c = 0; c < m->k; c++) {
                int l = (int)strlen(class_label(names, c, tmp));
                if (l > width) width = l;
        }
        if (digits > width) width = digits;
        /* head_fmt = "{:>{width}s} " + " {:>9}" * 4, then a blank line */
        put(buf, size, len, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score",
            "support");
        /* row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n" */
        for (int c = 0; c < m->k; c++)
                put(buf, size, len, "%*s  %9.*f %9.*f %9.*f %9lld\n", width, class_label(names, c, tmp),
                    digits, m->precision[c], digits, m->recall[c], digits, m->f1[c],
                    (long long)m->support[c]);
        put(buf, size, len, "\n");
        /* micro average is accuracy when every label is listed (labels=range(k)):
         * two empty columns, then the accuracy and the total support */
        put(buf, size, len, "%*s  %9s %9s %9.*f %9lld\n", width, "accuracy", "", "", digits, m->accuracy,
            (long long)m->total);
        put(buf, size, len, "%*s  %9.*f %9.*f %9.*f %9lld\n", width, "macro avg", digits, m->macro_precision,
            digits, m->macro_recall, digits, m->macro_f1, (long long)m->total);
        put(buf, size, len, "%*s  %9.*f %9.*f %9.*f %9lld\n", width, "weighted avg", digits,
            m->weighted_precision, digits, m->weighted_recall, digits, m->weighted_f1, (long long)m->total);
}

size_t sf_report_format(char *buf, size_t size, const sf_confusion_t *cm, const char *const *names,
                        int digits) {
        if (size > 0) buf[0] = '\0';
        sf_metrics_t m;
        if (sf_metrics_compute(cm, &m) != 0) return 0;
        if (digits < 0) digits = 0;
        if (digits > 20) digits = 20;
        size_t len = 0;
        put_table(buf, size, &len, &m, names, digits);
        put_binary(buf, size, &len, &m, digits);
        sf_metrics_destroy(&m);
        return len;
}

int sf_report_write(FILE *fp, const sf_confusion_t *cm, const char *const *names, int digits) {
        char small[2048];
        size_t need = sf_report_format(small, sizeof(small), cm, names, digits);
        if (need == 0) return -1;
        char *text = small;
        if (need >= sizeof(small)) {
                if (!(text = malloc(need + 1))) return -1;
                if (sf_report_format(text, need + 1, cm, names, digits) != need) need = 0;
        }
        int ret = need > 0 && fwrite(text, 1, need, fp) == need ? 0 : -1;
        if (text != small) free(text);
        return ret;
}

int sf_confusion_write(FILE *fp, const sf_confusion_t *cm, const char *const *names) {
        static const char corner[] = "true \\ pred";
        char tmp[16];
        int k = cm->k, lw = (int)strlen(corner), cw = 7;
        for (int c = 0; c < k; c++) {
                int l = (int)strlen(class_label(names, c, tmp));
                if (l > lw) lw = l;
                if (l > cw) cw = l;
                for (int j = 0; j < k; j++) {
                        char num[32];
                        int d = snprintf(num, sizeof(num), "%lld", (long long)sf_confusion_count(cm, c, j));
                        if (d > cw) cw = d;
                }
        }
        if (fprintf(fp, "%-*s", lw, corner) < 0) return -1;
        for (int j = 0; j < k; j++)
                if (fprintf(fp, "  %*s", cw, class_label(names, j, tmp)) < 0) return -1;
        if (fputc('\n', fp) == EOF) return -1;
        for (int c = 0; c < k; c++) {
                if (fprintf(fp, "%-*s", lw, class_label(names, c, tmp)) < 0) return -1;
                for (int j = 0; j < k; j++)
                        if (fprintf(fp, "  %*lld", cw, (long long)sf_confusion_count(cm, c, j)) < 0)
                                return -1;
                if (fputc('\n', fp) == EOF) return -1;
        }
        return 0;
}

static json_t *scores(double p, double r, double f, int64_t support) {
        json_t *o = json_object();
        if (!o) return NULL;
        if (json_object_set_new(o, "precision", json_real(p)) ||
            json_object_set_new(o, "recall", json_real(r)) ||
            json_object_set_new(o, "f1-score", json_real(f)) ||
            json_object_set_new(o, "support", json_integer((json_int_t)support))) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* The class rows, accuracy, averages and binary metrics into root. */
static int json_scores(json_t *root, const sf_metrics_t *m, const char *const *names) {
        char tmp[16];
        for (int c = 0; c < m->k; c++)
                if (json_object_set_new(root, class_label(names, c, tmp),
                                        scores(m->precision[c], m->recall[c], m->f1[c], m->support[c])))
                        return -1;
        if (json_object_set_new(root, "accuracy", json_real(m->accuracy)) ||
            json_object_set_new(root, "macro avg",
                                scores(m->macro_precision, m->macro_recall, m->macro_f1, m->total)) ||
            json_object_set_new(root, "weighted avg",
                                scores(m->weighted_precision, m->weighted_recall, m->weighted_f1, m->total)))
                return -1;
        if (!m->has_binary) return 0;
        int ok = m->binary_defined;
        if (json_object_set_new(root, "roc_auc", ok ? json_real(m->roc_auc) : json_null()) ||
            json_object_set_new(root, "average_precision",
                                ok ? json_real(m->average_precision) : json_null()))
                return -1;
        return 0;
}

/* {"labels": [...], "matrix": [[...], ...]}, or NULL when out of memory. */
static json_t *json_matrix(const sf_confusion_t *cm, const char *const *names) {
        char tmp[16];
        json_t *labels = json_array(), *matrix = json_array();
        if (!labels || !matrix) goto fail;
        for (int c = 0; c < cm->k; c++) {
                json_t *row = json_array();
                if (!row || json_array_append_new(matrix, row)) goto fail;
                if (json_array_append_new(labels, json_string(class_label(names, c, tmp)))) goto fail;
                for (int j = 0; j < cm->k; j++)
                        if (json_array_append_new(row,
                                                  json_integer((json_int_t)sf_confusion_count(cm, c, j))))
                                goto fail;
        }
        return json_pack("{s:o, s:o}", "labels", labels, "matrix", matrix);
fail:
        json_decref(labels);
        json_decref(matrix);
        return NULL;
}

json_t *sf_report_json(const sf_confusion_t *cm, const char *const *names) {
        sf_metrics_t m;
        if (sf_metrics_compute(cm, &m) != 0) return NULL;
        json_t *root = json_object();
        if (!root || json_scores(root, &m, names) != 0 ||
            json_object_set_new(root, "confusion_matrix", json_matrix(cm, names)) != 0) {
                json_decref(root);
                root = NULL;
        }
        sf_metrics_destroy(&m);
        return root;
}

int sf_metrics_argmax(const float *p, int k) {
        int best = 0;
        for (int i = 1; i < k; i++)
                if (p[i] > p[best]) best = i;
        return best;
}

double sf_metrics_log_loss(const float *probs, const int *labels, size_t n, int k) {
        const double eps = 1e-7;
        double sum = 0;
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
                if (labels[i] < 0 || labels[i] >= k) continue;
                double p = probs[i * (size_t)k + (size_t)labels[i]];
                if (!(p >= eps)) p = eps; /* also catches NaN */
                if (p > 1 - eps) p = 1 - eps;
                sum -= log(p);
                used++;
        }
        return used ? sum / (double)used : 0.0;
}
