"""The latency predictor: a gradient-boosted regressor of each unit's time per unit of work (its MACs and the
elements it moves) on its features (LightGBM, the kind a category), the times it learns being each unit's share of
its measured forward; those rates times the work, summed over the model, plus a per-model term fitted on whole
forwards against sums predicted out of fold (it corrects what the summed regressor gets wrong on designs it did not
see). Its accuracy is measured on designs it did not fit on, and said with every prediction."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import SpecError
from .features import FEATURES, Units
from .samples import DesignSample, PredictorKey

if TYPE_CHECKING:  # LightGBM, scikit-learn and scipy are imported where a fit runs: a count needs none
    from lightgbm import LGBMRegressor

__all__ = [
    "FIT_FORMAT",
    "MIN_DESIGNS",
    "LatencyPredictor",
    "Prediction",
    "accuracy_of",
    "fit_predictor",
    "predicted_entry",
]

MIN_DESIGNS = 8  # fewer cannot both fit and hold some out
FIT_FORMAT = 2  # what the fitted trees predict; raised whenever a stored predictor would mean something else
_HOLDOUT = 0.2
_EXTRAPOLATION_MARGIN = 1.5  # a feature this far past what was sampled (either way) is an extrapolation
_CHECKED = ("batch", "c_in", "c_out", "hw_in", "macs")  # the features whose range is checked
_CHECKED_COLUMNS = [FEATURES.index(name) for name in _CHECKED]
_SPREAD_QUANTILE = 0.9  # the interval: this quantile of the held-out relative errors


@dataclass(frozen=True)
class Prediction:
    median_ms: float
    low_ms: float
    high_ms: float
    layers_ms: np.ndarray  # each unit's predicted time, before the per-model term
    extrapolated: bool
    why: tuple[str, ...] = ()


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3:
        return None
    rho = spearmanr(a, b).statistic
    return None if math.isnan(rho) else float(rho)


def accuracy_of(measured: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """How close predictions are to measurements: the share within ±5% and ±10%, MAPE, Spearman's rank
    correlation (what a search ranking designs needs)."""
    err = np.abs(predicted - measured) / measured
    return {
        "designs": len(measured),
        "within_5pct": float(np.mean(err <= 0.05)) if len(err) else None,
        "within_10pct": float(np.mean(err <= 0.10)) if len(err) else None,
        "mape": float(np.mean(err)) if len(err) else None,
        "spearman": _spearman(measured, predicted),
    }


def _baseline(train: list[DesignSample], test: list[DesignSample], figure: str) -> dict[str, Any]:
    """A linear fit of end-to-end time on one count (MACs or fvcore's FLOPs): what a predictor must beat."""
    from sklearn.linear_model import LinearRegression

    x_train = np.array([[getattr(s.units, figure)] for s in train], dtype=np.float64)
    y_train = np.array([s.end_to_end_ms for s in train])
    model = LinearRegression().fit(x_train, y_train)
    x_test = np.array([[getattr(s.units, figure)] for s in test], dtype=np.float64)
    predicted = np.maximum(model.predict(x_test), 1e-6)
    return accuracy_of(np.array([s.end_to_end_ms for s in test]), predicted)


@dataclass
class LatencyPredictor:
    key: PredictorKey
    kinds: dict[str, int]  # unit kind -> category code
    regressor: LGBMRegressor
    overhead: tuple[float, float, float]  # end_to_end = a * sum(units) + b * units + c
    ranges: dict[str, tuple[list[float], list[float]]]  # per kind: min and max of the checked features
    spread: float  # the relative half-width of the interval (held-out quantile)
    accuracy: dict[str, Any]
    held_out: list[dict[str, Any]]  # each held-out design: label, measured and predicted (a scatter)
    samples: int  # units fitted on
    designs: int  # designs fitted on
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    fitted_at: float = field(default_factory=time.time)
    # A factory, not a default: a dataclass default is also a class attribute, which a stored predictor from
    # before this field would read as its own.
    fit_format: int = field(default_factory=lambda: FIT_FORMAT)

    def is_current(self) -> bool:
        """Whether this version's fit made it (a stored predictor from an older one means something else by its
        trees: before format 2 they predicted times, not rates)."""
        return getattr(self, "fit_format", 1) == FIT_FORMAT

    def _bounds(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """How low and how high a kind's checked features may go before a design is an extrapolation (a kind
        never sampled: bounds nothing is within)."""
        if kind not in self.ranges:
            return np.full(len(_CHECKED), math.inf), np.full(len(_CHECKED), -math.inf)
        low, high = self.ranges[kind]
        return np.asarray(low) / _EXTRAPOLATION_MARGIN, np.asarray(high) * _EXTRAPOLATION_MARGIN

    def _kind_table(self, kinds: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each unit's category code, and its kind's ``_bounds``, row by row."""
        codes = np.array([self.kinds.get(kind, -1) for kind in kinds], dtype=np.float64)
        bounds = {kind: self._bounds(kind) for kind in dict.fromkeys(kinds)}
        low = np.array([bounds[kind][0] for kind in kinds]).reshape(len(kinds), len(_CHECKED))
        high = np.array([bounds[kind][1] for kind in kinds]).reshape(len(kinds), len(_CHECKED))
        return codes, low, high

    def _why(self, units: Units) -> list[str]:
        """What in ``units`` lies outside what was sampled."""
        why: list[str] = []
        values = units.x[:, _CHECKED_COLUMNS]
        kinds = np.asarray(units.kinds)
        for kind in dict.fromkeys(units.kinds):
            if kind not in self.kinds:
                why.append(f"a {kind} was never measured")
                continue
            low, high = self.ranges[kind]
            lowest, highest = self._bounds(kind)
            mask = kinds == kind
            for j, name in enumerate(_CHECKED):
                top, bottom = values[mask, j].max(), values[mask, j].min()
                if top > highest[j]:
                    why.append(f"{kind} {name} up to {top:.4g}, sampled up to {high[j]:.4g}")
                elif bottom < lowest[j]:
                    why.append(f"{kind} {name} down to {bottom:.4g}, sampled down to {low[j]:.4g}")
        return why

    def predict_many(self, designs: list[Units]) -> list[Prediction]:
        """One regressor call for every distinct unit of every design (a sweep's chunk at once: a block repeated
        ``n`` times, or a layer shared by designs, is predicted once), and one range check for them all."""
        designs_with_units = [u for u in designs if len(u)]
        unit_ms = np.zeros(0)
        inside: dict[int, bool] = {}  # by design: every unit within the sampled ranges
        if designs_with_units:
            tables: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # by kinds list (a plan's)
            for units in designs_with_units:
                if id(units.kinds) not in tables:
                    tables[id(units.kinds)] = self._kind_table(units.kinds)
            parts = [tables[id(u.kinds)] for u in designs_with_units]
            x = np.vstack([u.x for u in designs_with_units])
            unit_ms = _predict_distinct(self.regressor, np.column_stack([np.concatenate([p[0] for p in parts]), x]))
            values = x[:, _CHECKED_COLUMNS]
            outside = ((values < np.vstack([p[1] for p in parts])) | (values > np.vstack([p[2] for p in parts]))).any(1)
            starts = np.cumsum([0] + [len(u) for u in designs_with_units[:-1]])
            any_outside = np.logical_or.reduceat(outside, starts)
            inside = {id(u): not out for u, out in zip(designs_with_units, any_outside, strict=True)}
        a, b, c = self.overhead
        out, start = [], 0
        for units in designs:
            layers = unit_ms[start : start + len(units)]
            start += len(units)
            median = max(a * float(layers.sum()) + b * len(units) + c, 1e-6)
            why = () if inside.get(id(units), True) else tuple(self._why(units))
            spread = self.spread * 3 + 0.25 if why else self.spread  # outside the data: a wide interval
            out.append(Prediction(median, median * max(1 - spread, 0.0), median * (1 + spread), layers, bool(why), why))
        return out

    def predict(self, units: Units) -> Prediction:
        return self.predict_many([units])[0]

    def describe(self) -> dict[str, Any]:
        """What an answer says of the predictor it used (and GET /predictors lists)."""
        return {
            "id": self.id,
            "device": self.key.device,
            "device_name": self.key.device_name,
            "runtime": self.key.runtime,
            "dtype": self.key.dtype,
            "threads": self.key.threads,
            "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.fitted_at)),
            "samples": self.samples,
            "designs": self.designs,
            "held_out_accuracy": self.accuracy,
            "interval": f"±{self.spread:.1%}: the {_SPREAD_QUANTILE:.0%} quantile of the held-out designs' errors",
        }


def _regressor(seed: int) -> LGBMRegressor:
    from lightgbm import LGBMRegressor

    # Poisson loss: a log link (rates span decades; errors are relative) that takes the zeros of units a runtime
    # fused away. One thread: a fit or a prediction never competes with a measurement for the cores. 80 trees of
    # up to 63 leaves, a leaf's hessians summing to 1e-3 at least (LightGBM's default): the hessians are of the
    # size of the rates (ms per MAC or element: 1e-8 to 1e-5), so that floor keeps large units, whose rates are
    # low, in few large leaves (about 20 leaves a tree on a CPU calibration) and lets small, costly units split
    # further. It depends on the device's speed; targets divided by their mean rate instead (where the floor does
    # nothing) made the Poisson fit diverge here, with min_child_weight up to 100 or min_child_samples up to 1,000.
    return LGBMRegressor(
        objective="poisson",
        n_estimators=80,
        learning_rate=0.18,
        num_leaves=63,
        min_child_samples=4,
        min_child_weight=1e-3,
        random_state=seed,
        num_threads=1,
        verbose=-1,
    )


_COLUMN = {name: 1 + i for i, name in enumerate(FEATURES)}  # a feature's column in a row that has its kind first
_WORK = [_COLUMN[name] for name in ("macs", "elements_in", "elements_out")]


def _work(x: np.ndarray) -> np.ndarray:
    """Each row's work: its MACs and the elements it reads and writes, plus one (an op with neither still costs).
    The regressor learns time per unit of work: past the largest value it saw, a tree predicts what it predicted
    there, and a rate held there scales with the work where a time would not (ResNet-18's 3x3 convs at 56 px,
    wider than any sampled at that size, were predicted at 9 µs each when the trees learned times)."""
    return 1.0 + x[:, _WORK].sum(axis=1)


def _fit(regressor: LGBMRegressor, x: np.ndarray, y: np.ndarray) -> LGBMRegressor:
    # A leaf's rate is a mean over units of different work: unweighted, the small units' high rates raise the large
    # ones' predictions; weighted by the work, the small units are not learned. The square root between them did
    # best on this project's stored calibrations (bench/results/predictor.txt).
    work = _work(x)
    weight = np.sqrt(work)
    return regressor.fit(x, y / work, sample_weight=weight / weight.mean(), categorical_feature=[0])


def _predict(regressor: LGBMRegressor, x: np.ndarray) -> np.ndarray:
    """Each row's time: its rate times its work. The booster itself: the estimator's checks cost more than its
    trees on a model's few hundred rows."""
    if not len(x):
        return np.zeros(0)
    return np.maximum(regressor.booster_.predict(x, num_threads=1), 0.0) * _work(x)


def _predict_distinct(regressor: LGBMRegressor, x: np.ndarray) -> np.ndarray:
    """``_predict`` over the distinct rows of ``x`` only (a model's units repeat: about half of MobileNetV2's)."""
    rows = np.ascontiguousarray(x).view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return _predict(regressor, x[first])[inverse]


_SHARES = (0.25, 4.0)  # a design's unit times summing to less or more than this much of its forward: not shares of it


def _attributable(sample: DesignSample) -> bool:
    """Whether a design's unit times can be read as shares of its forward (a runtime whose nodes mapped to no unit
    leaves them all zero)."""
    return _SHARES[0] <= float(sample.unit_ms.sum()) / sample.end_to_end_ms <= _SHARES[1]


def _in_forward(sample: DesignSample) -> np.ndarray:
    """Each unit's time as its share of the measured forward: per-layer timing adds its probes (eager) or its
    profiler (a runtime), and a runtime's nodes that map to no unit (a split, a shuffle's transposes) leave time
    out; scaled so that the units sum to the forward, a model's units learn what they cost in it."""
    return sample.unit_ms * (sample.end_to_end_ms / float(sample.unit_ms.sum()))


def _stack(samples: list[DesignSample], kinds: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.vstack(
        [np.column_stack([[kinds.get(k, -1) for k in s.units.kinds], s.units.x]) for s in samples if len(s.units)]
    )
    y = np.concatenate([_in_forward(s) for s in samples])
    groups = np.concatenate([np.full(len(s.units), i) for i, s in enumerate(samples)])
    return x, y, groups


def _sums(regressor: LGBMRegressor, x: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(groups, weights=_predict(regressor, x), minlength=n)


def fit_predictor(samples: list[DesignSample], seed: int = 0, holdout: list[bool] | None = None) -> LatencyPredictor:
    """Fit on most designs, hold the rest out (a fifth, chosen at random, or as ``holdout`` says) and measure
    the accuracy there. The predictor returned is the one measured: fitted without the held-out designs."""
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import GroupKFold

    keys = {s.key for s in samples}
    if len(keys) != 1:
        raise ValueError(f"samples of one device, runtime and dtype only, not {len(keys)}")
    if len(samples) < MIN_DESIGNS:
        raise SpecError.at(
            ("budget_s",),
            f"{len(samples)} designs were measured; a predictor needs at least {MIN_DESIGNS}: raise budget_s",
        )
    rng = np.random.default_rng(seed)
    if holdout is None:
        held = set(rng.permutation(len(samples))[: max(2, round(_HOLDOUT * len(samples)))].tolist())
        holdout = [i in held for i in range(len(samples))]
    # A held-out design is judged on its forward alone; one whose unit times are not shares of it is not fitted on.
    train = [s for s, out in zip(samples, holdout, strict=True) if not out and _attributable(s)]
    test = [s for s, out in zip(samples, holdout, strict=True) if out]
    if len(train) < 2:
        raise SpecError.at(
            ("budget_s",),
            f"{len(train)} measured designs have per-layer times that cover their forward; a fit needs 2 or more",
        )
    kinds = {kind: i for i, kind in enumerate(sorted({k for s in train for k in s.units.kinds}))}
    x, y, groups = _stack(train, kinds)

    # The per-model term, fitted on sums predicted out of fold (in-fold sums would be too good).
    out_of_fold = np.zeros(len(train))
    folds = GroupKFold(n_splits=min(5, len(train)))
    for fit_rows, predict_rows in folds.split(x, y, groups):
        regressor = _fit(_regressor(seed), x[fit_rows], y[fit_rows])
        sums = _sums(regressor, x[predict_rows], groups[predict_rows], len(train))
        out_of_fold += sums
    n_units = np.array([len(s.units) for s in train], dtype=np.float64)
    measured = np.array([s.end_to_end_ms for s in train])
    # Weighted by 1/measured²: least squares on relative errors (what accuracy is judged on); unweighted, the largest
    # designs set the term and the smallest pay for it.
    overhead_fit = LinearRegression(positive=True).fit(
        np.column_stack([out_of_fold, n_units]), measured, sample_weight=1.0 / measured**2
    )
    a, b = (float(v) for v in overhead_fit.coef_)
    overhead = (a, b, float(overhead_fit.intercept_))

    regressor = _fit(_regressor(seed), x, y)
    checked = [_COLUMN[name] for name in _CHECKED]
    ranges = {}
    for kind, code in kinds.items():
        rows = x[x[:, 0] == code][:, checked]
        ranges[kind] = (rows.min(axis=0).tolist(), rows.max(axis=0).tolist())
    predictor = LatencyPredictor(
        samples[0].key, kinds, regressor, overhead, ranges, 0.0, {}, [], samples=len(y), designs=len(train)
    )
    predicted = [p.median_ms for p in predictor.predict_many([s.units for s in test])]
    truth = np.array([s.end_to_end_ms for s in test])
    errors = np.abs(np.array(predicted) - truth) / truth
    predictor.spread = float(np.quantile(errors, _SPREAD_QUANTILE))
    predictor.accuracy = {
        **accuracy_of(truth, np.array(predicted)),
        "baselines": {"macs": _baseline(train, test, "macs"), "fvcore_flops": _baseline(train, test, "fvcore_flops")},
        "how": "end-to-end medians of designs measured but held out of the fit, against the prediction; the "
        "baselines fit end-to-end time linearly on one count over the same designs",
    }
    predictor.held_out = [
        {"design": s.label, "measured_ms": float(t), "predicted_ms": float(p)}
        for s, t, p in zip(test, truth, predicted, strict=True)
    ]
    return predictor


def predicted_entry(
    predictor: LatencyPredictor,
    prediction: Prediction,
    units: Units,
    *,
    per_layer: bool = True,
    described: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A latency entry (where a measured one goes) for a prediction: the predictor named, with its accuracy
    (``described``: its ``describe()``, when a caller answering many points has it already)."""
    key = predictor.key
    out: dict[str, Any] = {
        "device": key.device,
        "device_name": key.device_name,
        "batch_size": int(units.x[0, 0]) if len(units) else 1,
        "dtype": key.dtype,
        "threads": key.threads,
        "runtime": {"name": key.runtime},
        "method": "predicted",
        "end_to_end": {
            "median_ms": prediction.median_ms,
            "low_ms": prediction.low_ms,
            "high_ms": prediction.high_ms,
            "interval_how": "the predictor's held-out error quantile around the prediction"
            + ("; widened: the design lies outside what was measured" if prediction.extrapolated else ""),
        },
        "extrapolated": prediction.extrapolated,
        **({"extrapolated_because": list(prediction.why)} if prediction.extrapolated else {}),
        "predictor": predictor.describe() if described is None else described,
    }
    if per_layer:
        out["per_layer"] = {
            "method": "predicted",
            "how": "each layer's and op's time inside a whole forward, predicted from its shape; their sum plus the "
            "per-model term is end_to_end",
            "per_model_ms": prediction.median_ms - float(prediction.layers_ms.sum()),
            "layers": [
                {"name": name, "median_ms": float(ms)}
                for name, ms in zip(units.names, prediction.layers_ms, strict=True)
            ],
        }
    return out
