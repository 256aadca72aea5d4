#include "cmd/kafka_opt.h"

#include <stdio.h>
#include <string.h>

const sf_option_t sf_kafka_options[] = {
        {"bootstrap", SF_KAFKA_OPT_BROKERS, "BROKERS",
         "Kafka bootstrap brokers (default $" SF_KAFKA_BROKERS_ENV " or " SF_KAFKA_DEFAULT_BROKERS ")"},
        {NULL, SF_KAFKA_OPT_PROP, "PROP=VALUE",
         "librdkafka property, repeatable; '-X list' lists them; secrets are better in a -F file"},
        {NULL, SF_KAFKA_OPT_FILE, "FILE", "librdkafka properties file (key=value lines, # comments)"},
        {0}};

void sf_cmd_kafka_hide(int key, const char *arg) {
        if (key != SF_KAFKA_OPT_PROP || !arg) return;
        const char *eq = strchr(arg, '=');
        if (!eq) {
                if (strcmp(arg, "list") != 0) sf_opt_wipe(arg);
                return;
        }
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
        if (sf_kafka_prop_is_secret(name)) sf_opt_wipe(eq + 1);
}

int sf_cmd_kafka_opt(const sf_cmd_spec_t *spec, sf_kafka_conf_t *conf, int key, const char *arg) {
        char errstr[512];
        sf_kafka_opt_result_t r = sf_kafka_conf_opt(conf, key, arg, stdout, errstr, sizeof(errstr));
        sf_cmd_kafka_hide(key, arg);
        if (r == SF_KAFKA_OPT_LISTED) return SF_OPT_EXIT;
        if (r == SF_KAFKA_OPT_USAGE) return sf_opt_usage(spec, "%s", errstr);
        return 0;
}

int sf_cmd_kafka_next(sf_optparser_t *p, sf_kafka_conf_t *conf, const char **arg) {
        int c;
        while ((c = sf_opt_next(p, arg)) >= 0 && sf_kafka_is_opt(c)) {
                int r = sf_cmd_kafka_opt(p->spec, conf, c, *arg);
                if (r != 0) return r;
        }
        return c;
}
