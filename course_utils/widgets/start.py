"""widgets helpers for the start topic (see the notebook of that topic)."""

__all__: list[str] = []
