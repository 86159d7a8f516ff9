import pytest
import torch

from semcomm.train import config as train_config
from semcomm.train.augment import augment, random_flip, random_shift


def _images(n=64, size=12):
    """Images whose content (a random blob) lies at least 2 pixels inside the border."""
    torch.manual_seed(3)
    images = torch.zeros(n, 1, size, size)
    images[:, :, 2:-2, 2:-2] = torch.rand(n, 1, size - 4, size - 4)
    return images


def test_shift_moves_each_image_by_at_most_max_shift_and_keeps_its_content():
    images = _images()
    shifted = random_shift(images, 2)
    assert shifted.shape == images.shape
    for before, after in zip(images, shifted):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(torch.roll(before, (dy, dx), dims=(1, 2)), after)]
        assert len(matches) == 1  # the content moved intact (zeros came in from the border)
    assert not torch.equal(shifted, images)


def test_shift_fills_with_zeros_from_outside():
    ones = torch.ones(200, 1, 6, 6)
    shifted = random_shift(ones, 1)
    assert set(shifted.unique().tolist()) == {0.0, 1.0}
    assert (shifted.sum(dim=(1, 2, 3)) >= 25).all()  # at most one row and one column lost


def test_flip_mirrors_about_half_of_the_images():
    images = _images(400)
    flipped = random_flip(images)
    mirrored = torch.tensor([torch.equal(a, b.flip(-1)) for a, b in zip(flipped, images)])
    unchanged = torch.tensor([torch.equal(a, b) for a, b in zip(flipped, images)])
    assert (mirrored | unchanged).all()
    assert 150 < int(mirrored.sum()) < 250


def test_augment_is_reproducible_under_the_torch_seed_and_off_by_default():
    images = _images()
    torch.manual_seed(5)
    first = augment(images, True, 2)
    torch.manual_seed(5)
    assert torch.equal(augment(images, True, 2), first)
    assert torch.equal(augment(images, False, 0), images)
    defaults = train_config.load("models/configs/masked_vqvae.yaml")["train"]
    assert (defaults["augment_flip"], defaults["augment_shift"]) == (False, 0)


@pytest.mark.parametrize("max_shift", [1, 3])
def test_shift_keeps_dtype_and_range(max_shift):
    images = _images(8)
    shifted = random_shift(images, max_shift)
    assert shifted.dtype == images.dtype and 0.0 <= float(shifted.min()) and float(shifted.max()) <= 1.0
