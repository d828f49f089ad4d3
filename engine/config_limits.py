"""The range of every config value (SPEC §6) and the guards on config text.

Every limit is a named constant here; the three a remedy's patch can reach
(:data:`MAX_WIDTH`, :data:`MAX_EPOCHS`, :data:`MAX_LR`) are defined in
:mod:`traindoc.diagnostics.patch_limits` (the remedies may import only
diagnostics) and taken from there. :func:`engine.config.validate`
applies them; :func:`check_model_budget` is also for the training process, which
knows a file dataset's input shape only once it has loaded it.

Model size: a model may have at most :data:`MAX_PARAMETERS` trainable parameters
(one billion: 4 GB of fp32 weights, about 16 GB with gradients and AdamW state).
At validation time the count is exact for the bundled datasets and a lower
bound for file datasets (whose input size and class count are unknown until
they are read): the hidden layers' own weights, which alone can pass the budget
(``hidden = [65536, 65536]`` is 4.3e9).

Config text: at most :data:`MAX_CONFIG_BYTES` and :data:`MAX_NESTING` levels of
``[`` / ``{``, checked by a cheap scan *before* the TOML parser (which recurses
per level and would otherwise raise a RecursionError).

Like :mod:`traindoc.engine.config`, this module imports neither torch nor Qt.
"""

from __future__ import annotations

import math
import re
from typing import Any

from traindoc.diagnostics.patch_limits import MAX_EPOCHS as MAX_EPOCHS  # defined there, once
from traindoc.diagnostics.patch_limits import MAX_LR as MAX_LR
from traindoc.diagnostics.patch_limits import MAX_WIDTH as MAX_WIDTH
from traindoc.engine.errors import UserError

MAX_SEED = 2**32 - 1  # numpy's and torch's seeding accept 0..2^32-1
MAX_NAME_LENGTH = 100  # a folder name, with a timestamp suffix added
MAX_DATASET_SPEC_LENGTH = 4096  # PATH_MAX
MAX_BATCH_SIZE = 65536
MAX_LAYERS = 64
MAX_PARAMETERS = 1_000_000_000
MAX_GRAD_ACCUM = 4096
MAX_PATIENCE = 100_000
MAX_WEIGHT_DECAY = 100.0
MAX_CLIP_GRAD_NORM = 1e6
MAX_CUDA_INDEX = 1023
MAX_PROCS_PER_NODE = 1024  # train.nproc_per_node: torchrun processes on one machine
MAX_NODES = 4096  # train.nnodes
MAX_HOST_LENGTH = 253  # a DNS name
MAX_NESTING = 32  # a valid config needs 2 (a list inside an inline table)
MAX_CONFIG_BYTES = 1_000_000
MAX_SHOWN = 60  # characters of a value quoted in a message
MAX_MESSAGE = 2000  # characters of a message

RESNET_BLOCKS = 1  # basic blocks per stage of engine.train.models' ResNet: 3 stages -> ResNet-8

#: (input shape, number of classes) per dataset kind; for file datasets a lower
#: bound of both (the channels of an image format are known, its size is not).
KNOWN_INPUTS: dict[str, tuple[tuple[int, ...], int]] = {
    "digits": ((1, 8, 8), 10),
    "spirals": ((2,), 3),
    "blobs": ((2,), 4),
    "mnist": ((1, 1, 1), 1),
    "cifar10": ((3, 32, 32), 1),
    "npz": ((1,), 1),
    "csv": ((1,), 1),
}


class ConfigError(UserError, ValueError):
    """An invalid configuration; the message names the key, the value and what is allowed.

    The message is always one line: control characters (a newline in a key or a
    path) are escaped, and an overlong message is cut.
    """

    def __init__(self, message: str) -> None:
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))
        if len(text) > MAX_MESSAGE:
            text = text[: MAX_MESSAGE - 1] + "…"
        super().__init__(text)


