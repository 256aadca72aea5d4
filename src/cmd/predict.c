/* streamflow predict: score the rows of files (CSV or JSON lines, plain or
 * gzip) with a model and print one prediction JSON line per row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"
#include "model/model.h"
#include "score/record.h"
#include "table/csv.h"
#include "util/lines.h"
#include "util/util.h"

enum { OPT_MODEL = SF_OPT_LONG, OPT_SCHEMA };

static const sf_option_t options[] = {
        {"model", OPT_MODEL, "FILE", "the model to score with (default model.safetensors)"},
        {"schema", OPT_SCHEMA, "FILE",
         "the fitted schema of an ONNX --model trained elsewhere ('schema fit')"},
        {0}};

static const sf_cmd_spec_t spec = {
        "predict",
        "[FILE...|-]",
        "Classifies the rows of files, plain or .gz, or stdin ('-' or no FILE): CSV records of the\n"
        "model's schema (its header row checked and skipped when the schema has one), or JSON objects\n"
        "one per line (a file whose first non-blank byte is '{'). Prints one JSON line per row: the\n"
        "class, its index, the probabilities and, when the row has one, the true label. A bad row is\n"
        "reported on stderr as FILE:LINE:COL (column): reason and the others go on; the exit code is\n"
        "1 if any row or file was bad.",
        {options, NULL}};

/* One model's scoring state, allocated once for its sizes. */
typedef struct predictor {
        sf_model_t *model;
        sf_score_decoder_t dec;
        sf_row_t row;
        float *dense, *probs;
        int32_t *hot;
        uint8_t *status;
        char *json;
        size_t json_cap;
        const char *shown;      /* the input's name in messages */
        const char *named;      /* its name in the JSON, or NULL */
        sf_csv_field_t *fields; /* the header's */
        char *scratch;
        size_t scratch_cap;
} predictor_t;

static void report(const predictor_t *pr, uint64_t lineno, int col, const char *why) {
        fflush(stdout);
        const sf_schema_t *s = pr->dec.schema;
        if (col >= 0 && col < s->n_cols)
                fprintf(stderr, "streamflow predict: %s:%llu:%d (%s): %s\n", pr->shown,
                        (unsigned long long)lineno, col + 1, s->cols[col].name, why);
        else
                fprintf(stderr, "streamflow predict: %s:%llu: %s\n", pr->shown, (unsigned long long)lineno,
                        why);
}

/* Scores one record and prints its prediction. Returns 0, 1 when the row
 * was bad (reported), -1 when out of memory. */
static int predict_record(predictor_t *pr, const char *text, size_t len, uint64_t lineno) {
        char err[512];
        sf_score_info_t info;
        sf_score_reject_t r = sf_score_decode(&pr->dec, text, len, &pr->row, &info, err, sizeof(err));
        if (r == SF_REJECT_NONE)
                r = sf_score_encode(&pr->dec, &pr->row, pr->dense, pr->hot, pr->status, &info, err,
                                    sizeof(err));
        if (r != SF_REJECT_NONE) {
                report(pr, lineno, info.col, err);
                return 1;
        }
        if (sf_model_predict_sparse(pr->model, pr->dense, pr->hot, 1, pr->probs) != 0) return -1;
        int classes = sf_model_classes(pr->model);
        if (sf_score_check_probs(pr->probs, classes, err, sizeof(err)) != SF_REJECT_NONE) {
                report(pr, lineno, -1, err);
                return 1;
        }
        sf_score_source_t src = {NULL, 0, 0, pr->named, lineno, 0, 0};
        size_t n;
        while ((n = sf_score_format(&pr->dec, pr->json, pr->json_cap, pr->probs, &pr->row, pr->status, &info,
                                    &src)) >= pr->json_cap) {
                char *j = realloc(pr->json, n + 1);
                if (!j) return -1;
                pr->json = j;
                pr->json_cap = n + 1;
        }
        pr->json[n] = '\n';
        fwrite(pr->json, 1, n + 1, stdout);
        return 0;
}

/* The header record: the schema's column names, in order. Returns 0, 1
 * when it is not (reported), -1 when out of memory. */
static int check_header(predictor_t *pr, const char *text, size_t len, uint64_t lineno) {
        const sf_schema_t *s = pr->dec.schema;
        if (len + 1 > pr->scratch_cap) {
                char *b = realloc(pr->scratch, len + 1);
                if (!b) return -1;
                pr->scratch = b;
                pr->scratch_cap = len + 1;
        }
        int nf, bad;
        const char *why;
        if (sf_csv_split(text, len, pr->fields, s->n_cols, &nf, pr->scratch, &bad, &why) != SF_CSV_OK) {
                report(pr, lineno, bad, why);
                return 1;
        }
        for (int i = 0; i < s->n_cols && i < nf; i++) {
                const sf_csv_field_t *f = &pr->fields[i];
                if (f->len == strlen(s->cols[i].name) && memcmp(f->s, s->cols[i].name, f->len) == 0) continue;
                char msg[256];
                snprintf(msg, sizeof(msg), "the header names column %d \"%.*s\", the schema \"%s\"", i + 1,
                         (int)(f->len > 64 ? 64 : f->len), f->s, s->cols[i].name);
                report(pr, lineno, i, msg);
                return 1;
        }
        if (nf == s->n_cols) return 0;
        char msg[128];
        snprintf(msg, sizeof(msg), "the header has %d columns, the schema %d", nf, s->n_cols);
        report(pr, lineno, -1, msg);
        return 1;
}

