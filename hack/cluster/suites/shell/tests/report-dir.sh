#!/bin/sh
# Passes when the plugin exported the report directory and it is writable.
echo "reports go to $TESTRUN_REPORT_DIR"
[ -n "$TESTRUN_REPORT_DIR" ] && [ -w "$TESTRUN_REPORT_DIR" ]
