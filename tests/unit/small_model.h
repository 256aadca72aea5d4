/* A small table for model-file tests: 38 numeric columns n0..n37, three
 * categorical ones (proto, service, flag) and a label of 5 classes, NSL-KDD's
 * shape, with a fitted-looking encoder built from its JSON. */
#ifndef SF_TESTS_SMALL_MODEL_H
#define SF_TESTS_SMALL_MODEL_H

#include <jansson.h>
#include <stdio.h>

#include "table/encoder.h"
#include "table/schema.h"

#define SMALL_NNUM    38
#define SMALL_CLASSES 5

static sf_schema_t *small_schema(void) {
        json_t *cols = json_array();
        char name[16], err[256];
        for (int i = 0; i < SMALL_NNUM; i++) {
                snprintf(name, sizeof(name), "n%d", i);
                json_array_append_new(cols, json_pack("{s:s, s:s}", "name", name, "type", "numeric"));
        }
        const char *cat[] = {"proto", "service", "flag"};
        for (int i = 0; i < 3; i++)
                json_array_append_new(cols, json_pack("{s:s, s:s}", "name", cat[i], "type", "categorical"));
        json_array_append_new(cols, json_pack("{s:s, s:s, s:[s,s,s,s,s]}", "name", "label", "type", "label",
                                              "classes", "normal", "DoS", "Probe", "R2L", "U2R"));
        json_t *root = json_pack("{s:s, s:b, s:o}", "name", "small", "header", 0, "columns", cols);
        sf_schema_t *s = sf_schema_from_json(root, "small schema", err, sizeof(err));
        if (!s) printf("#   schema: %s\n", err);
        json_decref(root);
        return s;
}

/* The encoder: vocabularies proto[0..n_proto) of {"icmp","tcp","udp"}, the
 * first n_service of {"ftp","http","private","smtp"}, the first n_flag of
 * {"REJ","S0","SF"}; mean i * mean_step, std 1 + i * std_step. */
static sf_encoder_t *small_encoder(const sf_schema_t *schema, int n_service, int n_flag, float mean_step,
                                   float std_step) {
        static const char *const service[] = {"ftp", "http", "private", "smtp"};
        static const char *const flag[] = {"REJ", "S0", "SF"};
        json_t *num = json_array(), *svc = json_array(), *flg = json_array();
        char name[16], err[256];
        for (int i = 0; i < SMALL_NNUM; i++) {
                snprintf(name, sizeof(name), "n%d", i);
                json_array_append_new(num,
                                      json_pack("{s:s, s:f, s:f, s:b}", "column", name, "mean",
                                                (double)(mean_step * (float)i), "std",
                                                (double)(1.0f + std_step * (float)i), "missing_flag", 0));
        }
        for (int i = 0; i < n_service; i++) json_array_append_new(svc, json_string(service[i]));
        for (int i = 0; i < n_flag; i++) json_array_append_new(flg, json_string(flag[i]));
        json_t *root = json_pack("{s:i, s:o, s:[{s:s, s:[s,s,s]}, {s:s, s:o}, {s:s, s:o}]}", "inputs",
                                 SMALL_NNUM + 3 + n_service + n_flag, "numeric", num, "categorical", "column",
                                 "proto", "vocabulary", "icmp", "tcp", "udp", "column", "service",
                                 "vocabulary", svc, "column", "flag", "vocabulary", flg);
        sf_encoder_t *enc = sf_encoder_from_json(root, schema, "small encoder", err, sizeof(err));
        if (!enc) printf("#   encoder: %s\n", err);
        json_decref(root);
        return enc;
}

#endif
