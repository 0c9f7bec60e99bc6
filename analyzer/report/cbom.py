"""The inventory as a CycloneDX 1.6 cryptography bill of materials (CBOM), and its validation.

Owns the mapping of inventory facts onto CycloneDX 1.6 components of type `cryptographic-asset`
(`cryptoProperties` as the 1.6 schema defines them):

- `protocol`: each negotiated version (`protocolProperties`: `type` `tls`, or `other` for SSL and
  DTLS, which the 1.6 enumeration lacks; `version`; `cipherSuites` with the suite's IANA name, its
  two code bytes as `identifiers` and references to its algorithms; `cryptoRefArray`: the groups
  and signature schemes negotiated with it);
- `algorithm`: what the suites are made of (key exchange, authentication, cipher, MAC or HKDF
  hash), the key exchange groups (post-quantum ones as `kem` with their NIST category), the
  servers' handshake signature schemes, and the certificates' signature and public key algorithms
  (`algorithmProperties`: `primitive`, `parameterSetIdentifier`, `curve`, `mode`, `padding`,
  `cryptoFunctions`, `classicalSecurityLevel`, `nistQuantumSecurityLevel`; `oid` where X.509 has one);
- `certificate`: each server leaf certificate (`certificateProperties`: names, validity,
  `signatureAlgorithmRef`, `subjectPublicKeyRef`, format X.509) with its SHA-256 as a component hash;
- `related-crypto-material`: the public key of each certificate (type `public-key`, size, algorithm).

Every component has occurrence evidence: `location` `CAPTURE#STREAM` (`CAPTURE#quic:STREAM`,
`CAPTURE#dtls:STREAM` for UDP conversations) and, as `additionalContext`, the Wireshark filter that
shows it; at most `MAX_OCCURRENCES` per component (the first in capture and stream order) and the
full count in the property `handshake-analyzer:connections`.

The document is built as plain JSON values, not with cyclonedx-python-lib's model: that model
orders a cipher suite's identifiers and a component's occurrences by its own keys (the two code
bytes alphabetically, occurrences by random references), which loses their meaning and makes two
runs differ. The library validates the result against the 1.6 schema (`validate`). Output is
deterministic: components and their parts are sorted, the timestamp is the start of the last
connection in the captures (not the time of the run), and the serial number is a UUID derived from
the document's content, so the same captures give the same document byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any, Iterable

from ..tls.registry import CipherSuiteInfo, PostQuantumGroup, cipher_suite_info
from .inventory import (
    MAX_OCCURRENCES, OCC_CERT, OCC_GROUP, OCC_SIGNATURE, OCC_SUITE, OCC_VERSION, Inventory, Occurrences,
    post_quantum_info, suite_code,
)

SPEC_VERSION = "1.6"
SCHEMA_URL = "http://cyclonedx.org/schema/bom-1.6.schema.json"
PROPERTY_PREFIX = "handshake-analyzer:"
#: Namespace of the content-derived serial numbers (uuid5 of the document's SHA-256).
SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:handshake-analyzer:cbom")

# classical security of the elliptic curves and groups TLS negotiates (bits; NIST SP 800-57 Part 1
# Table 2 for the NIST curves and RFC 7748 for X25519/X448, brainpool by their field size)
_CURVE_STRENGTH = {
    "secp256r1": 128, "secp384r1": 192, "secp521r1": 256, "x25519": 128, "x448": 224,
    "brainpoolP256r1": 128, "brainpoolP384r1": 192, "brainpoolP512r1": 256,
    "brainpoolP256r1tls13": 128, "brainpoolP384r1tls13": 192, "brainpoolP512r1tls13": 256,
}
# curve names as the CycloneDX recommendation (std-curves) spells them
_CURVE_NAME = {"x25519": "Curve25519", "x448": "Curve448"}
_MAC_NAME = {"SHA": "HMAC-SHA1", "SHA256": "HMAC-SHA256", "SHA384": "HMAC-SHA384", "SHA512": "HMAC-SHA512",
             "MD5": "HMAC-MD5"}
# TLS <= 1.2 key exchange of a suite -> (name, primitive, padding) of its algorithms
_KX: dict[str, list[tuple[str, str, str | None]]] = {
    "RSA": [("RSA key transport", "pke", "pkcs1v15")],
    "DHE": [("DHE", "key-agree", None)], "ECDHE": [("ECDHE", "key-agree", None)],
    "DH": [("DH", "key-agree", None)], "ECDH": [("ECDH", "key-agree", None)],
    "PSK": [("PSK", "other", None)],
    "DHE_PSK": [("DHE", "key-agree", None), ("PSK", "other", None)],
    "ECDHE_PSK": [("ECDHE", "key-agree", None), ("PSK", "other", None)],
    "RSA_PSK": [("RSA key transport", "pke", "pkcs1v15"), ("PSK", "other", None)],
    "SRP": [("SRP", "other", None)], "KRB5": [("Kerberos V5", "other", None)],
}
_AUTH = {"RSA": "RSA", "ECDSA": "ECDSA", "DSS": "DSA"}
_CIPHER_MODES = {"GCM": "gcm", "CCM": "ccm", "CBC": "cbc", "CTR": "ctr"}
_CIPHER_STRENGTH = {"3DES": 112, "DES": 56, "DES40": 40, "CHACHA20": 256, "SEED": 128, "IDEA": 128}
_KEY_ORDER = ("type", "bom-ref", "name", "hashes", "cryptoProperties", "evidence", "properties")
_ASSET_ORDER = {"protocol": 0, "algorithm": 1, "certificate": 2, "related-crypto-material": 3}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.+]+", "-", text.lower()).strip("-") or "x"


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": PROPERTY_PREFIX + name, "value": str(value)}


def _occurrence(capture: str, stream: int, transport: str) -> dict[str, Any]:
    udp = transport in ("quic", "dtls")
    where = f"{capture}#{transport}:{stream}" if udp else f"{capture}#{stream}"
    return {"location": where, "additionalContext": f"{'udp' if udp else 'tcp'}.stream == {stream} ({transport})"}


class _Assets:
    """The components being built, by bom-ref; each with the occurrences of what made it."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self.occurrences: dict[str, Occurrences] = {}

    def add(self, ref: str, name: str, crypto: dict[str, Any], occ: Occurrences | None,
            extra: dict[str, Any] | None = None) -> str:
        if ref not in self.components:
            self.components[ref] = {"type": "cryptographic-asset", "bom-ref": ref, "name": name,
                                    "cryptoProperties": crypto, **(extra or {})}
            self.occurrences[ref] = Occurrences()
        if occ is not None:
            self.occurrences[ref].merge(occ)
        return ref

    def algorithm(self, name: str, props: dict[str, Any], occ: Occurrences | None, *, oid: str | None = None,
                  properties: list[dict[str, str]] | None = None, role: str = "") -> str:
        crypto: dict[str, Any] = {"assetType": "algorithm",
                                  "algorithmProperties": {k: v for k, v in props.items() if v is not None}}
        if oid:
            crypto["oid"] = oid
        ref = f"crypto/algorithm/{_slug(role + '-' + name if role else name)}"
        return self.add(ref, name, crypto, occ, {"properties": properties} if properties else None)

    def finish(self) -> list[dict[str, Any]]:
        out = []
        for ref, comp in self.components.items():
            occ = self.occurrences[ref]
            if occ.count:
                comp["evidence"] = {"occurrences": [_occurrence(*o) for o in occ.first()]}
            comp["properties"] = sorted(comp.get("properties", []) + [_prop("connections", occ.count)],
                                        key=lambda p: (p["name"], p["value"]))
            out.append({k: comp[k] for k in _KEY_ORDER if k in comp})
        out.sort(key=lambda c: (_ASSET_ORDER[c["cryptoProperties"]["assetType"]], c["bom-ref"]))
        return out


