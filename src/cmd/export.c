#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"
#include "model/model.h"

enum { OPT_MODEL = SF_OPT_LONG, OPT_NETWORK_ONLY };

static const sf_option_t options[] = {
        {"model", OPT_MODEL, "FILE", "the model to export (default model.safetensors)"},
        {"output", 'o', "FILE", "the ONNX file to write (default: the model's name with .onnx)"},
        {"network-only", OPT_NETWORK_ONLY, NULL,
         "the network alone: one input \"encoded\" (N, inputs), the encoder's output"},
        {0}};

static const sf_cmd_spec_t spec = {
        "export",
        NULL,
        "Write a model as an ONNX file that ONNX Runtime and other runtimes can run, preprocessing "
        "included:\n"
        "one input per feature column (N, 1), float for numbers and string for categories; outputs\n"
        "\"probabilities\" (N, classes) and \"label\" (N, the class name). StreamFlow's --model reads it "
        "back.",
        {options, NULL}};

/* path with its extension replaced by .onnx. */
static int onnx_name(const char *model, char *out, size_t size) {
        const char *slash = strrchr(model, '/'), *dot = strrchr(model, '.');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - model) : strlen(model);
        return snprintf(out, size, "%.*s.onnx", (int)stem, model) < (int)size ? 0 : -1;
}

int cmd_export(int argc, char **argv) {
        const char *model_path = "model.safetensors", *out_path = NULL;
        int network_only = 0;
        char outbuf[4096], err[1024];
        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_MODEL) model_path = arg;
                if (c == 'o') out_path = arg;
                if (c == OPT_NETWORK_ONLY) network_only = 1;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (p.nops > 0) return sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]), 2;
        if (!out_path) {
                if (onnx_name(model_path, outbuf, sizeof(outbuf)) != 0)
                        return sf_opt_usage(&spec, "model path too long"), 2;
                out_path = outbuf;
        }
        sf_model_t *model = sf_model_load(model_path, err, sizeof(err));
        if (!model) {
                fprintf(stderr, "streamflow export: %s\n", err);
                return 1;
        }
        int rc = network_only ? sf_model_export_onnx_network(model, out_path, err, sizeof(err))
                              : sf_model_export_onnx(model, out_path, err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "streamflow export: %s\n", err);
        else
                printf("Exported model %s (%s) to %s\n", sf_model_id(model), model_path, out_path);
        sf_model_destroy(model);
        return rc ? 1 : 0;
}
