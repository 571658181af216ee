#!/usr/bin/env python3
"""Build modelpin's real-world ONNX corpus (issue #11) into one directory.

    python build.py --out DIR

Every model comes from a pinned public package (PyPI wheels fetched with `pip download --no-deps`,
npm tarballs with `npm pack`) or from a standard converter run on a small model trained here with
a fixed seed. Nothing is downloaded at serve time. The output:

    DIR/corpus.json               the manifest (see README.md beside this file)
    DIR/models/<id>/model.onnx    or model.tar.gz (format "tar": model.onnx + model.onnx.data)
    DIR/samples/<id>/<k>.json     V2 request bodies: real-looking, valid inputs (explicit warm-up)

The build also records, per model, the truth about batching: the samples (>= 3 distinct rows of
one shape) are run one by one and stacked along dim 0 in ONNX Runtime, and batching is sound
only if every servable output row equals its single result under the tolerance in `close()`
(the harness in test/integration/corpus.test.ts re-checks it with onnxruntime-node).

The directory is written under a temporary name and renamed at the end, so a crashed build never
looks complete. Run it with the interpreter of the venv that .ci/run creates from
requirements.txt (numpy, onnx, onnxruntime, scikit-learn, skl2onnx, onnxmltools, lightgbm,
onnxconverter-common).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ort.set_default_logger_severity(4)

MANIFEST_VERSION = 1

# Pinned sources. A wheel is fetched without dependencies: only the .onnx files inside are used.
PYPI: dict[str, str] = {
    "silero-vad": "6.2.3",
    "faster-whisper": "1.2.1",
    "onnx-asr": "0.12.0",
    "openwakeword": "0.4.0",  # the last release that ships its models inside the wheel
    "speechmos": "0.0.1.1",
    "basic-pitch": "0.4.0",
    "magika": "1.0.3",
    "arabic-name-romanizer": "0.2.0",
    "rapidocr-onnxruntime": "1.4.4",
    "ddddocr": "1.6.1",
}
NPM: dict[str, str] = {"@ricky0123/vad-web": "0.0.31"}

# Float comparison, shared with the TypeScript harness (keep the two identical):
# |got - want| <= REL * |want| + ABS; NaN equals NaN; infinities must match exactly.
REL = 1e-5
ABS = 1e-6


def close(got: np.ndarray, want: np.ndarray) -> tuple[bool, float]:
    """Whether two outputs agree (exact for non-floats), and the largest absolute difference."""
    if got.shape != want.shape:
        return False, float("inf")
    if got.dtype.kind not in "fc":
        return bool(np.array_equal(got, want)), 0.0 if np.array_equal(got, want) else float("inf")
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    same = (g == w) | both_nan
    diff = np.where(same, 0.0, np.abs(g - w))
    diff = np.where(np.isnan(diff), np.inf, diff)
    ok = bool(np.all(same | (diff <= REL * np.abs(w) + ABS)))
    return ok, float(diff.max()) if diff.size else 0.0


# ------------------------------------------------------------------------------------------------
# Fetching packages


class Fetcher:
    def __init__(self, work: Path):
        self.work = work
        self.unpacked: dict[str, Path] = {}

    def pypi(self, name: str) -> Path:
        """Unzip the pinned wheel of `name`; returns the directory holding its files."""
        key = f"pypi:{name}"
        if key in self.unpacked:
            return self.unpacked[key]
        version = PYPI[name]
        dl = self.work / "dl" / name
        dl.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", str(dl), f"{name}=={version}"]
        subprocess.run(cmd, check=True)
        wheels = list(dl.glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"expected one wheel for {name}=={version}, got {wheels}")
        out = self.work / "pkg" / name
        with zipfile.ZipFile(wheels[0]) as z:
            z.extractall(out)
        wheels[0].unlink()  # the corpus keeps only the models; pip's own cache keeps the wheel
        self.unpacked[key] = out
        return out

    def npm(self, name: str) -> Path:
        key = f"npm:{name}"
        if key in self.unpacked:
            return self.unpacked[key]
        version = NPM[name]
        dl = self.work / "dl" / name.replace("/", "+")
        dl.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=dl, check=True, capture_output=True, text=True)
        tgz = dl / res.stdout.strip().splitlines()[-1]
        out = self.work / "pkg" / name.replace("/", "+")
        with tarfile.open(tgz) as t:
            t.extractall(out, filter="data")
        tgz.unlink()
        self.unpacked[key] = out / "package"
        return out / "package"


# ------------------------------------------------------------------------------------------------
# Sample data: small, deterministic, shaped like the real thing.


def speech(n: int, sr: int, seed: int, peak: float) -> np.ndarray:
    """A voiced, syllable-shaped signal (harmonics of a gliding f0 under an envelope) plus noise,
    normalised to `peak` and rounded to 4 decimals so the JSON stays short and exact."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    f0 = 100 + 80 * rng.random() + 25 * np.sin(2 * np.pi * (0.7 + rng.random()) * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase + 6.283 * rng.random()) / k for k in range(1, 14))
    env = np.clip(np.sin(2 * np.pi * (2.0 + 2.0 * rng.random()) * t + 6.283 * rng.random()), 0, None) ** 1.5
    x = x * env + 0.03 * rng.standard_normal(n)
    x = x / np.max(np.abs(x)) * peak
    return np.round(x, 4)


