"""exercises helpers for the batchnorm topic (see the notebook of that topic)."""

__all__: list[str] = []