/* The records of a CSV input. Returns 0 (all good), 1 (some bad) or -1. */
static int predict_csv(predictor_t *pr, sf_csv_reader_t *csv) {
        int bad = 0, r;
        char err[1024];
        for (int first = 1;; first = 0) {
                const char *text;
                size_t len;
                uint64_t lineno = 0;
                sf_csv_read_status_t st = sf_csv_next_text(csv, &text, &len, &lineno, err, sizeof(err));
                if (st == SF_CSV_READ_EOF) break;
                if (st != SF_CSV_READ_OK) {
                        fflush(stdout);
                        fprintf(stderr, "streamflow predict: %s\n", err);
                        bad = 1;
                        if (st == SF_CSV_READ_ERROR) break;
                        continue;
                }
                r = first && pr->dec.schema->header ? check_header(pr, text, len, lineno)
                                                    : predict_record(pr, text, len, lineno);
                if (r < 0) return -1;
                bad |= r;
        }
        return bad;
}

/* The records of a JSON-lines input. Returns 0, 1 or -1 as predict_csv. */
static int predict_json(predictor_t *pr, sf_lines_t *lines) {
        int bad = 0, r;
        char err[1024];
        for (;;) {
                const char *text;
                size_t len;
                uint64_t lineno = 0;
                sf_lines_status_t st = sf_lines_next(lines, &text, &len, &lineno, err, sizeof(err));
                if (st == SF_LINES_EOF) break;
                if (st != SF_LINES_OK) {
                        fflush(stdout);
                        fprintf(stderr, "streamflow predict: %s\n", err);
                        bad = 1;
                        if (st == SF_LINES_ERROR) break;
                        continue;
                }
                if ((r = predict_record(pr, text, len, lineno)) < 0) return -1;
                bad |= r;
        }
        return bad;
}

/* Scores one input. Returns 0 when every row was good, 1 when some row or
 * the file itself was bad, -1 on a fatal error (out of memory). */
static int predict_file(predictor_t *pr, const char *path, int name_file) {
        char err[1024];
        sf_csv_reader_t *csv = sf_csv_open(path, pr->dec.schema->n_cols + 1, err, sizeof(err));
        if (!csv) {
                fprintf(stderr, "streamflow predict: %s\n", err);
                return 1;
        }
        pr->shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
        pr->named = name_file ? pr->shown : NULL;
        int first = sf_lines_peek(sf_csv_lines(csv), err, sizeof(err)), r;
        if (first < 0) {
                fprintf(stderr, "streamflow predict: %s\n", err);
                r = 1;
        } else if (first == '{') {
                pr->dec.format = SF_SCORE_JSON;
                r = predict_json(pr, sf_csv_lines(csv));
        } else {
                pr->dec.format = SF_SCORE_CSV;
                r = predict_csv(pr, csv);
        }
        sf_csv_close(csv);
        if (r < 0) fprintf(stderr, "streamflow predict: out of memory\n");
        return r;
}

static void predictor_free(predictor_t *pr) {
        sf_row_free(&pr->row);
        sf_score_decoder_free(&pr->dec);
        free(pr->dense);
        free(pr->probs);
        free(pr->hot);
        free(pr->status);
        free(pr->json);
        free(pr->fields);
        free(pr->scratch);
}

static int predictor_init(predictor_t *pr, sf_model_t *model) {
        memset(pr, 0, sizeof(*pr));
        pr->model = model;
        const sf_encoder_t *enc = sf_model_encoder(model);
        const sf_schema_t *s = sf_model_schema(model);
        if (sf_score_decoder_init(&pr->dec, s, enc, SF_SCORE_CSV) != 0 || sf_row_init(&pr->row, s) != 0)
                return -1;
        pr->dense = malloc(((size_t)pr->dec.n_dense + 1) * sizeof(float));
        pr->probs = malloc((size_t)sf_model_classes(model) * sizeof(float));
        pr->hot = malloc(((size_t)enc->n_cat + 1) * sizeof(int32_t));
        pr->status = calloc((size_t)enc->n_cat + 1, 1);
        pr->fields = calloc((size_t)s->n_cols, sizeof(*pr->fields));
        pr->json_cap = 4096;
        pr->json = malloc(pr->json_cap);
        return pr->dense && pr->probs && pr->hot && pr->status && pr->fields && pr->json ? 0 : -1;
}

int cmd_predict(int argc, char **argv) {
        const char *model_path = "model.safetensors", *fitted_path = NULL;
        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_MODEL) model_path = arg;
                if (c == OPT_SCHEMA) fitted_path = arg;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;

        char err[1024];
        sf_model_t *model = sf_model_load_with(model_path, fitted_path, err, sizeof(err));
        if (!model) {
                fprintf(stderr, "streamflow predict: %s\n", err);
                return 1;
        }
        predictor_t pr;
        int rc = 1;
        if (predictor_init(&pr, model) != 0) {
                fprintf(stderr, "streamflow predict: out of memory\n");
                goto out;
        }
        sf_nn_set_threads(1);
        int nfiles = p.nops, any_bad = 0;
        char dash[] = "-";
        char *stdin_only[] = {dash};
        char **files = nfiles > 0 ? argv + 1 : stdin_only;
        if (nfiles == 0) nfiles = 1;
        for (int i = 0; i < nfiles; i++) {
                int r = predict_file(&pr, files[i], nfiles > 1);
                if (r < 0) goto out;
                if (r > 0) any_bad = 1;
        }
        if (fflush(stdout) != 0) {
                fprintf(stderr, "streamflow predict: cannot write to stdout\n");
                goto out;
        }
        rc = any_bad ? 1 : 0;
out:
        predictor_free(&pr);
        sf_model_destroy(model);
        return rc;
}
