"""The fuzz engine: a seeded mutator, checksum repair, and the loop that checks each input.

A :class:`Target` is one decoder entry point: ``run(data)`` feeds it one byte string, and
``seeds()`` returns small valid inputs written by our own encoders and writers. The contract
checked for every input is the one in ``docs/guarantees.md``: the decoder returns, or raises
one of ``target.expected`` (a :class:`codec.errors.CodecError`; ``entropy.EntropyError`` for the
entropy layer). Anything else is a finding: another exception, a run slower than
:data:`SLOW_SECONDS`, or (``check_memory``) a traced peak above ``target.memory_bound(len(data))``.

Targets behind a CRC get a ``prepare`` step (``fix_*_crcs``) that recomputes the checksums of
a mutated input, so that mutations reach the parser behind the CRC instead of stopping at
"checksum mismatch"; the ``container`` target keeps the CRCs as they are, because the CRC check
is what it tests.

:func:`fuzz` is seeded (``random.Random``): a given ``(target, seed, iterations)`` always tries
the same inputs, which the tests rely on. The targets are in ``fuzz_targets.py``.
"""

from __future__ import annotations

import dataclasses
import random
import struct
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "CI_SLOW_SECONDS",
    "CORPUS_DIR",
    "MIB",
    "SLOW_SECONDS",
    "Finding",
    "FuzzStats",
    "Target",
    "corpus_inputs",
    "fix_container_crcs",
    "fix_family_crcs",
    "fix_stream_crcs",
    "fix_trailing_crc",
    "fuzz",
    "mutate",
    "mutate_container",
    "run_one",
]

CORPUS_DIR = Path(__file__).resolve().parent / "fuzz_corpus"
SLOW_SECONDS = 2.0  # one decode of a fuzz input (all of them are small) must finish within this
CI_SLOW_SECONDS = 30.0  # the tests only flag hangs: a timing threshold must not make CI flaky
MIB = 1 << 20

# --------------------------------------------------------------------------------------------
# mutation engine

_INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF,
                0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]


def _put_int(buf: bytearray, rng: random.Random) -> None:
    size = rng.choice((1, 2, 4, 8))
    if len(buf) < size:
        return
    value = rng.choice(_INTERESTING) if rng.random() < 0.7 else rng.getrandbits(8 * size)
    if rng.random() < 0.3:
        value = -value
    value &= (1 << (8 * size)) - 1
    pos = rng.randrange(len(buf) - size + 1)
    buf[pos:pos + size] = value.to_bytes(size, rng.choice(("little", "big")))


