#!/bin/sh
# Install the Debian packages of the given kinds (build, test, fuzz) from
# packaging/debian-deps.txt that are not installed yet. Uses sudo when not
# root. Prints nothing when everything is present.
set -eu
here=$(dirname "$0")
list="$here/debian-deps.txt"
[ "$#" -gt 0 ] || set -- build
missing=""
for kind in "$@"; do
	for pkg in $(sed -e 's/#.*//' "$list" | awk -v k="$kind" '$1 == k { print $2 }'); do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		case "$status" in
		*"install ok installed"*) ;;
		*) missing="$missing $pkg" ;;
		esac
	done
done
[ -n "$missing" ] || exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "saltbridge: missing packages:$missing" >&2
	echo "saltbridge: install them with your package manager and retry" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
fi
echo "saltbridge: installing missing Debian packages:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
