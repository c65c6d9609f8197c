"""The read side: reports are queries over storage (and, for open sessions, the live state),
with no HTTP in them."""
