/* Fitted schemas (see fitted.h): one more member on the schema file, read
 * by the schema's and the encoder's own JSON readers. */
#include "table/fitted.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int sf_fitted_from_json(const json_t *root, const char *where, sf_fitted_t *out, char *errstr,
                        size_t errstr_size) {
        memset(out, 0, sizeof(*out));
        if (!(out->schema = sf_schema_from_json(root, where, errstr, errstr_size))) return -1;
        const json_t *enc = json_object_get(root, "encoder");
        if (!enc) {
                sf_seterr(errstr, errstr_size,
                          "%s: no \"encoder\": a plain schema, not a fitted one (fit it on the training rows "
                          "with 'streamflow schema fit --schema FILE --data TRAIN.csv')",
                          where);
                sf_fitted_free(out);
                return -1;
        }
        char at[1100];
        snprintf(at, sizeof(at), "%s: encoder", where);
        if (!json_is_object(enc)) {
                sf_seterr(errstr, errstr_size, "%s: expected an object {\"inputs\": N, ...}", at);
                sf_fitted_free(out);
                return -1;
        }
        if (!(out->enc = sf_encoder_from_json(enc, out->schema, at, errstr, errstr_size))) {
                sf_fitted_free(out);
                return -1;
        }
        return 0;
}

int sf_fitted_parse(const char *text, size_t len, const char *where, sf_fitted_t *out, char *errstr,
                    size_t errstr_size) {
        json_error_t jerr;
        memset(out, 0, sizeof(*out));
        json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                sf_seterr(errstr, errstr_size, "%s:%d:%d: not valid JSON: %s", where, jerr.line, jerr.column,
                          jerr.text);
                return -1;
        }
        int rc = sf_fitted_from_json(root, where, out, errstr, errstr_size);
        json_decref(root);
        return rc;
}

int sf_fitted_load(const char *path, sf_fitted_t *out, char *errstr, size_t errstr_size) {
        memset(out, 0, sizeof(*out));
        json_t *root = sf_schema_read_json(path, errstr, errstr_size);
        if (!root) return -1;
        int rc = sf_fitted_from_json(root, path, out, errstr, errstr_size);
        json_decref(root);
        return rc;
}

/* The members of array `key` of enc_json, one a line, after `  "key": [`. */
static int format_list(FILE *f, const json_t *enc_json, const char *key, const char *sep) {
        const json_t *a = json_object_get(enc_json, key);
        size_t n = json_array_size(a);
        fprintf(f, "    \"%s\": [%s", key, n ? "\n" : "");
        for (size_t i = 0; i < n; i++) {
                /* 9 significant digits give back every float exactly. */
                char *item = json_dumps(json_array_get(a, i), JSON_REAL_PRECISION(9));
                if (!item) return -1;
                fprintf(f, "      %s%s\n", item, i + 1 < n ? "," : "");
                free(item);
        }
        fprintf(f, "%s]%s\n", n ? "    " : "", sep);
        return 0;
}

char *sf_fitted_format(const sf_schema_t *schema, const sf_encoder_t *enc) {
        char *plain = sf_schema_format(schema), *text = NULL;
        json_t *e = sf_encoder_to_json(enc, schema);
        size_t size = 0, len = plain ? strlen(plain) : 0;
        FILE *f = NULL;
        /* sf_schema_format ends in "  ]\n}\n": the encoder goes before the "}". */
        if (!plain || !e || len < 4 || strcmp(plain + len - 4, "]\n}\n") != 0 ||
            !(f = open_memstream(&text, &size)))
                goto fail;
        fprintf(f, "%.*s,\n  \"encoder\": {\n    \"inputs\": %d,\n", (int)(len - 3), plain, enc->n_inputs);
        if (format_list(f, e, "numeric", ",") != 0 || format_list(f, e, "categorical", "") != 0) goto fail;
        fprintf(f, "  }\n}\n");
        if (fclose(f) != 0) {
                f = NULL;
                goto fail;
        }
        free(plain);
        json_decref(e);
        return text;
fail:
        if (f) fclose(f);
        free(text);
        free(plain);
        json_decref(e);
        return NULL;
}

void sf_fitted_free(sf_fitted_t *fitted) {
        if (!fitted) return;
        sf_encoder_destroy(fitted->enc);
        sf_schema_destroy(fitted->schema);
        fitted->enc = NULL, fitted->schema = NULL;
}
