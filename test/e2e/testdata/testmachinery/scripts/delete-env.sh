# Deletes the "environment" create-env shared; TM_PHASE says it runs in the exit handler.
set -eu
echo "delete-env: TM_PHASE=$TM_PHASE TM_TESTRUN_ID=$TM_TESTRUN_ID environment=$(cat "$TM_SHARED_PATH/environment")"
echo "deleted" > "$TM_EXPORT_PATH/deleted"
