import pytest
import torch

from avts.device import select_device
from avts.errors import ConfigError


def test_auto_and_cpu_pick_a_device_that_exists():
    assert select_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert select_device("auto").type == expected


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "tpu"])
def test_an_unknown_device_is_a_config_error(name):
    with pytest.raises(ConfigError, match="unknown device"):
        select_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_says_so():
    with pytest.raises(ConfigError, match="CUDA is not available"):
        select_device("cuda")
