/* The model file's container: safetensors
 * (https://github.com/huggingface/safetensors):
 *   u64 LE header length N | N bytes of JSON header | raw tensor data
 * The header maps each tensor name to {"dtype", "shape", "data_offsets"
 * (begin, end) relative to the data}, plus "__metadata__", a map of string
 * to string (src/model/meta.c). Reading checks every tensor against the
 * shapes the metadata declares before anything is sized from it. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model_int.h"
#include "util/util.h"

uint8_t *sf_model_read_file(const char *path, size_t *size, char *errstr, size_t errstr_size) {
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

json_t *sf_model_header(const uint8_t *buf, size_t size, const char *path, size_t *data_off, char *errstr,
                        size_t errstr_size) {
        if (size < 8) {
                sf_seterr(errstr, errstr_size,
                          "%s: %zu bytes is too short for a safetensors file (truncated?)", path, size);
                return NULL;
        }
        uint64_t hlen = 0;
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
        if (hlen < 2 || hlen > MAX_HEADER || hlen > size - 8) {
                sf_seterr(errstr, errstr_size,
                          "%s: header length %llu does not fit in the file's %zu bytes (not a safetensors "
                          "file, or truncated)",
                          path, (unsigned long long)hlen, size);
                return NULL;
        }
        json_error_t jerr;
        json_t *header = json_loadb((const char *)buf + 8, (size_t)hlen, 0, &jerr);
        if (!header || !json_is_object(header)) {
                sf_seterr(errstr, errstr_size, "%s: header is not a JSON object: %s", path,
                          header ? "" : jerr.text);
                json_decref(header);
                return NULL;
        }
        if (!json_is_object(json_object_get(header, "__metadata__"))) {
                sf_seterr(errstr, errstr_size, "%s: no __metadata__ in the header: not a StreamFlow model",
                          path);
                json_decref(header);
                return NULL;
        }
        *data_off = 8 + (size_t)hlen;
        return header;
}

int sf_model_check_tensor(const json_t *header, const char *path, const char *name, size_t d0, size_t d1,
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

int sf_model_nn_spans(const json_t *header, const char *path, const int *sizes, int n_layers, size_t data_len,
                      sf_model_span_t *spans, char (*names)[32], char *errstr, size_t errstr_size) {
        int n = 0;
        for (int l = 0; l < n_layers; l++) {
                for (int k = 0; k < 2; k++) {
                        size_t range[2], d0 = (size_t)(k ? sizes[l + 1] : sizes[l]);
                        size_t d1 = k ? 0 : (size_t)sizes[l + 1];
                        snprintf(names[n], 32, "dense_%d.%s", l, k ? "bias" : "kernel");
                        if (sf_model_check_tensor(header, path, names[n], d0, d1, data_len, range, errstr,
                                                  errstr_size) != 0)
                                return -1;
                        spans[n] = (sf_model_span_t){range[0], range[1], n, names[n]};
                        n++;
                }
        }
        return n;
}

static int cmp_span(const void *a, const void *b) {
        const sf_model_span_t *x = a, *y = b;
        return x->begin < y->begin ? -1 : x->begin > y->begin;
}

int sf_model_check_spans(const json_t *header, const char *path, sf_model_span_t *spans, int n,
                         size_t data_len, char *errstr, size_t errstr_size) {
        const char *key;
        json_t *value, *h = (json_t *)header; /* jansson's iteration takes no const */
        json_object_foreach(h, key, value) {
                int known = strcmp(key, "__metadata__") == 0;
                for (int i = 0; i < n && !known; i++) known = strcmp(key, spans[i].name) == 0;
                if (!known) {
                        sf_seterr(errstr, errstr_size, "%s: unexpected tensor '%s' in a model file", path,
                                  key);
                        return -1;
                }
        }
        qsort(spans, (size_t)n, sizeof(spans[0]), cmp_span);
        size_t at = 0;
        for (int i = 0; i < n; i++) {
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
        return 0;
}

void sf_model_nn_dsts(sf_nn_t *nn, float **dst) {
        for (int l = 0; l < nn->n_layers; l++) {
                dst[2 * l] = nn->w[l];
                dst[2 * l + 1] = nn->b[l];
        }
}

int sf_model_copy_spans(const char *path, const sf_model_span_t *spans, int n, float *const *dst,
                        const uint8_t *data, char *errstr, size_t errstr_size) {
        for (int i = 0; i < n; i++) {
                size_t count = (spans[i].end - spans[i].begin) / 4;
                float *to = dst[spans[i].slot];
                memcpy(to, data + spans[i].begin, count * 4);
                for (size_t k = 0; k < count; k++) {
                        if (!isfinite(to[k])) {
                                sf_seterr(errstr, errstr_size,
                                          "%s: tensor '%s' holds a non-finite value at index %zu", path,
                                          spans[i].name, k);
                                return -1;
                        }
                }
        }
        return 0;
}

int sf_model_add_nn_tensors(json_t *header, const sf_nn_t *nn) {
        for (int l = 0; l < nn->n_layers; l++) {
                char name[32];
                size_t in = (size_t)nn->sizes[l], out = (size_t)nn->sizes[l + 1];
                size_t w0 = nn->w_off[l] * 4, b0 = nn->b_off[l] * 4;
                snprintf(name, sizeof(name), "dense_%d.kernel", l);
                json_t *w = json_pack("{s:s, s:[I,I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)in,
                                      (json_int_t)out, "data_offsets", (json_int_t)w0,
                                      (json_int_t)(w0 + in * out * 4));
                if (!w || json_object_set_new(header, name, w) != 0) return -1;
                snprintf(name, sizeof(name), "dense_%d.bias", l);
                json_t *b = json_pack("{s:s, s:[I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)out,
                                      "data_offsets", (json_int_t)b0, (json_int_t)(b0 + out * 4));
                if (!b || json_object_set_new(header, name, b) != 0) return -1;
        }
        return 0;
}

int sf_model_write_atomic(const char *path, const char *text, const void *const *blocks, const size_t *sizes,
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

int sf_model_file_id(const uint8_t *buf, size_t size, char id[17]) {
        return sf_model_files_id(buf, size, NULL, 0, id);
}

int sf_model_files_id(const uint8_t *buf, size_t size, const uint8_t *buf2, size_t size2, char id[17]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
                 EVP_DigestUpdate(ctx, buf, size) == 1 &&
                 (!size2 || EVP_DigestUpdate(ctx, buf2, size2) == 1) &&
                 EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len >= 8;
        EVP_MD_CTX_free(ctx);
        if (!ok) return -1;
        for (int i = 0; i < 8; i++) snprintf(id + 2 * i, 3, "%02x", md[i]);
        return 0;
}
