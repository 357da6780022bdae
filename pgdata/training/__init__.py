"""Training of the networks in :mod:`pgdata.models`: losses, the loop, checkpoints and run folders.

Imports stay layered: training imports ``pgdata.models``, ``pgdata.data`` and ``pgdata.io``;
models import nothing from here.
"""
