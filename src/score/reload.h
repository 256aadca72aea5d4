/* Model reload without a restart, for `streamflow score`.
 *
 * On SIGHUP, and with watch when the model file is replaced (a rename over
 * it, as deploy tools do, or any change of its device, inode, size or
 * modification time), the file is loaded in full off to the side, checked
 * against the model in service (the same input: sf_score_reload_compatible)
 * and only then swapped in. The scorer asks between two batches, so every
 * batch is encoded and scored by one whole model; a file that cannot be
 * loaded or reads another input is refused: the model in service stays, the
 * reason goes to the log and the failure to the metrics.
 *
 * The loading runs in the caller's thread (the scorer's main loop): a model
 * file is a few hundred kilobytes and loads in milliseconds. */
#ifndef SF_SCORE_RELOAD_H
#define SF_SCORE_RELOAD_H

#include <stddef.h>
#include <stdio.h>

#include "model/model.h"
#include "score/prom.h"
#include "table/schema.h"

typedef struct sf_score_reload sf_score_reload_t;

typedef struct sf_score_reload_opts {
        const char *path;      /* the model file (copied) */
        const char *fitted;    /* its fitted schema (an ONNX network trained elsewhere; copied), or NULL */
        int watch;             /* also reload when the file at path is replaced */
        FILE *log;             /* one line per reload, or NULL */
        sf_score_prom_t *prom; /* model_info and reload counters go here, or NULL */
} sf_score_reload_opts_t;

/* Makes SIGHUP ask for a reload (it would otherwise end the process). The
 * handler only counts the signal; sf_score_reload_poll acts on it. */
void sf_score_reload_install_signal(void);

/* Serves model, loaded from opts->path; takes ownership of model (the
 * caller sets its pointer to NULL; it is destroyed with the reloader, or
 * when a reload replaces it). Publishes it as the model_info of
 * opts->prom. Returns the reloader, or NULL with errstr when out of
 * memory (model is then destroyed). */
sf_score_reload_t *sf_score_reload_new(const sf_score_reload_opts_t *opts, sf_model_t *model, char *errstr,
                                       size_t errstr_size);

/* Destroys the reloader and the model in service. NULL is a no-op. */
void sf_score_reload_destroy(sf_score_reload_t *r);

/* The model in service (owned by the reloader). */
sf_model_t *sf_score_reload_model(const sf_score_reload_t *r);

/* Called between two batches, when nothing encoded by the model in service
 * is waiting to be scored. When a SIGHUP arrived since the last call, or
 * (watch) the file at path is not the one last looked at: loads it and
 * checks it. Returns the new model in service when it replaced the old one
 * (the old one stays alive until the next call, which destroys it: the
 * caller moves every pointer it holds into it to the new one first), else
 * NULL (nothing asked, the same model again, or refused: logged and
 * counted). A refused file is not tried again until it changes or another
 * SIGHUP comes. */
sf_model_t *sf_score_reload_poll(sf_score_reload_t *r);

/* Whether a model of schema next reads the same input as one of schema
 * serving: the same columns with the same names, types and order (label
 * and ignored ones included), the same classes in the same order and the
 * same label map. The schema's name and its CSV header flag may differ.
 * Returns 1, or 0 with why naming the first difference. */
int sf_score_reload_compatible(const sf_schema_t *serving, const sf_schema_t *next, char *why,
                               size_t why_size);

#endif
