"""Which values a categorical baseline has seen: a Bloom filter on Spark's xxhash64.

The `<unseen>` bin needs "did any baseline row hold this value?" for every window row outside
the top-K, in the same pass and at O(1) a row. The baseline's distinct values (up to
SEEN_LIMIT of them beyond the top-K) go into a bit array of 16 to 32 bits a value, probed at
two positions derived from the value's xxhash64: at most about 1.4% of never-seen values pass
for seen (counted in `<other>`), and a seen value is never taken for unseen. The bits travel
as a hex string, one SQL literal, tested in Spark with `substr`; the same test runs here in
Python (`XXH64` below is Spark's `xxhash64`, seed 42, over the value's UTF-8 bytes).
"""

from __future__ import annotations

from collections.abc import Iterable

SEEN_LIMIT = 20_000  # distinct values beyond the top-K a column may have and keep <unseen>
# Hex characters all of a baseline's filters may take together: they travel as literals in the
# plan of every scan (and through Py4J), so a table with hundreds of long-tailed string columns
# must not carry megabytes of them. Past it, the columns with the largest filters keep the
# older layout (new values in `<other>`); one column at SEEN_LIMIT values takes 128 KiB.
FILTER_BUDGET = 1 << 20
BITS_PER_VALUE = 16
SEED = 42
_MASK = (1 << 64) - 1
_P1, _P2, _P3 = 11400714785074694791, 14029467366897019727, 1609587929392839161
_P4, _P5 = 9650029242287828579, 2870177450012600261
_HEX = "0123456789abcdef"


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _MASK, 31) * _P1) & _MASK


def xxhash64(text: str, seed: int = SEED) -> int:
    """Spark's `xxhash64(CAST(x AS STRING))`: XXH64 of the UTF-8 bytes, as a signed long."""
    data = text.encode()
    size, i = len(data), 0
    if size >= 32:
        v = [(seed + _P1 + _P2) & _MASK, (seed + _P2) & _MASK, seed & _MASK,
             (seed - _P1) & _MASK]
        while i + 32 <= size:
            for j in range(4):
                v[j] = _round(v[j], int.from_bytes(data[i + 8 * j:i + 8 * j + 8], "little"))
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _MASK
        for lane in v:
            h = ((h ^ _round(0, lane)) * _P1 + _P4) & _MASK
    else:
        h = (seed + _P5) & _MASK
    h = (h + size) & _MASK
    while i + 8 <= size:
        h ^= _round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _MASK
        i += 8
    if i + 4 <= size:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _P1) & _MASK
        h = (_rotl(h, 23) * _P2 + _P3) & _MASK
        i += 4
    while i < size:
        h ^= (data[i] * _P5) & _MASK
        h = (_rotl(h, 11) * _P1) & _MASK
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _MASK
    h ^= h >> 29
    h = (h * _P3) & _MASK
    h ^= h >> 32
    return h - (1 << 64) if h >= 1 << 63 else h


def _positions(value_hash: int, bits: int) -> tuple[int, int]:
    unsigned = value_hash & _MASK
    return unsigned % bits, (unsigned >> 32) % bits


def filter_bits(values: int) -> int:
    """Bits of the filter of this many values: a power of two, >= 64 and >= 16 per value."""
    bits = 64
    while bits < BITS_PER_VALUE * values:
        bits *= 2
    return bits


def within_budget(values: dict[str, int], budget: int) -> set[str]:
    """The columns that keep their filter: smallest first while all fit in `budget` hex
    characters, so as many columns as possible keep `<unseen>`."""
    kept: set[str] = set()
    used = 0
    for name, count in sorted(values.items(), key=lambda item: (item[1], item[0])):
        size = filter_bits(count) // 4
        if used + size > budget:
            break
        kept.add(name)
        used += size
    return kept


def build_filter(hashes: Iterable[int]) -> str:
    """The hex bit string holding these xxhash64 values (see filter_bits)."""
    values = list(hashes)
    bits = filter_bits(len(values))
    digits = [0] * (bits // 4)
    for h in values:
        for p in _positions(h, bits):
            digits[p // 4] |= 1 << (p % 4)
    return "".join(_HEX[d] for d in digits)


def might_contain(seen_filter: str, value: str) -> bool:
    bits = 4 * len(seen_filter)
    return all(_HEX.index(seen_filter[p // 4]) >> (p % 4) & 1
               for p in _positions(xxhash64(value), bits))


def might_contain_sql(seen_filter: str, value_sql: str) -> str:
    """SQL that is true when the string `value_sql` may be in the filter (see might_contain)."""
    bits = 4 * len(seen_filter)
    h = f"xxhash64({value_sql})"

    def probe(position: str) -> str:
        digit = f"instr('{_HEX}', substr('{seen_filter}', CAST({position} DIV 4 AS INT) + 1, 1))"
        return f"(shiftright({digit} - 1, CAST({position} % 4 AS INT)) & 1) = 1"

    return (f"({probe(f'pmod({h}, {bits})')} AND "
            f"{probe(f'pmod(shiftrightunsigned({h}, 32), {bits})')})")
