# Every libFuzzer target replays its stored inputs as a regression: the seed
# corpus (tests/fuzz/corpus/<target>/) and the inputs that once crashed it
# (tests/fuzz/crashes/<target>/, files directly in it). Seconds, not a
# campaign: each input runs once. Run once, on the normal build's pass (the
# targets carry their own sanitizers); `make test` and `make check` build
# them into build/fuzz (FUZZ_BUILD).
. "$SF_ROOT/tests/lib.sh"

if [ "$SF_SANITIZED" = 1 ]; then
  skip "fuzz regression" "replayed once, on the normal build"
  exit 0
fi
fuzz_build="$SF_ROOT/${FUZZ_BUILD:-build/fuzz}"

for src in "$SF_ROOT"/tests/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c); t=${t#fuzz_}
  bin="$fuzz_build/fuzz_$t"
  if [ ! -x "$bin" ]; then
    check "fuzz target $t is built ($bin; run 'make fuzz-build')" false
    continue
  fi
  inputs=()
  for f in "$SF_ROOT/tests/fuzz/corpus/$t"/* "$SF_ROOT/tests/fuzz/crashes/$t"/*; do
    [ -f "$f" ] && [ "$(basename "$f")" != README.md ] && inputs+=("$f")
  done
  if [ ${#inputs[@]} -eq 0 ]; then
    check "fuzz target $t has stored inputs (tests/fuzz/corpus/$t)" false
    continue
  fi
  # Not through run(): its report would repeat the whole list of inputs.
  "$bin" -timeout=30 -rss_limit_mb=2048 "${inputs[@]}" </dev/null >"$SF_TMP/fuzz.log" 2>&1
  rc=$?
  check "fuzz target $t replays its ${#inputs[@]} stored inputs" [ "$rc" -eq 0 ]
  if [ "$rc" -ne 0 ]; then
    echo "#   failed on $(sed -n 's/^Running: //p' "$SF_TMP/fuzz.log" | tail -n 1)"
    grep -E 'check failed|ERROR: |SUMMARY: |runtime error' "$SF_TMP/fuzz.log" | head -n 5 | sed 's/^/#   /'
  fi
done
done_testing
