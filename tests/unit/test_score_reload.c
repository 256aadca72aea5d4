/* Model reload for the scorer: which schema may replace which, and the
 * reloader's decisions (SIGHUP, a file replaced under watch, a corrupt file,
 * another input, the same model again) on real model files. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "nn/nn.h"
#include "score/reload.h"
#include "small_model.h"
#include "test.h"
#include "tmpfile.h"
#include "util/rng.h"

/* ------------------------------------------------- compatibility rule */

#define BASE_COLS           "{\"name\":\"x\",\"type\":\"numeric\"},{\"name\":\"c\",\"type\":\"categorical\"},"
#define LABEL(classes, map) "{\"name\":\"label\",\"type\":\"label\",\"classes\":" classes ",\"map\":" map "}"
#define SCHEMA(name, cols)  "{\"name\":\"" name "\",\"header\":false,\"columns\":[" cols "]}"

static const char *const serving_json =
        SCHEMA("a", BASE_COLS LABEL("[\"n\",\"y\"]", "{\"no\":\"n\",\"yes\":\"y\"}"));

static const struct {
        const char *next; /* schema JSON */
        int ok;
        const char *why; /* a part of the reason when refused */
} compat_cases[] = {
        {SCHEMA("a", BASE_COLS LABEL("[\"n\",\"y\"]", "{\"no\":\"n\",\"yes\":\"y\"}")), 1, NULL},
        /* the name and the CSV header flag do not change how a record reads */
        {"{\"name\":\"b\",\"header\":true,\"columns\":[" BASE_COLS LABEL("[\"n\",\"y\"]",
                                                                         "{\"no\":\"n\",\"yes\":\"y\"}") "]}",
         1, NULL},
        {SCHEMA("a", "{\"name\":\"x\",\"type\":\"numeric\"},{\"name\":\"k\",\"type\":\"categorical\"}," LABEL(
                             "[\"n\",\"y\"]", "{\"no\":\"n\",\"yes\":\"y\"}")),
         0, "column 2 is 'c' (categorical) for the model in service but 'k' (categorical) for the new one"},
        {SCHEMA("a",
                "{\"name\":\"x\",\"type\":\"categorical\"},{\"name\":\"c\",\"type\":\"categorical\"}," LABEL(
                        "[\"n\",\"y\"]", "{\"no\":\"n\",\"yes\":\"y\"}")),
         0, "column 1 is 'x' (numeric) for the model in service but 'x' (categorical)"},
        {SCHEMA("a", BASE_COLS LABEL("[\"n\",\"y\"]", "{\"no\":\"n\",\"yes\":\"y\"}") ",{\"name\":\"d\","
                                                                                      "\"type\":\"ignore\"}"),
         0, "the model in service reads 3 columns, the new one 4 (column 4 is 'd' for the new model only)"},
        {SCHEMA("a", "{\"name\":\"x\",\"type\":\"numeric\"}," LABEL("[\"n\",\"y\"]", "{\"no\":\"n\"}")), 0,
         "column 2 is 'c' (categorical) for the model in service but 'label' (label)"},
        {SCHEMA("a", BASE_COLS LABEL("[\"y\",\"n\"]", "{\"no\":\"n\",\"yes\":\"y\"}")), 0,
         "class 0 of label column 'label' is 'n' for the model in service but 'y' for the new one"},
        {SCHEMA("a", BASE_COLS LABEL("[\"n\",\"y\",\"z\"]", "{\"no\":\"n\",\"yes\":\"y\"}")), 0,
         "the model in service has 2 classes, the new one 3"},
        {SCHEMA("a", BASE_COLS LABEL("[\"n\",\"y\"]", "{\"no\":\"y\",\"yes\":\"y\"}")), 0,
         "label value 'no' maps to 'n' for the model in service but to 'y' for the new one"},
        {SCHEMA("a", BASE_COLS LABEL("[\"n\",\"y\"]", "{\"no\":\"n\"}")), 0,
         "label value 'yes' is mapped by the model in service only"},
        {SCHEMA("a", BASE_COLS LABEL("[\"n\",\"y\"]", "{\"maybe\":\"n\",\"no\":\"n\",\"yes\":\"y\"}")), 0,
         "label value 'maybe' is mapped by the new model only"},
};

