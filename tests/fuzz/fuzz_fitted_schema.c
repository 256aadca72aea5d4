/* The fitted schema reader (a schema with its "encoder", table/fitted.h)
 * on arbitrary bytes. A fitted schema it accepts must be consistent (the
 * encoder's layout covers exactly its inputs, one block per numeric and
 * categorical column of the schema) and survive sf_fitted_format: the text
 * reads back to the same text. Errors name the file. */
#include "harness.h"
#include "table/fitted.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[1024] = "";
        sf_fitted_t f, back;
        if (sf_fitted_parse((const char *)data, size, "fuzz.json", &f, err, sizeof(err)) != 0) {
                FUZZ_CHECK(strncmp(err, "fuzz.json", 9) == 0, "the error does not name the file: %s", err);
                return 0;
        }
        const sf_encoder_t *enc = f.enc;
        FUZZ_CHECK(enc->n_num == f.schema->n_numeric && enc->n_cat == f.schema->n_categorical,
                   "%d numeric and %d categorical encoders for %d and %d columns", enc->n_num, enc->n_cat,
                   f.schema->n_numeric, f.schema->n_categorical);
        int width = enc->n_num + enc->n_flags;
        for (int k = 0; k < enc->n_cat; k++) {
                FUZZ_CHECK(enc->cat[k].base == width, "block %d starts at %d, not %d", k, enc->cat[k].base,
                           width);
                width += enc->cat[k].n;
        }
        FUZZ_CHECK(enc->n_inputs == width, "%d inputs, %d in the layout", enc->n_inputs, width);
        char *text = sf_fitted_format(f.schema, f.enc);
        if (!text) abort();
        FUZZ_CHECK(sf_fitted_parse(text, strlen(text), "formatted", &back, err, sizeof(err)) == 0,
                   "the formatted fitted schema does not read back: %s", err);
        char *again = sf_fitted_format(back.schema, back.enc);
        if (!again) abort();
        FUZZ_CHECK(strcmp(text, again) == 0, "format -> parse -> format changed the text");
        free(text), free(again);
        sf_fitted_free(&back);
        sf_fitted_free(&f);
        return 0;
}
