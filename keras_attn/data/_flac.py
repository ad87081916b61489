"""FLAC decoding in NumPy (private): `decode_flac(data)`.
Long because a FLAC decoder is one piece: the stream's metadata, the
frame header with its codes, the four subframe kinds, the Rice-coded
residual, the inter-channel decorrelation and the checksums, after the
format's specification (RFC 9639, "Free Lossless Audio Codec").

Speed comes from reading every run of bits at once: a window of the file
is unpacked with `np.unpackbits`, a Rice-coded partition is decoded from
the positions of its one bits (a chain followed by pointer doubling, so
no Python loop runs per sample), FIXED predictions are restored with
cumulative sums (a fixed predictor of order k is a k-th difference) and
only the LPC prediction, which rounds at every sample, loops in Python.
"""

import functools

import numpy as np


class FlacError(ValueError):
    """A FLAC stream that cannot be decoded (the message says why)."""


# The bit window unpacked at a time (bytes); a frame that runs past it
# moves the window.
_WINDOW_BYTES = 1 << 18

_BLOCK_SIZES = {1: 192, 2: 576, 3: 1152, 4: 2304, 5: 4608}
_BLOCK_SIZES.update({code: 256 << (code - 8) for code in range(8, 16)})
_SAMPLE_RATES = {
    1: 88200,
    2: 176400,
    3: 192000,
    4: 8000,
    5: 16000,
    6: 22050,
    7: 24000,
    8: 32000,
    9: 44100,
    10: 48000,
    11: 96000,
}
_SAMPLE_SIZES = {1: 8, 2: 12, 4: 16, 5: 20, 6: 24, 7: 32}
# Channel assignment codes 8, 9, 10.
INDEPENDENT, LEFT_SIDE, RIGHT_SIDE, MID_SIDE = (
    "independent",
    "left-side",
    "right-side",
    "mid-side",
)


def _crc_table(polynomial, width):
    top = 1 << (width - 1)
    mask = (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ polynomial) if crc & top else crc << 1
        table.append(crc & mask)
    return table


_CRC8 = _crc_table(0x07, 8)
_CRC16 = _crc_table(0x8005, 16)


def crc8(data):
    """CRC-8 (polynomial x^8 + x^2 + x + 1, start 0) of frame headers."""
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def crc16(data):
    """CRC-16 (polynomial x^16 + x^15 + x^2 + 1, start 0) of frames."""
    crc = 0
    table = _CRC16
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


class _Bits:
    """A big-endian bit reader over `data` (bytes) from bit `pos`.

    Fields are read with Python ints from the bytes; runs of bits come
    from an unpacked window (`run`), moved when a read leaves it.
    """

    def __init__(self, data, pos=0):
        self.data = data
        self.size = len(data) * 8
        self.pos = pos
        self._bytes = np.frombuffer(data, np.uint8)
        self._base = 0
        self._window = np.empty(0, np.uint8)

    def read(self, count):
        """The next `count` bits as an unsigned int."""
        if count == 0:
            return 0
        start = self.pos
        end = start + count
        if end > self.size:
            raise FlacError(
                f"the stream ends inside a frame (needed {count} bits at "
                f"byte {start // 8}, the file has {self.size // 8} bytes)"
            )
        first, last = start >> 3, (end + 7) >> 3
        value = int.from_bytes(self.data[first:last], "big")
        self.pos = end
        return (value >> ((last << 3) - end)) & ((1 << count) - 1)

    def signed(self, count):
        value = self.read(count)
        if count and value >> (count - 1):
            value -= 1 << count
        return value

    def unary(self):
        """The number of zero bits before the next one bit (consumed)."""
        zeros = 0
        while not self.read(1):
            zeros += 1
        return zeros

    def run(self, count):
        """The next `count` bits (or fewer at the end of the data) as a
        uint8 array of 0 and 1, without moving the position."""
        start = self.pos
        end = min(start + count, self.size)
        if start < self._base or end > self._base + len(self._window):
            first = start >> 3
            length = max(((end + 7) >> 3) - first, _WINDOW_BYTES)
            self._window = np.unpackbits(self._bytes[first : first + length])
            self._base = first << 3
        offset = start - self._base
        return self._window[offset : offset + end - start]

    def align(self):
        self.pos = (self.pos + 7) & ~7


