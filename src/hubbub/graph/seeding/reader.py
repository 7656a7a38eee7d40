"""Reader for the IMM authors' graph folders: attribute.txt, graph_ic.inf and graph_lt.inf.

Nodes are the integers ``0 .. n-1`` named in the files; edges ``u v p`` mean *u can activate v*
with probability (IC) or weight (LT) ``p``. Both directions are indexed (CSR) once here so the
sampling kernels never sort or allocate per call.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hubbub.core.errors import Rejected

# Incoming LT weights may exceed 1 by rounding in files written with 6 significant digits.
LT_WEIGHT_TOLERANCE = 1e-4
MAX_NODES = 2**31 - 2


class Model(StrEnum):
    """Diffusion model: independent cascade or linear threshold."""

    IC = "IC"
    LT = "LT"


EDGE_FILES = {Model.IC: "graph_ic.inf", Model.LT: "graph_lt.inf"}


@dataclass(frozen=True, slots=True)
class Graph:
    """A weighted directed graph indexed by target (reverse sampling) and by source (simulation)."""

    n: int
    m: int
    model: Model
    src: npt.NDArray[np.int32]
    dst: npt.NDArray[np.int32]
    prob: npt.NDArray[np.float64]
    in_ptr: npt.NDArray[np.int64]
    in_src: npt.NDArray[np.int32]
    in_prob: npt.NDArray[np.float64]
    in_uniform: npt.NDArray[np.float64]
    in_log_q: npt.NDArray[np.float64]
    in_cum: npt.NDArray[np.float64]
    out_ptr: npt.NDArray[np.int64]
    out_dst: npt.NDArray[np.int32]
    out_prob: npt.NDArray[np.float64]

    @property
    def out_degree(self) -> npt.NDArray[np.int64]:
        """Number of out-edges of each node (the "followers" of the degree baseline)."""
        return np.diff(self.out_ptr)

    @property
    def in_degree(self) -> npt.NDArray[np.int64]:
        """Number of in-edges of each node."""
        return np.diff(self.in_ptr)


def _read_attributes(path: Path) -> tuple[int, int]:
    """Parse ``n=`` and ``m=`` from attribute.txt, refusing anything ambiguous."""
    if not path.is_file():
        raise Rejected("missing_file", f"{path} not found")
    values: dict[str, int] = {}
    for lineno, raw in enumerate(
        path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
    ):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            raise Rejected("bad_line", f"{path}:{lineno}: expected key=value, got {line!r}")
        if key not in ("n", "m"):
            continue
        try:
            number = int(value.strip())
        except ValueError:
            raise Rejected(
                "bad_number", f"{path}:{lineno}: {key} must be an integer, got {value.strip()!r}"
            ) from None
        if number < 0:
            raise Rejected("bad_number", f"{path}:{lineno}: {key} must be >= 0, got {number}")
        if key in values:
            raise Rejected("bad_line", f"{path}:{lineno}: {key} given twice")
        values[key] = number
    for key in ("n", "m"):
        if key not in values:
            raise Rejected("missing_field", f"{path}: no {key}= line")
    if values["n"] > MAX_NODES:
        raise Rejected("too_large", f"{path}: n={values['n']} exceeds {MAX_NODES}")
    return values["n"], values["m"]


def _read_edge_rows(path: Path) -> npt.NDArray[np.float64]:
    """Load ``u v p`` rows with numpy's C parser; a bad row becomes a Rejected naming it."""
    if not path.is_file():
        raise Rejected("missing_file", f"{path} not found")
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head.strip() and path.stat().st_size <= len(head):
        return np.empty((0, 3), dtype=np.float64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = np.loadtxt(path, dtype=np.float64, ndmin=2, comments=None)
    except ValueError as exc:
        raise _locate_bad_line(path, str(exc)) from None
    if not rows.shape[0]:
        return np.empty((0, 3), dtype=np.float64)
    if rows.shape[1] != 3:
        raise _locate_bad_line(path, f"expected 3 columns (u v p), found {rows.shape[1]}")
    return rows


def _locate_bad_line(path: Path, fallback: str) -> Rejected:
    """Re-scan a file numpy refused, to name the first bad line (1-based) in the error."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for lineno, raw in enumerate(handle, 1):
            fields = raw.split()
            if not fields:
                continue
            if len(fields) != 3:
                return Rejected(
                    "bad_line", f"{path}:{lineno}: expected 3 columns (u v p), got {raw.strip()!r}"
                )
            try:
                [float(f) for f in fields]
            except ValueError:
                return Rejected("bad_line", f"{path}:{lineno}: not numbers: {raw.strip()!r}")
    return Rejected("bad_line", f"{path}: {fallback}")


def _check_ids(path: Path, column: npt.NDArray[np.float64], n: int, name: str) -> None:
    """Node ids must be integers in 0..n-1, as the IMM format requires."""
    bad = np.flatnonzero((column != np.floor(column)) | (column < 0) | (column >= n))
    if bad.size:
        row = int(bad[0])
        raise Rejected(
            "node_out_of_range",
            f"{path}: edge {row + 1}: {name} {column[row]!r} is not an integer in 0..{n - 1}",
        )


def _csr(key: npt.NDArray[np.int32], n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Offsets and a stable order grouping edges by `key`."""
    order = np.argsort(key, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=n), out=ptr[1:])
    return ptr, order


