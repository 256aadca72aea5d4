# The code keeps the layout in .clang-format, and every check in the test
# scripts holds its whole condition (once, on the normal build).
. "$SF_ROOT/tests/lib.sh"

if [ "$SF_SANITIZED" = 1 ]; then
  skip "format-check" "checked once, on the normal build"
  exit 0
fi
run make -C "$SF_ROOT" --no-print-directory format-check
check "make format-check is clean" [ "$rc" -eq 0 ]

# In `check NAME [ a ] && [ b ]` the second test runs after the check,
# outside it, and its failure is lost: tests/lint_checks.py finds every
# check or check_* followed by &&, || or a pipe.
lint_tests() (cd "$SF_ROOT" && exec python3 tests/lint_checks.py tests/*.sh tests/cli/*.sh)
run lint_tests
check "no check in tests/ is followed by && or ||" [ "$rc" -eq 0 ]

# The lint can go red: on a script with each wrong shape (lines 1-8) and
# right shapes that look like them (lines 9-17), it names exactly lines
# 1, 2, 3, 5, 7 and 8.
cat >"$SF_TMP/shapes.sh" <<'SH'
check "and" [ "$rc" -eq 1 ] && [ -z "$out" ]
check_grep "or" x "$out" || echo no
check "over two lines" [ -n "$x" ] &&
  [ "$x" -eq 1 ]
check "a continued check" \
  grep -q a f && grep -q b f
check "negated" ! grep -q a f
if true; then check_nogrep "in an if" x "$out" | cat; fi
[ "$rc" -eq 0 ] && check "a check after &&" true
check "a name with && and || in it" true
check "a substitution" [ "$(echo a && echo b || true)" = "a" ] 2>&1
cat <<'EOF'
check "in a here-document" true && true
EOF
# check "in a comment" true && true
check_out=$(echo x) && echo "$check_out"
check "a quoted ${x:-&&}" [ "$x" = '&&' ]; echo done
SH
run python3 "$SF_ROOT/tests/lint_checks.py" "$SF_TMP/shapes.sh"
check "the lint exits 1 on wrong shapes" [ "$rc" -eq 1 ]
check "the lint names lines 1, 2, 3, 5, 7 and 8 of them, no other" \
  [ "$(sed -n 's/^[^:]*shapes\.sh:\([0-9]*\): .*/\1/p' <<<"$out" | tr '\n' ' ')" = "1 2 3 5 7 8 " ]
check_grep "... saying why" "shapes\.sh:1: check is followed by &&: what comes after it runs outside the check" "$out"

# The layers: nothing outside src/cmd/ (and main.c, which dispatches to the
# commands) includes a header of src/cmd/, so the library can be used
# without the command line.
cmd_includes() (cd "$SF_ROOT" && grep -rn '#include "cmd/' src --include='*.c' --include='*.h' |
  grep -v '^src/cmd/' | grep -v '^src/main\.c:')
run cmd_includes
check "nothing below src/ outside src/cmd/ includes src/cmd/" [ -z "$out" ]
done_testing
