"""Names of the capture stage's numbers, for warnings and the summary.

Owns the names shown for link types (pcap LINKTYPE_* numbers, as tcpdump.org
lists them), ethertypes and PPP protocol numbers (as IANA and IEEE register
them), and the description of frames that could not be decoded
(``describe_undecodable``). Only what we name for people lives here; which
numbers the decoder reads is ``linklayer.py``'s business.
"""

from __future__ import annotations

__all__ = ["LINKTYPE_NAMES", "ETHERTYPE_NAMES", "PPP_PROTOCOL_NAMES", "linktype_name", "describe_key",
           "describe_undecodable", "OTHER_KINDS"]

#: pcap link types (tcpdump.org "LINKTYPE_" list, name without the prefix).
LINKTYPE_NAMES: dict[int, str] = {
    0: "NULL", 1: "ETHERNET", 3: "AX25", 6: "IEEE802_5", 7: "ARCNET_BSD", 8: "SLIP", 9: "PPP", 10: "FDDI",
    12: "RAW", 14: "RAW", 50: "PPP_HDLC", 51: "PPP_ETHER", 100: "ATM_RFC1483", 101: "RAW", 104: "C_HDLC",
    105: "IEEE802_11", 107: "FRELAY", 108: "LOOP", 113: "LINUX_SLL", 114: "LTALK", 117: "PFLOG",
    119: "IEEE802_11_PRISM", 122: "IP_OVER_FC", 123: "SUNATM", 127: "IEEE802_11_RADIOTAP", 129: "ARCNET_LINUX",
    138: "APPLE_IP_OVER_IEEE1394", 139: "MTP2_WITH_PHDR", 140: "MTP2", 141: "MTP3", 142: "SCCP", 143: "DOCSIS",
    144: "LINUX_IRDA", 163: "IEEE802_11_AVS", 165: "BACNET_MS_TP", 166: "PPP_PPPD", 169: "GPRS_LLC",
    177: "LINUX_LAPD", 187: "BLUETOOTH_HCI_H4", 189: "USB_LINUX", 192: "PPI", 195: "IEEE802_15_4_WITHFCS",
    196: "SITA", 197: "ERF", 201: "BLUETOOTH_HCI_H4_WITH_PHDR", 202: "AX25_KISS", 203: "LAPD",
    204: "PPP_WITH_DIR", 205: "C_HDLC_WITH_DIR", 206: "FRELAY_WITH_DIR", 209: "IPMB_LINUX", 215: "IEEE802_15_4_NONASK_PHY",
    220: "USB_LINUX_MMAPPED", 224: "FC_2", 225: "FC_2_WITH_FRAME_DELIMS", 226: "IPNET", 227: "CAN_SOCKETCAN",
    228: "IPV4", 229: "IPV6", 230: "IEEE802_15_4_NOFCS", 231: "DBUS", 235: "DVB_CI", 236: "MUX27010",
    237: "STANAG_5066_D_PDU", 239: "NFLOG", 240: "NETANALYZER", 241: "NETANALYZER_TRANSPARENT", 242: "IPOIB",
    243: "MPEG_2_TS", 244: "NG40", 245: "NFC_LLCP", 247: "INFINIBAND", 248: "SCTP", 249: "USBPCAP",
    250: "RTAC_SERIAL", 251: "BLUETOOTH_LE_LL", 253: "NETLINK", 254: "BLUETOOTH_LINUX_MONITOR",
    255: "BLUETOOTH_BREDR_BB", 256: "BLUETOOTH_LE_LL_WITH_PHDR", 257: "PROFIBUS_DL", 258: "PKTAP",
    259: "EPON", 260: "IPMI_HPM_2", 261: "ZWAVE_R1_R2", 262: "ZWAVE_R3", 263: "WATTSTOPPER_DLM",
    264: "ISO_14443", 265: "RDS", 266: "USB_DARWIN", 268: "SDLC", 270: "LORATAP", 271: "VSOCK",
    272: "NORDIC_BLE", 273: "DOCSIS31_XRA31", 274: "ETHERNET_MPACKET", 275: "DISPLAYPORT_AUX",
    276: "LINUX_SLL2", 278: "OPENVIZSLA", 279: "EBHSCR", 280: "VPP_DISPATCH", 281: "DSA_TAG_BRCM",
    282: "DSA_TAG_BRCM_PREPEND", 283: "IEEE802_15_4_TAP", 284: "DSA_TAG_DSA", 285: "DSA_TAG_EDSA",
    286: "ELEE", 287: "Z_WAVE_SERIAL", 288: "USB_2_0", 289: "ATSC_ALP", 290: "ETW", 292: "ZBOSS_NCP",
    **{147 + i: f"USER{i}" for i in range(16)},
}

