"""Reference data for week 3, notebook 03 (text classification with a bidirectional LSTM).

This notebook has no pure function for the grader to compare outside the kernel, so
``REFERENCES`` and ``INPUT_GENERATORS`` are empty. Its exercises (encoder, the two models,
training) are checked by the notebook's own test cells, and the saved model by the grader's
model checks described in ``MODELS``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Kwargs = dict[str, object]
InputGenerator = Callable[[np.random.Generator], Kwargs]

DATASET = "sentiment"

REFERENCES: dict[str, Callable] = {}

INPUT_GENERATORS: dict[str, InputGenerator] = {}

# Reference model: TextVectorization(5000 tokens, 40 ids) -> Embedding(5000, 64, mask_zero=True)
# -> Bidirectional(LSTM(64)) -> Dense(64, relu) -> Dense(1) logit: 394,369 parameters
# (Embedding 320,000 + Bidirectional 66,048 + Dense 8,256 + Dense 65).
MODELS = {
    "sentiment_bilstm": {
        "task": "binary_text",
        "metric": "accuracy",
        "layers": ["TextVectorization", "Embedding", "Bidirectional", "LSTM", "Dense"],
        "recurrent": [{"type": "LSTM", "units": 64, "return_sequences": False}],
        "params": [355_000, 434_000],
        "reported_tolerance": 0.1,
        # The grader's own training (autograder/data/feeding.py): the notebook's 80 / 20 cut, batches of 64.
        "training": {"batch_size": 64, "validation_share": 0.2, "split_seed": 123},
    },
}
