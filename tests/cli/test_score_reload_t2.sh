# test_score_reload.sh again with every scorer running --threads 2: a
# reload (SIGHUP, --model-watch) switches both threads between two of their
# batches, every partition ends with the last model, nothing is scored
# twice or by a freed model.
SCORE_THREADS=2
. "$SF_ROOT/tests/cli/test_score_reload.sh"
