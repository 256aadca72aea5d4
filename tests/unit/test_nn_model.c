/* The safetensors model file: round trip, determinism, and clear errors
 * for every way a file can be broken. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "model/model.h"
#include "nn/nn.h"
#include "small_model.h"
#include "test.h"
#include "tmpfile.h"
#include "util/rng.h"

static sf_schema_t *schema;

static sf_encoder_t *make_encoder(void) {
        return small_encoder(schema, 4, 3, 0.1f, 0.5f);
}

/* A trained-looking network for the small encoder: 48 -> 16 -> 8 -> 5. */
static sf_nn_t *small_network(const sf_encoder_t *enc, uint64_t seed) {
        int sizes[] = {enc->n_inputs, 16, 8, SMALL_CLASSES};
        char err[128];
        sf_nn_t *nn = sf_nn_create(sizes, 3, err, sizeof(err));
        if (!nn) return NULL;
        sf_nn_init_glorot(nn, seed);
        sf_rng_t rng;
        sf_rng_seed(&rng, seed + 1);
        for (int l = 0; l < 3; l++)
                for (int j = 0; j < sizes[l + 1]; j++) nn->b[l][j] = (float)sf_rng_uniform(&rng) - 0.5f;
        return nn;
}

static const sf_model_info_t info = {
        .seed = 7, .epochs = 30, .batch = 64, .threads = 1, .lr = 0.001, .train_rows = 125973};

static uint8_t *slurp(const char *path, size_t *n) {
        FILE *fp = fopen(path, "rb");
        if (!fp) return NULL;
        fseek(fp, 0, SEEK_END);
        long len = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        uint8_t *buf = malloc((size_t)len + 1);
        if (buf && fread(buf, 1, (size_t)len, fp) != (size_t)len) free(buf), buf = NULL;
        fclose(fp);
        *n = (size_t)len;
        return buf;
}

static int spit(const char *path, const void *data, size_t n) {
        FILE *fp = fopen(path, "wb");
        if (!fp) return -1;
        size_t w = fwrite(data, 1, n, fp);
        return fclose(fp) == 0 && w == n ? 0 : -1;
}

static int save_small(const char *path, uint64_t seed) {
        sf_encoder_t *enc = make_encoder();
        sf_nn_t *nn = enc ? small_network(enc, seed) : NULL;
        char err[256] = "";
        int rc = nn ? sf_model_save(path, nn, schema, enc, &info, err, sizeof(err)) : -1;
        if (rc) printf("#   save: %s\n", err);
        sf_nn_destroy(nn);
        sf_encoder_destroy(enc);
        return rc;
}

