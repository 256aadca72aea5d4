/* The shared -b/-X/-F options of every Kafka command, as one call in the
 * command's option loop:
 *
 *   if (sf_kafka_is_opt(c)) {
 *           int r = sf_cmd_kafka_opt(&spec, kconf, c, arg);
 *           if (r == SF_OPT_EXIT) { rc = 0; goto out; }
 *           if (r == SF_OPT_USAGE) { rc = 2; goto out; }
 *           continue;
 *   }
 */
#ifndef SF_CMD_KAFKA_OPT_H
#define SF_CMD_KAFKA_OPT_H

#include "cmd/opt.h"
#include "kafka/kafka.h"

/* Applies a -b/-X/-F option to conf. Returns 0 when applied, SF_OPT_EXIT
 * after `-X list` printed librdkafka's properties to stdout, SF_OPT_USAGE
 * after printing a usage error that names the property or file:line.
 * arg points into argv: the value of a secret -X property is wiped from it
 * (sf_cmd_kafka_hide). */
int sf_cmd_kafka_opt(const sf_cmd_spec_t *spec, sf_kafka_conf_t *conf, int key, const char *arg);

/* After a -X option was applied: wipes from argv (sf_opt_wipe) the value of
 * a property whose name says it is secret (sf_kafka_prop_is_secret), or the
 * whole argument when it has no '='. Other options are left alone. */
void sf_cmd_kafka_hide(int key, const char *arg);

#endif
