"""Key hashes and row checksums that both databases compute bit for bit.

The bucket diff (``diff.py``) needs, per row, a key hash ``h`` (which bucket the row falls
in) and a row checksum ``rh`` (summed per bucket). Both sides must agree exactly, so the
hash function is chosen per *pair* of sides, from an explicit table of adapters:

- both sides PostgreSQL: ``hashtextextended(text, 0)``, built in, about 8x cheaper than
  MD5 there (it is the function behind hash partitioning, so it is stable across servers
  of one major version; it is never needed in Python because both sides are SQL);
- SQLite, MariaDB/MySQL and streamed (Python) sides among themselves: CRC-32 of the UTF-8
  text (MySQL's ``CRC32``, ``zlib.crc32`` registered on our SQLite connections: a third of
  the cost of an MD5 called from SQLite; on a SQLite file read as Arrow batches, the same
  CRC-32 computed with numpy, ``arrowcalc.crc32``);
- any other mix: the first 32 bits of MD5, which every dialect and Python share.

Only the key is hashed. The row checksum is integer arithmetic on the key hash and the
compared values (exact cents, a NULL/invalid tag, a hash of the compared text columns when
there are any), evaluated identically by every dialect and by :func:`row_checksum`:

    acc = 0; for each amount, with c = cents mod P:
        acc = (acc*K + tag) % P; acc = (acc*K + c) % P; acc = (acc*K + c*c % P) % P
    if texts: acc = (acc*K + hash(texts) % P) % P
    rh = ((acc + h) % P) * (h % K + 1) % P

with ``P = 2^31 - 1`` (prime) and ``K = 1,000,003``; every intermediate stays below 2^62,
so no dialect overflows or rounds. The final multiplication by a key-dependent factor makes
the bucket sum change when two keys of one bucket swap values. The square of the cents
makes the checksum non-linear in them: without it, two rows of one key changed by ``+d``
and ``-d`` (a cent moved between two lines of one invoice) left the bucket's checksum sum
unchanged, and the amount totals unchanged too. It is a checksum, not a signature: two
changes in one bucket can cancel (about one chance in 2^31), and a single amount changed
by an exact multiple of P cents is invisible to it (the amount totals still show such a
change).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

P = 2_147_483_647
K = 1_000_003
CRC_FN = "mig_crc32"
MD5_FN = "mig_h32"
TEXT_SEP = "|"
NULL_TEXT = "N"  # a NULL text column in the hashed text; present values are prefixed "V"


def md5_32(text: str) -> int:
    """First 32 bits of MD5 of the UTF-8 text, as an unsigned integer."""
    return int.from_bytes(hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest()[:4])


def crc_32(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _md5_sql(t: str, family: str) -> str:
    if family == "postgresql":
        return f"(('x' || substr(md5({t}), 1, 8))::bit(32)::bigint)"
    if family == "mysql":
        return f"CAST(CONV(SUBSTRING(MD5({t}), 1, 8), 16, 10) AS UNSIGNED)"
    return f"{MD5_FN}({t})"


def _crc_sql(t: str, family: str) -> str:
    if family == "mysql":
        return f"CRC32({t})"
    if family == "sqlite":
        return f"{CRC_FN}({t})"
    raise ValueError(f"CRC-32 is not available in SQL on {family}")


def _pg_sql(t: str, family: str) -> str:
    if family != "postgresql":
        raise ValueError("hashtextextended is PostgreSQL's own")
    return f"(hashtextextended({t}, 0) & 4294967295)"


@dataclass(frozen=True)
class Hasher:
    """One hash adapter: its SQL per dialect family and, where it exists, its Python twin."""

    name: str
    sql_fn: Callable[[str, str], str]
    python: Callable[[str], int] | None

    def sql(self, text_sql: str, family: str) -> str:
        return self.sql_fn(text_sql, family)

    def py(self, text: str) -> int:
        if self.python is None:
            raise ValueError(f"the {self.name} hash has no Python twin")
        return self.python(text)


MD5 = Hasher("md5", _md5_sql, md5_32)
CRC32 = Hasher("crc32", _crc_sql, crc_32)
PG_HASH = Hasher("hashtextextended", _pg_sql, None)


def choose_hasher(families: set[str]) -> Hasher:
    """The cheapest hash both sides share (``stream`` stands for a side read in Python)."""
    if families == {"postgresql"}:
        return PG_HASH
    if families <= {"sqlite", "mysql", "stream"}:
        return CRC32
    return MD5


def row_checksum(h: int, tagged: Sequence[tuple[int, int]], text_hash: int | None) -> int:
    """Python twin of the SQL checksum: ``tagged`` is (tag, cents or 0) per amount."""
    acc = 0
    for tag, cents in tagged:
        c = cents % P
        acc = (acc * K + tag) % P
        acc = (acc * K + c) % P
        acc = (acc * K + c * c % P) % P
    if text_hash is not None:
        acc = (acc * K + text_hash % P) % P
    return (acc + h) % P * (h % K + 1) % P


def checksum_sql(
    h: str, tagged: Sequence[tuple[str, str]], text_hash: str | None, zero: str
) -> str:
    """SQL of :func:`row_checksum` over column names (``%`` truncates; ``+ P`` fixes sign).

    ``zero`` is a 64-bit zero in the dialect (``CAST(0 AS BIGINT)``): PostgreSQL would
    otherwise multiply 32-bit integers and overflow."""
    acc = zero
    for tag, cents in tagged:
        c = f"((({zero} + COALESCE({cents}, 0)) % {P}) + {P}) % {P}"  # 64-bit from here
        # the first step of an empty accumulator is the tag itself (0, 1 or 2): not computed
        acc = f"({tag})" if acc == zero else f"(({acc}) * {K} + {tag}) % {P}"
        acc = f"(({acc}) * {K} + {c}) % {P}"
        acc = f"(({acc}) * {K} + ({c}) * ({c}) % {P}) % {P}"
    if text_hash is not None:
        acc = f"(({acc}) * {K} + ({text_hash}) % {P}) % {P}"
    return f"(((({acc}) + {h}) % {P}) * ({h} % {K} + 1) % {P})"


def text_piece(value: str | None) -> str:
    """A compared text column in the hashed text: ``N`` for NULL, else ``V`` + the value."""
    return NULL_TEXT if value is None else "V" + value


def texts_text(values: Sequence[str | None]) -> str:
    return TEXT_SEP.join(text_piece(v) for v in values)