def _words(bits, width):
    """Rows of `width` bits (2-D uint8 array) as signed int64 values."""
    if width == 0:
        return np.zeros(len(bits), np.int64)
    weights = np.left_shift(1, np.arange(width - 1, -1, -1, dtype=np.int64))
    values = bits.astype(np.int64) @ weights
    return values - ((values >> (width - 1)) << width)


def _fixed_width(reader, count, width):
    """`count` signed samples of `width` bits each."""
    bits = reader.run(count * width)
    if len(bits) < count * width:
        raise FlacError("the stream ends inside a subframe")
    reader.pos += count * width
    return _words(bits.reshape(count, width), width)


def _rice(reader, count, parameter):
    """`count` Rice-coded signed values with `parameter` low bits.

    Each value is a run of zeros (the quotient) ended by a one, then
    `parameter` bits. With the positions of all one bits in a window,
    the one that ends value i+1 is the first one at or after the end of
    value i plus `parameter` bits: a chain over the ones, followed for
    all values at once by pointer doubling.
    """
    if count == 0:
        return np.zeros(0, np.int64)
    guess = count * (parameter + 4) + 64
    while True:
        bits = reader.run(guess)
        length = len(bits)
        ones = np.flatnonzero(bits)
        if parameter == 0:
            if len(ones) >= count:
                stops = ones[:count]
                break
        elif len(ones):
            # following[a]: the one that ends the value after the value
            # ended by one `a`: the first one at or after the end of `a`'s
            # low bits, found by counting the ones before that place
            # (len(ones) when it lies past the window).
            before = np.zeros(length + 1, np.intp)
            np.cumsum(bits, out=before[1:])
            following = before[np.minimum(ones + (1 + parameter), length)]
            following = np.append(following, len(ones))
            chain = np.zeros(1, np.intp)
            jump = following
            while len(chain) < count:
                chain = np.concatenate(
                    (chain, jump[chain[: count - len(chain)]])
                )
                if len(chain) < count:
                    jump = jump[jump]
            if chain[-1] < len(ones):
                stops = ones[chain]
                if stops[-1] + 1 + parameter <= length:
                    break
        if length < guess:
            raise FlacError("the stream ends inside a residual")
        guess *= 2
    starts = np.empty(count, np.intp)
    starts[0] = 0
    starts[1:] = stops[:-1] + (1 + parameter)
    values = (stops - starts).astype(np.int64) << parameter
    if parameter:
        low = bits[(stops + 1)[:, None] + np.arange(parameter)]
        weights = np.left_shift(
            1, np.arange(parameter - 1, -1, -1, dtype=np.int64)
        )
        values |= low.astype(np.int64) @ weights
    reader.pos += int(stops[-1]) + 1 + parameter
    return (values >> 1) ^ -(values & 1)


def _residual(reader, block_size, order, stats):
    method = reader.read(2)
    if method > 1:
        raise FlacError(f"reserved residual coding method {method}")
    stats[f"rice{method + 1}"] = stats.get(f"rice{method + 1}", 0) + 1
    parameter_bits = 4 + method
    escape = (1 << parameter_bits) - 1
    partition_order = reader.read(4)
    partitions = 1 << partition_order
    if block_size % partitions or block_size // partitions < order:
        raise FlacError(
            f"a residual of {partitions} partitions does not fit a block "
            f"of {block_size} samples with predictor order {order}"
        )
    parts = []
    for index in range(partitions):
        count = block_size // partitions - (order if index == 0 else 0)
        parameter = reader.read(parameter_bits)
        if parameter == escape:
            stats["escape"] = stats.get("escape", 0) + 1
            width = reader.read(5)
            parts.append(_fixed_width(reader, count, width))
        else:
            parts.append(_rice(reader, count, parameter))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _restore_fixed(warmup, residual, order):
    """Samples whose `order`-th difference is `residual` (from index
    `order` on), starting with `warmup`."""
    if order == 0:
        return residual
    warmup = np.asarray(warmup, np.int64)
    starts = []
    differences = warmup
    for _ in range(order):
        starts.append(differences[-1])
        differences = np.diff(differences)
    values = residual
    for start in reversed(starts):
        values = start + np.cumsum(values)
    return np.concatenate((warmup, values))


