# Creates the "environment": its name goes to the shared folder, a record of it to the export folder.
set -eu
env | grep '^TM_' | sort | sed 's/^/create-env: /'
echo "create-env: ENVIRONMENT_SIZE=$ENVIRONMENT_SIZE LEVEL=$LEVEL"
echo env-42 > "$TM_SHARED_PATH/environment"
printf '{"environment": "env-42", "size": "%s"}\n' "$ENVIRONMENT_SIZE" > "$TM_EXPORT_PATH/environment.json"
