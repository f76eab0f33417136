"""Encoded payloads: decoder calls, and literals that decode (base64/hex/rot13/zlib) to code."""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
import re
import zlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import Final

from validator.policy.context import Checker, Context

DECODERS: Final = frozenset(
    {
        *(
            f"base64.{name}"
            for name in (
                "b64decode", "b32decode", "b32hexdecode", "b16decode", "a85decode", "b85decode",
                "urlsafe_b64decode", "standard_b64decode", "decodebytes", "decode",
            )
        ),
        "binascii.a2b_base64", "binascii.a2b_hex", "binascii.a2b_qp", "binascii.a2b_uu",
        "binascii.unhexlify", "codecs.decode", "codecs.encode", "codecs.getdecoder",
        "codecs.getencoder", "codecs.iterdecode", "codecs.lookup", "zlib.decompress",
        "zlib.decompressobj", "bz2.decompress", "lzma.decompress", "gzip.decompress",
        "quopri.decodestring",
    }
)
DECODER_METHODS: Final = frozenset({"fromhex"})

_MIN_PAYLOAD = 16
_MIN_BLOB = 256
_B64_RE = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_HEX_RE = re.compile(r"^(?:\\x|0x)?[0-9A-Fa-f\s]+$")
# What hidden code looks like once decoded; kept tight so rot13 of prose does not match.
_CODE_RE = re.compile(
    r"__(?:builtins|class|code|globals|import|loader|mro|subclasses)__|\bimport\s+\w|"
    r"\b(?:exec|eval|compile|getattr|open|system|popen)\s*\(|"
    r"\b(?:os|sys|subprocess|socket|builtins)\.\w|\bsubprocess\b|\blambda\b"
)


def decoded_candidates(value: str) -> Iterator[str]:
    """Every plausible decoding of `value`: rot13, hex, base64, and zlib behind either."""
    yield codecs.decode(value, "rot13")
    compact = re.sub(r"\s+|\\x|0x", "", value)
    raw: list[bytes] = []
    if _HEX_RE.match(value) and len(compact) % 2 == 0:
        raw.append(_try(lambda: binascii.unhexlify(compact)))
    if _B64_RE.match(value):
        padded = compact + "=" * (-len(compact) % 4)
        raw.append(_try(lambda: base64.b64decode(padded, validate=False)))
        raw.append(_try(lambda: base64.urlsafe_b64decode(padded)))
    for data in filter(None, raw):
        yield data.decode("latin-1")
        yield _try(partial(zlib.decompress, data, 47)).decode("latin-1")


def _try(decode: Callable[[], bytes]) -> bytes:
    try:
        return decode()
    except (ValueError, zlib.error):
        return b""


def is_blob(value: str) -> bool:
    compact = re.sub(r"\s+", "", value)
    return len(compact) >= _MIN_BLOB and bool(_B64_RE.match(compact) or _HEX_RE.match(compact))


class EncodedChecker(Checker):
    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        for name in names & DECODERS:
            ctx.report("EP601", node, f"`{name}` decodes an encoded payload")

    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if attr in DECODER_METHODS:
            ctx.report("EP601", node, f"`.{attr}()` decodes an encoded payload")

    def string(self, ctx: Context, node: ast.expr, value: str) -> None:
        if len(value) < _MIN_PAYLOAD:
            return
        for decoded in decoded_candidates(value):
            if decoded and decoded != value and _CODE_RE.search(decoded):
                ctx.report("EP602", node, f"string decodes to code: {decoded[:60]!r}")
                return
        if is_blob(value):
            ctx.report("EP603", node, f"opaque {len(value)}-character encoded literal")
