"""What a training process shows: nothing of TensorFlow's own chatter.

TensorFlow and LiteRT write from C++ straight to file descriptor 2, some of it whatever
TF_CPP_MIN_LOG_LEVEL says (absl's "I0000 … oneDNN custom operations are on", "E0000 … NodeDef
mentions attribute …", "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."), and from Python
through their loggers and the warnings Keras and numpy raise about their own internals. None of it
is anything a shop owner can act on. Inside `quiet()` the descriptor goes to a temporary file, shown
only if the block fails (a real error is never hidden), while Python's `sys.stderr` still reaches the
terminal for what the caller prints: its progress text, a progress bar. Imports no TensorFlow.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# Where the warnings come from that training triggers inside the libraries, not in our code.
NOISY_MODULES = r"(keras|tensorflow|numpy|absl|google\.protobuf)(\.|$)"
_LOGGERS = ("tensorflow", "absl")
_depth = 0  # quiet() inside quiet() changes nothing: the outer one already holds the descriptor


@contextmanager
def quiet() -> Iterator[None]:
    """TensorFlow's C++ output captured, its Python loggers at ERROR, the libraries' warnings dropped."""
    global _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read once, as TensorFlow loads (inside the first quiet())
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [logger.level for logger in loggers]
    sys.stderr.flush()
    saved, capture = os.dup(2), tempfile.TemporaryFile()
    terminal = os.fdopen(os.dup(saved), "w", encoding="utf-8", errors="replace", buffering=1)
    python_stderr, sys.stderr = sys.stderr, terminal
    os.dup2(capture.fileno(), 2)
    _depth = 1
    failed = False
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            for category in (UserWarning, DeprecationWarning, FutureWarning):
                warnings.filterwarnings("ignore", category=category, module=NOISY_MODULES)
            yield
    except BaseException:
        failed = True
        raise
    finally:
        _depth = 0
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        terminal.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = python_stderr
        terminal.close()
        if failed:
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            sys.stderr.flush()
        capture.close()