def text_image(h: int, w: int, seed: int, ink: int = 30, paper: int = 235) -> np.ndarray:
    """A grey page with dark glyph-like strokes in a line or two: uint8 [h, w, 3]."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), paper, np.float64)
    img += np.linspace(-12, 12, w)[None, :, None] * (1 if seed % 2 else -1)
    lines = 1 if h < 100 else 3
    for li in range(lines):
        top = int(h * (0.2 + 0.6 * li / max(lines, 1))) if lines > 1 else int(h * 0.25)
        gh = int(h * (0.5 if lines == 1 else 0.12))
        x = int(w * 0.05)
        while x < w * (0.6 + 0.35 * rng.random()):
            gw = int(gh * (0.3 + 0.5 * rng.random()))
            for _ in range(int(rng.integers(2, 5))):  # strokes of one glyph
                if rng.random() < 0.5:
                    c = x + int(rng.integers(0, max(gw, 1)))
                    img[top : top + gh, c : c + max(2, gh // 8)] = ink
                else:
                    r = top + int(rng.integers(0, max(gh, 1)))
                    img[r : r + max(2, gh // 8), x : x + gw] = ink
            x += gw + int(gh * (0.15 + 0.3 * rng.random()))
    img += rng.normal(0, 4, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def objects_image(size: int, seed: int) -> np.ndarray:
    """Coloured blobs and glyphs on a textured background: uint8 [size, size, 3] (for a detector)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    img = np.stack([120 + 40 * np.sin(xx / (17 + seed)) , 130 + 30 * np.cos(yy / 23), 140 + 20 * np.sin((xx + yy) / 31)], -1)
    for _ in range(int(rng.integers(3, 7))):
        cx, cy, r = rng.integers(40, size - 40, 2).tolist() + [int(rng.integers(15, 45))]
        colour = rng.integers(0, 256, 3)
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[mask] = colour
        img[cy - 3 : cy + 3, cx - r // 2 : cx + r // 2] = 255 - colour
    img += rng.normal(0, 5, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def r4(x: np.ndarray) -> np.ndarray:
    return np.round(x.astype(np.float64), 4)


V2 = {"float32": "FP32", "float16": "FP16", "float64": "FP64", "int64": "INT64", "int32": "INT32", "int8": "INT8", "uint8": "UINT8", "bool": "BOOL", "object": "BYTES"}
ORT_TYPE = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64, "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(string)": object, "tensor(uint8)": np.uint8}


@dataclass
class Model:
    id: str
    domain: str
    exercises: list[str]
    licence: str
    source: dict[str, Any]
    proto: onnx.ModelProto | None = None  # the model (written as model.onnx), or:
    path: Path | None = None  # a shipped file, copied byte for byte
    external_data: bool = False  # written as model.tar.gz with weights in model.onnx.data
    samples: list[dict[str, np.ndarray]] = field(default_factory=list)
    notes: str = ""


def session(model_bytes_or_path: bytes | str) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.log_severity_level = 4  # refusals are recorded as facts; ORT's own error log is noise here
    return ort.InferenceSession(model_bytes_or_path, so, providers=["CPUExecutionProvider"])


def feed_for(sess: ort.InferenceSession, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cast a sample (float64 for floats, so JSON holds exactly what is run) to the input types."""
    out = {}
    for i in sess.get_inputs():
        t = ORT_TYPE[i.type]
        v = sample[i.name]
        out[i.name] = v.astype(t) if t is not object else v.astype(object)
    return out


def request_body(sess: ort.InferenceSession, sample: dict[str, np.ndarray]) -> dict[str, Any]:
    inputs = []
    for i in sess.get_inputs():
        v = sample[i.name]
        t = ORT_TYPE[i.type]
        dtype = np.dtype(t).name if t is not object else "object"
        if t is object:
            data = [str(s) for s in v.ravel().tolist()]
        elif np.dtype(t).kind == "f":
            data = [float(x) for x in np.asarray(v, np.float64).ravel()]
            data = [int(x) if x.is_integer() and abs(x) < 2**53 else x for x in data]
        elif np.dtype(t).kind == "b":
            data = [bool(x) for x in v.ravel()]
        else:
            data = [int(x) for x in v.ravel()]
        inputs.append({"name": i.name, "datatype": V2[dtype], "shape": list(v.shape), "data": data})
    return {"inputs": inputs}


# ------------------------------------------------------------------------------------------------
# The corpus


def audio_models(f: Fetcher) -> list[Model]:
    models: list[Model] = []
    sv = f.pypi("silero-vad") / "silero_vad" / "data"
    lic_mit = "MIT"

    def silero_samples(with_sr: bool, state_shape: tuple[int, ...] | None, hc: tuple[int, ...] | None, n: int) -> list[dict[str, np.ndarray]]:
        out = []
        for k, peak in enumerate([0.3, 0.05, 0.8]):
            s: dict[str, np.ndarray] = {"input": speech(n, 16000, 100 + k, peak)[None, :]}
            if with_sr:
                s["sr"] = np.array(16000, np.int64)
            if state_shape is not None:
                s["state"] = np.zeros(state_shape)
            if hc is not None:
                s["h"] = np.zeros(hc)
                s["c"] = np.zeros(hc)
            out.append(s)
        return out

    models.append(Model(
        id="silero-vad-v6",
        domain="audio",
        exercises=["voice activity detection", "scalar INT64 input 'sr' (must be 8000 or 16000: 0 fails)", "unnamed dynamic dims everywhere", "recurrent state [2, batch, 128]: the batch is dim 1, not 0", "If subgraphs", "needs >= 2 samples (reflect padding): dynamic dims = 1 fails"],
        licence=lic_mit,
        source={"registry": "pypi", "package": "silero-vad", "version": PYPI["silero-vad"], "file": "silero_vad/data/silero_vad.onnx"},
        path=sv / "silero_vad.onnx",
        samples=silero_samples(True, (2, 1, 128), None, 576),
        notes="576 samples = 64 samples of context + one 512-sample chunk at 16 kHz, as silero-vad's own wrapper feeds it.",
    ))
    models.append(Model(
        id="silero-vad-half",
        domain="audio",
        exercises=["FP16 weights with FP32 inputs and outputs (Cast inside the graph)", "recurrent state", "output leading dim named differently ('ConcatstateN_dim_0')", "needs >= 2 samples (reflect padding)"],
        licence=lic_mit,
        source={"registry": "pypi", "package": "silero-vad", "version": PYPI["silero-vad"], "file": "silero_vad/data/silero_vad_half.onnx"},
        path=sv / "silero_vad_half.onnx",
        samples=silero_samples(False, (2, 1, 128), None, 576),
    ))
    vw = f.npm("@ricky0123/vad-web") / "dist"
    models.append(Model(
        id="silero-vad-legacy-npm",
        domain="audio",
        exercises=["model shipped in an npm package", "scalar INT64 input 'sr'", "named dims 'batch'/'sequence', but state h/c [2, batch, 64] has the batch at dim 1", "If subgraphs, ai.onnx.ml and contrib opset imports"],
        licence="ISC (package); silero VAD model MIT",
        source={"registry": "npm", "package": "@ricky0123/vad-web", "version": NPM["@ricky0123/vad-web"], "file": "dist/silero_vad_legacy.onnx"},
        path=vw / "silero_vad_legacy.onnx",
        samples=silero_samples(True, None, (2, 1, 64), 512),
    ))
    fw = f.pypi("faster-whisper") / "faster_whisper" / "assets"
    fw_samples = []
    for k, peak in enumerate([0.3, 0.05, 0.8]):
        chunks = speech(4 * 512, 16000, 200 + k, peak).reshape(4, 512)
        ctx = np.concatenate([np.zeros((1, 64)), chunks[:-1, -64:]])  # each chunk with the previous 64 samples
        fw_samples.append({"input": np.concatenate([ctx, chunks], axis=1), "h": np.zeros((1, 1, 128)), "c": np.zeros((1, 1, 128))})
    models.append(Model(
        id="faster-whisper-silero-v6",
        domain="audio",
        exercises=["leading dim is time (chunks of one stream, an LSTM runs across them): rows are not independent", "fixed-shape state inputs [1, 1, 128]", "output leading dim named by the exporter ('Reshapespeech_probs_dim_0')"],
        licence=lic_mit,
        source={"registry": "pypi", "package": "faster-whisper", "version": PYPI["faster-whisper"], "file": "faster_whisper/assets/silero_vad_v6.onnx"},
        path=fw / "silero_vad_v6.onnx",
        samples=fw_samples,
        notes="Each sample is 4 consecutive 512-sample chunks, each with 64 samples of left context (576 wide).",
    ))
    asr = f.pypi("onnx-asr") / "onnx_asr" / "preprocessors" / "data"
    models.append(Model(
        id="whisper80-logmel",
        domain="audio",
        exercises=["issue #15: Whisper log-mel front end, clamped at max - 8 with the max over the WHOLE tensor (batch included): rows mix", "every input and output shares the named leading dim 'batch_size'", "two inputs (FP32 audio, INT64 lengths), two outputs (FP32, INT64)", "STFT op (opset 17)"],
        licence=lic_mit,
        source={"registry": "pypi", "package": "onnx-asr", "version": PYPI["onnx-asr"], "file": "onnx_asr/preprocessors/data/whisper80.onnx"},
        path=asr / "whisper80.onnx",
        samples=[{"waveforms": speech(16000, 16000, 300 + k, peak)[None, :], "waveforms_lens": np.array([16000], np.int64)} for k, peak in enumerate([0.3, 0.02, 0.9])],
    ))
    oww = f.pypi("openwakeword") / "openwakeword" / "resources" / "models"
    mel_samples = [{"input": np.round(speech(16000, 16000, 400 + k, peak) * 32767)[None, :]} for k, peak in enumerate([0.3, 0.05, 0.8])]
    models.append(Model(
        id="openwakeword-melspectrogram",
        domain="audio",
        exercises=["audio front end (int16-scaled float PCM in)", "rows mix: the log-mel is clipped at max - 80 dB with the max over the WHOLE tensor (torchlibrosa top_db), which only shows when rows differ in loudness or hold near-silence", "input leading dim 'batch_size', output leading dim 'time'", "needs >= 512 samples (its STFT window): dynamic dims = 1 fails"],
        licence="Apache-2.0 (package; its README puts the pre-trained wake-word models under CC BY-NC-SA 4.0)",
        source={"registry": "pypi", "package": "openwakeword", "version": PYPI["openwakeword"], "file": "openwakeword/resources/models/melspectrogram.onnx"},
        path=oww / "melspectrogram.onnx",
        samples=mel_samples,
    ))
    # The embedding model eats 76 frames of the front end's output, scaled as openwakeword does (x/10 + 2).
    mel = session(str(oww / "melspectrogram.onnx"))
    emb_samples = []
    for k, peak in enumerate([0.3, 0.05, 0.8]):
        pcm = np.round(speech(13000, 16000, 500 + k, peak) * 32767)[None, :].astype(np.float32)
        spec = mel.run(None, {"input": pcm})[0][0, 0]  # [frames, 32]
        emb_samples.append({"input_1": r4(spec[-76:] / 10 + 2)[None, :, :, None]})
    models.append(Model(
        id="openwakeword-embedding",
        domain="audio",
        exercises=["tf2onnx export: leading dims 'unk__316' (input) and 'unk__317' (output) differ", "4-D input [batch, 76, 32, 1]"],
        licence="Apache-2.0 (package; the embedding model derives from Google's speech_embedding, Apache-2.0)",
        source={"registry": "pypi", "package": "openwakeword", "version": PYPI["openwakeword"], "file": "openwakeword/resources/models/embedding_model.onnx"},
        path=oww / "embedding_model.onnx",
        samples=emb_samples,
    ))
    sm = f.pypi("speechmos") / "speechmos"
    models.append(Model(
        id="dnsmos-sig-bak-ovr",
        domain="audio",
        exercises=["speech quality (P.835 SIG/BAK/OVRL) from 9.01 s of raw 16 kHz audio", "keras2onnx export with a named shared leading dim 'N'", "large fixed trailing dim (144160)"],
        licence="MIT (package); DNSMOS models from Microsoft's DNS Challenge",
        source={"registry": "pypi", "package": "speechmos", "version": PYPI["speechmos"], "file": "speechmos/dnsmos_models/sig_bak_ovr.onnx"},
        path=sm / "dnsmos_models" / "sig_bak_ovr.onnx",
        samples=[{"input_1": speech(144160, 16000, 600 + k, peak)[None, :]} for k, peak in enumerate([0.3, 0.05, 0.8])],
    ))
    plc_samples = []
    rng = np.random.default_rng(7)
    for k, peak in enumerate([0.3, 0.05, 0.8]):
        x = speech(16000, 16000, 700 + k, peak)
        win = np.hanning(513)[:-1] ** 0.5
        frames = np.stack([x[i : i + 512] * win for i in range(0, len(x) - 512, 256)])
        logp = np.log(np.abs(np.fft.rfft(frames, 512)) ** 2 + 1e-12) / 20
        plc_samples.append({"degraded_audio": r4(logp)[None, None], "rater_embed": r4(rng.standard_normal((1, 64)))})
    models.append(Model(
        id="plcmos-v2",
        domain="audio",
        exercises=["scalar (rank 0) output from batched inputs", "two inputs sharing 'batch_size' with a dynamic 'frames' dim", "GRU"],
        licence="MIT (package); PLCMOS model from Microsoft's PLC Challenge",
        source={"registry": "pypi", "package": "speechmos", "version": PYPI["speechmos"], "file": "speechmos/plcmos_models/plcmos_v2.onnx"},
        path=sm / "plcmos_models" / "plcmos_v2.onnx",
        samples=plc_samples,
        notes="Inputs are log power spectra (512-point STFT, hop 256) / 20 and a random rater embedding, as speechmos computes them.",
    ))
    bp = f.pypi("basic-pitch") / "basic_pitch" / "saved_models" / "icassp_2022"
    models.append(Model(
        id="basic-pitch",
        domain="audio",
        exercises=["polyphonic note transcription from 2 s of 22.05 kHz audio", "three outputs", "tf2onnx 'unk__' leading dims, all different names", "input [batch, 43844, 1]"],
        licence="Apache-2.0",
        source={"registry": "pypi", "package": "basic-pitch", "version": PYPI["basic-pitch"], "file": "basic_pitch/saved_models/icassp_2022/nmp.onnx"},
        path=bp / "nmp.onnx",
        samples=[{"serving_default_input_2:0": speech(43844, 22050, 800 + k, peak)[None, :, None]} for k, peak in enumerate([0.3, 0.05, 0.8])],
    ))
    return models


def magika_features(content: bytes) -> np.ndarray:
    """magika's standard_v3 features: the first and last 1024 bytes after stripping whitespace,
    padded with token 256."""
    stripped = content.strip()
    beg = list(stripped[:1024]) + [256] * max(0, 1024 - len(stripped))
    end_bytes = stripped[-1024:] if stripped else b""
    end = [256] * max(0, 1024 - len(end_bytes)) + list(end_bytes)
    return np.array([beg + end], np.int64)


def text_models(f: Fetcher) -> list[Model]:
    models: list[Model] = []
    mg = f.pypi("magika") / "magika" / "models" / "standard_v3_3"
    docs = [
        b'{\n  "apiVersion": "modelpin.dev/v1alpha1",\n  "kind": "ModelDeployment",\n  "metadata": {"name": "fraud-detector"},\n  "spec": {"replicas": 2, "model": {"format": "onnx"}}\n}\n' * 6,
        b"import numpy as np\n\n\ndef softmax(x):\n    e = np.exp(x - x.max())\n    return e / e.sum()\n\n\nclass Model:\n    def __init__(self, w):\n        self.w = w\n\n    def __call__(self, x):\n        return softmax(self.w @ x)\n" * 8,
        b"<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>modelpin</title></head>\n<body>\n<h1>Models</h1>\n<ul><li>fraud-detector</li><li>churn</li></ul>\n</body>\n</html>\n",
    ]
    models.append(Model(
        id="magika-standard-v3-3",
        domain="text",
        exercises=["file-type detection from byte tokens: INT32 input [batch, 2048]", "tf2onnx leading dims 'unk__214'/'unk__215' differ", "214-way softmax output", "the batch size changes the numerics: even copies of one row stacked differ by ~1e-5 absolute (up to ~1e-4 relative), so a 1e-5 probe refuses batching"],
        licence="Apache-2.0",
        source={"registry": "pypi", "package": "magika", "version": PYPI["magika"], "file": "magika/models/standard_v3_3/model.onnx"},
        path=mg / "model.onnx",
        samples=[{"bytes": magika_features(d)} for d in docs],
    ))
    ar = f.pypi("arabic-name-romanizer") / "arabic_name_romanizer" / "resources"
    vocab = json.loads((ar / "vocab.json").read_text())["tokens"]
    index = {t: i for i, t in enumerate(vocab)}
    names = [("محمد عبد الله", "<EG>"), ("فاطمة", "<MA>"), ("يوسف بن علي", "<SA>")]
    seqs = [[index.get(c, 3), index["<ROLE_GIVEN>"]] + [index.get(ch, 3) for ch in name] + [2] for name, c in names]
    width = max(len(s) for s in seqs)
    enc_samples = []
    for s in seqs:
        ids = np.zeros((1, width), np.int64)
        ids[0, : len(s)] = s
        enc_samples.append({"src": ids, "src_mask": ids == 0})
    models.append(Model(
        id="romanizer-encoder",
        domain="text",
        exercises=["INT64 token ids + BOOL padding mask [batch, src_len]", "three outputs incl. a BOOL one", "GRU encoder with masking", "named shared leading dim 'batch'"],
        licence="MIT (weights derived from CC0 data, see the package's THIRD_PARTY_NOTICES.md)",
        source={"registry": "pypi", "package": "arabic-name-romanizer", "version": PYPI["arabic-name-romanizer"], "file": "arabic_name_romanizer/resources/encoder.onnx"},
        path=ar / "encoder.onnx",
        samples=enc_samples,
        notes="Token ids built from the package's vocab.json: country token, role token, characters, EOS; padded to one width with PAD (0), mask True on padding, as the package's pad_batch does.",
    ))
    enc = session(str(ar / "encoder.onnx"))
    dec_samples = []
    for s, first in zip(enc_samples, ["M", "F", "Y"]):
        memory, mask, hidden = enc.run(None, {"src": s["src"], "src_mask": s["src_mask"]})
        dec_samples.append({"prefix": np.array([[1, index[first]]], np.int64), "memory": r4(memory), "src_mask": mask, "hidden": r4(hidden)})
    models.append(Model(
        id="romanizer-decoder",
        domain="text",
        exercises=["four inputs (INT64 prefix, FP32 memory, BOOL mask, FP32 state), two outputs", "attention over a padded source", "named shared leading dim 'batch'"],
        licence="MIT (weights derived from CC0 data, see the package's THIRD_PARTY_NOTICES.md)",
        source={"registry": "pypi", "package": "arabic-name-romanizer", "version": PYPI["arabic-name-romanizer"], "file": "arabic_name_romanizer/resources/decoder.onnx"},
        path=ar / "decoder.onnx",
        samples=dec_samples,
        notes="memory, src_mask and hidden come from running the encoder on the encoder samples; prefix is BOS plus one target character (one beam-search step).",
    ))
    return models


def to_chw(img: np.ndarray, mean: float = 0.5, std: float = 0.5) -> np.ndarray:
    return r4(((img.astype(np.float64) / 255.0 - mean) / std).transpose(2, 0, 1)[None])


def vision_models(f: Fetcher) -> list[Model]:
    models: list[Model] = []
    ro = f.pypi("rapidocr-onnxruntime") / "rapidocr_onnxruntime" / "models"
    det_samples = [{"x": to_chw(text_image(160, 320, 10 + k, ink=[20, 90, 5][k]))} for k in range(3)]
    det_samples.append({"x": to_chw(text_image(96, 224, 13))})  # another size: its output size differs
    models.append(Model(
        id="rapidocr-det-v4",
        domain="vision",
        exercises=["text detection (DBNet segmentation): the output map's size follows the input's H and W", "leading dims 'p2o.DynamicDimension.0' (in) vs '.3' (out)", "requests of different image sizes must not be concatenated"],
        licence="Apache-2.0 (package and PaddleOCR models)",
        source={"registry": "pypi", "package": "rapidocr-onnxruntime", "version": PYPI["rapidocr-onnxruntime"], "file": "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"},
        path=ro / "ch_PP-OCRv4_det_infer.onnx",
        samples=det_samples,
    ))
    rec_samples = [{"x": to_chw(text_image(48, 320, 20 + k, ink=[20, 90, 5][k]))} for k in range(3)]
    rec_samples.append({"x": to_chw(text_image(48, 160, 23))})
    models.append(Model(
        id="rapidocr-rec-v4",
        domain="vision",
        exercises=["text recognition (CTC): output [batch, T, 6625] where T follows the image width", "leading dims all named differently", "requests of different widths must not be concatenated"],
        licence="Apache-2.0 (package and PaddleOCR models)",
        source={"registry": "pypi", "package": "rapidocr-onnxruntime", "version": PYPI["rapidocr-onnxruntime"], "file": "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"},
        path=ro / "ch_PP-OCRv4_rec_infer.onnx",
        samples=rec_samples,
    ))
    cls_samples = [{"x": to_chw(text_image(48, 192, 30 + k, ink=[20, 90, 5][k])[:: (1 if k != 1 else -1), :: (1 if k != 1 else -1)])} for k in range(3)]
    models.append(Model(
        id="rapidocr-cls-v2",
        domain="vision",
        exercises=["image classification (text upright / upside down)", "unnamed (None) leading dim on input and output", "input dims named '?' by the Paddle exporter"],
        licence="Apache-2.0 (package and PaddleOCR models)",
        source={"registry": "pypi", "package": "rapidocr-onnxruntime", "version": PYPI["rapidocr-onnxruntime"], "file": "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"},
        path=ro / "ch_ppocr_mobile_v2.0_cls_infer.onnx",
        samples=cls_samples,
    ))
    from onnxconverter_common import float16

    cls16 = float16.convert_float_to_float16(onnx.load(str(ro / "ch_ppocr_mobile_v2.0_cls_infer.onnx")), keep_io_types=False)
    models.append(Model(
        id="rapidocr-cls-v2-fp16",
        domain="vision",
        exercises=["FP16 inputs, outputs and weights (onnxconverter-common float16 conversion)", "unnamed (None) leading dim"],
        licence="Apache-2.0 (package and PaddleOCR models)",
        source={"registry": "pypi", "package": "rapidocr-onnxruntime", "version": PYPI["rapidocr-onnxruntime"], "file": "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx", "converted": "onnxconverter_common.float16.convert_float_to_float16(keep_io_types=False)"},
        proto=cls16,
        # FP16 needs values FP16 can hold exactly, or JSON and the reference would round differently.
        samples=[{"x": s["x"].astype(np.float16).astype(np.float64)} for s in cls_samples],
    ))
    dd = f.pypi("ddddocr") / "ddddocr"
    ocr_samples = []
    for k in range(3):
        grey = text_image(64, 160, 40 + k, ink=[20, 90, 5][k]).mean(axis=2)
        ocr_samples.append({"input1": r4(grey / 255.0)[None, None]})
    models.append(Model(
        id="ddddocr-ocr-quantized",
        domain="vision",
        exercises=["captcha OCR, dynamically quantized: com.microsoft contrib ops (DynamicQuantizeLSTM, ConvInteger, MatMulInteger)", "fixed batch 1 with a dynamic width", "declared output [1, seqlen] but the actual output is [seqlen, 1, 8210]: declared shapes can be wrong, even the rank", "IR version 6, opset 12"],
        licence="MIT",
        source={"registry": "pypi", "package": "ddddocr", "version": PYPI["ddddocr"], "file": "ddddocr/common_old.onnx"},
        path=dd / "common_old.onnx",
        samples=ocr_samples,
    ))
    models.append(Model(
        id="ddddocr-det-nms-extdata",
        domain="vision",
        exercises=["object detection with the post-processing folded into the graph (YOLOX decode + NonMaxSuppression): the number of boxes depends on the image", "outputs [K, 4], [K], [K, 3] with a data-dependent K", "fixed input [1, 3, 416, 416]", "external data: weights in model.onnx.data beside model.onnx, served from a format: tar artifact (model.tar.gz)"],
        licence="MIT",
        source={"registry": "pypi", "package": "ddddocr", "version": PYPI["ddddocr"], "file": "ddddocr/common_det.onnx", "converted": "decode + NonMaxSuppression appended with onnx.helper (as YOLO exports with nms=True do); saved with onnx.save_model(save_as_external_data=True, default size_threshold 1024) and tarred"},
        proto=with_nms(onnx.load(str(dd / "common_det.onnx"))),
        external_data=True,
        samples=[{"images": objects_image(416, 50 + k).transpose(2, 0, 1)[None].astype(np.float64)} for k in range(3)],
        notes="Boxes are decoded as ddddocr's demo_postprocess does (grid offsets, exp sizes, strides 8/16/32); NMS keeps up to 100 boxes with IoU <= 0.45 and score > 0.1.",
    ))
    return models


def with_nms(m: onnx.ModelProto) -> onnx.ModelProto:
    """Append YOLOX decoding and NonMaxSuppression to ddddocr's detector (raw [1, 3549, 6])."""
    grids, strides = [], []
    for s in (8, 16, 32):
        n = 416 // s
        yv, xv = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        strides.append(np.full((n * n, 1), s))
    grid = np.concatenate(grids)[None].astype(np.float32)
    stride = np.concatenate(strides)[None].astype(np.float32)
    g = m.graph
    raw = g.output[0].name
    del g.output[:]
    consts = {
        "nms_grid": grid, "nms_stride": stride,
        "nms_s0": np.array([0], np.int64), "nms_s2": np.array([2], np.int64), "nms_s4": np.array([4], np.int64),
        "nms_s5": np.array([5], np.int64), "nms_s6": np.array([6], np.int64),
        "nms_ax2": np.array([2], np.int64), "nms_col2": np.array(2, np.int64),
        "nms_half": np.array(0.5, np.float32), "nms_max": np.array([100], np.int64),
        "nms_iou": np.array([0.45], np.float32), "nms_thr": np.array([0.1], np.float32),
    }
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in consts.items())
    n = helper.make_node
    g.node.extend([
        n("Slice", [raw, "nms_s0", "nms_s2", "nms_ax2"], ["xy_raw"]),
        n("Slice", [raw, "nms_s2", "nms_s4", "nms_ax2"], ["wh_raw"]),
        n("Slice", [raw, "nms_s4", "nms_s5", "nms_ax2"], ["obj"]),
        n("Slice", [raw, "nms_s5", "nms_s6", "nms_ax2"], ["cls"]),
        n("Add", ["xy_raw", "nms_grid"], ["xy_g"]),
        n("Mul", ["xy_g", "nms_stride"], ["xy"]),
        n("Exp", ["wh_raw"], ["wh_e"]),
        n("Mul", ["wh_e", "nms_stride"], ["wh"]),
        n("Mul", ["wh", "nms_half"], ["half_wh"]),
        n("Sub", ["xy", "half_wh"], ["p1"]),
        n("Add", ["xy", "half_wh"], ["p2"]),
        n("Concat", ["p1", "p2"], ["all_boxes"], axis=2),  # [1, 3549, 4] x1 y1 x2 y2
        n("Mul", ["obj", "cls"], ["score3"]),  # [1, 3549, 1]
        n("Transpose", ["score3"], ["scores_t"], perm=[0, 2, 1]),  # [1, 1, 3549]
        n("NonMaxSuppression", ["all_boxes", "scores_t", "nms_max", "nms_iou", "nms_thr"], ["selected_indices"]),
        n("Gather", ["selected_indices", "nms_col2"], ["box_idx"], axis=1),  # [K]
        n("Squeeze", ["all_boxes"], ["boxes_2d"], axes=[0]),  # opset 11: axes is an attribute
        n("Gather", ["boxes_2d", "box_idx"], ["boxes"], axis=0),  # [K, 4]
        n("Squeeze", ["score3"], ["score_2d"], axes=[0]),  # [3549, 1]
        n("Gather", ["score_2d", "box_idx"], ["score_k1"], axis=0),
        n("Squeeze", ["score_k1"], ["scores"], axes=[1]),  # [K]
    ])
    g.output.extend([
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["K", 4]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["K"]),
        helper.make_tensor_value_info("selected_indices", TensorProto.INT64, ["K", 3]),
    ])
    onnx.checker.check_model(m)
    return m


