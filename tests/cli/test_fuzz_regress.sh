# Every libFuzzer target replays its stored inputs as a regression: the seed
# corpus (tests/fuzz/corpus/<target>/) and the inputs that once crashed it
# (tests/fuzz/crashes/<target>/, files directly in it). Seconds, not a
# campaign: each input runs once, through the target linked with
# tests/fuzz/replay.c against the ASan/UBSan build (`make asan` builds them
# into build/asan/fuzz-replay/), so it runs on that build only.
. "$SF_ROOT/tests/lib.sh"

if [[ "${SF_SANITIZER:-}" != *address* ]]; then
  skip "fuzz regression" "replayed once, on the ASan/UBSan build"
  exit 0
fi
fuzz_build="$SF_BUILD/fuzz-replay"

for src in "$SF_ROOT"/tests/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c); t=${t#fuzz_}
  bin="$fuzz_build/fuzz_$t"
  if [ ! -x "$bin" ]; then
    check "fuzz target $t is built ($bin; run 'make asan')" false
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
  "$bin" "${inputs[@]}" </dev/null >"$SF_TMP/fuzz.log" 2>&1
  rc=$?
  check "fuzz target $t replays its ${#inputs[@]} stored inputs" [ "$rc" -eq 0 ]
  if [ "$rc" -ne 0 ]; then
    echo "#   failed on $(sed -n 's/^Running: //p' "$SF_TMP/fuzz.log" | tail -n 1)"
    grep -E 'check failed|ERROR: |SUMMARY: |runtime error' "$SF_TMP/fuzz.log" | head -n 5 | sed 's/^/#   /'
  fi
done
done_testing
