#include "report/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "data/kdd.h"

#define K SF_METRICS_NCLASSES

void sf_confusion_init(sf_confusion_t *cm) {
        memset(cm, 0, sizeof(*cm));
}

int sf_confusion_add(sf_confusion_t *cm, int truth, int pred) {
        if (truth < 0 || truth >= K || pred < 0 || pred >= K) return -1;
        cm->m[truth][pred]++;
        return 0;
}

/* zero_division=0: a 0/0 ratio is 0. */
static double ratio(double num, double den) {
        return den > 0 ? num / den : 0.0;
}

void sf_metrics_compute(const sf_confusion_t *cm, sf_metrics_t *out) {
        memset(out, 0, sizeof(*out));
        int64_t tp_sum = 0;
        for (int c = 0; c < K; c++) {
                int64_t tp = cm->m[c][c], support = 0, predicted = 0;
                for (int j = 0; j < K; j++) {
                        support += cm->m[c][j];
                        predicted += cm->m[j][c];
                }
                out->support[c] = support;
                out->total += support;
                tp_sum += tp;
                out->precision[c] = ratio((double)tp, (double)predicted);
                out->recall[c] = ratio((double)tp, (double)support);
                /* sklearn computes F1 from the counts, 2tp / (2tp + fp + fn),
                 * not from the rounded precision and recall. */
                out->f1[c] = ratio(2.0 * (double)tp, (double)(predicted + support));
        }
        out->accuracy = ratio((double)tp_sum, (double)out->total);
        /* sum, then divide, in class order: numpy's mean over 5 values */
        for (int c = 0; c < K; c++) {
                out->macro_precision += out->precision[c];
                out->macro_recall += out->recall[c];
                out->macro_f1 += out->f1[c];
        }
        out->macro_precision /= K;
        out->macro_recall /= K;
        out->macro_f1 /= K;
        if (out->total > 0) {
                double wp = 0, wr = 0, wf = 0;
                for (int c = 0; c < K; c++) {
                        wp += out->precision[c] * (double)out->support[c];
                        wr += out->recall[c] * (double)out->support[c];
                        wf += out->f1[c] * (double)out->support[c];
                }
                out->weighted_precision = wp / (double)out->total;
                out->weighted_recall = wr / (double)out->total;
                out->weighted_f1 = wf / (double)out->total;
        }
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

static const char *class_label(const char *const *names, int c) {
        const char *s = names ? names[c] : sf_kdd_class_name(c);
        return s ? s : "";
}

size_t sf_report_format(char *buf, size_t size, const sf_confusion_t *cm, const char *const *names,
                        int digits) {
        sf_metrics_t m;
        sf_metrics_compute(cm, &m);
        if (digits < 0) digits = 0;
        if (digits > 20) digits = 20;
        if (size > 0) buf[0] = '\0';
        /* sklearn: width = max(len of the longest name, len("weighted avg"), digits) */
        int width = (int)strlen("weighted avg");
        for (int c = 0; c < K; c++) {
                int l = (int)strlen(class_label(names, c));
                if (l > width) width = l;
        }
        if (digits > width) width = digits;
        size_t len = 0;
        /* head_fmt = "{:>{width}s} " + " {:>9}" * 4, then a blank line */
        put(buf, size, &len, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score",
            "support");
        /* row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n" */
        for (int c = 0; c < K; c++)
                put(buf, size, &len, "%*s  %9.*f %9.*f %9.*f %9lld\n", width, class_label(names, c), digits,
                    m.precision[c], digits, m.recall[c], digits, m.f1[c], (long long)m.support[c]);
        put(buf, size, &len, "\n");
        /* micro average is accuracy when every label is listed (labels=[0..4]):
         * two empty columns, then the accuracy and the total support */
        put(buf, size, &len, "%*s  %9s %9s %9.*f %9lld\n", width, "accuracy", "", "", digits, m.accuracy,
            (long long)m.total);
        put(buf, size, &len, "%*s  %9.*f %9.*f %9.*f %9lld\n", width, "macro avg", digits, m.macro_precision,
            digits, m.macro_recall, digits, m.macro_f1, (long long)m.total);
        put(buf, size, &len, "%*s  %9.*f %9.*f %9.*f %9lld\n", width, "weighted avg", digits,
            m.weighted_precision, digits, m.weighted_recall, digits, m.weighted_f1, (long long)m.total);
        return len;
}

int sf_report_write(FILE *fp, const sf_confusion_t *cm, const char *const *names, int digits) {
        char small[2048];
        size_t need = sf_report_format(small, sizeof(small), cm, names, digits);
        char *text = small;
        if (need >= sizeof(small)) {
                if (!(text = malloc(need + 1))) return -1;
                sf_report_format(text, need + 1, cm, names, digits);
        }
        int ret = fwrite(text, 1, need, fp) == need ? 0 : -1;
        if (text != small) free(text);
        return ret;
}

int sf_confusion_write(FILE *fp, const sf_confusion_t *cm, const char *const *names) {
        static const char corner[] = "true \\ pred";
        int lw = (int)strlen(corner), cw = 7;
        for (int c = 0; c < K; c++) {
                int l = (int)strlen(class_label(names, c));
                if (l > lw) lw = l;
                if (l > cw) cw = l;
                for (int j = 0; j < K; j++) {
                        char num[32];
                        int d = snprintf(num, sizeof(num), "%lld", (long long)cm->m[c][j]);
                        if (d > cw) cw = d;
                }
        }
        if (fprintf(fp, "%-*s", lw, corner) < 0) return -1;
        for (int j = 0; j < K; j++)
                if (fprintf(fp, "  %*s", cw, class_label(names, j)) < 0) return -1;
        if (fputc('\n', fp) == EOF) return -1;
        for (int c = 0; c < K; c++) {
                if (fprintf(fp, "%-*s", lw, class_label(names, c)) < 0) return -1;
                for (int j = 0; j < K; j++)
                        if (fprintf(fp, "  %*lld", cw, (long long)cm->m[c][j]) < 0) return -1;
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

json_t *sf_report_json(const sf_confusion_t *cm, const char *const *names) {
        sf_metrics_t m;
        sf_metrics_compute(cm, &m);
        json_t *root = json_object(), *labels = json_array(), *matrix = json_array(), *conf = json_object();
        if (!root || !labels || !matrix || !conf) goto fail;
        for (int c = 0; c < K; c++)
                if (json_object_set_new(root, class_label(names, c),
                                        scores(m.precision[c], m.recall[c], m.f1[c], m.support[c])))
                        goto fail;
        if (json_object_set_new(root, "accuracy", json_real(m.accuracy)) ||
            json_object_set_new(root, "macro avg",
                                scores(m.macro_precision, m.macro_recall, m.macro_f1, m.total)) ||
            json_object_set_new(root, "weighted avg",
                                scores(m.weighted_precision, m.weighted_recall, m.weighted_f1, m.total)))
                goto fail;
        for (int c = 0; c < K; c++) {
                json_t *row = json_array();
                if (!row || json_array_append_new(matrix, row)) goto fail;
                if (json_array_append_new(labels, json_string(class_label(names, c)))) goto fail;
                for (int j = 0; j < K; j++)
                        if (json_array_append_new(row, json_integer((json_int_t)cm->m[c][j]))) goto fail;
        }
        int bad = json_object_set_new(conf, "labels", labels);
        labels = NULL;
        bad |= json_object_set_new(conf, "matrix", matrix);
        matrix = NULL;
        bad |= json_object_set_new(root, "confusion_matrix", conf);
        conf = NULL;
        if (bad) goto fail;
        return root;
fail:
        json_decref(labels);
        json_decref(matrix);
        json_decref(conf);
        json_decref(root);
        return NULL;
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
