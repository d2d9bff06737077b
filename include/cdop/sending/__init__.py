"""Sending: the registry of message kinds and the delivery of the outbox. It sits above
the services because the registry names every service's compose function; the services
only enqueue (cdop.mail.outbox) and never import from here."""
