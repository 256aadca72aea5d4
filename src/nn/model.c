/* The model file: safetensors (https://github.com/huggingface/safetensors):
 *   u64 LE header length N | N bytes of JSON header | raw tensor data
 * The header maps each tensor name to {"dtype", "shape", "data_offsets"
 * (begin, end) relative to the data}, plus "__metadata__", a map of string
 * to string; our structured metadata is stored as JSON text in those
 * strings. The data is the network's parameter block, in layer order. */
#include "nn/model.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx_io.h"
#include "util/util.h"

#define MODEL_FORMAT         "streamflow-nsl-kdd"
#define MODEL_FORMAT_VERSION "1"
#define MAX_HEADER           (16u << 20)  /* safetensors' own limit is 100 MB; ours is tiny */
#define MAX_FILE             (512u << 20) /* far above any network this file format describes */
#define PREDICT_CHUNK        4096         /* rows per forward pass in sf_model_predict */
/* Hidden layers at most this wide: 64 times what train uses, and it keeps
 * the scratch space of a forward pass over PREDICT_CHUNK rows under 64 MB
 * a layer. */
#define MAX_HIDDEN 4096

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model file is little-endian; add byte swapping for this platform"
#endif

struct sf_model {
        sf_nn_t *nn;
        sf_kdd_encoder_t *enc;
        sf_model_info_t info;
        char id[17];
        sf_nn_ws_t ws; /* allocated on first predict */
};

static const char *numeric_names(int i) {
        /* The 38 numeric columns are every feature but 1, 2, 3 (the categoricals). */
        return sf_kdd_field_name(i == 0 ? 0 : i + 3);
}

/* ---- writing ---- */

static json_t *string_array(char *const *v, int n) {
        json_t *a = json_array();
        for (int i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_string(v[i])) != 0) json_decref(a), a = NULL;
        return a;
}

static json_t *float_array(const float *v, int n) {
        json_t *a = json_array();
        for (int i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_real((double)v[i])) != 0) json_decref(a), a = NULL;
        return a;
}

/* Sets meta[key] to the compact JSON text of value (takes ownership of value). */
static int meta_set_json(json_t *meta, const char *key, json_t *value) {
        if (!value) return -1;
        /* 9 significant digits give back every float exactly. */
        char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
        json_decref(value);
        if (!text) return -1;
        int rc = json_object_set_new(meta, key, json_string(text));
        free(text);
        return rc;
}

static json_t *build_metadata(const sf_nn_t *nn, const sf_kdd_encoder_t *enc, const sf_model_info_t *info) {
        json_t *meta = json_object();
        if (!meta) return NULL;
        json_t *sizes = json_array(), *acts = json_array(), *classes = json_array(), *numeric = json_array();
        int ok = sizes && acts && classes && numeric;
        for (int l = 0; ok && l <= nn->n_layers; l++)
                ok = json_array_append_new(sizes, json_integer(nn->sizes[l])) == 0;
        for (int l = 0; ok && l < nn->n_layers; l++)
                ok = json_array_append_new(acts, json_string(l + 1 < nn->n_layers ? "relu" : "softmax")) == 0;
        for (int c = 0; ok && c < SF_KDD_NCLASSES; c++)
                ok = json_array_append_new(classes, json_string(sf_kdd_class_name(c))) == 0;
        for (int i = 0; ok && i < SF_KDD_NNUMERIC; i++)
                ok = json_array_append_new(numeric, json_string(numeric_names(i))) == 0;
        json_t *training = json_pack("{s:I, s:i, s:i, s:f, s:i, s:I}", "seed", (json_int_t)info->seed,
                                     "epochs", info->epochs, "batch", info->batch, "lr", info->lr, "threads",
                                     info->threads, "train_rows", (json_int_t)info->train_rows);
        if (!ok || !training) {
                json_decref(sizes), json_decref(acts), json_decref(classes), json_decref(numeric);
                json_decref(training), json_decref(meta);
                return NULL;
        }
        int rc = 0;
        rc |= json_object_set_new(meta, "format", json_string(MODEL_FORMAT));
        rc |= json_object_set_new(meta, "format_version", json_string(MODEL_FORMAT_VERSION));
        rc |= meta_set_json(meta, "layer_sizes", sizes);
        rc |= meta_set_json(meta, "activations", acts);
        rc |= meta_set_json(meta, "class_names", classes);
        rc |= json_object_set_new(meta, "input_layout",
                                  json_string("numeric_columns scaled as (x - mean) / std, then one-hot "
                                              "protocol_type, service, flag over their sorted vocabularies; "
                                              "an unseen value is all zeros"));
        rc |= meta_set_json(meta, "numeric_columns", numeric);
        rc |= meta_set_json(meta, "mean", float_array(enc->mean, SF_KDD_NNUMERIC));
        rc |= meta_set_json(meta, "std", float_array(enc->std, SF_KDD_NNUMERIC));
        rc |= meta_set_json(meta, "protocol_type", string_array(enc->proto, enc->n_proto));
        rc |= meta_set_json(meta, "service", string_array(enc->service, enc->n_service));
        rc |= meta_set_json(meta, "flag", string_array(enc->flag, enc->n_flag));
        rc |= meta_set_json(meta, "training", training);
        if (rc) json_decref(meta), meta = NULL;
        return meta;
}

static json_t *build_header(const sf_nn_t *nn, const sf_kdd_encoder_t *enc, const sf_model_info_t *info) {
        json_t *header = json_object(), *meta = build_metadata(nn, enc, info);
        if (!header || !meta || json_object_set_new(header, "__metadata__", meta) != 0) {
                if (!header) json_decref(meta);
                json_decref(header);
                return NULL;
        }
        for (int l = 0; l < nn->n_layers; l++) {
                char name[32];
                size_t in = (size_t)nn->sizes[l], out = (size_t)nn->sizes[l + 1];
                size_t w0 = nn->w_off[l] * 4, b0 = nn->b_off[l] * 4;
                snprintf(name, sizeof(name), "dense_%d.kernel", l);
                json_t *w = json_pack("{s:s, s:[I,I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)in,
                                      (json_int_t)out, "data_offsets", (json_int_t)w0,
                                      (json_int_t)(w0 + in * out * 4));
                if (!w || json_object_set_new(header, name, w) != 0) goto fail;
                snprintf(name, sizeof(name), "dense_%d.bias", l);
                json_t *b = json_pack("{s:s, s:[I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)out,
                                      "data_offsets", (json_int_t)b0, (json_int_t)(b0 + out * 4));
                if (!b || json_object_set_new(header, name, b) != 0) goto fail;
        }
        return header;
fail:
        json_decref(header);
        return NULL;
}

