#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"
#include "model/model.h"
#include "table/encoder.h"
#include "table/fitted.h"
#include "table/schema.h"
#include "table/table.h"
#include "util/util.h"

enum { OPT_LABEL = SF_OPT_LONG, OPT_NAME, OPT_SCHEMA, OPT_JSON, OPT_MODEL, OPT_DATA, OPT_OUT = 'o' };

static const sf_option_t infer_options[] = {
        {"label", OPT_LABEL, "COLUMN", "the label column (default: the last column)"},
        {"name", OPT_NAME, "NAME", "the schema's name (default: none)"},
        {0}};

static const sf_cmd_spec_t infer_spec = {
        "schema infer",
        "FILE",
        "Print a schema (JSON) for a CSV file, plain or .gz, whose first row names the columns: a column\n"
        "whose every non-empty value is a number is numeric, any other categorical; the label's classes\n"
        "are its distinct values, sorted. Save it, mark ID columns \"ignore\", and check it with\n"
        "'streamflow schema check'.",
        {infer_options, NULL}};

static const sf_option_t check_options[] = {
        {"schema", OPT_SCHEMA, "FILE", "the schema to read the data with (required)"},
        {"json", OPT_JSON, NULL, "the data files hold one JSON object per line, not CSV"},
        {0}};

static const sf_cmd_spec_t check_spec = {
        "schema check",
        "FILE...",
        "Read every row of the data files (CSV, or with --json one JSON object per line; plain or .gz)\n"
        "with a schema and fit the encoder on them, as training would: prints the rows per class, the\n"
        "missing values per column and the network's input width, or the first bad row (exit 1).",
        {check_options, NULL}};

static const sf_option_t fit_options[] = {
        {"schema", OPT_SCHEMA, "FILE", "the schema to read the training rows with (required)"},
        {"data", OPT_DATA, "FILE", "training rows, CSV or JSON records, plain or .gz (required; repeatable)"},
        {"out", OPT_OUT, "FILE", "write the fitted schema to FILE (default: stdout)"},
        {0}};

static const sf_cmd_spec_t fit_spec = {
        "schema fit",
        NULL,
        "Fit the encoder on training rows, as training does, and print the fitted schema: the schema with\n"
        "an \"encoder\" member holding each numeric column's mean and deviation, each categorical column's\n"
        "vocabulary and so the network's input layout. With it, a network trained elsewhere on rows\n"
        "encoded this way is served by 'streamflow predict|evaluate|score --model NET.onnx --schema FILE'.",
        {fit_options, NULL}};

static const sf_option_t show_options[] = {
        {"model", OPT_MODEL, "FILE", "the model (required)"},
        {"schema", OPT_SCHEMA, "FILE", "the fitted schema of an ONNX network trained elsewhere"},
        {0}};

static const sf_cmd_spec_t show_spec = {
        "schema show",
        NULL,
        "Print a model's fitted schema: its schema with the encoder fitted on its training rows (the\n"
        "vocabularies, means, deviations and the input layout), the file 'schema fit' writes.",
        {show_options, NULL}};

static const sf_option_t schema_options[] = {{0}};
static const sf_cmd_spec_t schema_spec = {
        "schema",
        "infer|check|fit|show ...",
        "Describe a data set's columns for StreamFlow:\n"
        "  infer FILE [--label COLUMN]     print a schema inferred from a CSV file with a header row\n"
        "  check --schema FILE DATA...     read data with a schema and report what training would see\n"
        "  fit --schema FILE --data TRAIN  fit the encoder on training rows: print the fitted schema\n"
        "  show --model FILE               print a model's fitted schema",
        {schema_options, NULL}};

static int cmd_infer(int argc, char **argv) {
        sf_optparser_t p;
        const char *arg, *label = NULL, *name = NULL;
        int c;
        sf_opt_init(&p, &infer_spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_LABEL) label = arg;
                if (c == OPT_NAME) name = arg;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (p.nops != 1) return sf_opt_usage(&infer_spec, p.nops ? "one FILE only" : "no FILE given"), 2;
        char err[1024];
        sf_schema_t *schema;
        int rc = sf_schema_infer(argv[1], label, name, &schema, err, sizeof(err));
        if (rc) {
                fprintf(stderr, "streamflow schema infer: %s\n", err);
                return rc == -2 ? 2 : 1;
        }
        char *text = sf_schema_format(schema);
        sf_schema_destroy(schema);
        if (!text) {
                fprintf(stderr, "streamflow schema infer: out of memory\n");
                return 1;
        }
        fputs(text, stdout);
        free(text);
        return fflush(stdout) == 0 ? 0 : 1;
}

static void report(const sf_table_t *t, const sf_encoder_t *enc) {
        const sf_schema_t *s = t->schema;
        printf("rows: %zu\nclasses:", t->n_rows);
        for (int k = 0; k < s->n_classes; k++)
                printf(" %s %zu%s", s->classes[k], t->class_rows[k], k + 1 < s->n_classes ? "," : "\n");
        printf("inputs: %d (%d numeric, %d missing flags", enc->n_inputs, enc->n_num, enc->n_flags);
        for (int k = 0; k < enc->n_cat; k++) printf(", %s %d", s->cols[enc->cat[k].col].name, enc->cat[k].n);
        printf(")\nmissing values:");
        int any = 0;
        for (int i = 0; i < s->n_cols; i++)
                if (t->n_missing[i]) printf("%s %s %zu", any++ ? "," : "", s->cols[i].name, t->n_missing[i]);
        printf("%s\n", any ? "" : " none");
}

