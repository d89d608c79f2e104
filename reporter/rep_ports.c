/* SPDX-License-Identifier: MIT
 * rep_ports: (proto, port) -> service name. The system database comes first
 * (operators may name their own ports there); the table below covers the
 * services the paper's reports are about when /etc/services lacks them.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "rep_ports.h"

struct port_name {
    uint16_t port;    /* port number */
    uint8_t proto;    /* 6 tcp, 17 udp, 0 both */
    const char *name; /* IANA service name */
};

static const struct port_name s_table[] = {
    {20, 6, "ftp-data"},
    {21, 6, "ftp"},
    {22, 6, "ssh"},
    {23, 6, "telnet"},
    {25, 6, "smtp"},
    {53, 0, "domain"},
    {67, 17, "bootps"},
    {68, 17, "bootpc"},
    {69, 17, "tftp"},
    {80, 6, "http"},
    {88, 0, "kerberos"},
    {110, 6, "pop3"},
    {111, 0, "sunrpc"},
    {119, 6, "nntp"},
    {123, 17, "ntp"},
    {135, 6, "epmap"},
    {137, 17, "netbios-ns"},
    {138, 17, "netbios-dgm"},
    {139, 6, "netbios-ssn"},
    {143, 6, "imap"},
    {161, 17, "snmp"},
    {162, 17, "snmptrap"},
    {389, 0, "ldap"},
    {443, 6, "https"},
    {443, 17, "https"},
    {445, 6, "microsoft-ds"},
    {464, 0, "kpasswd"},
    {465, 6, "submissions"},
    {514, 17, "syslog"},
    {515, 6, "printer"},
    {587, 6, "submission"},
    {631, 6, "ipp"},
    {636, 6, "ldaps"},
    {873, 6, "rsync"},
    {993, 6, "imaps"},
    {995, 6, "pop3s"},
    {1433, 6, "ms-sql-s"},
    {1434, 17, "ms-sql-m"},
    {1521, 6, "oracle"},
    {1812, 17, "radius"},
    {1813, 17, "radius-acct"},
    {2049, 0, "nfs"},
    {3268, 6, "globalcat-ldap"},
    {3306, 6, "mysql"},
    {3389, 6, "rdp"},
    {5060, 0, "sip"},
    {5432, 6, "postgresql"},
    {5672, 6, "amqp"},
    {5900, 6, "vnc"},
    {5985, 6, "wsman"},
    {6379, 6, "redis"},
    {8080, 6, "http-alt"},
    {8443, 6, "https-alt"},
    {9092, 6, "kafka"},
    {9200, 6, "elasticsearch"},
    {11211, 0, "memcache"},
    {27017, 6, "mongodb"},
};

static const char *s_proto_text(uint8_t proto)
{
    switch (proto) {
        case 6:
            return "tcp";
        case 17:
            return "udp";
        case 132:
            return "sctp";
        default:
            return NULL;
    }
}

const char *rep_port_name(uint8_t proto, uint16_t port, char *buf, size_t len)
{
    const char *ptext = s_proto_text(proto);
    if (!ptext || port == 0)
        return NULL;
    struct servent se, *res = NULL;
    char tmp[1024];
    if (getservbyport_r(htons(port), ptext, &se, tmp, sizeof(tmp), &res) == 0 && res &&
        res->s_name) {
        snprintf(buf, len, "%s", res->s_name);
        return buf;
    }
    for (size_t i = 0; i < sizeof(s_table) / sizeof(s_table[0]); i++) {
        if (s_table[i].port == port &&
            (s_table[i].proto == 0 || s_table[i].proto == proto || proto == 132)) {
            snprintf(buf, len, "%s", s_table[i].name);
            return buf;
        }
    }
    return NULL;
}