static void test_round_trip(void) {
        const char *path = tmp_path("m.safetensors");
        sf_encoder_t *enc = make_encoder();
        sf_nn_t *nn = enc ? small_network(enc, 3) : NULL;
        CHECK(nn != NULL);
        if (!nn) goto out0;
        char err[256] = "";
        CHECK_MSG(sf_model_save(path, nn, schema, enc, &info, err, sizeof(err)) == 0, "%s", err);
        sf_model_t *model = sf_model_load(path, err, sizeof(err));
        CHECK_MSG(model != NULL, "%s", err);
        if (!model) goto out;

        /* Identical parameters, encoder and info. */
        const sf_nn_t *got = sf_model_nn(model);
        CHECK_INT(got->n_layers, 3);
        CHECK_INT(got->n_params, nn->n_params);
        CHECK(memcmp(got->params, nn->params, nn->n_params * sizeof(float)) == 0);
        const sf_encoder_t *e2 = sf_model_encoder(model);
        CHECK_INT(e2->n_inputs, enc->n_inputs);
        CHECK_STR(e2->cat[1].vocab[2], "private");
        CHECK_STR(e2->cat[2].vocab[0], "REJ");
        CHECK(memcmp(e2->mean, enc->mean, SMALL_NNUM * sizeof(float)) == 0);
        CHECK(memcmp(e2->std, enc->std, SMALL_NNUM * sizeof(float)) == 0);
        const sf_model_info_t *i2 = sf_model_info(model);
        CHECK_INT(i2->seed, 7);
        CHECK_INT(i2->epochs, 30);
        CHECK_INT(i2->batch, 64);
        CHECK_INT(i2->train_rows, 125973);
        CHECK_NEAR(i2->lr, 0.001, 1e-12);

        /* Identical predictions, bit for bit, from the same encoded rows. */
        enum { N = 1000 };
        int n_in = enc->n_inputs;
        float *x = malloc(sizeof(float) * N * n_in), *p1 = malloc(sizeof(float) * N * 5),
              *p2 = malloc(sizeof(float) * N * 5);
        sf_nn_ws_t ws;
        CHECK(x && p1 && p2 && sf_nn_ws_init(&ws, nn, N, 0) == 0);
        sf_rng_t rng;
        sf_rng_seed(&rng, 99);
        for (int i = 0; i < N * n_in; i++) x[i] = (float)sf_rng_uniform(&rng) * 4 - 2;
        sf_nn_input_t in = {x, NULL, n_in, 0};
        sf_nn_forward(nn, &ws, &in, NULL, N);
        memcpy(p1, ws.probs, sizeof(float) * N * 5);
        CHECK(sf_model_predict(model, x, N, p2) == 0);
        CHECK(memcmp(p1, p2, sizeof(float) * N * 5) == 0);
        /* More rows than the model's internal chunk, and one row at a time,
         * agree with one batch to float rounding. */
        enum { REPEAT = 5 }; /* 5000 rows: more than one internal chunk of 4096 */
        float *p3 = malloc(sizeof(float) * REPEAT * N * 5), *x3 = malloc(sizeof(float) * REPEAT * N * n_in);
        CHECK(p3 && x3);
        for (int k = 0; k < REPEAT; k++) memcpy(x3 + (size_t)k * N * n_in, x, sizeof(float) * N * n_in);
        CHECK(sf_model_predict(model, x3, REPEAT * N, p3) == 0);
        for (int i = 0; i < REPEAT * N * 5; i++) CHECK_NEAR(p3[i], p1[i % (N * 5)], 1e-6);
        free(p3), free(x3);
        float one[5];
        CHECK(sf_model_predict(model, x + (size_t)567 * n_in, 1, one) == 0);
        for (int c = 0; c < 5; c++) CHECK_NEAR(one[c], p1[567 * 5 + c], 1e-6);
        CHECK(sf_model_predict(model, x, 0, p2) == 0);

        /* The compact encoding gives what the dense one gives, to float
         * rounding, for rows with every categorical seen and with some
         * unseen (no one-hot input set), over more than one chunk. */
        {
                enum { M = 4500 };
                float *num = malloc(sizeof(float) * M * SMALL_NNUM),
                      *xd = calloc((size_t)M * n_in, sizeof(float)), *pd = malloc(sizeof(float) * M * 5),
                      *ps = malloc(sizeof(float) * M * 5);
                int32_t *hot = malloc(sizeof(int32_t) * M * 3);
                CHECK(num && xd && pd && ps && hot);
                if (num && xd && pd && ps && hot) {
                        int base[3] = {enc->cat[0].base, enc->cat[1].base, enc->cat[2].base};
                        int count[3] = {enc->cat[0].n, enc->cat[1].n, enc->cat[2].n};
                        for (int i = 0; i < M; i++) {
                                for (int j = 0; j < SMALL_NNUM; j++)
                                        xd[(size_t)i * n_in + j] = num[(size_t)i * SMALL_NNUM + j] =
                                                (float)sf_rng_uniform(&rng) * 4 - 2;
                                for (int g = 0; g < 3; g++) {
                                        int v = (int)(sf_rng_uniform(&rng) *
                                                      (count[g] + 1)); /* == count: unseen */
                                        if (v >= count[g]) {
                                                hot[i * 3 + g] = -1;
                                        } else {
                                                hot[i * 3 + g] = base[g] + v;
                                                xd[(size_t)i * n_in + base[g] + v] = 1.0f;
                                        }
                                }
                        }
                        CHECK(sf_model_predict(model, xd, M, pd) == 0);
                        CHECK(sf_model_predict_sparse(model, num, hot, M, ps) == 0);
                        int far = 0;
                        for (int i = 0; i < M * 5; i++) far += !(fabsf(pd[i] - ps[i]) <= 1e-6f);
                        CHECK_INT(far, 0);
                }
                free(num), free(xd), free(pd), free(ps), free(hot);
        }

        /* The id is the first 16 hex digits of the file's SHA-256. */
        const char *id = sf_model_id(model);
        CHECK(id && strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16);
        char cmd[256], sha[65] = "";
        snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
        FILE *ps = popen(cmd, "r");
        if (ps) {
                CHECK(fscanf(ps, "%64s", sha) == 1);
                pclose(ps);
                CHECK(strncmp(sha, id, 16) == 0);
        }
        sf_nn_ws_free(&ws);
        free(x), free(p1), free(p2);
        sf_model_destroy(model);
out:
        sf_nn_destroy(nn);
out0:
        sf_encoder_destroy(enc);
}

