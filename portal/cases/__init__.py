"""Case history in one place: every change to a case is an event row plus one outbox row.

Whoever changes a case (the applicant, the back office, signing, payments, ratings, retention)
writes its history through :func:`portal.cases.events.record_event` — or, when the change is not a
history entry (an attachment, a payment, a rating), :func:`~portal.cases.events.note_change`. Both
add a ``case_changes`` row in the same transaction: the outbox. Domains that derive something from
cases (the quality facts and dashboard, the rating invitation) read that outbox *after* the change
committed, in batches, from ``portal worker`` (:mod:`portal.cases.changes`) — never inside the
transaction that made the change, and never while it holds a row lock.
"""