def show(value: Any) -> str:
    """``repr(value)``, shortened to about :data:`MAX_SHOWN` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"{'-' if value < 0 else ''}<an integer of about {_digits(value)} digits>"
    if isinstance(value, list | tuple) and len(value) > 8:
        inner = ", ".join(show(v) for v in value[:4])
        return f"[{inner}, … ({len(value)} items)]"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<a {type(value).__name__}>"
    if len(text) > MAX_SHOWN:
        return f"{text[: MAX_SHOWN - 10]}… ({len(text)} characters)"
    return text


def _digits(value: int) -> int:
    return int(abs(value).bit_length() * math.log10(2)) + 1


def check(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key} = {show(value)}: expected {allowed}")


def choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} = {show(value)}: expected one of {', '.join(allowed)}")


def int_range(key: str, value: int, low: int, high: int) -> None:
    check(low <= value <= high, key, value, f"an integer {low}..{high}")


def number_range(key: str, value: float, low: float, high: float, *, low_open: bool = False,
                 high_open: bool = False, note: str = "") -> None:
    ok = math.isfinite(value) and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open else value <= high)
    allowed = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    check(ok, key, value, allowed + note)


# ---------------------------------------------------------------- model size


def parameter_count(arch: str, hidden: tuple[int, ...], input_shape: tuple[int, ...],
                    num_classes: int) -> int:
    """Trainable parameters of the model :func:`traindoc.engine.train.models.build_model` builds."""
    hidden = tuple(hidden)
    if arch in ("cnn", "resnet") and len(input_shape) != 3:
        input_shape = (1, 1, 1)  # rejected later (conv nets need images); count a lower bound
    if arch == "mlp":
        width, total = math.prod(input_shape), 0
        for h in hidden:
            total += width * h + h
            width = h
        return total + width * num_classes + num_classes
    channels = input_shape[0]
    if arch == "cnn":
        total = 0
        for h in hidden:
            total += 9 * channels * h + 2 * h
            channels = h
        return total + channels * num_classes + num_classes
    stem, blocks = resnet_layout(hidden, input_shape)
    total = 9 * channels * stem + 2 * stem
    cin = stem
    for cin, w, stride in blocks:
        total += 9 * cin * w + 2 * w + 9 * w * w + 2 * w
        if stride != 1 or cin != w:
            total += cin * w + 2 * w
        cin = w
    return total + cin * num_classes + num_classes


def resnet_layout(hidden: tuple[int, ...], input_shape: tuple[int, ...]):
    """The small ResNet's stem width and its blocks as ``(in, out, stride)``: one width
    gives three stages (w, 2w, 4w); each later stage halves the image while it is at
    least 4x4. ``traindoc.engine.train.models`` builds exactly this; the budget counts it."""
    _, height, width_px = input_shape
    widths = (hidden[0], 2 * hidden[0], 4 * hidden[0]) if len(hidden) == 1 else tuple(hidden)
    blocks = []
    cin = widths[0]
    for i, w in enumerate(widths):
        for j in range(RESNET_BLOCKS):
            stride = 2 if i > 0 and j == 0 and height >= 4 and width_px >= 4 else 1
            if stride == 2:
                height, width_px = (height + 1) // 2, (width_px + 1) // 2
            blocks.append((cin, w, stride))
            cin = w
    return widths[0], blocks


def check_model_budget(arch: str, hidden: tuple[int, ...], input_shape: tuple[int, ...],
                       num_classes: int, *, exact: bool = True) -> None:
    """Raise :class:`ConfigError` when the model would pass :data:`MAX_PARAMETERS`."""
    count = parameter_count(arch, hidden, input_shape, num_classes)
    if count > MAX_PARAMETERS:
        what = f"{count:,} parameters" if exact else f"at least {count:,} parameters"
        raise ConfigError(
            f"model.hidden = {show(list(hidden))}: the {arch} would have {what} on this data; "
            f"expected at most {MAX_PARAMETERS:,} (use fewer or narrower layers)"
        )


def check_config_budget(arch: str, hidden: tuple[int, ...], dataset: str) -> None:
    """The budget at validation time: exact for bundled data, a lower bound for files."""
    kind = dataset.partition(":")[0]
    shape, classes = KNOWN_INPUTS.get(kind, ((1,), 1))
    check_model_budget(arch, hidden, shape, classes, exact=kind in ("digits", "spirals", "blobs"))


# ---------------------------------------------------------------- config text

_NESTING_TOKENS = re.compile(r"\"\"\"|'''|\\[\s\S]|[\"'#\[\]{}\n]")


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings and comments, in one pass.

    An approximation for malformed text (the parser then rejects it); exact for
    valid TOML, where a table header ``[a]`` or ``[[a]]`` counts 1 or 2.
    """
    depth = deepest = 0
    state = ""  # "", '"', "'", '"""', "'''" or "#"
    for match in _NESTING_TOKENS.finditer(text):
        token = match.group()
        if state == "#":
            state = "" if token == "\n" else state
        elif state:
            if state[0] == "'" and token[0] == "\\":
                token = token[1]  # no escapes in a literal string
            closes = token[0] == state[0] and len(token) >= len(state)
            if closes or (token == "\n" and len(state) == 1):
                state = ""
        elif token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth = max(0, depth - 1)
        elif token[0] in "\"'#":
            state = token
    return deepest