def tabular_models(f: Fetcher) -> list[Model]:
    import lightgbm
    import onnxmltools
    import skl2onnx
    import sklearn
    from onnxmltools.convert.common.data_types import FloatTensorType as MLFloat
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    models: list[Model] = []
    opset = {"": 17, "ai.onnx.ml": 3}
    skl = {"converter": "skl2onnx", "version": skl2onnx.__version__, "trainer": f"scikit-learn {sklearn.__version__}"}

    ort_pkg = Path(ort.__file__).parent
    iris_x, iris_y = load_iris(return_X_y=True)
    rows = iris_x[[0, 60, 120, 33]]
    models.append(Model(
        id="ort-logreg-iris",
        domain="tabular",
        exercises=["model shipped in onnxruntime's own wheel", "ZipMap output (sequence of maps) beside a tensor label", "fixed shape [3, 2]: exactly three rows per request", "IR version 3, ai.onnx.ml opset 1 only (no default-domain opset)"],
        licence="MIT",
        source={"registry": "pypi", "package": "onnxruntime", "version": ort.__version__, "file": "onnxruntime/datasets/logreg_iris.onnx"},
        path=ort_pkg / "datasets" / "logreg_iris.onnx",
        samples=[{"float_input": iris_x[[k, 50 + k, 100 + k], :2]} for k in range(3)],
    ))

    lr = LogisticRegression(max_iter=500).fit(iris_x, iris_y)
    models.append(Model(
        id="skl-logreg-zipmap",
        domain="tabular",
        exercises=["skl2onnx defaults: output_probability is a ZipMap (sequence of maps), output_label an INT64 tensor", "unnamed (None) batch dim"],
        licence="Apache-2.0 (skl2onnx); iris data shipped with scikit-learn (BSD-3-Clause)",
        source={**skl, "trained": "LogisticRegression on iris", "options": "defaults"},
        proto=convert_sklearn(lr, initial_types=[("input", FloatTensorType([None, 4]))], target_opset=opset),
        samples=[{"input": rows[k : k + 1]} for k in range(3)],
    ))
    rf = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(iris_x, iris_y)
    models.append(Model(
        id="skl-rf-nozipmap",
        domain="tabular",
        exercises=["skl2onnx zipmap=False: INT64 label + FP32 probability tensors", "TreeEnsembleClassifier (ai.onnx.ml)", "unnamed (None) batch dim"],
        licence="Apache-2.0 (skl2onnx); iris data shipped with scikit-learn (BSD-3-Clause)",
        source={**skl, "trained": "RandomForestClassifier(20 trees, depth 5, seed 0) on iris", "options": "zipmap=False"},
        proto=convert_sklearn(rf, initial_types=[("input", FloatTensorType([None, 4]))], options={id(rf): {"zipmap": False}}, target_opset=opset),
        samples=[{"input": rows[k : k + 1]} for k in range(3)],
    ))
    dx, dy = load_diabetes(return_X_y=True)
    gbr = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(dx, dy)
    models.append(Model(
        id="skl-gbr-regressor",
        domain="tabular",
        exercises=["regressor: FP32 output [N, 1]", "TreeEnsembleRegressor", "unnamed (None) batch dim"],
        licence="Apache-2.0 (skl2onnx); diabetes data shipped with scikit-learn (BSD-3-Clause)",
        source={**skl, "trained": "GradientBoostingRegressor(30 trees, depth 3, seed 0) on diabetes"},
        proto=convert_sklearn(gbr, initial_types=[("input", FloatTensorType([None, dx.shape[1]]))], target_opset=opset),
        samples=[{"input": r4(dx[k * 50 : k * 50 + 1])} for k in range(3)],
    ))
    # A table with numeric and categorical columns, fed as three separate inputs.
    rng = np.random.default_rng(11)
    n = 400
    income = rng.normal(50, 15, n)
    debt = rng.normal(20, 8, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    score = income / 10 - debt / 5 + (region == "south") * 1.5 + rng.normal(0, 1, n)
    risk = np.where(score > 3.5, "low", np.where(score > 1.5, "medium", "high"))
    import pandas as pd  # scikit-learn's ColumnTransformer takes columns by name from a DataFrame

    df = pd.DataFrame({"income": income, "debt": debt, "region": region})
    pipe = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), ["income", "debt"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])])),
        ("clf", LogisticRegression(max_iter=500)),
    ]).fit(df, risk)
    pipe_onnx = convert_sklearn(
        pipe,
        initial_types=[("income", FloatTensorType([None, 1])), ("debt", FloatTensorType([None, 1])), ("region", StringTensorType([None, 1]))],
        options={id(pipe.steps[-1][1]): {"zipmap": False}},
        target_opset=opset,
    )
    models.append(Model(
        id="skl-pipeline-mixed",
        domain="tabular",
        exercises=["several inputs: two FP32 columns and a string column (BYTES)", "string class labels: BYTES output", "ColumnTransformer + OneHotEncoder + LogisticRegression, zipmap=False", "unnamed (None) batch dim"],
        licence="Apache-2.0 (skl2onnx); synthetic data generated at build time",
        source={**skl, "trained": "StandardScaler + OneHotEncoder + LogisticRegression on a synthetic credit table (seed 11)", "options": "zipmap=False"},
        proto=pipe_onnx,
        samples=[{"income": np.array([[v]]), "debt": np.array([[d]]), "region": np.array([[r]], dtype=object)} for v, d, r in [(62.5, 12.25, "south"), (31.0, 28.5, "north"), (48.75, 19.0, "west")]],
    ))
    bx, by = load_breast_cancer(return_X_y=True)
    gbm = lightgbm.LGBMClassifier(n_estimators=25, num_leaves=8, random_state=0, verbose=-1).fit(bx.astype(np.float32), by)
    lgb_onnx = onnxmltools.convert_lightgbm(gbm, initial_types=[("input", MLFloat([None, bx.shape[1]]))], target_opset=15, zipmap=True)
    models.append(Model(
        id="lightgbm-binary-zipmap",
        domain="tabular",
        exercises=["onnxmltools LightGBM converter defaults: ZipMap probabilities + INT64 label", "30 FP32 features", "unnamed (None) batch dim on the input, but the label is declared [1]: declared shapes can be wrong"],
        licence="Apache-2.0 (onnxmltools, LightGBM: MIT); breast-cancer data shipped with scikit-learn (BSD-3-Clause)",
        source={"converter": "onnxmltools", "version": onnxmltools.__version__, "trainer": f"lightgbm {lightgbm.__version__}", "trained": "LGBMClassifier(25 trees, 8 leaves, seed 0) on breast_cancer"},
        proto=lgb_onnx,
        samples=[{"input": r4(bx[k * 100 : k * 100 + 1])} for k in range(3)],
    ))
    return models


