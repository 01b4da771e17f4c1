#!/usr/bin/env bash
# Logits parity of our Llama/Qwen2 decoder with a plain-PyTorch transcription of Hugging Face's forward (hf_reference.py),
# both directions, for each config in configs/. Exits non-zero if any max |difference| exceeds the tolerance.
#   tools/parity/run.sh [work-dir]        (needs: apt-get install -y python3-torch python3-numpy)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-$(mktemp -d)}"
tol=1e-4
py=/usr/bin/python3 # Debian's python, where python3-torch is installed (a pyenv python may come first on PATH)
"$py" -c 'import torch, numpy' 2>/dev/null || { echo "needs Debian's torch: apt-get install -y python3-torch python3-numpy" >&2; exit 2; }

dotnet build "$here/ParityDump/ParityDump.csproj" -c Release -nologo -v q -o "$work/bin" >/dev/null
ours() { dotnet "$work/bin/ParityDump.dll" "$@"; }
ref() { "$py" "$here/hf_reference.py" "$@"; }
ids="$here/ids.json"

# Prints one line per compared file and returns 1 if any difference exceeds the tolerance.
compare() { # label reference.f32 ours-prefix
  "$py" - "$@" "$tol" <<'PY'
import sys, numpy as np
label, ref, prefix, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
r = np.fromfile(ref, dtype="<f4")
bad = False
for path in ("train", "frozen", "masked"):
    o = np.fromfile(f"{prefix}.{path}.f32", dtype="<f4")
    assert o.shape == r.shape, (o.shape, r.shape)
    d = float(np.abs(o.astype(np.float64) - r).max())
    bad |= not d <= tol
    print(f"{label:<34} {path:<7} max|diff| {d:.3e}   (max|logit| {np.abs(r).max():.2f})  {'ok' if d <= tol else 'FAIL'}")
sys.exit(1 if bad else 0)
PY
}

status=0
for cfg in "$here"/configs/*.json; do
  name="$(basename "$cfg" .json)"
  # ours -> reference: our code makes and saves the folder; both compute logits from it.
  ours init --config "$cfg" --out "$work/$name-ours" --seed 1
  ours logits --model "$work/$name-ours" --ids "$ids" --out "$work/$name-ours.ours"
  ref logits --model "$work/$name-ours" --ids "$ids" --out "$work/$name-ours.ref.f32"
  compare "$name ours->reference" "$work/$name-ours.ref.f32" "$work/$name-ours.ours" || status=1
  # reference -> ours: the transcription makes and saves the folder; both compute logits from it.
  ref init --config "$cfg" --out "$work/$name-ref" --seed 2
  ref logits --model "$work/$name-ref" --ids "$ids" --out "$work/$name-ref.ref.f32"
  ours logits --model "$work/$name-ref" --ids "$ids" --out "$work/$name-ref.ours"
  compare "$name reference->ours" "$work/$name-ref.ref.f32" "$work/$name-ref.ours" || status=1
done
echo "tolerance $tol; files in $work"
[ "$status" = 0 ] && echo "parity: all cases within tolerance" || echo "parity: FAILED" >&2
exit "$status"
