#!/usr/bin/env bash
# Refresh the vendored GOV.UK Frontend and htmx assets under static/vendor/, and axe-core
# (the accessibility checker the browser tests inject) under tests/vendor/, from the npm
# registry. The files are committed, so neither `make run` nor CI needs npm.
set -euo pipefail
GOVUK_VERSION=${GOVUK_VERSION:-6.6.0}
HTMX_VERSION=${HTMX_VERSION:-2.0.8}
AXE_VERSION=${AXE_VERSION:-4.14.1}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "govuk-frontend@${GOVUK_VERSION}" "htmx.org@${HTMX_VERSION}" "axe-core@${AXE_VERSION}" >/dev/null
mkdir govuk htmx axe
tar xzf "govuk-frontend-${GOVUK_VERSION}.tgz" -C govuk
tar xzf "htmx.org-${HTMX_VERSION}.tgz" -C htmx
tar xzf "axe-core-${AXE_VERSION}.tgz" -C axe
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
mkdir -p "$root/tests/vendor/axe-core"
cp axe/package/axe.min.js axe/package/LICENSE "$root/tests/vendor/axe-core/"
printf 'axe-core %s\n' "$AXE_VERSION" > "$root/tests/vendor/VERSIONS"