# --------------------------------------------------------------------------- algorithms


def _cipher_algorithm(info: CipherSuiteInfo) -> tuple[str, dict[str, Any]] | None:
    """`AES_128_GCM` -> (`AES-128-GCM`, its algorithmProperties); None for NULL."""
    cipher = info.cipher
    if cipher in ("NULL", ""):
        return None
    tokens = cipher.split("_")
    family = tokens[0]
    size = next((t for t in tokens[1:] if t.isdigit()), None)
    mode = next((_CIPHER_MODES[t] for t in tokens[1:] if t in _CIPHER_MODES), None)
    if family == "CHACHA20":
        name, size = "ChaCha20-Poly1305" if "POLY1305" in tokens else "ChaCha20", "256"
    else:
        name = "-".join(tokens)
    if info.aead:
        primitive = "ae"
    elif family in ("RC4", "CHACHA20"):
        primitive = "stream-cipher"
    else:
        primitive = "block-cipher"
    strength = _CIPHER_STRENGTH.get(family)  # RC4, RC2: broken, no level claimed
    if strength is None and family in ("AES", "CAMELLIA", "ARIA", "SM4") and size:
        strength = int(size)
    return name, {"primitive": primitive, "parameterSetIdentifier": size, "mode": mode,
                  "cryptoFunctions": ["encrypt", "decrypt"] + (["tag"] if info.aead else []),
                  "classicalSecurityLevel": strength}