static void test_compatible(void) {
        char err[512], why[512];
        sf_schema_t *serving =
                sf_schema_parse(serving_json, strlen(serving_json), "serving", err, sizeof(err));
        CHECK_MSG(serving != NULL, "%s", err);
        if (!serving) return;
        for (size_t i = 0; i < sizeof(compat_cases) / sizeof(compat_cases[0]); i++) {
                const char *j = compat_cases[i].next;
                sf_schema_t *next = sf_schema_parse(j, strlen(j), "next", err, sizeof(err));
                CHECK_MSG(next != NULL, "case %zu: %s", i, err);
                if (!next) continue;
                why[0] = 0;
                int ok = sf_score_reload_compatible(serving, next, why, sizeof(why));
                CHECK_MSG(ok == compat_cases[i].ok, "case %zu: %d (%s)", i, ok, why);
                if (compat_cases[i].why)
                        CHECK_MSG(strstr(why, compat_cases[i].why) != NULL, "case %zu: \"%s\"", i, why);
                sf_schema_destroy(next);
        }
        sf_schema_destroy(serving);
}

/* ------------------------------------------------- the reloader */

static const sf_model_info_t info = {.seed = 7, .epochs = 1, .batch = 64, .threads = 1, .lr = 0.001};

/* Writes a small model (weights from seed) of schema to path, by a rename
 * over it (sf_model_save's way). Returns 0 or -1. */
static int save_model(const char *path, const sf_schema_t *schema, uint64_t seed) {
        char err[256] = "";
        sf_encoder_t *enc = small_encoder(schema, 4, 3, 0.1f, 0.5f);
        int sizes[] = {enc ? enc->n_inputs : 1, 8, SMALL_CLASSES};
        sf_nn_t *nn = enc ? sf_nn_create(sizes, 2, err, sizeof(err)) : NULL;
        if (nn) sf_nn_init_glorot(nn, seed);
        int rc = nn ? sf_model_save(path, nn, schema, enc, &info, err, sizeof(err)) : -1;
        if (rc) printf("#   save: %s\n", err);
        sf_nn_destroy(nn);
        sf_encoder_destroy(enc);
        return rc;
}

/* Renames a file of bytes over path. */
static int replace_with(const char *path, const char *bytes) {
        const char *tmp = tmp_path("next.tmp");
        FILE *fp = fopen(tmp, "wb");
        if (!fp) return -1;
        size_t n = strlen(bytes), w = fwrite(bytes, 1, n, fp);
        if (fclose(fp) != 0 || w != n) return -1;
        return rename(tmp, path);
}

typedef struct fixture {
        sf_schema_t *schema;
        sf_score_reload_t *r;
        char *log;
        size_t log_len;
        FILE *logf;
        char first_id[32];
} fixture_t;

static int setup(fixture_t *f, const char *path, int watch) {
        char err[256];
        memset(f, 0, sizeof(*f));
        f->schema = small_schema();
        if (!f->schema || save_model(path, f->schema, 1) != 0) return -1;
        sf_model_t *m = sf_model_load(path, err, sizeof(err));
        if (!m) {
                printf("#   load: %s\n", err);
                return -1;
        }
        snprintf(f->first_id, sizeof(f->first_id), "%s", sf_model_id(m));
        f->logf = open_memstream(&f->log, &f->log_len);
        sf_score_reload_opts_t o = {path, NULL, watch, f->logf, NULL};
        f->r = sf_score_reload_new(&o, m, err, sizeof(err));
        return f->r ? 0 : -1;
}

static void teardown(fixture_t *f) {
        sf_score_reload_destroy(f->r);
        if (f->logf) fclose(f->logf);
        free(f->log);
        sf_schema_destroy(f->schema);
}