int sf_model_save(const char *path, const sf_nn_t *nn, const sf_kdd_encoder_t *enc,
                  const sf_model_info_t *info, char *errstr, size_t errstr_size) {
        int rc = -1;
        json_t *header = NULL;
        char *text = NULL, *tmp = NULL;
        FILE *fp = NULL;

        if (nn->sizes[0] != enc->n_inputs || nn->sizes[nn->n_layers] != SF_KDD_NCLASSES) {
                sf_seterr(errstr, errstr_size,
                          "%s: network shape %d -> %d does not fit the encoder (%d inputs, %d classes)", path,
                          nn->sizes[0], nn->sizes[nn->n_layers], enc->n_inputs, SF_KDD_NCLASSES);
                return -1;
        }
        header = build_header(nn, enc, info);
        /* Sorted keys: the same model always gives the same bytes. */
        text = header ? json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!text) {
                sf_seterr(errstr, errstr_size, "%s: out of memory building the header", path);
                goto out;
        }
        size_t len = strlen(text);
        /* Pad with spaces so the data starts 8-byte aligned, as safetensors does. */
        size_t padded = (len + 8 + 7) / 8 * 8 - 8;
        uint64_t n = padded;
        uint8_t le[8];
        for (int i = 0; i < 8; i++) le[i] = (uint8_t)(n >> (8 * i));

        size_t tlen = strlen(path) + 32;
        tmp = malloc(tlen);
        if (!tmp) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto out;
        }
        snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
        fp = fopen(tmp, "wb");
        if (!fp) {
                sf_seterr(errstr, errstr_size, "%s: cannot create: %s", tmp, strerror(errno));
                goto out;
        }
        int ok = fwrite(le, 1, 8, fp) == 8 && fwrite(text, 1, len, fp) == len;
        for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
        ok = ok && fwrite(nn->params, sizeof(float), nn->n_params, fp) == nn->n_params;
        ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
        if (fclose(fp) != 0) ok = 0;
        fp = NULL;
        if (!ok) {
                sf_seterr(errstr, errstr_size, "%s: write failed: %s", tmp, strerror(errno));
                unlink(tmp);
                goto out;
        }
        if (rename(tmp, path) != 0) {
                sf_seterr(errstr, errstr_size, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
                unlink(tmp);
                goto out;
        }
        rc = 0;
out:
        if (fp) {
                fclose(fp);
                unlink(tmp);
        }
        free(tmp);
        free(text);
        json_decref(header);
        return rc;
}

/* ---- reading ---- */

/* Reads the whole file (at most MAX_FILE bytes) into a new buffer. */
static uint8_t *read_all(const char *path, size_t *size, char *errstr, size_t errstr_size) {
        FILE *fp = fopen(path, "rb");
        uint8_t *buf = NULL;
        if (!fp) {
                int e = errno;
                sf_seterr(errstr, errstr_size, "cannot open model file %s: %s%s", path, strerror(e),
                          e == ENOENT ? " (write one with 'streamflow train', or pass --model FILE)" : "");
                return NULL;
        }
        struct stat st;
        if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
                sf_seterr(errstr, errstr_size, "%s: not a regular file", path);
                goto out;
        }
        if ((uint64_t)st.st_size > MAX_FILE) {
                sf_seterr(errstr, errstr_size, "%s: %lld bytes is too large for a model file", path,
                          (long long)st.st_size);
                goto out;
        }
        *size = (size_t)st.st_size;
        buf = malloc(*size ? *size : 1);
        if (!buf) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto out;
        }
        if (fread(buf, 1, *size, fp) != *size) {
                sf_seterr(errstr, errstr_size, "%s: read failed: %s", path,
                          ferror(fp) ? strerror(errno) : "file shrank");
                free(buf);
                buf = NULL;
        }
out:
        fclose(fp);
        return buf;
}

/* meta[key], a string holding JSON; parsed into a new value or NULL with errstr. */
static json_t *meta_json(json_t *meta, const char *path, const char *key, char *errstr, size_t errstr_size) {
        json_t *s = json_object_get(meta, key);
        if (!json_is_string(s)) {
                sf_seterr(errstr, errstr_size, "%s: metadata '%s' is missing or not a string", path, key);
                return NULL;
        }
        json_error_t jerr;
        json_t *v = json_loadb(json_string_value(s), json_string_length(s), JSON_DECODE_ANY, &jerr);
        if (!v)
                sf_seterr(errstr, errstr_size, "%s: metadata '%s' is not valid JSON: %s", path, key,
                          jerr.text);
        return v;
}

/* A JSON array of n numbers into out. */
static int meta_floats(json_t *meta, const char *path, const char *key, float *out, int n, char *errstr,
                       size_t errstr_size) {
        json_t *a = meta_json(meta, path, key, errstr, errstr_size);
        int rc = -1;
        if (!a) return -1;
        if (!json_is_array(a) || (int)json_array_size(a) != n) {
                sf_seterr(errstr, errstr_size, "%s: metadata '%s' must be an array of %d numbers", path, key,
                          n);
                goto out;
        }
        for (int i = 0; i < n; i++) {
                json_t *v = json_array_get(a, (size_t)i);
                double d = json_number_value(v);
                if (!json_is_number(v) || !isfinite(d) || fabs(d) > FLT_MAX) {
                        sf_seterr(errstr, errstr_size, "%s: metadata '%s'[%d] is not a finite number", path,
                                  key, i);
                        goto out;
                }
                out[i] = (float)d;
        }
        rc = 0;
out:
        json_decref(a);
        return rc;
}

/* A JSON array of strings: *out points into the returned value (decref it after use). */
static json_t *meta_strings(json_t *meta, const char *path, const char *key, const char ***out, int *n,
                            char *errstr, size_t errstr_size) {
        json_t *a = meta_json(meta, path, key, errstr, errstr_size);
        if (!a) return NULL;
        size_t len = json_is_array(a) ? json_array_size(a) : 0;
        if (!json_is_array(a) || len == 0 || len > 4096) {
                sf_seterr(errstr, errstr_size, "%s: metadata '%s' must be an array of 1 to 4096 strings",
                          path, key);
                goto fail;
        }
        *out = calloc(len, sizeof(**out));
        if (!*out) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto fail;
        }
        for (size_t i = 0; i < len; i++) {
                json_t *s = json_array_get(a, i);
                if (!json_is_string(s)) {
                        sf_seterr(errstr, errstr_size, "%s: metadata '%s'[%zu] is not a string", path, key,
                                  i);
                        free(*out);
                        *out = NULL;
                        goto fail;
                }
                (*out)[i] = json_string_value(s);
        }
        *n = (int)len;
        return a;
