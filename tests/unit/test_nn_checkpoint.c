/* Training checkpoints (last.safetensors): the round trip of the weights,
 * Adam's moments, the best weights and the state text; what is refused;
 * and model files with recipe metadata. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "nn/nn.h"
#include "small_model.h"
#include "test.h"
#include "tmpfile.h"
#include "util/rng.h"

static const sf_model_info_t info = {
        .seed = 5, .epochs = 3, .batch = 64, .threads = 1, .lr = 0.001, .train_rows = 1000};

typedef struct {
        sf_schema_t *schema;
        sf_encoder_t *enc;
        sf_nn_t *nn;
        float *m, *v, *best; /* (n_params) each */
} fixture_t;

static int fixture_init(fixture_t *f) {
        char err[128];
        memset(f, 0, sizeof(*f));
        if (!(f->schema = small_schema()) || !(f->enc = small_encoder(f->schema, 3, 2, 0.25f, 1.0f)))
                return -1;
        int sizes[] = {f->enc->n_inputs, 8, SMALL_CLASSES};
        if (!(f->nn = sf_nn_create(sizes, 2, err, sizeof(err)))) return -1;
        sf_nn_init_glorot(f->nn, 3);
        size_t n = f->nn->n_params;
        f->m = malloc(3 * n * sizeof(float));
        if (!f->m) return -1;
        f->v = f->m + n, f->best = f->m + 2 * n;
        sf_rng_t rng;
        sf_rng_seed(&rng, 4);
        for (size_t i = 0; i < 3 * n; i++) f->m[i] = (float)sf_rng_uniform(&rng) - 0.5f;
        return 0;
}

static void fixture_free(fixture_t *f) {
        sf_nn_destroy(f->nn);
        sf_encoder_destroy(f->enc);
        sf_schema_destroy(f->schema);
        free(f->m);
}

static size_t count_files(void) {
        DIR *d = opendir(tmpdir);
        size_t n = 0;
        for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
        if (d) closedir(d);
        return n;
}

static void test_round_trip(void) {
        fixture_t f;
        char err[512] = "";
        CHECK(fixture_init(&f) == 0);
        if (!f.m) goto out;
        const char *path = tmp_path("last.safetensors"), *state = "{\"epochs_done\":2,\"text\":\"any\"}";
        size_t n = f.nn->n_params, before = count_files();
        CHECK_MSG(sf_checkpoint_save(path, f.nn, f.schema, f.enc, &info, f.m, f.v, f.best, state, err,
                                     sizeof(err)) == 0,
                  "%s", err);
        CHECK_INT(count_files(), before + 1); /* no temporary file left behind */
        sf_checkpoint_t *ck = sf_checkpoint_load(path, err, sizeof(err));
        CHECK_MSG(ck != NULL, "%s", err);
        if (ck) {
                CHECK_INT(ck->nn->n_params, n);
                CHECK(memcmp(ck->nn->params, f.nn->params, n * sizeof(float)) == 0);
                CHECK(memcmp(ck->adam_m, f.m, n * sizeof(float)) == 0);
                CHECK(memcmp(ck->adam_v, f.v, n * sizeof(float)) == 0);
                CHECK(ck->best && memcmp(ck->best, f.best, n * sizeof(float)) == 0);
                CHECK_STR(ck->state, state);
                CHECK_INT(ck->info.seed, 5);
                CHECK_INT(ck->info.epochs, 3);
                CHECK_INT(ck->enc->n_inputs, f.enc->n_inputs);
        }
        sf_checkpoint_destroy(ck);
        /* Without best weights: none come back. */
        CHECK(sf_checkpoint_save(path, f.nn, f.schema, f.enc, &info, f.m, f.v, NULL, state, err,
                                 sizeof(err)) == 0);
        ck = sf_checkpoint_load(path, err, sizeof(err));
        CHECK(ck && ck->best == NULL && memcmp(ck->adam_v, f.v, n * sizeof(float)) == 0);
        sf_checkpoint_destroy(ck);
        sf_checkpoint_destroy(NULL);
out:
        fixture_free(&f);
}

