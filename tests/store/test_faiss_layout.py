"""The FAISS index chosen by size: flat while small, IVF once large, retrained as the archive grows."""

import numpy as np
import pytest

from rag.store import FaissStore
from rag.store.faiss_store import Layout
from rag.types import Filters, PageMeta


def vectors(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 centres (clustered like real embeddings, unlike uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, 32))
    v = centres[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, 32))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_plan_by_size():
    auto = Layout(ivf_from=100_000)
    assert auto.plan(99_999, None) is None and auto.plan(100_000, None) == 1265  # about 4·√n
    assert auto.plan(300_000, 1265) == 1265  # grown, but not enough to double the lists
    assert auto.plan(400_000, 1265) == 2530
    assert auto.plan(60_000, 1265) == 1265 and auto.plan(49_999, 1265) is None  # back to flat below half
    assert Layout.lists_for(10_000) == 256  # at least 39 training vectors per list
    assert Layout("flat").plan(10**7, None) is None
    assert Layout("ivf").plan(390, None) == 10 and Layout("ivf").plan(0, None) is None
    assert Layout(probe_share=1 / 8).probes(400) == 50
    with pytest.raises(ValueError):
        Layout("hnsw")


def test_auto_layout_switches_to_ivf_keeping_ids_and_answers(tmp_path):
    v = vectors(3_000)
    ids = np.arange(3_000) * 3 + 7
    metas = [PageMeta("甲报" if i % 4 else "乙报", None, None) for i in range(3_000)]
    flat = FaissStore(32)
    store = FaissStore(32, layout=Layout(ivf_from=1_000, probe_share=1.0))
    for lo in range(0, 3_000, 500):
        for s in (flat, store):
            s.add(ids[lo : lo + 500], v[lo : lo + 500], metas[lo : lo + 500])
        assert (store.lists is None) == (lo + 500 < 1_000)
    assert store.lists == 51  # 25 lists at 1,000 chunks, retrained to 51 at 2,000 (twice the 39-per-list cap)
    assert list(store.ids()) == list(ids)
    assert np.allclose(store.vectors(ids[[5, 2_999]]), v[[5, 2_999]])
    for q in v[:50:7]:
        assert [i for i, _ in store.search(q, 10)] == [i for i, _ in flat.search(q, 10)]  # every list probed
        passing = Filters(papers=["乙报"])
        assert [i for i, _ in store.search(q, 10, passing)] == [i for i, _ in flat.search(q, 10, passing)]
    store.delete(ids[:2_600])
    assert store.lists is None and list(store.ids()) == list(ids[2_600:])  # 400 left: below half of 1,000


def test_default_probes_reach_most_of_the_exact_neighbours_and_survive_reload(tmp_path):
    v = vectors(20_000, seed=1)
    ids = np.arange(20_000)
    store = FaissStore(32, layout=Layout(ivf_from=10_000))
    store.add(ids, v, [PageMeta(None, None, None)] * 20_000)
    assert store.lists == 512 and store.index.nprobe == 64
    flat = FaissStore(32)
    flat.add(ids, v, [PageMeta(None, None, None)] * 20_000)
    queries = vectors(100, seed=2)
    recall = np.mean([len({i for i, _ in store.search(q, 10)} & {i for i, _ in flat.search(q, 10)}) / 10
                      for q in queries])
    assert recall >= 0.95
    store.commit(tmp_path)
    again = FaissStore.load(tmp_path, ids, [PageMeta(None, None, None)] * 20_000, 32)
    assert again.lists == 512 and again.index.nprobe == 64
    assert again.search(queries[0], 10) == store.search(queries[0], 10)