# ------------------------------------------------------------------------------------------------
# Facts per model: servable outputs, the batching truth, what the old automatic warm-up does.


def output_kinds(sess: ort.InferenceSession) -> tuple[list[str], list[dict[str, str]]]:
    servable, other = [], []
    for o in sess.get_outputs():
        if o.type.startswith("tensor("):
            servable.append(o.name)
        else:
            other.append({"name": o.name, "type": o.type})
    return servable, other


def batching_truth(sess: ort.InferenceSession, samples: list[dict[str, np.ndarray]], outputs: list[str]) -> dict[str, Any]:
    """Is it sound to concatenate these requests along dim 0 and split the answers back?"""
    inputs = sess.get_inputs()
    by_shape: dict[tuple, list[dict[str, np.ndarray]]] = {}
    for s in samples:
        by_shape.setdefault(tuple(tuple(s[i.name].shape) for i in inputs), []).append(s)
    group = max(by_shape.values(), key=len)
    if len(group) < 3:
        return {"expected": False, "reason": "fewer than 3 samples of one shape: no evidence"}
    for i in inputs:
        shape = group[0][i.name].shape
        if len(shape) == 0:
            return {"expected": False, "reason": f"input '{i.name}' is a scalar: requests cannot be concatenated"}
        if shape[0] != 1:
            return {"expected": False, "reason": f"input '{i.name}' has leading dim {shape[0]} in a one-row request: dim 0 is not the batch"}
    singles = [sess.run(outputs, feed_for(sess, s)) for s in group]
    for name, outs in zip(outputs, zip(*singles)):
        for o in outs:
            if o.ndim == 0 or o.shape[0] != 1:
                return {"expected": False, "reason": f"output '{name}' has shape {list(o.shape)} for a one-row request: dim 0 is not the batch"}
    stacked = {i.name: np.concatenate([s[i.name] for s in group]) for i in inputs}
    try:
        together = sess.run(outputs, feed_for(sess, stacked))
    except Exception as e:  # noqa: BLE001 - the runtime's refusal is the answer
        return {"expected": False, "reason": f"ONNX Runtime refuses the stacked rows: {str(e).splitlines()[0][:300]}"}
    worst = 0.0
    for j, name in enumerate(outputs):
        got = together[j]
        want = np.concatenate([s[j] for s in singles])
        if got.shape != want.shape:
            return {"expected": False, "reason": f"output '{name}' has shape {list(got.shape)} stacked, {list(want.shape)} row by row"}
        ok, d = close(got, want)
        worst = max(worst, d)
        if not ok:
            # Tell mixing apart from batch-size-dependent numerics: stack copies of one row.
            same = {i.name: np.concatenate([group[0][i.name]] * len(group)) for i in inputs}
            copies = sess.run([name], feed_for(sess, same))[0]
            ok_same, d_same = close(copies, np.concatenate([singles[0][j]] * len(group)))
            why = "rows mix" if ok_same else f"the batch size changes the numerics (even {len(group)} copies of one row differ by up to {d_same:.3g})"
            return {"expected": False, "reason": f"{why}: output '{name}' differs from row-by-row results by up to {d:.3g}", "maxAbsDiff": d}
    return {"expected": True, "reason": f"{len(group)} distinct rows stacked equal their single results (max |diff| {worst:.3g})", "maxAbsDiff": worst}


