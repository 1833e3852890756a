"""The short soak: back-to-back exposures through the device worker with random faults lose and
duplicate no frame, kill no worker, and leave memory, file descriptors and threads flat.

The night-long version is ``python -m bench.soak --frames 1000`` (figures in the README).
"""

from __future__ import annotations

from pathlib import Path

from bench.soak import FAULTS, MAX_RSS_DRIFT, run_soak

FRAMES = 60
SEED = 9  # fixed, so a failure replays: python -m bench.soak --frames 60 --seed 9


def test_sixty_frames_with_faults_lose_nothing_and_stay_flat(tmp_path: Path) -> None:
    result = run_soak(FRAMES, SEED, tmp_path)
    assert sum(result.faults.values()) >= FRAMES // 6, result.faults  # a fault every 2-6 frames
    assert len(result.faults) >= len(FAULTS) // 2, result.faults  # of many kinds
    # Among them (seed 9) a split-read download and the camera switched off mid-exposure.
    assert {"split reads", "switched off while exposing"} <= set(result.faults), result.faults
    # Every photo the camera took is on disk once, under a name of its own.
    assert result.missing == [] and result.duplicated == [], result.summary()
    assert result.names_repeated == 0
    assert sum(result.on_disk.values()) == result.shots >= FRAMES - sum(result.faults.values())
    assert result.worker_deaths == 0 and result.internal_errors == 0
    assert result.rss_drift() <= MAX_RSS_DRIFT, result.summary()
    assert result.growth(lambda s: s.fds) <= 0 and result.growth(lambda s: s.threads) <= 0
    assert result.problems() == []
