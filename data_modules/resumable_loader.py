"""The training loader that knows where it is in the epoch, so a run resumed mid-epoch continues
with the next unseen batch (the data modules' training loader)."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import DataLoader, Sampler

__all__ = ["ResumableDataLoader"]


class ResumableDataLoader(DataLoader):
    """A DataLoader that knows where it is in the epoch (Lightning's stateful-loader protocol).

    ``state_dict()`` is ``{epoch, batches}``: the sampler's epoch and the batches handed out in
    this pass (worker prefetching does not count). After ``load_state_dict`` the next pass
    starts in that epoch at that batch (at the next epoch when the saved pass was complete):
    the skipped batches' indices are drawn from the batch sampler but never loaded. A run
    resumed mid-epoch thus continues with the next unseen batch instead of replaying the epoch;
    under DDP Lightning re-creates the loader around its distributed sampler, so every rank
    resumes its own shard.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        batches = self.batch_sampler if self.batch_sampler is not None else self.sampler
        self._resume = _SkipBatches(batches)
        self.batches = 0

    @property
    def _index_sampler(self):
        # DataLoader's (private) hook for what its iterators draw indices from; one persistent
        # object, so that persistent workers' iterators honour a skip set later as well.
        return self._resume

    @property
    def epoch(self) -> int:
        return int(getattr(self.sampler, "epoch", 0))

    def __iter__(self):
        self.batches = self._resume.skip
        return _Counting(super().__iter__(), self)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batches": self.batches}

    def load_state_dict(self, state: dict[str, int]) -> None:
        epoch, batches = int(state["epoch"]), int(state["batches"])
        if batches >= len(self):
            epoch, batches = epoch + 1, 0
        set_epoch = getattr(self.sampler, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)
        self._resume.skip = batches


class _SkipBatches:
    """Iterates ``batches`` (a batch sampler), dropping the first ``skip`` of the next pass."""

    def __init__(self, batches: Sampler):
        self.batches, self.skip = batches, 0

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator:
        skip, self.skip = self.skip, 0
        it = iter(self.batches)
        for _ in range(skip):
            next(it, None)
        yield from it


class _Counting:
    """Iterator wrapper counting the batches a :class:`ResumableDataLoader` hands out."""

    def __init__(self, iterator, loader: ResumableDataLoader):
        self.iterator, self.loader = iterator, loader

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self.iterator)

    def __next__(self):
        batch = next(self.iterator)
        self.loader.batches += 1
        return batch
