#include "cmd/kafka_opt.h"

int sf_cmd_kafka_opt(const sf_cmd_spec_t *spec, sf_kafka_conf_t *conf, int key, const char *arg) {
        char errstr[512];
        sf_kafka_opt_result_t r = sf_kafka_conf_opt(conf, key, arg, stdout, errstr, sizeof(errstr));
        if (r == SF_KAFKA_OPT_LISTED) return SF_OPT_EXIT;
        if (r == SF_KAFKA_OPT_USAGE) return sf_opt_usage(spec, "%s", errstr);
        return 0;
}
