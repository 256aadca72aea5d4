/* The trainer: Keras' epoch (ceil(n / batch) steps, the last batch
 * partial, running metrics weighted by batch size), determinism from the
 * seed, and compact vs dense encoding of real rows. */
#include <stdlib.h>
#include <string.h>

#include "data/kdd.h"
#include "nn/nn.h"
#include "nn/train.h"
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

static int load_rows(sf_kdd_rows_t *rows) {
        char err[256];
        rows->rows = calloc(NROWS, sizeof(sf_kdd_row_t));
        if (!rows->rows) return -1;
        rows->n = rows->cap = NROWS;
        for (int i = 0; i < NROWS; i++) {
                if (sf_kdd_parse_line(lines[i], strlen(lines[i]), &rows->rows[i], err, sizeof(err)) != 0) {
                        printf("#   row %d: %s\n", i, err);
                        return -1;
                }
        }
        return 0;
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
        sf_kdd_rows_t rows = {0};
        char err[256];
        CHECK(load_rows(&rows) == 0);
        sf_kdd_encoder_t *enc = sf_kdd_encoder_fit(&rows, err, sizeof(err));
        CHECK(enc != NULL);
        if (!enc) goto out;
        sf_dataset_t c = {0}, d = {0};
        CHECK(sf_dataset_encode(&c, enc, &rows, NULL, NROWS, 1, err, sizeof(err)) == 0);
        CHECK(sf_dataset_encode(&d, enc, &rows, NULL, NROWS, 0, err, sizeof(err)) == 0);
        CHECK_INT(c.n_dense, 38);
        CHECK_INT(c.n_hot, 3);
        CHECK_INT(d.n_dense, enc->n_inputs);
        CHECK_INT(c.y[2], SF_CLASS_DOS);
        CHECK_INT(c.y[5], SF_CLASS_R2L);
        CHECK_INT(c.y[6], SF_CLASS_U2R);
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
        sf_kdd_encoder_destroy(enc);
        sf_kdd_rows_free(&rows);
}

static void test_epoch_like_keras(void) {
        sf_kdd_rows_t rows = {0};
        char err[256];
        CHECK(load_rows(&rows) == 0);
        sf_kdd_encoder_t *enc = sf_kdd_encoder_fit(&rows, err, sizeof(err));
        sf_dataset_t ds = {0};
        CHECK(enc && sf_dataset_encode(&ds, enc, &rows, NULL, NROWS, 1, err, sizeof(err)) == 0);
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
        sf_kdd_encoder_destroy(enc);
        sf_kdd_rows_free(&rows);
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
        sf_kdd_rows_t rows = {0};
        char err[256];
        CHECK(load_rows(&rows) == 0);
        sf_kdd_encoder_t *enc = sf_kdd_encoder_fit(&rows, err, sizeof(err));
        sf_dataset_t ds = {0};
        CHECK(enc && sf_dataset_encode(&ds, enc, &rows, NULL, NROWS, 1, err, sizeof(err)) == 0);
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
        sf_kdd_encoder_destroy(enc);
        sf_kdd_rows_free(&rows);
}

static void test_divergence_is_an_error(void) {
        sf_kdd_rows_t rows = {0};
        char err[256] = "";
        CHECK(load_rows(&rows) == 0);
        sf_kdd_encoder_t *enc = sf_kdd_encoder_fit(&rows, err, sizeof(err));
        sf_dataset_t ds = {0};
        CHECK(enc && sf_dataset_encode(&ds, enc, &rows, NULL, NROWS, 1, err, sizeof(err)) == 0);
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
        sf_kdd_encoder_destroy(enc);
        sf_kdd_rows_free(&rows);
}

/* Evaluation data that overflows once scaled is an error naming the line
 * and the column, compact or dense, never a row counted; a network whose
 * output is not finite on a row is an error naming the line. */
static void test_non_finite_evaluation_rows(void) {
        sf_kdd_rows_t rows = {0};
        char err[256] = "", path[1024];
        const char *root = getenv("SF_ROOT");
        snprintf(path, sizeof(path), "%s/tests/data/bad-inputs/overflow_to_inf.csv", root ? root : ".");
        CHECK_MSG(sf_kdd_read_file(path, &rows, err, sizeof(err)) == 0, "%s", err);
        const char *proto[] = {"tcp"}, *service[] = {"private"}, *flag[] = {"REJ"};
        float mean[SF_KDD_NNUMERIC], std[SF_KDD_NNUMERIC];
        for (int j = 0; j < SF_KDD_NNUMERIC; j++) mean[j] = 0, std[j] = 0.5f;
        sf_kdd_encoder_t *enc =
                sf_kdd_encoder_new(1, proto, 1, service, 1, flag, mean, std, err, sizeof(err));
        sf_dataset_t ds = {0};
        sf_nn_t *nn = NULL;
        if (!enc || rows.n != 3) goto out;
        for (int compact = 0; compact < 2; compact++) {
                size_t idx[] = {2, 1}; /* the ordinary row, then line 2 */
                CHECK(sf_dataset_encode(&ds, enc, &rows, idx, 2, compact, err, sizeof(err)) == -1);
                CHECK_MSG(strstr(err, "line 2: field 25 (serror_rate): 3e+38 ") != NULL, "%s", err);
                CHECK(sf_dataset_encode(&ds, enc, &rows, NULL, 3, compact, err, sizeof(err)) == -1);
                CHECK_MSG(strstr(err, "line 1: field 1 (duration)") != NULL, "%s", err);
        }
        /* Line 3 alone encodes; weights near FLT_MAX make its output NaN. */
        size_t third = 2;
        CHECK_MSG(sf_dataset_encode(&ds, enc, &rows, &third, 1, 1, err, sizeof(err)) == 0, "%s", err);
        int sizes[] = {enc->n_inputs, 4, 5};
        nn = sf_nn_create(sizes, 2, err, sizeof(err));
        if (!nn) goto out;
        double loss, acc;
        CHECK_MSG(sf_nn_evaluate(nn, &ds, &loss, &acc, NULL, NULL, err, sizeof(err)) == 0, "%s", err);
        for (size_t i = 0; i < nn->n_params; i++) nn->params[i] = 3e38f;
        CHECK(sf_nn_evaluate(nn, &ds, &loss, &acc, NULL, NULL, err, sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "line 3: the model's output is not finite") != NULL, "%s", err);
out:
        CHECK(enc != NULL && rows.n == 3 && nn != NULL);
        sf_nn_destroy(nn);
        sf_dataset_free(&ds);
        sf_kdd_encoder_destroy(enc);
        sf_kdd_rows_free(&rows);
}

int main(void) {
        sf_nn_set_threads(1);
        RUN(test_compact_and_dense_agree);
        RUN(test_epoch_like_keras);
        RUN(test_deterministic_from_seed);
        RUN(test_divergence_is_an_error);
        RUN(test_non_finite_evaluation_rows);
        return TEST_DONE();
}
