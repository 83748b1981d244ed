"""exercises helpers for the calculus topic (see the notebook of that topic)."""

__all__: list[str] = []