fail:
        json_decref(a);
        return NULL;
}

static sf_kdd_encoder_t *load_encoder(json_t *meta, const char *path, char *errstr, size_t errstr_size) {
        const char **proto = NULL, **service = NULL, **flag = NULL;
        int np = 0, ns = 0, nf = 0;
        float mean[SF_KDD_NNUMERIC], std[SF_KDD_NNUMERIC];
        sf_kdd_encoder_t *enc = NULL;
        json_t *jp = NULL, *js = NULL, *jf = NULL;
        char why[256];
        if (meta_floats(meta, path, "mean", mean, SF_KDD_NNUMERIC, errstr, errstr_size) != 0 ||
            meta_floats(meta, path, "std", std, SF_KDD_NNUMERIC, errstr, errstr_size) != 0)
                goto out;
        if (!(jp = meta_strings(meta, path, "protocol_type", &proto, &np, errstr, errstr_size)) ||
            !(js = meta_strings(meta, path, "service", &service, &ns, errstr, errstr_size)) ||
            !(jf = meta_strings(meta, path, "flag", &flag, &nf, errstr, errstr_size)))
                goto out;
        enc = sf_kdd_encoder_new(np, proto, ns, service, nf, flag, mean, std, why, sizeof(why));
        if (!enc) sf_seterr(errstr, errstr_size, "%s: metadata: %s", path, why);
out:
        free(proto), free(service), free(flag);
        json_decref(jp), json_decref(js), json_decref(jf);
        return enc;
}

/* Layer sizes from the metadata: 2 to SF_NN_MAX_LAYERS + 1 positive integers. */
static int load_sizes(json_t *meta, const char *path, int *sizes, int *n_layers, char *errstr,
                      size_t errstr_size) {
        json_t *a = meta_json(meta, path, "layer_sizes", errstr, errstr_size);
        int rc = -1;
        if (!a) return -1;
        size_t n = json_is_array(a) ? json_array_size(a) : 0;
        if (n < 2 || n > SF_NN_MAX_LAYERS + 1) {
                sf_seterr(errstr, errstr_size, "%s: metadata 'layer_sizes' must list 2 to %d sizes", path,
                          SF_NN_MAX_LAYERS + 1);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_array_get(a, i);
                if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65536) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: metadata 'layer_sizes'[%zu] must be an integer 1..65536", path, i);
                        goto out;
                }
                sizes[i] = (int)json_integer_value(v);
        }
        *n_layers = (int)n - 1;
        rc = 0;
out:
        json_decref(a);
        return rc;
}

static int load_info(json_t *meta, const char *path, sf_model_info_t *info, char *errstr,
                     size_t errstr_size) {
        json_t *t = meta_json(meta, path, "training", errstr, errstr_size);
        if (!t) return -1;
        json_int_t seed = 0, rows = 0;
        int epochs = 0, batch = 0, threads = 0;
        double lr = 0;
        json_error_t jerr;
        int rc =
                json_unpack_ex(t, &jerr, 0, "{s:I, s:i, s:i, s:F, s:i, s:I}", "seed", &seed, "epochs",
                               &epochs, "batch", &batch, "lr", &lr, "threads", &threads, "train_rows", &rows);
        json_decref(t);
        if (rc != 0) {
                sf_seterr(errstr, errstr_size, "%s: metadata 'training': %s", path, jerr.text);
                return -1;
        }
        info->seed = (uint64_t)seed;
        info->epochs = epochs, info->batch = batch, info->threads = threads;
        info->lr = lr;
        info->train_rows = rows;
        return 0;
}

static int check_classes(json_t *meta, const char *path, char *errstr, size_t errstr_size) {
        const char **names = NULL;
        int n = 0, rc = -1;
        json_t *a = meta_strings(meta, path, "class_names", &names, &n, errstr, errstr_size);
        if (!a) return -1;
        if (n != SF_KDD_NCLASSES) {
                sf_seterr(errstr, errstr_size, "%s: metadata 'class_names' has %d names, expected %d", path,
                          n, SF_KDD_NCLASSES);
                goto out;
        }
        for (int c = 0; c < n; c++) {
                if (strcmp(names[c], sf_kdd_class_name(c)) != 0) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: metadata 'class_names'[%d] is '%s', expected '%s'", path, c, names[c],
                                  sf_kdd_class_name(c));
                        goto out;
                }
        }
        rc = 0;
out:
        free(names);
        json_decref(a);
        return rc;
}

/* One tensor entry: dtype F32, the expected shape, offsets within data_len.
 * Stores its (begin, end) in range. */
static int check_tensor(json_t *header, const char *path, const char *name, size_t d0, size_t d1,
                        size_t data_len, size_t range[2], char *errstr, size_t errstr_size) {
        json_t *t = json_object_get(header, name);
        if (!json_is_object(t)) {
                sf_seterr(errstr, errstr_size, "%s: tensor '%s' is missing", path, name);
                return -1;
        }
        json_t *dtype = json_object_get(t, "dtype"), *shape = json_object_get(t, "shape"),
               *offs = json_object_get(t, "data_offsets");
        if (!json_is_string(dtype) || strcmp(json_string_value(dtype), "F32") != 0) {
                sf_seterr(errstr, errstr_size, "%s: tensor '%s' has dtype %s, expected F32", path, name,
                          json_is_string(dtype) ? json_string_value(dtype) : "(none)");
                return -1;
        }
        size_t rank = d1 ? 2 : 1;
        int shape_ok = json_is_array(shape) && json_array_size(shape) == rank &&
                       json_is_integer(json_array_get(shape, 0)) &&
                       json_integer_value(json_array_get(shape, 0)) == (json_int_t)d0 &&
                       (rank == 1 || (json_is_integer(json_array_get(shape, 1)) &&
                                      json_integer_value(json_array_get(shape, 1)) == (json_int_t)d1));
        if (!shape_ok) {
                char *got = json_is_array(shape) ? json_dumps(shape, JSON_COMPACT) : NULL;
                if (rank == 2)
                        sf_seterr(errstr, errstr_size,
                                  "%s: tensor '%s' has shape %s, expected [%zu,%zu] from layer_sizes", path,
                                  name, got ? got : "(none)", d0, d1);
                else
                        sf_seterr(errstr, errstr_size,
                                  "%s: tensor '%s' has shape %s, expected [%zu] from layer_sizes", path, name,
                                  got ? got : "(none)", d0);
                free(got);
                return -1;
        }
        json_t *b = json_array_get(offs, 0), *e = json_array_get(offs, 1);
        if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(b) ||
            !json_is_integer(e) || json_integer_value(b) < 0 ||
            json_integer_value(e) < json_integer_value(b) || (uint64_t)json_integer_value(e) > data_len) {
                sf_seterr(errstr, errstr_size,
                          "%s: tensor '%s' has data_offsets outside the %zu bytes of data (corrupt or "
                          "truncated)",
                          path, name, data_len);
                return -1;
        }
        range[0] = (size_t)json_integer_value(b);
        range[1] = (size_t)json_integer_value(e);
        if (range[1] - range[0] != d0 * (d1 ? d1 : 1) * 4) {
                sf_seterr(errstr, errstr_size, "%s: tensor '%s' spans %zu bytes, its shape needs %zu", path,
                          name, range[1] - range[0], d0 * (d1 ? d1 : 1) * 4);
                return -1;
        }
        return 0;
}

