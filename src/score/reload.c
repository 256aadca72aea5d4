#include "score/reload.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

/* SIGHUPs received, counted by the handler. A lock-free atomic is safe in a
 * signal handler and, unlike a plain sig_atomic_t, race-free when the
 * signal lands on another thread than the one reading it. */
static atomic_uint hups;

static void on_hup(int sig) {
        (void)sig;
        atomic_fetch_add_explicit(&hups, 1, memory_order_relaxed);
}

void sf_score_reload_install_signal(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_hup;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGHUP, &sa, NULL);
}

/* Which file a path names, as far as a replacement shows. */
typedef struct file_id {
        int ok; /* 0: the path could not be stat'ed */
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
} file_id_t;

static file_id_t file_id_of(const char *path) {
        file_id_t id = {0};
        struct stat st;
        if (stat(path, &st) != 0) return id;
        id.ok = 1;
        id.dev = st.st_dev;
        id.ino = st.st_ino;
        id.size = st.st_size;
        id.mtime = st.st_mtim;
        return id;
}

static int same_file(const file_id_t *a, const file_id_t *b) {
        return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

struct sf_score_reload {
        char *path, *fitted;
        int watch;
        FILE *log;
        sf_score_prom_t *prom;
        sf_model_t *model;
        sf_model_t *retired; /* the model replaced by the last swap, until the next call */
        unsigned hups_seen;
        file_id_t seen; /* the file at path when it was last loaded or refused */
        int missing;    /* watch: the path was gone at the last look (said once) */
};

/* The model file's format, by the loader's rule (src/model/model.c): a .onnx
 * name or a protobuf start, else safetensors. */
static const char *format_of(const char *path) {
        size_t n = strlen(path);
        if (n >= 5 && strcmp(path + n - 5, ".onnx") == 0) return "onnx";
        unsigned char buf[9];
        FILE *f = fopen(path, "rb");
        size_t got = f ? fread(buf, 1, sizeof(buf), f) : 0;
        if (f) fclose(f);
        return got == sizeof(buf) && buf[0] == 0x08 && buf[8] != '{' ? "onnx" : "safetensors";
}

/* The name of the schema the model reads ("" when it has none). */
static const char *schema_name(const sf_model_t *model) {
        return sf_model_schema(model)->name;
}

static void publish(sf_score_reload_t *r) {
        if (r->prom)
                sf_score_prom_model(r->prom, sf_model_id(r->model), format_of(r->path),
                                    schema_name(r->model));
}

sf_score_reload_t *sf_score_reload_new(const sf_score_reload_opts_t *opts, sf_model_t *model, char *errstr,
                                       size_t errstr_size) {
        sf_score_reload_t *r = calloc(1, sizeof(*r));
        char *path = strdup(opts->path), *fitted = opts->fitted ? strdup(opts->fitted) : NULL;
        if (!r || !path || (opts->fitted && !fitted)) {
                free(r);
                free(path);
                free(fitted);
                sf_model_destroy(model);
                sf_seterr(errstr, errstr_size, "out of memory");
                return NULL;
        }
        r->path = path;
        r->fitted = fitted;
        r->watch = opts->watch;
        r->log = opts->log;
        r->prom = opts->prom;
        r->model = model;
        r->hups_seen = atomic_load(&hups);
        r->seen = file_id_of(path);
        publish(r);
        return r;
}

void sf_score_reload_destroy(sf_score_reload_t *r) {
        if (!r) return;
        sf_model_destroy(r->retired);
        sf_model_destroy(r->model);
        free(r->path);
        free(r->fitted);
        free(r);
}

sf_model_t *sf_score_reload_model(const sf_score_reload_t *r) {
        return r->model;
}

static void say(sf_score_reload_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(sf_score_reload_t *r, const char *fmt, ...) {
        if (!r->log) return;
        va_list ap;
        va_start(ap, fmt);
        vfprintf(r->log, fmt, ap);
        va_end(ap);
        fflush(r->log);
}

/* Whether next, loaded from path, may replace the model in service. */
static int models_compatible(const sf_model_t *serving, const sf_model_t *next, const char *path, char *why,
                             size_t why_size) {
        char diff[512];
        if (sf_score_reload_compatible(sf_model_schema(serving), sf_model_schema(next), diff, sizeof(diff)))
                return 1;
        sf_seterr(why, why_size, "%s reads another input than the model in service: %s", path, diff);
        return 0;
}

/* Loads the file, checks it and swaps it in; cause says what asked. */
static sf_model_t *reload(sf_score_reload_t *r, const char *cause) {
        char err[768];
        double t0 = sf_now_s();
        sf_model_t *next = sf_model_load_with(r->path, r->fitted, err, sizeof(err));
        if (next && !models_compatible(r->model, next, r->path, err, sizeof(err))) {
                sf_model_destroy(next);
                next = NULL;
        }
        double ms = (sf_now_s() - t0) * 1000;
        if (r->prom) sf_score_prom_reload(r->prom, next != NULL);
        if (!next) {
                say(r, "score: model reload (%s) refused: %s; still scoring with model %s\n", cause, err,
                    sf_model_id(r->model));
                return NULL;
        }
        if (strcmp(sf_model_id(next), sf_model_id(r->model)) == 0) {
                say(r, "score: model reload (%s): %s holds model %s, the one in service (%.1f ms)\n", cause,
                    r->path, sf_model_id(next), ms);
                sf_model_destroy(next);
                return NULL;
        }
        say(r,
            "score: model reloaded (%s): model %s replaces %s from the next batch on (loaded and checked in "
            "%.1f ms)\n",
            cause, sf_model_id(next), sf_model_id(r->model), ms);
        r->retired = r->model;
        r->model = next;
        publish(r);
        return next;
}

sf_model_t *sf_score_reload_poll(sf_score_reload_t *r) {
        /* The caller has let go of the model replaced at the last call. */
        sf_model_destroy(r->retired);
        r->retired = NULL;
        unsigned h = atomic_load_explicit(&hups, memory_order_relaxed);
        if (h != r->hups_seen) {
                /* Every SIGHUP up to here is answered by this load; one
                 * arriving during it asks for another. */
                r->hups_seen = h;
                r->seen = file_id_of(r->path);
                return reload(r, "SIGHUP");
        }
        if (!r->watch) return NULL;
        file_id_t now = file_id_of(r->path);
        if (!now.ok) {
                /* Between a delete and a create: wait for the new file. */
                if (!r->missing)
                        say(r, "score: --model-watch: %s: %s; still scoring with model %s\n", r->path,
                            strerror(errno), sf_model_id(r->model));
                r->missing = 1;
                return NULL;
        }
        r->missing = 0;
        if (same_file(&now, &r->seen)) return NULL;
        /* Noted before the load: a file replaced again while it loads is
         * seen as changed at the next call. */
        r->seen = now;
        return reload(r, "model file replaced");
}

int sf_score_reload_compatible(const sf_schema_t *serving, const sf_schema_t *next, char *why,
                               size_t why_size) {
        int n = serving->n_cols < next->n_cols ? serving->n_cols : next->n_cols;
        for (int i = 0; i < n; i++) {
                const sf_schema_col_t *a = &serving->cols[i], *b = &next->cols[i];
                if (strcmp(a->name, b->name) != 0 || a->type != b->type) {
                        sf_seterr(why, why_size,
                                  "column %d is '%s' (%s) for the model in service but '%s' (%s) for the new "
                                  "one",
                                  i + 1, a->name, sf_col_type_name(a->type), b->name,
                                  sf_col_type_name(b->type));
                        return 0;
                }
        }
        if (serving->n_cols != next->n_cols) {
                const sf_schema_t *longer = serving->n_cols > next->n_cols ? serving : next;
                sf_seterr(
                        why, why_size,
                        "the model in service reads %d columns, the new one %d (column %d is '%s' for the %s "
                        "only)",
                        serving->n_cols, next->n_cols, n + 1, longer->cols[n].name,
                        longer == serving ? "model in service" : "new model");
                return 0;
        }
        int nc = serving->n_classes < next->n_classes ? serving->n_classes : next->n_classes;
        for (int k = 0; k < nc; k++)
                if (strcmp(serving->classes[k], next->classes[k]) != 0) {
                        sf_seterr(
                                why, why_size,
                                "class %d of label column '%s' is '%s' for the model in service but '%s' for "
                                "the new one",
                                k, serving->cols[serving->label_col].name, serving->classes[k],
                                next->classes[k]);
                        return 0;
                }
        if (serving->n_classes != next->n_classes) {
                sf_seterr(why, why_size, "the model in service has %d classes, the new one %d",
                          serving->n_classes, next->n_classes);
                return 0;
        }
        for (int i = 0; i < serving->n_map || i < next->n_map; i++) {
                const char *a = i < serving->n_map ? serving->map_from[i] : NULL;
                const char *b = i < next->n_map ? next->map_from[i] : NULL;
                int c = !a ? 1 : !b ? -1 : strcmp(a, b);
                /* the maps are sorted: the smaller key is the one the other lacks */
                const char *key = c <= 0 ? a : b;
                if (c != 0) {
                        sf_seterr(why, why_size, "label value '%s' is mapped by the %s only", key,
                                  c < 0 ? "model in service" : "new model");
                        return 0;
                }
                if (serving->map_to[i] != next->map_to[i]) {
                        sf_seterr(
                                why, why_size,
                                "label value '%s' maps to '%s' for the model in service but to '%s' for the "
                                "new one",
                                a, serving->classes[serving->map_to[i]], next->classes[next->map_to[i]]);
                        return 0;
                }
        }
        return 1;
}
