/* Fitted schemas (table/fitted.h): a schema with its "encoder", written by
 * sf_fitted_format and read by sf_fitted_parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/fitted.h"
#include "table/table.h"
#include "test.h"

static const char *schema_text = "{\"name\": \"t\", \"columns\": [{\"name\": \"x\", \"type\": \"numeric\"},"
                                 " {\"name\": \"c\", \"type\": \"categorical\"},"
                                 " {\"name\": \"y\", \"type\": \"label\", \"classes\": [\"no\", \"yes\"]}]}";

/* An encoder fitted on four rows: x has a missing value, c two categories. */
static sf_encoder_t *fit(sf_schema_t *s, char *err, size_t err_size) {
        char path[] = "/tmp/sf-test-fitted.XXXXXX";
        int fd = mkstemp(path);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) return NULL;
        fputs("x,c,y\n1.1,b,no\n,a,yes\n3.3,,no\n0.7,b,yes\n", f);
        fclose(f);
        sf_table_t *t = sf_table_new(s);
        sf_encoder_t *enc = NULL;
        if (t && sf_table_read_csv(t, path, err, err_size) == 0) enc = sf_encoder_fit(t, err, err_size);
        sf_table_destroy(t);
        remove(path);
        return enc;
}

static void test_round_trip(void) {
        char err[512] = "";
        sf_schema_t *s = sf_schema_parse(schema_text, strlen(schema_text), "t.json", err, sizeof(err));
        sf_encoder_t *enc = s ? fit(s, err, sizeof(err)) : NULL;
        sf_fitted_t back = {0};
        char *text = NULL, *again = NULL;
        CHECK_MSG(enc != NULL, "%s", err);
        if (!enc) goto out;
        text = sf_fitted_format(s, enc);
        CHECK(text != NULL);
        if (!text) goto out;
        CHECK(strstr(text, "\"encoder\": {\n    \"inputs\": 4,\n") != NULL);
        CHECK(strstr(text, "{\"column\": \"c\", \"vocabulary\": [\"a\", \"b\"]}") != NULL);
        CHECK_MSG(sf_fitted_parse(text, strlen(text), "f.json", &back, err, sizeof(err)) == 0, "%s", err);
        if (!back.enc) goto out;
        CHECK_INT(back.enc->n_inputs, enc->n_inputs);
        CHECK_INT(back.enc->n_flags, 1);
        CHECK(back.enc->mean[0] == enc->mean[0]); /* 9 digits: every float exactly */
        CHECK(back.enc->std[0] == enc->std[0]);
        CHECK_STR(back.enc->cat[0].vocab[1], "b");
        CHECK_STR(back.schema->classes[1], "yes");
        again = sf_fitted_format(back.schema, back.enc);
        CHECK(again && strcmp(text, again) == 0);
        /* A fitted schema is also a schema. */
        sf_schema_t *plain = sf_schema_parse(text, strlen(text), "f.json", err, sizeof(err));
        CHECK_MSG(plain != NULL, "%s", err);
        sf_schema_destroy(plain);
out:
        free(text), free(again);
        sf_fitted_free(&back);
        sf_encoder_destroy(enc);
        sf_schema_destroy(s);
}

static void test_errors(void) {
        static const struct {
                const char *encoder, *want;
        } cases[] = {
                {NULL,
                 "t.json: no \"encoder\": a plain schema, not a fitted one (fit it on the training rows "
                 "with 'streamflow schema fit"},
                {"[]", "t.json: encoder: expected an object"},
                {"{\"inputs\": 4, \"numeric\": [{\"column\": \"z\", \"mean\": 1, \"std\": 1}], "
                 "\"categorical\": [{\"column\": \"c\", \"vocabulary\": [\"a\", \"b\"]}]}",
                 "t.json: encoder: numeric[0].column: expected \"x\""},
                {"{\"inputs\": 3, \"numeric\": [{\"column\": \"x\", \"mean\": 1, \"std\": 1}], "
                 "\"categorical\": [{\"column\": \"c\", \"vocabulary\": [\"b\", \"a\"]}]}",
                 "t.json: encoder: categorical[0].vocabulary[1]"},
                {"{\"inputs\": 9, \"numeric\": [{\"column\": \"x\", \"mean\": 1, \"std\": 1}], "
                 "\"categorical\": [{\"column\": \"c\", \"vocabulary\": [\"a\", \"b\"]}]}",
                 "t.json: encoder: inputs: 9, but the layout gives 3"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char text[1024], err[512] = "";
                size_t n = strlen(schema_text) - 1; /* without the closing brace */
                snprintf(text, sizeof(text), "%.*s%s%s}", (int)n, schema_text,
                         cases[i].encoder ? ", \"encoder\": " : "", cases[i].encoder ? cases[i].encoder : "");
                sf_fitted_t f = {0};
                CHECK_INT(sf_fitted_parse(text, strlen(text), "t.json", &f, err, sizeof(err)), -1);
                CHECK_MSG(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0, "case %zu: %s", i, err);
                CHECK(f.schema == NULL && f.enc == NULL);
        }
        char err[512] = "";
        sf_fitted_t f;
        CHECK_INT(sf_fitted_load("/nonexistent/f.json", &f, err, sizeof(err)), -1);
        CHECK(strstr(err, "/nonexistent/f.json") != NULL);
}

int main(void) {
        RUN(test_round_trip);
        RUN(test_errors);
        return TEST_DONE();
}
