#!/bin/sh
# seedvr: the one command tools/install.sh puts on PATH, as PREFIX/bin/seedvr.
#   seedvr COMMAND [ARGS]   runs PREFIX/libexec/seedvr/COMMAND (dashes read as
#                           underscores: prepare-text-embeddings runs the
#                           prepare_text_embeddings tool) with ARGS
#   seedvr [help | --help]  lists the commands; seedvr help COMMAND = COMMAND --help
#   seedvr --version        the git describe of the installed build
# Tools are exec'd, so their argv, exit status and signals (torchrun's SIGTERM
# under `torchrun --no-python seedvr train ...`) are theirs.
set -eu

version="@VERSION@"  # filled in by tools/install.sh
libexec="$(dirname "$(readlink -f "$0")")/../libexec/seedvr"

# What each tool does, for the command list: the one place to describe a tool
# added to tools/BUILD.bazel (install.sh installs it either way;
# //tests/tools:install_test fails until it has its line here).
describe() {
  case "$1" in
    train) echo "adversarial post-training (APT): one process, or one per GPU under torchrun" ;;
    infer) echo "restore videos and images with trained weights" ;;
    prepare_text_embeddings) echo "write the text-embedding file training and inference read" ;;
    estimate_memory) echo "GPU memory a training config needs, and how many cards fit it" ;;
    vae) echo "run the causal video VAE: fixture parity, encode, decode" ;;
    dit_forward) echo "run the DiT on one batch in the parity-fixture format" ;;
    make_demo_data) echo "write a small demo video dataset" ;;
    train_vae) echo "train the causal video VAE to reconstruct videos (the first stage of a run from scratch)" ;;
    degrade) echo "write the LQ video training would synthesise from an HQ video" ;;
  esac
}

list_commands() {
  for tool in "$libexec"/*; do
    [ -x "$tool" ] || continue
    name="$(basename "$tool")"
    printf '  %-25s %s\n' "$(echo "$name" | tr _ -)" "$(describe "$name")"
  done
}

usage() {
  echo "usage: seedvr COMMAND [ARGS]    (seedvr COMMAND --help lists its options)"
  echo
  echo "commands:"
  list_commands
}

case "${1:-help}" in
  help | --help | -h)
    if [ $# -lt 2 ]; then
      usage
      exit 0
    fi
    set -- "$2" --help
    ;;
  --version)
    echo "seedvr $version"
    exit 0
    ;;
esac

sub="$1"
shift
tool="$libexec/$(echo "$sub" | tr - _)"
case "$sub" in
  */*) tool="" ;;  # a path is no command, even one reaching out of libexec
esac
if [ -z "$tool" ] || [ ! -f "$tool" ] || [ ! -x "$tool" ]; then
  echo "seedvr: '$sub' is not a seedvr command" >&2
  usage >&2
  exit 2
fi
exec "$tool" "$@"
