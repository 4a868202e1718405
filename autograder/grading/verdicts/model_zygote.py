"""A fork server for model jobs: TensorFlow and Keras imported once, then one fresh fork per job.

    python -I -m autograder.grading.verdicts.model_zygote      (started by models.py, minimal environment)

TensorFlow's import costs about 6 CPU seconds; a grading process starts this server once and asks
it for a fork per job, so a job does not pay the import again. The server never runs a job and
never loads a model. BLAS and OpenMP are held to one thread before the import, so the server has
a single thread when it forks (fork-safe); a job sets TensorFlow's thread counts before its first
operation (`model_job.run`), so a forked job computes exactly what `python -m ...model_job` does.

Protocol, one line each way (the job itself is a file, records go to a file):
    parent -> server   RUN <folder>            folder holds job.json; the fork writes records.jsonl
    server -> parent   PID <folder> <pid>
    server -> parent   EXIT <folder> <status>  as os.waitpid reports it (signal in the low byte)
The fork starts a new session, applies the job's limits and environment (env.json), sends its stdout
and stderr to files in the folder, and exits with 0 (or 3 after a MemoryError). When the grading
process goes away (its end of the pipe closes), the server kills the jobs still running and exits.
"""
from __future__ import annotations

import json
import os
import select
import signal
import sys

for _name, _value in (("TF_CPP_MIN_LOG_LEVEL", "2"), ("TF_ENABLE_ONEDNN_OPTS", "0"), ("CUDA_VISIBLE_DEVICES", ""),
                      ("OMP_NUM_THREADS", "1"), ("OPENBLAS_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1")):
    os.environ[_name] = _value


def _job(folder: str) -> int:
    from autograder.grading.verdicts import model_job

    os.setsid()
    env = json.loads(open(os.path.join(folder, "env.json")).read())
    job = json.loads(open(os.path.join(folder, "job.json")).read())
    model_job.apply_limits(int(job["memory_mb"]), int(job["cpu_s"]))
    os.environ.clear()
    os.environ.update(env)
    os.chdir(folder)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(os.open(os.path.join(folder, "stderr.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), 2)
    out = open(os.path.join(folder, "records.jsonl"), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)

    def emit(record: dict) -> None:
        out.write(json.dumps(model_job._finite(record)) + "\n")
        out.flush()

    try:
        model_job.run(job, emit)
    except MemoryError:
        emit({"stage": "problem", "where": "job", "problem": "ran out of memory (the grader's memory limit for models)"})
        return 3
    return 0


def serve() -> None:
    import keras  # noqa: F401  (the point of the server: imported once, before any fork)
    import tensorflow  # noqa: F401

    from autograder.grading.verdicts import model_job  # noqa: F401

    running: dict[int, str] = {}
    stdin, reply = sys.stdin.buffer, sys.stdout
    buffer = b""
    reply.write("READY\n")
    reply.flush()
    open_input = True
    while open_input or running:
        ready, _, _ = select.select([stdin] if open_input else [], [], [], 0.05)
        if ready:
            chunk = os.read(stdin.fileno(), 65536)
            if not chunk:                      # the grading process is gone: so are its jobs
                open_input = False
                for pid in running:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                command, _, folder = line.decode().partition(" ")
                if command != "RUN":
                    continue
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        code = _job(folder)
                    finally:
                        os._exit(code)
                running[pid] = folder
                reply.write(f"PID {folder} {pid}\n")
                reply.flush()
        while running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            folder = running.pop(pid, None)
            if folder is not None:
                reply.write(f"EXIT {folder} {status}\n")
                reply.flush()


if __name__ == "__main__":
    serve()
