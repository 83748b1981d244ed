"""plotting helpers for the optimization topic (see the notebook of that topic)."""

__all__: list[str] = []