@functools.cache
def _lpc_loop(order):
    """A function `(samples, coefficients, shift)` that adds the LPC
    prediction of `order` to `samples` (a list) from index `order` on.

    Each prediction needs the sample before it, so this is the one loop
    per sample. Its source is written out per order, the previous
    samples kept in locals (x0 the newest): 0.52 against 0.91 us a
    sample at order 8 for `sum(map(mul, coefficients, s[i - 8 : i]))`.
    """
    names = [f"x{j}" for j in range(order)]
    weights = [f"c{j}" for j in range(order)]
    dot = " + ".join(f"c{j} * x{j}" for j in range(order))
    shifted = ", ".join(["v", *names[:-1]])
    source = (
        "def restore(s, coefficients, shift):\n"
        f"    {', '.join(weights)}, = coefficients\n"
        f"    {', '.join(names)}, = s[{order} - 1 :: -1]\n"
        f"    for i in range({order}, len(s)):\n"
        f"        v = s[i] + (({dot}) >> shift)\n"
        "        s[i] = v\n"
        f"        {', '.join(names)}, = {shifted},\n"
        "    return s\n"
    )
    scope = {}
    exec(compile(source, f"<flac lpc order {order}>", "exec"), scope)
    return scope["restore"]


def _restore_lpc(warmup, residual, coefficients, shift):
    """Samples predicted by `coefficients` (the first for the previous
    sample) rounded down after `shift`, plus `residual`."""
    samples = _lpc_loop(len(coefficients))(
        list(warmup) + residual.tolist(), coefficients, shift
    )
    return np.array(samples, np.int64)


def _subframe(reader, block_size, bits, stats):
    if reader.read(1):
        raise FlacError("a subframe header's padding bit is not zero")
    kind = reader.read(6)
    wasted = reader.unary() + 1 if reader.read(1) else 0
    if wasted > bits:
        raise FlacError(
            f"{wasted} wasted bits in a subframe of {bits}-bit samples"
        )
    if wasted:
        stats["wasted"] = stats.get("wasted", 0) + 1
    bits -= wasted
    if kind == 0:
        stats["CONSTANT"] = stats.get("CONSTANT", 0) + 1
        samples = np.full(block_size, reader.signed(bits), np.int64)
    elif kind == 1:
        stats["VERBATIM"] = stats.get("VERBATIM", 0) + 1
        samples = _fixed_width(reader, block_size, bits)
    elif 8 <= kind <= 12:
        order = kind - 8
        stats[f"FIXED{order}"] = stats.get(f"FIXED{order}", 0) + 1
        if order > block_size:
            raise FlacError(f"FIXED order {order} > block of {block_size}")
        warmup = [reader.signed(bits) for _ in range(order)]
        residual = _residual(reader, block_size, order, stats)
        samples = _restore_fixed(warmup, residual, order)
    elif kind >= 32:
        order = kind - 31
        stats[f"LPC{order}"] = stats.get(f"LPC{order}", 0) + 1
        if order > block_size:
            raise FlacError(f"LPC order {order} > block of {block_size}")
        warmup = [reader.signed(bits) for _ in range(order)]
        precision = reader.read(4) + 1
        if precision == 16:
            raise FlacError("invalid LPC coefficient precision code 15")
        shift = reader.signed(5)
        if shift < 0:
            raise FlacError(f"negative LPC shift {shift}")
        coefficients = [reader.signed(precision) for _ in range(order)]
        residual = _residual(reader, block_size, order, stats)
        samples = _restore_lpc(warmup, residual, coefficients, shift)
    else:
        raise FlacError(f"reserved subframe type {kind:06b}")
    if wasted:
        samples = samples << wasted
    return samples


