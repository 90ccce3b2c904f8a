# Prints what the configuration gave this test, and the environment create-env shared.
set -eu
env | grep '^TM_' | sort | sed 's/^/check-config: /'
echo "check-config: LEVEL=$LEVEL DEFINITION_ONLY=$DEFINITION_ONLY GLOBAL_ONLY=$GLOBAL_ONLY STEP_ONLY=$STEP_ONLY"
echo "check-config: greeting=$greeting content=$(cat "$greeting")"
echo "check-config: environment=$(cat "$TM_SHARED_PATH/environment")"
echo "check-config: shoot server=$(grep -o 'https://[a-z.]*' "$TM_KUBECONFIG_PATH/shoot.config")"
sh scripts/interval.sh
