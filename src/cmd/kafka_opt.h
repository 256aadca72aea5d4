/* The shared -b/-X/-F options of every Kafka command. A command reads its
 * options with sf_cmd_kafka_next, which applies these itself:
 *
 *   while ((c = sf_cmd_kafka_next(&p, kconf, &arg)) >= 0)
 *           switch (c) { ...the command's own options... }
 *   if (c == SF_OPT_EXIT) return 0;
 *   if (c == SF_OPT_USAGE) return 2;
 */
#ifndef SF_CMD_KAFKA_OPT_H
#define SF_CMD_KAFKA_OPT_H

#include "cmd/opt.h"
#include "kafka/kafka.h"

/* The shared option table ({0}-terminated); put it in sf_cmd_spec_t.tables
 * beside the command's own table. */
extern const sf_option_t sf_kafka_options[];

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

/* sf_opt_next for a Kafka command: applies every -b/-X/-F option to conf
 * (sf_cmd_kafka_opt) and returns the next of the command's own option keys
 * with its argument in *arg, or SF_OPT_END, or SF_OPT_EXIT after --help or
 * `-X list` printed, or SF_OPT_USAGE after a usage error was printed. */
int sf_cmd_kafka_next(sf_optparser_t *p, sf_kafka_conf_t *conf, const char **arg);

#endif