def check_text(text: str, source: str) -> None:
    """Refuse config text too long or too deeply nested to parse safely."""
    check_size(len(text), source)
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise ConfigError(f"{source}: values nested {depth:,} deep; expected at most "
                          f"{MAX_NESTING} levels of [ ] and {{ }}")


def check_size(size: int, source: str) -> None:
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: too long for a config; expected at most "
                          f"{MAX_CONFIG_BYTES:,} characters")


def check_distributed(train: Any) -> None:
    """``train.nproc_per_node`` / ``nnodes`` / ``node_rank`` / ``rdzv_endpoint`` (SPEC §6).

    What only the machine can tell (how many GPUs it has) is checked when the run
    starts (:func:`traindoc.engine.ddp_relay.plan`).
    """
    procs = train.nproc_per_node
    key = "train.nproc_per_node"
    if procs != "gpu":
        check(isinstance(procs, int) and not isinstance(procs, bool), key, procs,
              'a process count or "gpu" (one process per visible GPU)')
        int_range(key, procs, 1, MAX_PROCS_PER_NODE)
    elif train.device == "cpu":
        raise ConfigError(f'{key} = "gpu": counts the GPUs, but train.device = cpu; '
                          "give a process count, e.g. 2, for CPU processes")
    if (procs == "gpu" or procs > 1) and train.device.startswith("cuda:"):
        raise ConfigError(f"train.device = {show(train.device)}: with {procs} processes per "
                          "machine each one uses its own GPU (cuda:LOCAL_RANK); "
                          "set train.device = cuda or auto")
    int_range("train.nnodes", train.nnodes, 1, MAX_NODES)
    check(0 <= train.node_rank < train.nnodes, "train.node_rank", train.node_rank,
          f"0..{train.nnodes - 1} (this machine's place among train.nnodes = {train.nnodes})")
    endpoint = train.rdzv_endpoint
    if train.nnodes > 1 and not endpoint:
        raise ConfigError(f"train.rdzv_endpoint = '': with train.nnodes = {train.nnodes} "
                          "every machine needs HOST:PORT of node 0 (e.g. 10.0.0.1:29500)")
    if endpoint:
        check(endpoint_parts(endpoint) is not None, "train.rdzv_endpoint", endpoint,
              "HOST:PORT of node 0, e.g. 10.0.0.1:29500 (port 1..65535)")


def endpoint_parts(endpoint: str) -> tuple[str, int] | None:
    """``("10.0.0.1", 29500)`` for ``"10.0.0.1:29500"`` (``[::1]:29500`` too); else None."""
    host, sep, port = endpoint.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or len(host) > MAX_HOST_LENGTH or not port.isascii():
        return None
    if not port.isdigit() or not 1 <= int(port) <= 65535 or len(port) > 5:
        return None
    if any(c.isspace() or not c.isprintable() or c in "/@[]" for c in host):
        return None
    return host, int(port)
