# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by tools/quickstart and tests/run-all: installs what a fresh Debian 12 machine lacks.

BERTH_PACKAGES="meson ninja-build pkg-config gcc libc6-dev libsystemd-dev libmount-dev libblkid-dev
        libcap-dev libseccomp-dev libsmartcols-dev libdbus-1-dev dbus-daemon dbus-bin
        python3 python3-pytest python3-pytest-timeout python3-dbus debootstrap busybox-static
        systemd-container tmux iproute2 util-linux fdisk e2fsprogs squashfs-tools erofs-utils
        btrfs-progs xfsprogs procps bash-completion libarchive-dev libjson-c-dev libssl-dev
        libcurl4-openssl-dev gpgv gnupg openssl docker-registry skopeo zstd xz-utils bzip2 tar libmnl-dev
        nftables dnsmasq-base lxcfs libnss-systemd"

berth_install_deps() {
        local missing=() p
        for p in $BERTH_PACKAGES; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        echo "Installing: ${missing[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

berth_build() {
        local dir=${1:-build}; shift || true
        if [ -f "$dir/build.ninja" ]; then
                meson configure "$dir" "$@" >/dev/null
        else
                meson setup "$dir" "$@" >/dev/null
        fi
        ninja -C "$dir"
}
