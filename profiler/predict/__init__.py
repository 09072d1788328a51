"""Predicted latency: a regressor per device, runtime and dtype, fitted on the service's own per-layer
measurements of sampled designs (``calibrate``), that predicts a design's latency from its plan alone."""

from .calibrate import CalibrationProgress, calibrate
from .designs import Design, block_families, sample_designs
from .features import FEATURES, UnitProgram, Units, model_units
from .model import MIN_DESIGNS, LatencyPredictor, Prediction, accuracy_of, fit_predictor, predicted_entry
from .samples import DesignSample, PredictorKey, design_sample, predictor_key

__all__ = [
    "FEATURES",
    "MIN_DESIGNS",
    "CalibrationProgress",
    "Design",
    "DesignSample",
    "LatencyPredictor",
    "Prediction",
    "PredictorKey",
    "UnitProgram",
    "Units",
    "accuracy_of",
    "block_families",
    "calibrate",
    "design_sample",
    "fit_predictor",
    "model_units",
    "predicted_entry",
    "predictor_key",
    "sample_designs",
]
