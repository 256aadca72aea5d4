# The setup a new user relies on: install-deps is quiet when all is present,
# and `make install` puts a working binary and the data set under PREFIX.
. "$SF_ROOT/tests/lib.sh"

run "$SF_ROOT/scripts/install-deps"
check "install-deps exits 0 when everything is installed" [ "$rc" -eq 0 ]
check "install-deps is silent when everything is installed" [ -z "$out$err" ]

prefix="$SF_TMP/prefix"
# -o: install the binary under test as it is, never rebuild it here.
build_rel="${SF_BUILD#$SF_ROOT/}"
run make -C "$SF_ROOT" --no-print-directory install BUILD="$build_rel" -o "$build_rel/streamflow" PREFIX="$prefix"
check "make install exits 0" [ "$rc" -eq 0 ]
check "make install installs the binary" [ -x "$prefix/bin/streamflow" ]
check "make install installs the data set" [ -f "$prefix/share/streamflow/nsl-kdd/KDDTrain+.txt.gz" ]
run "$prefix/bin/streamflow" --version
check "the installed binary runs" [ "$rc" -eq 0 ]

# Away from the source tree (cwd and binary under $SF_TMP), the installed
# binary finds the data set it installed.
cd "$SF_TMP"
run env -u STREAMFLOW_DATA "$prefix/bin/streamflow" train --epochs 1 --model "$SF_TMP/m.safetensors" --logdir "$SF_TMP/logs"
cd "$SF_ROOT"
check "the installed binary trains from PREFIX/share/streamflow/nsl-kdd" [ "$rc" -eq 0 ]

done_testing