def _arith(buf: bytearray, rng: random.Random) -> None:
    size = rng.choice((1, 2, 4, 8))
    if len(buf) < size:
        return
    pos = rng.randrange(len(buf) - size + 1)
    value = int.from_bytes(buf[pos:pos + size], "little") + rng.randint(-35, 35)
    buf[pos:pos + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def mutate(data: bytes, rng: random.Random, others: list[bytes] = (), max_len: int = 1 << 16) -> bytes:
    """One to four random edits of ``data``: bit/byte flips, interesting integers, small
    arithmetic, truncation, deletion, insertion, duplication, splicing with ``others``."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        op = rng.randrange(10)
        n = len(buf)
        if op == 0 and n:  # flip one bit
            pos = rng.randrange(n)
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # set one byte
            buf[rng.randrange(n)] = rng.randrange(256)
        elif op == 2:
            _put_int(buf, rng)
        elif op == 3:
            _arith(buf, rng)
        elif op == 4 and n:  # truncate
            del buf[rng.randrange(n):]
        elif op == 5 and n:  # delete a run
            pos = rng.randrange(n)
            del buf[pos:pos + rng.randint(1, 16)]
        elif op == 6:  # insert random bytes
            pos = rng.randint(0, n)
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 7 and n:  # duplicate a run
            pos = rng.randrange(n)
            chunk = buf[pos:pos + rng.randint(1, 64)]
            at = rng.randint(0, n)
            buf[at:at] = chunk
        elif op == 8 and others:  # splice with another input
            other = rng.choice(others)
            cut_a = rng.randint(0, n)
            cut_b = rng.randint(0, len(other))
            buf = buf[:cut_a] + bytearray(other[cut_b:])
        elif op == 9 and n:  # overwrite a run with a repeated byte
            pos = rng.randrange(n)
            length = rng.randint(1, 32)
            buf[pos:pos + length] = bytes([rng.choice((0, 0xFF, rng.randrange(256)))]) * min(length, n - pos)
    return bytes(buf[:max_len])


# --------------------------------------------------------------------------------------------
# container checksum repair (so mutations get past the CRCs)


def fix_container_crcs(data: bytes) -> bytes:
    """Recompute the header CRC and every complete section's CRC of a (damaged) container.

    Walks the layout of ``docs/format.md`` without validating anything; where the structure
    cannot be followed the bytes are returned with whatever was fixed so far.
    """
    buf = bytearray(data)
    if len(buf) < 12:
        return bytes(buf)
    body_len = int.from_bytes(buf[8:12], "little")
    end = 12 + body_len
    if end + 4 > len(buf):
        return bytes(buf)
    # section table: parse the body loosely to find (size) entries
    sizes, table = [], []
    try:
        pos = 12
        n_fields, n_sections = struct.unpack_from("<HH", buf, pos)
        pos += 4
        for _ in range(n_fields):
            pos += 1 + buf[pos]
            tag = buf[pos]
            pos += 1
            if tag in (1, 2):
                pos += 8
            else:
                pos += 4 + int.from_bytes(buf[pos:pos + 4], "little")
        for _ in range(n_sections):
            pos += 1 + buf[pos]
            size = int.from_bytes(buf[pos:pos + 8], "little")
            table.append(pos + 8)
            sizes.append(size)
            pos += 12
        if pos > end:
            raise IndexError
    except (IndexError, struct.error):
        sizes, table = [], []
    offset = end + 4
    for size, crc_at in zip(sizes, table):
        if offset + size > len(buf):
            break
        crc = zlib.crc32(buf[offset:offset + size]) & 0xFFFFFFFF
        buf[crc_at:crc_at + 4] = crc.to_bytes(4, "little")
        offset += size
    buf[end:end + 4] = (zlib.crc32(buf[:end]) & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(buf)


def fix_trailing_crc(data: bytes) -> bytes:
    if len(data) < 4:
        return data
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]) & 0xFFFFFFFF)


def fix_family_crcs(data: bytes) -> bytes:
    """ScaleFamily bytes: fix the inner FrequencyTables CRC, then the outer one."""
    if len(data) >= 16:
        s = int.from_bytes(data[12:16], "little")
        at = 16 + 8 * s
        if at < len(data) - 4:
            inner = fix_trailing_crc(data[at:-4])
            data = data[:at] + inner + data[-4:]
    return fix_trailing_crc(data)


def fix_stream_crcs(data: bytes) -> bytes:
    """Recompute the container CRC, every record's header and payload CRC and the trailer CRC."""
    buf = bytearray(data)
    if len(buf) < 12:
        return bytes(buf)
    start = 12 + int.from_bytes(buf[8:12], "little") + 4
    buf[:start] = fix_container_crcs(bytes(buf[:start]))
    pos = start
    while pos + 32 <= len(buf) and buf[pos:pos + 4] == b"GMFR":
        size = int.from_bytes(buf[pos + 20:pos + 24], "little")
        payload = buf[pos + 32:pos + 32 + size]
        if len(payload) == size:
            buf[pos + 24:pos + 28] = (zlib.crc32(payload) & 0xFFFFFFFF).to_bytes(4, "little")
        buf[pos + 28:pos + 32] = (zlib.crc32(buf[pos:pos + 28]) & 0xFFFFFFFF).to_bytes(4, "little")
        pos += 32 + size
    if len(buf) >= 16 and buf[-16:-12] == b"GMIE":
        buf[-4:] = (zlib.crc32(buf[-16:-4]) & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(buf)


_FIELD_INTS = [0, 1, 2, 3, 7, 16, 32, 48, 64, 255, 256, 1024, 16384, 65535, 1 << 20, 1 << 31, 1 << 40,
               (1 << 63) - 1, -1, -16, -(1 << 63)]
_FIELD_STRS = ["", "RGB", "RGBA", "L", "CMYK", "x" * 70, "tiny-test", "\u00e9"]


def mutate_container(data: bytes, rng: random.Random) -> bytes:
    """Structure-aware edit of a valid container: one header field set to an extreme or wrongly
    typed value, removed or added, or one section dropped, duplicated under another name,
    swapped with another, emptied or cut. Returns ``data`` unchanged if it does not parse."""
    from codec.container import Container, pack, unpack
    from codec.errors import CodecError

    try:
        c = unpack(data)
    except CodecError:
        return data
    header, sections = dict(c.header), list(c.sections)
    op = rng.randrange(4) if sections else rng.randrange(2)
    if op == 0 and not header:
        op = 1
    if op == 0:
        name = rng.choice(list(header))
        header[name] = rng.choice([rng.choice(_FIELD_INTS), rng.choice(_FIELD_STRS), rng.random() * 1e6,
                                   float("nan"), b"\x00" * rng.randrange(4), header[name]])
        if isinstance(header[name], int) and isinstance(c.header[name], int) and rng.random() < 0.5:
            header[name] = c.header[name] + rng.randint(-3, 3)
    elif op == 1:
        if header and rng.random() < 0.5:
            header.pop(rng.choice(list(header)))
        else:
            header[rng.choice(["quality", "width", "extra", "count", "n"])] = rng.choice(_FIELD_INTS)
    elif op == 2:
        i = rng.randrange(len(sections))
        name, payload = sections[i]
        choice = rng.randrange(4)
        if choice == 0:
            del sections[i]
        elif choice == 1:
            sections[i] = (name, payload[:rng.randint(0, len(payload))])
        elif choice == 2:
            sections[i] = (name, b"")
        else:
            j = rng.randrange(len(sections))
            sections[i], sections[j] = (name, sections[j][1]), (sections[j][0], payload)
    else:
        name, payload = rng.choice(sections)
        sections.append((f"{name}x" if len(name) < 60 else "copy", payload))
    try:
        return pack(Container(c.kind, header, tuple(sections), c.version))
    except (CodecError, ValueError, TypeError):
        return data


# --------------------------------------------------------------------------------------------
# targets and running


@dataclasses.dataclass(frozen=True)
class Target:
    """One decoder entry point under fuzzing (see the module docstring)."""

    name: str
    run: Callable[[bytes], object]
    seeds: Callable[[], list[bytes]]
    expected: tuple[type[BaseException], ...]
    prepare: Callable[[bytes], bytes] = staticmethod(lambda data: data)  # noqa: RUF009
    max_len: int = 1 << 16
    # traced-allocation bound for one input (bytes): fixed slack + a multiple of its size
    memory_bound: Callable[[int], int] = staticmethod(lambda n: 64 * MIB + 256 * n)  # noqa: RUF009
    available: Callable[[], str | None] = staticmethod(lambda: None)  # noqa: RUF009 - why it cannot run
    structured: bool = False  # inputs are containers: also mutate their fields and sections


def corpus_inputs(target: str) -> list[tuple[str, bytes]]:
    """Regression inputs stored under ``tests/fuzz_corpus/<target>/`` (name, bytes)."""
    folder = CORPUS_DIR / target
    if not folder.is_dir():
        return []
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]


# --------------------------------------------------------------------------------------------
# running


@dataclasses.dataclass
class Finding:
    """An input that broke the contract: ``kind`` is "exception", "slow" or "memory"."""

    target: str
    kind: str
    detail: str
    data: bytes

    def __str__(self) -> str:
        return f"{self.target}: {self.kind}: {self.detail} (input {len(self.data)} bytes: {self.data[:64].hex()}...)"


@dataclasses.dataclass
class FuzzStats:
    target: str
    executions: int = 0
    accepted: int = 0  # inputs that decoded without error
    rejected: int = 0  # inputs refused with an expected error
    seconds: float = 0.0
    findings: list[Finding] = dataclasses.field(default_factory=list)


def run_one(target: Target, data: bytes, check_memory: bool = False,
            slow_seconds: float = SLOW_SECONDS) -> tuple[str, Finding | None]:
    """Feed one (already prepared) input; returns ("ok" | "rejected" | "finding", finding)."""
    if check_memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    start = time.perf_counter()
    outcome, finding = "ok", None
    try:
        target.run(data)
    except target.expected:
        outcome = "rejected"
    except MemoryError as exc:
        outcome, finding = "finding", Finding(target.name, "memory", f"MemoryError: {exc}", data)
    except Exception as exc:  # noqa: BLE001 - the point: anything else is a finding
        outcome, finding = "finding", Finding(target.name, "exception", f"{type(exc).__name__}: {exc}", data)
    seconds = time.perf_counter() - start
    if check_memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if finding is None and peak > target.memory_bound(len(data)):
            outcome, finding = "finding", Finding(target.name, "memory", f"traced peak {peak} bytes", data)
    if finding is None and seconds > slow_seconds:
        outcome, finding = "finding", Finding(target.name, "slow", f"{seconds:.2f} s", data)
    return outcome, finding


def fuzz(target: Target, *, seed: int = 0, iterations: int | None = None, seconds: float | None = None,
         check_memory: bool = False, stop_on_finding: bool = False, slow_seconds: float = SLOW_SECONDS,
         on_finding: Callable[[Finding], None] | None = None) -> FuzzStats:
    """Mutate the target's seeds (and its stored corpus) and run each input.

    Deterministic for a given ``seed`` and ``iterations``; ``seconds`` bounds wall time
    instead (for long runs, not for tests). The seeds and stored corpus run first, unmutated.
    """
    assert iterations is not None or seconds is not None
    rng = random.Random(seed)
    seeds = list(target.seeds()) + [data for _, data in corpus_inputs(target.name)]
    pool = list(seeds)  # inputs that decoded fine are kept as mutation material
    stats = FuzzStats(target.name)
    start = time.perf_counter()
    queue = list(seeds)
    while True:
        if iterations is not None and stats.executions >= iterations:
            break
        if seconds is not None and time.perf_counter() - start >= seconds:
            break
        if queue:
            data = target.prepare(queue.pop(0))
        elif target.structured and rng.random() < 0.3:
            data = target.prepare(mutate_container(rng.choice(pool), rng))
        else:
            data = target.prepare(mutate(rng.choice(pool), rng, seeds, target.max_len))
        outcome, finding = run_one(target, data, check_memory, slow_seconds)
        stats.executions += 1
        if outcome == "ok":
            stats.accepted += 1
            if len(pool) < 256 and data not in pool:
                pool.append(data)
        elif outcome == "rejected":
            stats.rejected += 1
        if finding is not None:
            stats.findings.append(finding)
            if on_finding:
                on_finding(finding)
            if stop_on_finding:
                break
    stats.seconds = time.perf_counter() - start
    return stats
