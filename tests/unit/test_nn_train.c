/* The trainer: Keras' epoch (ceil(n / batch) steps, the last batch
 * partial, running metrics weighted by batch size), determinism from the
 * seed, compact vs dense encoding of real rows, and the fused backward
 * pass + Adam step against the two done one after the other. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/dataset.h"
#include "nn/kernels.h"
#include "nn/nn.h"
#include "nn/train.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"
#include "table/table.h"
#include "test.h"

static const char *const lines[] = {
        "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,1.00,0.00,0.00,150,"
        "25,0.17,"
        "0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20",
        "0,udp,other,SF,146,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,13,1,0.00,0.00,0.00,0.00,0.08,0.15,0.00,255,1,"
        "0.00,"
        "0.60,0.88,0.00,0.00,0.00,0.00,0.00,normal,15",
        "0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,0.00,0.05,0.07,0.00,255,"
        "26,0.10,"
        "0.05,0.00,0.00,1.00,1.00,0.00,0.00,neptune,19",
        "0,tcp,http,SF,232,8153,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,5,5,0.20,0.20,0.00,0.00,1.00,0.00,0.00,30,"
        "255,1.00,"
        "0.00,0.03,0.04,0.03,0.01,0.00,0.01,normal,21",
        "0,icmp,eco_i,SF,20,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,0.00,0.00,1.00,0.00,0.00,1,1,1."
        "00,0.00,"
        "1.00,0.00,0.00,0.00,0.00,0.00,ipsweep,18",
        "2,tcp,ftp,SF,12983,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,0.00,0.00,1.00,0.00,0.00,134,86,"
        "0.61,"
        "0.04,0.61,0.02,0.00,0.00,0.00,0.00,guess_passwd,13",
        "0,tcp,telnet,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,1.00,1.00,0.00,0.00,1.00,0.00,0.00,1,1,1.00,"
        "0.00,"
        "1.00,0.00,1.00,1.00,0.00,0.00,buffer_overflow,10",
        "0,tcp,private,REJ,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,136,1,0.00,0.00,1.00,1.00,0.01,0.06,0.00,255,"
        "1,0.00,"
        "0.06,0.00,0.00,0.00,0.00,1.00,1.00,neptune,21",
        "0,udp,domain_u,SF,45,44,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,98,98,0.00,0.00,0.00,0.00,1.00,0.00,0.00,"
        "255,252,"
        "0.99,0.01,0.00,0.00,0.00,0.00,0.00,0.00,normal,21",
        "0,tcp,smtp,SF,1022,387,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,0.00,0.00,1.00,0.00,0.00,6,91,"
        "1.00,"
        "0.00,0.17,0.03,0.00,0.00,0.00,0.00,normal,21",
};
enum { NROWS = sizeof(lines) / sizeof(lines[0]) };

/* NSL-KDD's schema, the rows above as a table and an encoder fitted on them. */
typedef struct {
        sf_schema_t *schema;
        sf_table_t *table;
        sf_encoder_t *enc;
} fixture_t;

static sf_schema_t *kdd_schema(void) {
        char path[1024], err[512];
        const char *root = getenv("SF_ROOT");
        snprintf(path, sizeof(path), "%s/data/nsl-kdd/schema.json", root ? root : ".");
        sf_schema_t *s = sf_schema_load(path, err, sizeof(err));
        if (!s) printf("#   %s\n", err);
        return s;
}

static int fixture_load(fixture_t *f) {
        char err[256];
        sf_row_t row = {0};
        sf_row_error_t e;
        if (!(f->schema = kdd_schema()) || !(f->table = sf_table_new(f->schema)) ||
            sf_row_init(&row, f->schema) != 0)
                return -1;
        for (int i = 0; i < NROWS; i++) {
                if (sf_row_from_csv_text(f->schema, lines[i], strlen(lines[i]), &row, &e) != 0 ||
                    sf_table_append(f->table, &row) != 0) {
                        printf("#   row %d: %s\n", i, e.msg);
                        sf_row_free(&row);
                        return -1;
                }
        }
        sf_row_free(&row);
        if (!(f->enc = sf_encoder_fit(f->table, err, sizeof(err)))) return -1;
        return 0;
}

static void fixture_free(fixture_t *f) {
        sf_encoder_destroy(f->enc);
        sf_table_destroy(f->table);
        sf_schema_destroy(f->schema);
}

typedef struct {
        size_t calls, last_step, steps;
        double loss, acc;
} seen_t;

static void record(void *opaque, size_t step, size_t steps, double loss, double acc) {
        seen_t *s = opaque;
        s->calls++;
        s->last_step = step;
        s->steps = steps;
        s->loss = loss;
        s->acc = acc;
}

