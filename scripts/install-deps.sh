#!/usr/bin/env bash
# Installs the Debian packages that building and testing smimegw need, and
# only those that are missing. Safe to run again; `make check`, `make demo`
# and `make deps` call it.
set -euo pipefail

packages=(
	# build; libidn2 converts internationalised mail domains to A-labels
	# (IDNA2008 with the UTS #46 mapping) for directory lookups
	gcc make pkg-config libmicrohttpd-dev libjansson-dev libldap-dev libssl-dev check
	libidn2-dev
	# test environment and independent S/MIME implementations (Bouncy
	# Castle runs on the JDK)
	openssl slapd ldap-utils gpgsm libnss3-tools curl python3
	default-jdk-headless libbcpkix-java
	# sanitizer builds (make check-sanitize)
	clang
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == installed ]] || missing+=("$pkg")
done

# The npm client test needs node and npm. A node installed from elsewhere
# (such as a nodejs package that bundles npm) is used as it is.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if ! command -v sudo >/dev/null; then
		echo "install-deps: missing packages ${missing[*]}; run as root or install sudo" >&2
		exit 1
	fi
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# slapd's post-install script must not start a daemon; Debian images without
# an init system already have a policy-rc.d that prevents it.
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
