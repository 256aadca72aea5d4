#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"
#include "data/kdd.h"
#include "model/model.h"
#include "util/lines.h"
#include "util/utf8.h"
#include "util/util.h"

enum { OPT_MODEL = SF_OPT_LONG };

static const sf_option_t options[] = {
        {"model", OPT_MODEL, "FILE", "the model to score with (default model.safetensors)"}, {0}};

static const sf_cmd_spec_t spec = {
        "predict",
        "[FILE...|-]",
        "Classify NSL-KDD CSV rows (41 features, optionally followed by the label and the difficulty) from\n"
        "files, plain or .gz, or stdin ('-' or no FILE). Prints one JSON line per row: the class, its "
        "index,\n"
        "the five probabilities and, when the row has one, the true label. A bad row is reported on stderr\n"
        "as FILE:LINE: reason and the others go on; the exit code is 1 if any row or file was bad.",
        {options, NULL}};

#define BATCH 256

/* Rows waiting for one forward pass, with where they came from. */
typedef struct {
        sf_kdd_row_t rows[BATCH];
        uint64_t lineno[BATCH];
        int unseen[BATCH];
        float num[BATCH * SF_KDD_NNUMERIC]; /* (n, 38) scaled numeric columns */
        int32_t hot[BATCH * 3];             /* (n, 3) one-hot input indices */
        float probs[BATCH * SF_KDD_NCLASSES];
        int n;
} pending_t;

/* s as a JSON string; a byte that is not valid UTF-8 (a file name can hold
 * any byte) becomes U+FFFD, so the line stays valid JSON. */
static void put_json_string(FILE *out, const char *s) {
        size_t len = strlen(s), valid = sf_utf8_valid_len(s, len);
        fputc('"', out);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (i == valid) {
                        fputs("\\ufffd", out);
                        valid = i + 1 + sf_utf8_valid_len(s + i + 1, len - i - 1);
                } else if (c == '"' || c == '\\') {
                        fprintf(out, "\\%c", c);
                } else if (c < 0x20) {
                        fprintf(out, "\\u%04x", c);
                } else {
                        fputc(c, out);
                }
        }
        fputc('"', out);
}

/* Scores the pending rows and prints them; a row whose output is not
 * finite is reported on stderr as SHOWN:LINE instead. file names the
 * input in the JSON (NULL: not named). Returns how many rows were
 * reported, or -1 (out of memory). */
static int flush_rows(sf_model_t *model, pending_t *pd, const char *shown, const char *file, FILE *out) {
        static const char *const unseen_names[] = {"protocol_type", "service", "flag"};
        int bad = 0;
        if (pd->n == 0) return 0;
        if (sf_model_predict_sparse(model, pd->num, pd->hot, (size_t)pd->n, pd->probs) != 0) return -1;
        for (int i = 0; i < pd->n; i++) {
                const float *p = pd->probs + i * SF_KDD_NCLASSES;
                const sf_kdd_row_t *row = &pd->rows[i];
                if (!sf_model_probs_finite(model, p)) {
                        fflush(out);
                        fprintf(stderr,
                                "streamflow predict: %s:%llu: the model's output is not finite (NaN or "
                                "infinite probabilities); the row is not scored\n",
                                shown, (unsigned long long)pd->lineno[i]);
                        bad++;
                        continue;
                }
                int cls = sf_argmax(p, SF_KDD_NCLASSES);
                fprintf(out, "{\"class\":\"%s\",\"class_index\":%d,\"confidence\":%.6f,\"probabilities\":{",
                        sf_kdd_class_name(cls), cls, (double)p[cls]);
                for (int k = 0; k < SF_KDD_NCLASSES; k++)
                        fprintf(out, "%s\"%s\":%.6f", k ? "," : "", sf_kdd_class_name(k), (double)p[k]);
                fprintf(out, "}");
                if (file) {
                        fprintf(out, ",\"file\":");
                        put_json_string(out, file);
                }
                fprintf(out, ",\"line\":%llu", (unsigned long long)pd->lineno[i]);
                if (row->label >= 0) {
                        fprintf(out, ",\"label\":\"%s\",\"label_index\":%d,\"attack\":",
                                sf_kdd_class_name(row->label), row->label);
                        put_json_string(out, row->label_name);
                }
                if (pd->unseen[i]) {
                        fprintf(out, ",\"unseen\":[");
                        int first = 1;
                        for (int k = 0; k < 3; k++) {
                                if (!(pd->unseen[i] & (1 << k))) continue;
                                fprintf(out, "%s\"%s\"", first ? "" : ",", unseen_names[k]);
                                first = 0;
                        }
                        fprintf(out, "]");
                }
                fprintf(out, "}\n");
        }
        pd->n = 0;
        return bad;
}

