#include "cmd/opt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

void sf_opt_init(sf_optparser_t *p, const sf_cmd_spec_t *spec, int argc, char **argv) {
        memset(p, 0, sizeof(*p));
        p->spec = spec;
        p->argc = argc;
        p->argv = argv;
        p->next = 1;
}

int sf_opt_usage(const sf_cmd_spec_t *spec, const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "streamflow %s: ", spec->name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, " (see 'streamflow %s --help')\n", spec->name);
        return SF_OPT_USAGE;
}

static const sf_option_t *find_long(const sf_cmd_spec_t *spec, const char *name, size_t len) {
        for (int t = 0; spec->tables[t]; t++)
                for (const sf_option_t *o = spec->tables[t]; o->key; o++)
                        if (o->name && strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
        return NULL;
}

static const sf_option_t *find_short(const sf_cmd_spec_t *spec, int c) {
        for (int t = 0; spec->tables[t]; t++)
                for (const sf_option_t *o = spec->tables[t]; o->key; o++)
                        if (o->key == c) return o;
        return NULL;
}

static int unknown_long(const sf_cmd_spec_t *spec, const char *name, size_t len) {
        const char *cands[128];
        size_t n = 0;
        char given[128];
        snprintf(given, sizeof(given), "%.*s", (int)(len < 100 ? len : 100), name);
        cands[n++] = "help";
        for (int t = 0; spec->tables[t]; t++)
                for (const sf_option_t *o = spec->tables[t]; o->key && n < SF_ARRAY_SIZE(cands); o++)
                        if (o->name) cands[n++] = o->name;
        const char *best = sf_suggest(given, cands, n);
        if (best) return sf_opt_usage(spec, "unknown option '--%s'; did you mean '--%s'?", given, best);
        return sf_opt_usage(spec, "unknown option '--%s'", given);
}

static void help_env(void);

static int next_argv(sf_optparser_t *p, const char **arg) {
        *arg = NULL;
        const sf_cmd_spec_t *spec = p->spec;

        if (p->pending && *p->pending) {
                int c = (unsigned char)*p->pending++;
                const sf_option_t *o = find_short(spec, c);
                if (!o || c >= SF_OPT_LONG) return sf_opt_usage(spec, "unknown option '-%c'", c);
                if (o->arg) {
                        if (*p->pending) {
                                *arg = p->pending;
                        } else if (p->next < p->argc) {
                                *arg = p->argv[p->next++];
                        } else {
                                return sf_opt_usage(spec, "option '-%c' needs an argument (%s)", c, o->arg);
                        }
                        p->pending = NULL;
                }
                return o->key;
        }
        p->pending = NULL;

        while (p->next < p->argc) {
                char *a = p->argv[p->next];
                if (p->dashdash || a[0] != '-' || a[1] == '\0') {
                        /* An operand: move it to the front. Every slot below
                         * p->next has been consumed, so this never clobbers
                         * anything still to be read. */
                        p->argv[1 + p->nops++] = a;
                        p->next++;
                        continue;
                }
                p->next++;
                if (strcmp(a, "--") == 0) {
                        p->dashdash = 1;
                        continue;
                }
                if (a[1] == '-') {
                        const char *name = a + 2, *eq = strchr(name, '=');
                        size_t len = eq ? (size_t)(eq - name) : strlen(name);
                        if (len == 4 && strncmp(name, "help", 4) == 0) {
                                sf_opt_help(spec);
                                if (p->env) help_env();
                                return SF_OPT_EXIT;
                        }
                        const sf_option_t *o = find_long(spec, name, len);
                        if (!o) return unknown_long(spec, name, len);
                        if (!o->arg) {
                                if (eq) return sf_opt_usage(spec, "option '--%s' takes no argument", o->name);
                                return o->key;
                        }
                        if (eq) {
                                *arg = eq + 1;
                        } else if (p->next < p->argc) {
                                *arg = p->argv[p->next++];
                        } else {
                                return sf_opt_usage(spec, "option '--%s' needs an argument (%s)", o->name,
                                                    o->arg);
                        }
                        return o->key;
                }
                if (a[1] == 'h' && a[2] == '\0' && !find_short(spec, 'h')) {
                        sf_opt_help(spec);
                        if (p->env) help_env();
                        return SF_OPT_EXIT;
                }
                p->pending = a + 1;
                return next_argv(p, arg);
        }
        /* Leave argv[nops + 1] as the usual NULL terminator when there is room. */
        if (1 + p->nops < p->argc) p->argv[1 + p->nops] = NULL;
        return SF_OPT_END;
}

void sf_opt_wipe(const char *arg) {
        /* argv's strings are the process's own, writable memory. */
        if (arg) memset((char *)arg, ' ', strlen(arg));
}

void sf_opt_env_name(const char *option, char *buf, size_t size) {
        size_t n = (size_t)snprintf(buf, size, "STREAMFLOW_");
        for (; *option && n + 1 < size; option++)
                buf[n++] = *option == '-' ? '_' : (char)toupper((unsigned char)*option);
        buf[n < size ? n : size - 1] = '\0';
}

static int seen(const sf_optparser_t *p, int key) {
        for (int i = 0; i < p->nseen; i++)
                if (p->seen[i] == key) return 1;
        return 0;
}

/* 1 on, 0 off, -1 neither. */
static int env_flag(const char *v) {
        static const char *const on[] = {"1", "true", "yes", "on"}, *const off[] = {"0", "false", "no",
                                                                                    "off"};
        for (size_t i = 0; i < SF_ARRAY_SIZE(on); i++) {
                if (strcasecmp(v, on[i]) == 0) return 1;
                if (strcasecmp(v, off[i]) == 0) return 0;
        }
        return -1;
}

/* The next option set in the environment and not on the command line, or
 * SF_OPT_END when there is none left. */
static int next_env(sf_optparser_t *p, const char **arg) {
        const sf_cmd_spec_t *spec = p->spec;
        for (; spec->tables[p->env_table]; p->env_table++, p->env_index = 0) {
                const sf_option_t *t = spec->tables[p->env_table];
                while (t[p->env_index].key) {
                        const sf_option_t *o = &t[p->env_index++];
                        if (!o->name || seen(p, o->key)) continue;
                        char var[96];
                        sf_opt_env_name(o->name, var, sizeof(var));
                        const char *v = getenv(var);
                        if (!v || !*v) continue;
                        if (o->arg) {
                                *arg = v;
                                return o->key;
                        }
                        int on = env_flag(v);
                        if (on < 0)
                                return sf_opt_usage(spec, "%s=%s: --%s is a flag, give 1 or 0", var, v,
                                                    o->name);
                        if (on) return o->key;
                }
        }
        p->phase = 2;
        return SF_OPT_END;
}

int sf_opt_next(sf_optparser_t *p, const char **arg) {
        if (p->phase == 0) {
                int c = next_argv(p, arg);
                if (c >= 0 && p->nseen < (int)SF_ARRAY_SIZE(p->seen)) p->seen[p->nseen++] = c;
                if (c != SF_OPT_END) return c;
                p->phase = p->env ? 1 : 2;
        }
        *arg = NULL;
        if (p->phase == 2) return SF_OPT_END;
        return next_env(p, arg);
}

void sf_opt_help(const sf_cmd_spec_t *spec) {
        printf("usage: streamflow %s [options]%s%s\n", spec->name, spec->usage ? " " : "",
               spec->usage ? spec->usage : "");
        if (spec->summary) printf("\n%s\n", spec->summary);
        printf("\noptions:\n");
        for (int t = 0; spec->tables[t]; t++) {
                for (const sf_option_t *o = spec->tables[t]; o->key; o++) {
                        char left[96];
                        int n = 0;
                        if (o->key < SF_OPT_LONG)
                                n += snprintf(left + n, sizeof(left) - n, "-%c%s", o->key,
                                              o->name ? ", " : "");
                        else
                                n += snprintf(left + n, sizeof(left) - n, "    ");
                        if (o->name) n += snprintf(left + n, sizeof(left) - n, "--%s", o->name);
                        if (o->arg) snprintf(left + n, sizeof(left) - n, " %s", o->arg);
                        printf("  %-26s %s\n", left, o->help ? o->help : "");
                }
        }
        printf("  %-26s %s\n", "-h, --help", "show this help");
}

static void help_env(void) {
        printf("\nEvery long option can also be set in the environment as STREAMFLOW_<OPTION>, upper\n"
               "case with '_' for '-' (STREAMFLOW_GROUP=scorer, STREAMFLOW_METRICS=0.0.0.0:9464; a flag\n"
               "takes 1 or 0: STREAMFLOW_EXACTLY_ONCE=1); the command line wins. librdkafka properties\n"
               "have no variables: put them, secrets included, in a file for -F.\n");
}

int sf_opt_long(const sf_cmd_spec_t *spec, const char *opt, const char *arg, long long min, long long max,
                long long *out) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(arg, &end, 10);
        if (errno || end == arg || *end || v < min || v > max) {
                sf_opt_usage(spec, "%s expects an integer from %lld to %lld, got '%s'", opt, min, max, arg);
                return -1;
        }
        *out = v;
        return 0;
}

int sf_opt_double(const sf_cmd_spec_t *spec, const char *opt, const char *arg, double min, double max,
                  double *out) {
        char *end = NULL;
        errno = 0;
        double v = strtod(arg, &end);
        if (errno || end == arg || *end || !isfinite(v) || v < min || v > max) {
                sf_opt_usage(spec, "%s expects a number from %g to %g, got '%s'", opt, min, max, arg);
                return -1;
        }
        *out = v;
        return 0;
}