def _suite_algorithms(assets: _Assets, info: CipherSuiteInfo, occ: Occurrences) -> list[str]:
    refs: list[str] = []
    if not info.tls13:
        for name, primitive, padding in _KX.get(info.key_exchange, []):
            functions = ["keygen" if primitive == "key-agree" else "encrypt"]
            level = 0 if primitive != "other" else None
            props = {"primitive": primitive, "padding": padding, "cryptoFunctions": functions,
                     "nistQuantumSecurityLevel": level}
            refs.append(assets.algorithm(name, props, occ, role="kx"))
        auth = _AUTH.get(info.authentication)
        if auth is not None:
            refs.append(assets.algorithm(auth, {"primitive": "signature", "cryptoFunctions": ["sign", "verify"],
                                                "nistQuantumSecurityLevel": 0}, occ, role="auth"))
    cipher = _cipher_algorithm(info)
    if cipher is not None:
        refs.append(assets.algorithm(cipher[0], cipher[1], occ))
    if info.tls13:
        refs.append(assets.algorithm(f"HKDF-{info.prf_hash}", {"primitive": "kdf", "cryptoFunctions": ["keyderive"]},
                                     occ))
    elif not info.aead and info.mac in _MAC_NAME:
        refs.append(assets.algorithm(_MAC_NAME[info.mac], {"primitive": "mac", "cryptoFunctions": ["tag"]}, occ))
    return refs


def _group_algorithm(assets: _Assets, group: str, occ: Occurrences | None) -> str:
    pq: PostQuantumGroup | None = post_quantum_info(group)
    if pq is not None:
        level = pq.kem.rsplit("-", 1)[-1]
        props = {"primitive": "kem", "parameterSetIdentifier": level if level.isdigit() else None,
                 "curve": _CURVE_NAME.get(pq.classical, pq.classical) or None,
                 "cryptoFunctions": ["keygen", "encapsulate", "decapsulate"],
                 "classicalSecurityLevel": _CURVE_STRENGTH.get(pq.classical),
                 "nistQuantumSecurityLevel": pq.nist_level}
        extra = [_prop("post-quantum", pq.kind),
                 _prop("composition", f"{pq.classical} + {pq.kem}" if pq.classical else pq.kem)]
        return assets.algorithm(group, props, occ, properties=extra, role="group")
    m = re.fullmatch(r"(?:ffdhe|DH )(\d+)(?:-bit)?", group)
    if m:
        return assets.algorithm(group, {"primitive": "key-agree", "parameterSetIdentifier": m.group(1),
                                        "cryptoFunctions": ["keygen"], "nistQuantumSecurityLevel": 0},
                                occ, role="group")
    return assets.algorithm(group, {"primitive": "key-agree", "curve": _CURVE_NAME.get(group, group),
                                    "cryptoFunctions": ["keygen"], "classicalSecurityLevel": _CURVE_STRENGTH.get(group),
                                    "nistQuantumSecurityLevel": 0}, occ, role="group")


_MLDSA_LEVEL = {"mldsa44": 2, "mldsa65": 3, "mldsa87": 5}


def _signature_scheme(assets: _Assets, scheme: str, occ: Occurrences | None) -> str:
    """A TLS SignatureScheme (`rsa_pss_rsae_sha256`, `ecdsa_secp256r1_sha256`, `ed25519`, `mldsa65` ...)."""
    curve = next((c for c in _CURVE_STRENGTH if c in scheme), None)
    if scheme in ("ed25519", "ed448"):
        curve = "Ed25519" if scheme == "ed25519" else "Ed448"
    props = {"primitive": "signature", "curve": curve, "padding": "pkcs1v15" if "pkcs1" in scheme else None,
             "cryptoFunctions": ["sign", "verify"], "nistQuantumSecurityLevel": _MLDSA_LEVEL.get(scheme, 0)}
    return assets.algorithm(scheme, props, occ, role="tls-signature")


