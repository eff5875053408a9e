"""The quick tier stays honest: a test that starts a real part without the `real` marker fails."""

from __future__ import annotations

import pytest

from tests.support import tiers


def test_an_unmarked_test_that_starts_a_real_part_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="not marked `real`"):
        tiers.uses_real_part("the registry server")


@pytest.mark.real
def test_a_marked_test_may_start_one() -> None:
    tiers.uses_real_part("the registry server")  # no failure: the marker is there