typedef struct {
        size_t begin, end;
        int layer, bias; /* whose parameters: layer's kernel or bias */
        const char *name;
} span_t;

static int cmp_span(const void *a, const void *b) {
        const span_t *x = a, *y = b;
        return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The identity: the first 16 hex digits of the SHA-256 of the file. */
static int file_id(const uint8_t *buf, size_t size, char id[17]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        if (EVP_Digest(buf, size, md, &md_len, EVP_sha256(), NULL) != 1 || md_len < 8) return -1;
        for (int i = 0; i < 8; i++) snprintf(id + 2 * i, 3, "%02x", md[i]);
        return 0;
}

/* A safetensors file starts with its header's length and then '{'; an ONNX
 * file is a protobuf ModelProto, which starts with field 1 (ir_version). */
static int looks_like_onnx(const char *path, const uint8_t *buf, size_t size) {
        size_t n = strlen(path);
        if (n >= 5 && strcmp(path + n - 5, ".onnx") == 0) return 1;
        return size > 8 && buf[0] == 0x08 && buf[8] != '{';
}

/* A model from an ONNX file that StreamFlow exported: the network from the
 * graph, everything else from its metadata_props, which hold the same keys
 * as a safetensors model's __metadata__. */
static sf_model_t *load_onnx(const char *path, const uint8_t *buf, size_t size, char *errstr,
                             size_t errstr_size) {
        sf_onnx_import_t imp;
        sf_model_t *model = NULL;
        json_t *meta = NULL;
        if (sf_onnx_read_mem(path, buf, size, &imp, errstr, errstr_size) != 0) return NULL;
        const char *fmt = sf_onnx_meta_get(&imp, "format");
        if (!fmt || strcmp(fmt, MODEL_FORMAT) != 0) {
                sf_seterr(
                        errstr, errstr_size,
                        "%s: a network without StreamFlow's metadata (format \"%s\"): StreamFlow cannot tell "
                        "how to encode rows for it",
                        path, MODEL_FORMAT);
                goto fail;
        }
        if (imp.added_softmax) {
                sf_seterr(errstr, errstr_size, "%s: a StreamFlow export ends in Softmax; this graph does not",
                          path);
                goto fail;
        }
        if (!(meta = json_object())) goto oom;
        for (int i = 0; i < imp.n_meta; i++)
                if (json_object_set_new(meta, imp.meta[i].key, json_string(imp.meta[i].value)) != 0) goto oom;
        if (!(model = calloc(1, sizeof(*model)))) goto oom;
        int sizes[SF_NN_MAX_LAYERS + 1], n_layers = 0;
        if (load_sizes(meta, path, sizes, &n_layers, errstr, errstr_size) != 0 ||
            check_classes(meta, path, errstr, errstr_size) != 0 ||
            load_info(meta, path, &model->info, errstr, errstr_size) != 0 ||
            !(model->enc = load_encoder(meta, path, errstr, errstr_size)))
                goto fail;
        int same = n_layers == imp.nn->n_layers;
        for (int l = 0; same && l <= n_layers; l++) same = sizes[l] == imp.nn->sizes[l];
        if (!same || sizes[0] != model->enc->n_inputs) {
                sf_seterr(errstr, errstr_size,
                          "%s: the graph's layers do not match its metadata 'layer_sizes'", path);
                goto fail;
        }
        model->nn = imp.nn, imp.nn = NULL;
        if (file_id(buf, size, model->id) != 0) {
                sf_seterr(errstr, errstr_size, "%s: SHA-256 failed", path);
                goto fail;
        }
        json_decref(meta);
        sf_onnx_import_free(&imp);
        return model;
oom:
        sf_seterr(errstr, errstr_size, "%s: out of memory", path);
fail:
        json_decref(meta);
        sf_onnx_import_free(&imp);
        sf_model_destroy(model);
        return NULL;
}

/* Every tensor layer_sizes declares (dense_<l>.kernel, dense_<l>.bias)
 * with its shape, its bytes inside the data_len bytes of data, nothing
 * else, and together they cover the data exactly: no gap, no overlap, no
 * trailing bytes. Allocates nothing. Fills spans (sorted by offset) with
 * names in names; returns how many, or -1 with errstr naming the tensor. */
static int check_tensors(json_t *header, const char *path, const int *sizes, int n_layers, size_t data_len,
                         span_t *spans, char (*names)[32], char *errstr, size_t errstr_size) {
        int n_spans = 0;
        for (int l = 0; l < n_layers; l++) {
                size_t range[2];
                snprintf(names[n_spans], sizeof(names[0]), "dense_%d.kernel", l);
                if (check_tensor(header, path, names[n_spans], (size_t)sizes[l], (size_t)sizes[l + 1],
                                 data_len, range, errstr, errstr_size) != 0)
                        return -1;
                spans[n_spans] = (span_t){range[0], range[1], l, 0, names[n_spans]};
                n_spans++;
                snprintf(names[n_spans], sizeof(names[0]), "dense_%d.bias", l);
                if (check_tensor(header, path, names[n_spans], (size_t)sizes[l + 1], 0, data_len, range,
                                 errstr, errstr_size) != 0)
                        return -1;
                spans[n_spans] = (span_t){range[0], range[1], l, 1, names[n_spans]};
                n_spans++;
        }
        if (json_object_size(header) != (size_t)n_spans + 1) {
                const char *key;
                json_t *value;
                json_object_foreach(header, key, value) {
                        int known = strcmp(key, "__metadata__") == 0;
                        for (int i = 0; i < n_spans && !known; i++) known = strcmp(key, spans[i].name) == 0;
                        if (!known) {
                                sf_seterr(errstr, errstr_size, "%s: unexpected tensor '%s' for layer_sizes",
                                          path, key);
                                return -1;
                        }
                }
        }
        qsort(spans, (size_t)n_spans, sizeof(spans[0]), cmp_span);
        size_t at = 0;
        for (int i = 0; i < n_spans; i++) {
                if (spans[i].begin != at) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: tensor '%s' starts at byte %zu of the data, expected %zu (%s)", path,
                                  spans[i].name, spans[i].begin, at, spans[i].begin < at ? "overlap" : "gap");
                        return -1;
                }
                at = spans[i].end;
        }
        if (at != data_len) {
                sf_seterr(errstr, errstr_size,
                          "%s: the tensors need %zu bytes of data, the file has %zu (%s)", path, at, data_len,
                          data_len < at ? "truncated" : "trailing bytes");
                return -1;
        }
        return n_spans;
}

