/* Command-line options for every subcommand: one table per command, GNU
 * style (--name VALUE, --name=VALUE, -x VALUE, -xVALUE, -- ends options),
 * with `--help` built in and a "did you mean" on unknown options. This is
 * CLI code, so it prints its own usage errors to stderr. */
#ifndef SF_CMD_OPT_H
#define SF_CMD_OPT_H

#include <stddef.h>
#include <stdint.h>

/* Keys for long-only options start here; short options use their letter. */
#define SF_OPT_LONG 256

typedef struct sf_option {
        const char *name; /* long name without "--", or NULL for short-only */
        int key;          /* short letter, or SF_OPT_LONG + n */
        const char *arg;  /* NULL for a flag, else the argument's name ("N") */
        const char *help; /* one line */
} sf_option_t;

typedef struct sf_cmd_spec {
        const char *name;    /* "train" */
        const char *usage;   /* operands after [options], e.g. "[FILE...]" */
        const char *summary; /* what the command does, printed by --help */
        /* Up to 4 option tables, each ending in {0}; NULL-terminated. A
         * shared table (the Kafka options) can sit beside the command's. */
        const sf_option_t *tables[5];
} sf_cmd_spec_t;

enum {
        SF_OPT_END = -1,   /* options done: operands are in argv[1..argc) */
        SF_OPT_EXIT = -2,  /* --help printed: the command returns 0 */
        SF_OPT_USAGE = -3, /* usage error printed: the command returns 2 */
};

typedef struct sf_optparser {
        const sf_cmd_spec_t *spec;
        int argc;
        char **argv;
        int next; /* next argv index to read */
        int nops; /* operands collected so far, moved to argv[1..nops] */
        int dashdash;
        const char *pending; /* rest of a bundle of short flags ("-qv") */
        /* Set to 1 after sf_opt_init: every long option not on the command
         * line may come from the variable STREAMFLOW_<NAME> (upper case, '-'
         * as '_'); a flag is on for 1/true/yes/on, off for 0/false/no/off. */
        int env;
        int seen[64]; /* keys given on the command line (the first 64) */
        int nseen;
        int phase;                /* 0: the command line, 1: the environment, 2: done */
        int env_table, env_index; /* where the environment pass is */
} sf_optparser_t;

/* Starts parsing argv (argv[0] is the command name). */
void sf_opt_init(sf_optparser_t *p, const sf_cmd_spec_t *spec, int argc, char **argv);

/* Returns the next option's key with its argument in *arg (NULL for a
 * flag), or one of SF_OPT_END / SF_OPT_EXIT / SF_OPT_USAGE. With p->env,
 * once the command line is read, the options it did not give come from
 * their STREAMFLOW_<NAME> variables (an empty one counts as unset). After
 * SF_OPT_END the operands, in order, are argv[1..*nargs] — the parser
 * moves them to the front of argv; *nargs is p->nops. */
int sf_opt_next(sf_optparser_t *p, const char **arg);

/* Overwrites an option argument that holds a secret with spaces, so that
 * it no longer shows in ps or /proc/PID/cmdline (as curl does for -u). arg
 * must point into argv, as the arguments sf_opt_next returns do; copy the
 * value first. NULL is a no-op. */
void sf_opt_wipe(const char *arg);

/* "STREAMFLOW_EXACTLY_ONCE" for "exactly-once", into buf. */
void sf_opt_env_name(const char *option, char *buf, size_t size);

/* Prints `usage: streamflow NAME ...` and the option tables to stdout. */
void sf_opt_help(const sf_cmd_spec_t *spec);

/* Usage error for this command: prints "streamflow NAME: <msg>" and a hint
 * to stderr. Returns SF_OPT_USAGE so callers can `return sf_opt_usage(...)`. */
int sf_opt_usage(const sf_cmd_spec_t *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a numeric option argument within [min, max]; on failure prints a
 * usage error naming the option and returns -1. */
int sf_opt_long(const sf_cmd_spec_t *spec, const char *opt, const char *arg, long long min, long long max,
                long long *out);
int sf_opt_double(const sf_cmd_spec_t *spec, const char *opt, const char *arg, double min, double max,
                  double *out);

#endif
