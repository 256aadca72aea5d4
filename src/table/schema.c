#include "table/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* More classes than this is not a label column (an ID, a number?). */
#define MAX_CLASSES 1000

static const char *const type_names[] = {"numeric", "categorical", "label", "ignore"};

const char *sf_col_type_name(sf_col_type_t type) {
        return (unsigned)type < SF_ARRAY_SIZE(type_names) ? type_names[type] : "?";
}

static void strv_free(char **v, int n) {
        if (!v) return;
        for (int i = 0; i < n; i++) free(v[i]);
        free(v);
}

void sf_schema_destroy(sf_schema_t *s) {
        if (!s) return;
        free(s->name);
        if (s->cols)
                for (int i = 0; i < s->n_cols; i++) free(s->cols[i].name);
        free(s->cols);
        strv_free(s->classes, s->n_classes);
        strv_free(s->map_from, s->n_map);
        free(s->map_to);
        free(s->numeric_cols);
        free(s->categorical_cols);
        free(s->label_slots);
        free(s->keys);
        free(s->key_len);
        free(s->key_class);
        free(s);
}

/* An unknown key of an object that allows only `allowed`: an error naming
 * it (with the closest allowed key when it looks like a typo), or 0. */
static int check_keys(const json_t *obj, const char *const *allowed, size_t n, const char *where,
                      const char *path, char *errstr, size_t errstr_size) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)obj, key, val) {
                size_t i = 0;
                while (i < n && strcmp(key, allowed[i]) != 0) i++;
                if (i < n) continue;
                const char *best = sf_suggest(key, allowed, n);
                char hint[128] = "";
                if (best) snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", best);
                sf_seterr(errstr, errstr_size, "%s: %s%s%s: unknown key%s", where, path, *path ? "." : "",
                          key, hint);
                return -1;
        }
        return 0;
}

static int find_class(const sf_schema_t *s, const char *name) {
        for (int k = 0; k < s->n_classes; k++)
                if (strcmp(s->classes[k], name) == 0) return k;
        return -1;
}

/* "classes" of the label column at columns[i]. */
static int parse_classes(sf_schema_t *s, const json_t *col, int i, const char *where, char *errstr,
                         size_t errstr_size) {
        const json_t *classes = json_object_get(col, "classes");
        if (!classes) {
                sf_seterr(errstr, errstr_size,
                          "%s: columns[%d].classes: missing (the label needs its class names)", where, i);
                return -1;
        }
        if (!json_is_array(classes)) {
                sf_seterr(errstr, errstr_size, "%s: columns[%d].classes: expected an array of strings", where,
                          i);
                return -1;
        }
        size_t n = json_array_size(classes);
        if (n < 2 || n > MAX_CLASSES) {
                sf_seterr(errstr, errstr_size, "%s: columns[%d].classes: %zu classes (expected 2 to %d)",
                          where, i, n, MAX_CLASSES);
                return -1;
        }
        if (!(s->classes = calloc(n, sizeof(*s->classes)))) goto oom;
        for (size_t k = 0; k < n; k++) {
                const json_t *c = json_array_get(classes, k);
                if (!json_is_string(c) || json_string_length(c) == 0) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: columns[%d].classes[%zu]: expected a non-empty string", where, i, k);
                        return -1;
                }
                if (find_class(s, json_string_value(c)) >= 0) {
                        sf_seterr(errstr, errstr_size, "%s: columns[%d].classes[%zu]: \"%s\" is listed twice",
                                  where, i, k, json_string_value(c));
                        return -1;
                }
                if (!(s->classes[k] = strdup(json_string_value(c)))) goto oom;
                s->n_classes = (int)k + 1;
        }
        return 0;
oom:
        sf_seterr(errstr, errstr_size, "%s: out of memory", where);
        return -1;
}

static int cmp_map(const void *a, const void *b, void *arg) {
        const sf_schema_t *s = arg;
        return strcmp(s->map_from[*(const int *)a], s->map_from[*(const int *)b]);
}

