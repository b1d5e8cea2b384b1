"""Real, deterministic PNG, GIF and WAV files with the standard library only."""
import hashlib
import math
import struct
import wave
import zlib


class Image:
    """An 8-bit RGB picture: `pixels` holds width*height*3 bytes, row by row."""

    def __init__(self, width, height, pixels):
        if len(pixels) != width * height * 3:
            raise ValueError(f'expected {width * height * 3} bytes of RGB, got {len(pixels)}')
        self.width = width
        self.height = height
        self.pixels = bytes(pixels)


def render(width, height, key):
    """A picture that depends only on `key`: a diagonal gradient between two colours, striped."""
    digest = hashlib.sha256(key.encode('utf-8')).digest()
    c1, c2 = digest[0:3], digest[3:6]
    period = 8 + digest[6] % 24
    span = width + height - 1
    # The colour depends on x + y only, so each row is a slice of one table.
    table = []
    for s in range(span):
        t = s / max(1, span - 1)
        shade = 1.0 if (s // period) % 2 == 0 else 0.82
        table.append(bytes(min(255, int((a * (1 - t) + b * t) * shade)) for a, b in zip(c1, c2)))
    rows = [b''.join(table[y:y + width]) for y in range(height)]
    return Image(width, height, b''.join(rows))


def _chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)


def encode_png(image):
    stride = image.width * 3
    raw = b''.join(b'\x00' + image.pixels[y * stride:(y + 1) * stride] for y in range(image.height))
    return (b'\x89PNG\r\n\x1a\n'
            + _chunk(b'IHDR', struct.pack('>IIBBBBB', image.width, image.height, 8, 2, 0, 0, 0))
            + _chunk(b'IDAT', zlib.compress(raw, 6))
            + _chunk(b'IEND', b''))


def decode_png(data):
    """Reads 8-bit, non-interlaced greyscale, RGB, RGBA or palette PNGs (alpha dropped) into an Image."""
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG file')
    pos, idat, header, palette = 8, [], None, b''
    while pos + 8 <= len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body)
        elif kind == b'PLTE':
            palette = body
        elif kind == b'IDAT':
            idat.append(body)
        elif kind == b'IEND':
            break
    if header is None:
        raise ValueError('PNG without IHDR')
    width, height, depth, color_type, _, _, interlace = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color_type)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f'unsupported PNG (bit depth {depth}, colour type {color_type}, interlace {interlace})')
    raw = zlib.decompress(b''.join(idat))
    stride = width * channels
    prev = bytearray(stride)
    out = bytearray()
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xff
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xff
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xff
        prev = line
        for x in range(width):
            px = line[x * channels:(x + 1) * channels]
            if color_type == 3:
                out += palette[px[0] * 3:px[0] * 3 + 3].ljust(3, b'\x00')
            elif channels <= 2:
                out += bytes((px[0], px[0], px[0]))
            else:
                out += px[:3]
    return Image(width, height, out)


def _lzw_literal(indices):
    """LZW codes that only ever name single pixels, with a clear code often enough to stay 9 bits wide."""
    clear, end = 256, 257
    out, acc, nbits = bytearray(), 0, 0
    codes = [clear]
    for i, v in enumerate(indices):
        if i and i % 250 == 0:
            codes.append(clear)
        codes.append(v)
    codes.append(end)
    for code in codes:
        acc |= code << nbits
        nbits += 9
        while nbits >= 8:
            out.append(acc & 0xff)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xff)
    return bytes(out)


def encode_gif(images, frame_rate):
    """An animated GIF (one frame per image, looping) with a fixed 3-3-2 bit palette."""
    width, height = images[0].width, images[0].height
    palette = b''.join(bytes(((i >> 5) * 255 // 7, ((i >> 2) & 7) * 255 // 7, (i & 3) * 255 // 3)) for i in range(256))
    out = bytearray(b'GIF89a' + struct.pack('<HHBBB', width, height, 0xF7, 0, 0) + palette)
    out += b'\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00'
    delay = max(1, round(100 / max(0.01, frame_rate)))
    for image in images:
        if (image.width, image.height) != (width, height):
            raise ValueError('all frames of a GIF must have the same size')
        px = image.pixels
        indices = bytes(((px[i] >> 5) << 5) | ((px[i + 1] >> 5) << 2) | (px[i + 2] >> 6) for i in range(0, len(px), 3))
        out += b'\x21\xf9\x04\x00' + struct.pack('<H', delay) + b'\x00\x00'
        out += b'\x2c' + struct.pack('<HHHHB', 0, 0, width, height, 0) + b'\x08'
        data = _lzw_literal(indices)
        for i in range(0, len(data), 255):
            block = data[i:i + 255]
            out += bytes((len(block),)) + block
        out += b'\x00'
    out += b'\x3b'
    return bytes(out)


def tone(frequency, seconds, sample_rate):
    """16-bit mono samples of a sine tone."""
    count = int(seconds * sample_rate)
    return b''.join(struct.pack('<h', int(12000 * math.sin(2 * math.pi * frequency * n / sample_rate))) for n in range(count))


def write_wav(path, samples, sample_rate):
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples)
