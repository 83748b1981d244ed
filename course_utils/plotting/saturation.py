"""plotting helpers for the saturation topic (see the notebook of that topic)."""

__all__: list[str] = []
