/* One function per subcommand, each in src/cmd/<name>.c. argv[0] is the
 * command's name; the return value is the process exit code (0 success,
 * 1 runtime failure, 2 usage error). main.c lists them in its table. */
#ifndef SF_CMD_H
#define SF_CMD_H

int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_broker(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_yt_produce(int argc, char **argv);
int cmd_yt_consume(int argc, char **argv);
int cmd_schema(int argc, char **argv);

#endif
