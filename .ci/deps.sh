#!/bin/sh
# Install the Debian packages git-lepton needs to build and test, or, when
# not root, say exactly which are missing.  Used by `make deps` and .ci/run.
set -e
packages="build-essential make pkg-config git libgit2-dev libcurl4-openssl-dev libxxhash-dev
libzstd-dev libssl-dev libcmocka-dev time perl openssl procps diffutils util-linux
curl python3 nginx libnginx-mod-http-dav-ext"
optional="git-lfs"

# s3rver (npm), the S3 server of t5830 that checks SigV4 signatures: in a
# cache outside the repository, where the test looks for it
s3rver_dir="${LEPTON_S3RVER_DIR:-$HOME/.cache/lepton-test/s3rver}"
if command -v npm >/dev/null && [ ! -d "$s3rver_dir/node_modules/@20minutes/s3rver" ]; then
	echo "deps: installing s3rver in $s3rver_dir"
	mkdir -p "$s3rver_dir"
	(cd "$s3rver_dir" && npm install --silent --no-audit --no-fund @20minutes/s3rver@4 >/dev/null) ||
		echo "deps: cannot install s3rver; t5830 needs it on CI" >&2
fi

# moto_server (the S3 server of t581x) is a Python package, not a Debian
# one: say where it is, or that those tests will skip (fail under CI).
# pip cannot install it offline, so this only reports.
check_moto () {
	if command -v moto_server >/dev/null 2>&1; then
		echo "deps: moto_server: $(command -v moto_server)"
	elif [ -x "${PYENV_ROOT:-$HOME/.pyenv}/shims/moto_server" ]; then
		echo "deps: moto_server is in ${PYENV_ROOT:-$HOME/.pyenv}/shims, which is not in PATH;" >&2
		echo "deps: add it to PATH, or the S3 tests (t581x) skip (and fail when CI is set)" >&2
	else
		echo "deps: moto_server not found: the S3 tests (t581x) skip (and fail when CI is set);" >&2
		echo "deps: install it with: pip install 'moto[server]' (needs the network)" >&2
	fi
}

missing=
for p in $packages $optional; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages are installed"
	check_moto
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root: apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
check_moto
