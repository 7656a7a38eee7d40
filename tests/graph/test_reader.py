"""Reading IMM graph folders: the real NetHEPT files, small good ones, and each kind of bad one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hubbub.core.errors import Rejected
from hubbub.graph.seeding.reader import Model, load_graph_folder, parse_node_ids, read_costs
from tests.graph.helpers import FolderMaker
from tests.support.data import shared_path


def test_reads_nethept_both_models() -> None:
    folder = shared_path("graphs", "nethept")
    ic = load_graph_folder(folder, "IC")
    lt = load_graph_folder(folder, Model.LT)
    assert (ic.n, ic.m) == (lt.n, lt.m) == (15229, 62752)
    # Weighted cascade: every in-edge of v has probability 1/indeg(v).
    has_in = ic.in_degree > 0
    assert np.allclose(ic.in_uniform[has_in], 1 / ic.in_degree[has_in], rtol=1e-5)
    assert float(np.max(np.bincount(lt.dst, weights=lt.prob, minlength=lt.n))) <= 1.0001
    assert ic.out_degree.sum() == ic.m


def test_small_folder_is_indexed_both_ways(make_folder: FolderMaker) -> None:
    edges = [(0, 2, 0.5), (1, 2, 0.25), (2, 0, 1.0), (0, 1, 0.5)]
    graph = load_graph_folder(make_folder(3, edges), "lt")
    assert graph.model is Model.LT
    assert graph.in_ptr.tolist() == [0, 1, 2, 4]
    assert graph.in_src[2:].tolist() == [0, 1]
    assert graph.in_cum[2:].tolist() == [0.5, 0.75]
    assert graph.out_ptr.tolist() == [0, 2, 3, 4]
    assert graph.out_dst[:2].tolist() == [2, 1]
    assert graph.in_uniform.tolist() == [1.0, 0.5, -1.0]


def test_empty_edge_file_with_m_zero(make_folder: FolderMaker) -> None:
    graph = load_graph_folder(make_folder(4, []), "IC")
    assert (graph.n, graph.m) == (4, 0)
    assert graph.in_uniform.tolist() == [-1.0] * 4


def _expect(code: str, folder: Path, model: str = "IC") -> Rejected:
    with pytest.raises(Rejected) as caught:
        load_graph_folder(folder, model)
    assert caught.value.code == code, caught.value
    return caught.value


@pytest.mark.parametrize(
    ("attributes", "code"),
    [
        ("m=1\n", "missing_field"),
        ("n=3\n", "missing_field"),
        ("n=three\nm=1\n", "bad_number"),
        ("n=-3\nm=1\n", "bad_number"),
        ("n=3\nn=4\nm=1\n", "bad_line"),
        ("n 3\nm=1\n", "bad_line"),
    ],
)
def test_bad_attribute_file(make_folder: FolderMaker, attributes: str, code: str) -> None:
    folder = make_folder(3, [(0, 1, 0.5)])
    (folder / "attribute.txt").write_text(attributes)
    _expect(code, folder)


@pytest.mark.parametrize(
    ("lines", "code", "needle"),
    [
        ("0 1 0.5\n1 2\n", "bad_line", ":2:"),
        ("0 1 0.5\n1 x 0.5\n", "bad_line", ":2:"),
        ("0 1 0.5 9\n1 2 0.5 9\n", "bad_line", ":1:"),
        ("0 1 0.5\n1 3 0.5\n", "node_out_of_range", "edge 2"),
        ("0 1 0.5\n-1 2 0.5\n", "node_out_of_range", "edge 2"),
        ("0 1 0.5\n1.5 2 0.5\n", "node_out_of_range", "edge 2"),
        ("0 1 1.5\n1 2 0.5\n", "bad_probability", "edge 1"),
        ("0 1 0.5\n1 2 nan\n", "bad_probability", "edge 2"),
        ("0 1 0.5\n", "count_mismatch", "m=2"),
    ],
)
def test_bad_edge_file(make_folder: FolderMaker, lines: str, code: str, needle: str) -> None:
    folder = make_folder(3, [(0, 1, 0.5), (1, 2, 0.5)])
    (folder / "graph_ic.inf").write_text(lines)
    assert needle in _expect(code, folder).detail


def test_lt_weights_into_a_node_must_not_exceed_one(make_folder: FolderMaker) -> None:
    folder = make_folder(3, [(0, 2, 0.5), (1, 2, 0.5)], lt=[(0, 2, 0.7), (1, 2, 0.6)])
    assert "node 2" in _expect("bad_weight", folder, "LT").detail
    # The IC file of the same folder is fine: probabilities are independent there.
    assert load_graph_folder(folder, "IC").m == 2


def test_missing_pieces(make_folder: FolderMaker, tmp_path: Path) -> None:
    _expect("missing_file", tmp_path / "nowhere")
    folder = make_folder(2, [(0, 1, 1.0)])
    _expect("unknown_model", folder, "SIR")
    (folder / "graph_lt.inf").unlink()
    _expect("missing_file", folder, "LT")
    (folder / "attribute.txt").unlink()
    _expect("missing_file", folder)


def test_node_id_lists() -> None:
    assert parse_node_ids("3, 1 3", 5, what="x") == [3, 1]
    assert parse_node_ids(["1", "2,4"], 5, what="x") == [1, 2, 4]
    assert parse_node_ids(None, 5, what="x") == []
    for text, code in (("1,a", "bad_number"), ("5", "node_out_of_range")):
        with pytest.raises(Rejected) as caught:
            parse_node_ids(text, 5, what="x")
        assert caught.value.code == code


def test_costs_file(tmp_path: Path) -> None:
    path = tmp_path / "costs.txt"
    path.write_text("# node cost\n0 2.5\n3 0.5\n")
    assert read_costs(path, 4).tolist() == [2.5, 1.0, 1.0, 0.5]
    for text, code in (
        ("0\n", "bad_line"),
        ("0 x\n", "bad_number"),
        ("9 1\n", "node_out_of_range"),
        ("0 0\n", "bad_cost"),
        ("0 inf\n", "bad_cost"),
        ("0 1\n0 2\n", "bad_line"),
    ):
        path.write_text(text)
        with pytest.raises(Rejected) as caught:
            read_costs(path, 4)
        assert caught.value.code == code, text
    with pytest.raises(Rejected) as caught:
        read_costs(tmp_path / "absent.txt", 4)
    assert caught.value.code == "missing_file"


def test_windows_line_endings_and_blank_padding(make_folder: FolderMaker) -> None:
    folder = make_folder(3, [])
    (folder / "attribute.txt").write_bytes(b"n=3\r\nm=2\r\n")
    (folder / "graph_ic.inf").write_bytes(b"0 1 0.5\r\n\r\n1 2 0.25\r\n")
    graph = load_graph_folder(folder, "IC")
    assert graph.prob.tolist() == [0.5, 0.25]
    (folder / "graph_lt.inf").write_bytes(b" \n" * 5000)  # whitespace only, beyond one read block
    assert "has 0" in _expect("count_mismatch", folder, "LT").detail