/* The safetensors header of the file in buf (size bytes): its length in
 * *hlen and the parsed JSON object, checked to be a StreamFlow model of this
 * format version; NULL with errstr otherwise. */
static json_t *load_header(const uint8_t *buf, size_t size, const char *path, uint64_t *hlen_out,
                           char *errstr, size_t errstr_size) {
        json_t *header = NULL;
        if (size < 8) {
                sf_seterr(errstr, errstr_size,
                          "%s: %zu bytes is too short for a safetensors file (truncated?)", path, size);
                goto fail;
        }
        uint64_t hlen = 0;
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
        if (hlen < 2 || hlen > MAX_HEADER || hlen > size - 8) {
                sf_seterr(errstr, errstr_size,
                          "%s: header length %llu does not fit in the file's %zu bytes (not a safetensors "
                          "file, "
                          "or "
                          "truncated)",
                          path, (unsigned long long)hlen, size);
                goto fail;
        }
        json_error_t jerr;
        header = json_loadb((const char *)buf + 8, (size_t)hlen, 0, &jerr);
        if (!header || !json_is_object(header)) {
                sf_seterr(errstr, errstr_size, "%s: header is not a JSON object: %s", path,
                          header ? "" : jerr.text);
                goto fail;
        }
        json_t *meta = json_object_get(header, "__metadata__");
        if (!json_is_object(meta)) {
                sf_seterr(errstr, errstr_size, "%s: no __metadata__ in the header: not a StreamFlow model",
                          path);
                goto fail;
        }
        json_t *fmt = json_object_get(meta, "format"), *ver = json_object_get(meta, "format_version");
        if (!json_is_string(fmt) || strcmp(json_string_value(fmt), MODEL_FORMAT) != 0) {
                sf_seterr(errstr, errstr_size, "%s: metadata 'format' is not \"%s\": not a StreamFlow model",
                          path, MODEL_FORMAT);
                goto fail;
        }
        if (!json_is_string(ver) || strcmp(json_string_value(ver), MODEL_FORMAT_VERSION) != 0) {
                sf_seterr(errstr, errstr_size,
                          "%s: model format version %s; this StreamFlow reads version %s", path,
                          json_is_string(ver) ? json_string_value(ver) : "(none)", MODEL_FORMAT_VERSION);
                goto fail;
        }
        *hlen_out = hlen;
        return header;
fail:
        json_decref(header);
        return NULL;
}

sf_model_t *sf_model_load(const char *path, char *errstr, size_t errstr_size) {
        sf_model_t *model = NULL;
        json_t *header = NULL;
        size_t size = 0;
        uint64_t hlen = 0;
        uint8_t *buf = read_all(path, &size, errstr, errstr_size);
        if (!buf) return NULL;
        if (looks_like_onnx(path, buf, size)) {
                model = load_onnx(path, buf, size, errstr, errstr_size);
                free(buf);
                return model;
        }
        if (!(header = load_header(buf, size, path, &hlen, errstr, errstr_size))) goto fail;
        json_t *meta = json_object_get(header, "__metadata__");

        model = calloc(1, sizeof(*model));
        if (!model) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto fail;
        }
        int sizes[SF_NN_MAX_LAYERS + 1], n_layers = 0;
        char why[256];
        if (load_sizes(meta, path, sizes, &n_layers, errstr, errstr_size) != 0 ||
            check_classes(meta, path, errstr, errstr_size) != 0 ||
            load_info(meta, path, &model->info, errstr, errstr_size) != 0)
                goto fail;
        if (!(model->enc = load_encoder(meta, path, errstr, errstr_size))) goto fail;
        if (sizes[0] != model->enc->n_inputs || sizes[n_layers] != SF_KDD_NCLASSES) {
                sf_seterr(errstr, errstr_size,
                          "%s: layer_sizes say %d inputs and %d outputs; the vocabularies give %d inputs and "
                          "there are "
                          "%d classes",
                          path, sizes[0], sizes[n_layers], model->enc->n_inputs, SF_KDD_NCLASSES);
                goto fail;
        }
        /* Everything sized from layer_sizes is checked against the file
         * before anything is allocated from it. */
        span_t spans[2 * SF_NN_MAX_LAYERS];
        char names[2 * SF_NN_MAX_LAYERS][32];
        int n_spans = check_tensors(header, path, sizes, n_layers, size - 8 - (size_t)hlen, spans, names,
                                    errstr, errstr_size);
        if (n_spans < 0) goto fail;
        for (int l = 1; l < n_layers; l++) {
                if (sizes[l] > MAX_HIDDEN) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: metadata 'layer_sizes'[%d] is %d: hidden layers are at most %d wide",
                                  path, l, sizes[l], MAX_HIDDEN);
                        goto fail;
                }
        }
        if (!(model->nn = sf_nn_create(sizes, n_layers, why, sizeof(why)))) {
                sf_seterr(errstr, errstr_size, "%s: %s", path, why);
                goto fail;
        }

        for (int i = 0; i < n_spans; i++) {
                float *dst = model->nn->params + (spans[i].bias ? model->nn->b_off[spans[i].layer]
                                                                : model->nn->w_off[spans[i].layer]);
                size_t n = (spans[i].end - spans[i].begin) / 4;
                memcpy(dst, buf + 8 + (size_t)hlen + spans[i].begin, n * 4);
                for (size_t k = 0; k < n; k++) {
                        if (!isfinite(dst[k])) {
                                sf_seterr(errstr, errstr_size,
                                          "%s: tensor '%s' holds a non-finite value at index %zu", path,
                                          spans[i].name, k);
                                goto fail;
                        }
                }
        }

        if (file_id(buf, size, model->id) != 0) {
                sf_seterr(errstr, errstr_size, "%s: SHA-256 failed", path);
                goto fail;
        }

        json_decref(header);
        free(buf);
        return model;
