#!/usr/bin/env bash
# Shows that a change leaves every shipped scenario's outputs byte-identical.
#
#   scripts/same-outputs.sh OLD_BINARY NEW_BINARY [extra run flags...]
#
# Runs every scenarios/*.toml with both binaries on the CPU backend (the f64 reference, so
# the comparison does not depend on an adapter), with the charts (--plot, SVG), and compares
# every file each run writes and the report it prints. run.json's "timings" block is the one
# part that may differ (wall-clock seconds); it is dropped before the comparison.
#
# Build the old binary from the commit before the change, e.g.
#   git worktree add /tmp/old HEAD~1 && (cd /tmp/old && cargo build --release)
# Exit status: 0 when everything matched, 1 when anything differed, 2 on bad usage.
set -euo pipefail

if [ $# -lt 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
    echo "usage: $0 OLD_BINARY NEW_BINARY [extra run flags...]" >&2
    exit 2
fi
old=$1
new=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

drop_timings() {
    python3 - "$1" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    doc = json.load(f)
doc.pop("timings", None)
with open(path, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True)
EOF
}

status=0
for scenario in "$here"/scenarios/*.toml; do
    name=$(basename "$scenario" .toml)
    for side in old new; do
        bin=$old
        [ "$side" = new ] && bin=$new
        out="$work/$side/$name"
        "$bin" run "$scenario" --backend cpu --plot --out "$out" "$@" >"$work/$side-$name.report" 2>"$work/$side-$name.err"
        drop_timings "$out/run.json"
        # The report names the output folder, which differs by side (report.md's command too).
        sed -i "s#$out#OUT#g" "$work/$side-$name.report"
        [ -f "$out/report.md" ] && sed -i "s#$out#OUT#g" "$out/report.md"
    done
    if diff -r "$work/old/$name" "$work/new/$name" >/dev/null &&
        cmp -s "$work/old-$name.report" "$work/new-$name.report"; then
        echo "same       $name ($(ls "$work/new/$name" | wc -l) files and the report)"
    else
        echo "DIFFERENT  $name:"
        diff -rq "$work/old/$name" "$work/new/$name" | sed 's/^/    /' || true
        cmp "$work/old-$name.report" "$work/new-$name.report" | sed 's/^/    report: /' || true
        status=1
    fi
done
exit $status