/* "map" of the label column at columns[i], after its classes. */
static int parse_map(sf_schema_t *s, const json_t *col, int i, const char *where, char *errstr,
                     size_t errstr_size) {
        const json_t *map = json_object_get(col, "map");
        if (!map) return 0;
        if (!json_is_object(map)) {
                sf_seterr(errstr, errstr_size,
                          "%s: columns[%d].map: expected an object {\"raw value\": \"class\", ...}", where,
                          i);
                return -1;
        }
        size_t n = json_object_size(map);
        int *order = NULL;
        /* Owned by s from here: sf_schema_destroy frees them on failure. */
        char **from = s->map_from = calloc(n + 1, sizeof(*from));
        int *to = s->map_to = calloc(n + 1, sizeof(*to));
        if (!from || !to || !(order = calloc(n + 1, sizeof(*order)))) goto oom;
        const char *key;
        json_t *val;
        int k = 0;
        json_object_foreach((json_t *)map, key, val) {
                if (!json_is_string(val)) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: columns[%d].map.%s: expected a class name (a string)", where, i, key);
                        goto fail;
                }
                int cls = find_class(s, json_string_value(val));
                if (cls < 0) {
                        const char *best = sf_suggest(json_string_value(val), (const char *const *)s->classes,
                                                      (size_t)s->n_classes);
                        char hint[160] = "";
                        if (best) snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", best);
                        sf_seterr(errstr, errstr_size,
                                  "%s: columns[%d].map.%s: unknown class \"%s\" (not in classes)%s", where, i,
                                  key, json_string_value(val), hint);
                        goto fail;
                }
                if (!*key) {
                        sf_seterr(errstr, errstr_size, "%s: columns[%d].map: an empty raw value", where, i);
                        goto fail;
                }
                if (!(from[k] = strdup(key))) goto oom;
                to[k] = cls;
                s->n_map = ++k;
        }
        /* Sort (from, to) pairs by from for the binary search. */
        for (int j = 0; j < k; j++) order[j] = j;
        qsort_r(order, (size_t)k, sizeof(*order), cmp_map, s);
        char **sfrom = calloc((size_t)k + 1, sizeof(*sfrom));
        int *sto = calloc((size_t)k + 1, sizeof(*sto));
        if (!sfrom || !sto) {
                free(sfrom), free(sto);
                goto oom;
        }
        for (int j = 0; j < k; j++) sfrom[j] = from[order[j]], sto[j] = to[order[j]];
        free(from), free(to), free(order);
        s->map_from = sfrom, s->map_to = sto;
        return 0;
oom:
        sf_seterr(errstr, errstr_size, "%s: out of memory", where);
fail:
        free(order);
        return -1;
}