#: Ethertypes named in warnings (IEEE registry; the ones met in captures).
ETHERTYPE_NAMES: dict[int, str] = {
    0x0800: "IPv4", 0x0806: "ARP", 0x0842: "Wake-on-LAN", 0x22EB: "ERSPAN III", 0x22F0: "AVTP",
    0x22F3: "TRILL", 0x6002: "DEC MOP", 0x6003: "DECnet", 0x6004: "DEC LAT", 0x6558: "Transparent Ethernet Bridging",
    0x8035: "RARP", 0x809B: "AppleTalk", 0x80F3: "AARP", 0x8100: "802.1Q VLAN", 0x8102: "SLPP",
    0x8137: "IPX", 0x8204: "QNX Qnet", 0x86DD: "IPv6", 0x8808: "Ethernet flow control", 0x8809: "Slow protocols (LACP)",
    0x880B: "PPP", 0x8819: "CobraNet", 0x8847: "MPLS unicast", 0x8848: "MPLS multicast",
    0x8863: "PPPoE discovery", 0x8864: "PPPoE session", 0x887B: "HomePlug 1.0 MME", 0x888E: "EAPOL (802.1X)",
    0x8892: "PROFINET", 0x889A: "HyperSCSI", 0x88A2: "ATA over Ethernet", 0x88A4: "EtherCAT",
    0x88A8: "802.1ad QinQ", 0x88AB: "Ethernet Powerlink", 0x88B5: "IEEE 802 local experimental 1",
    0x88B6: "IEEE 802 local experimental 2", 0x88B8: "GOOSE", 0x88BA: "IEC 61850 sampled values", 0x88BE: "ERSPAN",
    0x88BF: "MikroTik RoMON", 0x88CC: "LLDP", 0x88CD: "SERCOS III", 0x88E1: "HomePlug AV MME", 0x88E3: "MRP",
    0x88E5: "MACsec", 0x88E7: "802.1ah PBB", 0x88F5: "MVRP", 0x88F6: "MMRP", 0x88F7: "PTP", 0x88F8: "NC-SI",
    0x88FB: "PRP", 0x8902: "CFM (802.1ag)", 0x8906: "FCoE", 0x8914: "FCoE Initialization", 0x8915: "RoCE",
    0x891D: "TTEthernet", 0x892F: "HSR", 0x893A: "IEEE 1905.1", 0x893F: "802.1BR E-tag", 0x894F: "NSH",
    0x9000: "Ethernet loopback (CTP)", 0x9100: "VLAN (QinQ, pre-standard)", 0xCAFE: "Veritas LLT",
}

#: PPP protocol numbers (IANA "PPP DLL Protocol Numbers"; the ones met in captures).
PPP_PROTOCOL_NAMES: dict[int, str] = {
    0x0021: "IPv4", 0x0023: "OSI network layer", 0x0029: "AppleTalk", 0x002B: "IPX", 0x002D: "Van Jacobson compressed TCP/IP",
    0x002F: "Van Jacobson uncompressed TCP/IP", 0x0031: "Bridging PDU", 0x003D: "Multilink PPP fragment",
    0x0057: "IPv6", 0x0281: "MPLS unicast", 0x0283: "MPLS multicast", 0x00FB: "individual link compressed datagram",
    0x00FD: "compressed datagram (CCP)", 0x8021: "IPCP", 0x8057: "IPV6CP", 0x80FD: "CCP", 0xC021: "LCP",
    0xC023: "PAP", 0xC025: "link quality report", 0xC223: "CHAP", 0xC227: "EAP",
}

#: The kind under which frames of further kinds are counted once a capture's
#: ``CaptureStats.undecodable`` holds ``MAX_UNDECODABLE_KINDS`` kinds.
OTHER_KINDS = "other"


def linktype_name(linktype: int) -> str:
    """``"ETHERNET"`` for 1; ``"unknown"`` for a number not in the list."""
    return LINKTYPE_NAMES.get(linktype, "unknown")


def describe_key(kind: str, number: int) -> str:
    """One kind of undecodable frame as text: ``link type 147 (USER0)``, ``ethertype 0x88b5 (...)``."""
    if kind == "link type":
        return f"link type {number} ({linktype_name(number)})"
    if kind == "ethertype":
        return f"ethertype 0x{number:04x} ({ETHERTYPE_NAMES.get(number, 'unknown')})"
    if kind == "PPP protocol":
        return f"PPP protocol 0x{number:04x} ({PPP_PROTOCOL_NAMES.get(number, 'unknown')})"
    if kind == "address family":
        return f"loopback address family {number} (not IPv4/IPv6)"
    if kind == "IP version":
        return f"IP version {number} (not 4 or 6)"
    if kind == "MPLS payload":
        return f"MPLS payload not IP (first nibble {number})"
    if kind == "GRE version":
        return f"GRE version {number} (not 0 or 1)"
    if kind == OTHER_KINDS:
        return "further kinds"
    return f"{kind} {number}"


def describe_undecodable(counts: dict[tuple[str, int], int]) -> str:
    """Frames that could not be decoded, most frequent kind first, e.g. ``ethertype 0x88b5
    (IEEE 802 local experimental 1): 2 frames, PPP protocol 0x002d (Van Jacobson compressed
    TCP/IP): 1 frame``."""
    items = sorted(counts.items(), key=lambda kv: (kv[0][0] == OTHER_KINDS, -kv[1], kv[0]))
    return ", ".join(f"{describe_key(k, n)}: {c} frame{'' if c == 1 else 's'}" for (k, n), c in items)
