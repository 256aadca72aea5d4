/* The model file loader (safetensors), reading the input from an in-memory
 * file. A model it accepts must be usable: its encoder and network agree
 * on the input width, and it predicts a row of zeros. */
#include "harness.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[64], err[1024] = "";
        int fd = fuzz_memfile(data, size, path, sizeof(path));
        sf_model_t *model = sf_model_load(path, err, sizeof(err));
        close(fd);
        if (!model) {
                FUZZ_CHECK(strstr(err, path) != NULL, "the error does not name the file: %s", err);
                return 0;
        }
        const sf_encoder_t *enc = sf_model_encoder(model);
        const sf_nn_t *nn = sf_model_nn(model);
        FUZZ_CHECK(enc && nn && sf_model_info(model), "a loaded model without its parts");
        FUZZ_CHECK(strlen(sf_model_id(model)) == 16, "model id '%s'", sf_model_id(model));
        int width = enc->n_num + enc->n_flags;
        for (int k = 0; k < enc->n_cat; k++) width += enc->cat[k].n;
        FUZZ_CHECK(enc->n_inputs == width && nn->sizes[0] == width, "%d inputs, %d in the layout",
                   enc->n_inputs, width);
        FUZZ_CHECK(nn->sizes[nn->n_layers] == sf_model_classes(model), "%d outputs for %d classes",
                   nn->sizes[nn->n_layers], sf_model_classes(model));
        float *x = calloc((size_t)enc->n_inputs, sizeof(float));
        float *probs = calloc((size_t)sf_model_classes(model), sizeof(float));
        if (!x || !probs) abort();
        FUZZ_CHECK(sf_model_predict(model, x, 1, probs) == 0, "predict failed");
        free(x);
        free(probs);
        sf_model_destroy(model);
        return 0;
}