static void test_compact_and_dense_agree(void) {
        fixture_t fx = {0};
        char err[256];
        CHECK(fixture_load(&fx) == 0);
        sf_encoder_t *enc = fx.enc;
        CHECK(enc != NULL);
        if (!enc) goto out;
        sf_dataset_t c = {0}, d = {0};
        CHECK(sf_dataset_encode(&c, enc, fx.table, "rows", NULL, NROWS, 1, err, sizeof(err)) == 0);
        CHECK(sf_dataset_encode(&d, enc, fx.table, "rows", NULL, NROWS, 0, err, sizeof(err)) == 0);
        CHECK_INT(c.n_dense, 38);
        CHECK_INT(c.n_hot, 3);
        CHECK_INT(d.n_dense, enc->n_inputs);
        CHECK_INT(c.y[2], 1);
        CHECK_INT(c.y[5], 3);
        CHECK_INT(c.y[6], 4);
        int sizes[] = {enc->n_inputs, 8, 5};
        sf_nn_t *nn = sf_nn_create(sizes, 2, err, sizeof(err));
        CHECK(nn != NULL);
        if (nn) {
                sf_nn_init_glorot(nn, 3);
                float pc[NROWS * 5], pd[NROWS * 5];
                double lc, ac, ld, ad;
                CHECK(sf_nn_evaluate(nn, &c, &lc, &ac, NULL, pc, err, sizeof(err)) == 0);
                CHECK(sf_nn_evaluate(nn, &d, &ld, &ad, NULL, pd, err, sizeof(err)) == 0);
                CHECK_NEAR(lc, ld, 1e-6);
                CHECK_NEAR(ac, ad, 1e-12);
                for (int i = 0; i < NROWS * 5; i++) CHECK_NEAR(pc[i], pd[i], 1e-6);
        }
        sf_nn_destroy(nn);
        sf_dataset_free(&c);
        sf_dataset_free(&d);
out:
        fixture_free(&fx);
}

static void test_epoch_like_keras(void) {
        fixture_t fx = {0};
        char err[256];
        CHECK(fixture_load(&fx) == 0);
        sf_encoder_t *enc = fx.enc;
        sf_dataset_t ds = {0};
        CHECK(enc && sf_dataset_encode(&ds, enc, fx.table, "rows", NULL, NROWS, 1, err, sizeof(err)) == 0);
        int sizes[] = {enc ? enc->n_inputs : 1, 16, 5};
        sf_nn_t *nn = sf_nn_create(sizes, 2, err, sizeof(err));
        sf_trainer_t *tr = NULL;
        if (!enc || !nn) goto out;
        sf_nn_init_glorot(nn, 1);
        /* A learning rate so small the weights do not move within the
         * epoch: the running loss must then be the loss over all 10 rows,
         * which it is only if the last, partial batch (2 rows) counts with
         * its weight. */
        tr = sf_trainer_new(nn, &ds, 4, 1e-12f, 5, err, sizeof(err));
        CHECK(tr != NULL);
        if (!tr) goto out;
        CHECK_INT(sf_trainer_steps(tr, NROWS), 3);
        double full_loss, full_acc, loss, acc;
        CHECK(sf_nn_evaluate(nn, &ds, &full_loss, &full_acc, NULL, NULL, err, sizeof(err)) == 0);
        seen_t seen = {0};
        CHECK(sf_trainer_epoch(tr, &ds, record, &seen, &loss, &acc, err, sizeof(err)) == 0);
        CHECK_INT(seen.calls, 3);
        CHECK_INT(seen.last_step, 3);
        CHECK_INT(seen.steps, 3);
        CHECK_NEAR(loss, full_loss, 1e-5);
        CHECK_NEAR(acc, full_acc, 1e-12);
        CHECK_NEAR(seen.loss, loss, 1e-12);
out:
        sf_trainer_destroy(tr);
        sf_nn_destroy(nn);
        sf_dataset_free(&ds);
        fixture_free(&fx);
}

