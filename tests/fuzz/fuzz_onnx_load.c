/* The ONNX reader (protobuf-c decoding, then the walk of the feed-forward
 * chain) on arbitrary bytes. A network it accepts must be usable: sizes in
 * range and a forward pass over a row of zeros that finishes. Errors name
 * the file. */
#include "harness.h"
#include "nn/nn.h"
#include "onnx/onnx_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[1024] = "";
        sf_onnx_import_t imp;
        if (sf_onnx_read_mem("fuzz.onnx", data, size, &imp, err, sizeof(err)) != 0) {
                FUZZ_CHECK(strncmp(err, "fuzz.onnx: ", 11) == 0, "the error does not name the file: %s", err);
                return 0;
        }
        const sf_nn_t *nn = imp.nn;
        FUZZ_CHECK(nn && nn->n_layers >= 1 && nn->n_layers <= SF_NN_MAX_LAYERS, "%d layers",
                   nn ? nn->n_layers : -1);
        for (int l = 0; l <= nn->n_layers; l++)
                FUZZ_CHECK(nn->sizes[l] >= 1 && nn->sizes[l] <= 65536, "sizes[%d] = %d", l, nn->sizes[l]);
        for (int i = 0; i < imp.n_meta; i++)
                FUZZ_CHECK(imp.meta[i].key && imp.meta[i].value, "metadata %d", i);
        /* A forward pass, when the network is small enough to run quickly. */
        size_t work = 0;
        for (int l = 0; l < nn->n_layers; l++) work += (size_t)nn->sizes[l] * (size_t)nn->sizes[l + 1];
        if (work <= (1u << 20)) {
                sf_nn_ws_t ws;
                float *x = calloc((size_t)nn->sizes[0], sizeof(float));
                if (!x || sf_nn_ws_init(&ws, nn, 1, 0) != 0) abort();
                sf_nn_input_t in = {x, NULL, nn->sizes[0], 0};
                sf_nn_forward(nn, &ws, &in, NULL, 1);
                sf_nn_ws_free(&ws);
                free(x);
        }
        sf_onnx_import_free(&imp);
        return 0;
}
