"""The application layer: one function per thing a user does; every shell calls these."""
