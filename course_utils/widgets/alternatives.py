"""widgets helpers for the alternatives topic (see the notebook of that topic)."""

__all__: list[str] = []
