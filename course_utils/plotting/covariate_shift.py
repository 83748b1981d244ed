"""plotting helpers for the covariate_shift topic (see the notebook of that topic)."""

__all__: list[str] = []