static const char *serving_id(const fixture_t *f) {
        return sf_model_id(sf_score_reload_model(f->r));
}

static void test_watch(void) {
        const char *path = tmp_path("watch.safetensors");
        fixture_t f;
        CHECK(setup(&f, path, 1) == 0);
        if (!f.r) goto out;
        CHECK(sf_score_reload_poll(f.r) == NULL); /* nothing changed */

        /* A new model renamed over the file: swapped in. */
        CHECK(save_model(path, f.schema, 2) == 0);
        sf_model_t *m = sf_score_reload_poll(f.r);
        CHECK(m != NULL && m == sf_score_reload_model(f.r));
        CHECK(strcmp(serving_id(&f), f.first_id) != 0);
        char second[32];
        snprintf(second, sizeof(second), "%s", serving_id(&f));
        CHECK(sf_score_reload_poll(f.r) == NULL); /* once */

        /* A corrupt file: refused once, the model in service kept. */
        CHECK(replace_with(path, "not a model at all") == 0);
        CHECK(sf_score_reload_poll(f.r) == NULL);
        CHECK(sf_score_reload_poll(f.r) == NULL);
        CHECK_STR(serving_id(&f), second);
        fflush(f.logf);
        CHECK_MSG(strstr(f.log, "refused") && !strstr(strstr(f.log, "refused") + 1, "refused"), "%s", f.log);

        /* The same model again (another inode): nothing to swap. */
        CHECK(save_model(path, f.schema, 2) == 0);
        CHECK(sf_score_reload_poll(f.r) == NULL);
        CHECK_STR(serving_id(&f), second);
        fflush(f.logf);
        CHECK_MSG(strstr(f.log, "the one in service") != NULL, "%s", f.log);

        /* A model that reads another input: refused, naming the column. */
        sf_schema_col_t *label = &f.schema->cols[f.schema->label_col];
        free(label->name);
        label->name = strdup("target");
        CHECK(label->name && save_model(path, f.schema, 3) == 0);
        CHECK(sf_score_reload_poll(f.r) == NULL);
        CHECK_STR(serving_id(&f), second);
        fflush(f.logf);
        CHECK_MSG(strstr(f.log, "column 42 is 'label' (label) for the model in service but 'target' (label)"),
                  "%s", f.log);
out:
        teardown(&f);
}

static void test_sighup(void) {
        const char *path = tmp_path("hup.safetensors");
        fixture_t f;
        CHECK(setup(&f, path, 0) == 0);
        if (!f.r) goto out;
        sf_score_reload_install_signal();
        /* Without watch a replaced file waits for the signal. */
        CHECK(save_model(path, f.schema, 2) == 0);
        CHECK(sf_score_reload_poll(f.r) == NULL);
        CHECK_STR(serving_id(&f), f.first_id);
        raise(SIGHUP);
        CHECK(sf_score_reload_poll(f.r) != NULL);
        CHECK(strcmp(serving_id(&f), f.first_id) != 0);
        CHECK(sf_score_reload_poll(f.r) == NULL); /* one signal, one reload */
        /* A SIGHUP with the file gone: refused, said, kept. */
        CHECK(unlink(path) == 0);
        raise(SIGHUP);
        CHECK(sf_score_reload_poll(f.r) == NULL);
        fflush(f.logf);
        CHECK_MSG(strstr(f.log, "model reload (SIGHUP) refused") && strstr(f.log, "hup.safetensors"), "%s",
                  f.log);
out:
        teardown(&f);
}

int main(void) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf_reload_XXXXXX");
        if (!mkdtemp(tmpdir)) {
                printf("not ok - mkdtemp\n");
                return 1;
        }
        sf_nn_set_threads(1);
        RUN(test_compatible);
        RUN(test_watch);
        RUN(test_sighup);
        char cmd[sizeof(tmpdir) + 32];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
        return TEST_DONE();
}