/* Trains `epochs` epochs from seed and returns the parameters (caller frees). */
static float *train_params(const sf_dataset_t *ds, int n_inputs, uint64_t seed, int epochs, size_t *n) {
        char err[256];
        int sizes[] = {n_inputs, 16, 8, 5};
        sf_nn_t *nn = sf_nn_create(sizes, 3, err, sizeof(err));
        if (!nn) return NULL;
        sf_nn_init_glorot(nn, seed);
        sf_trainer_t *tr = sf_trainer_new(nn, ds, 3, 0.01f, seed, err, sizeof(err));
        float *out = NULL;
        double loss = 0, acc = 0, first = -1;
        for (int e = 0; tr && e < epochs; e++) {
                if (sf_trainer_epoch(tr, ds, NULL, NULL, &loss, &acc, err, sizeof(err)) != 0) goto done;
                if (first < 0) first = loss;
        }
        if (!(loss < first))
                printf("#   loss did not fall: %g -> %g\n", first, loss);
        else if ((out = malloc(nn->n_params * sizeof(float)))) {
                memcpy(out, nn->params, nn->n_params * sizeof(float));
                *n = nn->n_params;
        }
done:
        sf_trainer_destroy(tr);
        sf_nn_destroy(nn);
        return out;
}

static void test_deterministic_from_seed(void) {
        fixture_t fx = {0};
        char err[256];
        CHECK(fixture_load(&fx) == 0);
        sf_encoder_t *enc = fx.enc;
        sf_dataset_t ds = {0};
        CHECK(enc && sf_dataset_encode(&ds, enc, fx.table, "rows", NULL, NROWS, 1, err, sizeof(err)) == 0);
        if (!enc) goto out;
        size_t na = 0, nb = 0, nc = 0;
        float *a = train_params(&ds, enc->n_inputs, 11, 20, &na);
        float *b = train_params(&ds, enc->n_inputs, 11, 20, &nb);
        float *c = train_params(&ds, enc->n_inputs, 12, 20, &nc);
        CHECK(a && b && c);
        if (a && b && c) {
                CHECK(na == nb && memcmp(a, b, na * sizeof(float)) == 0);
                CHECK(memcmp(a, c, na * sizeof(float)) != 0);
        }
        free(a), free(b), free(c);
out:
        sf_dataset_free(&ds);
        fixture_free(&fx);
}

/* Training gives the same weights, bit for bit, on every kernel this CPU
 * runs (AVX-512, AVX2 + FMA) as on the portable loop: compact rows (the
 * one-hot gather and its gradient) and dense rows, batches of 3. */
static void test_same_weights_on_every_kernel(void) {
        fixture_t fx = {0};
        char err[256];
        CHECK(fixture_load(&fx) == 0);
        sf_encoder_t *enc = fx.enc;
        sf_dataset_t ds[2] = {{0}, {0}};
        for (int compact = 0; compact <= 1; compact++)
                CHECK(enc && sf_dataset_encode(&ds[compact], enc, fx.table, "rows", NULL, NROWS, compact, err,
                                               sizeof(err)) == 0);
        const sf_kernel_t kinds[] = {SF_KERNEL_AVX512, SF_KERNEL_AVX2};
        int compared = 0;
        for (int compact = 0; enc && compact <= 1; compact++) {
                size_t nr = 0, nk = 0;
                sf_kernel_force(SF_KERNEL_PORTABLE);
                float *ref = train_params(&ds[compact], enc->n_inputs, 5, 10, &nr);
                CHECK(ref != NULL);
                for (size_t k = 0; ref && k < 2; k++) {
                        if (!sf_kernel_supported(kinds[k])) continue;
                        sf_kernel_force(kinds[k]);
                        float *got = train_params(&ds[compact], enc->n_inputs, 5, 10, &nk);
                        CHECK_MSG(got && nk == nr && memcmp(got, ref, nr * sizeof(float)) == 0,
                                  "%s, %s rows: other weights than the portable loop's",
                                  sf_kernel_name(kinds[k]), compact ? "compact" : "dense");
                        compared++;
                        free(got);
                }
                free(ref);
        }
        sf_kernel_force(SF_KERNEL_AUTO);
        sf_dataset_free(&ds[0]), sf_dataset_free(&ds[1]);
        fixture_free(&fx);
        if (!compared) SKIP("this CPU has neither AVX-512 nor AVX2 + FMA: only the portable loop runs");
}

/* Steps of sf_nn_backward_adam give the bits of grads = 0, sf_nn_backward,
 * sf_adam_step, on every kernel, for compact and dense rows, a full and a
 * partial batch, with and without class weights. */