def _x509_oids() -> tuple[dict[str, str], dict[str, str]]:
    """Names cryptography gives signature and public key algorithms -> dotted OIDs (from its registry)."""
    from cryptography.x509.oid import PublicKeyAlgorithmOID, SignatureAlgorithmOID

    sigs = {}
    for n in dir(SignatureAlgorithmOID):
        o = getattr(SignatureAlgorithmOID, n)
        if not n.startswith("_") and hasattr(o, "dotted_string"):
            sigs[o._name] = o.dotted_string
    keys = {"RSA": PublicKeyAlgorithmOID.RSAES_PKCS1_v1_5.dotted_string,
            "EC": PublicKeyAlgorithmOID.EC_PUBLIC_KEY.dotted_string,
            "Ed25519": PublicKeyAlgorithmOID.ED25519.dotted_string,
            "Ed448": PublicKeyAlgorithmOID.ED448.dotted_string,
            "DSA": PublicKeyAlgorithmOID.DSA.dotted_string}
    return sigs, keys


def _key_algorithm(assets: _Assets, key_type: str, bits: int | None, oids: dict[str, str],
                   occ: Occurrences | None) -> str:
    """The public key algorithm of a certificate: `RSA` 2048 -> `RSA-2048`, `EC secp256r1` -> `EC-secp256r1`."""
    family, _, curve = key_type.partition(" ")
    if family == "RSA" or family == "DSA":
        name = f"{family}-{bits}" if bits else family
        props = {"primitive": "pke" if family == "RSA" else "signature",
                 "parameterSetIdentifier": str(bits) if bits else None,
                 "cryptoFunctions": ["encrypt", "verify"] if family == "RSA" else ["verify"],
                 "nistQuantumSecurityLevel": 0}
    elif family == "EC":
        name = f"EC-{curve}" if curve else "EC"
        props = {"primitive": "signature", "curve": curve or None, "cryptoFunctions": ["verify"],
                 "classicalSecurityLevel": _CURVE_STRENGTH.get(curve), "nistQuantumSecurityLevel": 0}
    else:
        name = key_type
        props = {"primitive": "signature" if family in ("Ed25519", "Ed448") else "unknown",
                 "curve": family if family in ("Ed25519", "Ed448") else None, "cryptoFunctions": ["verify"],
                 "nistQuantumSecurityLevel": 0 if family in ("Ed25519", "Ed448") else None}
    return assets.algorithm(name, props, occ, oid=oids.get(family), role="key")


# --------------------------------------------------------------------------- the document


def _code_bytes(code: int) -> list[str]:
    return [f"0x{code >> 8:02X}", f"0x{code & 0xFF:02X}"]


def _protocol(version: str) -> tuple[str, str]:
    """(protocolProperties.type, version) of a version name."""
    kind, _, number = version.partition(" ")
    return ("tls" if kind == "TLS" else "other"), number or version


