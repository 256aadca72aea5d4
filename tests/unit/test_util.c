#include <stdlib.h>

#include "cmd/opt.h"
#include "test.h"
#include "util/util.h"

static void test_edit_distance(void) {
        static const struct {
                const char *a, *b;
                int d;
        } cases[] = {
                {"", "", 0},          {"train", "train", 0}, {"trian", "train", 2},
                {"tran", "train", 1}, {"", "abc", 3},        {"kitten", "sitting", 3},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++)
                CHECK_INT(sf_edit_distance(cases[i].a, cases[i].b), cases[i].d);
}

static void test_suggest(void) {
        const char *names[] = {"train", "evaluate", "predict", "broker", "score"};
        CHECK_STR(sf_suggest("trian", names, 5), "train");
        CHECK_STR(sf_suggest("evalute", names, 5), "evaluate");
        CHECK_STR(sf_suggest("pred", names, 5), "predict");
        CHECK(sf_suggest("zzzzzz", names, 5) == NULL);
        CHECK(sf_suggest("x", names, 5) == NULL);
}

static void test_suggest_icase(void) {
        const char *classes[] = {"normal", "DoS", "Probe", "R2L", "U2R"};
        /* Too far for sf_suggest (2 edits in 3 letters), right but for case. */
        CHECK(sf_suggest("dos", classes, 5) == NULL);
        CHECK_STR(sf_suggest_icase("dos", classes, 5), "DoS");
        CHECK_STR(sf_suggest_icase("r2l", classes, 5), "R2L");
        CHECK_STR(sf_suggest_icase("NORMAL", classes, 5), "normal");
        CHECK_STR(sf_suggest_icase("Prob", classes, 5), "Probe");
        CHECK(sf_suggest_icase("attack", classes, 5) == NULL);
}

enum { OPT_EPOCHS = SF_OPT_LONG, OPT_JSON };
static const sf_option_t opts[] = {
        {"epochs", OPT_EPOCHS, "N", "epochs"},
        {"json", OPT_JSON, NULL, "json"},
        {"brokers", 'b', "LIST", "brokers"},
        {NULL, 'e', NULL, "exit at end"},
        {0},
};
static const sf_cmd_spec_t spec = {"t", "[FILE...]", "test", {opts, NULL}};

static void test_opt_parse(void) {
        char *argv[] = {"t",  "a.csv", "--epochs", "5",      "-bhost:1", "--json",
                        "-e", "b.csv", "--",       "--json", NULL};
        int argc = 10;
        sf_optparser_t p;
        const char *arg;
        int c, epochs = 0, json = 0, e = 0;
        const char *brokers = NULL;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_EPOCHS) epochs = atoi(arg);
                if (c == OPT_JSON) json++;
                if (c == 'b') brokers = arg;
                if (c == 'e') e++;
        }
        CHECK_INT(c, SF_OPT_END);
        CHECK_INT(epochs, 5);
        CHECK_INT(json, 1);
        CHECK_INT(e, 1);
        CHECK_STR(brokers, "host:1");
        CHECK_INT(p.nops, 3);
        CHECK_STR(argv[1], "a.csv");
        CHECK_STR(argv[2], "b.csv");
        CHECK_STR(argv[3], "--json");
}