static void fused_steps(const sf_dataset_t *ds, int n_inputs, const float *class_weight, sf_kernel_t kind) {
        char err[256];
        int sizes[] = {n_inputs, 16, 24, 5}, batches[] = {7, NROWS - 7};
        sf_nn_t *sep = sf_nn_create(sizes, 3, err, sizeof(err)),
                *fus = sf_nn_create(sizes, 3, err, sizeof(err));
        sf_nn_ws_t ws_sep, ws_fus;
        sf_adam_t ad_sep, ad_fus;
        CHECK(sep && fus);
        if (!sep || !fus) return;
        sf_nn_init_glorot(sep, 3);
        sf_nn_init_glorot(fus, 3);
        float *grads = sf_nn_floats(sep->n_params), *scratch = sf_nn_floats(sep->n_params);
        CHECK(grads && scratch && sf_nn_ws_init(&ws_sep, sep, NROWS, 1) == 0 &&
              sf_nn_ws_init(&ws_fus, fus, NROWS, 1) == 0 &&
              sf_adam_init(&ad_sep, sep->n_params, 0.01f) == 0 &&
              sf_adam_init(&ad_fus, fus->n_params, 0.01f) == 0);
        ws_sep.class_weight = ws_fus.class_weight = class_weight;
        sf_kernel_force(kind);
        for (int step = 0; step < 6; step++) {
                int b = batches[step % 2];
                size_t at = step % 2 ? 7 : 0;
                sf_nn_input_t in = {ds->x + at * (size_t)ds->n_dense,
                                    ds->hot ? ds->hot + at * (size_t)ds->n_hot : NULL, ds->n_dense,
                                    ds->n_hot};
                sf_nn_forward(sep, &ws_sep, &in, ds->y + at, b);
                memset(grads, 0, sep->n_params * sizeof(float));
                sf_nn_backward(sep, &ws_sep, &in, ds->y + at, b, grads);
                sf_adam_step(&ad_sep, sep->params, grads);
                sf_nn_forward(fus, &ws_fus, &in, ds->y + at, b);
                sf_nn_backward_adam(fus, &ws_fus, &in, ds->y + at, b, &ad_fus, scratch);
        }
        sf_kernel_force(SF_KERNEL_AUTO);
        CHECK_MSG(memcmp(sep->params, fus->params, sep->n_params * sizeof(float)) == 0 &&
                          memcmp(ad_sep.m, ad_fus.m, sep->n_params * sizeof(float)) == 0 &&
                          memcmp(ad_sep.v, ad_fus.v, sep->n_params * sizeof(float)) == 0 &&
                          ad_sep.t == ad_fus.t,
                  "%s, %s rows%s: the fused step differs", sf_kernel_name(kind),
                  ds->hot ? "compact" : "dense", class_weight ? ", class weights" : "");
        /* the steps did move the last layer's biases (they start at zero) */
        CHECK(sep->b[2][0] != 0.0f);
        sf_nn_ws_free(&ws_sep), sf_nn_ws_free(&ws_fus);
        sf_adam_free(&ad_sep), sf_adam_free(&ad_fus);
        free(grads), free(scratch);
        sf_nn_destroy(sep), sf_nn_destroy(fus);
}

static void test_fused_step_equals_separate(void) {
        fixture_t fx = {0};
        char err[256];
        CHECK(fixture_load(&fx) == 0);
        sf_dataset_t ds[2] = {{0}, {0}};
        const float weights[5] = {0.5f, 2.0f, 1.0f, 3.0f, 0.25f};
        const sf_kernel_t kinds[] = {SF_KERNEL_PORTABLE, SF_KERNEL_AVX512, SF_KERNEL_AVX2};
        for (int compact = 0; fx.enc && compact <= 1; compact++) {
                CHECK(sf_dataset_encode(&ds[compact], fx.enc, fx.table, "rows", NULL, NROWS, compact, err,
                                        sizeof(err)) == 0);
                for (size_t k = 0; k < 3; k++) {
                        if (!sf_kernel_supported(kinds[k])) continue;
                        fused_steps(&ds[compact], fx.enc->n_inputs, NULL, kinds[k]);
                        fused_steps(&ds[compact], fx.enc->n_inputs, weights, kinds[k]);
                }
        }
        sf_dataset_free(&ds[0]), sf_dataset_free(&ds[1]);
        fixture_free(&fx);
}

static void test_divergence_is_an_error(void) {
        fixture_t fx = {0};
        char err[256] = "";
        CHECK(fixture_load(&fx) == 0);
        sf_encoder_t *enc = fx.enc;
        sf_dataset_t ds = {0};
        CHECK(enc && sf_dataset_encode(&ds, enc, fx.table, "rows", NULL, NROWS, 1, err, sizeof(err)) == 0);
        if (!enc) goto out;
        int sizes[] = {enc->n_inputs, 16, 5};
        sf_nn_t *nn = sf_nn_create(sizes, 2, err, sizeof(err));
        sf_nn_init_glorot(nn, 1);
        /* Weights of 1e30 overflow the logits to inf: the loss is not finite. */
        for (size_t i = 0; i < nn->n_params; i++) nn->params[i] = 1e30f;
        sf_trainer_t *tr = sf_trainer_new(nn, &ds, 4, 0.001f, 1, err, sizeof(err));
        double loss, acc;
        CHECK(tr && sf_trainer_epoch(tr, &ds, NULL, NULL, &loss, &acc, err, sizeof(err)) == -1);
        CHECK(strstr(err, "diverged") != NULL);
        sf_trainer_destroy(tr);
        sf_nn_destroy(nn);
out:
        sf_dataset_free(&ds);
        fixture_free(&fx);
}

