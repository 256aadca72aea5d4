# The code keeps the layout in .clang-format (once, on the normal build).
. "$SF_ROOT/tests/lib.sh"

if [ "$SF_SANITIZED" = 1 ]; then
  skip "format-check" "checked once, on the normal build"
  exit 0
fi
run make -C "$SF_ROOT" --no-print-directory format-check
check "make format-check is clean" [ "$rc" -eq 0 ]
done_testing
