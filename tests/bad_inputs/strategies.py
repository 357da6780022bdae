"""Bad inputs: random bytes, and valid files mutated where their format is fragile."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

HEAD = 4096  # bytes at the start of a binary file where headers live (mutated more often)
SPAN = 64  # longest span one deletion or duplication touches

CSV_TOKENS = (
    b":", b",", b"[", b"]", b"-1", b" ", b"\n", b"\r\n", b"\t", b'"', b"\x00", b"\xff\xfe",
    b"1e400", b"nan", b"99999999999999999999999", b"-99999999999999999999999", b"0x1f",
)  # fmt: skip
JSON_TOKENS = (
    b"{", b"}", b"[", b"]", b",", b":", b'"', b"null", b"true", b"-0", b"1e999", b"NaN",
    b"99999999999999999999999999999", b"\\ud800", b"\xc3\x28", b"[" * 5000, b"{\"a\":" * 3000,
)  # fmt: skip
TOML_TOKENS = (
    b"=", b"[", b"]", b'"', b"'''", b"\n[build]\n", b"\n[[x]]\n", b"nan", b"inf", b"-inf", b"-1",
    b"0", b"1e400", b"0x", b"true", b"\xff", b"[" * 3000, b"a.b.c = 1\n", b"workers = 0\n",
    b"https://[", b":99999", b"://", b"(?P<", b"\\9", b":a()", b"::attr(", b"xpath:/[",
)  # fmt: skip
TEXT_TOKENS = (
    b" ", b"\n", b"train", b"query", b"gallery", b"-1", b"99999999999999999999",
    b"img/MEN/Denim/id_00000001/01_1_front.jpg", b".jpg", b"\xff", b"\x00", b"\r",
)  # fmt: skip
HDF5_TOKENS = (
    b"\x89HDF\r\n\x1a\n", b"\x00" * 8, b"\xff" * 8, b"\x7f\xff\xff\xff\xff\xff\xff\xff",
    b"TREE", b"HEAP", b"OHDR", b"SNOD", b"GCOL",
)  # fmt: skip
IMAGE_TOKENS = (
    b"\xff\xd8", b"\xff\xd9", b"\xff\xda", b"\xff\xc0\x00\x11\x08\x7f\xff\x7f\xff\x03",
    b"\xff\xc2", b"IHDR", b"\x7f\xff\xff\xff", b"\x00\x00\x75\x30", b"\x00" * 16, b"\xff" * 16,
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, valid: bytes, tokens: Sequence[bytes]) -> bytes:
    """``valid`` after one to four edits: byte flips (often in the header), deletions,
    insertions of random bytes or of tokens the format gives meaning to, duplications,
    replacements and truncation."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        n = len(data)
        head = draw(st.booleans())
        i = draw(st.integers(0, min(n, HEAD) if head else n))
        j = min(n, i + draw(st.integers(0, SPAN)))
        op = draw(st.sampled_from(["flip", "delete", "insert", "token", "replace", "dup", "cut"]))
        if op == "flip" and n:
            data[min(i, n - 1)] ^= draw(st.integers(1, 255))
        elif op == "delete":
            del data[i:j]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "token":
            data[i:i] = draw(st.sampled_from(tokens))
        elif op == "replace":
            data[i:j] = draw(st.sampled_from(tokens))
        elif op == "dup":
            data[i:i] = data[i:j]
        elif op == "cut":
            del data[i:]
    return bytes(data)


def bad_bytes(valid: bytes | Sequence[bytes], tokens: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Random bytes, or one of the ``valid`` files mutated."""
    files = [valid] if isinstance(valid, bytes) else list(valid)
    mutations = st.sampled_from(files).flatmap(lambda v: mutated(v, tokens))
    return st.one_of(st.binary(max_size=2048), mutations, mutations)
