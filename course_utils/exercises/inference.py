"""exercises helpers for the inference topic (see the notebook of that topic)."""

__all__: list[str] = []
