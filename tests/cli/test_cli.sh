# The command table, help, --version and usage errors of the binary itself.
. "$SF_ROOT/tests/lib.sh"

for form in "" help --help; do
  run "$SF" $form
  check "'streamflow $form' exits 0" [ "$rc" -eq 0 ]
  check_grep "'streamflow $form' lists the commands" '^  version +' "$out"
done

run "$SF" --version
check "--version exits 0" [ "$rc" -eq 0 ]
for lib in librdkafka libcurl OpenSSL jansson OpenBLAS zlib protobuf-c libmicrohttpd; do
  check_grep "--version names $lib" "^$lib +[^ ]*[0-9]" "$out"
done

run "$SF" version --help
check "command --help exits 0" [ "$rc" -eq 0 ]
check_grep "command --help shows usage" '^usage: streamflow version' "$out"

run "$SF" help version
check_grep "help COMMAND shows its usage" '^usage: streamflow version' "$out"

run "$SF" vresion
check "unknown command exits 2" [ "$rc" -eq 2 ]
check_grep "unknown command suggests the closest" "unknown command 'vresion'; did you mean 'version'\?" "$err"
check "unknown command error is one line" [ "$(wc -l <<<"$err")" -eq 1 ]

run "$SF" frobnicate
check "unrelated command exits 2 without a guess" [ "$rc" -eq 2 ]
check_nogrep "no guess for an unrelated name" "did you mean" "$err"

run "$SF" version --verison
check "unknown option exits 2" [ "$rc" -eq 2 ]
check_grep "unknown option suggests" "unknown option '--verison'" "$err"

run "$SF" --bogus
check "unknown top-level option exits 2" [ "$rc" -eq 2 ]

done_testing
