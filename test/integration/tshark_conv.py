# SPDX-License-Identifier: MIT
"""Independent per-conversation counts from tshark's field output.

For every packet tshark dissects, take the innermost IP header that carries
the packet's transport (tunnels are opened; an ICMP error's quoted header is
not), and add its packet and IP bytes (IPv4 total length, IPv6 payload length
+ 40) to the canonical conversation (lower address is A, as in renkei).
Later IP fragments carry no ports: they count under ports 0, unless
join_fragments is set: then, as renkei's tracker does (tracker/trk_frag.h), a
later fragment takes the ports of the first fragment of its datagram (same
src, dst, protocol and IP id, low 16 bits of the IPv6 fragment id) seen
before it.
"""
import ipaddress
import subprocess

FIELDS = ["frame.protocols", "ip.src", "ip.dst", "ip.len", "ip.proto", "ip.frag_offset",
          "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.nxt", "ipv6.fraghdr.offset",
          "ipv6.fraghdr.nxt", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "ip.id", "ip.flags.mf", "ipv6.fraghdr.ident", "ipv6.fraghdr.more"]
TUNNEL_AFTER_UDP = {"vxlan", "geneve"}


def _key16(text):
    a = ipaddress.ip_address(text)
    if a.version == 4:
        return b"\0" * 10 + b"\xff\xff" + a.packed
    return a.packed


def canonical(src, sport, dst, dport):
    """(a_ip, a_port, b_ip, b_port) with A the lower address (then lower port)."""
    ks, kd = _key16(src), _key16(dst)
    if (ks, sport) <= (kd, dport):
        return src, sport, dst, dport, False
    return dst, dport, src, sport, True


def _norm(text):
    return str(ipaddress.ip_address(text))


def packets(path, frag=None):
    """Yield (src, sport, dst, dport, proto, ip_bytes, later_fragment) per packet.
    With `frag` (a list), each packet's (fragment id, first fragment) is
    appended to it before the packet is yielded."""
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-o", "tcp.desegment_tcp_streams:FALSE", "-T", "fields", "-E", "occurrence=a",
           "-E", "aggregator=|", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        row = {f: (c.split("|") if c else []) for f, c in zip(FIELDS, cols)}
        layers = cols[0].split(":")
        n4 = n6 = 0
        ip_layer = None   # ("ip", index) of the innermost IP header carrying the transport
        l4 = None
        i = 0
        while i < len(layers):
            name = layers[i]
            if name == "ip":
                ip_layer = ("ip", n4)
                n4 += 1
                l4 = None
            elif name == "ipv6":
                ip_layer = ("ipv6", n6)
                n6 += 1
                l4 = None
            elif name in ("icmp", "icmpv6"):
                l4 = name
                break
            elif name == "tcp":
                l4 = "tcp"
                break
            elif name == "udp":
                l4 = "udp"
                if i + 1 < len(layers) and layers[i + 1] in TUNNEL_AFTER_UDP:
                    i += 1
                    continue
                break
            i += 1
        if ip_layer is None:
            continue
        fam, idx = ip_layer
        try:
            if fam == "ip":
                src, dst = row["ip.src"][idx], row["ip.dst"][idx]
                nbytes = int(row["ip.len"][idx])
                proto = int(row["ip.proto"][idx])
                later = int(row["ip.frag_offset"][idx] or 0) > 0 if idx < len(row["ip.frag_offset"]) else False
                fid = int(row["ip.id"][idx], 0) if idx < len(row["ip.id"]) else None
                first = (not later and idx < len(row["ip.flags.mf"])
                         and row["ip.flags.mf"][idx] in ("1", "True"))
            else:
                src, dst = row["ipv6.src"][idx], row["ipv6.dst"][idx]
                nbytes = int(row["ipv6.plen"][idx]) + 40
                proto = int(row["ipv6.nxt"][idx])
                later = False
                fid, first = None, False
                if row["ipv6.fraghdr.offset"]:
                    later = int(row["ipv6.fraghdr.offset"][-1]) > 0
                    proto = int(row["ipv6.fraghdr.nxt"][-1])
                    fid = int(row["ipv6.fraghdr.ident"][-1], 0) & 0xffff
                    first = not later and row["ipv6.fraghdr.more"][-1] in ("1", "True")
        except (IndexError, ValueError):
            continue
        sport = dport = 0
        if l4 == "tcp" and row["tcp.srcport"]:
            proto = 6
            sport, dport = int(row["tcp.srcport"][-1]), int(row["tcp.dstport"][-1])
        elif l4 == "udp" and row["udp.srcport"]:
            proto = 17
            # the UDP header belonging to this IP layer: count udp layers before i
            nudp = layers[:i + 1].count("udp") - 1
            sport, dport = int(row["udp.srcport"][nudp]), int(row["udp.dstport"][nudp])
        if frag is not None:
            frag.append((fid, first))
        yield _norm(src), sport, _norm(dst), dport, proto, nbytes, later


def conversations(path, protos=(6, 17), join_fragments=False):
    """{(a_ip, a_port, b_ip, b_port, proto): [pkts_ab, bytes_ab, pkts_ba, bytes_ba]}."""
    conv = {}
    frag, firsts = [], {}
    for src, sport, dst, dport, proto, nbytes, later in packets(path, frag):
        fid, first = frag.pop()
        if proto not in protos:
            continue
        fkey = (src, dst, proto, fid)
        if first and join_fragments and (sport or dport):
            firsts[fkey] = (sport, dport)
        if later:
            sport, dport = firsts.get(fkey, (0, 0)) if join_fragments else (0, 0)
        a, ap, b, bp, swapped = canonical(src, sport, dst, dport)
        c = conv.setdefault((a, ap, b, bp, proto), [0, 0, 0, 0])
        d = 2 if swapped else 0
        c[d] += 1
        c[d + 1] += nbytes
    return conv


if __name__ == "__main__":
    import sys
    for k, v in sorted(conversations(sys.argv[1]).items()):
        print(k, v)