def components(inv: Inventory) -> list[dict[str, Any]]:
    """The CBOM's components, sorted by asset type and bom-ref."""
    assets = _Assets()
    occ = inv.occurrences
    empty = Occurrences()

    def o(kind: str, value: Any) -> Occurrences:
        return occ.get((kind, str(value)), empty)

    suite_algs: dict[str, list[str]] = {}
    for (kind, suite), found in sorted(occ.items()):
        if kind != OCC_SUITE:
            continue
        code = suite_code(suite)
        info = cipher_suite_info(code) if code is not None else None
        suite_algs[suite] = _suite_algorithms(assets, info, found) if info is not None else []
    group_refs = {g: _group_algorithm(assets, g, found) for (kind, g), found in sorted(occ.items())
                  if kind == OCC_GROUP}
    sig_refs = {s: _signature_scheme(assets, s, found) for (kind, s), found in sorted(occ.items())
                if kind == OCC_SIGNATURE}

    for p in inv.protocols:
        ptype, number = _protocol(p.version)
        suites = []
        for suite in sorted(p.cipher_suites):
            code = suite_code(suite)
            entry: dict[str, Any] = {"name": suite}
            if suite_algs.get(suite):
                entry["algorithms"] = sorted(set(suite_algs[suite]))
            if code is not None:
                entry["identifiers"] = _code_bytes(code)
            suites.append(entry)
        refs = sorted({group_refs[g] for g in p.groups if g in group_refs}
                      | {sig_refs[s] for s in p.signature_algorithms if s in sig_refs})
        props: dict[str, Any] = {"type": ptype, "version": number, "cipherSuites": suites}
        if refs:
            props["cryptoRefArray"] = refs
        assets.add(f"crypto/protocol/{_slug(p.version)}", p.version,
                   {"assetType": "protocol", "protocolProperties": props}, o(OCC_VERSION, p.version),
                   {"properties": [_prop("transport", t) for t in sorted(p.transports)]})

    sig_oids, key_oids = _x509_oids()
    for c in inv.certificates:
        found = o(OCC_CERT, c.sha256)
        cert: dict[str, Any] = {"certificateFormat": "X.509"}
        if c.subject is not None:
            cert["subjectName"] = c.subject
        if c.issuer is not None:
            cert["issuerName"] = c.issuer
        if c.not_before is not None:
            cert["notValidBefore"] = _iso(c.not_before)
        if c.not_after is not None:
            cert["notValidAfter"] = _iso(c.not_after)
        if c.signature_algorithm:
            cert["signatureAlgorithmRef"] = assets.algorithm(
                c.signature_algorithm,
                {"primitive": "signature", "cryptoFunctions": ["sign", "verify"],
                 "padding": "pkcs1v15" if "WithRSAEncryption" in c.signature_algorithm else None,
                 "nistQuantumSecurityLevel": 0},
                found, oid=sig_oids.get(c.signature_algorithm), role="x509-signature")
        if c.key_type:
            key_alg = _key_algorithm(assets, c.key_type, c.key_bits, key_oids, found)
            material: dict[str, Any] = {"type": "public-key", "algorithmRef": key_alg}
            if c.key_bits:
                material["size"] = int(c.key_bits)
            cert["subjectPublicKeyRef"] = assets.add(
                f"crypto/key/{c.sha256}",
                f"{assets.components[key_alg]['name']} public key of certificate {c.sha256[:16]}",
                {"assetType": "related-crypto-material", "relatedCryptoMaterialProperties": material}, found)
        extra = []
        if c.days_left is not None:
            extra.append(_prop("days-left-at-capture", c.days_left))
        if c.last_seen is not None:
            extra.append(_prop("last-seen", _iso(c.last_seen)))
        if c.expired or c.expiring:
            extra.append(_prop("expiry", "expired" if c.expired else "expiring within 30 days"))
        extra += [_prop("server", s) for s in sorted(c.servers)]
        assets.add(f"crypto/certificate/{c.sha256}", c.subject or c.sha256,
                   {"assetType": "certificate", "certificateProperties": cert}, found,
                   {"hashes": [{"alg": "SHA-256", "content": c.sha256}], "properties": extra})
    return assets.finish()


def _iso(d: Any) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def cbom(inv: Inventory, *, version: str = "") -> dict[str, Any]:
    """The CycloneDX 1.6 document (JSON values) of an inventory."""
    metadata: dict[str, Any] = {
        "tools": {"components": [{"type": "application", "name": "handshake-analyzer",
                                  "version": version or "unknown"}]},
        "properties": [_prop("capture", c) for c in inv.captures]
                      + [_prop("max-occurrences-per-component", MAX_OCCURRENCES)],
    }
    if inv.last_time is not None:
        metadata = {"timestamp": _iso(inv.last_time), **metadata}
    doc: dict[str, Any] = {
        "$schema": SCHEMA_URL, "bomFormat": "CycloneDX", "specVersion": SPEC_VERSION, "version": 1,
        "metadata": metadata, "components": components(inv),
    }
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return {"$schema": SCHEMA_URL, "bomFormat": "CycloneDX", "specVersion": SPEC_VERSION,
            "serialNumber": f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, digest)}", "version": 1,
            "metadata": metadata, "components": doc["components"]}


def validate(document: dict[str, Any] | str) -> str | None:
    """None when the document is valid CycloneDX 1.6 JSON (strict schema, through cyclonedx-python-lib),
    else the validation error (needs the library's `json-validation` extra)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = document if isinstance(document, str) else json.dumps(document)
    err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return None if err is None else str(err)


def algorithms_of(document: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The algorithm components of a CBOM."""
    return (c for c in document.get("components", ()) if c["cryptoProperties"]["assetType"] == "algorithm")


__all__ = ["SPEC_VERSION", "algorithms_of", "cbom", "components", "validate"]