/* Evaluation data that overflows once scaled is an error naming the line
 * and the column, compact or dense, never a row counted; a network whose
 * output is not finite on a row is an error naming the line. */
static void test_non_finite_evaluation_rows(void) {
        char err[512] = "", path[1024];
        const char *root = getenv("SF_ROOT");
        snprintf(path, sizeof(path), "%s/tests/data/bad-inputs/overflow_to_inf.csv", root ? root : ".");
        sf_schema_t *schema = kdd_schema();
        sf_table_t *rows = schema ? sf_table_new(schema) : NULL;
        sf_encoder_t *enc = NULL;
        sf_dataset_t ds = {0};
        sf_nn_t *nn = NULL;
        if (!rows) goto out;
        CHECK_MSG(sf_table_read(rows, path, err, sizeof(err)) == 0, "%s", err);
        /* mean 0, std 0.5 for every number; one value per category */
        json_t *num = json_array();
        for (int j = 0; j < schema->n_numeric; j++)
                json_array_append_new(num, json_pack("{s:s, s:f, s:f, s:b}", "column",
                                                     schema->cols[schema->numeric_cols[j]].name, "mean", 0.0,
                                                     "std", 0.5, "missing_flag", 0));
        json_t *ej =
                json_pack("{s:i, s:o, s:[{s:s, s:[s]}, {s:s, s:[s]}, {s:s, s:[s]}]}", "inputs", 41, "numeric",
                          num, "categorical", "column", "protocol_type", "vocabulary", "tcp", "column",
                          "service", "vocabulary", "private", "column", "flag", "vocabulary", "REJ");
        enc = sf_encoder_from_json(ej, schema, "test encoder", err, sizeof(err));
        json_decref(ej);
        if (!enc || rows->n_rows != 3) goto out;
        for (int compact = 0; compact < 2; compact++) {
                size_t idx[] = {2, 1}; /* the ordinary row, then line 2 */
                CHECK(sf_dataset_encode(&ds, enc, rows, "f.csv", idx, 2, compact, err, sizeof(err)) == -1);
                CHECK_MSG(strstr(err, "f.csv:2: column 25 (serror_rate): 3e+38 ") != NULL, "%s", err);
                CHECK(sf_dataset_encode(&ds, enc, rows, "f.csv", NULL, 3, compact, err, sizeof(err)) == -1);
                CHECK_MSG(strstr(err, "f.csv:1: column 1 (duration)") != NULL, "%s", err);
        }
        /* Line 3 alone encodes; weights near FLT_MAX make its output NaN. */
        size_t third = 2;
        CHECK_MSG(sf_dataset_encode(&ds, enc, rows, "f.csv", &third, 1, 1, err, sizeof(err)) == 0, "%s", err);
        int sizes[] = {enc->n_inputs, 4, 5};
        nn = sf_nn_create(sizes, 2, err, sizeof(err));
        if (!nn) goto out;
        double loss, acc;
        CHECK_MSG(sf_nn_evaluate(nn, &ds, &loss, &acc, NULL, NULL, err, sizeof(err)) == 0, "%s", err);
        for (size_t i = 0; i < nn->n_params; i++) nn->params[i] = 3e38f;
        CHECK(sf_nn_evaluate(nn, &ds, &loss, &acc, NULL, NULL, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "line 3: the model's output is not finite") != NULL, "%s", err);
out:
        CHECK(enc != NULL && rows && rows->n_rows == 3 && nn != NULL);
        sf_nn_destroy(nn);
        sf_dataset_free(&ds);
        sf_encoder_destroy(enc);
        sf_table_destroy(rows);
        sf_schema_destroy(schema);
}

/* The reported loss with class weights is Keras': each row's loss times its
 * class's weight, averaged over the rows (not over the weights). */
