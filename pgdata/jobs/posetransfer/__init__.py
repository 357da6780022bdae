"""Pose-transfer jobs: ``sample``, ``build-pairs``, ``preview pairs`` and pose-transfer shards."""