static void test_file_layout(void) {
        /* The bytes a numpy reader relies on: LE header length, JSON, 8-byte
         * aligned data, kernel (in, out) row-major. */
        const char *path = tmp_path("layout.safetensors");
        CHECK(save_small(path, 4) == 0);
        size_t n = 0;
        uint8_t *buf = slurp(path, &n);
        CHECK(buf != NULL);
        if (!buf) return;
        uint64_t hlen = 0;
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
        CHECK((8 + hlen) % 8 == 0);
        CHECK(buf[8] == '{');
        char *header = strndup((char *)buf + 8, hlen);
        CHECK(strstr(header,
                     "\"dense_0.kernel\":{\"data_offsets\":[0,3072],\"dtype\":\"F32\",\"shape\":[48,16]}"));
        CHECK(strstr(header, "\"format\":\"streamflow\""));
        CHECK(strstr(
                header,
                "\"class_names\":\"[\\\"normal\\\",\\\"DoS\\\",\\\"Probe\\\",\\\"R2L\\\",\\\"U2R\\\"]\""));
        CHECK(strstr(header, "\"layer_sizes\":\"[48,16,8,5]\""));
        /* The data is the parameter block. */
        sf_encoder_t *enc = make_encoder();
        sf_nn_t *nn = small_network(enc, 4);
        CHECK(n == 8 + hlen + nn->n_params * 4);
        CHECK(memcmp(buf + 8 + hlen, nn->params, nn->n_params * 4) == 0);
        sf_nn_destroy(nn);
        sf_encoder_destroy(enc);
        free(header);
        free(buf);
}

static void test_deterministic_bytes(void) {
        const char *a = tmp_path("a.safetensors");
        char b[128];
        snprintf(b, sizeof(b), "%s", tmp_path("b.safetensors"));
        CHECK(save_small(a, 5) == 0 && save_small(b, 5) == 0);
        size_t na = 0, nb = 0;
        uint8_t *ba = slurp(a, &na), *bb = slurp(b, &nb);
        CHECK(ba && bb && na == nb && memcmp(ba, bb, na) == 0);
        free(ba), free(bb);
        /* No temporary file is left behind. */
        char cmd[sizeof(tmpdir) + 32];
        snprintf(cmd, sizeof(cmd), "ls %s | grep -c tmp", tmpdir);
        FILE *ps = popen(cmd, "r");
        int count = -1;
        if (ps) {
                CHECK(fscanf(ps, "%d", &count) == 1);
                pclose(ps);
        }
        CHECK_INT(count, 0);
}

/* Rewrites the model at `src` with its header text edited (first `from`
 * replaced by `to`), keeping the header length field right. */