static int parse_column(sf_schema_t *s, const json_t *col, int i, const char *where, char *errstr,
                        size_t errstr_size) {
        static const char *const keys[] = {"name", "type", "classes", "map"};
        char path[64];
        snprintf(path, sizeof(path), "columns[%d]", i);
        if (!json_is_object(col)) {
                sf_seterr(errstr, errstr_size, "%s: %s: expected an object {\"name\": ..., \"type\": ...}",
                          where, path);
                return -1;
        }
        if (check_keys(col, keys, SF_ARRAY_SIZE(keys), where, path, errstr, errstr_size)) return -1;
        const json_t *name = json_object_get(col, "name"), *type = json_object_get(col, "type");
        if (!json_is_string(name) || json_string_length(name) == 0) {
                sf_seterr(errstr, errstr_size, "%s: %s.name: %s", where, path,
                          name ? "expected a non-empty string" : "missing");
                return -1;
        }
        for (int j = 0; j < i; j++)
                if (strcmp(s->cols[j].name, json_string_value(name)) == 0) {
                        sf_seterr(errstr, errstr_size, "%s: %s.name: \"%s\" is also the name of columns[%d]",
                                  where, path, json_string_value(name), j);
                        return -1;
                }
        if (!(s->cols[i].name = strdup(json_string_value(name)))) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", where);
                return -1;
        }
        if (!json_is_string(type)) {
                sf_seterr(errstr, errstr_size,
                          "%s: %s.type: %s (expected numeric, categorical, label or ignore)", where, path,
                          type ? "expected a string" : "missing");
                return -1;
        }
        int t = 0;
        while (t < 4 && strcmp(json_string_value(type), type_names[t]) != 0) t++;
        if (t == 4) {
                sf_seterr(errstr, errstr_size,
                          "%s: %s.type: unknown type \"%s\" (expected numeric, categorical, label or ignore)",
                          where, path, json_string_value(type));
                return -1;
        }
        s->cols[i].type = (sf_col_type_t)t;
        if (t != SF_COL_LABEL) {
                const char *extra = json_object_get(col, "classes") ? "classes"
                                    : json_object_get(col, "map")   ? "map"
                                                                    : NULL;
                if (extra) {
                        sf_seterr(errstr, errstr_size, "%s: %s.%s: only the label column has %s", where, path,
                                  extra, extra);
                        return -1;
                }
                return 0;
        }
        if (s->label_col >= 0) {
                sf_seterr(errstr, errstr_size,
                          "%s: %s.type: a second label column (columns[%d] is the label)", where, path,
                          s->label_col);
                return -1;
        }
        s->label_col = i;
        if (parse_classes(s, col, i, where, errstr, errstr_size)) return -1;
        return parse_map(s, col, i, where, errstr, errstr_size);
}

static uint32_t hash(const char *str, size_t len) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)str[i]) * 16777619u;
        return h;
}

static int find_key(const sf_schema_t *s, const char *str, size_t len) {
        for (uint32_t h = hash(str, len) & s->label_mask; s->label_slots[h]; h = (h + 1) & s->label_mask) {
                int k = (int)s->label_slots[h] - 1;
                if (s->key_len[k] == len && memcmp(s->keys[k], str, len) == 0) return k;
        }
        return -1;
}

/* The hash index of the label's raw values: the map's keys, then the class
 * names the map does not already hold. Returns 0 or -1 (out of memory). */
static int index_labels(sf_schema_t *s) {
        size_t n = (size_t)(s->n_map + s->n_classes);
        uint32_t size = 16;
        while (size < 2 * n) size *= 2;
        if (!(s->label_slots = calloc(size, sizeof(uint32_t))) || !(s->keys = calloc(n, sizeof(char *))) ||
            !(s->key_len = calloc(n, sizeof(size_t))) || !(s->key_class = calloc(n, sizeof(int))))
                return -1;
        s->label_mask = size - 1;
        for (size_t i = 0; i < n; i++) {
                int is_map = i < (size_t)s->n_map;
                const char *key = is_map ? s->map_from[i] : s->classes[i - (size_t)s->n_map];
                size_t len = strlen(key);
                if (find_key(s, key, len) >= 0) continue; /* a class name the map sends elsewhere */
                int k = s->n_keys++;
                s->keys[k] = key, s->key_len[k] = len;
                s->key_class[k] = is_map ? s->map_to[i] : (int)i - s->n_map;
                uint32_t h = hash(key, len) & s->label_mask;
                while (s->label_slots[h]) h = (h + 1) & s->label_mask;
                s->label_slots[h] = (uint32_t)k + 1;
        }
        return 0;
}

/* numeric_cols and categorical_cols from the column types. */
static int index_columns(sf_schema_t *s) {
        if (!(s->numeric_cols = calloc((size_t)s->n_cols, sizeof(int))) ||
            !(s->categorical_cols = calloc((size_t)s->n_cols, sizeof(int))))
                return -1;
        s->min_fields = 1;
        for (int i = 0; i < s->n_cols; i++) {
                if (s->cols[i].type == SF_COL_NUMERIC) s->numeric_cols[s->n_numeric++] = i;
                if (s->cols[i].type == SF_COL_CATEGORICAL) s->categorical_cols[s->n_categorical++] = i;
                if (s->cols[i].type == SF_COL_NUMERIC || s->cols[i].type == SF_COL_CATEGORICAL)
                        s->min_fields = i + 1;
        }
        return 0;
}

