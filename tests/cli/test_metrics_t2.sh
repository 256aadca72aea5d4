# test_metrics.sh again with every scorer running --threads 2. Its stalled
# scorer reads a topic of one partition: one thread stalls while the other
# idles and beats, and /healthz must still go 503 (the beat is the oldest
# of the threads' beats).
SCORE_THREADS=2
. "$SF_ROOT/tests/cli/test_metrics.sh"