def _uniform_in_prob(
    in_ptr: npt.NDArray[np.int64], in_prob: npt.NDArray[np.float64], n: int
) -> npt.NDArray[np.float64]:
    """Per node, the shared probability of all its in-edges, or -1 when they differ.

    Weighted cascade gives every in-edge of v the same 1/indeg(v); the IC sampler then skips
    over dead edges geometrically instead of flipping one coin per edge.
    """
    uniform = np.full(n, -1.0)
    degree = np.diff(in_ptr)
    if not in_prob.size:
        return uniform
    first = in_prob[np.repeat(in_ptr[:-1], degree)]
    differs = np.bincount(np.repeat(np.arange(n), degree), weights=in_prob != first, minlength=n)
    shared = (degree > 0) & (differs == 0)
    uniform[shared] = in_prob[in_ptr[:-1][shared]]
    return uniform


def build_graph(
    n: int,
    src: npt.ArrayLike,
    dst: npt.ArrayLike,
    prob: npt.ArrayLike,
    model: Model,
    *,
    origin: str = "graph",
) -> Graph:
    """Index an edge list; checks ids, probabilities and (LT) incoming weight sums."""
    if n < 1:
        raise Rejected("empty_graph", f"{origin}: a graph needs at least one node")
    if n > MAX_NODES:
        raise Rejected("too_large", f"{origin}: n={n} exceeds {MAX_NODES}")
    src_f = np.asarray(src, dtype=np.float64).ravel()
    dst_f = np.asarray(dst, dtype=np.float64).ravel()
    p = np.ascontiguousarray(np.asarray(prob, dtype=np.float64).ravel())
    if not (src_f.size == dst_f.size == p.size):
        raise Rejected("bad_line", f"{origin}: src, dst and prob differ in length")
    path = Path(origin)
    _check_ids(path, src_f, n, "source")
    _check_ids(path, dst_f, n, "target")
    bad = np.flatnonzero(~((p >= 0.0) & (p <= 1.0)))
    if bad.size:
        row = int(bad[0])
        raise Rejected(
            "bad_probability", f"{origin}: edge {row + 1}: weight {p[row]!r} is not within [0, 1]"
        )
    s = src_f.astype(np.int32)
    d = dst_f.astype(np.int32)
    in_ptr, in_order = _csr(d, n)
    in_src = np.ascontiguousarray(s[in_order])
    in_prob = np.ascontiguousarray(p[in_order])
    in_cum = np.empty(0, dtype=np.float64)
    if model is Model.LT:
        totals = np.bincount(d, weights=p, minlength=n)
        worst = int(np.argmax(totals)) if n else 0
        if totals.size and totals[worst] > 1.0 + LT_WEIGHT_TOLERANCE:
            raise Rejected(
                "bad_weight",
                f"{origin}: LT weights into node {worst} sum to {totals[worst]:.6g} > 1",
            )
        # Cumulative weight within each node's in-edge run, for the reverse random walk.
        cum = np.cumsum(in_prob)
        base = np.concatenate(([0.0], cum))[in_ptr[:-1]]
        in_cum = np.ascontiguousarray(cum - np.repeat(base, np.diff(in_ptr)))
    out_ptr, out_order = _csr(s, n)
    uniform = _uniform_in_prob(in_ptr, in_prob, n)
    # log(1 - p) for the geometric jumps, so the sampler takes no log per visited node.
    skippable = (uniform > 0) & (uniform < 1)
    log_q = np.zeros(n, dtype=np.float64)
    log_q[skippable] = np.log1p(-uniform[skippable])
    return Graph(
        n=n,
        m=int(p.size),
        model=model,
        src=s,
        dst=d,
        prob=p,
        in_ptr=in_ptr,
        in_src=in_src,
        in_prob=in_prob,
        in_uniform=uniform,
        in_log_q=log_q,
        in_cum=in_cum,
        out_ptr=out_ptr,
        out_dst=np.ascontiguousarray(d[out_order]),
        out_prob=np.ascontiguousarray(p[out_order]),
    )


