#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/csv.h"
#include "table/schema.h"
#include "util/decimal.h"
#include "util/util.h"

#define MAX_CLASSES 1000
#define MAX_COLUMNS 65535

typedef struct {
        int n_cols;
        char **names;
        int *numeric; /* every value so far is a number */
        size_t *n_values;
        char **classes; /* sorted */
        int n_classes;
} infer_t;

static void infer_free(infer_t *in) {
        for (int i = 0; in->names && i < in->n_cols; i++) free(in->names[i]);
        for (int k = 0; k < in->n_classes; k++) free(in->classes[k]);
        free(in->names), free(in->numeric), free(in->n_values), free(in->classes);
}

/* Adds a label value to the sorted classes. Returns 0, -1 (out of memory)
 * or -2 (too many). */
static int add_class(infer_t *in, const char *s, size_t len) {
        int lo = 0, hi = in->n_classes - 1;
        while (lo <= hi) {
                int mid = (lo + hi) / 2;
                int c = strncmp(in->classes[mid], s, len);
                if (c == 0 && in->classes[mid][len]) c = 1;
                if (c == 0) return 0;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid - 1;
        }
        if (in->n_classes == MAX_CLASSES) return -2;
        char *copy = strndup(s, len);
        if (!copy) return -1;
        memmove(in->classes + lo + 1, in->classes + lo, (size_t)(in->n_classes - lo) * sizeof(char *));
        in->classes[lo] = copy;
        in->n_classes++;
        return 0;
}

/* Valid UTF-8, as jansson checks it for every string it stores. */
static int is_utf8(const char *s, size_t len) {
        json_t *j = json_stringn(s, len);
        json_decref(j);
        return j != NULL;
}

static int read_header(infer_t *in, const sf_csv_field_t *f, int nf, const char *path, uint64_t lineno,
                       char *errstr, size_t errstr_size) {
        if (nf > MAX_COLUMNS) {
                sf_seterr(errstr, errstr_size, "%s:%llu: %d columns (at most %d)", path,
                          (unsigned long long)lineno, nf, MAX_COLUMNS);
                return -1;
        }
        in->n_cols = nf;
        if (!(in->names = calloc((size_t)nf, sizeof(char *))) ||
            !(in->numeric = calloc((size_t)nf, sizeof(int))) ||
            !(in->n_values = calloc((size_t)nf, sizeof(size_t))) ||
            !(in->classes = calloc(MAX_CLASSES, sizeof(char *)))) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                return -1;
        }
        for (int i = 0; i < nf; i++) {
                in->numeric[i] = 1;
                if (!(in->names[i] = strndup(f[i].s, f[i].len))) {
                        sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                        return -1;
                }
                if (f[i].len == 0 || strlen(in->names[i]) != f[i].len || !is_utf8(f[i].s, f[i].len)) {
                        sf_seterr(errstr, errstr_size, "%s:%llu:%d: the header gives column %d %s", path,
                                  (unsigned long long)lineno, i + 1, i + 1,
                                  f[i].len ? "a name that is not valid UTF-8" : "no name");
                        return -1;
                }
                for (int j = 0; j < i; j++)
                        if (strcmp(in->names[j], in->names[i]) == 0) {
                                sf_seterr(errstr, errstr_size,
                                          "%s:%llu:%d: the header names two columns \"%s\" (%d and %d)", path,
                                          (unsigned long long)lineno, i + 1, in->names[i], j + 1, i + 1);
                                return -1;
                        }
        }
        return 0;
}

/* One data record: types and label values. */
static int scan_record(infer_t *in, sf_csv_reader_t *csv, const sf_csv_field_t *f, int nf, int label,
                       uint64_t lineno, char *errstr, size_t errstr_size) {
        if (nf != in->n_cols) {
                char why[96];
                snprintf(why, sizeof(why), "%d field%s, the header has %d", nf, nf == 1 ? "" : "s",
                         in->n_cols);
                sf_csv_error(csv, lineno, nf < in->n_cols ? nf : in->n_cols, why, errstr, errstr_size);
                return -1;
        }
        for (int i = 0; i < nf; i++) {
                if (f[i].len == 0 && !f[i].quoted) {
                        if (i != label) continue;
                        sf_csv_error(csv, lineno, i, "no label (every row needs one)", errstr, errstr_size);
                        return -1;
                }
                in->n_values[i]++;
                float v;
                if (in->numeric[i] && sf_decimal_parse_float(f[i].s, f[i].len, &v) != SF_DECIMAL_OK)
                        in->numeric[i] = 0;
                if (i != label) continue;
                if (!is_utf8(f[i].s, f[i].len)) {
                        sf_csv_error(csv, lineno, i, "a label that is not valid UTF-8", errstr, errstr_size);
                        return -1;
                }
                int rc = add_class(in, f[i].s, f[i].len);
                if (rc == -1) {
                        sf_seterr(errstr, errstr_size, "%s: out of memory", sf_csv_path(csv));
                        return -1;
                }
                if (rc == -2) {
                        char why[160];
                        snprintf(why, sizeof(why),
                                 "more than %d distinct labels: is this the label column? (--label COLUMN)",
                                 MAX_CLASSES);
                        sf_csv_error(csv, lineno, i, why, errstr, errstr_size);
                        return -1;
                }
        }
        return 0;
}

