#!/usr/bin/env bash
# Prints how much of the time budget is left, as H:MM, or "Timer expired!" once it is used up.
# The deadline (seconds since the epoch) is written next to this script when the agent starts.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deadline="$(cat "$here/.ptb/deadline" 2>/dev/null)"
if [ -z "$deadline" ]; then
  echo "Timer not started yet."
  exit 1
fi
left=$(( deadline - $(date +%s) ))
if [ "$left" -le 0 ]; then
  echo "Timer expired!"
  exit 0
fi
echo "Remaining time (hours:minutes):"
printf '%d:%02d\n' $(( left / 3600 )) $(( (left % 3600) / 60 ))
