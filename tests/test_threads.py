"""vaebook.threads: one CPU thread inside, the setting restored after."""

import pytest
import torch

from vaebook.threads import one_thread


def test_one_thread_restores_the_setting():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with one_thread():
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
