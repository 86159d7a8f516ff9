"""PyTorch views of an :class:`~semcomm.data.ImageDataset` (this module imports torch)."""
from __future__ import annotations

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from .dataset import ImageDataset, to_unit_float


class TorchImageDataset(Dataset):
    """Map-style dataset over ``data``.

    ``ds[i]`` is ``(image float32 [C, H, W] in [0, 1], label int64 [])``; ``ds[indices]`` with a
    list or int array of indices is the batch ``(float32 [B, C, H, W], int64 [B])``, converted
    in one step (what :func:`make_loader` uses).
    """

    def __init__(self, data: ImageDataset):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        images = torch.from_numpy(to_unit_float(self.data.images[index]))
        return images, torch.tensor(self.data.labels[index], dtype=torch.int64)


def make_loader(data: ImageDataset, batch_size: int, *, shuffle: bool = False, drop_last: bool = False,
                seed: int | None = None, num_workers: int = 0) -> DataLoader:
    """A DataLoader yielding batches ``(float32 [B, C, H, W] in [0, 1], int64 [B])``.

    Batches are gathered by fancy indexing (no per-sample collation). With ``shuffle``, the order
    is drawn from a ``torch.Generator`` seeded with ``seed`` (None: torch's global seed).
    """
    dataset = TorchImageDataset(data)
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last), batch_size=None,
                      num_workers=num_workers)