def _utf8_number(reader):
    """The frame or sample number, coded like UTF-8 (up to 7 bytes)."""
    first = reader.read(8)
    if first < 0x80:
        return first
    if first == 0xFE:
        length, value = 7, 0
    else:
        length = 8 - (~first & 0xFF).bit_length()
        if not 2 <= length <= 6:
            raise FlacError(f"bad coded frame number byte 0x{first:02x}")
        value = first & (0x7F >> length)
    for _ in range(length - 1):
        byte = reader.read(8)
        if byte >> 6 != 0b10:
            raise FlacError(f"bad coded frame number byte 0x{byte:02x}")
        value = (value << 6) | (byte & 0x3F)
    return value


def _frame(reader, info, stats, check_crc):
    """One frame: an int64 array (block size, channels)."""
    start = reader.pos
    sync = reader.read(15)
    if sync != 0b111111111111100:
        raise FlacError(
            f"expected a frame sync code 0xFFF8 or 0xFFF9 at byte "
            f"{start // 8}, found 0x{(sync << 1):04x}"
        )
    reader.read(1)  # blocking strategy: the number below is a frame's
    # or a sample's; it is not needed to decode.
    size_code = reader.read(4)
    rate_code = reader.read(4)
    assignment = reader.read(4)
    bits_code = reader.read(3)
    if reader.read(1):
        raise FlacError("a frame header's reserved bit is not zero")
    _utf8_number(reader)
    if size_code == 0:
        raise FlacError("reserved block size code 0")
    if size_code == 6:
        block_size = reader.read(8) + 1
    elif size_code == 7:
        block_size = reader.read(16) + 1
    else:
        block_size = _BLOCK_SIZES[size_code]
    if rate_code == 12:
        rate = reader.read(8) * 1000
    elif rate_code == 13:
        rate = reader.read(16)
    elif rate_code == 14:
        rate = reader.read(16) * 10
    elif rate_code == 15:
        raise FlacError("invalid sample rate code 15")
    else:
        rate = _SAMPLE_RATES.get(rate_code, info["sample_rate"])
    if bits_code == 3:
        raise FlacError("reserved sample size code 3")
    bits = _SAMPLE_SIZES.get(bits_code, info["bits"])
    header_end = reader.pos
    expected = reader.read(8)
    header = reader.data[start // 8 : header_end // 8]
    if crc8(header) != expected:
        raise FlacError(f"the frame header at byte {start // 8} is damaged")
    if rate != info["sample_rate"] or bits != info["bits"]:
        raise FlacError(
            f"a frame of {rate} Hz, {bits}-bit samples in a stream of "
            f"{info['sample_rate']} Hz, {info['bits']}-bit samples"
        )
    if assignment < 8:
        channels = assignment + 1
        mode = INDEPENDENT
    elif assignment <= 10:
        channels = 2
        mode = (LEFT_SIDE, RIGHT_SIDE, MID_SIDE)[assignment - 8]
    else:
        raise FlacError(f"reserved channel assignment {assignment}")
    if channels != info["channels"]:
        raise FlacError(
            f"a frame of {channels} channels in a stream of {info['channels']}"
        )
    stats[mode] = stats.get(mode, 0) + 1
    # The side channel has one bit more.
    side = {LEFT_SIDE: 1, RIGHT_SIDE: 0, MID_SIDE: 1}.get(mode)
    decoded = [
        _subframe(reader, block_size, bits + (index == side), stats)
        for index in range(channels)
    ]
    if mode == LEFT_SIDE:
        decoded[1] = decoded[0] - decoded[1]
    elif mode == RIGHT_SIDE:
        decoded[0] = decoded[0] + decoded[1]
    elif mode == MID_SIDE:
        mid, difference = decoded
        mid = (mid << 1) | (difference & 1)
        decoded = [(mid + difference) >> 1, (mid - difference) >> 1]
    reader.align()
    crc_position = reader.pos
    expected = reader.read(16)
    if check_crc:
        if crc16(reader.data[start // 8 : crc_position // 8]) != expected:
            raise FlacError(f"the frame at byte {start // 8} is damaged")
    return np.stack(decoded, axis=1)


def _skip_id3(data):
    """Where the FLAC stream starts after an ID3v2 tag, if any."""
    if data[:3] != b"ID3" or len(data) < 10:
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if data[5] & 0x10 else 0)


def flac_after_id3(data):
    """Whether an ID3v2 tag at the start of `data` is followed by FLAC
    (some taggers put one there) rather than, say, MP3."""
    position = _skip_id3(data)
    return data[position : position + 4] == b"fLaC"


def read_streaminfo(data):
    """The STREAMINFO fields and where the first frame starts.

    Returns:
        `(info, position)`: a dict with `min_block_size`,
        `max_block_size`, `min_frame_size`, `max_frame_size`,
        `sample_rate`, `channels`, `bits`, `total_samples` (0 for
        unknown) and `md5` (16 bytes), and the first frame's byte.
    """
    data = bytes(data)
    position = _skip_id3(data)
    if data[position : position + 4] != b"fLaC":
        raise FlacError(
            f"expected the FLAC marker b'fLaC', found "
            f"{data[position : position + 4]!r}"
        )
    position += 4
    info = None
    last = False
    while not last:
        if position + 4 > len(data):
            raise FlacError("the stream ends inside its metadata")
        header = data[position]
        last = bool(header & 0x80)
        kind = header & 0x7F
        length = int.from_bytes(data[position + 1 : position + 4], "big")
        body = data[position + 4 : position + 4 + length]
        if len(body) < length:
            raise FlacError("the stream ends inside its metadata")
        if info is None and kind != 0:
            raise FlacError(
                f"expected STREAMINFO as the first metadata block, found "
                f"block type {kind}"
            )
        if kind == 0:
            if length < 34:
                raise FlacError(f"a STREAMINFO block of {length} bytes")
            fields = int.from_bytes(body[10:18], "big")
            info = {
                "min_block_size": int.from_bytes(body[0:2], "big"),
                "max_block_size": int.from_bytes(body[2:4], "big"),
                "min_frame_size": int.from_bytes(body[4:7], "big"),
                "max_frame_size": int.from_bytes(body[7:10], "big"),
                "sample_rate": fields >> 44,
                "channels": ((fields >> 41) & 0x7) + 1,
                "bits": ((fields >> 36) & 0x1F) + 1,
                "total_samples": fields & ((1 << 36) - 1),
                "md5": body[18:34],
            }
            if info["sample_rate"] == 0 or info["bits"] < 4:
                raise FlacError(
                    f"STREAMINFO says {info['sample_rate']} Hz, "
                    f"{info['bits']}-bit samples"
                )
        position += 4 + length
    return info, position


def decode_flac(data, check_crc=False, stats=None):
    """Decodes a whole FLAC stream.

    Args:
        data: bytes. The file.
        check_crc: bool. Check every frame's CRC-16 (the header's CRC-8 is
            always checked). About a quarter slower. Defaults to False.
        stats: dict or None. When given, counts of what was decoded
            (channel modes such as `"mid-side"`, subframe kinds such as
            `"LPC8"`) are added to it.

    Returns:
        `(samples, info)`: int64 samples `(frames, channels)` as coded
        (`info["bits"]`-bit signed) and the STREAMINFO dict.
    """
    data = bytes(data)
    info, position = read_streaminfo(data)
    stats = {} if stats is None else stats
    reader = _Bits(data, position * 8)
    total = info["total_samples"]
    blocks = []
    decoded = 0
    # Trailing bytes shorter than a frame header (some tools pad) end
    # the stream, as does reaching the announced sample count.
    while reader.pos + 48 <= reader.size and not (total and decoded >= total):
        block = _frame(reader, info, stats, check_crc)
        blocks.append(block)
        decoded += len(block)
    if not blocks:
        samples = np.zeros((0, info["channels"]), np.int64)
    else:
        samples = np.concatenate(blocks)
    if total and len(samples) > total:
        samples = samples[:total]
    return samples, info