static int edit_header(const char *src, const char *dst, const char *from, const char *to) {
        size_t n = 0;
        uint8_t *buf = slurp(src, &n);
        if (!buf) return -1;
        uint64_t hlen = 0;
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
        char *h = strndup((char *)buf + 8, hlen);
        char *at = strstr(h, from);
        int rc = -1;
        if (at) {
                size_t nh = hlen - strlen(from) + strlen(to);
                uint8_t *out = malloc(8 + nh + (n - 8 - hlen));
                for (int i = 0; i < 8; i++) out[i] = (uint8_t)(nh >> (8 * i));
                size_t pre = (size_t)(at - h);
                memcpy(out + 8, h, pre);
                memcpy(out + 8 + pre, to, strlen(to));
                memcpy(out + 8 + pre + strlen(to), at + strlen(from), hlen - pre - strlen(from));
                memcpy(out + 8 + nh, buf + 8 + hlen, n - 8 - hlen);
                rc = spit(dst, out, 8 + nh + (n - 8 - hlen));
                free(out);
        } else {
                printf("#   '%s' not in the header\n", from);
        }
        free(h);
        free(buf);
        return rc;
}

static void expect_error(const char *path, const char *want, int line) {
        char err[512] = "";
        sf_model_t *m = sf_model_load(path, err, sizeof(err));
        if (m || !strstr(err, want) || !strstr(err, path)) {
                test_failed_checks++;
                printf("#   line %d: loading %s: want an error containing '%s', got %s '%s'\n", line, path,
                       want, m ? "a model and" : "", err);
        }
        sf_model_destroy(m);
}
#define EXPECT_ERROR(path, want) expect_error(path, want, __LINE__)

