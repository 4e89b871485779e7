"""Philox 4x32-10 in numpy, as docs/language.md ("Random numbers") defines tilec's rand and
randint: key (seed low 32 bits, seed high 32 bits), counter (q low 32, q high 32, 0, 0) for
the block q = offset >> 2, ten rounds; word offset & 3 of the result is randint's bits and
(word >> 8) * 2^-24 rand's f32. Shares no code
with tilec; check_rand.py checks it against Random123's published answers first."""
import numpy as np

MASK = np.uint64(0xFFFFFFFF)
MULTIPLIERS = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
WEYL = (np.uint64(0x9E3779B9), np.uint64(0xBB67AE85))


def philox4x32_10(counter, key):
    """The four output words of Philox 4x32-10 (uint64 arrays holding 32-bit values) for
    counter words c0..c3 and key words k0, k1 (numbers or arrays, broadcast together)."""
    c = [np.asarray(x, np.uint64) & MASK for x in counter]
    k = [np.asarray(x, np.uint64) & MASK for x in key]
    for r in range(10):
        if r:
            k = [(k[0] + WEYL[0]) & MASK, (k[1] + WEYL[1]) & MASK]
        p0 = c[0] * MULTIPLIERS[0]
        p1 = c[2] * MULTIPLIERS[1]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k[0], p1 & MASK,
             (p0 >> np.uint64(32)) ^ c[3] ^ k[1], p0 & MASK]
    return c


def randbits(seed, offset):
    """The word of an element for a Python int seed (any sign: taken as int64) and an int64
    offset array: word offset & 3 of counter block offset >> 2 (offsets as unsigned)."""
    s = int(seed) % (1 << 64)
    o = np.asarray(offset, np.int64).view(np.uint64)
    q = o >> np.uint64(2)
    r = philox4x32_10((q & MASK, q >> np.uint64(32), 0, 0), (s & 0xFFFFFFFF, s >> 32))
    return np.choose((o & np.uint64(3)).astype(np.int64), [np.broadcast_to(w, o.shape) for w in r])


def randint(seed, offset):
    """tilec's randint: the word's bits as int32."""
    return randbits(seed, offset).astype(np.uint32).view(np.int32)


def rand(seed, offset):
    """tilec's rand: (word >> 8) * 2^-24 as float32, in [0, 1)."""
    return ((randbits(seed, offset) >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24))