static void expect_load_error(const char *path, const char *want) {
        char err[512] = "";
        sf_checkpoint_t *ck = sf_checkpoint_load(path, err, sizeof(err));
        CHECK_MSG(ck == NULL && strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
        sf_checkpoint_destroy(ck);
}

/* A checkpoint is not a model file and a model file is not a checkpoint;
 * truncation and non-finite values are refused. */
static void test_refused(void) {
        fixture_t f;
        char err[512] = "";
        CHECK(fixture_init(&f) == 0);
        if (!f.m) goto out;
        const char *ck_path = tmp_path("ck.safetensors"), *model_path = tmp_path("model.safetensors");
        CHECK(sf_checkpoint_save(ck_path, f.nn, f.schema, f.enc, &info, f.m, f.v, NULL, "{}", err,
                                 sizeof(err)) == 0);
        CHECK(sf_model_save(model_path, f.nn, f.schema, f.enc, &info, err, sizeof(err)) == 0);
        sf_model_t *model = sf_model_load(ck_path, err, sizeof(err));
        CHECK_MSG(model == NULL && strstr(err, "a training checkpoint, not a model"), "%s", err);
        sf_model_destroy(model);
        expect_load_error(model_path, "not a checkpoint");
        expect_load_error(tmp_path("none.safetensors"), "cannot open");

        FILE *fp = fopen(ck_path, "rb");
        uint8_t *buf = malloc(1 << 20);
        size_t len = fp && buf ? fread(buf, 1, 1 << 20, fp) : 0;
        if (fp) fclose(fp);
        CHECK(len > 100);
        const char *cut = tmp_path("cut.safetensors");
        fp = fopen(cut, "wb");
        if (fp) fwrite(buf, 1, len - 4, fp), fclose(fp);
        expect_load_error(cut, "truncated");
        /* The last float of the data is the last of optimizer.v: make it a NaN. */
        float nan = NAN;
        memcpy(buf + len - 4, &nan, 4);
        fp = fopen(cut, "wb");
        if (fp) fwrite(buf, 1, len, fp), fclose(fp);
        expect_load_error(cut, "tensor 'optimizer.v' holds a non-finite value");
        free(buf);
        CHECK(sf_checkpoint_save("/nonexistent-dir/x.safetensors", f.nn, f.schema, f.enc, &info, f.m, f.v,
                                 NULL, "{}", err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "/nonexistent-dir/x.safetensors") != NULL, "%s", err);
out:
        fixture_free(&f);
}

/* A recipe's metadata: no extra gives sf_model_save's bytes; an extra is
 * added to "training" and the file is still a model. */
static void test_model_save_extra(void) {
        fixture_t f;
        char err[512] = "";
        CHECK(fixture_init(&f) == 0);
        if (!f.m) goto out;
        const char *a = tmp_path("a.safetensors"), *b = tmp_path("b.safetensors"),
                   *c = tmp_path("c.safetensors");
        CHECK(sf_model_save(a, f.nn, f.schema, f.enc, &info, err, sizeof(err)) == 0);
        CHECK(sf_model_save_extra(b, f.nn, f.schema, f.enc, &info, NULL, err, sizeof(err)) == 0);
        CHECK(sf_model_save_extra(c, f.nn, f.schema, f.enc, &info, "{\"class_weight\":{\"R2L\":10}}", err,
                                  sizeof(err)) == 0);
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "cmp -s %s %s", a, b);
        CHECK(system(cmd) == 0);
        snprintf(cmd, sizeof(cmd), "grep -q 'class_weight.*R2L.*10.*seed' %s", c);
        CHECK(system(cmd) == 0);
        sf_model_t *model = sf_model_load(c, err, sizeof(err));
        CHECK_MSG(model != NULL, "%s", err);
        if (model)
                CHECK(memcmp(sf_model_nn(model)->params, f.nn->params, f.nn->n_params * sizeof(float)) == 0);
        sf_model_destroy(model);
        CHECK(sf_model_save_extra(c, f.nn, f.schema, f.enc, &info, "[1]", err, sizeof(err)) == -1);
out:
        fixture_free(&f);
}

int main(void) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf-ckpt-XXXXXX");
        if (!mkdtemp(tmpdir)) return 1;
        RUN(test_round_trip);
        RUN(test_refused);
        RUN(test_model_save_extra);
        char cmd[sizeof(tmpdir) + 32];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        if (system(cmd) != 0) printf("#   could not remove %s\n", tmpdir);
        return TEST_DONE();
}
