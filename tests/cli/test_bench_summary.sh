# bench/summary, the table `make bench` ends with: met, NOT met, not
# measured and no target, from the ratio lines of bench/ratio.h (once, on
# the normal build: it is a script).
. "$SF_ROOT/tests/lib.sh"

if [ "$SF_SANITIZED" = 1 ]; then
  skip "bench summary" "checked once, on the normal build"
  exit 0
fi
f=$SF_TMP/ratios
{
  printf 'RATIO\tabove\t2.00 M records/s\tanchor 1.00 M records/s\t2.00\t1\n'
  printf 'RATIO\tequal\t0.90 k records/s\tfloor 1.00 k records/s\t0.90\t0.9\n'
  printf 'RATIO\tbelow\t0.123 s/epoch\tPyTorch 1.387 s/epoch\t11.31\t20\n'
  printf 'some other line a benchmark printed\n'
  printf 'RATIO\tnoanchor\t0.100 s/epoch\tPyTorch did not start (python3-torch)\t-\t20\n'
  printf 'RATIO\tnotarget\t59.3 k records/s\tPython 26.9 k records/s\t2.20\t-\n'
} >"$f"
run "$SF_ROOT/bench/summary" "$f"
check "summary exits 0" [ "$rc" -eq 0 ]
check "a header and a rule, then one row per ratio line" [ "$(wc -l <<<"$out")" -eq 7 ]
check_grep "header" '^\| measure +\| StreamFlow +\| anchor +\| +ratio \| target +\| met +\|$' "$out"
check_grep "above its target: met" '^\| above +\| 2\.00 M records/s +\| anchor 1\.00 M records/s +\| +2\.00x \| >= 1x +\| met +\|$' "$out"
check_grep "equal to its target: met" '^\| equal .*\| +0\.90x \| >= 0\.9x +\| met +\|$' "$out"
check_grep "below its target: NOT met" '^\| below .*\| +11\.31x \| >= 20x +\| NOT met +\|$' "$out"
check_grep "no ratio: not measured, and why" '^\| noanchor .*PyTorch did not start.*\| +- \| >= 20x +\| not measured \|$' "$out"
check_grep "no target" '^\| notarget .*\| +2\.20x \| - +\| \(no target\) +\|$' "$out"
check_nogrep "other lines left out" 'some other line' "$out"
check "every row as wide as the header" \
  [ "$(awk '{print length($0)}' <<<"$out" | sort -u | wc -l)" -eq 1 ]

run "$SF_ROOT/bench/summary" "$SF_TMP/missing"
check "a file that is not there: usage error" [ "$rc" -eq 2 ]
check_grep "says how to call it" 'usage: bench/summary' "$err"
done_testing
