# The six rows of the IWAE paper's table with the short configs, and how one
# is trained: sourced by scripts/iwae-table and scripts/ais-table, so both
# tables are of the same run directories.
# A row is "LAYERS OBJECTIVE K"; its run directory is OUT/LAYERSlayer-OBJECTIVE-kK.
IWAE_ROWS=("1 elbo 1" "1 iwae 5" "1 iwae 50" "2 elbo 1" "2 iwae 5" "2 iwae 50")

iwae_row_dir() {  # OUT LAYERS OBJECTIVE K
  echo "$1/${2}layer-$3-k$4"
}

# Trains the row into its directory unless it holds a finished run.
# DGM OUT LAYERS OBJECTIVE K [EXTRA --set ARGUMENTS...]
train_iwae_row() {
  local dgm=$1 out=$2 layers=$3 objective=$4 k=$5
  shift 5
  local run
  run=$(iwae_row_dir "$out" "$layers" "$objective" "$k")
  if [ ! -f "$run/best.pt" ]; then
    rm -rf "$run"
    "$dgm" train --quiet --config "configs/iwae_short_${layers}layer.yaml" \
      --set train.objective="$objective" --set train.k="$k" "$@" --out "$run" >&2
  fi
}