/* Scores one input. Returns 0 when every row was good, 1 when some row or
 * the file itself was bad, -1 on a fatal error (out of memory). */
static int predict_file(sf_model_t *model, pending_t *pd, const char *path, int name_file) {
        char err[1024];
        sf_lines_t *lr = sf_lines_open(path, 0, err, sizeof(err));
        if (!lr) {
                fprintf(stderr, "streamflow predict: %s\n", err);
                return 1;
        }
        sf_kdd_encoder_t *enc = sf_kdd_encoder_from_table(sf_model_encoder(model), err, sizeof(err));
        if (!enc) {
                fprintf(stderr, "streamflow predict: %s\n", err);
                sf_lines_close(lr);
                return 1;
        }
        const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
        const char *named = name_file ? shown : NULL;
        int bad = 0, r;
        for (;;) {
                const char *line;
                size_t len;
                uint64_t lineno = 0;
                sf_lines_status_t st = sf_lines_next(lr, &line, &len, &lineno, err, sizeof(err));
                if (st == SF_LINES_EOF) break;
                if (st == SF_LINES_BAD || st == SF_LINES_ERROR) {
                        /* Rows already read come out before the error, in order. */
                        if ((r = flush_rows(model, pd, shown, named, stdout)) < 0) goto oom;
                        bad |= r > 0;
                        fflush(stdout);
                        fprintf(stderr, "streamflow predict: %s\n", err);
                        bad = 1;
                        if (st == SF_LINES_ERROR) break;
                        continue;
                }
                sf_kdd_row_t *row = &pd->rows[pd->n];
                if (sf_kdd_parse_line(line, len, row, err, sizeof(err)) != 0) {
                        if ((r = flush_rows(model, pd, shown, named, stdout)) < 0) goto oom;
                        bad |= r > 0;
                        fflush(stdout);
                        fprintf(stderr, "streamflow predict: %s:%llu: %s\n", shown,
                                (unsigned long long)lineno, err);
                        bad = 1;
                        continue;
                }
                float *num = pd->num + (size_t)pd->n * SF_KDD_NNUMERIC;
                pd->lineno[pd->n] = lineno;
                pd->unseen[pd->n] = sf_kdd_encode_sparse(enc, row, num, pd->hot + (size_t)pd->n * 3);
                if (sf_kdd_check_scaled(row, num, err, sizeof(err)) != 0) {
                        if ((r = flush_rows(model, pd, shown, named, stdout)) < 0) goto oom;
                        fflush(stdout);
                        fprintf(stderr, "streamflow predict: %s:%llu: %s\n", shown,
                                (unsigned long long)lineno, err);
                        bad = 1;
                        continue;
                }
                if (++pd->n == BATCH) {
                        if ((r = flush_rows(model, pd, shown, named, stdout)) < 0) goto oom;
                        bad |= r > 0;
                }
        }
        if ((r = flush_rows(model, pd, shown, named, stdout)) < 0) goto oom;
        bad |= r > 0;
        sf_lines_close(lr);
        sf_kdd_encoder_destroy(enc);
        return bad;
oom:
        sf_lines_close(lr);
        sf_kdd_encoder_destroy(enc);
        fprintf(stderr, "streamflow predict: out of memory\n");
        return -1;
}

int cmd_predict(int argc, char **argv) {
        const char *model_path = "model.safetensors";
        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_MODEL) model_path = arg;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;

        char err[1024];
        sf_model_t *model = sf_model_load(model_path, err, sizeof(err));
        if (!model) {
                fprintf(stderr, "streamflow predict: %s\n", err);
                return 1;
        }
        pending_t *pd = NULL;
        int rc = 1;
        pd = calloc(1, sizeof(*pd));
        if (!pd) {
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
                int r = predict_file(model, pd, files[i], nfiles > 1);
                if (r < 0) goto out;
                if (r > 0) any_bad = 1;
        }
        if (fflush(stdout) != 0) {
                fprintf(stderr, "streamflow predict: cannot write to stdout\n");
                goto out;
        }
        rc = any_bad ? 1 : 0;
out:
        free(pd);
        sf_model_destroy(model);
        return rc;
}