sf_schema_t *sf_schema_from_json(const json_t *root, const char *where, char *errstr, size_t errstr_size) {
        /* "encoder": a fitted schema (fitted.h), read by sf_fitted_from_json. */
        static const char *const keys[] = {"name", "header", "columns", "encoder"};
        if (!json_is_object(root)) {
                sf_seterr(errstr, errstr_size, "%s: expected a JSON object {\"columns\": [...]}", where);
                return NULL;
        }
        if (check_keys(root, keys, SF_ARRAY_SIZE(keys), where, "", errstr, errstr_size)) return NULL;
        sf_schema_t *s = calloc(1, sizeof(*s));
        if (!s) goto oom;
        s->label_col = -1;
        s->header = 1;
        const json_t *name = json_object_get(root, "name"), *header = json_object_get(root, "header");
        const json_t *cols = json_object_get(root, "columns");
        if (name && !json_is_string(name)) {
                sf_seterr(errstr, errstr_size, "%s: name: expected a string", where);
                goto fail;
        }
        if (!(s->name = strdup(name ? json_string_value(name) : ""))) goto oom;
        if (header && !json_is_boolean(header)) {
                sf_seterr(errstr, errstr_size, "%s: header: expected true or false", where);
                goto fail;
        }
        if (header) s->header = json_is_true(header);
        if (!cols || !json_is_array(cols) || json_array_size(cols) == 0) {
                sf_seterr(errstr, errstr_size, "%s: columns: %s", where,
                          cols ? "expected a non-empty array of columns" : "missing");
                goto fail;
        }
        size_t n = json_array_size(cols);
        if (n > 65535) {
                sf_seterr(errstr, errstr_size, "%s: columns: %zu columns (at most 65535)", where, n);
                goto fail;
        }
        if (!(s->cols = calloc(n, sizeof(*s->cols)))) goto oom;
        s->n_cols = (int)n;
        for (int i = 0; i < s->n_cols; i++)
                if (parse_column(s, json_array_get(cols, (size_t)i), i, where, errstr, errstr_size))
                        goto fail;
        if (s->label_col < 0) {
                sf_seterr(errstr, errstr_size, "%s: columns: no column has type \"label\" (exactly one must)",
                          where);
                goto fail;
        }
        if (index_columns(s) || index_labels(s)) goto oom;
        return s;
oom:
        sf_seterr(errstr, errstr_size, "%s: out of memory", where);
fail:
        sf_schema_destroy(s);
        return NULL;
}

sf_schema_t *sf_schema_parse(const char *text, size_t len, const char *where, char *errstr,
                             size_t errstr_size) {
        json_error_t jerr;
        json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                sf_seterr(errstr, errstr_size, "%s:%d:%d: not valid JSON: %s", where, jerr.line, jerr.column,
                          jerr.text);
                return NULL;
        }
        sf_schema_t *s = sf_schema_from_json(root, where, errstr, errstr_size);
        json_decref(root);
        return s;
}

json_t *sf_schema_read_json(const char *path, char *errstr, size_t errstr_size) {
        json_error_t jerr;
        json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (root) return root;
        /* jansson says "unable to open PATH: strerror" for a missing file */
        if (jerr.line < 0)
                sf_seterr(errstr, errstr_size, "%s", jerr.text);
        else
                sf_seterr(errstr, errstr_size, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column,
                          jerr.text);
        return NULL;
}

sf_schema_t *sf_schema_load(const char *path, char *errstr, size_t errstr_size) {
        json_t *root = sf_schema_read_json(path, errstr, errstr_size);
        if (!root) return NULL;
        sf_schema_t *s = sf_schema_from_json(root, path, errstr, errstr_size);
        json_decref(root);
        return s;
}

