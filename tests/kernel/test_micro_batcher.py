"""`evalpod.batching.MicroBatcher`: natural batching, bounded batches, and no caller left
waiting whatever its batch's send does."""

from __future__ import annotations

import asyncio

import pytest

from evalpod.batching import MicroBatcher, Pending


class Doubler(MicroBatcher[int, int]):
    """Answers each item with twice its value after `delay_s`; records its batches."""

    def __init__(self, max_batch: int = 8, delay_s: float = 0.01) -> None:
        super().__init__(max_batch)
        self.delay_s = delay_s
        self.batches: list[list[int]] = []
        self.raise_on: int | None = None
        self.forget: int | None = None

    async def send_batch(self, batch: list[Pending[int, int]]) -> None:
        items = [item for item, _ in batch]
        self.batches.append(items)
        await asyncio.sleep(self.delay_s)
        if self.raise_on in items:
            raise ValueError(f"refused {self.raise_on}")
        for item, done in batch:
            if item != self.forget:
                done.set_result(item * 2)


async def test_a_lone_item_goes_at_once_and_later_ones_go_together() -> None:
    batcher = Doubler()
    first = batcher.add(1)
    await asyncio.sleep(0)  # the first batch is in flight
    later = [batcher.add(i) for i in (2, 3, 4)]
    assert await asyncio.gather(first, *later) == [2, 4, 6, 8]
    assert batcher.batches == [[1], [2, 3, 4]]


async def test_batches_are_bounded() -> None:
    batcher = Doubler(max_batch=2)
    results = await asyncio.gather(*(batcher.add(i) for i in range(5)))
    assert results == [0, 2, 4, 6, 8]
    assert batcher.batches == [[0, 1], [2, 3], [4]]


async def test_a_failed_send_fails_its_batch_only() -> None:
    batcher = Doubler(max_batch=2)
    batcher.raise_on = 1
    futures = [batcher.add(i) for i in range(4)]
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert [type(o).__name__ for o in outcomes[:2]] == ["ValueError", "ValueError"]
    assert outcomes[2:] == [4, 6]


async def test_an_item_its_batch_forgot_fails_instead_of_hanging() -> None:
    batcher = Doubler()
    batcher.forget = 2
    futures = [batcher.add(i) for i in (1, 2)]
    outcomes = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 5)
    assert outcomes[0] == 2
    assert isinstance(outcomes[1], RuntimeError)


async def test_cancelling_the_drain_cancels_the_items_still_waiting() -> None:
    batcher = Doubler(max_batch=1, delay_s=10)
    futures = [batcher.add(i) for i in range(3)]
    await asyncio.sleep(0.01)
    assert batcher._drainer is not None
    batcher._drainer.cancel()
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert batcher._drainer is None
    batcher.delay_s = 0
    assert await batcher.add(5) == 10  # a new drain starts on the next item


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Doubler(max_batch=0)