static void test_opt_errors(void) {
        char *bad[] = {"t", "--epoch", "3", NULL};
        char *missing[] = {"t", "--epochs", NULL};
        char *flagarg[] = {"t", "--json=1", NULL};
        char *eq[] = {"t", "--epochs=7", NULL};
        sf_optparser_t p;
        const char *arg;
        sf_opt_init(&p, &spec, 3, bad);
        CHECK_INT(sf_opt_next(&p, &arg), SF_OPT_USAGE);
        sf_opt_init(&p, &spec, 2, missing);
        CHECK_INT(sf_opt_next(&p, &arg), SF_OPT_USAGE);
        sf_opt_init(&p, &spec, 2, flagarg);
        CHECK_INT(sf_opt_next(&p, &arg), SF_OPT_USAGE);
        sf_opt_init(&p, &spec, 2, eq);
        CHECK_INT(sf_opt_next(&p, &arg), OPT_EPOCHS);
        CHECK_STR(arg, "7");

        long long v = 0;
        double d = 0;
        CHECK_INT(sf_opt_long(&spec, "--epochs", "12", 1, 100, &v), 0);
        CHECK_INT(v, 12);
        CHECK_INT(sf_opt_long(&spec, "--epochs", "0", 1, 100, &v), -1);
        CHECK_INT(sf_opt_long(&spec, "--epochs", "12x", 1, 100, &v), -1);
        CHECK_INT(sf_opt_double(&spec, "--lr", "1e-3", 0, 1, &d), 0);
        CHECK_NEAR(d, 1e-3, 1e-15);
        CHECK_INT(sf_opt_double(&spec, "--lr", "nan", 0, 1, &d), -1);
}

/* Options from STREAMFLOW_<NAME>: the command line wins, flags take 1/0,
 * short-only options have no variable, and only with p.env set. */
static void test_opt_env(void) {
        char name[64];
        sf_opt_env_name("exactly-once", name, sizeof(name));
        CHECK_STR(name, "STREAMFLOW_EXACTLY_ONCE");
        setenv("STREAMFLOW_EPOCHS", "9", 1);
        setenv("STREAMFLOW_BROKERS", "env:1", 1);
        setenv("STREAMFLOW_JSON", "1", 1);
        setenv("STREAMFLOW_E", "1", 1);
        char *argv[] = {"t", "-bcli:2", "x.csv", NULL};
        sf_optparser_t p;
        const char *arg;
        int c, epochs = 0, json = 0, e = 0, nb = 0;
        const char *brokers = NULL;
        sf_opt_init(&p, &spec, 3, argv);
        p.env = 1;
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_EPOCHS) epochs = atoi(arg);
                if (c == OPT_JSON) json++;
                if (c == 'b') brokers = arg, nb++;
                if (c == 'e') e++;
        }
        CHECK_INT(c, SF_OPT_END);
        CHECK_INT(sf_opt_next(&p, &arg), SF_OPT_END);
        CHECK_INT(epochs, 9);
        CHECK_INT(json, 1);
        CHECK_INT(e, 0);
        CHECK_INT(nb, 1);
        CHECK_STR(brokers, "cli:2");
        CHECK_INT(p.nops, 1);
        CHECK_STR(argv[1], "x.csv");
        /* a flag set to 0 stays off; an empty variable is unset */
        setenv("STREAMFLOW_JSON", "off", 1);
        setenv("STREAMFLOW_EPOCHS", "", 1);
        char *none[] = {"t", NULL};
        sf_opt_init(&p, &spec, 1, none);
        p.env = 1;
        json = epochs = 0;
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                if (c == OPT_EPOCHS) epochs++;
                if (c == OPT_JSON) json++;
        }
        CHECK_INT(c, SF_OPT_END);
        CHECK_INT(json, 0);
        CHECK_INT(epochs, 0);
        /* neither 1 nor 0: a usage error */
        setenv("STREAMFLOW_JSON", "maybe", 1);
        sf_opt_init(&p, &spec, 1, none);
        p.env = 1;
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
        }
        CHECK_INT(c, SF_OPT_USAGE);
        /* without p.env the environment is not read */
        setenv("STREAMFLOW_JSON", "1", 1);
        sf_opt_init(&p, &spec, 1, none);
        json = 0;
        while ((c = sf_opt_next(&p, &arg)) >= 0)
                if (c == OPT_JSON) json++;
        CHECK_INT(json, 0);
        unsetenv("STREAMFLOW_EPOCHS");
        unsetenv("STREAMFLOW_BROKERS");
        unsetenv("STREAMFLOW_JSON");
        unsetenv("STREAMFLOW_E");
}

int main(void) {
        RUN(test_edit_distance);
        RUN(test_suggest);
        RUN(test_suggest_icase);
        RUN(test_opt_parse);
        RUN(test_opt_errors);
        RUN(test_opt_env);
        return TEST_DONE();
}
