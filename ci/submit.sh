#!/bin/sh
# The step the GitHub Action (ci/github/action.yml) and the GitLab CI template
# (ci/gitlab/oci2eif.gitlab-ci.yml) run: `oci2eif submit --wait` with its inputs from the
# environment, then the PCRs as step outputs. Installed as `oci2eif-ci-submit`.
#
# Inputs (environment):
#   OCI2EIF_SERVER      the service's URL (required)
#   OCI2EIF_IMAGE       the image to build, as POST /v1/builds takes it (required)
#   OCI2EIF_TOKEN       the API token (role build); never printed
#   OCI2EIF_KERNEL, OCI2EIF_PLATFORM, OCI2EIF_SIGNING_KEY   passed on when set
#   OCI2EIF_LABELS      extra labels, KEY=VALUE separated by spaces or newlines
#   OCI2EIF_TIMEOUT     give up waiting after this long (90s, 15m, 2h; default 30m)
#   OCI2EIF_OUTPUT_DIR  where image.eif and pcrs.json go (default: .)
#   OCI2EIF_BIN         the oci2eif binary (default: oci2eif on PATH)
# The CI's own variables label the build (commit, repository/project, run/pipeline), so the
# service's `GET /v1/builds?label=commit=SHA` finds it.
# Outputs: eif, pcrs, pcr0, pcr1, pcr2 (pcr8 when signed) to $GITHUB_OUTPUT and a summary to
# $GITHUB_STEP_SUMMARY on GitHub; PCR0=... lines to $OCI2EIF_DOTENV (a GitLab dotenv report).
# Exit status: oci2eif submit's (0 succeeded, 1 build failed, 3 refused, 4 unavailable,
# 5 timed out; docs/ci.md).
set -eu

: "${OCI2EIF_SERVER:?set OCI2EIF_SERVER to the oci2eif service URL}"
: "${OCI2EIF_IMAGE:?set OCI2EIF_IMAGE to the image to build}"
out_dir=${OCI2EIF_OUTPUT_DIR:-.}
mkdir -p "$out_dir"

set -- submit "$OCI2EIF_IMAGE" --server "$OCI2EIF_SERVER" --wait \
  --output "$out_dir/image.eif" --pcrs "$out_dir/pcrs.json" --timeout "${OCI2EIF_TIMEOUT:-30m}"
[ -z "${OCI2EIF_KERNEL:-}" ] || set -- "$@" --kernel "$OCI2EIF_KERNEL"
[ -z "${OCI2EIF_PLATFORM:-}" ] || set -- "$@" --platform "$OCI2EIF_PLATFORM"
[ -z "${OCI2EIF_SIGNING_KEY:-}" ] || set -- "$@" --signing-key "$OCI2EIF_SIGNING_KEY"
label() { [ -z "$2" ] || set_label="$set_label $1=$2"; }
set_label=
label commit "${GITHUB_SHA:-${CI_COMMIT_SHA:-}}"
label repository "${GITHUB_REPOSITORY:-${CI_PROJECT_PATH:-}}"
label run "${GITHUB_RUN_ID:-${CI_PIPELINE_ID:-}}"
for l in $set_label ${OCI2EIF_LABELS:-}; do
  set -- "$@" --label "$l"
done

"${OCI2EIF_BIN:-oci2eif}" "$@" >/dev/null # the measurements are in pcrs.json

# "PCR0": "hex" pairs, whether pcrs.json is on one line or many (no jq needed on the runner).
pcrs=$(grep -o '"PCR[0-9]*": *"[0-9a-f]*"' "$out_dir/pcrs.json" | tr -d '" ' | tr ':' '=')
echo "$pcrs"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "eif=$out_dir/image.eif"
    echo "pcrs=$out_dir/pcrs.json"
    echo "$pcrs" | sed 's/^PCR/pcr/'
  } >>"$GITHUB_OUTPUT"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo "### EIF of \`$OCI2EIF_IMAGE\`"
    echo
    echo "| PCR | value |"
    echo "|---|---|"
    echo "$pcrs" | sed 's/^\(PCR[0-9]*\)=\(.*\)$/| \1 | `\2` |/'
  } >>"$GITHUB_STEP_SUMMARY"
fi
if [ -n "${OCI2EIF_DOTENV:-}" ]; then
  echo "$pcrs" >>"$OCI2EIF_DOTENV"
fi
