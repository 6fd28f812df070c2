"""Case evidence sent to a browser, by the API and by the console alike: always as an attachment,
under a name whose extension is the one of the type detected from the content (a file named
``evil.html`` whose bytes start as a PNG is saved as ``evil.png``, so opening the download cannot
run it as a page), and with headers that never let a browser render or sniff it."""

import re

from django.http import FileResponse

from escrow.models import DisputeEvidence
from escrow.services.disputes_case import KINDS, evidence_open

EXTENSIONS = {content_type: extension for content_type, extension, _ in KINDS}


def evidence_download_name(evidence: DisputeEvidence) -> str:
    stem = (evidence.original_name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^\w\- ]+", "_", stem).strip(" ._")[:100] or "evidence"
    return stem + EXTENSIONS.get(evidence.content_type, ".bin")


def evidence_response(evidence: DisputeEvidence) -> FileResponse:
    response = FileResponse(evidence_open(evidence), content_type=evidence.content_type, as_attachment=True,
                            filename=evidence_download_name(evidence))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