static void test_corrupt_files(void) {
        char good[128];
        snprintf(good, sizeof(good), "%s", tmp_path("good.safetensors"));
        CHECK(save_small(good, 6) == 0);
        const char *bad = tmp_path("bad.safetensors");
        size_t n = 0;
        uint8_t *buf = slurp(good, &n);
        CHECK(buf != NULL);
        if (!buf) return;

        EXPECT_ERROR(tmp_path("missing.safetensors"), "No such file");
        EXPECT_ERROR(tmpdir, "not a regular file");

        /* Truncated anywhere: in the length, in the header, in the data. */
        CHECK(spit(bad, buf, 5) == 0);
        EXPECT_ERROR(bad, "too short");
        CHECK(spit(bad, buf, 100) == 0);
        EXPECT_ERROR(bad, "header length");
        CHECK(spit(bad, buf, n - 4) == 0);
        EXPECT_ERROR(bad, "truncated");
        /* Trailing garbage. */
        uint8_t *longer = malloc(n + 4);
        memcpy(longer, buf, n);
        memset(longer + n, 0, 4);
        CHECK(spit(bad, longer, n + 4) == 0);
        EXPECT_ERROR(bad, "trailing bytes");
        free(longer);
        /* A huge header length. */
        uint8_t copy[16];
        memcpy(copy, buf, 16);
        memset(copy, 0xff, 8);
        CHECK(spit(bad, copy, 16) == 0);
        EXPECT_ERROR(bad, "header length");
        /* Not JSON. */
        memcpy(copy, buf, 16);
        copy[8] = 'X';
        uint8_t *broken = malloc(n);
        memcpy(broken, buf, n);
        broken[8] = 'X';
        CHECK(spit(bad, broken, n) == 0);
        EXPECT_ERROR(bad, "not a JSON object");
        free(broken);
        /* Random bytes. */
        CHECK(spit(bad, "\x10\x00\x00\x00\x00\x00\x00\x00garbagegarbage!!", 24) == 0);
        EXPECT_ERROR(bad, "not a JSON object");

        /* Header edits. */
        CHECK(edit_header(good, bad, "\"F32\"", "\"F16\"") == 0);
        EXPECT_ERROR(bad, "dtype F16");
        CHECK(edit_header(good, bad, "\"shape\":[48,16]", "\"shape\":[16,48]") == 0);
        EXPECT_ERROR(bad, "has shape [16,48], expected [48,16]");
        CHECK(edit_header(good, bad, "[0,3072]", "[0,3076]") == 0);
        EXPECT_ERROR(bad, "spans 3076 bytes");
        /* dense_0.bias moved onto the kernel's bytes: overlap. */
        CHECK(edit_header(good, bad, "\"data_offsets\":[3072,3136]", "\"data_offsets\":[3000,3064]") == 0);
        EXPECT_ERROR(bad, "overlap");
        CHECK(edit_header(good, bad, "\"data_offsets\":[0,3072]", "\"data_offsets\":[0,99999999]") == 0);
        EXPECT_ERROR(bad, "outside");
        CHECK(edit_header(good, bad, "dense_2.bias", "dense_9.bias") == 0);
        EXPECT_ERROR(bad, "tensor 'dense_2.bias' is missing");
        CHECK(edit_header(good, bad, "\"layer_sizes\":\"[48,16,8,5]\"", "\"layer_sizes\":\"[48,16,5]\"") ==
              0);
        EXPECT_ERROR(bad, "metadata 'activations' must list 2 names");
        CHECK(edit_header(good, bad, "\"layer_sizes\":\"[48,16,8,5]\"", "\"layer_sizes\":\"[47,16,8,5]\"") ==
              0);
        EXPECT_ERROR(bad, "47 inputs");
        CHECK(edit_header(good, bad, "\"format\":\"streamflow\"", "\"format\":\"something-else\"") == 0);
        EXPECT_ERROR(bad, "not a StreamFlow model");
        CHECK(edit_header(good, bad, "\"format_version\":\"2\"", "\"format_version\":\"9\"") == 0);
        EXPECT_ERROR(bad, "format version 9");
        CHECK(edit_header(good, bad, "\\\"ftp\\\",\\\"http\\\"", "\\\"http\\\",\\\"ftp\\\"") == 0);
        EXPECT_ERROR(bad,
                     "categorical[1].vocabulary[1]: expected a string after \"http\" (sorted, distinct)");
        CHECK(edit_header(good, bad, "\\\"mean\\\":0.0", "\\\"mean\\\":\\\"x\\\"") == 0);
        EXPECT_ERROR(bad, "metadata 'encoder': numeric[0].mean");
        CHECK(edit_header(good, bad, "\"encoder\":\"{", "\"encoder\":\"{{") == 0);
        EXPECT_ERROR(bad, "metadata 'encoder' is not valid JSON");
        CHECK(edit_header(good, bad, "\\\"U2R\\\"", "\\\"u2r\\\"") == 0);
        EXPECT_ERROR(bad, "metadata 'class_names' disagrees with the schema's classes");
        CHECK(edit_header(good, bad, "\"__metadata__\"", "\"__metadata_x\"") == 0);
        EXPECT_ERROR(bad, "no __metadata__");
        CHECK(edit_header(good, bad, "\"dense_0.bias\"", "\"dense_0.bias\":{},\"extra\"") == 0);
        EXPECT_ERROR(bad, "");

        /* A NaN weight. */
        uint8_t *nanbuf = malloc(n);
        memcpy(nanbuf, buf, n);
        uint64_t hlen = 0;
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
        float nanv = NAN;
        memcpy(nanbuf + 8 + hlen + 4 * 5, &nanv, 4);
        CHECK(spit(bad, nanbuf, n) == 0);
        EXPECT_ERROR(bad, "non-finite value at index 5");
        free(nanbuf);

        /* The good one still loads. */
        char err[256];
        sf_model_t *m = sf_model_load(good, err, sizeof(err));
        CHECK_MSG(m != NULL, "%s", err);
        sf_model_destroy(m);
        free(buf);
}

static void test_extra_tensor_rejected(void) {
        char good[128];
        snprintf(good, sizeof(good), "%s", tmp_path("good2.safetensors"));
        CHECK(save_small(good, 8) == 0);
        const char *bad = tmp_path("bad2.safetensors");
        CHECK(edit_header(good, bad, "\"__metadata__\"",
                          "\"dense_7.kernel\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                          "\"__metadata__\"") == 0);
        EXPECT_ERROR(bad, "unexpected tensor 'dense_7.kernel'");
}

