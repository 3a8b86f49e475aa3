#!/bin/sh
# workerd, with what it writes to stdout (the worker's log lines, one JSON line per request)
# sent to /dev/null instead of to Miniflare, which would otherwise parse every line in the
# benchmark's own Node process, on the same two cores as the workers under load (see
# bench/common.mjs, startWorker's `quiet`). Its stderr still goes to Miniflare.
exec "$SIVO_WORKERD_BIN" "$@" > /dev/null
