/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* --resolv-conf= (nspawn 252's modes): what the machine's /etc/resolv.conf becomes. */
typedef enum ResolvConfMode {
        RESOLV_CONF_AUTO,    /* berth: with -n the link's DNS server (dnsmasq), else left alone */
        RESOLV_CONF_OFF,
        RESOLV_CONF_COPY_HOST, RESOLV_CONF_COPY_STATIC, RESOLV_CONF_COPY_UPLINK, RESOLV_CONF_COPY_STUB,
        RESOLV_CONF_REPLACE_HOST, RESOLV_CONF_REPLACE_STATIC, RESOLV_CONF_REPLACE_UPLINK, RESOLV_CONF_REPLACE_STUB,
        RESOLV_CONF_BIND_HOST, RESOLV_CONF_BIND_STATIC, RESOLV_CONF_BIND_UPLINK, RESOLV_CONF_BIND_STUB,
        RESOLV_CONF_DELETE,
        _RESOLV_CONF_MAX,
        _RESOLV_CONF_INVALID = -22,
} ResolvConfMode;

const char *resolv_conf_mode_to_string(ResolvConfMode m);
ResolvConfMode resolv_conf_mode_from_string(const char *s);
/* The host file a copy/replace/bind mode takes (NULL for auto, off, delete). */
const char *resolv_conf_mode_source(ResolvConfMode m);

/* Child, after pivot_root: applies MODE with TEXT (the source's contents, read on the host; NULL
 * when it had none: then nothing is copied or bound). Returns 0 or -errno. */
int resolv_conf_apply(ResolvConfMode mode, const char *text);