static void test_save_errors(void) {
        sf_encoder_t *enc = make_encoder();
        sf_nn_t *nn = enc ? small_network(enc, 1) : NULL;
        CHECK(nn != NULL);
        if (!nn) goto out;
        char err[256] = "";
        CHECK(sf_model_save("/nonexistent-dir/m.safetensors", nn, schema, enc, &info, err, sizeof(err)) ==
              -1);
        CHECK(strstr(err, "/nonexistent-dir/m.safetensors") != NULL);
        /* A network that does not fit the encoder. */
        int sizes[] = {10, 5};
        sf_nn_t *wrong = sf_nn_create(sizes, 1, err, sizeof(err));
        CHECK(sf_model_save(tmp_path("w.safetensors"), wrong, schema, enc, &info, err, sizeof(err)) == -1);
        CHECK(strstr(err, "does not fit") != NULL);
        sf_nn_destroy(wrong);
out:
        sf_nn_destroy(nn);
        sf_encoder_destroy(enc);
}

/* Rewrites the model at src with layer_sizes `sizes` (n of them) and, when
 * declare is set, a tensor entry of the matching shape for every layer,
 * laid end to end; the data stays what it was. */
static int craft_sizes(const char *src, const char *dst, const int *sizes, int n, int declare) {
        size_t len = 0;
        uint8_t *buf = slurp(src, &len);
        if (!buf) return -1;
        uint64_t hlen = 0;
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
        json_t *h = json_loadb((const char *)buf + 8, hlen, 0, NULL);
        char text[256];
        size_t k = (size_t)snprintf(text, sizeof(text), "[");
        for (int i = 0; i < n; i++)
                k += (size_t)snprintf(text + k, sizeof(text) - k, "%s%d", i ? "," : "", sizes[i]);
        snprintf(text + k, sizeof(text) - k, "]");
        json_object_set_new(json_object_get(h, "__metadata__"), "layer_sizes", json_string(text));
        if (declare) {
                json_int_t at = 0;
                for (int l = 0; l + 1 < n; l++) {
                        char name[32];
                        json_int_t w = (json_int_t)sizes[l] * sizes[l + 1] * 4,
                                   b = (json_int_t)sizes[l + 1] * 4;
                        snprintf(name, sizeof(name), "dense_%d.kernel", l);
                        json_object_set_new(h, name,
                                            json_pack("{s:s, s:[I,I], s:[I,I]}", "dtype", "F32", "shape",
                                                      (json_int_t)sizes[l], (json_int_t)sizes[l + 1],
                                                      "data_offsets", at, at + w));
                        at += w;
                        snprintf(name, sizeof(name), "dense_%d.bias", l);
                        json_object_set_new(h, name,
                                            json_pack("{s:s, s:[I], s:[I,I]}", "dtype", "F32", "shape",
                                                      (json_int_t)sizes[l + 1], "data_offsets", at, at + b));
                        at += b;
                }
        }
        char *ht = json_dumps(h, JSON_COMPACT);
        size_t nh = strlen(ht), data = len - 8 - hlen;
        uint8_t *out = malloc(8 + nh + data);
        for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)nh >> (8 * i));
        memcpy(out + 8, ht, nh);
        memcpy(out + 8 + nh, buf + 8 + hlen, data);
        int rc = spit(dst, out, 8 + nh + data);
        free(out);
        free(ht);
        json_decref(h);
        free(buf);
        return rc;
}