def load_graph_folder(folder: str | Path, model: Model | str) -> Graph:
    """Read one model's edge file of an IMM-format folder, checked against attribute.txt."""
    root = Path(folder)
    if not root.is_dir():
        raise Rejected("missing_file", f"{root} is not a directory")
    try:
        chosen = Model(str(model).upper())
    except ValueError:
        raise Rejected("unknown_model", f"model must be IC or LT, got {model!r}") from None
    n, m = _read_attributes(root / "attribute.txt")
    path = root / EDGE_FILES[chosen]
    rows = _read_edge_rows(path)
    if rows.shape[0] != m:
        raise Rejected(
            "count_mismatch", f"{path}: attribute.txt says m={m} but the file has {rows.shape[0]}"
        )
    return build_graph(n, rows[:, 0], rows[:, 1], rows[:, 2], chosen, origin=str(path))


def parse_node_ids(text: str | list[str] | None, n: int, *, what: str) -> list[int]:
    """Node ids from ``"1,2 3"`` style text (or several such strings), checked against n."""
    if not text:
        return []
    parts = [text] if isinstance(text, str) else list(text)
    ids: list[int] = []
    for part in parts:
        for token in part.replace(",", " ").split():
            try:
                node = int(token)
            except ValueError:
                raise Rejected("bad_number", f"{what}: {token!r} is not a node id") from None
            if not 0 <= node < n:
                raise Rejected("node_out_of_range", f"{what}: node {node} not in 0..{n - 1}")
            ids.append(node)
    return list(dict.fromkeys(ids))


def read_costs(path: str | Path, n: int, default: float = 1.0) -> npt.NDArray[np.float64]:
    """Per-node seeding costs from ``node cost`` lines; unlisted nodes cost `default`."""
    file = Path(path)
    if not file.is_file():
        raise Rejected("missing_file", f"{file} not found")
    costs = np.full(n, default, dtype=np.float64)
    seen: set[int] = set()
    for lineno, raw in enumerate(
        file.read_text(encoding="utf-8", errors="replace").splitlines(), 1
    ):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 2:
            raise Rejected("bad_line", f"{file}:{lineno}: expected 'node cost', got {line!r}")
        try:
            node = int(fields[0])
            cost = float(fields[1])
        except ValueError:
            raise Rejected("bad_number", f"{file}:{lineno}: cannot read {line!r}") from None
        if not 0 <= node < n:
            raise Rejected("node_out_of_range", f"{file}:{lineno}: node {node} not in 0..{n - 1}")
        if not (math.isfinite(cost) and cost > 0):
            raise Rejected("bad_cost", f"{file}:{lineno}: cost must be finite and > 0, got {cost}")
        if node in seen:
            raise Rejected("bad_line", f"{file}:{lineno}: node {node} given twice")
        seen.add(node)
        costs[node] = cost
    return costs
