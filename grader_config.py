"""The one configuration file of this course.

Every key is checked when the autograder loads this file; a misspelt key or a
value of the wrong type stops the command with a message naming the key.
`autograder config` prints the values in force. README.md ("grader_config.py
reference") documents each key.
"""

# --- course (nbgrader settings) ---------------------------------------------
course_id = "rnn-week"
assignment = "week3_rnn"            # folder name under source/ and release/
gradebook_url = "sqlite:///gradebook.db"   # relative sqlite paths are taken from the course root

# --- the week, as every released notebook's header shows it -----------------------
# `autograder release` renders the header and footer cells of each notebook from
# autograder/templates/ with these values: change the due date here, release again,
# and every notebook says the new date.
course = {
    "title": "Deep Learning",
    "week": 3,
    "topic": "Recurrent neural networks",
    "honour_code": ("Write your own code. You may discuss ideas with others, but do not share or copy "
                    "solution code. Name every source you used in the notebook."),
}
due = "2026-12-11T23:59:00+00:00"   # ISO 8601 with a UTC offset; "" = no due date

# --- late work (applied when grading; the submission time comes from nbgrader's
# timestamp.txt, the LMS file name, or the file's modification time, in that order)
late_penalty = {
    "method": "per_day",            # "none", "zero", "per_hour" or "per_day"
    "rate": 0.10,                   # fraction of the score lost per started hour/day late
    "grace_minutes": 15,            # this close to the due time counts as on time
    "max_fraction": 1.0,            # never lose more than this fraction of the score
}

# --- LMS intake -----------------------------------------------------------------
roster = ""                         # CSV with columns student_id,lms_id,name ("" = none); see README

# --- time limits -------------------------------------------------------------
timeouts = {
    "kernel_start_s": 60,           # starting the student's kernel
    "cell_s": 60,                   # any single cell, unless listed in "cells"
    "notebook_s": 900,              # one whole notebook, all cells together
    "cells": {"train_model": 300},  # grade_id -> seconds: training cells get minutes
}

# --- points ------------------------------------------------------------------
# Points live in each grade cell's nbgrader metadata. List a grade_id here to
# override it; `autograder release` writes the override into release/.
points = {}

# --- comparison with the reference solutions (run by the grader, never in the kernel)
reference = {
    "cases": 5,                     # fresh random inputs per function
    "rtol": 1e-6,                   # accepted relative error ||student - reference|| / ||reference||
    "seed": 20261126,               # base seed; each student gets inputs derived from it and their id
}

# --- reproducibility -----------------------------------------------------------
seed = 1234                         # seeds Python, numpy (and TensorFlow) in every graded kernel

# --- trained models (topics 2-5), measured by the grader on held-out data -------------
# "<model>.<metric>": 0 points at "min", full points at "target", linear between. The values
# come from `python bench/calibrate.py` (docs/calibration.json, README "Calibration"): each
# target lies below the reference's worst seed, each min well above the trivial baseline.
thresholds = {
    "sentiment_embedding_bag.accuracy": {"min": 0.65, "target": 0.78},   # baseline 0.50
    "sentiment_bilstm.accuracy": {"min": 0.65, "target": 0.78},          # baseline 0.50
    "char_gru.loss": {"min": 3.0, "target": 1.95},        # nats/char; unigram baseline 3.33, ln(vocab) 4.4
    "temp_lstm.mae": {"min": 0.618, "target": 0.607},     # °C; last-value baseline 0.629 (must also be beaten)
}
# Training budget per model: more epochs or parameters than this scores 0 on the metric.
budgets = {
    "sentiment_embedding_bag": {"max_epochs": 15, "max_params": 500_000},
    "sentiment_bilstm": {"max_epochs": 10, "max_params": 1_500_000},
    "char_gru": {"max_epochs": 10, "max_params": 500_000},
    "temp_lstm": {"max_epochs": 50, "max_params": 50_000},
}

# --- the grader's own training of each saved model (autograder/grading/verdicts/models.py) ----
# The grade of a trained model comes from the grader: it trains a fresh copy of the saved, compiled
# architecture on its training split for the declared epochs, in a child process with these limits,
# and measures it on held-out data. Over a limit, the metric scores 0 with the limit named.
models = {
    "cpu_s": 900,                   # CPU seconds (all threads) of one model's training and measurement
    "memory_mb": 6144,              # address space of that child process (TensorFlow needs about 2 GB)
    "wall_s": 1800,                 # wall-clock seconds of that child process (a backstop: cpu_s is the bound)
    "threads": 1,                   # TensorFlow threads of the grader's training, whatever --workers is
    "max_file_mb": 64,              # largest models/<name>.keras the grader reads
    # "<model>.<metric>": how far the student's saved weights may beat the grader's training of the
    # same architecture before the notebook is flagged "possible training on held-out data"
    # (measured: README "How trained models are graded").
    "flag_margin": {"sentiment_embedding_bag.accuracy": 0.03, "sentiment_bilstm.accuracy": 0.03,
                    "char_gru.loss": 0.1, "temp_lstm.mae": 0.012},
}

# --- sandbox for student code (autograder/sandbox.py) ----------------------------
sandbox = {
    "isolation": "namespaces",      # network, mount and PID namespaces; user nobody when run as root
    "when_unavailable": "warn",     # "warn": grade unisolated and say so on every result; "refuse": stop
    "memory_mb": 6144,              # address-space limit of the kernel (TensorFlow needs about 2 GB)
    "max_processes": 512,           # processes of the sandbox user (fork bombs)
    "max_file_mb": 1024,            # largest file the notebook may write
    "max_output_kb": 1024,          # output kept per cell; the rest is dropped
    "cpu_s": 3600,                  # CPU seconds of the kernel (all threads), beyond the wall-clock limits
}

# --- `autograder serve`: official feedback before the due date (README "Serving feedback") ----
serve = {
    "runs_per_day": 3,              # official runs per student and notebook per UTC day (0 = no limit)
    "before_due": "summary",        # "summary": visible tests in full, hidden tests and grader checks
                                    #   as pass counts per exercise, metrics rounded; "full": everything
    "metric_decimals": 2,           # decimals of a model metric in a "summary" page
    "poll_s": 2,                    # seconds between looks at the exchange's inbound folder
}

# --- data used for grading -----------------------------------------------------
data = {
    "source": "embedded",           # "embedded" (offline, shipped with packages) or "canonical" (download)
    "cache_dir": "~/.cache/rnn-autograder",
    "mirror_url": "",               # a course server to download from instead of the canonical URLs
}