fail:
        json_decref(header);
        free(buf);
        sf_model_destroy(model);
        return NULL;
}

void sf_model_destroy(sf_model_t *model) {
        if (!model) return;
        sf_nn_ws_free(&model->ws);
        sf_nn_destroy(model->nn);
        sf_kdd_encoder_destroy(model->enc);
        free(model);
}

const sf_kdd_encoder_t *sf_model_encoder(const sf_model_t *model) {
        return model->enc;
}

const char *sf_model_id(const sf_model_t *model) {
        return model->id;
}

const sf_nn_t *sf_model_nn(const sf_model_t *model) {
        return model->nn;
}

const sf_model_info_t *sf_model_info(const sf_model_t *model) {
        return &model->info;
}

/* Forward passes over n rows in chunks: x (n, n_dense), hot (n, n_hot) or
 * NULL. */
static int predict_rows(sf_model_t *model, const float *x, int n_dense, const int32_t *hot, int n_hot,
                        size_t n, float *probs) {
        int want = n < PREDICT_CHUNK ? (int)n : PREDICT_CHUNK;
        if (n == 0) return 0;
        if (model->ws.max_batch < want) {
                sf_nn_ws_free(&model->ws);
                if (sf_nn_ws_init(&model->ws, model->nn, want, 0) != 0) return -1;
        }
        int n_out = model->nn->sizes[model->nn->n_layers];
        for (size_t i = 0; i < n; i += (size_t)model->ws.max_batch) {
                int b = n - i < (size_t)model->ws.max_batch ? (int)(n - i) : model->ws.max_batch;
                sf_nn_input_t in = {x + i * (size_t)n_dense, hot ? hot + i * (size_t)n_hot : NULL, n_dense,
                                    hot ? n_hot : 0};
                sf_nn_forward(model->nn, &model->ws, &in, NULL, b);
                memcpy(probs + i * (size_t)n_out, model->ws.probs, (size_t)b * n_out * sizeof(float));
        }
        return 0;
}

int sf_model_predict(sf_model_t *model, const float *x, size_t n, float *probs) {
        return predict_rows(model, x, model->nn->sizes[0], NULL, 0, n, probs);
}

int sf_model_predict_sparse(sf_model_t *model, const float *num, const int32_t *hot, size_t n, float *probs) {
        return predict_rows(model, num, SF_KDD_NNUMERIC, hot, 3, n, probs);
}

int sf_model_probs_finite(const float *probs) {
        int finite = 1;
        for (int k = 0; k < SF_KDD_NCLASSES; k++) finite &= isfinite(probs[k]) != 0;
        return finite;
}

/* ---- ONNX export ---- */

/* The 41 feature columns as graph inputs, and the encoder's layout: the 38
 * scaled numbers, then one-hot protocol_type, service and flag. */
static void onnx_columns(const sf_kdd_encoder_t *enc, sf_onnx_column_t cols[SF_KDD_NFEATURES],
                         sf_onnx_block_t blocks[SF_KDD_NNUMERIC + 3]) {
        const char *const *vocab[3] = {(const char *const *)enc->proto, (const char *const *)enc->service,
                                       (const char *const *)enc->flag};
        int n_vocab[3] = {enc->n_proto, enc->n_service, enc->n_flag};
        for (int i = 0, j = 0; i < SF_KDD_NFEATURES; i++) {
                cols[i] = (sf_onnx_column_t){.name = sf_kdd_field_name(i), .kind = SF_ONNX_NUMERIC};
                if (i >= 1 && i <= 3) {
                        cols[i].kind = SF_ONNX_CATEGORICAL;
                        cols[i].vocab = vocab[i - 1], cols[i].n_vocab = n_vocab[i - 1];
                        blocks[SF_KDD_NNUMERIC + i - 1] = (sf_onnx_block_t){SF_ONNX_BLOCK_ONE_HOT, i};
                        continue;
                }
                cols[i].mean = enc->mean[j], cols[i].std = enc->std[j];
                blocks[j++] = (sf_onnx_block_t){SF_ONNX_BLOCK_SCALED, i};
        }
}

static int export_onnx(const sf_model_t *model, const char *path, int network_only, char *errstr,
                       size_t errstr_size) {
        sf_onnx_column_t cols[SF_KDD_NFEATURES];
        sf_onnx_block_t blocks[SF_KDD_NNUMERIC + 3];
        const char *classes[SF_KDD_NCLASSES];
        onnx_columns(model->enc, cols, blocks);
        for (int c = 0; c < SF_KDD_NCLASSES; c++) classes[c] = sf_kdd_class_name(c);
        json_t *meta = build_metadata(model->nn, model->enc, &model->info);
        size_t n = meta ? json_object_size(meta) : 0;
        sf_onnx_meta_t *props = calloc(n + 2, sizeof(*props));
        if (!meta || !props) {
                json_decref(meta), free(props);
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                return -1;
        }
        const char *key;
        json_t *value;
        int k = 0;
        json_object_foreach(meta, key, value) props[k++] = (sf_onnx_meta_t){key, json_string_value(value)};
        props[k++] = (sf_onnx_meta_t){"model_id", model->id};
        props[k++] = (sf_onnx_meta_t){"streamflow_version", SF_VERSION};
        sf_onnx_model_desc_t desc = {cols,      SF_KDD_NFEATURES, blocks, SF_KDD_NNUMERIC + 3,
                                     model->nn, classes,          props,  k,
                                     SF_VERSION};
        if (network_only) desc.n_columns = 0, desc.n_blocks = 0;
        int rc = sf_onnx_export(path, &desc, errstr, errstr_size);
        free(props);
        json_decref(meta);
        return rc;
}

int sf_model_export_onnx(const sf_model_t *model, const char *path, char *errstr, size_t errstr_size) {
        return export_onnx(model, path, 0, errstr, errstr_size);
}

int sf_model_export_onnx_network(const sf_model_t *model, const char *path, char *errstr,
                                 size_t errstr_size) {
        return export_onnx(model, path, 1, errstr, errstr_size);
}

/* ---- checkpoints: a model file plus the optimizer's state ---- */

#define CKPT_TENSORS 3 /* optimizer.m, optimizer.v, best.params */

/* Writes blocks[i] (sizes[i] bytes) after the 8-byte length and the padded
 * header text to a temporary file beside path, fsyncs it, renames it over
 * path and fsyncs the directory. Returns 0 or -1 with errstr. */
