"""PDFs made by the tests, byte by byte, for what the renderer must refuse or survive:
encrypted (a real RC4 standard security handler, revision 2, as PDF 32000-1 7.6.3
describes it), a password-protected one, a decompression bomb, an oversized page."""

import hashlib
import zlib

# PDF 32000-1, 7.6.3.3, Algorithm 2, step a.
PADDING = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
FILE_ID = bytes(range(16))


def build(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF of these objects (1-based: objects[0] is object 1, the catalog), with a
    correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer_extra + b">>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d " % len(data) + extra + b">>\nstream\n" + data + b"\nendstream"


def simple_page(width=612, height=792, content: bytes = b"", resources: bytes = b"") -> list:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] " % (width, height)
        + (b"/Contents 4 0 R " if content else b"")
        + (b"/Resources " + resources + b" " if resources else b"")
        + b">>",
    ]
    if content:
        objects.append(_stream(content))
    return objects


def plain_pdf(**kwargs) -> bytes:
    return build(simple_page(content=b"0 0 1 rg 72 72 200 200 re f", **kwargs))


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def _hex(data: bytes) -> bytes:
    return b"<" + data.hex().encode() + b">"


def encrypted_pdf(user_password: bytes = b"", owner_password: bytes = b"owner") -> bytes:
    """Encrypted with the standard security handler, revision 2 (40-bit RC4). With an
    empty user password any reader opens it (publishers use this to forbid copying);
    with a user password it can't be opened without it. The page has no content, so
    no string or stream needs encrypting."""
    owner_key = hashlib.md5((owner_password + PADDING)[:32]).digest()[:5]  # Algorithm 3
    o_value = _rc4(owner_key, (user_password + PADDING)[:32])
    permissions = -44  # printing allowed, copying not
    key = hashlib.md5(
        (user_password + PADDING)[:32]
        + o_value
        + permissions.to_bytes(4, "little", signed=True)
        + FILE_ID
    ).digest()[:5]  # Algorithm 2
    u_value = _rc4(key, PADDING)  # Algorithm 4
    objects = simple_page()
    objects.append(
        b"<< /Filter /Standard /V 1 /R 2 /O "
        + _hex(o_value)
        + b" /U "
        + _hex(u_value)
        + b" /P %d >>" % permissions
    )
    encrypt = b"/Encrypt %d 0 R /ID [%s %s] " % (len(objects), _hex(FILE_ID), _hex(FILE_ID))
    return build(objects, encrypt)


def bomb_pdf(side: int = 20000) -> bytes:
    """Page 1 draws a side x side RGB image of zeros: a few hundred kB of Flate data
    that decodes to side*side*3 bytes (1.2 GB for 20,000)."""
    compressor = zlib.compressobj(9)
    row = bytes(side * 3)
    chunks = [compressor.compress(row) for _ in range(side)]
    data = b"".join(chunks) + compressor.flush()
    image = _stream(
        data,
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /FlateDecode " % (side, side),
    )
    objects = simple_page(
        content=b"q 612 0 0 792 0 0 cm /Im1 Do Q", resources=b"<< /XObject << /Im1 5 0 R >> >>"
    )
    objects.append(image)
    return build(objects)
