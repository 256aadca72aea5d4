/* Command-line options: the input, split at NUL bytes, is the argv of a
 * command with flags, options with arguments, long-only options and the
 * shared Kafka options. Parsing must end, hand back only pieces of argv,
 * and leave exactly the operands, in order, at argv[1..nops]. */
#include "cmd/kafka_opt.h"
#include "cmd/opt.h"
#include "harness.h"
#include "kafka/kafka.h"

#define MAX_ARGS 64

enum { OPT_LR = SF_OPT_LONG, OPT_FROM_BEGINNING };

static const sf_option_t options[] = {{"epochs", 'e', "N", "passes"},
                                      {"model", 'm', "FILE", "model file"},
                                      {"quiet", 'q', NULL, "less output"},
                                      {NULL, 'v', NULL, "more output"},
                                      {"lr", OPT_LR, "RATE", "learning rate"},
                                      {"from-beginning", OPT_FROM_BEGINNING, NULL, "read from the start"},
                                      {0}};
static const sf_cmd_spec_t spec = {
        "fuzz", "[FILE...]", "A command to parse options for.", {options, sf_kafka_options, NULL}};

/* Whether p points into one of the n strings of args. */
static int inside(const char *p, char *const *args, int n) {
        for (int i = 0; i < n; i++)
                if (p >= args[i] && p <= args[i] + strlen(args[i])) return 1;
        return 0;
}

static FILE *devnull;

/* Usage errors and --help print; keep them out of the fuzzer's log (glibc's
 * stdout and stderr are plain variables). */
static void quiet(int on) {
        static FILE *out, *err;
        if (on) {
                out = stdout, err = stderr;
                stdout = stderr = devnull;
        } else {
                stdout = out, stderr = err;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!devnull && !(devnull = fopen("/dev/null", "w"))) abort();
        char *buf = fuzz_cstr(data, size);
        char *orig[MAX_ARGS + 1], *argv[MAX_ARGS + 1];
        int argc = 0;
        orig[argc++] = "fuzz";
        for (char *p = buf; p < buf + size && argc < MAX_ARGS; p += strlen(p) + 1) orig[argc++] = p;
        orig[argc] = NULL;
        memcpy(argv, orig, sizeof(argv));

        sf_optparser_t p;
        sf_opt_init(&p, &spec, argc, argv);
        const char *arg;
        int c, steps = 0;
        for (;;) {
                quiet(1);
                c = sf_opt_next(&p, &arg);
                quiet(0);
                if (c < 0) break;
                FUZZ_CHECK(++steps <= 2 * argc + (int)size, "no end after %d options", steps);
                const sf_option_t *o = NULL;
                for (int t = 0; spec.tables[t] && !o; t++)
                        for (const sf_option_t *q = spec.tables[t]; q->key && !o; q++)
                                if (q->key == c) o = q;
                FUZZ_CHECK(o != NULL, "key %d is no option", c);
                FUZZ_CHECK(!o->arg == !arg, "option %d: argument %s", c, arg ? "given" : "missing");
                if (arg) FUZZ_CHECK(inside(arg, orig + 1, argc - 1), "the argument is not a piece of argv");
                long long n;
                double d;
                quiet(1);
                if (c == 'e') sf_opt_long(&spec, "--epochs", arg, 1, 1000000, &n);
                if (c == OPT_LR) sf_opt_double(&spec, "--lr", arg, 0, 10, &d);
                quiet(0);
        }
        FUZZ_CHECK(c == SF_OPT_END || c == SF_OPT_EXIT || c == SF_OPT_USAGE, "ended with %d", c);
        if (c == SF_OPT_END) {
                /* Every argument that is not an option or an option's
                 * argument is an operand, in the order given. */
                FUZZ_CHECK(p.nops <= argc - 1, "%d operands of %d arguments", p.nops, argc - 1);
                int j = 1;
                for (int i = 0; i < p.nops; i++) {
                        while (j < argc && orig[j] != argv[1 + i]) j++;
                        FUZZ_CHECK(j < argc, "operand %d is not an argument, or out of order", i + 1);
                        j++;
                }
                if (1 + p.nops < argc) FUZZ_CHECK(argv[1 + p.nops] == NULL, "operands not NULL-terminated");
        }
        free(buf);
        return 0;
}
