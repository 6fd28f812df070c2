"""A plain-text PDF, written by hand: enough for a one-font document of lines (PDF 1.4, ISO 32000's
basic structure: catalog, pages, one standard font, a content stream per page, the cross-reference
table). No dependency, nothing embedded, nothing executable.

Text is Helvetica in WinAnsiEncoding: characters outside Latin-1 are reduced to their ASCII
letters (``é`` → ``e``) or ``?``; long lines are wrapped, pages added as needed.
"""

import textwrap
import unicodedata

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
MARGIN = 54
FONT_SIZE = 10
LEADING = 14
LINE_CHARACTERS = 95  # Helvetica 10 pt averages ~5 pt per character on a 504 pt line
LINES_PER_PAGE = (PAGE_HEIGHT - 2 * MARGIN) // LEADING


def _latin1(text: str) -> str:
    out = []
    for character in str(text):
        if character in "\t\r\n":
            character = " "
        try:
            character.encode("latin-1")
            out.append(character if character.isprintable() else "?")
        except UnicodeEncodeError:
            ascii_only = unicodedata.normalize("NFKD", character).encode("ascii", "ignore").decode()
            out.append(ascii_only or "?")
    return "".join(out)


def _literal(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1") + b")"


def render(lines: list[str], *, title: str) -> bytes:
    """A PDF of ``lines`` (each wrapped at the page width), titled ``title`` in its metadata."""
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(_latin1(line), LINE_CHARACTERS) or [""]
    pages = [wrapped[i:i + LINES_PER_PAGE] for i in range(0, len(wrapped), LINES_PER_PAGE)] or [[]]

    # Object numbers: 1 catalog, 2 pages, 3 font, 4 info, then a page and its content per page.
    page_ids = [5 + 2 * i for i in range(len(pages))]
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % n for n in page_ids) + b"] /Count %d >>" % len(pages),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        4: b"<< /Title " + _literal(_latin1(title)) + b" /Producer (Amani) >>",
    }
    for page_id, page_lines in zip(page_ids, pages, strict=True):
        stream = b"BT /F1 %d Tf %d TL %d %d Td\n" % (FONT_SIZE, LEADING, MARGIN, PAGE_HEIGHT - MARGIN)
        stream += b"".join(_literal(line) + b" Tj T*\n" for line in page_lines) + b"ET"
        objects[page_id] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> "
                            b">> /Contents %d 0 R >>" % (PAGE_WIDTH, PAGE_HEIGHT, page_id + 1))
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[number] for number in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)