/* The schema from what infer_t found. */
static sf_schema_t *build(const infer_t *in, int label, const char *name, const char *path, char *errstr,
                          size_t errstr_size) {
        json_t *root = json_pack("{s:s, s:b, s:[]}", "name", name ? name : "", "header", 1, "columns");
        json_t *cols = json_object_get(root, "columns");
        for (int i = 0; root && i < in->n_cols; i++) {
                const char *type = i == label                          ? "label"
                                   : in->numeric[i] && in->n_values[i] ? "numeric"
                                                                       : "categorical";
                json_t *col = json_pack("{s:s, s:s}", "name", in->names[i], "type", type);
                if (!col || json_array_append_new(cols, col)) goto oom;
                if (i != label) continue;
                json_t *classes = json_array();
                if (!classes || json_object_set_new(col, "classes", classes)) goto oom;
                for (int k = 0; k < in->n_classes; k++)
                        if (json_array_append_new(classes, json_string(in->classes[k]))) goto oom;
        }
        if (!root) goto oom;
        if (in->n_classes < 2) {
                sf_seterr(
                        errstr, errstr_size,
                        "%s: the label column \"%s\" has %d distinct value%s (a classifier needs 2 or more)",
                        path, in->names[label], in->n_classes, in->n_classes == 1 ? "" : "s");
                json_decref(root);
                return NULL;
        }
        sf_schema_t *s = sf_schema_from_json(root, path, errstr, errstr_size);
        json_decref(root);
        return s;
oom:
        json_decref(root);
        sf_seterr(errstr, errstr_size, "%s: out of memory", path);
        return NULL;
}

int sf_schema_infer(const char *path, const char *label, const char *name, sf_schema_t **out, char *errstr,
                    size_t errstr_size) {
        infer_t in = {0};
        int ret = -1, label_col = -1;
        *out = NULL;
        sf_csv_reader_t *csv = sf_csv_open(path, MAX_COLUMNS + 1, errstr, errstr_size);
        if (!csv) return -1;
        for (int first = 1;; first = 0) {
                const sf_csv_field_t *f;
                int nf;
                uint64_t lineno;
                sf_csv_read_status_t st = sf_csv_next(csv, &f, &nf, &lineno, errstr, errstr_size);
                if (st == SF_CSV_READ_EOF) break;
                if (st != SF_CSV_READ_OK) goto out;
                if (!first) {
                        if (scan_record(&in, csv, f, nf, label_col, lineno, errstr, errstr_size)) goto out;
                        continue;
                }
                if (read_header(&in, f, nf, path, lineno, errstr, errstr_size)) goto out;
                sf_csv_set_names(csv, (const char *const *)in.names, in.n_cols);
                label_col = in.n_cols - 1;
                if (label) {
                        for (label_col = 0; label_col < in.n_cols && strcmp(in.names[label_col], label);
                             label_col++)
                                ;
                        if (label_col == in.n_cols) {
                                const char *best =
                                        sf_suggest(label, (const char *const *)in.names, (size_t)in.n_cols);
                                char hint[300] = "";
                                if (best) snprintf(hint, sizeof(hint), "; did you mean '%s'?", best);
                                sf_seterr(errstr, errstr_size, "%s: no column named '%s' in the header%s",
                                          path, label, hint);
                                ret = -2;
                                goto out;
                        }
                }
        }
        if (in.n_cols == 0) {
                sf_seterr(errstr, errstr_size, "%s: empty file (expected a header row and data)", path);
                goto out;
        }
        if ((*out = build(&in, label_col, name, path, errstr, errstr_size))) ret = 0;
out:
        sf_csv_close(csv);
        infer_free(&in);
        return ret;
}
