#!/bin/sh
# The image's entrypoint: `intake`, `scheduling` or `reporting` runs that service in the
# foreground (exec: it gets SIGTERM directly and drains); anything else is a `qianshou`
# command (`qianshou reporting rebuild`, `qianshou dlq list`, ...).
set -eu
case "${1:-}" in
  intake|scheduling|reporting)
    service="$1"
    shift
    exec python -m "services.$service" "$@"
    ;;
  *)
    exec qianshou "$@"
    ;;
esac