json_t *sf_schema_to_json(const sf_schema_t *s) {
        json_t *root = json_object(), *cols = json_array();
        if (!root || !cols) goto fail;
        if (s->name && *s->name && json_object_set_new(root, "name", json_string(s->name))) goto fail;
        if (json_object_set_new(root, "header", json_boolean(s->header))) goto fail;
        for (int i = 0; i < s->n_cols; i++) {
                json_t *col = json_pack("{s:s, s:s}", "name", s->cols[i].name, "type",
                                        sf_col_type_name(s->cols[i].type));
                if (!col || json_array_append_new(cols, col)) goto fail;
                if (i != s->label_col) continue;
                json_t *classes = json_array();
                if (!classes || json_object_set_new(col, "classes", classes)) goto fail;
                for (int k = 0; k < s->n_classes; k++)
                        if (json_array_append_new(classes, json_string(s->classes[k]))) goto fail;
                if (s->n_map == 0) continue;
                json_t *map = json_object();
                if (!map || json_object_set_new(col, "map", map)) goto fail;
                for (int k = 0; k < s->n_map; k++)
                        if (json_object_set_new(map, s->map_from[k], json_string(s->classes[s->map_to[k]])))
                                goto fail;
        }
        if (json_object_set_new(root, "columns", cols) == 0) return root;
        cols = NULL;
fail:
        json_decref(cols);
        json_decref(root);
        return NULL;
}

char *sf_schema_format(const sf_schema_t *s) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f) return NULL;
        json_t *root = sf_schema_to_json(s);
        const json_t *cols = json_object_get(root, "columns");
        if (!root) goto fail;
        fprintf(f, "{\n");
        if (*s->name) {
                char *n = json_dumps(json_object_get(root, "name"), JSON_ENCODE_ANY);
                fprintf(f, "  \"name\": %s,\n", n ? n : "\"\"");
                free(n);
        }
        fprintf(f, "  \"header\": %s,\n  \"columns\": [\n", s->header ? "true" : "false");
        for (int i = 0; i < s->n_cols; i++) {
                json_t *col = json_array_get(cols, (size_t)i);
                char *name = json_dumps(json_object_get(col, "name"), JSON_ENCODE_ANY);
                char *classes = json_dumps(json_object_get(col, "classes"), JSON_ENCODE_ANY);
                const char *sep = i + 1 < s->n_cols ? "," : "";
                fprintf(f, "    {\"name\": %s, \"type\": \"%s\"", name ? name : "\"\"",
                        sf_col_type_name(s->cols[i].type));
                if (i == s->label_col) {
                        fprintf(f, ",\n     \"classes\": %s", classes ? classes : "[]");
                        if (s->n_map) fprintf(f, ",\n     \"map\": {\n");
                        for (int k = 0; k < s->n_map; k++) {
                                json_t *from = json_string(s->map_from[k]),
                                       *to = json_string(s->classes[s->map_to[k]]);
                                char *a = json_dumps(from, JSON_ENCODE_ANY),
                                     *b = json_dumps(to, JSON_ENCODE_ANY);
                                fprintf(f, "        %s: %s%s\n", a ? a : "\"\"", b ? b : "\"\"",
                                        k + 1 < s->n_map ? "," : "");
                                free(a), free(b);
                                json_decref(from), json_decref(to);
                        }
                        if (s->n_map) fprintf(f, "     }");
                }
                fprintf(f, "}%s\n", sep);
                free(name), free(classes);
        }
        fprintf(f, "  ]\n}\n");
        json_decref(root);
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
fail:
        fclose(f);
        free(text);
        return NULL;
}

int sf_schema_find(const sf_schema_t *s, const char *name) {
        for (int i = 0; i < s->n_cols; i++)
                if (strcmp(s->cols[i].name, name) == 0) return i;
        return -1;
}

int sf_schema_class(const sf_schema_t *s, const char *str, size_t len) {
        int k = find_key(s, str, len);
        return k >= 0 ? s->key_class[k] : -1;
}
