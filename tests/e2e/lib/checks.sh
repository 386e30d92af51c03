# Shared by the registry e2e scripts (sourced): PASS/FAIL bookkeeping and expectations on a
# command's exit status and stderr. Needs $W, the test's work directory.
# shellcheck shell=bash
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_ok() { # NAME COMMAND...: the command must succeed
  local name=$1
  shift
  if "$@" >"$W/out" 2>"$W/err"; then pass "$name"; else fail "$name: exit $?"; cat "$W/err"; fi
}
expect_error() { # NAME TEXT COMMAND...: must fail non-zero with TEXT on stderr
  local name=$1 text=$2
  shift 2
  if "$@" >"$W/out" 2>"$W/err"; then
    fail "$name: succeeded"
  elif grep -qF -- "$text" "$W/err"; then
    pass "$name: $(grep -F -- "$text" "$W/err" | head -1 | cut -c1-220)"
  else
    fail "$name: stderr lacks '$text'"
    cat "$W/err"
  fi
}
