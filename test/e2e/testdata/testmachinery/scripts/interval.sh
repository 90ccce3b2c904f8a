# Records when this test ran, to its export folder, so that overlaps can be checked afterwards.
set -eu
start=$(date +%s%N)
sleep 2
end=$(date +%s%N)
echo "$start $end" > "$TM_EXPORT_PATH/interval"
