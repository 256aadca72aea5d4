# test_score.sh again with every scorer running --threads 2 (two consumer
# group members in one process, on topics of 3 partitions): one output per
# input offset, the DLQ, exactly-once, SIGTERM, a rerun that scores nothing.
SCORE_THREADS=2
. "$SF_ROOT/tests/cli/test_score.sh"