static int write_atomic(const char *path, const char *text, const void *const *blocks, const size_t *sizes,
                        int n_blocks, char *errstr, size_t errstr_size) {
        size_t len = strlen(text), padded = (len + 8 + 7) / 8 * 8 - 8, tlen = strlen(path) + 32;
        char *tmp = malloc(tlen);
        if (!tmp) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                return -1;
        }
        snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
        FILE *fp = fopen(tmp, "wb");
        if (!fp) {
                sf_seterr(errstr, errstr_size, "%s: cannot create: %s", tmp, strerror(errno));
                free(tmp);
                return -1;
        }
        uint8_t le[8];
        for (int i = 0; i < 8; i++) le[i] = (uint8_t)((uint64_t)padded >> (8 * i));
        int ok = fwrite(le, 1, 8, fp) == 8 && fwrite(text, 1, len, fp) == len;
        for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
        for (int b = 0; ok && b < n_blocks; b++) ok = fwrite(blocks[b], 1, sizes[b], fp) == sizes[b];
        ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
        if (fclose(fp) != 0) ok = 0;
        if (!ok || rename(tmp, path) != 0) {
                sf_seterr(errstr, errstr_size, "%s: %s failed: %s", ok ? path : tmp, ok ? "rename" : "write",
                          strerror(errno));
                unlink(tmp);
                free(tmp);
                return -1;
        }
        free(tmp);
        /* The rename itself reaches the disk with the directory. */
        char dir[4096];
        const char *slash = strrchr(path, '/');
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
                 slash ? path : ".");
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) fsync(dfd), close(dfd);
        return 0;
}

/* Adds a (n) F32 tensor entry at data offset *at and advances *at. */
static int add_flat_tensor(json_t *header, const char *name, size_t n, size_t *at) {
        json_t *t = json_pack("{s:s, s:[I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)n, "data_offsets",
                              (json_int_t)*at, (json_int_t)(*at + n * 4));
        *at += n * 4;
        return t ? json_object_set_new(header, name, t) : -1;
}

/* Adds the members of the JSON object `text` to the JSON object held as text
 * in meta[key]. Returns 0 or -1. */
static int merge_meta_json(json_t *meta, const char *key, const char *text) {
        json_t *extra = json_loads(text, 0, NULL);
        json_t *obj = json_loads(json_string_value(json_object_get(meta, key)), 0, NULL);
        int rc = json_is_object(extra) && json_is_object(obj) ? json_object_update(obj, extra) : -1;
        json_decref(extra);
        if (rc == 0) return meta_set_json(meta, key, obj);
        json_decref(obj);
        return -1;
}

int sf_model_save_extra(const char *path, const sf_nn_t *nn, const sf_kdd_encoder_t *enc,
                        const sf_model_info_t *info, const char *extra_json, char *errstr,
                        size_t errstr_size) {
        if (!extra_json) return sf_model_save(path, nn, enc, info, errstr, errstr_size);
        json_t *header = build_header(nn, enc, info);
        int rc = header ? merge_meta_json(json_object_get(header, "__metadata__"), "training", extra_json)
                        : -1;
        char *text = rc == 0 ? json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(header);
        if (!text) {
                sf_seterr(errstr, errstr_size,
                          "%s: out of memory building the header (or bad training metadata)", path);
                return -1;
        }
        const void *blocks[] = {nn->params};
        size_t sizes[] = {nn->n_params * sizeof(float)};
        rc = write_atomic(path, text, blocks, sizes, 1, errstr, errstr_size);
        free(text);
        return rc;
}

int sf_checkpoint_save(const char *path, const sf_nn_t *nn, const sf_kdd_encoder_t *enc,
                       const sf_model_info_t *info, const float *adam_m, const float *adam_v,
                       const float *best, const char *state, char *errstr, size_t errstr_size) {
        json_t *header = build_header(nn, enc, info);
        size_t at = nn->n_params * 4;
        int rc = header ? 0 : -1;
        if (header) {
                rc |= json_object_set_new(json_object_get(header, "__metadata__"), "checkpoint",
                                          json_string(state));
                rc |= add_flat_tensor(header, "optimizer.m", nn->n_params, &at);
                rc |= add_flat_tensor(header, "optimizer.v", nn->n_params, &at);
                if (best) rc |= add_flat_tensor(header, "best.params", nn->n_params, &at);
        }
        char *text = rc == 0 ? json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(header);
        if (!text) {
                sf_seterr(errstr, errstr_size, "%s: out of memory building the checkpoint header", path);
                return -1;
        }
        size_t bytes = nn->n_params * sizeof(float);
        const void *blocks[] = {nn->params, adam_m, adam_v, best};
        size_t sizes[] = {bytes, bytes, bytes, bytes};
        rc = write_atomic(path, text, blocks, sizes, best ? 4 : 3, errstr, errstr_size);
        free(text);
        return rc;
}

void sf_checkpoint_destroy(sf_checkpoint_t *ck) {
        if (!ck) return;
        sf_nn_destroy(ck->nn);
        sf_kdd_encoder_destroy(ck->enc);
        free(ck->adam_m);
        free(ck->state);
        free(ck);
}

typedef struct {
        size_t begin, end;
        float *dst;
        const char *name;
} ck_span_t;

static int cmp_ck_span(const void *a, const void *b) {
        const ck_span_t *x = a, *y = b;
        return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The tensors of spans[0..n) cover data[0..data_len) exactly, the header
 * names no other, and every value is finite: copied to their dst. */
static int copy_spans(json_t *header, const char *path, ck_span_t *spans, int n, const uint8_t *data,
                      size_t data_len, char *errstr, size_t errstr_size) {
        const char *key;
        json_t *value;
        json_object_foreach(header, key, value) {
                int known = strcmp(key, "__metadata__") == 0;
                for (int i = 0; i < n && !known; i++) known = strcmp(key, spans[i].name) == 0;
                if (!known) {
                        sf_seterr(errstr, errstr_size, "%s: unexpected tensor '%s' in a checkpoint", path,
                                  key);
                        return -1;
                }
        }
        qsort(spans, (size_t)n, sizeof(spans[0]), cmp_ck_span);
        size_t at = 0;
        for (int i = 0; i < n; i++) {
                if (spans[i].begin != at) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: tensor '%s' starts at byte %zu of the data, expected %zu", path,
                                  spans[i].name, spans[i].begin, at);
                        return -1;
                }
                at = spans[i].end;
        }
        if (at != data_len) {
                sf_seterr(errstr, errstr_size,
                          "%s: the tensors need %zu bytes of data, the file has %zu (%s)", path, at, data_len,
                          data_len < at ? "truncated" : "trailing bytes");
                return -1;
        }
        for (int i = 0; i < n; i++) {
                size_t count = (spans[i].end - spans[i].begin) / 4;
                memcpy(spans[i].dst, data + spans[i].begin, count * 4);
                for (size_t k = 0; k < count; k++) {
                        if (!isfinite(spans[i].dst[k])) {
                                sf_seterr(errstr, errstr_size,
                                          "%s: tensor '%s' holds a non-finite value at index %zu", path,
                                          spans[i].name, k);
                                return -1;
                        }
                }
        }
        return 0;
}