static void test_weighted_epoch_loss(void) {
        fixture_t fx = {0};
        char err[256];
        CHECK(fixture_load(&fx) == 0);
        sf_encoder_t *enc = fx.enc;
        sf_dataset_t ds = {0};
        CHECK(enc && sf_dataset_encode(&ds, enc, fx.table, "rows", NULL, NROWS, 1, err, sizeof(err)) == 0);
        int sizes[] = {enc ? enc->n_inputs : 1, 16, 5};
        sf_nn_t *nn = sf_nn_create(sizes, 2, err, sizeof(err));
        sf_trainer_t *tr = NULL;
        float probs[NROWS * 5];
        if (!enc || !nn) goto out;
        sf_nn_init_glorot(nn, 1);
        const float w[5] = {0.5f, 2.0f, 3.0f, 7.0f, 11.0f};
        double loss, acc, want = 0, full_loss, full_acc;
        CHECK(sf_nn_evaluate(nn, &ds, &full_loss, &full_acc, NULL, probs, err, sizeof(err)) == 0);
        for (int i = 0; i < NROWS; i++) want += w[ds.y[i]] * -log((double)probs[i * 5 + ds.y[i]]);
        want /= NROWS;
        tr = sf_trainer_new(nn, &ds, 4, 1e-12f, 5, err, sizeof(err)); /* weights stay put */
        CHECK(tr != NULL);
        if (!tr) goto out;
        CHECK(sf_trainer_set_class_weight(tr, w) == 0);
        CHECK(sf_trainer_epoch(tr, &ds, NULL, NULL, &loss, &acc, err, sizeof(err)) == 0);
        CHECK_NEAR(loss, want, 1e-5);
        CHECK(fabs(loss - full_loss) > 1e-3); /* it is not the unweighted loss */
        /* Validation is never weighted (Keras weights only the training data). */
        double val_loss, val_acc;
        CHECK(sf_nn_evaluate(nn, &ds, &val_loss, &val_acc, NULL, NULL, err, sizeof(err)) == 0);
        CHECK_NEAR(val_loss, full_loss, 1e-5);
out:
        sf_trainer_destroy(tr);
        sf_nn_destroy(nn);
        sf_dataset_free(&ds);
        fixture_free(&fx);
}

/* sklearn's docstring example: y = [1, 1, 1, 1, 0, 0] gives [1.5, 0.75]. */
static void test_class_weight_balanced(void) {
        const int y[] = {1, 1, 1, 1, 0, 0};
        float w[5];
        CHECK(sf_class_weight_balanced(y, 6, 2, w) == 0);
        CHECK_NEAR(w[0], 1.5, 1e-7);
        CHECK_NEAR(w[1], 0.75, 1e-7);
        /* Over 5 classes: the 3 absent ones do not count in n_classes and get 1. */
        CHECK(sf_class_weight_balanced(y, 6, 5, w) == 0);
        CHECK_NEAR(w[0], 1.5, 1e-7);
        CHECK_NEAR(w[1], 0.75, 1e-7);
        CHECK_NEAR(w[2], 1.0, 0);
        CHECK_NEAR(w[3], 1.0, 0);
        CHECK_NEAR(w[4], 1.0, 0);
        /* 10 rows, counts 5, 2, 2, 1, 0: 10 / (4 * count). */
        const int z[] = {0, 0, 0, 0, 0, 1, 1, 2, 2, 3};
        CHECK(sf_class_weight_balanced(z, 10, 5, w) == 0);
        CHECK_NEAR(w[0], 0.5, 1e-7);
        CHECK_NEAR(w[1], 1.25, 1e-7);
        CHECK_NEAR(w[2], 1.25, 1e-7);
        CHECK_NEAR(w[3], 2.5, 1e-7);
        CHECK_NEAR(w[4], 1.0, 0);
        CHECK(sf_class_weight_balanced(z, 10, 0, w) == -1);
        CHECK(sf_class_weight_balanced(z, 10, SF_CLASS_WEIGHT_MAX + 1, w) == -1);
}