static long peak_rss_kb(void) {
        struct rusage ru;
        return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* A small file declaring huge layers fails on what is wrong with the file
 * (naming it and the tensor), before anything is allocated from the
 * declared sizes: 8 layers of 65,536 would need 120 GB. */
static void test_huge_layers_fail_fast(void) {
        char good[128];
        snprintf(good, sizeof(good), "%s", tmp_path("good3.safetensors"));
        CHECK(save_small(good, 9) == 0);
        const char *bad = tmp_path("huge.safetensors");
        int eight[] = {48, 65536, 65536, 65536, 65536, 65536, 65536, 65536, 5};
        long before = peak_rss_kb();
        /* Only layer_sizes edited: the tensors have the old shapes. */
        CHECK(craft_sizes(good, bad, eight, 9, 0) == 0);
        EXPECT_ERROR(bad, "metadata 'layer_sizes'[1] is 65536: hidden layers are at most 4096 wide");
        /* Tensors declared to match, but the file holds a few KB of data. */
        CHECK(craft_sizes(good, bad, eight, 9, 1) == 0);
        EXPECT_ERROR(bad, "metadata 'layer_sizes'[1] is 65536: hidden layers are at most 4096 wide");
        int one[] = {48, 4096, 8, 5};
        CHECK(craft_sizes(good, bad, one, 4, 1) == 0);
        EXPECT_ERROR(bad, "tensor 'dense_0.kernel' has data_offsets outside the");
        long after = peak_rss_kb();
        CHECK_MSG(after - before < 64 * 1024, "peak RSS grew by %ld KB loading the crafted files",
                  after - before);

        /* A file whose tensors match 8192-wide layers: above the width bound. */
        sf_encoder_t *enc = make_encoder();
        int wide[] = {enc ? enc->n_inputs : 48, 8192, SMALL_CLASSES};
        char err[256] = "";
        sf_nn_t *nn = sf_nn_create(wide, 2, err, sizeof(err));
        CHECK(nn && enc && sf_model_save(bad, nn, schema, enc, &info, err, sizeof(err)) == 0);
        EXPECT_ERROR(bad, "metadata 'layer_sizes'[1] is 8192: hidden layers are at most 4096 wide");
        sf_nn_destroy(nn);
        sf_encoder_destroy(enc);
}

/* A model whose weights are near FLT_MAX loads (every weight is finite)
 * but its output is NaN: sf_model_probs_finite says so. */
static void test_non_finite_output(void) {
        sf_encoder_t *enc = make_encoder();
        sf_nn_t *nn = enc ? small_network(enc, 4) : NULL;
        const char *path = tmp_path("huge_weights.safetensors");
        char err[256] = "";
        CHECK(nn != NULL);
        if (!nn) goto out;
        CHECK(sf_model_save(path, nn, schema, enc, &info, err, sizeof(err)) == 0);
        sf_model_t *m = sf_model_load(path, err, sizeof(err));
        float num[SMALL_NNUM] = {1.0f}, probs[5];
        int32_t hot[3] = {38, 41, 47};
        CHECK(m && sf_model_predict_sparse(m, num, hot, 1, probs) == 0 && sf_model_probs_finite(m, probs));
        sf_model_destroy(m);
        for (size_t i = 0; i < nn->n_params; i++) nn->params[i] = 3e38f;
        CHECK(sf_model_save(path, nn, schema, enc, &info, err, sizeof(err)) == 0);
        m = sf_model_load(path, err, sizeof(err));
        CHECK_MSG(m != NULL, "%s", err);
        CHECK(m && sf_model_predict_sparse(m, num, hot, 1, probs) == 0 && !sf_model_probs_finite(m, probs));
        sf_model_destroy(m);
out:
        sf_nn_destroy(nn);
        sf_encoder_destroy(enc);
}

int main(void) {
        schema = small_schema();
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf-test-model.XXXXXX");
        if (!mkdtemp(tmpdir)) return 1;
        sf_nn_set_threads(1);
        RUN(test_round_trip);
        RUN(test_file_layout);
        RUN(test_deterministic_bytes);
        RUN(test_corrupt_files);
        RUN(test_extra_tensor_rejected);
        RUN(test_huge_layers_fail_fast);
        RUN(test_non_finite_output);
        RUN(test_save_errors);
        char cmd[sizeof(tmpdir) + 32];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        if (system(cmd) != 0) printf("#   could not remove %s\n", tmpdir);
        return TEST_DONE();
}