/* Lists the checkpoint's tensors (the network's, then the optimizer's) with
 * their destinations; checks each one's dtype, shape and offsets. */
static int checkpoint_spans(json_t *header, const char *path, sf_checkpoint_t *ck, size_t data_len,
                            ck_span_t *spans, char (*names)[32], int *n_spans, char *errstr,
                            size_t errstr_size) {
        const sf_nn_t *nn = ck->nn;
        int n = 0;
        for (int l = 0; l < nn->n_layers; l++) {
                for (int k = 0; k < 2; k++) {
                        size_t range[2], d0 = (size_t)(k ? nn->sizes[l + 1] : nn->sizes[l]);
                        size_t d1 = k ? 0 : (size_t)nn->sizes[l + 1];
                        snprintf(names[n], 32, "dense_%d.%s", l, k ? "bias" : "kernel");
                        if (check_tensor(header, path, names[n], d0, d1, data_len, range, errstr,
                                         errstr_size) != 0)
                                return -1;
                        spans[n] = (ck_span_t){range[0], range[1],
                                               nn->params + (k ? nn->b_off[l] : nn->w_off[l]), names[n]};
                        n++;
                }
        }
        float *dst[CKPT_TENSORS] = {ck->adam_m, ck->adam_v, ck->best};
        const char *extra[CKPT_TENSORS] = {"optimizer.m", "optimizer.v", "best.params"};
        for (int i = 0; i < CKPT_TENSORS; i++) {
                size_t range[2];
                if (!dst[i]) continue;
                if (check_tensor(header, path, extra[i], nn->n_params, 0, data_len, range, errstr,
                                 errstr_size) != 0)
                        return -1;
                spans[n++] = (ck_span_t){range[0], range[1], dst[i], extra[i]};
        }
        *n_spans = n;
        return 0;
}

/* The header of a safetensors file in buf: its JSON (new reference) and
 * where the data starts, after checking the length, format and version. */
static json_t *checkpoint_header(const uint8_t *buf, size_t size, const char *path, size_t *data_off,
                                 char *errstr, size_t errstr_size) {
        uint64_t hlen = 0;
        for (int i = 0; i < 8 && size >= 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
        if (size < 8 || hlen < 2 || hlen > MAX_HEADER || hlen > size - 8) {
                sf_seterr(errstr, errstr_size, "%s: not a safetensors file, or truncated", path);
                return NULL;
        }
        json_error_t jerr;
        json_t *header = json_loadb((const char *)buf + 8, (size_t)hlen, 0, &jerr);
        json_t *meta = json_object_get(header, "__metadata__");
        json_t *fmt = json_object_get(meta, "format"), *ver = json_object_get(meta, "format_version");
        if (!json_is_string(fmt) || strcmp(json_string_value(fmt), MODEL_FORMAT) != 0 ||
            !json_is_string(ver) || strcmp(json_string_value(ver), MODEL_FORMAT_VERSION) != 0) {
                sf_seterr(errstr, errstr_size, "%s: not a StreamFlow model file of version %s", path,
                          MODEL_FORMAT_VERSION);
                json_decref(header);
                return NULL;
        }
        if (!json_is_string(json_object_get(meta, "checkpoint"))) {
                sf_seterr(errstr, errstr_size,
                          "%s: a model without training state, not a checkpoint (use DIR/last.safetensors)",
                          path);
                json_decref(header);
                return NULL;
        }
        *data_off = 8 + (size_t)hlen;
        return header;
}

/* Fills ck from a parsed header and the file's data. */
static int checkpoint_fill(sf_checkpoint_t *ck, json_t *header, const char *path, const uint8_t *data,
                           size_t data_len, char *errstr, size_t errstr_size) {
        json_t *meta = json_object_get(header, "__metadata__");
        int sizes[SF_NN_MAX_LAYERS + 1], n_layers = 0;
        char why[256];
        if (load_sizes(meta, path, sizes, &n_layers, errstr, errstr_size) != 0 ||
            check_classes(meta, path, errstr, errstr_size) != 0 ||
            load_info(meta, path, &ck->info, errstr, errstr_size) != 0 ||
            !(ck->enc = load_encoder(meta, path, errstr, errstr_size)))
                return -1;
        if (!(ck->nn = sf_nn_create(sizes, n_layers, why, sizeof(why)))) {
                sf_seterr(errstr, errstr_size, "%s: %s", path, why);
                return -1;
        }
        size_t n = ck->nn->n_params;
        int has_best = json_object_get(header, "best.params") != NULL;
        ck->adam_m = malloc((has_best ? 3 : 2) * n * sizeof(float));
        ck->state = strdup(json_string_value(json_object_get(meta, "checkpoint")));
        if (!ck->adam_m || !ck->state) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                return -1;
        }
        ck->adam_v = ck->adam_m + n;
        ck->best = has_best ? ck->adam_m + 2 * n : NULL;
        ck_span_t spans[2 * SF_NN_MAX_LAYERS + CKPT_TENSORS];
        char names[2 * SF_NN_MAX_LAYERS][32];
        int n_spans = 0;
        if (checkpoint_spans(header, path, ck, data_len, spans, names, &n_spans, errstr, errstr_size) != 0)
                return -1;
        return copy_spans(header, path, spans, n_spans, data, data_len, errstr, errstr_size);
}

sf_checkpoint_t *sf_checkpoint_load(const char *path, char *errstr, size_t errstr_size) {
        size_t size = 0, data_off = 0;
        uint8_t *buf = read_all(path, &size, errstr, errstr_size);
        if (!buf) return NULL;
        sf_checkpoint_t *ck = NULL;
        json_t *header = checkpoint_header(buf, size, path, &data_off, errstr, errstr_size);
        if (header && !(ck = calloc(1, sizeof(*ck))))
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
        if (ck &&
            checkpoint_fill(ck, header, path, buf + data_off, size - data_off, errstr, errstr_size) != 0) {
                sf_checkpoint_destroy(ck);
                ck = NULL;
        }
        json_decref(header);
        free(buf);
        return ck;
}
