"""The replication suite (see conftest.py): every comparative claim of the course, on held-out seeds."""
