#include "service/expo.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sf_expo_init(sf_expo_t *e) {
        memset(e, 0, sizeof(*e));
}

void sf_expo_free(sf_expo_t *e) {
        free(e->buf);
        memset(e, 0, sizeof(*e));
}

/* Makes room for extra more bytes plus the NUL. Returns 0 or -1. */
static int reserve(sf_expo_t *e, size_t extra) {
        if (e->oom) return -1;
        if (e->len + extra + 1 <= e->cap) return 0;
        size_t cap = e->cap ? e->cap : 4096;
        while (cap < e->len + extra + 1) cap *= 2;
        char *p = realloc(e->buf, cap);
        if (!p) {
                e->oom = 1;
                return -1;
        }
        e->buf = p;
        e->cap = cap;
        return 0;
}

static void put(sf_expo_t *e, const char *s, size_t n) {
        if (reserve(e, n) != 0) return;
        memcpy(e->buf + e->len, s, n);
        e->len += n;
        e->buf[e->len] = '\0';
}

static void puts_(sf_expo_t *e, const char *s) {
        put(e, s, strlen(s));
}

void sf_expo_printf(sf_expo_t *e, const char *fmt, ...) {
        char small[256];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0) {
                e->oom = 1;
                return;
        }
        if ((size_t)n < sizeof(small)) {
                put(e, small, (size_t)n);
                return;
        }
        if (reserve(e, (size_t)n) != 0) return;
        va_start(ap, fmt);
        vsnprintf(e->buf + e->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        e->len += (size_t)n;
}

void sf_expo_escape(sf_expo_t *e, const char *s, int help) {
        const char *run = s;
        for (; *s; s++) {
                const char *rep = NULL;
                if (*s == '\\')
                        rep = "\\\\";
                else if (*s == '\n')
                        rep = "\\n";
                else if (*s == '"' && !help)
                        rep = "\\\"";
                if (!rep) continue;
                put(e, run, (size_t)(s - run));
                puts_(e, rep);
                run = s + 1;
        }
        put(e, run, (size_t)(s - run));
}

void sf_expo_family(sf_expo_t *e, const char *name, const char *type, const char *help) {
        sf_expo_printf(e, "# HELP %s ", name);
        sf_expo_escape(e, help, 1);
        sf_expo_printf(e, "\n# TYPE %s %s\n", name, type);
}

/* name{a="x",b="y"[,le="..."]} with a space after. */
static void series(sf_expo_t *e, const char *name, const char *suffix, const char *const *labels,
                   const char *le) {
        puts_(e, name);
        puts_(e, suffix);
        if ((labels && labels[0]) || le) {
                int first = 1;
                put(e, "{", 1);
                for (int i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
                        sf_expo_printf(e, "%s%s=\"", first ? "" : ",", labels[i]);
                        sf_expo_escape(e, labels[i + 1], 0);
                        put(e, "\"", 1);
                        first = 0;
                }
                if (le) sf_expo_printf(e, "%sle=\"%s\"", first ? "" : ",", le);
                put(e, "}", 1);
        }
        put(e, " ", 1);
}

static void format_double(char *buf, size_t size, double v) {
        if (isnan(v))
                snprintf(buf, size, "NaN");
        else if (isinf(v))
                snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
        else
                snprintf(buf, size, "%.15g", v);
}

void sf_expo_double(sf_expo_t *e, const char *name, const char *const *labels, double value) {
        char num[40];
        format_double(num, sizeof(num), value);
        series(e, name, "", labels, NULL);
        puts_(e, num);
        put(e, "\n", 1);
}

void sf_expo_u64(sf_expo_t *e, const char *name, const char *const *labels, uint64_t value) {
        series(e, name, "", labels, NULL);
        sf_expo_printf(e, "%llu\n", (unsigned long long)value);
}

void sf_expo_hist_init(sf_expo_hist_t *h, const double *bounds, int n) {
        memset(h, 0, sizeof(*h));
        h->bounds = bounds;
        h->n = n < SF_EXPO_MAX_BOUNDS ? n : SF_EXPO_MAX_BOUNDS;
}

void sf_expo_hist_observe(sf_expo_hist_t *h, double v) {
        if (isnan(v)) return;
        int i = 0;
        while (i < h->n && v > h->bounds[i]) i++;
        h->counts[i]++;
        h->sum += v;
}

void sf_expo_hist(sf_expo_t *e, const char *name, const char *const *labels, const sf_expo_hist_t *h) {
        uint64_t cum = 0;
        char le[40];
        for (int i = 0; i < h->n; i++) {
                cum += h->counts[i];
                format_double(le, sizeof(le), h->bounds[i]);
                series(e, name, "_bucket", labels, le);
                sf_expo_printf(e, "%llu\n", (unsigned long long)cum);
        }
        cum += h->counts[h->n];
        series(e, name, "_bucket", labels, "+Inf");
        sf_expo_printf(e, "%llu\n", (unsigned long long)cum);
        char num[40];
        format_double(num, sizeof(num), h->sum);
        series(e, name, "_sum", labels, NULL);
        puts_(e, num);
        put(e, "\n", 1);
        series(e, name, "_count", labels, NULL);
        sf_expo_printf(e, "%llu\n", (unsigned long long)cum);
}
