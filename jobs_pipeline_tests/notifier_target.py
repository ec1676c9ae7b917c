"""A notifier for the failure sensor tests: it keeps what it was sent."""

RECEIVED: list[str] = []


def remember(summary: str) -> None:
    """Store a failure summary."""
    RECEIVED.append(summary)
