"""E-mail notifications: a transactional outbox, its worker, and a development mail sink."""

from portal.notifications.models import OutboxEmail
from portal.notifications.service import enqueue_email

__all__ = ["OutboxEmail", "enqueue_email"]
