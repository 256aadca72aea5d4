/* The scorer's record path over the NSL-KDD schema: sf_score_decode (CSV or
 * JSON by content) and, for every record it accepts, what the scorer relies
 * on: finite numbers, an encoding, and a prediction that is valid JSON. A
 * refused record has a reason and a message. */
#include <jansson.h>
#include <math.h>

#include "harness.h"
#include "score/record.h"

static sf_schema_t *schema;
static sf_encoder_t *enc;
static sf_score_decoder_t dec;
static sf_row_t row;

/* Every numeric column mean 0, std 1; one known value per categorical column. */
static void setup(void) {
        char path[1024], err[512];
        const char *root = getenv("SF_ROOT");
        snprintf(path, sizeof(path), "%s/data/nsl-kdd/schema.json", root ? root : ".");
        schema = sf_schema_load(path, err, sizeof(err));
        FUZZ_CHECK(schema != NULL, "%s (set SF_ROOT to the source tree)", err);
        json_t *num = json_array(), *cat = json_array();
        for (int j = 0; j < schema->n_numeric; j++)
                json_array_append_new(num, json_pack("{s:s,s:f,s:f,s:b}", "column",
                                                     schema->cols[schema->numeric_cols[j]].name, "mean", 0.0,
                                                     "std", 1.0, "missing_flag", 0));
        for (int k = 0; k < schema->n_categorical; k++)
                json_array_append_new(cat, json_pack("{s:s,s:[s]}", "column",
                                                     schema->cols[schema->categorical_cols[k]].name,
                                                     "vocabulary", "tcp"));
        json_t *root_json = json_pack("{s:i,s:o,s:o}", "inputs", schema->n_numeric + schema->n_categorical,
                                      "numeric", num, "categorical", cat);
        enc = sf_encoder_from_json(root_json, schema, "fuzz", err, sizeof(err));
        FUZZ_CHECK(enc != NULL, "%s", err);
        json_decref(root_json);
        FUZZ_CHECK(sf_score_decoder_init(&dec, schema, enc, SF_SCORE_AUTO) == 0, "out of memory");
        FUZZ_CHECK(sf_row_init(&row, schema) == 0, "out of memory");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!schema) setup();
        const char *value = (const char *)data;
        char err[512] = "";
        sf_score_info_t info;
        sf_score_reject_t r = sf_score_decode(&dec, value, size, &row, &info, err, sizeof(err));
        if (r != SF_REJECT_NONE) {
                FUZZ_CHECK(err[0] != '\0', "a %s rejection without a message", sf_score_reject_str(r));
                FUZZ_CHECK(info.col >= -1 && info.col < schema->n_cols, "column %d", info.col);
                return 0;
        }
        for (int j = 0; j < schema->n_numeric; j++) {
                const sf_value_t *v = &row.v[schema->numeric_cols[j]];
                FUZZ_CHECK(v->kind != SF_VAL_NUMBER || isfinite(v->num), "accepted a non-finite number");
        }
        float dense[64];
        int32_t hot[8];
        uint8_t status[8];
        r = sf_score_encode(&dec, &row, dense, hot, status, &info, err, sizeof(err));
        FUZZ_CHECK(r == SF_REJECT_NONE || (r == SF_REJECT_NON_FINITE && info.col >= 0), "encode: %s",
                   sf_score_reject_str(r));
        static const float probs[5] = {0.5f, 0.25f, 0.125f, 0.0625f, 0.0625f};
        const sf_score_source_t src = {.topic = "connections", .partition = 3, .offset = 42};
        char out[1024];
        size_t len = sf_score_format(&dec, out, sizeof(out), probs, &row, status, &info, &src);
        char *big = NULL;
        if (len >= sizeof(out)) {
                big = malloc(len + 1);
                FUZZ_CHECK(big != NULL, "out of memory");
                /* the first answer is a bound: the JSON fits in it */
                size_t need = len;
                len = sf_score_format(&dec, big, need + 1, probs, &row, status, &info, &src);
                FUZZ_CHECK(len <= need && big[len] == '\0', "%zu bytes did not hold the JSON (%zu)", need + 1,
                           len);
        }
        json_error_t jerr;
        json_t *doc = json_loadb(big ? big : out, len, 0, &jerr);
        FUZZ_CHECK(json_is_object(doc), "the prediction is not a JSON object: %s: %s", jerr.text,
                   big ? big : out);
        json_decref(doc);
        free(big);
        return 0;
}