def zeros_warmup(sess: ort.InferenceSession, outputs: list[str]) -> dict[str, Any]:
    """What the original automatic warm-up (zeros, every dynamic dim = 1) does to this model."""
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) and d >= 0 else 1 for d in i.shape]
        t = ORT_TYPE[i.type]
        feeds[i.name] = np.full(shape, "", dtype=object) if t is object else np.zeros(shape, t)
    try:
        sess.run(outputs, feeds)
        return {"ok": True}
    except Exception as e:  # noqa: BLE001 - the runtime's refusal is the fact we record
        return {"ok": False, "error": str(e).splitlines()[0][:400]}


# ------------------------------------------------------------------------------------------------


def write_tar_gz(dest: Path, files: dict[str, bytes]) -> None:
    """A reproducible .tar.gz: sorted names, fixed mtimes and owners."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = 0
            info.mode = 0o644
            t.addfile(info, io.BytesIO(files[name]))
    with open(dest, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())


def emit(m: Model, out: Path) -> dict[str, Any]:
    mdir = out / "models" / m.id
    mdir.mkdir(parents=True)
    if m.proto is not None and "converter" in m.source:
        # Keep converted bytes reproducible: the converters name the graph with a random uuid and
        # list opset imports in set (hash-seed) order.
        m.proto.graph.name = m.id
        opsets = sorted(m.proto.opset_import, key=lambda o: o.domain)
        del m.proto.opset_import[:]
        m.proto.opset_import.extend(opsets)
    if m.external_data:
        assert m.proto is not None
        with tempfile.TemporaryDirectory() as td:
            onnx.save_model(m.proto, f"{td}/model.onnx", save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=1024)
            files = {n: Path(td, n).read_bytes() for n in ("model.onnx", "model.onnx.data")}
            if len(files["model.onnx.data"]) < 10 * len(files["model.onnx"]):
                raise SystemExit(f"{m.id}: the external data holds too little of the model: weights must live in model.onnx.data")
            model_path = f"{td}/model.onnx"
            sess = session(model_path)  # loads the external data from beside it
            facts = describe(m, sess, out)
        artifact = mdir / "model.tar.gz"
        write_tar_gz(artifact, files)
        fmt = {"format": "tar", "entry": "model.onnx"}
    else:
        artifact = mdir / "model.onnx"
        if m.path is not None:
            shutil.copyfile(m.path, artifact)
        else:
            assert m.proto is not None
            artifact.write_bytes(m.proto.SerializeToString())
        sess = session(str(artifact))
        facts = describe(m, sess, out)
        fmt = {"format": "onnx"}
    data = artifact.read_bytes()
    return {
        "id": m.id,
        "file": str(artifact.relative_to(out)),
        **fmt,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "domain": m.domain,
        "source": m.source,
        "licence": m.licence,
        "exercises": m.exercises,
        **facts,
        **({"notes": m.notes} if m.notes else {}),
    }


def describe(m: Model, sess: ort.InferenceSession, out: Path) -> dict[str, Any]:
    servable, other = output_kinds(sess)
    sdir = out / "samples" / m.id
    sdir.mkdir(parents=True)
    files = []
    for k, s in enumerate(m.samples):
        missing = {i.name for i in sess.get_inputs()} - set(s)
        if missing:
            raise SystemExit(f"{m.id}: sample {k} lacks inputs {sorted(missing)}")
        sess.run(servable, feed_for(sess, s))  # every sample must be valid
        p = sdir / f"{k}.json"
        p.write_text(json.dumps(request_body(sess, s), separators=(",", ":")))
        files.append(str(p.relative_to(out)))
    dims = lambda vs: {v.name: {"type": v.type, "shape": [d if isinstance(d, int) else (d or None) for d in v.shape]} for v in vs}  # noqa: E731
    return {
        "inputs": dims(sess.get_inputs()),
        "outputs": dims(sess.get_outputs()),
        "servableOutputs": servable,
        "nonServableOutputs": other,
        "samples": files,
        "batching": batching_truth(sess, m.samples, servable),
        "zerosWarmup": zeros_warmup(sess, servable),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="corpus directory to create (replaced if it exists)")
    ap.add_argument("--only", action="append", help="build only these model ids (for development)")
    args = ap.parse_args()
    out: Path = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent))
    work = Path(tempfile.mkdtemp(prefix="modelpin-corpus-work-"))
    started = time.monotonic()
    try:
        f = Fetcher(work)
        models = audio_models(f) + text_models(f) + vision_models(f) + tabular_models(f)
        if args.only:
            models = [m for m in models if m.id in args.only]
        entries = []
        for m in models:
            t0 = time.monotonic()
            entries.append(emit(m, tmp))
            print(f"  {m.id}: {entries[-1]['bytes']} bytes, batching {entries[-1]['batching']['expected']}, {time.monotonic() - t0:.1f}s", flush=True)
        manifest = {
            "version": MANIFEST_VERSION,
            "tolerance": {"rel": REL, "abs": ABS, "rule": "|got - want| <= rel * |want| + abs; NaN == NaN; non-float outputs exact"},
            "builtWith": {"python": platform.python_version(), "onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__},
            "pypi": PYPI,
            "npm": NPM,
            "models": entries,
        }
        (tmp / "corpus.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        print(f"corpus: {len(entries)} models in {out} ({time.monotonic() - started:.0f}s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
