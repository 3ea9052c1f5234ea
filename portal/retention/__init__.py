"""Retention: what the portal forgets, and when (run by ``portal worker``).

- ``rate_limit_hits`` rows whose window has ended;
- drafts nobody finished: after ``draft_retention_days`` (anonymous) or
  ``account_draft_retention_days`` (signed-in citizens) without a change, the applicant's data,
  uploaded files and resume token are erased;
- assistant transcripts idle for ``assistant_transcript_retention_days``.

Never touched: submitted cases, their files and their history (a citizen or an auditor may
need them). A draft's own history rows stay too: ``case_events`` is immutable by design, so an
expired draft remains as an empty row with its ``draft_created``/``draft_expired`` events.
"""
