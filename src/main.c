/* streamflow: real-time ML inference on Kafka. main() only dispatches:
 * every subcommand is a cmd_<name>() in src/cmd/, listed once below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/util.h"

typedef struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *help;
} command_t;

/* The order here is the order of `streamflow help`: learn, Kafka, watch,
 * score, then the help itself. */
static const command_t commands[] = {
        {"schema", cmd_schema,
         "Infer, check, fit or show the schema of a CSV or JSON data set (columns, types, classes)"},
        {"train", cmd_train, "Train a classifier on a table (NSL-KDD by default) and write the model file"},
        {"evaluate", cmd_evaluate, "Loss, accuracy, classification report and confusion matrix of a model"},
        {"predict", cmd_predict,
         "Classify CSV rows or JSON records from files or stdin, one JSON line per row"},
        {"export", cmd_export, "Write a model as an ONNX file, preprocessing included"},
        {"broker", cmd_broker, "Run an in-memory Kafka broker for development on 127.0.0.1:9092"},
        {"yt-produce", cmd_yt_produce, "Fetch YouTube video titles and comment likes into topic_yt"},
        {"yt-consume", cmd_yt_consume, "Aggregate likes per video from topic_yt in real time"},
        {"replay", cmd_replay, "Stream the records of CSV or JSON-lines files into a Kafka topic"},
        {"score", cmd_score, "Classify records from Kafka in real time"},
        {"help", cmd_help, "List the commands, or show one command's options"},
        {"version", cmd_version, "Print StreamFlow's version and its libraries' versions"},
};

static const command_t *find_command(const char *name) {
        for (size_t i = 0; i < SF_ARRAY_SIZE(commands); i++)
                if (strcmp(commands[i].name, name) == 0) return &commands[i];
        return NULL;
}

static void list_commands(FILE *out) {
        fprintf(out, "usage: streamflow <command> [options]\n\n"
                     "StreamFlow trains an intrusion classifier on NSL-KDD, streams YouTube\n"
                     "engagement through Kafka, and scores connections on Kafka in real time.\n\n"
                     "commands:\n");
        for (size_t i = 0; i < SF_ARRAY_SIZE(commands); i++)
                fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].help);
        fprintf(out, "\n'streamflow <command> --help' shows a command's options;\n"
                     "'streamflow --version' the versions in use.\n");
}

static int unknown_command(const char *name) {
        const char *names[SF_ARRAY_SIZE(commands)];
        for (size_t i = 0; i < SF_ARRAY_SIZE(commands); i++) names[i] = commands[i].name;
        const char *best = sf_suggest(name, names, SF_ARRAY_SIZE(commands));
        if (best)
                fprintf(stderr,
                        "streamflow: unknown command '%s'; did you mean '%s'? (see 'streamflow help')\n",
                        name, best);
        else
                fprintf(stderr, "streamflow: unknown command '%s' (see 'streamflow help')\n", name);
        return 2;
}

int cmd_help(int argc, char **argv) {
        if (argc < 2) {
                list_commands(stdout);
                return 0;
        }
        const command_t *cmd = find_command(argv[1]);
        if (!cmd) return unknown_command(argv[1]);
        char help[] = "--help";
        char *sub[] = {argv[1], help, NULL};
        return cmd->fn(2, sub);
}

/* OpenBLAS starts one worker thread per core when the library is loaded,
 * before main(), unless OPENBLAS_NUM_THREADS says otherwise. StreamFlow's
 * products are small and run on the calling thread (sf_nn_set_threads), yet
 * the idle worker keeps waking up and spinning in sched_yield: measured, about
 * 10% of `streamflow score`'s CPU. So the process runs itself again, once,
 * with OPENBLAS_NUM_THREADS=1 (same pid, same arguments). `train --threads N`
 * still gets N: openblas_set_num_threads starts more workers when asked. A
 * user's own OPENBLAS_NUM_THREADS is left as it is; where /proc/self/exe
 * cannot be run, the program simply goes on with the workers. */
static void single_blas_thread(char **argv) {
        char self[4096];
        if (getenv("OPENBLAS_NUM_THREADS")) return;
        /* The real path, not /proc/self/exe, so that ps and pkill still see
         * "streamflow". */
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0 || (size_t)n >= sizeof(self) - 1) return;
        self[n] = '\0';
        if (setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0) return;
        execv(self, argv);
        unsetenv("OPENBLAS_NUM_THREADS"); /* not run again: go on as we are */
}

int main(int argc, char **argv) {
        single_blas_thread(argv);
        if (argc < 2) {
                list_commands(stdout);
                return 0;
        }
        const char *name = argv[1];
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) name = "help";
        if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) name = "version";
        if (name[0] == '-') {
                fprintf(stderr, "streamflow: unknown option '%s' (see 'streamflow help')\n", name);
                return 2;
        }
        const command_t *cmd = find_command(name);
        if (!cmd) return unknown_command(name);
        argv[1] = (char *)cmd->name;
        return cmd->fn(argc - 1, argv + 1);
}