static int cmd_check(int argc, char **argv) {
        sf_optparser_t p;
        const char *arg, *schema_path = NULL;
        int c, json = 0;
        sf_opt_init(&p, &check_spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_SCHEMA) schema_path = arg;
                if (c == OPT_JSON) json = 1;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (!schema_path) return sf_opt_usage(&check_spec, "--schema FILE is required"), 2;
        if (p.nops < 1) return sf_opt_usage(&check_spec, "no data FILE given"), 2;
        char err[1024];
        int ret = 1;
        sf_table_t *t = NULL;
        sf_encoder_t *enc = NULL;
        sf_schema_t *schema = sf_schema_load(schema_path, err, sizeof(err));
        if (!schema || !(t = sf_table_new(schema))) goto fail;
        for (int i = 1; i <= p.nops; i++)
                if ((json ? sf_table_read_json : sf_table_read_csv)(t, argv[i], err, sizeof(err))) goto fail;
        if (!(enc = sf_encoder_fit(t, err, sizeof(err)))) goto fail;
        report(t, enc);
        ret = 0;
        goto out;
fail:
        fprintf(stderr, "streamflow schema check: %s\n", t || !schema ? err : "out of memory");
out:
        sf_encoder_destroy(enc);
        sf_table_destroy(t);
        sf_schema_destroy(schema);
        return ret;
}

/* text to out_path, or stdout when NULL. Returns 0 or 1 (message printed). */
static int write_text(const char *cmd, const char *text, const char *out_path) {
        FILE *f = out_path ? fopen(out_path, "w") : stdout;
        if (!f) {
                fprintf(stderr, "streamflow %s: %s: %s\n", cmd, out_path, strerror(errno));
                return 1;
        }
        int bad = fputs(text, f) < 0;
        bad |= out_path ? fclose(f) != 0 : fflush(f) != 0;
        if (bad) fprintf(stderr, "streamflow %s: cannot write %s\n", cmd, out_path ? out_path : "to stdout");
        return bad;
}

static int cmd_fit(int argc, char **argv) {
        sf_optparser_t p;
        const char *arg, *schema_path = NULL, *out_path = NULL, *data[64];
        int c, n_data = 0;
        sf_opt_init(&p, &fit_spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_SCHEMA) schema_path = arg;
                if (c == OPT_OUT) out_path = arg;
                if (c == OPT_DATA && n_data == 64)
                        return sf_opt_usage(&fit_spec, "at most 64 --data files"), 2;
                if (c == OPT_DATA) data[n_data++] = arg;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (!schema_path) return sf_opt_usage(&fit_spec, "--schema FILE is required"), 2;
        if (n_data == 0) return sf_opt_usage(&fit_spec, "--data FILE is required"), 2;
        if (p.nops > 0) return sf_opt_usage(&fit_spec, "unexpected argument '%s'", argv[1]), 2;
        char err[1024];
        char *text = NULL;
        int ret = 1;
        sf_table_t *t = NULL;
        sf_encoder_t *enc = NULL;
        sf_schema_t *schema = sf_schema_load(schema_path, err, sizeof(err));
        if (!schema || !(t = sf_table_new(schema))) goto fail;
        for (int i = 0; i < n_data; i++)
                if (sf_table_read(t, data[i], err, sizeof(err))) goto fail;
        if (!(enc = sf_encoder_fit(t, err, sizeof(err)))) goto fail;
        if (!(text = sf_fitted_format(schema, enc))) {
                snprintf(err, sizeof(err), "out of memory");
                goto fail;
        }
        ret = write_text("schema fit", text, out_path);
        goto out;
fail:
        fprintf(stderr, "streamflow schema fit: %s\n", t || !schema ? err : "out of memory");
out:
        free(text);
        sf_encoder_destroy(enc);
        sf_table_destroy(t);
        sf_schema_destroy(schema);
        return ret;
}

static int cmd_show(int argc, char **argv) {
        sf_optparser_t p;
        const char *arg, *model_path = NULL, *fitted_path = NULL;
        int c;
        sf_opt_init(&p, &show_spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_MODEL) model_path = arg;
                if (c == OPT_SCHEMA) fitted_path = arg;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (!model_path) return sf_opt_usage(&show_spec, "--model FILE is required"), 2;
        if (p.nops > 0) return sf_opt_usage(&show_spec, "unexpected argument '%s'", argv[1]), 2;
        char err[1024];
        sf_model_t *model = sf_model_load_with(model_path, fitted_path, err, sizeof(err));
        if (!model) {
                fprintf(stderr, "streamflow schema show: %s\n", err);
                return 1;
        }
        char *text = sf_fitted_format(sf_model_schema(model), sf_model_encoder(model));
        int ret = text ? write_text("schema show", text, NULL) : 1;
        if (!text) fprintf(stderr, "streamflow schema show: out of memory\n");
        free(text);
        sf_model_destroy(model);
        return ret;
}

int cmd_schema(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "infer") == 0) return cmd_infer(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "check") == 0) return cmd_check(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "fit") == 0) return cmd_fit(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "show") == 0) return cmd_show(argc - 1, argv + 1);
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                sf_opt_help(&schema_spec);
                return 0;
        }
        if (argc < 2) return sf_opt_usage(&schema_spec, "expected 'infer', 'check', 'fit' or 'show'"), 2;
        static const char *const subs[] = {"infer", "check", "fit", "show"};
        const char *best = sf_suggest(argv[1], subs, 4);
        if (best)
                return sf_opt_usage(&schema_spec, "unknown subcommand '%s'; did you mean '%s'?", argv[1],
                                    best),
                       2;
        return sf_opt_usage(&schema_spec, "unknown subcommand '%s' (expected infer, check, fit or show)",
                            argv[1]),
               2;
}
