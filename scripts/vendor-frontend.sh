#!/usr/bin/env bash
# Refresh the vendored GOV.UK Frontend and htmx assets under static/vendor/ from the npm
# registry. The compiled files are committed, so neither `make run` nor CI needs npm.
set -euo pipefail
GOVUK_VERSION=${GOVUK_VERSION:-6.6.0}
HTMX_VERSION=${HTMX_VERSION:-2.0.8}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "govuk-frontend@${GOVUK_VERSION}" "htmx.org@${HTMX_VERSION}" >/dev/null
mkdir govuk htmx
tar xzf "govuk-frontend-${GOVUK_VERSION}.tgz" -C govuk
tar xzf "htmx.org-${HTMX_VERSION}.tgz" -C htmx
dest="$root/static/vendor"
rm -rf "$dest/govuk-frontend" "$dest/htmx"
mkdir -p "$dest/govuk-frontend" "$dest/htmx"
src=govuk/package/dist/govuk
# The compiled CSS points at /assets/...; make it relative to where it is served.
# The source maps are not vendored, so their references go too: the manifest storage of
# production refuses a reference it cannot resolve.
sed -e 's#url(/assets/#url(assets/#g' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' \
  "$src/govuk-frontend.min.css" > "$dest/govuk-frontend/govuk-frontend.min.css"
sed -e 's#//\# sourceMappingURL=.*$##' "$src/govuk-frontend.min.js" > "$dest/govuk-frontend/govuk-frontend.min.js"
cp -r "$src/assets" "$dest/govuk-frontend/assets"
sed -e 's#//\# sourceMappingURL=.*$##' htmx/package/dist/htmx.min.js > "$dest/htmx/htmx.min.js"
cp htmx/package/LICENSE "$dest/htmx/LICENSE"
printf 'govuk-frontend %s\nhtmx.org %s\n' "$GOVUK_VERSION" "$HTMX_VERSION" > "$dest/VERSIONS"
