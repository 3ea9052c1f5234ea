"""Signed result documents: issue (back office), verify (public), download (applicant)."""

from portal.signing.models import ResultDocument
from portal.signing.service import issue_result, verify_document

__all__ = ["ResultDocument", "issue_result", "verify_document"]