static void test_class_weight_parse(void) {
        static const char *const names[5] = {"normal", "DoS", "Probe", "R2L", "U2R"};
        static const struct {
                const char *spec;
                int ok, balanced, none;
                float w[5];
                const char *err; /* part of the message */
        } cases[] = {
                {"none", 1, 0, 1, {9, 9, 9, 9, 9}, NULL},
                {"balanced", 1, 1, 0, {9, 9, 9, 9, 9}, NULL},
                {"R2L=10,U2R=50", 1, 0, 0, {1, 1, 1, 10, 50}, NULL},
                {"normal=0.5", 1, 0, 0, {0.5f, 1, 1, 1, 1}, NULL},
                {"DoS=0,Probe=2.25,normal=1e-3", 1, 0, 0, {1e-3f, 0, 2.25f, 1, 1}, NULL},
                {"R2l=10", 0, 0, 0, {0}, "unknown class 'R2l' (did you mean 'R2L'?)"},
                {"dos=2", 0, 0, 0, {0}, "did you mean 'DoS'?"},
                {"attack=2",
                 0,
                 0,
                 0,
                 {0},
                 "unknown class 'attack'; the classes are normal, DoS, Probe, R2L, U2R"},
                {"u2r=2", 0, 0, 0, {0}, "did you mean 'U2R'?"},
                {"R2L=-1", 0, 0, 0, {0}, "the weight of 'R2L' is '-1'"},
                {"R2L=abc", 0, 0, 0, {0}, "the weight of 'R2L' is 'abc'"},
                {"R2L=nan", 0, 0, 0, {0}, "expected a number"},
                {"R2L=1,R2L=2", 0, 0, 0, {0}, "class 'R2L' is given twice"},
                {"R2L", 0, 0, 0, {0}, "'R2L' is not CLASS=WEIGHT"},
                {"R2L=", 0, 0, 0, {0}, "is not CLASS=WEIGHT"},
                {"R2L=2,", 0, 0, 0, {0}, "'' is not CLASS=WEIGHT"},
                {"", 0, 0, 0, {0}, "is not CLASS=WEIGHT"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                float w[5] = {9, 9, 9, 9, 9};
                int balanced = -1, none = -1;
                char err[256] = "";
                int rc =
                        sf_class_weight_parse(cases[i].spec, names, 5, w, &balanced, &none, err, sizeof(err));
                CHECK_MSG((rc == 0) == cases[i].ok, "'%s': rc %d, %s", cases[i].spec, rc, err);
                if (cases[i].ok) {
                        CHECK_MSG(balanced == cases[i].balanced && none == cases[i].none, "'%s'",
                                  cases[i].spec);
                        CHECK_MSG(memcmp(w, cases[i].w, sizeof(w)) == 0, "'%s': weights %g %g %g %g %g",
                                  cases[i].spec, w[0], w[1], w[2], w[3], w[4]);
                } else {
                        CHECK_MSG(strstr(err, cases[i].err) != NULL, "'%s': '%s' lacks '%s'", cases[i].spec,
                                  err, cases[i].err);
                }
        }
}

/* Scripted monitored values against Keras 3's EarlyStopping: the epoch that
 * stops (0-based, -1: none), the best epoch and which epochs improved. */
static void test_early_stop_tables(void) {
        static const struct {
                const char *what;
                int maximize;
                double min_delta;
                int patience, n;
                double v[8];
                int stop, best;
                const char *improved; /* one char per epoch fed: '+' improved */
        } cases[] = {
                /* Keras' docstring: monitor='loss', patience=3, no improvement after
                 * the first epoch: "Only 4 epochs are run". */
                {"docstring", 0, 0, 3, 8, {1, 2, 3, 4, 5, 6, 7, 8}, 3, 0, "+..."},
                {"loss, patience 2", 0, 0, 2, 5, {1.0, 0.9, 0.95, 0.93, 0.8}, 3, 1, "++.."},
                {"patience 0 stops at the first miss", 0, 0, 0, 3, {1.0, 1.1, 0.5}, 1, 0, "+."},
                {"a tie is no improvement", 0, 0, 0, 3, {1.0, 0.9, 0.9}, 2, 1, "++."},
                {"wait restarts", 0, 0, 2, 6, {1.0, 1.1, 0.9, 1.0, 1.0, 0.1}, 4, 2, "+.+.."},
                {"min_delta 0.05", 0, 0.05, 2, 4, {1.0, 0.96, 0.94, 0.5}, -1, 3, "+.++"},
                {"min_delta: small steps do not count", 0, 0.05, 2, 4, {1.0, 0.97, 0.96, 0.955}, 2, 0, "+.."},
                {"min_delta: against the best, not the last",
                 0,
                 0.05,
                 2,
                 4,
                 {1.0, 0.97, 0.94, 0.91},
                 -1,
                 2,
                 "+.+."},
                {"accuracy, patience 1", 1, 0, 1, 4, {0.7, 0.8, 0.8, 0.85}, 2, 1, "++."},
                {"accuracy, min_delta 0.01",
                 1,
                 0.01,
                 3,
                 6,
                 {0.5, 0.505, 0.52, 0.515, 0.525, 0.529},
                 5,
                 2,
                 "+.+..."},
                {"accuracy falls", 1, 0, 2, 4, {0.9, 0.8, 0.7, 0.95}, 2, 0, "+.."},
                {"NaN never improves, epoch 0 never stops", 0, 0, 0, 3, {NAN, NAN, 1.0}, 1, -1, ".."},
                {"no stop within the epochs", 0, 0, 5, 4, {4, 3, 3.5, 3.2}, -1, 1, "++.."},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                sf_early_stop_t es;
                char improved[9] = "";
                int stop = -1, e;
                sf_early_stop_init(&es, cases[i].maximize, cases[i].min_delta, cases[i].patience);
                for (e = 0; e < cases[i].n && stop < 0; e++) {
                        int flags = sf_early_stop_update(&es, e, cases[i].v[e]);
                        improved[e] = flags & SF_EARLY_STOP_IMPROVED ? '+' : '.';
                        if (flags & SF_EARLY_STOP_STOP) stop = e;
                }
                improved[e] = '\0';
                CHECK_MSG(stop == cases[i].stop, "%s: stopped at %d, expected %d", cases[i].what, stop,
                          cases[i].stop);
                CHECK_MSG(es.stopped_epoch == cases[i].stop, "%s: stopped_epoch %d", cases[i].what,
                          es.stopped_epoch);
                CHECK_MSG(es.best_epoch == cases[i].best, "%s: best epoch %d, expected %d", cases[i].what,
                          es.best_epoch, cases[i].best);
                CHECK_MSG(strcmp(improved, cases[i].improved) == 0, "%s: improved '%s', expected '%s'",
                          cases[i].what, improved, cases[i].improved);
        }
}

/* Training on after restoring Adam's moments and step, the shuffle stream
 * and the weights equals training straight through, bit for bit. */
static void test_resume_equals_straight(void) {
        fixture_t fx = {0};
        char err[256];
        CHECK(fixture_load(&fx) == 0);
        sf_encoder_t *enc = fx.enc;
        sf_dataset_t ds = {0};
        CHECK(enc && sf_dataset_encode(&ds, enc, fx.table, "rows", NULL, NROWS, 1, err, sizeof(err)) == 0);
        int sizes[] = {enc ? enc->n_inputs : 1, 16, 5};
        sf_nn_t *a = sf_nn_create(sizes, 2, err, sizeof(err)), *b = sf_nn_create(sizes, 2, err, sizeof(err));
        sf_trainer_t *ta = NULL, *tb = NULL, *tc = NULL;
        double loss, acc;
        if (!enc || !a || !b) goto out;
        sf_nn_init_glorot(a, 3);
        sf_nn_init_glorot(b, 3);
        ta = sf_trainer_new(a, &ds, 3, 0.01f, 3, err, sizeof(err));
        tb = sf_trainer_new(b, &ds, 3, 0.01f, 3, err, sizeof(err));
        CHECK(ta && tb);
        if (!ta || !tb) goto out;
        for (int e = 0; e < 3; e++)
                CHECK(sf_trainer_epoch(ta, &ds, NULL, NULL, &loss, &acc, err, sizeof(err)) == 0);
        CHECK(sf_trainer_epoch(tb, &ds, NULL, NULL, &loss, &acc, err, sizeof(err)) == 0);
        /* A new trainer (as after a restart) given b's state. */
        tc = sf_trainer_new(b, &ds, 3, 0.01f, 99, err, sizeof(err));
        CHECK(tc != NULL);
        if (!tc) goto out;
        sf_adam_t *from = sf_trainer_adam(tb), *to = sf_trainer_adam(tc);
        memcpy(to->m, from->m, from->n * sizeof(float));
        memcpy(to->v, from->v, from->n * sizeof(float));
        to->t = from->t;
        *sf_trainer_rng(tc) = *sf_trainer_rng(tb);
        for (int e = 1; e < 3; e++)
                CHECK(sf_trainer_epoch(tc, &ds, NULL, NULL, &loss, &acc, err, sizeof(err)) == 0);
        CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
out:
        sf_trainer_destroy(ta), sf_trainer_destroy(tb), sf_trainer_destroy(tc);
        sf_nn_destroy(a), sf_nn_destroy(b);
        sf_dataset_free(&ds);
        fixture_free(&fx);
}

int main(void) {
        sf_nn_set_threads(1);
        RUN(test_compact_and_dense_agree);
        RUN(test_epoch_like_keras);
        RUN(test_deterministic_from_seed);
        RUN(test_same_weights_on_every_kernel);
        RUN(test_fused_step_equals_separate);
        RUN(test_divergence_is_an_error);
        RUN(test_non_finite_evaluation_rows);
        RUN(test_weighted_epoch_loss);
        RUN(test_class_weight_balanced);
        RUN(test_class_weight_parse);
        RUN(test_early_stop_tables);
        RUN(test_resume_equals_straight);
        return TEST_DONE();
}
